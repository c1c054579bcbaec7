//! The hot log: samples appended in arrival order as 16-byte records, one log per
//! channel, with a per-series chain so that one series' pending samples can be taken
//! without scanning the log (see the module docs of [`super`]).

use std::mem::size_of;
use std::ops::Range;

use super::SeriesKey;

/// "No record": the end of a chain, or a series without pending samples.
const NONE: u32 = u32::MAX;

/// Series a compaction hands over at a time (see [`super::cold::Cold::insert_runs`]).
pub(super) const GROUP: usize = 32;

/// Handles at or above this go straight to the compacted history instead of the log,
/// so that a stray huge handle cannot make the dense chain heads allocate gigabytes
/// (and the series map keeps them in a hash map).
pub(super) const MAX_DENSE_HANDLE: u32 = 1 << 24;

/// Channels at or above this go straight to the compacted history, likewise.
pub(super) const MAX_DENSE_CHANNEL: u16 = 4096;

/// One pending sample: its value, its time as an offset from the log's base and the
/// index of the previous pending record of the same series (16 bytes).
#[derive(Clone, Copy, Debug)]
struct Record {
    value: f64,
    offset: i32,
    prev: u32,
}

/// The log of one channel.
#[derive(Clone, Debug, Default)]
struct ChannelLog {
    /// Time of records: `base + offset`. Set by the first record of an empty log.
    base: i64,
    records: Vec<Record>,
    /// By handle: the index of the newest pending record of the series, or [`NONE`].
    heads: Vec<u32>,
    /// Handles whose head went from [`NONE`] to a record since the log was emptied, in
    /// that order (a handle can appear again after its series was taken; its head is
    /// then checked).
    touched: Vec<u32>,
}

/// What [`HotLog::pending_vs`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PendingVs {
    /// No pending sample.
    Nothing,
    /// All pending samples are after the time; the newest of them.
    AllAfter(i64),
    /// Some pending sample is at or before the time.
    NotAllAfter,
}

/// Why [`HotLog::push`] did not take a sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refused {
    /// The key is not kept in the dense chain heads: insert it directly.
    Key,
    /// The time is more than ±2^31 ms from the channel log's base (or the log holds
    /// 2^32 - 1 records): compact the channel, then push again.
    Time,
}

/// Pending samples of every series, in arrival order per series.
#[derive(Clone, Debug, Default)]
pub(super) struct HotLog {
    logs: Vec<ChannelLog>,
    /// Records in all logs, taken ones included (until their log is emptied).
    records: usize,
    /// Records not yet taken.
    pending: usize,
}

impl HotLog {
    /// Records held, taken ones included: what the compaction threshold is compared with.
    pub(super) fn records(&self) -> usize {
        self.records
    }

    /// Samples waiting for compaction.
    pub(super) fn pending(&self) -> usize {
        self.pending
    }

    /// Heap bytes: records, chain heads and touched lists, from capacities.
    pub(super) fn bytes(&self) -> usize {
        self.logs.capacity() * size_of::<ChannelLog>()
            + self
                .logs
                .iter()
                .map(|l| {
                    l.records.capacity() * size_of::<Record>()
                        + (l.heads.capacity() + l.touched.capacity()) * size_of::<u32>()
                })
                .sum::<usize>()
    }

    /// Appends a sample of series `key`.
    #[inline]
    pub(super) fn push(&mut self, key: SeriesKey, ts: i64, value: f64) -> Result<(), Refused> {
        if key.handle >= MAX_DENSE_HANDLE || key.channel >= MAX_DENSE_CHANNEL {
            return Err(Refused::Key);
        }
        let c = usize::from(key.channel);
        if c >= self.logs.len() {
            self.logs.resize_with(c + 1, ChannelLog::default);
        }
        let log = &mut self.logs[c];
        if log.records.is_empty() {
            log.base = ts;
        }
        let Ok(offset) = i32::try_from(i128::from(ts) - i128::from(log.base)) else {
            return Err(Refused::Time);
        };
        // `NONE` itself is not an index: a log that long is compacted first.
        let index = match u32::try_from(log.records.len()) {
            Ok(i) if i < NONE => i,
            _ => return Err(Refused::Time),
        };
        let h = key.handle as usize;
        if h >= log.heads.len() {
            log.heads.resize(h + 1, NONE);
        }
        let prev = std::mem::replace(&mut log.heads[h], index);
        if prev == NONE {
            log.touched.push(key.handle);
        }
        log.records.push(Record {
            value,
            offset,
            prev,
        });
        self.records += 1;
        self.pending += 1;
        Ok(())
    }

    /// Whether series `key` has pending samples.
    #[inline]
    pub(super) fn has_pending(&self, key: SeriesKey) -> bool {
        self.logs
            .get(usize::from(key.channel))
            .and_then(|l| l.heads.get(key.handle as usize))
            .is_some_and(|&h| h != NONE)
    }

    /// Where the pending samples of series `key` lie relative to `t`.
    pub(super) fn pending_vs(&self, key: SeriesKey, t: i64) -> PendingVs {
        let Some(log) = self.logs.get(usize::from(key.channel)) else {
            return PendingVs::Nothing;
        };
        let mut i = log.heads.get(key.handle as usize).copied().unwrap_or(NONE);
        let mut newest = None;
        while let Some(r) = log.records.get(i as usize) {
            let ts = log.base.saturating_add(i64::from(r.offset));
            if ts <= t {
                return PendingVs::NotAllAfter;
            }
            newest = newest.max(Some(ts));
            i = r.prev;
        }
        newest.map_or(PendingVs::Nothing, PendingVs::AllAfter)
    }

    /// Moves the pending samples of series `key` into `out` (cleared first), oldest
    /// arrival first.
    pub(super) fn take(&mut self, key: SeriesKey, out: &mut Vec<(i64, f64)>) {
        out.clear();
        let Some(log) = self.logs.get_mut(usize::from(key.channel)) else {
            return;
        };
        Self::take_from(log, key.handle, out);
        self.pending -= out.len();
    }

    /// Appends the pending samples of `handle` to `out`, oldest arrival first.
    fn take_from(log: &mut ChannelLog, handle: u32, out: &mut Vec<(i64, f64)>) {
        let Some(head) = log.heads.get_mut(handle as usize) else {
            return;
        };
        let start = out.len();
        let mut i = std::mem::replace(head, NONE);
        while let Some(r) = log.records.get(i as usize) {
            out.push((log.base.saturating_add(i64::from(r.offset)), r.value));
            i = r.prev;
        }
        out[start..].reverse();
    }

    /// The channels with records.
    pub(super) fn channels(&self) -> impl Iterator<Item = u16> + '_ {
        self.logs
            .iter()
            .enumerate()
            .filter(|(_, l)| !l.records.is_empty())
            .map(|(c, _)| c as u16)
    }

    /// Hands every pending series of `channel` to `apply`, [`GROUP`] series at a time
    /// (each as its key and the range of its samples in `buf`, oldest arrival first),
    /// series in order of their first pending sample, then empties the channel's log
    /// (capacities are kept).
    pub(super) fn drain_channel(
        &mut self,
        channel: u16,
        buf: &mut Vec<(i64, f64)>,
        group: &mut Vec<(SeriesKey, Range<usize>)>,
        mut apply: impl FnMut(&[(SeriesKey, Range<usize>)], &[(i64, f64)]),
    ) {
        let Some(log) = self.logs.get_mut(usize::from(channel)) else {
            return;
        };
        let touched = std::mem::take(&mut log.touched);
        let mut cursors = [NONE; GROUP];
        for handles in touched.chunks(GROUP) {
            buf.clear();
            group.clear();
            // Walk the group's chains side by side first, one record of each per round:
            // the reads of different chains are independent, so their cache misses
            // overlap, and the walks below find the records in cache.
            for (c, &h) in cursors.iter_mut().zip(handles) {
                *c = log.heads.get(h as usize).copied().unwrap_or(NONE);
            }
            let mut live = true;
            while live {
                live = false;
                for c in &mut cursors[..handles.len()] {
                    if let Some(r) = log.records.get(*c as usize) {
                        *c = r.prev;
                        live = true;
                    }
                }
            }
            for &handle in handles {
                let start = buf.len();
                Self::take_from(log, handle, buf);
                if buf.len() > start {
                    group.push((SeriesKey::new(handle, channel), start..buf.len()));
                }
            }
            self.pending -= buf.len();
            apply(group, buf);
        }
        self.records -= log.records.len();
        log.records.clear();
        log.touched = touched;
        log.touched.clear();
    }
}
