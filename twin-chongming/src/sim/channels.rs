//! The standard channels of the built-in sensor types: names, types and units, shared by
//! the simulator and by every other telemetry source.

use twin_core::SensorType;
use twin_core::state::{ChannelId, ChannelSpec, RegisterChannel};

/// Name of the water-level channel (`water_level` sensors, metres).
pub const LEVEL: &str = "level";
/// Name of the water-quality-index channel (`water_quality` sensors, 0–100).
pub const WQI: &str = "wqi";
/// Name of the PM2.5 channel (`pm25` sensors, µg/m³).
pub const PM25: &str = "pm25";
/// Name of the noise channel (`noise` sensors, dB(A)).
pub const NOISE: &str = "noise";
/// Name of the soil-moisture channel (`soil_moisture` sensors, volumetric %).
pub const MOISTURE: &str = "moisture";
/// Name of the traffic channel (`traffic_counter` sensors, vehicles per minute).
pub const VEHICLES: &str = "vehicles";
/// Name of the parking-bay channel (`parking_occupancy` sensors, bool).
pub const OCCUPIED: &str = "occupied";
/// Name of the charging-power channel (`charger_power` sensors, kW).
pub const POWER: &str = "power";
/// Name of the charger-state channel (`charger_power` sensors, [`ChargerState`]).
pub const CHARGER: &str = "charger";
/// Name of the building-energy channel (`building_energy` sensors, kWh per hour).
pub const ENERGY: &str = "energy";
/// Name of the room-temperature channel (`room_temperature` sensors, °C).
pub const TEMPERATURE: &str = "temperature";
/// Name of the CO₂ channel (`co2` sensors, ppm).
pub const CO2: &str = "co2";
/// Name of the people-count channel (`occupancy` sensors, persons).
pub const PEOPLE: &str = "people";
/// Camera AI event: garbage left in the open (confidence 0–1; 0: no longer seen).
pub const EXPOSED_GARBAGE: &str = "exposed_garbage";
/// Camera AI event: a vehicle parked where it may not be (confidence 0–1).
pub const ILLEGAL_PARKING: &str = "illegal_parking";
/// Camera AI event: water standing on the road (confidence 0–1).
pub const STANDING_WATER: &str = "standing_water";
/// Camera AI event: a crowd beyond the place's capacity (confidence 0–1).
pub const CROWDING: &str = "crowding";
/// The channels a `camera` reports on, one per AI event type.
pub const CAMERA_CHANNELS: [&str; 4] = [EXPOSED_GARBAGE, ILLEGAL_PARKING, STANDING_WATER, CROWDING];

/// The state of an EV charger as the `charger` channel holds it: the column value is
/// the state's index in [`ChargerState::NAMES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum ChargerState {
    /// No vehicle is charging.
    Idle = 0,
    /// A vehicle is charging.
    Charging = 1,
    /// The charger reports a fault and delivers no power.
    Fault = 2,
}

impl ChargerState {
    /// The states of the `charger` channel, in index order.
    pub const NAMES: [&'static str; 3] = ["idle", "charging", "fault"];

    /// The state's name (`idle`, `charging`, `fault`).
    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// The encoded column value (the state's index).
    pub fn value(self) -> f64 {
        f64::from(self as u8)
    }

    /// The state an encoded column value stands for.
    pub fn from_value(x: f64) -> Option<ChargerState> {
        [
            ChargerState::Idle,
            ChargerState::Charging,
            ChargerState::Fault,
        ]
        .into_iter()
        .find(|s| s.value() == x)
    }
}

/// The channel name of a sensor type's main channel (`None` for cameras, which report
/// [`CAMERA_CHANNELS`], and for [`SensorType::Other`]). Charger sensors also report
/// [`CHARGER`].
pub fn channel_name(t: &SensorType) -> Option<&'static str> {
    Some(match t {
        SensorType::WaterLevel => LEVEL,
        SensorType::WaterQuality => WQI,
        SensorType::Pm25 => PM25,
        SensorType::Noise => NOISE,
        SensorType::SoilMoisture => MOISTURE,
        SensorType::TrafficCounter => VEHICLES,
        SensorType::ParkingOccupancy => OCCUPIED,
        SensorType::ChargerPower => POWER,
        SensorType::BuildingEnergy => ENERGY,
        SensorType::RoomTemperature => TEMPERATURE,
        SensorType::Co2 => CO2,
        SensorType::Occupancy => PEOPLE,
        SensorType::Camera | SensorType::Other(_) => return None,
    })
}

/// The ids of the standard channels in one [`StateStore`](twin_core::state::StateStore), from
/// [`standard_channels`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StandardChannels {
    /// `level`: water level (m).
    pub level: ChannelId,
    /// `wqi`: water quality index (0–100).
    pub wqi: ChannelId,
    /// `pm25`: PM2.5 (µg/m³).
    pub pm25: ChannelId,
    /// `noise`: ambient noise (dB(A)).
    pub noise: ChannelId,
    /// `moisture`: soil moisture (volumetric %).
    pub moisture: ChannelId,
    /// `vehicles`: vehicles per minute.
    pub vehicles: ChannelId,
    /// `occupied`: whether a parking bay is taken (bool).
    pub occupied: ChannelId,
    /// `power`: power drawn by an EV charger (kW).
    pub power: ChannelId,
    /// `charger`: the charger's [`ChargerState`] (enum `idle`, `charging`, `fault`).
    pub charger: ChannelId,
    /// `energy`: electric energy used by a building (kWh per hour).
    pub energy: ChannelId,
    /// `temperature`: a room's air temperature (°C).
    pub temperature: ChannelId,
    /// `co2`: a room's CO₂ (ppm).
    pub co2: ChannelId,
    /// `people`: people in a room.
    pub people: ChannelId,
    /// The camera AI events ([`CAMERA_CHANNELS`], in that order): confidence 0–1.
    pub camera: [ChannelId; 4],
}

impl StandardChannels {
    /// The main channel of a sensor type (`power` for chargers; `None` for cameras and
    /// [`SensorType::Other`]).
    pub fn for_type(&self, t: &SensorType) -> Option<ChannelId> {
        Some(match t {
            SensorType::WaterLevel => self.level,
            SensorType::WaterQuality => self.wqi,
            SensorType::Pm25 => self.pm25,
            SensorType::Noise => self.noise,
            SensorType::SoilMoisture => self.moisture,
            SensorType::TrafficCounter => self.vehicles,
            SensorType::ParkingOccupancy => self.occupied,
            SensorType::ChargerPower => self.power,
            SensorType::BuildingEnergy => self.energy,
            SensorType::RoomTemperature => self.temperature,
            SensorType::Co2 => self.co2,
            SensorType::Occupancy => self.people,
            SensorType::Camera | SensorType::Other(_) => return None,
        })
    }

    /// Every standard channel with its name, in registration order.
    pub fn all(&self) -> [(&'static str, ChannelId); 17] {
        [
            (LEVEL, self.level),
            (WQI, self.wqi),
            (PM25, self.pm25),
            (NOISE, self.noise),
            (MOISTURE, self.moisture),
            (VEHICLES, self.vehicles),
            (OCCUPIED, self.occupied),
            (POWER, self.power),
            (CHARGER, self.charger),
            (ENERGY, self.energy),
            (EXPOSED_GARBAGE, self.camera[0]),
            (ILLEGAL_PARKING, self.camera[1]),
            (STANDING_WATER, self.camera[2]),
            (CROWDING, self.camera[3]),
            (TEMPERATURE, self.temperature),
            (CO2, self.co2),
            (PEOPLE, self.people),
        ]
    }
}

/// The specs of the standard channels, in registration order (see the
/// [module documentation](super) for the table).
pub fn standard_specs() -> [ChannelSpec; 17] {
    [
        ChannelSpec::number(LEVEL, "m"),
        ChannelSpec::number(WQI, ""),
        ChannelSpec::number(PM25, "µg/m³"),
        ChannelSpec::number(NOISE, "dB(A)"),
        ChannelSpec::number(MOISTURE, "%"),
        ChannelSpec::number(VEHICLES, "veh/min"),
        ChannelSpec::boolean(OCCUPIED),
        ChannelSpec::number(POWER, "kW"),
        ChannelSpec::enumeration(CHARGER, &ChargerState::NAMES),
        ChannelSpec::number(ENERGY, "kWh/h"),
        ChannelSpec::number(EXPOSED_GARBAGE, ""),
        ChannelSpec::number(ILLEGAL_PARKING, ""),
        ChannelSpec::number(STANDING_WATER, ""),
        ChannelSpec::number(CROWDING, ""),
        // Registered after the camera channels: ids of the channels before them stay
        // as they were (snapshots and journals name channels, but tests read ids).
        ChannelSpec::number(TEMPERATURE, "°C"),
        ChannelSpec::number(CO2, "ppm"),
        ChannelSpec::number(PEOPLE, "persons"),
    ]
}

/// Registers the channel of every built-in sensor type (plus the charger state) in a
/// session or a bare store and returns their ids. Registering is idempotent: a channel
/// already registered under one of these names keeps its id (and its spec).
pub fn standard_channels(store: &mut impl RegisterChannel) -> StandardChannels {
    let [
        level,
        wqi,
        pm25,
        noise,
        moisture,
        vehicles,
        occupied,
        power,
        charger,
        energy,
        garbage,
        parking,
        water,
        crowding,
        temperature,
        co2,
        people,
    ] = standard_specs().map(|spec| store.register_channel(spec));
    StandardChannels {
        level,
        wqi,
        pm25,
        noise,
        moisture,
        vehicles,
        occupied,
        power,
        charger,
        energy,
        temperature,
        co2,
        people,
        camera: [garbage, parking, water, crowding],
    }
}
