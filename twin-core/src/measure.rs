//! Area and length, geodesic (on the WGS84 ellipsoid, Karney's algorithms through `geo`)
//! or planar in the twin's local frame.
//!
//! Geodesic figures are the reference; local-frame figures are what a renderer and the
//! distance queries see, within the frame's scale error (< 50 ppm over the islands, so
//! < 100 ppm for areas). Lengths of polygons are perimeters (all rings); points measure 0.

use geo::orient::{Direction, Orient};
use geo::{Area, Euclidean, Geodesic, GeodesicArea, Length};
use geo_types::{Geometry, LineString, Polygon};

use crate::asset::Handle;
use crate::twin::Twin;

fn rings(g: &Geometry<f64>) -> Vec<&LineString<f64>> {
    match g {
        Geometry::LineString(l) => vec![l],
        Geometry::MultiLineString(m) => m.0.iter().collect(),
        Geometry::Line(_) | Geometry::Point(_) | Geometry::MultiPoint(_) => vec![],
        Geometry::Polygon(p) => std::iter::once(p.exterior()).chain(p.interiors()).collect(),
        Geometry::MultiPolygon(m) => {
            m.0.iter()
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                .collect()
        }
        Geometry::Rect(_) | Geometry::Triangle(_) => vec![],
        Geometry::GeometryCollection(c) => c.0.iter().flat_map(rings).collect(),
    }
}

/// Geodesic area of one polygon, oriented first: the geodesic polygon area of a ring
/// given clockwise would otherwise be taken as the rest of the globe.
fn polygon_geodesic_area(p: &Polygon<f64>) -> f64 {
    p.orient(Direction::Default).geodesic_area_unsigned()
}

/// Geodesic area in m² of a WGS84 lon/lat geometry (0 for points and lines).
pub fn geodesic_area(g: &Geometry<f64>) -> f64 {
    match g {
        Geometry::Polygon(p) => polygon_geodesic_area(p),
        Geometry::MultiPolygon(m) => m.0.iter().map(polygon_geodesic_area).sum(),
        Geometry::Rect(r) => polygon_geodesic_area(&r.to_polygon()),
        Geometry::Triangle(t) => polygon_geodesic_area(&t.to_polygon()),
        Geometry::GeometryCollection(c) => c.0.iter().map(geodesic_area).sum(),
        _ => 0.0,
    }
}

/// Geodesic length in m of a WGS84 lon/lat geometry (perimeter for polygons).
pub fn geodesic_length(g: &Geometry<f64>) -> f64 {
    match g {
        Geometry::Line(l) => Geodesic.length(l),
        Geometry::Rect(r) => Geodesic.length(r.to_polygon().exterior()),
        Geometry::Triangle(t) => Geodesic.length(t.to_polygon().exterior()),
        other => rings(other).into_iter().map(|l| Geodesic.length(l)).sum(),
    }
}

/// Planar area in m² of a geometry already in metres (the local frame).
pub fn planar_area(g: &Geometry<f64>) -> f64 {
    g.unsigned_area()
}

/// Planar length in m of a geometry already in metres (perimeter for polygons).
pub fn planar_length(g: &Geometry<f64>) -> f64 {
    match g {
        Geometry::Line(l) => Euclidean.length(l),
        Geometry::Rect(r) => Euclidean.length(r.to_polygon().exterior()),
        Geometry::Triangle(t) => Euclidean.length(t.to_polygon().exterior()),
        other => rings(other).into_iter().map(|l| Euclidean.length(l)).sum(),
    }
}

/// Which way a measurement is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// On the WGS84 ellipsoid.
    Geodesic,
    /// In the twin's local frame (planar).
    Local,
}

impl Twin {
    /// Area of an asset in m².
    pub fn area(&self, h: Handle, how: Measure) -> Option<f64> {
        let s = self.slot(h)?;
        Some(match how {
            Measure::Geodesic => geodesic_area(&s.asset.geometry),
            Measure::Local => planar_area(&s.local),
        })
    }

    /// Length (perimeter for areas) of an asset in m.
    pub fn length(&self, h: Handle, how: Measure) -> Option<f64> {
        let s = self.slot(h)?;
        Some(match how {
            Measure::Geodesic => geodesic_length(&s.asset.geometry),
            Measure::Local => planar_length(&s.local),
        })
    }
}
