//! The user's own files (`twin-viewer --data FILE…`): each read in the format its name
//! says — GeoJSON, FlatGeobuf and CityJSON by twin-core, GeoPackage by twin-gpkg (every
//! feature table) — through one mapping, then one twin whose local frame is centred
//! on their data, as `twin … --data` builds it.

use std::path::PathBuf;

use twin_core::{LoadMode, LoadReport, Mapping, Twin};

/// Reads `paths` with `mapping` into a new twin; each file's report, in order. `Err`
/// names the file and what was wrong (a strict load refuses any bad feature).
pub fn twin_of_files(
    paths: &[PathBuf],
    mapping: &Mapping,
    mode: LoadMode,
) -> Result<(Twin, Vec<LoadReport>), String> {
    let mut reads = Vec::new();
    for path in paths {
        let gpkg = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gpkg"));
        if gpkg {
            reads.extend(twin_gpkg::read(path, mapping, &[]).map_err(|e| e.to_string())?);
        } else {
            reads.push(twin_core::load::read_file(path, mapping).map_err(|e| e.to_string())?);
        }
    }
    Twin::from_reads(reads, mode).map_err(|e| e.to_string())
}
