//! GCJ-02, the obfuscated coordinate system of Chinese web maps.
//!
//! GCJ-02 ("Mars coordinates", 国测局坐标) is **not a geodetic datum and has
//! no EPSG code**. It is WGS84 longitude/latitude with a deliberate,
//! smoothly varying non-linear offset added, mandated for maps published in
//! mainland China (AutoNavi/Gaode, Tencent, Google Maps China tiles; Baidu's
//! BD-09 adds a second offset on top). Data traced from those maps is in
//! GCJ-02 and must be converted before it lines up with WGS84/CGCS2000 data.
//!
//! The forward offset is the widely published closed-form polynomial/sine
//! formula evaluated on the Krasovsky 1940 ellipsoid. Near Chongming it moves
//! points about **400–420 m east and 210–235 m south** (e.g. at 121.60° E,
//! 31.50° N: +401 m east, −234 m north). Outside a rough bounding box of
//! mainland China (lon 72.004..137.8347, lat 0.8293..55.8271) the published
//! algorithm applies no offset, and neither do these functions: the input is
//! returned unchanged. (The box also covers Taiwan, Korea and parts of Japan,
//! where real maps do not use GCJ-02; that is the behaviour of the common
//! implementations, kept here for compatibility.)
//!
//! There is no closed-form inverse; [`gcj02_to_wgs84`] iterates the forward
//! function until it reproduces its input.

/// Semi-major axis of the Krasovsky 1940 ellipsoid (m).
const KRASOVSKY_A: f64 = 6_378_245.0;
/// First eccentricity squared of the Krasovsky 1940 ellipsoid.
const KRASOVSKY_E2: f64 = 0.006_693_421_622_965_943;

/// Stopping tolerance of the inverse (degrees; ≈ 0.1 mm).
const INVERSE_TOL: f64 = 1e-9;
/// Iteration limit of the inverse.
const INVERSE_MAX_ITER: usize = 30;

/// Whether the GCJ-02 offset applies at `lon`, `lat` (the rough mainland
/// China box of the published algorithm).
pub fn in_china_box(lon: f64, lat: f64) -> bool {
    (72.004..=137.8347).contains(&lon) && (0.8293..=55.8271).contains(&lat)
}

/// The latitude offset polynomial, in "metres-like" units, of `x = lon − 105`,
/// `y = lat − 35`.
fn offset_lat(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * PI * x).sin() + 20.0 * (2.0 * PI * x).sin()) * 2.0 / 3.0;
    r += (20.0 * (PI * y).sin() + 40.0 * (PI * y / 3.0).sin()) * 2.0 / 3.0;
    r += (160.0 * (PI * y / 12.0).sin() + 320.0 * (PI * y / 30.0).sin()) * 2.0 / 3.0;
    r
}

/// The longitude offset polynomial of `x = lon − 105`, `y = lat − 35`.
fn offset_lon(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * PI * x).sin() + 20.0 * (2.0 * PI * x).sin()) * 2.0 / 3.0;
    r += (20.0 * (PI * x).sin() + 40.0 * (PI * x / 3.0).sin()) * 2.0 / 3.0;
    r += (150.0 * (PI * x / 12.0).sin() + 300.0 * (PI * x / 30.0).sin()) * 2.0 / 3.0;
    r
}

/// The GCJ-02 offset `(dlon, dlat)` in degrees at WGS84 `lon`, `lat` (inside
/// the box).
fn offset(lon: f64, lat: f64) -> (f64, f64) {
    let x = lon - 105.0;
    let y = lat - 35.0;
    let phi = lat.to_radians();
    let s = phi.sin();
    let w = 1.0 - KRASOVSKY_E2 * s * s;
    let sw = w.sqrt();
    // Metres to degrees with the Krasovsky meridian / prime-vertical radii.
    let m = KRASOVSKY_A * (1.0 - KRASOVSKY_E2) / (w * sw);
    let n = KRASOVSKY_A / sw;
    let dlat = offset_lat(x, y) / m.to_radians();
    let dlon = offset_lon(x, y) / (n * phi.cos()).to_radians();
    // `r.to_radians()` = r·π/180, so these equal (v·180)/(R·π).
    (dlon, dlat)
}

/// Converts WGS84 `lon`, `lat` (degrees) to GCJ-02 in closed form.
///
/// Outside the mainland China box (lon 72.004..137.8347, lat 0.8293..55.8271)
/// and for non-finite input the coordinates are returned unchanged.
///
/// ```
/// use twin_core::crs::gcj02::wgs84_to_gcj02;
/// let (lon, lat) = wgs84_to_gcj02(121.60, 31.50);
/// assert!(lon > 121.60 && lat < 31.50); // shifted east and south
/// assert_eq!(wgs84_to_gcj02(2.35, 48.85), (2.35, 48.85)); // Paris: unchanged
/// ```
pub fn wgs84_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    if !in_china_box(lon, lat) {
        return (lon, lat);
    }
    let (dlon, dlat) = offset(lon, lat);
    (lon + dlon, lat + dlat)
}

/// Converts GCJ-02 `lon`, `lat` (degrees) back to WGS84.
///
/// Fixed-point iteration on the forward function: `w ← w − (fwd(w) − g)`,
/// which converges linearly with a ratio of ~10⁻⁵ (the offset varies slowly),
/// until the round trip misses the input by less than 1e-9° (≈ 0.1 mm) or 30
/// iterations. Two or three iterations suffice in practice. Outside the box
/// and for non-finite input the coordinates are returned unchanged.
pub fn gcj02_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    if !in_china_box(lon, lat) {
        return (lon, lat);
    }
    let (mut wlon, mut wlat) = (lon, lat);
    for _ in 0..INVERSE_MAX_ITER {
        let (glon, glat) = wgs84_to_gcj02(wlon, wlat);
        let (elon, elat) = (glon - lon, glat - lat);
        if elon.abs() < INVERSE_TOL && elat.abs() < INVERSE_TOL {
            break;
        }
        wlon -= elon;
        wlat -= elat;
    }
    (wlon, wlat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_edges() {
        assert!(in_china_box(121.6, 31.5));
        assert!(!in_china_box(72.0, 31.5));
        assert!(!in_china_box(121.6, 56.0));
        assert!(!in_china_box(f64::NAN, 31.5));
        let (lon, lat) = gcj02_to_wgs84(f64::NAN, 31.5);
        assert!(lon.is_nan() && lat == 31.5);
    }

    #[test]
    fn inverse_converges_quickly() {
        let (glon, glat) = wgs84_to_gcj02(121.6, 31.5);
        let (lon, lat) = gcj02_to_wgs84(glon, glat);
        assert!((lon - 121.6).abs() < 1e-9 && (lat - 31.5).abs() < 1e-9);
    }
}
