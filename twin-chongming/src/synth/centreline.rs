//! East–west centrelines of an island: at 60 x positions, the longest north–south
//! chord inside the island's town land; a centreline joins the points at one fraction
//! of each chord (0.5 for the trunk road, 0.25 and 0.75 for the trunk canals), smoothed.

use geo::BooleanOps;
use geo_types::{Coord, LineString, MultiLineString, MultiPolygon};

use super::geom::{Box2, Polyline, smooth};
use super::land::Island;

/// Number of x positions sampled across an island for its centrelines.
const PROFILE_SAMPLES: usize = 60;

/// The longest north–south chord inside `land` at evenly spaced x positions.
pub(crate) fn profile(land: &MultiPolygon<f64>, b: &Box2) -> Vec<(f64, f64, f64)> {
    let mut out = Vec::with_capacity(PROFILE_SAMPLES);
    for i in 0..PROFILE_SAMPLES {
        let x = b.min.x + (i as f64 + 0.5) * (b.max.x - b.min.x) / PROFILE_SAMPLES as f64;
        let chord = LineString::from(vec![(x, b.min.y - 10.0), (x, b.max.y + 10.0)]);
        let parts = land.clip(&MultiLineString::new(vec![chord]), false);
        let longest = parts
            .iter()
            .filter_map(|l| {
                let ys = l.0.iter().map(|c| c.y);
                let lo = ys.clone().fold(f64::INFINITY, f64::min);
                let hi = ys.fold(f64::NEG_INFINITY, f64::max);
                (hi > lo).then_some((lo, hi))
            })
            .max_by(|a, b| (a.1 - a.0).total_cmp(&(b.1 - b.0)));
        if let Some((lo, hi)) = longest {
            out.push((x, lo, hi));
        }
    }
    out
}

impl Island {
    /// The smoothed east–west centreline at fraction `f` of the island's north–south
    /// chords (0.5 = middle), extended 300 m beyond both ends.
    pub(crate) fn centreline(&self, f: f64) -> Polyline {
        let ys: Vec<f64> = self
            .profile
            .iter()
            .map(|(_, lo, hi)| lo + f * (hi - lo))
            .collect();
        let ys = smooth(&ys, 2);
        let mut coords: Vec<Coord<f64>> = self
            .profile
            .iter()
            .zip(&ys)
            .map(|((x, _, _), y)| Coord { x: *x, y: *y })
            .collect();
        if let (Some(first), Some(last)) = (coords.first().copied(), coords.last().copied()) {
            coords.insert(
                0,
                Coord {
                    x: self.bbox.min.x - 300.0,
                    y: first.y,
                },
            );
            coords.push(Coord {
                x: self.bbox.max.x + 300.0,
                y: last.y,
            });
        }
        Polyline::new(coords)
    }

    /// The y of the centreline at fraction `f` at position `x` (clamped to the ends).
    pub(crate) fn centre_y(&self, f: f64, x: f64) -> f64 {
        let line = self.centreline(f);
        let c = &line.coords;
        let i = c.partition_point(|p| p.x < x).clamp(1, c.len().max(2) - 1);
        match (c.get(i - 1), c.get(i)) {
            (Some(a), Some(b)) if b.x > a.x => {
                let t = ((x - a.x) / (b.x - a.x)).clamp(0.0, 1.0);
                a.y + (b.y - a.y) * t
            }
            (Some(a), _) => a.y,
            _ => 0.0,
        }
    }
}
