//! GeoJSON geometry values to geo-types, and the checks every geometry passes.

use geo::{CoordsIter, Validation};
use geo_types::{
    Coord, Geometry, GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon,
    Point, Polygon,
};
use geojson::{GeometryValue, Position};

use crate::crs::{Crs, Transformer};
use crate::error::{LoadError, Problem};

/// Converts a GeoJSON geometry to geo-types, checking positions and ring closure on
/// the way (geo-types would silently close an open ring).
pub(crate) fn geometry_from_geojson(value: &GeometryValue) -> Result<Geometry<f64>, Problem> {
    let mut counter = 0usize;
    convert_value(value, &mut counter, 0)
}

fn coord(p: &Position, counter: &mut usize) -> Result<Coord<f64>, Problem> {
    let index = *counter;
    *counter += 1;
    let s = p.as_slice();
    if s.len() < 2 {
        return Err(Problem::Decode(format!(
            "position {index} has {} values, needs at least 2",
            s.len()
        )));
    }
    let (x, y) = (s[0], s[1]);
    if !x.is_finite() || !y.is_finite() {
        return Err(Problem::NonFiniteCoordinate { index, x, y });
    }
    Ok(Coord { x, y })
}

fn line(
    ps: &[Position],
    counter: &mut usize,
    what: impl Fn() -> String,
) -> Result<LineString<f64>, Problem> {
    if ps.len() < 2 {
        return Err(Problem::TooFewPositions {
            what: what(),
            got: ps.len(),
            need: 2,
        });
    }
    let coords = ps
        .iter()
        .map(|p| coord(p, counter))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(LineString::new(coords))
}

fn polygon(
    rings: &[Vec<Position>],
    polygon_index: usize,
    counter: &mut usize,
) -> Result<Polygon<f64>, Problem> {
    if rings.is_empty() {
        return Err(Problem::TooFewPositions {
            what: format!("polygon {polygon_index}"),
            got: 0,
            need: 4,
        });
    }
    let mut out = Vec::with_capacity(rings.len());
    for (ring_index, ring) in rings.iter().enumerate() {
        if ring.len() < 4 {
            return Err(Problem::TooFewPositions {
                what: format!("ring {ring_index} of polygon {polygon_index}"),
                got: ring.len(),
                need: 4,
            });
        }
        let ls = line(ring, counter, String::new)?;
        if ls.0.first() != ls.0.last() {
            return Err(Problem::UnclosedRing {
                polygon: polygon_index,
                ring: ring_index,
            });
        }
        out.push(ls);
    }
    let exterior = out.remove(0);
    Ok(Polygon::new(exterior, out))
}

fn convert_value(
    value: &GeometryValue,
    counter: &mut usize,
    depth: usize,
) -> Result<Geometry<f64>, Problem> {
    Ok(match value {
        GeometryValue::Point { coordinates } => {
            Geometry::Point(Point(coord(coordinates, counter)?))
        }
        GeometryValue::MultiPoint { coordinates } => Geometry::MultiPoint(MultiPoint(
            coordinates
                .iter()
                .map(|p| coord(p, counter).map(Point))
                .collect::<Result<_, _>>()?,
        )),
        GeometryValue::LineString { coordinates } => {
            Geometry::LineString(line(coordinates, counter, || "line".into())?)
        }
        GeometryValue::MultiLineString { coordinates } => {
            Geometry::MultiLineString(MultiLineString(
                coordinates
                    .iter()
                    .enumerate()
                    .map(|(i, l)| line(l, counter, || format!("line {i}")))
                    .collect::<Result<_, _>>()?,
            ))
        }
        GeometryValue::Polygon { coordinates } => {
            Geometry::Polygon(polygon(coordinates, 0, counter)?)
        }
        GeometryValue::MultiPolygon { coordinates } => Geometry::MultiPolygon(MultiPolygon(
            coordinates
                .iter()
                .enumerate()
                .map(|(i, p)| polygon(p, i, counter))
                .collect::<Result<_, _>>()?,
        )),
        GeometryValue::GeometryCollection { geometries } => {
            if depth > 0 {
                return Err(Problem::UnsupportedGeometry(
                    "nested GeometryCollection".into(),
                ));
            }
            Geometry::GeometryCollection(GeometryCollection(
                geometries
                    .iter()
                    .map(|g| convert_value(&g.value, counter, depth + 1))
                    .collect::<Result<_, _>>()?,
            ))
        }
    })
}

/// Checks a geo-types geometry: finite coordinates and at least one position. Polygon
/// validity is [`check_validity`], a warning rather than a refusal.
pub(crate) fn check_geometry(g: &Geometry<f64>) -> Result<(), Problem> {
    for (index, c) in g.coords_iter().enumerate() {
        if !c.x.is_finite() || !c.y.is_finite() {
            return Err(Problem::NonFiniteCoordinate {
                index,
                x: c.x,
                y: c.y,
            });
        }
    }
    if g.coords_count() == 0 {
        return Err(Problem::UnsupportedGeometry("empty geometry".into()));
    }
    Ok(())
}

/// OGC validity: no self-intersection, holes inside their shell, no overlapping parts.
/// Real files break it in small ways (Natural Earth's Sudan, Canada and Antarctica), so
/// a loader keeps such an asset as it is and reports the problem as a warning.
pub(crate) fn check_validity(g: &Geometry<f64>) -> Result<(), Problem> {
    g.check_validation()
        .map_err(|e| Problem::InvalidGeometry(e.to_string()))
}

/// The transformer from a file's CRS to WGS84, made once per file.
pub(crate) fn wgs84_transformer(crs: &Crs, file: &str) -> Result<Transformer, LoadError> {
    Transformer::new(crs, &Crs::Wgs84).map_err(|e| LoadError::Mapping {
        file: file.to_string(),
        message: format!("cannot convert from {crs} to WGS84: {e}"),
    })
}

/// Converts a geometry from its source CRS to WGS84 lon/lat and checks the range.
pub(crate) fn to_wgs84(mut g: Geometry<f64>, t: &Transformer) -> Result<Geometry<f64>, Problem> {
    if !t.is_identity() {
        t.convert_geometry(&mut g)?;
        check_range(&g, "EPSG:4326")?;
    } else {
        // Read as lon/lat: metres here mean the file is projected and says nothing.
        check_range(
            &g,
            "longitude/latitude (EPSG:4326); if the file is projected, give its CRS (--crs EPSG:…)",
        )?;
    }
    Ok(g)
}

/// Refuses lon/lat outside ±180 / ±90.
pub(crate) fn check_range(g: &Geometry<f64>, crs: &str) -> Result<(), Problem> {
    for (index, c) in g.coords_iter().enumerate() {
        if c.x.abs() > 180.0 || c.y.abs() > 90.0 {
            return Err(Problem::OutOfRange {
                index,
                x: c.x,
                y: c.y,
                crs: crs.to_string(),
            });
        }
    }
    Ok(())
}
