//! Live state: resolved updates applied per second, readings by id, and an overlay
//! refresh with 1% of 1M+ assets changed.
//!
//! `cargo bench -p twin-benches --bench state`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use twin_chongming::island;
use twin_chongming::synth::SynthConfig;
use twin_core::state::history::DEFAULT_HOT_CAPACITY;
use twin_core::state::{
    ChannelSpec, Layer, Overlay, Quality, Reading, Retention, Rgba, Sample, StateStore, Style,
    Value,
};
use twin_core::{Handle, KindFilter};

mod json;

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
    // Ten minutes of history per series: the steady state, with retention trimming.
    let retention = Retention {
        max_age_ms: Some(600_000),
        max_samples: None,
    };
    let mut store = StateStore::new(twin.handle_capacity(), retention, None);
    let ch = store.register(ChannelSpec::number("value", ""));

    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Elements(n as u64));
    let mut second = 0i64;
    let batch_at = |second: i64| -> Vec<Sample> {
        let ts = T0 + second * 1000;
        sensors
            .iter()
            .enumerate()
            .map(|(i, &h)| Sample {
                handle: h,
                channel: ch,
                ts: twin_core::Timestamp::from_millis(ts),
                value: (i as f64 * 0.01 + second as f64).sin(),
                quality: Quality::Good,
            })
            .collect()
    };
    // The apply itself: latest columns + hot-log append. The log is compacted outside
    // the timed part whenever the next batch would fill it, i.e. where `apply` would
    // compact by itself (that cost is measured below).
    store.set_history_hot_capacity(usize::MAX);
    g.bench_function("apply resolved samples (latest + hot-log append)", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                second += 1;
                let batch = batch_at(second);
                if store.history().pending() + n > DEFAULT_HOT_CAPACITY {
                    store.compact_history();
                }
                let start = Instant::now();
                black_box(store.apply(
                    &batch,
                    twin_core::Timestamp::from_millis(T0 + second * 1000),
                ));
                total += start.elapsed();
            }
            total
        })
    });
    // Compaction alone: 10 batches (10 samples per series) moved from the log into the
    // series' chunks.
    const ROUNDS: usize = 10;
    g.throughput(Throughput::Elements((ROUNDS * n) as u64));
    g.sample_size(20);
    store.compact_history();
    g.bench_function("compaction of 10 samples per series", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                for _ in 0..ROUNDS {
                    second += 1;
                    store.apply(
                        &batch_at(second),
                        twin_core::Timestamp::from_millis(T0 + second * 1000),
                    );
                }
                let start = Instant::now();
                black_box(store.compact_history());
                total += start.elapsed();
            }
            total
        })
    });
    // End to end: the default hot-log capacity, 10 batches applied, then the rest of
    // the log compacted; everything timed.
    store.set_history_hot_capacity(DEFAULT_HOT_CAPACITY);
    g.bench_function("sustained: apply + compaction, 10 batches", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let batches: Vec<Vec<Sample>> = (0..ROUNDS)
                    .map(|k| batch_at(second + 1 + k as i64))
                    .collect();
                let start = Instant::now();
                for batch in &batches {
                    second += 1;
                    black_box(
                        store.apply(batch, twin_core::Timestamp::from_millis(T0 + second * 1000)),
                    );
                }
                black_box(store.compact_history());
                total += start.elapsed();
            }
            total
        })
    });
    g.sample_size(100);
    g.throughput(Throughput::Elements(n as u64));
    g.finish();
    memory(&sensors, ch, twin.handle_capacity());
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Elements(n as u64));
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
                        ts: twin_core::Timestamp::from_millis(ts),
                        value: Value::Num(second as f64),
                        quality: Quality::Good,
                    })
                    .collect();
                let start = Instant::now();
                black_box(store.apply_readings(
                    &twin,
                    &batch,
                    twin_core::Timestamp::from_millis(ts),
                ));
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
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
        kinds: KindFilter::AnyOf(vec![
            KindFilter::AnySensor,
            "building".parse::<KindFilter>().unwrap(),
        ]),
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
    overlay.refresh(&mut store, twin_core::Timestamp::from_millis(T0));
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
                            ts: twin_core::Timestamp::from_millis(ts),
                            value: (round % 10) as f64 / 10.0,
                            quality: Quality::Good,
                        })
                        .collect();
                    store.apply(&batch, twin_core::Timestamp::from_millis(ts));
                    let start = Instant::now();
                    black_box(overlay.refresh(&mut store, twin_core::Timestamp::from_millis(ts)));
                    total += start.elapsed();
                }
                total
            })
        },
    );
    g.finish();
}

/// Bytes per stored sample after compaction (100,000 series, one sample per second
/// for ten minutes, nothing dropped), and per sample waiting in the hot log (its
/// records and fixed parts, when ten batches wait).
fn memory(sensors: &[Handle], ch: twin_core::state::ChannelId, capacity: usize) {
    let mut store = StateStore::new(capacity, Retention::UNLIMITED, None);
    store.register(ChannelSpec::number("value", ""));
    let seconds = 600;
    let mut hot = (0, 0);
    for s in 0..seconds {
        let ts = T0 + s * 1000;
        let batch: Vec<Sample> = sensors
            .iter()
            .map(|&h| Sample {
                handle: h,
                channel: ch,
                ts: twin_core::Timestamp::from_millis(ts),
                value: s as f64,
                quality: Quality::Good,
            })
            .collect();
        store.apply(&batch, twin_core::Timestamp::from_millis(ts));
        if s == 9 {
            hot = (store.history().hot_bytes(), store.history().pending());
        }
    }
    store.compact_history();
    let h = store.history();
    println!(
        "memory: {} series x {seconds} s = {} samples: {:.2} B/sample compacted ({} B); \
         hot log {} B for {} pending samples = {:.2} B/sample (16 B records + fixed parts)",
        sensors.len(),
        h.total_samples(),
        h.bytes() as f64 / h.total_samples() as f64,
        h.bytes(),
        hot.0,
        hot.1,
        hot.0 as f64 / hot.1 as f64,
    );
}

criterion_group!(state, benches, json::benches);
criterion_main!(state);
