//! Questions in three dimensions: which assets' solids hold a point (the room a
//! sensor is in, the storey a person stands on), and which assets are parts of
//! another (the elements of a storey, the rooms of a building).
//!
//! The spatial index stays two-dimensional (footprints in the local frame): storeys
//! stacked over one footprint are a handful of candidates per point, and a 3D tree
//! would change every entry of the 158,654-asset island for the few that have
//! solids. A candidate is kept when its vertical range holds the height and, when it
//! has a 3D shell ([`Surfaces`]), when the point is inside the shell by ray parity;
//! an asset without a shell is its prism (footprint × vertical range).

use geo::Point;

use crate::asset::{Handle, Surfaces};
use crate::crs::LocalFrame;
use crate::query::KindFilter;
use crate::twin::Twin;

/// How deep a chain of `part_of` is followed (a door → storey → building → site is 3).
const MAX_PART_DEPTH: usize = 32;

impl Twin {
    /// Assets whose solid holds the point: `lon`, `lat` (WGS84) at `h` metres (the
    /// heights assets' [`Vertical`](crate::Vertical) and shells use), sorted by handle.
    ///
    /// ```
    /// use twin_core::{Asset, AssetKind, Twin, Vertical, ZLevel};
    /// use twin_core::crs::LocalFrame;
    /// let mut twin = Twin::new(LocalFrame::new(121.5, 31.6, 0.0));
    /// let ring = vec![(121.5, 31.6), (121.501, 31.6), (121.501, 31.601), (121.5, 31.601)];
    /// let square = geo::Geometry::Polygon(geo::Polygon::new(ring.into(), vec![]));
    /// let mut hall = Asset::new("hall", AssetKind::Building, square);
    /// hall.vertical = Vertical { base: 0.0, height: 10.0, z_level: ZLevel::Ground };
    /// twin.insert(hall).unwrap();
    /// assert_eq!(twin.query_containing_3d(121.5005, 31.6005, 5.0, None).len(), 1);
    /// assert!(twin.query_containing_3d(121.5005, 31.6005, 12.0, None).is_empty());
    /// ```
    pub fn query_containing_3d(
        &self,
        lon: f64,
        lat: f64,
        h: f64,
        filter: Option<&KindFilter>,
    ) -> Vec<Handle> {
        if !h.is_finite() {
            return Vec::new();
        }
        let frame = self.frame();
        self.query_containing(Point::new(lon, lat), filter)
            .into_iter()
            .filter(|&handle| {
                let Some(a) = self.get(handle) else {
                    return false;
                };
                let (base, top) = (a.vertical.base, a.vertical.base + a.vertical.height);
                if !(base <= h && h <= top) {
                    return false;
                }
                match a.surfaces.as_deref() {
                    Some(s) if !s.is_empty() => inside_shell(s, frame, [lon, lat, h]),
                    _ => true,
                }
            })
            .collect()
    }

    /// The assets whose `part_of` names `h`: a storey's spaces and elements, a
    /// building's storeys. Sorted by handle. A scan of every asset (no reverse index
    /// to keep in step with inserts and removals): asked per click or per rule
    /// reload, not per reading.
    pub fn parts(&self, h: Handle) -> Vec<Handle> {
        self.iter()
            .filter(|(p, _)| *p != h && self.part_of(*p) == Some(h))
            .map(|(p, _)| p)
            .collect()
    }

    /// The assets that are parts of `h` at any depth (a building's storeys, their
    /// spaces and elements), sorted by handle; a cycle of `part_of` ends the walk.
    pub fn parts_within(&self, h: Handle) -> Vec<Handle> {
        self.iter()
            .filter(|(p, _)| *p != h)
            .filter(|(p, _)| {
                let mut at = *p;
                for _ in 0..MAX_PART_DEPTH {
                    match self.part_of(at) {
                        Some(up) if up == h => return true,
                        Some(up) if up == *p => return false,
                        Some(up) => at = up,
                        None => return false,
                    }
                }
                false
            })
            .map(|(p, _)| p)
            .collect()
    }

    /// The wholes `h` belongs to, nearest first: the asset it is attached to (a
    /// sensor's room), then that asset's `part_of` chain (the room's storey, the
    /// storey's building, the building's site), then the town. Where an alert on `h`
    /// rolls up to. A cycle of `part_of`, or one deeper than 32, ends the chain.
    pub fn lineage(&self, h: Handle) -> Vec<Handle> {
        let mut out = Vec::new();
        let mut at = h;
        if let Some(a) = self.attached_to(h).filter(|a| *a != h) {
            out.push(a);
            at = a;
        }
        for _ in 0..MAX_PART_DEPTH {
            match self.part_of(at) {
                Some(up) if up != h && !out.contains(&up) => {
                    out.push(up);
                    at = up;
                }
                _ => break,
            }
        }
        if let Some(town) = self.town_of(h).filter(|t| *t != h && !out.contains(t)) {
            out.push(town);
        }
        out
    }

    /// Whether `h` is `whole` or belongs to it through [`Twin::lineage`]: a room's
    /// CO₂ sensor rolls up to the room, its storey, its building and its town.
    pub fn rolls_up_to(&self, h: Handle, whole: Handle) -> bool {
        h == whole || self.lineage(h).contains(&whole)
    }
}

/// Whether a point (lon, lat, h) is inside a closed shell: the parity of a ray's
/// crossings with its triangles, in the local frame's metres around the point. Three
/// rays in directions no face of a building is parallel to vote, so a ray through an
/// edge or along a face of an imperfect mesh does not decide alone.
fn inside_shell(s: &Surfaces, frame: &LocalFrame, p: [f64; 3]) -> bool {
    let o = frame.to_local3(p[0], p[1], p[2]);
    let v: Vec<[f64; 3]> = s
        .vertices
        .iter()
        .map(|v| {
            let l = frame.to_local3(v[0], v[1], v[2]);
            [l[0] - o[0], l[1] - o[1], l[2] - o[2]]
        })
        .collect();
    const RAYS: [[f64; 3]; 3] = [
        [0.613, 0.557, 0.561],
        [-0.702, 0.283, 0.654],
        [0.139, -0.861, -0.489],
    ];
    let votes = RAYS
        .iter()
        .filter(|d| {
            let crossings = s
                .triangles
                .iter()
                .filter(|t| {
                    let [a, b, c] = t.map(|i| v.get(i as usize).copied());
                    match (a, b, c) {
                        (Some(a), Some(b), Some(c)) => ray_hits(**d, a, b, c),
                        _ => false,
                    }
                })
                .count();
            crossings % 2 == 1
        })
        .count();
    votes >= 2
}

/// Whether the ray from the origin along `d` crosses the triangle (a, b, c) ahead of
/// the origin (Möller–Trumbore).
fn ray_hits(d: [f64; 3], a: [f64; 3], b: [f64; 3], c: [f64; 3]) -> bool {
    let sub = |p: [f64; 3], q: [f64; 3]| [p[0] - q[0], p[1] - q[1], p[2] - q[2]];
    let cross = |p: [f64; 3], q: [f64; 3]| {
        [
            p[1] * q[2] - p[2] * q[1],
            p[2] * q[0] - p[0] * q[2],
            p[0] * q[1] - p[1] * q[0],
        ]
    };
    let dot = |p: [f64; 3], q: [f64; 3]| p[0] * q[0] + p[1] * q[1] + p[2] * q[2];
    let (e1, e2) = (sub(b, a), sub(c, a));
    let pv = cross(d, e2);
    let det = dot(e1, pv);
    if det.abs() < 1e-12 {
        return false;
    }
    let inv = 1.0 / det;
    let tv = sub([0.0; 3], a);
    let u = dot(tv, pv) * inv;
    if !(0.0..=1.0).contains(&u) {
        return false;
    }
    let qv = cross(tv, e1);
    let w = dot(d, qv) * inv;
    if w < 0.0 || u + w > 1.0 {
        return false;
    }
    dot(e2, qv) * inv > 1e-9
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A unit cube's twelve triangles around the origin-centred point tests.
    fn cube(frame: &LocalFrame, lo: [f64; 3], hi: [f64; 3]) -> Surfaces {
        let mut s = Surfaces::default();
        for i in 0..8 {
            let x = if i & 1 == 0 { lo[0] } else { hi[0] };
            let y = if i & 2 == 0 { lo[1] } else { hi[1] };
            let z = if i & 4 == 0 { lo[2] } else { hi[2] };
            s.vertices.push(frame.to_geographic3(x, y, z));
        }
        let quads = [
            [0, 1, 3, 2],
            [4, 6, 7, 5],
            [0, 4, 5, 1],
            [2, 3, 7, 6],
            [0, 2, 6, 4],
            [1, 5, 7, 3],
        ];
        for q in quads {
            s.triangles.push([q[0], q[1], q[2]]);
            s.triangles.push([q[0], q[2], q[3]]);
            s.roles.push(crate::SurfaceRole::Other);
            s.roles.push(crate::SurfaceRole::Other);
        }
        s
    }

    #[test]
    fn a_room_sensor_rolls_up_to_its_room_storey_building_and_town() {
        use crate::{Asset, AssetKind};
        let mut twin = Twin::new(LocalFrame::new(121.5, 31.6, 0.0));
        let square = |d: f64| {
            let ring = vec![
                (121.5 - d, 31.6 - d),
                (121.5 + d, 31.6 - d),
                (121.5 + d, 31.6 + d),
                (121.5 - d, 31.6 + d),
            ];
            geo::Geometry::Polygon(geo::Polygon::new(ring.into(), vec![]))
        };
        let part = |id: &str, kind: AssetKind, of: Option<&str>, attached: Option<&str>| {
            let mut a = Asset::new(id, kind, square(0.0001));
            a.part_of = of.map(str::to_string);
            a.attached_to = attached.map(str::to_string);
            a
        };
        let town = twin
            .insert(Asset::new("town", AssetKind::Town, square(0.01)))
            .unwrap();
        let building = twin
            .insert(part("b", AssetKind::Building, None, None))
            .unwrap();
        let storey = twin
            .insert(part(
                "s1",
                AssetKind::Custom("ifc_building_storey".into()),
                Some("b"),
                None,
            ))
            .unwrap();
        let other = twin
            .insert(part(
                "s2",
                AssetKind::Custom("ifc_building_storey".into()),
                Some("b"),
                None,
            ))
            .unwrap();
        let room = twin
            .insert(part(
                "r",
                AssetKind::Custom("ifc_space".into()),
                Some("s1"),
                None,
            ))
            .unwrap();
        let mut co2 = Asset::new(
            "r-CO2",
            AssetKind::Sensor(crate::SensorType::Co2),
            geo::Geometry::Point(geo::Point::new(121.5, 31.6)),
        );
        co2.attached_to = Some("r".into());
        let co2 = twin.insert(co2).unwrap();
        assert_eq!(twin.lineage(co2), vec![room, storey, building, town]);
        for whole in [co2, room, storey, building, town] {
            assert!(twin.rolls_up_to(co2, whole));
        }
        assert!(!twin.rolls_up_to(co2, other));
        assert!(!twin.rolls_up_to(storey, room));
        // A cycle of part_of ends the chain instead of looping.
        let batch = vec![
            part("x", AssetKind::Building, Some("y"), None),
            part("y", AssetKind::Building, Some("x"), None),
            part("s", AssetKind::Building, None, Some("x")),
        ];
        let h = twin
            .insert_assets(batch, crate::LoadMode::Strict)
            .unwrap()
            .inserted;
        let (x, y, s) = (h[0], h[1], h[2]);
        assert_eq!(twin.lineage(s), vec![x, y, town]);
    }

    #[test]
    fn ray_parity_tells_inside_from_outside() {
        let frame = LocalFrame::new(121.5, 31.6, 0.0);
        let s = cube(&frame, [0.0, 0.0, 0.0], [4.0, 3.0, 2.5]);
        let at = |x: f64, y: f64, z: f64| {
            let g = frame.to_geographic3(x, y, z);
            inside_shell(&s, &frame, g)
        };
        assert!(at(2.0, 1.5, 1.25));
        assert!(at(0.01, 0.01, 0.01));
        assert!(!at(2.0, 1.5, 2.6));
        assert!(!at(-0.01, 1.5, 1.0));
        assert!(!at(5.0, 5.0, 1.0));
        // Through a vertex's direction and along an edge's plane: still inside.
        assert!(at(2.0, 1.5, 0.5));
    }
}
