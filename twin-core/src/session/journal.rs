//! The session's journal: every change made to a live session, told as it is made, so
//! that a durable store (the `twin-store` crate) can write it down and a restarted
//! twin can make the same changes again.
//!
//! A [`Journal`] set with [`Session::set_journal`] hears of:
//! - [`Entry::Applied`]: the samples of one [`Session::apply`] (or
//!   [`Session::apply_readings`]) that the store took — in range, of the right type,
//!   not too far in the future ([`StateStore::check`]) — with the clock they were
//!   applied at. Exact repeats are told too (the store counts them as duplicates), so
//!   replaying the entry is exactly the same call.
//! - [`Entry::Ticked`]: the clock moved on without samples ([`Session::tick`]).
//! - [`Entry::Stepped`]: a person's step on a work order that the session took.
//! - [`Entry::Acknowledged`]: an alert acknowledged.
//! - [`Entry::Reconfigured`]: something not replayable from entries changed (rules,
//!   layers, channels, assets): the store should write a full snapshot next.
//!
//! Entries are told after the change was made, from the thread that made it; a
//! journal must not block for long (the store hands them to a writer thread). The
//! session is deterministic in these calls, so a snapshot plus the entries made after
//! it give back the same live state, alerts, incidents and orders.
//!
//! [`StateStore::check`]: crate::state::StateStore::check

use crate::state::Sample;
use crate::state::orders::StepRequest;
use crate::time::Timestamp;

use super::Session;

/// One change to a live session (see the module docs).
#[derive(Clone, Copy, Debug)]
pub enum Entry<'a> {
    /// Samples the store took, applied at `now`.
    Applied {
        /// The session's clock for the call.
        now: Timestamp,
        /// The samples, in the order given.
        samples: &'a [Sample],
    },
    /// The clock moved to `now` without samples.
    Ticked {
        /// The session's clock.
        now: Timestamp,
    },
    /// A step on a work order was taken at `now`.
    Stepped {
        /// The session's clock.
        now: Timestamp,
        /// The order.
        order: u64,
        /// The step as asked.
        request: &'a StepRequest<'a>,
    },
    /// An alert was acknowledged at `now`.
    Acknowledged {
        /// The session's clock.
        now: Timestamp,
        /// The alert.
        alert: u64,
    },
    /// Something entries cannot replay changed (named): snapshot the session next.
    Reconfigured {
        /// What changed (`rules`, `layers`, `channels`, `assets`, …).
        what: &'static str,
    },
}

/// Hears of every change made to a session (see the module docs).
pub trait Journal: Send + Sync {
    /// One change, after the session made it.
    fn record(&mut self, entry: Entry<'_>);
}

/// The journal slot of a session (Debug without showing the journal).
#[derive(Default)]
pub(crate) struct Slot(pub(crate) Option<Box<dyn Journal>>);

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Some(journal)"
        } else {
            "None"
        })
    }
}

impl Slot {
    pub(crate) fn record(&mut self, entry: Entry<'_>) {
        if let Some(j) = self.0.as_mut() {
            j.record(entry);
        }
    }

    pub(crate) fn is_set(&self) -> bool {
        self.0.is_some()
    }
}

impl Session {
    /// Sets the journal that hears of every change from now on (`None`: none); returns
    /// the one it replaces.
    pub fn set_journal(&mut self, journal: Option<Box<dyn Journal>>) -> Option<Box<dyn Journal>> {
        std::mem::replace(&mut self.journal.0, journal)
    }

    /// Whether a journal is set.
    pub fn has_journal(&self) -> bool {
        self.journal.is_set()
    }

    /// Puts samples back into history only — not the latest state, alerts or vital
    /// signs — as a restarted twin does with the history it kept on disk. Samples the
    /// store would refuse are skipped; returns how many were stored. Nothing is told
    /// to the journal.
    pub fn restore_history(&mut self, samples: &[Sample]) -> usize {
        self.store.ensure_capacity(self.twin.handle_capacity());
        self.store.restore_history(samples)
    }

    pub(super) fn reconfigured(&mut self, what: &'static str) {
        self.journal.record(Entry::Reconfigured { what });
    }
}
