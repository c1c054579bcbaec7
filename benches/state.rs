//! Live state: resolved updates applied per second, readings by id, and an overlay
//! refresh with 1% of 1M+ assets changed.
//!
//! `cargo bench -p twin-benches --bench state`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use twin_core::state::{
    ChannelSpec, Layer, Overlay, Quality, Reading, Retention, Rgba, Sample, StateStore, Style,
    Value,
};
use twin_core::synth::SynthConfig;
use twin_core::{Handle, KindFilter, island};

const T0: i64 = 1_763_700_000_000;

fn benches(c: &mut Criterion) {
    // The bundled island: 100,000 sensors.
    let twin = island::bundled().expect("island");
    let sensors: Vec<Handle> = twin
        .iter()
        .filter(|(_, a)| a.kind.sensor_type().is_some())
        .map(|(h, _)| h)
        .collect();
    let n = sensors.len();
    let retention = Retention {
        max_age_ms: Some(3_600_000),
        max_samples: None,
    };
    let mut store = StateStore::new(twin.handle_capacity(), retention, None);
    let ch = store.register(ChannelSpec::number("value", ""));

    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Elements(n as u64));
    let mut second = 0i64;
    g.bench_function(
        "resolved samples, one per sensor per second (with history)",
        |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    second += 1;
                    let ts = T0 + second * 1000;
                    let batch: Vec<Sample> = sensors
                        .iter()
                        .enumerate()
                        .map(|(i, &h)| Sample {
                            handle: h,
                            channel: ch,
                            ts,
                            value: (i as f64 * 0.01 + second as f64).sin(),
                            quality: Quality::Good,
                        })
                        .collect();
                    let start = Instant::now();
                    black_box(store.apply(&batch, ts));
                    total += start.elapsed();
                }
                total
            })
        },
    );
    let ids: Vec<String> = sensors
        .iter()
        .map(|&h| twin.get(h).map(|a| a.id.clone()).unwrap_or_default())
        .collect();
    g.bench_function("readings by external id and channel name", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                second += 1;
                let ts = T0 + second * 1000;
                let batch: Vec<Reading> = ids
                    .iter()
                    .map(|id| Reading {
                        id: id.clone(),
                        channel: "value".into(),
                        ts,
                        value: Value::Num(second as f64),
                        quality: Quality::Good,
                    })
                    .collect();
                let start = Instant::now();
                black_box(store.apply_readings(&twin, &batch, ts));
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
    println!(
        "history: {} samples in {} bytes",
        store.history().total_samples(),
        store.history().bytes()
    );
    drop(store);
    drop(twin);

    // 1M+ assets, 1% of them changed between refreshes.
    let big = island::load(&SynthConfig {
        seed: 2026,
        scale: 7.0,
    })
    .expect("island x7");
    let all: Vec<Handle> = big.iter().map(|(h, _)| h).collect();
    let mut store = StateStore::new(
        big.handle_capacity(),
        Retention {
            max_age_ms: None,
            max_samples: Some(4),
        },
        None,
    );
    let ch = store.register(ChannelSpec::number("value", ""));
    let layer = Layer {
        name: "all".into(),
        kinds: KindFilter::AnyOf(vec![KindFilter::AnySensor, KindFilter::parse("building")]),
        channel: ch,
        style: Style::Ramp(vec![
            (0.0, Rgba::rgb(0, 128, 255)),
            (1.0, Rgba::rgb(255, 64, 0)),
        ]),
        stale_after_ms: Some(60_000),
        stale: Rgba::rgb(128, 128, 128),
        no_data: Rgba::rgb(40, 40, 40),
    };
    let mut overlay = Overlay::new(&big, vec![layer]).expect("overlay");
    overlay.refresh(&mut store, T0);
    let step = 100; // 1%
    let mut g = c.benchmark_group("overlay");
    let mut round = 0usize;
    g.bench_function(
        format!("refresh, 1% of {} assets changed", all.len()),
        |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    round += 1;
                    let ts = T0 + round as i64 * 1000;
                    let batch: Vec<Sample> = all
                        .iter()
                        .skip(round % step)
                        .step_by(step)
                        .map(|&h| Sample {
                            handle: h,
                            channel: ch,
                            ts,
                            value: (round % 10) as f64 / 10.0,
                            quality: Quality::Good,
                        })
                        .collect();
                    store.apply(&batch, ts);
                    let start = Instant::now();
                    black_box(overlay.refresh(&mut store, ts));
                    total += start.elapsed();
                }
                total
            })
        },
    );
    g.finish();
}

criterion_group!(state, benches);
criterion_main!(state);
