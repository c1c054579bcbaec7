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

pub use self::fgb::{read_flatgeobuf, read_flatgeobuf_from};
pub use self::fgb_write::{write_flatgeobuf, write_flatgeobuf_with};
pub use self::geojson::{read_geojson, read_geojson_str};
pub use self::mapping::{KindSource, Mapping};

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
}

impl LoadReport {
    /// True when nothing was rejected.
    pub fn is_clean(&self) -> bool {
        self.rejected.is_empty()
    }
}

/// Features read from a file, each either an asset or the reason it was refused.
pub type ReadResult = Vec<Result<crate::asset::Asset, FeatureError>>;

/// Checks a WGS84 geometry before it enters a twin: finite, in range, valid.
pub(crate) fn check_asset_geometry(
    g: &geo_types::Geometry<f64>,
) -> Result<(), crate::error::Problem> {
    convert::check_geometry(g)?;
    convert::check_range(g, "EPSG:4326")
}
