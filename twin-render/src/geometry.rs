//! CPU-side geometry: vertex and instance formats, and a builder that turns polygons,
//! extrusions and line ribbons into indexed triangle lists, in chunks a GPU buffer holds.
//!
//! Positions are `f32` metres (east, north, up) of the twin's local frame. Every vertex
//! and every marker instance carries its asset handle: the shader looks the asset's live
//! colour up in the state texture by that handle, and the picking pass writes it out.

use bytemuck::{Pod, Zeroable};
use geo::TriangulateEarcut;
use geo_types::{LineString, Polygon};

/// Most vertices one chunk of a layer holds (80 MiB of [`Vertex`]): a layer larger
/// than this becomes several draw calls, so draw calls grow with layers and only very
/// slowly with assets (a million extruded buildings are two chunks).
pub const CHUNK_VERTICES: usize = 4 << 20;

/// One vertex: position in the local frame, the asset handle, and the asset's base
/// colour (sRGB, alpha 0 for "invisible unless the overlay colours it").
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct Vertex {
    /// East, north, up in metres from the frame origin.
    pub pos: [f32; 3],
    /// The asset's handle (its row in the state texture).
    pub handle: u32,
    /// Base colour, sRGB RGBA.
    pub color: [u8; 4],
}

/// One marker instance (a sensor, a station): drawn as a small upright diamond.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct Instance {
    /// The marker's foot, metres in the local frame.
    pub pos: [f32; 3],
    /// The asset's handle.
    pub handle: u32,
    /// Base colour, sRGB RGBA.
    pub color: [u8; 4],
    /// Radius in metres; the shader keeps markers at least a few pixels wide.
    pub radius: f32,
}

/// A triangle list (or line list) with its vertices, at most [`CHUNK_VERTICES`] long.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Chunk {
    /// Vertices.
    pub vertices: Vec<Vertex>,
    /// Triangle indices (three per triangle) into `vertices`.
    pub indices: Vec<u32>,
    /// Line indices (two per segment) into `vertices`: building edges.
    pub lines: Vec<u32>,
    /// Drawn see-through (a building model's shell with `--see-through`): an ordered
    /// dither of its pixels, its own pipeline, never picked.
    pub see_through: bool,
}

impl Chunk {
    /// Number of triangles.
    pub fn triangles(&self) -> usize {
        self.indices.len() / 3
    }
}

/// Builds the chunks of one layer.
#[derive(Clone, Debug, Default)]
pub struct MeshBuilder {
    chunks: Vec<Chunk>,
}

impl MeshBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The chunk that can take `n` more vertices, starting a new one when needed.
    fn room(&mut self, n: usize) -> &mut Chunk {
        let full = self
            .chunks
            .last()
            .is_none_or(|c| !c.vertices.is_empty() && c.vertices.len() + n > CHUNK_VERTICES);
        if full {
            self.chunks.push(Chunk::default());
        }
        self.chunks.last_mut().expect("a chunk was just ensured")
    }

    /// Finishes the layer, dropping empty chunks.
    pub fn finish(mut self) -> Vec<Chunk> {
        self.chunks.retain(|c| !c.vertices.is_empty());
        self.chunks
    }

    /// A flat polygon (holes allowed) at height `z`.
    pub fn polygon(&mut self, p: &Polygon<f64>, z: f64, handle: u32, color: [u8; 4]) {
        let (ring, tris) = triangulate(p);
        if tris.is_empty() {
            return;
        }
        let c = self.room(ring.len());
        let base = c.vertices.len() as u32;
        c.vertices.extend(ring.iter().map(|xy| Vertex {
            pos: [xy[0] as f32, xy[1] as f32, z as f32],
            handle,
            color,
        }));
        c.indices.extend(tris.iter().map(|&i| base + i));
    }

    /// A prism: the polygon's roof at `top`, walls down to `bottom`, and its edges (the
    /// roof outline and the vertical corners) as lines.
    pub fn extrusion(&mut self, p: &Polygon<f64>, bottom: f64, top: f64, handle: u32, c: [u8; 4]) {
        let (ring, tris) = triangulate(p);
        if tris.is_empty() {
            return;
        }
        let n = ring.len() as u32;
        let chunk = self.room(2 * ring.len());
        let base = chunk.vertices.len() as u32;
        for z in [top, bottom] {
            chunk.vertices.extend(ring.iter().map(|xy| Vertex {
                pos: [xy[0] as f32, xy[1] as f32, z as f32],
                handle,
                color: c,
            }));
        }
        chunk.indices.extend(tris.iter().map(|&i| base + i));
        // Walls and edges follow each ring (exterior, then holes) as earcut flattened them.
        let mut start = 0u32;
        for len in ring_lengths(p) {
            for k in 0..len {
                let (i, j) = (start + k, start + (k + 1) % len);
                let (ti, tj, bi, bj) = (base + i, base + j, base + n + i, base + n + j);
                chunk.indices.extend([ti, bi, bj, ti, bj, tj]);
                chunk.lines.extend([ti, tj, ti, bi]);
            }
            start += len;
        }
    }

    /// A flat ribbon `width` metres wide along a line at height `z`, with mitred joins
    /// (mitres longer than three half-widths are clipped).
    pub fn ribbon(&mut self, l: &LineString<f64>, width: f64, z: f64, handle: u32, c: [u8; 4]) {
        let pts: Vec<[f64; 2]> = dedup(l);
        if pts.len() < 2 || width.is_nan() || width <= 0.0 {
            return;
        }
        let half = width / 2.0;
        let normal = |a: [f64; 2], b: [f64; 2]| {
            let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
            let len = dx.hypot(dy);
            [-dy / len, dx / len]
        };
        let chunk = self.room(2 * pts.len());
        let base = chunk.vertices.len() as u32;
        for i in 0..pts.len() {
            let n0 = (i > 0).then(|| normal(pts[i - 1], pts[i]));
            let n1 = (i + 1 < pts.len()).then(|| normal(pts[i], pts[i + 1]));
            let off = match (n0, n1) {
                (Some(a), Some(b)) => {
                    let m = [a[0] + b[0], a[1] + b[1]];
                    let ml = m[0].hypot(m[1]);
                    if ml < 1e-9 {
                        a
                    } else {
                        let m = [m[0] / ml, m[1] / ml];
                        let cos = (m[0] * a[0] + m[1] * a[1]).max(1.0 / 3.0);
                        [m[0] / cos, m[1] / cos]
                    }
                }
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => unreachable!("a line of two or more points has a segment"),
            };
            for s in [1.0, -1.0] {
                chunk.vertices.push(Vertex {
                    pos: [
                        (pts[i][0] + s * half * off[0]) as f32,
                        (pts[i][1] + s * half * off[1]) as f32,
                        z as f32,
                    ],
                    handle,
                    color: c,
                });
            }
        }
        for i in 0..pts.len() as u32 - 1 {
            let (l0, r0, l1, r1) = (
                base + 2 * i,
                base + 2 * i + 1,
                base + 2 * i + 2,
                base + 2 * i + 3,
            );
            chunk.indices.extend([l0, r0, r1, l0, r1, l1]);
        }
    }

    /// A polyline drawn as thin lines (town borders).
    pub fn polyline(&mut self, l: &LineString<f64>, z: f64, handle: u32, c: [u8; 4]) {
        let pts = dedup(l);
        if pts.len() < 2 {
            return;
        }
        let chunk = self.room(pts.len());
        let base = chunk.vertices.len() as u32;
        chunk.vertices.extend(pts.iter().map(|p| Vertex {
            pos: [p[0] as f32, p[1] as f32, z as f32],
            handle,
            color: c,
        }));
        for i in 0..pts.len() as u32 - 1 {
            chunk.lines.extend([base + i, base + i + 1]);
        }
    }

    /// A 3D shell (CityJSON surfaces) in the local frame: its triangles, roofs in a
    /// darker, warmer shade of `color`, and no edges.
    pub fn shell(&mut self, s: &Shell, handle: u32, color: [u8; 4]) {
        let roof = roof_color(color);
        let chunk = self.room(3 * s.triangles.len());
        for (t, is_roof) in s.triangles.iter().zip(&s.roofs) {
            let c = if *is_roof { roof } else { color };
            let base = chunk.vertices.len() as u32;
            for &i in t {
                let Some(p) = s.vertices.get(i as usize) else {
                    continue;
                };
                chunk.vertices.push(Vertex {
                    pos: [p[0] as f32, p[1] as f32, p[2] as f32],
                    handle,
                    color: c,
                });
            }
            if chunk.vertices.len() as u32 == base + 3 {
                chunk.indices.extend([base, base + 1, base + 2]);
            } else {
                chunk.vertices.truncate(base as usize);
            }
        }
    }

    /// Appends ready-made triangles (a glTF model) in one chunk.
    pub fn triangles(&mut self, vertices: &[Vertex], indices: &[u32]) {
        let chunk = self.room(vertices.len());
        let base = chunk.vertices.len() as u32;
        chunk.vertices.extend_from_slice(vertices);
        chunk.indices.extend(indices.iter().map(|&i| base + i));
    }
}

/// A 3D shell for [`MeshBuilder::shell`]: vertices (east, north, up in metres of the
/// local frame), triangles, and which triangles are roofs.
#[derive(Clone, Debug, Default)]
pub struct Shell {
    /// Vertices.
    pub vertices: Vec<[f64; 3]>,
    /// Indices into `vertices`, three per triangle.
    pub triangles: Vec<[u32; 3]>,
    /// Per triangle: a roof.
    pub roofs: Vec<bool>,
}

/// A roof's shade of a building's colour: darker and warmer (terracotta-ward).
fn roof_color(c: [u8; 4]) -> [u8; 4] {
    let mix = |v: u8, t: f32| (f32::from(v) * 0.55 + t * 0.45).round() as u8;
    [mix(c[0], 178.0), mix(c[1], 96.0), mix(c[2], 80.0), c[3]]
}

/// The points of a line without consecutive repeats (a zero-length segment has no
/// direction) and without non-finite coordinates.
fn dedup(l: &LineString<f64>) -> Vec<[f64; 2]> {
    let mut out: Vec<[f64; 2]> = Vec::with_capacity(l.0.len());
    for c in &l.0 {
        if !(c.x.is_finite() && c.y.is_finite()) {
            continue;
        }
        if out
            .last()
            .is_none_or(|p| (p[0] - c.x).hypot(p[1] - c.y) > 1e-6)
        {
            out.push([c.x, c.y]);
        }
    }
    out
}

/// The number of distinct vertices of each ring, as earcut flattens them (the closing
/// point dropped).
fn ring_lengths(p: &Polygon<f64>) -> impl Iterator<Item = u32> + '_ {
    std::iter::once(p.exterior())
        .chain(p.interiors())
        .map(|r| r.0.len().saturating_sub(1) as u32)
}

/// The polygon's flattened ring vertices and counter-clockwise triangle indices. A
/// convex quadrilateral without holes (most building footprints) is split directly.
fn triangulate(p: &Polygon<f64>) -> (Vec<[f64; 2]>, Vec<u32>) {
    let ext = p.exterior();
    if ext.0.len() < 4 || ext.0.iter().any(|c| !(c.x.is_finite() && c.y.is_finite())) {
        return (Vec::new(), Vec::new());
    }
    if p.interiors().is_empty() && ext.0.len() == 5 && ext.is_closed() {
        let v: Vec<[f64; 2]> = ext.0[..4].iter().map(|c| [c.x, c.y]).collect();
        let cross = |a: [f64; 2], b: [f64; 2], c: [f64; 2]| {
            (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
        };
        let turns: Vec<f64> = (0..4)
            .map(|i| cross(v[i], v[(i + 1) % 4], v[(i + 2) % 4]))
            .collect();
        if turns.iter().all(|&t| t > 0.0) {
            return (v, vec![0, 1, 2, 0, 2, 3]);
        }
        if turns.iter().all(|&t| t < 0.0) {
            return (v, vec![0, 2, 1, 0, 3, 2]);
        }
    }
    let tri = p.earcut_triangles_raw();
    let mut idx = Vec::with_capacity(tri.triangle_indices.len());
    for t in tri.triangle_indices.chunks_exact(3) {
        let [a, b, c] = [t[0], t[1], t[2]].map(|i| tri.vertices[i]);
        let cross = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
        let (i0, i1, i2) = (t[0] as u32, t[1] as u32, t[2] as u32);
        if cross >= 0.0 {
            idx.extend([i0, i1, i2]);
        } else {
            idx.extend([i0, i2, i1]);
        }
    }
    (tri.vertices, idx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x0: f64, y0: f64, d: f64) -> LineString<f64> {
        LineString::from(vec![
            (x0, y0),
            (x0 + d, y0),
            (x0 + d, y0 + d),
            (x0, y0 + d),
            (x0, y0),
        ])
    }

    fn area(c: &Chunk) -> f64 {
        c.indices
            .chunks_exact(3)
            .map(|t| {
                let [a, b, p] = [t[0], t[1], t[2]].map(|i| c.vertices[i as usize].pos);
                ((b[0] - a[0]) as f64 * (p[1] - a[1]) as f64
                    - (b[1] - a[1]) as f64 * (p[0] - a[0]) as f64)
                    / 2.0
            })
            .sum()
    }

    #[test]
    fn polygon_with_hole_covers_its_area_counter_clockwise() {
        let mut b = MeshBuilder::new();
        let p = Polygon::new(square(0.0, 0.0, 100.0), vec![square(40.0, 40.0, 20.0)]);
        b.polygon(&p, 1.5, 7, [1, 2, 3, 255]);
        let chunks = b.finish();
        assert_eq!(chunks.len(), 1);
        let c = &chunks[0];
        assert_eq!(c.vertices.len(), 8);
        assert_eq!(c.triangles(), 8);
        assert!((area(c) - (10_000.0 - 400.0)).abs() < 1e-6);
        assert!(c.vertices.iter().all(|v| v.handle == 7 && v.pos[2] == 1.5));
    }

    #[test]
    fn clockwise_quad_still_faces_up() {
        let mut b = MeshBuilder::new();
        let cw = LineString::from(vec![
            (0.0, 0.0),
            (0.0, 10.0),
            (20.0, 10.0),
            (20.0, 0.0),
            (0.0, 0.0),
        ]);
        b.polygon(&Polygon::new(cw, vec![]), 0.0, 1, [0; 4]);
        let c = &b.finish()[0];
        assert_eq!(c.triangles(), 2);
        assert!((area(c) - 200.0).abs() < 1e-9);
    }

    #[test]
    fn extruded_box_has_roof_walls_and_edges() {
        let mut b = MeshBuilder::new();
        b.extrusion(
            &Polygon::new(square(0.0, 0.0, 10.0), vec![]),
            2.0,
            14.0,
            3,
            [9; 4],
        );
        let c = &b.finish()[0];
        // 4 roof + 4 foot vertices; 2 roof + 8 wall triangles; 4 roof edges + 4 corners.
        assert_eq!(c.vertices.len(), 8);
        assert_eq!(c.triangles(), 10);
        assert_eq!(c.lines.len(), 16);
        let zs: Vec<f32> = c.vertices.iter().map(|v| v.pos[2]).collect();
        assert_eq!(&zs[..4], &[14.0; 4]);
        assert_eq!(&zs[4..], &[2.0; 4]);
        // The roof triangles are the first two and sit at the top.
        for &i in &c.indices[..6] {
            assert_eq!(c.vertices[i as usize].pos[2], 14.0);
        }
    }

    #[test]
    fn ribbon_is_as_wide_as_asked_and_mitres_corners() {
        let mut b = MeshBuilder::new();
        let l = LineString::from(vec![(0.0, 0.0), (100.0, 0.0), (100.0, 100.0)]);
        b.ribbon(&l, 10.0, 0.5, 2, [0; 4]);
        let c = &b.finish()[0];
        assert_eq!(c.vertices.len(), 6);
        assert_eq!(c.triangles(), 4);
        // Start: ±5 m north of (0,0). Corner: the mitre point (95, 5) inside, (105, -5) outside.
        let p = |i: usize| c.vertices[i].pos;
        assert_eq!(p(0), [0.0, 5.0, 0.5]);
        assert_eq!(p(1), [0.0, -5.0, 0.5]);
        assert!((p(2)[0] - 95.0).abs() < 1e-4 && (p(2)[1] - 5.0).abs() < 1e-4);
        assert!((p(3)[0] - 105.0).abs() < 1e-4 && (p(3)[1] + 5.0).abs() < 1e-4);
        // Straight sections: the ribbon's area is length × width minus the corner overlap.
        assert!((area(c).abs() - 2000.0).abs() < 1e-3, "{}", area(c));
    }

    #[test]
    fn degenerate_input_draws_nothing() {
        let mut b = MeshBuilder::new();
        b.ribbon(
            &LineString::from(vec![(1.0, 1.0), (1.0, 1.0)]),
            5.0,
            0.0,
            0,
            [0; 4],
        );
        b.ribbon(
            &LineString::from(vec![(0.0, 0.0), (f64::NAN, 1.0)]),
            5.0,
            0.0,
            0,
            [0; 4],
        );
        b.polygon(
            &Polygon::new(LineString::from(vec![(0.0, 0.0), (1.0, 0.0)]), vec![]),
            0.0,
            0,
            [0; 4],
        );
        assert!(b.finish().is_empty());
    }

    #[test]
    fn big_layers_split_into_chunks() {
        let mut b = MeshBuilder::new();
        let quads = CHUNK_VERTICES / 8 + 1;
        for i in 0..quads {
            b.extrusion(
                &Polygon::new(square(i as f64 * 20.0, 0.0, 10.0), vec![]),
                0.0,
                3.0,
                i as u32,
                [0; 4],
            );
        }
        let chunks = b.finish();
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].vertices.len(), CHUNK_VERTICES);
        assert_eq!(chunks[1].vertices.len(), 8);
        assert!(chunks[1].indices.iter().all(|&i| i < 8));
    }
}
