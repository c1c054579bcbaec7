//! Where a model stands on the earth: from the file (its IfcMapConversion to a
//! projected CRS, else its IfcSite's reference latitude, longitude and elevation turned
//! by the model's TrueNorth) or from the user (`--place LON,LAT[,HEADING[,BASE]]`).

use twin_core::crs::{Crs, LocalFrame, Transformer};

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
    /// The file's IfcMapConversion into a projected CRS.
    MapConversion {
        /// The map's CRS as twin reads it (`EPSG:4549`).
        crs: String,
        /// Bearing of the model's +Y axis from the map's grid north, degrees.
        heading: f64,
        /// Whether the CRS came from `--crs` (the file's was empty or unknown).
        crs_given: bool,
    },
    /// `--place`.
    Given,
}

impl std::fmt::Display for PlacedBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlacedBy::Site { heading } => write!(
                f,
                "its IfcSite's reference point (+Y at {heading:.1}° from north)"
            ),
            PlacedBy::MapConversion {
                crs,
                heading,
                crs_given,
            } => write!(
                f,
                "its IfcMapConversion into {crs}{} (+Y at {heading:.1}° from grid north)",
                if *crs_given { " (from --crs)" } else { "" }
            ),
            PlacedBy::Given => f.write_str("--place"),
        }
    }
}

/// An IfcMapConversion ready to use: model metres to map metres in `crs`.
#[derive(Clone, Debug)]
pub struct MapConversion {
    /// Metres per project length unit (the file's IfcUnitAssignment).
    pub project_unit: f64,
    /// Metres per map unit (the projected CRS's MapUnit, else the project's unit).
    pub map_unit: f64,
    /// Eastings, northings and orthogonal height of the model's origin, map units.
    pub offset: [f64; 3],
    /// cos and sin of the angle from the map's x axis to the model's x axis.
    pub rotation: (f64, f64),
    /// Scale times FactorX, FactorY, FactorZ.
    pub scale: [f64; 3],
    /// The map's CRS.
    pub crs: Crs,
}

impl MapConversion {
    /// Metres per unit of the map CRS's own coordinates, as its projection takes them
    /// (0.3048 for a State Plane CRS in feet); `Err` for a CRS twin cannot size.
    fn crs_unit(&self) -> Result<f64, String> {
        self.crs
            .metres_per_unit()
            .ok_or_else(|| format!("the unit of {} is not known", self.crs))
    }
}

impl MapConversion {
    /// The map point of a model point (model metres in, map metres out), as
    /// buildingSMART's georeferencing guide and IfcOpenShell's
    /// `ifcopenshell.util.geolocation.xyz2enh` define it: local ordinates in project
    /// units, rotated by the x axis' angle, times the scale, plus the offset.
    pub fn to_map(&self, p: [f64; 3]) -> [f64; 3] {
        let [x, y, z] = p.map(|v| v / self.project_unit);
        let (c, s) = self.rotation;
        let e = self.scale[0] * c * x - self.scale[1] * s * y + self.offset[0];
        let n = self.scale[0] * s * x + self.scale[1] * c * y + self.offset[1];
        let h = self.scale[2] * z + self.offset[2];
        [e, n, h].map(|v| v * self.map_unit)
    }
}

/// Model coordinates (metres, x east-ish, y north-ish, z up, as the file's world
/// coordinate system) to WGS84 longitude, latitude and height.
#[derive(Clone, Debug)]
pub struct Placement {
    how: How,
    origin: [f64; 3],
    /// Where it came from.
    pub by: PlacedBy,
}

#[derive(Clone, Debug)]
enum How {
    /// A local east-north-up frame at the origin, turned: true north in model axes.
    Frame { frame: LocalFrame, north: [f64; 2] },
    /// Through the map's projected CRS, whose coordinates are in units of `crs_unit`
    /// metres.
    Map {
        conversion: MapConversion,
        to_wgs84: Box<Transformer>,
        crs_unit: f64,
    },
}

impl Placement {
    /// The model's `origin` (model coordinates) at `place`.
    pub fn new(place: &Place, origin: [f64; 3], by: PlacedBy) -> Placement {
        let h = place.heading.to_radians();
        Placement {
            how: How::Frame {
                frame: LocalFrame::new(place.lon, place.lat, place.base),
                // +Y at bearing h: north is at −h from +Y, (sin −h, cos −h) in model axes.
                north: [-h.sin(), h.cos()],
            },
            origin,
            by,
        }
    }

    /// A placement through a map conversion; `Err` when twin cannot convert from its
    /// CRS to WGS84.
    pub fn mapped(conversion: MapConversion, by: PlacedBy) -> Result<Placement, String> {
        let to_wgs84 = Transformer::new(&conversion.crs, &Crs::Wgs84)
            .map_err(|e| format!("cannot convert from {} to WGS84: {e}", conversion.crs))?;
        if conversion.crs.is_geographic() {
            return Err(format!(
                "{} is geographic: an IfcMapConversion's target is a projected CRS",
                conversion.crs
            ));
        }
        let crs_unit = conversion.crs_unit()?;
        Ok(Placement {
            how: How::Map {
                conversion,
                to_wgs84: Box::new(to_wgs84),
                crs_unit,
            },
            origin: [0.0; 3],
            by,
        })
    }

    /// The bearing of the model's +Y axis for a TrueNorth direction (x, y) given in
    /// model axes: 0 when true north is +Y, 90 when it is −X.
    pub fn heading_of_true_north(x: f64, y: f64) -> Option<f64> {
        let len = x.hypot(y);
        (len.is_finite() && len > 1e-12).then(|| (-x / len).atan2(y / len).to_degrees())
    }

    /// The model point that stands at the placement's reference point.
    pub fn origin(&self) -> [f64; 3] {
        self.origin
    }

    /// Longitude, latitude and height of a model point; `Err` when the map's CRS
    /// cannot convert it (a point far outside the projection's area).
    pub fn to_wgs84(&self, p: [f64; 3]) -> Result<[f64; 3], String> {
        match &self.how {
            How::Frame { frame, north } => {
                let (x, y, z) = (
                    p[0] - self.origin[0],
                    p[1] - self.origin[1],
                    p[2] - self.origin[2],
                );
                let [tx, ty] = *north;
                let east = x * ty - y * tx;
                let north = x * tx + y * ty;
                Ok(frame.to_geographic3(east, north, z))
            }
            How::Map {
                conversion,
                to_wgs84,
                crs_unit,
            } => {
                // Map metres to the CRS's own units (feet for a State Plane CRS).
                let [e, n, h] = conversion.to_map(p);
                let (lon, lat) = to_wgs84.convert(e / crs_unit, n / crs_unit).map_err(|err| {
                    format!(
                        "the model point ({:.3}, {:.3}, {:.3}) is at ({e:.3}, {n:.3}) in {}, which does not convert to WGS84: {err}",
                        p[0], p[1], p[2], conversion.crs
                    )
                })?;
                Ok([lon, lat, h])
            }
        }
    }

    /// East and north metres from the origin of a model point (for checks); for a
    /// map conversion, map metres from the model's origin.
    pub fn to_east_north(&self, p: [f64; 3]) -> (f64, f64) {
        match &self.how {
            How::Frame { north, .. } => {
                let [tx, ty] = *north;
                let (x, y) = (p[0] - self.origin[0], p[1] - self.origin[1]);
                (x * ty - y * tx, x * tx + y * ty)
            }
            How::Map { conversion, .. } => {
                let [e, n, _] = conversion.to_map(p);
                let [e0, n0, _] = conversion.to_map([0.0; 3]);
                (e - e0, n - n0)
            }
        }
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
        assert!(pl.to_wgs84([9.675, 6.975, 0.0]).is_ok());
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
    fn a_map_conversion_rotates_scales_and_offsets() {
        // geolocation-mapconversion-angle.ifc: millimetres, Eastings 15000, the x axis
        // at (0.866, −0.5) (30° clockwise of east). A model point 1 m along x and 2 m
        // along y (metres in, as ifc-lite gives them):
        // E = 15000 + 0.866·1000 + 0.5·2000 = 16866.0 mm, N = −500 + 1732.05 = 1232.05 mm.
        let conv = MapConversion {
            project_unit: 0.001,
            map_unit: 0.001,
            offset: [15000.0, 0.0, 0.0],
            rotation: (0.866025403784439, -0.5),
            scale: [1.0; 3],
            crs: Crs::Utm {
                zone: 51,
                north: true,
            },
        };
        let [e, n, h] = conv.to_map([1.0, 2.0, 3.0]);
        assert!((e - 16.866025).abs() < 1e-6, "{e}");
        assert!((n - 1.232051).abs() < 1e-6, "{n}");
        assert!((h - 3.0).abs() < 1e-12);
        let heading = 0.0;
        let pl = Placement::mapped(
            conv,
            PlacedBy::MapConversion {
                crs: "EPSG:32651".into(),
                heading,
                crs_given: false,
            },
        )
        .unwrap();
        // UTM 51N easting 16.9 m is far west of the zone, still on the earth.
        let [lon, lat, _] = pl.to_wgs84([1.0, 2.0, 3.0]).unwrap();
        assert!(lon < 120.0 && lat.abs() < 1.0, "{lon} {lat}");
        let bad = Placement::mapped(
            MapConversion {
                project_unit: 1.0,
                map_unit: 1.0,
                offset: [0.0; 3],
                rotation: (1.0, 0.0),
                scale: [1.0; 3],
                crs: Crs::Wgs84,
            },
            PlacedBy::Given,
        );
        assert!(bad.unwrap_err().contains("geographic"));
    }

    #[test]
    fn a_map_crs_in_feet_takes_feet() {
        // EPSG:2263 (NAD83 / New York Long Island, US survey feet): a model origin at
        // Eastings 984,000 ft, Northings 200,000 ft (map unit: the foot) stands where
        // the CRS's own conversion puts those feet, not 3.28 times nearer its origin.
        let crs: Crs = "EPSG:2263".parse().unwrap();
        let foot = crs.metres_per_unit().unwrap();
        assert!((foot - 0.3048006096).abs() < 1e-9, "{foot}");
        let conv = MapConversion {
            project_unit: 1.0,
            map_unit: foot,
            offset: [984_000.0, 200_000.0, 0.0],
            rotation: (1.0, 0.0),
            scale: [1.0; 3],
            crs: crs.clone(),
        };
        let pl = Placement::mapped(conv, PlacedBy::Given).unwrap();
        let [lon, lat, _] = pl.to_wgs84([0.0; 3]).unwrap();
        let (want_lon, want_lat) = Transformer::new(&crs, &Crs::Wgs84)
            .unwrap()
            .convert(984_000.0, 200_000.0)
            .unwrap();
        assert!(
            (lon - want_lon).abs() < 1e-9 && (lat - want_lat).abs() < 1e-9,
            "{lon} {lat}"
        );
        // Midtown Manhattan, not New Jersey.
        assert!(
            (lon + 73.99).abs() < 0.05 && (lat - 40.75).abs() < 0.05,
            "{lon} {lat}"
        );
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
