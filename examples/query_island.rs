//! Load the bundled island and ask it the questions an operations centre asks.
//!
//! `cargo run --release -p twin-examples --example query_island`

use twin_chongming::island;
use twin_core::{KindFilter, Measure};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let twin = island::bundled()?;
    println!("{} assets", twin.len());

    // Which town is the district government (城桥镇, 121.397 E 31.623 N) in?
    let town = "town".parse::<KindFilter>().unwrap();
    for h in twin.query_containing((121.397, 31.623), Some(&town)) {
        let t = twin.get(h).ok_or("missing town")?;
        let km2 = twin.area(h, Measure::Geodesic).unwrap_or(0.0) / 1e6;
        println!("town: {} ({km2:.1} km² geodesic)", t.display_name());
    }

    // Water-level gauges within 2 km of Nanmen ferry terminal.
    let gauges = "sensor:water_level".parse::<KindFilter>().unwrap();
    let near = twin.query_within_distance((121.40, 31.61), 2_000.0, Some(&gauges));
    println!("{} water-level sensors within 2 km of Nanmen", near.len());

    // The five 5G stations nearest Changxing's centre, with their distances.
    for (h, d) in twin.query_nearest(
        (121.69, 31.40),
        5,
        Some(&"station_5g".parse::<KindFilter>().unwrap()),
    ) {
        let a = twin.get(h).ok_or("missing station")?;
        let town = twin
            .located_in(h)
            .and_then(|t| twin.get(t))
            .map(|t| t.display_name().to_string())
            .unwrap_or_default();
        println!("  {} in {town}: {d:.0} m", a.id);
    }
    Ok(())
}
