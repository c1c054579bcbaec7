//! Flat triangle meshes of polygon assets, in the local frame, with a handle per vertex.

use geo::TriangulateEarcut;
use geo_types::{Geometry, Polygon};
use twin_core::{Handle, KindFilter, Twin};

/// A triangle mesh: positions (east, north, up) in metres of the twin's local frame,
/// the asset handle of every vertex, and triangle indices.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mesh {
    /// Vertex positions, metres from the frame origin.
    pub positions: Vec<[f32; 3]>,
    /// The asset each vertex belongs to (a row of the state texture).
    pub handles: Vec<u32>,
    /// Three indices per triangle, counter-clockwise seen from above.
    pub indices: Vec<u32>,
}

impl Mesh {
    /// Number of triangles.
    pub fn triangles(&self) -> usize {
        self.indices.len() / 3
    }

    /// Appends a polygon (with holes) at height `up`, tagged with `handle`.
    pub fn push_polygon(&mut self, p: &Polygon<f64>, up: f64, handle: Handle) {
        let tri = p.earcut_triangles_raw();
        let base = self.positions.len() as u32;
        for xy in &tri.vertices {
            self.positions.push([xy[0] as f32, xy[1] as f32, up as f32]);
            self.handles.push(handle.0);
        }
        for t in tri.triangle_indices.chunks_exact(3) {
            // earcut's winding follows the input ring; emit counter-clockwise triangles.
            let [a, b, c] = [t[0], t[1], t[2]].map(|i| tri.vertices[i]);
            let cross = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
            let (i0, i1, i2) = (t[0] as u32, t[1] as u32, t[2] as u32);
            if cross >= 0.0 {
                self.indices.extend([base + i0, base + i1, base + i2]);
            } else {
                self.indices.extend([base + i0, base + i2, base + i1]);
            }
        }
    }
}

/// The flat fill mesh of every polygon asset that passes the filter, at its base height.
pub fn fill_mesh(twin: &Twin, filter: Option<&KindFilter>) -> Mesh {
    let mut mesh = Mesh::default();
    for (h, a) in twin.iter() {
        if filter.is_some_and(|f| !f.matches(&a.kind)) {
            continue;
        }
        let Some(local) = twin.local_geometry(h) else {
            continue;
        };
        match local {
            Geometry::Polygon(p) => mesh.push_polygon(p, a.vertical.base, h),
            Geometry::MultiPolygon(m) => {
                for p in &m.0 {
                    mesh.push_polygon(p, a.vertical.base, h);
                }
            }
            _ => {}
        }
    }
    mesh
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::LineString;
    use twin_core::crs::LocalFrame;
    use twin_core::{Asset, AssetKind};

    #[test]
    fn a_square_with_a_hole_triangulates_with_its_handle() {
        let frame = LocalFrame::chongming();
        let mut twin = Twin::new(frame);
        // A 0.01° square with a 0.002° hole, south-west corner at the frame origin.
        let (o_lon, o_lat) = (121.60, 31.50);
        let ring = |x0: f64, y0: f64, d: f64| {
            LineString::from(vec![
                (x0, y0),
                (x0 + d, y0),
                (x0 + d, y0 + d),
                (x0, y0 + d),
                (x0, y0),
            ])
        };
        let poly = Polygon::new(
            ring(o_lon, o_lat, 0.01),
            vec![ring(o_lon + 0.004, o_lat + 0.004, 0.002)],
        );
        let h = twin
            .insert(Asset::new(
                "SQ",
                AssetKind::GreenSpace,
                Geometry::Polygon(poly),
            ))
            .unwrap();
        twin.insert(Asset::new(
            "PT",
            AssetKind::Station5g,
            Geometry::Point(geo_types::Point::new(121.6, 31.5)),
        ))
        .unwrap();
        let mesh = fill_mesh(&twin, None);
        // 8 vertices; a square ring with a square hole makes 8 triangles.
        assert_eq!(mesh.positions.len(), 8);
        assert_eq!(mesh.triangles(), 8);
        assert!(mesh.handles.iter().all(|&x| x == h.0));
        // The origin corner is at (0, 0) of the local frame.
        assert!(
            mesh.positions
                .iter()
                .any(|p| p[0].abs() < 1e-3 && p[1].abs() < 1e-3)
        );
        // 0.01° of longitude at 31.5° N is ~950 m east.
        let max_e = mesh.positions.iter().map(|p| p[0]).fold(f32::MIN, f32::max);
        assert!((max_e - 950.0).abs() < 3.0, "{max_e}");
        // Every triangle is counter-clockwise and the areas add up to the ring minus the hole.
        let mut area = 0.0f64;
        for t in mesh.indices.chunks_exact(3) {
            let [a, b, c] = [t[0], t[1], t[2]].map(|i| mesh.positions[i as usize]);
            let cross = (b[0] - a[0]) as f64 * (c[1] - a[1]) as f64
                - (b[1] - a[1]) as f64 * (c[0] - a[0]) as f64;
            assert!(cross > 0.0);
            area += cross / 2.0;
        }
        let local = twin.area(h, twin_core::Measure::Local).unwrap();
        assert!((area - local).abs() / local < 1e-4, "{area} vs {local}");
    }
}
