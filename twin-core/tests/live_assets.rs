//! Assets inserted, moved and removed after a live twin is built are counted in at
//! once: vital signs (hand-computed tables, and equal to a table built afresh after
//! random sequences), spatial and silence rules, alerts of removed and moved assets.

use std::collections::BTreeMap;

use geo_types::{Geometry, LineString, Point, Polygon};
use proptest::prelude::*;
use twin_core::crs::LocalFrame;
use twin_core::state::alert::{AlertEvent, Condition, Near, Severity, ThresholdRule};
use twin_core::state::vitals::{VitalRow, VitalSigns};
use twin_core::state::{ChannelId, ChannelSpec, Quality, Sample};
use twin_core::{
    Asset, AssetKind, KindFilter, LoadMode, SensorType, Session, SessionConfig, Timestamp, Twin,
};

const T0: i64 = 1_763_700_000_000;
const WINDOW: i64 = 30_000;

fn square(x: f64, y: f64, d: f64) -> Geometry<f64> {
    Geometry::Polygon(Polygon::new(
        LineString::from(vec![(x, y), (x + d, y), (x + d, y + d), (x, y + d), (x, y)]),
        vec![],
    ))
}

fn sensor(id: &str, x: f64, y: f64) -> Asset {
    Asset::new(
        id,
        AssetKind::Sensor(SensorType::WaterLevel),
        Geometry::Point(Point::new(x, y)),
    )
}

/// One island (121.0–122.0, 31.0–32.0) with two towns: WEST (121.1–121.4) and EAST
/// (121.5–121.8), both 31.1–31.4; sensors S0–S3 in WEST, S4–S7 in EAST, at y = 31.2.
fn live(rules: Vec<ThresholdRule>) -> (Session, ChannelId) {
    live_with(rules, SessionConfig::default().event_capacity)
}

/// As [`live`], keeping at most `event_capacity` undrained alert events.
fn live_with(rules: Vec<ThresholdRule>, event_capacity: usize) -> (Session, ChannelId) {
    let mut t = Twin::new(LocalFrame::chongming());
    let mut assets = vec![
        Asset::new("ISL", AssetKind::Island, square(121.0, 31.0, 1.0)),
        Asset::new("WEST", AssetKind::Town, square(121.1, 31.1, 0.3)),
        Asset::new("EAST", AssetKind::Town, square(121.5, 31.1, 0.3)),
    ];
    for i in 0..8 {
        let x = if i < 4 { 121.2 } else { 121.6 } + (i % 4) as f64 * 0.01;
        assets.push(sensor(&format!("S{i}"), x, 31.2));
    }
    t.insert_assets(assets, LoadMode::Strict).unwrap();
    let config = SessionConfig {
        online_window_ms: WINDOW,
        event_capacity,
        ..SessionConfig::default()
    };
    let mut live = Session::new(t, config);
    let level = live.register_channel(ChannelSpec::number("level", "m"));
    // Rules name their channel, so they are made after it is registered.
    let rules = rules
        .into_iter()
        .map(|r| ThresholdRule {
            channel: level,
            ..r
        })
        .collect();
    live.set_rules(rules, Vec::new()).unwrap();
    (live, level)
}

/// The session with its clock moved to `t` (asset changes are stamped with it).
/// The gauges' layer: a ramp from `low` at 0 m to `high` at 10 m, `base` for stale or
/// no data.
fn level_layer(
    level: ChannelId,
    low: twin_core::state::Rgba,
    high: twin_core::state::Rgba,
    base: twin_core::state::Rgba,
) -> twin_core::state::Layer {
    twin_core::state::Layer {
        name: "water level".into(),
        kinds: "sensor:water_level".parse::<KindFilter>().unwrap(),
        channel: level,
        style: twin_core::state::Style::Ramp(vec![(0.0, low), (10.0, high)]),
        stale_after_ms: None,
        stale: base,
        no_data: base,
    }
}

fn at(live: &mut Session, t: i64) -> &mut Session {
    live.advance(Timestamp::from_millis(t));
    live
}

fn put(live: &mut Session, level: ChannelId, id: &str, value: f64, ts: i64) {
    let h = live.twin().handle(id).unwrap();
    let s = Sample {
        handle: h,
        channel: level,
        ts: twin_core::Timestamp::from_millis(ts),
        value,
        quality: Quality::Good,
    };
    live.apply(&[s], Timestamp::from_millis(ts));
}

/// (sensors, online, count, mean, max) of a row by region id.
fn row(live: &Session, level: ChannelId, id: &str) -> Option<(usize, usize, usize, f64, f64)> {
    let h = live.twin().handle(id)?;
    let r = live.vital_signs().into_iter().find(|r| r.region == h)?;
    let st = r.channels.get(&level);
    Some((
        r.sensors,
        r.online,
        st.map_or(0, |s| s.count),
        // Means to 1e-9: island rows merge their towns' means.
        st.map_or(f64::NAN, |s| (s.mean * 1e9).round() / 1e9),
        st.map_or(f64::NAN, |s| s.max),
    ))
}

#[test]
fn sensors_inserted_moved_and_removed_count_in_their_town_at_once() {
    let (mut live, level) = live(Vec::new());
    for i in 0..8 {
        put(&mut live, level, &format!("S{i}"), (i + 1) as f64, T0);
    }
    assert_eq!(row(&live, level, "WEST"), Some((4, 4, 4, 2.5, 4.0)));
    assert_eq!(row(&live, level, "EAST"), Some((4, 4, 4, 6.5, 8.0)));

    // A new sensor in WEST: counted, offline until it reports.
    at(&mut live, T0 + 1000)
        .insert_assets(vec![sensor("S8", 121.3, 31.2)], LoadMode::Strict)
        .unwrap();
    assert_eq!(row(&live, level, "WEST"), Some((5, 4, 4, 2.5, 4.0)));
    put(&mut live, level, "S8", 10.0, T0 + 2000);
    assert_eq!(row(&live, level, "WEST"), Some((5, 5, 5, 4.0, 10.0)));

    // It moves to EAST, taking its value and its online state along.
    let s8 = live.twin().handle("S8").unwrap();
    at(&mut live, T0 + 3000)
        .move_asset(s8, Geometry::Point(Point::new(121.65, 31.2)))
        .unwrap();
    assert_eq!(row(&live, level, "WEST"), Some((4, 4, 4, 2.5, 4.0)));
    assert_eq!(row(&live, level, "EAST"), Some((5, 5, 5, 7.2, 10.0)));
    assert_eq!(row(&live, level, "ISL"), Some((9, 9, 9, 5.111111111, 10.0)));

    // S7 (8.0) is removed; the maximum stays S8's.
    at(&mut live, T0 + 4000).remove_asset("S7").unwrap();
    assert_eq!(row(&live, level, "EAST"), Some((4, 4, 4, 7.0, 10.0)));

    // S8 leaves every town: it is counted nowhere.
    at(&mut live, T0 + 5000)
        .move_asset(s8, Geometry::Point(Point::new(121.95, 31.9)))
        .unwrap();
    assert_eq!(row(&live, level, "EAST"), Some((3, 3, 3, 6.0, 7.0)));
    assert_eq!(row(&live, level, "ISL"), Some((7, 7, 7, 4.0, 7.0)));

    // A new town where S8 is now: its row holds S8.
    at(&mut live, T0 + 6000)
        .insert_assets(
            vec![Asset::new(
                "NORTH",
                AssetKind::Town,
                square(121.85, 31.8, 0.14),
            )],
            LoadMode::Strict,
        )
        .unwrap();
    assert_eq!(row(&live, level, "NORTH"), Some((1, 1, 1, 10.0, 10.0)));
    assert_eq!(row(&live, level, "ISL"), Some((8, 8, 8, 4.75, 10.0)));

    // EAST moves away from its sensors, which are then in no town.
    let east = live.twin().handle("EAST").unwrap();
    at(&mut live, T0 + 7000)
        .move_asset(east, square(121.5, 31.6, 0.1))
        .unwrap();
    let east_row = row(&live, level, "EAST").unwrap();
    assert_eq!((east_row.0, east_row.1, east_row.2), (0, 0, 0));
    assert_eq!(row(&live, level, "ISL"), Some((5, 5, 5, 4.0, 10.0)));

    // WEST is removed: no row, and the island holds NORTH's sensor only.
    at(&mut live, T0 + 8000).remove_asset("WEST").unwrap();
    assert_eq!(row(&live, level, "WEST"), None);
    assert_eq!(row(&live, level, "ISL"), Some((1, 1, 1, 10.0, 10.0)));

    // Silence still works for the sensors counted in after the start: 31 s after its
    // last sample S8 is offline.
    live.tick(Timestamp::from_millis(T0 + 2000 + WINDOW + 1000));
    assert_eq!(row(&live, level, "NORTH"), Some((1, 0, 1, 10.0, 10.0)));
}

/// The comparable part of a table: per region id, sensors, online and per channel
/// (count, mean rounded to 1e-9, max).
type Table = BTreeMap<String, (usize, usize, Vec<(u16, usize, i64, f64)>)>;

fn comparable(rows: &[VitalRow], t: &Twin) -> Table {
    rows.iter()
        .map(|r| {
            let channels = r
                .channels
                .iter()
                .map(|(c, s)| (c.0, s.count, (s.mean * 1e9).round() as i64, s.max))
                .collect();
            (
                t.get(r.region).unwrap().id.clone(),
                (r.sensors, r.online, channels),
            )
        })
        .collect()
}

#[derive(Clone, Debug)]
enum Op {
    Insert(usize, usize),
    Move(usize, usize),
    Remove(usize),
    Sample(usize, f64),
    MoveTown(usize),
    Wait(i64),
}

/// Where sensors and towns go: in WEST, in EAST, in the island but no town, outside.
const SPOTS: [(f64, f64); 4] = [
    (121.25, 31.2),
    (121.65, 31.25),
    (121.95, 31.9),
    (123.0, 30.0),
];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..12, 0usize..4).prop_map(|(k, p)| Op::Insert(k, p)),
        (0usize..12, 0usize..4).prop_map(|(k, p)| Op::Move(k, p)),
        (0usize..12).prop_map(Op::Remove),
        (0usize..12, -4.0f64..4.0).prop_map(|(k, v)| Op::Sample(k, (v * 8.0).round() / 8.0)),
        (0usize..2).prop_map(Op::MoveTown),
        (1i64..40).prop_map(|s| Op::Wait(s * 1000)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// After any sequence of inserts, moves, removals (sensors and towns), samples and
    /// silences, the live table equals one built afresh over the same twin and store.
    #[test]
    fn live_table_equals_a_table_built_afresh(ops in prop::collection::vec(op(), 1..60)) {
        let (mut live, level) = live(Vec::new());
        let mut now = T0;
        let mut serial = 0;
        for op in ops {
            now += 100;
            match op {
                Op::Insert(k, p) => {
                    let id = format!("N{k}");
                    if live.twin().handle(&id).is_none() {
                        let (x, y) = SPOTS[p];
                        at(&mut live, now).insert_assets(vec![sensor(&id, x + k as f64 * 1e-4, y)], LoadMode::Strict).unwrap();
                    }
                }
                Op::Move(k, p) => {
                    if let Some(h) = live.twin().handle(&format!("N{k}")) {
                        let (x, y) = SPOTS[p];
                        at(&mut live, now).move_asset(h, Geometry::Point(Point::new(x + k as f64 * 1e-4, y))).unwrap();
                    }
                }
                Op::Remove(k) => {
                    let _ = at(&mut live, now).remove_asset(&format!("N{k}"));
                }
                Op::Sample(k, v) => {
                    if live.twin().handle(&format!("N{k}")).is_some() {
                        put(&mut live, level, &format!("N{k}"), v, now);
                    }
                }
                Op::MoveTown(w) => {
                    // WEST or EAST jumps between its place and the island's empty corner.
                    let id = ["WEST", "EAST"][w];
                    let h = live.twin().handle(id).unwrap();
                    serial += 1;
                    let x = if serial % 2 == 1 { 121.9 } else { [121.1, 121.5][w] };
                    let y = if serial % 2 == 1 { 31.8 } else { 31.1 };
                    at(&mut live, now).move_asset(h, square(x, y, 0.15)).unwrap();
                }
                Op::Wait(ms) => {
                    now += ms;
                    live.tick(Timestamp::from_millis(now));
                }
            }
        }
        live.tick(Timestamp::from_millis(now));
        let got = comparable(&live.vital_signs(), live.twin());
        let mut fresh = VitalSigns::new(live.twin(), WINDOW);
        fresh.seed(live.store(), twin_core::Timestamp::from_millis(now));
        let want = comparable(&fresh.table(live.twin(), None), live.twin());
        prop_assert_eq!(got, want);
    }
}

fn rule(id: &str, condition: Condition, near: Option<Near>) -> ThresholdRule {
    ThresholdRule {
        id: id.into(),
        kinds: "sensor".parse::<KindFilter>().unwrap(),
        channel: ChannelId(0),
        condition,
        hysteresis: 0.0,
        min_duration_ms: 0,
        severity: Severity::Warning,
        near,
    }
}

/// Open alerts as (rule, asset id, town id), sorted.
fn open(live: &Session) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = live
        .alerts()
        .open()
        .map(|a| {
            let town = a
                .town
                .and_then(|t| live.twin().get(t))
                .map(|t| t.id.clone())
                .unwrap_or_default();
            (a.rule.clone(), a.asset_id.clone(), town)
        })
        .collect();
    v.sort();
    v
}

fn strs(v: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    v.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

#[test]
fn spatial_rules_follow_moves_inserts_and_removals() {
    let near_building = Near {
        kinds: "building".parse::<KindFilter>().unwrap(),
        metres: 100.0,
    };
    let (mut live, level) = live(vec![
        rule("high", Condition::Above(3.0), None),
        rule("near-building", Condition::Above(3.0), Some(near_building)),
    ]);
    // A building of about 50 m around S0 (121.2, 31.2); S1 is ~950 m east of it.
    let b1 = Asset::new("B1", AssetKind::Building, square(121.1998, 31.1998, 0.0004));
    at(&mut live, T0)
        .insert_assets(vec![b1], LoadMode::Strict)
        .unwrap();
    live.drain_events(usize::MAX);
    put(&mut live, level, "S0", 5.0, T0 + 1000);
    put(&mut live, level, "S1", 5.0, T0 + 1000);
    assert_eq!(
        open(&live),
        strs(&[
            ("high", "S0", "WEST"),
            ("high", "S1", "WEST"),
            ("near-building", "S0", "WEST"),
        ])
    );

    // S1 comes next to the building: the spatial rule watches it from its next sample.
    let s1 = live.twin().handle("S1").unwrap();
    at(&mut live, T0 + 2000)
        .move_asset(s1, Geometry::Point(Point::new(121.2003, 31.2)))
        .unwrap();
    put(&mut live, level, "S1", 6.0, T0 + 3000);
    assert!(open(&live).contains(&("near-building".into(), "S1".into(), "WEST".into())));

    // S0 goes to EAST, far from any building: its spatial alert clears, its other
    // alert now names EAST.
    let s0 = live.twin().handle("S0").unwrap();
    at(&mut live, T0 + 4000)
        .move_asset(s0, Geometry::Point(Point::new(121.7, 31.3)))
        .unwrap();
    assert_eq!(
        open(&live),
        strs(&[
            ("high", "S0", "EAST"),
            ("high", "S1", "WEST"),
            ("near-building", "S1", "WEST"),
        ])
    );

    // The building goes: nothing is near a building any more.
    at(&mut live, T0 + 5000).remove_asset("B1").unwrap();
    assert_eq!(
        open(&live),
        strs(&[("high", "S0", "EAST"), ("high", "S1", "WEST")])
    );
    put(&mut live, level, "S1", 7.0, T0 + 6000);
    assert_eq!(open(&live).len(), 2);

    // A new building where S0 is: S0's next high value raises the spatial alert.
    let b2 = Asset::new("B2", AssetKind::Building, square(121.6999, 31.2999, 0.0002));
    at(&mut live, T0 + 7000)
        .insert_assets(vec![b2], LoadMode::Strict)
        .unwrap();
    put(&mut live, level, "S0", 8.0, T0 + 8000);
    assert!(open(&live).contains(&("near-building".into(), "S0".into(), "EAST".into())));

    // S1 is removed: its open alert clears, with an event naming it.
    at(&mut live, T0 + 9000).remove_asset("S1").unwrap();
    assert_eq!(
        open(&live),
        strs(&[("high", "S0", "EAST"), ("near-building", "S0", "EAST")])
    );
    let cleared: Vec<(String, String, i64)> = live
        .drain_events(usize::MAX)
        .into_iter()
        .filter_map(|e| match e {
            AlertEvent::Cleared(a) => Some((a.rule, a.asset_id, a.cleared_at.unwrap().as_millis())),
            _ => None,
        })
        .collect();
    assert_eq!(
        cleared,
        vec![
            ("near-building".into(), "S0".into(), T0 + 4000),
            ("near-building".into(), "S1".into(), T0 + 5000),
            ("high".into(), "S1".into(), T0 + 9000),
        ]
    );
}

#[test]
fn silence_rules_watch_inserted_sensors_and_forget_removed_ones() {
    let (mut live, level) = live(vec![rule(
        "silent",
        Condition::Silent { after_ms: 10_000 },
        None,
    )]);
    put(&mut live, level, "S2", 1.0, T0);
    // The first scan lists what the rule watches.
    live.tick(Timestamp::from_millis(T0 + 1000));
    at(&mut live, T0 + 1500)
        .insert_assets(vec![sensor("S9", 121.3, 31.3)], LoadMode::Strict)
        .unwrap();
    put(&mut live, level, "S9", 1.0, T0 + 2000);
    at(&mut live, T0 + 3000).remove_asset("S2").unwrap();
    live.tick(Timestamp::from_millis(T0 + 13_000));
    assert_eq!(open(&live), strs(&[("silent", "S9", "WEST")]));
}

#[test]
fn the_session_overlay_colours_inserted_assets_and_clears_removed_ones() {
    use twin_core::state::Rgba;
    const GREEN: Rgba = Rgba::rgb(0, 255, 0);
    const RED: Rgba = Rgba::rgb(255, 0, 0);
    const BLACK: Rgba = Rgba::rgb(0, 0, 0);
    let (mut live, level) = live(Vec::new());
    live.set_layers(vec![level_layer(level, GREEN, RED, BLACK)])
        .unwrap();
    at(&mut live, T0).refresh_colors();

    // Two new sensors (handles 11 and 12, after the island, 2 towns and 8 sensors):
    // the session's overlay knows them without being told.
    let report = live
        .insert_assets(
            vec![sensor("S8", 121.3, 31.2), sensor("S9", 121.31, 31.2)],
            LoadMode::Strict,
        )
        .unwrap();
    assert_eq!(live.overlay().colors().len(), 13);
    assert_eq!(live.overlay().color(report.inserted[0]), BLACK);
    put(&mut live, level, "S8", 10.0, T0 + 1000);
    let changed = live.refresh_colors();
    assert_eq!(live.overlay().color(report.inserted[0]), RED);
    assert_eq!(live.overlay().color(report.inserted[1]), BLACK);
    assert_eq!(changed, vec![11..13]);

    // Removed: transparent, reported as changed.
    at(&mut live, T0 + 2000).remove_asset("S8").unwrap();
    assert_eq!(live.overlay().color(report.inserted[0]), Rgba::NONE);
    assert_eq!(live.refresh_colors(), vec![11..12]);
}

#[test]
fn open_alerts_highlight_their_assets_until_they_clear() {
    use twin_core::state::Rgba;
    const GREEN: Rgba = Rgba::rgb(0, 255, 0);
    let (mut live, level) = live(vec![rule("high", Condition::Above(3.0), None)]);
    live.set_layers(vec![level_layer(level, GREEN, GREEN, GREEN)])
        .unwrap();
    let highlight = live.config().alert_highlight.unwrap();
    let s0 = live.twin().handle("S0").unwrap();
    put(&mut live, level, "S0", 5.0, T0);
    live.refresh_colors();
    assert_eq!(live.overlay().color(s0), highlight);
    // Nobody drained the events: the highlight still follows the alert.
    put(&mut live, level, "S0", 1.0, T0 + 1000);
    live.refresh_colors();
    assert_eq!(live.overlay().color(s0), GREEN);
    let events = live.drain_events(10);
    assert_eq!(events.len(), 2, "raised and cleared, in order");
    assert!(matches!(&events[0], AlertEvent::Raised(a) if a.asset == s0));
    assert!(matches!(&events[1], AlertEvent::Cleared(a) if a.asset == s0));
    // Rules replaced: an open alert of a rule that is gone loses its highlight too.
    put(&mut live, level, "S0", 6.0, T0 + 2000);
    live.refresh_colors();
    assert_eq!(live.overlay().color(s0), highlight);
    live.set_rules(Vec::new(), Vec::new()).unwrap();
    live.refresh_colors();
    assert_eq!(live.overlay().color(s0), GREEN);
}

#[test]
fn the_event_queue_is_bounded_and_drained_in_batches() {
    use twin_core::state::Rgba;
    let (mut live, level) = live_with(vec![rule("high", Condition::Above(3.0), None)], 3);
    live.set_layers(vec![level_layer(
        level,
        Rgba::rgb(0, 255, 0),
        Rgba::rgb(0, 255, 0),
        Rgba::NONE,
    )])
    .unwrap();
    // Eight sensors raise: eight events, of which a queue of three keeps the newest.
    for i in 0..8 {
        put(&mut live, level, &format!("S{i}"), 5.0, T0 + i);
    }
    assert_eq!(live.pending_events(), 3);
    assert_eq!(live.events_dropped(), 5);
    let first = live.drain_events(2);
    let rest = live.drain_events(100);
    let ids: Vec<String> = first
        .iter()
        .chain(&rest)
        .map(|e| match e {
            AlertEvent::Raised(a) => a.asset_id.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, ["S5", "S6", "S7"]);
    assert!(live.drain_events(100).is_empty());
    // Highlights do not depend on anyone reading the events.
    live.refresh_colors();
    let highlight = live.config().alert_highlight.unwrap();
    for i in 0..8 {
        let h = live.twin().handle(&format!("S{i}")).unwrap();
        assert_eq!(live.overlay().color(h), highlight, "S{i}");
    }
}

#[test]
fn the_fingerprint_names_the_handle_assignment() {
    // Hand-computed (FNV-1a 64 over capacity 11 as u32 LE, then each id and 0xFF) with
    // a few lines of Python, not with this crate.
    let (mut live, _) = live(Vec::new());
    assert_eq!(live.twin().fingerprint(), "4c696551b62e5161");
    // The same assets built again: the same fingerprint.
    assert_eq!(
        live_with(Vec::new(), 10).0.twin().fingerprint(),
        "4c696551b62e5161"
    );
    // A removed asset leaves a hole (0xFF alone) and changes it.
    live.remove_asset("S3").unwrap();
    assert_eq!(live.twin().fingerprint(), "72608b3c3c09f923");
}

#[test]
fn one_refresh_gives_changed_values_and_changed_colours() {
    use twin_core::state::Rgba;
    const GREEN: Rgba = Rgba::rgb(0, 255, 0);
    const RED: Rgba = Rgba::rgb(255, 0, 0);
    let (mut live, level) = live(Vec::new());
    live.set_layers(vec![level_layer(level, GREEN, RED, GREEN)])
        .unwrap();
    // A new overlay repaints everything once.
    assert_eq!(live.refresh().colors, vec![0..11]);
    // S0 (handle 3) and S1 (4) change value; only S1's colour changes (S0 stays at
    // the ramp's low end, which is the no-data colour too).
    put(&mut live, level, "S0", 0.0, T0);
    put(&mut live, level, "S1", 10.0, T0);
    let r = live.refresh();
    assert_eq!(r.values, vec![3..5]);
    assert_eq!(r.colors, vec![4..5]);
    // Taken once: nothing more.
    assert_eq!(live.refresh(), twin_core::Refreshed::default());
}
