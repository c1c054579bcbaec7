//! Vital signs equal a brute-force recomputation after random update sequences, now
//! and at past times; offline sensors are counted by silence.

use std::collections::BTreeMap;

use geo_types::{Geometry, LineString, Point, Polygon};
use proptest::prelude::*;
use twin_core::crs::LocalFrame;
use twin_core::state::alert::{AlertEngine, Condition, Severity, ThresholdRule};
use twin_core::state::vitals::VitalSigns;
use twin_core::state::{ChannelId, ChannelSpec, Quality, Retention, Sample, StateStore};
use twin_core::{Asset, AssetKind, KindFilter, LoadMode, SensorType, Twin};

const T0: i64 = 1_763_700_000_000;
const WINDOW: i64 = 30_000;

fn square(x: f64, y: f64, d: f64) -> Geometry<f64> {
    Geometry::Polygon(Polygon::new(
        LineString::from(vec![(x, y), (x + d, y), (x + d, y + d), (x, y + d), (x, y)]),
        vec![],
    ))
}

/// One island with two towns side by side, 4 sensors in each.
fn twin() -> Twin {
    let mut t = Twin::new(LocalFrame::chongming());
    let mut assets = vec![Asset::new(
        "ISL",
        AssetKind::Island,
        square(121.0, 31.0, 1.0),
    )];
    let mut west = Asset::new("WEST", AssetKind::Town, square(121.1, 31.1, 0.3));
    west.name_en = Some("West".into());
    assets.push(west);
    assets.push(Asset::new(
        "EAST",
        AssetKind::Town,
        square(121.5, 31.1, 0.3),
    ));
    for i in 0..8 {
        let x = if i < 4 { 121.2 } else { 121.6 } + (i % 4) as f64 * 0.01;
        assets.push(Asset::new(
            format!("S{i}"),
            AssetKind::Sensor(SensorType::WaterLevel),
            Geometry::Point(Point::new(x, 31.2)),
        ));
    }
    t.insert_assets(assets, LoadMode::Strict).unwrap();
    t
}

type Brute = BTreeMap<(String, ChannelId), (usize, f64, f64)>;

/// Per town and channel: count, mean, max over the latest values.
fn brute(t: &Twin, s: &StateStore, chans: &[ChannelId]) -> Brute {
    let mut sums: BTreeMap<(String, ChannelId), (usize, f64, f64)> = BTreeMap::new();
    for (h, _) in t.iter().filter(|(_, a)| a.kind.sensor_type().is_some()) {
        let town = t.get(t.located_in(h).unwrap()).unwrap().id.clone();
        for &c in chans {
            if let Some(l) = s.latest(h, c) {
                let e = sums.entry((town.clone(), c)).or_insert((0, 0.0, f64::MIN));
                e.0 += 1;
                e.1 += l.value;
                e.2 = e.2.max(l.value);
            }
        }
    }
    sums.into_iter()
        .map(|(k, (n, sum, max))| (k, (n, sum / n as f64, max)))
        .collect()
}

fn online_brute(
    t: &Twin,
    s: &StateStore,
    chans: &[ChannelId],
    now: i64,
) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (h, _) in t.iter().filter(|(_, a)| a.kind.sensor_type().is_some()) {
        let town = t.get(t.located_in(h).unwrap()).unwrap().id.clone();
        let last = chans
            .iter()
            .filter_map(|&c| s.latest(h, c))
            .map(|l| l.ts.as_millis())
            .max();
        let e = out.entry(town).or_insert(0);
        if last.is_some_and(|ts| now - ts <= WINDOW) {
            *e += 1;
        }
    }
    out
}

fn table_as_map(
    rows: &[twin_core::state::vitals::VitalRow],
    t: &Twin,
) -> (Brute, BTreeMap<String, usize>) {
    let mut stats = BTreeMap::new();
    let mut online = BTreeMap::new();
    for r in rows.iter().filter(|r| !r.island) {
        let id = t.get(r.region).unwrap().id.clone();
        online.insert(id.clone(), r.online);
        for (c, st) in &r.channels {
            stats.insert((id.clone(), *c), (st.count, st.mean, st.max));
        }
    }
    (stats, online)
}

fn close(a: &Brute, b: &Brute) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|((ka, va), (kb, vb))| {
            ka == kb && va.0 == vb.0 && (va.1 - vb.1).abs() < 1e-9 && va.2 == vb.2
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn incremental_vitals_equal_brute_force(
        steps in prop::collection::vec((0usize..8, 0usize..2, 0i64..120, -5.0f64..5.0), 1..150),
        past in 0i64..130,
    ) {
        let t = twin();
        let mut s = StateStore::new(t.handle_capacity(), Retention::default(), None);
        let chans = [
            s.register(ChannelSpec::number("level", "m")),
            s.register(ChannelSpec::number("flow", "m3/s")),
        ];
        let mut v = VitalSigns::new(&t, WINDOW);
        let mut now = T0;
        for &(i, c, dt, value) in &steps {
            let h = t.handle(&format!("S{i}")).unwrap();
            let ts = T0 + dt * 1000;
            now = now.max(ts);
            // Values rounded to 1/8 so sums are exact and equal values repeat.
            let sample = Sample { handle: h, channel: chans[c], ts: twin_core::Timestamp::from_millis(ts), value: (value * 8.0).round() / 8.0, quality: Quality::Good };
            s.apply(&[sample], twin_core::Timestamp::from_millis(now));
            v.update(&s, &[sample], twin_core::Timestamp::from_millis(now));
        }
        let later = now + 10_000;
        v.tick(twin_core::Timestamp::from_millis(later));
        let (stats, online) = table_as_map(&v.table(&t, None), &t);
        let want = brute(&t, &s, &chans);
        prop_assert!(close(&stats, &want), "{stats:?} != {want:?}");
        prop_assert_eq!(online, online_brute(&t, &s, &chans, later));

        // The past: replay only samples at or before the cut and compare.
        let cut = T0 + past * 1000;
        let mut s2 = StateStore::new(t.handle_capacity(), Retention::default(), None);
        let chans2 = [
            s2.register(ChannelSpec::number("level", "m")),
            s2.register(ChannelSpec::number("flow", "m3/s")),
        ];
        for &(i, c, dt, value) in &steps {
            let ts = T0 + dt * 1000;
            if ts <= cut {
                let h = t.handle(&format!("S{i}")).unwrap();
                s2.apply(&[Sample { handle: h, channel: chans2[c], ts: twin_core::Timestamp::from_millis(ts), value: (value * 8.0).round() / 8.0, quality: Quality::Good }], twin_core::Timestamp::from_millis(ts.max(cut)));
            }
        }
        let (past_stats, past_online) = table_as_map(&v.at(&t, &s, twin_core::Timestamp::from_millis(cut)), &t);
        let want = brute(&t, &s2, &chans2);
        prop_assert!(close(&past_stats, &want), "{past_stats:?} != {want:?}");
        prop_assert_eq!(past_online, online_brute(&t, &s2, &chans2, cut));
    }
}

#[test]
fn islands_sum_their_towns_and_alerts_are_counted() {
    let t = twin();
    let mut s = StateStore::new(t.handle_capacity(), Retention::default(), None);
    let level = s.register(ChannelSpec::number("level", "m"));
    let mut v = VitalSigns::new(&t, WINDOW);
    let mut e = AlertEngine::new(vec![ThresholdRule {
        id: "high".into(),
        kinds: "sensor".parse::<KindFilter>().unwrap(),
        channel: level,
        condition: Condition::Above(3.0),
        hysteresis: 0.0,
        min_duration_ms: 0,
        severity: Severity::Warning,
        near: None,
    }]);
    let samples: Vec<Sample> = [(0, 1.0), (1, 2.0), (4, 5.0), (5, 7.0)]
        .iter()
        .map(|&(i, val)| Sample {
            handle: t.handle(&format!("S{i}")).unwrap(),
            channel: level,
            ts: twin_core::Timestamp::from_millis(T0),
            value: val,
            quality: Quality::Good,
        })
        .collect();
    s.apply(&samples, twin_core::Timestamp::from_millis(T0));
    v.update(&s, &samples, twin_core::Timestamp::from_millis(T0));
    e.process(&t, &s, &samples);
    let rows = v.table(&t, Some(&e));
    let west = rows.iter().find(|r| r.name == "West").unwrap();
    assert_eq!((west.sensors, west.online, west.offline()), (4, 2, 2));
    assert_eq!(west.channels[&level].mean, 1.5);
    assert_eq!(west.channels[&level].max, 2.0);
    assert_eq!(west.alerts, [0, 0, 0]);
    let east = rows.iter().find(|r| r.name == "EAST").unwrap();
    assert_eq!(east.alerts, [0, 2, 0]);
    let island = rows.iter().find(|r| r.island).unwrap();
    assert_eq!((island.sensors, island.online), (8, 4));
    assert_eq!(island.channels[&level].count, 4);
    assert_eq!(island.channels[&level].mean, 3.75);
    assert_eq!(island.channels[&level].max, 7.0);
    assert_eq!(island.alerts, [0, 2, 0]);

    // Silence: 31 s later everyone is offline; a falling maximum is exact.
    v.tick(twin_core::Timestamp::from_millis(T0 + 31_000));
    let rows = v.table(&t, None);
    assert!(rows.iter().all(|r| r.online == 0));
    let s5 = Sample {
        handle: t.handle("S5").unwrap(),
        channel: level,
        ts: twin_core::Timestamp::from_millis(T0 + 32_000),
        value: 0.5,
        quality: Quality::Good,
    };
    s.apply(&[s5], twin_core::Timestamp::from_millis(T0 + 32_000));
    v.update(&s, &[s5], twin_core::Timestamp::from_millis(T0 + 32_000));
    let east = v
        .table(&t, None)
        .into_iter()
        .find(|r| r.name == "EAST")
        .unwrap();
    assert_eq!(east.channels[&level].max, 5.0);
    assert_eq!(east.online, 1);
}

#[test]
fn an_outlier_that_comes_and_goes_leaves_the_mean_exact() {
    let t = twin();
    let mut s = StateStore::new(t.handle_capacity(), Retention::default(), None);
    let level = s.register(ChannelSpec::number("level", "m"));
    let mut v = VitalSigns::new(&t, WINDOW);
    let h = t.handle("S0").unwrap();
    let h1 = t.handle("S1").unwrap();
    for (i, (handle, value)) in [(h1, 2.1), (h, 2.0), (h, 1e20), (h, 2.0)]
        .into_iter()
        .enumerate()
    {
        let sample = Sample {
            handle,
            channel: level,
            ts: twin_core::Timestamp::from_millis(T0 + i as i64 * 1000),
            value,
            quality: Quality::Good,
        };
        s.apply(&[sample], sample.ts);
        v.update(&s, &[sample], sample.ts);
    }
    let west = v
        .table(&t, None)
        .into_iter()
        .find(|r| r.name == "West")
        .unwrap();
    assert!(
        (west.channels[&level].mean - 2.05).abs() < 1e-12,
        "{}",
        west.channels[&level].mean
    );
    assert_eq!(west.channels[&level].max, 2.1);
}
