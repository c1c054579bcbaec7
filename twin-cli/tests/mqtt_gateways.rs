//! `twin run --mqtt` and `twin publish` against a real mosquitto broker, continued from
//! `tests/mqtt.rs`:
//!
//! E. Two gateways, each half of the sensors, publish 10 s of the island as batches of
//!    100 readings: `twin run --mqtt` applies every sample once, in exactly the
//!    messages expected per town and gateway.
//! F. A broker with a password file and a TLS listener: a wrong password ends
//!    `twin publish` and `twin run` with the broker's reason; over TLS with the right
//!    password, everything published is applied.
//!
//! Without /usr/sbin/mosquitto the tests fail when `CI` is set and skip otherwise.

mod harness;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value as Json;
use twin_core::{SensorType, topic};

use harness::{Broker, LONG, Proc, have_mosquitto, island, read_json, sensors_of, temp_dir, twin};

/// 2025-11-21T04:40:00Z.
const T0: i64 = 1_763_700_000_000;

/// `twin run --mqtt URL` on the 1% island, subscribed, ending 3 s after the last
/// message with its report in `report`.
fn run_subscribed(url: &str, report: &std::path::Path) -> Proc {
    let mut run = twin(
        "run",
        &[
            "run",
            "--mqtt",
            url,
            "--scale",
            "0.01",
            "--idle-exit",
            "3s",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    run.wait_for("subscribed to twin/", LONG);
    run
}

#[test]
fn e_sharded_gateway_batches_deliver_every_sample_once() {
    if !have_mosquitto("e") {
        return;
    }
    let dir = temp_dir("e");
    let broker = Broker::start(&dir);
    let url = broker.url();
    let report = dir.join("run.json");
    let run = run_subscribed(&url, &report);
    // Two gateways, each half of the sensors, 10 s of the island in batches of 100.
    let reports: Vec<PathBuf> = (0..2).map(|i| dir.join(format!("pub{i}.json"))).collect();
    let pubs: Vec<_> = (0..2)
        .map(|i| {
            twin(
                &format!("publish {i}"),
                &[
                    "publish",
                    "--mqtt",
                    &url,
                    "--scale",
                    "0.01",
                    "--for",
                    "10s",
                    "--speed",
                    "max",
                    "--start-ms",
                    &T0.to_string(),
                    "--shard",
                    &format!("{i}/2"),
                    "--batch",
                    "100",
                    "--client-id",
                    &format!("gw-{i}"),
                    "--report",
                    reports[i].to_str().unwrap(),
                ],
            )
        })
        .collect();
    for p in pubs {
        p.finish(LONG);
    }
    run.finish(LONG);
    let p: Vec<Json> = reports.iter().map(|r| read_json(r)).collect();
    let samples: u64 = p.iter().map(|r| r["samples"].as_u64().unwrap()).sum();
    let messages: u64 = p.iter().map(|r| r["messages"].as_u64().unwrap()).sum();
    // Every simulated sensor once a second for 10 s (chargers twice: power and state).
    let isl = island(0.01);
    let sensors: u64 = isl
        .iter()
        .filter(|(_, a)| {
            a.kind
                .sensor_type()
                .is_some_and(|t| !matches!(t, SensorType::Other(_) | SensorType::Camera))
        })
        .count() as u64;
    let chargers = sensors_of(&isl, SensorType::ChargerPower).len() as u64;
    assert_eq!(samples, (sensors + chargers) * 10);
    // Per second, each gateway sends each town's readings in arrays of at most 100.
    let mut per_gateway_town: BTreeMap<(usize, String), u64> = BTreeMap::new();
    for (h, a) in isl.iter() {
        let Some(t) = a.kind.sensor_type() else {
            continue;
        };
        // Cameras report events only; the gateways send periodic readings.
        if matches!(t, SensorType::Other(_) | SensorType::Camera) {
            continue;
        }
        let town = topic::town_segment(&isl, isl.town_of(h));
        let n = if *t == SensorType::ChargerPower { 2 } else { 1 };
        *per_gateway_town.entry((h.index() % 2, town)).or_insert(0) += n;
    }
    let per_second: u64 = per_gateway_town.values().map(|n| n.div_ceil(100)).sum();
    assert_eq!(messages, per_second * 10);
    let r = read_json(&report);
    let count = |k: &str| r["ingest"][k].as_u64().unwrap();
    assert_eq!(count("messages"), messages);
    assert_eq!(count("bad_messages"), 0);
    assert_eq!(count("applied"), samples);
    assert_eq!(count("duplicates"), 0);
    assert_eq!(count("rejected_total"), 0);
}

/// mosquitto with a password file (user `twin`, password `secret`) on a plain and a
/// TLS listener; returns (plain port, TLS port, CA file, process).
fn secured_broker(dir: &std::path::Path) -> (u16, u16, PathBuf, std::process::Child) {
    use std::os::unix::fs::PermissionsExt;
    let pw = dir.join("pw");
    let out = std::process::Command::new("mosquitto_passwd")
        .args(["-c", "-b"])
        .arg(&pw)
        .args(["twin", "secret"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (ca, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&ca, cert.pem()).unwrap();
    std::fs::write(&key, signing_key.serialize_pem()).unwrap();
    // Started as root, mosquitto reads its files as the `mosquitto` user.
    for f in [&pw, &ca, &key] {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (port, tls_port) = (free(), free());
    let conf = dir.join("secured.conf");
    std::fs::write(
        &conf,
        format!(
            "per_listener_settings true\nmax_queued_messages 0\n\
             listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {pw}\n\
             listener {tls_port} 127.0.0.1\nallow_anonymous false\npassword_file {pw}\n\
             certfile {ca}\nkeyfile {key}\n",
            pw = pw.display(),
            ca = ca.display(),
            key = key.display()
        ),
    )
    .unwrap();
    let child = std::process::Command::new("/usr/sbin/mosquitto")
        .arg("-c")
        .arg(&conf)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", tls_port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "mosquitto did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    (port, tls_port, ca, child)
}

#[test]
fn f_credentials_and_tls_for_run_and_publish() {
    if !have_mosquitto("f") {
        return;
    }
    let dir = temp_dir("f");
    let (port, tls_port, ca, mut broker) = secured_broker(&dir);
    let good = dir.join("good.txt");
    let bad = dir.join("bad.txt");
    std::fs::write(&good, "secret\n").unwrap();
    std::fs::write(&bad, "guess\n").unwrap();
    let plain = format!("mqtt://127.0.0.1:{port}");
    let tls = format!("mqtts://localhost:{tls_port}");
    let ca = ca.to_str().unwrap().to_string();
    let (good, bad) = (good.to_str().unwrap(), bad.to_str().unwrap());
    // A wrong password is a clear error, not a retry loop.
    let fails = |args: &[&str]| {
        let began = std::time::Instant::now();
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_twin"))
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(!o.status.success(), "{args:?}: {err}");
        assert!(
            began.elapsed() < std::time::Duration::from_secs(60),
            "{err}"
        );
        err
    };
    let err = fails(&[
        "publish",
        "--mqtt",
        &plain,
        "--scale",
        "0.01",
        "--for",
        "3s",
        "--mqtt-user",
        "twin",
        "--mqtt-password-file",
        bad,
    ]);
    assert!(err.contains("refused the login: not authorised"), "{err}");
    let err = fails(&[
        "run",
        "--mqtt",
        &plain,
        "--scale",
        "0.01",
        "--mqtt-user",
        "twin",
        "--mqtt-password-file",
        bad,
    ]);
    assert!(err.contains("refused the login"), "{err}");
    let publish = |url: &str, password: &str, extra: &[&str]| {
        let mut args = vec![
            "publish",
            "--mqtt",
            url,
            "--scale",
            "0.01",
            "--for",
            "3s",
            "--speed",
            "max",
            "--start-ms",
            "1763700000000",
            "--mqtt-user",
            "twin",
            "--mqtt-password-file",
            password,
        ];
        args.extend_from_slice(extra);
        twin("publish", &args)
    };
    // Over TLS with the right password: everything published is applied.
    let report = dir.join("run.json");
    let mut run = twin(
        "run",
        &[
            "run",
            "--mqtt",
            &tls,
            "--mqtt-ca",
            &ca,
            "--mqtt-user",
            "twin",
            "--mqtt-password-file",
            good,
            "--scale",
            "0.01",
            "--idle-exit",
            "2s",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    run.wait_for("subscribed to twin/", LONG);
    let pub_report = dir.join("pub.json");
    publish(
        &tls,
        good,
        &["--mqtt-ca", &ca, "--report", pub_report.to_str().unwrap()],
    )
    .finish(LONG);
    run.finish(LONG);
    let p = read_json(&pub_report);
    let r = read_json(&report);
    assert!(p["samples"].as_u64().unwrap() > 0);
    assert_eq!(r["ingest"]["applied"], p["samples"]);
    assert_eq!(r["ingest"]["rejected_total"], 0);
    let _ = broker.kill();
    let _ = broker.wait();
}

#[test]
fn g_published_camera_events_become_an_incident_on_the_running_twin() {
    if !have_mosquitto("g") {
        return;
    }
    let dir = temp_dir("g");
    let broker = Broker::start(&dir);
    let url = broker.url();
    let report = dir.join("run.json");
    let run = run_subscribed(&url, &report);
    // The planned incidents from 8 minutes before T0: the camera sees garbage (+8 min)
    // through the 5 s published, one message a second on its own topic.
    let pub_report = dir.join("pub.json");
    let from = (T0 - 8 * 60_000).to_string();
    twin(
        "publish",
        &[
            "publish",
            "--mqtt",
            &url,
            "--scale",
            "0.01",
            "--for",
            "5s",
            "--speed",
            "max",
            "--start-ms",
            &T0.to_string(),
            "--incidents-from",
            &from,
            "--report",
            pub_report.to_str().unwrap(),
        ],
    )
    .finish(LONG);
    run.finish(LONG);
    let isl = island(0.01);
    let periodic: u64 = isl
        .iter()
        .filter(|(_, a)| {
            a.kind
                .sensor_type()
                .is_some_and(|t| !matches!(t, SensorType::Other(_) | SensorType::Camera))
        })
        .count() as u64;
    let chargers = sensors_of(&isl, SensorType::ChargerPower).len() as u64;
    let p = read_json(&pub_report);
    assert_eq!(
        p["samples"].as_u64().unwrap(),
        (periodic + chargers) * 5 + 5,
        "{p}"
    );
    let r = read_json(&report);
    let garbage: Vec<&Json> = r["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["family"] == "city-appearance")
        .collect();
    assert_eq!(garbage.len(), 1, "{}", r["incidents"]);
    assert_eq!(garbage[0]["assets"], 1);
    let orders = r["orders"].as_array().unwrap();
    let o = orders
        .iter()
        .find(|o| o["family"] == "city-appearance")
        .unwrap();
    assert!(
        o["unit"]["id"]
            .as_str()
            .unwrap()
            .starts_with("urban/CM-TOWN-"),
        "{o}"
    );
}
