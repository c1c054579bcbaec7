//! glTF models: `twin render --model FILE.glb` (`twin_render::Model::from_glb`) and
//! building models `--bim FILE.glb` (`twin_bim::gltf::read_gltf_bytes`, each named
//! node an element, centred on a place for inputs of even length), both through
//! twin-core's glTF reader (the `gltf` crate's GLB and JSON reading, the bounds
//! checks, accessors, node transforms), then `Model::place` on the island and the
//! rooms' sensors.
//!
//! twin-core catches the `gltf` crate's panics itself and refuses the file; as in
//! every target, only a panic that escapes is a crash (`fuzz_parser!`).
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
    let options = twin_bim::ReadOptions {
        place: Some(twin_bim::Place {
            lon: 121.4,
            lat: 31.6,
            heading: 30.0,
            base: 0.0,
        }),
        centred: data.len() % 2 == 0,
        ..twin_bim::ReadOptions::default()
    };
    if let Ok(m) = twin_bim::gltf::read_gltf_bytes(data, &[], "fuzz.glb", &options) {
        let _ = twin_bim::with_room_sensors(m.assets);
    }
});
