//! glTF models (`twin render --model FILE.glb`): `twin_render::Model::from_glb`
//! (the `gltf` crate's GLB and JSON reading, twin-render's bounds checks, accessors,
//! node transforms), then `Model::place` on the island.
//!
//! twin-render catches the `gltf` crate's panics itself and refuses the file; as in
//! every target, only a panic that escapes `from_glb` is a crash (`fuzz_parser!`).
#![no_main]
use twin_render::{Model, Placement};

twin_fuzz::fuzz_parser!(|data: &[u8]| {
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
