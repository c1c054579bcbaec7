//! `twin-viewer --data-dir DIR`: the viewer's own simulated twin kept on disk (crate
//! `twin-store`), as `twin run --data-dir` keeps it: the newest checkpoint that loads
//! (the island is not loaded then), the journal replayed after it, every change
//! journalled, a checkpoint every five minutes. The time slider reaches back into the
//! history kept before the restart. Closing the window ends the journal as a crash of
//! the viewer would (what was handed to the writer is written and synced); the next
//! start replays it.

use std::path::Path;

use twin_chongming::DEFAULT_RULES_JSON;
use twin_chongming::sim::{standard_session, standard_session_from_snapshot};
use twin_core::{Session, Twin};
use twin_store::{DataDir, StoreOptions};

use crate::live::HISTORY_MAX_AGE_MS;

/// Opens the data directory and its session: the newest checkpoint that loads, else a
/// standard session over the twin `load` gives; then recovery.
pub fn open(
    root: &Path,
    load: impl FnOnce() -> Result<Twin, String>,
) -> Result<(Session, twin_chongming::sim::StandardChannels, DataDir), String> {
    let config = || twin_chongming::sim::standard_config(HISTORY_MAX_AGE_MS, Some(512 << 20));
    let mut dir = DataDir::open(root, StoreOptions::default()).map_err(|e| e.to_string())?;
    let mut loaded = None;
    for (seq, path) in dir.checkpoints() {
        match standard_session_from_snapshot(&path, config(), None) {
            Ok((s, c)) => {
                loaded = Some((s, c, seq));
                break;
            }
            Err(e) => eprintln!("twin-viewer: checkpoint not used: {e}"),
        }
    }
    let (mut session, channels, checkpoint) = match loaded {
        Some((s, c, seq)) => (s, c, Some(seq)),
        None => {
            let (s, c) = standard_session(load()?, config(), DEFAULT_RULES_JSON)
                .map_err(|e| e.to_string())?;
            (s, c, None)
        }
    };
    let rec = dir
        .recover(&mut session, checkpoint)
        .map_err(|e| e.to_string())?;
    for p in &rec.problems {
        eprintln!("twin-viewer: data dir: {p}");
    }
    eprintln!(
        "twin-viewer: data dir {}: {} records replayed ({} samples), {} history samples restored, last record {}",
        root.display(),
        rec.replayed,
        rec.replayed_samples,
        rec.history_samples,
        rec.last_seq
    );
    Ok((session, channels, dir))
}
