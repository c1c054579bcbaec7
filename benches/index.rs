//! Spatial index and queries on 1M+ assets: rstar (twin's index) side by side with
//! geo-index's static packed Hilbert R-tree, on the same envelopes.
//!
//! `cargo bench -p twin-benches --bench index`; `TWIN_BENCH_SCALE` (default 7) sets the
//! synthetic island's scale (7 ≈ 1.1M assets).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use geo_index::rtree::sort::HilbertSort;
use geo_index::rtree::{RTree, RTreeBuilder, RTreeIndex};
use twin_chongming::island;
use twin_chongming::synth::SynthConfig;
use twin_core::index::{Entry, SpatialIndex};
use twin_core::{AssetKind, KindFilter, Twin};

/// Deterministic query points: round-robin over the seats of the towns with jitter.
fn query_points(twin: &Twin, n: usize) -> Vec<(f64, f64)> {
    let seats: Vec<(f64, f64)> = twin
        .iter()
        .filter(|(_, a)| a.kind == AssetKind::Building)
        .step_by(997)
        .filter_map(|(h, _)| {
            let e = twin.index().iter().find(|e| e.handle == h)?;
            Some(twin.frame().to_geographic(e.min()[0], e.min()[1]))
        })
        .collect();
    (0..n).map(|i| seats[i % seats.len()]).collect()
}

fn geo_index_tree(entries: &[Entry]) -> RTree<f64> {
    let mut b = RTreeBuilder::<f64>::new(entries.len() as u32);
    for e in entries {
        let (lo, hi) = (e.min(), e.max());
        b.add(lo[0], lo[1], hi[0], hi[1]);
    }
    b.finish::<HilbertSort>()
}

/// Half-size (m) of a square box around `p` that holds about `want` envelopes.
fn box_for(index: &SpatialIndex, p: [f64; 2], want: usize) -> f64 {
    let (mut lo, mut hi) = (1.0f64, 20_000.0f64);
    for _ in 0..40 {
        let mid = (lo + hi) / 2.0;
        let n = index
            .in_box([p[0] - mid, p[1] - mid], [p[0] + mid, p[1] + mid])
            .count();
        if n < want { lo = mid } else { hi = mid }
    }
    hi
}

fn benches(c: &mut Criterion) {
    let scale: f64 = std::env::var("TWIN_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7.0);
    let twin = island::load(&SynthConfig { seed: 2026, scale }).expect("bundled island");
    let entries: Vec<Entry> = twin.index().iter().copied().collect();
    println!("assets: {} (scale {scale})", twin.len());
    let gi = geo_index_tree(&entries);
    let pts = query_points(&twin, 1024);
    let local: Vec<[f64; 2]> = pts
        .iter()
        .map(|&(lon, lat)| {
            let (x, y) = twin.frame().to_local(lon, lat);
            [x, y]
        })
        .collect();
    let halves: Vec<f64> = local
        .iter()
        .map(|&p| box_for(twin.index(), p, 100))
        .collect();
    let mean_hits: f64 = local
        .iter()
        .zip(&halves)
        .map(|(p, h)| {
            twin.index()
                .in_box([p[0] - h, p[1] - h], [p[0] + h, p[1] + h])
                .count() as f64
        })
        .sum::<f64>()
        / local.len() as f64;
    println!("bbox queries return {mean_hits:.1} envelopes on average");

    let mut g = c.benchmark_group("bulk_load");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    // The entries are cloned outside the timed part: rstar consumes its input.
    g.bench_function("rstar", |b| {
        b.iter_batched(
            || entries.clone(),
            SpatialIndex::bulk_load,
            BatchSize::LargeInput,
        )
    });
    g.bench_function("geo-index hilbert", |b| {
        b.iter(|| geo_index_tree(black_box(&entries)))
    });
    g.finish();

    let mut g = c.benchmark_group("bbox_100");
    let mut i = 0usize;
    let mut next = || {
        i = (i + 1) % local.len();
        i
    };
    g.bench_function("rstar", |b| {
        b.iter(|| {
            let k = next();
            let (p, h) = (local[k], halves[k]);
            twin.index()
                .in_box([p[0] - h, p[1] - h], [p[0] + h, p[1] + h])
                .count()
        })
    });
    g.bench_function("geo-index", |b| {
        b.iter(|| {
            let k = next();
            let (p, h) = (local[k], halves[k]);
            gi.search(p[0] - h, p[1] - h, p[0] + h, p[1] + h).len()
        })
    });
    g.bench_function("twin query_bbox (lon/lat, exact)", |b| {
        b.iter(|| {
            let k = next();
            let (lon, lat) = pts[k];
            // ~ the same box in degrees
            let dlon = halves[k] / 95_000.0;
            let dlat = halves[k] / 111_000.0;
            twin.query_bbox(
                twin_core::geo_types::Rect::new((lon - dlon, lat - dlat), (lon + dlon, lat + dlat)),
                None,
            )
            .len()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("within_200m");
    g.bench_function("twin query_within_distance", |b| {
        b.iter(|| {
            let (lon, lat) = pts[next()];
            twin.query_within_distance((lon, lat), 200.0, None).len()
        })
    });
    g.bench_function("geo-index box candidates", |b| {
        b.iter(|| {
            let p = local[next()];
            gi.search(p[0] - 200.0, p[1] - 200.0, p[0] + 200.0, p[1] + 200.0)
                .len()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("knn_10");
    g.bench_function("twin query_nearest (exact distance)", |b| {
        b.iter(|| {
            let (lon, lat) = pts[next()];
            twin.query_nearest((lon, lat), 10, None).len()
        })
    });
    g.bench_function("rstar boxes", |b| {
        b.iter(|| twin.index().nearest_boxes(local[next()]).take(10).count())
    });
    g.bench_function("geo-index boxes", |b| {
        b.iter(|| {
            let p = local[next()];
            gi.neighbors(p[0], p[1], Some(10), None).len()
        })
    });
    let sensor = "sensor:water_level".parse::<KindFilter>().unwrap();
    g.bench_function("twin query_nearest, kind filter water_level", |b| {
        b.iter(|| {
            let (lon, lat) = pts[next()];
            twin.query_nearest((lon, lat), 10, Some(&sensor)).len()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("contains");
    let town = "town".parse::<KindFilter>().unwrap();
    g.bench_function("twin query_containing (all kinds)", |b| {
        b.iter(|| {
            let (lon, lat) = pts[next()];
            twin.query_containing((lon, lat), None).len()
        })
    });
    g.bench_function("twin query_containing (towns)", |b| {
        b.iter(|| {
            let (lon, lat) = pts[next()];
            twin.query_containing((lon, lat), Some(&town)).len()
        })
    });
    g.bench_function("geo-index point candidates", |b| {
        b.iter(|| {
            let p = local[next()];
            gi.search(p[0], p[1], p[0], p[1]).len()
        })
    });
    g.finish();
}

criterion_group!(index, benches);
criterion_main!(index);
