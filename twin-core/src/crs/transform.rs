//! Coordinate conversion between two [`Crs`]s.

use std::fmt;

use geo::{CoordsIter, MapCoords};
use geo_types::{Coord, Geometry};

use super::Crs;
use super::error::CrsError;
use super::gcj02::{gcj02_to_wgs84, wgs84_to_gcj02};
use super::local::LocalFrame;
#[cfg(all(feature = "proj", not(target_arch = "wasm32")))]
use super::proj_backend::ProjOp;

/// proj4rs definition of the WGS84 pivot.
const PROJ4_WGS84: &str = "+proj=longlat +datum=WGS84 +no_defs";

/// Converts coordinates from one [`Crs`] to another.
///
/// Build it once (this parses definitions and sets up the backends) and use it
/// for many coordinates. Coordinates are `x` = longitude or easting, `y` =
/// latitude or northing, geographic ones in degrees. The conversion pivots
/// through WGS84 longitude/latitude, except that two projected built-in CRSs
/// are converted by proj4rs in one step and two `Crs::Proj` by one PROJ
/// operation. Converting a CRS to itself (or CGCS2000 to WGS84) does nothing.
///
/// `Transformer` is `Send + Sync` and `Clone` in every build. (With the `proj`
/// feature each thread builds its own PROJ objects on first use.)
///
/// ```
/// use twin_core::crs::{Crs, Transformer};
///
/// let t = Transformer::new(&Crs::Wgs84, &Crs::Utm { zone: 51, north: true }).unwrap();
/// let (e, n) = t.convert(121.5, 31.5).unwrap();
/// assert!((e - 357_546.074).abs() < 0.01 && (n - 3_485_991.096).abs() < 0.01);
/// ```
#[derive(Clone)]
pub struct Transformer {
    from: Crs,
    to: Crs,
    op: Op,
}

/// The conversion plan.
#[derive(Clone)]
enum Op {
    /// Same CRS: nothing to do.
    Identity,
    /// `inverse` (to WGS84) then `forward` (from WGS84).
    Pivot { inverse: Stage, forward: Stage },
    /// Two projected CRSs handled by proj4rs: one proj4rs call.
    Proj4 {
        src: Box<proj4rs::Proj>,
        dst: Box<proj4rs::Proj>,
    },
    /// Two PROJ CRSs: one PROJ operation.
    #[cfg(all(feature = "proj", not(target_arch = "wasm32")))]
    Proj(ProjOp),
}

/// One side of a pivot conversion: to or from WGS84 degrees.
#[derive(Clone)]
enum Stage {
    Wgs84,
    Gcj02,
    Local(LocalFrame),
    Proj4 {
        crs: Box<proj4rs::Proj>,
        wgs84: Box<proj4rs::Proj>,
        /// The CRS is geographic: proj4rs wants and gives radians, the twin degrees.
        geographic: bool,
    },
    #[cfg(all(feature = "proj", not(target_arch = "wasm32")))]
    Proj(ProjOp),
}

/// The proj4rs CRS of a CRS that proj4rs converts: the built-in projected
/// ones and the codes of the bundled EPSG database.
fn proj4_crs(crs: &Crs) -> Option<Result<proj4rs::Proj, String>> {
    let def = match crs {
        Crs::WebMercator => "+proj=webmerc +datum=WGS84 +no_defs".to_owned(),
        Crs::Utm { zone, north } => format!(
            "+proj=utm +zone={zone} +datum=WGS84 +units=m +no_defs{}",
            if *north { "" } else { " +south" }
        ),
        Crs::Epsg(code) => {
            return Some(
                proj4rs::Proj::from_epsg_code(*code)
                    .map_err(|e| format!("the bundled EPSG database's definition: {e}")),
            );
        }
        _ => return None,
    };
    Some(proj4rs::Proj::from_proj_string(&def).map_err(|e| e.to_string()))
}

/// The proj4rs CRS of a projected CRS that proj4rs converts (for one-step
/// conversions between two of them).
fn proj4_projected(crs: &Crs) -> Option<Result<proj4rs::Proj, String>> {
    match proj4_crs(crs)? {
        Ok(p) if p.is_latlong() => None,
        other => Some(other),
    }
}

/// Checks a geographic coordinate's latitude.
fn check_lat(lat: f64) -> Result<(), String> {
    if lat.abs() > 90.0 {
        Err(format!("latitude {lat} is beyond ±90°"))
    } else {
        Ok(())
    }
}

/// Runs a proj4rs conversion on one point.
fn proj4_convert(
    src: &proj4rs::Proj,
    dst: &proj4rs::Proj,
    x: f64,
    y: f64,
) -> Result<(f64, f64), String> {
    let mut p = (x, y, 0.0);
    proj4rs::transform::transform(src, dst, &mut p).map_err(|e| e.to_string())?;
    Ok((p.0, p.1))
}

impl Stage {
    /// The stage for `crs`; `to_wgs84` selects the direction (only used by PROJ).
    fn new(crs: &Crs, to_wgs84: bool) -> Result<Self, String> {
        // Only the PROJ backend has one object per direction.
        let _ = to_wgs84;
        Ok(match crs {
            Crs::Wgs84 | Crs::Cgcs2000 => Stage::Wgs84,
            Crs::Gcj02 => Stage::Gcj02,
            Crs::Local(f) => Stage::Local(*f),
            Crs::WebMercator | Crs::Utm { .. } | Crs::Epsg(_) => {
                let crs = proj4_crs(crs).ok_or("no proj4rs definition")??;
                Stage::Proj4 {
                    geographic: crs.is_latlong(),
                    crs: Box::new(crs),
                    wgs84: Box::new(
                        proj4rs::Proj::from_proj_string(PROJ4_WGS84).map_err(|e| e.to_string())?,
                    ),
                }
            }
            #[cfg(all(feature = "proj", not(target_arch = "wasm32")))]
            Crs::Proj(def) => Stage::Proj(if to_wgs84 {
                ProjOp::new(def, "EPSG:4326")?
            } else {
                ProjOp::new("EPSG:4326", def)?
            }),
        })
    }

    /// Converts `(x, y)` in this stage's CRS to WGS84 degrees.
    #[inline]
    fn inverse(&self, x: f64, y: f64) -> Result<(f64, f64), String> {
        match self {
            Stage::Wgs84 => {
                check_lat(y)?;
                Ok((x, y))
            }
            Stage::Gcj02 => {
                check_lat(y)?;
                Ok(gcj02_to_wgs84(x, y))
            }
            Stage::Local(f) => Ok(f.to_geographic(x, y)),
            Stage::Proj4 {
                crs,
                wgs84,
                geographic,
            } => {
                let (x, y) = if *geographic {
                    check_lat(y)?;
                    (x.to_radians(), y.to_radians())
                } else {
                    (x, y)
                };
                let (lon, lat) = proj4_convert(crs, wgs84, x, y)?;
                Ok((lon.to_degrees(), lat.to_degrees()))
            }
            #[cfg(all(feature = "proj", not(target_arch = "wasm32")))]
            Stage::Proj(op) => op.convert(x, y),
        }
    }

    /// Converts WGS84 degrees to this stage's CRS.
    #[inline]
    fn forward(&self, lon: f64, lat: f64) -> Result<(f64, f64), String> {
        check_lat(lat)?;
        match self {
            Stage::Wgs84 => Ok((lon, lat)),
            Stage::Gcj02 => Ok(wgs84_to_gcj02(lon, lat)),
            Stage::Local(f) => {
                let dlon = lon - f.origin_lon();
                let dlon = dlon - 360.0 * ((dlon + 180.0) / 360.0).floor();
                if dlon.abs() >= 90.0 {
                    return Err(format!(
                        "longitude {lon} is 90° or more from the local frame's meridian"
                    ));
                }
                Ok(f.to_local(lon, lat))
            }
            Stage::Proj4 {
                crs,
                wgs84,
                geographic,
            } => {
                let (x, y) = proj4_convert(wgs84, crs, lon.to_radians(), lat.to_radians())?;
                if *geographic {
                    Ok((x.to_degrees(), y.to_degrees()))
                } else {
                    Ok((x, y))
                }
            }
            #[cfg(all(feature = "proj", not(target_arch = "wasm32")))]
            Stage::Proj(op) => op.convert(lon, lat),
        }
    }
}

/// The CRS with CGCS2000 replaced by WGS84, for the identity test.
fn canonical(crs: &Crs) -> &Crs {
    match crs {
        Crs::Cgcs2000 => &Crs::Wgs84,
        c => c,
    }
}

impl Transformer {
    /// Sets up the conversion `from` → `to`.
    ///
    /// Fails with [`CrsError::Invalid`] for a bad built-in CRS (UTM zone outside
    /// 1..=60, non-finite local origin) and [`CrsError::Operation`] when a
    /// backend cannot build the operation.
    pub fn new(from: &Crs, to: &Crs) -> Result<Self, CrsError> {
        from.validate()?;
        to.validate()?;
        let operation_error = |reason: String| CrsError::Operation {
            operation: format!("from {from} to {to}"),
            reason,
        };
        let op = if canonical(from) == canonical(to) {
            Op::Identity
        } else {
            match (proj4_projected(from), proj4_projected(to)) {
                (Some(src), Some(dst)) => Op::Proj4 {
                    src: Box::new(src.map_err(operation_error)?),
                    dst: Box::new(dst.map_err(operation_error)?),
                },
                _ => Self::pivot_or_proj(from, to).map_err(operation_error)?,
            }
        };
        Ok(Self {
            from: from.clone(),
            to: to.clone(),
            op,
        })
    }

    /// A direct PROJ operation between two PROJ CRSs, else a pivot.
    fn pivot_or_proj(from: &Crs, to: &Crs) -> Result<Op, String> {
        #[cfg(all(feature = "proj", not(target_arch = "wasm32")))]
        if let (Crs::Proj(a), Crs::Proj(b)) = (from, to) {
            return Ok(Op::Proj(ProjOp::new(a, b)?));
        }
        Ok(Op::Pivot {
            inverse: Stage::new(from, true)?,
            forward: Stage::new(to, false)?,
        })
    }

    /// The source CRS.
    pub fn from(&self) -> &Crs {
        &self.from
    }

    /// The target CRS.
    pub fn to(&self) -> &Crs {
        &self.to
    }

    /// Whether the conversion leaves coordinates unchanged (same CRS, or
    /// CGCS2000 ↔ WGS84).
    pub fn is_identity(&self) -> bool {
        matches!(self.op, Op::Identity)
    }

    /// Converts one coordinate: `x` = longitude or easting, `y` = latitude or
    /// northing, geographic values in degrees.
    ///
    /// Fails with [`CrsError::NonFinite`] for NaN/infinite input and
    /// [`CrsError::OutOfDomain`] when the point cannot be converted (latitude
    /// beyond ±90°, a pole in Mercator, ...) or the result is not finite.
    #[inline]
    pub fn convert(&self, x: f64, y: f64) -> Result<(f64, f64), CrsError> {
        if !(x.is_finite() && y.is_finite()) {
            return Err(CrsError::NonFinite { x, y });
        }
        let result = match &self.op {
            Op::Identity => return Ok((x, y)),
            Op::Pivot { inverse, forward } => inverse
                .inverse(x, y)
                .and_then(|(lon, lat)| forward.forward(lon, lat)),
            Op::Proj4 { src, dst } => proj4_convert(src, dst, x, y),
            #[cfg(all(feature = "proj", not(target_arch = "wasm32")))]
            Op::Proj(op) => op.convert(x, y),
        };
        match result {
            Ok((u, v)) if u.is_finite() && v.is_finite() => Ok((u, v)),
            Ok((u, v)) => {
                Err(self.out_of_domain(x, y, format!("the result ({u}, {v}) is not finite")))
            }
            Err(reason) => Err(self.out_of_domain(x, y, reason)),
        }
    }

    /// [`Transformer::convert`] on a [`Coord`].
    #[inline]
    pub fn convert_coord(&self, c: Coord<f64>) -> Result<Coord<f64>, CrsError> {
        self.convert(c.x, c.y).map(|(x, y)| Coord { x, y })
    }

    /// Converts every coordinate of `g` in place.
    ///
    /// All or nothing: on error `g` is left unchanged and the error names the
    /// first coordinate that failed.
    pub fn convert_geometry(&self, g: &mut Geometry<f64>) -> Result<(), CrsError> {
        if self.is_identity() {
            return match g
                .coords_iter()
                .find(|c| !(c.x.is_finite() && c.y.is_finite()))
            {
                Some(c) => Err(CrsError::NonFinite { x: c.x, y: c.y }),
                None => Ok(()),
            };
        }
        let converted = g.try_map_coords(|c| self.convert_coord(c))?;
        *g = converted;
        Ok(())
    }

    fn out_of_domain(&self, x: f64, y: f64, reason: String) -> CrsError {
        CrsError::OutOfDomain {
            x,
            y,
            operation: format!("from {} to {}", self.from, self.to),
            reason,
        }
    }
}

impl fmt::Debug for Transformer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transformer")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("identity", &self.is_identity())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_small() {
        assert!(std::mem::size_of::<CrsError>() <= 64);
    }

    #[test]
    fn send_sync() {
        fn check<T: Send + Sync + Clone>() {}
        check::<Transformer>();
        check::<Crs>();
        check::<CrsError>();
    }

    #[test]
    fn identity_and_cgcs2000() {
        let t = Transformer::new(&Crs::Cgcs2000, &Crs::Wgs84).unwrap();
        assert!(t.is_identity());
        assert_eq!(t.convert(121.5, 31.5).unwrap(), (121.5, 31.5));
        assert!(matches!(
            t.convert(f64::NAN, 31.5),
            Err(CrsError::NonFinite { .. })
        ));
    }

    #[test]
    fn invalid_builtins() {
        let bad = Crs::Utm {
            zone: 61,
            north: true,
        };
        assert!(matches!(
            Transformer::new(&Crs::Wgs84, &bad),
            Err(CrsError::Invalid { .. })
        ));
        let nan = Crs::Local(LocalFrame::new(f64::NAN, 31.0, 0.0));
        assert!(matches!(
            Transformer::new(&nan, &Crs::Wgs84),
            Err(CrsError::Invalid { .. })
        ));
    }

    #[test]
    fn out_of_domain() {
        let t = Transformer::new(&Crs::Wgs84, &Crs::WebMercator).unwrap();
        let e = t.convert(121.0, 90.0).unwrap_err();
        assert!(matches!(e, CrsError::OutOfDomain { .. }), "{e:?}");
        assert!(e.to_string().contains("(121, 90)"), "{e}");
        let e = t.convert(121.0, 91.0).unwrap_err();
        assert!(matches!(e, CrsError::OutOfDomain { .. }), "{e:?}");
        let l = Transformer::new(&Crs::Wgs84, &Crs::Local(LocalFrame::chongming())).unwrap();
        assert!(matches!(
            l.convert(-58.4, 31.5),
            Err(CrsError::OutOfDomain { .. })
        ));
        assert!(l.convert(-150.0, 31.5).is_ok());
    }
}
