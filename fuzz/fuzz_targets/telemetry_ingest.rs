//! Telemetry JSON Lines applied to a live twin (the web package's `apply_json`, bulk
//! ingest): `twin_core::telemetry::JsonIngest::ingest` on one session against
//! `telemetry::parse` + `Session::apply_readings` on another. The module promises the
//! same readings, errors and report, so a difference is a crash. The two sessions (the
//! tiny twin) live as long as the process and take every input in step, so they stay
//! alike; a crash may depend on the inputs before it (libFuzzer then saves the last).
#![no_main]
use std::cell::RefCell;

use twin_core::telemetry::{Format, JsonIngest, parse};
use twin_core::{Session, Timestamp};

/// The end of the tiny twin's three simulated hours, plus a minute.
const NOW_MS: i64 = 1_765_010_860_000;

thread_local! {
    static PAIR: RefCell<(Session, Session, JsonIngest)> = RefCell::new((
        twin_fuzz::new_session(),
        twin_fuzz::new_session(),
        JsonIngest::new(),
    ));
}

twin_fuzz::fuzz_parser!(|data: &[u8]| {
    let Some(text) = twin_fuzz::text(data) else { return };
    let now = Timestamp::from_millis(NOW_MS);
    PAIR.with(|p| {
        let (fast, reference, ingest) = &mut *p.borrow_mut();
        let got = ingest.ingest(fast, text, "fuzz.jsonl", now);
        let file = parse(text, "fuzz.jsonl", Format::JsonLines);
        let report = reference.apply_readings(&file.readings, now);
        assert_eq!(got.errors, file.errors, "JsonIngest and parse differ in errors");
        assert_eq!(got.report, report, "JsonIngest and apply_readings differ in the report");
    });
});
