//! Coordinate reference systems and conversions between them.
//!
//! The twin stores geometry in WGS84 longitude/latitude and renders it in a
//! [`LocalFrame`] (metres east/north of an origin). Source data comes in the
//! CRSs usual around Shanghai:
//!
//! | [`Crs`] | Name in text | Kind |
//! |---|---|---|
//! | [`Crs::Wgs84`] | `EPSG:4326`, `WGS84`, `CRS84` | geographic, degrees |
//! | [`Crs::Cgcs2000`] | `EPSG:4490`, `CGCS2000` | geographic, degrees |
//! | [`Crs::WebMercator`] | `EPSG:3857` | projected, metres |
//! | [`Crs::Utm`] | `EPSG:326zz` (north), `EPSG:327zz` (south) | projected, metres |
//! | [`Crs::Gcj02`] | `GCJ02`, `GCJ-02` | geographic, degrees (obfuscated, see [`gcj02`]) |
//! | [`Crs::Local`] | `LOCAL(lon,lat,h)` | projected, metres (see [`local`]) |
//! | [`Crs::Epsg`] | any other `EPSG:n` of the bundled EPSG database | whatever the definition says |
//! | `Crs::Proj` (feature `proj`) | any other `EPSG:n` or PROJ string | whatever PROJ says |
//!
//! Axis order is always x = longitude/easting, y = latitude/northing, whatever
//! the EPSG definition says; geographic coordinates are in degrees.
//!
//! **CGCS2000 is treated as identical to WGS84.** Both are ITRF-aligned
//! geocentric datums and their ellipsoids differ only in the flattening's 11th
//! significant digit; for mapping they agree to a few centimetres (the residual
//! is plate motion between the reference epochs). PROJ's default EPSG:4490 ↔
//! EPSG:4326 operation is a null transformation too.
//!
//! [`Transformer`] converts between any two of them, pivoting through WGS84
//! longitude/latitude. Built-in CRSs use pure-Rust code (proj4rs for Web
//! Mercator and UTM, this module's own code for GCJ-02 and the local frame),
//! so everything works on `wasm32-unknown-unknown`.
//!
//! **Other EPSG codes.** Every code in the EPSG database that proj4rs bundles
//! (the `crs-definitions` crate: about 6,000 codes, including British National
//! Grid EPSG:27700, the Chinese Gauss–Krüger zones and compound codes such as
//! EPSG:7415 = RD New + NAP height) is a [`Crs::Epsg`] in every build, wasm
//! included, and is converted by proj4rs from its proj4 definition. Datum
//! shifts are the definition's `+towgs84` Helmert parameters (what PROJ also
//! uses when no grid file is installed, inside the datum's area of use;
//! outside it PROJ applies no shift, so far-away points can differ by the
//! shift's size, a few hundred metres). A definition without `+towgs84` on
//! another ellipsoid (Xian 1980's Gauss–Krüger zones, EPSG:2383…2390, say) is
//! converted with no datum shift, as PROJ's ballpark operation does: good to
//! the datum difference, a few hundred metres at worst. Definitions that need a
//! grid file (`+nadgrids`, the NAD27 codes) are not taken: such a code is
//! [`CrsError::Unsupported`] without the `proj` feature. The vertical part of a
//! compound code is not converted: heights are kept as they are.
//!
//! With the `proj` cargo feature (native only) every CRS that is not built in
//! — any EPSG code, PROJ string or WKT — is handed to the system PROJ library
//! instead (`Crs::Proj`), which chooses the best operation it knows, grids
//! included.

pub mod error;
pub mod gcj02;
pub mod local;
#[cfg(all(feature = "proj", not(target_arch = "wasm32")))]
mod proj_backend;
mod transform;

use std::fmt;
use std::str::FromStr;

pub use error::CrsError;
pub use gcj02::{gcj02_to_wgs84, wgs84_to_gcj02};
pub use local::LocalFrame;
pub use transform::Transformer;

/// A coordinate reference system.
///
/// Parse one from text with [`str::parse`] (see [`Crs::from_str`]) and print it
/// with `Display` (`EPSG:4326`, `GCJ02`, `LOCAL(121.6,31.5,0)`, ...); the two
/// round-trip.
///
/// ```
/// use twin_core::crs::Crs;
///
/// let utm: Crs = "EPSG:32651".parse().unwrap();
/// assert_eq!(utm, Crs::Utm { zone: 51, north: true });
/// assert_eq!(utm.to_string(), "EPSG:32651");
/// assert!("wgs84".parse::<Crs>().unwrap().is_geographic());
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Crs {
    /// WGS84 longitude/latitude in degrees (EPSG:4326, axis order lon, lat).
    Wgs84,
    /// China Geodetic Coordinate System 2000 longitude/latitude in degrees
    /// (EPSG:4490), treated as identical to WGS84 (they agree to a few cm).
    Cgcs2000,
    /// Web ("pseudo") Mercator in metres (EPSG:3857).
    WebMercator,
    /// Universal Transverse Mercator on WGS84, metres (EPSG:326zz north,
    /// EPSG:327zz south; EPSG:32651 is zone 51 north, which covers Shanghai).
    Utm {
        /// Zone number, 1..=60.
        zone: u8,
        /// Northern hemisphere (false northing 0) or southern (10 000 km).
        north: bool,
    },
    /// GCJ-02 obfuscated longitude/latitude of Chinese web maps (not an EPSG
    /// CRS; see [`gcj02`]).
    Gcj02,
    /// A local metric east/north frame (see [`LocalFrame`]).
    Local(LocalFrame),
    /// Another EPSG code of the EPSG database bundled with proj4rs (projected,
    /// geographic or compound; the vertical part of a compound code is not
    /// converted). Built by parsing `EPSG:n` in builds without the `proj`
    /// feature; [`Crs::epsg_database`] builds it in any build.
    Epsg(u16),
    /// Any CRS the system PROJ library knows: `EPSG:2385`, a PROJ string,
    /// WKT, ... (feature `proj`, native only).
    #[cfg(all(feature = "proj", not(target_arch = "wasm32")))]
    Proj(String),
}

impl Crs {
    /// Whether coordinates are longitude/latitude degrees (as opposed to
    /// projected metres).
    ///
    /// For `Crs::Proj` this is a best guess from the definition (PROJ strings
    /// with `+proj=longlat` and EPSG codes of geographic CRSs are recognised);
    /// it says `false` when unsure.
    pub fn is_geographic(&self) -> bool {
        match self {
            Crs::Wgs84 | Crs::Cgcs2000 | Crs::Gcj02 => true,
            Crs::WebMercator | Crs::Utm { .. } | Crs::Local(_) => false,
            Crs::Epsg(code) => proj4rs::Proj::from_epsg_code(*code)
                .map(|p| p.is_latlong())
                .unwrap_or(false),
            #[cfg(all(feature = "proj", not(target_arch = "wasm32")))]
            Crs::Proj(def) => proj4rs::Proj::from_user_string(def)
                .map(|p| p.is_latlong())
                .unwrap_or(false),
        }
    }

    /// Metres per unit of a projected CRS's coordinates (0.3048 for a CRS in feet,
    /// 1 for most); `None` for a geographic CRS or a definition twin cannot read.
    /// The conversions of [`Transformer`] take and give coordinates in these units.
    pub fn metres_per_unit(&self) -> Option<f64> {
        if self.is_geographic() {
            return None;
        }
        match self {
            Crs::WebMercator | Crs::Utm { .. } | Crs::Local(_) => Some(1.0),
            Crs::Epsg(code) => proj4rs::Proj::from_epsg_code(*code)
                .ok()
                .map(|p| p.to_meter()),
            #[cfg(all(feature = "proj", not(target_arch = "wasm32")))]
            Crs::Proj(def) => proj4rs::Proj::from_user_string(def)
                .ok()
                .map(|p| p.to_meter()),
            Crs::Wgs84 | Crs::Cgcs2000 | Crs::Gcj02 => None,
        }
        .filter(|m| m.is_finite() && *m > 0.0)
    }

    /// The EPSG code, for the CRSs that have one built in.
    pub fn epsg(&self) -> Option<u32> {
        match *self {
            Crs::Wgs84 => Some(4326),
            Crs::Cgcs2000 => Some(4490),
            Crs::WebMercator => Some(3857),
            Crs::Utm { zone, north } if (1..=60).contains(&zone) => {
                Some(if north { 32600 } else { 32700 } + u32::from(zone))
            }
            Crs::Epsg(code) => Some(u32::from(code)),
            _ => None,
        }
    }

    /// The CRS of EPSG code `code` from the EPSG database bundled with
    /// proj4rs, converted by pure-Rust code in every build (also with the
    /// `proj` feature, where parsing `EPSG:n` hands the code to PROJ).
    ///
    /// Built-in codes give the built-in variant (`4326` gives [`Crs::Wgs84`]).
    /// Fails with [`CrsError::Unsupported`] for a code the database does not
    /// hold.
    ///
    /// ```
    /// use twin_core::crs::Crs;
    ///
    /// let bng = Crs::epsg_database(27700).unwrap();
    /// assert_eq!(bng, Crs::Epsg(27700));
    /// assert!(!bng.is_geographic());
    /// assert_eq!(Crs::epsg_database(32651).unwrap(), Crs::Utm { zone: 51, north: true });
    /// ```
    pub fn epsg_database(code: u32) -> Result<Crs, CrsError> {
        if let Some(builtin) = builtin_code(code) {
            return Ok(builtin);
        }
        database_code(code).ok_or_else(|| CrsError::Unsupported {
            input: format!("EPSG:{code}"),
            reason: "the EPSG database bundled with twin (proj4rs) does not hold this code".into(),
        })
    }

    /// Checks the parameters of a value built in code (UTM zone in 1..=60,
    /// finite local origin); parsed values are always valid.
    pub fn validate(&self) -> Result<(), CrsError> {
        match self {
            Crs::Utm { zone, .. } if !(1..=60).contains(zone) => Err(CrsError::Invalid {
                input: format!("{self:?}"),
                reason: format!("UTM zone {zone} is not in 1..=60"),
            }),
            Crs::Local(f) => {
                LocalFrame::try_new(f.origin_lon(), f.origin_lat(), f.origin_height()).map(|_| ())
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Crs::Wgs84 => f.write_str("EPSG:4326"),
            Crs::Cgcs2000 => f.write_str("EPSG:4490"),
            Crs::WebMercator => f.write_str("EPSG:3857"),
            Crs::Utm { zone, north } => {
                write!(f, "EPSG:{}{zone:02}", if *north { 326 } else { 327 })
            }
            Crs::Gcj02 => f.write_str("GCJ02"),
            Crs::Local(l) => write!(
                f,
                "LOCAL({},{},{})",
                l.origin_lon(),
                l.origin_lat(),
                l.origin_height()
            ),
            Crs::Epsg(code) => write!(f, "EPSG:{code}"),
            #[cfg(all(feature = "proj", not(target_arch = "wasm32")))]
            Crs::Proj(def) => f.write_str(def),
        }
    }
}

/// What the built-in CRSs are, for error messages.
#[cfg(not(all(feature = "proj", not(target_arch = "wasm32"))))]
const BUILT_IN: &str = "this build knows EPSG:4326 (WGS84), EPSG:4490 (CGCS2000), \
     EPSG:3857, EPSG:326zz/327zz (UTM), GCJ02, LOCAL(lon,lat,height) and the codes of the \
     EPSG database bundled with proj4rs";

impl FromStr for Crs {
    type Err = CrsError;

    /// Parses a CRS name, case-insensitively and ignoring surrounding spaces:
    ///
    /// * `EPSG:4326`, `4326`, `WGS84`, `WGS 84`, `CRS84`, `OGC:CRS84`,
    ///   `urn:ogc:def:crs:EPSG::4326`, `urn:ogc:def:crs:OGC:1.3:CRS84` → [`Crs::Wgs84`]
    /// * `EPSG:4490`, `CGCS2000` → [`Crs::Cgcs2000`]
    /// * `EPSG:3857`, `EPSG:900913` → [`Crs::WebMercator`]
    /// * `EPSG:32601`..`EPSG:32660`, `EPSG:32701`..`EPSG:32760` → [`Crs::Utm`]
    /// * `GCJ02`, `GCJ-02` → [`Crs::Gcj02`]
    /// * `LOCAL(lon,lat)` or `LOCAL(lon,lat,height)` → [`Crs::Local`]
    ///
    /// Anything else (another EPSG code, a PROJ string, WKT) becomes
    /// `Crs::Proj` when the `proj` feature is enabled and PROJ accepts it
    /// (else [`CrsError::Invalid`]). Without the feature another EPSG code of
    /// the bundled database is a [`Crs::Epsg`] and the rest is
    /// [`CrsError::Unsupported`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.is_empty() {
            return Err(CrsError::Invalid {
                input: s.to_owned(),
                reason: "empty CRS name".into(),
            });
        }
        let up = t.to_ascii_uppercase();
        match up.as_str() {
            "WGS84"
            | "WGS 84"
            | "WGS-84"
            | "CRS84"
            | "OGC:CRS84"
            | "URN:OGC:DEF:CRS:OGC:1.3:CRS84"
            | "URN:OGC:DEF:CRS:OGC::CRS84" => return Ok(Crs::Wgs84),
            "CGCS2000" | "CGCS 2000" => return Ok(Crs::Cgcs2000),
            "GCJ02" | "GCJ-02" | "GCJ_02" => return Ok(Crs::Gcj02),
            _ => {}
        }
        if let Some(args) = up.strip_prefix("LOCAL(").and_then(|r| r.strip_suffix(')')) {
            return parse_local(t, args);
        }
        // OGC's URLs: http(s)://www.opengis.net/def/crs/EPSG/0/<code> and …/OGC/1.3/CRS84.
        let url = up
            .strip_prefix("HTTPS://")
            .or_else(|| up.strip_prefix("HTTP://"))
            .and_then(|r| r.strip_prefix("WWW.OPENGIS.NET/DEF/CRS/"));
        if let Some(rest) = url {
            if rest.starts_with("OGC/") && rest.ends_with("/CRS84") {
                return Ok(Crs::Wgs84);
            }
            if let Some(code) = rest
                .strip_prefix("EPSG/")
                .and_then(|r| r.rsplit('/').next())
            {
                return format!("EPSG:{code}").parse();
            }
        }
        let code = if let Some(c) = up.strip_prefix("EPSG:") {
            Some(c.trim())
        } else if let Some(c) = up.strip_prefix("URN:OGC:DEF:CRS:EPSG:") {
            // urn:ogc:def:crs:EPSG:<version>:<code>, the version may be empty.
            c.rsplit(':').next()
        } else if up.bytes().all(|b| b.is_ascii_digit()) {
            Some(up.as_str())
        } else {
            None
        };
        let Some(code) = code else {
            return other(t.to_owned(), t);
        };
        let Ok(code) = code.parse::<u32>() else {
            return Err(CrsError::Invalid {
                input: t.to_owned(),
                reason: "an EPSG code must be a number".into(),
            });
        };
        match builtin_code(code) {
            Some(crs) => Ok(crs),
            None => other_code(code, t),
        }
    }
}

/// The built-in CRS of an EPSG code.
fn builtin_code(code: u32) -> Option<Crs> {
    match code {
        4326 => Some(Crs::Wgs84),
        4490 => Some(Crs::Cgcs2000),
        3857 | 900913 => Some(Crs::WebMercator),
        32601..=32660 => Some(Crs::Utm {
            zone: utm_zone(code - 32600),
            north: true,
        }),
        32701..=32760 => Some(Crs::Utm {
            zone: utm_zone(code - 32700),
            north: false,
        }),
        _ => None,
    }
}

/// A code of the EPSG database bundled with proj4rs, if it holds it.
fn database_code(code: u32) -> Option<Crs> {
    let code = u16::try_from(code).ok()?;
    proj4rs::Proj::from_epsg_code(code)
        .is_ok()
        .then_some(Crs::Epsg(code))
}

/// An EPSG code that is not built in: PROJ's when the feature is on.
#[cfg(all(feature = "proj", not(target_arch = "wasm32")))]
fn other_code(code: u32, input: &str) -> Result<Crs, CrsError> {
    other(format!("EPSG:{code}"), input)
}

/// An EPSG code that is not built in: the bundled database's.
#[cfg(not(all(feature = "proj", not(target_arch = "wasm32"))))]
fn other_code(code: u32, input: &str) -> Result<Crs, CrsError> {
    database_code(code).map_or_else(|| other(format!("EPSG:{code}"), input), Ok)
}

/// A UTM zone number known to be in 1..=60.
fn utm_zone(z: u32) -> u8 {
    u8::try_from(z).unwrap_or(0)
}

/// Parses the arguments of `LOCAL(lon,lat[,height])`.
fn parse_local(input: &str, args: &str) -> Result<Crs, CrsError> {
    let invalid = |reason: &str| CrsError::Invalid {
        input: input.to_owned(),
        reason: reason.to_owned(),
    };
    let mut values = [0.0_f64; 3];
    let mut count = 0;
    for part in args.split(',') {
        if count == 3 {
            return Err(invalid("LOCAL takes lon,lat or lon,lat,height"));
        }
        values[count] = part
            .trim()
            .parse::<f64>()
            .map_err(|_| invalid("LOCAL arguments must be numbers: LOCAL(lon,lat,height)"))?;
        count += 1;
    }
    if count < 2 {
        return Err(invalid("LOCAL takes lon,lat or lon,lat,height"));
    }
    LocalFrame::try_new(values[0], values[1], values[2])
        .map(Crs::Local)
        .map_err(|e| match e {
            CrsError::Invalid { reason, .. } => invalid(&reason),
            other => other,
        })
}

/// A CRS that is not built in: handed to PROJ when available.
#[cfg(all(feature = "proj", not(target_arch = "wasm32")))]
fn other(definition: String, input: &str) -> Result<Crs, CrsError> {
    match proj_backend::ProjOp::new("EPSG:4326", &definition) {
        Ok(_) => Ok(Crs::Proj(definition)),
        Err(reason) => Err(CrsError::Invalid {
            input: input.to_owned(),
            reason: format!("PROJ cannot use it: {reason}"),
        }),
    }
}

/// A CRS that is not built in: refused without the `proj` feature.
#[cfg(not(all(feature = "proj", not(target_arch = "wasm32"))))]
fn other(_definition: String, input: &str) -> Result<Crs, CrsError> {
    Err(CrsError::Unsupported {
        input: input.to_owned(),
        reason: format!(
            "{BUILT_IN}; build twin-core with the `proj` feature (native only, links the \
             system PROJ library) to use other EPSG codes or PROJ strings"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_names() {
        for s in [
            "EPSG:4326",
            "epsg:4326",
            "4326",
            " WGS84 ",
            "wgs 84",
            "CRS84",
        ] {
            assert_eq!(s.parse::<Crs>().unwrap(), Crs::Wgs84, "{s}");
        }
        assert_eq!(
            "urn:ogc:def:crs:EPSG::4326".parse::<Crs>().unwrap(),
            Crs::Wgs84
        );
        assert_eq!(
            "urn:ogc:def:crs:OGC:1.3:CRS84".parse::<Crs>().unwrap(),
            Crs::Wgs84
        );
        for s in ["CGCS2000", "EPSG:4490", "4490"] {
            assert_eq!(s.parse::<Crs>().unwrap(), Crs::Cgcs2000, "{s}");
        }
        assert_eq!("EPSG:3857".parse::<Crs>().unwrap(), Crs::WebMercator);
        for url in [
            "https://www.opengis.net/def/crs/EPSG/0/3857",
            "http://www.opengis.net/def/crs/EPSG/0/3857",
            "urn:ogc:def:crs:EPSG::3857",
        ] {
            assert_eq!(url.parse::<Crs>().unwrap(), Crs::WebMercator, "{url}");
        }
        assert_eq!(
            "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
                .parse::<Crs>()
                .unwrap(),
            Crs::Wgs84
        );
        assert_eq!(
            "EPSG:32651".parse::<Crs>().unwrap(),
            Crs::Utm {
                zone: 51,
                north: true
            }
        );
        assert_eq!(
            "EPSG:32701".parse::<Crs>().unwrap(),
            Crs::Utm {
                zone: 1,
                north: false
            }
        );
        for s in ["GCJ02", "gcj-02", "GCJ_02"] {
            assert_eq!(s.parse::<Crs>().unwrap(), Crs::Gcj02, "{s}");
        }
        assert_eq!(
            "LOCAL(121.6, 31.5)".parse::<Crs>().unwrap(),
            Crs::Local(LocalFrame::chongming())
        );
    }

    #[test]
    fn parse_errors() {
        assert!(matches!("".parse::<Crs>(), Err(CrsError::Invalid { .. })));
        assert!(matches!(
            "EPSG:abc".parse::<Crs>(),
            Err(CrsError::Invalid { .. })
        ));
        assert!(matches!(
            "LOCAL(1,2,3,4)".parse::<Crs>(),
            Err(CrsError::Invalid { .. })
        ));
        assert!(matches!(
            "LOCAL(1,95)".parse::<Crs>(),
            Err(CrsError::Invalid { .. })
        ));
        assert!(matches!(
            "LOCAL(x,1)".parse::<Crs>(),
            Err(CrsError::Invalid { .. })
        ));
        assert!(matches!(
            "LOCAL(NaN,1)".parse::<Crs>(),
            Err(CrsError::Invalid { .. })
        ));
    }

    #[cfg(not(all(feature = "proj", not(target_arch = "wasm32"))))]
    #[test]
    fn other_codes_unsupported_without_proj() {
        for s in ["EPSG:99999", "EPSG:4000000", "+proj=merc +datum=WGS84"] {
            let e = s.parse::<Crs>().unwrap_err();
            assert!(matches!(e, CrsError::Unsupported { .. }), "{s}: {e:?}");
            assert!(e.to_string().contains("`proj` feature"), "{e}");
        }
    }

    #[test]
    fn display_round_trips() {
        let all = [
            Crs::Wgs84,
            Crs::Cgcs2000,
            Crs::WebMercator,
            Crs::Utm {
                zone: 51,
                north: true,
            },
            Crs::Utm {
                zone: 7,
                north: false,
            },
            Crs::Gcj02,
            Crs::Local(LocalFrame::new(121.612_345_678_9, 31.498_765_432_1, -4.25)),
        ];
        for c in all {
            let s = c.to_string();
            assert_eq!(s.parse::<Crs>().unwrap(), c, "{s}");
        }
        assert_eq!(
            Crs::Utm {
                zone: 7,
                north: false
            }
            .to_string(),
            "EPSG:32707"
        );
        assert_eq!(Crs::Gcj02.to_string(), "GCJ02");
    }

    #[test]
    fn geographic_and_epsg() {
        assert!(Crs::Wgs84.is_geographic());
        assert!(Crs::Cgcs2000.is_geographic());
        assert!(Crs::Gcj02.is_geographic());
        assert!(!Crs::WebMercator.is_geographic());
        assert!(
            !Crs::Utm {
                zone: 51,
                north: true
            }
            .is_geographic()
        );
        assert!(!Crs::Local(LocalFrame::chongming()).is_geographic());
        assert_eq!(
            Crs::Utm {
                zone: 51,
                north: true
            }
            .epsg(),
            Some(32651)
        );
        assert_eq!(
            Crs::Utm {
                zone: 0,
                north: true
            }
            .epsg(),
            None
        );
        assert_eq!(Crs::Gcj02.epsg(), None);
    }
}
