//! Renderer benchmarks: mesh build, frame CPU time and draw calls, state-texture upload,
//! for the bundled island and for a million generated buildings.
//!
//! Run: `cargo bench -p twin-render --bench render`. This machine has no GPU: frames
//! run on Mesa's lavapipe (Vulkan on the CPU), so "frame on lavapipe" includes what a
//! GPU would do; "record" is the CPU side alone (building and submitting the commands).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use geo_types::{Geometry, LineString, Polygon};
use twin_core::crs::LocalFrame;
use twin_core::state::Rgba;
use twin_core::{Asset, AssetKind, LoadMode, Twin};
use twin_render::{Headless, OrbitCamera, Scene};

/// A twin of `n` box buildings (12 × 10 m, 3–30 m tall) on a square grid, 20 m apart.
fn buildings(n: usize) -> Twin {
    let frame = LocalFrame::chongming();
    let side = (n as f64).sqrt().ceil() as usize;
    let mut assets = Vec::with_capacity(n);
    for i in 0..n {
        let (x, y) = (
            (i % side) as f64 * 20.0 - side as f64 * 10.0,
            (i / side) as f64 * 20.0 - side as f64 * 10.0,
        );
        let ring: Vec<(f64, f64)> = [
            (x, y),
            (x + 12.0, y),
            (x + 12.0, y + 10.0),
            (x, y + 10.0),
            (x, y),
        ]
        .iter()
        .map(|&(e, n)| frame.to_geographic(e, n))
        .collect();
        let mut a = Asset::new(
            format!("B{i}"),
            AssetKind::Building,
            Geometry::Polygon(Polygon::new(LineString::from(ring), vec![])),
        );
        a.vertical.height = 3.0 + (i % 10) as f64 * 3.0;
        assets.push(a);
    }
    let mut twin = Twin::new(frame);
    twin.insert_assets(assets, LoadMode::Strict)
        .expect("valid buildings");
    twin
}

fn bench(c: &mut Criterion) {
    let island = twin_chongming::island::bundled().expect("bundled island");
    let million = buildings(1_000_000);
    let mut g = c.benchmark_group("render");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("mesh build, bundled island", |b| {
        b.iter(|| black_box(Scene::build(&island)))
    });
    g.bench_function("mesh build, 1M buildings", |b| {
        b.iter(|| black_box(Scene::build(&million)))
    });

    for (name, twin) in [("bundled island", &island), ("1M buildings", &million)] {
        let scene = Scene::build(twin);
        let mut hl = match Headless::with_scene(1280, 800, &scene) {
            Ok(h) => h,
            Err(e) => {
                eprintln!("no adapter, skipping GPU benches: {e}");
                return;
            }
        };
        let (lo, hi) = scene.bounds.unwrap();
        let cam = OrbitCamera::top_down(lo, hi, 1.6);
        let (_, stats) = hl.render(&cam).unwrap();
        eprintln!(
            "{name}: {} triangles, {} markers, {} draw calls, {} triangles drawn",
            scene.triangles(),
            scene.markers.len(),
            stats.draw_calls,
            stats.triangles
        );
        g.bench_function(format!("frame on lavapipe incl. readback, {name}"), |b| {
            b.iter(|| black_box(hl.render(&cam).unwrap()))
        });
        g.bench_function(format!("record frame (CPU side), {name}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let device = hl.renderer.device().clone();
                    let target = twin_render::Target::new(
                        &device,
                        hl.renderer.format(),
                        hl.renderer.samples(),
                        64,
                        64,
                    );
                    let mut enc = device.create_command_encoder(&Default::default());
                    let t = Instant::now();
                    black_box(hl.renderer.draw(&mut enc, &target, None, &cam));
                    let cmd = enc.finish();
                    total += t.elapsed();
                    drop(cmd);
                }
                total
            })
        });
        // 1% of the handles change colour, scattered: rows touched and uploaded.
        let n = scene.handle_capacity as usize;
        let mut colors = vec![Rgba::NONE; n];
        let changed: Vec<std::ops::Range<u32>> =
            (0..n as u32).step_by(100).map(|h| h..h + 1).collect();
        let mut flip = false;
        g.bench_function(format!("state upload, 1% of {n} changed, {name}"), |b| {
            b.iter(|| {
                flip = !flip;
                let c = if flip {
                    Rgba::rgb(255, 0, 0)
                } else {
                    Rgba::rgb(0, 0, 255)
                };
                for r in &changed {
                    colors[r.start as usize] = c;
                }
                hl.renderer.update_state(&colors, &changed);
                black_box(hl.renderer.flush_state())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
