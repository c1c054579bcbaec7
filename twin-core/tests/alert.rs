//! Threshold alerts: raised exactly at the crossing sample, cleared only past the
//! hysteresis, minimum duration, deduplication, lifecycle, rules files.

use geo_types::{Geometry, Point};
use twin_core::crs::LocalFrame;
use twin_core::state::alert::{
    AlertEngine, AlertEvent, AlertState, Condition, RuleError, Severity, ThresholdRule,
    load_rules_json,
};
use twin_core::state::{ChannelSpec, Quality, Retention, Sample, StateStore};
use twin_core::{Asset, AssetKind, KindFilter, LoadMode, SensorType, Twin};

const T0: i64 = 1_763_700_000_000;

fn ts(ms: i64) -> twin_core::Timestamp {
    twin_core::Timestamp::from_millis(ms)
}

fn setup(min_duration_ms: i64) -> (Twin, StateStore, AlertEngine) {
    let mut t = Twin::new(LocalFrame::chongming());
    t.insert_assets(
        vec![
            Asset::new(
                "WL1",
                AssetKind::Sensor(SensorType::WaterLevel),
                Geometry::Point(Point::new(121.40, 31.62)),
            ),
            Asset::new(
                "PM1",
                AssetKind::Sensor(SensorType::Pm25),
                Geometry::Point(Point::new(121.40, 31.62)),
            ),
        ],
        LoadMode::Strict,
    )
    .unwrap();
    let mut s = StateStore::new(t.handle_capacity(), Retention::default(), None);
    let level = s.register(ChannelSpec::number("level", "m"));
    let rule = ThresholdRule {
        id: "level-high".into(),
        kinds: "sensor:water_level".parse::<KindFilter>().unwrap(),
        channel: level,
        condition: Condition::Above(4.0),
        hysteresis: 0.5,
        min_duration_ms,
        severity: Severity::Critical,
        near: None,
    };
    (t, s, AlertEngine::new(vec![rule]))
}

/// Applies one level sample per second from `values`, returning the index of each
/// sample that raised or cleared an alert.
fn run(
    t: &Twin,
    s: &mut StateStore,
    e: &mut AlertEngine,
    id: &str,
    values: &[f64],
) -> Vec<(usize, &'static str)> {
    let samples: Vec<(i64, f64)> = values
        .iter()
        .enumerate()
        .map(|(i, &v)| (i as i64, v))
        .collect();
    feed(t, s, e, id, &samples)
        .into_iter()
        .map(|(sec, what)| (sec as usize, what))
        .collect()
}

#[test]
fn fires_at_the_crossing_sample_and_clears_only_past_hysteresis() {
    let (t, mut s, mut e) = setup(0);
    // 4.0 is not above 4.0; 4.01 is (index 2). 3.6 and 3.51 are inside the hysteresis
    // band (clear at ≤ 3.5); 3.5 clears (index 7). Then it can fire again (index 9).
    let events = run(
        &t,
        &mut s,
        &mut e,
        "WL1",
        &[3.0, 4.0, 4.01, 4.5, 3.9, 3.6, 3.51, 3.5, 3.0, 4.2],
    );
    assert_eq!(events, vec![(2, "raised"), (7, "cleared"), (9, "raised")]);
    let open: Vec<_> = e.open().collect();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].raised_at, ts(T0 + 9000));
    assert_eq!(open[0].value, 4.2);
    assert_eq!(open[0].asset_id, "WL1");
    assert_eq!(open[0].severity, Severity::Critical);
    let first = e.alert(1).unwrap();
    assert_eq!(
        (first.raised_at, first.cleared_at),
        (ts(T0 + 2000), Some(ts(T0 + 7000)))
    );
    assert_eq!(first.state, AlertState::Cleared);
}

#[test]
fn minimum_duration_needs_the_condition_on_every_sample() {
    let (t, mut s, mut e) = setup(3000);
    // Above from index 1; a dip at 3 restarts the clock; above again from 4, and at
    // index 7 it has held for 3 s (4 → 7).
    let events = run(
        &t,
        &mut s,
        &mut e,
        "WL1",
        &[3.0, 4.5, 4.6, 3.9, 4.5, 4.5, 4.5, 4.5, 4.5],
    );
    assert_eq!(events, vec![(7, "raised")]);
}

#[test]
fn one_open_alert_per_rule_and_asset_other_kinds_ignored_and_acknowledge() {
    let (t, mut s, mut e) = setup(0);
    let events = run(&t, &mut s, &mut e, "WL1", &[5.0, 6.0, 7.0, 5.0]);
    assert_eq!(events, vec![(0, "raised")], "deduplicated while open");
    // A PM2.5 sensor on the same channel name is not watched by a water-level rule.
    let events = run(&t, &mut s, &mut e, "PM1", &[50.0, 60.0]);
    assert!(events.is_empty());

    e.drain_events(usize::MAX);
    let id = e.open().next().unwrap().id;
    assert!(e.acknowledge(id, twin_core::Timestamp::from_millis(T0 + 10_000)));
    assert!(
        !e.acknowledge(id, twin_core::Timestamp::from_millis(T0 + 11_000)),
        "only once"
    );
    assert!(
        !e.acknowledge(999, twin_core::Timestamp::from_millis(T0)),
        "unknown id"
    );
    assert_eq!(e.alert(id).unwrap().state, AlertState::Acknowledged);
    assert!(
        matches!(e.drain_events(1).pop(), Some(AlertEvent::Acknowledged(a)) if a.acknowledged_at == Some(ts(T0 + 10_000)))
    );
    // A sample older than the latest is history only: no effect on the alert.
    let events = run(&t, &mut s, &mut e, "WL1", &[3.0]);
    assert!(events.is_empty());
    // Acknowledged alerts still clear when a new sample is past the hysteresis.
    let h = t.handle("WL1").unwrap();
    let level = s.channel("level").unwrap();
    let sample = Sample {
        handle: h,
        channel: level,
        ts: twin_core::Timestamp::from_millis(T0 + 20_000),
        value: 3.0,
        quality: Quality::Good,
    };
    s.apply(&[sample], sample.ts);
    e.process(&t, &s, &[sample]);
    assert!(
        matches!(e.drain_events(usize::MAX).pop(), Some(AlertEvent::Cleared(a)) if a.cleared_at == Some(ts(T0 + 20_000)))
    );
    assert_eq!(e.open().count(), 0);
}

#[test]
fn late_samples_do_not_move_alerts() {
    let (t, mut s, mut e) = setup(0);
    let h = t.handle("WL1").unwrap();
    let level = s.channel("level").unwrap();
    let new = Sample {
        handle: h,
        channel: level,
        ts: twin_core::Timestamp::from_millis(T0 + 5000),
        value: 3.0,
        quality: Quality::Good,
    };
    let late = Sample {
        handle: h,
        channel: level,
        ts: twin_core::Timestamp::from_millis(T0),
        value: 9.0,
        quality: Quality::Good,
    };
    s.apply(&[new, late], twin_core::Timestamp::from_millis(T0 + 5000));
    e.process(&t, &s, &[new, late]);
    assert_eq!(e.open().count(), 0);
}

#[test]
fn rules_files_are_checked() {
    let (_, s, _) = setup(0);
    let ok = r#"[{"id":"hi","kinds":"sensor:water_level","channel":"level","above":4.0,"hysteresis":0.5,"min_duration_s":30,"severity":"critical"},
                {"id":"lo","kinds":"sensor:water_level","channel":"level","below":0.5,"severity":"warning"}]"#;
    let rules = load_rules_json(ok, &s).unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0].min_duration_ms, 30_000);
    assert_eq!(rules[1].condition, Condition::Below(0.5));
    for (text, want) in [
        (
            r#"[{"id":"a","kinds":"custom:x","channel":"salinity","above":1,"severity":"info"}]"#,
            "unknown channel `salinity`",
        ),
        (
            r#"[{"id":"a","kinds":"custom:x","channel":"level","above":1,"below":2,"severity":"info"}]"#,
            "exactly one",
        ),
        (
            r#"[{"id":"a","kinds":"custom:x","channel":"level","above":1,"severity":"urgent"}]"#,
            "severity `urgent`",
        ),
        (
            r#"[{"id":"a","kinds":"custom:x","channel":"level","above":1,"hysteresis":-1,"severity":"info"}]"#,
            "hysteresis",
        ),
        (
            r#"[{"id":"a","kinds":"custom:x","channel":"level","above":1,"severity":"info","colour":"red"}]"#,
            "unknown field",
        ),
        (
            r#"[{"id":"a","kinds":"custom:x","channel":"level","above":1,"severity":"info"},{"id":"a","kinds":"custom:x","channel":"level","above":2,"severity":"info"}]"#,
            "duplicate rule id",
        ),
        (
            r#"[{"id":"a","kinds":"twon","channel":"level","above":1,"severity":"info"}]"#,
            "unknown kind `twon` (did you mean `town`?)",
        ),
        (
            r#"[{"id":"a","kinds":"sensor","channel":"level","above":1,"near_kinds":"biulding","near_m":50,"severity":"info"}]"#,
            "`near_kinds`: unknown kind `biulding` (did you mean `building`?)",
        ),
    ] {
        let err = load_rules_json(text, &s).unwrap_err();
        assert!(err.to_string().contains(want), "{err} should say {want}");
        assert!(matches!(err, RuleError::Rule { .. }), "{err}");
    }
    assert!(matches!(
        load_rules_json("{", &s),
        Err(RuleError::Format(_))
    ));
}

#[test]
fn state_rules_watch_an_enumerated_channel() {
    let (t, mut s, _) = setup(0);
    let charger = s.register(ChannelSpec::enumeration(
        "charger",
        &["idle", "charging", "fault"],
    ));
    let rules = load_rules_json(
        r#"[{"id":"charger-fault","kinds":"sensor","channel":"charger","state":"fault","severity":"warning"}]"#,
        &s,
    )
    .unwrap();
    assert_eq!(rules[0].condition, Condition::Equals(2.0));
    let err = load_rules_json(
        r#"[{"id":"x","kinds":"sensor","channel":"charger","state":"melted","severity":"warning"}]"#,
        &s,
    )
    .unwrap_err();
    assert!(err.to_string().contains("melted"), "{err}");
    let mut e = AlertEngine::new(rules);
    e.drain_events(usize::MAX);
    let h = t.handle("PM1").unwrap();
    for (i, state) in [1.0, 2.0, 2.0, 0.0].into_iter().enumerate() {
        let sample = Sample {
            handle: h,
            channel: charger,
            ts: twin_core::Timestamp::from_millis(T0 + i as i64 * 1000),
            value: state,
            quality: Quality::Good,
        };
        s.apply(&[sample], sample.ts);
        e.process(&t, &s, &[sample]);
    }
    let events: Vec<AlertEvent> = e.drain_events(usize::MAX);
    assert!(
        matches!(&events[..], [AlertEvent::Raised(a), AlertEvent::Cleared(b)] if a.raised_at == ts(T0 + 1000) && b.cleared_at == Some(ts(T0 + 3000)))
    );
}

/// Applies `(seconds, value)` samples of one asset's level and collects the events.
fn feed(
    t: &Twin,
    s: &mut StateStore,
    e: &mut AlertEngine,
    id: &str,
    samples: &[(i64, f64)],
) -> Vec<(i64, &'static str)> {
    e.drain_events(usize::MAX);
    let h = t.handle(id).unwrap();
    let level = s.channel("level").unwrap();
    let mut out = Vec::new();
    for &(sec, v) in samples {
        let sample = Sample {
            handle: h,
            channel: level,
            ts: twin_core::Timestamp::from_millis(T0 + sec * 1000),
            value: v,
            quality: Quality::Good,
        };
        s.apply(&[sample], sample.ts);
        e.process(t, s, &[sample]);
        for ev in e.drain_events(usize::MAX) {
            out.push((
                sec,
                match ev {
                    AlertEvent::Raised(_) => "raised",
                    AlertEvent::Cleared(_) => "cleared",
                    AlertEvent::Acknowledged(_) => "ack",
                },
            ));
        }
    }
    out
}

#[test]
fn rate_of_change_silence_and_spatial_rules() {
    let (t, mut s, _) = setup(0);
    let rules = load_rules_json(
        r#"[{"id":"jump","kinds":"sensor:water_level","channel":"level","change_above":1.5,"window_s":10,"hysteresis":0.5,"severity":"warning"},
            {"id":"quiet","kinds":"sensor:water_level","channel":"level","silent_s":60,"severity":"info"}]"#,
        &s,
    )
    .unwrap();
    assert_eq!(
        rules[0].condition,
        Condition::ChangeAbove {
            change: 1.5,
            window_ms: 10_000
        }
    );
    let mut e = AlertEngine::new(rules);
    // Level 1.0 every second; at 20 s it reads 2.6: 1.6 above the value 10 s before.
    // It stays at 2.6: at 30 s the change over 10 s is 0 (≤ 1.0), so it clears.
    let mut samples: Vec<(i64, f64)> = (0..20).map(|s| (s, 1.0)).collect();
    samples.extend((20..31).map(|s| (s, 2.6)));
    let events = feed(&t, &mut s, &mut e, "WL1", &samples);
    assert_eq!(events, vec![(20, "raised"), (30, "cleared")]);

    // Silence: last sample at 30 s; nothing at 89 s, raised at the first scan past 90 s.
    e.drain_events(usize::MAX);
    e.tick(&t, &s, twin_core::Timestamp::from_millis(T0 + 89_000));
    assert!(e.drain_events(1).is_empty());
    e.tick(&t, &s, twin_core::Timestamp::from_millis(T0 + 91_000));
    assert!(
        matches!(e.drain_events(1).pop(), Some(AlertEvent::Raised(a)) if a.rule == "quiet" && a.asset_id == "WL1")
    );
    e.tick(&t, &s, twin_core::Timestamp::from_millis(T0 + 95_000));
    assert!(e.drain_events(1).is_empty(), "one alert while silent");
    let events = feed(&t, &mut s, &mut e, "WL1", &[(96, 2.6)]);
    assert_eq!(events, vec![(96, "cleared")]);

    // Spatial: only water-level sensors within 100 m of a building are watched.
    let mut t2 = Twin::new(LocalFrame::chongming());
    t2.insert_assets(
        vec![
            Asset::new(
                "B",
                AssetKind::Building,
                Geometry::Point(Point::new(121.40, 31.62)),
            ),
            // ~48 m east of the building (0.0005° of longitude at 31.62° N).
            Asset::new(
                "NEAR",
                AssetKind::Sensor(SensorType::WaterLevel),
                Geometry::Point(Point::new(121.4005, 31.62)),
            ),
            // ~950 m east.
            Asset::new(
                "FAR",
                AssetKind::Sensor(SensorType::WaterLevel),
                Geometry::Point(Point::new(121.41, 31.62)),
            ),
        ],
        LoadMode::Strict,
    )
    .unwrap();
    let mut s2 = StateStore::new(t2.handle_capacity(), Retention::default(), None);
    s2.register(ChannelSpec::number("level", "m"));
    let rules = load_rules_json(
        r#"[{"id":"near-building","kinds":"sensor:water_level","channel":"level","above":4,"near_kinds":"building","near_m":100,"severity":"critical"}]"#,
        &s2,
    )
    .unwrap();
    let mut e2 = AlertEngine::new(rules);
    assert_eq!(feed(&t2, &mut s2, &mut e2, "FAR", &[(0, 5.0)]), vec![]);
    assert_eq!(
        feed(&t2, &mut s2, &mut e2, "NEAR", &[(0, 5.0)]),
        vec![(0, "raised")]
    );
    let err = load_rules_json(
        r#"[{"id":"x","kinds":"sensor","channel":"level","above":4,"near_kinds":"building","severity":"info"}]"#,
        &s2,
    )
    .unwrap_err();
    assert!(err.to_string().contains("near_m"), "{err}");
    // Rules survive the JSON a snapshot writes.
    let back = load_rules_json(&e2.rules_json(&s2), &s2).unwrap();
    assert_eq!(back, e2.rules());
}

#[test]
fn redelivered_samples_do_not_move_alerts() {
    let (t, mut s, _) = setup(0);
    let rules = load_rules_json(
        r#"[{"id":"quiet","kinds":"sensor:water_level","channel":"level","silent_s":60,"severity":"info"}]"#,
        &s,
    )
    .unwrap();
    let mut e = AlertEngine::new(rules);
    feed(&t, &mut s, &mut e, "WL1", &[(0, 1.0)]);
    e.drain_events(usize::MAX);
    e.tick(&t, &s, twin_core::Timestamp::from_millis(T0 + 61_000));
    assert!(matches!(
        e.drain_events(1).pop(),
        Some(AlertEvent::Raised(_))
    ));
    // The same sample delivered again (MQTT at-least-once): no clear, no new alert.
    let events = feed(&t, &mut s, &mut e, "WL1", &[(0, 1.0)]);
    assert!(events.is_empty(), "{events:?}");
    e.tick(&t, &s, twin_core::Timestamp::from_millis(T0 + 62_000));
    assert!(e.drain_events(1).is_empty());
    assert_eq!(e.open().count(), 1);
}

#[test]
fn only_the_last_cleared_alerts_are_kept() {
    let (t, mut s, mut e) = setup(0);
    let n = twin_core::state::alert::MAX_CLEARED_KEPT + 5;
    // Alternate 5.0 (raise) and 3.0 (clear): n alerts raised and cleared.
    let samples: Vec<(i64, f64)> = (0..2 * n as i64)
        .map(|i| (i, if i % 2 == 0 { 5.0 } else { 3.0 }))
        .collect();
    let events = feed(&t, &mut s, &mut e, "WL1", &samples);
    assert_eq!(events.len(), 2 * n);
    assert!(
        e.alert(1).is_none() && e.alert(5).is_none(),
        "the oldest cleared are dropped"
    );
    assert!(e.alert(6).is_some() && e.alert(n as u64).is_some());
    assert_eq!(e.open().count(), 0);
}
