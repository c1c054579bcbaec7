//! MQTT topics: `twin_core::topic::Topic::parse` (`twin/<town>/<kind>/<id>`, escaped
//! segments) and `Topic::check` against the tiny twin; and `decode_segment` of
//! `encode_segment` gives back any non-empty text (a crash if not).
#![no_main]
use twin_core::topic::{Topic, decode_segment, encode_segment};

twin_fuzz::fuzz_parser!(|data: &[u8]| {
    let Some(text) = twin_fuzz::text(data) else { return };
    if let Ok(t) = Topic::parse(text) {
        let _ = t.check(twin_fuzz::twin());
    }
    let _ = decode_segment(text);
    if !text.is_empty() {
        let e = encode_segment(text);
        assert_eq!(decode_segment(&e).as_deref(), Ok(text), "round trip of {text:?} via {e:?}");
    }
});
