//! The shapes of city objects: their surfaces from the nested boundary arrays, the
//! footprint seen from above, the vertical extent, and the triangles of 3D shells.

use std::collections::HashMap;

use geo::orient::{Direction, Orient};
use geo::{Area, BoundingRect, TriangulateEarcut};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use serde_json::Value;

use super::{CityObject, Doc, Geom, SemanticSurface, Transform};
use crate::asset::SurfaceRole;

/// One surface: rings of vertex indices (the first the outer one) and its role.
pub(super) struct Face {
    rings: Vec<Vec<usize>>,
    role: SurfaceRole,
}

/// An object's shape in the file's CRS, before conversion.
pub(super) struct Shape {
    pub(super) footprint: MultiPolygon<f64>,
    pub(super) zmin: f64,
    pub(super) zmax: f64,
    /// Triangles (vertex indices of the file) and roles, for 3D shells.
    pub(super) triangles: Option<(Vec<[usize; 3]>, Vec<SurfaceRole>)>,
    pub(super) lod: String,
}

/// The LoD as text (`2.2`; 1.0 files write numbers) and a number to compare.
pub(super) fn lod_of(g: &Geom) -> (String, f64) {
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
pub(super) fn vertex(doc: &Doc, t: Option<Transform>, i: usize) -> [f64; 3] {
    let v = doc.vertices[i];
    match t {
        Some(t) => std::array::from_fn(|k| v[k] * t.scale[k] + t.translate[k]),
        None => v,
    }
}

/// The shape of one object's chosen geometry, in the file's CRS.
pub(super) fn shape(
    doc: &Doc,
    t: Option<Transform>,
    o: &CityObject,
) -> Result<Option<Shape>, String> {
    check_materials(doc, o)?;
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
        // Walls have (almost) no area seen from above: compared with the surface's own
        // size, so the test holds in metres and in degrees alike.
        let size = p.bounding_rect().map_or(0.0, |r| r.width().max(r.height()));
        if p.unsigned_area() > 1e-6 * size * size && size > 0.0 {
            // One winding for all: the union reads clockwise rings as holes.
            from_above.push(p.orient(Direction::Default));
        }
    }
    if from_above.is_empty() {
        return Err("its surfaces have no area seen from above".into());
    }
    // geo's union (i_overlay 4.5) asserts on some degenerate surfaces in debug builds
    // (`is_fill_top`, a fuzzer's find in a mutated 3DBAG file): refused, not a panic.
    let footprint = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        geo::unary_union(&from_above)
    }))
    .map_err(|_| "its surfaces could not be unioned into a footprint (degenerate rings)")?;
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
        // A ring of fewer than three distinct positions is no area (and geo's earcut
        // asserts against it: found by fuzzing, fuzz/regressions/cityjson/): skip the
        // surface.
        if std::iter::once(poly.exterior())
            .chain(poly.interiors())
            .any(|r| r.0.len() < 4)
        {
            continue;
        }
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

/// Every material a geometry's themes name must be one of the file's.
fn check_materials(doc: &Doc, o: &CityObject) -> Result<(), String> {
    let have = doc.appearance.as_ref().map_or(0, |a| a.materials.len());
    /// The first index in `v` that names no material (`None` if all do).
    fn bad(v: &Value, have: usize) -> Option<String> {
        match v {
            Value::Number(n) => match n.as_u64() {
                Some(i) if (i as usize) < have => None,
                Some(i) => Some(format!("material {i}")),
                None => Some(format!("`{n}`, which is no material index")),
            },
            Value::Array(a) => a.iter().find_map(|x| bad(x, have)),
            _ => None,
        }
    }
    for g in &o.geometry {
        for (theme, m) in g.material.iter().flatten() {
            let named = m.get("value").or_else(|| m.get("values"));
            if let Some(what) = named.and_then(|v| bad(v, have)) {
                return Err(format!(
                    "its material theme `{theme}` names {what}; the file has {have} materials"
                ));
            }
        }
    }
    Ok(())
}
