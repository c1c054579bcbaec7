//! The synthetic infrastructure generator on the bundled islands: determinism, exact
//! counts, labels, relations, and that everything lies on town land.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use geo::{BoundingRect, Contains, Distance, Euclidean, Intersects};
use geo_types::{Coord, Geometry, MultiPolygon, Point};
use twin_chongming::island;
use twin_chongming::synth::{self, SynthConfig};
use twin_core::{AssetKind, Handle, PropValue, SensorType, Twin, ZLevel};

/// The default twin (seed 2026, scale 1), generated once for the tests that read it.
fn default_twin() -> &'static Twin {
    static TWIN: OnceLock<Twin> = OnceLock::new();
    TWIN.get_or_init(|| match island::load(&SynthConfig::default()) {
        Ok(t) => t,
        Err(e) => panic!("generation failed: {e}"),
    })
}

fn is_synthetic(twin: &Twin, h: Handle) -> bool {
    twin.get(h)
        .is_some_and(|a| a.source.file.starts_with("synthetic:"))
}

fn synthetic(twin: &Twin) -> Vec<Handle> {
    twin.iter()
        .map(|(h, _)| h)
        .filter(|h| is_synthetic(twin, *h))
        .collect()
}

fn count(twin: &Twin, kind: &str) -> usize {
    twin.counts_by_kind().get(kind).copied().unwrap_or(0)
}

fn multi(g: &Geometry<f64>) -> MultiPolygon<f64> {
    match g {
        Geometry::Polygon(p) => MultiPolygon::new(vec![p.clone()]),
        Geometry::MultiPolygon(m) => m.clone(),
        other => panic!("not a polygon: {other:?}"),
    }
}

/// Local-frame polygons of the island assets, with their bounding boxes.
fn islands(twin: &Twin) -> Vec<(MultiPolygon<f64>, geo_types::Rect<f64>)> {
    twin.iter()
        .filter(|(_, a)| a.kind == AssetKind::Island)
        .filter_map(|(h, _)| twin.local_geometry(h).map(multi))
        .filter_map(|m| m.bounding_rect().map(|r| (m, r)))
        .collect()
}

fn in_rect(c: Coord<f64>, r: &geo_types::Rect<f64>) -> bool {
    c.x >= r.min().x && c.x <= r.max().x && c.y >= r.min().y && c.y <= r.max().y
}

#[test]
fn same_seed_same_assets_other_seed_differs() {
    let small = |seed| {
        let twin = island::load(&SynthConfig { seed, scale: 0.1 }).expect("generates");
        synthetic(&twin)
            .into_iter()
            .filter_map(|h| twin.get(h).map(|a| (a.id.clone(), a.geometry.clone())))
            .collect::<Vec<_>>()
    };
    let a = small(7);
    let b = small(7);
    let c = small(8);
    assert!(a.len() > 10_000, "{}", a.len());
    assert_eq!(a.len(), b.len());
    assert!(a == b, "two runs with seed 7 differ");
    let a_ids: Vec<&String> = a.iter().map(|x| &x.0).collect();
    let a_bld: Vec<&Geometry<f64>> = a
        .iter()
        .filter(|x| x.0.starts_with("CM-BLD-"))
        .map(|x| &x.1)
        .collect();
    let c_bld: Vec<&Geometry<f64>> = c
        .iter()
        .filter(|x| x.0.starts_with("CM-BLD-"))
        .map(|x| &x.1)
        .collect();
    assert!(!a_ids.is_empty());
    assert_ne!(a_bld, c_bld, "seeds 7 and 8 gave the same buildings");
}

#[test]
fn exact_sensor_counts_at_scale_one() {
    let twin = default_twin();
    let expected = [
        (SensorType::BuildingEnergy, 42_000),
        (SensorType::Noise, 8_000),
        (SensorType::Pm25, 6_000),
        (SensorType::SoilMoisture, 16_000),
        (SensorType::WaterLevel, 4_000),
        (SensorType::WaterQuality, 4_000),
        (SensorType::TrafficCounter, 6_000),
        (SensorType::ParkingOccupancy, 12_000),
        (SensorType::ChargerPower, 2_000),
        (SensorType::Camera, 600),
    ];
    let mut total = 0;
    for (t, n) in expected {
        let got = count(twin, &AssetKind::Sensor(t.clone()).to_string());
        assert_eq!(got, n, "{t}");
        total += got;
    }
    assert_eq!(total, 100_600);
    let sensors = twin
        .iter()
        .filter(|(_, a)| matches!(a.kind, AssetKind::Sensor(_)))
        .count();
    assert_eq!(sensors, 100_600);
    // pm25: one on each 5G station, the rest on buildings.
    let on_stations = twin
        .iter()
        .filter(|(_, a)| a.kind == AssetKind::Sensor(SensorType::Pm25))
        .filter(|(h, _)| {
            twin.attached_to(*h)
                .and_then(|t| twin.get(t))
                .is_some_and(|t| t.kind == AssetKind::Station5g)
        })
        .count();
    assert_eq!(on_stations, 1_823);
}

#[test]
fn facility_counts_at_scale_one() {
    let twin = default_twin();
    assert_eq!(count(twin, "garbage_station"), 21);
    assert_eq!(count(twin, "station_5g"), 1_823);
    assert_eq!(count(twin, "ev_charger"), 2_000);
    let buildings = count(twin, "building");
    assert!(
        (47_500..=52_500).contains(&buildings),
        "{buildings} buildings"
    );
    let lots = count(twin, "parking_lot");
    assert!((380..=400).contains(&lots), "{lots} parking lots");
    let fields = count(twin, "farm_field");
    assert!((1_000..=10_000).contains(&fields), "{fields} fields");
    assert!(count(twin, "ferry_terminal") >= 3);
    for id in ["CM-FRY-01", "CM-GBG-21", "CM-5G-1823", "CM-EVC-02000"] {
        assert!(twin.handle(id).is_some(), "{id} missing");
    }
    assert!(twin.handle("CM-GBG-22").is_none());
    // 5G stations are 30 m high; buildings have floors × 3 m.
    for (_, a) in twin.iter() {
        match a.kind {
            AssetKind::Station5g => assert_eq!(a.vertical.height, 30.0),
            AssetKind::Building => {
                let floors = a.properties.get("floors").and_then(PropValue::as_f64);
                assert_eq!(floors.map(|f| f * 3.0), Some(a.vertical.height), "{}", a.id);
            }
            AssetKind::EvCharger => {
                let lot = a.properties.get("parking_lot").and_then(PropValue::as_str);
                let lot = lot.and_then(|id| twin.get_by_id(id)).map(|l| &l.kind);
                assert_eq!(lot, Some(&AssetKind::ParkingLot), "{}", a.id);
            }
            _ => {}
        }
    }
}

#[test]
fn every_generated_asset_is_labelled_located_and_attached() {
    let twin = default_twin();
    let generator = PropValue::Str("twin synth v1 seed=2026".into());
    let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
    for h in synthetic(twin) {
        let a = twin.get(h).expect("live");
        *by_kind.entry(a.kind.to_string()).or_insert(0) += 1;
        assert_eq!(
            a.properties.get("synthetic"),
            Some(&PropValue::Bool(true)),
            "{}",
            a.id
        );
        assert_eq!(a.properties.get("generator"), Some(&generator), "{}", a.id);
        if a.kind != AssetKind::Bridge {
            let town = twin.located_in(h).and_then(|t| twin.get(t));
            assert_eq!(
                town.map(|t| &t.kind),
                Some(&AssetKind::Town),
                "{} is in no town",
                a.id
            );
        }
        if let AssetKind::Sensor(t) = &a.kind {
            let host = twin.attached_to(h).and_then(|t| twin.get(t));
            let host = host.unwrap_or_else(|| panic!("{} is attached to nothing", a.id));
            let ok = match t {
                SensorType::BuildingEnergy | SensorType::Noise => host.kind == AssetKind::Building,
                SensorType::Pm25 => {
                    matches!(host.kind, AssetKind::Building | AssetKind::Station5g)
                }
                SensorType::SoilMoisture => host.kind == AssetKind::FarmField,
                SensorType::WaterLevel | SensorType::WaterQuality => host.kind == AssetKind::River,
                SensorType::TrafficCounter => host.kind == AssetKind::Road,
                SensorType::ParkingOccupancy => host.kind == AssetKind::ParkingLot,
                SensorType::ChargerPower => host.kind == AssetKind::EvCharger,
                SensorType::Camera => host.kind == AssetKind::Road,
                // Room sensors come with building models, not with the island.
                SensorType::RoomTemperature
                | SensorType::Co2
                | SensorType::Occupancy
                | SensorType::Other(_) => false,
            };
            assert!(ok, "{} ({t}) on a {}", a.id, host.kind);
            assert!(matches!(a.geometry, Geometry::Point(_)), "{}", a.id);
        }
    }
    // Nothing generated is left unlabelled: every asset is real or synthetic.
    let real = island::load_real().expect("real");
    assert_eq!(twin.len(), real.len() + by_kind.values().sum::<usize>());
    assert!(by_kind.len() >= 18, "{by_kind:?}");
}

#[test]
fn points_lie_on_island_land() {
    let twin = default_twin();
    let isl = islands(twin);
    for h in synthetic(twin) {
        let Some(Geometry::Point(p)) = twin.local_geometry(h) else {
            continue;
        };
        let on = isl.iter().any(|(m, r)| in_rect(p.0, r) && m.intersects(p));
        assert!(
            on,
            "{} is not on an island",
            twin.get(h).map_or("?", |a| &a.id)
        );
    }
}

#[test]
fn water_sensors_lie_on_their_canal() {
    let twin = default_twin();
    let mut n = 0;
    for (h, a) in twin.iter() {
        if !matches!(
            a.kind,
            AssetKind::Sensor(SensorType::WaterLevel | SensorType::WaterQuality)
        ) {
            continue;
        }
        assert_eq!(a.vertical.z_level, ZLevel::Water);
        let canal = twin.attached_to(h).expect("attached");
        let (Some(Geometry::Point(p)), Some(Geometry::LineString(l))) =
            (twin.local_geometry(h), twin.local_geometry(canal))
        else {
            panic!("{}: not a point on a line", a.id);
        };
        let d = Euclidean.distance(p, l);
        assert!(d < 1.0, "{} is {d} m from its canal", a.id);
        n += 1;
    }
    assert_eq!(n, 8_000);
}

#[test]
fn buildings_lie_inside_their_towns_land() {
    let twin = default_twin();
    let isl = islands(twin);
    let mut towns: BTreeMap<Handle, MultiPolygon<f64>> = BTreeMap::new();
    let mut n = 0;
    for (h, a) in twin.iter().filter(|(_, a)| a.kind == AssetKind::Building) {
        let town = twin.located_in(h).expect("in a town");
        let town_poly = towns
            .entry(town)
            .or_insert_with(|| multi(twin.local_geometry(town).expect("town")));
        let Some(Geometry::Polygon(b)) = twin.local_geometry(h) else {
            panic!("{} is not a polygon", a.id);
        };
        let corners: Vec<Point<f64>> = b.exterior().points().collect();
        assert!(
            corners.iter().all(|c| town_poly.contains(c)),
            "{} sticks out of its town",
            a.id
        );
        let island = isl
            .iter()
            .find(|(m, r)| in_rect(corners[0].0, r) && m.contains(&corners[0]));
        let island = island.unwrap_or_else(|| panic!("{} is not on an island", a.id));
        assert!(corners.iter().all(|c| island.0.contains(c)), "{}", a.id);
        // The exact polygon test is slow in a debug build: check every 20th building.
        if n % 20 == 0 {
            assert!(town_poly.contains(b), "{} not inside its town", a.id);
            assert!(island.0.contains(b), "{} not inside its island", a.id);
        }
        n += 1;
    }
    assert!(n > 40_000);
}

#[test]
fn g40_has_land_parts_a_tunnel_and_a_bridge() {
    let twin = default_twin();
    let g40: Vec<_> = twin
        .iter()
        .filter(|(_, a)| a.properties.get("route").and_then(PropValue::as_str) == Some("G40"))
        .map(|(_, a)| a)
        .collect();
    for a in &g40 {
        assert_eq!(
            a.properties.get("alignment").and_then(PropValue::as_str),
            Some("approximate, not surveyed")
        );
    }
    let expressway = g40
        .iter()
        .filter(|a| a.kind == AssetKind::Road)
        .filter(|a| a.properties.get("class").and_then(PropValue::as_str) == Some("expressway"))
        .count();
    assert!(expressway >= 2, "{expressway} expressway parts");
    let structure = |s: &str| {
        g40.iter()
            .filter(|a| a.kind == AssetKind::Bridge)
            .filter(|a| a.properties.get("structure").and_then(PropValue::as_str) == Some(s))
            .copied()
            .collect::<Vec<_>>()
    };
    let tunnels = structure("tunnel");
    assert_eq!(tunnels.len(), 1);
    assert_eq!(tunnels[0].vertical.z_level, ZLevel::Underground);
    assert_eq!(tunnels[0].vertical.base, -40.0);
    let bridges = structure("bridge");
    assert!(!bridges.is_empty());
    assert!(bridges.iter().all(|b| b.vertical.base == 10.0));
    assert!(
        bridges
            .iter()
            .any(|b| b.name_zh.as_deref() == Some("上海长江大桥"))
    );
}

#[test]
fn networks_have_classes_and_widths() {
    let twin = default_twin();
    let mut classes: BTreeMap<String, usize> = BTreeMap::new();
    for (_, a) in twin.iter() {
        match a.kind {
            AssetKind::Road => {
                let c = a.properties.get("class").and_then(PropValue::as_str);
                *classes.entry(c.unwrap_or("?").to_string()).or_insert(0) += 1;
            }
            AssetKind::River if a.id.starts_with("CM-CNL-") => {
                let w = a.properties.get("width").and_then(PropValue::as_f64);
                assert!(w.is_some_and(|w| (8.0..=30.0).contains(&w)), "{}", a.id);
                assert_eq!(a.vertical.z_level, ZLevel::Water);
            }
            _ => {}
        }
    }
    for c in ["trunk", "county", "street", "expressway"] {
        assert!(
            classes.get(c).copied().unwrap_or(0) > 0,
            "no {c} road: {classes:?}"
        );
    }
    assert!(twin.get_by_id("CM-CNL-0001").is_some());
    let named = twin
        .iter()
        .filter(|(_, a)| a.name_en.as_deref() == Some("Chengqiao Street E3"))
        .count();
    assert!(named >= 1);
}

#[test]
fn scale_multiplies_counts_but_not_the_network() {
    let small = island::load(&SynthConfig {
        seed: 2026,
        scale: 0.1,
    })
    .expect("generates");
    let sensors: usize = small
        .iter()
        .filter(|(_, a)| matches!(a.kind, AssetKind::Sensor(_)))
        .count();
    assert_eq!(sensors, 10_060);
    assert_eq!(count(&small, "sensor:camera"), 60);
    assert_eq!(count(&small, "station_5g"), 182);
    assert_eq!(count(&small, "ev_charger"), 200);
    assert_eq!(count(&small, "garbage_station"), 21);
    let b = count(&small, "building");
    assert!((4_750..=5_250).contains(&b), "{b}");
    let big = default_twin();
    for kind in ["road", "river", "bridge", "farm_field", "ferry_terminal"] {
        assert_eq!(count(&small, kind), count(big, kind), "{kind}");
    }
}

#[test]
fn bad_scale_is_refused_and_changes_nothing() {
    let mut twin = island::load_real().expect("real");
    let before = twin.len();
    for scale in [f64::NAN, -1.0, 1.0e6] {
        assert!(synth::generate(&mut twin, &SynthConfig { seed: 1, scale }).is_err());
        assert_eq!(twin.len(), before);
    }
    let report = synth::generate(
        &mut twin,
        &SynthConfig {
            seed: 1,
            scale: 0.0,
        },
    )
    .expect("ok");
    assert_eq!(report.total(), twin.len() - before);
    assert_eq!(report.counts.get("building"), None);
    // A second run would reuse the ids: refused whole.
    let len = twin.len();
    assert!(
        synth::generate(
            &mut twin,
            &SynthConfig {
                seed: 1,
                scale: 0.0
            }
        )
        .is_err()
    );
    assert_eq!(twin.len(), len);
}

/// `cargo test --release -p twin-core --test synth -- --ignored --nocapture`
#[test]
#[ignore = "large: generates over a million assets"]
fn scale_ten_gives_over_a_million_assets() {
    let t = std::time::Instant::now();
    let twin = island::load(&SynthConfig {
        seed: 2026,
        scale: 10.0,
    })
    .expect("generates");
    println!("scale 10: {} assets in {:?}", twin.len(), t.elapsed());
    println!("{:#?}", twin.counts_by_kind());
    assert!(twin.len() > 1_000_000);
    assert_eq!(
        twin.iter()
            .filter(|(_, a)| matches!(a.kind, AssetKind::Sensor(_)))
            .count(),
        1_000_000
    );
}

#[test]
fn cameras_look_along_their_road_and_resources_sit_where_they_serve() {
    use geo::{Closest, ClosestPoint};
    let twin = default_twin();
    let mut cameras = 0;
    for (h, a) in twin.iter() {
        if a.kind != AssetKind::Sensor(SensorType::Camera) {
            continue;
        }
        cameras += 1;
        let heading = a
            .properties
            .get("heading_deg")
            .and_then(PropValue::as_f64)
            .unwrap();
        assert!((0.0..360.0).contains(&heading), "{}: {heading}", a.id);
        // The bearing of the road segment nearest the camera (local frame: x east, y
        // north), compared modulo 180°: a camera looks one way or the other along it.
        let road = twin.attached_to(h).unwrap();
        let Some(Geometry::Point(p)) = twin.local_geometry(h) else {
            panic!("{}", a.id)
        };
        let Some(Geometry::LineString(l)) = twin.local_geometry(road) else {
            continue;
        };
        let (seg, _) = l
            .lines()
            .map(|s| {
                let d = match s.closest_point(p) {
                    Closest::Intersection(q) | Closest::SinglePoint(q) => Euclidean.distance(q, *p),
                    Closest::Indeterminate => f64::INFINITY,
                };
                (s, d)
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap();
        let bearing = seg.dx().atan2(seg.dy()).to_degrees();
        let diff = (heading - bearing).to_radians().sin().abs();
        assert!(
            diff < 0.05,
            "{}: heading {heading}, road bearing {bearing}",
            a.id
        );
        assert!(
            a.properties
                .get("ai_events")
                .and_then(PropValue::as_str)
                .unwrap()
                .contains("standing_water")
        );
    }
    assert_eq!(cameras, 600);
    // A pumping station near an end of its canal; a response team per town plus the
    // district's.
    let canals = count(twin, "river");
    let stations = count(twin, &format!("custom:{}", synth::PUMPING_STATION));
    assert!(
        stations >= canals && stations <= 2 * canals,
        "{stations} for {canals} canals"
    );
    for (h, a) in twin.iter() {
        if a.kind != AssetKind::Custom(synth::PUMPING_STATION.into()) {
            continue;
        }
        let canal = a
            .properties
            .get("canal")
            .and_then(PropValue::as_str)
            .unwrap();
        let (Some(Geometry::Point(p)), Some(Geometry::LineString(l))) = (
            twin.local_geometry(h),
            twin.handle(canal).and_then(|c| twin.local_geometry(c)),
        ) else {
            panic!("{}", a.id)
        };
        let ends = [l.0[0], l.0[l.0.len() - 1]];
        let near_end = ends
            .iter()
            .any(|e| Euclidean.distance(Point(*e), *p) < 120.0);
        assert!(near_end, "{} is not near an end of {canal}", a.id);
    }
    assert_eq!(
        count(twin, &format!("custom:{}", synth::RESPONSE_TEAM)),
        count(twin, "town") + 1
    );
    let district: Vec<&str> = twin
        .iter()
        .filter(|(_, a)| a.name_en.as_deref() == Some("District emergency response team"))
        .filter_map(|(_, a)| a.properties.get("town").and_then(PropValue::as_str))
        .collect();
    assert_eq!(district, ["CM-TOWN-CHENGQIAO"]);
}
