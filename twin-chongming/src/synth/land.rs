//! Town land: each town's polygon intersected with the islands, in the local frame, and
//! a raster that answers "which town's land holds this point / rectangle" cheaply.

use geo::{Area, BooleanOps, BoundingRect, Contains, InteriorPoint};
use geo_types::{Coord, Geometry, LineString, MultiLineString, MultiPolygon, Polygon, Rect};

use super::geom::{Box2, Polyline, segment_meets_box};
use super::rng::Rng;
use super::synth_error;
use twin_core::AssetKind;
use twin_core::LoadError;
use twin_core::Twin;

/// Raster cell size (m).
const CELL: f64 = 100.0;
/// Raster class of a cell that is in no town's land.
const OUTSIDE: u8 = 0;
/// Raster class of a cell that a land boundary may cross.
const MIXED: u8 = u8::MAX;
/// Largest east–west or north–south extent of all town land (m).
const MAX_EXTENT: f64 = 400_000.0;
/// Islands with less town land than this (m²) get no trunk road or canals.
const MIN_ISLAND_LAND: f64 = 5.0e6;

/// One town: its land and seat.
#[derive(Clone, Debug)]
pub(crate) struct Town {
    /// Id of the town asset (`CM-TOWN-CHENGQIAO`).
    pub(crate) id: String,
    /// English name (the id when the town has none).
    pub(crate) name_en: String,
    /// Size weight: 3 for the district seat Chengqiao, 2 for Baozhen and Changxing, else 1.
    pub(crate) weight: f64,
    /// Town ∩ islands, local frame.
    pub(crate) land: MultiPolygon<f64>,
    /// Bounding box of the land.
    pub(crate) bbox: Box2,
    /// Every edge of every ring of the land.
    edges: Vec<(Coord<f64>, Coord<f64>)>,
    /// The seat: interior point of the land's largest polygon.
    pub(crate) seat: Coord<f64>,
    /// Index into [`Land::islands`] of the island holding the seat.
    pub(crate) island: Option<usize>,
}

/// A main island: its land inside towns and its north–south profile.
#[derive(Clone, Debug)]
pub(crate) struct Island {
    /// English name (the id when it has none).
    pub(crate) name_en: String,
    /// Island ∩ union of town lands.
    pub(crate) land: MultiPolygon<f64>,
    /// Bounding box of that land.
    pub(crate) bbox: Box2,
    /// Area of that land (m²).
    pub(crate) area: f64,
    /// For x positions across the island: `(x, y_lo, y_hi)` of the longest north–south
    /// chord inside the land.
    pub(crate) profile: Vec<(f64, f64, f64)>,
}

/// All town land with a raster for fast lookups.
#[derive(Clone, Debug)]
pub(crate) struct Land {
    /// The towns, in twin order.
    pub(crate) towns: Vec<Town>,
    /// Islands with enough town land for a trunk road, in twin order.
    pub(crate) islands: Vec<Island>,
    /// Outlines of every island asset (including parts in no town).
    outlines: Vec<(MultiPolygon<f64>, Box2)>,
    /// Union of all town lands.
    pub(crate) all: MultiPolygon<f64>,
    /// Bounding box of all town land.
    pub(crate) bbox: Box2,
    x0: f64,
    y0: f64,
    nx: usize,
    ny: usize,
    class: Vec<u8>,
}

fn as_multi(g: &Geometry<f64>) -> Option<MultiPolygon<f64>> {
    match g {
        Geometry::Polygon(p) => Some(MultiPolygon::new(vec![p.clone()])),
        Geometry::MultiPolygon(m) => Some(m.clone()),
        _ => None,
    }
}

fn box_of(m: &MultiPolygon<f64>) -> Option<Box2> {
    m.bounding_rect().map(|r: Rect<f64>| Box2 {
        min: r.min(),
        max: r.max(),
    })
}

fn rings(m: &MultiPolygon<f64>) -> impl Iterator<Item = &LineString<f64>> {
    m.iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
}

/// Size weight of a town by id.
fn town_weight(id: &str) -> f64 {
    match id {
        "CM-TOWN-CHENGQIAO" => 3.0,
        "CM-TOWN-BAOZHEN" | "CM-TOWN-CHANGXING" => 2.0,
        _ => 1.0,
    }
}

impl Land {
    /// Reads the towns and islands of `twin` and builds their land.
    pub(crate) fn build(twin: &Twin) -> Result<Land, LoadError> {
        let mut town_src = Vec::new();
        let mut island_src = Vec::new();
        for (h, a) in twin.iter() {
            let Some(m) = twin.local_geometry(h).and_then(as_multi) else {
                continue;
            };
            let name = a.name_en.clone().unwrap_or_else(|| a.id.clone());
            match a.kind {
                AssetKind::Town => town_src.push((a.id.clone(), name, m)),
                AssetKind::Island => island_src.push((a.id.clone(), name, m)),
                _ => {}
            }
        }
        if town_src.is_empty() || island_src.is_empty() {
            return Err(synth_error("the twin holds no town or no island polygon"));
        }
        if town_src.len() >= usize::from(MIXED) {
            return Err(synth_error("too many towns (at most 254)"));
        }
        let mut islands_union = MultiPolygon::new(vec![]);
        for (_, _, m) in &island_src {
            islands_union = islands_union.union(m);
        }

        let mut towns = Vec::new();
        let mut all = MultiPolygon::new(vec![]);
        let town_boxes: Vec<Option<Box2>> = town_src.iter().map(|t| box_of(&t.2)).collect();
        for (i, (id, name_en, m)) in town_src.iter().enumerate() {
            // Land claimed by two town polygons (the OSM boundaries overlap by up to a
            // few km²) is left out, so every point of town land is in exactly one town.
            let mut land = m.intersection(&islands_union);
            for (j, (_, _, other)) in town_src.iter().enumerate() {
                let overlaps = match (&town_boxes[i], &town_boxes[j]) {
                    (Some(a), Some(b)) => {
                        a.min.x <= b.max.x
                            && b.min.x <= a.max.x
                            && a.min.y <= b.max.y
                            && b.min.y <= a.max.y
                    }
                    _ => false,
                };
                if j != i && overlaps {
                    land = land.difference(other);
                }
            }
            let (id, name_en) = (id.clone(), name_en.clone());
            let (Some(bbox), Some(largest)) = (
                box_of(&land),
                land.iter()
                    .max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area())),
            ) else {
                continue;
            };
            let seat = largest
                .interior_point()
                .map(|p| p.0)
                .ok_or_else(|| synth_error(format!("town {id} has no interior point")))?;
            let edges = rings(&land)
                .flat_map(|r| r.0.windows(2).map(|w| (w[0], w[1])))
                .collect();
            all = all.union(&land);
            towns.push(Town {
                weight: town_weight(&id),
                id,
                name_en,
                land,
                bbox,
                edges,
                seat,
                island: None,
            });
        }
        let bbox = box_of(&all).ok_or_else(|| synth_error("no town lies on an island"))?;
        if bbox.max.x - bbox.min.x > MAX_EXTENT || bbox.max.y - bbox.min.y > MAX_EXTENT {
            return Err(synth_error(format!(
                "town land spans more than {} km: too far for the generator's grids",
                MAX_EXTENT / 1000.0
            )));
        }

        let mut islands = Vec::new();
        let mut outlines = Vec::new();
        for (_, name_en, m) in island_src {
            if let Some(b) = box_of(&m) {
                outlines.push((m.clone(), b));
            }
            let land = m.intersection(&all);
            let area = land.unsigned_area();
            if area < MIN_ISLAND_LAND {
                continue;
            }
            let Some(ib) = box_of(&land) else { continue };
            let profile = super::centreline::profile(&land, &ib);
            if profile.len() >= 2 {
                islands.push(Island {
                    name_en,
                    land,
                    bbox: ib,
                    area,
                    profile,
                });
            }
        }
        for t in &mut towns {
            t.island = islands.iter().position(|i| i.land.contains(&t.seat));
        }

        let x0 = bbox.min.x - 2.0 * CELL;
        let y0 = bbox.min.y - 2.0 * CELL;
        let nx = ((bbox.max.x - x0) / CELL).ceil() as usize + 3;
        let ny = ((bbox.max.y - y0) / CELL).ceil() as usize + 3;
        let mut land = Land {
            towns,
            islands,
            outlines,
            all,
            bbox,
            x0,
            y0,
            nx,
            ny,
            class: vec![OUTSIDE; nx * ny],
        };
        land.rasterise();
        Ok(land)
    }

    /// Fills the raster: scanline fill of each town, then every cell an edge may touch
    /// is marked mixed.
    fn rasterise(&mut self) {
        let mut xs = Vec::new();
        for (t, town) in self.towns.iter().enumerate() {
            let class = (t + 1) as u8;
            for r in 0..self.ny {
                let y = self.y0 + (r as f64 + 0.5) * CELL;
                if y < town.bbox.min.y || y > town.bbox.max.y {
                    continue;
                }
                xs.clear();
                for (a, b) in &town.edges {
                    if (a.y > y) != (b.y > y) {
                        xs.push(a.x + (y - a.y) * (b.x - a.x) / (b.y - a.y));
                    }
                }
                xs.sort_by(f64::total_cmp);
                for pair in xs.chunks_exact(2) {
                    let lo = ((pair[0] - self.x0) / CELL - 0.5).ceil().max(0.0) as usize;
                    let hi = ((pair[1] - self.x0) / CELL - 0.5).floor();
                    if hi < 0.0 {
                        continue;
                    }
                    let hi = (hi as usize).min(self.nx - 1);
                    for c in lo..=hi {
                        self.class[r * self.nx + c] = class;
                    }
                }
            }
        }
        let mut marks = Vec::new();
        for town in &self.towns {
            for (a, b) in &town.edges {
                let n = (super::geom::dist(*a, *b) / (CELL / 2.0)).ceil().max(1.0) as usize;
                for k in 0..=n {
                    let p = super::geom::lerp(*a, *b, k as f64 / n as f64);
                    if let Some((i, j)) = self.cell_of(p) {
                        marks.push((i, j));
                    }
                }
            }
        }
        for (i, j) in marks {
            for jj in j.saturating_sub(1)..=(j + 1).min(self.ny - 1) {
                for ii in i.saturating_sub(1)..=(i + 1).min(self.nx - 1) {
                    self.class[jj * self.nx + ii] = MIXED;
                }
            }
        }
    }

    fn cell_of(&self, p: Coord<f64>) -> Option<(usize, usize)> {
        let fx = ((p.x - self.x0) / CELL).floor();
        let fy = ((p.y - self.y0) / CELL).floor();
        if fx < 0.0 || fy < 0.0 || !fx.is_finite() || !fy.is_finite() {
            return None;
        }
        let (i, j) = (fx as usize, fy as usize);
        (i < self.nx && j < self.ny).then_some((i, j))
    }

    /// The town whose land holds `p` (exact near boundaries).
    pub(crate) fn town_at(&self, p: Coord<f64>) -> Option<usize> {
        let (i, j) = self.cell_of(p)?;
        match self.class[j * self.nx + i] {
            OUTSIDE => None,
            MIXED => self.town_at_exact(p),
            c => Some(usize::from(c) - 1),
        }
    }

    fn town_at_exact(&self, p: Coord<f64>) -> Option<usize> {
        self.towns.iter().position(|t| {
            p.x >= t.bbox.min.x
                && p.x <= t.bbox.max.x
                && p.y >= t.bbox.min.y
                && p.y <= t.bbox.max.y
                && t.land.contains(&p)
        })
    }

    /// The town whose land holds the whole rectangle with a 0.5 m margin, if one does.
    pub(crate) fn box_town(&self, r: &Box2) -> Option<usize> {
        let g = r.grown(0.5);
        let (i0, j0) = self.cell_of(g.min)?;
        let (i1, j1) = self.cell_of(g.max)?;
        let mut uniform = None;
        let mut mixed = false;
        for j in j0..=j1 {
            for i in i0..=i1 {
                match self.class[j * self.nx + i] {
                    OUTSIDE => return None,
                    MIXED => mixed = true,
                    c => match uniform {
                        None => uniform = Some(c),
                        Some(u) if u != c => mixed = true,
                        Some(_) => {}
                    },
                }
            }
        }
        if !mixed {
            return uniform.map(|c| usize::from(c) - 1);
        }
        let t = self.town_at_exact(g.centre())?;
        let town = &self.towns[t];
        let corners = [
            g.min,
            Coord {
                x: g.max.x,
                y: g.min.y,
            },
            g.max,
            Coord {
                x: g.min.x,
                y: g.max.y,
            },
        ];
        let inside = corners.iter().all(|c| town.land.contains(c))
            && !town
                .edges
                .iter()
                .any(|(a, b)| segment_meets_box(*a, *b, &g));
        inside.then_some(t)
    }

    /// Whether `p` lies on any island asset's outline (town land or not).
    pub(crate) fn on_island(&self, p: Coord<f64>) -> bool {
        self.outlines.iter().any(|(m, b)| {
            p.x >= b.min.x && p.x <= b.max.x && p.y >= b.min.y && p.y <= b.max.y && m.contains(&p)
        })
    }

    /// A uniformly random point of town land (bounded rejection sampling).
    pub(crate) fn random_point(&self, rng: &mut Rng) -> Option<(usize, Coord<f64>)> {
        for _ in 0..10_000 {
            let p = Coord {
                x: rng.range(self.bbox.min.x, self.bbox.max.x),
                y: rng.range(self.bbox.min.y, self.bbox.max.y),
            };
            if let Some(t) = self.town_at(p) {
                return Some((t, p));
            }
        }
        None
    }

    /// The parts of `line` inside each town's land, longer than `min_len`, by town.
    pub(crate) fn clip_to_towns(&self, line: &Polyline, min_len: f64) -> Vec<(usize, Polyline)> {
        let Some(lb) = line.line_string().bounding_rect() else {
            return Vec::new();
        };
        let mls = MultiLineString::new(vec![line.line_string()]);
        let mut out = Vec::new();
        for (t, town) in self.towns.iter().enumerate() {
            let b = &town.bbox;
            if lb.max().x < b.min.x
                || lb.min().x > b.max.x
                || lb.max().y < b.min.y
                || lb.min().y > b.max.y
            {
                continue;
            }
            for part in town.land.clip(&mls, false) {
                let p = Polyline::new(part.0);
                if p.length() >= min_len {
                    out.push((t, p));
                }
            }
        }
        out
    }

    /// Parts of `line` outside all town land, longer than `min_len`.
    pub(crate) fn clip_outside(&self, line: &Polyline, min_len: f64) -> Vec<Polyline> {
        let mls = MultiLineString::new(vec![line.line_string()]);
        self.all
            .clip(&mls, true)
            .into_iter()
            .map(|l| Polyline::new(l.0))
            .filter(|p| p.length() >= min_len)
            .collect()
    }

    /// The nearest point of the shore (exterior rings of town land larger than 1 km²).
    pub(crate) fn nearest_shore(&self, p: Coord<f64>) -> Option<Coord<f64>> {
        let mut best: Option<(f64, Coord<f64>)> = None;
        for poly in self
            .all
            .iter()
            .filter(|q: &&Polygon<f64>| q.unsigned_area() > 1.0e6)
        {
            for w in poly.exterior().0.windows(2) {
                let (a, b) = (w[0], w[1]);
                let (dx, dy) = (b.x - a.x, b.y - a.y);
                let len2 = dx * dx + dy * dy;
                let t = if len2 > 0.0 {
                    (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let q = super::geom::lerp(a, b, t);
                let d = super::geom::dist(p, q);
                if best.is_none_or(|(bd, _)| d < bd) {
                    best = Some((d, q));
                }
            }
        }
        best.map(|(_, q)| q)
    }
}
