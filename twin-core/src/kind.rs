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
    /// Air temperature of a room (°C).
    RoomTemperature,
    /// CO₂ concentration of a room's air (ppm).
    Co2,
    /// People in a room.
    Occupancy,
    /// A video front-end (a camera of the 雪亮工程 public video network) whose AI
    /// reports what it sees — exposed garbage, illegal parking, standing water,
    /// crowding — as events with a confidence, not as a periodic measurement.
    Camera,
    /// Any other sensor type, by name.
    Other(String),
}

impl SensorType {
    /// Every built-in sensor type, in a fixed order.
    pub const BUILTIN: [SensorType; 13] = [
        SensorType::WaterLevel,
        SensorType::WaterQuality,
        SensorType::Pm25,
        SensorType::Noise,
        SensorType::SoilMoisture,
        SensorType::TrafficCounter,
        SensorType::ParkingOccupancy,
        SensorType::ChargerPower,
        SensorType::BuildingEnergy,
        SensorType::RoomTemperature,
        SensorType::Co2,
        SensorType::Occupancy,
        SensorType::Camera,
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
            SensorType::RoomTemperature => "room_temperature",
            SensorType::Co2 => "co2",
            SensorType::Occupancy => "occupancy",
            SensorType::Camera => "camera",
            SensorType::Other(s) => s,
        }
    }

    /// Whether the type reports only when something happens (a camera's AI events), so
    /// silence says nothing about whether it works: vital signs count such sensors
    /// neither online nor offline.
    pub fn reports_events_only(&self) -> bool {
        matches!(self, SensorType::Camera)
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

    /// Reads a kind as a data file names it, never failing: built-in names and their
    /// aliases (case-insensitive, `-` and spaces as `_`), `sensor:<type>` (or
    /// `sensor/<type>`; an unknown type is kept by name), a bare sensor type
    /// (`water_level`), `custom:<name>` — and any other name as [`AssetKind::Custom`],
    /// so that data with its own kinds loads without code changes. User input (filters,
    /// rules, the command line) goes through [`FromStr`] instead, which refuses names
    /// it does not know.
    pub fn from_data_name(s: &str) -> AssetKind {
        let trimmed = s.trim();
        if let Some(rest) = strip_prefix_ci(trimmed, "custom:") {
            return AssetKind::Custom(rest.trim().to_string());
        }
        if let Some(rest) = strip_prefix_ci(trimmed, "sensor:custom:") {
            return AssetKind::Sensor(SensorType::Other(rest.trim().to_string()));
        }
        let norm = normalise(trimmed);
        if let Some(rest) = norm
            .strip_prefix("sensor:")
            .or_else(|| norm.strip_prefix("sensor/"))
        {
            return AssetKind::Sensor(SensorType::parse(rest));
        }
        if norm == "sensor" {
            return AssetKind::Sensor(SensorType::Other("other".into()));
        }
        builtin(&norm).unwrap_or_else(|| match SensorType::parse(&norm) {
            SensorType::Other(_) => AssetKind::Custom(trimmed.to_string()),
            t => AssetKind::Sensor(t),
        })
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
    /// The spelling [`FromStr`] reads back: `building`, `sensor:water_level`,
    /// `custom:wind_turbine`, `sensor:custom:wind_speed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssetKind::Sensor(SensorType::Other(t)) => write!(f, "sensor:custom:{t}"),
            AssetKind::Sensor(t) => write!(f, "sensor:{t}"),
            AssetKind::Custom(k) => write!(f, "custom:{k}"),
            k => f.write_str(k.as_str()),
        }
    }
}

/// Why a kind or kind filter was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KindError {
    /// Not a built-in kind, sensor type or alias.
    #[error("unknown kind `{name}`{}; custom kinds are written custom:NAME (sensor types sensor:custom:NAME)", did_you_mean.as_ref().map(|d| format!(" (did you mean `{d}`?)")).unwrap_or_default())]
    Unknown {
        /// The name given.
        name: String,
        /// The closest built-in name, if one is close.
        did_you_mean: Option<String>,
    },
    /// `sensor` alone where a kind is needed, or `custom:` without a name.
    #[error(
        "`{0}` needs a name after it (sensor:water_level, custom:wind_turbine, sensor:custom:wind_speed)"
    )]
    MissingName(String),
    /// Nothing given.
    #[error("no kind given")]
    Empty,
}

impl FromStr for AssetKind {
    type Err = KindError;
    /// Reads a kind named by a user: a built-in kind or one of its aliases
    /// (case-insensitive; `-` and spaces as `_`), `sensor:<type>` for a built-in sensor
    /// type (or a bare type such as `pm25`), `custom:<name>` for a kind of the user's
    /// own, `sensor:custom:<name>` for a sensor type of the user's own. Anything else
    /// is refused, with the closest built-in name when one is near.
    fn from_str(s: &str) -> Result<AssetKind, KindError> {
        let trimmed = s.trim();
        if trimmed.is_empty() {
            return Err(KindError::Empty);
        }
        for (prefix, sensor) in [("sensor:custom:", true), ("custom:", false)] {
            if let Some(rest) = strip_prefix_ci(trimmed, prefix) {
                let name = rest.trim();
                if name.is_empty() {
                    return Err(KindError::MissingName(trimmed.to_string()));
                }
                return Ok(if sensor {
                    AssetKind::Sensor(SensorType::Other(name.to_string()))
                } else {
                    AssetKind::Custom(name.to_string())
                });
            }
        }
        let norm = normalise(trimmed);
        if norm == "sensor" {
            return Err(KindError::MissingName(trimmed.to_string()));
        }
        let unknown = |name: &str| KindError::Unknown {
            name: trimmed.to_string(),
            did_you_mean: closest(name),
        };
        if let Some(rest) = norm
            .strip_prefix("sensor:")
            .or_else(|| norm.strip_prefix("sensor/"))
        {
            return match SensorType::parse(rest) {
                SensorType::Other(_) => Err(unknown(&norm)),
                t => Ok(AssetKind::Sensor(t)),
            };
        }
        if let Some(k) = builtin(&norm) {
            return Ok(k);
        }
        match SensorType::parse(&norm) {
            SensorType::Other(_) => Err(unknown(&norm)),
            t => Ok(AssetKind::Sensor(t)),
        }
    }
}

/// `s` without `prefix`, compared case-insensitively.
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Lower case, `-` and spaces as `_`.
fn normalise(s: &str) -> String {
    s.trim().to_ascii_lowercase().replace(['-', ' '], "_")
}

/// Built-in kinds by name or alias (normalised).
fn builtin(norm: &str) -> Option<AssetKind> {
    Some(match norm {
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
        _ => return None,
    })
}

/// The built-in kind or `sensor:<type>` nearest to a mistyped name (edit distance at
/// most 2, or a third of its length), if any.
fn closest(norm: &str) -> Option<String> {
    let candidates = BUILTIN_KIND_NAMES
        .iter()
        .filter(|n| **n != "sensor")
        .map(|n| n.to_string())
        .chain(
            SensorType::BUILTIN
                .iter()
                .map(|t| format!("sensor:{}", t.as_str())),
        );
    let bare = norm.strip_prefix("sensor:").unwrap_or(norm);
    candidates
        .map(|c| {
            let against = if norm.starts_with("sensor:") {
                c.strip_prefix("sensor:").unwrap_or("").to_string()
            } else {
                c.strip_prefix("sensor:").map_or(c.clone(), str::to_string)
            };
            (strsim::levenshtein(bare, &against), c)
        })
        .filter(|(d, _)| *d <= 2.max(bare.len() / 3))
        .min()
        .map(|(_, c)| c)
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
    fn data_names_never_fail() {
        let data = AssetKind::from_data_name;
        assert_eq!(data("Building"), AssetKind::Building);
        assert_eq!(data("5G station"), AssetKind::Station5g);
        assert_eq!(data("canal"), AssetKind::River);
        assert_eq!(data("sensor:PM2.5"), AssetKind::Sensor(SensorType::Pm25));
        assert_eq!(
            data("water_level"),
            AssetKind::Sensor(SensorType::WaterLevel)
        );
        assert_eq!(
            data("Wind turbine"),
            AssetKind::Custom("Wind turbine".into())
        );
        assert_eq!(
            data("custom:Wind turbine"),
            AssetKind::Custom("Wind turbine".into())
        );
        assert_eq!(
            data("sensor:custom:wind speed"),
            AssetKind::Sensor(SensorType::Other("wind speed".into()))
        );
        for name in BUILTIN_KIND_NAMES {
            assert_eq!(data(name).as_str(), name);
        }
    }

    #[test]
    fn user_names_are_checked_and_round_trip() {
        let parse = |s: &str| s.parse::<AssetKind>();
        assert_eq!(parse("Building"), Ok(AssetKind::Building));
        assert_eq!(parse(" ev-charger "), Ok(AssetKind::EvCharger));
        assert_eq!(parse("pm25"), Ok(AssetKind::Sensor(SensorType::Pm25)));
        assert_eq!(
            parse("sensor:PM2.5"),
            Ok(AssetKind::Sensor(SensorType::Pm25))
        );
        assert_eq!(
            parse("custom:wind_turbine"),
            Ok(AssetKind::Custom("wind_turbine".into()))
        );
        let e = parse("twon").unwrap_err();
        assert_eq!(
            e,
            KindError::Unknown {
                name: "twon".into(),
                did_you_mean: Some("town".into())
            }
        );
        assert!(e.to_string().contains("did you mean `town`"), "{e}");
        assert!(e.to_string().contains("custom:NAME"), "{e}");
        assert_eq!(
            parse("sensor:watr_level").unwrap_err(),
            KindError::Unknown {
                name: "sensor:watr_level".into(),
                did_you_mean: Some("sensor:water_level".into())
            }
        );
        assert_eq!(
            parse("wind turbine").unwrap_err(),
            KindError::Unknown {
                name: "wind turbine".into(),
                did_you_mean: None
            }
        );
        assert_eq!(
            parse("sensor"),
            Err(KindError::MissingName("sensor".into()))
        );
        assert_eq!(
            parse("custom:"),
            Err(KindError::MissingName("custom:".into()))
        );
        assert_eq!(parse("  "), Err(KindError::Empty));
        let mut all: Vec<AssetKind> = BUILTIN_KIND_NAMES
            .iter()
            .filter(|n| **n != "sensor")
            .map(|n| parse(n).unwrap())
            .collect();
        all.extend(SensorType::BUILTIN.iter().cloned().map(AssetKind::Sensor));
        all.push(AssetKind::Custom("wind turbine".into()));
        all.push(AssetKind::Sensor(SensorType::Other("wind speed".into())));
        for k in all {
            assert_eq!(parse(&k.to_string()), Ok(k.clone()), "{k}");
            assert_eq!(AssetKind::from_data_name(&k.to_string()), k, "{k}");
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
