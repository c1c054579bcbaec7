//! Per-sensor parameters, drawn once from the seed and the sensor's id, and the value
//! each sensor type reports at a time: daily profiles, tide, sessions and noise.

use std::f64::consts::{FRAC_1_SQRT_2, TAU};

use geo::Area;

use super::channels::{ChargerState, StandardChannels};
use twin_core::SensorType;
use twin_core::Twin;
use twin_core::state::ChannelId;
use twin_core::{Asset, Handle};

/// One minute in milliseconds.
pub(super) const MINUTE_MS: i64 = 60_000;
/// One hour in milliseconds.
pub(super) const HOUR_MS: i64 = 3_600_000;
/// One day in milliseconds.
pub(super) const DAY_MS: i64 = 86_400_000;
/// Shanghai keeps UTC+8 all year (no daylight saving).
const UTC_OFFSET_MS: i64 = 8 * HOUR_MS;
/// The principal lunar semi-diurnal tide M2: 12.42 h.
const M2_MS: i64 = 44_712_000;
/// Mean canal water level (m).
const MEAN_LEVEL: f64 = 2.5;
/// Parking occupancy is redrawn per bay every 15 minutes.
const PARKING_SLOT_MS: i64 = 15 * MINUTE_MS;

// Salts of the independent hash streams.
const SALT_FAST: u64 = 0x0F57;
const SALT_SLOW: u64 = 0x5170_0000;
const SALT_WHITE: u64 = 0xD1CE;
const SALT_PARK: u64 = 0xBA55_0000_0000;
const SALT_CHARGE: u64 = 0xC4A2_0000_0000_0000;
const SALT_REGION: u64 = 0x0005_E610_0000_0000;

/// The finalizer of SplitMix64: a well-mixed 64-bit value from any input.
pub(super) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Uniform in `[0, 1)` from a hash.
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Uniform in `[-1, 1)` from a hash.
fn signed(h: u64) -> f64 {
    2.0 * unit(h) - 1.0
}

/// The `n`-th uniform draw in `[0, 1)` of a key.
fn draw(key: u64, n: u64) -> f64 {
    unit(mix(key ^ n.wrapping_mul(0xD6E8_FEB8_6659_FD93)))
}

/// An index in `0..n` from a hash (0 when `n` is 0).
pub(super) fn below(h: u64, n: usize) -> usize {
    ((u128::from(h) * n as u128) >> 64) as usize
}

/// FNV-1a of a string: the stable part of a sensor's key.
fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

/// Hash of a key and a time knot.
fn knot(key: u64, k: i64) -> u64 {
    mix(key ^ (k as u64).wrapping_mul(0xA076_1D64_78BD_642F))
}

/// Smooth value noise in `[-1, 1]`: a hashed value per knot every `period` ms (shifted
/// per key), eased between knots. A pure function of `(key, t)`.
fn smooth(key: u64, t: i64, period: i64) -> f64 {
    let t = t.wrapping_add((key >> 20) as i64 % period);
    let k = t.div_euclid(period);
    let f = t.rem_euclid(period) as f64 / period as f64;
    let f = f * f * (3.0 - 2.0 * f);
    let a = signed(knot(key, k));
    let b = signed(knot(key, k.wrapping_add(1)));
    a + (b - a) * f
}

/// White noise in `[-1, 1)` per millisecond.
fn white(key: u64, t: i64) -> f64 {
    signed(knot(key ^ SALT_WHITE, t))
}

/// The hour of day in Shanghai (0 to 24) at UTC milliseconds `t`.
fn local_hour(t: i64) -> f64 {
    t.wrapping_add(UTC_OFFSET_MS).rem_euclid(DAY_MS) as f64 / HOUR_MS as f64
}

/// A daily profile with a knot at each full hour, read by linear interpolation.
type Profile = [f64; 24];

fn at(p: &Profile, hour: f64) -> f64 {
    let h = hour.rem_euclid(24.0);
    let i = (h as usize).min(23);
    let j = (i + 1) % 24;
    p[i] + (p[j] - p[i]) * (h - i as f64)
}

/// Road traffic relative to the morning peak.
const TRAFFIC: Profile = [
    0.06, 0.04, 0.03, 0.03, 0.05, 0.15, 0.45, 0.90, 1.00, 0.75, 0.60, 0.60, 0.55, 0.55, 0.60, 0.65,
    0.80, 0.97, 0.95, 0.70, 0.50, 0.35, 0.20, 0.10,
];
/// PM2.5 relative to a sensor's base: rush-hour peaks, an afternoon low (mixing).
const PM25_FACTOR: Profile = [
    1.10, 1.05, 1.00, 1.00, 1.00, 1.10, 1.30, 1.60, 1.75, 1.50, 1.20, 1.00, 0.90, 0.85, 0.80, 0.80,
    0.90, 1.20, 1.55, 1.70, 1.50, 1.35, 1.25, 1.15,
];
/// Daytime activity (0 at night, 1 by day), for noise.
const DAYTIME: Profile = [
    0.05, 0.00, 0.00, 0.00, 0.05, 0.20, 0.50, 0.85, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00,
    1.00, 1.00, 1.00, 0.90, 0.75, 0.55, 0.30, 0.15,
];
/// Share of parking bays taken.
const PARKING: Profile = [
    0.40, 0.38, 0.38, 0.38, 0.38, 0.38, 0.42, 0.55, 0.70, 0.80, 0.85, 0.85, 0.80, 0.80, 0.82, 0.80,
    0.75, 0.70, 0.72, 0.78, 0.72, 0.60, 0.50, 0.45,
];
/// Chance that a charging session starts in a charger's slot.
const CHARGING: Profile = [
    0.50, 0.45, 0.40, 0.35, 0.30, 0.25, 0.25, 0.30, 0.35, 0.40, 0.40, 0.40, 0.45, 0.40, 0.40, 0.40,
    0.45, 0.50, 0.60, 0.65, 0.65, 0.60, 0.55, 0.50,
];
/// cos(2π (h − 15) / 24): the daily oxygen cycle of water (high in the afternoon) and
/// the afternoon drying of soil.
#[rustfmt::skip]
const AFTERNOON: Profile = [
    -FRAC_1_SQRT_2, -0.8660, -0.9659, -1.0000, -0.9659, -0.8660,
    -FRAC_1_SQRT_2, -0.5000, -0.2588, 0.0000, 0.2588, 0.5000,
    FRAC_1_SQRT_2, 0.8660, 0.9659, 1.0000, 0.9659, 0.8660,
    FRAC_1_SQRT_2, 0.5000, 0.2588, 0.0000, -0.2588, -0.5000,
];
/// Building energy relative to the building's mean, by use.
const ENERGY_PROFILES: [Profile; 3] = [
    // Residential: breakfast and evening peaks.
    [
        0.55, 0.45, 0.40, 0.40, 0.40, 0.45, 0.70, 1.05, 0.95, 0.75, 0.70, 0.80, 0.90, 0.80, 0.75,
        0.75, 0.85, 1.10, 1.45, 1.65, 1.60, 1.40, 1.10, 0.80,
    ],
    // Commercial and public: office hours.
    [
        0.30, 0.30, 0.30, 0.30, 0.30, 0.30, 0.40, 0.60, 1.00, 1.40, 1.55, 1.60, 1.55, 1.50, 1.60,
        1.60, 1.50, 1.35, 1.10, 0.90, 0.70, 0.50, 0.40, 0.35,
    ],
    // Industrial: shifts, a high base load.
    [
        0.60, 0.60, 0.60, 0.60, 0.60, 0.60, 0.80, 1.10, 1.30, 1.30, 1.30, 1.30, 1.30, 1.30, 1.30,
        1.30, 1.30, 1.10, 0.90, 0.70, 0.70, 0.70, 0.70, 0.70,
    ],
];

/// Which model drives a sensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Model {
    Level,
    Quality,
    Pm25,
    Noise,
    Moisture,
    Traffic,
    Parking,
    Charger,
    Energy,
    People,
    Co2,
    Temperature,
}

/// What one tick shares across sensors.
pub(super) struct Clock {
    t: i64,
    hour: f64,
    m2_sin: f64,
    m2_cos: f64,
    regional_pm: f64,
}

impl Clock {
    /// The shared terms at `t` for a simulator whose seed hashes to `seed_key`.
    pub(super) fn new(t: i64, seed_key: u64) -> Clock {
        let theta = TAU * t.rem_euclid(M2_MS) as f64 / M2_MS as f64;
        Clock {
            t,
            hour: local_hour(t),
            m2_sin: theta.sin(),
            m2_cos: theta.cos(),
            regional_pm: 1.0 + 0.2 * smooth(seed_key ^ SALT_REGION, t, 6 * HOUR_MS),
        }
    }
}

/// The precomputed parameters of one simulated sensor.
#[derive(Clone, Debug)]
pub(super) struct Params {
    pub(super) handle: Handle,
    pub(super) model: Model,
    /// The main channel.
    pub(super) channel: ChannelId,
    /// Index of the sensor's town in the simulator's town list (`u16::MAX`: none).
    pub(super) town: u16,
    /// Energy profile (buildings).
    profile: u8,
    /// Hash of the seed and the sensor's id: every draw and noise term derives from it.
    key: u64,
    /// Shift of the daily profile (hours).
    lag_h: f64,
    /// The level the sensor varies around (model-specific).
    base: f64,
    /// The size of its main variation (model-specific).
    amp: f64,
    /// How busy a parking bay or charger is (1: average).
    weight: f64,
    /// Phase of the tide (water level) as cos/sin.
    cos_phi: f64,
    sin_phi: f64,
    /// A room sensor's own key (its id's), for noise of its own beside the room's.
    own: u64,
}

/// A string property of an asset.
fn prop_str<'a>(a: Option<&'a Asset>, key: &str) -> Option<&'a str> {
    a.and_then(|a| a.properties.get(key))
        .and_then(|v| v.as_str())
}

/// A numeric property of an asset.
fn prop_f64(a: Option<&Asset>, key: &str) -> Option<f64> {
    a.and_then(|a| a.properties.get(key))
        .and_then(|v| v.as_f64())
        .filter(|x| x.is_finite())
}

impl Params {
    /// The parameters of sensor `h` of type `t` (`None` for types not simulated).
    pub(super) fn build(
        twin: &Twin,
        h: Handle,
        asset: &Asset,
        t: &SensorType,
        seed: u64,
        channels: &StandardChannels,
        town: u16,
    ) -> Option<Params> {
        let channel = channels.for_type(t)?;
        let key = mix(seed ^ mix(fnv(&asset.id)));
        let host_handle = twin.attached_to(h);
        let host = host_handle.and_then(|g| twin.get(g));
        let d = |n| draw(key, n);
        let mut p = Params {
            handle: h,
            model: Model::Level,
            channel,
            town,
            profile: 0,
            key,
            lag_h: 0.0,
            base: 0.0,
            amp: 0.0,
            weight: 1.0,
            cos_phi: 1.0,
            sin_phi: 0.0,
            own: key,
        };
        match t {
            SensorType::WaterLevel => {
                p.base = MEAN_LEVEL + 0.25 * (2.0 * d(1) - 1.0);
                p.amp = match prop_f64(host, "width") {
                    Some(w) => 0.35 + 0.1 * ((w - 8.0) / 22.0).clamp(0.0, 1.0),
                    None => 0.4 * (0.9 + 0.2 * d(2)),
                };
                // Inland canals lag the estuary by up to an hour.
                let phi = -TAU * (d(3) * HOUR_MS as f64) / M2_MS as f64;
                (p.cos_phi, p.sin_phi) = (phi.cos(), phi.sin());
            }
            SensorType::WaterQuality => {
                p.model = Model::Quality;
                p.base = 72.0 + 14.0 * d(1);
                p.amp = 3.0 + 3.0 * d(2);
                p.lag_h = 2.0 * (2.0 * d(3) - 1.0);
            }
            SensorType::Pm25 => {
                p.model = Model::Pm25;
                p.base = 22.0 + 10.0 * d(1);
                p.lag_h = 0.75 * (2.0 * d(2) - 1.0);
            }
            SensorType::Noise => {
                p.model = Model::Noise;
                p.base = 44.0 + 8.0 * d(1);
                p.amp = 9.0 + 5.0 * d(2);
                p.lag_h = 0.5 * (2.0 * d(3) - 1.0);
            }
            SensorType::SoilMoisture => {
                p.model = Model::Moisture;
                p.base = 24.0 + 12.0 * d(1);
                p.lag_h = 2.0 * d(2) - 1.0;
            }
            SensorType::TrafficCounter => {
                p.model = Model::Traffic;
                let peak = match prop_str(host, "class") {
                    Some("expressway") => 40.0,
                    Some("trunk") => 24.0,
                    Some("county") => 12.0,
                    Some("street") => 5.0,
                    _ => 10.0,
                };
                p.base = peak * (0.7 + 0.6 * d(1));
                p.lag_h = 0.5 * (2.0 * d(2) - 1.0);
            }
            SensorType::ParkingOccupancy => {
                p.model = Model::Parking;
                p.weight = 0.75 + 0.35 * d(1);
            }
            SensorType::ChargerPower => {
                p.model = Model::Charger;
                // Rated power and the slot one session fits in: 7 kW AC (2 h), 22 kW AC
                // (1 h) or 60 kW DC (40 min).
                let r = d(1);
                (p.base, p.amp) = if r < 0.55 {
                    (7.0, 2.0 * HOUR_MS as f64)
                } else if r < 0.85 {
                    (22.0, HOUR_MS as f64)
                } else {
                    (60.0, 40.0 * MINUTE_MS as f64)
                };
                p.weight = 0.7 + 0.5 * d(2);
            }
            SensorType::BuildingEnergy => {
                p.model = Model::Energy;
                let area = host_handle
                    .and_then(|b| twin.local_geometry(b))
                    .map(|g| g.unsigned_area())
                    .filter(|a| a.is_finite() && *a > 1.0)
                    .unwrap_or(150.0);
                let floors = prop_f64(host, "floors").unwrap_or(3.0).clamp(1.0, 100.0);
                let (profile, kw_per_m2) = match prop_str(host, "use") {
                    Some("commercial") => (1, 0.020),
                    Some("public") => (1, 0.012),
                    Some("industrial") => (2, 0.025),
                    _ => (0, 0.006),
                };
                p.profile = profile;
                p.base = (area * floors * kw_per_m2 * (0.8 + 0.4 * d(1))).clamp(0.2, 300.0);
                p.lag_h = 0.5 * (2.0 * d(2) - 1.0);
            }
            // A room's three sensors share the room's key (its id): the people the
            // occupancy sensor counts are the people whose breath the CO₂ sensor
            // measures and whose warmth the thermometer feels. `base` is the room's
            // capacity (a person per 8 m² of floor, 1 to 40), from the host's footprint.
            SensorType::Occupancy | SensorType::Co2 | SensorType::RoomTemperature => {
                p.model = match t {
                    SensorType::Occupancy => Model::People,
                    SensorType::Co2 => Model::Co2,
                    _ => Model::Temperature,
                };
                let room = host.map_or(asset.id.as_ref(), |r| r.id.as_ref());
                p.key = mix(seed ^ mix(fnv(room)));
                let area = host_handle
                    .and_then(|b| twin.local_geometry(b))
                    .map(|g| g.unsigned_area())
                    .filter(|a| a.is_finite() && *a > 1.0)
                    .unwrap_or(16.0);
                p.base = (area / 8.0).clamp(1.0, 40.0);
                // The room's own: CO₂ per full room (ppm above outdoor air), the
                // heating set point (°C).
                p.amp = 550.0 + 300.0 * draw(p.key, 1);
                p.weight = 20.5 + 2.0 * draw(p.key, 2);
                p.lag_h = 0.75 * (2.0 * draw(p.key, 3) - 1.0);
            }
            // Cameras report events (the simulator's planned camera events), not a
            // periodic value.
            SensorType::Camera | SensorType::Other(_) => return None,
        }
        Some(p)
    }

    /// The main-channel value at the clock's time (not for chargers: see
    /// [`Params::charger`]); `surge` is the town's water-level surge in metres.
    pub(super) fn value(&self, c: &Clock, surge: f64) -> f64 {
        let (key, t) = (self.key, c.t);
        let hour = c.hour + self.lag_h;
        match self.model {
            Model::Level => {
                let tide = self.amp * (c.m2_sin * self.cos_phi + c.m2_cos * self.sin_phi);
                let wobble = 0.03 * smooth(key ^ SALT_FAST, t, MINUTE_MS) + 0.005 * white(key, t);
                self.base + tide + wobble + surge
            }
            Model::Quality => {
                let v = self.base
                    + self.amp * at(&AFTERNOON, hour)
                    + 4.0 * smooth(key ^ SALT_SLOW, t, 6 * HOUR_MS)
                    + 0.4 * white(key, t)
                    - 5.0 * surge.max(0.0);
                v.clamp(60.0, 95.0)
            }
            Model::Pm25 => {
                let noise =
                    1.0 + 0.08 * smooth(key ^ SALT_FAST, t, MINUTE_MS) + 0.03 * white(key, t);
                (self.base * c.regional_pm * at(&PM25_FACTOR, hour) * noise).clamp(15.0, 80.0)
            }
            Model::Noise => {
                let v = self.base
                    + self.amp * at(&DAYTIME, hour)
                    + 4.0 * at(&TRAFFIC, hour)
                    + 2.0 * smooth(key ^ SALT_FAST, t, MINUTE_MS)
                    + white(key, t);
                v.clamp(40.0, 75.0)
            }
            Model::Moisture => {
                let v = self.base + 3.5 * smooth(key ^ SALT_SLOW, t, 6 * HOUR_MS)
                    - 0.8 * at(&AFTERNOON, hour).max(0.0)
                    + 0.15 * white(key, t);
                v.clamp(20.0, 40.0)
            }
            Model::Traffic => {
                let noise = 1.0 + 0.2 * smooth(key ^ SALT_FAST, t, MINUTE_MS) + 0.1 * white(key, t);
                (self.base * at(&TRAFFIC, hour) * noise).round().max(0.0)
            }
            Model::Parking => {
                let shift = (key >> 24) as i64 % PARKING_SLOT_MS;
                let k = t.wrapping_add(shift).div_euclid(PARKING_SLOT_MS);
                let slot_start = k.wrapping_mul(PARKING_SLOT_MS).wrapping_sub(shift);
                let p = (self.weight * at(&PARKING, local_hour(slot_start))).clamp(0.02, 0.98);
                if unit(knot(key ^ SALT_PARK, k)) < p {
                    1.0
                } else {
                    0.0
                }
            }
            Model::Charger => self.charger(c).0,
            Model::People => self.people(c, hour),
            Model::Co2 => {
                let own = self.own;
                let full = self.people(c, hour) / self.base;
                (420.0
                    + self.amp * full
                    + 15.0 * smooth(own ^ SALT_SLOW, t, 20 * MINUTE_MS)
                    + 3.0 * white(own, t))
                .clamp(380.0, 5000.0)
            }
            Model::Temperature => {
                let own = self.own;
                let full = self.people(c, hour) / self.base;
                (self.weight
                    + 1.2 * at(&AFTERNOON, hour)
                    + 1.5 * full
                    + 0.3 * smooth(own ^ SALT_SLOW, t, HOUR_MS)
                    + 0.05 * white(own, t))
                .clamp(5.0, 40.0)
            }
            Model::Energy => {
                let noise =
                    1.0 + 0.05 * smooth(key ^ SALT_FAST, t, 5 * MINUTE_MS) + 0.02 * white(key, t);
                let profile = &ENERGY_PROFILES[usize::from(self.profile).min(2)];
                (self.base * at(profile, hour) * noise).clamp(0.0, 600.0)
            }
        }
    }

    /// The people in a room at the clock's time: its capacity times a home's daily
    /// profile (morning and evening peaks) and a slow wander of the room's own, whole.
    fn people(&self, c: &Clock, hour: f64) -> f64 {
        let profile = at(&ENERGY_PROFILES[0], hour) / 1.65;
        let wander = 0.75 + 0.35 * smooth(self.key ^ SALT_FAST, c.t, 30 * MINUTE_MS);
        (self.base * profile * wander).round().clamp(0.0, self.base)
    }

    /// A charger's power (kW) and state at the clock's time: at most one session per
    /// slot of the charger, starting with a chance by the hour, at full rated power
    /// and tapering over its last 30%.
    pub(super) fn charger(&self, c: &Clock) -> (f64, ChargerState) {
        let t = c.t;
        let slot = (self.amp as i64).max(MINUTE_MS);
        let shift = (self.key >> 24) as i64 % slot;
        let k = t.wrapping_add(shift).div_euclid(slot);
        let slot_start = k.wrapping_mul(slot).wrapping_sub(shift);
        let r = knot(self.key ^ SALT_CHARGE, k);
        let chance = (self.weight * at(&CHARGING, local_hour(slot_start))).clamp(0.0, 0.95);
        if unit(r) >= chance {
            return (0.0, ChargerState::Idle);
        }
        let r2 = mix(r);
        let slot_f = slot as f64;
        let start = slot_start as f64 + 0.3 * slot_f * unit(r2);
        let duration = slot_f * (0.3 + 0.4 * unit(mix(r2)));
        let x = (t as f64 - start) / duration;
        if !(0.0..1.0).contains(&x) {
            return (0.0, ChargerState::Idle);
        }
        let taper = if x < 0.7 {
            1.0
        } else {
            1.0 - 0.7 * (x - 0.7) / 0.3
        };
        let kw = self.base * taper * (0.97 + 0.03 * white(self.key, t));
        (kw.clamp(0.1, 60.0), ChargerState::Charging)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_bounded_and_smooth() {
        for i in 0..2_000i64 {
            let t = 1_777_852_800_000 + i * 7_919;
            let v = smooth(42, t, MINUTE_MS);
            assert!((-1.0..=1.0).contains(&v));
            let w = smooth(42, t + 1_000, MINUTE_MS);
            assert!((v - w).abs() < 0.2, "{v} {w}");
            assert!((-1.0..1.0).contains(&white(42, t)));
        }
        assert_eq!(below(u64::MAX, 10), 9);
        assert_eq!(below(0, 10), 0);
    }

    #[test]
    fn profiles_interpolate_and_wrap() {
        assert!((at(&TRAFFIC, 8.0) - 1.0).abs() < 1e-12);
        assert!((at(&TRAFFIC, 23.5) - 0.08).abs() < 1e-12);
        assert!((at(&TRAFFIC, -0.5) - at(&TRAFFIC, 23.5)).abs() < 1e-12);
        for (h, v) in AFTERNOON.iter().enumerate() {
            let want = (TAU * (h as f64 - 15.0) / 24.0).cos();
            assert!((v - want).abs() < 1e-4);
        }
        // 00:00 UTC is 08:00 in Shanghai.
        assert!((local_hour(1_777_852_800_000) - 8.0).abs() < 1e-12);
    }
}
