//! History files the fuzzer found (fuzz/regressions/history_parquet/): the parquet crate
//! panicked on one's corrupt page and looped for half a minute on the other's corrupt page
//! header; the twin refuses both with the file's name.

use std::path::PathBuf;

fn refusal(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions/history_parquet")
        .join(name);
    let err = twin_store::columnar::for_each_row(&path, |_| {})
        .expect_err("refused")
        .to_string();
    assert!(err.contains(name), "{err}");
    err
}

#[test]
fn a_corrupt_history_file_is_an_error_not_a_panic() {
    refusal("rle-vlq-too-long.parquet");
}

/// The page header declares a list that runs past the end of the file: the parquet
/// crate's Thrift skip read nothing 2^31 times (30 s from memory); the strict reader
/// ends it at the first read past the end.
#[test]
fn a_page_header_running_past_the_end_is_refused_at_the_end() {
    let err = refusal("thrift-list-skip-at-eof.parquet");
    assert!(err.contains("past the end of the file"), "{err}");
}

/// The `value` column's dictionary page declares 1.7 billion doubles in a few bytes:
/// the parquet crate allocated 13.9 GB for it; the twin refuses the page first.
#[test]
fn a_dictionary_declaring_more_values_than_its_bytes_is_refused() {
    let err = refusal("dictionary-count-13gb.parquet");
    assert!(err.contains("a dictionary page declares"), "{err}");
}
