//! Overlay files (`twin render --overlay FILE`, `twin serve --overlay NAME=FILE`):
//! `twin_core::state::overlay::load_layers_json` against the tiny twin's channels.
#![no_main]

twin_fuzz::fuzz_parser!(|data: &[u8]| {
    let Some(text) = twin_fuzz::text(data) else { return };
    let _ = twin_core::state::overlay::load_layers_json(text, twin_fuzz::store());
});
