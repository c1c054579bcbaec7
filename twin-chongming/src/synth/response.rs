//! What the incident loop sees with and sends: video front-ends (雪亮工程 cameras)
//! along the roads, pumping stations at the ends of the canals, and an emergency
//! response team in every town. Generated after every other layer, so the assets
//! before them keep their handles.

use geo_types::{Coord, Geometry, Point};

use super::land::Land;
use super::network::{LineAsset, Network};
use super::rng::Rng;
use super::{Out, synth_error};
use crate::sim::CAMERA_CHANNELS;
use twin_core::{AssetKind, LoadError, SensorType, Vertical, ZLevel};

/// Cameras at scale 1.
pub(crate) const CAMERAS: f64 = 600.0;
/// The kind of a pumping station.
pub const PUMPING_STATION: &str = "pumping_station";
/// The kind of an emergency response team's base.
pub const RESPONSE_TEAM: &str = "response_team";

/// A point on `line` at `s` metres that is on town land (nudged along the line), or
/// none.
fn on_land(land: &Land, line: &LineAsset, s: f64) -> Option<Coord<f64>> {
    [0.0, 1.0, -1.0, 4.0, -4.0, 16.0, -16.0, 64.0, -64.0]
        .iter()
        .map(|d| line.line.at((s + d).clamp(0.0, line.line.length())))
        .find(|p| land.town_at(*p).is_some())
}

/// `600 × scale` cameras evenly spaced along the roads, each looking along its road
/// (every second one the other way), attached to the road.
pub(crate) fn cameras(
    land: &Land,
    net: &Network,
    out: &mut Out,
    scale: f64,
) -> Result<(), LoadError> {
    let n = (CAMERAS * scale).round() as usize;
    if n == 0 {
        return Ok(());
    }
    let total: f64 = net.roads.iter().map(|l| l.line.length()).sum();
    if total <= 0.0 {
        return Err(synth_error("no road for the cameras"));
    }
    let spacing = total / n as f64;
    let (mut li, mut start) = (0usize, 0.0);
    let mut written = 0;
    for i in 0..n {
        let s = (i as f64 + 0.35) * spacing;
        while li + 1 < net.roads.len() && s >= start + net.roads[li].line.length() {
            start += net.roads[li].line.length();
            li += 1;
        }
        let road = &net.roads[li];
        let local = s - start;
        let Some(p) = on_land(land, road, local) else {
            continue;
        };
        let ahead = road.line.at((local + 5.0).min(road.line.length()));
        let behind = road.line.at((local - 5.0).max(0.0));
        let mut heading = (ahead.x - behind.x).atan2(ahead.y - behind.y).to_degrees();
        if i % 2 == 1 {
            heading += 180.0;
        }
        written += 1;
        let a = out.push(
            "cameras",
            format!("CM-S-CAM-{written:06}"),
            AssetKind::Sensor(SensorType::Camera),
            Geometry::Point(Point(p)),
        );
        a.attached_to = Some(road.id.clone());
        a.vertical = Vertical {
            base: 0.0,
            height: 6.0,
            z_level: ZLevel::Ground,
        };
        let heading = (heading.rem_euclid(360.0) * 10.0).round() / 10.0;
        a.properties.insert("heading_deg".into(), heading.into());
        a.properties.insert("fov_deg".into(), 70.0.into());
        a.properties.insert("range_m".into(), 80.0.into());
        a.properties
            .insert("system".into(), "雪亮工程 public video front-end".into());
        a.properties
            .insert("ai_events".into(), CAMERA_CHANNELS.join(",").into());
    }
    Ok(())
}

/// A pumping station at each end of each canal that reaches town land (the polder's
/// outfalls), with a seeded capacity.
pub(crate) fn pumping_stations(
    land: &Land,
    net: &Network,
    out: &mut Out,
    seed: u64,
) -> Result<(), LoadError> {
    let mut rng = Rng::stream(seed, "pumping_stations");
    let mut n = 0;
    for canal in &net.canals {
        let len = canal.line.length();
        for end in [30.0, len - 30.0] {
            let Some(p) = on_land(land, canal, end.clamp(0.0, len)) else {
                continue;
            };
            n += 1;
            let a = out.push(
                "pumping_stations",
                format!("CM-PMP-{n:04}"),
                AssetKind::Custom(PUMPING_STATION.into()),
                Geometry::Point(Point(p)),
            );
            a.properties
                .insert("canal".into(), canal.id.as_str().into());
            let m3s = (rng.range(4.0, 30.0) * 2.0).round() / 2.0;
            a.properties.insert("capacity_m3_s".into(), m3s.into());
            a.name_en = Some(format!("{} pumping station {}", canal.id, n));
        }
    }
    if n == 0 && !net.canals.is_empty() {
        return Err(synth_error("no pumping station on town land"));
    }
    Ok(())
}

/// An emergency response team at every town's seat (the district's own at
/// Chengqiao's as well).
pub(crate) fn response_teams(land: &Land, out: &mut Out, seed: u64) -> Result<(), LoadError> {
    let mut rng = Rng::stream(seed, "response_teams");
    let mut n = 0;
    for town in &land.towns {
        let district = town.id == "CM-TOWN-CHENGQIAO";
        for k in 0..if district { 2 } else { 1 } {
            n += 1;
            // 150 m off the seat, so the base does not sit on the seat's crossroads.
            let p = Coord {
                x: town.seat.x + 150.0 + 60.0 * k as f64,
                y: town.seat.y + 150.0,
            };
            let p = if land.town_at(p).is_some() {
                p
            } else {
                town.seat
            };
            let a = out.push(
                "response_teams",
                format!("CM-ERT-{n:02}"),
                AssetKind::Custom(RESPONSE_TEAM.into()),
                Geometry::Point(Point(p)),
            );
            a.name_en = Some(if k == 0 {
                format!("{} emergency response team", town.name_en)
            } else {
                "District emergency response team".to_string()
            });
            a.properties
                .insert("staff".into(), (8.0 + rng.below(20) as f64).into());
            a.properties.insert("town".into(), town.id.as_str().into());
        }
    }
    if n == 0 {
        return Err(synth_error("no town for the response teams"));
    }
    Ok(())
}
