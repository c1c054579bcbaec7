//! `twin serve --data-dir`: the served session journalled to a data directory
//! (crate `twin-store`). The feed loop writes a checkpoint when one is due (under the
//! session's read lock: readers go on, writers wait for it), MQTT connections
//! acknowledge a batch only once its records are on disk, and a clean stop writes a
//! last checkpoint. `/api/v1/status` shows the directory's progress and any error.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use serde_json::{Value as Json, json};
use twin_store::{DataDir, Syncer};

use crate::state::Served;

/// The data directory of a served session.
#[derive(Debug)]
pub struct Stored {
    dir: Mutex<Option<DataDir>>,
    syncer: Option<Syncer>,
    path: String,
    error_told: AtomicBool,
}

impl Stored {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<DataDir>> {
        self.dir.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Served {
    /// Journals the session to `dir` from now on (`dir` has recovered the session:
    /// [`DataDir::recover`]).
    pub fn set_data_dir(&mut self, dir: DataDir) {
        self.store = Some(Stored {
            syncer: dir.syncer(),
            path: dir.root().display().to_string(),
            dir: Mutex::new(Some(dir)),
            error_told: AtomicBool::new(false),
        });
    }

    /// After a step of the feed: a checkpoint when one is due. An error is printed
    /// once and shown in the status.
    pub(crate) fn after_feed(&self) {
        let Some(st) = &self.store else { return };
        let mut guard = st.lock();
        let Some(dir) = guard.as_mut() else { return };
        if !dir.checkpoint_due() && dir.error().is_none() {
            return;
        }
        let session = self.read();
        let result = dir
            .maybe_checkpoint(&session)
            .map(|_| ())
            .map_err(|e| e.to_string());
        let err = result.err().or_else(|| dir.error());
        if let Some(e) = err
            && !st.error_told.swap(true, Ordering::Relaxed)
        {
            eprintln!("twin serve: data dir {}: {e}", st.path);
        }
    }

    /// Waits until every change so far is on disk (before acknowledging a batch of
    /// MQTT messages); `Err` if the journal could not be written.
    pub(crate) fn sync_journal(&self) -> Result<(), String> {
        match self.store.as_ref().and_then(|s| s.syncer.as_ref()) {
            Some(s) => s.sync().map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }

    /// Closes the data directory with a last checkpoint (on a clean stop).
    pub(crate) fn close_store(&self) {
        let Some(st) = &self.store else { return };
        let Some(dir) = st.lock().take() else { return };
        match self.write_with(|session| dir.close(session)) {
            Ok(()) => eprintln!("twin serve: data dir {} closed with a checkpoint", st.path),
            Err(e) => eprintln!("twin serve: data dir {}: {e}", st.path),
        }
    }

    /// The data directory's part of `/api/v1/status`.
    pub(crate) fn store_status(&self) -> Json {
        let Some(st) = &self.store else {
            return Json::Null;
        };
        let guard = st.lock();
        match guard.as_ref() {
            Some(dir) => {
                let (records, durable) = dir.progress();
                json!({"dir": st.path, "records": records, "durable": durable, "error": dir.error()})
            }
            None => json!({"dir": st.path, "closed": true}),
        }
    }
}
