//! History files (`--data-dir D`, D/history/*.parquet, read by `twin history` and the
//! server's history route): `twin_store::columnar::read` over a file (the parquet and
//! arrow crates, then twin-store's column checks).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = twin_fuzz::scratch_file("history.parquet", data);
    let _ = twin_store::columnar::read(&path, |_, _| true);
});
