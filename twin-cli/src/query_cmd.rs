//! `twin query contains|bbox|near|knn|inside|parts`.

use clap::Subcommand;
use twin_core::{Handle, KindFilter, Twin};

use crate::DataArgs;
use crate::out::outln;

/// The spatial questions.
#[derive(Subcommand, Debug, Clone)]
pub enum QueryKind {
    /// Assets whose geometry covers the point.
    Contains {
        /// Longitude (WGS84).
        #[arg(allow_negative_numbers = true)]
        lon: f64,
        /// Latitude (WGS84).
        #[arg(allow_negative_numbers = true)]
        lat: f64,
        /// Keep only this kind (e.g. town, building, sensor, sensor:pm25; comma for several).
        #[arg(long)]
        kind: Option<KindFilter>,
    },
    /// Assets whose lon/lat bounding box intersects the box.
    Bbox {
        /// West longitude.
        #[arg(allow_negative_numbers = true)]
        min_lon: f64,
        /// South latitude.
        #[arg(allow_negative_numbers = true)]
        min_lat: f64,
        /// East longitude.
        #[arg(allow_negative_numbers = true)]
        max_lon: f64,
        /// North latitude.
        #[arg(allow_negative_numbers = true)]
        max_lat: f64,
        /// Keep only this kind.
        #[arg(long)]
        kind: Option<KindFilter>,
    },
    /// Assets within a distance (metres, in the local frame) of the point.
    Near {
        /// Longitude.
        #[arg(allow_negative_numbers = true)]
        lon: f64,
        /// Latitude.
        #[arg(allow_negative_numbers = true)]
        lat: f64,
        /// Distance in metres.
        metres: f64,
        /// Keep only this kind.
        #[arg(long)]
        kind: Option<KindFilter>,
    },
    /// The k assets nearest the point, nearest first, with distances in metres.
    Knn {
        /// Longitude.
        #[arg(allow_negative_numbers = true)]
        lon: f64,
        /// Latitude.
        #[arg(allow_negative_numbers = true)]
        lat: f64,
        /// How many.
        k: usize,
        /// Keep only this kind.
        #[arg(long)]
        kind: Option<KindFilter>,
    },
    /// Assets whose solid holds the 3D point: the room a point is in (`--kind
    /// custom:ifc_space`), the storey, the building. A model's element with a 3D shell
    /// holds the points inside its shell; any other asset its footprint × its base to
    /// its top.
    Inside {
        /// Longitude.
        #[arg(allow_negative_numbers = true)]
        lon: f64,
        /// Latitude.
        #[arg(allow_negative_numbers = true)]
        lat: f64,
        /// Height in metres (the heights the assets' bases and shells use).
        #[arg(allow_negative_numbers = true)]
        height: f64,
        /// Keep only this kind.
        #[arg(long)]
        kind: Option<KindFilter>,
    },
    /// The assets that are part of an asset (whose `part_of` names it): a storey's
    /// rooms and elements; with --all, at any depth (a building's storeys and all
    /// they hold).
    Parts {
        /// The whole's id (an IFC element's GlobalId).
        id: String,
        /// Parts of parts too.
        #[arg(long)]
        all: bool,
        /// Keep only this kind.
        #[arg(long)]
        kind: Option<KindFilter>,
    },
}

fn check_lon_lat(lon: f64, lat: f64) -> anyhow::Result<()> {
    if !lon.is_finite() || !lat.is_finite() || lon.abs() > 180.0 || lat.abs() > 90.0 {
        return Err(anyhow::anyhow!(
            "({lon}, {lat}) is not a WGS84 longitude/latitude"
        ));
    }
    Ok(())
}

/// Runs the query and prints one asset per line.
pub fn run(q: &QueryKind, data: &DataArgs) -> anyhow::Result<()> {
    // Check the arguments before the (slower) load.
    match q {
        QueryKind::Contains { lon, lat, .. }
        | QueryKind::Knn { lon, lat, .. }
        | QueryKind::Near { lon, lat, .. } => check_lon_lat(*lon, *lat)?,
        QueryKind::Inside {
            lon, lat, height, ..
        } => {
            check_lon_lat(*lon, *lat)?;
            if !height.is_finite() {
                anyhow::bail!("inside: height {height} is not a number");
            }
        }
        QueryKind::Parts { .. } => {}
        QueryKind::Bbox {
            min_lon,
            min_lat,
            max_lon,
            max_lat,
            ..
        } => {
            check_lon_lat(*min_lon, *min_lat)?;
            check_lon_lat(*max_lon, *max_lat)?;
            if min_lon > max_lon || min_lat > max_lat {
                anyhow::bail!("bbox: min must not exceed max");
            }
        }
    }
    if let QueryKind::Near { metres, .. } = q
        && !(metres.is_finite() && *metres >= 0.0)
    {
        return Err(anyhow::anyhow!(
            "near: distance {metres} must be a non-negative number"
        ));
    }
    let twin = crate::data::load(data)?;
    let lines: Vec<String> = match q {
        QueryKind::Contains { lon, lat, kind } => {
            rows(&twin, twin.query_containing((*lon, *lat), kind.as_ref()))
        }
        QueryKind::Bbox {
            min_lon,
            min_lat,
            max_lon,
            max_lat,
            kind,
        } => rows(
            &twin,
            twin.query_bbox(
                twin_core::geo_types::Rect::new((*min_lon, *min_lat), (*max_lon, *max_lat)),
                kind.as_ref(),
            ),
        ),
        QueryKind::Near {
            lon,
            lat,
            metres,
            kind,
        } => rows(
            &twin,
            twin.query_within_distance((*lon, *lat), *metres, kind.as_ref()),
        ),
        QueryKind::Knn { lon, lat, k, kind } => twin
            .query_nearest((*lon, *lat), *k, kind.as_ref())
            .into_iter()
            .map(|(h, d)| format!("{}\t{d:.2}", row(&twin, h)))
            .collect(),
        QueryKind::Inside {
            lon,
            lat,
            height,
            kind,
        } => rows(
            &twin,
            twin.query_containing_3d(*lon, *lat, *height, kind.as_ref()),
        ),
        QueryKind::Parts { id, all, kind } => {
            let h = twin
                .handle(id)
                .ok_or_else(|| anyhow::anyhow!("parts: no asset `{id}`"))?;
            let parts = if *all {
                twin.parts_within(h)
            } else {
                twin.parts(h)
            };
            let keep = |p: &Handle| {
                kind.as_ref()
                    .is_none_or(|k| twin.get(*p).is_some_and(|a| k.matches(&a.kind)))
            };
            rows(&twin, parts.into_iter().filter(keep).collect())
        }
    };
    for l in lines {
        outln!("{l}");
    }
    Ok(())
}

fn row(twin: &Twin, h: Handle) -> String {
    match twin.get(h) {
        Some(a) => {
            let name = match (&a.name_zh, &a.name_en) {
                (Some(zh), Some(en)) => format!("{zh} ({en})"),
                (Some(n), None) | (None, Some(n)) => n.clone(),
                (None, None) => String::new(),
            };
            format!("{}\t{}", a.id, name)
        }
        None => format!("{h}"),
    }
}

fn rows(twin: &Twin, hs: Vec<Handle>) -> Vec<String> {
    hs.into_iter().map(|h| row(twin, h)).collect()
}
