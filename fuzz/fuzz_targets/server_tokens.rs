//! The server's tokens file (`twin serve --tokens FILE`): `twin_server::Tokens::parse`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = twin_fuzz::text(data) else { return };
    let _ = twin_server::Tokens::parse(text, "fuzz.tokens");
});
