//! glTF models (`twin render --model FILE.glb`): `twin_render::Model::from_glb`
//! (the `gltf` crate's GLB and JSON reading, twin-render's bounds checks, accessors,
//! node transforms), then `Model::place` on the island.
//!
//! twin-render catches a panic of `gltf::Document::from_json` itself (a known
//! gltf-json panic on corrupt input) and refuses the file: libFuzzer's hook would
//! abort on that caught panic, so this target records panics instead and aborts only
//! on one that escapes `from_glb`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use twin_render::{Model, Placement};

fuzz_target!(
    init: {
        twin_fuzz::record_panics_instead_of_aborting();
    },
    |data: &[u8]| {
        twin_fuzz::run_catching(|| {
            if let Ok(m) = Model::from_glb(data, "fuzz.glb") {
                let frame = twin_core::crs::LocalFrame::new(121.4, 31.6, 0.0);
                let p = Placement {
                    lon: 121.4,
                    lat: 31.6,
                    base: 0.0,
                    heading_deg: 30.0,
                    scale: 1.0,
                };
                let _ = m.place(&p, &frame, 1);
            }
        });
    }
);
