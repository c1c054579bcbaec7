//! GeoPackage geometry blobs: what twin-gpkg's reader does with a row's geometry
//! (`twin-gpkg/src/lib.rs`): `twin_core::load::check_gpkg_blob` (the
//! counts against the blob's length), then `geozero::wkb::GpkgWkb(blob).to_geo()`,
//! then the feature through `twin_core::load::read_features` with the default mapping
//! (the blob's CRS declared as the table's, EPSG:4326).
#![no_main]
use geozero::ToGeo;
use twin_core::load::{Mapping, RawFeature, read_features};

twin_fuzz::fuzz_parser!(|data: &[u8]| {
    let geometry = twin_core::load::check_gpkg_blob(data)
        .and_then(|()| {
            geozero::wkb::GpkgWkb(data.to_vec())
                .to_geo()
                .map_err(|e| e.to_string())
        })
        .map_err(|e| format!("geometry: {e}"));
    let mut properties = serde_json::Map::new();
    properties.insert("id".into(), "G-1".into());
    properties.insert("kind".into(), "building".into());
    let f = RawFeature {
        properties,
        own_id: Some("1".into()),
        geometry,
    };
    let _ = read_features("fuzz.gpkg", &Mapping::default(), None, [f]);
});
