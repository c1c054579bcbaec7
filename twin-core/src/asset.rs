//! One physical object: its identity, kind, geometry, vertical extent, properties and
//! where it came from.

use std::fmt;
use std::sync::Arc;

use geo_types::Geometry;

use crate::crs::Crs;
use crate::kind::{AssetKind, ZLevel};

/// A dense handle to an asset inside one [`crate::Twin`]: an index into its tables.
///
/// Handles are given in load order, never reused while the twin lives (a removed
/// asset leaves a hole), and are the fast path for live state and rendering: a state
/// texture row, a vertex attribute, a slot in a column. They are not stable across
/// processes; the external [`Asset::id`] is.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Handle(pub u32);

impl Handle {
    /// The handle as an index into per-asset arrays.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A typed property value.
#[derive(Clone, Debug, PartialEq)]
pub enum PropValue {
    /// Text.
    Str(String),
    /// A number (all numbers are f64, as in GeoJSON).
    Num(f64),
    /// A boolean.
    Bool(bool),
}

impl PropValue {
    /// The value as text, if it is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            PropValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a number, if it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            PropValue::Num(n) => Some(*n),
            _ => None,
        }
    }

    /// The value as a boolean, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            PropValue::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

impl fmt::Display for PropValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropValue::Str(s) => f.write_str(s),
            PropValue::Num(n) => write!(f, "{n}"),
            PropValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl From<&str> for PropValue {
    fn from(s: &str) -> Self {
        PropValue::Str(s.to_string())
    }
}
impl From<String> for PropValue {
    fn from(s: String) -> Self {
        PropValue::Str(s)
    }
}
impl From<f64> for PropValue {
    fn from(n: f64) -> Self {
        PropValue::Num(n)
    }
}
impl From<bool> for PropValue {
    fn from(b: bool) -> Self {
        PropValue::Bool(b)
    }
}

/// Properties of an asset, by name, in sorted order.
///
/// A sorted vector rather than a tree map: assets carry a handful of properties, and a
/// million of them must stay small (a `BTreeMap` allocates a node for 11 entries even
/// for one). Lookups are binary searches.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Properties(Vec<(String, PropValue)>);

impl Properties {
    /// No properties.
    pub fn new() -> Self {
        Properties(Vec::new())
    }

    /// No properties, with room for `n`.
    pub fn with_capacity(n: usize) -> Self {
        Properties(Vec::with_capacity(n))
    }

    /// The value of a property.
    pub fn get(&self, key: &str) -> Option<&PropValue> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// True when the property is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets a property; returns the value it replaced.
    pub fn insert(&mut self, key: String, value: PropValue) -> Option<PropValue> {
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// Removes a property; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<PropValue> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| self.0.remove(i).1)
    }

    /// Number of properties.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The properties in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &PropValue)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// Frees spare capacity (call after building an asset's properties).
    pub fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
    }
}

impl<'a> IntoIterator for &'a Properties {
    type Item = (&'a String, &'a PropValue);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, PropValue)>,
        fn(&'a (String, PropValue)) -> (&'a String, &'a PropValue),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl FromIterator<(String, PropValue)> for Properties {
    fn from_iter<I: IntoIterator<Item = (String, PropValue)>>(iter: I) -> Self {
        let mut p = Properties::new();
        for (k, v) in iter {
            p.insert(k, v);
        }
        p
    }
}

/// Vertical extent of an asset, in metres.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Vertical {
    /// Elevation of the asset's base above the ellipsoid's reference surface (m). Negative
    /// for underground assets (a pipe at −2 m).
    pub base: f64,
    /// Height above the base (m): a building's height, 0 for flat things.
    pub height: f64,
    /// The layer the asset belongs to.
    pub z_level: ZLevel,
}

impl Vertical {
    /// A flat asset at ground level of the given z-level.
    pub fn flat(z_level: ZLevel) -> Self {
        Vertical {
            base: 0.0,
            height: 0.0,
            z_level,
        }
    }

    /// Elevation of the top (base + height).
    pub fn top(&self) -> f64 {
        self.base + self.height
    }
}

/// Where an asset was read from: a file (or other named source) and the feature's index in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The file path or source name (e.g. `towns_osm.geojson`, `synthetic:roads`).
    pub file: Arc<str>,
    /// Zero-based index of the feature in that source.
    pub feature: usize,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} feature {}", self.file, self.feature)
    }
}

/// One physical object held by the twin.
///
/// `geometry` is in WGS84 longitude/latitude degrees (converted at load from
/// `source_crs`); the twin also keeps a copy in its local metric frame for queries.
#[derive(Clone, Debug, PartialEq)]
pub struct Asset {
    /// Stable external id, unique in the twin (e.g. `CM-BLD-000123`).
    pub id: String,
    /// What the object is.
    pub kind: AssetKind,
    /// Chinese name, where known (e.g. `城桥镇`).
    pub name_zh: Option<String>,
    /// English name, where known (e.g. `Chengqiao`).
    pub name_en: Option<String>,
    /// Footprint / line / point in WGS84 lon/lat degrees.
    pub geometry: Geometry<f64>,
    /// The CRS the geometry was given in by its source.
    pub source_crs: Crs,
    /// Base elevation, height and z-level.
    pub vertical: Vertical,
    /// Other properties.
    pub properties: Properties,
    /// Id of the asset this one is attached to (a sensor on a building or canal).
    pub attached_to: Option<String>,
    /// Id of the asset this one is part of (a BIM element of a building).
    pub part_of: Option<String>,
    /// Where it was read from.
    pub source: Source,
    /// Its 3D surfaces where the source has them (a CityJSON building's LoD2 roofs and
    /// walls), drawn instead of the footprint's extrusion; `None` for 2D sources.
    pub surfaces: Option<Arc<Surfaces>>,
}

/// What part of an object's shell a triangle belongs to (CityJSON's semantic
/// surfaces, reduced to what a renderer and a query need).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SurfaceRole {
    /// A roof.
    Roof,
    /// A wall (or a closure or outer ceiling surface).
    Wall,
    /// The ground floor's underside (ground or outer floor surface).
    Ground,
    /// Anything else, or no semantics given.
    Other,
}

/// An object's 3D shell as triangles: vertices in WGS84 longitude and latitude
/// (degrees) and height (metres, in the same vertical reference as
/// [`Vertical::base`]), each triangle with the role of the surface it came from.
///
/// An empty set (no triangles) marks an object drawn by its parts (a CityJSON
/// `Building` whose geometry is in its `BuildingPart`s).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Surfaces {
    /// Longitude, latitude, height.
    pub vertices: Vec<[f64; 3]>,
    /// Indices into `vertices`, three per triangle.
    pub triangles: Vec<[u32; 3]>,
    /// One role per triangle.
    pub roles: Vec<SurfaceRole>,
}

impl Surfaces {
    /// Number of triangles.
    pub fn len(&self) -> usize {
        self.triangles.len()
    }

    /// Whether it holds no triangle.
    pub fn is_empty(&self) -> bool {
        self.triangles.is_empty()
    }

    /// Number of triangles with this role.
    pub fn count(&self, role: SurfaceRole) -> usize {
        self.roles.iter().filter(|r| **r == role).count()
    }
}

impl Asset {
    /// A new asset with no names, properties or relations, at its kind's default z-level,
    /// from WGS84 geometry.
    pub fn new(id: impl Into<String>, kind: AssetKind, geometry: Geometry<f64>) -> Self {
        let z = kind.default_z_level();
        Asset {
            id: id.into(),
            kind,
            name_zh: None,
            name_en: None,
            geometry,
            source_crs: Crs::Wgs84,
            vertical: Vertical::flat(z),
            properties: Properties::new(),
            attached_to: None,
            part_of: None,
            source: Source {
                file: Arc::from("api"),
                feature: 0,
            },
            surfaces: None,
        }
    }

    /// The best display name: Chinese, else English, else the id.
    pub fn display_name(&self) -> &str {
        self.name_zh
            .as_deref()
            .or(self.name_en.as_deref())
            .unwrap_or(&self.id)
    }
}
