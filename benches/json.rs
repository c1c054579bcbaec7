//! JSON Lines telemetry as twin accepts it, parsed, applied to the live island and
//! checked against the default alert rules.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use twin_chongming::DEFAULT_RULES_JSON;
use twin_chongming::island;
use twin_chongming::sim::{SimConfig, Simulator, standard_config, standard_session};
use twin_core::state::{Sample, Value, decode};
use twin_core::telemetry::{
    JsonIngest, parse_json_line_fast, parse_json_line_serde, parse_json_line_typed,
};
use twin_core::{Session, Timestamp, Twin};

use super::T0;

/// The plainest typed serde derive of a line, strings borrowed: a lower bound of what
/// serde costs, not a replacement (unlike `parse_json_line_typed` it refuses repeated
/// members, does not check other members' numbers, reads an array as a line and
/// words its errors its own way).
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct PlainLine<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    channel: Cow<'a, str>,
    ts: i64,
    #[serde(borrow)]
    value: PlainValue<'a>,
    #[serde(borrow)]
    quality: Option<Cow<'a, str>>,
}

/// `value` of [`PlainLine`] (untagged: serde buffers it, then tries each variant).
#[derive(serde::Deserialize)]
#[serde(untagged)]
#[allow(dead_code)]
enum PlainValue<'a> {
    Num(f64),
    Bool(bool),
    Text(#[serde(borrow)] Cow<'a, str>),
}

/// The bundled island as `twin run` builds it: standard channels, six hours of
/// history in at most 512 MiB, the default rules, sensors online for 120 s.
fn live_island() -> (Session, Simulator) {
    let twin: Twin = island::bundled().expect("island");
    let config = standard_config(6 * 3_600_000, Some(512 << 20));
    let (live, channels) = standard_session(twin, config, DEFAULT_RULES_JSON).expect("rules");
    let sim = Simulator::new(
        live.twin(),
        &channels,
        SimConfig::default_for(live.twin(), 2026, twin_core::Timestamp::from_millis(T0)),
    );
    (live, sim)
}

/// One second of the island's sensors as JSON Lines, one reading per line, values as
/// a Rust or serde_json writer prints them (shortest round-trip form).
fn second_as_json(live: &Session, ids: &[String], samples: &[Sample]) -> String {
    let mut text = String::with_capacity(samples.len() * 80);
    for s in samples {
        let spec = live.store().spec(s.channel).expect("channel");
        let id = &ids[s.handle.index()];
        let _ = write!(
            text,
            "{{\"id\":\"{id}\",\"channel\":\"{}\",\"ts\":{},\"value\":",
            spec.name, s.ts
        );
        let _ = match decode(&spec.ty, s.value) {
            Value::Num(n) => write!(text, "{n}"),
            Value::Bool(b) => write!(text, "{b}"),
            Value::Text(t) => write!(text, "\"{t}\""),
        };
        text.push_str("}\n");
    }
    text
}

pub fn benches(c: &mut Criterion) {
    let (mut live, mut sim) = live_island();
    let ids: Vec<String> = (0..live.twin().handle_capacity())
        .map(|i| {
            live.twin()
                .get(twin_core::Handle(i as u32))
                .map(|a| a.id.clone())
                .unwrap_or_default()
        })
        .collect();
    let mut second = 0i64;
    let mut make = |live: &Session, second: i64| -> (String, usize) {
        let mut out = Vec::new();
        sim.tick(
            twin_core::Timestamp::from_millis(T0 + second * 1000),
            &mut out,
        );
        (second_as_json(live, &ids, &out), out.len())
    };
    // Warm up: the first seconds fill the columns, history and alert state.
    let mut ingest = JsonIngest::new();
    for _ in 0..30 {
        second += 1;
        let (text, _) = make(&live, second);
        ingest.ingest(
            &mut live,
            &text,
            "warm-up",
            twin_core::Timestamp::from_millis(T0 + second * 1000),
        );
    }
    let (text, lines) = make(&live, second + 1);
    let mut g = c.benchmark_group("json");
    g.throughput(Throughput::Elements(lines as u64));
    g.sample_size(20);
    // Parse only, the same lines (one second of the island) for the three parsers.
    let input: Vec<&str> = text.lines().collect();
    assert_eq!(input.len(), lines);
    for line in &input {
        let fast = parse_json_line_fast(line).expect("the fast path reads every line");
        let typed = parse_json_line_typed(line).expect("typed");
        assert_eq!(
            typed.borrowed(),
            Some(fast),
            "typed serde borrows every line"
        );
        assert_eq!(parse_json_line_serde(line), Ok(fast.to_reading()));
    }
    g.bench_function("parse only: hand-written fast path (borrowed)", |b| {
        b.iter(|| {
            for line in &input {
                black_box(parse_json_line_fast(black_box(line)));
            }
        })
    });
    g.bench_function(
        "parse only: typed serde, strings borrowed (no Value)",
        |b| {
            b.iter(|| {
                for line in &input {
                    let _ = black_box(parse_json_line_typed(black_box(line)));
                }
            })
        },
    );
    g.bench_function(
        "parse only: plain serde derive, untagged value (not exact)",
        |b| {
            b.iter(|| {
                for line in &input {
                    let _ = black_box(serde_json::from_str::<PlainLine<'_>>(black_box(line)));
                }
            })
        },
    );
    g.bench_function("parse only: serde_json Value DOM (owned)", |b| {
        b.iter(|| {
            for line in &input {
                let _ = black_box(parse_json_line_serde(black_box(line)));
            }
        })
    });
    g.bench_function(
        "JSON Lines parsed, applied and rule-checked (one second of the island)",
        |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    second += 1;
                    let (text, _) = make(&live, second);
                    let start = Instant::now();
                    let done = ingest.ingest(
                        &mut live,
                        &text,
                        "bench",
                        twin_core::Timestamp::from_millis(T0 + second * 1000),
                    );
                    total += start.elapsed();
                    assert!(done.errors.is_empty() && done.report.rejected_total() == 0);
                    black_box(done);
                }
                total
            })
        },
    );
    g.bench_function(
        "reference: serde_json parse + apply_readings (one second of the island)",
        |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    second += 1;
                    let (text, _) = make(&live, second);
                    let start = Instant::now();
                    let readings: Vec<_> = text
                        .lines()
                        .filter_map(|l| parse_json_line_serde(l).ok())
                        .collect();
                    let report =
                        live.apply_readings(&readings, Timestamp::from_millis(T0 + second * 1000));
                    total += start.elapsed();
                    black_box(report);
                }
                total
            })
        },
    );
    g.finish();
}
