//! The compactor: journal segments no longer needed for replay become history files
//! ([`crate::columnar`]), then retention deletes the oldest files past the limits.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::catalog::{Catalogs, numbered};
use crate::columnar::{self, HistoryWriter, Row};
use crate::segment::{Record, SegmentReader};
use crate::writer::sync_dir;
use crate::{Catalog, StoreError, StoreOptions};

fn sub(root: &Path, name: &str) -> PathBuf {
    root.join(name)
}

/// A history file found in the directory.
pub(crate) struct HistoryFile {
    pub(crate) path: PathBuf,
    pub(crate) from: i64,
    pub(crate) to: i64,
    pub(crate) bytes: u64,
}

/// The history files, oldest (by newest sample) first.
pub(crate) fn history_files(dir: &Path) -> Result<Vec<HistoryFile>, StoreError> {
    let mut out = Vec::new();
    for e in crate::catalog::entries(dir)? {
        let name = e.file_name();
        let Some((from, to, _)) = name.to_str().and_then(columnar::parse_name) else {
            continue;
        };
        let bytes = e.metadata().map(|m| m.len()).unwrap_or(0);
        out.push(HistoryFile {
            path: e.path(),
            from,
            to,
            bytes,
        });
    }
    out.sort_by(|a, b| (a.to, &a.path).cmp(&(b.to, &b.path)));
    Ok(out)
}

/// Turns covered segments into history files and applies retention, on its own thread.
pub(crate) struct Compactor {
    tx: Option<Sender<(u64, Catalogs)>>,
    error: Arc<Mutex<Option<String>>>,
    /// Jobs sent and not finished.
    pending: Arc<std::sync::atomic::AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl Compactor {
    pub(crate) fn start(root: &Path, opts: StoreOptions) -> Result<Compactor, StoreError> {
        let (tx, rx) = channel::<(u64, Catalogs)>();
        let error = Arc::new(Mutex::new(None));
        let err = error.clone();
        let pending = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let left = pending.clone();
        let root = root.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("twin-compactor".into())
            .spawn(move || {
                use std::sync::atomic::Ordering::AcqRel;
                while let Ok(mut job) = rx.recv() {
                    let mut jobs = 1;
                    // Only the latest request matters.
                    while let Ok(newer) = rx.try_recv() {
                        job = newer;
                        jobs += 1;
                    }
                    if let Err(e) = compact(&root, job.0, &job.1, &opts) {
                        *err.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                    }
                    left.fetch_sub(jobs, AcqRel);
                }
            })
            .map_err(|e| StoreError::io(Path::new("compactor"), e))?;
        Ok(Compactor {
            tx: Some(tx),
            error,
            pending,
            thread: Some(thread),
        })
    }

    pub(crate) fn compact(&self, upto: u64, catalogs: Catalogs) {
        if let Some(tx) = &self.tx {
            self.pending
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            if tx.send((upto, catalogs)).is_err() {
                self.pending
                    .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
            }
        }
    }

    /// Waits until the compactor has finished every job sent (or failed, or its
    /// thread ended).
    pub(crate) fn wait_idle(&self) {
        while self.pending.load(std::sync::atomic::Ordering::Acquire) > 0
            && self.error().is_none()
            && !self.thread.as_ref().is_none_or(|t| t.is_finished())
        {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    pub(crate) fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(crate) fn stop(mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            t.join().ok();
        }
    }
}

/// Segments wholly at or before record `upto` become history files; then retention.
pub(crate) fn compact(
    root: &Path,
    upto: u64,
    catalogs: &Catalogs,
    opts: &StoreOptions,
) -> Result<(), StoreError> {
    let wal = sub(root, "wal");
    let history = sub(root, "history");
    let segments = numbered(&wal, ".wal")?;
    // The run being gathered, reused from segment to segment.
    let mut run: Vec<Row> = Vec::new();
    for pair in segments.windows(2) {
        let ((first, path), (next_first, _)) = (&pair[0], &pair[1]);
        if *next_first > upto + 1 {
            break;
        }
        let mut r = SegmentReader::open(path)?;
        // One history file per catalog the segment's records fall under (normally one:
        // a checkpoint, which may save a catalog, also starts a segment), written one
        // sorted run of at most ROW_GROUP rows at a time.
        let mut file: Option<(u64, Arc<Catalog>, HistoryWriter)> = None;
        while let Some(next) = r.next_record() {
            let (seq, record) = next?;
            let Record::Applied { samples, .. } = record else {
                continue;
            };
            if samples.is_empty() {
                continue;
            }
            let key = catalogs
                .0
                .range(..seq)
                .next_back()
                .or_else(|| catalogs.0.iter().next())
                .map_or(0, |(k, _)| *k);
            if file.as_ref().is_some_and(|(k, _, _)| *k != key)
                && let Some((_, catalog, mut w)) = file.take()
            {
                w.write_run(&mut run, &catalog)?;
                run.clear();
                w.finish(seq - 1)?;
            }
            if file.is_none() {
                let Some(catalog) = catalogs.0.get(&key).or_else(|| catalogs.for_seq(*first))
                else {
                    continue;
                };
                file = Some((key, catalog.clone(), HistoryWriter::create(&history, seq)?));
            }
            let Some((_, catalog, w)) = file.as_mut() else {
                continue;
            };
            for s in samples {
                run.push(Row {
                    handle: s.handle.0,
                    channel: s.channel.0,
                    ts: s.ts.as_millis(),
                    value: s.value,
                    quality: s.quality as u8,
                    seq,
                });
                if run.len() == columnar::ROW_GROUP {
                    w.write_run(&mut run, catalog)?;
                    run.clear();
                }
            }
        }
        if let Some((_, catalog, mut w)) = file.take() {
            w.write_run(&mut run, &catalog)?;
            run.clear();
            w.finish(next_first - 1)?;
        }
        if r.damage().is_some() {
            let damaged = sub(root, "damaged");
            std::fs::create_dir_all(&damaged).map_err(|e| StoreError::io(&damaged, e))?;
            let to = damaged.join(path.file_name().unwrap_or_default());
            std::fs::rename(path, &to).map_err(|e| StoreError::io(path, e))?;
        } else {
            std::fs::remove_file(path).map_err(|e| StoreError::io(path, e))?;
        }
        sync_dir(&wal).map_err(|e| StoreError::io(&wal, e))?;
        // After every file, so the history never exceeds the limits by more than one.
        retain(&history, opts)?;
    }
    retain(&history, opts)
}

/// Deletes the oldest history files past the age and size limits.
pub(crate) fn retain(history: &Path, opts: &StoreOptions) -> Result<(), StoreError> {
    let files = history_files(history)?;
    let newest = files.iter().map(|f| f.to).max().unwrap_or(i64::MIN);
    let mut total: u64 = files.iter().map(|f| f.bytes).sum();
    for f in &files {
        let old = opts
            .retain_ms
            .is_some_and(|age| f.to < newest.saturating_sub(age));
        let big = opts.retain_bytes.is_some_and(|max| total > max);
        if !(old || big) {
            continue;
        }
        std::fs::remove_file(&f.path).map_err(|e| StoreError::io(&f.path, e))?;
        total -= f.bytes;
    }
    Ok(())
}
