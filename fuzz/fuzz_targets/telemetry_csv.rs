//! Telemetry CSV (`twin replay FILE.csv`): `twin_core::telemetry::parse` as CSV
//! (header, comments, `id,channel,ts,value[,quality]`).
#![no_main]
use libfuzzer_sys::fuzz_target;
use twin_core::telemetry::{Format, parse};

fuzz_target!(|data: &[u8]| {
    let Some(text) = twin_fuzz::text(data) else { return };
    let _ = parse(text, "fuzz.csv", Format::Csv);
});
