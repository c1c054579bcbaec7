//! `twin run --mqtt` and `twin publish` against a real mosquitto broker started by each
//! test on a free port (its own config, persistence directory and log), stopped by PID
//! and killed on drop so a failing test leaves no broker behind.
//!
//! A. Known messages (good, repeated, late, malformed, misrouted) give known counters
//!    and vital signs; a simulated stream goes through whole (messages/s printed).
//! B. The broker is restarted mid-stream (SIGTERM, which saves its persistence file,
//!    then started again on the same port and directory): both clients reconnect to
//!    their sessions, and every published sample is applied exactly once.
//! C. Two processes split the 18 towns, a third takes them all: every message is
//!    handled by exactly one of the two, and their town rows equal the single one's.
//!
//! Without /usr/sbin/mosquitto the tests fail when `CI` is set and skip otherwise.

mod harness;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value as Json;
use twin_core::SensorType;
use twin_core::{AssetKind, Handle, topic};

use harness::{
    Broker, LONG, have_mosquitto, island, publish_all, read_json, row, sensors_of, temp_dir, twin,
};

/// 2025-11-21T04:40:00Z.
const T0: i64 = 1_763_700_000_000;

#[test]
fn a_known_messages_give_known_counts_and_vital_signs_and_a_stream_goes_through() {
    if !have_mosquitto("a") {
        return;
    }
    let dir = temp_dir("a");
    let broker = Broker::start(&dir);
    let url = broker.url();
    let report = dir.join("known.json");
    let mut run = twin(
        "run",
        &[
            "run",
            "--mqtt",
            &url,
            "--scale",
            "0.01",
            "--idle-exit",
            "2s",
            "--client-id",
            "twin-test-a",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    run.wait_for("subscribed to twin/#", LONG);

    // Two water-level gauges of one town, a charger, and their topics.
    let isl = island(0.01);
    let mut by_town: BTreeMap<Handle, Vec<Handle>> = BTreeMap::new();
    for h in sensors_of(&isl, SensorType::WaterLevel) {
        by_town.entry(isl.town_of(h).unwrap()).or_default().push(h);
    }
    let (&town, gauges) = by_town.iter().find(|(_, g)| g.len() >= 2).unwrap();
    let (w1, w2) = (gauges[0], gauges[1]);
    let charger = sensors_of(&isl, SensorType::ChargerPower)[0];
    let id = |h: Handle| isl.get(h).unwrap().id.clone();
    let tp = |h: Handle| topic::topic_of(&isl, h).unwrap();
    let town_id = id(town);
    let other_town = isl
        .iter()
        .find(|(h, a)| a.kind == AssetKind::Town && *h != town)
        .map(|(_, a)| a.id.clone())
        .unwrap();
    let at = |ms: i64| T0 + ms;
    let msgs: Vec<(String, String)> = vec![
        (tp(w1), format!(r#"{{"ts":{},"level":2.5}}"#, at(1000))),
        (
            tp(w1),
            r#"{"ts":"2025-11-21T04:40:02Z","level":3.0}"#.into(),
        ),
        (
            tp(w2),
            format!(r#"{{"ts":{},"level":1.0,"quality":"uncertain"}}"#, at(1500)),
        ),
        (
            tp(w2),
            format!(
                r#"{{"id":"{}","channel":"level","ts":{},"value":1.5}}"#,
                id(w2),
                at(2500)
            ),
        ),
        // An exact repeat (a redelivery): no effect.
        (
            tp(w1),
            r#"{"ts":"2025-11-21T04:40:02Z","level":3.0}"#.into(),
        ),
        // Late: history only.
        (tp(w1), format!(r#"{{"ts":{},"level":9.0}}"#, at(500))),
        // Refused whole: not JSON; the wrong town for the asset.
        (tp(w1), "not json".into()),
        (
            format!("twin/{other_town}/water_level/{}", id(w1)),
            format!(r#"{{"ts":{},"level":1.0}}"#, at(3000)),
        ),
        // Refused readings: unknown channel, unknown asset, wrong type.
        (tp(w1), format!(r#"{{"ts":{},"nope":1}}"#, at(3000))),
        (
            format!("twin/{town_id}/water_level/NOPE"),
            format!(r#"{{"ts":{},"level":1}}"#, at(3000)),
        ),
        (tp(w1), format!(r#"{{"ts":{},"level":"high"}}"#, at(3000))),
        (
            tp(charger),
            format!(r#"{{"ts":{},"power":22.0,"charger":"charging"}}"#, at(1000)),
        ),
    ];
    publish_all(broker.port, &msgs);
    let (_, out) = run.finish(LONG);
    let r = read_json(&report);
    let ingest = &r["ingest"];
    assert_eq!(ingest["messages"], 12, "{out}");
    assert_eq!(ingest["bad_messages"], 2);
    assert_eq!(ingest["acked"], 12);
    assert_eq!(ingest["readings"], 11);
    assert_eq!(ingest["applied"], 6);
    assert_eq!(ingest["duplicates"], 1);
    assert_eq!(ingest["out_of_order"], 1);
    assert_eq!(ingest["replaced"], 0);
    let rejected = &ingest["rejected"];
    assert_eq!(rejected["UnknownChannel"], 1);
    assert_eq!(rejected["UnknownId"], 1);
    assert_eq!(rejected["WrongType"], 1);
    assert_eq!(ingest["rejected_total"], 3);
    assert_eq!(r["history_samples"], 7);
    let t = row(&r, &town_id);
    assert_eq!(t["channels"]["level"]["count"], 2);
    assert_eq!(t["channels"]["level"]["mean"], 2.25);
    assert_eq!(t["channels"]["level"]["max"], 3.0);
    let c = row(&r, &id(isl.town_of(charger).unwrap()));
    assert_eq!(c["channels"]["power"]["max"], 22.0);
    assert_eq!(c["channels"]["charger"]["max"], 1.0, "state `charging`");
    let online: u64 = r["vital_signs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["island"] == false)
        .map(|r| r["online"].as_u64().unwrap())
        .sum();
    assert_eq!(online, 3);

    // A simulated stream: 1,000 sensors (20 chargers) for 30 s, as fast as it goes.
    let (twin_report, pub_report) = (dir.join("stream.json"), dir.join("published.json"));
    let mut run = twin(
        "run",
        &[
            "run",
            "--mqtt",
            &url,
            "--scale",
            "0.01",
            "--idle-exit",
            "3s",
            "--client-id",
            "twin-test-stream",
            "--report",
            twin_report.to_str().unwrap(),
        ],
    );
    run.wait_for("subscribed to twin/#", LONG);
    let publish = twin(
        "publish",
        &[
            "publish",
            "--mqtt",
            &url,
            "--scale",
            "0.01",
            "--for",
            "30s",
            "--speed",
            "max",
            "--start-ms",
            &T0.to_string(),
            "--report",
            pub_report.to_str().unwrap(),
        ],
    );
    let (_, pub_out) = publish.finish(LONG);
    let (_, out) = run.finish(LONG);
    let p = read_json(&pub_report);
    assert_eq!(p["messages"], 30_000, "{pub_out}");
    assert_eq!(p["samples"], 30_600);
    let r = read_json(&twin_report);
    let ingest = &r["ingest"];
    assert_eq!(ingest["messages"], 30_000, "{out}");
    assert_eq!(ingest["applied"], 30_600);
    assert_eq!(ingest["duplicates"], 0);
    assert_eq!(ingest["rejected_total"], 0);
    assert_eq!(ingest["acked"], 30_000);
    assert_eq!(r["history_samples"], 30_600);
    let rows = r["vital_signs"].as_array().unwrap();
    let towns = rows.iter().filter(|r| r["island"] == false);
    assert_eq!(
        towns.map(|r| r["online"].as_u64().unwrap()).sum::<u64>(),
        1000
    );
    for line in pub_out
        .lines()
        .chain(out.lines())
        .filter(|l| l.contains("/s"))
    {
        eprintln!("{line}");
    }
    drop(broker);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn b_a_broker_restart_mid_stream_loses_nothing_and_applies_nothing_twice() {
    if !have_mosquitto("b") {
        return;
    }
    let dir = temp_dir("b");
    let mut broker = Broker::start(&dir);
    let url = broker.url();
    let (twin_report, pub_report) = (dir.join("twin.json"), dir.join("published.json"));
    let mut run = twin(
        "run",
        &[
            "run",
            "--mqtt",
            &url,
            "--scale",
            "0.01",
            "--idle-exit",
            "5s",
            "--report",
            twin_report.to_str().unwrap(),
        ],
    );
    run.wait_for("subscribed to twin/#", LONG);
    // 60 simulated seconds at 10x: ~6 s of publishing; the restart comes after 10 s.
    let mut publish = twin(
        "publish",
        &[
            "publish",
            "--mqtt",
            &url,
            "--scale",
            "0.01",
            "--for",
            "60s",
            "--speed",
            "10",
            "--start-ms",
            &T0.to_string(),
            "--status-every",
            "5",
            "--report",
            pub_report.to_str().unwrap(),
        ],
    );
    publish.wait_for("[04:40:10Z] published", LONG);
    broker.restart();
    let (_, pub_out) = publish.finish(LONG);
    let (_, out) = run.finish(LONG);
    let p = read_json(&pub_report);
    let r = read_json(&twin_report);
    let ingest = &r["ingest"];
    eprintln!("published: {p}\ntwin: {ingest}");
    assert_eq!(p["messages"], 60_000);
    assert_eq!(p["samples"], 61_200);
    // Both sides saw the broker go and reconnected to the session it had saved.
    assert_eq!(p["connections"], 2, "{pub_out}");
    assert_eq!(ingest["connections"], 2, "{out}");
    assert!(out.contains("connection lost"), "{out}");
    assert!(out.contains("connected (session present: true)"), "{out}");
    // Every published sample applied once: as the latest or, arriving after a newer
    // one, into history; repeats (redeliveries) counted and without effect.
    let once = ingest["applied"].as_u64().unwrap() + ingest["out_of_order"].as_u64().unwrap();
    assert_eq!(once, 61_200);
    assert_eq!(
        r["history_samples"], 61_200,
        "each (asset, channel, ts) held once"
    );
    assert_eq!(ingest["replaced"], 0);
    assert_eq!(ingest["rejected_total"], 0);
    assert_eq!(ingest["bad_messages"], 0);
    let (readings, dups) = (
        ingest["readings"].as_u64().unwrap(),
        ingest["duplicates"].as_u64().unwrap(),
    );
    assert_eq!(readings, once + dups);
    assert!(ingest["messages"].as_u64().unwrap() >= 60_000);
    drop(broker);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn c_two_processes_split_the_towns_and_together_equal_one() {
    if !have_mosquitto("c") {
        return;
    }
    let dir = temp_dir("c");
    let broker = Broker::start(&dir);
    let url = broker.url();
    let isl = island(0.01);
    let mut towns: Vec<String> = isl
        .iter()
        .filter(|(_, a)| a.kind == AssetKind::Town)
        .map(|(_, a)| a.id.clone())
        .collect();
    towns.sort();
    assert_eq!(towns.len(), 18);
    let halves = [towns[..9].join(","), towns[9..].join(",")];
    let reports: Vec<PathBuf> = ["east", "west", "all"]
        .iter()
        .map(|n| dir.join(format!("{n}.json")))
        .collect();
    let mut procs = Vec::new();
    for (i, report) in reports.iter().enumerate() {
        let mut args = vec![
            "run",
            "--mqtt",
            &url,
            "--scale",
            "0.01",
            "--idle-exit",
            "3s",
            "--report",
            report.to_str().unwrap(),
        ];
        if i < 2 {
            args.extend(["--towns", &halves[i]]);
        }
        let mut p = twin(&format!("run {i}"), &args);
        p.wait_for("subscribed to twin/", LONG);
        procs.push(p);
    }
    // 40 s of the island with its incidents under way (planned from 16 min before):
    // a surge above the water-level rule, a charger fault, a town of silent sensors.
    let pub_report = dir.join("published.json");
    let publish = twin(
        "publish",
        &[
            "publish",
            "--mqtt",
            &url,
            "--scale",
            "0.01",
            "--for",
            "40s",
            "--speed",
            "max",
            "--start-ms",
            &T0.to_string(),
            "--incidents-from",
            &(T0 - 960_000).to_string(),
            "--report",
            pub_report.to_str().unwrap(),
        ],
    );
    publish.finish(LONG);
    for p in procs {
        p.finish(LONG);
    }
    let p = read_json(&pub_report);
    let [a, b, all] = [0, 1, 2].map(|i| read_json(&reports[i]));
    let messages = p["messages"].as_u64().unwrap();
    let samples = p["samples"].as_u64().unwrap();
    let count = |r: &Json, k: &str| r["ingest"][k].as_u64().unwrap();
    for r in [&a, &b, &all] {
        assert_eq!(count(r, "bad_messages"), 0);
        assert_eq!(count(r, "rejected_total"), 0);
        assert_eq!(count(r, "duplicates"), 0);
    }
    // Every message handled by exactly one of the two, per town as published.
    assert_eq!(count(&a, "messages") + count(&b, "messages"), messages);
    assert_eq!(count(&all, "messages"), messages);
    assert_eq!(count(&a, "applied") + count(&b, "applied"), samples);
    assert_eq!(count(&all, "applied"), samples);
    // Towns whose sensors are all silent have no messages (and no key).
    let per_town = |r: &Json, t: &str| {
        let counts = r.get("ingest").unwrap_or(r);
        counts["messages_per_town"][t].as_u64().unwrap_or(0)
    };
    for (i, t) in towns.iter().enumerate() {
        let (mine, other) = if i < 9 { (&a, &b) } else { (&b, &a) };
        assert_eq!(per_town(mine, t), per_town(&p, t), "{t}");
        assert_eq!(per_town(other, t), 0, "{t} also went to the other process");
        assert_eq!(per_town(&all, t), per_town(mine, t));
    }
    // Town rows: the process owning the town says exactly what the single one says.
    for (i, t) in towns.iter().enumerate() {
        let mine = if i < 9 { &a } else { &b };
        let split_row = row(mine, t);
        assert_eq!(split_row["covered"], true);
        assert_eq!(split_row, row(&all, t), "{t}");
    }
    // Island rows: recomputed from the merged town rows (sums; maximum of maxima;
    // count-weighted mean of means) and compared with the single process's.
    let alerts = |r: &Json, k: &str| r["alerts"][k].as_u64().unwrap();
    let mut open = 0;
    for isle in all["vital_signs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["island"] == true)
    {
        let isle_h = isl.handle(isle["id"].as_str().unwrap()).unwrap();
        let members: Vec<&Json> = towns
            .iter()
            .enumerate()
            .filter(|(_, t)| isl.located_in(isl.handle(t).unwrap()) == Some(isle_h))
            .map(|(i, t)| row(if i < 9 { &a } else { &b }, t))
            .collect();
        let sum = |f: &dyn Fn(&Json) -> u64| members.iter().map(|r| f(r)).sum::<u64>();
        assert_eq!(sum(&|r| r["sensors"].as_u64().unwrap()), isle["sensors"]);
        assert_eq!(sum(&|r| r["online"].as_u64().unwrap()), isle["online"]);
        for k in ["info", "warning", "critical"] {
            assert_eq!(sum(&|r| alerts(r, k)), alerts(isle, k), "{k}");
            open += alerts(isle, k);
        }
        for (ch, s) in isle["channels"].as_object().unwrap() {
            let parts: Vec<&Json> = members
                .iter()
                .filter_map(|r| r["channels"].get(ch))
                .collect();
            let n: u64 = parts.iter().map(|s| s["count"].as_u64().unwrap()).sum();
            let max = parts
                .iter()
                .map(|s| s["max"].as_f64().unwrap())
                .fold(f64::MIN, f64::max);
            let mean = parts
                .iter()
                .map(|s| s["count"].as_f64().unwrap() * s["mean"].as_f64().unwrap())
                .sum::<f64>()
                / n as f64;
            assert_eq!(s["count"], n, "{ch}");
            assert_eq!(s["max"].as_f64().unwrap(), max, "{ch}");
            let want = s["mean"].as_f64().unwrap();
            assert!(
                (mean - want).abs() <= 1e-9 * want.abs().max(1.0),
                "{ch}: {mean} {want}"
            );
        }
    }
    // The incidents made alerts to compare: the charger fault and the surge.
    assert_eq!(open, all["open_alerts"].as_u64().unwrap());
    let open_split = a["open_alerts"].as_u64().unwrap() + b["open_alerts"].as_u64().unwrap();
    assert_eq!(open_split, open);
    let sum_all = |k: &str| {
        all["vital_signs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["island"] == false)
            .map(|r| alerts(r, k))
            .sum::<u64>()
    };
    assert!(sum_all("warning") >= 1 && sum_all("critical") >= 1, "{all}");
    drop(broker);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn d_bad_mqtt_arguments_fail_with_a_message_and_the_simulator_writes_a_report() {
    let fails = |args: &[&str], says: &str| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_twin"))
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(says), "{args:?}: {err}");
    };
    fails(
        &["run", "--mqtt", "mqtts://127.0.0.1:1", "--scale", "0.01"],
        "TLS needs the broker's certificate authority (--mqtt-ca FILE)",
    );
    fails(
        &[
            "run",
            "--mqtt",
            "mqtt://127.0.0.1:1",
            "--mqtt-user",
            "u",
            "--scale",
            "0.01",
        ],
        "--mqtt-user needs a password",
    );
    fails(
        &["run", "--mqtt", "127.0.0.1:1883"],
        "expected mqtt://host[:port]",
    );
    fails(
        &[
            "serve",
            "--mqtt",
            "mqtt://127.0.0.1:1",
            "--mqtt-session-expiry",
            "0s",
        ],
        "--mqtt-session-expiry must be at least a second",
    );
    // Nothing listens on port 1: a clear error at start, not a retry loop.
    fails(
        &["serve", "--mqtt", "mqtt://127.0.0.1:1", "--scale", "0.01"],
        "cannot connect",
    );
    fails(
        &["run", "--mqtt", "mqtt://h:port"],
        "`port` is not a number",
    );
    // Towns are checked before connecting (nothing listens on port 1).
    fails(
        &[
            "run",
            "--mqtt",
            "mqtt://127.0.0.1:1",
            "--scale",
            "0.01",
            "--towns",
            "CM-TOWN-CHENJIA,Atlantis",
        ],
        "no town `Atlantis`",
    );
    fails(
        &["run", "--mqtt", "mqtt://127.0.0.1:1", "--speed", "max"],
        "--speed",
    );
    fails(&["run", "--towns", "CM-TOWN-CHENJIA"], "--mqtt");
    fails(
        &["publish", "--mqtt", "mqtt://127.0.0.1:1", "--speed", "0"],
        "--speed",
    );

    // The simulator's run writes the same report: 2 s of 1,000 sensors and 20 chargers.
    let dir = temp_dir("d");
    let report = dir.join("sim.json");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_twin"))
        .args(["run", "--for", "2s", "--speed", "max", "--scale", "0.01"])
        .args([
            "--start-ms",
            &T0.to_string(),
            "--report",
            report.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = read_json(&report);
    assert_eq!(r["source"], "simulator");
    assert_eq!(r["towns"], Json::Null);
    assert_eq!(r["now_ms"], T0 + 2000);
    assert_eq!(r["ingest"]["readings"], 2040);
    assert_eq!(r["ingest"]["applied"], 2040);
    assert_eq!(r["history_samples"], 2040);
    assert_eq!(
        r["vital_signs"].as_array().unwrap().len(),
        21,
        "18 towns, 3 islands"
    );
    assert!(
        r["vital_signs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["covered"] == true)
    );
    std::fs::remove_dir_all(&dir).ok();
}
