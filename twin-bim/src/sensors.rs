//! Sensors for the rooms of a model: every IfcSpace gets a thermometer, a CO₂ sensor
//! and an occupancy counter, attached to it, so an imported building is live the
//! moment it loads (the simulator drives them; a real deployment sends readings to
//! the same ids).
//!
//! Ids are the room's GlobalId with a suffix: `<GlobalId>-TEMP` (`room_temperature`,
//! channel `temperature`, °C), `<GlobalId>-CO2` (`co2`, channel `co2`, ppm) and
//! `<GlobalId>-OCC` (`occupancy`, channel `people`). They stand 1.5 m above the room's
//! floor, where wall units would be, side by side: the thermometer at an interior point
//! of the room's footprint, the CO₂ sensor 0.6 m east of it and the counter 0.6 m west.

use std::sync::Arc;

use geo::InteriorPoint;
use twin_core::{Asset, AssetKind, PropValue, SensorType, Source, Vertical, ZLevel};

/// The sensor types a room gets, with their id suffixes and names (English, Chinese).
pub const ROOM_SENSORS: [(SensorType, &str, &str, &str); 3] = [
    (SensorType::RoomTemperature, "TEMP", "temperature", "室温"),
    (SensorType::Co2, "CO2", "CO₂", "二氧化碳"),
    (SensorType::Occupancy, "OCC", "occupancy", "人数"),
];

/// Height of a room sensor above the room's floor (m).
pub const SENSOR_HEIGHT: f64 = 1.5;

/// The sensors of every room (`custom:ifc_space`) among `assets`, in the rooms' order.
pub fn room_sensors<'a>(assets: impl IntoIterator<Item = &'a Asset>) -> Vec<Asset> {
    let room = AssetKind::Custom("ifc_space".into());
    let mut out = Vec::new();
    for (i, a) in assets.into_iter().filter(|a| a.kind == room).enumerate() {
        let Some(at) = a.geometry.interior_point() else {
            continue;
        };
        let name = a.name_en.clone().unwrap_or_else(|| a.id.to_string());
        // 0.6 m in degrees of longitude at the room's latitude.
        let step = 0.6 / (111_320.0 * at.y().to_radians().cos().max(0.01));
        for (j, (t, suffix, en, zh)) in ROOM_SENSORS.iter().enumerate() {
            let east = [0.0, step, -step][j];
            let mut s = Asset::new(
                format!("{}-{suffix}", a.id),
                AssetKind::Sensor(t.clone()),
                geo::Geometry::Point(geo::Point::new(at.x() + east, at.y())),
            );
            s.name_en = Some(format!("{name} {en}"));
            s.name_zh = Some(format!("{name} {zh}"));
            s.attached_to = Some(a.id.to_string());
            s.vertical = Vertical {
                base: a.vertical.base + SENSOR_HEIGHT,
                height: 0.0,
                z_level: ZLevel::Ground,
            };
            s.properties
                .insert("generated".into(), PropValue::Str("room sensor".into()));
            s.source = Source {
                file: Arc::from(format!("{}#room-sensors", a.source.file)),
                feature: i * ROOM_SENSORS.len() + j,
            };
            out.push(s);
        }
    }
    out
}
