//! The journal's writer thread: appends encoded records to the open segment, syncs
//! it to disk on the stated policy, starts a new segment when one is full, and tells
//! waiters which records are durable.
//!
//! Records arrive over a bounded channel ([`QUEUE`] records): a disk that cannot keep
//! up slows the twin down rather than growing memory. The thread syncs (`fdatasync`)
//! when the oldest unsynced record is [`crate::StoreOptions::fsync_ms`] old, when a
//! caller waits for a record ([`Writer::wait_durable`]: group commit, one sync for all
//! that is written), and when it rotates or stops. A write or sync error is kept and
//! returned to every later waiter: a twin that cannot write must not acknowledge.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::StoreError;
use crate::segment;

/// Records waiting for the writer at most.
pub const QUEUE: usize = 256;

pub(crate) enum Msg {
    /// An encoded record (or several, consecutive) whose last sequence number is given.
    Records(u64, Vec<u8>),
    /// Sync what is written now.
    Sync,
    /// Close the open segment (synced) and start the next; answer when done.
    Rotate(SyncSender<()>),
}

#[derive(Default)]
struct State {
    /// Every record up to this one is on disk.
    durable: u64,
    /// Every record up to this one is written (maybe not synced).
    written: u64,
    error: Option<String>,
    stopped: bool,
}

/// Shared between the writer thread and those who wait for it.
pub(crate) struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The sender to the writer thread, shared by the journal, the directory and its
/// [`crate::Syncer`]s; taken away (`None`) to let the thread stop.
pub(crate) type Sender = Arc<Mutex<Option<SyncSender<Msg>>>>;

fn send(tx: &Sender, m: Msg) {
    if let Some(tx) = tx.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
        tx.send(m).ok();
    }
}

/// The handle to the writer thread.
pub(crate) struct Writer {
    tx: Sender,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Thread {
    dir: PathBuf,
    segment_bytes: u64,
    fsync: Duration,
    out: BufWriter<File>,
    file: PathBuf,
    size: u64,
    /// When the oldest unsynced record was written.
    dirty_since: Option<Instant>,
    shared: Arc<Shared>,
}

fn open_segment(dir: &Path, first_seq: u64) -> std::io::Result<(BufWriter<File>, PathBuf)> {
    let path = dir.join(segment::file_name(first_seq));
    // A file of this name can only be an empty segment left by an earlier start (no
    // record on disk is numbered `first_seq` or later): it is started again.
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)?;
    let mut out = BufWriter::with_capacity(1 << 20, f);
    out.write_all(&segment::header(first_seq))?;
    out.flush()?;
    out.get_ref().sync_all()?;
    sync_dir(dir)?;
    Ok((out, path))
}

/// Makes a new or renamed file's directory entry durable.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

impl Thread {
    fn sync(&mut self) -> std::io::Result<()> {
        self.out.flush()?;
        self.out.get_ref().sync_data()?;
        self.dirty_since = None;
        let mut s = self.shared.lock();
        s.durable = s.written;
        drop(s);
        self.shared.changed.notify_all();
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        self.sync()?;
        if self.size == segment::HEADER as u64 {
            return Ok(());
        }
        let next = self.shared.lock().written + 1;
        let (out, file) = open_segment(&self.dir, next)?;
        self.out = out;
        self.file = file;
        self.size = segment::HEADER as u64;
        Ok(())
    }

    fn write(&mut self, last: u64, bytes: &[u8]) -> std::io::Result<()> {
        if self.size > segment::HEADER as u64 && self.size + bytes.len() as u64 > self.segment_bytes
        {
            self.rotate()?;
        }
        self.out.write_all(bytes)?;
        self.size += bytes.len() as u64;
        self.shared.lock().written = last;
        self.dirty_since.get_or_insert_with(Instant::now);
        Ok(())
    }

    fn fail(&self, e: std::io::Error) {
        let mut s = self.shared.lock();
        s.error = Some(format!("{}: {e}", self.file.display()));
        drop(s);
        self.shared.changed.notify_all();
    }

    fn run(mut self, rx: Receiver<Msg>) {
        loop {
            let wait = match self.dirty_since {
                Some(t) => self.fsync.saturating_sub(t.elapsed()),
                None => Duration::from_secs(3600),
            };
            let done = match rx.recv_timeout(wait) {
                Ok(Msg::Records(last, bytes)) => self.write(last, &bytes),
                Ok(Msg::Sync) => self.sync(),
                Ok(Msg::Rotate(answer)) => {
                    let r = self.rotate();
                    answer.send(()).ok();
                    r
                }
                Err(RecvTimeoutError::Timeout) => self.sync(),
                Err(RecvTimeoutError::Disconnected) => break,
            };
            if let Err(e) = done {
                self.fail(e);
                // Keep draining so senders never block; nothing more is written.
                while let Ok(m) = rx.recv() {
                    if let Msg::Rotate(answer) = m {
                        answer.send(()).ok();
                    }
                }
                break;
            }
            if self.dirty_since.is_some_and(|t| t.elapsed() >= self.fsync)
                && let Err(e) = self.sync()
            {
                self.fail(e);
            }
        }
        if self.shared.lock().error.is_none()
            && let Err(e) = self.sync()
        {
            self.fail(e);
        }
        self.shared.lock().stopped = true;
        self.shared.changed.notify_all();
    }
}

impl Writer {
    /// Starts the writer on a new segment in `dir` whose first record is `first_seq`.
    pub(crate) fn start(
        dir: &Path,
        first_seq: u64,
        segment_bytes: u64,
        fsync: Duration,
    ) -> Result<Writer, StoreError> {
        let (out, file) = open_segment(dir, first_seq).map_err(|e| StoreError::io(dir, e))?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                durable: first_seq - 1,
                written: first_seq - 1,
                ..State::default()
            }),
            changed: Condvar::new(),
        });
        let (tx, rx) = sync_channel(QUEUE);
        let thread = Thread {
            dir: dir.to_path_buf(),
            segment_bytes,
            fsync,
            out,
            file,
            size: segment::HEADER as u64,
            dirty_since: None,
            shared: shared.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("twin-journal".into())
            .spawn(move || thread.run(rx))
            .map_err(|e| StoreError::io(dir, e))?;
        Ok(Writer {
            tx: Arc::new(Mutex::new(Some(tx))),
            shared,
            thread: Some(thread),
        })
    }

    /// The sender (for the journal and syncers).
    pub(crate) fn sender(&self) -> Sender {
        self.tx.clone()
    }

    /// What waiters share with the thread.
    pub(crate) fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// Blocks until every record up to `seq` is on disk (asking for a sync now).
    pub(crate) fn wait_durable(&self, seq: u64) -> Result<(), StoreError> {
        wait_durable(&self.shared, &self.tx, seq)
    }
}

/// Blocks until every record up to `seq` is on disk, asking the writer to sync now.
pub(crate) fn wait_durable(shared: &Shared, tx: &Sender, seq: u64) -> Result<(), StoreError> {
    let mut s = shared.lock();
    if s.durable >= seq {
        return Ok(());
    }
    drop(s);
    send(tx, Msg::Sync);
    s = shared.lock();
    loop {
        if let Some(e) = &s.error {
            return Err(StoreError::Journal(e.clone()));
        }
        if s.durable >= seq {
            return Ok(());
        }
        if s.stopped {
            return Err(StoreError::Journal("the journal writer stopped".into()));
        }
        s = shared
            .changed
            .wait_timeout(s, Duration::from_millis(100))
            .map(|(g, _)| g)
            .unwrap_or_else(|p| p.into_inner().0);
        if s.durable < seq && s.error.is_none() {
            // The request may have raced with a sync in progress: ask again.
            drop(s);
            send(tx, Msg::Sync);
            s = shared.lock();
        }
    }
}

impl Writer {
    /// Closes the open segment and starts the next (for a checkpoint).
    pub(crate) fn rotate(&self) -> Result<(), StoreError> {
        let (answer, done) = sync_channel(1);
        send(&self.tx, Msg::Rotate(answer));
        done.recv().ok();
        match &self.shared.lock().error {
            Some(e) => Err(StoreError::Journal(e.clone())),
            None => Ok(()),
        }
    }

    /// The last record on disk.
    pub(crate) fn durable(&self) -> u64 {
        self.shared.lock().durable
    }

    /// The writer's error, if it met one.
    pub(crate) fn error(&self) -> Option<String> {
        self.shared.lock().error.clone()
    }

    /// Writes and syncs what is queued, then stops the thread. Senders held elsewhere
    /// (the session's journal) must be dropped first, or this waits for them.
    pub(crate) fn stop(&mut self) {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = self.thread.take() {
            t.join().ok();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop();
    }
}
