//! CityJSON and CityJSONSeq: `twin_core::load::read_bytes` as a `.city.json` document
//! and as a `.city.jsonl` stream (versions, transforms, vertex indices, geometry
//! templates, the CRS), then the features into a twin as a lenient load does.
#![no_main]
use twin_core::{LoadMode, Mapping, Twin};

twin_fuzz::fuzz_parser!(|data: &[u8]| {
    let mapping = Mapping::default();
    for name in ["fuzz.city.json", "fuzz.city.jsonl"] {
        if let Ok(read) = twin_core::load::read_bytes(data, name, &mapping) {
            let _ = Twin::from_reads(vec![read], LoadMode::Lenient);
        }
    }
});
