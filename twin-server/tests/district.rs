//! One district across processes: two `twin serve` sessions × 9 towns on one real
//! mosquitto, and one session with all 18, fed the same readings by `mosquitto_pub`.
//! A client of either of the two sees what a client of the one sees: the same 18
//! town rows and island rows, the same open alerts; an acknowledgement sent to the
//! process that does not own the alert is done by the one that does.

use std::time::Duration;

mod common;

use common::broker::{Broker, get, have_tools, now_ms, wait_for};
use serde_json::Value;
use twin_core::topic::topic_of;
use twin_core::{AssetKind, KindFilter, Session};
use twin_server::{Feed, Limits, MqttConfig, Running, Served, ServerConfig};

use common::{OPERATOR, VIEWER, session, tokens};

fn serve(session: Session, broker: &Broker, id: &str, towns: &[String], n: Option<u8>) -> Running {
    let mut config = MqttConfig::new(&format!("mqtt://127.0.0.1:{}", broker.port));
    config.credentials = Some(("twin".into(), "secret".into()));
    config.connections = 1;
    config.client_id = format!("district-test-{id}");
    config.towns = towns.to_vec();
    config.district = n;
    twin_server::spawn(
        &ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            tls: None,
            mqtt: Some(config),
        },
        Served::new(session, Some(tokens()), Limits::default(), "district"),
        Feed::WallClock,
        false,
    )
    .unwrap()
}

/// The first asset of `kind` in each town: (town index, asset id, topic).
fn one_per_town(s: &Session, towns: &[String], kind: &str) -> Vec<(usize, String, String)> {
    let f: KindFilter = kind.parse().unwrap();
    let twin = s.twin();
    towns
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let town = twin.handle(t)?;
            let (h, a) = twin
                .iter()
                .find(|(h, a)| f.matches(&a.kind) && twin.located_in(*h) == Some(town))?;
            Some((i, a.id.clone(), topic_of(twin, h).unwrap()))
        })
        .collect()
}

/// An alert as the district compares it: everything but its number.
fn key(a: &Value) -> String {
    format!(
        "{} {} {} {} {} {}",
        a["rule"], a["asset"], a["town"], a["severity"], a["value"], a["raised_at"]
    )
}

fn keys(alerts: &Value) -> Vec<String> {
    let mut k: Vec<String> = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(key)
        .collect();
    k.sort();
    k
}

fn ack(server: &Running, id: u64) -> Value {
    let out = std::process::Command::new("curl")
        .args(["-s", "-X", "POST", "-H"])
        .arg(format!("Authorization: Bearer {OPERATOR}"))
        .arg(format!("http://{}/api/v1/alerts/{id}/ack", server.addr()))
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// `server`'s event log holds an event `kind` of alert `id`.
fn assert_event(server: &Running, kind: &str, id: u64) {
    let events = get(server, "/api/v1/events", VIEWER);
    assert!(
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == kind && e["alert"]["id"] == id),
        "no {kind} event of {id}: {events}"
    );
}

#[test]
fn two_processes_of_nine_towns_serve_the_district_of_one_with_eighteen() {
    if !have_tools() {
        return;
    }
    let broker = Broker::start("district");
    let s = session();
    let towns: Vec<String> = s
        .twin()
        .iter()
        .filter(|(_, a)| a.kind == AssetKind::Town)
        .map(|(_, a)| a.id.clone())
        .collect();
    assert_eq!(towns.len(), 18, "the island has 18 towns");
    let gauges = one_per_town(&s, &towns, "sensor:water_level");
    let chargers = one_per_town(&s, &towns, "sensor:charger_power");
    assert!(gauges.len() >= 16, "a gauge in most towns");
    let (first, second) = towns.split_at(9);
    let one = serve(session(), &broker, "one", &[], None);
    let a = serve(session(), &broker, "a", first, Some(1));
    let b = serve(s, &broker, "b", second, Some(2));

    // A level in every town with a gauge, and a charger fault in the first town that
    // has a charger in each half.
    let t = now_ms();
    for (i, _, topic) in &gauges {
        let level = 1.0 + *i as f64 / 8.0;
        broker.publish(topic, &format!(r#"{{"ts": {t}, "level": {level}}}"#), false);
    }
    let fault_a = chargers.iter().find(|(i, ..)| *i < 9).unwrap();
    let fault_b = chargers.iter().find(|(i, ..)| *i >= 9).unwrap();
    for (_, _, topic) in [fault_a, fault_b] {
        broker.publish(
            topic,
            &format!(r#"{{"ts": {t}, "charger": "fault", "power": 0}}"#),
            false,
        );
    }

    // The one process has it all.
    let reported = gauges.len();
    let whole = wait_for(&one, "/api/v1/vitals", |v| {
        v["rows"].as_array().is_some_and(|r| {
            r.iter()
                .filter(|r| r["island"] == false)
                .map(|r| r["channels"]["level"]["count"].as_u64().unwrap_or(0))
                .sum::<u64>()
                == reported as u64
        })
    })["rows"]
        .clone();
    // Incident and order counts are each process's own (a district does not merge
    // them yet), so processes of a district leave them out; compare the rest.
    let mut whole = whole;
    for r in whole.as_array_mut().unwrap() {
        r.as_object_mut().unwrap().remove("management");
    }
    let whole_alerts = wait_for(&one, "/api/v1/alerts", |v| v["count"] == 2);
    // Each of the two serves the same rows (towns and islands, exactly: the same
    // town rows merged by the same arithmetic) and the same alerts.
    for (name, p) in [("a", &a), ("b", &b)] {
        let rows = wait_for(p, "/api/v1/vitals", |v| v["rows"] == whole);
        assert_eq!(
            rows["rows"].as_array().unwrap().len(),
            whole.as_array().unwrap().len(),
            "{name}"
        );
        let alerts = wait_for(p, "/api/v1/alerts", |v| v["count"] == 2);
        assert_eq!(keys(&alerts), keys(&whole_alerts), "process {name}");
        let status = get(p, "/api/v1/status", VIEWER);
        assert_eq!(status["open_alerts"], 2, "{name}: {status}");
        assert_eq!(
            status["district"]["peers"].as_array().unwrap().len(),
            1,
            "{name}: {status}"
        );
    }
    // The ids name their owners: 1 << 40 and up for a's, 2 << 40 and up for b's.
    let on_a = get(&a, "/api/v1/alerts", VIEWER);
    let b_alert = on_a["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["asset"] == fault_b.1.as_str())
        .unwrap()
        .clone();
    let id = b_alert["id"].as_u64().unwrap();
    assert_eq!(id >> 40, 2, "{b_alert}");
    // a's event log (which its stream also reads) carries b's alert as raised.
    assert_event(&a, "raised", id);
    // Acknowledged through a, done by b, seen by both.
    let r = ack(&a, id);
    assert_eq!(r["forwarded_to"], 2, "{r}");
    wait_for(&b, "/api/v1/alerts?state=acknowledged", |v| {
        v["count"] == 1 && v["alerts"][0]["id"] == id
    });
    wait_for(&a, "/api/v1/alerts?state=acknowledged", |v| {
        v["count"] == 1 && v["alerts"][0]["id"] == id
    });
    // A second acknowledgement is refused by a, which knows the state.
    let again = ack(&a, id);
    assert!(
        again["reason"]
            .as_str()
            .is_some_and(|e| e.contains("acknowledged")),
        "{again}"
    );
    // b leaves: its retained status is emptied, and a serves its own rows alone.
    b.stop();
    wait_for(&a, "/api/v1/status", |v| {
        v["district"]["peers"].as_array().is_some_and(Vec::is_empty)
    });
    let alone = wait_for(&a, "/api/v1/alerts", |v| v["count"] == 1);
    assert_eq!(alone["alerts"][0]["asset"], fault_a.1.as_str());
    // Its alert left a's screens as cleared.
    assert_event(&a, "cleared", id);
    assert_eq!(
        get(&a, "/api/v1/status", VIEWER)["district"]["impostors"],
        0
    );
    std::thread::sleep(Duration::from_millis(10));
    a.stop();
    one.stop();
}
