//! Dispatch rules files: `twin_core::state::orders::DispatchRules::from_json`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = twin_fuzz::text(data) else { return };
    let _ = twin_core::state::orders::DispatchRules::from_json(text);
});
