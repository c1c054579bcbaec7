//! The data directory: lock, segments, checkpoints, catalogs, recovery, compaction.
//!
//! ```text
//! DIR/LOCK                      held while a twin uses the directory
//! DIR/wal/NNNN….wal             journal segments (first record's number, 20 digits)
//! DIR/checkpoints/NNNN….twinsnap  snapshots, named by the last record they cover
//! DIR/catalogs/NNNN….json       asset ids by handle, channel names by number,
//!                               for the records after NNNN (written when they change)
//! DIR/history/FROM_TO_SEQ.parquet  history files (see crate::columnar)
//! DIR/damaged/                  segments found damaged, kept after compaction
//! ```

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use twin_core::session::journal::{Entry, Journal};
use twin_core::state::{ChannelId, Quality, Sample};
use twin_core::{Handle, Session, Timestamp};

use crate::catalog::{Catalog, Catalogs, Remap, numbered};
use crate::columnar;
use crate::compact::{Compactor, history_files};
use crate::segment::{self, Record, SegmentReader};
use crate::writer::{Msg, Sender, Writer, sync_dir};
use crate::{StoreError, StoreOptions};

/// What [`DataDir::recover`] found and did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recovery {
    /// The checkpoint the session was loaded from (its last record), if any.
    pub checkpoint: Option<u64>,
    /// Records replayed through the session after it.
    pub replayed: u64,
    /// Samples among them.
    pub replayed_samples: u64,
    /// Samples put back into history from history files and older segments.
    pub history_samples: u64,
    /// History files read.
    pub history_files: usize,
    /// The last record on disk.
    pub last_seq: u64,
    /// What was wrong and skipped: a torn tail cut, a damaged segment, a checkpoint or
    /// catalog that did not load, a step that could not be replayed.
    pub problems: Vec<String>,
}

/// Waits for the journal to be on disk ([`DataDir::syncer`]).
#[derive(Clone)]
pub struct Syncer {
    shared: Arc<crate::writer::Shared>,
    tx: Sender,
    next: Arc<AtomicU64>,
}

impl std::fmt::Debug for Syncer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Syncer")
    }
}

impl Syncer {
    /// Blocks until every record numbered so far is on disk; an error if the writer
    /// failed or the directory was closed (what was applied since is not journalled:
    /// it must not be acknowledged).
    pub fn sync(&self) -> Result<(), StoreError> {
        if self.tx.lock().unwrap_or_else(|p| p.into_inner()).is_none() {
            return Err(StoreError::Journal("the data directory is closed".into()));
        }
        let seq = self.next.load(Ordering::Acquire) - 1;
        crate::writer::wait_durable(&self.shared, &self.tx, seq)
    }
}

/// How long after a failed checkpoint the next is tried.
const RETRY: Duration = Duration::from_secs(10);

/// The session's journal: numbers, encodes and hands each change to the writer.
struct Recorder {
    /// Bytes of records made (the directory compares it with the last checkpoint's).
    bytes: Arc<AtomicU64>,
    /// Taken away when the directory closes, so the writer can stop while the session
    /// lives on (later changes are not recorded then).
    tx: Sender,
    next: Arc<AtomicU64>,
    reconfigured: Arc<AtomicBool>,
}

impl Journal for Recorder {
    fn record(&mut self, entry: Entry<'_>) {
        let mut buf = Vec::new();
        let seq = match entry {
            Entry::Reconfigured { .. } => {
                self.reconfigured.store(true, Ordering::Release);
                return;
            }
            _ => self.next.fetch_add(1, Ordering::AcqRel),
        };
        segment::encode(&mut buf, seq, |out| match entry {
            Entry::Applied { now, samples } => segment::applied_body(out, now, samples),
            Entry::Ticked { now } => segment::ticked_body(out, now),
            Entry::Stepped {
                now,
                order,
                request,
            } => segment::stepped_body(out, now, order, request),
            Entry::Acknowledged { now, alert } => segment::acknowledged_body(out, now, alert),
            Entry::Reconfigured { .. } => {}
        });
        self.bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
        // A writer that failed keeps draining; its error reaches DataDir::sync.
        if let Some(tx) = self.tx.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            tx.send(Msg::Records(seq, buf)).ok();
        }
    }
}

/// A twin's data directory (see the crate docs).
pub struct DataDir {
    root: PathBuf,
    _lock: File,
    opts: StoreOptions,
    /// Checkpoints by their last record, oldest first.
    checkpoints: Vec<(u64, PathBuf)>,
    catalogs: Catalogs,
    /// What opening found (a torn tail cut, a bad catalog).
    opened: Vec<String>,
    writer: Option<Writer>,
    next: Arc<AtomicU64>,
    reconfigured: Arc<AtomicBool>,
    last_checkpoint: Instant,
    /// Bytes journalled in all, and at the last checkpoint.
    bytes: Arc<AtomicU64>,
    bytes_at_checkpoint: u64,
    /// When the last checkpoint failed (it is tried again after [`RETRY`]).
    failed_at: Option<Instant>,
    compactor: Option<Compactor>,
}

impl std::fmt::Debug for DataDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataDir").field("root", &self.root).finish()
    }
}

fn sub(root: &Path, name: &str) -> PathBuf {
    root.join(name)
}

impl DataDir {
    /// Opens (or creates) a data directory: takes its lock, cuts a torn tail off the
    /// newest segment, lists checkpoints and catalogs. Nothing is replayed yet.
    pub fn open(root: &Path, opts: StoreOptions) -> Result<DataDir, StoreError> {
        for d in ["", "wal", "checkpoints", "catalogs", "history"] {
            let p = sub(root, d);
            std::fs::create_dir_all(&p).map_err(|e| StoreError::io(&p, e))?;
        }
        let lock_path = root.join("LOCK");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| StoreError::io(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StoreError::Locked(root.display().to_string()));
            }
            Err(TryLockError::Error(e)) => return Err(StoreError::io(&lock_path, e)),
        }
        let mut opened = Vec::new();
        // Files a crash left half-written (a checkpoint, catalog or history file is
        // written as NAME.tmp, synced, then renamed): never used, removed.
        for d in ["checkpoints", "catalogs", "history"] {
            let dir = sub(root, d);
            for e in crate::catalog::entries(&dir)? {
                let path = e.path();
                if path.extension().is_some_and(|x| x == "tmp") {
                    std::fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
                    opened.push(format!("{}: half-written file removed", path.display()));
                }
            }
        }
        let wal = sub(root, "wal");
        let segments = numbered(&wal, ".wal")?;
        if let Some((_, newest)) = segments.last() {
            let len = std::fs::metadata(newest)
                .map_err(|e| StoreError::io(newest, e))?
                .len();
            if len < segment::HEADER as u64 {
                // Created but never written: a crash in the first instant of a segment.
                std::fs::remove_file(newest).map_err(|e| StoreError::io(newest, e))?;
                opened.push(format!(
                    "{}: empty segment removed ({len} bytes)",
                    newest.display()
                ));
            } else {
                let mut r = SegmentReader::open(newest)?;
                while let Some(rec) = r.next_record() {
                    rec?;
                }
                if let Some(d) = r.damage().cloned() {
                    let f = File::options()
                        .write(true)
                        .open(newest)
                        .map_err(|e| StoreError::io(newest, e))?;
                    f.set_len(r.good_len())
                        .and_then(|()| f.sync_all())
                        .map_err(|e| StoreError::io(newest, e))?;
                    opened.push(format!("torn tail cut: {d}"));
                }
            }
        }
        let (catalogs, bad) = Catalogs::load(&sub(root, "catalogs"))?;
        opened.extend(bad);
        Ok(DataDir {
            root: root.to_path_buf(),
            _lock: lock,
            opts,
            checkpoints: numbered(&sub(root, "checkpoints"), ".twinsnap")?,
            catalogs,
            opened,
            writer: None,
            next: Arc::new(AtomicU64::new(1)),
            reconfigured: Arc::new(AtomicBool::new(false)),
            last_checkpoint: Instant::now(),
            bytes: Arc::new(AtomicU64::new(0)),
            bytes_at_checkpoint: 0,
            failed_at: None,
            compactor: None,
        })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The checkpoints, newest first: `(last record covered, file)`. Load the first that
    /// loads and give its number to [`DataDir::recover`].
    pub fn checkpoints(&self) -> Vec<(u64, PathBuf)> {
        self.checkpoints.iter().rev().cloned().collect()
    }

    /// Puts the session back as it was when the directory was last written: history
    /// from the history files (the newest that fit the session's history budget) and
    /// the segments up to `checkpoint`, then every record after it replayed. Then the
    /// journal is attached (new records from the next number on, in a new segment), a
    /// checkpoint is written and the compactor starts. `session` must be the
    /// checkpoint's snapshot loaded (with the same rules), or with `None` the twin as
    /// first started with this directory.
    pub fn recover(
        &mut self,
        session: &mut Session,
        checkpoint: Option<u64>,
    ) -> Result<Recovery, StoreError> {
        let mut rec = Recovery {
            checkpoint,
            problems: std::mem::take(&mut self.opened),
            ..Recovery::default()
        };
        let c = checkpoint.unwrap_or(0);
        // Checkpoints newer than the one loaded did not load: set aside.
        for (seq, path) in self.checkpoints.iter().filter(|(s, _)| *s > c) {
            let bad = path.with_extension("twinsnap.bad");
            std::fs::rename(path, &bad).map_err(|e| StoreError::io(path, e))?;
            rec.problems.push(format!(
                "checkpoint {seq} did not load: kept as {}",
                bad.display()
            ));
        }
        self.checkpoints.retain(|(s, _)| *s <= c);
        session.set_journal(None);
        self.restore_history_files(session, &mut rec)?;
        let map = Remap::new(session, &self.catalogs);
        let segments = numbered(&sub(&self.root, "wal"), ".wal")?;
        // New records are numbered after every segment's first number, even where the
        // records before were lost (a damaged segment): a number is never used twice,
        // and a segment always ends before the next one's first number.
        let mut last = segments
            .iter()
            .map(|(first, _)| first.saturating_sub(1))
            .fold(c, u64::max);
        let mut expected = c + 1;
        for (_, path) in segments {
            let mut r = match SegmentReader::open(&path) {
                Ok(r) => r,
                Err(e) => {
                    rec.problems.push(format!("segment not used: {e}"));
                    continue;
                }
            };
            while let Some(next) = r.next_record() {
                let (seq, record) = next?;
                last = last.max(seq);
                if seq > expected && expected > c {
                    rec.problems.push(format!(
                        "records {expected} to {} are missing: replayed without them",
                        seq - 1
                    ));
                }
                expected = expected.max(seq + 1);
                if seq <= c {
                    if let Record::Applied { samples, .. } = record {
                        let samples = map.samples(seq, samples);
                        rec.history_samples += session.restore_history(&samples) as u64;
                    }
                    continue;
                }
                rec.replayed += 1;
                replay(session, &map, seq, record, &mut rec);
            }
            if let Some(d) = r.damage() {
                rec.problems.push(format!("damaged segment: {d}"));
            }
        }
        // Events of the replay were told before the stop.
        session.drain_events(usize::MAX);
        session.drain_incident_events(usize::MAX);
        session.drain_order_events(usize::MAX);
        rec.last_seq = last;
        self.next.store(last + 1, Ordering::Release);
        let writer = Writer::start(
            &sub(&self.root, "wal"),
            last + 1,
            self.opts.segment_bytes,
            Duration::from_millis(self.opts.fsync_ms),
        )?;
        let tx = writer.sender();
        self.writer = Some(writer);
        self.compactor = Some(Compactor::start(&self.root, self.opts.clone())?);
        session.set_journal(Some(Box::new(Recorder {
            bytes: self.bytes.clone(),
            tx,
            next: self.next.clone(),
            reconfigured: self.reconfigured.clone(),
        })));
        self.checkpoint(session)?;
        Ok(rec)
    }

    fn restore_history_files(
        &self,
        session: &mut Session,
        rec: &mut Recovery,
    ) -> Result<(), StoreError> {
        let files = history_files(&sub(&self.root, "history"))?;
        // Newest first, while the rows (at ~13 bytes each in memory) fit the budget.
        let budget = session.config().history_budget_bytes.unwrap_or(usize::MAX) as u64;
        let mut chosen = Vec::new();
        let mut bytes = 0u64;
        for f in files.iter().rev() {
            // A sample takes ~5.4 bytes in a history file (zstd; Snappy files written
            // before 2026-12-07 ~6.8) and ~13 in memory.
            bytes = bytes.saturating_add(f.bytes.saturating_mul(12) / 5);
            if bytes > budget && !chosen.is_empty() {
                break;
            }
            chosen.push(f);
        }
        let mut samples = Vec::new();
        for f in chosen.iter().rev() {
            samples.clear();
            // Rows come sorted by channel and asset: the last names' numbers are
            // looked up once per run of rows, not per row.
            let mut names: Option<(String, String)> = None;
            let mut key: Option<(Handle, ChannelId)> = None;
            let (twin, store) = (session.twin(), session.store());
            let read = columnar::for_each_row(&f.path, |r| {
                let same = names
                    .as_ref()
                    .is_some_and(|(a, c)| a == r.asset && c == r.channel);
                if !same {
                    key = twin.handle(r.asset).zip(store.channel(r.channel));
                    names = Some((r.asset.to_string(), r.channel.to_string()));
                }
                if let Some((handle, channel)) = key {
                    samples.push(Sample {
                        handle,
                        channel,
                        ts: Timestamp::from_millis(r.ts),
                        value: r.value,
                        quality: Quality::from_u8(r.quality),
                    });
                }
            });
            if let Err(e) = read {
                rec.problems.push(format!("history file not used: {e}"));
                continue;
            }
            rec.history_files += 1;
            let n = session.restore_history(&samples);
            rec.history_samples += n as u64;
        }
        Ok(())
    }

    /// Whether a checkpoint is due: something entries cannot replay changed, or
    /// [`StoreOptions::checkpoint_every`] passed since the last.
    pub fn checkpoint_due(&self) -> bool {
        if self.failed_at.is_some_and(|t| t.elapsed() < RETRY) {
            return false;
        }
        self.reconfigured.load(Ordering::Acquire)
            || self.last_checkpoint.elapsed() >= self.opts.checkpoint_every
            || self.bytes.load(Ordering::Relaxed) - self.bytes_at_checkpoint
                >= self.opts.checkpoint_bytes
    }

    /// Writes a checkpoint if one is due ([`DataDir::checkpoint_due`]); true if it did.
    pub fn maybe_checkpoint(&mut self, session: &Session) -> Result<bool, StoreError> {
        if !self.checkpoint_due() {
            return Ok(false);
        }
        self.checkpoint(session)?;
        Ok(true)
    }

    /// Writes a checkpoint of the session now: closes the open segment, saves the
    /// snapshot named by the last record, a catalog if it changed, keeps the two newest
    /// checkpoints and hands the segments older than both to the compactor.
    pub fn checkpoint(&mut self, session: &Session) -> Result<(), StoreError> {
        // Cleared now (a change made while the snapshot is written asks again); put back
        // if the checkpoint fails, so that it is tried again.
        let was_reconfigured = self.reconfigured.swap(false, Ordering::AcqRel);
        let result = self.write_checkpoint(session);
        match &result {
            Ok(()) => {
                self.failed_at = None;
                self.last_checkpoint = Instant::now();
                self.bytes_at_checkpoint = self.bytes.load(Ordering::Relaxed);
            }
            Err(_) => {
                self.failed_at = Some(Instant::now());
                if was_reconfigured {
                    self.reconfigured.store(true, Ordering::Release);
                }
            }
        }
        result
    }

    fn write_checkpoint(&mut self, session: &Session) -> Result<(), StoreError> {
        let Some(writer) = &self.writer else {
            return Err(StoreError::Journal("not recovered yet".into()));
        };
        let seq = self.next.load(Ordering::Acquire) - 1;
        writer.rotate()?;
        let catalog = Catalog::of(session);
        let dir = sub(&self.root, "catalogs");
        if self.catalogs.0.values().next_back().map(|c| c.as_ref()) != Some(&catalog) {
            let path = dir.join(format!("{seq:020}.json"));
            catalog.save(&path)?;
            sync_dir(&dir).map_err(|e| StoreError::io(&dir, e))?;
            self.catalogs.0.insert(seq, Arc::new(catalog));
        }
        let dir = sub(&self.root, "checkpoints");
        let path = dir.join(format!("{seq:020}.twinsnap"));
        twin_core::snapshot::save(session, &path).map_err(|e| StoreError::Invalid {
            file: path.display().to_string(),
            message: e.to_string(),
        })?;
        sync_dir(&dir).map_err(|e| StoreError::io(&dir, e))?;
        self.checkpoints.retain(|(s, _)| *s != seq);
        self.checkpoints.push((seq, path));
        while self.checkpoints.len() > 2 {
            let (_, old) = self.checkpoints.remove(0);
            std::fs::remove_file(&old).map_err(|e| StoreError::io(&old, e))?;
        }
        if self.checkpoints.len() == 2
            && let Some(c) = &self.compactor
        {
            // Back-pressure: a compactor still at the last checkpoint's segments means
            // the twin journals faster than they become history files; waiting here
            // keeps the segments on disk to about three checkpoints' worth.
            c.wait_idle();
            c.compact(self.checkpoints[0].0, self.catalogs.clone());
        }
        Ok(())
    }

    /// Blocks until every record so far is on disk: call before acknowledging what
    /// was applied. Fails if the writer failed.
    pub fn sync(&self) -> Result<(), StoreError> {
        match &self.writer {
            Some(w) => w.wait_durable(self.next.load(Ordering::Acquire) - 1),
            None => Ok(()),
        }
    }

    /// A handle that waits for the journal to be on disk, as [`DataDir::sync`] does,
    /// from another thread and without the directory (an MQTT connection's); `None`
    /// before [`DataDir::recover`]. Once the directory is closed it fails at once.
    pub fn syncer(&self) -> Option<Syncer> {
        let w = self.writer.as_ref()?;
        Some(Syncer {
            shared: w.shared(),
            tx: w.sender(),
            next: self.next.clone(),
        })
    }

    /// The last record numbered so far and the last on disk.
    pub fn progress(&self) -> (u64, u64) {
        let numbered = self.next.load(Ordering::Acquire) - 1;
        (numbered, self.writer.as_ref().map_or(0, Writer::durable))
    }

    /// The journal writer's or compactor's error, if either failed.
    pub fn error(&self) -> Option<String> {
        self.writer
            .as_ref()
            .and_then(Writer::error)
            .or_else(|| self.compactor.as_ref().and_then(Compactor::error))
    }

    /// Ends cleanly: detaches the journal, writes a last checkpoint, syncs and stops
    /// the writer and the compactor.
    pub fn close(mut self, session: &mut Session) -> Result<(), StoreError> {
        let done = if self.writer.is_some() {
            self.checkpoint(session)
        } else {
            Ok(())
        };
        session.set_journal(None);
        self.stop();
        done
    }

    /// Stops the writer (after writing and syncing what it was given) and the
    /// compactor; the session's journal, if still attached, records nothing more.
    fn stop(&mut self) {
        if let Some(mut w) = self.writer.take() {
            w.stop();
        }
        if let Some(c) = self.compactor.take() {
            c.stop();
        }
    }
}

impl Drop for DataDir {
    /// As a crash of the twin alone would leave it, minus nothing: what was handed to
    /// the writer is written and synced, no checkpoint is made.
    fn drop(&mut self) {
        self.stop();
    }
}

fn replay(session: &mut Session, map: &Remap, seq: u64, record: Record, rec: &mut Recovery) {
    match record {
        Record::Applied { now, samples } => {
            let samples = map.samples(seq, samples);
            rec.replayed_samples += samples.len() as u64;
            session.apply(&samples, now);
        }
        Record::Ticked { now } => session.tick(now),
        Record::Stepped { now, order, step } => {
            session.advance(now);
            let done = match step.request() {
                Some(r) => session
                    .act_on_order(order, &r)
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                None => Err(format!("unknown action {}", step.action)),
            };
            if let Err(e) = done {
                rec.problems.push(format!(
                    "record {seq}: step on order {order} not replayed: {e}"
                ));
            }
        }
        Record::Acknowledged { now, alert } => {
            session.advance(now);
            if !session.acknowledge(alert) {
                rec.problems.push(format!(
                    "record {seq}: alert {alert} not open to acknowledge in the replay"
                ));
            }
        }
    }
}
