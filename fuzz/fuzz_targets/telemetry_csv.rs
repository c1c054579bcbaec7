//! Telemetry CSV (`twin replay FILE.csv`): `twin_core::telemetry::parse` as CSV
//! (header, comments, `id,channel,ts,value[,quality]`).
#![no_main]
use twin_core::telemetry::{Format, parse};

twin_fuzz::fuzz_parser!(|data: &[u8]| {
    let Some(text) = twin_fuzz::text(data) else { return };
    let _ = parse(text, "fuzz.csv", Format::Csv);
});
