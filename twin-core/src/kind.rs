//! What an asset is: its [`AssetKind`], the [`SensorType`] of sensors, and its [`ZLevel`].

use std::fmt;
use std::str::FromStr;

/// What a sensor measures.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SensorType {
    /// River, canal or tide water level (m).
    WaterLevel,
    /// Water quality index (dissolved oxygen, turbidity, ...).
    WaterQuality,
    /// Fine particulate matter PM2.5 (µg/m³).
    Pm25,
    /// Ambient noise (dB(A)).
    Noise,
    /// Soil moisture of a field (volumetric %).
    SoilMoisture,
    /// Vehicles per interval on a road.
    TrafficCounter,
    /// Occupied share of a parking lot.
    ParkingOccupancy,
    /// Power drawn by an EV charger (kW).
    ChargerPower,
    /// Electric energy used by a building (kWh).
    BuildingEnergy,
    /// Any other sensor type, by name.
    Other(String),
}

impl SensorType {
    /// Every built-in sensor type, in a fixed order.
    pub const BUILTIN: [SensorType; 9] = [
        SensorType::WaterLevel,
        SensorType::WaterQuality,
        SensorType::Pm25,
        SensorType::Noise,
        SensorType::SoilMoisture,
        SensorType::TrafficCounter,
        SensorType::ParkingOccupancy,
        SensorType::ChargerPower,
        SensorType::BuildingEnergy,
    ];

    /// The canonical snake_case name, as written in data files.
    pub fn as_str(&self) -> &str {
        match self {
            SensorType::WaterLevel => "water_level",
            SensorType::WaterQuality => "water_quality",
            SensorType::Pm25 => "pm25",
            SensorType::Noise => "noise",
            SensorType::SoilMoisture => "soil_moisture",
            SensorType::TrafficCounter => "traffic_counter",
            SensorType::ParkingOccupancy => "parking_occupancy",
            SensorType::ChargerPower => "charger_power",
            SensorType::BuildingEnergy => "building_energy",
            SensorType::Other(s) => s,
        }
    }

    /// Parses a name; unknown names become [`SensorType::Other`]. Never fails.
    pub fn parse(s: &str) -> SensorType {
        let norm = s.trim().to_ascii_lowercase().replace(['-', ' ', '.'], "_");
        SensorType::BUILTIN
            .iter()
            .find(|t| t.as_str() == norm)
            .cloned()
            .unwrap_or_else(|| match norm.as_str() {
                "pm2_5" => SensorType::Pm25,
                _ => SensorType::Other(s.trim().to_string()),
            })
    }
}

impl fmt::Display for SensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of a physical object held by the twin.
///
/// Kinds are parsed from data files by name (snake_case, case-insensitive, `-` and
/// spaces accepted). A name that is not built in becomes [`AssetKind::Custom`], so
/// data with its own kinds loads without code changes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AssetKind {
    /// An island (land polygon).
    Island,
    /// A town or township (administrative polygon).
    Town,
    /// A building footprint, extruded by its height.
    Building,
    /// A road (line or area).
    Road,
    /// A bridge or tunnel crossing.
    Bridge,
    /// A river or canal.
    River,
    /// A lake, pond or reservoir.
    WaterBody,
    /// A park or other green space.
    GreenSpace,
    /// A farm field.
    FarmField,
    /// An underground pipe (water, drainage, gas, power).
    Pipe,
    /// A 5G base station.
    Station5g,
    /// An electric-vehicle charger.
    EvCharger,
    /// A parking lot.
    ParkingLot,
    /// A garbage collection / transfer station.
    GarbageStation,
    /// A ferry terminal.
    FerryTerminal,
    /// A sensor that measures something.
    Sensor(SensorType),
    /// Any other kind, by name.
    Custom(String),
}

/// The names of the built-in kinds (sensors written as `sensor`).
pub const BUILTIN_KIND_NAMES: [&str; 16] = [
    "island",
    "town",
    "building",
    "road",
    "bridge",
    "river",
    "water_body",
    "green_space",
    "farm_field",
    "pipe",
    "station_5g",
    "ev_charger",
    "parking_lot",
    "garbage_station",
    "ferry_terminal",
    "sensor",
];

impl AssetKind {
    /// The canonical name of the kind; all sensors are `sensor` (their type is separate).
    pub fn as_str(&self) -> &str {
        match self {
            AssetKind::Island => "island",
            AssetKind::Town => "town",
            AssetKind::Building => "building",
            AssetKind::Road => "road",
            AssetKind::Bridge => "bridge",
            AssetKind::River => "river",
            AssetKind::WaterBody => "water_body",
            AssetKind::GreenSpace => "green_space",
            AssetKind::FarmField => "farm_field",
            AssetKind::Pipe => "pipe",
            AssetKind::Station5g => "station_5g",
            AssetKind::EvCharger => "ev_charger",
            AssetKind::ParkingLot => "parking_lot",
            AssetKind::GarbageStation => "garbage_station",
            AssetKind::FerryTerminal => "ferry_terminal",
            AssetKind::Sensor(_) => "sensor",
            AssetKind::Custom(s) => s,
        }
    }

    /// The sensor type, for sensors.
    pub fn sensor_type(&self) -> Option<&SensorType> {
        match self {
            AssetKind::Sensor(t) => Some(t),
            _ => None,
        }
    }

    /// Parses a kind name. `sensor:<type>` (or `sensor/<type>`) gives a sensor of that type;
    /// plain `sensor` a sensor of type `other`. Unknown names become [`AssetKind::Custom`].
    pub fn parse(s: &str) -> AssetKind {
        let trimmed = s.trim();
        let norm = trimmed.to_ascii_lowercase().replace(['-', ' '], "_");
        if let Some(rest) = norm
            .strip_prefix("sensor:")
            .or_else(|| norm.strip_prefix("sensor/"))
        {
            return AssetKind::Sensor(SensorType::parse(rest));
        }
        match norm.as_str() {
            "island" => AssetKind::Island,
            "town" | "township" => AssetKind::Town,
            "building" => AssetKind::Building,
            "road" => AssetKind::Road,
            "bridge" | "tunnel" => AssetKind::Bridge,
            "river" | "canal" => AssetKind::River,
            "water_body" | "water" | "lake" | "pond" => AssetKind::WaterBody,
            "green_space" | "park" => AssetKind::GreenSpace,
            "farm_field" | "farm" | "field" => AssetKind::FarmField,
            "pipe" | "underground_pipe" => AssetKind::Pipe,
            "station_5g" | "5g_station" | "5g" => AssetKind::Station5g,
            "ev_charger" | "charger" => AssetKind::EvCharger,
            "parking_lot" | "parking" => AssetKind::ParkingLot,
            "garbage_station" => AssetKind::GarbageStation,
            "ferry_terminal" => AssetKind::FerryTerminal,
            "sensor" => AssetKind::Sensor(SensorType::Other("other".into())),
            _ => match SensorType::parse(&norm) {
                SensorType::Other(_) => AssetKind::Custom(trimmed.to_string()),
                t => AssetKind::Sensor(t),
            },
        }
    }

    /// The z-level an asset of this kind has when the data does not say.
    pub fn default_z_level(&self) -> ZLevel {
        match self {
            AssetKind::Pipe => ZLevel::Underground,
            AssetKind::River | AssetKind::WaterBody => ZLevel::Water,
            AssetKind::Sensor(SensorType::WaterLevel | SensorType::WaterQuality) => ZLevel::Water,
            _ => ZLevel::Ground,
        }
    }
}

impl fmt::Display for AssetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssetKind::Sensor(t) => write!(f, "sensor:{t}"),
            k => f.write_str(k.as_str()),
        }
    }
}

impl FromStr for AssetKind {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(AssetKind::parse(s))
    }
}

/// Where an asset sits vertically: the layer a renderer and a query may filter by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ZLevel {
    /// Below ground: pipes, tunnels, basements.
    Underground,
    /// On the ground: buildings, roads, fields.
    Ground,
    /// On or in water: rivers, canals, water sensors.
    Water,
    /// In the air: drones, cable lines, elevated sensors.
    Air,
}

impl ZLevel {
    /// Parses `underground`, `ground`, `water` or `air` (case-insensitive).
    pub fn parse(s: &str) -> Option<ZLevel> {
        match s.trim().to_ascii_lowercase().as_str() {
            "underground" | "below" => Some(ZLevel::Underground),
            "ground" | "surface" => Some(ZLevel::Ground),
            "water" => Some(ZLevel::Water),
            "air" | "above" => Some(ZLevel::Air),
            _ => None,
        }
    }

    /// The canonical lower-case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            ZLevel::Underground => "underground",
            ZLevel::Ground => "ground",
            ZLevel::Water => "water",
            ZLevel::Air => "air",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kinds_and_sensor_types() {
        assert_eq!(AssetKind::parse("Building"), AssetKind::Building);
        assert_eq!(AssetKind::parse("5G station"), AssetKind::Station5g);
        assert_eq!(AssetKind::parse("canal"), AssetKind::River);
        assert_eq!(
            AssetKind::parse("sensor:PM2.5"),
            AssetKind::Sensor(SensorType::Pm25)
        );
        assert_eq!(
            AssetKind::parse("water_level"),
            AssetKind::Sensor(SensorType::WaterLevel)
        );
        assert_eq!(
            AssetKind::parse("Wind turbine"),
            AssetKind::Custom("Wind turbine".into())
        );
        for t in SensorType::BUILTIN {
            let k = AssetKind::Sensor(t.clone());
            assert_eq!(AssetKind::parse(&k.to_string()), k);
        }
        for name in BUILTIN_KIND_NAMES {
            assert_eq!(AssetKind::parse(name).as_str(), name);
        }
    }

    #[test]
    fn default_z_levels() {
        assert_eq!(AssetKind::Pipe.default_z_level(), ZLevel::Underground);
        assert_eq!(AssetKind::River.default_z_level(), ZLevel::Water);
        assert_eq!(AssetKind::Building.default_z_level(), ZLevel::Ground);
        assert_eq!(ZLevel::parse("AIR"), Some(ZLevel::Air));
        assert_eq!(ZLevel::parse("sky"), None);
    }
}
