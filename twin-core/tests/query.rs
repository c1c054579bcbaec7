//! Every query against brute force on random data (proptest), including after inserts,
//! moves and removals.

use geo::{BoundingRect, Distance, Euclidean, Intersects};
use geo_types::{Geometry, LineString, Point, Polygon};
use proptest::prelude::*;
use twin_core::crs::LocalFrame;
use twin_core::rect_polygon;
use twin_core::{Asset, AssetKind, Handle, KindFilter, LoadMode, SensorType, Twin};

/// Lon/lat of a random asset: near the islands (121.2..122.0 E, 31.1..31.9 N).
fn coord() -> impl Strategy<Value = (f64, f64)> {
    (121.2f64..122.0, 31.1f64..31.9)
}

fn shape() -> impl Strategy<Value = (u8, (f64, f64), f64, f64)> {
    (0u8..3, coord(), 0.0005f64..0.02, 0.0005f64..0.02)
}

fn kind_of(i: usize) -> AssetKind {
    match i % 4 {
        0 => AssetKind::Building,
        1 => AssetKind::Road,
        2 => AssetKind::Sensor(SensorType::Pm25),
        _ => AssetKind::Sensor(SensorType::Noise),
    }
}

fn geometry(kind: u8, (x, y): (f64, f64), w: f64, h: f64) -> Geometry<f64> {
    match kind {
        0 => Geometry::Point(Point::new(x, y)),
        1 => Geometry::LineString(LineString::from(vec![(x, y), (x + w, y + h), (x + w, y)])),
        _ => Geometry::Polygon(Polygon::new(
            LineString::from(vec![(x, y), (x + w, y), (x + w, y + h), (x, y + h), (x, y)]),
            vec![],
        )),
    }
}

fn build(shapes: &[(u8, (f64, f64), f64, f64)]) -> Twin {
    let mut t = Twin::new(LocalFrame::chongming());
    let assets = shapes
        .iter()
        .enumerate()
        .map(|(i, &(k, c, w, h))| Asset::new(format!("A{i}"), kind_of(i), geometry(k, c, w, h)))
        .collect();
    t.insert_assets(assets, LoadMode::Strict).unwrap();
    t
}

fn filters() -> Vec<Option<KindFilter>> {
    vec![
        None,
        Some("building".parse::<KindFilter>().unwrap()),
        Some("sensor".parse::<KindFilter>().unwrap()),
        Some("sensor:pm25,road".parse::<KindFilter>().unwrap()),
    ]
}

fn brute<F: Fn(Handle, &Asset, &Geometry<f64>) -> bool>(
    t: &Twin,
    f: Option<&KindFilter>,
    keep: F,
) -> Vec<Handle> {
    let mut v: Vec<Handle> = t
        .iter()
        .filter(|(_, a)| f.is_none_or(|f| f.matches(&a.kind)))
        .filter(|(h, a)| keep(*h, a, t.local_geometry(*h).unwrap()))
        .map(|(h, _)| h)
        .collect();
    v.sort();
    v
}

fn check_all(t: &Twin, q: (f64, f64), r: f64, k: usize, bw: f64, bh: f64) {
    let (lon, lat) = q;
    let (x, y) = t.frame().to_local(lon, lat);
    let p = Geometry::Point(Point::new(x, y));
    for f in filters() {
        let f = f.as_ref();
        // bbox: lon/lat bounding boxes intersect.
        let (min, max) = ((lon, lat), (lon + bw, lat + bh));
        let qbox = rect_polygon(min, max).bounding_rect().unwrap();
        let want = brute(t, f, |_, a, _| {
            a.geometry
                .bounding_rect()
                .is_some_and(|r| r.intersects(&qbox))
        });
        assert_eq!(
            t.query_bbox(twin_core::geo_types::Rect::new(min, max), f),
            want,
            "bbox {min:?} {max:?} {f:?}"
        );

        // within distance of a point.
        let want = brute(t, f, |_, _, l| Euclidean.distance(l, &p) <= r);
        assert_eq!(
            t.query_within_distance((lon, lat), r, f),
            want,
            "within {r} {f:?}"
        );

        // within distance of a geometry (a short line).
        let line = Geometry::LineString(LineString::from(vec![(lon, lat), (lon + bw, lat)]));
        let local_line = t.to_local(&line);
        let want = brute(t, f, |_, _, l| Euclidean.distance(l, &local_line) <= r);
        assert_eq!(
            t.query_within_distance_of(&line, r, f),
            want,
            "within-of {f:?}"
        );

        // containing a point.
        let want = brute(t, f, |_, _, l| l.intersects(&p));
        assert_eq!(t.query_containing((lon, lat), f), want, "contains {f:?}");

        // intersecting a polygon.
        let poly = rect_polygon(min, max);
        let local_poly = t.to_local(&poly);
        let want = brute(t, f, |_, _, l| l.intersects(&local_poly));
        assert_eq!(t.query_intersecting(&poly, f), want, "intersects {f:?}");

        // k nearest: same distances in the same order, ties by handle.
        let mut all: Vec<(Handle, f64)> = t
            .iter()
            .filter(|(_, a)| f.is_none_or(|f| f.matches(&a.kind)))
            .map(|(h, _)| (h, Euclidean.distance(t.local_geometry(h).unwrap(), &p)))
            .collect();
        all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        all.truncate(k);
        assert_eq!(t.query_nearest((lon, lat), k, f), all, "knn {k} {f:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn queries_equal_brute_force(
        shapes in prop::collection::vec(shape(), 1..120),
        q in coord(),
        r in 0.0f64..5000.0,
        k in 1usize..12,
        bw in 0.0f64..0.2,
        bh in 0.0f64..0.2,
    ) {
        let t = build(&shapes);
        check_all(&t, q, r, k, bw, bh);
    }

    #[test]
    fn queries_stay_right_after_inserts_moves_and_removals(
        shapes in prop::collection::vec(shape(), 10..80),
        extra in prop::collection::vec(shape(), 1..10),
        moves in prop::collection::vec((0usize..80, coord()), 1..20),
        removals in prop::collection::vec(0usize..80, 1..10),
        q in coord(),
        r in 0.0f64..8000.0,
    ) {
        let mut t = build(&shapes);
        // Small batches go through incremental R-tree inserts.
        for (j, &(k, c, w, h)) in extra.iter().enumerate() {
            t.insert(Asset::new(format!("X{j}"), kind_of(j), geometry(k, c, w, h))).unwrap();
        }
        for (i, (x, y)) in moves {
            if let Some(h) = t.handle(&format!("A{}", i % shapes.len())) {
                t.move_asset(h, Geometry::Point(Point::new(x, y))).unwrap();
            }
        }
        for i in removals {
            let _ = t.remove(&format!("A{}", i % shapes.len()));
        }
        check_all(&t, q, r, 5, 0.05, 0.05);
    }
}

#[test]
fn moving_keeps_a_bad_geometry_out() {
    let mut t = build(&[(0, (121.5, 31.5), 0.01, 0.01)]);
    let h = t.handle("A0").unwrap();
    let err = t
        .move_asset(h, Geometry::Point(Point::new(f64::NAN, 31.0)))
        .unwrap_err();
    assert!(err.to_string().contains("A0"), "{err}");
    assert_eq!(t.query_containing((121.5, 31.5), None), vec![h]);
    assert!(t.remove("nope").is_err());
}

#[test]
fn non_finite_points_and_huge_k_answer_empty_or_everything() {
    let t = build(&[
        (0, (121.5, 31.5), 0.01, 0.01),
        (2, (121.6, 31.6), 0.01, 0.01),
    ]);
    assert!(t.query_nearest((f64::NAN, 31.5), 3, None).is_empty());
    assert!(t.query_containing((121.5, f64::INFINITY), None).is_empty());
    assert!(
        t.query_within_distance((f64::NAN, 31.5), 10.0, None)
            .is_empty()
    );
    assert!(
        t.query_bbox(
            twin_core::geo_types::Rect::new((f64::NAN, 31.0), (122.0, 32.0)),
            None
        )
        .is_empty()
    );
    assert_eq!(t.query_nearest((121.5, 31.5), usize::MAX, None).len(), 2);
}
