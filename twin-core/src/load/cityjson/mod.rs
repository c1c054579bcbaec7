//! CityJSON 1.0, 1.1 and 2.0 files and CityJSONSeq (`.city.jsonl`) streams.
//!
//! Each city object becomes an asset:
//!
//! * **Id**: the object's key (with the default mapping; `--id` and mappings work as
//!   for any file, over the object's attributes).
//! * **Kind**: from its type (`Building`, `BuildingPart` → building; `Bridge`,
//!   `Tunnel` → bridge; `Road`, `TransportSquare` → road; `WaterBody` → water body;
//!   `PlantCover`, `SolitaryVegetationObject` → green space; `Railway`, `LandUse`,
//!   `CityFurniture`, `GenericCityObject`, extensions … → `custom:<snake_case>`), kept
//!   as the property `cityjson_type`.
//! * **Geometry**: of the object's geometries, the one of the highest LoD (kept as
//!   `cityjson_lod`). Its footprint is the union of its surfaces seen from above (the
//!   roof's overhang included); base and height are its lowest and highest vertex.
//!   Objects with a 3D shell (solids, and from LoD 1 the surfaces of buildings,
//!   bridges, tunnels and other constructions) keep
//!   their surfaces as triangles in [`Asset::surfaces`], each with its semantic role
//!   (roof, wall, ground), so the renderer draws LoD2 roofs.
//! * **Parts**: a `BuildingPart` is `part_of` its parent's asset id (the mapping's id,
//!   prefix included). A parent without geometry of its own gets the union of its
//!   children's footprints; every parent gets their vertical extent too, and when a
//!   part has a 3D shell and the parent none, an empty [`crate::asset::Surfaces`]: its
//!   parts draw it. A `CityObjectGroup` is not an asset and nobody's whole.
//! * **Attributes** become properties (nested values as JSON text).
//!
//! The CRS is the file's `metadata.referenceSystem` in any of its spellings
//! (`https://www.opengis.net/def/crs/EPSG/0/7415`, the `http` form, and 1.0's
//! `urn:ogc:def:crs:EPSG::7415`); `--crs` overrides it. Vertices are integers scaled
//! by the file's `transform` (1.0 files may give plain numbers without one).
//!
//! Errors name the object by its key; their index is its position in key order (the
//! objects of a CityJSON document are keyed, not ordered), counted on through the
//! features of a CityJSONSeq. Appearances (materials, textures) are not read.
//!
//! Objects whose only geometry is a template (`GeometryInstance`), or a point or line,
//! are refused with their id; vertex indices out of range, rings of fewer than three
//! vertices and malformed boundaries are refused per object; a file that is not
//! CityJSON at all is a format error.
//!
//! Written here rather than with a CityJSON crate: the one crate that reads 1.1, 2.0
//! and CityJSONSeq (`cjseq` 0.5.0-alpha.1) is a pre-release, refuses 1.0 files
//! outright, rejects unknown members, and switches on serde_json's `preserve_order`
//! for the whole workspace (changing the key order of every JSON twin writes); the
//! format is plain JSON that serde reads directly.

mod geometry;

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::sync::Arc;

use geo_types::{Geometry, Polygon};
use serde::Deserialize;
use serde_json::{Map, Value};

use self::geometry::{Shape, shape, vertex};

use super::mapping::{IdSource, KindSource, Mapping};
use super::{ReadResult, convert};
use crate::asset::{SurfaceRole, Surfaces};
use crate::crs::{Crs, Transformer};
use crate::error::{FeatureError, LoadError, Problem};

/// A CityJSON document or one CityJSONSeq line.
#[derive(Deserialize)]
struct Doc {
    #[serde(rename = "type")]
    ty: String,
    /// A CityJSONFeature's main object.
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    transform: Option<Transform>,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(rename = "CityObjects", default)]
    city_objects: BTreeMap<String, CityObject>,
    #[serde(default)]
    appearance: Option<Appearance>,
    #[serde(default)]
    vertices: Vec<[f64; 3]>,
}

/// The appearance's materials, only counted: twin draws its own colours, but a
/// geometry naming a material the file does not have is a broken file.
#[derive(Deserialize)]
struct Appearance {
    #[serde(default)]
    materials: Vec<serde::de::IgnoredAny>,
}

#[derive(Deserialize, Clone, Copy)]
struct Transform {
    scale: [f64; 3],
    translate: [f64; 3],
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(rename = "referenceSystem", default)]
    reference_system: Option<String>,
}

#[derive(Deserialize)]
struct CityObject {
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    attributes: Option<Map<String, Value>>,
    #[serde(default)]
    geometry: Vec<Geom>,
    #[serde(default)]
    parents: Vec<String>,
    #[serde(default)]
    children: Vec<String>,
}

#[derive(Deserialize)]
struct Geom {
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    lod: Option<Value>,
    #[serde(default)]
    boundaries: Value,
    #[serde(default)]
    semantics: Option<Semantics>,
    #[serde(default)]
    material: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct Semantics {
    #[serde(default)]
    surfaces: Vec<SemanticSurface>,
    #[serde(default)]
    values: Value,
}

#[derive(Deserialize)]
struct SemanticSurface {
    #[serde(rename = "type")]
    ty: String,
}

/// Whether a `.json` file's text is CityJSON rather than GeoJSON, from its first few
/// kilobytes: a `CityObjects` member (writers that sort keys put `type` last), or a
/// first `type` member that says `CityJSON`.
pub(crate) fn sniff(head: &str) -> bool {
    if head.contains("\"CityObjects\"") {
        return true;
    }
    let mut rest = head;
    while let Some(i) = rest.find("\"type\"") {
        let after = rest[i + 6..].trim_start();
        if let Some(v) = after.strip_prefix(':') {
            let v = v.trim_start();
            return v.starts_with("\"CityJSON\"") || v.starts_with("\"CityJSONFeature\"");
        }
        rest = &rest[i + 6..];
    }
    false
}

/// Reads a CityJSON file (`.city.json`, or `.json` whose type is `CityJSON`).
pub fn read_cityjson(path: &std::path::Path, mapping: &Mapping) -> Result<ReadResult, LoadError> {
    let (name, text) = super::text_file(path)?;
    read_cityjson_str(&text, &name, mapping)
}

/// Reads CityJSON text; `file` names it in errors.
pub fn read_cityjson_str(
    text: &str,
    file: &str,
    mapping: &Mapping,
) -> Result<ReadResult, LoadError> {
    read_text(text, file, mapping, &mut |_, _| {})
}

/// [`read_cityjson_str`] with progress (the objects of the document as the total).
pub(crate) fn read_text(
    text: &str,
    file: &str,
    mapping: &Mapping,
    progress: &mut dyn FnMut(usize, Option<usize>),
) -> Result<ReadResult, LoadError> {
    let doc = parse(text, file, None)?;
    if doc.ty != "CityJSON" {
        return Err(format_error(
            file,
            format!("type `{}` is not CityJSON", doc.ty),
        ));
    }
    check_version(&doc, file)?;
    check_vertices(&doc, doc.transform, file, "")?;
    let declared = declared_crs(&doc, file)?;
    let (mapping, t) = cityjson_mapping(mapping).for_file(declared, file)?;
    let file: Arc<str> = Arc::from(file);
    let mut out = Vec::new();
    let total = Some(doc.city_objects.len());
    read_objects(&doc, doc.transform, &mapping, &t, &file, 0, &mut out);
    super::tick(progress, out.len(), total);
    Ok(out)
}

/// Reads a CityJSONSeq stream (`.city.jsonl`): a `CityJSON` header line with the
/// transform and CRS, then one `CityJSONFeature` per line, each with its own vertices.
pub fn read_cityjson_seq(
    path: &std::path::Path,
    mapping: &Mapping,
) -> Result<ReadResult, LoadError> {
    let name = path.display().to_string();
    let io = |source| LoadError::Io {
        file: name.clone(),
        source,
    };
    let reader = std::io::BufReader::new(std::fs::File::open(path).map_err(io)?);
    read_cityjson_seq_from(reader, &name, mapping)
}

/// [`read_cityjson_seq`] from any reader; `file` names it in errors.
pub fn read_cityjson_seq_from(
    reader: impl BufRead,
    file: &str,
    mapping: &Mapping,
) -> Result<ReadResult, LoadError> {
    read_seq(reader, file, mapping, &mut |_, _| {})
}

/// [`read_cityjson_seq_from`] with progress (no total: a stream does not say).
pub(crate) fn read_seq(
    reader: impl BufRead,
    file: &str,
    mapping: &Mapping,
    progress: &mut dyn FnMut(usize, Option<usize>),
) -> Result<ReadResult, LoadError> {
    let mut lines = reader
        .lines()
        .enumerate()
        .filter(|(_, l)| l.as_ref().map_or(true, |l| !l.trim().is_empty()));
    let io = |source| LoadError::Io {
        file: file.to_string(),
        source,
    };
    let Some((_, header)) = lines.next() else {
        return Err(format_error(file, "the file is empty".into()));
    };
    let header = parse(&header.map_err(io)?, file, Some(1))?;
    if header.ty != "CityJSON" {
        return Err(format_error(
            file,
            format!(
                "line 1: type `{}`; a CityJSONSeq starts with a CityJSON header",
                header.ty
            ),
        ));
    }
    check_version(&header, file)?;
    check_vertices(&header, header.transform, file, "line 1: ")?;
    let declared = declared_crs(&header, file)?;
    let (mapping, t) = cityjson_mapping(mapping).for_file(declared, file)?;
    let shared: Arc<str> = Arc::from(file);
    let mut out = Vec::new();
    read_objects(
        &header,
        header.transform,
        &mapping,
        &t,
        &shared,
        0,
        &mut out,
    );
    for (n, line) in lines {
        let line = line.map_err(io)?;
        let feature = parse(&line, file, Some(n + 1))?;
        if feature.ty != "CityJSONFeature" {
            return Err(format_error(
                file,
                format!(
                    "line {}: type `{}` is not CityJSONFeature",
                    n + 1,
                    feature.ty
                ),
            ));
        }
        let at = format!("line {}: ", n + 1);
        check_vertices(&feature, header.transform, file, &at)?;
        match &feature.id {
            Some(id) if feature.city_objects.contains_key(id) => {}
            Some(id) => {
                return Err(format_error(
                    file,
                    format!("{at}the feature's id `{id}` is none of its CityObjects"),
                ));
            }
            None => return Err(format_error(file, format!("{at}the feature has no `id`"))),
        }
        let start = out.len();
        read_objects(
            &feature,
            header.transform,
            &mapping,
            &t,
            &shared,
            start,
            &mut out,
        );
        // Once per PROGRESS_EVERY objects crossed by this feature's.
        if start / super::PROGRESS_EVERY != out.len() / super::PROGRESS_EVERY {
            progress(out.len(), None);
        }
    }
    Ok(out)
}

fn format_error(file: &str, message: String) -> LoadError {
    LoadError::Format {
        file: file.to_string(),
        message,
    }
}

fn parse(text: &str, file: &str, line: Option<usize>) -> Result<Doc, LoadError> {
    if text.trim().is_empty() {
        return Err(format_error(file, "the file is empty".into()));
    }
    serde_json::from_str(text).map_err(|e| {
        let at = line.map_or(String::new(), |l| format!("line {l}: "));
        let what = if e.is_eof() {
            "truncated JSON"
        } else {
            "not CityJSON"
        };
        format_error(file, format!("{at}{what}: {e}"))
    })
}

/// Largest integer an `f64` holds exactly.
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

/// With a transform, vertices are integers (CityJSON 1.1 and 2.0): each must be one
/// an `f64` holds exactly; the transform and the real coordinates must be finite.
fn check_vertices(doc: &Doc, t: Option<Transform>, file: &str, at: &str) -> Result<(), LoadError> {
    if let Some(t) = t
        && !(t.scale.iter().chain(&t.translate).all(|v| v.is_finite())
            && t.scale.iter().all(|s| *s != 0.0))
    {
        return Err(format_error(
            file,
            format!(
                "{at}the transform ({:?}, {:?}) is not finite and non-zero",
                t.scale, t.translate
            ),
        ));
    }
    for (i, v) in doc.vertices.iter().enumerate() {
        if t.is_some() && !v.iter().all(|c| c.fract() == 0.0 && c.abs() <= MAX_EXACT) {
            return Err(format_error(
                file,
                format!(
                    "{at}vertex {i} {v:?}: with a transform, vertices are integers of at most 2^53"
                ),
            ));
        }
        if !vertex(doc, t, i).iter().all(|c| c.is_finite()) {
            return Err(format_error(
                file,
                format!("{at}vertex {i} {v:?} is not finite"),
            ));
        }
    }
    Ok(())
}

fn check_version(doc: &Doc, file: &str) -> Result<(), LoadError> {
    match doc.version.as_deref() {
        Some(v)
            if ["1.0", "1.1", "2.0"]
                .iter()
                .any(|m| v == *m || v.starts_with(&format!("{m}."))) =>
        {
            Ok(())
        }
        Some(v) => Err(format_error(
            file,
            format!("CityJSON version {v} is not one of 1.0, 1.1, 2.0"),
        )),
        None => Err(format_error(file, "no CityJSON `version`".into())),
    }
}

fn declared_crs(doc: &Doc, file: &str) -> Result<Option<Crs>, LoadError> {
    let Some(rs) = doc
        .metadata
        .as_ref()
        .and_then(|m| m.reference_system.as_deref())
    else {
        return Ok(None);
    };
    rs.parse::<Crs>().map(Some).map_err(|e| LoadError::Mapping {
        file: file.to_string(),
        message: format!("its referenceSystem `{rs}`: {e}; give the CRS with --crs"),
    })
}

/// The property the reader fills with the kind its type gives.
const KIND_PROPERTY: &str = "cityjson_kind";

/// The mapping with CityJSON's own defaults where the user's is the default: the
/// object's key as id, the kind from its type.
fn cityjson_mapping(m: &Mapping) -> Mapping {
    let d = Mapping::default();
    let mut m = m.clone();
    if m.id == d.id {
        m.id = IdSource::Feature;
    }
    if m.kind == d.kind {
        m.kind = KindSource::Property(KIND_PROPERTY.into());
    }
    m
}

/// The kind a CityJSON type gives.
pub(crate) fn kind_of_type(ty: &str) -> String {
    match ty {
        "Building" | "BuildingPart" => "building".into(),
        "Bridge" | "BridgePart" | "Tunnel" | "TunnelPart" => "bridge".into(),
        "Road" | "TransportSquare" => "road".into(),
        "WaterBody" => "water_body".into(),
        "PlantCover" | "SolitaryVegetationObject" => "green_space".into(),
        other => {
            let name = other.trim_start_matches('+');
            let mut snake = String::new();
            for (i, c) in name.chars().enumerate() {
                if c.is_uppercase() && i > 0 {
                    snake.push('_');
                }
                snake.extend(c.to_lowercase());
            }
            format!("custom:{snake}")
        }
    }
}

/// Reads every city object of `doc` into `out`; `first_index` numbers them on from
/// the objects already read.
fn read_objects(
    doc: &Doc,
    t: Option<Transform>,
    mapping: &Mapping,
    crs: &Transformer,
    file: &Arc<str>,
    first_index: usize,
    out: &mut ReadResult,
) {
    // First the objects with geometry, then parents from their children.
    let mut shapes: HashMap<&str, Result<Option<Shape>, String>> = HashMap::new();
    for (id, o) in &doc.city_objects {
        shapes.insert(id.as_str(), shape(doc, t, o));
    }
    // Parts and their whole: a group (CityObjectGroup, which lists its members as
    // children since 1.1) is no physical object and no whole of its members.
    let is_group = |key: &str| {
        doc.city_objects
            .get(key)
            .is_some_and(|o| o.ty == "CityObjectGroup")
    };
    // Each key's asset id, for the parts' `part_of` (the mapping may prefix or replace ids).
    let mut asset_ids: HashMap<&str, String> = HashMap::new();
    let mut parents: Vec<(usize, &str)> = Vec::new();
    for (k, (id, o)) in doc.city_objects.iter().enumerate() {
        let index = first_index + k;
        if o.ty == "CityObjectGroup" {
            // Not an asset: groups hold no geometry of their own.
            continue;
        }
        let err = |problem: Problem| FeatureError {
            file: file.clone(),
            index,
            id: Some(id.clone()),
            problem,
        };
        let own = match shapes.get(id.as_str()) {
            Some(Ok(s)) => s.as_ref(),
            Some(Err(e)) => {
                out.push(Err(err(Problem::Decode(e.clone()))));
                continue;
            }
            None => None,
        };
        let parts: Vec<&Shape> = o
            .children
            .iter()
            .filter(|c| !is_group(c))
            .filter_map(|c| shapes.get(c.as_str())?.as_ref().ok()?.as_ref())
            .collect();
        let parts_union;
        let (footprint, lod) = match (own, parts.is_empty()) {
            (Some(s), _) => (&s.footprint, s.lod.clone()),
            (None, false) => {
                let polys: Vec<Polygon<f64>> = parts
                    .iter()
                    .flat_map(|s| s.footprint.0.iter().cloned())
                    .collect();
                parts_union = geo::unary_union(&polys);
                (&parts_union, String::new())
            }
            (None, true) => {
                out.push(Err(err(Problem::Decode(
                    "it has no geometry, and no child with one".into(),
                ))));
                continue;
            }
        };
        // The vertical extent of the object and its parts.
        let zmin = own
            .iter()
            .chain(&parts)
            .map(|s| s.zmin)
            .fold(f64::INFINITY, f64::min);
        let zmax = own
            .iter()
            .chain(&parts)
            .map(|s| s.zmax)
            .fold(f64::NEG_INFINITY, f64::max);
        // Its own 3D shell; else, with a part that has one, drawn by its parts (an
        // empty set); else flat.
        let surfaces = match own.and_then(|s| s.triangles.as_ref()) {
            Some(t) => Some(Some(t)),
            None if parts.iter().any(|p| p.triangles.is_some()) => None,
            None => Some(None),
        };
        let geometry = if footprint.0.len() == 1 {
            Geometry::Polygon(footprint.0[0].clone())
        } else {
            Geometry::MultiPolygon(footprint.clone())
        };
        let geometry = match convert::to_wgs84(geometry, crs) {
            Ok(g) => g,
            Err(p) => {
                out.push(Err(err(p)));
                continue;
            }
        };
        let mut props = o.attributes.clone().unwrap_or_default();
        props.insert("cityjson_type".into(), Value::from(o.ty.clone()));
        if !lod.is_empty() {
            props.insert("cityjson_lod".into(), Value::from(lod));
        }
        if matches!(&mapping.kind, KindSource::Property(p) if p == KIND_PROPERTY) {
            props.insert(KIND_PROPERTY.into(), Value::from(kind_of_type(&o.ty)));
        }
        let mut asset =
            match mapping.asset_from_properties(Some(props), Some(id), geometry, file, index) {
                Ok(a) => a,
                Err((id, p)) => {
                    out.push(Err(FeatureError {
                        file: file.clone(),
                        index,
                        id,
                        problem: p,
                    }));
                    continue;
                }
            };
        asset.vertical.base = zmin;
        asset.vertical.height = (zmax - zmin).max(0.0);
        let parent = o.parents.iter().find(|p| !is_group(p));
        asset.surfaces = match surfaces {
            // A parent drawn by its parts.
            None => Some(Arc::new(Surfaces::default())),
            Some(None) => None,
            Some(Some((tris, roles))) => match surfaces_in_wgs84(doc, t, crs, tris, roles) {
                Ok(s) => Some(Arc::new(s)),
                Err(p) => {
                    out.push(Err(err(p)));
                    continue;
                }
            },
        };
        if asset.part_of.is_none()
            && let Some(parent) = parent
        {
            parents.push((out.len(), parent.as_str()));
        }
        asset_ids.insert(id.as_str(), asset.id.clone());
        out.push(Ok(asset));
    }
    // Parts name their whole by its asset id (its key when it was not read: the
    // relation check then names it).
    for (at, parent) in parents {
        if let Some(Ok(a)) = out.get_mut(at) {
            a.part_of = Some(
                asset_ids
                    .get(parent)
                    .cloned()
                    .unwrap_or_else(|| parent.to_string()),
            );
        }
    }
}

/// The triangles with their vertices converted to WGS84 (each vertex once).
fn surfaces_in_wgs84(
    doc: &Doc,
    t: Option<Transform>,
    crs: &Transformer,
    tris: &[[usize; 3]],
    roles: &[SurfaceRole],
) -> Result<Surfaces, Problem> {
    let mut index: HashMap<usize, u32> = HashMap::new();
    let mut vertices = Vec::new();
    let mut triangles = Vec::with_capacity(tris.len());
    for tri in tris {
        let mut out = [0u32; 3];
        for (k, &i) in tri.iter().enumerate() {
            out[k] = match index.get(&i) {
                Some(&j) => j,
                None => {
                    let p = vertex(doc, t, i);
                    let (lon, lat) = crs.convert(p[0], p[1])?;
                    let j = u32::try_from(vertices.len()).map_err(|_| {
                        Problem::Decode("more than 4 billion vertices in one object".into())
                    })?;
                    vertices.push([lon, lat, p[2]]);
                    index.insert(i, j);
                    j
                }
            };
        }
        triangles.push(out);
    }
    Ok(Surfaces {
        vertices,
        triangles,
        roles: roles.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_the_type_and_names_kinds() {
        assert!(sniff(r#"{"type": "CityJSON", "version": "2.0"}"#));
        assert!(sniff(r#"{ "version":"1.1","type" :"CityJSON"}"#));
        assert!(!sniff(r#"{"type":"FeatureCollection","features":[]}"#));
        assert!(!sniff(r#"{"features":[]}"#));
        assert!(sniff(r#"{"CityObjects":{"a":{"type":"Building"}}"#));
        assert_eq!(kind_of_type("BuildingPart"), "building");
        assert_eq!(kind_of_type("LandUse"), "custom:land_use");
        assert_eq!(
            kind_of_type("GenericCityObject"),
            "custom:generic_city_object"
        );
        assert_eq!(kind_of_type("+NoiseBarrier"), "custom:noise_barrier");
    }
}
