//! Overlay files: JSON layers read with known colours, written back, refused with the
//! layer and the reason; a new overlay over a twin that holds state repaints it.

use geo_types::{Geometry, Point};
use twin_chongming::sim::{standard_channels, standard_layers};
use twin_core::crs::LocalFrame;
use twin_core::state::{
    ChannelSpec, Overlay, OverlayError, Quality, Reading, Retention, Rgba, StateStore, Style,
    Value, layers_json, load_layers_json,
};
use twin_core::{Asset, AssetKind, KindFilter, LoadMode, SensorType, Twin};

const NOW: i64 = 1_763_700_000_000;

fn twin_and_store() -> (Twin, StateStore) {
    let mut t = Twin::new(LocalFrame::chongming());
    let assets = vec![
        Asset::new(
            "WL0",
            AssetKind::Sensor(SensorType::WaterLevel),
            Geometry::Point(Point::new(121.4, 31.6)),
        ),
        Asset::new(
            "WL1",
            AssetKind::Sensor(SensorType::WaterLevel),
            Geometry::Point(Point::new(121.41, 31.6)),
        ),
        Asset::new(
            "G0",
            AssetKind::from_data_name("sluice"),
            Geometry::Point(Point::new(121.42, 31.6)),
        ),
    ];
    t.insert_assets(assets, LoadMode::Strict).unwrap();
    let mut s = StateStore::new(t.handle_capacity(), Retention::default(), None);
    s.register(ChannelSpec::number("level", "m"));
    s.register(ChannelSpec::enumeration(
        "gate",
        &["open", "closed", "fault"],
    ));
    s.register(ChannelSpec::boolean("alarm"));
    (t, s)
}

const FILE: &str = r##"[
  {"name": "water level", "kinds": "sensor:water_level", "channel": "level",
   "ramp": [[0, "#00ff00"], [10, "#ff0000"]], "stale_after_s": 60,
   "stale": "#808080", "no_data": "#000000"},
  {"name": "gates", "kinds": "custom:sluice", "channel": "gate",
   "categories": [["open", "#00ff00"], ["closed", "#0000ff"], ["fault", "#ff000080"]],
   "other": "#ffffff"}
]"##;

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
fn a_file_gives_layers_with_known_colours() {
    let (t, mut s) = twin_and_store();
    let layers = load_layers_json(FILE, &s).unwrap();
    assert_eq!(layers.len(), 2);
    assert_eq!(layers[0].name, "water level");
    assert_eq!(
        layers[0].kinds,
        "sensor:water_level".parse::<KindFilter>().unwrap()
    );
    assert_eq!(layers[0].stale_after_ms, Some(60_000));
    assert_eq!(layers[0].no_data, Rgba::rgb(0, 0, 0));
    // States by their index in the channel: open 0, closed 1, fault 2.
    assert_eq!(
        layers[1].style,
        Style::Categories {
            map: vec![
                (0.0, Rgba::rgb(0, 255, 0)),
                (1.0, Rgba::rgb(0, 0, 255)),
                (2.0, Rgba([255, 0, 0, 128])),
            ],
            other: Rgba::rgb(255, 255, 255),
        }
    );
    assert_eq!(layers[1].stale_after_ms, None);

    let mut o = Overlay::new(&t, layers).unwrap();
    s.apply_readings(
        &t,
        &[
            reading("WL0", "level", NOW, Value::Num(2.5)),
            reading("G0", "gate", NOW, Value::Text("fault".into())),
        ],
        twin_core::Timestamp::from_millis(NOW),
    );
    o.refresh(&mut s, twin_core::Timestamp::from_millis(NOW));
    // 2.5 of the way 0 → 10 from green to red: 255 × 0.25 = 63.75 → 64 red, 191 green.
    assert_eq!(o.color(t.handle("WL0").unwrap()), Rgba::rgb(64, 191, 0));
    assert_eq!(o.color(t.handle("WL1").unwrap()), Rgba::rgb(0, 0, 0));
    assert_eq!(o.color(t.handle("G0").unwrap()), Rgba([255, 0, 0, 128]));
    // Silent for 61 s: stale, at the first whole second after the limit.
    o.refresh(&mut s, twin_core::Timestamp::from_millis(NOW + 61_000));
    assert_eq!(o.color(t.handle("WL0").unwrap()), Rgba::rgb(128, 128, 128));
}

#[test]
fn layers_written_read_back_equal() {
    let (_, s) = twin_and_store();
    let layers = load_layers_json(FILE, &s).unwrap();
    let text = layers_json(&layers, &s);
    assert_eq!(load_layers_json(&text, &s).unwrap(), layers);
    // The written file names states, not indexes.
    assert!(text.contains(r##"["fault","#ff000080"]"##), "{text}");

    // The standard overlay of the built-in channels survives the round trip too.
    let mut store = StateStore::new(0, Retention::default(), None);
    let channels = standard_channels(&mut store);
    let standard = standard_layers(&channels);
    let text = layers_json(&standard, &store);
    assert_eq!(load_layers_json(&text, &store).unwrap(), standard);
}

#[test]
fn defaults_and_boolean_categories() {
    let (_, s) = twin_and_store();
    let layers = load_layers_json(
        r##"[{"name": "alarms", "kinds": "custom:sluice", "channel": "alarm",
              "categories": [[true, "#ff0000"], [false, "#00ff00"]]}]"##,
        &s,
    )
    .unwrap();
    assert_eq!(
        layers[0].style,
        Style::Categories {
            map: vec![(1.0, Rgba::rgb(255, 0, 0)), (0.0, Rgba::rgb(0, 255, 0))],
            other: Rgba::NONE,
        }
    );
    assert_eq!(layers[0].stale, Rgba::rgb(128, 128, 128));
    assert_eq!(layers[0].no_data, Rgba::NONE);
}

/// The message of a refused file.
fn refused(text: &str) -> String {
    let (_, s) = twin_and_store();
    load_layers_json(text, &s).unwrap_err().to_string()
}

#[test]
fn bad_files_are_refused_with_the_layer_and_the_reason() {
    assert!(refused("{").starts_with("overlay file: "));
    assert!(refused(r#"{"name": "x"}"#).starts_with("overlay file: "));
    let one = |body: &str| refused(&format!("[{body}]"));
    let base = r#""name": "w", "kinds": "sensor:water_level", "channel": "level""#;
    assert_eq!(
        one(
            r##"{"name": "w", "kinds": "sensor:water_level", "channel": "depth", "ramp": [[0, "#000000"]]}"##
        ),
        "overlay layer 0 (`w`): unknown channel `depth`"
    );
    assert_eq!(
        one(&format!("{{{base}}}")),
        "overlay layer 0 (`w`): give exactly one style: `ramp`, `thresholds` or `categories`"
    );
    assert_eq!(
        one(&format!(
            r##"{{{base}, "ramp": [[0, "#000000"]], "thresholds": {{"breaks": [], "colors": ["#000000"]}}}}"##
        )),
        "overlay layer 0 (`w`): give exactly one style: `ramp`, `thresholds` or `categories`"
    );
    assert_eq!(
        one(&format!(r##"{{{base}, "ramp": [[0, "red"]]}}"##)),
        "overlay layer 0 (`w`): ramp: `red` is not a colour (#rrggbb or #rrggbbaa)"
    );
    assert_eq!(
        one(&format!(
            r##"{{{base}, "ramp": [[5, "#000000"], [1, "#ffffff"]]}}"##
        )),
        "overlay layer 0 (`w`): a ramp needs one or more finite stops in increasing order"
    );
    assert_eq!(
        one(&format!(r##"{{{base}, "ramp": []}}"##)),
        "overlay layer 0 (`w`): a ramp needs one or more finite stops in increasing order"
    );
    assert_eq!(
        one(&format!(
            r##"{{{base}, "thresholds": {{"breaks": [1, 2], "colors": ["#000000", "#ffffff"]}}}}"##
        )),
        "overlay layer 0 (`w`): thresholds need sorted finite breaks and one more colour than breaks"
    );
    assert_eq!(
        one(
            r##"{"name": "g", "kinds": "custom:sluice", "channel": "gate", "categories": [["ajar", "#000000"]]}"##
        ),
        "overlay layer 0 (`g`): category \"ajar\" is not a value of channel `gate`"
    );
    assert_eq!(
        one(&format!(
            r##"{{{base}, "ramp": [[0, "#000000"]], "other": "#000000"}}"##
        )),
        "overlay layer 0 (`w`): `other` belongs to `categories`"
    );
    assert_eq!(
        one(&format!(
            r##"{{{base}, "ramp": [[0, "#000000"]], "stale_after_s": -5}}"##
        )),
        "overlay layer 0 (`w`): `stale_after_s` must be a number of seconds > 0, got -5"
    );
    assert_eq!(
        one(
            r##"{"name": " ", "kinds": "custom:x", "channel": "level", "ramp": [[0, "#000000"]]}"##
        ),
        "overlay layer 0 (` `): `name` must not be empty"
    );
    // A misspelt key is named, with the layer it is in (the second here).
    let msg = refused(&format!(
        r##"[{{{base}, "ramp": [[0, "#000000"]]}}, {{"name": "x", "kinds": "custom:sluice", "channel": "gate", "colour": "#000000"}}]"##
    ));
    assert!(
        msg.starts_with("overlay layer 1 (`x`): unknown field `colour`"),
        "{msg}"
    );
    // A layer without a name is still placed.
    let msg = refused(r#"[{"kinds": "custom:sluice"}]"#);
    assert!(
        msg.starts_with("overlay layer 0 (``): missing field `name`"),
        "{msg}"
    );
    assert!(matches!(
        {
            let (_, s) = twin_and_store();
            load_layers_json("[1]", &s)
        },
        Err(OverlayError::Layer { index: 0, .. })
    ));
}

#[test]
fn a_new_overlay_repaints_assets_that_already_hold_state() {
    let (t, mut s) = twin_and_store();
    s.apply_readings(
        &t,
        &[reading("WL1", "level", NOW, Value::Num(10.0))],
        twin_core::Timestamp::from_millis(NOW),
    );
    let mut o = Overlay::new(&t, load_layers_json(FILE, &s).unwrap()).unwrap();
    // The store's change list was taken by nobody yet, but a second overlay (or one
    // made after another took the changes) would not see it: take it away first.
    s.take_changed();
    o.refresh(&mut s, twin_core::Timestamp::from_millis(NOW));
    let wl1 = t.handle("WL1").unwrap();
    assert_eq!(o.color(wl1), Rgba::rgb(0, 0, 0), "no_data until repainted");
    o.repaint_all();
    let changed = o.refresh(&mut s, twin_core::Timestamp::from_millis(NOW));
    assert_eq!(o.color(wl1), Rgba::rgb(255, 0, 0));
    assert_eq!(changed, vec![wl1.0..wl1.0 + 1]);
}

#[test]
fn rgba_displays_as_it_parses() {
    for text in ["#286edc", "#ff000080", "#00000000"] {
        assert_eq!(Rgba::parse(text).unwrap().to_string(), text);
    }
    assert_eq!(Rgba([1, 2, 3, 255]).to_string(), "#010203");
}

#[test]
fn the_standard_overlay_file_is_the_standard_layers() {
    let text = twin_chongming::STANDARD_OVERLAY_JSON;
    let mut store = StateStore::new(0, Retention::default(), None);
    let channels = standard_channels(&mut store);
    assert_eq!(
        load_layers_json(text, &store).unwrap(),
        standard_layers(&channels)
    );
}
