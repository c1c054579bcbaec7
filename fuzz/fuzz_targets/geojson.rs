//! GeoJSON: `twin_core::load::read_bytes` as a `.geojson` file (UTF-8 check, the
//! FeatureCollection / Feature / bare-geometry reader, the legacy `crs` member, every
//! feature's checks through the default mapping), then the features into a twin as a
//! lenient load does (`Twin::from_reads`: ids, relations, the R-tree).
#![no_main]
use twin_core::{LoadMode, Mapping, Twin};

twin_fuzz::fuzz_parser!(|data: &[u8]| {
    let mapping = Mapping::default();
    if let Ok(read) = twin_core::load::read_bytes(data, "fuzz.geojson", &mapping) {
        let _ = Twin::from_reads(vec![read], LoadMode::Lenient);
    }
});
