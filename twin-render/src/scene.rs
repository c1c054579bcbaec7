//! A scene: every asset of a twin turned into GPU-ready layers, once.
//!
//! [`Scene::build`] walks the twin's assets in their local-frame geometry and sorts them
//! into [`LayerKind`]s: polygons become flat fills (islands, fields, water) or prisms
//! (buildings, anything with a height), lines become ribbons as wide as their `width`
//! property or their road class, points become marker instances; an asset with 3D
//! surfaces (a CityJSON building's LoD2 shell) is drawn as its triangles, roofs
//! tinted, and one whose surfaces are empty is left to its parts. Live state never
//! touches a scene: colours come from the state texture at draw time.

use geo_types::{Geometry, LineString, Polygon};
use twin_core::{Asset, AssetKind, Handle, SurfaceRole, Surfaces, Twin};

use crate::geometry::{Chunk, Instance, MeshBuilder, Shell};
use crate::palette::{self, LayerKind};

/// Everything a renderer uploads to draw a twin.
#[derive(Clone, Debug, Default)]
pub struct Scene {
    /// Triangle and line chunks per layer, indexed by [`LayerKind::index`].
    pub layers: Vec<Vec<Chunk>>,
    /// Marker instances (point assets).
    pub markers: Vec<Instance>,
    /// Smallest box (min east, north, up; max east, north, up) around all geometry, in
    /// metres of the local frame; `None` for an empty scene.
    pub bounds: Option<([f32; 3], [f32; 3])>,
    /// One more than the largest handle drawn: the rows the state texture needs.
    pub handle_capacity: u32,
}

/// The share of a see-through shell's pixels drawn (of 255): a third.
const SEE_THROUGH_ALPHA: u8 = 85;

impl Scene {
    /// Builds the scene of every asset of `twin`.
    pub fn build(twin: &Twin) -> Scene {
        Scene::build_with(twin, &|_, _| true)
    }

    /// Builds the scene of the assets `keep` accepts (a section through a building
    /// model: [`crate::cut::below_section`], [`crate::cut::up_to_storey`]).
    pub fn build_with(twin: &Twin, keep: &dyn Fn(Handle, &Asset) -> bool) -> Scene {
        Scene::build_styled(twin, keep, &|_, _| false)
    }

    /// [`Scene::build_with`], with the 3D shells `see_through` accepts drawn
    /// see-through (a building model's walls and roof: [`crate::cut::model_shell`]):
    /// a third of their pixels, so the rooms inside show, and not picked.
    pub fn build_styled(
        twin: &Twin,
        keep: &dyn Fn(Handle, &Asset) -> bool,
        see_through: &dyn Fn(Handle, &Asset) -> bool,
    ) -> Scene {
        let mut builders: Vec<MeshBuilder> =
            LayerKind::ALL.iter().map(|_| MeshBuilder::new()).collect();
        let mut markers = Vec::new();
        let mut see_through_shells = MeshBuilder::new();
        for (h, a) in twin.iter().filter(|(h, a)| keep(*h, a)) {
            // A 3D shell (CityJSON LoD2) is drawn as it is; an empty one by the parts.
            // A see-through one is not drawn; a model's room by its floor.
            if let Some(s) = &a.surfaces {
                let mut color = palette::base_color(a);
                let dithered = color[3] > 0 && see_through(h, a);
                if dithered {
                    color[3] = SEE_THROUGH_ALPHA;
                }
                if color[3] > 0 {
                    let mut shell = local_shell(twin, s);
                    if matches!(&a.kind, AssetKind::Custom(k) if k == "ifc_space") {
                        shell = floor_of(shell);
                    }
                    let b = if dithered {
                        &mut see_through_shells
                    } else {
                        &mut builders[LayerKind::Buildings.index()]
                    };
                    b.shell(&shell, h.0, color);
                }
                continue;
            }
            let Some(g) = twin.local_geometry(h) else {
                continue;
            };
            add_asset(&mut builders, &mut markers, h, a, g);
        }
        let mut layers: Vec<Vec<Chunk>> = builders.into_iter().map(MeshBuilder::finish).collect();
        layers[LayerKind::Buildings.index()].extend(see_through_shells.finish().into_iter().map(
            |mut c| {
                c.see_through = true;
                c
            },
        ));
        let mut scene = Scene {
            layers,
            markers,
            bounds: None,
            handle_capacity: twin.handle_capacity() as u32,
        };
        scene.recompute_bounds();
        scene
    }

    /// Adds ready-made chunks (e.g. a placed glTF model) to a layer.
    pub fn add_chunks(&mut self, layer: LayerKind, chunks: Vec<Chunk>) {
        for c in &chunks {
            for v in &c.vertices {
                self.handle_capacity = self.handle_capacity.max(v.handle + 1);
            }
        }
        self.layers[layer.index()].extend(chunks);
        self.recompute_bounds();
    }

    /// The chunks of one layer.
    pub fn layer(&self, l: LayerKind) -> &[Chunk] {
        &self.layers[l.index()]
    }

    /// Triangles over all layers.
    pub fn triangles(&self) -> usize {
        self.layers.iter().flatten().map(Chunk::triangles).sum()
    }

    fn recompute_bounds(&mut self) {
        let mut lo = [f32::INFINITY; 3];
        let mut hi = [f32::NEG_INFINITY; 3];
        let mut grow = |p: [f32; 3]| {
            for i in 0..3 {
                lo[i] = lo[i].min(p[i]);
                hi[i] = hi[i].max(p[i]);
            }
        };
        for c in self.layers.iter().flatten() {
            c.vertices.iter().for_each(|v| grow(v.pos));
        }
        self.markers.iter().for_each(|m| grow(m.pos));
        self.bounds = (lo[0] <= hi[0]).then_some((lo, hi));
    }
}

/// A shell's vertices in the twin's local frame (east, north in metres; heights as
/// they are, like [`Asset::vertical`]'s).
fn local_shell(twin: &Twin, s: &Surfaces) -> Shell {
    let f = twin.frame();
    Shell {
        vertices: s
            .vertices
            .iter()
            .map(|v| {
                let (e, n) = f.to_local(v[0], v[1]);
                [e, n, v[2]]
            })
            .collect(),
        triangles: s.triangles.clone(),
        roofs: s.roles.iter().map(|r| *r == SurfaceRole::Roof).collect(),
    }
}

/// A room's floor: the triangles of its shell that lie at its lowest height (within
/// 2 cm), lifted 3 cm so they show above the slab they rest on.
fn floor_of(shell: Shell) -> Shell {
    let lowest = shell
        .vertices
        .iter()
        .map(|v| v[2])
        .fold(f64::INFINITY, f64::min);
    let at_floor = |i: u32| {
        shell
            .vertices
            .get(i as usize)
            .is_some_and(|v| v[2] - lowest < 0.02)
    };
    let (triangles, roofs) = shell
        .triangles
        .iter()
        .zip(&shell.roofs)
        .filter(|(t, _)| t.iter().all(|&i| at_floor(i)))
        .map(|(t, _)| (*t, false))
        .unzip();
    Shell {
        vertices: shell
            .vertices
            .iter()
            .map(|v| [v[0], v[1], v[2] + 0.03])
            .collect(),
        triangles,
        roofs,
    }
}

fn add_asset(
    builders: &mut [MeshBuilder],
    markers: &mut Vec<Instance>,
    h: Handle,
    a: &Asset,
    g: &Geometry<f64>,
) {
    let layer = palette::layer_of(a);
    let color = palette::base_color(a);
    let z = a.vertical.base + layer.lift();
    match g {
        Geometry::Point(p) => markers.push(marker(h, a, p.x(), p.y(), color)),
        Geometry::MultiPoint(m) => {
            markers.extend(m.0.iter().map(|p| marker(h, a, p.x(), p.y(), color)));
        }
        Geometry::LineString(l) => line(builders, layer, h, a, l, z, color),
        Geometry::MultiLineString(m) => {
            for l in &m.0 {
                line(builders, layer, h, a, l, z, color);
            }
        }
        Geometry::Polygon(p) => polygon(builders, layer, h, a, p, z, color),
        Geometry::MultiPolygon(m) => {
            for p in &m.0 {
                polygon(builders, layer, h, a, p, z, color);
            }
        }
        Geometry::GeometryCollection(gc) => {
            for g in &gc.0 {
                add_asset(builders, markers, h, a, g);
            }
        }
        // Other geo types (Line, Rect, Triangle) do not come out of twin's loaders.
        _ => {}
    }
}

fn marker(h: Handle, a: &Asset, x: f64, y: f64, color: [u8; 4]) -> Instance {
    Instance {
        pos: [x as f32, y as f32, a.vertical.base as f32],
        handle: h.0,
        color,
        radius: palette::marker_radius(a),
    }
}

fn line(
    builders: &mut [MeshBuilder],
    layer: LayerKind,
    h: Handle,
    a: &Asset,
    l: &LineString<f64>,
    z: f64,
    color: [u8; 4],
) {
    let layer = match layer {
        // A line can't be a town's fill: draw it as a border.
        LayerKind::Towns | LayerKind::Land => LayerKind::TownBorders,
        LayerKind::Markers | LayerKind::Buildings => LayerKind::Roads,
        l => l,
    };
    builders[layer.index()].ribbon(l, palette::ribbon_width(a), z, h.0, color);
}

fn polygon(
    builders: &mut [MeshBuilder],
    layer: LayerKind,
    h: Handle,
    a: &Asset,
    p: &Polygon<f64>,
    z: f64,
    color: [u8; 4],
) {
    let height = building_height(a);
    if layer == LayerKind::Buildings || (layer == LayerKind::Markers && height > 0.0) {
        let base = a.vertical.base;
        builders[LayerKind::Buildings.index()].extrusion(p, base, base + height, h.0, color);
        return;
    }
    let layer = if layer == LayerKind::Markers {
        LayerKind::Areas
    } else {
        layer
    };
    builders[layer.index()].polygon(p, z, h.0, color);
    if layer == LayerKind::Towns {
        let border = [70, 70, 90, 255];
        let zb = a.vertical.base + LayerKind::TownBorders.lift();
        let b = &mut builders[LayerKind::TownBorders.index()];
        b.polyline(p.exterior(), zb, h.0, border);
        for r in p.interiors() {
            b.polyline(r, zb, h.0, border);
        }
    }
}

/// A building's height: its vertical extent, else its floors × 3 m, else 6 m; 0 (its
/// plot drawn flat) when a building model stands in for it (`bim_building`, set by
/// `twin … --bim FILE.ifc --place @ID`).
fn building_height(a: &Asset) -> f64 {
    if a.properties.get("bim_building").is_some() {
        return 0.0;
    }
    if a.vertical.height.is_finite() && a.vertical.height > 0.0 {
        return a.vertical.height;
    }
    if let Some(f) = a.properties.get("floors").and_then(|v| v.as_f64())
        && f.is_finite()
        && f > 0.0
    {
        return f * 3.0;
    }
    if a.kind == AssetKind::Building {
        6.0
    } else {
        0.0
    }
}

/// The box (min, max corners in the local frame, metres) around one asset, its height
/// included: what a camera fits to fly to the asset or a town.
pub fn asset_bounds(twin: &Twin, h: Handle) -> Option<([f32; 3], [f32; 3])> {
    use geo::BoundingRect;
    let a = twin.get(h)?;
    let r = twin.local_geometry(h)?.bounding_rect()?;
    let z0 = a.vertical.base;
    let z1 = z0 + building_height(a).max(0.0);
    Some((
        [r.min().x as f32, r.min().y as f32, z0 as f32],
        [r.max().x as f32, r.max().y as f32, z1 as f32],
    ))
}

/// The box around every asset of one kind (the islands, for an opening view).
pub fn kind_bounds(twin: &Twin, kind: &AssetKind) -> Option<([f32; 3], [f32; 3])> {
    twin.iter()
        .filter(|(_, a)| a.kind == *kind)
        .filter_map(|(h, _)| asset_bounds(twin, h))
        .reduce(|(l0, h0), (l1, h1)| {
            (
                std::array::from_fn(|i| l0[i].min(l1[i])),
                std::array::from_fn(|i| h0[i].max(h1[i])),
            )
        })
}

/// A box grown horizontally to at least `min_half` metres either side of its centre,
/// so a camera fitted to a small asset shows its neighbourhood.
pub fn widen((mut lo, mut hi): ([f32; 3], [f32; 3]), min_half: f32) -> ([f32; 3], [f32; 3]) {
    for i in 0..2 {
        let c = (lo[i] + hi[i]) / 2.0;
        let half = ((hi[i] - lo[i]) / 2.0).max(min_half);
        lo[i] = c - half;
        hi[i] = c + half;
    }
    (lo, hi)
}
