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

/// A screen of a served twin that holds a model: the hello lists the model, the HTTP
/// routes and `get_model` give its bytes exactly (pieces read by hand from
/// docs/stream.md §4, through tungstenite), and a twin of the same island that adds
/// those bytes as the hello says holds the server's assets (equal fingerprints).
#[test]
fn a_screen_gets_the_served_model_and_holds_the_servers_assets() {
    use std::time::Duration;
    use tungstenite::Message;
    use tungstenite::client::IntoClientRequest;
    use tungstenite::http::HeaderValue;

    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../twin-bim/tests/data/external/AC20-FZK-Haus.ifc");
    let file = std::fs::read(&model).unwrap();
    let island = || {
        twin_chongming::island::load(&twin_chongming::SynthConfig {
            seed: 2026,
            scale: 0.05,
        })
        .unwrap()
    };
    let mut twin = island();
    // Stood on a building of the island: the plot is flattened and its meter moved,
    // which the screen must do alike.
    let plot = twin
        .iter()
        .find(|(_, a)| a.kind == twin_core::AssetKind::Building)
        .map(|(_, a)| a.id.to_string())
        .unwrap();
    let place = format!("@{plot}");
    let standing = Standing::parse(&place).unwrap();
    twin_bim::add_to_twin(&mut twin, &model, &standing, None).unwrap();
    let fingerprint = twin.fingerprint();
    let s = twin_chongming::sim::standard_session(
        twin,
        twin_chongming::sim::standard_config(6 * 3_600_000, None),
        twin_chongming::DEFAULT_RULES_JSON,
    )
    .unwrap()
    .0;
    let config = twin_server::ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls: None,
        mqtt: None,
    };
    let mut served = twin_server::Served::new(s, Some(common::tokens()), Limits::default(), "t");
    served
        .add_model(
            &model.display().to_string(),
            file.clone(),
            Some(place.clone()),
            None,
        )
        .unwrap();
    let server = twin_server::spawn(&config, served, Feed::Nothing, false).unwrap();
    let base = format!("http://{}", server.addr());

    // HTTP: the list, and the file byte for byte (curl writes it out).
    let (code, v) = get(&format!("{base}/api/v1/models"));
    assert_eq!(code, 200, "{v}");
    assert_eq!(
        v["models"][0]["name"], "AC20-FZK-Haus.ifc",
        "no folder: {v}"
    );
    assert_eq!(v["models"][0]["bytes"], file.len());
    assert_eq!(v["models"][0]["place"], place.as_str());
    let out = std::env::temp_dir().join(format!("twin-model-{}.ifc", std::process::id()));
    let code = Command::new("curl")
        .args(["-s", "-S", "-o"])
        .arg(&out)
        .args(["-w", "%{http_code}", "-H"])
        .arg(format!("Authorization: Bearer {VIEWER}"))
        .arg(format!("{base}/api/v1/models/0"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&code.stdout), "200");
    assert_eq!(std::fs::read(&out).unwrap(), file);
    let _ = std::fs::remove_file(&out);
    let (code, _) = get(&format!("{base}/api/v1/models/1"));
    assert_eq!(code, 404);
    // Without a token: refused like every other route.
    let anon = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("{base}/api/v1/models/0"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&anon.stdout), "401");

    // The stream.
    let mut req = format!("ws://{}/api/v1/stream", server.addr())
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {VIEWER}")).unwrap(),
    );
    req.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("twin.v1"),
    );
    let (mut ws, _) = tungstenite::connect(req).unwrap();
    let text = |m: Message| -> Option<Value> {
        match m {
            Message::Text(t) => Some(serde_json::from_str(&t).unwrap()),
            _ => None,
        }
    };
    let hello = text(ws.read().unwrap()).unwrap();
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["fingerprint"], fingerprint.as_str());
    assert_eq!(hello["models"][0]["name"], "AC20-FZK-Haus.ifc", "{hello}");
    assert_eq!(hello["models"][0]["index"], 0);
    ws.send(Message::text(r#"{"type":"get_model","model":3,"req":1}"#))
        .unwrap();
    ws.send(Message::text(r#"{"type":"get_model","model":0,"req":2}"#))
        .unwrap();
    let mut got = Vec::new();
    let mut refused = None;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        assert!(std::time::Instant::now() < deadline, "no model_end");
        match ws.read().unwrap() {
            Message::Binary(b) => {
                let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
                // A header of 24 bytes, kind 5: count = the file's length; then the
                // file's index and the piece's offset.
                assert_eq!((b[0], b[1]), (5, 1), "kind 5, version 1");
                assert_eq!(u32_at(12) as usize, file.len());
                assert_eq!(u32_at(24), 0, "model 0");
                assert_eq!(u32_at(28) as usize, got.len(), "pieces in order");
                got.extend_from_slice(&b[32..]);
            }
            m => {
                let Some(v) = text(m) else { continue };
                match v["type"].as_str() {
                    Some("error") if v["req"] == 1 => refused = Some(v["status"].clone()),
                    Some("model_end") => {
                        assert_eq!(v["req"], 2);
                        assert_eq!(v["bytes"], file.len());
                        break;
                    }
                    _ => {}
                }
            }
        }
    }
    assert_eq!(refused, Some(Value::from(404)));
    assert!(got == file, "the pieces are the file");

    // The screen's side: the same island, the bytes added as the hello says.
    let mut screen = island();
    let m = &hello["models"][0];
    let standing = Standing::parse(m["place"].as_str().unwrap()).unwrap();
    twin_bim::add_bytes_to_twin(
        &mut screen,
        m["name"].as_str().unwrap(),
        &got,
        &standing,
        None,
    )
    .unwrap();
    assert_eq!(screen.fingerprint(), fingerprint);
    assert_ne!(island().fingerprint(), fingerprint);
}
