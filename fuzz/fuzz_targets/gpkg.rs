//! GeoPackage files (`--data FILE.gpkg`, the viewer's `--data`): `twin_gpkg::read`
//! over a file: SQLite opens it read-only, the GeoPackage metadata tables name the
//! feature tables and CRSs, each row becomes a feature.
#![no_main]

twin_fuzz::fuzz_parser!(|data: &[u8]| {
    let path = twin_fuzz::scratch_file("fuzz.gpkg", data);
    let _ = twin_gpkg::read(&path, &twin_core::Mapping::default(), &[]);
});
