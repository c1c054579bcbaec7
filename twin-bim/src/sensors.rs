//! Sensors for the rooms of a model: every IfcSpace gets a thermometer, a CO₂ sensor
//! and an occupancy counter, attached to it, and every IfcBuilding an energy meter
//! ([`building_meters`]), so an imported building is live the moment it loads (the
//! simulator drives them; a real deployment sends readings to the same ids).
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

/// An electricity meter (`building_energy`, channel `energy`, kWh) for every building of
/// a model that has a footprint (an `IfcBuilding`, kind `building`, given the extent of
/// its parts): `<GlobalId>-ENERGY`,
/// attached to it at an interior point of its footprint, 1 m above its lowest floor.
/// The simulator sizes its load by the building's footprint and `floors` (set here to
/// the number of its storeys when the file does not give one).
pub fn building_meters(assets: &mut [&mut Asset]) -> Vec<Asset> {
    let storey = AssetKind::Custom("ifc_building_storey".into());
    // Storeys per building, counted once.
    let mut storeys_of: std::collections::HashMap<String, usize> = Default::default();
    for a in assets.iter().filter(|a| a.kind == storey) {
        if let Some(b) = &a.part_of {
            *storeys_of.entry(b.clone()).or_default() += 1;
        }
    }
    let mut out = Vec::new();
    for a in assets.iter_mut() {
        let a: &mut Asset = a;
        if a.kind != AssetKind::Building
            || a.properties.get("ifc_class").is_none()
            || !matches!(a.geometry, geo::Geometry::Polygon(_))
        {
            continue;
        }
        let Some(at) = a.geometry.interior_point() else {
            continue;
        };
        let id = a.id.to_string();
        let storeys = storeys_of.get(&id).copied().unwrap_or(0);
        if storeys > 0 && a.properties.get("floors").is_none() {
            a.properties
                .insert("floors".into(), PropValue::Num(storeys as f64));
        }
        let name = a.name_en.clone().unwrap_or_else(|| id.clone());
        let mut m = Asset::new(
            format!("{id}-ENERGY"),
            AssetKind::Sensor(SensorType::BuildingEnergy),
            geo::Geometry::Point(at),
        );
        m.name_en = Some(format!("{name} energy"));
        m.name_zh = Some(format!("{name} 电表"));
        m.attached_to = Some(id);
        m.vertical = Vertical {
            base: a.vertical.base + 1.0,
            height: 0.0,
            z_level: ZLevel::Ground,
        };
        m.properties
            .insert("generated".into(), PropValue::Str("building meter".into()));
        m.source = Source {
            file: Arc::from(format!("{}#meters", a.source.file)),
            feature: out.len(),
        };
        out.push(m);
    }
    out
}
