//! A twin with a data directory comes back after a stop as it was: the same latest
//! values, alerts, incidents and orders, and its history; a torn tail is cut and
//! reported, a damaged segment is reported by name and the rest loads, a locked
//! directory is refused.

use std::path::{Path, PathBuf};
use std::time::Duration;

use geo_types::{Geometry, Point, polygon};
use twin_core::crs::LocalFrame;
use twin_core::session::views;
use twin_core::state::history::SeriesKey;
use twin_core::state::incident::IncidentRules;
use twin_core::state::orders::{Action, DispatchRules, StepRequest};
use twin_core::state::{ChannelId, ChannelSpec, Quality, Sample};
use twin_core::{Asset, AssetKind, LoadMode, SensorType, Session, SessionConfig, Timestamp, Twin};
use twin_store::{DataDir, StoreError, StoreOptions, read_series};

const T0: i64 = 1_763_700_000_000;

const DISPATCH: &str = r#"{
  "units": [
    {"id": "water/{town}", "name": "{town} water team", "tier": 1},
    {"id": "district-centre", "name": "District centre", "tier": 3}
  ],
  "routes": [
    {"family": "*", "multi_town": true, "unit": "district-centre"},
    {"family": "flooding", "unit": "water/{town}", "escalate_to": ["district-centre"]}
  ],
  "response": {"critical": {"accept_s": 300, "resolve_s": 3600}}
}"#;
const GROUPS: &str = r#"[{"family": "flooding", "rules": ["level-high"], "same_town": true,
  "quiet_s": 600, "reopen_s": 1800}]"#;
const RULES: &str = r#"[{"id": "level-high", "kinds": "sensor:water_level", "channel": "level",
  "above": 4.0, "hysteresis": 0.5, "severity": "critical"}]"#;

/// A town with three gauges; the rules that are not in a snapshot are set again.
fn fresh() -> Session {
    let mut t = Twin::new(LocalFrame::chongming());
    let town = Asset::new(
        "TOWN-A",
        AssetKind::Town,
        Geometry::Polygon(polygon![
            (x: 121.40, y: 31.60), (x: 121.42, y: 31.60), (x: 121.42, y: 31.62),
            (x: 121.40, y: 31.62), (x: 121.40, y: 31.60)
        ]),
    );
    let gauge = |i: usize| {
        Asset::new(
            format!("WL{i}"),
            AssetKind::Sensor(SensorType::WaterLevel),
            Geometry::Point(Point::new(121.405 + i as f64 * 0.002, 31.61)),
        )
    };
    t.insert_assets(vec![town, gauge(1), gauge(2), gauge(3)], LoadMode::Strict)
        .unwrap();
    let mut live = Session::new(t, SessionConfig::default());
    live.register_channel(ChannelSpec::number("level", "m"));
    live.set_rules_json(RULES).unwrap();
    set_rules(&mut live);
    live
}

fn set_rules(live: &mut Session) {
    live.set_incident_rules(IncidentRules::from_json(GROUPS).unwrap());
    live.set_dispatch_rules(DispatchRules::from_json(DISPATCH).unwrap());
}

fn level(live: &Session) -> ChannelId {
    live.store().channel("level").unwrap()
}

/// The session of a directory: its newest checkpoint that loads, or a fresh one.
fn reopen(dir: &Path, opts: StoreOptions) -> (Session, DataDir, twin_store::Recovery) {
    let mut d = DataDir::open(dir, opts).unwrap();
    let mut loaded = None;
    for (seq, path) in d.checkpoints() {
        if let Ok(mut s) = twin_core::snapshot::load(&path, SessionConfig::default()) {
            set_rules(&mut s);
            loaded = Some((s, seq));
            break;
        }
    }
    let (mut s, c) = match loaded {
        Some((s, c)) => (s, Some(c)),
        None => (fresh(), None),
    };
    let rec = d.recover(&mut s, c).unwrap();
    (s, d, rec)
}

/// A minute of readings per gauge, gauge 3 over the threshold from 00:05 to 00:10 (an
/// alert raised and cleared), gauge 2 from 00:20 to 00:40; a tick every second.
fn drive(live: &mut Session, from_s: i64, to_s: i64) {
    let ch = level(live);
    for sec in from_s..to_s {
        let t = T0 + sec * 1000;
        let mut batch = Vec::new();
        for (i, id) in ["WL1", "WL2", "WL3"].iter().enumerate() {
            let h = live.twin().handle(id).unwrap();
            let v = if i == 1 && (20..40).contains(&sec) {
                4.5 + sec as f64 / 100.0
            } else if i == 2 && (5..10).contains(&sec) {
                4.8
            } else {
                1.0 + (sec % 7) as f64 / 10.0 + i as f64
            };
            batch.push(Sample {
                handle: h,
                channel: ch,
                ts: Timestamp::from_millis(t),
                value: v,
                quality: Quality::Good,
            });
        }
        live.apply(&batch, Timestamp::from_millis(t));
        live.tick(Timestamp::from_millis(t + 500));
    }
}

/// Everything a user sees of the session, as text.
fn picture(live: &Session) -> String {
    let ch = level(live);
    let mut out = String::new();
    for id in ["WL1", "WL2", "WL3"] {
        let h = live.twin().handle(id).unwrap();
        let key = SeriesKey {
            handle: h.0,
            channel: ch.0,
        };
        let series = live.store().history().range(
            key,
            Timestamp::from_millis(i64::MIN + 1),
            Timestamp::from_millis(i64::MAX),
        );
        out += &format!(
            "{id}: latest {:?}; history {} samples, first {:?}, last {:?}\n",
            live.store().latest(h, ch),
            series.len(),
            series.first(),
            series.last()
        );
    }
    for a in live.open_alerts() {
        out += &format!(
            "alert {} {} {:?} ack {:?}\n",
            a.id, a.rule, a.state, a.acknowledged_at
        );
    }
    for i in live
        .incidents()
        .live()
        .iter()
        .chain(live.incidents().closed())
    {
        out += &format!("{}\n", views::incident_json(live, i, true));
    }
    for o in live.orders().live().iter().chain(live.orders().closed()) {
        out += &format!("{}\n", views::order_json(o));
    }
    out
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("twin-store-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&d).ok();
    d
}

fn people(live: &mut Session) {
    let order = live.orders().live().first().expect("an order").id;
    let accept = StepRequest {
        action: Action::Accept,
        by: "li.wei",
        unit: None,
        note: "on the way",
    };
    live.act_on_order(order, &accept).unwrap();
    let alert = live.open_alerts()[0].id;
    assert!(live.acknowledge(alert));
}

#[test]
fn a_restarted_twin_is_the_twin_that_stopped() {
    let dir = temp("restart");
    // The reference: the same calls with no directory.
    let mut reference = fresh();
    drive(&mut reference, 0, 30);
    people(&mut reference);
    drive(&mut reference, 30, 35);

    let (mut live, d, rec) = reopen(&dir, StoreOptions::default());
    assert_eq!(rec.checkpoint, None);
    assert_eq!(rec.replayed, 0);
    drive(&mut live, 0, 30);
    people(&mut live);
    drive(&mut live, 30, 35);
    assert_eq!(picture(&live), picture(&reference));
    d.sync().unwrap();
    // A crash: no last checkpoint; the session goes with the process.
    drop(d);
    drop(live);

    let (mut back, d, rec) = reopen(&dir, StoreOptions::default());
    assert_eq!(rec.checkpoint, Some(0), "{rec:?}");
    // 35 applies, 35 ticks, one step, one acknowledgement.
    assert_eq!(rec.replayed, 72, "{rec:?}");
    assert_eq!(rec.replayed_samples, 105);
    assert!(rec.problems.is_empty(), "{:?}", rec.problems);
    let want = picture(&reference);
    assert!(want.contains("li.wei"), "{want}");
    assert!(want.contains("ack Some"), "{want}");
    assert_eq!(picture(&back), want);
    // The restarted twin goes on as the one that never stopped.
    drive(&mut reference, 35, 60);
    drive(&mut back, 35, 60);
    assert_eq!(picture(&back), picture(&reference));
    drop(d);
    drop(back);

    // After a clean stop the last checkpoint holds it all: nothing to replay, and the
    // history (not in snapshots) comes from the journal's segments.
    let (mut back, d, _) = reopen(&dir, StoreOptions::default());
    d.close(&mut back).unwrap();
    let (back, _d, rec) = reopen(&dir, StoreOptions::default());
    assert_eq!(rec.replayed, 0, "{rec:?}");
    assert_eq!(rec.history_samples, 180, "{rec:?}");
    let want = picture(&reference);
    assert_eq!(picture(&back), want);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_twin_restored_from_a_checkpoint_replays_to_the_same_alerts_and_orders() {
    let dir = temp("checkpoint");
    let mut reference = fresh();
    drive(&mut reference, 0, 15);
    drive(&mut reference, 15, 30);
    people(&mut reference);
    drive(&mut reference, 30, 35);

    let (mut live, mut d, _) = reopen(&dir, StoreOptions::default());
    drive(&mut live, 0, 15);
    // The checkpoint comes after gauge 3's alert (number 1) cleared, with no alert
    // open: the next number (2) and the silence scan's time are in it, not in the open
    // alerts.
    d.checkpoint(&live).unwrap();
    drive(&mut live, 15, 30);
    people(&mut live);
    drive(&mut live, 30, 35);
    let want = picture(&reference);
    assert_eq!(picture(&live), want);
    assert!(want.contains("alert 2 level-high"), "{want}");
    d.sync().unwrap();
    drop(d);
    drop(live);

    let (back, _d, rec) = reopen(&dir, StoreOptions::default());
    // 15 applies and 15 ticks before the checkpoint.
    assert_eq!(rec.checkpoint, Some(30), "{rec:?}");
    assert_eq!(rec.replayed, 42, "{rec:?}");
    assert!(rec.problems.is_empty(), "{:?}", rec.problems);
    assert_eq!(picture(&back), want);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_torn_tail_is_cut_and_reported_and_a_damaged_segment_named() {
    let dir = temp("torn");
    let small = StoreOptions {
        segment_bytes: 2_000,
        ..StoreOptions::default()
    };
    let (mut live, d, _) = reopen(&dir, small.clone());
    drive(&mut live, 0, 60);
    d.sync().unwrap();
    drop(d);
    drop(live);
    let mut segments: Vec<_> = std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    segments.sort();
    assert!(segments.len() >= 4, "{segments:?}");
    // The crash tore the last record: its last 5 bytes never reached the disk.
    let newest = segments.last().unwrap();
    let len = std::fs::metadata(newest).unwrap().len();
    let f = std::fs::File::options().write(true).open(newest).unwrap();
    f.set_len(len - 5).unwrap();
    drop(f);
    // And a bit flipped in an older segment's second record.
    let older = &segments[1];
    let mut bytes = std::fs::read(older).unwrap();
    let second = twin_store::segment::HEADER + 16 + 200;
    bytes[second] ^= 0x40;
    std::fs::write(older, &bytes).unwrap();

    let (back, _d, rec) = reopen(&dir, small);
    let text = rec.problems.join("\n");
    assert!(text.contains("torn tail cut"), "{text}");
    assert!(text.contains(&newest.display().to_string()), "{text}");
    assert!(
        text.contains("damaged segment") && text.contains(&older.display().to_string()),
        "{text}"
    );
    assert!(text.contains("checksum mismatch"), "{text}");
    // 120 records were written; the torn one and the damaged segment's from the
    // flipped record on are lost, the rest are back.
    assert!(rec.replayed < 119 && rec.replayed > 60, "{rec:?}");
    // The cut is permanent: the file ends at the last good record.
    assert!(std::fs::metadata(newest).unwrap().len() < len - 5);
    // Later records still applied: the last second's readings are the latest values.
    let h = back.twin().handle("WL1").unwrap();
    let latest = back.store().latest(h, level(&back)).unwrap();
    assert_eq!(latest.ts.as_millis(), T0 + 59_000);
    // The torn record was the last tick, at 59.5 s.
    assert_eq!(back.now().as_millis(), T0 + 59_000);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_directory_in_use_is_refused() {
    let dir = temp("lock");
    let _held = DataDir::open(&dir, StoreOptions::default()).unwrap();
    match DataDir::open(&dir, StoreOptions::default()) {
        Err(StoreError::Locked(d)) => assert!(d.contains("twin-store-lock"), "{d}"),
        other => panic!("{other:?}"),
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn old_segments_become_parquet_and_a_series_reads_back_whole() {
    let dir = temp("parquet");
    let opts = StoreOptions {
        segment_bytes: 4_000,
        checkpoint_every: Duration::ZERO,
        ..StoreOptions::default()
    };
    let (mut live, mut d, _) = reopen(&dir, opts.clone());
    for m in 0..6 {
        drive(&mut live, m * 60, (m + 1) * 60);
        d.maybe_checkpoint(&live).unwrap();
    }
    d.close(&mut live).unwrap();
    let files: Vec<_> = std::fs::read_dir(dir.join("history"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(!files.is_empty(), "no history files");
    assert!(files.iter().all(|f| f.ends_with(".parquet")), "{files:?}");
    let (series, problems) = read_series(&dir, "WL3", "level", i64::MIN, i64::MAX).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(series.len(), 360);
    for (sec, s) in series.iter().enumerate() {
        assert_eq!(s.ts, T0 + sec as i64 * 1000);
        let want = if (5..10).contains(&sec) {
            4.8
        } else {
            1.0 + (sec % 7) as f64 / 10.0 + 2.0
        };
        assert_eq!(s.value, want, "second {sec}");
    }
    // A range.
    let (some, _) = read_series(&dir, "WL3", "level", T0 + 10_000, T0 + 19_999).unwrap();
    assert_eq!(some.len(), 10);
    // And the restarted twin has its history back from the files.
    let (back, _d, rec) = reopen(&dir, opts);
    assert!(rec.history_files > 0, "{rec:?}");
    assert_eq!(picture(&back), picture(&live));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn retention_deletes_the_oldest_history_files_past_size_and_age() {
    let files = |dir: &Path| -> Vec<(i64, i64, u64)> {
        let mut v: Vec<_> = std::fs::read_dir(dir.join("history"))
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let name = e.file_name().into_string().unwrap();
                let (from, to, _) = twin_store::columnar::parse_name(&name).unwrap();
                (from, to, e.metadata().unwrap().len())
            })
            .collect();
        v.sort();
        v
    };
    let run = |name: &str, opts: StoreOptions| {
        let dir = temp(name);
        let (mut live, mut d, _) = reopen(&dir, opts);
        for m in 0..10 {
            drive(&mut live, m * 60, (m + 1) * 60);
            d.maybe_checkpoint(&live).unwrap();
        }
        d.close(&mut live).unwrap();
        dir
    };
    let every = StoreOptions {
        segment_bytes: 4_000,
        checkpoint_every: Duration::ZERO,
        retain_ms: None,
        retain_bytes: None,
        ..StoreOptions::default()
    };
    // Kept whole: the reference.
    let all_dir = run("retain-none", every.clone());
    let all = files(&all_dir);
    assert!(all.len() > 10, "{all:?}");
    let newest = all.iter().map(|f| f.1).max().unwrap();

    // By age: nothing whose newest sample is more than 3 minutes before the newest.
    let aged = run(
        "retain-age",
        StoreOptions {
            retain_ms: Some(180_000),
            ..every.clone()
        },
    );
    let kept = files(&aged);
    assert!(!kept.is_empty() && kept.len() < all.len(), "{kept:?}");
    assert!(kept.iter().all(|f| f.1 >= newest - 180_000), "{kept:?}");
    assert_eq!(
        kept.len(),
        all.iter().filter(|f| f.1 >= newest - 180_000).count()
    );

    // By size: the newest files that fit in a quarter of the whole.
    let total: u64 = all.iter().map(|f| f.2).sum();
    let sized = run(
        "retain-size",
        StoreOptions {
            retain_bytes: Some(total / 4),
            ..every
        },
    );
    let kept = files(&sized);
    let kept_bytes: u64 = kept.iter().map(|f| f.2).sum();
    assert!(kept_bytes <= total / 4, "{kept_bytes} > {}", total / 4);
    assert!(!kept.is_empty());
    // The oldest went first: what is kept is the tail of the full list.
    let oldest_kept = kept.iter().map(|f| f.1).min().unwrap();
    assert!(all.iter().filter(|f| f.1 > oldest_kept).count() + 1 >= kept.len());
    assert_eq!(kept.last().map(|f| f.1), Some(newest));
    for d in [all_dir, aged, sized] {
        std::fs::remove_dir_all(d).ok();
    }
}
