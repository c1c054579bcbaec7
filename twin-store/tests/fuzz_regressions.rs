//! A history file the fuzzer found (fuzz/regressions/history_parquet/): the parquet
//! crate panicked on its corrupt page; the twin refuses the file with its name.

use std::path::PathBuf;

#[test]
fn a_corrupt_history_file_is_an_error_not_a_panic() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions/history_parquet/rle-vlq-too-long.parquet");
    let err = twin_store::columnar::for_each_row(&path, |_| {})
        .expect_err("refused")
        .to_string();
    assert!(err.contains("rle-vlq-too-long.parquet"), "{err}");
}
