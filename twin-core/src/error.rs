//! Typed errors: which file, which feature, what was wrong.

use std::fmt;
use std::sync::Arc;

use crate::asset::Source;
use crate::crs::CrsError;

/// What was wrong with one feature of a data file.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Problem {
    /// The id property is missing, empty or not a string/number.
    #[error("missing id (property `{property}`)")]
    MissingId {
        /// The property the mapping names as the id.
        property: String,
    },
    /// Another asset already has this id.
    #[error("duplicate id `{id}`: already read from {first}")]
    DuplicateId {
        /// The id.
        id: String,
        /// Where the first asset with this id came from.
        first: Source,
    },
    /// The feature has no geometry.
    #[error("no geometry")]
    MissingGeometry,
    /// The geometry type is not supported (GeometryCollection nested in a collection, ...).
    #[error("unsupported geometry: {0}")]
    UnsupportedGeometry(String),
    /// A coordinate is NaN or infinite.
    #[error("coordinate {index} is not finite ({x}, {y})")]
    NonFiniteCoordinate {
        /// Index of the coordinate in the geometry's coordinate sequence.
        index: usize,
        /// Its x (lon) value.
        x: f64,
        /// Its y (lat) value.
        y: f64,
    },
    /// A coordinate lies outside the valid range of its CRS (|lat| > 90, |lon| > 180).
    #[error("coordinate {index} ({x}, {y}) is outside the range of {crs}")]
    OutOfRange {
        /// Index of the coordinate.
        index: usize,
        /// Its x value.
        x: f64,
        /// Its y value.
        y: f64,
        /// The CRS it was read in.
        crs: String,
    },
    /// A polygon ring whose first and last positions differ.
    #[error("ring {ring} of polygon {polygon} is not closed (first and last positions differ)")]
    UnclosedRing {
        /// Polygon index within the (multi)polygon.
        polygon: usize,
        /// Ring index (0 = exterior).
        ring: usize,
    },
    /// A ring or line with too few positions.
    #[error("{what} has {got} positions, needs at least {need}")]
    TooFewPositions {
        /// What it was (`ring 0 of polygon 0`, `line`).
        what: String,
        /// Positions found.
        got: usize,
        /// Positions required.
        need: usize,
    },
    /// The geometry is not valid: a self-intersecting ring, a hole outside its shell, ...
    #[error("invalid geometry: {0}")]
    InvalidGeometry(String),
    /// A property has the wrong type or value.
    #[error("property `{name}`: {message}")]
    BadProperty {
        /// The property name.
        name: String,
        /// What was wrong.
        message: String,
    },
    /// A relation names an asset the twin does not hold.
    #[error("{relation} names unknown asset `{target}`")]
    UnknownRelationTarget {
        /// `attached_to` or `part_of`.
        relation: &'static str,
        /// The id it names.
        target: String,
    },
    /// Converting the coordinates to WGS84 failed.
    #[error("coordinate conversion: {0}")]
    Crs(#[from] CrsError),
    /// The file's record for this feature could not be decoded.
    #[error("cannot decode feature: {0}")]
    Decode(String),
}

/// A rejected feature: where it is and what was wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureError {
    /// The file (or source name) the feature is in.
    pub file: Arc<str>,
    /// Zero-based index of the feature in the file.
    pub index: usize,
    /// The feature's id, when it could be read.
    pub id: Option<String>,
    /// What was wrong.
    pub problem: Problem,
}

impl fmt::Display for FeatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: feature {}", self.file, self.index)?;
        if let Some(id) = &self.id {
            write!(f, " (id `{id}`)")?;
        }
        write!(f, ": {}", self.problem)
    }
}

impl std::error::Error for FeatureError {}

/// An error loading a data file or inserting assets into a twin.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The file.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid (empty, truncated, not JSON, not a FeatureCollection, not FlatGeobuf).
    #[error("{file}: {message}")]
    Format {
        /// The file.
        file: String,
        /// What was wrong with it.
        message: String,
    },
    /// The mapping or CRS named for the file is not usable.
    #[error("{file}: {message}")]
    Mapping {
        /// The file.
        file: String,
        /// What was wrong.
        message: String,
    },
    /// A strict load met bad features: nothing was loaded. Holds every rejected feature.
    #[error("{}", rejected_message(.0))]
    Rejected(Vec<FeatureError>),
}

fn rejected_message(errors: &[FeatureError]) -> String {
    match errors {
        [] => "no feature was rejected".to_string(),
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} (and {} more rejected features)", rest.len()),
    }
}

/// An error from an operation on a twin that names assets.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TwinError {
    /// No asset has this id.
    #[error("no asset with id `{0}`")]
    UnknownId(String),
    /// No live asset has this handle.
    #[error("no asset with handle {0}")]
    UnknownHandle(u32),
    /// The geometry given is not valid.
    #[error("asset `{id}`: {problem}")]
    Invalid {
        /// The asset id.
        id: String,
        /// What was wrong.
        problem: Problem,
    },
    /// A coordinate conversion failed.
    #[error(transparent)]
    Crs(#[from] CrsError),
}
