//! Incident rules files: `twin_core::state::incident::IncidentRules::from_json`.
#![no_main]

twin_fuzz::fuzz_parser!(|data: &[u8]| {
    let Some(text) = twin_fuzz::text(data) else { return };
    let _ = twin_core::state::incident::IncidentRules::from_json(text);
});
