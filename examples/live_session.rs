//! The island live in a few lines: one session holds the twin, its state, alerts,
//! vital signs and colours; the simulator drives it; a front end drains what changed.
//! This is what `twin run`, the desktop viewer and the web page each do.
//!
//! `cargo run --release -p twin-examples --example live_session`

use twin_chongming::{DEFAULT_RULES_JSON, island, sim};
use twin_core::state::alert::AlertEvent;
use twin_core::{SessionConfig, Timestamp};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let twin = island::bundled()?;
    let (mut session, channels) =
        sim::standard_session(twin, SessionConfig::default(), DEFAULT_RULES_JSON)?;
    let t0: Timestamp = "2025-11-21T04:40:00Z".parse()?;
    let config = sim::SimConfig::default_for(
        session.twin(),
        2026,
        twin_core::Timestamp::from_millis(t0.as_millis()),
    );
    let mut simulator = sim::Simulator::new(session.twin(), &channels, config);
    let (mut raised, mut cleared, mut recoloured) = (0, 0, 0u64);
    // Twenty simulated minutes: the charger fault (+5 min) and the surge (+10 min) happen.
    for s in 1..=20 * 60 {
        simulator.drive(&mut session, t0.add_ms(s * 1000));
        for e in session.drain_events(10_000) {
            match e {
                AlertEvent::Raised(_) => raised += 1,
                AlertEvent::Cleared(_) => cleared += 1,
                AlertEvent::Acknowledged(_) => {}
            }
        }
        // What a renderer would upload: the handle ranges whose colour changed.
        recoloured += session
            .refresh_colors()
            .iter()
            .map(|r| u64::from(r.end - r.start))
            .sum::<u64>();
    }
    println!(
        "{} at {}: {raised} alerts raised, {cleared} cleared, {} open; {recoloured} colour changes",
        session.twin().len(),
        session.now(),
        session.alerts().open().count()
    );
    for row in session.vital_signs().iter().filter(|r| r.island) {
        println!(
            "  {:<6} sensors {:>6}  online {:>6}  alerts (info/warning/critical) {:?}",
            row.name, row.sensors, row.online, row.alerts
        );
    }
    Ok(())
}
