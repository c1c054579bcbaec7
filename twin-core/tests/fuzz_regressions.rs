//! Inputs the fuzzers found (fuzz/regressions/, docs/fuzzing.md): each is refused
//! with an error that says what is wrong, where it panicked, aborted or took gigabytes
//! before.

use std::path::PathBuf;

use twin_core::load::{Mapping, check_gpkg_blob, read_flatgeobuf};
use twin_core::state::alert::load_geofences_json;

fn found(target: &str, name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target)
        .join(name)
}

#[test]
fn a_geofence_position_of_one_number_is_refused() {
    let text =
        std::fs::read_to_string(found("alert_rules", "geofence-position-of-one-number.json"))
            .unwrap();
    let err = load_geofences_json(&text).unwrap_err().to_string();
    assert!(err.contains("has 1 positions"), "{err}");
}

#[test]
fn a_flatgeobuf_feature_declaring_4_gib_is_refused_without_allocating_it() {
    let err = read_flatgeobuf(
        &found("flatgeobuf", "feature-size-4gib.fgb"),
        &Mapping::default(),
    )
    .expect_err("refused")
    .to_string();
    assert!(err.contains("bytes left"), "{err}");
}

#[test]
fn a_geopackage_blob_declaring_billions_of_rings_is_refused() {
    let blob = std::fs::read(found("gpkg_geometry", "polygon-ring-count-huge.gpb")).unwrap();
    let err = check_gpkg_blob(&blob).unwrap_err();
    assert!(err.contains("rings"), "{err}");
}

#[test]
fn a_flatgeobuf_header_whose_index_size_overflows_is_refused() {
    let err = read_flatgeobuf(
        &found("flatgeobuf", "index-size-overflow.fgb"),
        &Mapping::default(),
    )
    .expect_err("refused")
    .to_string();
    assert!(err.contains("index-size-overflow.fgb"), "{err}");
}

#[test]
fn a_geopackage_ring_declaring_billions_of_points_is_refused() {
    let blob = std::fs::read(found("gpkg_geometry", "ring-point-count-huge.gpb")).unwrap();
    let err = check_gpkg_blob(&blob).unwrap_err();
    assert!(err.contains("bytes left"), "{err}");
}

#[test]
fn a_cityjson_ring_of_two_positions_does_not_reach_earcut() {
    let text =
        std::fs::read_to_string(found("cityjson", "earcut-ring-under-4-positions.city.json"))
            .unwrap();
    // Loads or is refused with a reason; never panics (a debug assertion in earcut).
    let _ = twin_core::load::read_cityjson_str(&text, "found.city.json", &Mapping::default());
}

#[test]
fn a_geopackage_multipolygon_whose_part_says_point_is_refused() {
    // geozero read the part as a polygon anyway, and one of its rings declared
    // 4 billion points: a 68 GB allocation. Found by the CI's brief fuzz run.
    let blob = std::fs::read(found("gpkg_geometry", "multipolygon-part-says-point.gpb")).unwrap();
    let err = check_gpkg_blob(&blob).unwrap_err();
    assert!(
        err.contains("MultiPolygon") && err.contains("Point"),
        "{err}"
    );
}

#[test]
fn a_cityjson_building_whose_surfaces_break_the_union_does_not_panic() {
    // i_overlay's debug assertion `is_fill_top` fired inside geo's unary_union.
    let text = std::fs::read_to_string(found(
        "cityjson",
        "union-assertion-degenerate-surfaces.city.json",
    ))
    .unwrap();
    let read = twin_core::load::read_cityjson_str(&text, "found.city.json", &Mapping::default())
        .expect("the file itself reads");
    // The building whose union failed is refused, saying why.
    let why: Vec<String> = read
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
        .collect();
    assert!(
        why.iter().any(|w| w.contains("could not be unioned")),
        "{why:?}"
    );
}
