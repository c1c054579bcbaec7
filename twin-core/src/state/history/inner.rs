//! What [`super::History`] keeps behind its lock: the compacted series, the hot log, and
//! the compaction that moves samples from one to the other.

use super::cold::Cold;
use super::hot::{HotLog, Refused};
use super::{DEFAULT_HOT_CAPACITY, Inserted, SeriesKey};

/// The state behind [`super::History`]'s lock: the compacted series and the hot log.
#[derive(Clone, Debug)]
pub(super) struct Inner {
    pub(super) cold: Cold,
    pub(super) hot: HotLog,
    pub(super) hot_capacity: usize,
    /// Scratch for pending samples being compacted.
    buf: Vec<(i64, f64)>,
    /// Scratch for the series of a compaction group.
    group: Vec<(SeriesKey, std::ops::Range<usize>)>,
    /// When [`super::History::tick`] last compacted.
    pub(super) last_tick: Option<i64>,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            cold: Cold::default(),
            hot: HotLog::default(),
            hot_capacity: DEFAULT_HOT_CAPACITY,
            buf: Vec::new(),
            group: Vec::new(),
            last_tick: None,
        }
    }
}

impl Inner {
    pub(super) fn append(&mut self, key: SeriesKey, ts: i64, value: f64) {
        match self.hot.push(key, ts, value) {
            Ok(()) => {
                if self.hot.records() >= self.hot_capacity {
                    self.compact_all();
                }
            }
            Err(Refused::Time) => {
                self.compact_channel(key.channel);
                if self.hot.push(key, ts, value).is_err() {
                    self.insert(key, ts, value);
                }
            }
            Err(Refused::Key) => {
                self.insert(key, ts, value);
            }
        }
    }

    pub(super) fn insert(&mut self, key: SeriesKey, ts: i64, value: f64) -> Inserted {
        self.compact_key(key);
        let outcome = self.cold.insert(key, ts, value);
        self.cold.evict_to_budget();
        outcome
    }

    /// Stores the pending samples of series `key`, then evicts down to the budget.
    pub(super) fn compact_key(&mut self, key: SeriesKey) {
        if self.hot.has_pending(key) {
            self.hot.take(key, &mut self.buf);
            self.cold.insert_run(key, &self.buf);
            self.cold.evict_to_budget();
        }
    }

    /// Stores the pending samples of `channel`, then evicts down to the budget.
    pub(super) fn compact_channel(&mut self, channel: u16) {
        let Inner {
            cold,
            hot,
            buf,
            group,
            ..
        } = self;
        hot.drain_channel(channel, buf, group, |g, samples| {
            cold.insert_runs(g, samples)
        });
        cold.evict_to_budget();
    }

    /// Stores every pending sample, then evicts down to the budget. Returns how many.
    pub(super) fn compact_all(&mut self) -> usize {
        let pending = self.hot.pending();
        let channels: Vec<u16> = self.hot.channels().collect();
        let Inner {
            cold,
            hot,
            buf,
            group,
            ..
        } = self;
        for c in channels {
            hot.drain_channel(c, buf, group, |g, samples| cold.insert_runs(g, samples));
        }
        cold.evict_to_budget();
        pending
    }
}
