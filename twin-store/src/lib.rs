//! # twin-store: the twin's data directory
//!
//! A twin given a data directory (`twin run --data-dir DIR`) loses nothing it was told
//! when it stops, crashes or loses power, within a stated window, and comes back with
//! its live state, its history and its open alerts, incidents and orders.
//!
//! ## Model: a snapshot and a journal of what happened since
//! A live [`twin_core::Session`] changes only through a few calls — samples applied,
//! the clock ticked, a work-order step taken, an alert acknowledged — and is
//! deterministic in them. The session tells each change to a journal
//! ([`twin_core::session::journal`]); this crate's journal numbers it, encodes it
//! ([`segment`]) and hands it to a writer thread (`writer.rs`) that appends it to the
//! open *segment* of `DIR/wal/`, checksummed, and syncs it to disk at most
//! [`StoreOptions::fsync_ms`] after it was written, or at once when someone waits for it
//! ([`DataDir::sync`]: an MQTT ingest acknowledges a message only after that).
//!
//! Every [`StoreOptions::checkpoint_every`] of real time or
//! [`StoreOptions::checkpoint_bytes`] of journal, whichever comes first (and whenever
//! something entries cannot replay changed: rules, layers, assets),
//! [`DataDir::checkpoint`] writes a *checkpoint*:
//! a full snapshot ([`twin_core::snapshot`]) named by the last record it covers, in
//! `DIR/checkpoints/`. The two newest are kept.
//!
//! On start, [`DataDir::open`] locks the directory, cuts a torn tail off the newest
//! segment (reported) and lists the checkpoints; the caller loads the newest one that
//! loads as its session, and [`DataDir::recover`] puts back the history kept on disk
//! and replays every record after the checkpoint through the session: the same state,
//! alerts, incidents and orders as before the stop, and the replay slider shows the
//! time before it. Then the journal is attached and a new checkpoint written.
//!
//! ## History as Parquet
//! Segments wholly covered by the older kept checkpoint are no longer needed for
//! replay: a compactor thread turns their samples into a Parquet file in
//! `DIR/history/` ([`columnar`]: asset, channel, ts, value, quality, seq) and deletes
//! them. Retention deletes the oldest history files past
//! [`StoreOptions::retain_ms`] of age or [`StoreOptions::retain_bytes`] of size.
//! [`read_series`] reads one series from the files and the segments (as `twin history`
//! does); DuckDB reads `DIR/history/*.parquet` directly.
//!
//! ## What a crash can lose
//! Records not yet synced: at most `fsync_ms` of applied changes (default
//! [`DEFAULT_FSYNC_MS`] ms), whether the process dies or the power goes (the writer
//! hands its buffer to the operating system only when it syncs). A source that waits
//! for [`DataDir::sync`] before acknowledging (MQTT QoS 1) loses nothing: what was not
//! synced was not acknowledged and comes again.

use std::path::Path;

mod catalog;
pub mod columnar;
mod compact;
mod dir;
mod read;
pub mod segment;
mod writer;

pub use catalog::Catalog;
pub use dir::{DataDir, Recovery, Syncer};
pub use read::{SeriesSample, read_series};

/// Default: sync the journal this many milliseconds after a write at most.
pub const DEFAULT_FSYNC_MS: u64 = 200;

/// How a data directory is kept.
#[derive(Clone, Debug, PartialEq)]
pub struct StoreOptions {
    /// Milliseconds after a write by which it is synced to disk (0: at every record).
    pub fsync_ms: u64,
    /// A segment is closed and the next started past this many bytes.
    pub segment_bytes: u64,
    /// Real time between checkpoints.
    pub checkpoint_every: std::time::Duration,
    /// A checkpoint is also written once this many bytes were journalled since the
    /// last: it bounds the replay at a restart and the segments waiting for
    /// compaction when the twin runs faster than real time.
    pub checkpoint_bytes: u64,
    /// History files whose newest sample is older than this (before the newest file's
    /// newest) are deleted; `None`: kept by age forever.
    pub retain_ms: Option<i64>,
    /// The oldest history files are deleted while all of them together are larger;
    /// `None`: no size limit.
    pub retain_bytes: Option<u64>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            fsync_ms: DEFAULT_FSYNC_MS,
            segment_bytes: 64 << 20,
            checkpoint_every: std::time::Duration::from_secs(300),
            checkpoint_bytes: 1 << 30,
            retain_ms: Some(30 * 24 * 3600 * 1000),
            retain_bytes: Some(10 << 30),
        }
    }
}

/// Why the data directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading or writing a file failed.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not what it should be.
    #[error("{file}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// Another process holds the directory.
    #[error("{0}: in use by another twin (its LOCK file is held)")]
    Locked(String),
    /// The journal's writer failed; nothing after the error is durable.
    #[error("journal: {0}")]
    Journal(String),
}

impl StoreError {
    pub(crate) fn io(file: &Path, source: std::io::Error) -> StoreError {
        StoreError::Io {
            file: file.display().to_string(),
            source,
        }
    }
}
