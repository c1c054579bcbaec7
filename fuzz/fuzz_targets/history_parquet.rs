//! History files (`--data-dir D`, D/history/*.parquet, read by `twin history` and the
//! server's history route): `twin_store::columnar::for_each_row` over a file (the parquet and
//! arrow crates, then twin-store's column checks).
#![no_main]

twin_fuzz::fuzz_parser!(|data: &[u8]| {
    let path = twin_fuzz::scratch_file("history.parquet", data);
    let _ = twin_store::columnar::for_each_row(&path, |_| {});
});
