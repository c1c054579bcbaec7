//! Mapping files (`--mapping FILE`): `twin_core::Mapping::from_json`, and a mapping
//! that reads is applied to the tiny twin's GeoJSON (ids, kinds, kind rules, heights,
//! levels, the CRS) as a load with it would.
#![no_main]
use twin_core::Mapping;

twin_fuzz::fuzz_parser!(|data: &[u8]| {
    let Some(text) = twin_fuzz::text(data) else { return };
    if let Ok(m) = Mapping::from_json(text) {
        let _ = twin_core::load::read_geojson_str(twin_fuzz::TINY_GEOJSON, "tiny.geojson", &m);
    }
});
