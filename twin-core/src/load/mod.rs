//! Reading assets from data files: GeoJSON and FlatGeobuf (which twin also writes),
//! through a [`Mapping`] that says which property is the id, the kind, the height, and
//! which CRS the file is in.
//!
//! Every feature is checked before anything is inserted: ids, coordinates (finite, in
//! range), rings (closed, enough positions), validity (no self-intersections, holes
//! inside their shell), property types and relation targets. A [`LoadMode::Strict`]
//! load fails whole with every rejected feature listed and changes nothing in the twin;
//! a [`LoadMode::Lenient`] load inserts the good features and returns a [`LoadReport`]
//! of the rejected ones.

mod cityjson;
mod convert;
mod fgb;
mod fgb_write;
mod geojson;
mod mapping;
mod mapping_file;
mod wkb_check;

pub use self::cityjson::{
    read_cityjson, read_cityjson_seq, read_cityjson_seq_from, read_cityjson_str,
};
pub(crate) use self::convert::geometry_from_geojson;
pub use self::fgb::{read_flatgeobuf, read_flatgeobuf_from};
pub use self::fgb_write::{write_flatgeobuf, write_flatgeobuf_with};
pub use self::geojson::{read_geojson, read_geojson_str};
pub use self::mapping::{IdSource, KindRule, KindRules, KindSource, Mapping};
pub use self::mapping_file::MappingError;
pub use self::wkb_check::check_gpkg_blob;

use crate::asset::Handle;
use crate::error::FeatureError;

/// How a load treats bad features.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LoadMode {
    /// Any bad feature fails the whole load; the twin is left unchanged.
    #[default]
    Strict,
    /// Bad features are skipped and reported; the good ones are inserted.
    Lenient,
}

/// What a load did: the handles it inserted and the features it rejected.
#[derive(Clone, Debug, Default)]
pub struct LoadReport {
    /// Handles of the inserted assets, in file order.
    pub inserted: Vec<Handle>,
    /// Features rejected (always empty after a strict load that succeeded).
    pub rejected: Vec<FeatureError>,
    /// Features loaded as they are with a problem worth knowing (an invalid polygon:
    /// a ring that crosses itself, a hole outside its shell).
    pub warnings: Vec<FeatureError>,
}

impl LoadReport {
    /// True when nothing was rejected.
    pub fn is_clean(&self) -> bool {
        self.rejected.is_empty()
    }
}

/// Features read from a file, each either an asset or the reason it was refused.
pub type ReadResult = Vec<Result<crate::asset::Asset, FeatureError>>;

/// Checks a WGS84 geometry before it enters a twin: finite, in range (validity is
/// [`check_asset_validity`]).
pub(crate) fn check_asset_geometry(
    g: &geo_types::Geometry<f64>,
) -> Result<(), crate::error::Problem> {
    convert::check_geometry(g)?;
    convert::check_range(g, "EPSG:4326")
}

/// OGC validity of a geometry (a loader warns; a move refuses).
pub(crate) fn check_asset_validity(
    g: &geo_types::Geometry<f64>,
) -> Result<(), crate::error::Problem> {
    convert::check_validity(g)
}

/// The formats twin-core reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// GeoJSON (`.geojson`, or `.json` that is not CityJSON).
    GeoJson,
    /// FlatGeobuf (`.fgb`).
    FlatGeobuf,
    /// CityJSON (`.city.json`, `.cityjson`, or `.json` with `CityObjects` or type
    /// `CityJSON` in its first 4 KiB).
    CityJson,
    /// CityJSONSeq (`.jsonl`, `.city.jsonl`).
    CityJsonSeq,
}

impl Format {
    /// The format of a file by its name, and for `.json` by its first bytes; `None`
    /// for a name twin-core does not read.
    pub fn of(name: &str, head: &[u8]) -> Option<Format> {
        let lower = name.to_ascii_lowercase();
        let ext = lower.rsplit_once('.').map_or("", |(_, e)| e);
        Some(match ext {
            "fgb" => Format::FlatGeobuf,
            "geojson" => Format::GeoJson,
            "cityjson" => Format::CityJson,
            "jsonl" => Format::CityJsonSeq,
            "json" if lower.ends_with(".city.json") => Format::CityJson,
            "json" => {
                let n = head.len().min(4096);
                if cityjson::sniff(&String::from_utf8_lossy(&head[..n])) {
                    Format::CityJson
                } else {
                    Format::GeoJson
                }
            }
            _ => return None,
        })
    }
}

/// The error for a name twin-core does not read.
fn unknown_format(file: &str) -> crate::error::LoadError {
    crate::error::LoadError::Format {
        file: file.to_string(),
        message: "unknown data format (expected .geojson, .json, .fgb, .city.json or \
                  .city.jsonl)"
            .into(),
    }
}

/// Told how far a read has come: features read so far, and the file's feature count
/// when it says one (a FlatGeobuf header, a parsed GeoJSON or CityJSON document).
/// Called every [`PROGRESS_EVERY`] features and once at the end.
pub type Progress<'a> = &'a mut dyn FnMut(usize, Option<usize>);

/// Features between two progress calls.
pub const PROGRESS_EVERY: usize = 8192;

/// Calls `progress` when `done` is a multiple of [`PROGRESS_EVERY`].
#[inline]
pub(crate) fn tick(
    progress: &mut dyn FnMut(usize, Option<usize>),
    done: usize,
    total: Option<usize>,
) {
    if done.is_multiple_of(PROGRESS_EVERY) && done > 0 {
        progress(done, total);
    }
}

/// Reads a file in the [`Format`] its name (and for `.json` its first bytes) says.
pub fn read_file(
    path: &std::path::Path,
    mapping: &Mapping,
) -> Result<ReadResult, crate::error::LoadError> {
    read_file_with(path, mapping, &mut |_, _| {})
}

/// [`read_file`], telling `progress` how far it has come.
pub fn read_file_with(
    path: &std::path::Path,
    mapping: &Mapping,
    progress: Progress<'_>,
) -> Result<ReadResult, crate::error::LoadError> {
    let name = path.display().to_string();
    let head = if name.to_ascii_lowercase().ends_with(".json") {
        file_head(path)
    } else {
        Vec::new()
    };
    let io = |source| crate::error::LoadError::Io {
        file: name.clone(),
        source,
    };
    let result = match Format::of(&name, &head) {
        Some(Format::FlatGeobuf) => {
            let f = std::fs::File::open(path).map_err(io)?;
            fgb::read_fgb(std::io::BufReader::new(f), &name, mapping, &mut *progress)
        }
        Some(Format::GeoJson) => {
            let (_, text) = text_file(path)?;
            geojson::read_text(&text, &name, mapping, &mut *progress)
        }
        Some(Format::CityJson) => {
            let (_, text) = text_file(path)?;
            cityjson::read_text(&text, &name, mapping, &mut *progress)
        }
        Some(Format::CityJsonSeq) => {
            let f = std::fs::File::open(path).map_err(io)?;
            cityjson::read_seq(std::io::BufReader::new(f), &name, mapping, &mut *progress)
        }
        None => Err(unknown_format(&name)),
    }?;
    progress(result.len(), Some(result.len()));
    Ok(result)
}

/// Reads a file's bytes (a browser's dropped file, a download) in the [`Format`] its
/// `name` says; `name` also names it in errors.
pub fn read_bytes(
    bytes: &[u8],
    name: &str,
    mapping: &Mapping,
) -> Result<ReadResult, crate::error::LoadError> {
    read_bytes_with(bytes, name, mapping, &mut |_, _| {})
}

/// [`read_bytes`], telling `progress` how far it has come.
pub fn read_bytes_with(
    bytes: &[u8],
    name: &str,
    mapping: &Mapping,
    progress: Progress<'_>,
) -> Result<ReadResult, crate::error::LoadError> {
    let text = || {
        std::str::from_utf8(bytes).map_err(|e| crate::error::LoadError::Format {
            file: name.to_string(),
            message: format!("not UTF-8 text: {e}"),
        })
    };
    let p = &mut *progress;
    let result = match Format::of(name, bytes) {
        Some(Format::FlatGeobuf) => fgb::read_fgb(std::io::Cursor::new(bytes), name, mapping, p),
        Some(Format::GeoJson) => geojson::read_text(text()?, name, mapping, p),
        Some(Format::CityJson) => cityjson::read_text(text()?, name, mapping, p),
        Some(Format::CityJsonSeq) => cityjson::read_seq(bytes, name, mapping, p),
        None => Err(unknown_format(name)),
    }?;
    progress(result.len(), Some(result.len()));
    Ok(result)
}

/// A text file's name (for errors) and contents; an I/O error names the file.
pub(crate) fn text_file(
    path: &std::path::Path,
) -> Result<(String, String), crate::error::LoadError> {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => Ok((name, text)),
        Err(source) => Err(crate::error::LoadError::Io { file: name, source }),
    }
}

/// A file's first 4 KiB (empty when unreadable: the reader then reports the file).
fn file_head(path: &std::path::Path) -> Vec<u8> {
    use std::io::Read;
    let mut head = Vec::with_capacity(4096);
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(4096).read_to_end(&mut head);
    }
    head
}

/// A feature that a reader outside twin-core decoded (a GeoPackage row, say): its
/// properties, its own id (used by [`IdSource::Feature`] only, as a FlatGeobuf
/// feature's index is), and its geometry in the file's CRS, or why it has none.
#[derive(Clone, Debug)]
pub struct RawFeature {
    /// Column or property values.
    pub properties: serde_json::Map<String, serde_json::Value>,
    /// The feature's own id (a GeoPackage `fid`).
    pub own_id: Option<String>,
    /// Its geometry, or the decoding error.
    pub geometry: Result<geo_types::Geometry<f64>, String>,
}

/// Turns decoded features into assets with a mapping, as the built-in readers do:
/// the CRS the file declares (`declared`, unless the mapping's overrides it) converted
/// to WGS84, ids and kinds from the mapping, each bad feature an `Err` naming the file,
/// its index and id.
pub fn read_features(
    file: &str,
    mapping: &Mapping,
    declared: Option<crate::crs::Crs>,
    features: impl IntoIterator<Item = RawFeature>,
) -> Result<ReadResult, crate::error::LoadError> {
    let (mapping, transformer) = mapping.for_file(declared, file)?;
    let mapping = &mapping;
    let file: std::sync::Arc<str> = std::sync::Arc::from(file);
    Ok(features
        .into_iter()
        .enumerate()
        .map(|(index, f)| {
            let own = f
                .own_id
                .as_deref()
                .filter(|_| mapping.id == IdSource::Feature);
            let err =
                |id: Option<String>, problem: crate::error::Problem| crate::error::FeatureError {
                    file: file.clone(),
                    index,
                    id,
                    problem,
                };
            let g = f
                .geometry
                .map_err(crate::error::Problem::Decode)
                .and_then(|g| convert::to_wgs84(g, &transformer));
            // The id is looked up only for an error that names it.
            let g =
                g.map_err(|p| err(mapping.id_guess(Some(&f.properties), own, &file, index), p))?;
            mapping
                .asset_from_properties(Some(f.properties), own, g, &file, index)
                .map_err(|(id, p)| err(id, p))
        })
        .collect())
}
