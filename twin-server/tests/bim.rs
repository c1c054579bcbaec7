//! A building model on the served island: a room's alert rolls up to its storey, its
//! building and its town (`GET /api/v1/alerts?within=ID`, and each alert's `within`),
//! asked with curl.

use std::path::PathBuf;
use std::process::Command;

mod common;

use serde_json::Value;
use twin_bim::{Place, Standing};
use twin_core::state::{Quality, Reading, Value as V};
use twin_core::{Session, Timestamp};
use twin_server::{Feed, Limits};

use common::VIEWER;

/// 2026-05-04T00:00:00Z.
const T0: i64 = 1_777_852_800_000;
/// FZK-Haus: its ground storey ("Erdgeschoss") and the bedroom on it.
const GROUND: &str = "2eyxpyOx95m90jmsXLOuR0";
const BEDROOM: &str = "347jFE2yX7IhCEIALmupEH";

fn get(url: &str) -> (u16, Value) {
    let out = Command::new("curl")
        .args(["-s", "-S", "-g", "-w", "\n%{http_code}", "-H"])
        .arg(format!("Authorization: Bearer {VIEWER}"))
        .arg(url)
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap();
    let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    (code.trim().parse().unwrap(), body)
}

/// CO₂ at 1500 ppm for 11 minutes in `room` (one reading a batch, as a feed brings
/// them): `co2-high` (above 1000 ppm for 10 min) raises on the second.
fn stuffy(s: &mut Session, room: &str) {
    for dt in [0, 660_000] {
        let reading = Reading {
            id: format!("{room}-CO2"),
            channel: "co2".into(),
            ts: Timestamp::from_millis(T0 + dt),
            value: V::Num(1500.0),
            quality: Quality::Good,
        };
        let r = s.apply_readings(&[reading], Timestamp::from_millis(T0 + dt));
        assert_eq!(r.applied, 1, "{r:?}");
    }
}

#[test]
fn a_rooms_alert_rolls_up_to_its_storey_building_and_town() {
    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../twin-bim/tests/data/external/AC20-FZK-Haus.ifc");
    let mut twin = twin_chongming::island::load(&twin_chongming::SynthConfig {
        seed: 2026,
        scale: 0.05,
    })
    .unwrap();
    let place = Place::parse("121.397,31.623").unwrap();
    let added = twin_bim::add_to_twin(&mut twin, &model, &Standing::At(place), None).unwrap();
    assert_eq!((added.elements, added.sensors), (93, 22));
    let mut s = twin_chongming::sim::standard_session(
        twin,
        twin_chongming::sim::standard_config(6 * 3_600_000, None),
        twin_chongming::DEFAULT_RULES_JSON,
    )
    .unwrap()
    .0;
    // A room of the other storey, and the building and town from the twin.
    let twin = s.twin();
    let ground = twin.handle(GROUND).unwrap();
    let upstairs = twin
        .iter()
        .find(|(h, a)| a.kind.to_string() == "custom:ifc_space" && twin.part_of(*h) != Some(ground))
        .map(|(_, a)| a.id.clone())
        .unwrap();
    let building = twin.get(twin.part_of(ground).unwrap()).unwrap().id.clone();
    let town = twin
        .get(twin.town_of(twin.handle(BEDROOM).unwrap()).unwrap())
        .unwrap()
        .id
        .clone();
    stuffy(&mut s, BEDROOM);
    stuffy(&mut s, &upstairs);

    let server = common::start(s, Limits::default(), Feed::Nothing);
    let base = format!("http://{}", server.addr());
    let ids = |v: &Value| -> Vec<String> {
        let mut out: Vec<String> = v["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["asset"].as_str().unwrap().to_string())
            .collect();
        out.sort();
        out
    };
    let (code, v) = get(&format!("{base}/api/v1/alerts?within={GROUND}"));
    assert_eq!(code, 200, "{v}");
    assert_eq!(ids(&v), [format!("{BEDROOM}-CO2")], "{v}");
    let a = &v["alerts"][0];
    assert_eq!(a["rule"], "co2-high");
    assert_eq!(a["within"][0], BEDROOM);
    assert_eq!(a["within"][1], GROUND);
    assert_eq!(a["within"][2], building.as_str());
    assert_eq!(a["town"], town.as_str());
    // The room itself, the building, the town: both rooms' alerts where both are in.
    let (_, v) = get(&format!("{base}/api/v1/alerts?within={BEDROOM}"));
    assert_eq!(v["count"], 1, "{v}");
    let (_, v) = get(&format!("{base}/api/v1/alerts?within={building}"));
    let mut both = vec![format!("{BEDROOM}-CO2"), format!("{upstairs}-CO2")];
    both.sort();
    assert_eq!(ids(&v), both, "{v}");
    let (_, v) = get(&format!("{base}/api/v1/alerts?within={town}"));
    assert!(both.iter().all(|b| ids(&v).contains(b)), "{v}");
    let (code, v) = get(&format!("{base}/api/v1/alerts?within=NO-SUCH-ASSET"));
    assert_eq!(code, 404, "{v}");
    assert!(
        v["reason"].as_str().unwrap().contains("NO-SUCH-ASSET"),
        "{v}"
    );
}

/// The model's building gets an energy meter and its rooms their three sensors, and
/// the simulator drives them all: after half an hour each has a value in its range.
#[test]
fn the_simulator_drives_a_models_meter_and_room_sensors() {
    use twin_chongming::sim::{SimConfig, Simulator};
    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../twin-bim/tests/data/external/AC20-FZK-Haus.ifc");
    let mut twin = twin_chongming::island::load(&twin_chongming::SynthConfig {
        seed: 2026,
        scale: 0.05,
    })
    .unwrap();
    let place = Place::parse("121.397,31.623").unwrap();
    twin_bim::add_to_twin(&mut twin, &model, &Standing::At(place), None).unwrap();
    let (mut s, channels) = twin_chongming::sim::standard_session(
        twin,
        twin_chongming::sim::standard_config(6 * 3_600_000, None),
        twin_chongming::DEFAULT_RULES_JSON,
    )
    .unwrap();
    // FZK-Haus's IfcBuilding, its two storeys counted as its floors.
    let building = "2hQBAVPOr5VxhS3Jl0O47h";
    let b = s.twin().get(s.twin().handle(building).unwrap()).unwrap();
    assert_eq!(
        b.properties.get("floors").and_then(|f| f.as_f64()),
        Some(2.0)
    );
    let start = Timestamp::from_millis(T0);
    let mut sim = Simulator::new(s.twin(), &channels, SimConfig::quiet(7, start));
    for m in 0..=30 {
        sim.drive(&mut s, start.add_ms(m * 60_000));
    }
    let value = |id: &str, channel: &str| {
        let h = s.twin().handle(id).unwrap_or_else(|| panic!("no {id}"));
        let c = s.store().channel(channel).unwrap();
        s.store()
            .latest_value(h, c)
            .and_then(|v| match v {
                V::Num(x) => Some(x),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{id} has no {channel}"))
    };
    let kwh = value(&format!("{building}-ENERGY"), "energy");
    assert!(kwh > 0.0 && kwh < 50.0, "{kwh}");
    let co2 = value(&format!("{BEDROOM}-CO2"), "co2");
    assert!((380.0..3000.0).contains(&co2), "{co2}");
    let t = value(&format!("{BEDROOM}-TEMP"), "temperature");
    assert!((10.0..35.0).contains(&t), "{t}");
}
