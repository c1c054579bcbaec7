//! # History: the time series of every (asset, channel)
//!
//! [`History`] keeps, for each series ([`SeriesKey`]: asset handle and channel), the
//! samples `(ts, value)` it received, `ts` in UTC milliseconds (any `i64`) and `value`
//! an `f64`. It is built for ~100,000 sensors reporting at 1 Hz: writes are a sequential
//! append, storage is 12 bytes per sample, and memory can be capped.
//!
//! ## Writing: a hot log, compacted in batches
//! There are two ways in. [`History::append`] (what the state store uses for every
//! sample at least as new as the latest value) puts the sample in the *hot log*: one
//! vector per channel of 16-byte records (the value, the time as an `i32` offset from
//! the log's base, and the index of the series' previous pending record), in arrival
//! order. An append is a vector push and one store into a dense array of chain heads
//! indexed by handle: no hashing, no search, no touch of the series' chunks, whose
//! scattered heap memory made a per-sample insert cost ~200 ns of cache misses.
//! [`History::insert`] stores a sample at once and says what it did ([`Inserted`]);
//! the store uses it for out-of-order samples, whose report needs the answer.
//!
//! *Compaction* moves pending samples into the chunks. It runs inside
//! [`History::append`] when the log holds [`History::hot_capacity`] records (default
//! [`DEFAULT_HOT_CAPACITY`], 16 MiB), on [`History::compact`], on [`History::tick`]
//! at most every [`TICK_COMPACTION_MS`] (`Session::tick` calls it), for one series
//! before an [`History::insert`] or [`History::remove`] into it, for one channel
//! before its retention changes, for everything before [`History::set_budget`],
//! [`History::enforce`] and [`History::clear`], and before reads (below). It walks
//! each channel's series in the order they first received a pending sample, collects
//! each one's samples through its chain (in arrival order) and stores them together,
//! so a series that received `k` samples pays its lookups and cache misses once
//! rather than `k` times (and the cache misses of 32 series at a time overlap). A
//! run of strictly increasing times after the series' newest (the normal case) is
//! appended and trimmed once; anything else (late, repeated or replacing samples) goes
//! through the same per-sample insert as [`History::insert`]. Per series, compaction stores
//! exactly what inserting each sample on arrival would: the same samples, duplicates,
//! replacements, retention drops and [`History::expired`] counts.
//!
//! ## Reading: every read sees every sample
//! Reads take `&self` and see every sample appended so far. The state sits behind an
//! `RwLock`: a read of one series (`at`, `range`, `downsample`, `len`, `latest`, …)
//! first compacts that series if it has pending samples (the cost of one series
//! insert), and a read of totals (`bytes`, `total_samples`, `series_count`, `keys`,
//! `evicted`, `expired`, `at_all`) first compacts the whole log. With nothing pending,
//! a read costs an uncontended shared lock. [`History::at`] skips the compaction when
//! it provably gets the same answer: the series' pending samples are all after `t`,
//! its channel keeps no sample count, and their times do not move the age cut-off past
//! the answer. So the API needs no `&mut` for reading and `History` stays `Send +
//! Sync`; the price is that the first read after a burst of appends pays for their
//! compaction, and readers on other threads wait meanwhile. Writers hold `&mut self`
//! and never lock.
//!
//! ## Layout: chunks, 12 bytes per sample
//! A series is a sorted sequence of *chunks* of at most [`CHUNK_CAPACITY`] (256)
//! samples. A chunk holds a base timestamp (`i64`) and two parallel vectors: `u32`
//! offsets in milliseconds since the base and `f64` values, so a sample costs
//! 4 + 8 = 12 bytes. A chunk's vectors grow by doubling from 8 to 256 with exact
//! reservations, so a full chunk has no spare capacity; only the open (newest) chunk of
//! a series carries slack. Each chunk also costs a 64-byte header in its series' chunk
//! table (grown by 1/8 at a time): 64 / 256 = 0.25 bytes per sample. A long series
//! measures **12.29 bytes per sample** in total ([`History::bytes`] /
//! [`History::total_samples`], 100,000 samples); 100,000 series of 600 samples each
//! measure 13.2, the difference being the slack of each series' open chunk. Pending
//! samples cost 16 bytes each in the hot log ([`History::hot_bytes`], which also
//! counts the chain heads: 4 bytes per handle and channel up to the highest handle
//! seen; handles from 2^24 and channels from 4096 up skip the log and are inserted at
//! once).
//!
//! A sample that lies before a chunk's base or more than `u32::MAX` ms (~49.7 days)
//! after it cannot be stored as an offset: it goes to a neighbouring chunk, or the chunk
//! is rebased when its offsets allow, or a new chunk is started. Timestamps anywhere in
//! `i64::MIN..=i64::MAX` are therefore stored exactly; series whose consecutive samples
//! are more than ~49.7 days apart pay one chunk per sample. (In the hot log, a sample
//! more than ±2^31 ms from its channel log's base compacts that channel first.)
//!
//! ## Ordering and idempotence
//! [`History::insert`] says what it did with an [`Inserted`]:
//! - a sample newer than the series' newest is appended to the last chunk (the fast
//!   path): [`Inserted::Appended`];
//! - an older sample is inserted at its sorted position: [`Inserted::OutOfOrder`]
//!   (a full chunk is split in two to make room);
//! - a sample with the time and the bit-identical value of a stored one changes
//!   nothing: [`Inserted::Duplicate`], so at-least-once delivery is idempotent;
//! - a sample with the time of a stored one but another value replaces it (the last
//!   writer wins): [`Inserted::Replaced`]. `0.0` and `-0.0` count as different values.
//!
//! Appended samples follow the same rules, in arrival order, when compacted. Each
//! series holds at most one sample per millisecond, always sorted by time.
//!
//! ## Retention
//! Every channel has a [`Retention`] ([`History::set_retention`], otherwise the default
//! given to [`History::new`]): a maximum age and/or a maximum number of samples per
//! series. On insert, a series keeps only samples with `ts >= newest - max_age_ms` and
//! at most `max_samples` of them, dropping the oldest first; [`History::enforce`]
//! applies the same with `now_ms` in place of the series' newest time, to every series.
//! Dropping is O(1) amortised: dropped samples at the front of the oldest chunk are
//! only skipped, and a chunk is freed once all its samples are dropped. So a series
//! under retention holds up to one chunk of skipped samples besides the kept ones:
//! with `max_samples: Some(100)` that is ~50 bytes per kept sample; with a day at
//! 1 Hz, still ~12.3. A new sample that retention would drop at once (older than the
//! cut-off, or older than all samples of a full series) is not stored; `insert` still
//! reports it by its position (`Appended` or `OutOfOrder`). Samples dropped by
//! retention are counted by [`History::expired`]. A series left without samples is
//! removed.
//!
//! ## Memory budget and eviction
//! [`History::bytes`] is the heap actually held by compacted sample storage, from
//! capacities: chunk vectors plus chunk tables (not counted: the hot log, and the
//! series index — a 56-byte record per series plus 4 bytes per handle and channel up
//! to the highest handle with history on that channel). With a budget ([`History::new`],
//! [`History::set_budget`]), whenever samples reach the chunks (an insert, a
//! compaction) and `bytes()` ends above the budget, whole chunks are evicted, oldest
//! first across all series, until `bytes()` is within the budget again (possibly
//! including chunks just written to). "Oldest" is the base timestamp of each series'
//! first chunk (the time of its first stored sample), kept in an ordered index of
//! `(base, key)` — one entry per series, updated only when a series' first chunk
//! changes — so each eviction is O(log series). Evicted samples are counted by
//! [`History::evicted`]. `bytes() <= budget` holds after every insert and compaction,
//! so every value `bytes()` returns is within the budget. For appended samples the
//! budget is enforced when they are compacted, not sample by sample: when the budget
//! and retention both bind while a batch is compacted, the chunks evicted can differ
//! from what per-sample inserts would have evicted (the order, oldest first, is the
//! same).
//!
//! ## Reads
//! [`History::range`] (inclusive, sorted), [`History::at`]
//! (last sample at or before `t`, for time travel), [`History::at_all`] (the same for
//! every series), [`History::latest`], [`History::downsample`] (min/max/mean per
//! bucket, for charts). Bad arguments (`from > to`, `bucket_ms <= 0`) give empty
//! results. Nothing here panics, whatever the timestamps; values may be any `f64` but
//! NaN (callers refuse NaN).

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::time::Timestamp;

mod cold;
mod hot;
mod inner;
mod map;
mod series;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_hot;
#[cfg(test)]
mod tests_retention;

use cold::Cold;
use hot::PendingVs;
use inner::Inner;

/// Records the hot log holds before [`History::append`] compacts it (16 MiB of
/// records); see [`History::set_hot_capacity`].
pub const DEFAULT_HOT_CAPACITY: usize = 1 << 20;

/// How often (clock time, ms) [`History::tick`] compacts a log that holds samples.
pub const TICK_COMPACTION_MS: i64 = 10_000;

/// Most samples a chunk holds.
pub const CHUNK_CAPACITY: usize = 256;

/// Capacity of a fresh chunk; it doubles up to [`CHUNK_CAPACITY`].
const INITIAL_CHUNK_CAPACITY: usize = 8;

/// Identifies one series: an asset handle and one of its channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesKey {
    /// The asset's dense handle.
    pub handle: u32,
    /// The channel number.
    pub channel: u16,
}

impl SeriesKey {
    /// The key of channel `channel` of asset `handle`.
    pub const fn new(handle: u32, channel: u16) -> Self {
        SeriesKey { handle, channel }
    }
}

/// How much history a channel keeps per series. `None` means no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Retention {
    /// Keep samples no older than this many milliseconds before the newest sample (on
    /// insert) or before `now` (in [`History::enforce`]). Negative counts as 0.
    pub max_age_ms: Option<i64>,
    /// Keep at most this many samples per series (the newest ones).
    pub max_samples: Option<usize>,
}

impl Retention {
    /// Keep everything.
    pub const UNLIMITED: Retention = Retention {
        max_age_ms: None,
        max_samples: None,
    };

    /// Keep samples at most `ms` milliseconds older than the reference time.
    pub const fn max_age(ms: i64) -> Self {
        Retention {
            max_age_ms: Some(ms),
            max_samples: None,
        }
    }

    /// Keep the newest `n` samples of each series.
    pub const fn max_samples(n: usize) -> Self {
        Retention {
            max_age_ms: None,
            max_samples: Some(n),
        }
    }

    /// The oldest time kept when the reference time is `reference`.
    fn cutoff(&self, reference: i64) -> Option<i64> {
        self.max_age_ms
            .map(|age| reference.saturating_sub(age.max(0)))
    }

    /// Whether this retention can drop anything.
    fn is_limited(&self) -> bool {
        self.max_age_ms.is_some() || self.max_samples.is_some()
    }
}

/// What [`History::insert`] did with a sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Inserted {
    /// Newer than every sample of the series (or the first one): appended.
    Appended,
    /// Older than the newest sample: inserted at its sorted position.
    OutOfOrder,
    /// Same time and same value (bit for bit) as a stored sample: nothing changed.
    Duplicate,
    /// Same time as a stored sample, another value: the new value replaced it
    /// (the last writer wins).
    Replaced,
}

/// Summary of the samples of one time bucket, for charts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    /// Start of the bucket (inclusive).
    pub start: Timestamp,
    /// Number of samples in the bucket (at least 1).
    pub count: u32,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Arithmetic mean of the values.
    pub mean: f64,
}

/// Time series of every (asset, channel) of a live twin; see the module docs.
#[derive(Debug, Default)]
pub struct History {
    inner: RwLock<Inner>,
}

impl Clone for History {
    fn clone(&self) -> Self {
        History {
            inner: RwLock::new(self.shared().clone()),
        }
    }
}

impl History {
    /// An empty history: `default` retention for channels without their own, and at
    /// most `budget_bytes` of sample storage (`None`: no cap).
    pub fn new(default: Retention, budget_bytes: Option<usize>) -> Self {
        let mut inner = Inner::default();
        inner.cold.default_retention = default;
        inner.cold.budget = budget_bytes;
        History {
            inner: RwLock::new(inner),
        }
    }

    fn inner(&mut self) -> &mut Inner {
        self.inner.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    fn shared(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn exclusive(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the compacted history once series `key` has nothing pending.
    fn read_key<R>(&self, key: SeriesKey, f: impl FnOnce(&Cold) -> R) -> R {
        {
            let inner = self.shared();
            if !inner.hot.has_pending(key) {
                return f(&inner.cold);
            }
        }
        let mut inner = self.exclusive();
        inner.compact_key(key);
        f(&inner.cold)
    }

    /// Runs `f` on the compacted history once nothing is pending.
    fn read_all<R>(&self, f: impl FnOnce(&Cold) -> R) -> R {
        {
            let inner = self.shared();
            if inner.hot.pending() == 0 {
                return f(&inner.cold);
            }
        }
        let mut inner = self.exclusive();
        inner.compact_all();
        f(&inner.cold)
    }

    /// Sets the retention of `channel` (its pending samples are compacted first, under
    /// the retention they arrived with). It applies from the next insert into a series
    /// of that channel, and to all series at the next [`History::enforce`].
    pub fn set_retention(&mut self, channel: u16, retention: Retention) {
        let inner = self.inner();
        inner.compact_channel(channel);
        inner.cold.retention.insert(channel, retention);
    }

    /// Makes `channel` use the default retention again (after compacting it).
    pub fn clear_retention(&mut self, channel: u16) {
        let inner = self.inner();
        inner.compact_channel(channel);
        inner.cold.retention.remove(&channel);
    }

    /// The retention in force for `channel`.
    pub fn retention(&self, channel: u16) -> Retention {
        self.shared().cold.retention(channel)
    }

    /// The memory budget in bytes, if any.
    pub fn budget(&self) -> Option<usize> {
        self.shared().cold.budget
    }

    /// Compacts, sets the memory budget and evicts at once if [`History::bytes`]
    /// exceeds it.
    pub fn set_budget(&mut self, budget_bytes: Option<usize>) {
        let inner = self.inner();
        inner.compact_all();
        inner.cold.budget = budget_bytes;
        inner.cold.evict_to_budget();
    }

    /// Stores the sample `(ts, value)` of series `key` at once (after the series'
    /// pending samples; see the module docs for ordering, idempotence and retention),
    /// then evicts down to the budget. `value` must not be NaN (callers refuse it; a
    /// NaN is stored but never matches as a duplicate).
    pub(crate) fn insert_ms(&mut self, key: SeriesKey, ts: i64, value: f64) -> Inserted {
        self.inner().insert(key, ts, value)
    }

    /// Appends the sample `(ts, value)` of series `key` to the hot log: it is stored
    /// by the rules of [`History::insert`], in arrival order, when compacted (see the
    /// module docs), and every read sees it from now on. Compacts when the log is full.
    #[inline]
    pub(crate) fn append_ms(&mut self, key: SeriesKey, ts: i64, value: f64) {
        self.inner().append(key, ts, value);
    }

    /// Stores every pending sample of the hot log in its series (then evicts down to
    /// the budget); returns how many samples that was.
    pub fn compact(&mut self) -> usize {
        self.inner().compact_all()
    }

    /// Housekeeping as time passes: compacts the hot log if it holds samples and no
    /// tick has compacted it for [`TICK_COMPACTION_MS`] (or the clock went back).
    /// Returns how many samples were compacted. Called by `Session::tick`, so that a
    /// slow trickle of samples does not wait long for retention and the budget; with a
    /// steady stream the full log compacts itself first.
    pub(crate) fn tick_ms(&mut self, now_ms: i64) -> usize {
        let inner = self.inner();
        let due = inner
            .last_tick
            .is_none_or(|t| now_ms < t || now_ms.saturating_sub(t) >= TICK_COMPACTION_MS);
        if !due || inner.hot.pending() == 0 {
            return 0;
        }
        inner.last_tick = Some(now_ms);
        inner.compact_all()
    }

    /// Samples appended and not compacted yet.
    pub fn pending(&self) -> usize {
        self.shared().hot.pending()
    }

    /// Heap bytes of the hot log: its records (16 bytes each, capacity kept between
    /// compactions), the chain heads (4 bytes per handle and channel) and the lists of
    /// series to compact. Not part of [`History::bytes`] nor of the budget.
    pub fn hot_bytes(&self) -> usize {
        self.shared().hot.bytes()
    }

    /// Records the hot log holds before an append compacts it.
    pub fn hot_capacity(&self) -> usize {
        self.shared().hot_capacity
    }

    /// Sets how many records the hot log holds before an append compacts it (at least
    /// 1; 1 compacts on every append); compacts at once if it holds that many already.
    pub fn set_hot_capacity(&mut self, records: usize) {
        let inner = self.inner();
        inner.hot_capacity = records.max(1);
        if inner.hot.records() >= inner.hot_capacity {
            inner.compact_all();
        }
    }

    /// Compacts, then applies every channel's retention with `now_ms` as the reference
    /// time: drops samples older than `now_ms - max_age_ms` and beyond `max_samples`.
    /// Returns how many samples were dropped (also added to [`History::expired`]).
    pub(crate) fn enforce_ms(&mut self, now_ms: i64) -> u64 {
        let inner = self.inner();
        inner.compact_all();
        inner.cold.enforce(now_ms)
    }

    /// Removes series `key` (pending samples included); returns how many samples it
    /// held.
    pub fn remove(&mut self, key: SeriesKey) -> usize {
        let inner = self.inner();
        inner.compact_key(key);
        inner.cold.remove(key)
    }

    /// Compacts, then removes every series (retention, budget and counters are kept).
    pub fn clear(&mut self) {
        let inner = self.inner();
        inner.compact_all();
        inner.cold.clear();
    }

    /// Heap bytes held by compacted sample storage (capacities of chunk vectors and
    /// chunk tables; see the module docs), after compacting.
    pub fn bytes(&self) -> usize {
        self.read_all(|c| c.bytes)
    }

    /// Samples evicted to keep within the memory budget, since creation.
    pub fn evicted(&self) -> u64 {
        self.read_all(|c| c.evicted)
    }

    /// Samples dropped (or refused on insert) by retention, since creation.
    pub fn expired(&self) -> u64 {
        self.read_all(|c| c.expired)
    }

    /// Number of samples of series `key`.
    pub fn len(&self, key: SeriesKey) -> usize {
        self.read_key(key, |c| c.len(key))
    }

    /// Whether no series holds any sample.
    pub fn is_empty(&self) -> bool {
        self.read_all(|c| c.total == 0)
    }

    /// Number of samples of all series.
    pub fn total_samples(&self) -> usize {
        self.read_all(|c| c.total)
    }

    /// Number of series holding at least one sample.
    pub fn series_count(&self) -> usize {
        self.read_all(|c| c.series.len())
    }

    /// Keys of all series holding samples, in key order (handle, then channel).
    pub fn keys(&self) -> impl Iterator<Item = SeriesKey> + '_ {
        self.read_all(Cold::keys).into_iter()
    }

    /// The newest sample of series `key`.
    pub(crate) fn latest_ms(&self, key: SeriesKey) -> Option<(i64, f64)> {
        self.read_key(key, |c| c.latest(key))
    }

    /// The oldest sample still held of series `key`.
    pub(crate) fn oldest_ms(&self, key: SeriesKey) -> Option<(i64, f64)> {
        self.read_key(key, |c| c.oldest_sample(key))
    }

    /// The last sample of series `key` with `ts <= t`.
    ///
    /// When the series' pending samples are all after `t` and its channel keeps no
    /// sample count, they cannot change the answer unless their time moves the age
    /// cut-off past it; that is checked, and then the answer is read without
    /// compacting (the common case of a rule looking back from a new sample).
    pub(crate) fn at_ms(&self, key: SeriesKey, t: i64) -> Option<(i64, f64)> {
        {
            let inner = self.shared();
            let ret = inner.cold.retention(key.channel);
            match inner.hot.pending_vs(key, t) {
                PendingVs::Nothing => return inner.cold.at(key, t),
                PendingVs::AllAfter(pending) if ret.max_samples.is_none() => {
                    let answer = inner.cold.at(key, t);
                    let newest = inner.cold.latest(key).map_or(pending, |l| l.0.max(pending));
                    let kept = match (answer, ret.cutoff(newest)) {
                        (Some((ts, _)), Some(cut)) => ts >= cut,
                        _ => true,
                    };
                    if kept {
                        return answer;
                    }
                }
                _ => {}
            }
        }
        let mut inner = self.exclusive();
        inner.compact_key(key);
        inner.cold.at(key, t)
    }

    /// For every series with a sample at or before `t`, its last such sample, in key
    /// order: [`History::at`] for all keys under one lock.
    pub(crate) fn at_all_ms(&self, t: i64) -> Vec<(SeriesKey, i64, f64)> {
        self.read_all(|c| {
            c.keys()
                .into_iter()
                .filter_map(|k| c.at(k, t).map(|(ts, v)| (k, ts, v)))
                .collect()
        })
    }

    /// Samples of series `key` with `from_ms <= ts <= to_ms`, sorted by time. Empty
    /// when `from_ms > to_ms`.
    pub(crate) fn range_ms(&self, key: SeriesKey, from_ms: i64, to_ms: i64) -> Vec<(i64, f64)> {
        self.read_key(key, |c| c.iter_range(key, from_ms, to_ms).collect())
    }

    /// Min, max, mean and count of the samples of series `key` in `[from_ms, to_ms]`,
    /// per bucket of `bucket_ms` milliseconds starting at `from_ms` (bucket `k` covers
    /// `from_ms + k * bucket_ms` up to the next); only non-empty buckets, in time
    /// order. Empty when `bucket_ms <= 0` or `from_ms > to_ms`. The mean of a bucket
    /// holding both infinities is NaN.
    pub(crate) fn downsample_ms(
        &self,
        key: SeriesKey,
        from_ms: i64,
        to_ms: i64,
        bucket_ms: i64,
    ) -> Vec<Bucket> {
        self.read_key(key, |c| c.downsample(key, from_ms, to_ms, bucket_ms))
    }
}

/// The public, [`Timestamp`]-typed face of the history.
impl History {
    /// Stores the sample `(ts, value)` of series `key` at once (after the series'
    /// pending samples; see the module docs for ordering, idempotence and retention),
    /// then evicts down to the budget. `value` must not be NaN (callers refuse it; a
    /// NaN is stored but never matches as a duplicate).
    pub fn insert(&mut self, key: SeriesKey, ts: Timestamp, value: f64) -> Inserted {
        self.insert_ms(key, ts.as_millis(), value)
    }

    /// Appends the sample `(ts, value)` of series `key` to the hot log: it is stored
    /// by the rules of [`History::insert`], in arrival order, when compacted (see the
    /// module docs), and every read sees it from now on. Compacts when the log is full.
    #[inline]
    pub fn append(&mut self, key: SeriesKey, ts: Timestamp, value: f64) {
        self.append_ms(key, ts.as_millis(), value);
    }

    /// Housekeeping as time passes: compacts the hot log if it holds samples and no
    /// tick has compacted it for [`TICK_COMPACTION_MS`] (or the clock went back).
    /// Returns how many samples were compacted. Called by `Session::tick`, so that a
    /// slow trickle of samples does not wait long for retention and the budget; with a
    /// steady stream the full log compacts itself first.
    pub fn tick(&mut self, now: Timestamp) -> usize {
        self.tick_ms(now.as_millis())
    }

    /// Compacts, then applies every channel's retention with `now` as the reference
    /// time: drops samples older than `now - max_age_ms` and beyond `max_samples`.
    /// Returns how many samples were dropped (also added to [`History::expired`]).
    pub fn enforce(&mut self, now: Timestamp) -> u64 {
        self.enforce_ms(now.as_millis())
    }

    /// The newest sample of series `key`.
    pub fn latest(&self, key: SeriesKey) -> Option<(Timestamp, f64)> {
        self.latest_ms(key)
            .map(|(t, v)| (Timestamp::from_millis(t), v))
    }

    /// The oldest sample still held of series `key`.
    pub fn oldest(&self, key: SeriesKey) -> Option<(Timestamp, f64)> {
        self.oldest_ms(key)
            .map(|(t, v)| (Timestamp::from_millis(t), v))
    }

    /// The last sample of series `key` at or before `t` (see the module docs for what
    /// retention keeps).
    pub fn at(&self, key: SeriesKey, t: Timestamp) -> Option<(Timestamp, f64)> {
        self.at_ms(key, t.as_millis())
            .map(|(t, v)| (Timestamp::from_millis(t), v))
    }

    /// For every series with a sample at or before `t`, its last such sample, in key
    /// order: [`History::at`] for all keys under one lock.
    pub fn at_all(&self, t: Timestamp) -> Vec<(SeriesKey, Timestamp, f64)> {
        self.at_all_ms(t.as_millis())
            .into_iter()
            .map(|(k, t, v)| (k, Timestamp::from_millis(t), v))
            .collect()
    }

    /// Samples of series `key` with `from <= ts <= to`, sorted by time. Empty when
    /// `from > to`.
    pub fn range(&self, key: SeriesKey, from: Timestamp, to: Timestamp) -> Vec<(Timestamp, f64)> {
        self.range_ms(key, from.as_millis(), to.as_millis())
            .into_iter()
            .map(|(t, v)| (Timestamp::from_millis(t), v))
            .collect()
    }

    /// Min, max, mean and count of the samples of series `key` in `[from, to]`, per
    /// bucket of `bucket_ms` milliseconds starting at `from` (bucket `k` covers
    /// `from + k * bucket_ms` up to the next); only non-empty buckets, in time order.
    /// Empty when `bucket_ms <= 0` or `from > to`. The mean of a bucket holding both
    /// infinities is NaN.
    pub fn downsample(
        &self,
        key: SeriesKey,
        from: Timestamp,
        to: Timestamp,
        bucket_ms: i64,
    ) -> Vec<Bucket> {
        self.downsample_ms(key, from.as_millis(), to.as_millis(), bucket_ms)
    }
}
