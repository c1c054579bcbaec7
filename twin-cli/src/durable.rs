//! `--data-dir`: the live twin kept on disk (crate `twin-store`), and `twin history`.
//!
//! With a data directory, `twin run` starts from the directory's newest checkpoint
//! that loads (the `--data` files and `--resume` are not read then: the directory
//! holds the twin), replays what was journalled after it, and journals every change
//! from then on; `--mqtt` acknowledges a message only once the records it made are
//! synced to disk. A directory with no checkpoint starts from the island (or
//! `--data`) as usual.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use twin_chongming::sim::StandardChannels;
use twin_core::Session;
use twin_store::{DataDir, StoreOptions};

use crate::DataArgs;
use crate::out::outln;
use crate::run::{load_session, parse_duration_ms};

/// Options of a data directory.
#[derive(Args, Debug, Clone, Default)]
pub struct StoreArgs {
    /// Keep the live twin here (created if missing): a journal of every change,
    /// checkpoints, and history as Parquet; a restart comes back from it.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// With --data-dir: sync the journal to disk at most this many milliseconds after
    /// a write (what a power cut may lose; 0 syncs every record).
    #[arg(long, default_value_t = twin_store::DEFAULT_FSYNC_MS, requires = "data_dir")]
    pub fsync_ms: u64,
    /// With --data-dir: real time between checkpoints (e.g. 5m, 30s).
    #[arg(long, default_value = "5m", requires = "data_dir")]
    pub checkpoint_every: String,
    /// With --data-dir: delete history files older than this (e.g. 30d, 12h; `none`
    /// keeps them).
    #[arg(long, default_value = "30d", requires = "data_dir")]
    pub retain: String,
    /// With --data-dir: delete the oldest history files while all of them take more
    /// than this many GiB (`none`: no limit).
    #[arg(long, default_value = "10", requires = "data_dir")]
    pub retain_gib: String,
}

impl StoreArgs {
    fn options(&self) -> anyhow::Result<StoreOptions> {
        let every = parse_duration_ms(&self.checkpoint_every)?;
        let retain_ms = match self.retain.as_str() {
            "none" => None,
            s => Some(parse_age_ms(s)?),
        };
        let retain_bytes = match self.retain_gib.as_str() {
            "none" => None,
            s => {
                let gib: f64 = s
                    .parse()
                    .map_err(|_| anyhow::anyhow!("--retain-gib: `{s}` is not a number"))?;
                anyhow::ensure!(gib > 0.0, "--retain-gib: must be above 0");
                Some((gib * (1u64 << 30) as f64) as u64)
            }
        };
        Ok(StoreOptions {
            fsync_ms: self.fsync_ms,
            checkpoint_every: Duration::from_millis(every.max(0) as u64),
            retain_ms,
            retain_bytes,
            ..StoreOptions::default()
        })
    }
}

/// `30d` or any duration `parse_duration_ms` reads.
fn parse_age_ms(s: &str) -> anyhow::Result<i64> {
    match s.strip_suffix('d') {
        Some(days) => {
            let d: i64 = days
                .parse()
                .map_err(|_| anyhow::anyhow!("`{s}`: not a number of days"))?;
            Ok(d * 86_400_000)
        }
        None => parse_duration_ms(s),
    }
}

/// Loads the live session: from the data directory when given (its newest checkpoint
/// that loads, then recovery), else as `load_session` does.
pub fn open_live(
    store: &StoreArgs,
    data: &DataArgs,
    rules: Option<&PathBuf>,
    resume: Option<&PathBuf>,
    history_mib: usize,
) -> anyhow::Result<(Session, StandardChannels, Option<DataDir>)> {
    let Some(root) = &store.data_dir else {
        let (s, c) = load_session(data, rules, resume, history_mib)?;
        return Ok((s, c, None));
    };
    anyhow::ensure!(
        resume.is_none(),
        "--resume and --data-dir: a data directory holds its own snapshots"
    );
    let began = Instant::now();
    let mut dir = DataDir::open(root, store.options()?)?;
    let mut loaded = None;
    // A checkpoint comes back with its own rules (the journal after it was made under
    // them); --rules replaces them after the replay.
    for (seq, path) in dir.checkpoints() {
        match load_session(data, None, Some(&path), history_mib) {
            Ok((s, c)) => {
                loaded = Some((s, c, seq));
                break;
            }
            Err(e) => eprintln!("twin: checkpoint {} not used: {e:#}", path.display()),
        }
    }
    let (mut live, channels, checkpoint) = match loaded {
        Some((s, c, seq)) => (s, c, Some(seq)),
        None => {
            let (s, c) = load_session(data, rules, None, history_mib)?;
            (s, c, None)
        }
    };
    let rec = dir.recover(&mut live, checkpoint)?;
    if let (Some(r), Some(_)) = (rules, checkpoint) {
        let text =
            std::fs::read_to_string(r).map_err(|e| anyhow::anyhow!("{}: {e}", r.display()))?;
        live.set_rules_json(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", r.display()))?;
        // Rules are not journalled: checkpointed at once.
        dir.checkpoint(&live)?;
    }
    for p in &rec.problems {
        eprintln!("twin: data dir: {p}");
    }
    outln!(
        "twin: data dir {}: {}; {} records replayed ({} samples), {} history samples from {} files and older segments, last record {}, in {:.2} s",
        root.display(),
        match rec.checkpoint {
            Some(c) => format!("checkpoint {c}"),
            None => "new".to_string(),
        },
        rec.replayed,
        rec.replayed_samples,
        rec.history_samples,
        rec.history_files,
        rec.last_seq,
        began.elapsed().as_secs_f64()
    );
    Ok((live, channels, Some(dir)))
}

/// After a step of the live twin: a checkpoint when one is due; an error if the
/// journal could not be written (the twin must stop rather than run on unrecorded).
pub fn after_step(dir: Option<&mut DataDir>, live: &Session) -> anyhow::Result<()> {
    let Some(dir) = dir else { return Ok(()) };
    if let Some(e) = dir.error() {
        anyhow::bail!("data dir {}: {e}", dir.root().display());
    }
    dir.maybe_checkpoint(live)?;
    Ok(())
}

/// Closes the data directory with a last checkpoint.
pub fn close(dir: Option<DataDir>, live: &mut Session) -> anyhow::Result<()> {
    if let Some(dir) = dir {
        let root = dir.root().to_path_buf();
        dir.close(live)?;
        outln!("twin: data dir {} closed with a checkpoint", root.display());
    }
    Ok(())
}

/// Options of `twin history`.
#[derive(Args, Debug, Clone)]
pub struct HistoryArgs {
    /// The data directory a twin kept (`--data-dir`).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// The asset's id.
    pub asset: String,
    /// The channel's name.
    pub channel: String,
    /// From this time on (ISO 8601 or UTC milliseconds).
    #[arg(long)]
    pub from: Option<String>,
    /// Up to this time (ISO 8601 or UTC milliseconds).
    #[arg(long)]
    pub to: Option<String>,
    /// Times as UTC milliseconds instead of ISO 8601.
    #[arg(long)]
    pub ms: bool,
}

fn parse_time(s: &str) -> anyhow::Result<i64> {
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    s.parse::<twin_core::Timestamp>()
        .map(|t| t.as_millis())
        .map_err(|e| anyhow::anyhow!("`{s}`: {e}"))
}

/// `twin history`: a series' stored samples as CSV (`ts,value`).
pub fn history(args: &HistoryArgs) -> anyhow::Result<()> {
    let root: &Path = &args.data_dir;
    anyhow::ensure!(
        root.join("wal").is_dir() || root.join("history").is_dir(),
        "{}: not a twin data directory (no wal/ or history/)",
        root.display()
    );
    let from = args.from.as_deref().map(parse_time).transpose()?;
    let to = args.to.as_deref().map(parse_time).transpose()?;
    let (samples, problems) = twin_store::read_series(
        root,
        &args.asset,
        &args.channel,
        from.unwrap_or(i64::MIN),
        to.unwrap_or(i64::MAX),
    )?;
    for p in &problems {
        eprintln!("twin history: {p}");
    }
    let mut out = String::from("ts,value\n");
    for s in &samples {
        if args.ms {
            out += &format!("{},{}\n", s.ts, s.value);
        } else {
            out += &format!("{},{}\n", twin_core::Timestamp::from_millis(s.ts), s.value);
        }
    }
    crate::out::out!("{out}");
    Ok(())
}
