//! Small planar helpers in the local metric frame: polylines, rectangles, distances.

use geo_types::{Coord, LineString, Polygon};

/// Distance between two coordinates.
pub(crate) fn dist(a: Coord<f64>, b: Coord<f64>) -> f64 {
    (a.x - b.x).hypot(a.y - b.y)
}

/// Linear interpolation between `a` and `b`.
pub(crate) fn lerp(a: Coord<f64>, b: Coord<f64>, t: f64) -> Coord<f64> {
    Coord {
        x: a.x + (b.x - a.x) * t,
        y: a.y + (b.y - a.y) * t,
    }
}

/// An axis-aligned rectangle.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Box2 {
    /// Lower-left corner.
    pub(crate) min: Coord<f64>,
    /// Upper-right corner.
    pub(crate) max: Coord<f64>,
}

impl Box2 {
    /// The rectangle of the given centre and size.
    pub(crate) fn centred(c: Coord<f64>, w: f64, h: f64) -> Self {
        Box2 {
            min: Coord {
                x: c.x - w / 2.0,
                y: c.y - h / 2.0,
            },
            max: Coord {
                x: c.x + w / 2.0,
                y: c.y + h / 2.0,
            },
        }
    }

    /// The rectangle grown by `d` on every side.
    pub(crate) fn grown(&self, d: f64) -> Self {
        Box2 {
            min: Coord {
                x: self.min.x - d,
                y: self.min.y - d,
            },
            max: Coord {
                x: self.max.x + d,
                y: self.max.y + d,
            },
        }
    }

    /// Its centre.
    pub(crate) fn centre(&self) -> Coord<f64> {
        lerp(self.min, self.max, 0.5)
    }

    /// The point at fractions `(u, v)` of the rectangle shrunk by `inset` (clamped so
    /// that a small rectangle keeps a positive size).
    pub(crate) fn at(&self, u: f64, v: f64, inset: f64) -> Coord<f64> {
        let ix = inset.min((self.max.x - self.min.x) / 4.0);
        let iy = inset.min((self.max.y - self.min.y) / 4.0);
        Coord {
            x: self.min.x + ix + (self.max.x - self.min.x - 2.0 * ix) * u,
            y: self.min.y + iy + (self.max.y - self.min.y - 2.0 * iy) * v,
        }
    }

    /// The closed counter-clockwise polygon of the rectangle.
    pub(crate) fn polygon(&self) -> Polygon<f64> {
        let (a, b) = (self.min, self.max);
        Polygon::new(
            LineString::new(vec![
                a,
                Coord { x: b.x, y: a.y },
                b,
                Coord { x: a.x, y: b.y },
                a,
            ]),
            vec![],
        )
    }
}

/// The `k`-th point of the R2 low-discrepancy sequence (Roberts 2018), in `[0, 1)²`:
/// any number of points spread evenly over a rectangle, reproducibly.
pub(crate) fn r2(k: usize) -> (f64, f64) {
    // 1/g and 1/g² for the plastic number g (g³ = g + 1).
    const A1: f64 = 0.754_877_666_246_692_8;
    const A2: f64 = 0.569_840_290_998_053_3;
    let k = k as f64 + 0.5;
    ((k * A1).fract(), (k * A2).fract())
}

/// Whether segment `a`–`b` meets the closed rectangle `r` (Liang–Barsky clipping).
pub(crate) fn segment_meets_box(a: Coord<f64>, b: Coord<f64>, r: &Box2) -> bool {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let mut t0: f64 = 0.0;
    let mut t1: f64 = 1.0;
    for (p, q) in [
        (-dx, a.x - r.min.x),
        (dx, r.max.x - a.x),
        (-dy, a.y - r.min.y),
        (dy, r.max.y - a.y),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return false;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
            if t0 > t1 {
                return false;
            }
        }
    }
    true
}

/// Distance from `p` to segment `a`–`b`.
pub(crate) fn point_segment_distance(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> f64 {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    dist(
        p,
        Coord {
            x: a.x + t * dx,
            y: a.y + t * dy,
        },
    )
}

/// Distance from a point to a rectangle (0 inside).
pub(crate) fn point_box_distance(p: Coord<f64>, r: &Box2) -> f64 {
    let dx = (r.min.x - p.x).max(p.x - r.max.x).max(0.0);
    let dy = (r.min.y - p.y).max(p.y - r.max.y).max(0.0);
    dx.hypot(dy)
}

/// Distance from segment `a`–`b` to a rectangle (0 when they meet).
pub(crate) fn segment_box_distance(a: Coord<f64>, b: Coord<f64>, r: &Box2) -> f64 {
    if segment_meets_box(a, b, r) {
        return 0.0;
    }
    let corners = [
        r.min,
        Coord {
            x: r.max.x,
            y: r.min.y,
        },
        r.max,
        Coord {
            x: r.min.x,
            y: r.max.y,
        },
    ];
    let mut d = point_box_distance(a, r).min(point_box_distance(b, r));
    for c in corners {
        d = d.min(point_segment_distance(c, a, b));
    }
    d
}

/// A polyline with its cumulative lengths, for walking along it.
#[derive(Clone, Debug)]
pub(crate) struct Polyline {
    /// Vertices.
    pub(crate) coords: Vec<Coord<f64>>,
    /// `cum[i]` = length from the start to vertex `i`.
    pub(crate) cum: Vec<f64>,
}

impl Polyline {
    /// Wraps vertices.
    pub(crate) fn new(coords: Vec<Coord<f64>>) -> Self {
        let mut cum = Vec::with_capacity(coords.len());
        let mut s = 0.0;
        for (i, c) in coords.iter().enumerate() {
            if i > 0 {
                s += dist(coords[i - 1], *c);
            }
            cum.push(s);
        }
        Polyline { coords, cum }
    }

    /// Total length.
    pub(crate) fn length(&self) -> f64 {
        self.cum.last().copied().unwrap_or(0.0)
    }

    /// The point at arc length `s` (clamped to the line).
    pub(crate) fn at(&self, s: f64) -> Coord<f64> {
        let n = self.coords.len();
        if n == 0 {
            return Coord { x: 0.0, y: 0.0 };
        }
        if n == 1 {
            return self.coords[0];
        }
        let s = s.clamp(0.0, self.length());
        // First vertex whose cumulative length is >= s.
        let i = self.cum.partition_point(|&c| c < s).clamp(1, n - 1);
        let (s0, s1) = (self.cum[i - 1], self.cum[i]);
        let t = if s1 > s0 { (s - s0) / (s1 - s0) } else { 0.0 };
        lerp(self.coords[i - 1], self.coords[i], t)
    }

    /// The polyline with extra vertices so that no segment is longer than `max_seg`,
    /// and with at least two segments (so it has an interior vertex on the line).
    pub(crate) fn densified(&self, max_seg: f64) -> Polyline {
        let mut out = Vec::with_capacity(self.coords.len() * 2);
        let total_segments = self.coords.len().saturating_sub(1);
        for (i, w) in self.coords.windows(2).enumerate() {
            let (a, b) = (w[0], w[1]);
            let mut n = (dist(a, b) / max_seg).ceil().max(1.0) as usize;
            if total_segments == 1 {
                n = n.max(2);
            }
            if i == 0 {
                out.push(a);
            }
            for k in 1..=n {
                out.push(lerp(a, b, k as f64 / n as f64));
            }
        }
        if out.is_empty() {
            out.clone_from(&self.coords);
        }
        Polyline::new(out)
    }

    /// The geo-types line string.
    pub(crate) fn line_string(&self) -> LineString<f64> {
        LineString::new(self.coords.clone())
    }
}

/// Moving average of `v` over `2 * radius + 1` values (fewer at the ends).
pub(crate) fn smooth(v: &[f64], radius: usize) -> Vec<f64> {
    (0..v.len())
        .map(|i| {
            let lo = i.saturating_sub(radius);
            let hi = (i + radius + 1).min(v.len());
            let s: f64 = v[lo..hi].iter().sum();
            s / (hi - lo) as f64
        })
        .collect()
}

/// Splits `total` into parts proportional to `weights` (largest remainder): the parts
/// sum to `total` exactly.
pub(crate) fn apportion(total: usize, weights: &[f64]) -> Vec<usize> {
    let sum: f64 = weights.iter().sum();
    if weights.is_empty() || sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<f64> = weights.iter().map(|w| total as f64 * w / sum).collect();
    let mut parts: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        (exact[b] - exact[b].floor())
            .total_cmp(&(exact[a] - exact[a].floor()))
            .then(a.cmp(&b))
    });
    let assigned: usize = parts.iter().sum();
    for &i in order.iter().cycle().take(total.saturating_sub(assigned)) {
        parts[i] += 1;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(x: f64, y: f64) -> Coord<f64> {
        Coord { x, y }
    }

    #[test]
    fn boxes_and_segments() {
        let r = Box2 {
            min: c(0.0, 0.0),
            max: c(10.0, 10.0),
        };
        assert!(segment_meets_box(c(-5.0, 5.0), c(15.0, 5.0), &r));
        assert!(segment_meets_box(c(2.0, 2.0), c(3.0, 3.0), &r));
        assert!(!segment_meets_box(c(-5.0, 11.0), c(15.0, 11.0), &r));
        assert!(!segment_meets_box(c(-5.0, 0.0), c(0.0, -5.0), &r));
        assert!((segment_box_distance(c(-5.0, 12.0), c(15.0, 12.0), &r) - 2.0).abs() < 1e-12);
        assert!((point_box_distance(c(13.0, 14.0), &r) - 5.0).abs() < 1e-12);
    }

    #[test]
    fn polylines() {
        let p = Polyline::new(vec![c(0.0, 0.0), c(100.0, 0.0), c(100.0, 50.0)]);
        assert_eq!(p.length(), 150.0);
        assert_eq!(p.at(120.0), c(100.0, 20.0));
        assert_eq!(p.at(-1.0), c(0.0, 0.0));
        let d = Polyline::new(vec![c(0.0, 0.0), c(10.0, 0.0)]).densified(100.0);
        assert_eq!(d.coords.len(), 3);
        assert_eq!(apportion(10, &[1.0, 1.0, 1.0]).iter().sum::<usize>(), 10);
        assert_eq!(apportion(22, &[3.0, 2.0, 1.0]), vec![11, 7, 4]);
    }
}
