//! Errors of the CRS module.

/// What went wrong naming a CRS or converting a coordinate.
///
/// Kept small (64 bytes) so that errors embedding it stay cheap to return.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CrsError {
    /// The CRS is well formed but this build cannot handle it (for instance an
    /// EPSG code the bundled database does not hold, without the `proj` feature).
    #[error("unsupported CRS `{input}`: {reason}")]
    Unsupported {
        /// The CRS as given.
        input: String,
        /// Why, and what would help.
        reason: String,
    },
    /// The CRS definition itself is wrong (empty, bad UTM zone, unknown to PROJ, ...).
    #[error("invalid CRS `{input}`: {reason}")]
    Invalid {
        /// The CRS as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An input coordinate is NaN or infinite.
    #[error("non-finite coordinate ({x}, {y})")]
    NonFinite {
        /// The input x (longitude or easting).
        x: f64,
        /// The input y (latitude or northing).
        y: f64,
    },
    /// The coordinate cannot be converted: it lies outside the domain of a CRS
    /// (latitude beyond ±90°, a pole in Mercator, ...) or the conversion
    /// produced a non-finite value.
    #[error("coordinate ({x}, {y}) cannot be converted {operation}: {reason}")]
    OutOfDomain {
        /// The input x (longitude or easting) given to the conversion.
        x: f64,
        /// The input y (latitude or northing) given to the conversion.
        y: f64,
        /// The conversion, `from <source CRS> to <target CRS>`.
        operation: String,
        /// Why.
        reason: String,
    },
    /// The coordinate operation between two valid CRSs could not be set up.
    #[error("cannot convert {operation}: {reason}")]
    Operation {
        /// The conversion, `from <source CRS> to <target CRS>`.
        operation: String,
        /// The backend's message.
        reason: String,
    },
}
