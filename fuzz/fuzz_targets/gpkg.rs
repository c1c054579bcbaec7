//! GeoPackage files (`--data FILE.gpkg`): twin-cli's reader itself,
//! `twin-cli/src/gpkg_read.rs` compiled into this target (twin-cli is a binary crate),
//! `gpkg_read::read` over a file: SQLite opens it read-only, the GeoPackage metadata
//! tables name the feature tables and CRSs, each row becomes a feature.
#![no_main]

#[allow(dead_code, missing_docs)]
#[path = "../../twin-cli/src/gpkg_read.rs"]
mod gpkg_read;

twin_fuzz::fuzz_parser!(|data: &[u8]| {
    let path = twin_fuzz::scratch_file("fuzz.gpkg", data);
    let _ = gpkg_read::read(&path, &twin_core::Mapping::default(), &[]);
});
