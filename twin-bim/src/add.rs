//! Adding a model to a twin that is already loaded (the bundled island, a city's
//! files): the model's elements and its rooms' sensors go in whole or not at all, and
//! a model stood on a building of the twin (`--place @ID`) takes the place of that
//! building's extruded block.
//!
//! The `twin` command and the desktop viewer both add models through [`add_to_twin`],
//! so `--bim FILE.ifc --place …` means the same in each.

use std::path::Path;

use geo::{Centroid, MinimumRotatedRect};
use twin_core::{AssetKind, Handle, LoadMode, PropValue, Twin, Vertical};

use crate::{BimError, Model, Place, ReadOptions};

/// Where a model added to a twin stands: as [`ReadOptions::place`] says, or on one of
/// the twin's assets.
#[derive(Clone, Debug, PartialEq)]
pub enum Standing {
    /// Where the file says (IfcMapConversion, IfcSite).
    AsTheFileSays,
    /// At a point the user gives.
    At(Place),
    /// On the asset with this id (a building's plot): the model's middle at the centre
    /// of the asset's footprint, on its base, its +X along the footprint's long side
    /// unless a heading is given. The asset is drawn flat and names the model's
    /// building(s) in its `bim_building` property.
    On {
        /// The asset's id.
        id: String,
        /// Bearing of the model's +Y, degrees from north; `None`: lined up with the
        /// plot.
        heading: Option<f64>,
    },
}

impl Standing {
    /// Reads `--place`: `LON,LAT[,HEADING[,BASE]]` or `@ID[,HEADING]`.
    pub fn parse(text: &str) -> Result<Standing, String> {
        let Some(rest) = text.strip_prefix('@') else {
            return Place::parse(text).map(Standing::At);
        };
        let (id, heading) = match rest.split_once(',') {
            Some((id, h)) => (
                id,
                Some(
                    h.trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|h| h.is_finite())
                        .ok_or_else(|| format!("--place {text}: heading `{h}` is not a number"))?,
                ),
            ),
            None => (rest, None),
        };
        if id.trim().is_empty() {
            return Err(format!("--place {text}: give an asset id after @"));
        }
        Ok(Standing::On {
            id: id.trim().to_string(),
            heading,
        })
    }
}

/// What [`add_to_twin`] added.
#[derive(Debug)]
pub struct Added {
    /// The file's schema.
    pub schema: String,
    /// Elements of the model added.
    pub elements: usize,
    /// Sensors added: the rooms' ([`crate::room_sensors`]) and the buildings' meters
    /// ([`crate::sensors::building_meters`]).
    pub sensors: usize,
    /// Where the placement came from.
    pub placed_by: crate::PlacedBy,
}

/// Reads the building model at `path` (IFC, or glTF: [`crate::read_model`]) and adds
/// its elements, its rooms' sensors and its buildings' meters to
/// `twin`, placed as `standing` says (`crs` for an IfcMapConversion the file leaves
/// unnamed). A model that cannot be read or whose assets clash with the twin's (an id
/// already there) changes nothing.
pub fn add_to_twin(
    twin: &mut Twin,
    path: &Path,
    standing: &Standing,
    crs: Option<&twin_core::crs::Crs>,
) -> Result<Added, BimError> {
    let file = path.display().to_string();
    add_with(twin, &file, standing, crs, |options| {
        crate::read_model(path, options)
    })
}

/// [`add_to_twin`] for a model's bytes ([`crate::read_model_bytes`]): what a web page
/// or a screen of a served twin adds. The same bytes, name's extension and standing
/// give the same assets with the same ids in the same order as [`add_to_twin`] of the
/// file, so the twins' fingerprints agree.
pub fn add_bytes_to_twin(
    twin: &mut Twin,
    file: &str,
    bytes: &[u8],
    standing: &Standing,
    crs: Option<&twin_core::crs::Crs>,
) -> Result<Added, BimError> {
    add_with(twin, file, standing, crs, |options| {
        crate::read_model_bytes(bytes, file, options)
    })
}

fn add_with(
    twin: &mut Twin,
    file: &str,
    standing: &Standing,
    crs: Option<&twin_core::crs::Crs>,
    read: impl FnOnce(&ReadOptions) -> Result<Model, BimError>,
) -> Result<Added, BimError> {
    let file = file.to_string();
    let bad = |message: String| BimError::Model {
        file: file.clone(),
        message,
    };
    let (place, on) = match standing {
        Standing::AsTheFileSays => (None, None),
        Standing::At(p) => (Some(*p), None),
        Standing::On { id, heading } => {
            let h = twin
                .handle(id)
                .ok_or_else(|| bad(format!("--place @{id}: no asset `{id}` in the twin")))?;
            let asset = twin
                .get(h)
                .ok_or_else(|| bad(format!("--place @{id}: no asset `{id}` in the twin")))?;
            let c = asset
                .geometry
                .centroid()
                .ok_or_else(|| bad(format!("--place @{id}: `{id}` has no centre")))?;
            let place = Place {
                lon: c.x(),
                lat: c.y(),
                heading: heading.unwrap_or_else(|| plot_heading(twin, h)),
                base: asset.vertical.base,
            };
            (Some(place), Some(h))
        }
    };
    let options = ReadOptions {
        place,
        crs: crs.cloned(),
        centred: on.is_some(),
    };
    let Model {
        assets,
        schema,
        placed_by,
        ..
    } = read(&options)?;
    let elements = assets.len();
    let buildings: Vec<String> = assets
        .iter()
        .flatten()
        .filter(|a| a.kind == AssetKind::Building)
        .map(|a| a.id.to_string())
        .collect();
    let mut assets = with_room_sensors(assets);
    // A plot with an energy meter of its own keeps it as the building's meter: the
    // model's generated one would count the building's energy twice in its town.
    if let Some(plot) = on {
        let metered = twin.iter().any(|(h, a)| {
            a.kind == AssetKind::Sensor(twin_core::SensorType::BuildingEnergy)
                && twin.attached_to(h) == Some(plot)
        });
        if metered {
            assets.retain(|a| {
                a.as_ref().map_or(true, |a| {
                    a.properties.get("generated").and_then(|g| g.as_str()) != Some("building meter")
                })
            });
        }
    }
    let n_sensors = assets.len() - elements;
    twin.insert_read(assets, LoadMode::Strict)
        .map_err(|e| bad(e.to_string()))?;
    if let Some(h) = on
        && let Some(v) = twin.get(h).map(|a| a.vertical)
    {
        let flat = Vertical { height: 0.0, ..v };
        let names = PropValue::Str(buildings.join(","));
        twin.set_vertical(h, flat, [("bim_building".to_string(), names)])
            .map_err(|e| bad(e.to_string()))?;
        let model = buildings.first().and_then(|b| twin.handle(b));
        beside_the_model(twin, h, model);
    }
    Ok(Added {
        schema,
        elements,
        sensors: n_sensors,
        placed_by,
    })
}

/// The plot's own sensors (the island's energy meter of the block the model now
/// stands for) were in the middle of the block, at its height: inside the model's
/// rooms. Each goes to the ground at the first corner of the plot (1 m in from it)
/// that is outside the model's footprint, as a meter on the plot outside the house; a
/// plot with no such corner leaves them where they are.
fn beside_the_model(twin: &mut Twin, plot: Handle, model: Option<Handle>) {
    use geo::{Contains, Point};
    let (Some(p), Some(m)) = (twin.get(plot), model.and_then(|m| twin.get(m))) else {
        return;
    };
    let (geo::Geometry::Polygon(ring), Some(c)) = (&p.geometry, p.geometry.centroid()) else {
        return;
    };
    let frame = twin.frame();
    let (cx, cy) = frame.to_local(c.x(), c.y());
    let base = p.vertical.base;
    let spot = ring.exterior().points().find_map(|q| {
        let (x, y) = frame.to_local(q.x(), q.y());
        let d = (x - cx).hypot(y - cy);
        if d < 2.0 {
            return None;
        }
        let (x, y) = (x - (x - cx) / d, y - (y - cy) / d);
        let (lon, lat) = frame.to_geographic(x, y);
        let at = Point::new(lon, lat);
        (!m.geometry.contains(&at)).then_some(at)
    });
    let Some(spot) = spot else {
        return;
    };
    let meters: Vec<Handle> = twin
        .iter()
        .filter(|(h, a)| {
            twin.attached_to(*h) == Some(plot)
                && matches!(a.kind, AssetKind::Sensor(_))
                && matches!(a.geometry, geo::Geometry::Point(_))
        })
        .map(|(h, _)| h)
        .collect();
    for h in meters {
        let Some(v) = twin.get(h).map(|a| a.vertical) else {
            continue;
        };
        if twin.move_asset(h, geo::Geometry::Point(spot)).is_ok() {
            let _ = twin.set_vertical(h, Vertical { base, ..v }, []);
        }
    }
}

/// A model's assets and, after them, a thermometer, a CO₂ sensor and an occupancy
/// counter for each of its rooms ([`crate::room_sensors`]) and an energy meter for
/// each building ([`crate::sensors::building_meters`]).
pub fn with_room_sensors(mut read: twin_core::load::ReadResult) -> twin_core::load::ReadResult {
    // Read beside the model's assets, not cloned from them (shells are megabytes).
    let sensors = crate::room_sensors(read.iter().flatten());
    let mut assets: Vec<&mut twin_core::Asset> = read.iter_mut().flatten().collect();
    let meters = crate::sensors::building_meters(&mut assets);
    read.extend(sensors.into_iter().chain(meters).map(Ok));
    read
}

/// The heading that lines a model up with a plot: its +X along the long side of the
/// smallest rectangle around the plot's footprint (in the twin's local metres), as
/// a bearing of +Y from north in [0, 180).
fn plot_heading(twin: &Twin, h: Handle) -> f64 {
    let Some(rect) = twin
        .local_geometry(h)
        .and_then(|g| g.minimum_rotated_rect())
    else {
        return 0.0;
    };
    let p = &rect.exterior().0;
    if p.len() < 3 {
        return 0.0;
    }
    let (a, b) = (
        (p[1].x - p[0].x, p[1].y - p[0].y),
        (p[2].x - p[1].x, p[2].y - p[1].y),
    );
    let long = if a.0.hypot(a.1) >= b.0.hypot(b.1) {
        a
    } else {
        b
    };
    // +X along `long` (east, north): +Y is 90° counter-clockwise of it; its bearing
    // from north, clockwise.
    let y = (-long.1, long.0);
    y.0.atan2(y.1).to_degrees().rem_euclid(180.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standing_reads_a_point_or_an_asset() {
        assert_eq!(
            Standing::parse("@CM-BLD-1").unwrap(),
            Standing::On {
                id: "CM-BLD-1".into(),
                heading: None
            }
        );
        assert_eq!(
            Standing::parse("@CM-BLD-1,30").unwrap(),
            Standing::On {
                id: "CM-BLD-1".into(),
                heading: Some(30.0)
            }
        );
        assert!(Standing::parse("@CM-BLD-1,x").unwrap_err().contains("`x`"));
        assert!(Standing::parse("@").is_err());
        assert!(matches!(
            Standing::parse("121.5,31.6").unwrap(),
            Standing::At(_)
        ));
    }

    #[test]
    fn a_plot_lines_the_model_up_with_its_long_side() {
        use twin_core::{Asset, crs::LocalFrame};
        let frame = LocalFrame::new(121.4, 31.6, 0.0);
        let mut twin = Twin::new(frame);
        // A 20 m × 8 m plot whose long side runs north-east (bearing 45°).
        let (s, c) = (
            std::f64::consts::FRAC_PI_4.sin(),
            std::f64::consts::FRAC_PI_4.cos(),
        );
        let corner = |x: f64, y: f64| frame.to_geographic(x * s - y * c, x * c + y * s);
        let ring: Vec<(f64, f64)> = [(0.0, 0.0), (20.0, 0.0), (20.0, 8.0), (0.0, 8.0), (0.0, 0.0)]
            .iter()
            .map(|&(x, y)| corner(x, y))
            .collect();
        let h = twin
            .insert(Asset::new(
                "PLOT",
                AssetKind::Building,
                geo::Geometry::Polygon(geo::Polygon::new(ring.into(), vec![])),
            ))
            .unwrap();
        // +X along the long side (bearing 45°) puts +Y at bearing 315°, i.e. 135°
        // in [0, 180).
        let heading = plot_heading(&twin, h);
        assert!((heading - 135.0).abs() < 0.5, "{heading}");
    }
}
