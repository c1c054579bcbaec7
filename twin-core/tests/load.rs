//! Loading GeoJSON and FlatGeobuf: good data, every kind of bad data, strict and lenient.

use twin_core::crs::{Crs, LocalFrame};
use twin_core::load::{read_flatgeobuf, write_flatgeobuf};
use twin_core::{
    AssetKind, LoadError, LoadMode, Mapping, Problem, PropValue, SensorType, Twin, ZLevel,
};

fn twin() -> Twin {
    Twin::new(LocalFrame::chongming())
}

fn fc(features: &[&str]) -> String {
    format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        features.join(",")
    )
}

fn point(id: &str, kind: &str, lon: f64, lat: f64) -> String {
    format!(
        r#"{{"type":"Feature","properties":{{"id":"{id}","kind":"{kind}"}},"geometry":{{"type":"Point","coordinates":[{lon},{lat}]}}}}"#
    )
}

fn polygon(id: &str, ring: &str) -> String {
    format!(
        r#"{{"type":"Feature","properties":{{"id":"{id}","kind":"building","height":12}},"geometry":{{"type":"Polygon","coordinates":[{ring}]}}}}"#
    )
}

const SQUARE: &str = "[[121.40,31.60],[121.41,31.60],[121.41,31.61],[121.40,31.61],[121.40,31.60]]";

fn rejected(err: LoadError) -> Vec<twin_core::FeatureError> {
    match err {
        LoadError::Rejected(v) => v,
        other => panic!("expected rejected features, got {other}"),
    }
}

#[test]
fn loads_properties_names_heights_and_kinds() {
    let text = fc(&[
        r#"{"type":"Feature","properties":{"id":"B1","kind":"building","name_zh":"城桥大楼","name_en":"Chengqiao Tower","height":"45.5","base":2,"floors":15,"public":true,"tags":["a","b"],"nothing":null},"geometry":{"type":"Polygon","coordinates":[[[121.40,31.60],[121.401,31.60],[121.401,31.601],[121.40,31.601],[121.40,31.60]]]}}"#,
        r#"{"type":"Feature","properties":{"id":"S1","kind":"sensor","sensor_type":"pm2.5","attached_to":"B1","z_level":"air"},"geometry":{"type":"Point","coordinates":[121.4005,31.6005]}}"#,
        r#"{"type":"Feature","id":77,"properties":{"kind":"pipe"},"geometry":{"type":"LineString","coordinates":[[121.40,31.60],[121.41,31.60]]}}"#,
    ]);
    let mut t = twin();
    let report = t
        .load_geojson_str(&text, "city.geojson", &Mapping::default(), LoadMode::Strict)
        .unwrap();
    assert_eq!(report.inserted.len(), 3);
    let b = t.get_by_id("B1").unwrap();
    assert_eq!(b.kind, AssetKind::Building);
    assert_eq!(b.name_zh.as_deref(), Some("城桥大楼"));
    assert_eq!(b.name_en.as_deref(), Some("Chengqiao Tower"));
    assert_eq!(b.vertical.height, 45.5);
    assert_eq!(b.vertical.base, 2.0);
    assert_eq!(b.vertical.top(), 47.5);
    assert_eq!(b.properties.get("floors"), Some(&PropValue::Num(15.0)));
    assert_eq!(b.properties.get("public"), Some(&PropValue::Bool(true)));
    assert_eq!(
        b.properties.get("tags"),
        Some(&PropValue::Str(r#"["a","b"]"#.into()))
    );
    assert!(!b.properties.contains_key("nothing"));
    assert!(
        !b.properties.contains_key("id"),
        "mapped properties are consumed"
    );
    assert_eq!(b.source.to_string(), "city.geojson feature 0");

    let s = t.handle("S1").unwrap();
    assert_eq!(t.get(s).unwrap().kind, AssetKind::Sensor(SensorType::Pm25));
    assert_eq!(t.get(s).unwrap().vertical.z_level, ZLevel::Air);
    assert_eq!(t.attached_to(s), t.handle("B1"));

    let pipe = t.get_by_id("77").unwrap();
    assert_eq!(pipe.kind, AssetKind::Pipe);
    assert_eq!(pipe.vertical.z_level, ZLevel::Underground);
}

#[test]
fn each_bad_feature_is_named_with_file_index_id_and_problem() {
    type Case = (String, fn(&Problem) -> bool);
    let cases: Vec<Case> = vec![
        (
            r#"{"type":"Feature","properties":{"kind":"road"},"geometry":{"type":"Point","coordinates":[121.4,31.6]}}"#.into(),
            |p| matches!(p, Problem::MissingId { .. }),
        ),
        (
            r#"{"type":"Feature","properties":{"id":"X","kind":"road"},"geometry":null}"#.into(),
            |p| matches!(p, Problem::MissingGeometry),
        ),
        (
            polygon("X", "[[121.40,31.60],[121.41,31.60],[121.41,31.61],[121.40,31.61]]"),
            |p| matches!(p, Problem::UnclosedRing { polygon: 0, ring: 0 }),
        ),
        (
            polygon("X", "[[121.40,31.60],[121.41,31.60],[121.40,31.60]]"),
            |p| matches!(p, Problem::TooFewPositions { got: 3, need: 4, .. }),
        ),
        (
            point("X", "road", 200.0, 31.6),
            |p| matches!(p, Problem::OutOfRange { .. }),
        ),
        (
            r#"{"type":"Feature","properties":{"id":"X","kind":"building","height":"tall"},"geometry":{"type":"Point","coordinates":[121.4,31.6]}}"#.into(),
            |p| matches!(p, Problem::BadProperty { name, .. } if name == "height"),
        ),
        (
            r#"{"type":"Feature","properties":{"id":"X","kind":"building","height":-3},"geometry":{"type":"Point","coordinates":[121.4,31.6]}}"#.into(),
            |p| matches!(p, Problem::BadProperty { name, .. } if name == "height"),
        ),
        (
            r#"{"type":"Feature","properties":{"id":"X","kind":"sensor","attached_to":"NOPE"},"geometry":{"type":"Point","coordinates":[121.4,31.6]}}"#.into(),
            |p| matches!(p, Problem::UnknownRelationTarget { relation: "attached_to", target } if target == "NOPE"),
        ),
        (
            r#"{"type":"Feature","properties":{"id":"X","kind":"road"},"geometry":{"type":"Point","coordinates":[121.4]}}"#.into(),
            |p| matches!(p, Problem::Decode(_)),
        ),
        (
            r#"{"type":"Feature","properties":{"id":"X"},"geometry":{"type":"Point","coordinates":[121.4,31.6]}}"#.into(),
            |p| matches!(p, Problem::BadProperty { name, .. } if name == "kind"),
        ),
    ];
    for (i, (bad, check)) in cases.iter().enumerate() {
        let good = point("GOOD", "road", 121.5, 31.6);
        let text = fc(&[&good, bad]);
        let mut t = twin();
        let errs = rejected(
            t.load_geojson_str(&text, "bad.geojson", &Mapping::default(), LoadMode::Strict)
                .unwrap_err(),
        );
        assert_eq!(errs.len(), 1, "case {i}: {errs:?}");
        let e = &errs[0];
        assert_eq!(&*e.file, "bad.geojson", "case {i}");
        assert_eq!(e.index, 1, "case {i}");
        assert!(
            check(&e.problem),
            "case {i}: unexpected problem {:?}",
            e.problem
        );
        assert!(e.to_string().starts_with("bad.geojson: feature 1"), "{e}");
        // Strict: nothing was loaded, not even the good feature.
        assert!(t.is_empty(), "case {i}");

        // Lenient: the good feature loads, the bad one is reported.
        let report = t
            .load_geojson_str(&text, "bad.geojson", &Mapping::default(), LoadMode::Lenient)
            .unwrap();
        assert_eq!(report.inserted.len(), 1, "case {i}");
        assert_eq!(report.rejected.len(), 1, "case {i}");
        assert!(t.get_by_id("GOOD").is_some());
    }
}

#[test]
fn invalid_polygons_load_as_they_are_with_a_warning() {
    // Real files break OGC validity in small ways: the asset loads, even in a strict
    // load, and the report names the feature and the problem.
    let bowtie = polygon(
        "BOWTIE",
        "[[121.40,31.60],[121.41,31.61],[121.41,31.60],[121.40,31.61],[121.40,31.60]]",
    );
    let hole_outside = polygon(
        "NESTING",
        &format!(
            "{SQUARE},[[121.50,31.70],[121.51,31.70],[121.51,31.71],[121.50,31.71],[121.50,31.70]]"
        ),
    );
    let good = point("GOOD", "road", 121.5, 31.6);
    let mut t = twin();
    let report = t
        .load_geojson_str(
            &fc(&[&good, &bowtie, &hole_outside]),
            "odd.geojson",
            &Mapping::default(),
            LoadMode::Strict,
        )
        .unwrap();
    assert_eq!(report.inserted.len(), 3);
    assert!(report.rejected.is_empty());
    assert_eq!(report.warnings.len(), 2, "{:?}", report.warnings);
    let w = &report.warnings[0];
    assert_eq!((w.index, w.id.as_deref()), (1, Some("BOWTIE")));
    assert!(
        matches!(&w.problem, Problem::InvalidGeometry(m) if m.contains("intersect")),
        "{w}"
    );
    let w = &report.warnings[1];
    assert_eq!((w.index, w.id.as_deref()), (2, Some("NESTING")));
    assert!(
        matches!(&w.problem, Problem::InvalidGeometry(m) if m.contains("interior") || m.contains("hole") || m.contains("exterior")),
        "{w}"
    );
    // Moving an asset onto an invalid polygon is still refused.
    let g = t.handle("GOOD").unwrap();
    let bad: geo_types::Geometry<f64> = geo_types::Polygon::new(
        geo_types::LineString::from(vec![
            (121.40, 31.60),
            (121.41, 31.61),
            (121.41, 31.60),
            (121.40, 31.61),
            (121.40, 31.60),
        ]),
        vec![],
    )
    .into();
    assert!(t.move_asset(g, bad).is_err());
}

#[test]
fn duplicate_ids_name_both_sources_and_keep_what_was_held() {
    let mut t = twin();
    t.load_geojson_str(
        &fc(&[&point("A", "road", 121.4, 31.6)]),
        "first.geojson",
        &Mapping::default(),
        LoadMode::Strict,
    )
    .unwrap();
    let errs = rejected(
        t.load_geojson_str(
            &fc(&[
                &point("B", "road", 121.5, 31.6),
                &point("A", "road", 121.45, 31.6),
            ]),
            "second.geojson",
            &Mapping::default(),
            LoadMode::Strict,
        )
        .unwrap_err(),
    );
    let msg = errs[0].to_string();
    assert!(msg.contains("second.geojson: feature 1 (id `A`)"), "{msg}");
    assert!(msg.contains("first.geojson feature 0"), "{msg}");
    assert_eq!(t.len(), 1);
    assert!(t.get_by_id("B").is_none());
    let (lon, lat) = match t.get_by_id("A").unwrap().geometry {
        geo_types::Geometry::Point(p) => (p.x(), p.y()),
        _ => unreachable!(),
    };
    assert_eq!((lon, lat), (121.4, 31.6));

    // Two features of one file with the same id.
    let errs = rejected(
        t.load_geojson_str(
            &fc(&[
                &point("C", "road", 121.5, 31.6),
                &point("C", "road", 121.5, 31.7),
            ]),
            "third.geojson",
            &Mapping::default(),
            LoadMode::Strict,
        )
        .unwrap_err(),
    );
    assert!(errs[0].to_string().contains("third.geojson feature 0"));
}

#[test]
fn empty_truncated_and_foreign_files_fail_whole_with_the_file_named() {
    let mut t = twin();
    for (text, expect) in [
        ("", "empty"),
        ("   \n", "empty"),
        (
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","#,
            "truncated",
        ),
        ("not json at all", "not valid GeoJSON"),
        // A bare geometry is one feature (RFC 7946 §2); TopoJSON is not GeoJSON.
        (
            r#"{"type":"Topology","objects":{}}"#,
            "expected a FeatureCollection, a Feature or a geometry, found `Topology`",
        ),
        (
            r#"{"type":"FeatureCollection"}"#,
            "without a `features` array",
        ),
        (
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"n","kind":"road"},"geometry":{"type":"Point","coordinates":[NaN,31]}}]}"#,
            "not valid GeoJSON",
        ),
    ] {
        let err = t
            .load_geojson_str(text, "x.geojson", &Mapping::default(), LoadMode::Lenient)
            .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, LoadError::Format { .. }), "{msg}");
        assert!(msg.starts_with("x.geojson: "), "{msg}");
        assert!(msg.contains(expect), "{msg} should say {expect}");
    }
    let err = t
        .load_geojson(
            std::path::Path::new("/nonexistent/twin.geojson"),
            &Mapping::default(),
            LoadMode::Strict,
        )
        .unwrap_err();
    assert!(matches!(err, LoadError::Io { .. }));
    assert!(err.to_string().contains("/nonexistent/twin.geojson"));
}

#[test]
fn non_finite_coordinates_are_refused_through_the_api() {
    let mut t = twin();
    let a = twin_core::Asset::new(
        "NAN",
        AssetKind::Sensor(SensorType::Noise),
        geo_types::Geometry::Point(geo_types::Point::new(f64::NAN, 31.6)),
    );
    let errs = rejected(t.insert(a).unwrap_err());
    assert!(matches!(
        errs[0].problem,
        Problem::NonFiniteCoordinate { index: 0, .. }
    ));
    let inf = twin_core::Asset::new(
        "INF",
        AssetKind::Road,
        geo_types::Geometry::LineString(geo_types::LineString::from(vec![
            (121.4, 31.6),
            (f64::INFINITY, 31.6),
        ])),
    );
    let errs = rejected(t.insert(inf).unwrap_err());
    assert!(matches!(
        errs[0].problem,
        Problem::NonFiniteCoordinate { index: 1, .. }
    ));
    assert!(t.is_empty());
}

#[test]
fn reads_other_crs_through_the_mapping() {
    // 121.5 E, 31.5 N in Web Mercator (x = R·λ, y = R·ln tan(π/4 + φ/2), R = 6378137).
    let x = 6378137.0 * 121.5f64.to_radians();
    let y = 6378137.0
        * (std::f64::consts::FRAC_PI_4 + 31.5f64.to_radians() / 2.0)
            .tan()
            .ln();
    let text = fc(&[&point("M", "road", x, y)]);
    let mut t = twin();
    let mapping = Mapping::default().with_crs(Crs::WebMercator);
    t.load_geojson_str(&text, "m.geojson", &mapping, LoadMode::Strict)
        .unwrap();
    let a = t.get_by_id("M").unwrap();
    assert_eq!(a.source_crs, Crs::WebMercator);
    let geo_types::Geometry::Point(p) = a.geometry else {
        unreachable!()
    };
    assert!(
        (p.x() - 121.5).abs() < 1e-9 && (p.y() - 31.5).abs() < 1e-9,
        "{p:?}"
    );

    // The same place as a Chinese web map gives it (GCJ-02) lands back on WGS84.
    let (gx, gy) = twin_core::crs::gcj02::wgs84_to_gcj02(121.5, 31.5);
    let text = fc(&[&point("G", "road", gx, gy)]);
    let mapping = Mapping::default().with_crs(Crs::Gcj02);
    t.load_geojson_str(&text, "g.geojson", &mapping, LoadMode::Strict)
        .unwrap();
    let geo_types::Geometry::Point(p) = t.get_by_id("G").unwrap().geometry else {
        unreachable!()
    };
    assert!(
        (p.x() - 121.5).abs() < 1e-8 && (p.y() - 31.5).abs() < 1e-8,
        "{p:?}"
    );
}

#[test]
fn flatgeobuf_round_trip_and_corrupt_files() {
    let text = fc(&[
        &polygon("B1", SQUARE),
        r#"{"type":"Feature","properties":{"id":"S1","kind":"sensor","sensor_type":"water_level","attached_to":"B1","name_en":"Gauge","depth":3.5,"ok":true},"geometry":{"type":"Point","coordinates":[121.405,31.605]}}"#,
        r#"{"type":"Feature","properties":{"id":"R1","kind":"road","class":"street"},"geometry":{"type":"LineString","coordinates":[[121.40,31.60],[121.42,31.62]]}}"#,
    ]);
    let mut t = twin();
    t.load_geojson_str(&text, "a.geojson", &Mapping::default(), LoadMode::Strict)
        .unwrap();
    let dir = std::env::temp_dir().join(format!("twin-fgb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("a.fgb");
    let assets: Vec<_> = t.iter().map(|(_, a)| a).collect();
    write_flatgeobuf(
        assets.iter().copied(),
        "a",
        std::fs::File::create(&path).unwrap(),
    )
    .unwrap();

    let mut back = twin();
    let report = back
        .load_flatgeobuf(&path, &Mapping::default(), LoadMode::Strict)
        .unwrap();
    assert_eq!(report.inserted.len(), 3);
    for (_, a) in t.iter() {
        let b = back.get_by_id(&a.id).unwrap();
        assert_eq!(a.kind, b.kind, "{}", a.id);
        assert_eq!(a.geometry, b.geometry, "{}", a.id);
        assert_eq!(a.properties, b.properties, "{}", a.id);
        assert_eq!(a.vertical, b.vertical, "{}", a.id);
        assert_eq!(a.name_en, b.name_en, "{}", a.id);
        assert_eq!(a.attached_to, b.attached_to, "{}", a.id);
    }

    // Truncated: every cut of the file fails cleanly, never panics.
    let bytes = std::fs::read(&path).unwrap();
    for cut in [0, 4, 8, 20, bytes.len() / 2, bytes.len() - 7] {
        let p = dir.join(format!("cut{cut}.fgb"));
        std::fs::write(&p, &bytes[..cut]).unwrap();
        match read_flatgeobuf(&p, &Mapping::default()) {
            Err(e) => assert!(e.to_string().contains(&format!("cut{cut}.fgb")), "{e}"),
            Ok(features) => assert!(features.len() < 3 || features.iter().any(|f| f.is_err())),
        }
    }

    // A NaN coordinate stored in a binary file is caught.
    let mut nan = t.get_by_id("S1").unwrap().clone();
    nan.id = "NANPT".into();
    nan.attached_to = None;
    nan.geometry = geo_types::Geometry::Point(geo_types::Point::new(121.4, f64::NAN));
    let p = dir.join("nan.fgb");
    write_flatgeobuf([&nan], "nan", std::fs::File::create(&p).unwrap()).unwrap();
    let mut t2 = twin();
    let errs = rejected(
        t2.load_flatgeobuf(&p, &Mapping::default(), LoadMode::Strict)
            .unwrap_err(),
    );
    assert!(
        matches!(errs[0].problem, Problem::NonFiniteCoordinate { .. }),
        "{errs:?}"
    );
    assert_eq!(errs[0].id.as_deref(), Some("NANPT"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn corrupt_flatgeobuf_bytes_never_panic() {
    // Flip 1–4 bytes anywhere in a real file, 400 times (deterministic LCG): every read
    // ends in data or a typed error, never a panic (the flatgeobuf crate's own decoders
    // would panic on inconsistent lengths; twin decodes with checked indexes).
    let t = twin_chongming::island::load_real().unwrap();
    let assets: Vec<_> = t.iter().map(|(_, a)| a).collect();
    let mut buf = Vec::new();
    write_flatgeobuf(assets.iter().copied(), "x", &mut buf).unwrap();
    let path = std::env::temp_dir().join(format!("twin-flip-{}.fgb", std::process::id()));
    let mut state = 12345u64;
    let (mut failed_whole, mut rejected) = (0, 0);
    for i in 0..400 {
        let mut b = buf.clone();
        for _ in 0..(1 + i % 4) {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let pos = (state >> 33) as usize % b.len();
            b[pos] ^= (state >> 20) as u8 | 1;
        }
        std::fs::write(&path, &b).unwrap();
        let mut tw = twin();
        match tw.load_flatgeobuf(&path, &Mapping::default(), LoadMode::Lenient) {
            Err(e) => {
                failed_whole += 1;
                assert!(e.to_string().contains("twin-flip"), "{e}");
            }
            Ok(report) => rejected += report.rejected.len(),
        }
    }
    std::fs::remove_file(&path).ok();
    assert!(failed_whole + rejected > 0, "corruption was noticed");
}

#[test]
fn large_reads_report_progress_with_their_total() {
    // 20,000 points: progress at 8,192 and 16,384 of 20,000, then once at the end.
    let features: Vec<String> = (0..20_000)
        .map(|i| {
            format!(
                r#"{{"type":"Feature","properties":{{"id":"P{i}","kind":"custom:pin"}},"geometry":{{"type":"Point","coordinates":[121.5,31.6]}}}}"#
            )
        })
        .collect();
    let text = format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        features.join(",")
    );
    let mut calls = Vec::new();
    let read = twin_core::load::read_bytes_with(
        text.as_bytes(),
        "pins.geojson",
        &twin_core::Mapping::default(),
        &mut |done, total| calls.push((done, total)),
    )
    .unwrap();
    assert_eq!(read.len(), 20_000);
    assert_eq!(
        calls,
        [
            (8192, Some(20_000)),
            (16_384, Some(20_000)),
            (20_000, Some(20_000))
        ]
    );
}
