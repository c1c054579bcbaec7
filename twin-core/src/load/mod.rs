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

mod convert;
mod fgb;
mod fgb_write;
mod geojson;
mod mapping;
mod mapping_file;

pub use self::fgb::{read_flatgeobuf, read_flatgeobuf_from};
pub use self::fgb_write::{write_flatgeobuf, write_flatgeobuf_with};
pub use self::geojson::{read_geojson, read_geojson_str};
pub use self::mapping::{IdSource, KindRule, KindRules, KindSource, Mapping};
pub use self::mapping_file::MappingError;

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

/// Reads a file by its extension: `.geojson` or `.json` (GeoJSON), `.fgb`
/// (FlatGeobuf); any other is a [`crate::LoadError::Format`] naming the file.
pub fn read_file(
    path: &std::path::Path,
    mapping: &Mapping,
) -> Result<ReadResult, crate::error::LoadError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "fgb" => read_flatgeobuf(path, mapping),
        "geojson" | "json" => read_geojson(path, mapping),
        _ => Err(crate::error::LoadError::Format {
            file: path.display().to_string(),
            message: "unknown data format (expected .geojson, .json or .fgb)".into(),
        }),
    }
}
