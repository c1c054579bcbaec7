//! Incidents injected into the simulated telemetry, the simulator's configuration and
//! the deterministic choice of the default incidents.

use std::collections::{BTreeMap, BTreeSet};

use geo::BoundingRect;
use geo_types::Coord;

use super::model::{MINUTE_MS, below, mix};
use twin_core::Handle;
use twin_core::{AssetKind, SensorType};
use twin_core::{Timestamp, Twin};

/// Size of the default silenced group.
pub(super) const SILENCE_GROUP: usize = 200;

// Salts of the default-incident draws.
const PICK_TOWN: u64 = 0x51_1E;
const PICK_CENTRE: u64 = 0xCE_27E;
const PICK_CHARGER: u64 = 0xFA_017;
const PICK_CAMERA: u64 = 0xCA_3E7A;

/// How long a camera keeps reporting 0 (the event is gone) after an event's window:
/// a minute, so a tick missed or a sample lost does not leave the event standing.
pub const CAMERA_CLEAR_MS: i64 = 60_000;

/// Something that goes wrong during a simulation. Windows are half-open (`start`
/// included, the end excluded); spans are milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub enum Incident {
    /// The water level of every water-level sensor in a town rises by `metres`: a linear
    /// ramp over `ramp_ms` from `start`, held for `hold_ms`, falling back linearly
    /// over `fall_ms`. Water quality in the town drops by 5 points per metre of surge.
    Surge {
        /// The town (its handle; sensors are matched by [`Twin::located_in`]).
        town: Handle,
        /// When the rise begins.
        start: Timestamp,
        /// How long the rise takes.
        ramp_ms: i64,
        /// How long the full surge is held.
        hold_ms: i64,
        /// How long the fall back takes.
        fall_ms: i64,
        /// The height of the surge (m).
        metres: f64,
    },
    /// The sensors report nothing (no sample on any channel) in the window.
    Silence {
        /// The silenced sensors.
        sensors: Vec<Handle>,
        /// When they go silent.
        start: Timestamp,
        /// When they report again.
        end: Timestamp,
    },
    /// An EV charger faults: power 0 kW and state `fault` in the window.
    ChargerFault {
        /// The charger's `charger_power` sensor.
        charger_sensor: Handle,
        /// When the fault begins.
        start: Timestamp,
        /// When it is cleared.
        end: Timestamp,
    },
    /// A camera's AI sees `event` (one of [`super::CAMERA_CHANNELS`]): it reports
    /// `confidence` on that channel at every tick of the window, then 0 (gone) at every
    /// tick of the [`CAMERA_CLEAR_MS`] after it — what closes the loop when the
    /// camera's next look finds the street clear (自动复核).
    CameraEvent {
        /// The camera (a `camera` sensor).
        camera: Handle,
        /// What it sees: the channel's name.
        event: String,
        /// The AI's confidence, 0–1.
        confidence: f64,
        /// When it is first seen.
        start: Timestamp,
        /// When it is gone.
        end: Timestamp,
    },
}

impl Incident {
    /// The window the incident affects: `(start, end)`, end excluded.
    pub fn window(&self) -> (Timestamp, Timestamp) {
        match self {
            Incident::Surge {
                start,
                ramp_ms,
                hold_ms,
                fall_ms,
                ..
            } => (
                *start,
                start
                    .add_ms((*ramp_ms).max(0))
                    .add_ms((*hold_ms).max(0))
                    .add_ms((*fall_ms).max(0)),
            ),
            Incident::Silence { start, end, .. } | Incident::ChargerFault { start, end, .. } => {
                (*start, *end)
            }
            Incident::CameraEvent { start, end, .. } => (*start, end.add_ms(CAMERA_CLEAR_MS)),
        }
    }

    /// Whether the incident affects time `t`.
    pub fn is_active(&self, t: Timestamp) -> bool {
        let (a, b) = self.window();
        a <= t && t < b
    }

    /// A one-line description for logs, with names and ids from the twin and times in
    /// ISO 8601 UTC.
    pub fn describe(&self, twin: &Twin) -> String {
        let (start, end) = self.window();
        match self {
            Incident::Surge {
                town,
                ramp_ms,
                hold_ms,
                fall_ms,
                metres,
                ..
            } => format!(
                "water-level surge of {metres:+.2} m in {}: rising over {} from {}, held \
                 {}, falling over {} to normal at {}",
                label(twin, *town),
                span(*ramp_ms),
                start,
                span(*hold_ms),
                span(*fall_ms),
                end
            ),
            Incident::Silence { sensors, .. } => {
                let towns: BTreeSet<Handle> =
                    sensors.iter().filter_map(|h| twin.located_in(*h)).collect();
                let place = match towns.len() {
                    0 => String::from("no town"),
                    1 => towns.first().map_or_else(String::new, |t| label(twin, *t)),
                    n => format!("{n} towns"),
                };
                format!(
                    "{} sensors silent in {place} from {} to {} ({})",
                    sensors.len(),
                    start,
                    end,
                    span(end.ms_since(start))
                )
            }
            Incident::ChargerFault { charger_sensor, .. } => {
                let host = twin
                    .attached_to(*charger_sensor)
                    .and_then(|h| twin.get(h))
                    .map_or_else(String::new, |a| format!(" on {}", a.id));
                let town = twin
                    .located_in(*charger_sensor)
                    .map_or_else(String::new, |t| format!(" in {}", label(twin, t)));
                format!(
                    "EV charger fault at {}{host}{town} from {} to {} ({}): 0 kW, state fault",
                    label(twin, *charger_sensor),
                    start,
                    end,
                    span(end.ms_since(start))
                )
            }
            Incident::CameraEvent {
                camera,
                event,
                confidence,
                start,
                end,
            } => {
                let town = twin
                    .located_in(*camera)
                    .map_or_else(String::new, |t| format!(" in {}", label(twin, t)));
                format!(
                    "camera {}{town} sees {} (confidence {confidence:.2}) from {} to {} ({})",
                    label(twin, *camera),
                    event.replace('_', " "),
                    start,
                    end,
                    span(end.ms_since(*start))
                )
            }
        }
    }
}

/// The simulator's seed, start time and incidents.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// Seed of every pseudo-random draw: the same seed gives the same telemetry.
    pub seed: u64,
    /// The simulated start; the default incidents are placed after it.
    pub start: Timestamp,
    /// The incidents to inject.
    pub incidents: Vec<Incident>,
}

impl SimConfig {
    /// A configuration without incidents.
    pub fn quiet(seed: u64, start: Timestamp) -> SimConfig {
        SimConfig {
            seed,
            start,
            incidents: Vec::new(),
        }
    }

    /// The default incidents, chosen deterministically from the twin and the seed
    /// (an incident the twin has no sensors for is left out):
    ///
    /// 1. a water-level surge of +1.2 m in the town holding the most water-level
    ///    sensors (ties: the lowest handle), rising over 5 min from 10 min after
    ///    `start`, held 20 min, falling over 10 min;
    /// 2. the 200 sensors nearest a seed-chosen sensor of a seed-chosen other town (one
    ///    with at least 200 simulated sensors, else the other town with the most)
    ///    silent from 15 to 30 min after `start` — a gateway outage;
    /// 3. a seed-chosen EV charger (not among the silenced) faulted from 5 to 30 min
    ///    after `start`;
    /// 4. camera AI events (雪亮工程), each seen by a seed-chosen camera: exposed
    ///    garbage (confidence 0.87) from 8 to 28 min in a town other than the surge's,
    ///    illegal parking (0.92) from 12 to 20 min in another, and standing water
    ///    (0.81) from 20 to 40 min in the surge's town.
    pub fn default_for(twin: &Twin, seed: u64, start: Timestamp) -> SimConfig {
        let after = |min: i64| start.add_ms(min * MINUTE_MS);
        let mut incidents = Vec::new();
        // Simulated sensors by town, in handle order.
        let mut by_town: BTreeMap<Handle, Vec<Handle>> = BTreeMap::new();
        let mut levels: BTreeMap<Handle, usize> = BTreeMap::new();
        let mut chargers = Vec::new();
        let mut cameras: BTreeMap<Handle, Vec<Handle>> = BTreeMap::new();
        for (h, a) in twin.iter() {
            let Some(t) = a.kind.sensor_type() else {
                continue;
            };
            if *t == SensorType::Camera {
                if let Some(town) = twin.located_in(h) {
                    cameras.entry(town).or_default().push(h);
                }
                continue;
            }
            if matches!(t, SensorType::Other(_)) {
                continue;
            }
            if *t == SensorType::ChargerPower {
                chargers.push(h);
            }
            let Some(town) = twin.located_in(h) else {
                continue;
            };
            by_town.entry(town).or_default().push(h);
            if *t == SensorType::WaterLevel {
                *levels.entry(town).or_insert(0) += 1;
            }
        }

        let surge_town = levels
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(t, _)| *t);
        if let Some(town) = surge_town {
            incidents.push(Incident::Surge {
                town,
                start: after(10),
                ramp_ms: 5 * MINUTE_MS,
                hold_ms: 20 * MINUTE_MS,
                fall_ms: 10 * MINUTE_MS,
                metres: 1.2,
            });
        }

        let others: Vec<(&Handle, &Vec<Handle>)> = by_town
            .iter()
            .filter(|(t, _)| Some(**t) != surge_town && twin_is_town(twin, **t))
            .collect();
        let big: Vec<&(&Handle, &Vec<Handle>)> = others
            .iter()
            .filter(|(_, s)| s.len() >= SILENCE_GROUP)
            .collect();
        let chosen = if big.is_empty() {
            others.iter().max_by_key(|(_, s)| s.len())
        } else {
            big.get(below(mix(seed ^ PICK_TOWN), big.len())).copied()
        };
        let mut silenced: Vec<Handle> = Vec::new();
        if let Some((_, sensors)) = chosen {
            silenced = nearest_group(twin, sensors, seed);
            if !silenced.is_empty() {
                incidents.push(Incident::Silence {
                    sensors: silenced.clone(),
                    start: after(15),
                    end: after(30),
                });
            }
        }

        let quiet: BTreeSet<Handle> = silenced.into_iter().collect();
        chargers.retain(|h| !quiet.contains(h));
        if !chargers.is_empty() {
            let charger_sensor = chargers[below(mix(seed ^ PICK_CHARGER), chargers.len())];
            incidents.push(Incident::ChargerFault {
                charger_sensor,
                start: after(5),
                end: after(30),
            });
        }

        // Camera events: garbage and parking in two other towns, water in the surge's.
        let mut towns: Vec<Handle> = cameras
            .keys()
            .copied()
            .filter(|t| Some(*t) != surge_town)
            .collect();
        let pick = |town: Handle, salt: u64| {
            cameras
                .get(&town)
                .filter(|c| !c.is_empty())
                .map(|c| c[below(mix(seed ^ PICK_CAMERA ^ salt), c.len())])
        };
        let mut events = Vec::new();
        for (salt, event, confidence, from, to) in [
            (1, super::EXPOSED_GARBAGE, 0.87, 8, 28),
            (2, super::ILLEGAL_PARKING, 0.92, 12, 20),
        ] {
            if towns.is_empty() {
                break;
            }
            let town = towns.remove(below(mix(seed ^ PICK_CAMERA ^ (salt << 8)), towns.len()));
            if let Some(camera) = pick(town, salt) {
                events.push((camera, event, confidence, from, to));
            }
        }
        if let Some(camera) = surge_town.and_then(|t| pick(t, 3)) {
            events.push((camera, super::STANDING_WATER, 0.81, 20, 40));
        }
        for (camera, event, confidence, from, to) in events {
            incidents.push(Incident::CameraEvent {
                camera,
                event: event.to_string(),
                confidence,
                start: after(from),
                end: after(to),
            });
        }
        SimConfig {
            seed,
            start,
            incidents,
        }
    }
}

fn twin_is_town(twin: &Twin, h: Handle) -> bool {
    twin.get(h).is_some_and(|a| a.kind == AssetKind::Town)
}

/// The centre of an asset's local-frame bounding box.
fn position(twin: &Twin, h: Handle) -> Option<Coord<f64>> {
    twin.local_geometry(h)
        .and_then(|g| g.bounding_rect())
        .map(|r| r.center())
}

/// Up to [`SILENCE_GROUP`] of `sensors` nearest one of them chosen by the seed, in
/// handle order.
fn nearest_group(twin: &Twin, sensors: &[Handle], seed: u64) -> Vec<Handle> {
    if sensors.is_empty() {
        return Vec::new();
    }
    let centre_h = sensors[below(mix(seed ^ PICK_CENTRE), sensors.len())];
    let centre = position(twin, centre_h).unwrap_or_default();
    let mut by_distance: Vec<(f64, Handle)> = sensors
        .iter()
        .map(|&h| {
            let d = position(twin, h).map_or(f64::INFINITY, |p| {
                (p.x - centre.x).powi(2) + (p.y - centre.y).powi(2)
            });
            (d, h)
        })
        .collect();
    by_distance.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut group: Vec<Handle> = by_distance
        .into_iter()
        .take(SILENCE_GROUP)
        .map(|(_, h)| h)
        .collect();
    group.sort_unstable();
    group
}

/// An asset for logs: English name (else Chinese) and id, or the id alone.
fn label(twin: &Twin, h: Handle) -> String {
    match twin.get(h) {
        Some(a) => match a.name_en.as_deref().or(a.name_zh.as_deref()) {
            Some(name) => format!("{name} ({})", a.id),
            None => a.id.clone(),
        },
        None => format!("asset {h}"),
    }
}

/// A duration for logs: `90 s`, `5 min`, `1 h 30 min`.
fn span(ms: i64) -> String {
    let s = ms / 1000;
    if s % 60 != 0 || s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min", s / 60)
    } else if s % 3600 == 0 {
        format!("{} h", s / 3600)
    } else {
        format!("{} h {} min", s / 3600, (s % 3600) / 60)
    }
}

/// The surge envelope at `t`: 0 before and after, rising linearly to 1, held, falling.
pub(super) fn envelope(t: i64, start: i64, ramp: i64, hold: i64, fall: i64) -> f64 {
    let (ramp, hold, fall) = (ramp.max(0), hold.max(0), fall.max(0));
    if t < start {
        return 0.0;
    }
    let x = t.saturating_sub(start);
    if x < ramp {
        return x as f64 / ramp as f64;
    }
    let x = x - ramp;
    if x < hold {
        return 1.0;
    }
    let x = x - hold;
    if x < fall {
        return 1.0 - x as f64 / fall as f64;
    }
    0.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::model::HOUR_MS;

    #[test]
    fn formats_spans() {
        assert_eq!(span(90_000), "90 s");
        assert_eq!(span(5 * MINUTE_MS), "5 min");
        assert_eq!(span(2 * HOUR_MS), "2 h");
        assert_eq!(span(90 * MINUTE_MS), "1 h 30 min");
    }

    #[test]
    fn envelope_ramps_holds_and_falls() {
        let e = |t| envelope(t, 100, 10, 20, 40);
        assert_eq!(e(99), 0.0);
        assert_eq!(e(100), 0.0);
        assert_eq!(e(105), 0.5);
        assert_eq!(e(110), 1.0);
        assert_eq!(e(129), 1.0);
        assert_eq!(e(150), 0.5);
        assert_eq!(e(170), 0.0);
        assert_eq!(envelope(5, 0, 0, 10, 0), 1.0);
        assert_eq!(envelope(10, 0, 0, 10, 0), 0.0);
    }
}
