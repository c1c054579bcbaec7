//! FlatGeobuf: `twin_core::load::read_bytes` as a `.fgb` file (the `flatgeobuf` crate's
//! header and index reading, twin-core's checked geometry and property decoding, the
//! header's CRS), then the features into a twin as a lenient load does.
#![no_main]
use twin_core::{LoadMode, Mapping, Twin};

twin_fuzz::fuzz_parser!(|data: &[u8]| {
    let mapping = Mapping::default();
    if let Ok(read) = twin_core::load::read_bytes(data, "fuzz.fgb", &mapping) {
        let _ = Twin::from_reads(vec![read], LoadMode::Lenient);
    }
});
