//! The server's tokens file (`twin serve --tokens FILE`): `twin_server::Tokens::parse`.
#![no_main]

twin_fuzz::fuzz_parser!(|data: &[u8]| {
    let Some(text) = twin_fuzz::text(data) else { return };
    let _ = twin_server::Tokens::parse(text, "fuzz.tokens");
});
