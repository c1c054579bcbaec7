//! What grouping alerts into incidents costs beside the ingest it rides on (issue 18's
//! goal: 10,000 alerts a second grouped in at most 10% of the ingest CPU of the same
//! run).
//!
//! On the bundled island (100,000 sensors), a rule per numeric channel, and one
//! incident family holding every rule that groups by town and within 2 km (the
//! costlier test): one second of telemetry (a sample from every sensor) in which
//! 10,000 sensors spread over the island cross their rule, then one in which they all
//! fall back. Measured in the same run:
//!
//! * **ingest**: `Session::apply` of the two seconds — state, history, vital signs,
//!   alerts, incidents and orders together;
//! * **grouping**: `Incidents::on_events` of the same 20,000 alert events alone.
//!
//! The line `grouping share` gives grouping ÷ ingest (best of 5 pairs each).
//!
//! `cargo bench -p twin-benches --bench incidents`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use twin_chongming::island;
use twin_chongming::sim::{standard_config, standard_session};
use twin_core::state::alert::AlertEvent;
use twin_core::state::incident::{IncidentRules, Incidents};
use twin_core::state::{Quality, Sample};
use twin_core::{Session, Timestamp};

const T0: i64 = 1_763_700_000_000;
const ALERTS: usize = 10_000;

/// A rule per numeric channel, far above anything the island reads.
const RULES: &str = r#"[
  {"id": "level-x", "kinds": "sensor:water_level", "channel": "level", "above": 1000, "severity": "critical"},
  {"id": "wqi-x", "kinds": "sensor:water_quality", "channel": "wqi", "above": 1000, "severity": "warning"},
  {"id": "pm25-x", "kinds": "sensor:pm25", "channel": "pm25", "above": 1000, "severity": "warning"},
  {"id": "noise-x", "kinds": "sensor:noise", "channel": "noise", "above": 1000, "severity": "warning"},
  {"id": "moisture-x", "kinds": "sensor:soil_moisture", "channel": "moisture", "above": 1000, "severity": "info"},
  {"id": "vehicles-x", "kinds": "sensor:traffic_counter", "channel": "vehicles", "above": 1000, "severity": "info"},
  {"id": "power-x", "kinds": "sensor:charger_power", "channel": "power", "above": 1000, "severity": "info"},
  {"id": "energy-x", "kinds": "sensor:building_energy", "channel": "energy", "above": 1000, "severity": "info"}
]"#;

const GROUPS: &str = r#"[{"family": "everything", "rules": ["level-x", "wqi-x", "pm25-x",
  "noise-x", "moisture-x", "vehicles-x", "power-x", "energy-x"], "same_town": true,
  "within_m": 2000, "quiet_s": 600}]"#;

/// The session and its two seconds: every sensor reads 1.0, except that in the first
/// second `ALERTS` of them read 2000.
struct Setup {
    live: Session,
    high: Vec<Sample>,
    low: Vec<Sample>,
    t: i64,
}

fn setup() -> Setup {
    let twin = island::bundled().expect("island");
    let (mut live, channels) =
        standard_session(twin, standard_config(60_000, Some(64 << 20)), RULES).expect("rules");
    live.set_incident_rules(IncidentRules::from_json(GROUPS).expect("groups"));
    let sensors: Vec<Sample> = live
        .twin()
        .iter()
        .filter_map(|(h, a)| {
            let t = a.kind.sensor_type()?;
            let channel = channels.for_type(t)?;
            (channel != channels.occupied).then_some(Sample {
                handle: h,
                channel,
                ts: Timestamp::from_millis(T0),
                value: 1.0,
                quality: Quality::Good,
            })
        })
        .collect();
    let every = (sensors.len() / ALERTS).max(1);
    let low = sensors.clone();
    let high = sensors
        .iter()
        .enumerate()
        .map(|(i, s)| Sample {
            value: if i % every == 0 && i / every < ALERTS {
                2000.0
            } else {
                1.0
            },
            ..*s
        })
        .collect();
    Setup {
        live,
        high,
        low,
        t: T0,
    }
}

impl Setup {
    /// Applies the high second then the low one; returns the alert events.
    fn pair(&mut self) -> Vec<AlertEvent> {
        let mut events = Vec::new();
        for batch in [&mut self.high, &mut self.low] {
            self.t += 1000;
            for s in batch.iter_mut() {
                s.ts = Timestamp::from_millis(self.t);
            }
            self.live.apply(batch, Timestamp::from_millis(self.t));
            events.extend(self.live.drain_events(usize::MAX));
            self.live.drain_incident_events(usize::MAX);
            self.live.drain_order_events(usize::MAX);
        }
        events
    }
}

fn best_of(n: usize, mut f: impl FnMut() -> Duration) -> Duration {
    (0..n).map(|_| f()).min().unwrap_or_default()
}

fn benches(c: &mut Criterion) {
    let mut s = setup();
    let events = s.pair();
    let raised = events
        .iter()
        .filter(|e| matches!(e, AlertEvent::Raised(_)))
        .count();
    assert_eq!(raised, ALERTS, "the first second raises {ALERTS} alerts");

    // The ratio, measured here in the same run.
    let ingest = best_of(5, || {
        let start = Instant::now();
        black_box(s.pair());
        start.elapsed()
    });
    let rules = IncidentRules::from_json(GROUPS).expect("groups");
    let grouping = best_of(5, || {
        let mut book = Incidents::new(rules.clone());
        let start = Instant::now();
        black_box(book.on_events(s.live.twin(), &events));
        start.elapsed()
    });
    println!(
        "grouping share: {:.1}% ({:.1} ms of grouping {} alert events in {:.1} ms of ingest, \
         two seconds of {} samples)",
        100.0 * grouping.as_secs_f64() / ingest.as_secs_f64(),
        grouping.as_secs_f64() * 1e3,
        events.len(),
        ingest.as_secs_f64() * 1e3,
        s.high.len()
    );

    let mut g = c.benchmark_group("incidents");
    g.bench_function(
        "ingest: two seconds of 100,000 sensors, 10,000 alerts raised and cleared",
        |b| b.iter(|| black_box(s.pair())),
    );
    g.bench_function(
        "grouping: the same 20,000 alert events into incidents",
        |b| {
            b.iter(|| {
                let mut book = Incidents::new(rules.clone());
                black_box(book.on_events(s.live.twin(), &events))
            })
        },
    );
    g.finish();
}

criterion_group! {
    name = incident_benches;
    config = Criterion::default().sample_size(10);
    targets = benches
}
criterion_main!(incident_benches);
