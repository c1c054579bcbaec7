//! Known-answer tests of `twin_core::crs`.
//!
//! Reference values and where they come from:
//! * Web Mercator: the closed form x = a·λ, y = a·ln tan(π/4 + φ/2) with
//!   a = 6378137, evaluated in Python (math module); pyproj 3.7.2 / PROJ 9.5.1
//!   gives the same digits.
//! * UTM and the local transverse Mercator: pyproj 3.7.2 (bundled PROJ 9.5.1,
//!   `Transformer.from_crs(..., always_xy=True)`), i.e. an implementation
//!   independent of both proj4rs and this crate.
//! * Meridian arc: Simpson integration (2000 intervals) of the meridional
//!   radius of curvature M(φ) = a(1−e²)/(1−e² sin²φ)^{3/2} in Python.
//! * GCJ-02: an independent Python implementation of the published formula;
//!   its value for (121.5272106, 31.1774276) equals the Shanghai test vector of
//!   the widely used `eviltransform` library (31.17530398364597, 121.531541859215).

use geo_types::{Coord, Geometry, LineString, Point, Polygon, coord};
use twin_core::crs::{Crs, CrsError, LocalFrame, Transformer, gcj02_to_wgs84, wgs84_to_gcj02};

/// The Chongming islands' bounding box (lon, lat degrees).
const LON: (f64, f64) = (121.2, 122.0);
const LAT: (f64, f64) = (31.1, 31.9);

/// An `n`×`n` grid over the islands' bounding box, corners included.
fn grid(n: usize) -> Vec<(f64, f64)> {
    let mut v = Vec::with_capacity(n * n);
    for i in 0..n {
        for j in 0..n {
            let lon = LON.0 + (LON.1 - LON.0) * i as f64 / (n - 1) as f64;
            let lat = LAT.0 + (LAT.1 - LAT.0) * j as f64 / (n - 1) as f64;
            v.push((lon, lat));
        }
    }
    v
}

/// Approximate metres per degree of longitude and latitude at `lat`.
fn metres_per_degree(lat: f64) -> (f64, f64) {
    (111_320.0 * lat.to_radians().cos(), 110_574.0)
}

fn utm51() -> Crs {
    Crs::Utm {
        zone: 51,
        north: true,
    }
}

fn t(from: &Crs, to: &Crs) -> Transformer {
    Transformer::new(from, to).unwrap()
}

#[test]
fn web_mercator_known_answers() {
    // (lon, lat, x, y): closed form in Python.
    let cases = [
        (121.5, 31.5, 13_525_318.131_382_74, 3_697_855.330_337_702_8),
        (121.2, 31.1, 13_491_922.284_144_755, 3_645_742.868_003_531),
        (122.0, 31.9, 13_580_977.876_779_376, 3_750_191.219_275_676_6),
    ];
    let fwd = t(&Crs::Wgs84, &Crs::WebMercator);
    let inv = t(&Crs::WebMercator, &Crs::Wgs84);
    for (lon, lat, x, y) in cases {
        let (gx, gy) = fwd.convert(lon, lat).unwrap();
        assert!((gx - x).abs() < 1e-3 && (gy - y).abs() < 1e-3, "{gx} {gy}");
        let (blon, blat) = inv.convert(x, y).unwrap();
        assert!((blon - lon).abs() < 1e-9 && (blat - lat).abs() < 1e-9);
    }
    // CGCS2000 input gives the same numbers.
    let (gx, gy) = t(&"EPSG:4490".parse().unwrap(), &"EPSG:3857".parse().unwrap())
        .convert(121.5, 31.5)
        .unwrap();
    assert!((gx - cases[0].2).abs() < 1e-3 && (gy - cases[0].3).abs() < 1e-3);
}

#[test]
fn utm_known_answers() {
    // (lon, lat, easting, northing): pyproj 3.7.2 / PROJ 9.5.1, EPSG:4326 -> EPSG:32651.
    let cases = [
        (121.5, 31.5, 357_546.074_195_708_73, 3_485_991.096_405_639_3),
        (121.2, 31.1, 328_327.401_499_706, 3_442_077.714_567_894),
        (122.0, 31.9, 405_440.146_838_952_03, 3_529_787.624_762_691),
        (123.0, 31.5, 500_000.0, 3_485_016.646_197_933_2),
    ];
    let fwd = t(&Crs::Wgs84, &utm51());
    let inv = t(&utm51(), &Crs::Wgs84);
    for (lon, lat, e, n) in cases {
        let (ge, gn) = fwd.convert(lon, lat).unwrap();
        assert!((ge - e).abs() < 1e-3 && (gn - n).abs() < 1e-3, "{ge} {gn}");
        let (blon, blat) = inv.convert(e, n).unwrap();
        assert!((blon - lon).abs() < 1e-9 && (blat - lat).abs() < 1e-9);
    }
    // Southern hemisphere, EPSG:32751 (pyproj): false northing 10 000 km.
    let south: Crs = "EPSG:32751".parse().unwrap();
    let (ge, gn) = t(&Crs::Wgs84, &south).convert(121.5, -31.5).unwrap();
    assert!((ge - 357_546.074_195_708_73).abs() < 1e-3);
    assert!((gn - 6_514_008.903_594_361).abs() < 1e-3);
}

#[test]
fn projected_to_projected() {
    // UTM 51N -> Web Mercator in one step equals the two known answers above.
    let (x, y) = t(&utm51(), &Crs::WebMercator)
        .convert(357_546.074_195_708_73, 3_485_991.096_405_639_3)
        .unwrap();
    assert!((x - 13_525_318.131_382_74).abs() < 1e-3);
    assert!((y - 3_697_855.330_337_702_8).abs() < 1e-3);
}

#[test]
fn round_trips_through_every_crs() {
    let targets = [
        Crs::Cgcs2000,
        Crs::WebMercator,
        utm51(),
        Crs::Utm {
            zone: 50,
            north: true,
        },
        Crs::Gcj02,
        Crs::Local(LocalFrame::chongming()),
        Crs::Local(LocalFrame::new(121.0, 31.0, 12.5)),
    ];
    for target in &targets {
        let fwd = t(&Crs::Wgs84, target);
        let inv = t(target, &Crs::Wgs84);
        let mut worst: f64 = 0.0;
        for (lon, lat) in grid(25) {
            let (x, y) = fwd.convert(lon, lat).unwrap();
            let (blon, blat) = inv.convert(x, y).unwrap();
            worst = worst.max((blon - lon).abs()).max((blat - lat).abs());
        }
        assert!(worst < 1e-9, "{target}: {worst}");
    }
}

#[test]
fn gcj02_known_answers() {
    // (wgs lon, wgs lat, gcj lon, gcj lat).
    let cases = [
        // eviltransform's Shanghai test vector, reproduced by our Python implementation.
        (
            121.527_210_6,
            31.177_427_6,
            121.531_541_859_215,
            31.175_303_983_645_97,
        ),
        (121.6, 31.5, 121.604_223_371_880_75, 31.497_882_643_709_5),
        (121.5, 31.5, 121.504_454_264_551_16, 31.498_066_179_289_02),
    ];
    for (lon, lat, glon, glat) in cases {
        let (x, y) = wgs84_to_gcj02(lon, lat);
        assert!(
            (x - glon).abs() < 1e-11 && (y - glat).abs() < 1e-11,
            "{x} {y}"
        );
    }
    // The offset near Chongming: ~400 m east, ~230 m south.
    let (x, y) = wgs84_to_gcj02(121.6, 31.5);
    let (mx, my) = metres_per_degree(31.5);
    let (east, north) = ((x - 121.6) * mx, (y - 31.5) * my);
    assert!((380.0..440.0).contains(&east), "{east}");
    assert!((-250.0..-210.0).contains(&north), "{north}");
    // Through the transformer, and GCJ-02 -> UTM via the pivot.
    let (x, y) = t(&Crs::Wgs84, &Crs::Gcj02).convert(121.6, 31.5).unwrap();
    assert!((x - 121.604_223_371_880_75).abs() < 1e-11 && (y - 31.497_882_643_709_5).abs() < 1e-11);
    let (e, n) = t(&Crs::Gcj02, &utm51())
        .convert(121.504_454_264_551_16, 31.498_066_179_289_02)
        .unwrap();
    assert!(
        (e - 357_546.074_195_708_73).abs() < 2e-3 && (n - 3_485_991.096_405_639_3).abs() < 2e-3
    );
}

#[test]
fn gcj02_inverse_round_trip_below_1cm() {
    let mut worst: f64 = 0.0;
    for (lon, lat) in grid(41) {
        let (glon, glat) = wgs84_to_gcj02(lon, lat);
        let (blon, blat) = gcj02_to_wgs84(glon, glat);
        let (mx, my) = metres_per_degree(lat);
        worst = worst.max(((blon - lon) * mx).hypot((blat - lat) * my));
    }
    eprintln!("GCJ-02 inverse round trip: max error {worst:.3e} m");
    assert!(worst < 0.01, "{worst}");
}

#[test]
fn gcj02_identity_outside_china() {
    for (lon, lat) in [
        (2.35, 48.85),
        (-74.0, 40.7),
        (139.7, 35.7),
        (121.6, -31.5),
        (121.6, 60.0),
    ] {
        assert_eq!(wgs84_to_gcj02(lon, lat), (lon, lat));
        assert_eq!(gcj02_to_wgs84(lon, lat), (lon, lat));
    }
}

#[test]
fn local_frame_known_answers() {
    let f = LocalFrame::chongming();
    assert_eq!(f, LocalFrame::new(121.60, 31.50, 0.0));
    let (e, n) = f.to_local(121.6, 31.5);
    assert!(e.abs() < 1e-9 && n.abs() < 1e-9);

    // 0.009° north along the central meridian: the meridian arc, 997.9035819162 m (Simpson).
    let (e, n) = f.to_local(121.6, 31.509);
    assert!(e.abs() < 1e-9);
    assert!((n - 997.903_581_916_219_2).abs() < 1e-6, "{n}");

    // pyproj: +proj=tmerc +lon_0=121.6 +lat_0=31.5 +k=1 +x_0=0 +y_0=0 +ellps=WGS84.
    let cases = [
        (
            121.2,
            31.1,
            -38_161.927_747_473_565,
            -44_281.046_527_581_406,
        ),
        (122.0, 31.9, 37_838.358_830_533_856, 44_422.427_333_222_83),
        (121.8, 31.6, 18_980.230_237_604_123, 11_105.254_547_234_49),
    ];
    for (lon, lat, x, y) in cases {
        let (e, n) = f.to_local(lon, lat);
        assert!((e - x).abs() < 1e-3 && (n - y).abs() < 1e-3, "{e} {n}");
    }

    // Up is height above the origin's height.
    let g = LocalFrame::new(121.6, 31.5, 4.0);
    let [e, n, u] = g.to_local3(121.6, 31.5, 10.0);
    assert!(e.abs() < 1e-9 && n.abs() < 1e-9 && (u - 6.0).abs() < 1e-12);
    let [lon, lat, h] = g.to_geographic3(e, n, u);
    assert!((lon - 121.6).abs() < 1e-12 && (lat - 31.5).abs() < 1e-12 && (h - 10.0).abs() < 1e-12);

    // Crs::Local goes through the same code.
    let (e, n) = t(&Crs::Wgs84, &Crs::Local(f)).convert(121.2, 31.1).unwrap();
    assert!((e - cases[0].2).abs() < 1e-3 && (n - cases[0].3).abs() < 1e-3);
}

#[test]
fn local_frame_round_trip_and_distortion() {
    let f = LocalFrame::chongming();
    let mut worst_m: f64 = 0.0;
    let mut worst_ppm: f64 = 0.0;
    for (lon, lat) in grid(41) {
        let (e, n) = f.to_local(lon, lat);
        let (blon, blat) = f.to_geographic(e, n);
        let (mx, my) = metres_per_degree(lat);
        worst_m = worst_m.max(((blon - lon) * mx).hypot((blat - lat) * my));
        // And the other way round, from metres.
        let (e2, n2) = f.to_local(blon, blat);
        worst_m = worst_m.max((e2 - e).hypot(n2 - n));
        worst_ppm = worst_ppm.max((f.scale_factor(lon, lat) - 1.0).abs() * 1e6);
    }
    // Point scale vs PROJ's numerical factors (pyproj `Proj.get_factors`,
    // meridional_scale; ~1e-10 precise): 1.0000179559846534 at (121.2, 31.1)
    // and 1.000017649827497 at (122.0, 31.9).
    assert!((f.scale_factor(121.2, 31.1) - 1.000_017_955_984_653_4).abs() < 1e-9);
    assert!((f.scale_factor(122.0, 31.9) - 1.000_017_649_827_497).abs() < 1e-9);
    eprintln!("LocalFrame round trip: max {worst_m:.3e} m; max scale error {worst_ppm:.2} ppm");
    assert!(worst_m < 1e-3, "{worst_m}");
    assert!(worst_ppm < 50.0, "{worst_ppm}");
}

#[test]
fn local_frame_matches_proj4rs_tmerc() {
    let src = proj4rs::Proj::from_proj_string("+proj=longlat +datum=WGS84 +no_defs").unwrap();
    let dst = proj4rs::Proj::from_proj_string(
        "+proj=tmerc +lon_0=121.6 +lat_0=31.5 +k=1 +x_0=0 +y_0=0 +ellps=WGS84",
    )
    .unwrap();
    let f = LocalFrame::chongming();
    let mut worst: f64 = 0.0;
    for (lon, lat) in grid(41) {
        let mut p = (lon.to_radians(), lat.to_radians(), 0.0);
        proj4rs::transform::transform(&src, &dst, &mut p).unwrap();
        let (e, n) = f.to_local(lon, lat);
        worst = worst.max((e - p.0).hypot(n - p.1));
    }
    eprintln!("LocalFrame vs proj4rs tmerc: max {worst:.3e} m");
    assert!(worst < 1e-3, "{worst}");
}

#[test]
fn local_frame_far_from_origin() {
    // Well beyond the islands (±10° of longitude, lat −80..80) the series must
    // still match proj4rs's Poder/Engsager tmerc to < 1 mm and invert itself.
    let src = proj4rs::Proj::from_proj_string("+proj=longlat +datum=WGS84 +no_defs").unwrap();
    let dst = proj4rs::Proj::from_proj_string(
        "+proj=tmerc +lon_0=121.6 +lat_0=31.5 +k=1 +x_0=0 +y_0=0 +ellps=WGS84",
    )
    .unwrap();
    let f = LocalFrame::chongming();
    let (mut worst, mut worst_back): (f64, f64) = (0.0, 0.0);
    for i in 0..=20 {
        for j in 0..=16 {
            let lon = 111.6 + i as f64;
            let lat = -80.0 + 10.0 * j as f64;
            let mut p = (lon.to_radians(), lat.to_radians(), 0.0);
            proj4rs::transform::transform(&src, &dst, &mut p).unwrap();
            let (e, n) = f.to_local(lon, lat);
            worst = worst.max((e - p.0).hypot(n - p.1));
            let (blon, blat) = f.to_geographic(e, n);
            worst_back = worst_back.max((blon - lon).abs()).max((blat - lat).abs());
        }
    }
    eprintln!("LocalFrame far: max vs proj4rs {worst:.3e} m, round trip {worst_back:.3e} deg");
    assert!(worst < 1e-3, "{worst}");
    assert!(worst_back < 1e-10, "{worst_back}");
    // The poles.
    let (lon, lat) = f.to_geographic(0.0, f.to_local(121.6, 90.0).1);
    assert!((lat - 90.0).abs() < 1e-9 && lon.is_finite());
}

#[test]
fn errors_are_typed() {
    let fwd = t(&Crs::Wgs84, &utm51());
    assert!(matches!(
        fwd.convert(f64::NAN, 31.0),
        Err(CrsError::NonFinite { .. })
    ));
    assert!(matches!(
        fwd.convert(121.0, f64::INFINITY),
        Err(CrsError::NonFinite { .. })
    ));
    let e = fwd.convert(121.0, 95.0).unwrap_err();
    assert!(matches!(e, CrsError::OutOfDomain { .. }));
    let msg = e.to_string();
    assert!(
        msg.contains("(121, 95)") && msg.contains("EPSG:32651"),
        "{msg}"
    );
    let e = t(&Crs::Wgs84, &Crs::WebMercator)
        .convert(0.0, -90.0)
        .unwrap_err();
    assert!(matches!(e, CrsError::OutOfDomain { .. }), "{e:?}");
    let e = t(&Crs::Gcj02, &Crs::Wgs84)
        .convert(121.0, -100.0)
        .unwrap_err();
    assert!(matches!(e, CrsError::OutOfDomain { .. }), "{e:?}");
}

#[test]
fn geometry_in_place_and_all_or_nothing() {
    let fwd = t(&Crs::Wgs84, &utm51());
    let mut g: Geometry<f64> = Polygon::new(
        LineString::from(vec![
            (121.5, 31.5),
            (121.2, 31.1),
            (122.0, 31.9),
            (121.5, 31.5),
        ]),
        vec![],
    )
    .into();
    fwd.convert_geometry(&mut g).unwrap();
    let Geometry::Polygon(p) = &g else {
        panic!("not a polygon")
    };
    let c0: Coord<f64> = p.exterior().0[0];
    assert!((c0.x - 357_546.074_195_708_73).abs() < 1e-3);
    assert!((c0.y - 3_485_991.096_405_639_3).abs() < 1e-3);
    assert_eq!(p.exterior().0.len(), 4);

    // A bad coordinate: error, geometry untouched.
    let bad = LineString::from(vec![(121.5, 31.5), (121.6, 99.0)]);
    let mut g: Geometry<f64> = bad.clone().into();
    assert!(matches!(
        fwd.convert_geometry(&mut g),
        Err(CrsError::OutOfDomain { .. })
    ));
    assert_eq!(g, Geometry::LineString(bad));

    // Identity leaves the geometry alone but still refuses NaN.
    let id = t(&Crs::Wgs84, &Crs::Cgcs2000);
    let mut g: Geometry<f64> = Point::new(121.5, 31.5).into();
    id.convert_geometry(&mut g).unwrap();
    assert_eq!(g, Point::new(121.5, 31.5).into());
    let mut g: Geometry<f64> = Point::new(f64::NAN, 31.5).into();
    assert!(matches!(
        id.convert_geometry(&mut g),
        Err(CrsError::NonFinite { .. })
    ));

    let c = fwd.convert_coord(coord! { x: 123.0, y: 31.5 }).unwrap();
    assert!((c.x - 500_000.0).abs() < 1e-3);
}

#[test]
fn epsg_database_codes_without_proj() {
    // (code, easting, northing, lon, lat): GDAL 3.6 / PROJ 9.1 on Debian 12 with no grid
    // files, `echo "E N" | gdaltransform -s_srs EPSG:code -t_srs EPSG:4326 -output_xy`,
    // which uses the same Helmert datum shift as the EPSG database's definition.
    let cases = [
        // RD New, Amersfoort's origin; and RD New + NAP height (compound).
        (
            28992,
            155_000.0,
            463_000.0,
            5.387_203_508_413_77,
            52.155_172_301_192_2,
        ),
        (
            7415,
            155_000.0,
            463_000.0,
            5.387_203_508_413_77,
            52.155_172_301_192_2,
        ),
        // British National Grid near Westminster.
        (
            27700,
            530_000.0,
            180_000.0,
            -0.128_353_940_479_469,
            51.503_990_827_633_8,
        ),
        // CH1903+ / LV95, Bern.
        (
            2056,
            2_600_000.0,
            1_200_000.0,
            7.438_632_420_871_81,
            46.951_082_771_871_1,
        ),
        // CGCS2000 / 3-degree Gauss-Kruger CM 114E (same datum as WGS84 here).
        (4547, 500_000.0, 3_500_000.0, 114.0, 31.622_554_943_994_6),
    ];
    for (code, e, n, lon, lat) in cases {
        let crs = Crs::epsg_database(code).unwrap();
        assert_eq!(crs, Crs::Epsg(u16::try_from(code).unwrap()));
        assert_eq!(crs.to_string(), format!("EPSG:{code}"));
        assert_eq!(crs.epsg(), Some(code));
        assert!(!crs.is_geographic(), "{code}");
        let (x, y) = t(&crs, &Crs::Wgs84).convert(e, n).unwrap();
        // 1e-7 degrees is about a centimetre.
        assert!(
            (x - lon).abs() < 1e-7 && (y - lat).abs() < 1e-7,
            "EPSG:{code}: ({x}, {y}) vs ({lon}, {lat})"
        );
        let (e2, n2) = t(&Crs::Wgs84, &crs).convert(lon, lat).unwrap();
        assert!((e2 - e).abs() < 0.01 && (n2 - n).abs() < 0.01, "{code}");
    }
    // Two database CRSs convert in one step, and agree with the pivot.
    let rd = Crs::epsg_database(28992).unwrap();
    let bng = Crs::epsg_database(27700).unwrap();
    let direct = t(&rd, &bng).convert(155_000.0, 463_000.0).unwrap();
    let (lon, lat) = t(&rd, &Crs::Wgs84).convert(155_000.0, 463_000.0).unwrap();
    let pivot = t(&Crs::Wgs84, &bng).convert(lon, lat).unwrap();
    assert!((direct.0 - pivot.0).abs() < 0.01 && (direct.1 - pivot.1).abs() < 0.01);
    // A geographic code: ETRS89 is WGS84 to a few decimetres (null Helmert).
    let etrs89 = Crs::epsg_database(4258).unwrap();
    assert!(etrs89.is_geographic());
    let (x, y) = t(&etrs89, &Crs::Wgs84).convert(5.3872, 52.1552).unwrap();
    assert!(
        (x - 5.3872).abs() < 1e-9 && (y - 52.1552).abs() < 1e-9,
        "{x} {y}"
    );
    assert!(matches!(
        t(&etrs89, &Crs::Wgs84).convert(5.0, 95.0),
        Err(CrsError::OutOfDomain { .. })
    ));
    // Built-in codes stay built in; unknown codes are named.
    assert_eq!(Crs::epsg_database(4326).unwrap(), Crs::Wgs84);
    let e = Crs::epsg_database(99_999).unwrap_err();
    assert!(matches!(e, CrsError::Unsupported { .. }), "{e:?}");
    #[cfg(not(feature = "proj"))]
    {
        for s in [
            "EPSG:27700",
            "urn:ogc:def:crs:EPSG::7415",
            "https://www.opengis.net/def/crs/EPSG/0/7415",
        ] {
            let c: Crs = s.parse().unwrap();
            assert!(matches!(c, Crs::Epsg(_)), "{s}");
        }
    }
}

/// Tests against the system PROJ library (`--features proj`).
#[cfg(all(feature = "proj", not(target_arch = "wasm32")))]
mod with_proj {
    use super::*;

    /// Max |Δ| in metres (or degrees converted to metres) between our
    /// transformer and PROJ over a 20×20 grid of the islands, both directions.
    fn max_diff_vs_proj(code: &str) -> (f64, f64) {
        let ours = t(&Crs::Wgs84, &code.parse().unwrap());
        let back = t(&code.parse().unwrap(), &Crs::Wgs84);
        let reference = proj::Proj::new_known_crs("EPSG:4326", code, None).unwrap();
        let reference_back = proj::Proj::new_known_crs(code, "EPSG:4326", None).unwrap();
        let geographic = code == "EPSG:4490";
        let (mut fwd, mut inv): (f64, f64) = (0.0, 0.0);
        for (lon, lat) in grid(20) {
            let (x, y) = ours.convert(lon, lat).unwrap();
            let (px, py) = reference.convert((lon, lat)).unwrap();
            let (mx, my) = if geographic {
                metres_per_degree(lat)
            } else {
                (1.0, 1.0)
            };
            fwd = fwd.max(((x - px) * mx).hypot((y - py) * my));
            let (blon, blat) = back.convert(px, py).unwrap();
            let (plon, plat) = reference_back.convert((px, py)).unwrap();
            let (mx, my) = metres_per_degree(lat);
            inv = inv.max(((blon - plon) * mx).hypot((blat - plat) * my));
        }
        (fwd, inv)
    }

    #[test]
    fn builtins_agree_with_proj() {
        for code in ["EPSG:3857", "EPSG:32651", "EPSG:4490"] {
            let (fwd, inv) = max_diff_vs_proj(code);
            eprintln!("{code}: max |ours - PROJ| forward {fwd:.3e} m, inverse {inv:.3e} m");
            assert!(fwd < 1e-3 && inv < 1e-3, "{code}: {fwd} {inv}");
        }
    }

    #[test]
    fn local_frame_agrees_with_proj_tmerc() {
        let reference = proj::Proj::new_known_crs(
            "EPSG:4326",
            "+proj=tmerc +lon_0=121.6 +lat_0=31.5 +k=1 +x_0=0 +y_0=0 +ellps=WGS84",
            None,
        )
        .unwrap();
        let f = LocalFrame::chongming();
        let mut worst: f64 = 0.0;
        for (lon, lat) in grid(20) {
            let (e, n) = f.to_local(lon, lat);
            let (pe, pn) = reference.convert((lon, lat)).unwrap();
            worst = worst.max((e - pe).hypot(n - pn));
        }
        eprintln!("LocalFrame vs PROJ tmerc: max {worst:.3e} m");
        assert!(worst < 1e-3, "{worst}");
    }

    #[test]
    fn arbitrary_crs_through_proj() {
        // Xian 1980 / 3-degree Gauss-Kruger CM 120E.
        let xian: Crs = "EPSG:2385".parse().unwrap();
        assert_eq!(xian, Crs::Proj("EPSG:2385".into()));
        assert_eq!(xian.to_string(), "EPSG:2385");
        assert!(!xian.is_geographic());
        assert_eq!("2385".parse::<Crs>().unwrap(), xian);

        // pyproj 3.7.2 / PROJ 9.5.1 (ballpark Xian 1980 <-> WGS 84, axis order normalised).
        let fwd = t(&Crs::Wgs84, &xian);
        let (e, n) = fwd.convert(121.5, 31.5).unwrap();
        assert!((e - 642_510.997_305_018_2).abs() < 1e-3, "{e}");
        assert!((n - 3_487_387.676_048_611_3).abs() < 1e-3, "{n}");
        let (lon, lat) = t(&xian, &Crs::Wgs84).convert(e, n).unwrap();
        assert!((lon - 121.5).abs() < 1e-9 && (lat - 31.5).abs() < 1e-9);

        // PROJ -> PROJ directly, and PROJ -> built-in via the pivot.
        let (x, y) = t(&xian, &Crs::Proj("EPSG:2385".into()))
            .convert(e, n)
            .unwrap();
        assert_eq!((x, y), (e, n));
        let (ue, un) = t(&xian, &utm51()).convert(e, n).unwrap();
        assert!((ue - 357_546.074_195_708_73).abs() < 1e-3);
        assert!((un - 3_485_991.096_405_639_3).abs() < 1e-3);
        let zone50: Crs = "EPSG:32650".parse().unwrap();
        let via_proj = t(&xian, &Crs::Proj("+proj=utm +zone=50 +datum=WGS84".into()))
            .convert(e, n)
            .unwrap();
        let via_builtin = t(&xian, &zone50).convert(e, n).unwrap();
        assert!((via_proj.0 - via_builtin.0).abs() < 1e-3);
        assert!((via_proj.1 - via_builtin.1).abs() < 1e-3);

        // Geographic PROJ CRS and a PROJ string.
        let xian_geo: Crs = "EPSG:4610".parse().unwrap();
        assert!(xian_geo.is_geographic());
        let (lon, lat) = t(&Crs::Wgs84, &xian_geo).convert(121.5, 31.5).unwrap();
        assert!((lon - 121.5).abs() < 1e-9 && (lat - 31.5).abs() < 1e-9);
        let merc: Crs = "+proj=merc +datum=WGS84 +type=crs".parse().unwrap();
        assert!(matches!(merc, Crs::Proj(_)));
        t(&Crs::Wgs84, &merc).convert(121.5, 31.5).unwrap();
    }

    #[test]
    fn proj_errors() {
        assert!(matches!(
            "EPSG:999999".parse::<Crs>(),
            Err(CrsError::Invalid { .. })
        ));
        assert!(matches!(
            "not a crs at all".parse::<Crs>(),
            Err(CrsError::Invalid { .. })
        ));
        // A point PROJ cannot unproject: far outside transverse Mercator's domain.
        let xian = Crs::Proj("EPSG:2385".into());
        let e = t(&xian, &Crs::Wgs84).convert(1e9, 1e9).unwrap_err();
        assert!(matches!(e, CrsError::OutOfDomain { .. }), "{e:?}");
        eprintln!("{e}");
    }

    #[test]
    fn transformer_usable_from_other_threads() {
        let fwd = t(&Crs::Wgs84, &Crs::Proj("EPSG:2385".into()));
        let here = fwd.convert(121.5, 31.5).unwrap();
        let there = std::thread::spawn(move || fwd.convert(121.5, 31.5).unwrap())
            .join()
            .unwrap();
        assert_eq!(here, there);
    }
}
