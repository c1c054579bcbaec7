//! Snapshots (`twin run --save`, `--resume`, checkpoints): `twin_core::snapshot::from_bytes`
//! (what `snapshot::load` calls after reading the file). A snapshot that loads must
//! save again and that save must load: anything else is a crash.
#![no_main]
use twin_core::SessionConfig;
use twin_core::snapshot::{from_bytes, to_bytes};

twin_fuzz::fuzz_parser!(|data: &[u8]| {
    if let Ok(s) = from_bytes(data, "fuzz.twin", SessionConfig::default())
        && let Ok(again) = to_bytes(&s)
    {
        if let Err(e) = from_bytes(&again, "resaved.twin", SessionConfig::default()) {
            panic!("a loaded snapshot saved again does not load: {e}");
        }
    }
});
