//! Overlays: colours with known values, only changed handles reported, stale by time.

use geo_types::{Geometry, Point};
use twin_core::crs::LocalFrame;
use twin_core::state::{
    ChannelSpec, Layer, Overlay, Quality, Reading, Retention, Rgba, StateStore, Style, StyleError,
    Value,
};
use twin_core::{Asset, AssetKind, KindFilter, LoadMode, SensorType, Twin};

const NOW: i64 = 1_763_700_000_000;
const GREEN: Rgba = Rgba::rgb(0, 255, 0);
const RED: Rgba = Rgba::rgb(255, 0, 0);
const GREY: Rgba = Rgba::rgb(128, 128, 128);
const BLACK: Rgba = Rgba::rgb(0, 0, 0);

fn setup() -> (Twin, StateStore, Overlay) {
    let mut t = Twin::new(LocalFrame::chongming());
    let mut assets: Vec<Asset> = (0..6)
        .map(|i| {
            Asset::new(
                format!("WL{i}"),
                AssetKind::Sensor(SensorType::WaterLevel),
                Geometry::Point(Point::new(121.4 + i as f64 * 1e-3, 31.6)),
            )
        })
        .collect();
    assets.push(Asset::new(
        "B0",
        AssetKind::Building,
        Geometry::Point(Point::new(121.5, 31.6)),
    ));
    t.insert_assets(assets, LoadMode::Strict).unwrap();
    let mut s = StateStore::new(t.handle_capacity(), Retention::default(), None);
    let level = s.register(ChannelSpec::number("level", "m"));
    let gate = s.register(ChannelSpec::enumeration("gate", &["open", "closed"]));
    let layers = vec![
        Layer {
            name: "water level".into(),
            kinds: "sensor:water_level".parse::<KindFilter>().unwrap(),
            channel: level,
            style: Style::Ramp(vec![(0.0, GREEN), (10.0, RED)]),
            stale_after_ms: Some(60_000),
            stale: GREY,
            no_data: BLACK,
        },
        Layer {
            name: "doors".into(),
            kinds: "building".parse::<KindFilter>().unwrap(),
            channel: gate,
            style: Style::Categories {
                map: vec![(0.0, GREEN), (1.0, RED)],
                other: GREY,
            },
            stale_after_ms: None,
            stale: GREY,
            no_data: Rgba::NONE,
        },
    ];
    let o = Overlay::new(&t, layers).unwrap();
    (t, s, o)
}

fn level(id: &str, ts: i64, v: f64) -> Reading {
    Reading {
        id: id.into(),
        channel: "level".into(),
        ts: twin_core::Timestamp::from_millis(ts),
        value: Value::Num(v),
        quality: Quality::Good,
    }
}

#[test]
fn styles_give_known_colours() {
    let ramp = Style::Ramp(vec![(0.0, GREEN), (10.0, RED)]);
    assert_eq!(ramp.color(-5.0), GREEN);
    assert_eq!(ramp.color(5.0), Rgba::rgb(128, 128, 0)); // 127.5 rounds up
    assert_eq!(ramp.color(2.5), Rgba::rgb(64, 191, 0)); // 63.75, 191.25
    assert_eq!(ramp.color(99.0), RED);
    let th = Style::Thresholds {
        breaks: vec![1.0, 3.0],
        colors: vec![GREEN, GREY, RED],
    };
    assert_eq!(th.color(0.5), GREEN);
    assert_eq!(th.color(1.0), GREY);
    assert_eq!(th.color(2.999), GREY);
    assert_eq!(th.color(3.0), RED);
    assert_eq!(Rgba::parse("#ff8000"), Some(Rgba::rgb(255, 128, 0)));
    assert_eq!(Rgba::parse("#ff800080"), Some(Rgba([255, 128, 0, 128])));
    assert_eq!(Rgba::parse("ff8000"), None);
    assert_eq!(Style::Ramp(vec![]).validate(), Err(StyleError::BadRamp));
    assert_eq!(
        Style::Ramp(vec![(2.0, RED), (1.0, GREEN)]).validate(),
        Err(StyleError::BadRamp)
    );
    assert_eq!(
        Style::Thresholds {
            breaks: vec![1.0],
            colors: vec![RED]
        }
        .validate(),
        Err(StyleError::BadThresholds)
    );
}

#[test]
fn refresh_recolours_only_what_changed() {
    let (t, mut s, mut o) = setup();
    // First refresh: everything once (the initial colours).
    let first = o.refresh(&mut s, twin_core::Timestamp::from_millis(NOW));
    assert_eq!(first, vec![0..7]);
    let wl2 = t.handle("WL2").unwrap();
    assert_eq!(o.color(wl2), BLACK, "no data yet");

    s.apply_readings(
        &t,
        &[level("WL2", NOW, 10.0)],
        twin_core::Timestamp::from_millis(NOW),
    );
    assert_eq!(
        o.refresh(&mut s, twin_core::Timestamp::from_millis(NOW)),
        vec![wl2.0..wl2.0 + 1]
    );
    assert_eq!(o.color(wl2), RED);
    assert_eq!(o.colors()[wl2.index()], RED);

    s.apply_readings(
        &t,
        &[level("WL2", NOW + 1000, 0.0), level("WL3", NOW + 1000, 5.0)],
        twin_core::Timestamp::from_millis(NOW + 1000),
    );
    assert_eq!(
        o.refresh(&mut s, twin_core::Timestamp::from_millis(NOW + 1000)),
        vec![wl2.0..wl2.0 + 2]
    );
    assert_eq!(o.color(wl2), GREEN);
    // The same value again: no colour change, nothing reported.
    s.apply_readings(
        &t,
        &[level("WL2", NOW + 2000, 0.0)],
        twin_core::Timestamp::from_millis(NOW + 2000),
    );
    assert!(
        o.refresh(&mut s, twin_core::Timestamp::from_millis(NOW + 2000))
            .is_empty()
    );
    // Nothing happened: nothing to upload.
    assert!(
        o.refresh(&mut s, twin_core::Timestamp::from_millis(NOW + 3000))
            .is_empty()
    );
}

#[test]
fn silent_sensors_turn_stale_without_new_data_and_recover() {
    let (t, mut s, mut o) = setup();
    o.refresh(&mut s, twin_core::Timestamp::from_millis(NOW));
    let wl1 = t.handle("WL1").unwrap();
    s.apply_readings(
        &t,
        &[level("WL1", NOW, 5.0)],
        twin_core::Timestamp::from_millis(NOW),
    );
    o.refresh(&mut s, twin_core::Timestamp::from_millis(NOW));
    assert_eq!(o.color(wl1), Rgba::rgb(128, 128, 0));
    assert!(
        o.refresh(&mut s, twin_core::Timestamp::from_millis(NOW + 60_000))
            .is_empty(),
        "60 s is not yet stale"
    );
    // Staleness is checked in whole seconds: the first second after the limit.
    assert!(
        o.refresh(&mut s, twin_core::Timestamp::from_millis(NOW + 60_999))
            .is_empty()
    );
    assert_eq!(
        o.refresh(&mut s, twin_core::Timestamp::from_millis(NOW + 61_000)),
        vec![wl1.0..wl1.0 + 1]
    );
    assert_eq!(o.color(wl1), GREY);
    s.apply_readings(
        &t,
        &[level("WL1", NOW + 70_000, 0.0)],
        twin_core::Timestamp::from_millis(NOW + 70_000),
    );
    o.refresh(&mut s, twin_core::Timestamp::from_millis(NOW + 70_000));
    assert_eq!(o.color(wl1), GREEN);
    // It reported at +70 s, so the deadline queued for the first sample must not fire.
    assert!(
        o.refresh(&mut s, twin_core::Timestamp::from_millis(NOW + 100_000))
            .is_empty()
    );
    assert_eq!(
        o.refresh(&mut s, twin_core::Timestamp::from_millis(NOW + 131_000)),
        vec![wl1.0..wl1.0 + 1]
    );
}

#[test]
fn highlights_categories_and_choropleth() {
    let (t, mut s, mut o) = setup();
    o.refresh(&mut s, twin_core::Timestamp::from_millis(NOW));
    let b = t.handle("B0").unwrap();
    s.apply_readings(
        &t,
        &[Reading {
            id: "B0".into(),
            channel: "gate".into(),
            ts: twin_core::Timestamp::from_millis(NOW),
            value: Value::Text("closed".into()),
            quality: Quality::Good,
        }],
        twin_core::Timestamp::from_millis(NOW),
    );
    o.refresh(&mut s, twin_core::Timestamp::from_millis(NOW));
    assert_eq!(o.color(b), RED);
    let alert = Rgba::rgb(255, 0, 255);
    o.set_highlight(b, Some(alert));
    assert_eq!(
        o.refresh(&mut s, twin_core::Timestamp::from_millis(NOW)),
        vec![b.0..b.0 + 1]
    );
    assert_eq!(o.color(b), alert);
    o.set_highlight(b, None);
    o.refresh(&mut s, twin_core::Timestamp::from_millis(NOW));
    assert_eq!(o.color(b), RED);

    let wl0 = t.handle("WL0").unwrap();
    o.choropleth(
        &[(wl0, 10.0)],
        &Style::Ramp(vec![(0.0, GREEN), (10.0, RED)]),
    );
    assert_eq!(
        o.refresh(&mut s, twin_core::Timestamp::from_millis(NOW)),
        vec![wl0.0..wl0.0 + 1]
    );
    assert_eq!(o.color(wl0), RED);
}
