//! MQTT payloads: `twin_core::telemetry::wire::decode` (one asset's message, the id
//! from its topic) and `wire::decode_batch` (a gateway's `_batch` message: arrays of
//! readings, SensorThings `dataArray`s), as `twin run --mqtt` and `twin serve --mqtt`
//! call them on every message.
#![no_main]
use twin_core::telemetry::wire;

twin_fuzz::fuzz_parser!(|data: &[u8]| {
    let _ = wire::decode(data, "T-S-WL-1");
    let _ = wire::decode_batch(data);
});
