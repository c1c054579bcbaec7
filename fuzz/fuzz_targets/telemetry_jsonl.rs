//! Telemetry JSON Lines (`twin replay FILE.jsonl`, gateway payloads):
//! `twin_core::telemetry::parse` as JSON Lines, and on every line and the whole input
//! the fast parser (`parse_json_line`) against the serde_json DOM reference
//! (`parse_json_line_serde`) and the typed one (`parse_json_line_typed`): the module
//! promises the same readings and the same error messages, so a difference is a crash.
#![no_main]
use twin_core::telemetry::{
    Format, parse, parse_json_line, parse_json_line_serde, parse_json_line_typed,
};

fn same(line: &str) {
    let fast = parse_json_line(line);
    let dom = parse_json_line_serde(line);
    assert_eq!(fast, dom, "parse_json_line and the serde DOM differ on {line:?}");
    let typed = parse_json_line_typed(line).map(|r| r.to_reading());
    assert_eq!(typed, dom, "the typed parser and the serde DOM differ on {line:?}");
}

twin_fuzz::fuzz_parser!(|data: &[u8]| {
    let Some(text) = twin_fuzz::text(data) else { return };
    let _ = parse(text, "fuzz.jsonl", Format::JsonLines);
    same(text);
    for line in text.lines() {
        same(line);
        same(line.trim());
    }
});
