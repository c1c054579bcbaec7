//! Where a model stands on the earth: from the file (its IfcSite's reference latitude,
//! longitude and elevation, turned by the model's TrueNorth) or from the user
//! (`--place LON,LAT[,HEADING[,BASE]]`).

use twin_core::crs::LocalFrame;

/// A placement the user gives: the model's origin at `lon`, `lat` (WGS84 degrees) and
/// `base` metres, its +Y axis facing `heading` degrees clockwise from north.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Place {
    /// Longitude of the model's origin.
    pub lon: f64,
    /// Latitude of the model's origin.
    pub lat: f64,
    /// Bearing of the model's +Y axis, degrees clockwise from north.
    pub heading: f64,
    /// Height of the model's origin (metres).
    pub base: f64,
}

impl Place {
    /// Reads `LON,LAT[,HEADING[,BASE]]`.
    pub fn parse(text: &str) -> Result<Place, String> {
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        if !(2..=4).contains(&parts.len()) {
            return Err(format!("--place {text}: give LON,LAT[,HEADING[,BASE]]"));
        }
        let num = |i: usize, what: &str| -> Result<f64, String> {
            match parts.get(i) {
                None => Ok(0.0),
                Some(p) => p
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| format!("--place {text}: {what} `{p}` is not a number")),
            }
        };
        let place = Place {
            lon: num(0, "longitude")?,
            lat: num(1, "latitude")?,
            heading: num(2, "heading")?,
            base: num(3, "base")?,
        };
        if !(-180.0..=180.0).contains(&place.lon) || !(-90.0..=90.0).contains(&place.lat) {
            return Err(format!("--place {text}: not a longitude and latitude"));
        }
        Ok(place)
    }
}

/// Where the placement came from, for `twin info` and errors.
#[derive(Clone, Debug, PartialEq)]
pub enum PlacedBy {
    /// The IfcSite's RefLatitude / RefLongitude / RefElevation, turned by TrueNorth
    /// (degrees, the bearing of the model's +Y axis).
    Site {
        /// Bearing of the model's +Y axis from TrueNorth.
        heading: f64,
    },
    /// `--place`.
    Given,
}

/// Model coordinates (metres, x east-ish, y north-ish, z up, as the file's world
/// coordinate system) to WGS84 longitude, latitude and height.
#[derive(Clone, Debug)]
pub struct Placement {
    frame: LocalFrame,
    origin: [f64; 3],
    /// True north in model axes, unit length.
    north: [f64; 2],
    /// Where it came from.
    pub by: PlacedBy,
}

impl Placement {
    /// The model's `origin` (model coordinates) at `place`.
    pub fn new(place: &Place, origin: [f64; 3], by: PlacedBy) -> Placement {
        let h = place.heading.to_radians();
        Placement {
            frame: LocalFrame::new(place.lon, place.lat, place.base),
            origin,
            // +Y at bearing h: north is at −h from +Y, (sin −h, cos −h) in model axes.
            north: [-h.sin(), h.cos()],
            by,
        }
    }

    /// The bearing of the model's +Y axis for a TrueNorth direction (x, y) given in
    /// model axes: 0 when true north is +Y, 90 when it is −X.
    pub fn heading_of_true_north(x: f64, y: f64) -> Option<f64> {
        let len = x.hypot(y);
        (len.is_finite() && len > 1e-12).then(|| (-x / len).atan2(y / len).to_degrees())
    }

    /// The model point that stands at the placement's longitude and latitude.
    pub fn origin(&self) -> [f64; 3] {
        self.origin
    }

    /// Longitude, latitude and height of a model point.
    pub fn to_wgs84(&self, p: [f64; 3]) -> [f64; 3] {
        let (x, y, z) = (
            p[0] - self.origin[0],
            p[1] - self.origin[1],
            p[2] - self.origin[2],
        );
        let [tx, ty] = self.north;
        let east = x * ty - y * tx;
        let north = x * tx + y * ty;
        self.frame.to_geographic3(east, north, z)
    }

    /// East and north metres from the origin of a model point (for checks).
    pub fn to_east_north(&self, p: [f64; 3]) -> (f64, f64) {
        let [tx, ty] = self.north;
        let (x, y) = (p[0] - self.origin[0], p[1] - self.origin[1]);
        (x * ty - y * tx, x * tx + y * ty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn true_north_turns_the_model() {
        // AC20-FZK-Haus: TrueNorth (0.766044, 0.642788): +Y faces 50° west of north.
        let h = Placement::heading_of_true_north(0.766044443119, 0.642787609687).unwrap();
        assert!((h + 50.0).abs() < 1e-6, "{h}");
        let p = Place {
            lon: 8.436539,
            lat: 49.100435,
            heading: h,
            base: 110.0,
        };
        let pl = Placement::new(&p, [0.0; 3], PlacedBy::Site { heading: h });
        // The bedroom's centre (9.675, 6.975): 0.876 m east, 11.895 m north (the
        // rotation IfcOpenShell's georeference applies, docs/bim-plan.md).
        let (e, n) = pl.to_east_north([9.675, 6.975, 0.0]);
        assert!(
            (e - 0.876).abs() < 1e-3 && (n - 11.895).abs() < 1e-3,
            "{e} {n}"
        );
        // A heading of 90: +Y faces east.
        let east = Placement::new(&Place { heading: 90.0, ..p }, [0.0; 3], PlacedBy::Given);
        let (e, n) = east.to_east_north([0.0, 10.0, 0.0]);
        assert!((e - 10.0).abs() < 1e-9 && n.abs() < 1e-9);
    }

    #[test]
    fn place_reads_two_to_four_numbers() {
        assert_eq!(
            Place::parse("121.5, 31.6").unwrap(),
            Place {
                lon: 121.5,
                lat: 31.6,
                heading: 0.0,
                base: 0.0
            }
        );
        assert_eq!(Place::parse("121.5,31.6,30,4").unwrap().base, 4.0);
        assert!(Place::parse("121.5").is_err());
        assert!(Place::parse("121.5,x").unwrap_err().contains("`x`"));
        assert!(Place::parse("200,31").is_err());
    }
}
