//! Point facilities: 5G base stations, garbage stations and EV chargers.

use geo_types::{Coord, Geometry, Point};

use super::land::Land;
use super::lots::{FIELD, FREE, Lots, TAKEN};
use super::places::{AreaAsset, SEAT_SIGMA};
use super::rng::Rng;
use super::{Out, synth_error};
use twin_core::LoadError;
use twin_core::Vertical;
use twin_core::{AssetKind, ZLevel};

/// 5G base stations at scale 1.
pub(crate) const STATIONS_5G: f64 = 1823.0;
/// EV chargers at scale 1.
pub(crate) const CHARGERS: f64 = 2000.0;

/// A generated point asset kept for the later layers.
#[derive(Clone, Debug)]
pub(crate) struct PointAsset {
    /// Asset id.
    pub(crate) id: String,
    /// Position, local frame.
    pub(crate) p: Coord<f64>,
}

/// The centre of the lot holding `p` when it is free (or a field) and on town land.
fn site(land: &Land, lots: &Lots, p: Coord<f64>) -> Option<(usize, (i64, i64), Coord<f64>)> {
    let lot = Lots::lot_of(p);
    if !matches!(lots.get(lot), FREE | FIELD) {
        return None;
    }
    let c = Lots::lot_box(lot).centre();
    land.town_at(c).map(|t| (t, lot, c))
}

/// `1823 × scale` 5G stations: 60% around the seats (by town weight), 40% uniform.
pub(crate) fn stations_5g(
    land: &Land,
    lots: &mut Lots,
    out: &mut Out,
    seed: u64,
    scale: f64,
) -> Result<Vec<PointAsset>, LoadError> {
    const OPERATORS: [&str; 3] = ["China Mobile", "China Unicom", "China Telecom"];
    let mut rng = Rng::stream(seed, "stations_5g");
    let total = (STATIONS_5G * scale).round() as usize;
    let near = (total as f64 * 0.6).round() as usize;
    let weights: Vec<f64> = land.towns.iter().map(|t| t.weight).collect();
    let mut result = Vec::with_capacity(total);
    for k in 0..total {
        let mut found = None;
        if k < near {
            let town = &land.towns[rng.weighted(&weights)];
            let sigma = 1.5 * SEAT_SIGMA * town.weight.sqrt() * scale.sqrt();
            for _ in 0..50 {
                let p = Coord {
                    x: town.seat.x + sigma * rng.normal(),
                    y: town.seat.y + sigma * rng.normal(),
                };
                if let Some(s) = site(land, lots, p) {
                    found = Some(s);
                    break;
                }
            }
        }
        if found.is_none() {
            for _ in 0..50 {
                let Some((_, p)) = land.random_point(&mut rng) else {
                    break;
                };
                if let Some(s) = site(land, lots, p) {
                    found = Some(s);
                    break;
                }
            }
        }
        let (lot, p) = match found {
            Some((_, lot, p)) => (Some(lot), p),
            None => match land.random_point(&mut rng) {
                Some((_, p)) => (None, p),
                None => return Err(synth_error("no town land for 5G stations")),
            },
        };
        if let Some(lot) = lot {
            lots.set(lot, TAKEN);
        }
        let id = format!("CM-5G-{:04}", k + 1);
        let a = out.push(
            "stations_5g",
            id.clone(),
            AssetKind::Station5g,
            Geometry::Point(Point(p)),
        );
        a.vertical = Vertical {
            base: 0.0,
            height: 30.0,
            z_level: ZLevel::Ground,
        };
        a.properties.insert(
            "operator".into(),
            OPERATORS[rng.below(OPERATORS.len())].into(),
        );
        a.properties.insert(
            "placement".into(),
            if k < near { "seat" } else { "uniform" }.into(),
        );
        result.push(PointAsset { id, p });
    }
    Ok(result)
}

/// Garbage transfer stations: one per town, a second one in Chengqiao, Baozhen and
/// Changxing (21 for the 18 towns).
pub(crate) fn garbage(
    land: &Land,
    lots: &mut Lots,
    out: &mut Out,
    seed: u64,
) -> Result<(), LoadError> {
    let mut rng = Rng::stream(seed, "garbage");
    let mut n = 0;
    for (t, town) in land.towns.iter().enumerate() {
        let copies = match town.id.as_str() {
            "CM-TOWN-CHENGQIAO" | "CM-TOWN-BAOZHEN" | "CM-TOWN-CHANGXING" => 2,
            _ => 1,
        };
        for copy in 0..copies {
            let mut found = None;
            for _ in 0..200 {
                let p = Coord {
                    x: town.seat.x + 2000.0 * rng.normal(),
                    y: town.seat.y + 2000.0 * rng.normal(),
                };
                if let Some((tt, lot, c)) = site(land, lots, p)
                    && tt == t
                {
                    lots.set(lot, TAKEN);
                    found = Some(c);
                    break;
                }
            }
            if found.is_none() {
                let b = town.bbox;
                found = (0..10_000).find_map(|_| {
                    let p = Coord {
                        x: rng.range(b.min.x, b.max.x),
                        y: rng.range(b.min.y, b.max.y),
                    };
                    (land.town_at(p) == Some(t)).then_some(p)
                });
            }
            let p = found.ok_or_else(|| {
                synth_error(format!("no site for a garbage station in {}", town.id))
            })?;
            n += 1;
            let a = out.push(
                "garbage_stations",
                format!("CM-GBG-{n:02}"),
                AssetKind::GarbageStation,
                Geometry::Point(Point(p)),
            );
            a.name_en = Some(if copy == 0 {
                format!("{} refuse transfer station", town.name_en)
            } else {
                format!("{} refuse transfer station {}", town.name_en, copy + 1)
            });
        }
    }
    Ok(())
}

/// `2000 × scale` EV chargers, dealt round-robin to the parking lots and set in rows
/// inside them.
pub(crate) fn chargers(
    parking: &[AreaAsset],
    out: &mut Out,
    seed: u64,
    scale: f64,
) -> Result<Vec<PointAsset>, LoadError> {
    let mut rng = Rng::stream(seed, "chargers");
    let total = (CHARGERS * scale).round() as usize;
    if total > 0 && parking.is_empty() {
        return Err(synth_error("no parking lot to put EV chargers in"));
    }
    let mut result = Vec::with_capacity(total);
    for i in 0..total {
        let lot = &parking[i % parking.len()];
        let k = i / parking.len();
        let (col, row) = (k % 8, (k / 8) % 13);
        let p = Coord {
            x: lot.rect.min.x + 2.5 + col as f64 * 5.0,
            y: lot.rect.min.y + 2.5 + row as f64 * 4.5,
        };
        let id = format!("CM-EVC-{:05}", i + 1);
        let a = out.push(
            "ev_chargers",
            id.clone(),
            AssetKind::EvCharger,
            Geometry::Point(Point(p)),
        );
        a.properties
            .insert("parking_lot".into(), lot.id.as_str().into());
        let kw = [7.0, 60.0, 120.0][rng.weighted(&[0.5, 0.35, 0.15])];
        a.properties.insert("power_kw".into(), kw.into());
        result.push(PointAsset { id, p });
    }
    Ok(result)
}
