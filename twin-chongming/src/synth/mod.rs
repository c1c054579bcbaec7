//! # Seeded, labelled synthetic infrastructure on the real islands
//!
//! No open source gives Chongming's roads, canals, fields, buildings, stations and
//! sensors at the detail a twin needs, so [`generate`] makes them up — plausibly, on the
//! real island and town boundaries already in the twin, and reproducibly from a seed.
//! **Everything it makes is synthetic**: every asset carries the properties
//! `synthetic: true` and `generator: "twin synth v1 seed=<seed>"`, and its source is
//! `synthetic:<layer>` (`synthetic:roads`, `synthetic:sensors`, ...).
//!
//! ## What is generated
//! All geometry is built in the twin's local metric frame ([`twin_core::crs::LocalFrame`],
//! metres) and converted to WGS84 at the end.
//!
//! - **Town land**: each town's polygon intersected with the union of the island
//!   polygons. Nothing is placed outside it — not on the northern part of Chongming
//!   Island that belongs to Jiangsu (in no town), not on the tidal flats the town
//!   polygons reach over, not where two town polygons overlap (the OSM boundaries
//!   overlap by a few km²; left out so every asset's town is unambiguous). A town's
//!   *seat* is the interior point of its land's largest
//!   polygon; Chengqiao (the district seat) weighs 3, Baozhen and Changxing 2, the
//!   others 1.
//! - **Roads** (`CM-RD-000001`…, property `class`): a `trunk` road along each of
//!   Chongming, Changxing and Hengsha (the middle of the longest north–south chord at 60
//!   x positions, smoothed); a `county` connector from each seat to its island's trunk;
//!   a grid of `street`s every 250 m around each seat (half-extent 1 km, 1.75 km or
//!   2.5 km by weight; named like `Chengqiao Street E3`); and the G40 `expressway`
//!   on land from Changxing to Chenjia and north to the edge of town land. Its parts
//!   over water are **bridges** (`CM-BRG-0001`…): the Yangtze tunnel from Pudong
//!   (`structure: "tunnel"`, underground, base −40 m) and the Changxing–Chongming bridge
//!   (`structure: "bridge"`, base 10 m). The G40 is labelled
//!   `alignment: "approximate, not surveyed"`.
//! - **Ferry terminals** (`CM-FRY-01`…): Nanmen, Baozhen, Xinhe, Changxing Majiagang and
//!   Hengsha, snapped to the nearest shore point and set 25 m inland.
//! - **Canals** (kind river, `CM-CNL-0001`…, property `width` 8–30 m): two east–west
//!   trunk canals along Chongming Island at 25% and 75% of its north–south chords, and
//!   north–south canals every 3 km across each main island.
//! - **Farm fields** (`CM-FLD-000001`…, 300 × 150 m, property `crop`) on a 500 m grid,
//!   2.5 km × √weight or more from any seat, at least 100 m from the trunk roads and
//!   trunk canals and clear of every other road and canal.
//! - **Buildings** (`CM-BLD-000001`…, 10–24 × 8–16 m on 30 m lots off the road and
//!   canal corridors, one per lot): `50,000 × scale`, 85% normally distributed around
//!   the seats (σ = 700 m × √weight × √scale, shares by weight), 15% in villages of
//!   10–40 houses at random points of town land. 3–6 floors of 3 m (villages 3–4);
//!   15% of the seat buildings of Chengqiao and Changxing (about 3% of all) are towers
//!   of 10–30 floors. Properties `floors`, `use`, `settlement` (`seat`/`village`).
//! - **5G stations** (`CM-5G-0001`…, 30 m high): `1,823 × scale`, 60% around the seats,
//!   40% uniform on town land. **Garbage stations** (`CM-GBG-01`…): one per town plus a
//!   second in Chengqiao, Baozhen and Changxing (21). **Parking lots**
//!   (`CM-PRK-0001`…, 40 × 60 m): `400 × scale` around the seats. **EV chargers**
//!   (`CM-EVC-00001`…): `2,000 × scale`, in rows inside the parking lots (property
//!   `parking_lot`).
//! - **Sensors** (`CM-S-<CODE>-000001`…), each a point on town land, `attached_to` the
//!   asset it measures. Exactly `round(n × scale)` of each type — 100,000 at scale 1:
//!
//!   | type (code) | at scale 1 | host and position |
//!   |---|---:|---|
//!   | building_energy (BE) | 42,000 | buildings, first at the centroid |
//!   | noise (NZ) | 8,000 | seat buildings |
//!   | pm25 (PM) | 6,000 | one on each 5G station (1,823), the rest on buildings |
//!   | soil_moisture (SM) | 16,000 | inside farm fields |
//!   | water_level (WL) | 4,000 | on canal lines, evenly spaced |
//!   | water_quality (WQ) | 4,000 | on canal lines, evenly spaced, between the WL |
//!   | traffic_counter (TC) | 6,000 | on roads, evenly spaced |
//!   | parking_occupancy (PO) | 12,000 | inside parking lots |
//!   | charger_power (CP) | 2,000 | one per EV charger |
//!
//!   Sensors are dealt evenly over their hosts (host `⌊i · hosts / n⌋`); when a type has
//!   more sensors than hosts, hosts carry several, at distinct low-discrepancy points
//!   inside their rectangle.
//! - **Video front-ends** (雪亮工程 cameras, `CM-S-CAM-000001`…, kind `sensor:camera`):
//!   `600 × scale`, evenly spaced along the roads on town land, attached to their road,
//!   looking along it (every second one the other way). Properties `heading_deg`
//!   (compass bearing of the view), `fov_deg` 70, `range_m` 80, `system`, and
//!   `ai_events`: the channels their AI reports (`exposed_garbage`, `illegal_parking`,
//!   `standing_water`, `crowding`, each a confidence 0–1, 0 when gone). The simulator
//!   does not run them; its planned camera events do.
//! - **Pumping stations** (`CM-PMP-0001`…, kind `pumping_station`): one 30 m in from
//!   each end of each canal that reaches town land, property `canal` and a seeded
//!   `capacity_m3_s` (4–30). **Emergency response teams** (`CM-ERT-01`…, kind
//!   `response_team`): one 150 m off every town's seat, and the district's own beside
//!   Chengqiao's, property `staff`. Response plans find the nearest of these.
//!
//!   These three layers come after every other, so the assets before them keep their
//!   handles.
//!
//! ## Scale
//! [`SynthConfig::scale`] multiplies the counts of buildings, 5G stations, parking
//! lots, chargers and sensors (rounded); the seat clusters widen by √scale so density
//! stays the same. Roads, canals, bridges, ferries, fields and garbage stations do not
//! change. Scale 10 gives over 1.5 million assets.
//!
//! ## Determinism
//! The generator uses its own PRNG (xoshiro256** seeded by SplitMix64), one stream
//! per layer derived from the seed and the layer's name, so a seed gives the same ids,
//! geometries and properties on every run and platform, and changing one layer does
//! not shift another. Iteration is over vectors in twin (handle) order — never over
//! hash maps — and ids are numbered in generation order. Every placement loop is
//! bounded (at most 20 attempts per building wanted), so a crowded town yields fewer
//! buildings rather than a hang.
//!
//! Everything is inserted in one strict batch: a problem fails the whole generation
//! and leaves the twin as it was.

mod centreline;
mod geom;
mod land;
mod lots;
mod network;
mod places;
mod response;
mod rng;
mod sensors;
mod stations;

pub use response::{PUMPING_STATION, RESPONSE_TEAM};

use std::collections::BTreeMap;
use std::sync::Arc;

use geo::MapCoords;
use geo_types::{Coord, Geometry};

use twin_core::AssetKind;
use twin_core::LoadError;
use twin_core::Twin;
use twin_core::crs::LocalFrame;
use twin_core::load::LoadMode;
use twin_core::{Asset, PropValue, Source};

/// Largest accepted [`SynthConfig::scale`].
pub const MAX_SCALE: f64 = 100.0;

/// How much to generate and from which seed.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthConfig {
    /// Seed of the generator: the same seed gives the same assets.
    pub seed: u64,
    /// Multiplier of the counts of buildings, 5G stations, parking lots, chargers and
    /// sensors (1.0: ~50,000 buildings and 100,000 sensors). Finite, 0 to [`MAX_SCALE`].
    pub scale: f64,
}

impl Default for SynthConfig {
    /// Seed 2026, scale 1.
    fn default() -> Self {
        SynthConfig {
            seed: 2026,
            scale: 1.0,
        }
    }
}

/// What [`generate`] inserted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SynthReport {
    /// Number of assets inserted per kind, named as [`AssetKind`]'s `Display` does
    /// (`building`, `sensor:pm25`, ...).
    pub counts: BTreeMap<String, usize>,
}

impl SynthReport {
    /// Total number of assets inserted.
    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }
}

/// The error for a generation that cannot proceed.
pub(crate) fn synth_error(message: impl Into<String>) -> LoadError {
    LoadError::Format {
        file: "synthetic".into(),
        message: message.into(),
    }
}

/// Collects the generated assets: converts local geometry to WGS84, labels them and
/// numbers them per layer.
pub(crate) struct Out {
    frame: LocalFrame,
    generator: PropValue,
    assets: Vec<Asset>,
    sources: Vec<(&'static str, Arc<str>, usize)>,
}

impl Out {
    fn new(frame: LocalFrame, seed: u64, capacity: usize) -> Self {
        Out {
            frame,
            generator: PropValue::Str(format!("twin synth v1 seed={seed}")),
            assets: Vec::with_capacity(capacity),
            sources: Vec::new(),
        }
    }

    /// Adds a labelled asset of `layer` from local-frame geometry; returns it to finish.
    pub(crate) fn push(
        &mut self,
        layer: &'static str,
        id: String,
        kind: AssetKind,
        local: Geometry<f64>,
    ) -> &mut Asset {
        let f = self.frame;
        let geometry = local.map_coords(|c| {
            let (x, y) = f.to_geographic(c.x, c.y);
            Coord { x, y }
        });
        let pos = match self.sources.iter().position(|s| s.0 == layer) {
            Some(p) => p,
            None => {
                self.sources
                    .push((layer, Arc::from(format!("synthetic:{layer}")), 0));
                self.sources.len() - 1
            }
        };
        let entry = &mut self.sources[pos];
        let source = Source {
            file: entry.1.clone(),
            feature: entry.2,
        };
        entry.2 += 1;
        let mut a = Asset::new(id, kind, geometry);
        a.source = source;
        a.properties
            .insert("synthetic".into(), PropValue::Bool(true));
        a.properties
            .insert("generator".into(), self.generator.clone());
        self.assets.push(a);
        let last = self.assets.len() - 1;
        &mut self.assets[last]
    }
}

/// Generates the synthetic infrastructure on the towns and islands held by `twin`
/// (see the [module documentation](self)) and inserts it in one strict batch.
///
/// Fails, leaving the twin unchanged, when the scale is out of range, the twin holds
/// no town on an island, an asset cannot be placed, or the insert is refused (e.g.
/// the twin already holds generated ids).
pub fn generate(twin: &mut Twin, config: &SynthConfig) -> Result<SynthReport, LoadError> {
    let scale = config.scale;
    if !(scale.is_finite() && (0.0..=MAX_SCALE).contains(&scale)) {
        return Err(synth_error(format!(
            "scale must be finite and between 0 and {MAX_SCALE}, got {scale}"
        )));
    }
    let seed = config.seed;
    let land = land::Land::build(twin)?;
    let frame = *twin.frame();
    let capacity = (170_000.0 * scale) as usize + 20_000;
    let mut out = Out::new(frame, seed, capacity);

    let net = network::build(&land, &frame, &mut out, seed);
    let mut lots = lots::lot_grid(&land, &net);
    let fields = places::fields(&land, &net, &mut lots, &mut out, seed);
    let parking = places::parking(&land, &mut lots, &mut out, seed, scale);
    let buildings = places::buildings(&land, &mut lots, &mut out, seed, scale)?;
    let places = places::Places {
        fields,
        lots: parking,
        buildings,
    };
    let st5g = stations::stations_5g(&land, &mut lots, &mut out, seed, scale)?;
    stations::garbage(&land, &mut lots, &mut out, seed)?;
    let chargers = stations::chargers(&places.lots, &mut out, seed, scale)?;
    sensors::sensors(&land, &net, &places, &st5g, &chargers, &mut out, scale)?;
    response::cameras(&land, &net, &mut out, scale)?;
    response::pumping_stations(&land, &net, &mut out, seed)?;
    response::response_teams(&land, &mut out, seed)?;

    let mut counts = BTreeMap::new();
    for a in &out.assets {
        *counts.entry(a.kind.to_string()).or_insert(0) += 1;
    }
    twin.insert_assets(out.assets, LoadMode::Strict)?;
    Ok(SynthReport { counts })
}
