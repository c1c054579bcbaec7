//! Assets changing while the twin is live: what a move, an insert and a removal cost
//! with vital signs and alert rules kept true, on the bundled island (158,654 assets,
//! 100,000 sensors, the default rules plus a spatial rule: water-level gauges within
//! 100 m of a building) after one simulated minute of telemetry.
//!
//! `cargo bench -p twin-benches --bench live`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use twin_chongming::DEFAULT_RULES_JSON;
use twin_chongming::island;
use twin_chongming::sim::{SimConfig, Simulator, standard_config, standard_session};
use twin_core::{Asset, AssetKind, LoadMode, SensorType, Timestamp};

const T0: i64 = 1_763_700_000_000;

const SPATIAL_RULE: &str = r#"{"id": "gauge-near-building", "kinds": "sensor:water_level",
  "channel": "level", "above": 3.0, "near_kinds": "building", "near_m": 100,
  "severity": "warning"}"#;

fn benches(c: &mut Criterion) {
    let twin = island::bundled().expect("island");
    let rules = format!(
        "{}, {SPATIAL_RULE}]",
        DEFAULT_RULES_JSON.trim_end().trim_end_matches(']')
    );
    let (mut live, channels) =
        standard_session(twin, standard_config(600_000, None), &rules).expect("rules");
    let mut sim = Simulator::new(
        live.twin(),
        &channels,
        SimConfig::default_for(live.twin(), 7, twin_core::Timestamp::from_millis(T0)),
    );
    for s in 0..60 {
        sim.drive(&mut live, Timestamp::from_millis(T0 + s * 1000));
    }
    let now = Timestamp::from_millis(T0 + 60_000);

    // Two water-level gauges in different towns: the first moves between their places.
    let gauges: Vec<_> = live
        .twin()
        .iter()
        .filter(|(_, a)| a.kind == AssetKind::Sensor(SensorType::WaterLevel))
        .map(|(h, a)| (h, a.geometry.clone(), live.twin().located_in(h)))
        .collect();
    let (gauge, here, town) = gauges[0].clone();
    let there = gauges
        .iter()
        .find(|g| g.2.is_some() && g.2 != town)
        .map(|g| g.1.clone())
        .expect("a gauge in another town");
    let building = live
        .twin()
        .iter()
        .find(|(_, a)| a.kind == AssetKind::Building)
        .map(|(h, a)| (h, a.geometry.clone()))
        .expect("a building");
    let shifted = {
        use geo::Translate;
        building.1.translate(0.0005, 0.0)
    };

    // The spatial rule's set is computed on the first batch; a batch now checks it is.
    black_box(live.apply(&[], now));
    let mut g = c.benchmark_group("live assets");
    let mut flip = false;
    g.bench_function(
        "move a gauge to another town (vitals, spatial rule re-check)",
        |b| {
            b.iter(|| {
                flip = !flip;
                let to = if flip { there.clone() } else { here.clone() };
                live.move_asset(gauge, to).expect("move");
            })
        },
    );
    g.bench_function("move a building (the spatial rule's set recomputed)", |b| {
        b.iter(|| {
            flip = !flip;
            let to = if flip {
                shifted.clone()
            } else {
                building.1.clone()
            };
            // The set is recomputed inside: it was in use.
            live.move_asset(building.0, to).expect("move");
        })
    });
    let mut n = 0u64;
    g.bench_function("insert a gauge, then remove it", |b| {
        b.iter(|| {
            n += 1;
            let id = format!("BENCH-GAUGE-{n}");
            let a = Asset::new(
                id.clone(),
                AssetKind::Sensor(SensorType::WaterLevel),
                here.clone(),
            );
            live.insert_assets(vec![a], LoadMode::Strict)
                .expect("insert");
            black_box(live.remove_asset(&id).expect("remove"));
        })
    });
    g.finish();
}

criterion_group! {
    name = live_benches;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(live_benches);
