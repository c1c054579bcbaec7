//! Where a storey (or a building, or a site) without a shell of its own is: the
//! extent of its parts.
//!
//! IFC gives a storey no geometry, only an `Elevation` relative to its building's
//! placement, which files fill inconsistently (often 0 for every storey, or in
//! another unit). A storey without its extent cannot be ordered against the others
//! (show this storey, hide those above), nor found by a 3D point (the storey a
//! person stands on). So each spatial element whose shell is empty gets the convex
//! hull of its parts' footprints as its footprint, and a vertical extent from its
//! floor to the top of its highest part. The floor is where its rooms start (the
//! lowest base of its IfcSpaces), or, for a storey without rooms, the median base of
//! its parts — a wall or two reaching into the foundation do not pull it down.

use std::collections::HashMap;

use geo::{ConvexHull, Coord, MultiPoint, Point};
use twin_core::{Asset, Vertical, ZLevel};

/// Gives every asset of `assets` whose shell is empty and that has parts (a storey,
/// a building, a site) the extent of its parts at any depth. Parts are followed by
/// `part_of` within `assets`; a cycle ends the walk.
pub(crate) fn of_wholes(assets: &mut [Asset]) {
    let index: HashMap<&str, usize> = assets
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id.as_str(), i))
        .collect();
    // Each asset's wholes at any depth, nearest first.
    let mut parts_of: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, a) in assets.iter().enumerate() {
        let mut at = a.part_of.as_deref();
        let mut seen = 0;
        while let Some(w) = at.and_then(|id| index.get(id)).copied() {
            if w == i || seen > 32 {
                break;
            }
            parts_of.entry(w).or_default().push(i);
            at = assets[w].part_of.as_deref();
            seen += 1;
        }
    }
    let mut extents = Vec::new();
    for (whole, parts) in &parts_of {
        let w = &assets[*whole];
        if w.surfaces.as_ref().is_some_and(|s| !s.vertices.is_empty()) {
            continue;
        }
        let shelled: Vec<&Asset> = parts
            .iter()
            .map(|p| &assets[*p])
            .filter(|p| p.surfaces.as_ref().is_some_and(|s| !s.vertices.is_empty()))
            .collect();
        if let Some(e) = extent(&shelled) {
            extents.push((*whole, e));
        }
    }
    for (i, (footprint, vertical)) in extents {
        assets[i].geometry = footprint;
        assets[i].vertical = vertical;
    }
}

fn extent(parts: &[&Asset]) -> Option<(geo::Geometry<f64>, Vertical)> {
    // The parts' footprints are already the convex hulls of their shells: the hull of
    // their corners is the hull of every vertex, from far fewer points.
    let points: MultiPoint<f64> = parts
        .iter()
        .flat_map(|p| match &p.geometry {
            geo::Geometry::Polygon(poly) => poly.exterior().0.clone(),
            _ => Vec::new(),
        })
        .map(|c| Point::from(Coord { x: c.x, y: c.y }))
        .collect();
    if points.0.len() < 3 {
        return None;
    }
    let top = parts
        .iter()
        .map(|p| p.vertical.base + p.vertical.height)
        .fold(f64::NEG_INFINITY, f64::max);
    let rooms: Vec<f64> = parts
        .iter()
        .filter(|p| p.properties.get("ifc_class").and_then(|c| c.as_str()) == Some("IfcSpace"))
        .map(|p| p.vertical.base)
        .collect();
    let floor = if rooms.is_empty() {
        let mut bases: Vec<f64> = parts.iter().map(|p| p.vertical.base).collect();
        bases.sort_by(f64::total_cmp);
        bases[bases.len() / 2]
    } else {
        rooms.iter().copied().fold(f64::INFINITY, f64::min)
    };
    let hull = points.convex_hull();
    (floor.is_finite() && top.is_finite()).then(|| {
        (
            geo::Geometry::Polygon(hull),
            Vertical {
                base: floor,
                height: (top - floor).max(0.0),
                z_level: ZLevel::Ground,
            },
        )
    })
}
