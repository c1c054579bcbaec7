//! The live state store: ingest rules, every refusal, change ranges and time travel.

use geo_types::{Geometry, Point};
use proptest::prelude::*;
use twin_core::crs::LocalFrame;
use twin_core::state::{
    ChannelId, ChannelSpec, Quality, Reading, RejectReason, Retention, Sample, StateStore, Value,
};
use twin_core::{Asset, AssetKind, Handle, LoadMode, SensorType, Twin};

const NOW: i64 = 1_763_700_000_000; // 2025-11-21T04:40:00Z

fn twin(n: usize) -> Twin {
    let mut t = Twin::new(LocalFrame::chongming());
    let assets = (0..n)
        .map(|i| {
            Asset::new(
                format!("S{i}"),
                AssetKind::Sensor(SensorType::WaterLevel),
                Geometry::Point(Point::new(121.4 + i as f64 * 1e-3, 31.6)),
            )
        })
        .collect();
    t.insert_assets(assets, LoadMode::Strict).unwrap();
    t
}

fn store(n: usize) -> (StateStore, ChannelId, ChannelId, ChannelId) {
    let mut s = StateStore::new(n, Retention::default(), None);
    let level = s.register(ChannelSpec::number("level", "m"));
    let online = s.register(ChannelSpec::boolean("online"));
    let gate = s.register(ChannelSpec::enumeration(
        "gate",
        &["open", "closed", "fault"],
    ));
    (s, level, online, gate)
}

fn reading(id: &str, channel: &str, ts: i64, value: Value) -> Reading {
    Reading {
        id: id.into(),
        channel: channel.into(),
        ts: twin_core::Timestamp::from_millis(ts),
        value,
        quality: Quality::Good,
    }
}

#[test]
fn newer_samples_apply_older_go_to_history_repeats_do_nothing() {
    let t = twin(3);
    let (mut s, level, ..) = store(3);
    let h = t.handle("S1").unwrap();
    let r = s.apply_readings(
        &t,
        &[
            reading("S1", "level", NOW - 2000, Value::Num(2.0)),
            reading("S1", "level", NOW, Value::Num(2.5)),
            reading("S1", "level", NOW - 1000, Value::Num(2.2)), // late
            reading("S1", "level", NOW, Value::Num(2.5)),        // repeat
        ],
        twin_core::Timestamp::from_millis(NOW),
    );
    assert_eq!((r.applied, r.out_of_order, r.duplicates), (2, 1, 1));
    assert_eq!(r.rejected_total(), 0);
    let latest = s.latest(h, level).unwrap();
    assert_eq!((latest.ts.as_millis(), latest.value), (NOW, 2.5));
    assert_eq!(
        s.value_at(h, level, twin_core::Timestamp::from_millis(NOW - 1000)),
        Some((twin_core::Timestamp::from_millis(NOW - 1000), 2.2))
    );
    assert_eq!(
        s.value_at(h, level, twin_core::Timestamp::from_millis(NOW - 1500)),
        Some((twin_core::Timestamp::from_millis(NOW - 2000), 2.0))
    );
    assert_eq!(
        s.value_at(h, level, twin_core::Timestamp::from_millis(NOW - 2001)),
        None
    );
    assert_eq!(
        s.history().len(twin_core::state::SeriesKey {
            handle: h.0,
            channel: level.0
        }),
        3
    );

    // The late sample again is a duplicate in history too.
    let r = s.apply_readings(
        &t,
        &[reading("S1", "level", NOW - 1000, Value::Num(2.2))],
        twin_core::Timestamp::from_millis(NOW),
    );
    assert_eq!(r.duplicates, 1);
    // Same time, another value: the newer write wins.
    let r = s.apply_readings(
        &t,
        &[reading("S1", "level", NOW, Value::Num(2.6))],
        twin_core::Timestamp::from_millis(NOW),
    );
    assert_eq!(r.replaced, 1);
    assert_eq!(s.latest(h, level).unwrap().value, 2.6);
}

#[test]
fn every_refusal_is_counted_with_its_reason_and_changes_nothing() {
    let t = twin(2);
    let (mut s, level, online, gate) = store(2);
    s.apply_readings(
        &t,
        &[reading("S0", "level", NOW, Value::Num(1.0))],
        twin_core::Timestamp::from_millis(NOW),
    );
    let cases = [
        (
            reading("NOPE", "level", NOW, Value::Num(1.0)),
            RejectReason::UnknownId,
        ),
        (
            reading("S0", "salinity", NOW, Value::Num(1.0)),
            RejectReason::UnknownChannel,
        ),
        (
            reading("S0", "level", NOW + 1, Value::Num(f64::NAN)),
            RejectReason::NotFinite,
        ),
        (
            reading("S0", "level", NOW + 1, Value::Num(f64::INFINITY)),
            RejectReason::NotFinite,
        ),
        (
            reading("S0", "level", NOW + 3_600_000, Value::Num(9.0)),
            RejectReason::FutureTimestamp,
        ),
        (
            reading("S0", "level", NOW + 1, Value::Bool(true)),
            RejectReason::WrongType,
        ),
        (
            reading("S0", "online", NOW + 1, Value::Num(1.0)),
            RejectReason::WrongType,
        ),
        (
            reading("S0", "gate", NOW + 1, Value::Text("ajar".into())),
            RejectReason::UnknownState,
        ),
    ];
    for (r, reason) in cases {
        let report = s.apply_readings(
            &t,
            std::slice::from_ref(&r),
            twin_core::Timestamp::from_millis(NOW),
        );
        assert_eq!(report.applied, 0, "{r:?}");
        assert_eq!(report.rejected.get(&reason), Some(&1), "{r:?}: {report:?}");
        assert_eq!(report.examples[0].reason, reason);
        assert!(report.examples[0].to_string().contains(&r.id));
    }
    let h0 = t.handle("S0").unwrap();
    assert_eq!(
        s.latest(h0, level).unwrap().value,
        1.0,
        "nothing was disturbed"
    );
    assert!(s.latest(h0, online).is_none());
    assert!(s.latest(h0, gate).is_none());

    // The resolved fast path checks handles, channels and encoded values too.
    let bad = [
        (
            Sample {
                handle: Handle(99),
                channel: level,
                ts: twin_core::Timestamp::from_millis(NOW),
                value: 1.0,
                quality: Quality::Good,
            },
            RejectReason::UnknownHandle,
        ),
        (
            Sample {
                handle: h0,
                channel: ChannelId(42),
                ts: twin_core::Timestamp::from_millis(NOW),
                value: 1.0,
                quality: Quality::Good,
            },
            RejectReason::UnknownChannel,
        ),
        (
            Sample {
                handle: h0,
                channel: online,
                ts: twin_core::Timestamp::from_millis(NOW),
                value: 0.5,
                quality: Quality::Good,
            },
            RejectReason::WrongType,
        ),
        (
            Sample {
                handle: h0,
                channel: gate,
                ts: twin_core::Timestamp::from_millis(NOW),
                value: 3.0,
                quality: Quality::Good,
            },
            RejectReason::UnknownState,
        ),
        (
            Sample {
                handle: h0,
                channel: level,
                ts: twin_core::Timestamp::from_millis(NOW),
                value: f64::NAN,
                quality: Quality::Good,
            },
            RejectReason::NotFinite,
        ),
    ];
    for (sample, reason) in bad {
        let report = s.apply(&[sample], twin_core::Timestamp::from_millis(NOW));
        assert_eq!(report.rejected.get(&reason), Some(&1), "{sample:?}");
    }
    assert_eq!(s.latest(h0, level).unwrap().value, 1.0);
}

#[test]
fn booleans_and_states_decode_and_changes_come_as_merged_ranges() {
    let t = twin(10);
    let (mut s, level, online, gate) = store(10);
    let ids = ["S0", "S1", "S2", "S5", "S7", "S8"];
    let mut rs: Vec<Reading> = ids
        .iter()
        .map(|id| reading(id, "level", NOW, Value::Num(1.0)))
        .collect();
    rs.push(reading("S2", "online", NOW, Value::Bool(true)));
    rs.push(reading("S2", "gate", NOW, Value::Text("fault".into())));
    let r = s.apply_readings(&t, &rs, twin_core::Timestamp::from_millis(NOW));
    assert_eq!(r.applied, 8);
    let h2 = t.handle("S2").unwrap();
    assert_eq!(s.latest_value(h2, online), Some(Value::Bool(true)));
    assert_eq!(s.latest_value(h2, gate), Some(Value::Text("fault".into())));
    assert_eq!(s.latest_value(h2, level), Some(Value::Num(1.0)));
    assert_eq!(s.take_changed(), vec![0..3, 5..6, 7..9]);
    assert!(s.take_changed().is_empty(), "taken once");
    // A repeat is no change.
    s.apply_readings(
        &t,
        &[reading("S5", "level", NOW, Value::Num(1.0))],
        twin_core::Timestamp::from_millis(NOW),
    );
    assert!(s.take_changed().is_empty());
    s.apply_readings(
        &t,
        &[reading("S5", "level", NOW + 1, Value::Num(1.0))],
        twin_core::Timestamp::from_millis(NOW),
    );
    assert_eq!(s.take_changed(), vec![5..6]);
}

#[test]
fn samples_in_the_hot_log_are_visible_to_every_read() {
    let t = twin(3);
    let (mut s, level, online, _) = store(3);
    let (h0, h1) = (t.handle("S0").unwrap(), t.handle("S1").unwrap());
    let sample = |h: Handle, channel: ChannelId, dt: i64, value: f64| Sample {
        handle: h,
        channel,
        ts: twin_core::Timestamp::from_millis(NOW + dt * 1000),
        value,
        quality: Quality::Good,
    };
    let batch: Vec<Sample> = (0..5)
        .flat_map(|i| {
            [
                sample(h0, level, i, i as f64),
                sample(h1, level, i, 10.0 + i as f64),
                sample(h1, online, i, (i % 2) as f64),
            ]
        })
        .collect();
    let r = s.apply(&batch, twin_core::Timestamp::from_millis(NOW + 5_000));
    assert_eq!(r.applied, 15);
    // Applied samples wait in the hot log...
    assert_eq!(s.history().pending(), 15);
    // ... and every read sees them.
    assert_eq!(
        s.value_at(h0, level, twin_core::Timestamp::from_millis(NOW + 2_500)),
        Some((twin_core::Timestamp::from_millis(NOW + 2_000), 2.0))
    );
    assert_eq!(
        s.state_at(twin_core::Timestamp::from_millis(NOW + 3_000), None),
        vec![
            (
                h0,
                level,
                twin_core::Timestamp::from_millis(NOW + 3_000),
                3.0
            ),
            (
                h1,
                level,
                twin_core::Timestamp::from_millis(NOW + 3_000),
                13.0
            ),
            (
                h1,
                online,
                twin_core::Timestamp::from_millis(NOW + 3_000),
                1.0
            ),
        ]
    );
    assert_eq!(s.history().pending(), 0);
    let k1 = twin_core::state::SeriesKey::new(h1.0, level.0);
    s.apply(
        &[sample(h1, level, 5, 15.0)],
        twin_core::Timestamp::from_millis(NOW + 5_000),
    );
    assert_eq!(s.history().pending(), 1);
    assert_eq!(
        s.history().range(
            k1,
            twin_core::Timestamp::from_millis(NOW + 3_000),
            twin_core::Timestamp::from_millis(NOW + 9_000)
        ),
        vec![
            (twin_core::Timestamp::from_millis(NOW + 3_000), 13.0),
            (twin_core::Timestamp::from_millis(NOW + 4_000), 14.0),
            (twin_core::Timestamp::from_millis(NOW + 5_000), 15.0)
        ]
    );
    // A late sample is stored at once, after the pending ones of its series: the
    // report knows whether it repeats one.
    s.apply(
        &[sample(h0, level, 9, 9.0)],
        twin_core::Timestamp::from_millis(NOW + 9_000),
    );
    let r = s.apply(
        &[
            sample(h0, level, 7, 7.0),
            sample(h0, level, 9, 9.0),
            sample(h0, level, 7, 7.0),
            sample(h0, level, 4, 4.0),
            sample(h0, level, 4, 44.0),
        ],
        twin_core::Timestamp::from_millis(NOW + 9_000),
    );
    assert_eq!(
        (r.applied, r.out_of_order, r.duplicates, r.replaced),
        (0, 1, 3, 1)
    );
    let k0 = twin_core::state::SeriesKey::new(h0.0, level.0);
    assert_eq!(
        s.history().range(
            k0,
            twin_core::Timestamp::from_millis(NOW + 3_000),
            twin_core::Timestamp::from_millis(NOW + 9_000)
        ),
        vec![
            (twin_core::Timestamp::from_millis(NOW + 3_000), 3.0),
            (twin_core::Timestamp::from_millis(NOW + 4_000), 44.0),
            (twin_core::Timestamp::from_millis(NOW + 7_000), 7.0),
            (twin_core::Timestamp::from_millis(NOW + 9_000), 9.0)
        ]
    );
    // Compacting when idle leaves nothing for the next read to do.
    s.apply(
        &[sample(h0, level, 10, 10.0)],
        twin_core::Timestamp::from_millis(NOW + 10_000),
    );
    assert_eq!(s.compact_history(), 1);
    assert_eq!(s.history().pending(), 0);
    assert_eq!(s.history().total_samples(), 19);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// state_at(t) equals the state reached by applying, in any order, only the
    /// samples stamped at or before t.
    #[test]
    fn state_at_equals_replaying_only_earlier_samples(
        samples in prop::collection::vec((0u32..6, 0i64..200, -50.0f64..50.0), 1..200),
        t in 0i64..220,
    ) {
        let (mut full, level, ..) = store(6);
        let batch: Vec<Sample> = samples
            .iter()
            .map(|&(h, dt, v)| Sample { handle: Handle(h), channel: level, ts: twin_core::Timestamp::from_millis(NOW + dt * 1000), value: v, quality: Quality::Good })
            .collect();
        full.apply(&batch, twin_core::Timestamp::from_millis(NOW + 1_000_000));
        let (mut partial, level2, ..) = store(6);
        let cut = NOW + t * 1000;
        let earlier: Vec<Sample> = batch.iter().copied().filter(|s| s.ts <= twin_core::Timestamp::from_millis(cut)).collect();
        partial.apply(&earlier, twin_core::Timestamp::from_millis(NOW + 1_000_000));
        let want: Vec<(Handle, ChannelId, twin_core::Timestamp, f64)> = (0..6u32)
            .filter_map(|h| partial.latest(Handle(h), level2).map(|l| (Handle(h), level2, l.ts, l.value)))
            .collect();
        prop_assert_eq!(full.state_at(twin_core::Timestamp::from_millis(cut), None), want);
    }
}
