//! Reading query parameters: coordinates, boxes, times and kind filters, each refused
//! with the parameter's name and what was wrong.

use geo_types::{Rect, coord};
use twin_core::{KindFilter, Timestamp};

use super::error::ApiError;

/// `lon,lat` in WGS84 degrees.
pub fn lonlat(name: &str, text: &str) -> Result<(f64, f64), ApiError> {
    let v = numbers(name, text, 2)?;
    let (lon, lat) = (v[0], v[1]);
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        return Err(ApiError::bad(format!(
            "`{name}`: ({lon}, {lat}) is not a longitude in [-180, 180] and a latitude in [-90, 90]"
        )));
    }
    Ok((lon, lat))
}

/// `minlon,minlat,maxlon,maxlat` in WGS84 degrees (OGC and GeoJSON order).
pub fn bbox(name: &str, text: &str) -> Result<Rect<f64>, ApiError> {
    let v = numbers(name, text, 4)?;
    if v[0] > v[2] || v[1] > v[3] {
        return Err(ApiError::bad(format!(
            "`{name}`: the minimum corner ({}, {}) is not below and left of the maximum ({}, {})",
            v[0], v[1], v[2], v[3]
        )));
    }
    Ok(Rect::new(
        coord! { x: v[0], y: v[1] },
        coord! { x: v[2], y: v[3] },
    ))
}

/// Exactly `n` finite numbers separated by commas.
fn numbers(name: &str, text: &str, n: usize) -> Result<Vec<f64>, ApiError> {
    let v: Vec<f64> = text
        .split(',')
        .map(|s| s.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            ApiError::bad(format!(
                "`{name}`: `{text}` is not {n} numbers separated by commas"
            ))
        })?;
    if v.len() != n || !v.iter().all(|x| x.is_finite()) {
        return Err(ApiError::bad(format!(
            "`{name}`: expected {n} finite numbers separated by commas, got `{text}`"
        )));
    }
    Ok(v)
}

/// A time: UTC milliseconds since the epoch, or ISO 8601 with an offset.
pub fn time(name: &str, text: &str) -> Result<Timestamp, ApiError> {
    let text = text.trim();
    let t = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse::<i64>()
            .map_err(|_| ApiError::bad(format!("`{name}`: `{text}` is too large")))
            .and_then(|ms| {
                Timestamp::checked_from_millis(ms)
                    .map_err(|e| ApiError::bad(format!("`{name}`: {e}")))
            })?
    } else {
        text.parse::<Timestamp>()
            .map_err(|e| ApiError::bad(format!("`{name}`: {e}")))?
    };
    Ok(t)
}

/// A kind filter (`building`, `sensor`, `sensor:water_level,road`, …).
pub fn kinds(text: &str) -> Result<KindFilter, ApiError> {
    text.parse::<KindFilter>()
        .map_err(|e| ApiError::bad(format!("`kind`: {e}")))
}

/// A non-negative distance in metres.
pub fn metres(name: &str, x: f64) -> Result<f64, ApiError> {
    if x.is_finite() && x >= 0.0 {
        Ok(x)
    } else {
        Err(ApiError::bad(format!(
            "`{name}`: {x} is not a distance in metres"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_refuses() {
        assert_eq!(lonlat("p", "121.5, 31.6").unwrap(), (121.5, 31.6));
        assert!(
            lonlat("p", "121.5")
                .unwrap_err()
                .reason
                .contains("2 finite numbers")
        );
        assert!(
            lonlat("p", "200,0")
                .unwrap_err()
                .reason
                .contains("longitude")
        );
        assert!(lonlat("p", "a,b").unwrap_err().reason.starts_with("`p`"));
        let r = bbox("bbox", "121,31,122,32").unwrap();
        assert_eq!((r.min().x, r.max().y), (121.0, 32.0));
        assert!(bbox("bbox", "122,31,121,32").is_err());
        assert!(bbox("bbox", "1,2,3,NaN").is_err());
        assert_eq!(time("t", "1000").unwrap(), Timestamp::from_millis(1000));
        assert_eq!(
            time("t", "1970-01-01T08:00:01+08:00").unwrap(),
            Timestamp::from_millis(1000)
        );
        assert!(time("t", "99999999999999999999").is_err());
        assert!(
            time("t", "yesterday")
                .unwrap_err()
                .reason
                .contains("ISO 8601")
        );
        assert!(kinds("twon").unwrap_err().reason.contains("did you mean"));
        assert!(metres("r", -1.0).is_err());
    }
}
