//! One series: its chunks of (offset, value) samples.

use std::collections::VecDeque;
use std::mem::size_of;

use super::*;

/// Up to [`CHUNK_CAPACITY`] samples of one series, as offsets from a base time.
///
/// Invariants: `offsets.len() == values.len() <= CHUNK_CAPACITY`; `dead <
/// offsets.len()` (a chunk always has a live sample); offsets strictly increase and
/// `offsets[0] == 0` (the base is the time of the first stored sample, so chunk bases
/// strictly increase along a series and chunks can be searched by base without
/// touching their heap); `base + offset` never overflows. Only the first chunk of a
/// series may have dead (retention-dropped) samples, all older than every live sample
/// of the series.
#[derive(Clone, Debug)]
pub(super) struct Chunk {
    pub(super) base: i64,
    pub(super) dead: usize,
    pub(super) offsets: Vec<u32>,
    pub(super) values: Vec<f64>,
}

impl Chunk {
    /// A chunk holding the single sample `(ts, value)`.
    pub(super) fn new(ts: i64, value: f64) -> Self {
        let mut offsets = Vec::with_capacity(INITIAL_CHUNK_CAPACITY);
        let mut values = Vec::with_capacity(INITIAL_CHUNK_CAPACITY);
        offsets.push(0);
        values.push(value);
        Chunk {
            base: ts,
            dead: 0,
            offsets,
            values,
        }
    }

    /// Heap bytes held by the sample vectors.
    pub(super) fn heap_bytes(&self) -> usize {
        self.offsets.capacity() * size_of::<u32>() + self.values.capacity() * size_of::<f64>()
    }

    pub(super) fn live_offsets(&self) -> &[u32] {
        self.offsets.get(self.dead..).unwrap_or(&[])
    }

    pub(super) fn live_values(&self) -> &[f64] {
        self.values.get(self.dead..).unwrap_or(&[])
    }

    pub(super) fn live_len(&self) -> usize {
        self.offsets.len().saturating_sub(self.dead)
    }

    pub(super) fn ts_of(&self, offset: u32) -> i64 {
        self.base.saturating_add(i64::from(offset))
    }

    pub(super) fn first_ts(&self) -> i64 {
        self.live_offsets()
            .first()
            .map_or(self.base, |&o| self.ts_of(o))
    }

    pub(super) fn last_ts(&self) -> i64 {
        self.offsets.last().map_or(self.base, |&o| self.ts_of(o))
    }

    /// The live sample at live index `i`.
    pub(super) fn sample(&self, i: usize) -> Option<(i64, f64)> {
        let o = *self.live_offsets().get(i)?;
        let v = *self.live_values().get(i)?;
        Some((self.ts_of(o), v))
    }

    /// `t - base`, exactly.
    pub(super) fn rel(&self, t: i64) -> i128 {
        i128::from(t) - i128::from(self.base)
    }

    /// Live index of the first sample with `ts >= t`.
    pub(super) fn lower_bound(&self, t: i64) -> usize {
        let rel = self.rel(t);
        let live = self.live_offsets();
        if rel <= 0 {
            0
        } else {
            match u32::try_from(rel) {
                Ok(r) => live.partition_point(|&o| o < r),
                Err(_) => live.len(),
            }
        }
    }

    /// [`Chunk::lower_bound`] searched from the front by doubling steps: touches only
    /// the first few cache lines when few samples are before `t` (what retention drops
    /// per append).
    pub(super) fn lower_bound_from_front(&self, t: i64) -> usize {
        let rel = self.rel(t);
        let live = self.live_offsets();
        if rel <= 0 {
            return 0;
        }
        let Ok(r) = u32::try_from(rel) else {
            return live.len();
        };
        let mut hi = 1;
        while hi < live.len() && live[hi - 1] < r {
            hi *= 2;
        }
        let lo = hi / 2;
        let hi = hi.min(live.len());
        lo + live
            .get(lo..hi)
            .map_or(0, |w| w.partition_point(|&o| o < r))
    }

    /// Live index of the first sample with `ts > t`.
    pub(super) fn upper_bound(&self, t: i64) -> usize {
        let rel = self.rel(t);
        let live = self.live_offsets();
        if rel < 0 {
            0
        } else {
            match u32::try_from(rel) {
                Ok(r) => live.partition_point(|&o| o <= r),
                Err(_) => live.len(),
            }
        }
    }

    /// Live samples with `from <= ts <= to`.
    pub(super) fn samples_in(&self, from: i64, to: i64) -> impl Iterator<Item = (i64, f64)> + '_ {
        let lo = self.lower_bound(from);
        let hi = self.upper_bound(to).max(lo);
        let offs = self.live_offsets().get(lo..hi).unwrap_or(&[]);
        let vals = self.live_values().get(lo..hi).unwrap_or(&[]);
        offs.iter()
            .zip(vals)
            .map(move |(&o, &v)| (self.ts_of(o), v))
    }

    /// Forgets the dead prefix (capacity is kept) and rebases on the first live sample.
    pub(super) fn compact(&mut self) {
        if self.dead > 0 {
            let dead = self.dead.min(self.offsets.len());
            self.offsets.drain(..dead);
            self.values.drain(..dead);
            self.dead = 0;
            let first = self.offsets.first().copied().unwrap_or(0);
            for o in &mut self.offsets {
                *o -= first;
            }
            self.base = self.ts_of(first);
        }
    }

    /// Makes room for one more sample, doubling capacity up to [`CHUNK_CAPACITY`]
    /// with exact reservations. Called only when `len < CHUNK_CAPACITY`.
    pub(super) fn reserve_one(&mut self) {
        fn grow<T>(v: &mut Vec<T>) {
            let len = v.len();
            if len == v.capacity() {
                let add = len
                    .max(INITIAL_CHUNK_CAPACITY)
                    .min(CHUNK_CAPACITY.saturating_sub(len))
                    .max(1);
                v.reserve_exact(add);
            }
        }
        grow(&mut self.offsets);
        grow(&mut self.values);
    }

    /// Makes room for `n` more samples (`len + n <= CHUNK_CAPACITY`), growing to the
    /// capacity that `n` calls of [`Chunk::reserve_one`] would reach.
    pub(super) fn reserve_for(&mut self, n: usize) {
        fn target(cap: usize, need: usize) -> usize {
            let mut cap = cap;
            while cap < need {
                cap += cap
                    .max(INITIAL_CHUNK_CAPACITY)
                    .min(CHUNK_CAPACITY.saturating_sub(cap))
                    .max(1);
            }
            cap
        }
        fn grow<T>(v: &mut Vec<T>, n: usize) {
            let cap = target(v.capacity(), v.len() + n);
            v.reserve_exact(cap - v.len());
        }
        grow(&mut self.offsets, n);
        grow(&mut self.values, n);
    }

    /// Inserts `(ts, value)` at live index `pos` if this chunk has room and can
    /// represent `ts` (rebasing when `ts` is before the base and the offsets allow).
    /// The caller guarantees that `pos` is the sorted position of `ts` and that `ts`
    /// is not stored yet. Returns whether the sample was stored.
    pub(super) fn try_insert(&mut self, pos: usize, ts: i64, value: f64) -> bool {
        let at_end = pos >= self.live_len();
        if !at_end {
            self.compact();
        }
        if self.offsets.len() >= CHUNK_CAPACITY {
            return false;
        }
        let rel = self.rel(ts);
        let offset = if rel < 0 {
            // Before the base: only possible at the front; rebase if the offsets allow.
            if pos != 0 || self.dead != 0 {
                return false;
            }
            let shift = -rel;
            let max = i128::from(self.offsets.last().copied().unwrap_or(0));
            if max + shift > i128::from(u32::MAX) {
                return false;
            }
            let Ok(shift) = u32::try_from(shift) else {
                return false;
            };
            for o in &mut self.offsets {
                *o = o.saturating_add(shift);
            }
            self.base = ts;
            0
        } else {
            match u32::try_from(rel) {
                Ok(o) => o,
                Err(_) => return false,
            }
        };
        self.reserve_one();
        let idx = (self.dead + pos).min(self.offsets.len());
        self.offsets.insert(idx, offset);
        self.values.insert(idx, value);
        true
    }

    /// Splits off the newer half into a new chunk (rebased on its first sample).
    pub(super) fn split_off_half(&mut self) -> Option<Chunk> {
        self.compact();
        let mid = self.offsets.len() / 2;
        if mid == 0 {
            return None;
        }
        let mut offsets = self.offsets.split_off(mid);
        let values = self.values.split_off(mid);
        let first = offsets.first().copied().unwrap_or(0);
        for o in &mut offsets {
            *o -= first;
        }
        Some(Chunk {
            base: self.ts_of(first),
            dead: 0,
            offsets,
            values,
        })
    }
}

/// One series: sorted, non-overlapping chunks with their sample count and heap bytes.
#[derive(Clone, Debug, Default)]
pub(super) struct Series {
    pub(super) chunks: VecDeque<Chunk>,
    /// Live samples.
    pub(super) len: usize,
    /// Heap bytes: chunk vectors plus the chunk table.
    pub(super) bytes: usize,
}

impl Series {
    pub(super) fn table_bytes(&self) -> usize {
        self.chunks.capacity() * size_of::<Chunk>()
    }

    /// The base of the first chunk: this series' key in the eviction index.
    pub(super) fn front_base(&self) -> Option<i64> {
        self.chunks.front().map(|c| c.base)
    }

    pub(super) fn newest_ts(&self) -> Option<i64> {
        self.chunks.back().map(Chunk::last_ts)
    }

    pub(super) fn oldest_ts(&self) -> Option<i64> {
        self.chunks.front().map(Chunk::first_ts)
    }

    /// Inserts a chunk at index `idx`, growing the table by 1/8 at a time.
    pub(super) fn insert_chunk(&mut self, idx: usize, chunk: Chunk) {
        let before = self.table_bytes();
        if self.chunks.len() == self.chunks.capacity() {
            self.chunks.reserve_exact((self.chunks.len() / 8).max(4));
        }
        self.len += chunk.live_len();
        self.bytes = self.bytes + self.table_bytes() + chunk.heap_bytes() - before;
        let idx = idx.min(self.chunks.len());
        self.chunks.insert(idx, chunk);
    }

    /// Removes the first chunk; returns how many live samples it held.
    pub(super) fn pop_front_chunk(&mut self) -> usize {
        let Some(chunk) = self.chunks.pop_front() else {
            return 0;
        };
        let live = chunk.live_len();
        self.len -= live;
        self.bytes -= chunk.heap_bytes();
        let cap = self.chunks.capacity();
        if cap > 16 && self.chunks.len() < cap / 4 {
            let before = self.table_bytes();
            self.chunks.shrink_to(self.chunks.len() * 2);
            self.bytes = self.bytes + self.table_bytes() - before;
        }
        live
    }

    /// Runs `f` on chunk `ci`, keeping `bytes` up to date.
    pub(super) fn with_chunk<R>(
        &mut self,
        ci: usize,
        f: impl FnOnce(&mut Chunk) -> R,
    ) -> Option<R> {
        let chunk = self.chunks.get_mut(ci)?;
        let before = chunk.heap_bytes();
        let r = f(chunk);
        self.bytes = self.bytes + chunk.heap_bytes() - before;
        Some(r)
    }

    pub(super) fn try_insert_in(&mut self, ci: usize, pos: usize, ts: i64, value: f64) -> bool {
        let stored = self
            .with_chunk(ci, |c| c.try_insert(pos, ts, value))
            .unwrap_or(false);
        if stored {
            self.len += 1;
        }
        stored
    }

    /// Stores a sample not yet present at live index `pos` of chunk `ci` (its sorted
    /// position), splitting the chunk or starting a new one when it cannot take it.
    pub(super) fn place(&mut self, ci: usize, pos: usize, ts: i64, value: f64) {
        if self.try_insert_in(ci, pos, ts, value) {
            return;
        }
        let live = self.chunks.get(ci).map_or(0, Chunk::live_len);
        if pos >= live {
            // After the chunk: the start of the next one, else a new chunk.
            if ci + 1 < self.chunks.len() && self.try_insert_in(ci + 1, 0, ts, value) {
                return;
            }
            self.insert_chunk(ci + 1, Chunk::new(ts, value));
        } else if pos == 0 {
            self.insert_chunk(ci, Chunk::new(ts, value));
        } else {
            // Inside a full chunk: split it; `ts` is representable in either half.
            let Some(Some(upper)) = self.with_chunk(ci, Chunk::split_off_half) else {
                self.insert_chunk(ci + 1, Chunk::new(ts, value));
                return;
            };
            let mid = self.chunks.get(ci).map_or(0, Chunk::live_len);
            self.len -= upper.live_len();
            self.insert_chunk(ci + 1, upper);
            let stored = if pos <= mid {
                self.try_insert_in(ci, pos, ts, value)
            } else {
                self.try_insert_in(ci + 1, pos - mid, ts, value)
            };
            if !stored {
                // Unreachable by construction; keep the sample rather than lose it.
                self.insert_chunk(ci + 1, Chunk::new(ts, value));
            }
        }
    }

    /// Appends samples in increasing time order, all newer than every sample of the
    /// series (the caller checks): what [`Series::insert`] does with each (append to
    /// the last chunk while it has room and the offset fits, else start a chunk), with
    /// the chunk found and its vectors grown once per chunk instead of once per sample
    /// (to the capacities the sample-by-sample doubling would reach).
    pub(super) fn push_run(&mut self, mut run: &[(i64, f64)]) {
        while let Some(&(ts, value)) = run.first() {
            let fits = self.chunks.back_mut().map_or(0, |last| {
                let room = CHUNK_CAPACITY.saturating_sub(last.offsets.len());
                run.iter()
                    .take(room)
                    .take_while(|(t, _)| u32::try_from(last.rel(*t)).is_ok())
                    .count()
            });
            let Some(last) = self.chunks.back_mut().filter(|_| fits > 0) else {
                self.insert_chunk(self.chunks.len(), Chunk::new(ts, value));
                run = &run[1..];
                continue;
            };
            let before = last.heap_bytes();
            last.reserve_for(fits);
            let base = last.base;
            for &(t, v) in &run[..fits] {
                last.offsets.push((i128::from(t) - i128::from(base)) as u32);
                last.values.push(v);
            }
            self.bytes = self.bytes + last.heap_bytes() - before;
            self.len += fits;
            run = &run[fits..];
        }
    }

    /// Stores a sample; see the module docs for the rules.
    pub(super) fn insert(&mut self, ts: i64, value: f64) -> Inserted {
        let Some(newest) = self.newest_ts() else {
            self.insert_chunk(0, Chunk::new(ts, value));
            return Inserted::Appended;
        };
        if ts > newest {
            let last = self.chunks.len() - 1;
            let pos = self.chunks[last].live_len();
            self.place(last, pos, ts, value);
            return Inserted::Appended;
        }
        // Chunk holding or preceding `ts`: the last one starting at or before it.
        let after = self.chunks.partition_point(|c| c.base <= ts);
        let Some(ci) = after.checked_sub(1) else {
            self.place(0, 0, ts, value);
            return Inserted::OutOfOrder;
        };
        let chunk = &self.chunks[ci];
        let pos = chunk.lower_bound(ts);
        if let Some((t, old)) = chunk.sample(pos)
            && t == ts
        {
            if old.to_bits() == value.to_bits() {
                return Inserted::Duplicate;
            }
            let idx = chunk.dead + pos;
            if let Some(slot) = self.chunks[ci].values.get_mut(idx) {
                *slot = value;
            }
            return Inserted::Replaced;
        }
        self.place(ci, pos, ts, value);
        Inserted::OutOfOrder
    }

    /// Whether retention `r` would drop a new sample at `ts` at once.
    pub(super) fn rejects(&self, ts: i64, r: &Retention) -> bool {
        if r.max_samples == Some(0) {
            return true;
        }
        let Some(newest) = self.newest_ts() else {
            return false;
        };
        if ts >= newest {
            return false;
        }
        if r.cutoff(newest).is_some_and(|cut| ts < cut) {
            return true;
        }
        // A full series would drop a sample older than all it holds.
        r.max_samples.is_some_and(|m| self.len >= m)
            && self.oldest_ts().is_some_and(|oldest| ts < oldest)
    }

    /// Drops the oldest samples until at most `max_samples` remain and none is older
    /// than `cutoff`. Returns how many were dropped.
    pub(super) fn trim(&mut self, max_samples: Option<usize>, cutoff: Option<i64>) -> u64 {
        let mut dropped = 0u64;
        while let Some(front) = self.chunks.front() {
            let live = front.live_len();
            let by_count = max_samples.map_or(0, |m| self.len.saturating_sub(m));
            let by_age = cutoff.map_or(0, |cut| front.lower_bound_from_front(cut));
            let k = by_count.max(by_age).min(live);
            if k == 0 {
                break;
            }
            if k == live {
                dropped += self.pop_front_chunk() as u64;
            } else {
                if let Some(front) = self.chunks.front_mut() {
                    front.dead += k;
                }
                self.len -= k;
                dropped += k as u64;
                break;
            }
        }
        dropped
    }
}
