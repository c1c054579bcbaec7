//! Places on the land: farm fields, parking lots and buildings, on the 30 m lot grid
//! that keeps them off roads and canals and off each other.

use geo_types::{Coord, Geometry};

use super::geom::{Box2, dist};
use super::land::Land;
use super::lots::{Clearance, FIELD, FREE, LOT, Lots, TAKEN};
use super::network::{Network, grid_half_extent};
use super::rng::Rng;
use super::{Out, synth_error};
use twin_core::LoadError;
use twin_core::Vertical;
use twin_core::{AssetKind, ZLevel};

/// Spacing of the farm-field grid (m).
const FIELD_GRID: f64 = 500.0;
/// Standard deviation of the seat clusters at weight 1 and scale 1 (m).
pub(crate) const SEAT_SIGMA: f64 = 700.0;

/// A generated area asset kept for the later layers.
#[derive(Clone, Debug)]
pub(crate) struct AreaAsset {
    /// Asset id.
    pub(crate) id: String,
    /// Its rectangle, local frame.
    pub(crate) rect: Box2,
    /// For buildings: in a seat cluster (not a village).
    pub(crate) seat: bool,
}

/// Farm fields, parking lots and buildings.
#[derive(Clone, Debug, Default)]
pub(crate) struct Places {
    /// Farm fields.
    pub(crate) fields: Vec<AreaAsset>,
    /// Parking lots.
    pub(crate) lots: Vec<AreaAsset>,
    /// Buildings.
    pub(crate) buildings: Vec<AreaAsset>,
}

/// Farm fields on a 500 m grid, away from seats, roads and canals.
pub(crate) fn fields(
    land: &Land,
    net: &Network,
    lots: &mut Lots,
    out: &mut Out,
    seed: u64,
) -> Vec<AreaAsset> {
    const CROPS: [(&str, f64); 4] = [
        ("rice", 0.40),
        ("wheat", 0.20),
        ("vegetables", 0.25),
        ("orchard", 0.15),
    ];
    let weights: Vec<f64> = CROPS.iter().map(|c| c.1).collect();
    let mut rng = Rng::stream(seed, "fields");
    let clearance = Clearance::new(land, net);
    let b = land.bbox;
    let (i0, i1) = (
        (b.min.x / FIELD_GRID).floor() as i64,
        (b.max.x / FIELD_GRID).floor() as i64,
    );
    let (j0, j1) = (
        (b.min.y / FIELD_GRID).floor() as i64,
        (b.max.y / FIELD_GRID).floor() as i64,
    );
    let mut fields = Vec::new();
    for j in j0..=j1 {
        for i in i0..=i1 {
            let c = Coord {
                x: (i as f64 + 0.5) * FIELD_GRID,
                y: (j as f64 + 0.5) * FIELD_GRID,
            };
            if land.town_at(c).is_none()
                || land
                    .towns
                    .iter()
                    .any(|t| dist(c, t.seat) < 2500.0 * t.weight.sqrt())
            {
                continue;
            }
            let (w, h) = if rng.chance(0.5) {
                (300.0, 150.0)
            } else {
                (150.0, 300.0)
            };
            let c = Coord {
                x: c.x + rng.range(-30.0, 30.0),
                y: c.y + rng.range(-30.0, 30.0),
            };
            let rect = Box2::centred(c, w, h);
            let crop = CROPS[rng.weighted(&weights)].0;
            if land.box_town(&rect).is_none() || !clearance.clear(&rect) {
                continue;
            }
            lots.mark_box(&rect.grown(5.0), FIELD);
            let id = format!("CM-FLD-{:06}", fields.len() + 1);
            let a = out.push(
                "fields",
                id.clone(),
                AssetKind::FarmField,
                Geometry::Polygon(rect.polygon()),
            );
            a.properties.insert("crop".into(), crop.into());
            a.properties.insert("area_m2".into(), (w * h).into());
            fields.push(AreaAsset {
                id,
                rect,
                seat: false,
            });
        }
    }
    fields
}

/// Parking lots (40 × 60 m on 2 × 3 free lots) near the seats, by town weight.
pub(crate) fn parking(
    land: &Land,
    lots: &mut Lots,
    out: &mut Out,
    seed: u64,
    scale: f64,
) -> Vec<AreaAsset> {
    let mut rng = Rng::stream(seed, "parking");
    let total = (400.0 * scale).round() as usize;
    let weights: Vec<f64> = land.towns.iter().map(|t| t.weight).collect();
    let quotas = super::geom::apportion(total, &weights);
    let mut out_lots = Vec::new();
    for (town, quota) in land.towns.iter().zip(quotas) {
        let sigma = SEAT_SIGMA * town.weight.sqrt() * scale.sqrt();
        let (mut placed, mut attempts) = (0, 0);
        while placed < quota && attempts < 50 * quota + 100 {
            attempts += 1;
            let p = Coord {
                x: town.seat.x + sigma * rng.normal(),
                y: town.seat.y + sigma * rng.normal(),
            };
            let (i, j) = Lots::lot_of(p);
            let block: Vec<(i64, i64)> = (0..3)
                .flat_map(|dj| (0..2).map(move |di| (i + di, j + dj)))
                .collect();
            if block.iter().any(|&l| lots.get(l) != FREE) {
                continue;
            }
            let min = Coord {
                x: i as f64 * LOT + 10.0,
                y: j as f64 * LOT + 15.0,
            };
            let rect = Box2 {
                min,
                max: Coord {
                    x: min.x + 40.0,
                    y: min.y + 60.0,
                },
            };
            if land.box_town(&rect).is_none() {
                continue;
            }
            for l in block {
                lots.set(l, TAKEN);
            }
            placed += 1;
            let id = format!("CM-PRK-{:04}", out_lots.len() + 1);
            let a = out.push(
                "parking",
                id.clone(),
                AssetKind::ParkingLot,
                Geometry::Polygon(rect.polygon()),
            );
            a.properties.insert("capacity".into(), 80.0.into());
            out_lots.push(AreaAsset {
                id,
                rect,
                seat: true,
            });
        }
    }
    out_lots
}

/// Properties of one building.
struct Storeys {
    floors: u32,
    use_: &'static str,
}

fn storeys(rng: &mut Rng, tower_town: bool, seat: bool) -> Storeys {
    if tower_town && seat && rng.chance(0.15) {
        let use_ = if rng.chance(0.6) {
            "residential"
        } else {
            "commercial"
        };
        return Storeys {
            floors: rng.int(10, 30),
            use_,
        };
    }
    let uses: [(&str, f64); 4] = if seat {
        [
            ("residential", 0.70),
            ("commercial", 0.15),
            ("public", 0.07),
            ("industrial", 0.08),
        ]
    } else {
        [
            ("residential", 0.90),
            ("commercial", 0.02),
            ("public", 0.03),
            ("industrial", 0.05),
        ]
    };
    let w: Vec<f64> = uses.iter().map(|u| u.1).collect();
    let use_ = uses[rng.weighted(&w)].0;
    let floors = if seat { rng.int(3, 6) } else { rng.int(3, 4) };
    Storeys { floors, use_ }
}

/// Tries to put a building on the lot holding `p`; returns its rectangle.
fn try_building(land: &Land, lots: &mut Lots, rng: &mut Rng, p: Coord<f64>) -> Option<Box2> {
    let lot = Lots::lot_of(p);
    if lots.get(lot) != FREE {
        return None;
    }
    let (w, d) = (rng.range(10.0, 24.0), rng.range(8.0, 16.0));
    let cell = Lots::lot_box(lot);
    let (sx, sy) = ((LOT - w) / 2.0 - 1.0, (LOT - d) / 2.0 - 1.0);
    let c = Coord {
        x: cell.centre().x + rng.range(-sx, sx),
        y: cell.centre().y + rng.range(-sy, sy),
    };
    let rect = Box2::centred(c, w, d);
    land.box_town(&rect)?;
    lots.set(lot, TAKEN);
    Some(rect)
}

/// About `50_000 × scale` buildings: 85% in seat clusters, 15% in villages.
pub(crate) fn buildings(
    land: &Land,
    lots: &mut Lots,
    out: &mut Out,
    seed: u64,
    scale: f64,
) -> Result<Vec<AreaAsset>, LoadError> {
    let mut rng = Rng::stream(seed, "buildings");
    let target = (50_000.0 * scale).round() as usize;
    let seat_total = (target as f64 * 0.85).round() as usize;
    let weights: Vec<f64> = land.towns.iter().map(|t| t.weight).collect();
    let quotas = super::geom::apportion(seat_total, &weights);
    let mut placed: Vec<(AreaAsset, Storeys)> = Vec::with_capacity(target);
    for (town, quota) in land.towns.iter().zip(quotas) {
        let tower_town = matches!(town.id.as_str(), "CM-TOWN-CHENGQIAO" | "CM-TOWN-CHANGXING");
        let sigma = SEAT_SIGMA * town.weight.sqrt() * scale.sqrt();
        let (mut n, mut attempts) = (0, 0);
        while n < quota && attempts < 20 * quota {
            attempts += 1;
            let p = Coord {
                x: town.seat.x + sigma * rng.normal(),
                y: town.seat.y + sigma * rng.normal(),
            };
            if let Some(rect) = try_building(land, lots, &mut rng, p) {
                n += 1;
                let s = storeys(&mut rng, tower_town, true);
                placed.push((
                    AreaAsset {
                        id: String::new(),
                        rect,
                        seat: true,
                    },
                    s,
                ));
            }
        }
    }
    let village_target = target.saturating_sub(placed.len());
    let (mut n, mut attempts) = (0, 0);
    while n < village_target && attempts < 20 * village_target {
        attempts += 1;
        let Some((t, centre)) = land.random_point(&mut rng) else {
            return Err(synth_error("no town land to place villages on"));
        };
        let town = &land.towns[t];
        if dist(centre, town.seat) < grid_half_extent(town.weight)
            || lots.get(Lots::lot_of(centre)) != FREE
        {
            continue;
        }
        let size = rng.int(10, 40) as usize;
        for _ in 0..size {
            if n >= village_target {
                break;
            }
            for _ in 0..20 {
                attempts += 1;
                let p = Coord {
                    x: centre.x + 70.0 * rng.normal(),
                    y: centre.y + 70.0 * rng.normal(),
                };
                if let Some(rect) = try_building(land, lots, &mut rng, p) {
                    n += 1;
                    let s = storeys(&mut rng, false, false);
                    placed.push((
                        AreaAsset {
                            id: String::new(),
                            rect,
                            seat: false,
                        },
                        s,
                    ));
                    break;
                }
            }
        }
    }
    let mut result = Vec::with_capacity(placed.len());
    for (k, (mut b, s)) in placed.into_iter().enumerate() {
        b.id = format!("CM-BLD-{:06}", k + 1);
        let a = out.push(
            "buildings",
            b.id.clone(),
            AssetKind::Building,
            Geometry::Polygon(b.rect.polygon()),
        );
        a.vertical = Vertical {
            base: 0.0,
            height: f64::from(s.floors) * 3.0,
            z_level: ZLevel::Ground,
        };
        a.properties
            .insert("floors".into(), f64::from(s.floors).into());
        a.properties.insert("use".into(), s.use_.into());
        a.properties.insert(
            "settlement".into(),
            if b.seat { "seat" } else { "village" }.into(),
        );
        result.push(b);
    }
    Ok(result)
}
