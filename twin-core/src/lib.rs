//! # twin-core: the engine of a digital twin of a place
//!
//! twin-core holds every physical object of a place — island, town, building, road,
//! bridge, canal, field, pipe, 5G station, charger, sensor — as an [`Asset`] with a
//! stable external id (`CM-BLD-000123`) and a dense [`Handle`] for fast paths. It has no
//! GPU code and builds for `wasm32-unknown-unknown`; the renderer, the web build and the
//! command-line tool all stand on it.
//!
//! ## Model
//! - An [`Asset`] has a [`AssetKind`] (sensors carry a [`SensorType`]), a geometry in
//!   WGS84 lon/lat (geo-types, f64) with the CRS it was read in, a [`Vertical`] extent
//!   (base, height, [`ZLevel`] from underground to air), typed properties, Chinese and
//!   English names, and relations: *attached-to* (sensor → asset) and *part-of* (element
//!   → building) by id, and *located-in* (asset → town, town → island), computed by the
//!   twin when assets or towns are loaded.
//! - A [`Twin`] owns the assets. It keeps each geometry also in its local metric frame
//!   ([`crs::LocalFrame`], a transverse Mercator centred on the twin) and an R-tree
//!   ([`index::SpatialIndex`], rstar) of their envelopes in that frame. Handles index
//!   every per-asset array (live state, GPU attributes) and are never reused.
//! - Changes are checked whole before they apply: a strict load fails with every bad
//!   feature named (file, index, id, problem) and leaves the twin as it was; a lenient
//!   load applies the good part and reports the rest ([`load`]).
//!
//! ## Coordinates
//! [`crs`] converts between WGS84 (EPSG:4326), CGCS2000 (EPSG:4490), Web Mercator
//! (EPSG:3857), UTM (EPSG:326xx/327xx, the islands are in 32651) and GCJ-02, the offset
//! datum of Chinese web maps, in pure Rust (proj4rs); the `proj` cargo feature adds the
//! system PROJ library for any CRS a user names.
//!
//! ## Queries
//! [`Twin`]'s queries: by lon/lat box, within a distance in metres of a point or
//! geometry, the k nearest, containing a point, intersecting a polygon — each with an
//! optional [`KindFilter`] (parsed strictly: an unknown kind is a [`KindError`], custom
//! kinds are written `custom:NAME`). [`measure`] gives areas and lengths, geodesic or
//! in the local frame.
//!
//! ## The live session
//! A [`Session`] is a live twin: the [`Twin`] with its [`state::StateStore`] (per asset
//! and channel the latest value, time and quality in dense columns; history at 12 bytes
//! per sample), [`state::alert::AlertEngine`], [`state::vitals::VitalSigns`] and
//! [`state::Overlay`], changed only through the session so that they stay consistent:
//! applying telemetry updates alerts and vital signs, asset changes reach the index,
//! the rules, the vital signs and the overlay in the same call, alert events wait in a
//! bounded queue. Every front end (the command line, the desktop viewer, the web page)
//! holds one. Times in its API are [`Timestamp`]s (UTC milliseconds; ISO 8601 through
//! jiff). [`telemetry`] reads JSON Lines and CSV readings, [`snapshot`] saves and
//! restores a session, [`topic`] names MQTT topics.
//!
//! ## Places
//! twin-core knows no place. A scenario crate brings one: `twin-chongming` holds the
//! real boundaries of Chongming's three islands and 18 towns, the seeded synthetic
//! infrastructure, the telemetry simulator and the standard channels, rules and
//! overlay. Any data can also be loaded from files ([`load`]).
//!
//! ```
//! use twin_core::{KindFilter, LoadMode, Mapping, Twin, crs::LocalFrame};
//! let mut twin = Twin::new(LocalFrame::chongming());
//! let text = r#"{"type":"FeatureCollection","features":[
//!   {"type":"Feature","properties":{"id":"T1","kind":"town","name_zh":"城桥镇"},
//!    "geometry":{"type":"Polygon","coordinates":[[[121.3,31.6],[121.5,31.6],[121.5,31.7],[121.3,31.6]]]}}]}"#;
//! twin.load_geojson_str(text, "towns.geojson", &Mapping::default(), LoadMode::Strict).unwrap();
//! // Which town holds the point 121.45 E, 31.62 N?
//! let towns = twin.query_containing((121.45, 31.62), Some(&"town".parse::<KindFilter>().unwrap()));
//! assert_eq!(twin.get(towns[0]).unwrap().name_zh.as_deref(), Some("城桥镇"));
//! ```

mod asset;
pub mod crs;
mod error;
mod ids;
pub mod index;
mod kind;
pub mod load;
pub mod measure;
mod par;
mod query;
mod query3d;
pub mod session;
pub mod snapshot;
pub mod state;
pub mod stream;
pub mod telemetry;
pub mod time;
pub mod topic;
mod twin;

pub use asset::{Asset, Handle, PropValue, Properties, Source, SurfaceRole, Surfaces, Vertical};
pub use error::{FeatureError, LoadError, Problem, TwinError};
pub use kind::{AssetKind, BUILTIN_KIND_NAMES, KindError, SensorType, ZLevel};
pub use load::{
    IdSource, KindRule, KindRules, KindSource, LoadMode, LoadReport, Mapping, MappingError,
};
pub use measure::Measure;
pub use query::{KindFilter, rect_polygon};
pub use session::{Refreshed, Session, SessionConfig};
pub use time::Timestamp;
pub use twin::Twin;

/// The geometry types of twin's API (points, boxes, polygons), re-exported so that a
/// user needs no version of their own.
pub use geo_types;
