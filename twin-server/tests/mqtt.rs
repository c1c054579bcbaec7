//! `twin serve` fed by a real mosquitto broker (password file, TLS listener) with
//! readings published by Debian's `mosquitto_pub`; answers read back with curl.

use std::process::Command;
use std::time::{Duration, Instant};

mod common;

use common::broker::{Broker, free_port, get, have_tools, now_ms, wait_for};

use twin_core::topic::topic_of;
use twin_core::{KindFilter, Session};
use twin_server::{Feed, Limits, MqttConfig, Running, ServeError, Served, ServerConfig};

use common::{OPERATOR, VIEWER, session, tokens};

fn serve(session: Session, mqtt: MqttConfig) -> Result<Running, ServeError> {
    let tokens = tokens();
    twin_server::spawn(
        &ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            tls: None,
            mqtt: Some(mqtt),
        },
        Served::new(session, Some(tokens), Limits::default(), "mqtt twin"),
        Feed::WallClock,
        false,
    )
}

/// The first `n` assets of a kind with their topics.
fn assets(s: &Session, kind: &str, n: usize) -> Vec<(String, String)> {
    let f: KindFilter = kind.parse().unwrap();
    s.twin()
        .iter()
        .filter(|(_, a)| f.matches(&a.kind))
        .take(n)
        .map(|(h, a)| (a.id.clone(), topic_of(s.twin(), h).unwrap()))
        .collect()
}

#[test]
fn readings_published_by_mosquitto_pub_reach_the_api_and_raise_alerts() {
    if !have_tools() {
        return;
    }
    let broker = Broker::start("plain");
    let s = session();
    let gauges = assets(&s, "sensor:water_level", 3);
    let (charger, charger_topic) = assets(&s, "sensor:charger_power", 1).remove(0);
    let town_of = |topic: &str| topic.split('/').nth(1).unwrap().to_string();
    let mut config = MqttConfig::new(&format!("mqtt://127.0.0.1:{}", broker.port));
    config.credentials = Some(("twin".into(), "secret".into()));
    config.connections = 2;
    let server = serve(s, config).unwrap();
    let t = now_ms();

    // One asset per message, the compact form.
    let (g0, topic0) = &gauges[0];
    broker.publish(topic0, &format!(r#"{{"ts": {t}, "level": 2.5}}"#), false);
    let a = wait_for(&server, &format!("/api/v1/assets/{g0}"), |v| {
        v["state"]["level"]["value"] == 2.5
    });
    assert_eq!(a["state"]["level"]["ts"], t);

    // A gateway's batch: a JSON array of readings, then SensorThings dataArray.
    let (g1, _) = &gauges[1];
    let (g2, _) = &gauges[2];
    let batch_topic = format!("twin/{}/_batch/gw-1", town_of(topic0));
    broker.publish(
        &batch_topic,
        &format!(
            r#"[{{"id": "{g1}", "channel": "level", "ts": {t}, "value": 1.75}},
                {{"id": "{g2}", "channel": "level", "ts": {t}, "value": 1.5}}]"#
        ),
        false,
    );
    wait_for(&server, &format!("/api/v1/assets/{g2}"), |v| {
        v["state"]["level"]["value"] == 1.5
    });
    broker.publish(
        &batch_topic,
        &format!(
            r#"{{"Datastream": {{"@iot.id": "{g1}/level"}}, "components": ["phenomenonTime", "result"],
                "dataArray": [[{t1}, 1.8], [{t2}, 1.9]]}}"#,
            t1 = t + 1000,
            t2 = t + 2000
        ),
        false,
    );
    let a = wait_for(&server, &format!("/api/v1/assets/{g1}"), |v| {
        v["state"]["level"]["value"] == 1.9
    });
    assert_eq!(a["state"]["level"]["ts"], t + 2000);
    let h = get(
        &server,
        &format!(
            "/api/v1/assets/{g1}/history?channel=level&from={t}&to={}",
            t + 2000
        ),
        VIEWER,
    );
    assert_eq!(
        h["samples"],
        serde_json::json!([[t, 1.75], [t + 1000, 1.8], [t + 2000, 1.9]])
    );

    // Refused whole: not JSON, and a town that is not the asset's; the server goes on.
    broker.publish(topic0, "not json", false);
    let wrong_town = topic0.replacen(&town_of(topic0), "CM-TOWN-NOWHERE", 1);
    broker.publish(&wrong_town, &format!(r#"{{"ts": {t}, "level": 9}}"#), false);
    wait_for(&server, "/api/v1/status", |v| {
        v["counters"]["mqtt_bad_messages"] == 2
    });

    // A charger fault published raises an alert: listed, refused to a viewer,
    // acknowledged by an operator.
    broker.publish(
        &charger_topic,
        &format!(r#"{{"ts": {t}, "charger": "fault", "power": 0}}"#),
        false,
    );
    let alerts = wait_for(&server, "/api/v1/alerts", |v| v["count"] == 1);
    assert_eq!(alerts["alerts"][0]["asset"], charger.as_str());
    let id = alerts["alerts"][0]["id"].as_u64().unwrap();
    let ack = |token: &str| {
        let out = Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-X",
                "POST",
                "-H",
            ])
            .arg(format!("Authorization: Bearer {token}"))
            .arg(format!("http://{}/api/v1/alerts/{id}/ack", server.addr()))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(ack(VIEWER), "403");
    assert_eq!(ack(OPERATOR), "200");
    let st = get(&server, "/api/v1/status", VIEWER);
    let c = &st["counters"];
    assert_eq!(c["mqtt_messages"], 6);
    assert_eq!(c["mqtt_connects"], 2);
    assert_eq!(c["refused_samples"], 0, "{st}");
    server.stop();
}

#[test]
fn a_wrong_password_or_no_broker_is_a_clear_error() {
    if !have_tools() {
        return;
    }
    let broker = Broker::start("auth");
    let mut config = MqttConfig::new(&format!("mqtt://127.0.0.1:{}", broker.port));
    config.credentials = Some(("twin".into(), "wrong".into()));
    config.connections = 1;
    let began = Instant::now();
    let e = serve(session(), config.clone()).unwrap_err().to_string();
    assert!(
        e.contains("refused the login") && e.contains("not authorised"),
        "{e}"
    );
    assert!(began.elapsed() < Duration::from_secs(10));
    config.credentials = None;
    let e = serve(session(), config.clone()).unwrap_err().to_string();
    assert!(e.contains("refused the login"), "{e}");
    config.url = format!("mqtt://127.0.0.1:{}", free_port());
    let e = serve(session(), config).unwrap_err().to_string();
    assert!(e.contains("cannot connect"), "{e}");
}

#[test]
fn telemetry_over_tls() {
    if !have_tools() {
        return;
    }
    let broker = Broker::start("tls");
    let s = session();
    let (g, topic) = assets(&s, "sensor:water_level", 1).remove(0);
    let mut config = MqttConfig::new(&format!("mqtts://localhost:{}", broker.tls_port));
    config.credentials = Some(("twin".into(), "secret".into()));
    config.connections = 1;
    // Without the CA: a clear error before anything connects.
    let e = serve(session(), config.clone()).unwrap_err().to_string();
    assert!(e.contains("--mqtt-ca"), "{e}");
    config.ca_file = Some(broker.ca.clone());
    let server = serve(s, config).unwrap();
    let t = now_ms();
    broker.publish(&topic, &format!(r#"{{"ts": {t}, "level": 3.25}}"#), true);
    wait_for(&server, &format!("/api/v1/assets/{g}"), |v| {
        v["state"]["level"]["value"] == 3.25
    });
    server.stop();
}

#[test]
fn a_camera_event_published_becomes_an_incident_with_its_order_and_quiets_when_gone() {
    if !have_tools() {
        return;
    }
    let broker = Broker::start("camera");
    let s = session();
    let (camera, topic) = assets(&s, "sensor:camera", 1).remove(0);
    let town = topic.split('/').nth(1).unwrap().to_string();
    assert!(topic.contains("/camera/"), "{topic}");
    let mut config = MqttConfig::new(&format!("mqtt://127.0.0.1:{}", broker.port));
    config.credentials = Some(("twin".into(), "secret".into()));
    let server = serve(s, config).unwrap();
    let t = now_ms();

    // The camera's AI sees exposed garbage: an alert, an incident of its own family,
    // an order for the town's urban management squad with the plan and the nearest
    // garbage station.
    broker.publish(
        &topic,
        &format!(r#"{{"ts": {t}, "exposed_garbage": 0.87}}"#),
        false,
    );
    let list = wait_for(&server, "/api/v1/incidents", |v| v["count"] == 1);
    let inc = &list["incidents"][0];
    assert_eq!(inc["family"], "city-appearance");
    assert_eq!(inc["severity"], "warning");
    let detail = get(&server, &format!("/api/v1/incidents/{}", inc["id"]), VIEWER);
    assert_eq!(detail["asset_ids"], serde_json::json!([camera]));
    let order = get(&server, &format!("/api/v1/orders/{}", inc["order"]), VIEWER);
    assert_eq!(order["unit"]["id"], format!("urban/{town}"));
    assert_eq!(order["state"], "dispatched");
    assert_eq!(order["checklist"].as_array().unwrap().len(), 3);
    assert_eq!(order["resources"][0]["kind"], "garbage_station");
    assert!(order["resources"][0]["distance_m"].as_f64().unwrap() > 0.0);

    // The next look finds the spot clean: the alert clears and the incident is quiet
    // (it closes, and the system closes its order, after 300 s of quiet).
    broker.publish(
        &topic,
        &format!(r#"{{"ts": {}, "exposed_garbage": 0}}"#, t + 1000),
        false,
    );
    let list = wait_for(&server, "/api/v1/incidents", |v| {
        v["incidents"][0]["state"] == "quiet"
    });
    assert_eq!(list["incidents"][0]["open_alerts"], 0);
    server.stop();
}
