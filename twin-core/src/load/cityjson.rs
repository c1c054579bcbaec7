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
//! * **Parts**: a `BuildingPart` is `part_of` its parent. A parent without geometry of
//!   its own gets the union of its children's footprints and their vertical extent,
//!   and an empty [`crate::asset::Surfaces`]: its parts draw it.
//! * **Attributes** become properties (nested values as JSON text).
//!
//! The CRS is the file's `metadata.referenceSystem` in any of its spellings
//! (`https://www.opengis.net/def/crs/EPSG/0/7415`, the `http` form, and 1.0's
//! `urn:ogc:def:crs:EPSG::7415`); `--crs` overrides it. Vertices are integers scaled
//! by the file's `transform` (1.0 files may give plain numbers without one).
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

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::sync::Arc;

use geo::orient::{Direction, Orient};
use geo::{Area, TriangulateEarcut};
use geo_types::{Coord, Geometry, LineString, MultiPolygon, Polygon};
use serde::Deserialize;
use serde_json::{Map, Value};

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
    vertices: Vec<[f64; 3]>,
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

/// One surface: rings of vertex indices (the first the outer one) and its role.
struct Face {
    rings: Vec<Vec<usize>>,
    role: SurfaceRole,
}

/// An object's shape in the file's CRS, before conversion.
struct Shape {
    footprint: MultiPolygon<f64>,
    zmin: f64,
    zmax: f64,
    /// Triangles (vertex indices of the file) and roles, for 3D shells.
    triangles: Option<(Vec<[usize; 3]>, Vec<SurfaceRole>)>,
    lod: String,
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
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        file: name.clone(),
        source,
    })?;
    read_cityjson_str(&text, &name, mapping)
}

/// Reads CityJSON text; `file` names it in errors.
pub fn read_cityjson_str(
    text: &str,
    file: &str,
    mapping: &Mapping,
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
    read_objects(&doc, doc.transform, &mapping, &t, &file, 0, &mut out);
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

/// The LoD as text (`2.2`; 1.0 files write numbers) and a number to compare.
fn lod_of(g: &Geom) -> (String, f64) {
    let text = match &g.lod {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let n = text.parse::<f64>().unwrap_or(-1.0);
    (text, n)
}

fn role_of(ty: &str) -> SurfaceRole {
    match ty {
        "RoofSurface" => SurfaceRole::Roof,
        "WallSurface" | "ClosureSurface" | "OuterCeilingSurface" => SurfaceRole::Wall,
        "GroundSurface" | "OuterFloorSurface" => SurfaceRole::Ground,
        _ => SurfaceRole::Other,
    }
}

/// Collects the surfaces of `b` (`depth` levels of nesting above a surface) with their
/// semantic values.
fn faces(
    b: &Value,
    values: Option<&Value>,
    depth: usize,
    surfaces: &[SemanticSurface],
    n_vertices: usize,
    out: &mut Vec<Face>,
) -> Result<(), String> {
    let items = b
        .as_array()
        .ok_or_else(|| format!("boundaries: expected an array, found {b}"))?;
    if depth == 0 {
        // A surface: rings of vertex indices.
        let mut rings = Vec::with_capacity(items.len());
        for r in items {
            let r = r
                .as_array()
                .ok_or_else(|| "boundaries: a ring is not an array".to_string())?;
            let mut ring = Vec::with_capacity(r.len());
            for v in r {
                let i = v
                    .as_u64()
                    .ok_or_else(|| format!("boundaries: vertex index {v} is not a whole number"))?;
                let i = usize::try_from(i).unwrap_or(usize::MAX);
                if i >= n_vertices {
                    return Err(format!(
                        "vertex index {i} is out of range (the file has {n_vertices} vertices)"
                    ));
                }
                ring.push(i);
            }
            // Rings are not closed in CityJSON; tolerate one that is.
            if ring.len() > 1 && ring.first() == ring.last() {
                ring.pop();
            }
            if ring.len() < 3 {
                return Err(format!(
                    "a ring has {} vertices, needs at least 3",
                    ring.len()
                ));
            }
            rings.push(ring);
        }
        if rings.is_empty() {
            return Err("a surface has no ring".into());
        }
        let role = values
            .and_then(Value::as_u64)
            .and_then(|i| surfaces.get(usize::try_from(i).ok()?))
            .map_or(SurfaceRole::Other, |s| role_of(&s.ty));
        out.push(Face { rings, role });
        return Ok(());
    }
    for (k, item) in items.iter().enumerate() {
        let v = values.and_then(|v| v.as_array()).and_then(|a| a.get(k));
        faces(item, v, depth - 1, surfaces, n_vertices, out)?;
    }
    Ok(())
}

/// The real coordinates of vertex `i`.
fn vertex(doc: &Doc, t: Option<Transform>, i: usize) -> [f64; 3] {
    let v = doc.vertices[i];
    match t {
        Some(t) => std::array::from_fn(|k| v[k] * t.scale[k] + t.translate[k]),
        None => v,
    }
}

/// The shape of one object's chosen geometry, in the file's CRS.
fn shape(doc: &Doc, t: Option<Transform>, o: &CityObject) -> Result<Option<Shape>, String> {
    let usable = |g: &&Geom| {
        matches!(
            g.ty.as_str(),
            "MultiSurface" | "CompositeSurface" | "Solid" | "MultiSolid" | "CompositeSolid"
        )
    };
    let Some(g) = o
        .geometry
        .iter()
        .filter(usable)
        .max_by(|a, b| lod_of(a).1.total_cmp(&lod_of(b).1))
    else {
        return match o.geometry.first() {
            None => Ok(None),
            Some(g) => Err(format!(
                "its geometry is a {} only, which twin does not place (templates, points and \
                 lines are not read)",
                g.ty
            )),
        };
    };
    let depth = match g.ty.as_str() {
        "MultiSurface" | "CompositeSurface" => 1,
        "Solid" => 2,
        _ => 3,
    };
    let (surfaces, values) = match &g.semantics {
        Some(s) => (&s.surfaces[..], Some(&s.values)),
        None => (&[][..], None),
    };
    let mut fs = Vec::new();
    faces(
        &g.boundaries,
        values,
        depth,
        surfaces,
        doc.vertices.len(),
        &mut fs,
    )?;
    if fs.is_empty() {
        return Err(format!("its {} has no surface", g.ty));
    }
    let (mut zmin, mut zmax) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut seen: HashMap<usize, [f64; 3]> = HashMap::new();
    for f in &fs {
        for &i in f.rings.iter().flatten() {
            let p = *seen.entry(i).or_insert_with(|| vertex(doc, t, i));
            if !p.iter().all(|c| c.is_finite()) {
                return Err(format!("vertex {i} is not finite: {p:?}"));
            }
            zmin = zmin.min(p[2]);
            zmax = zmax.max(p[2]);
        }
    }
    let xy = |i: usize| {
        let p = seen[&i];
        Coord { x: p[0], y: p[1] }
    };
    // The footprint: every surface seen from above, unioned (walls have no area there).
    let mut from_above = Vec::new();
    for f in &fs {
        let ring = |r: &Vec<usize>| LineString::new(r.iter().map(|&i| xy(i)).collect());
        let p = Polygon::new(ring(&f.rings[0]), f.rings[1..].iter().map(ring).collect());
        if p.unsigned_area() > 1e-9 {
            // One winding for all: the union reads clockwise rings as holes.
            from_above.push(p.orient(Direction::Default));
        }
    }
    if from_above.is_empty() {
        return Err("its surfaces have no area seen from above".into());
    }
    let footprint = geo::unary_union(&from_above);
    if footprint.0.is_empty() {
        return Err("its footprint is empty".into());
    }
    let (lod_text, lod) = lod_of(g);
    // Solids are shells; so are the surfaces of constructions (a building's LoD2
    // MultiSurface). Surfaces of roads, land use, water and terrain lie on the ground:
    // their footprint is what is drawn.
    let construction = [
        "Building",
        "Bridge",
        "Tunnel",
        "OtherConstruction",
        "CityFurniture",
    ]
    .iter()
    .any(|p| o.ty.starts_with(p));
    let is_3d = depth > 1 || (construction && lod >= 1.0 && zmax - zmin > 0.01);
    let triangles = is_3d.then(|| triangulate(&fs, &seen));
    Ok(Some(Shape {
        footprint,
        zmin,
        zmax,
        triangles,
        lod: lod_text,
    }))
}

/// Triangulates each (planar) surface in its own plane: the axis its normal points
/// along most is dropped, and earcut runs on the other two.
fn triangulate(fs: &[Face], p: &HashMap<usize, [f64; 3]>) -> (Vec<[usize; 3]>, Vec<SurfaceRole>) {
    let mut tris = Vec::new();
    let mut roles = Vec::new();
    for f in fs {
        // Newell's normal of the outer ring.
        let outer = &f.rings[0];
        let mut n = [0.0f64; 3];
        for k in 0..outer.len() {
            let (a, b) = (p[&outer[k]], p[&outer[(k + 1) % outer.len()]]);
            n[0] += (a[1] - b[1]) * (a[2] + b[2]);
            n[1] += (a[2] - b[2]) * (a[0] + b[0]);
            n[2] += (a[0] - b[0]) * (a[1] + b[1]);
        }
        let drop = (0..3)
            .max_by(|&i, &j| n[i].abs().total_cmp(&n[j].abs()))
            .unwrap_or(2);
        let (u, v) = match drop {
            0 => (1, 2),
            1 => (2, 0),
            _ => (0, 1),
        };
        let ring = |r: &Vec<usize>| {
            LineString::new(
                r.iter()
                    .map(|i| Coord {
                        x: p[i][u],
                        y: p[i][v],
                    })
                    .collect(),
            )
        };
        let poly = Polygon::new(ring(outer), f.rings[1..].iter().map(ring).collect());
        let raw = poly.earcut_triangles_raw();
        let flat: Vec<usize> = f.rings.iter().flatten().copied().collect();
        if raw.vertices.len() != flat.len() {
            // earcut dropped or added a vertex (a degenerate ring): skip the surface.
            continue;
        }
        for t in raw.triangle_indices.chunks_exact(3) {
            let mut tri = [flat[t[0]], flat[t[1]], flat[t[2]]];
            // Keep the surface's own orientation (outward in valid CityJSON).
            let (a, b, c) = (p[&tri[0]], p[&tri[1]], p[&tri[2]]);
            let cross = [
                (b[1] - a[1]) * (c[2] - a[2]) - (b[2] - a[2]) * (c[1] - a[1]),
                (b[2] - a[2]) * (c[0] - a[0]) - (b[0] - a[0]) * (c[2] - a[2]),
                (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]),
            ];
            if cross[0] * n[0] + cross[1] * n[1] + cross[2] * n[2] < 0.0 {
                tri.swap(1, 2);
            }
            tris.push(tri);
            roles.push(f.role);
        }
    }
    (tris, roles)
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
    for (k, (id, o)) in doc.city_objects.iter().enumerate() {
        let index = first_index + k;
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
        // Its own 3D shell; else, with parts, drawn by them (an empty set); else flat.
        let surfaces = match own.and_then(|s| s.triangles.as_ref()) {
            Some(t) => Some(Some(t)),
            None if !parts.is_empty() => None,
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
            match mapping.asset_from_properties(Some(&props), Some(id), geometry, file, index) {
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
        if asset.part_of.is_none() {
            asset.part_of = o.parents.first().cloned();
        }
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
        out.push(Ok(asset));
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
