//! Geofences: a ferry crossing a harbour zone raises and clears enter/exit alerts; the
//! rules load from JSON with checks and survive a snapshot.

use geo_types::{Geometry, Point};
use twin_core::crs::LocalFrame;
use twin_core::state::ChannelSpec;
use twin_core::state::alert::{AlertEvent, FenceOn, load_geofences_json, load_rules_json};
use twin_core::{Asset, AssetKind, LoadMode, Session, SessionConfig, Timestamp, Twin};

const T0: i64 = 1_763_700_000_000;

/// Nanmen harbour as a small box (121.39–121.41 E, 31.60–31.62 N); the ferry must stay
/// inside the route corridor (121.35–121.45 E, 31.55–31.65 N).
const RULES: &str = r#"[
  {"id":"harbour","kinds":"custom:ferry","on":"enter","severity":"info",
   "geofence":{"type":"Polygon","coordinates":[[[121.39,31.60],[121.41,31.60],[121.41,31.62],[121.39,31.62],[121.39,31.60]]]}},
  {"id":"off-route","kinds":"custom:ferry","on":"exit","severity":"critical",
   "geofence":{"type":"Polygon","coordinates":[[[121.35,31.55],[121.45,31.55],[121.45,31.65],[121.35,31.65],[121.35,31.55]]]}},
  {"id":"level-high","kinds":"sensor","channel":"level","above":4,"severity":"warning"}
]"#;

fn live() -> Session {
    let mut t = Twin::new(LocalFrame::chongming());
    t.insert_assets(
        vec![
            Asset::new(
                "FERRY-1",
                AssetKind::Custom("ferry".into()),
                Geometry::Point(Point::new(121.43, 31.63)),
            ),
            Asset::new(
                "BUS-1",
                AssetKind::Custom("bus".into()),
                Geometry::Point(Point::new(121.40, 31.61)),
            ),
        ],
        LoadMode::Strict,
    )
    .unwrap();
    let mut live = Session::new(t, SessionConfig::default());
    live.register_channel(ChannelSpec::number("level", "m"));
    live.set_rules_json(RULES).unwrap();
    live
}

#[test]
fn a_ferry_enters_the_harbour_and_leaves_its_route() {
    let mut l = live();
    assert_eq!(l.alerts().rules().len(), 1, "the threshold rule");
    assert_eq!(l.alerts().geofences().count(), 2);
    let ferry = l.twin().handle("FERRY-1").unwrap();
    let bus = l.twin().handle("BUS-1").unwrap();
    let mut log = Vec::new();
    let path = [
        (121.43, 31.63), // in the corridor, outside the harbour
        (121.40, 31.61), // in the harbour
        (121.40, 31.615),
        (121.42, 31.63), // left the harbour
        (121.47, 31.63), // off the route
        (121.44, 31.63), // back on it
    ];
    for (i, (x, y)) in path.into_iter().enumerate() {
        l.advance(Timestamp::from_millis(T0 + i as i64 * 60_000));
        l.move_asset(ferry, Geometry::Point(Point::new(x, y)))
            .unwrap();
        for e in l.drain_events(100) {
            log.push(match e {
                AlertEvent::Raised(a) => (i, "raised", a.rule),
                AlertEvent::Cleared(a) => (i, "cleared", a.rule),
                AlertEvent::Acknowledged(a) => (i, "ack", a.rule),
            });
        }
    }
    let want = vec![
        (1, "raised", "harbour".to_string()),
        (3, "cleared", "harbour".to_string()),
        (4, "raised", "off-route".to_string()),
        (5, "cleared", "off-route".to_string()),
    ];
    assert_eq!(log, want);
    // A bus in the harbour is not a ferry.
    l.move_asset(bus, Geometry::Point(Point::new(121.401, 31.611)))
        .unwrap();
    assert!(l.drain_events(100).is_empty());
    // A bad move changes nothing and raises nothing.
    assert!(
        l.move_asset(ferry, Geometry::Point(Point::new(f64::NAN, 31.6)))
            .is_err()
    );
    assert!(l.drain_events(100).is_empty());
}

#[test]
fn geofence_files_are_checked_and_survive_a_snapshot() {
    let fences = load_geofences_json(RULES).unwrap();
    assert_eq!(fences[1].on, FenceOn::Exit);
    for (text, want) in [
        (
            r#"[{"id":"a","kinds":"custom:ferry","on":"enter","severity":"info","geofence":{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}}]"#,
            "invalid geometry",
        ),
        (
            r#"[{"id":"a","kinds":"custom:ferry","on":"near","severity":"info","geofence":{"type":"Point","coordinates":[0,0]}}]"#,
            "enter or exit",
        ),
        (
            r#"[{"id":"a","kinds":"custom:ferry","on":"enter","severity":"info","geofence":{"type":"Blob"}}]"#,
            "not a GeoJSON geometry",
        ),
    ] {
        let err = load_geofences_json(text).unwrap_err();
        assert!(err.to_string().contains(want), "{err} should say {want}");
    }
    let mut l = live();
    let ferry = l.twin().handle("FERRY-1").unwrap();
    l.advance(Timestamp::from_millis(T0));
    l.move_asset(ferry, Geometry::Point(Point::new(121.40, 31.61)))
        .unwrap();
    assert_eq!(l.alerts().open().count(), 1);
    let dir = std::env::temp_dir().join(format!("twin-fence-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("f.twinsnap");
    twin_core::snapshot::save(&l, &p).unwrap();
    let mut back = twin_core::snapshot::load(&p, SessionConfig::default()).unwrap();
    assert_eq!(back.alerts().geofences().count(), 2);
    assert_eq!(back.alerts().open().next().unwrap().rule, "harbour");
    let ferry = back.twin().handle("FERRY-1").unwrap();
    back.advance(Timestamp::from_millis(T0 + 60_000));
    back.move_asset(ferry, Geometry::Point(Point::new(121.43, 31.63)))
        .unwrap();
    assert!(
        matches!(back.drain_events(10).first(), Some(AlertEvent::Cleared(a)) if a.rule == "harbour")
    );
    let _ = load_rules_json(RULES, back.store()).unwrap();
    std::fs::remove_dir_all(&dir).ok();
}
