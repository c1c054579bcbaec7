//! The telemetry simulator on the bundled island: one sample per sensor per tick,
//! determinism, clean ingest, the three default incidents and the documented ranges.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;
use std::time::Instant;

use twin_chongming::island;
use twin_chongming::sim::{self, ChargerState, Incident, SimConfig, Simulator, StandardChannels};
use twin_core::state::{ChannelId, Quality, Retention, Sample, StateStore};
use twin_core::{AssetKind, Handle, SensorType, Twin};

/// 2026-05-04T00:00:00Z: 08:00 in Shanghai, the morning rush.
const START: i64 = 1_777_852_800_000;
const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const SEED: u64 = 7;

fn twin() -> &'static Twin {
    static TWIN: OnceLock<Twin> = OnceLock::new();
    TWIN.get_or_init(|| match island::bundled() {
        Ok(t) => t,
        Err(e) => panic!("bundled island failed: {e}"),
    })
}

/// The built-in sensors of the twin and their types.
fn sensors() -> &'static BTreeMap<Handle, SensorType> {
    static SENSORS: OnceLock<BTreeMap<Handle, SensorType>> = OnceLock::new();
    SENSORS.get_or_init(|| {
        twin()
            .iter()
            .filter_map(|(h, a)| a.kind.sensor_type().map(|t| (h, t.clone())))
            .filter(|(_, t)| sim::channel_name(t).is_some())
            .collect()
    })
}

fn channels() -> (StateStore, StandardChannels) {
    let mut store = StateStore::new(twin().handle_capacity(), Retention::default(), None);
    let ch = sim::standard_channels(&mut store);
    (store, ch)
}

fn default_sim(seed: u64) -> Simulator {
    let (_, ch) = channels();
    Simulator::new(
        twin(),
        &ch,
        SimConfig::default_for(twin(), seed, twin_core::Timestamp::from_millis(START)),
    )
}

fn tick(sim: &mut Simulator, t: i64) -> Vec<Sample> {
    let mut out = Vec::new();
    sim.tick(twin_core::Timestamp::from_millis(t), &mut out);
    out
}

/// The values of one channel at one tick, by handle.
fn values(samples: &[Sample], channel: ChannelId) -> HashMap<Handle, f64> {
    samples
        .iter()
        .filter(|s| s.channel == channel)
        .map(|s| (s.handle, s.value))
        .collect()
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for x in xs {
        sum += x;
        n += 1;
    }
    assert!(n > 0, "mean of nothing");
    sum / n as f64
}

fn surge(config: &SimConfig) -> (Handle, i64, i64, i64, i64, f64) {
    config
        .incidents
        .iter()
        .find_map(|i| match i {
            Incident::Surge {
                town,
                start,
                ramp_ms,
                hold_ms,
                fall_ms,
                metres,
            } => Some((
                *town,
                start.as_millis(),
                *ramp_ms,
                *hold_ms,
                *fall_ms,
                *metres,
            )),
            _ => None,
        })
        .expect("a surge")
}

fn silence(config: &SimConfig) -> (Vec<Handle>, i64, i64) {
    config
        .incidents
        .iter()
        .find_map(|i| match i {
            Incident::Silence {
                sensors,
                start,
                end,
            } => Some((sensors.clone(), start.as_millis(), end.as_millis())),
            _ => None,
        })
        .expect("a silence")
}

fn fault(config: &SimConfig) -> (Handle, i64, i64) {
    config
        .incidents
        .iter()
        .find_map(|i| match i {
            Incident::ChargerFault {
                charger_sensor,
                start,
                end,
            } => Some((*charger_sensor, start.as_millis(), end.as_millis())),
            _ => None,
        })
        .expect("a charger fault")
}

#[test]
fn standard_channels_are_typed_and_idempotent() {
    let (mut store, ch) = channels();
    assert_eq!(sim::standard_channels(&mut store), ch);
    assert_eq!(store.channels().count(), 17);
    for (name, id) in ch.all() {
        assert_eq!(store.channel(name), Some(id), "{name}");
    }
    assert_eq!(ch.for_type(&SensorType::WaterLevel), Some(ch.level));
    assert_eq!(ch.for_type(&SensorType::ChargerPower), Some(ch.power));
    assert_eq!(ch.for_type(&SensorType::Other("wind".into())), None);
    // Every built-in type has a main channel but the camera, which reports its AI's
    // events on a channel each.
    assert_eq!(ch.for_type(&SensorType::Camera), None);
    for (name, id) in sim::CAMERA_CHANNELS.iter().zip(ch.camera) {
        assert_eq!(store.spec(id).map(|s| s.name.as_str()), Some(*name));
    }
    for t in SensorType::BUILTIN
        .into_iter()
        .filter(|t| *t != SensorType::Camera)
    {
        let id = ch.for_type(&t).expect("built-in type has a channel");
        let name = sim::channel_name(&t).expect("a name");
        assert_eq!(store.spec(id).map(|s| s.name.as_str()), Some(name));
    }
    let unit = |id| store.spec(id).and_then(|s| s.unit.clone());
    assert_eq!(unit(ch.level).as_deref(), Some("m"));
    assert_eq!(unit(ch.co2).as_deref(), Some("ppm"));
    assert_eq!(unit(ch.temperature).as_deref(), Some("°C"));
    assert_eq!(unit(ch.pm25).as_deref(), Some("µg/m³"));
    assert_eq!(unit(ch.noise).as_deref(), Some("dB(A)"));
    assert_eq!(unit(ch.power).as_deref(), Some("kW"));
    assert_eq!(
        store.spec(ch.charger).map(|s| s.ty.clone()),
        Some(twin_core::state::ChannelType::Enum(vec![
            "idle".into(),
            "charging".into(),
            "fault".into()
        ]))
    );
    assert_eq!(
        store.spec(ch.occupied).map(|s| s.ty.clone()),
        Some(twin_core::state::ChannelType::Bool)
    );
    assert_eq!(ChargerState::from_value(2.0), Some(ChargerState::Fault));
    assert_eq!(ChargerState::Charging.name(), "charging");
}

#[test]
fn every_sensor_reports_once_per_tick_outside_incidents() {
    let mut sim = default_sim(SEED);
    let (_, ch) = channels();
    let types = sensors();
    let n_chargers = types
        .values()
        .filter(|t| **t == SensorType::ChargerPower)
        .count();
    assert!(types.len() >= 90_000, "{}", types.len());
    assert!(n_chargers > 1_000, "{n_chargers}");
    assert_eq!(sim.sensor_count(), types.len());
    assert_eq!(sim.charger_count(), n_chargers);
    assert_eq!(sim.samples_per_tick(), types.len() + n_chargers);
    // Before the first incident (5 min) and after the last (45 min).
    for t in [
        START,
        START + 4 * MIN + 59_999,
        START + 45 * MIN,
        START + 3 * HOUR,
    ] {
        let out = tick(&mut sim, t);
        assert_eq!(out.len(), types.len() + n_chargers, "at {t}");
        let mut seen: HashMap<(Handle, ChannelId), usize> = HashMap::new();
        for s in &out {
            assert_eq!(s.ts, twin_core::Timestamp::from_millis(t));
            assert_eq!(s.quality, Quality::Good);
            *seen.entry((s.handle, s.channel)).or_insert(0) += 1;
        }
        for (h, ty) in types {
            let main = ch.for_type(ty).expect("channel");
            assert_eq!(seen.get(&(*h, main)), Some(&1), "{h} {ty}");
            let extra = seen.get(&(*h, ch.charger)).copied().unwrap_or(0);
            assert_eq!(extra, usize::from(*ty == SensorType::ChargerPower), "{h}");
        }
        assert_eq!(seen.len(), out.len());
    }
}

#[test]
fn same_seed_same_samples_other_seed_differs() {
    let (_, ch) = channels();
    let quiet = |seed| {
        Simulator::new(
            twin(),
            &ch,
            SimConfig::quiet(seed, twin_core::Timestamp::from_millis(START)),
        )
    };
    let t = START + 5 * HOUR + 1_234;
    let mut a = quiet(SEED);
    // Call history does not matter: tick other times first, even later ones.
    for dt in [0, 1_000, 9 * HOUR, 2_000] {
        tick(&mut a, START + dt);
    }
    let xa = tick(&mut a, t);
    let xb = tick(&mut quiet(SEED), t);
    assert!(xa == xb, "same seed and time gave different samples");
    assert_eq!(tick(&mut a, t), xa, "a repeated tick differs");
    let xc = tick(&mut quiet(SEED + 1), t);
    assert_eq!(xa.len(), xc.len());
    let numeric: Vec<(&Sample, &Sample)> = xa
        .iter()
        .zip(&xc)
        .filter(|(s, _)| s.channel != ch.occupied && s.channel != ch.charger)
        .collect();
    let differ = numeric.iter().filter(|(x, y)| x.value != y.value).count();
    assert!(
        differ * 10 > numeric.len() * 8,
        "{differ} of {} differ",
        numeric.len()
    );

    // The default incidents are chosen deterministically too.
    let ca = SimConfig::default_for(twin(), SEED, twin_core::Timestamp::from_millis(START));
    assert_eq!(
        ca,
        SimConfig::default_for(twin(), SEED, twin_core::Timestamp::from_millis(START))
    );
    assert_eq!(ca.incidents.len(), 6);
    let cb = SimConfig::default_for(twin(), SEED + 1, twin_core::Timestamp::from_millis(START));
    assert_ne!(ca.incidents, cb.incidents);
    assert_eq!(
        surge(&ca).0,
        surge(&cb).0,
        "the surge town does not depend on the seed"
    );
}

#[test]
fn ticks_apply_to_a_store_without_rejections() {
    let (mut store, _) = channels();
    let mut sim = Simulator::with_store(
        twin(),
        &mut store,
        SimConfig::default_for(twin(), SEED, twin_core::Timestamp::from_millis(START)),
    );
    let mut out = Vec::new();
    let mut times: Vec<i64> = (0..=25).map(|i| START + i * 2 * MIN).collect();
    times.extend([
        START + 15 * MIN - 1,
        START + 30 * MIN - 1,
        START + 30 * MIN + 1,
    ]);
    times.sort_unstable();
    for t in times {
        out.clear();
        sim.tick(twin_core::Timestamp::from_millis(t), &mut out);
        let report = store.apply(&out, twin_core::Timestamp::from_millis(t));
        assert_eq!(report.rejected_total(), 0, "at {t}: {:?}", report.examples);
        assert_eq!(report.applied, out.len() as u64, "at {t}");
    }
}

#[test]
fn surge_raises_its_town_only() {
    let config = SimConfig::default_for(twin(), SEED, twin_core::Timestamp::from_millis(START));
    let (town, start, ramp, hold, fall, metres) = surge(&config);
    assert_eq!(
        (start - START, ramp, hold, fall, metres),
        (10 * MIN, 5 * MIN, 20 * MIN, 10 * MIN, 1.2)
    );
    let t = twin();
    let mut per_town: BTreeMap<Handle, Vec<Handle>> = BTreeMap::new();
    for (h, ty) in sensors() {
        if *ty == SensorType::WaterLevel
            && let Some(town) = t.located_in(*h)
        {
            per_town.entry(town).or_default().push(*h);
        }
    }
    let most = per_town
        .values()
        .map(Vec::len)
        .max()
        .expect("water sensors");
    assert_eq!(per_town[&town].len(), most, "the surge town holds the most");
    let other = per_town
        .iter()
        .filter(|(h, _)| **h != town)
        .max_by_key(|(_, v)| v.len())
        .map(|(h, _)| *h)
        .expect("another town with water sensors");

    let mut sim = default_sim(SEED);
    let level = sim.channels().level;
    let mut town_mean = |times: &[i64], town: Handle| {
        mean(times.iter().flat_map(|&at| {
            let v = values(&tick(&mut sim, at), level);
            per_town[&town].iter().map(|h| v[h]).collect::<Vec<f64>>()
        }))
    };
    let before = [START, START + 3 * MIN, START + 6 * MIN, START + 9 * MIN];
    let held: Vec<i64> = (0..5)
        .map(|i| start + ramp + i * 4 * MIN + 30_000)
        .collect();
    let after = [
        start + ramp + hold + fall,
        start + ramp + hold + fall + 3 * MIN,
    ];
    let (b, d, a) = (
        town_mean(&before, town),
        town_mean(&held, town),
        town_mean(&after, town),
    );
    assert!(d - b >= 1.0, "surge town: before {b:.3}, during {d:.3}");
    assert!(
        (a - b).abs() <= 0.3,
        "surge town: before {b:.3}, after {a:.3}"
    );
    let (ob, od) = (town_mean(&before, other), town_mean(&held, other));
    assert!(
        (od - ob).abs() <= 0.3,
        "other town: before {ob:.3}, during {od:.3}"
    );
    // Half way up the ramp, about half the surge.
    let mid = town_mean(&[start + ramp / 2], town);
    assert!(
        mid - b > 0.3 && mid - b < 0.9,
        "mid-ramp {mid:.3} vs {b:.3}"
    );
    let text = config.incidents[0].describe(t);
    assert!(text.contains("surge") && text.contains("+1.20 m"), "{text}");
}

#[test]
fn silenced_sensors_emit_nothing_in_their_window() {
    let config = SimConfig::default_for(twin(), SEED, twin_core::Timestamp::from_millis(START));
    let (quiet, start, end) = silence(&config);
    assert_eq!((start - START, end - START), (15 * MIN, 30 * MIN));
    assert!((150..=250).contains(&quiet.len()), "{}", quiet.len());
    let t = twin();
    let towns: BTreeSet<Option<Handle>> = quiet.iter().map(|h| t.located_in(*h)).collect();
    assert_eq!(towns.len(), 1, "one town");
    assert_ne!(towns.first().copied().flatten(), Some(surge(&config).0));
    let quiet_set: BTreeSet<Handle> = quiet.iter().copied().collect();
    let quiet_chargers = quiet
        .iter()
        .filter(|h| sensors()[h] == SensorType::ChargerPower)
        .count();

    let mut sim = default_sim(SEED);
    let full = sim.samples_per_tick();
    let reported = |out: &[Sample]| out.iter().filter(|s| quiet_set.contains(&s.handle)).count();
    // Samples of the periodic sensors (the cameras' events come on top).
    let periodic = |out: &[Sample]| {
        out.iter()
            .filter(|s| sensors().contains_key(&s.handle))
            .count()
    };
    for at in [start, start + 7 * MIN + 500, end - 1] {
        let out = tick(&mut sim, at);
        assert_eq!(reported(&out), 0, "silenced sensors reported at {at}");
        assert_eq!(
            periodic(&out),
            full - quiet.len() - quiet_chargers,
            "at {at}"
        );
    }
    for at in [start - 1, end, end + MIN] {
        let out = tick(&mut sim, at);
        assert_eq!(reported(&out), quiet.len() + quiet_chargers, "at {at}");
        assert_eq!(periodic(&out), full, "at {at}");
    }
    let text = config.incidents[1].describe(t);
    assert!(text.contains("sensors silent"), "{text}");
}

#[test]
fn faulty_charger_reports_zero_power_and_fault() {
    let config = SimConfig::default_for(twin(), SEED, twin_core::Timestamp::from_millis(START));
    let (charger, start, end) = fault(&config);
    assert_eq!((start - START, end - START), (5 * MIN, 30 * MIN));
    assert_eq!(sensors()[&charger], SensorType::ChargerPower);
    let mut sim = default_sim(SEED);
    let ch = *sim.channels();
    let read = |out: &[Sample]| {
        (
            values(out, ch.power)[&charger],
            values(out, ch.charger)[&charger],
        )
    };
    for at in [start, start + 12 * MIN, end - 1] {
        let (kw, state) = read(&tick(&mut sim, at));
        assert_eq!(kw, 0.0, "at {at}");
        assert_eq!(ChargerState::from_value(state), Some(ChargerState::Fault));
    }
    for at in [start - 1, end, end + HOUR] {
        let (kw, state) = read(&tick(&mut sim, at));
        let state = ChargerState::from_value(state).expect("a state");
        assert_ne!(state, ChargerState::Fault, "at {at}");
        assert_eq!(state == ChargerState::Charging, kw > 0.0, "at {at}");
    }
    // No other charger faults.
    let out = tick(&mut sim, start + MIN);
    let faults = values(&out, ch.charger)
        .values()
        .filter(|v| **v == ChargerState::Fault.value())
        .count();
    assert_eq!(faults, 1);
    let text = config.incidents[2].describe(twin());
    assert!(
        text.contains("fault") && text.contains("CM-S-CP-"),
        "{text}"
    );
}

#[test]
fn values_stay_in_documented_ranges_over_a_day() {
    let (_, ch) = channels();
    let mut sim = Simulator::new(
        twin(),
        &ch,
        SimConfig::quiet(SEED, twin_core::Timestamp::from_millis(START)),
    );
    let ranges: HashMap<ChannelId, (f64, f64)> = [
        (ch.level, (1.5, 3.5)),
        (ch.wqi, (60.0, 95.0)),
        (ch.pm25, (15.0, 80.0)),
        (ch.noise, (40.0, 75.0)),
        (ch.moisture, (20.0, 40.0)),
        (ch.vehicles, (0.0, 120.0)),
        (ch.occupied, (0.0, 1.0)),
        (ch.power, (0.0, 60.0)),
        (ch.charger, (0.0, 1.0)),
        (ch.energy, (0.0, 600.0)),
    ]
    .into_iter()
    .collect();
    // Means per channel and local hour (START is 08:00 local).
    let mut by_hour: HashMap<(ChannelId, i64), (f64, usize)> = HashMap::new();
    let mut tide: HashMap<Handle, (f64, f64)> = HashMap::new();
    let mut charging_seen = 0usize;
    for i in 0..96 {
        let t = START + i * 15 * MIN;
        let local_hour = (8 + i / 4) % 24;
        let out = tick(&mut sim, t);
        assert_eq!(out.len(), sim.samples_per_tick());
        let mut power = HashMap::new();
        for s in &out {
            let (lo, hi) = ranges[&s.channel];
            assert!(
                s.value.is_finite() && s.value >= lo && s.value <= hi,
                "{} {:?} = {} at {t}",
                s.handle,
                s.channel,
                s.value
            );
            if s.channel == ch.occupied || s.channel == ch.charger || s.channel == ch.vehicles {
                assert_eq!(s.value.fract(), 0.0, "{:?} = {}", s.channel, s.value);
            }
            if s.channel == ch.power {
                power.insert(s.handle, s.value);
            }
            if s.channel == ch.charger {
                assert_eq!(s.value == 1.0, power[&s.handle] > 0.0);
                charging_seen += usize::from(s.value == 1.0);
            }
            if s.channel == ch.level {
                let e = tide.entry(s.handle).or_insert((f64::MAX, f64::MIN));
                *e = (e.0.min(s.value), e.1.max(s.value));
            }
            let e = by_hour.entry((s.channel, local_hour)).or_insert((0.0, 0));
            *e = (e.0 + s.value, e.1 + 1);
        }
    }
    let at = |c: ChannelId, h: i64| {
        let (sum, n) = by_hour[&(c, h)];
        sum / n as f64
    };
    assert!(
        at(ch.vehicles, 8) > 4.0 * at(ch.vehicles, 3),
        "traffic rush"
    );
    assert!(
        at(ch.vehicles, 17) > 1.3 * at(ch.vehicles, 13),
        "evening rush"
    );
    assert!(at(ch.pm25, 8) > at(ch.pm25, 14) + 5.0, "PM2.5 morning peak");
    assert!(at(ch.noise, 14) > at(ch.noise, 3) + 6.0, "noise by day");
    assert!(
        at(ch.occupied, 11) > at(ch.occupied, 3) + 0.25,
        "parking by day"
    );
    assert!(at(ch.energy, 19) > 1.5 * at(ch.energy, 3), "evening energy");
    assert!(charging_seen > 1_000, "{charging_seen} charging samples");
    let daily_mean = mean((0..24).map(|h| at(ch.level, h)));
    assert!((daily_mean - 2.5).abs() < 0.1, "mean level {daily_mean}");
    let swing = mean(tide.values().map(|(lo, hi)| hi - lo));
    assert!((0.6..=1.0).contains(&swing), "tidal range {swing}");
}

#[test]
fn incidents_windows_and_unknown_handles() {
    let config = SimConfig::default_for(twin(), SEED, twin_core::Timestamp::from_millis(START));
    for inc in &config.incidents {
        let (a, b) = inc.window();
        assert!(a < b);
        assert!(inc.is_active(a) && !inc.is_active(b) && !inc.is_active(a.add_ms(-1)));
        let text = inc.describe(twin());
        println!("{text}");
        assert!(!text.is_empty());
    }
    // Incidents on handles that are not simulated sensors change nothing.
    let (_, ch) = channels();
    let bogus = SimConfig {
        seed: SEED,
        start: twin_core::Timestamp::from_millis(START),
        incidents: vec![
            Incident::Silence {
                sensors: vec![Handle(0), Handle(u32::MAX)],
                start: twin_core::Timestamp::from_millis(START),
                end: twin_core::Timestamp::from_millis(START + HOUR),
            },
            Incident::ChargerFault {
                charger_sensor: Handle(0),
                start: twin_core::Timestamp::from_millis(START),
                end: twin_core::Timestamp::from_millis(START + HOUR),
            },
            Incident::Surge {
                town: Handle(u32::MAX),
                start: twin_core::Timestamp::from_millis(START),
                ramp_ms: 0,
                hold_ms: HOUR,
                fall_ms: 0,
                metres: f64::NAN,
            },
        ],
    };
    let mut a = Simulator::new(twin(), &ch, bogus);
    let mut b = Simulator::new(
        twin(),
        &ch,
        SimConfig::quiet(SEED, twin_core::Timestamp::from_millis(START)),
    );
    assert_eq!(tick(&mut a, START + MIN), tick(&mut b, START + MIN));
}

/// Release timing: `cargo test --release -p twin-core --test sim -- --ignored --nocapture`.
#[test]
#[ignore = "timing; run in release"]
fn tick_time_for_the_bundled_island() {
    twin();
    let t0 = Instant::now();
    let mut sim = default_sim(SEED);
    let built = t0.elapsed();
    let mut out = Vec::with_capacity(sim.samples_per_tick());
    let n: i64 = 200;
    let t0 = Instant::now();
    for i in 0..n {
        out.clear();
        sim.tick(
            twin_core::Timestamp::from_millis(START + i * 1_000),
            &mut out,
        );
    }
    let per = t0.elapsed() / n as u32;
    println!(
        "{} sensors, {} samples per tick: {per:?} per tick (built in {built:?})",
        sim.sensor_count(),
        out.len()
    );
}

#[test]
fn camera_events_report_their_confidence_then_zero_for_a_minute() {
    let config = SimConfig::default_for(twin(), SEED, twin_core::Timestamp::from_millis(START));
    let t = twin();
    let events: Vec<(Handle, String, f64, i64, i64)> = config
        .incidents
        .iter()
        .filter_map(|i| match i {
            Incident::CameraEvent {
                camera,
                event,
                confidence,
                start,
                end,
            } => Some((
                *camera,
                event.clone(),
                *confidence,
                start.as_millis(),
                end.as_millis(),
            )),
            _ => None,
        })
        .collect();
    let names: Vec<&str> = events.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(
        names,
        ["exposed_garbage", "illegal_parking", "standing_water"]
    );
    // Garbage and parking in two towns other than the surge's; water in the surge's.
    let town = |h: Handle| t.located_in(h);
    let surge_town = Some(surge(&config).0);
    assert_ne!(town(events[0].0), surge_town);
    assert_ne!(town(events[1].0), surge_town);
    assert_ne!(town(events[0].0), town(events[1].0));
    assert_eq!(town(events[2].0), surge_town);
    for (camera, _, _, _, _) in &events {
        assert_eq!(
            t.get(*camera).unwrap().kind,
            AssetKind::Sensor(SensorType::Camera)
        );
    }
    let (_, ch) = channels();
    let mut sim = default_sim(SEED);
    let seen = |out: &[Sample], (camera, event, ..): &(Handle, String, f64, i64, i64)| {
        let i = sim::CAMERA_CHANNELS
            .iter()
            .position(|c| c == event)
            .unwrap();
        let on: Vec<f64> = out
            .iter()
            .filter(|s| s.handle == *camera && s.channel == ch.camera[i])
            .map(|s| s.value)
            .collect();
        on
    };
    for e in &events {
        let (_, _, confidence, start, end) = *e;
        assert_eq!(seen(&tick(&mut sim, start - 1), e), Vec::<f64>::new());
        assert_eq!(seen(&tick(&mut sim, start), e), [confidence]);
        assert_eq!(seen(&tick(&mut sim, end - 1), e), [confidence]);
        assert_eq!(seen(&tick(&mut sim, end), e), [0.0]);
        assert_eq!(seen(&tick(&mut sim, end + MIN - 1), e), [0.0]);
        assert_eq!(seen(&tick(&mut sim, end + MIN), e), Vec::<f64>::new());
    }
    assert_eq!(
        (events[0].3 - START, events[0].4 - START, events[0].2),
        (8 * MIN, 28 * MIN, 0.87)
    );
    let text = config.incidents[3].describe(t);
    assert!(
        text.contains("sees exposed garbage (confidence 0.87)"),
        "{text}"
    );
    assert!(text.contains("(20 min)"), "{text}");
}
