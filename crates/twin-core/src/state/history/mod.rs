//! # History: the time series of every (asset, channel)
//!
//! [`History`] keeps, for each series ([`SeriesKey`]: asset handle and channel), the
//! samples `(ts, value)` it received, `ts` in UTC milliseconds (any `i64`) and `value`
//! an `f64`. It is built for ~100,000 sensors reporting at 1 Hz: appends are O(1),
//! storage is 12 bytes per sample, and memory can be capped.
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
//! measure 13.2, the difference being the slack of each series' open chunk.
//!
//! A sample that lies before a chunk's base or more than `u32::MAX` ms (~49.7 days)
//! after it cannot be stored as an offset: it goes to a neighbouring chunk, or the chunk
//! is rebased when its offsets allow, or a new chunk is started. Timestamps anywhere in
//! `i64::MIN..=i64::MAX` are therefore stored exactly; series whose consecutive samples
//! are more than ~49.7 days apart pay one chunk per sample.
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
//! Each series holds at most one sample per millisecond, always sorted by time.
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
//! [`History::bytes`] is the heap actually held by sample storage, from capacities:
//! chunk vectors plus chunk tables (the per-series map entry, ~100 bytes per series, is
//! not counted). With a budget ([`History::new`], [`History::set_budget`]), an insert
//! that leaves `bytes()` above it evicts whole chunks, oldest first across all
//! series, until `bytes()` is within the budget again (possibly evicting the chunk
//! just written to). "Oldest" is the base timestamp of each series' first chunk (the
//! time of its first stored sample), kept in an ordered index of `(base, key)` — one
//! entry per series, updated only when a series' first chunk changes, not on appends —
//! so each eviction is O(log series). Evicted samples are counted by
//! [`History::evicted`]; `bytes() <= budget` holds after every insert.
//!
//! ## Reads
//! [`History::range`], [`History::iter_range`] (inclusive, sorted), [`History::at`]
//! (last sample at or before `t`, for time travel), [`History::latest`],
//! [`History::downsample`] (min/max/mean per bucket, for charts). Bad arguments
//! (`from > to`, `bucket_ms <= 0`) give empty results. Nothing here panics, whatever
//! the timestamps; values may be any `f64` but NaN (callers refuse NaN).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

/// Most samples a chunk holds.
pub const CHUNK_CAPACITY: usize = 256;

/// Capacity of a fresh chunk; it doubles up to [`CHUNK_CAPACITY`].
const INITIAL_CHUNK_CAPACITY: usize = 8;

/// 2^64, to scale sums down so that a mean of huge finite values cannot overflow.
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;

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
    /// Start of the bucket (inclusive), in UTC milliseconds.
    pub start: i64,
    /// Number of samples in the bucket (at least 1).
    pub count: u32,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Arithmetic mean of the values.
    pub mean: f64,
}

/// Up to [`CHUNK_CAPACITY`] samples of one series, as offsets from a base time.
///
/// Invariants: `offsets.len() == values.len() <= CHUNK_CAPACITY`; `dead <
/// offsets.len()` (a chunk always has a live sample); offsets strictly increase and
/// `offsets[0] == 0` (the base is the time of the first stored sample, so chunk bases
/// strictly increase along a series and chunks can be searched by base without
/// touching their heap); `base + offset` never overflows. Only the first chunk of a
/// series may have dead (retention-dropped) samples, all older than every live sample
/// of the series.
mod series;
#[cfg(test)]
mod tests;

use series::Series;

/// What [`History`]'s totals and eviction index know of a series.
#[derive(Clone, Copy)]
struct Snapshot {
    front: Option<i64>,
    bytes: usize,
    len: usize,
}

impl Snapshot {
    fn of(series: &Series) -> Self {
        Snapshot {
            front: series.front_base(),
            bytes: series.bytes,
            len: series.len,
        }
    }
}

/// Running summary of one bucket.
struct Acc {
    count: u32,
    n: u64,
    min: f64,
    max: f64,
    sum: f64,
    /// Sum of `value / 2^64`: finite whenever the values are.
    scaled: f64,
}

impl Acc {
    fn new(v: f64) -> Self {
        Acc {
            count: 1,
            n: 1,
            min: v,
            max: v,
            sum: v,
            scaled: v / TWO_POW_64,
        }
    }

    fn add(&mut self, v: f64) {
        self.count = self.count.saturating_add(1);
        self.n += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.sum += v;
        self.scaled += v / TWO_POW_64;
    }

    fn finish(&self, start: i64) -> Bucket {
        let n = self.n as f64;
        let mean = if self.sum.is_finite() {
            self.sum / n
        } else {
            self.scaled / n * TWO_POW_64
        };
        Bucket {
            start,
            count: self.count,
            min: self.min,
            max: self.max,
            mean,
        }
    }
}

/// A multiplicative hasher for series keys (two small integers): far cheaper than
/// SipHash on the ingest path, and keys come from the twin, not from an attacker.
#[derive(Clone, Copy, Debug, Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u16(&mut self, n: u16) {
        self.write_u64(u64::from(n));
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// Time series of every (asset, channel) of a live twin; see the module docs.
#[derive(Clone, Debug, Default)]
pub struct History {
    series: HashMap<SeriesKey, Series, BuildHasherDefault<KeyHasher>>,
    retention: BTreeMap<u16, Retention>,
    default_retention: Retention,
    budget: Option<usize>,
    /// `(first chunk base, key)` of every series: the eviction order.
    oldest: BTreeSet<(i64, SeriesKey)>,
    bytes: usize,
    total: usize,
    evicted: u64,
    expired: u64,
}

impl History {
    /// An empty history: `default` retention for channels without their own, and at
    /// most `budget_bytes` of sample storage (`None`: no cap).
    pub fn new(default: Retention, budget_bytes: Option<usize>) -> Self {
        History {
            default_retention: default,
            budget: budget_bytes,
            ..History::default()
        }
    }

    /// Sets the retention of `channel`. It applies from the next insert into a series
    /// of that channel, and to all series at the next [`History::enforce`].
    pub fn set_retention(&mut self, channel: u16, retention: Retention) {
        self.retention.insert(channel, retention);
    }

    /// Makes `channel` use the default retention again.
    pub fn clear_retention(&mut self, channel: u16) {
        self.retention.remove(&channel);
    }

    /// The retention in force for `channel`.
    pub fn retention(&self, channel: u16) -> Retention {
        self.retention
            .get(&channel)
            .copied()
            .unwrap_or(self.default_retention)
    }

    /// The memory budget in bytes, if any.
    pub fn budget(&self) -> Option<usize> {
        self.budget
    }

    /// Sets the memory budget and evicts at once if [`History::bytes`] exceeds it.
    pub fn set_budget(&mut self, budget_bytes: Option<usize>) {
        self.budget = budget_bytes;
        self.evict_to_budget();
    }

    /// Stores the sample `(ts, value)` of series `key` (see the module docs for
    /// ordering, idempotence and retention), then evicts down to the budget.
    /// `value` must not be NaN (callers refuse it; a NaN is stored but never matches
    /// as a duplicate).
    pub fn insert(&mut self, key: SeriesKey, ts: i64, value: f64) -> Inserted {
        let ret = self.retention(key.channel);
        let series = self.series.entry(key).or_default();
        let old = Snapshot::of(series);
        let (outcome, mut expired) = if series.rejects(ts, &ret) {
            let outcome = match series.newest_ts() {
                Some(newest) if ts <= newest => Inserted::OutOfOrder,
                _ => Inserted::Appended,
            };
            (outcome, 1)
        } else {
            (series.insert(ts, value), 0)
        };
        if ret.is_limited() {
            let cutoff = series.newest_ts().and_then(|n| ret.cutoff(n));
            expired += series.trim(ret.max_samples, cutoff);
        }
        self.expired += expired;
        let new = Snapshot::of(series);
        self.settle(key, old, new);
        self.evict_to_budget();
        outcome
    }

    /// Applies every channel's retention with `now_ms` as the reference time: drops
    /// samples older than `now_ms - max_age_ms` and beyond `max_samples`. Returns how
    /// many samples were dropped (also added to [`History::expired`]).
    pub fn enforce(&mut self, now_ms: i64) -> u64 {
        let mut dropped = 0u64;
        let mut emptied = Vec::new();
        for (&key, series) in &mut self.series {
            let ret = self
                .retention
                .get(&key.channel)
                .copied()
                .unwrap_or(self.default_retention);
            if !ret.is_limited() {
                continue;
            }
            let old = Snapshot::of(series);
            dropped += series.trim(ret.max_samples, ret.cutoff(now_ms));
            let new = Snapshot::of(series);
            Self::settle_totals(
                &mut self.oldest,
                &mut self.bytes,
                &mut self.total,
                key,
                old,
                new,
            );
            if new.len == 0 {
                emptied.push(key);
            }
        }
        for key in emptied {
            self.remove(key);
        }
        self.expired += dropped;
        dropped
    }

    /// Removes series `key`; returns how many samples it held.
    pub fn remove(&mut self, key: SeriesKey) -> usize {
        let Some(series) = self.series.remove(&key) else {
            return 0;
        };
        if let Some(b) = series.front_base() {
            self.oldest.remove(&(b, key));
        }
        self.bytes -= series.bytes;
        self.total -= series.len;
        series.len
    }

    /// Removes every series (retention, budget and counters are kept).
    pub fn clear(&mut self) {
        self.series.clear();
        self.oldest.clear();
        self.bytes = 0;
        self.total = 0;
    }

    /// Updates totals and the eviction index after series `key` changed from `old` to
    /// `new`, and removes it if it has no samples left.
    fn settle(&mut self, key: SeriesKey, old: Snapshot, new: Snapshot) {
        Self::settle_totals(
            &mut self.oldest,
            &mut self.bytes,
            &mut self.total,
            key,
            old,
            new,
        );
        if new.len == 0 {
            self.remove(key);
        }
    }

    /// The totals and eviction-index part of [`History::settle`].
    fn settle_totals(
        oldest: &mut BTreeSet<(i64, SeriesKey)>,
        bytes: &mut usize,
        total: &mut usize,
        key: SeriesKey,
        old: Snapshot,
        new: Snapshot,
    ) {
        *bytes = *bytes + new.bytes - old.bytes;
        *total = *total + new.len - old.len;
        if new.front != old.front {
            if let Some(b) = old.front {
                oldest.remove(&(b, key));
            }
            if let Some(b) = new.front {
                oldest.insert((b, key));
            }
        }
    }

    /// Evicts the oldest chunks across all series until within the budget.
    fn evict_to_budget(&mut self) {
        let Some(budget) = self.budget else {
            return;
        };
        while self.bytes > budget {
            let Some((base, key)) = self.oldest.first().copied() else {
                break;
            };
            let Some(series) = self.series.get_mut(&key) else {
                self.oldest.remove(&(base, key));
                continue;
            };
            let old = Snapshot::of(series);
            self.evicted += series.pop_front_chunk() as u64;
            let new = Snapshot::of(series);
            self.settle(key, old, new);
        }
    }

    /// Heap bytes held by sample storage (capacities of chunk vectors and chunk
    /// tables; see the module docs).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Samples evicted to keep within the memory budget, since creation.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Samples dropped (or refused on insert) by retention, since creation.
    pub fn expired(&self) -> u64 {
        self.expired
    }

    /// Number of samples of series `key`.
    pub fn len(&self, key: SeriesKey) -> usize {
        self.series.get(&key).map_or(0, |s| s.len)
    }

    /// Whether no series holds any sample.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Number of samples of all series.
    pub fn total_samples(&self) -> usize {
        self.total
    }

    /// Number of series holding at least one sample.
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// Keys of all series holding samples, in key order (handle, then channel).
    pub fn keys(&self) -> impl Iterator<Item = SeriesKey> + '_ {
        let mut keys: Vec<SeriesKey> = self.series.keys().copied().collect();
        keys.sort_unstable();
        keys.into_iter()
    }

    /// The newest sample of series `key`.
    pub fn latest(&self, key: SeriesKey) -> Option<(i64, f64)> {
        let chunk = self.series.get(&key)?.chunks.back()?;
        chunk.sample(chunk.live_len().checked_sub(1)?)
    }

    /// The oldest sample still held of series `key`.
    pub fn oldest(&self, key: SeriesKey) -> Option<(i64, f64)> {
        self.series.get(&key)?.chunks.front()?.sample(0)
    }

    /// The last sample of series `key` with `ts <= t`.
    pub fn at(&self, key: SeriesKey, t: i64) -> Option<(i64, f64)> {
        let series = self.series.get(&key)?;
        let after = series.chunks.partition_point(|c| c.base <= t);
        let chunk = series.chunks.get(after.checked_sub(1)?)?;
        chunk.sample(chunk.upper_bound(t).checked_sub(1)?)
    }

    /// Samples of series `key` with `from_ms <= ts <= to_ms`, sorted by time, without
    /// collecting them. Empty when `from_ms > to_ms`.
    pub fn iter_range(
        &self,
        key: SeriesKey,
        from_ms: i64,
        to_ms: i64,
    ) -> impl Iterator<Item = (i64, f64)> + '_ {
        let series = self.series.get(&key).filter(|_| from_ms <= to_ms);
        series.into_iter().flat_map(move |s| {
            // From the chunk holding or preceding `from_ms`.
            let start = s.chunks.partition_point(|c| c.base <= from_ms);
            s.chunks
                .range(start.saturating_sub(1)..)
                .take_while(move |c| c.base <= to_ms)
                .flat_map(move |c| c.samples_in(from_ms, to_ms))
        })
    }

    /// Samples of series `key` with `from_ms <= ts <= to_ms`, sorted by time. Empty
    /// when `from_ms > to_ms`.
    pub fn range(&self, key: SeriesKey, from_ms: i64, to_ms: i64) -> Vec<(i64, f64)> {
        self.iter_range(key, from_ms, to_ms).collect()
    }

    /// Min, max, mean and count of the samples of series `key` in `[from_ms, to_ms]`,
    /// per bucket of `bucket_ms` milliseconds starting at `from_ms` (bucket `k` covers
    /// `from_ms + k * bucket_ms` up to the next); only non-empty buckets, in time
    /// order. Empty when `bucket_ms <= 0` or `from_ms > to_ms`. The mean of a bucket
    /// holding both infinities is NaN.
    pub fn downsample(
        &self,
        key: SeriesKey,
        from_ms: i64,
        to_ms: i64,
        bucket_ms: i64,
    ) -> Vec<Bucket> {
        let mut out = Vec::new();
        if bucket_ms <= 0 || from_ms > to_ms {
            return out;
        }
        let origin = i128::from(from_ms);
        let width = i128::from(bucket_ms);
        let start_of = |idx: i128| i64::try_from(origin + idx * width).unwrap_or(from_ms);
        let mut current: Option<(i128, Acc)> = None;
        for (ts, v) in self.iter_range(key, from_ms, to_ms) {
            let idx = (i128::from(ts) - origin) / width;
            match &mut current {
                Some((i, acc)) if *i == idx => acc.add(v),
                _ => {
                    if let Some((i, acc)) = current.take() {
                        out.push(acc.finish(start_of(i)));
                    }
                    current = Some((idx, Acc::new(v)));
                }
            }
        }
        if let Some((i, acc)) = current {
            out.push(acc.finish(start_of(i)));
        }
        out
    }
}
