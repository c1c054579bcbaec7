//! A check that a GeoPackage geometry blob's declared counts fit its length, before a
//! decoder allocates for them: geozero 0.15 reserves `Vec::with_capacity(count)` from
//! the counts it reads, so a 17-byte blob declaring 3.2 billion rings aborted the
//! process (found by fuzzing, `fuzz/regressions/gpkg_geometry/`).

/// Checks a GeoPackage geometry blob (`GP` header, optional envelope, then WKB, ISO or
/// extended): every count of points, rings and parts fits the bytes left. `Err` says
/// what does not fit; `Ok` does not mean the blob decodes.
pub fn check_gpkg_blob(blob: &[u8]) -> Result<(), String> {
    if blob.len() < 8 || &blob[..2] != b"GP" {
        return Err("not a GeoPackage geometry (no GP header)".into());
    }
    let envelope = match (blob[3] >> 1) & 0b111 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        e => return Err(format!("envelope indicator {e} is not 0 to 4")),
    };
    let start = 8 + envelope;
    if blob.len() < start {
        return Err(format!(
            "{} bytes: shorter than its header and envelope ({start})",
            blob.len()
        ));
    }
    // An empty geometry flag with no WKB after it is fine.
    if blob.len() == start {
        return Ok(());
    }
    let mut at = start;
    // geozero reads the top-level geometry's counts in the byte order of the GP
    // header's flags (bit 0), not of the WKB's own byte-order byte: so does this check.
    wkb(blob, &mut at, 0, Some(blob[3] & 1 != 0), None)
}

const MAX_DEPTH: usize = 32;

fn u32_at(b: &[u8], at: &mut usize, little: bool) -> Result<u32, String> {
    let bytes: [u8; 4] = b
        .get(*at..*at + 4)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| format!("cut short at byte {}", *at))?;
    *at += 4;
    Ok(if little {
        u32::from_le_bytes(bytes)
    } else {
        u32::from_be_bytes(bytes)
    })
}

/// Checks that `count` items of at least `each` bytes fit after `at`.
fn fits(b: &[u8], at: usize, count: u32, each: usize, what: &str) -> Result<(), String> {
    let left = b.len().saturating_sub(at);
    if (count as usize).saturating_mul(each) > left {
        return Err(format!(
            "{count} {what} of at least {each} bytes each declared at byte {at}, {left} bytes left"
        ));
    }
    Ok(())
}

/// The WKB type names, for errors.
fn kind_name(kind: u32) -> &'static str {
    match kind {
        1 => "Point",
        2 => "LineString",
        3 => "Polygon",
        4 => "MultiPoint",
        5 => "MultiLineString",
        6 => "MultiPolygon",
        7 => "GeometryCollection",
        _ => "unknown type",
    }
}

/// Checks one WKB geometry at `at`. `part_of` is the kind the enclosing Multi*
/// requires of its parts: the WKB standard allows only Points in a MultiPoint (and so
/// on), and geozero decodes a part as the collection's element type whatever the
/// part's own header says, so a part of another kind is refused here rather than
/// checked as what it claims to be (a fuzzer's find: a MultiPolygon whose part said
/// Point and was then read as a polygon of 4 billion points).
fn wkb(
    b: &[u8],
    at: &mut usize,
    depth: usize,
    counts_little: Option<bool>,
    part_of: Option<u32>,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("collections nested more than {MAX_DEPTH} deep"));
    }
    // As geozero reads it: 0 is big-endian, anything else little-endian.
    let little = match b.get(*at) {
        Some(o) => *o != 0,
        None => return Err(format!("cut short at byte {}", *at)),
    };
    *at += 1;
    let raw = u32_at(b, at, little)?;
    let little = counts_little.unwrap_or(little);
    // Extended WKB flags, then ISO thousands.
    let (mut z, mut m) = (raw & 0x8000_0000 != 0, raw & 0x4000_0000 != 0);
    if raw & 0x2000_0000 != 0 {
        u32_at(b, at, little)?; // SRID
    }
    let iso = raw & 0x0FFF_FFFF;
    let kind = iso % 1000;
    match iso / 1000 {
        0 => {}
        1 => z = true,
        2 => m = true,
        3 => (z, m) = (true, true),
        t => return Err(format!("geometry type {iso} ({t}xxx) is not WKB")),
    }
    if let Some(parent) = part_of {
        let want = parent - 3;
        if kind != want {
            return Err(format!(
                "a part of a {} at byte {} is a {} (type {iso}), not a {}",
                kind_name(parent),
                *at,
                kind_name(kind),
                kind_name(want)
            ));
        }
    }
    let point = 8 * (2 + usize::from(z) + usize::from(m));
    match kind {
        1 => {
            fits(b, *at, 1, point, "point")?;
            *at += point;
        }
        2 => {
            let n = u32_at(b, at, little)?;
            fits(b, *at, n, point, "points")?;
            *at += n as usize * point;
        }
        3 => {
            let rings = u32_at(b, at, little)?;
            fits(b, *at, rings, 4, "rings")?;
            for _ in 0..rings {
                let n = u32_at(b, at, little)?;
                fits(b, *at, n, point, "points")?;
                *at += n as usize * point;
            }
        }
        4..=7 => {
            let parts = u32_at(b, at, little)?;
            // The smallest part: byte order, type and a count or a 2D point.
            fits(b, *at, parts, 9, "parts")?;
            let part_of = (kind != 7).then_some(kind);
            for _ in 0..parts {
                wkb(b, at, depth + 1, None, part_of)?;
            }
        }
        k => return Err(format!("geometry type {k} is not 1 to 7")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_gpkg_blob;

    fn blob(wkb: &[u8]) -> Vec<u8> {
        let mut b = vec![b'G', b'P', 0, 1, 0, 0, 0, 0];
        // Flags bit 0: little-endian, as the WKB below.
        b[3] = 1;
        b.extend_from_slice(wkb);
        b
    }

    #[test]
    fn a_point_fits_and_a_huge_ring_count_does_not() {
        let mut point = vec![1, 1, 0, 0, 0];
        point.extend_from_slice(&1.0f64.to_le_bytes());
        point.extend_from_slice(&2.0f64.to_le_bytes());
        assert_eq!(check_gpkg_blob(&blob(&point)), Ok(()));
        // The fuzzer's find: a polygon declaring 3.2 billion rings in 17 bytes.
        let huge = blob(&[1, 3, 0, 0, 0, 0, 0, 0, 0xC0]);
        let err = check_gpkg_blob(&huge).unwrap_err();
        assert!(err.contains("3221225472 rings"), "{err}");
        // A line string with one point too few bytes.
        let mut line = vec![1, 2, 0, 0, 0, 2, 0, 0, 0];
        line.extend_from_slice(&[0; 24]);
        assert!(check_gpkg_blob(&blob(&line)).is_err());
        line.extend_from_slice(&[0; 8]);
        assert_eq!(check_gpkg_blob(&blob(&line)), Ok(()));
    }

    #[test]
    fn parts_of_a_multi_geometry_must_be_of_its_element_type() {
        // A MultiPoint of one point: fits.
        let mut multi = vec![1, 4, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0];
        multi.extend_from_slice(&[0; 16]);
        assert_eq!(check_gpkg_blob(&blob(&multi)), Ok(()));
        // A MultiPolygon whose one part says Point: refused, naming both.
        let mut wrong = vec![1, 6, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0];
        wrong.extend_from_slice(&[0; 16]);
        let err = check_gpkg_blob(&blob(&wrong)).unwrap_err();
        assert!(
            err.contains("MultiPolygon") && err.contains("Point"),
            "{err}"
        );
        // A GeometryCollection may hold any kind.
        let mut collection = vec![1, 7, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0];
        collection.extend_from_slice(&[0; 16]);
        assert_eq!(check_gpkg_blob(&blob(&collection)), Ok(()));
    }
}
