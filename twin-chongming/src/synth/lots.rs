//! Occupancy grids for placing things: the 30 m lot grid (one building, station or
//! part of a parking lot per lot, none on a road or canal corridor) and a bucketed
//! index of network segments that keeps farm fields clear of them.

use geo_types::Coord;

use super::geom::{Box2, dist, segment_box_distance};
use super::land::Land;
use super::network::{LineAsset, Network};

/// Side of a building lot (m).
pub(crate) const LOT: f64 = 30.0;
/// Bucket size of the clearance index (m).
const BUCKET: f64 = 500.0;
/// Largest clearance a line asks of fields (m).
const MAX_CLEARANCE: f64 = 100.0;

/// Lot states.
pub(crate) const FREE: u8 = 0;
const ROAD: u8 = 1;
pub(crate) const FIELD: u8 = 2;
pub(crate) const TAKEN: u8 = 3;

/// The 30 m lot grid over all town land, aligned on multiples of 30 m.
#[derive(Clone, Debug)]
pub(crate) struct Lots {
    i0: i64,
    j0: i64,
    ni: usize,
    nj: usize,
    state: Vec<u8>,
}

impl Lots {
    /// An empty grid covering `land`.
    pub(crate) fn new(land: &Land) -> Self {
        let i0 = (land.bbox.min.x / LOT).floor() as i64 - 2;
        let j0 = (land.bbox.min.y / LOT).floor() as i64 - 2;
        let ni = ((land.bbox.max.x / LOT).ceil() as i64 - i0 + 3).max(1) as usize;
        let nj = ((land.bbox.max.y / LOT).ceil() as i64 - j0 + 3).max(1) as usize;
        Lots {
            i0,
            j0,
            ni,
            nj,
            state: vec![FREE; ni * nj],
        }
    }

    fn index(&self, (i, j): (i64, i64)) -> Option<usize> {
        let (di, dj) = (i - self.i0, j - self.j0);
        (di >= 0 && dj >= 0 && (di as usize) < self.ni && (dj as usize) < self.nj)
            .then(|| dj as usize * self.ni + di as usize)
    }

    /// The state of a lot (outside the grid counts as road: unusable).
    pub(crate) fn get(&self, lot: (i64, i64)) -> u8 {
        self.index(lot).map_or(ROAD, |k| self.state[k])
    }

    /// Sets a lot's state.
    pub(crate) fn set(&mut self, lot: (i64, i64), v: u8) {
        if let Some(k) = self.index(lot) {
            self.state[k] = v;
        }
    }

    /// The lot holding `p`.
    pub(crate) fn lot_of(p: Coord<f64>) -> (i64, i64) {
        ((p.x / LOT).floor() as i64, (p.y / LOT).floor() as i64)
    }

    /// The square of a lot.
    pub(crate) fn lot_box((i, j): (i64, i64)) -> Box2 {
        Box2 {
            min: Coord {
                x: i as f64 * LOT,
                y: j as f64 * LOT,
            },
            max: Coord {
                x: (i + 1) as f64 * LOT,
                y: (j + 1) as f64 * LOT,
            },
        }
    }

    /// Marks every free lot that `r` overlaps with `v`.
    pub(crate) fn mark_box(&mut self, r: &Box2, v: u8) {
        let (i0, j0) = Lots::lot_of(r.min);
        let (i1, j1) = Lots::lot_of(r.max);
        for j in j0..=j1 {
            for i in i0..=i1 {
                if self.get((i, j)) == FREE {
                    self.set((i, j), v);
                }
            }
        }
    }

    /// Marks the corridor of a line (its half-width either side) as road.
    fn mark_line(&mut self, l: &LineAsset) {
        for w in l.line.coords.windows(2) {
            let n = (dist(w[0], w[1]) / 5.0).ceil().max(1.0) as usize;
            for k in 0..=n {
                let p = super::geom::lerp(w[0], w[1], k as f64 / n as f64);
                self.mark_box(
                    &Box2::centred(p, 2.0 * l.halfwidth, 2.0 * l.halfwidth),
                    ROAD,
                );
            }
        }
    }
}

/// Segments of the networks in buckets, to keep fields clear of them.
pub(crate) struct Clearance {
    x0: f64,
    y0: f64,
    nx: usize,
    ny: usize,
    buckets: Vec<Vec<usize>>,
    segs: Vec<(Coord<f64>, Coord<f64>, f64)>,
}

impl Clearance {
    pub(crate) fn new(land: &Land, net: &Network) -> Self {
        let x0 = land.bbox.min.x - BUCKET;
        let y0 = land.bbox.min.y - BUCKET;
        let nx = ((land.bbox.max.x - x0) / BUCKET).ceil() as usize + 2;
        let ny = ((land.bbox.max.y - y0) / BUCKET).ceil() as usize + 2;
        let mut c = Clearance {
            x0,
            y0,
            nx,
            ny,
            buckets: vec![Vec::new(); nx * ny],
            segs: Vec::new(),
        };
        for l in net.roads.iter().chain(&net.canals) {
            for w in l.line.coords.windows(2) {
                let k = c.segs.len();
                c.segs.push((w[0], w[1], l.clearance));
                let r = Box2 {
                    min: Coord {
                        x: w[0].x.min(w[1].x),
                        y: w[0].y.min(w[1].y),
                    },
                    max: Coord {
                        x: w[0].x.max(w[1].x),
                        y: w[0].y.max(w[1].y),
                    },
                };
                for b in c.buckets_of(&r) {
                    c.buckets[b].push(k);
                }
            }
        }
        c
    }

    fn buckets_of(&self, r: &Box2) -> Vec<usize> {
        let cl =
            |v: f64, o: f64, n: usize| (((v - o) / BUCKET).floor().max(0.0) as usize).min(n - 1);
        let (i0, i1) = (cl(r.min.x, self.x0, self.nx), cl(r.max.x, self.x0, self.nx));
        let (j0, j1) = (cl(r.min.y, self.y0, self.ny), cl(r.max.y, self.y0, self.ny));
        (j0..=j1)
            .flat_map(|j| (i0..=i1).map(move |i| j * self.nx + i))
            .collect()
    }

    /// Whether `r` keeps every line's clearance.
    pub(crate) fn clear(&self, r: &Box2) -> bool {
        self.buckets_of(&r.grown(MAX_CLEARANCE)).iter().all(|&b| {
            self.buckets[b].iter().all(|&k| {
                let (a, b, c) = self.segs[k];
                segment_box_distance(a, b, r) >= c
            })
        })
    }
}

/// The lot grid with the networks marked on it.
pub(crate) fn lot_grid(land: &Land, net: &Network) -> Lots {
    let mut lots = Lots::new(land);
    for l in net.roads.iter().chain(&net.canals) {
        lots.mark_line(l);
    }
    lots
}
