//! `twin replay FILE --speed N`: recorded telemetry (JSON Lines or CSV) played into
//! the live twin in time order, with the same console as `twin run`.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use twin_core::Timestamp;

use crate::DataArgs;
use crate::out::outln;
use crate::run::{Console, clock, live_twin, pace, parse_speed};

/// Options of `twin replay`.
#[derive(Args, Debug, Clone)]
pub struct ReplayArgs {
    /// Telemetry file: .jsonl / .ndjson / .json (JSON Lines) or .csv.
    pub file: PathBuf,
    /// Simulated seconds per real second, or `max`.
    #[arg(long, default_value = "max")]
    pub speed: String,
    /// Alert rules (JSON) instead of the bundled island's defaults.
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Print the vital-signs table every this many simulated minutes.
    #[arg(long, default_value_t = 10)]
    pub table_every: u64,
    /// Memory for sample history, MiB.
    #[arg(long, default_value_t = 512)]
    pub history_mib: usize,
    /// Alert lines printed per rule per simulated minute.
    #[arg(long, default_value_t = 5)]
    pub alert_lines: usize,
    #[command(flatten)]
    pub data: DataArgs,
}

/// Replays the file.
pub fn run(args: &ReplayArgs) -> anyhow::Result<()> {
    let speed = parse_speed(&args.speed)?;
    let file = twin_core::telemetry::read_file(&args.file)?;
    for e in file.errors.iter().take(20) {
        eprintln!("twin replay: skipped {e}");
    }
    if file.errors.len() > 20 {
        eprintln!("twin replay: ... {} more bad lines", file.errors.len() - 20);
    }
    let mut replay = twin_core::telemetry::Replay::new(file.readings);
    let (Some(first), Some(last)) = (replay.start(), replay.end()) else {
        return Err(anyhow::anyhow!(
            "{}: no readings to replay",
            args.file.display()
        ));
    };
    let (mut live, _) = live_twin(&args.data, args.rules.as_ref(), args.history_mib)?;
    // Whole seconds: the first step holds everything up to the end of the first second.
    let start = first.as_millis().div_euclid(1000) * 1000;
    outln!(
        "twin replay: {} readings from {} to {} ({} bad lines skipped)",
        replay.len(),
        clock(first.as_millis()),
        clock(last.as_millis()),
        file.errors.len()
    );
    let mut console = Console::new(start, args.alert_lines, args.table_every);
    let real_start = Instant::now();
    let mut t = start;
    let mut rejected = 0u64;
    while let Some(next) = replay.next_ts().filter(|_| !crate::out::gone()) {
        // Skip quiet stretches: jump to the second before the next reading.
        let next_second = next.as_millis().div_euclid(1000) * 1000;
        if next_second > t + 1000 {
            t = next_second - 1000;
            live.tick(Timestamp::from_millis(t));
        }
        pace(real_start, start, t, speed);
        t += 1000;
        let batch = replay.until(twin_core::Timestamp::from_millis(t)).to_vec();
        let began = Instant::now();
        let report = live.apply_readings(&batch, Timestamp::from_millis(t));
        rejected += report.rejected_total();
        for r in report.examples.iter().take(3) {
            eprintln!("twin replay: refused {r}");
        }
        let took = began.elapsed();
        console.step(&mut live, t, batch.len(), &report, took);
    }
    console.finish(&live, t);
    outln!(
        "twin replay: {} simulated in {:.1} s real time; {rejected} readings refused",
        clock(t - start),
        real_start.elapsed().as_secs_f64()
    );
    Ok(())
}
