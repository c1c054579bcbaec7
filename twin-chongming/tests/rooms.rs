//! A room's three sensors (a building model's thermometer, CO₂ sensor and occupancy
//! counter, attached to its IfcSpace) as the simulator drives them: the same people
//! counted, breathed and felt, within the documented ranges, with a home's daily rhythm.

use twin_chongming::sim::{self, SimConfig, Simulator};
use twin_core::crs::LocalFrame;
use twin_core::state::{Retention, Sample, StateStore};
use twin_core::{Asset, AssetKind, SensorType, Timestamp, Twin, Vertical, ZLevel};

/// 2026-05-04T00:00:00Z: 08:00 in Shanghai.
const START: i64 = 1_777_852_800_000;
const HOUR: i64 = 3_600_000;

/// A 5 m × 8 m room (40 m²: capacity 5) with its three sensors.
fn room_twin() -> Twin {
    let frame = LocalFrame::new(121.397, 31.623, 0.0);
    let mut twin = Twin::new(frame);
    let corner = |e: f64, n: f64| frame.to_geographic(e, n);
    let ring: Vec<(f64, f64)> = [(0.0, 0.0), (5.0, 0.0), (5.0, 8.0), (0.0, 8.0), (0.0, 0.0)]
        .iter()
        .map(|&(e, n)| corner(e, n))
        .collect();
    let mut room = Asset::new(
        "ROOM",
        AssetKind::Custom("ifc_space".into()),
        geo::Geometry::Polygon(geo::Polygon::new(ring.into(), vec![])),
    );
    room.vertical = Vertical {
        base: 3.0,
        height: 2.5,
        z_level: ZLevel::Ground,
    };
    twin.insert(room).unwrap();
    let (lon, lat) = corner(2.5, 4.0);
    for (suffix, t) in [
        ("TEMP", SensorType::RoomTemperature),
        ("CO2", SensorType::Co2),
        ("OCC", SensorType::Occupancy),
    ] {
        let mut s = Asset::new(
            format!("ROOM-{suffix}"),
            AssetKind::Sensor(t),
            geo::Geometry::Point(geo::Point::new(lon, lat)),
        );
        s.attached_to = Some("ROOM".into());
        twin.insert(s).unwrap();
    }
    twin
}

#[test]
fn a_rooms_sensors_count_breathe_and_feel_the_same_people() {
    let twin = room_twin();
    let mut store = StateStore::new(twin.handle_capacity(), Retention::default(), None);
    let ch = sim::standard_channels(&mut store);
    let mut sim = Simulator::new(
        &twin,
        &ch,
        SimConfig::quiet(7, Timestamp::from_millis(START)),
    );
    let id = |s: &str| twin.handle(s).unwrap();
    let (temp, co2, occ) = (id("ROOM-TEMP"), id("ROOM-CO2"), id("ROOM-OCC"));
    let mut rows = Vec::new();
    // Every 20 minutes for two days.
    for i in 0..144 {
        let t = START + i * HOUR / 3;
        let mut out: Vec<Sample> = Vec::new();
        sim.tick(Timestamp::from_millis(t), &mut out);
        let value = |h, c| {
            out.iter()
                .find(|s| s.handle == h && s.channel == c)
                .unwrap_or_else(|| panic!("a reading of {h} at {t}"))
                .value
        };
        let hour = ((t + 8 * HOUR).rem_euclid(24 * HOUR) / HOUR) as usize;
        rows.push((
            hour,
            value(occ, ch.people),
            value(co2, ch.co2),
            value(temp, ch.temperature),
        ));
    }
    for &(_, people, co2, temp) in &rows {
        assert!(
            people.fract() == 0.0 && (0.0..=5.0).contains(&people),
            "{people}"
        );
        assert!((400.0..=1400.0).contains(&co2), "{co2}");
        assert!((18.0..=27.0).contains(&temp), "{temp}");
    }
    // More people, more CO₂: a person is 110–170 ppm in a room of five, the noise a
    // few ppm.
    for a in &rows {
        for b in &rows {
            if a.1 < b.1 {
                assert!(
                    a.2 < b.2,
                    "{} people: {} ppm; {} people: {} ppm",
                    a.1,
                    a.2,
                    b.1,
                    b.2
                );
            }
        }
    }
    // A home's rhythm: fuller in the evening (18:00–21:00) than before dawn (02:00–05:00).
    let mean = |lo: usize, hi: usize| {
        let v: Vec<f64> = rows
            .iter()
            .filter(|r| (lo..hi).contains(&r.0))
            .map(|r| r.1)
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    assert!(
        mean(18, 21) > mean(2, 5) + 1.0,
        "{} {}",
        mean(18, 21),
        mean(2, 5)
    );
}
