//! Files other projects wrote (tests/data/external, with their sources and licences)
//! load with a mapping: their own id and kind fields, the CRS their header declares,
//! OpenStreetMap's tags and heights. Known answers are counted features, points inside
//! known countries, and a vertex converted from Web Mercator by hand.

use std::path::PathBuf;

use geo::CoordsIter;
use twin_core::crs::LocalFrame;
use twin_core::{AssetKind, IdSource, KindFilter, LoadError, LoadMode, Mapping, Twin};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/external")
        .join(name)
}

fn twin() -> Twin {
    Twin::new(LocalFrame::chongming())
}

#[test]
fn natural_earth_countries_load_with_their_own_id_and_name_fields() {
    let mapping =
        Mapping::from_json(r#"{"id": "ADM0_A3", "kind": "custom:country", "name_en": "NAME"}"#)
            .unwrap();
    let path = data("ne_110m_admin_0_countries.geojson");
    // All 177, even in a strict load: Sudan's ring crosses itself, which is reported
    // as a warning.
    let mut t = twin();
    let report = t.load_file(&path, &mapping, LoadMode::Strict).unwrap();
    assert_eq!(report.inserted.len(), 177);
    assert_eq!(report.warnings.len(), 1);
    assert_eq!(report.warnings[0].id.as_deref(), Some("SDN"));
    assert!(report.warnings[0].to_string().contains("self-intersection"));
    // Paris is in France, Canberra in Australia, Brasília in Brazil.
    let country: KindFilter = "custom:country".parse().unwrap();
    for ((lon, lat), want, name) in [
        ((2.35, 48.86), "FRA", "France"),
        ((149.13, -35.28), "AUS", "Australia"),
        ((-47.88, -15.79), "BRA", "Brazil"),
    ] {
        let hits = t.query_containing((lon, lat), Some(&country));
        let ids: Vec<&str> = hits
            .iter()
            .map(|h| t.get(*h).unwrap().id.as_str())
            .collect();
        assert_eq!(ids, [want], "at {lon},{lat}");
        let a = t.get(hits[0]).unwrap();
        assert_eq!(a.name_en.as_deref(), Some(name));
        assert!(
            !a.properties.contains_key("ADM0_A3"),
            "the id field is consumed"
        );
        assert!(a.properties.contains_key("ISO_A2"), "other fields are kept");
    }
}

#[test]
fn a_flatgeobuf_file_with_its_index_and_header_crs() {
    let mut mapping = Mapping::default();
    mapping.set_kind("custom:country").unwrap();
    mapping.name_en = "name".into();
    let mut t = twin();
    let report = t
        .load_file(&data("countries.fgb"), &mapping, LoadMode::Strict)
        .unwrap();
    assert_eq!(report.inserted.len(), 179);
    // Antarctica and Canada have rings that cross themselves.
    let odd: Vec<&str> = report
        .warnings
        .iter()
        .filter_map(|w| w.id.as_deref())
        .collect();
    assert_eq!(odd, ["ATA", "CAN"]);
    // The flatgeobuf project's README: the box (8.8, 47.2, 9.5, 55.3) holds 6
    // features, one of them Denmark.
    let hits = t.query_bbox(geo_types::Rect::new((8.8, 47.2), (9.5, 55.3)), None);
    let names: Vec<&str> = hits
        .iter()
        .filter_map(|h| t.get(*h).unwrap().name_en.as_deref())
        .collect();
    assert_eq!(hits.len(), 6, "{names:?}");
    assert!(names.contains(&"Denmark"), "{names:?}");
}

#[test]
fn osm_buildings_in_web_mercator_with_tags_heights_and_feature_ids() {
    let mut mapping =
        Mapping::from_json(r#"{"kind": "osm", "levels": "building:levels"}"#).unwrap();
    mapping.id = IdSource::Feature;
    let path = data("osm-buildings-3857-ch-sample.fgb");
    let mut t = twin();
    let report = t.load_file(&path, &mapping, LoadMode::Strict).unwrap();
    assert_eq!(report.inserted.len(), 204);
    assert!(t.iter().all(|(_, a)| a.kind == AssetKind::Building));
    // Feature ids are the features' indexes (GDAL's FIDs).
    let first = t.get(t.handle("0").unwrap()).unwrap();
    assert_eq!(first.source.feature, 0);
    assert_eq!(
        first.source_crs,
        twin_core::crs::Crs::WebMercator,
        "the header's CRS"
    );
    // Its first vertex, converted by hand from the file's own metres:
    // lon = x / R, lat = 2 atan(e^(y / R)) - π/2, R = 6 378 137 m.
    let (x, y) = first_vertex_in_file(&path);
    let r = 6_378_137.0f64;
    let lon = (x / r).to_degrees();
    let lat = (2.0 * (y / r).exp().atan() - std::f64::consts::FRAC_PI_2).to_degrees();
    let c = first.geometry.coords_iter().next().unwrap();
    assert!(
        (c.x - lon).abs() < 1e-9 && (c.y - lat).abs() < 1e-9,
        "({}, {}) read, ({lon}, {lat}) by hand",
        c.x,
        c.y
    );
    assert!(
        (5.9..10.5).contains(&lon) && (45.8..47.9).contains(&lat),
        "in Switzerland"
    );
    // Heights as OSM writes them: `15 m` is 15 m.
    let tall = t
        .iter()
        .find(|(_, a)| a.source.feature == 59)
        .map(|(_, a)| a.vertical.height)
        .unwrap();
    assert_eq!(tall, 15.0);
}

/// The first x, y of the first feature, as stored in the file (read with the
/// flatgeobuf crate, not twin's reader).
fn first_vertex_in_file(path: &std::path::Path) -> (f64, f64) {
    use fallible_streaming_iterator::FallibleStreamingIterator;
    let mut r = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let fgb = flatgeobuf::FgbReader::open(&mut r).unwrap();
    let mut it = fgb.select_all_seq().unwrap();
    let f = it.next().unwrap().unwrap();
    let xy = f.fbs_feature().geometry().unwrap();
    let parts = xy.parts().map(|p| p.get(0));
    let g = parts.unwrap_or(xy);
    let v = g.xy().unwrap();
    (v.get(0), v.get(1))
}

#[test]
fn a_header_crs_is_used_and_crs_overrides_it() {
    let mut mapping = Mapping::default();
    mapping.set_id("auto").unwrap();
    mapping.set_kind("building").unwrap();
    let path = data("poly00.fgb");
    // British National Grid to lon/lat. The file is GDAL's synthetic `poly` layer
    // (northings near 4,765 km, far north of Britain, outside OSGB36's area of use).
    let mut t = twin();
    let report = t.load_file(&path, &mapping, LoadMode::Strict).unwrap();
    assert_eq!(report.inserted.len(), 10);
    let a = t.get(t.handle("poly00:0").unwrap()).unwrap();
    let c = a.geometry.coords_iter().next().unwrap();
    // Outside the area of use PROJ applies no datum shift: GDAL's `ogr2ogr -t_srs
    // EPSG:4326 poly00.fgb` puts feature 0's first vertex here.
    #[cfg(feature = "proj")]
    let (lon, lat) = (162.67812121181328, 87.26339831033363);
    // The bundled EPSG database (proj4rs) always applies the definition's Helmert
    // shift; GDAL with that shift spelled out gives (`echo "480701.0625 4764738.0" |
    // gdaltransform -s_srs "+proj=tmerc +lat_0=49 +lon_0=-2 +k=0.9996012717 +x_0=400000
    // +y_0=-100000 +ellps=airy +towgs84=446.448,-125.157,542.06,0.15,0.247,0.842,-20.489
    // +units=m" -t_srs EPSG:4326 -output_xy`):
    #[cfg(not(feature = "proj"))]
    let (lon, lat) = (162.676232860867, 87.2679196259745);
    // Within a centimetre: a degree of longitude is 5.3 km up there.
    let (dx, dy) = ((c.x - lon) * 5_300.0, (c.y - lat) * 111_000.0);
    assert!(dx.hypot(dy) < 0.01, "{c:?}: {dx} m, {dy} m");
    // A CRS given by the user wins over the header's: read as lon/lat, the metres are
    // refused with a message that says what to do.
    let lonlat = mapping.clone().with_crs(twin_core::crs::Crs::Wgs84);
    let e = twin()
        .load_file(&path, &lonlat, LoadMode::Strict)
        .unwrap_err()
        .to_string();
    assert!(e.contains("give its CRS (--crs"), "{e}");
}

#[test]
fn auto_ids_are_the_same_on_every_load_and_marked() {
    let mut mapping = Mapping::default();
    mapping.set_id("auto").unwrap();
    mapping.set_kind("custom:country").unwrap();
    let path = data("countries.fgb");
    let ids = |t: &Twin| -> Vec<String> { t.iter().map(|(_, a)| a.id.clone()).collect() };
    let mut a = twin();
    a.load_file(&path, &mapping, LoadMode::Strict).unwrap();
    let mut b = twin();
    b.load_file(&path, &mapping, LoadMode::Strict).unwrap();
    assert_eq!(ids(&a), ids(&b));
    let first = a.get(a.handle("countries:0").unwrap()).unwrap();
    assert_eq!(
        first.properties.get("id_generated"),
        Some(&twin_core::PropValue::Bool(true))
    );
}

#[test]
fn a_file_that_crashed_a_reader_is_refused() {
    let e = twin()
        .load_file(
            &data("clusterfuzz-crash.fgb"),
            &Mapping::default(),
            LoadMode::Lenient,
        )
        .unwrap_err();
    assert!(matches!(e, LoadError::Format { .. }), "{e}");
}

#[test]
fn a_twin_of_files_is_framed_on_their_data() {
    // Zurich's buildings: the frame sits among them, so local metres are true metres.
    let mut mapping = Mapping::from_json(r#"{"kind": "osm", "id": "@feature"}"#).unwrap();
    mapping.storey_height = 3.0;
    let (t, reports) = Twin::from_files(
        &[data("osm-buildings-3857-ch-sample.fgb")],
        &mapping,
        LoadMode::Strict,
    )
    .unwrap();
    assert_eq!(reports[0].inserted.len(), 204);
    let (lon0, lat0) = (t.frame().origin_lon(), t.frame().origin_lat());
    assert!(
        (5.9..10.5).contains(&lon0) && (45.8..47.9).contains(&lat0),
        "{lon0},{lat0}"
    );
    for (h, a) in t.iter() {
        let c = a.geometry.coords_iter().next().unwrap();
        let (e, n) = t.frame().to_local(c.x, c.y);
        assert!(e.abs() < 50_000.0 && n.abs() < 50_000.0, "{h:?} at {e},{n}");
    }
    // The world's countries: no frame holds them all, and queries stay right.
    let world = Mapping::from_json(r#"{"id": "ADM0_A3", "kind": "custom:country"}"#).unwrap();
    let (t, _) = Twin::from_files(
        &[data("ne_110m_admin_0_countries.geojson")],
        &world,
        LoadMode::Strict,
    )
    .unwrap();
    for ((lon, lat), want) in [
        ((139.69, 35.69), "JPN"),
        ((-74.0, 40.71), "USA"),
        ((151.21, -33.87), "AUS"),
    ] {
        let ids: Vec<String> = t
            .query_containing((lon, lat), None)
            .iter()
            .map(|h| t.get(*h).unwrap().id.clone())
            .collect();
        assert_eq!(ids, [want], "at {lon},{lat}");
    }
}

#[test]
fn distances_on_a_world_map_and_data_across_the_antimeridian() {
    let world = Mapping::from_json(r#"{"id": "ADM0_A3", "kind": "custom:country"}"#).unwrap();
    let (t, _) = Twin::from_files(
        &[data("ne_110m_admin_0_countries.geojson")],
        &world,
        LoadMode::Strict,
    )
    .unwrap();
    // 100 km around Paris is France only; Belgium's border is about 200 km away.
    let paris = geo_types::Geometry::Point(geo_types::Point::new(2.35, 48.86));
    let ids = |hs: Vec<twin_core::Handle>| -> Vec<String> {
        hs.iter().map(|h| t.get(*h).unwrap().id.clone()).collect()
    };
    assert_eq!(
        ids(t.query_within_distance_of(&paris, 100_000.0, None)),
        ["FRA"]
    );
    let near = ids(t.query_within_distance_of(&paris, 300_000.0, None));
    assert!(
        near.contains(&"BEL".to_string()) && near.contains(&"LUX".to_string()),
        "{near:?}"
    );
    assert!(!near.contains(&"ESP".to_string()), "{near:?}");
    // Two points either side of 180°: the frame sits on the antimeridian, not at 0°.
    let dir = std::env::temp_dir().join(format!("twin-antimeridian-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("fiji.geojson");
    std::fs::write(
        &file,
        r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"id":"A","kind":"custom:x"},"geometry":{"type":"Point","coordinates":[179.5,-17.0]}},
            {"type":"Feature","properties":{"id":"B","kind":"custom:x"},"geometry":{"type":"Point","coordinates":[-179.5,-16.0]}}]}"#,
    )
    .unwrap();
    let (t, _) = Twin::from_files(&[file], &Mapping::default(), LoadMode::Strict).unwrap();
    let lon0 = t.frame().origin_lon();
    assert!(lon0.abs() > 179.9, "{lon0}");
    let (e, _) = t.frame().to_local(179.5, -17.0);
    assert!(e.abs() < 60_000.0, "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--id auto --as custom:thing`: any file's features, whatever its fields.
fn anything() -> Mapping {
    let mut m = Mapping::default();
    m.set_id("auto").unwrap();
    m.set_kind("custom:thing").unwrap();
    m
}

#[test]
fn every_valid_file_loads_with_the_count_gdal_gives() {
    // Counts from GDAL 3.6's `ogrinfo -so -al FILE`; topp_states.fgb is a version 2
    // FlatGeobuf GDAL 3.6 refuses: its 49 are GeoServer's `topp:states` (48 states and
    // the District of Columbia).
    for (file, count) in [
        ("heterogeneous.fgb", 3),
        ("alldatatypes.fgb", 1),
        ("topp_states.fgb", 49),
        ("unknown_feature_count.fgb", 1),
        ("empty.fgb", 0),
        ("ne_50m_populated_places.geojson", 1249),
    ] {
        let (t, reports) = Twin::from_files(&[data(file)], &anything(), LoadMode::Strict)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(t.len(), count, "{file}");
        assert!(reports[0].rejected.is_empty(), "{file}");
    }
    // Point, line and polygon in one file, each as it is.
    let (t, _) =
        Twin::from_files(&[data("heterogeneous.fgb")], &anything(), LoadMode::Strict).unwrap();
    let mut types: Vec<&str> = t
        .iter()
        .map(|(_, a)| match a.geometry {
            geo_types::Geometry::Point(_) => "point",
            geo_types::Geometry::LineString(_) => "line",
            geo_types::Geometry::MultiPolygon(_) | geo_types::Geometry::Polygon(_) => "polygon",
            _ => "other",
        })
        .collect();
    types.sort_unstable();
    assert_eq!(types, ["line", "point", "polygon"]);
}

#[test]
fn geojsonhint_bad_fixtures_are_refused_with_the_file_named_or_load_as_rfc_7946_allows() {
    // mapbox/geojsonhint's `bad` fixtures. RFC 7946 asks readers to accept some of
    // what a linter warns about: a polygon's winding order (§3.1.6), a bbox of the wrong
    // length (a member readers may ignore), positions with more than three numbers or
    // mixed dimensions (§3.1.1 "SHOULD NOT", not "MUST NOT"), foreign members named like
    // GeoJSON's (§6.1), a one-member GeometryCollection, many decimals. Those load; every
    // other fixture is refused, and the error names the file.
    let loads = [
        "bad-polygon-interiorring-rhr.geojson",
        "bbox-4or6elements.geojson",
        "different-first-size.geojson",
        "excessive_precision_truncated.geojson",
        "feature_changed_semantics.geojson",
        "featurecollection_changed_semantics.geojson",
        "geometry_changed_semantics.geojson",
        "geometrycollection_single.geojson",
        "point-toomany.geojson",
        "polygon_winding_order.geojson",
    ];
    let mut refused = 0;
    let dir = data("geojson-bad");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "geojson"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 44);
    for path in files {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let mut t = twin();
        match t.load_file(&path, &anything(), LoadMode::Strict) {
            Ok(report) => {
                assert!(loads.contains(&name.as_str()), "{name} loaded");
                assert!(!report.inserted.is_empty(), "{name}");
            }
            Err(e) => {
                assert!(!loads.contains(&name.as_str()), "{name}: {e}");
                assert!(e.to_string().contains(&name), "{name}: {e}");
                assert_eq!(t.len(), 0, "{name}");
                refused += 1;
            }
        }
    }
    assert_eq!(refused, 34);
    // Some reasons, as a user reads them.
    let reason = |f: &str| {
        twin()
            .load_file(&dir.join(f), &anything(), LoadMode::Strict)
            .unwrap_err()
            .to_string()
    };
    assert!(reason("short-linearring.geojson").contains("has 3 positions, needs at least 4"));
    assert!(reason("different-first-last.geojson").contains("is not closed"));
    assert!(reason("bad-json.geojson").contains("not valid GeoJSON"));
    assert!(reason("unknowntype.geojson").contains("found `FooBar`"));
}
