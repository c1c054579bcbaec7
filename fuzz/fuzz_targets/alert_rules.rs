//! Alert rules files (`--rules FILE`, `PUT /api/v1/rules`):
//! `twin_core::state::alert::load_rules_json` against the standard channels of the
//! tiny twin, and `load_geofences_json` on the same text.
#![no_main]
use twin_core::state::alert::{load_geofences_json, load_rules_json};

twin_fuzz::fuzz_parser!(|data: &[u8]| {
    let Some(text) = twin_fuzz::text(data) else { return };
    let _ = load_rules_json(text, twin_fuzz::store());
    let _ = load_geofences_json(text);
});
