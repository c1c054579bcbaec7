//! The compacted history: every series' chunks, retention, the budget's eviction index
//! and the counters. [`super::History`] keeps one behind its lock, beside the hot log.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::Hasher;
use std::hint::black_box;
use std::ops::Range;

use super::map::SeriesMap;
use super::series::Series;
use super::{Bucket, Inserted, Retention, SeriesKey};

/// 2^64, to scale sums down so that a mean of huge finite values cannot overflow.
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;

/// What the totals and eviction index know of a series.
#[derive(Clone, Copy)]
pub(super) struct Snapshot {
    front: Option<i64>,
    bytes: usize,
    len: usize,
}

impl Snapshot {
    pub(super) fn of(series: &Series) -> Self {
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
            start: crate::time::Timestamp::from_millis(start),
            count: self.count,
            min: self.min,
            max: self.max,
            mean,
        }
    }
}

/// A multiplicative hasher for series keys (two small integers): far cheaper than
/// SipHash, and keys come from the twin, not from an attacker.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct KeyHasher(u64);

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

/// The compacted series with their retention, budget and counters.
#[derive(Clone, Debug, Default)]
pub(super) struct Cold {
    pub(super) series: SeriesMap,
    pub(super) retention: BTreeMap<u16, Retention>,
    pub(super) default_retention: Retention,
    pub(super) budget: Option<usize>,
    /// `(first chunk base, key)` of every series: the eviction order.
    pub(super) oldest: BTreeSet<(i64, SeriesKey)>,
    pub(super) bytes: usize,
    pub(super) total: usize,
    pub(super) evicted: u64,
    pub(super) expired: u64,
}

impl Cold {
    pub(super) fn retention(&self, channel: u16) -> Retention {
        self.retention
            .get(&channel)
            .copied()
            .unwrap_or(self.default_retention)
    }

    /// Stores one sample by the rules of the module docs, without evicting.
    pub(super) fn insert(&mut self, key: SeriesKey, ts: i64, value: f64) -> Inserted {
        let ret = self.retention(key.channel);
        let series = self.series.get_or_default(key);
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
        outcome
    }

    /// Stores the samples of one series in arrival order, without evicting: exactly
    /// what one [`Cold::insert`] per sample does. A run of strictly increasing times
    /// after the series' newest (the common case) is appended and trimmed once, which
    /// keeps and drops the same samples, because retention only ever keeps a newest
    /// suffix of a series.
    pub(super) fn insert_run(&mut self, key: SeriesKey, samples: &[(i64, f64)]) {
        let ret = self.retention(key.channel);
        let Some(&(first, _)) = samples.first() else {
            return;
        };
        let series = self.series.get_or_default(key);
        let after_newest = series.newest_ts().is_none_or(|n| first > n);
        let increasing = samples.windows(2).all(|w| w[0].0 < w[1].0);
        if !(after_newest && increasing) || ret.max_samples == Some(0) {
            for &(ts, v) in samples {
                self.insert(key, ts, v);
            }
            return;
        }
        let old = Snapshot::of(series);
        series.push_run(samples);
        if ret.is_limited() {
            let cutoff = series.newest_ts().and_then(|n| ret.cutoff(n));
            self.expired += series.trim(ret.max_samples, cutoff);
        }
        let new = Snapshot::of(series);
        self.settle(key, old, new);
    }

    /// [`Cold::insert_run`] for a group of series (keys and ranges of `samples`).
    ///
    /// Each series' insert reads its slab entry, its first and last chunk headers and
    /// their heap: a few cache misses that, one series after the other, are paid in
    /// sequence. So the group is first walked twice just to read those places (the
    /// values are discarded through `black_box`, which only keeps the reads from being
    /// optimised away): the reads of different series are independent and their misses
    /// overlap. The inserts then find their data in cache. Nothing here changes what
    /// is stored.
    pub(super) fn insert_runs(
        &mut self,
        group: &[(SeriesKey, Range<usize>)],
        samples: &[(i64, f64)],
    ) {
        for (key, _) in group {
            if let Some(s) = self.series.get(*key) {
                black_box(s.chunks.back().map(|c| c.offsets.len()));
                black_box(s.chunks.front().map(|c| c.dead));
            }
        }
        for (key, _) in group {
            if let Some(s) = self.series.get(*key) {
                if let Some(c) = s.chunks.back() {
                    black_box((c.offsets.last().copied(), c.values.last().copied()));
                }
                if let Some(c) = s.chunks.front() {
                    // Where retention's search for the samples to drop looks.
                    let end = (c.dead + 16).min(c.offsets.len().saturating_sub(1));
                    black_box((c.offsets.get(c.dead).copied(), c.offsets.get(end).copied()));
                }
            }
        }
        for (key, range) in group {
            if let Some(run) = samples.get(range.clone()) {
                self.insert_run(*key, run);
            }
        }
    }

    pub(super) fn enforce(&mut self, now_ms: i64) -> u64 {
        let mut dropped = 0u64;
        let mut emptied = Vec::new();
        for (key, series) in self.series.iter_mut() {
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

    pub(super) fn remove(&mut self, key: SeriesKey) -> usize {
        let Some(series) = self.series.remove(key) else {
            return 0;
        };
        if let Some(b) = series.front_base() {
            self.oldest.remove(&(b, key));
        }
        self.bytes -= series.bytes;
        self.total -= series.len;
        series.len
    }

    pub(super) fn clear(&mut self) {
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

    /// The totals and eviction-index part of [`Cold::settle`].
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
    pub(super) fn evict_to_budget(&mut self) {
        let Some(budget) = self.budget else {
            return;
        };
        while self.bytes > budget {
            let Some((base, key)) = self.oldest.first().copied() else {
                break;
            };
            let Some(series) = self.series.get_mut(key) else {
                self.oldest.remove(&(base, key));
                continue;
            };
            let old = Snapshot::of(series);
            self.evicted += series.pop_front_chunk() as u64;
            let new = Snapshot::of(series);
            self.settle(key, old, new);
        }
    }

    pub(super) fn len(&self, key: SeriesKey) -> usize {
        self.series.get(key).map_or(0, |s| s.len)
    }

    pub(super) fn keys(&self) -> Vec<SeriesKey> {
        let mut keys: Vec<SeriesKey> = self.series.iter().map(|(k, _)| k).collect();
        keys.sort_unstable();
        keys
    }

    pub(super) fn latest(&self, key: SeriesKey) -> Option<(i64, f64)> {
        let chunk = self.series.get(key)?.chunks.back()?;
        chunk.sample(chunk.live_len().checked_sub(1)?)
    }

    pub(super) fn oldest_sample(&self, key: SeriesKey) -> Option<(i64, f64)> {
        self.series.get(key)?.chunks.front()?.sample(0)
    }

    pub(super) fn at(&self, key: SeriesKey, t: i64) -> Option<(i64, f64)> {
        let series = self.series.get(key)?;
        let after = series.chunks.partition_point(|c| c.base <= t);
        let chunk = series.chunks.get(after.checked_sub(1)?)?;
        chunk.sample(chunk.upper_bound(t).checked_sub(1)?)
    }

    pub(super) fn iter_range(
        &self,
        key: SeriesKey,
        from_ms: i64,
        to_ms: i64,
    ) -> impl Iterator<Item = (i64, f64)> + '_ {
        let series = self.series.get(key).filter(|_| from_ms <= to_ms);
        series.into_iter().flat_map(move |s| {
            // From the chunk holding or preceding `from_ms`.
            let start = s.chunks.partition_point(|c| c.base <= from_ms);
            s.chunks
                .range(start.saturating_sub(1)..)
                .take_while(move |c| c.base <= to_ms)
                .flat_map(move |c| c.samples_in(from_ms, to_ms))
        })
    }

    pub(super) fn downsample(
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
