//! Memory per asset of a loaded twin, measured with a counting allocator.
//!
//! `cargo run --release -p twin-examples --example memory [-- SCALE]`

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scale: f64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1.0);
    let before = LIVE.load(Ordering::Relaxed);
    let twin =
        twin_chongming::island::load(&twin_chongming::synth::SynthConfig { seed: 2026, scale })?;
    let after = LIVE.load(Ordering::Relaxed);
    let bytes = after - before;
    let n = twin.len();
    println!(
        "scale {scale}: {n} assets, {:.1} MiB live, {:.0} bytes per asset",
        bytes as f64 / 1048576.0,
        bytes as f64 / n as f64
    );
    let index = twin.index().approx_bytes();
    println!(
        "of which the R-tree ~{:.0} bytes per asset",
        index as f64 / n as f64
    );
    let mut per_kind = std::collections::BTreeMap::<String, (usize, usize)>::new();
    for (_, a) in twin.iter() {
        let e = per_kind.entry(a.kind.as_str().to_string()).or_default();
        e.0 += 1;
        e.1 += geo_types_coords(&a.geometry);
    }
    for (k, (n, coords)) in per_kind {
        println!(
            "  {k:<18} {n:>8} assets, {:.1} coordinates each",
            coords as f64 / n as f64
        );
    }
    Ok(())
}

fn geo_types_coords(g: &geo_types::Geometry<f64>) -> usize {
    use geo_types::Geometry::*;
    match g {
        Point(_) => 1,
        LineString(l) => l.0.len(),
        Polygon(p) => p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>(),
        MultiPolygon(m) => {
            m.0.iter()
                .map(|p| geo_types_coords(&Polygon(p.clone())))
                .sum()
        }
        MultiLineString(m) => m.0.iter().map(|l| l.0.len()).sum(),
        MultiPoint(m) => m.0.len(),
        _ => 0,
    }
}
