//! The viewer's `--data` files, GeoPackage included: a GeoPackage GDAL wrote
//! (`ogr2ogr` from Natural Earth's countries, the file in twin-core's tests) opens
//! with its 177 countries, Paris in France, as `twin --data` opens it.

use std::path::PathBuf;

#[test]
fn a_geopackage_gdal_wrote_opens_with_its_countries() {
    let ne = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../twin-core/tests/data/external/ne_110m_admin_0_countries.geojson");
    let dir = std::env::temp_dir().join(format!("twin-viewer-gpkg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let gpkg = dir.join("ne.gpkg");
    let _ = std::fs::remove_file(&gpkg);
    let made = match std::process::Command::new("ogr2ogr")
        .args([
            "-f",
            "GPKG",
            gpkg.to_str().unwrap(),
            ne.to_str().unwrap(),
            "-nln",
            "countries",
        ])
        .output()
    {
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must have ogr2ogr (gdal-bin)"
            );
            eprintln!("ogr2ogr not installed: skipping");
            return;
        }
        Ok(o) => o,
    };
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let mapping =
        twin_core::Mapping::from_options(None, Some("ADM0_A3"), Some("custom:country"), None)
            .unwrap();
    let (twin, reports) = twin_viewer::files::twin_of_files(
        std::slice::from_ref(&gpkg),
        &mapping,
        twin_core::LoadMode::Strict,
    )
    .unwrap();
    assert_eq!(twin.len(), 177);
    assert!(reports.iter().all(|r| r.rejected.is_empty()));
    let paris: Vec<&str> = twin
        .query_containing(geo_types::Point::new(2.35, 48.86), None)
        .into_iter()
        .map(|h| twin.get(h).unwrap().id.as_str())
        .collect();
    assert_eq!(paris, ["FRA"]);
    // A file that is not a GeoPackage is refused by name.
    let fake = dir.join("fake.gpkg");
    std::fs::write(&fake, "not sqlite").unwrap();
    let err = twin_viewer::files::twin_of_files(&[fake], &mapping, twin_core::LoadMode::Strict)
        .unwrap_err();
    assert!(err.contains("fake.gpkg"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
