//! The state store: latest value, time and quality per (asset, channel) in columns, the
//! history behind them, ingest with typed rejections, and change tracking for overlays.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;

use super::channel::{ChannelId, ChannelSpec, ChannelType, EncodeError, Quality, Value, encode};
use super::history::{History, Inserted, Retention, SeriesKey};
use crate::asset::Handle;
use crate::time::Timestamp;
use crate::twin::Twin;

/// No sample yet: the timestamp column's marker.
const NEVER: i64 = i64::MIN;

/// How many rejections an [`IngestReport`] keeps in full (all are counted).
pub const MAX_REJECTION_EXAMPLES: usize = 64;

/// A sample resolved to a handle and channel, its value already encoded as the column's
/// f64 (bool 0/1, enum state index): the fast path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// The asset.
    pub handle: Handle,
    /// The channel.
    pub channel: ChannelId,
    /// Time of the reading.
    pub ts: Timestamp,
    /// The encoded value.
    pub value: f64,
    /// The source's quality flag.
    pub quality: Quality,
}

/// A reading as telemetry delivers it: by external id and channel name.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    /// The asset's external id.
    pub id: String,
    /// The channel's name.
    pub channel: String,
    /// Time of the reading.
    pub ts: Timestamp,
    /// The value.
    pub value: Value,
    /// The source's quality flag.
    pub quality: Quality,
}

/// Why a sample was refused.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// No asset has this external id.
    UnknownId,
    /// No asset has this handle.
    UnknownHandle,
    /// No channel has this name or number.
    UnknownChannel,
    /// The value is NaN or infinite.
    NotFinite,
    /// The timestamp is further in the future than the store tolerates.
    FutureTimestamp,
    /// The value's type does not match the channel's.
    WrongType,
    /// An enumerated channel does not have this state.
    UnknownState,
    /// The timestamp cannot be a reading's time (`i64::MIN` marks "no sample").
    InvalidTimestamp,
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RejectReason::UnknownId => "unknown asset id",
            RejectReason::UnknownHandle => "unknown asset handle",
            RejectReason::UnknownChannel => "unknown channel",
            RejectReason::NotFinite => "value is not a finite number",
            RejectReason::FutureTimestamp => "timestamp too far in the future",
            RejectReason::WrongType => "value type does not match the channel",
            RejectReason::UnknownState => "state not defined for the channel",
            RejectReason::InvalidTimestamp => "invalid timestamp",
        })
    }
}

/// One refused sample, for the report.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rejection {
    /// Why.
    pub reason: RejectReason,
    /// The asset, as given (id, or `#handle`).
    pub asset: String,
    /// The channel, as given.
    pub channel: String,
    /// The sample's timestamp (milliseconds in JSON).
    pub ts: Timestamp,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} / {} @ {}: {}",
            self.asset, self.channel, self.ts, self.reason
        )
    }
}

/// What one ingest call did.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IngestReport {
    /// Samples that became the latest value of their channel.
    pub applied: u64,
    /// Samples older than the latest: kept in history only.
    pub out_of_order: u64,
    /// Exact repeats of a sample already held: no effect.
    pub duplicates: u64,
    /// Samples with the time of one already held but another value: the newer write wins.
    pub replaced: u64,
    /// Refused samples per reason.
    pub rejected: BTreeMap<RejectReason, u64>,
    /// The first [`MAX_REJECTION_EXAMPLES`] refusals in full.
    pub examples: Vec<Rejection>,
}

impl IngestReport {
    /// Number of refused samples.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    /// Adds another report's counts to this one.
    pub fn merge(&mut self, other: IngestReport) {
        self.applied += other.applied;
        self.out_of_order += other.out_of_order;
        self.duplicates += other.duplicates;
        self.replaced += other.replaced;
        for (r, n) in other.rejected {
            *self.rejected.entry(r).or_insert(0) += n;
        }
        for e in other.examples {
            if self.examples.len() < MAX_REJECTION_EXAMPLES {
                self.examples.push(e);
            }
        }
    }

    /// Counts a refusal made outside the store (a reading that did not resolve).
    pub fn note_rejection(
        &mut self,
        reason: RejectReason,
        asset: &str,
        channel: &str,
        ts: Timestamp,
    ) {
        self.reject(reason, || asset.to_string(), channel, ts);
    }

    fn reject(
        &mut self,
        reason: RejectReason,
        asset: impl FnOnce() -> String,
        channel: &str,
        ts: Timestamp,
    ) {
        *self.rejected.entry(reason).or_insert(0) += 1;
        if self.examples.len() < MAX_REJECTION_EXAMPLES {
            self.examples.push(Rejection {
                reason,
                asset: asset(),
                channel: channel.to_string(),
                ts,
            });
        }
    }
}

/// The latest sample of one channel of one asset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Latest {
    /// Its time.
    pub ts: Timestamp,
    /// Its encoded value.
    pub value: f64,
    /// Its quality.
    pub quality: Quality,
}

/// One channel's columns, indexed by handle.
#[derive(Clone, Debug, Default)]
struct Column {
    value: Vec<f64>,
    ts: Vec<i64>,
    quality: Vec<u8>,
}

impl Column {
    fn grow(&mut self, n: usize) {
        if self.ts.len() < n {
            self.value.resize(n, 0.0);
            self.ts.resize(n, NEVER);
            self.quality.resize(n, 0);
        }
    }
}

/// Latest state and history of every channel of every asset of one twin.
///
/// Columns are per channel and dense by handle (8 + 8 + 1 bytes per asset per
/// registered channel); history is kept per (asset, channel) series by
/// [`History`]. Every write goes through [`StateStore::apply`] (resolved samples) or
/// [`StateStore::apply_readings`] (by id and name), which check each sample and count
/// refusals instead of failing: a bad sample never disturbs what is held.
#[derive(Debug)]
pub struct StateStore {
    channels: Vec<ChannelSpec>,
    by_name: HashMap<String, ChannelId>,
    columns: Vec<Column>,
    capacity: usize,
    history: History,
    future_tolerance_ms: i64,
    dirty_bits: Vec<u64>,
    dirty: Vec<u32>,
}

/// Something channels are registered in: a bare [`StateStore`] or a live
/// [`crate::Session`] (whose store is not reachable mutably).
pub trait RegisterChannel {
    /// Registers a channel; a name already registered gives its id back.
    fn register_channel(&mut self, spec: ChannelSpec) -> ChannelId;
}

impl RegisterChannel for StateStore {
    fn register_channel(&mut self, spec: ChannelSpec) -> ChannelId {
        self.register(spec)
    }
}

impl RegisterChannel for crate::Session {
    fn register_channel(&mut self, spec: ChannelSpec) -> ChannelId {
        crate::Session::register_channel(self, spec)
    }
}

impl StateStore {
    /// An empty store for `capacity` handles (it grows on demand), keeping history
    /// with `retention` by default.
    pub fn new(capacity: usize, retention: Retention, budget_bytes: Option<usize>) -> Self {
        StateStore {
            channels: Vec::new(),
            by_name: HashMap::new(),
            columns: Vec::new(),
            capacity,
            history: History::new(retention, budget_bytes),
            future_tolerance_ms: 5 * 60 * 1000,
            dirty_bits: vec![0; capacity.div_ceil(64)],
            dirty: Vec::new(),
        }
    }

    /// Samples stamped more than this far ahead of `now` are refused (default 5 min).
    pub fn set_future_tolerance_ms(&mut self, ms: i64) {
        self.future_tolerance_ms = ms.max(0);
    }

    /// Registers a channel (or returns the id of the one with this name).
    pub fn register(&mut self, spec: ChannelSpec) -> ChannelId {
        if let Some(id) = self.by_name.get(&spec.name) {
            return *id;
        }
        let id = ChannelId(self.channels.len() as u16);
        self.by_name.insert(spec.name.clone(), id);
        self.channels.push(spec);
        let mut col = Column::default();
        col.grow(self.capacity);
        self.columns.push(col);
        id
    }

    /// Sets the history retention of one channel.
    pub fn set_retention(&mut self, channel: ChannelId, retention: Retention) {
        self.history.set_retention(channel.0, retention);
    }

    /// The channel with this name.
    pub fn channel(&self, name: &str) -> Option<ChannelId> {
        self.by_name.get(name).copied()
    }

    /// The spec of a channel.
    pub fn spec(&self, id: ChannelId) -> Option<&ChannelSpec> {
        self.channels.get(id.0 as usize)
    }

    /// All channels, by id.
    pub fn channels(&self) -> impl Iterator<Item = (ChannelId, &ChannelSpec)> {
        self.channels
            .iter()
            .enumerate()
            .map(|(i, s)| (ChannelId(i as u16), s))
    }

    /// Makes room for handles below `n` (new assets in the twin).
    pub fn ensure_capacity(&mut self, n: usize) {
        if n > self.capacity {
            self.capacity = n;
            for c in &mut self.columns {
                c.grow(n);
            }
            self.dirty_bits.resize(n.div_ceil(64), 0);
        }
    }

    /// The history of every series. Its reads see every applied sample (those still
    /// in the hot log are compacted first; see [`History`]).
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Moves every sample waiting in the history's hot log into its series (see
    /// [`History::compact`]); returns how many. Reads do it by themselves; calling it
    /// when idle keeps that work off the next read.
    pub fn compact_history(&mut self) -> usize {
        self.history.compact()
    }

    /// Housekeeping as time passes: see [`History::tick`] (compacts the history's hot
    /// log at most every ten seconds of `now`). Returns how many samples moved.
    pub fn tick(&mut self, now: Timestamp) -> usize {
        self.history.tick(now)
    }

    /// Sets how many samples the history's hot log holds before an apply compacts it
    /// (see [`History::set_hot_capacity`]).
    pub fn set_history_hot_capacity(&mut self, samples: usize) {
        self.history.set_hot_capacity(samples);
    }

    /// Applies resolved samples. Each is checked (handle, channel, finite value of the
    /// channel's type, not too far in the future of `now`); an older sample than the
    /// latest goes to history only; an exact repeat changes nothing. Samples at least
    /// as new as the latest are appended to the history's hot log (compacted in
    /// batches, see [`History`]); older ones are inserted at once, since the report says
    /// whether each was new, a repeat or a replacement.
    pub fn apply(&mut self, samples: &[Sample], now: Timestamp) -> IngestReport {
        let mut report = IngestReport::default();
        for s in samples {
            self.apply_one(s, None, now.as_millis(), &mut report);
        }
        report
    }

    /// Whether [`StateStore::apply`] at `now` would take the sample (as new, late,
    /// repeated or replacing) or refuse it, and why: the same checks in the same order.
    pub fn check(&self, s: &Sample, now: Timestamp) -> Result<(), RejectReason> {
        self.validate(s)?;
        if s.ts.as_millis() > now.as_millis().saturating_add(self.future_tolerance_ms) {
            return Err(RejectReason::FutureTimestamp);
        }
        Ok(())
    }

    /// [`StateStore::check`] without the clock: channel, handle, time and value.
    fn validate(&self, s: &Sample) -> Result<(), RejectReason> {
        let Some(spec) = self.channels.get(s.channel.0 as usize) else {
            return Err(RejectReason::UnknownChannel);
        };
        if s.handle.index() >= self.capacity {
            return Err(RejectReason::UnknownHandle);
        }
        if s.ts.as_millis() == NEVER {
            return Err(RejectReason::InvalidTimestamp);
        }
        match &spec.ty {
            _ if !s.value.is_finite() => Err(RejectReason::NotFinite),
            ChannelType::Number => Ok(()),
            ChannelType::Bool if s.value == 0.0 || s.value == 1.0 => Ok(()),
            ChannelType::Bool => Err(RejectReason::WrongType),
            ChannelType::Enum(states)
                if s.value >= 0.0
                    && s.value.fract() == 0.0
                    && (s.value as usize) < states.len() =>
            {
                Ok(())
            }
            ChannelType::Enum(_) => Err(RejectReason::UnknownState),
        }
    }

    /// Puts samples into history only (not the latest values): a restarted twin's
    /// history from disk. Samples [`StateStore::apply`] would refuse for their channel,
    /// handle, time or value are skipped; returns how many were stored.
    pub fn restore_history(&mut self, samples: &[Sample]) -> usize {
        let mut n = 0;
        for s in samples {
            if self.validate(s).is_ok() {
                let key = SeriesKey {
                    handle: s.handle.0,
                    channel: s.channel.0,
                };
                self.history.append(key, s.ts, s.value);
                n += 1;
            }
        }
        n
    }

    fn apply_one(&mut self, s: &Sample, id: Option<&str>, now_ms: i64, report: &mut IngestReport) {
        let h = s.handle.index();
        let c = s.channel.0 as usize;
        let asset = || id.map_or_else(|| s.handle.to_string(), str::to_string);
        if let Err(reason) = self.check(s, Timestamp::from_millis(now_ms)) {
            let channel = self
                .channels
                .get(c)
                .map_or_else(|| format!("#{c}"), |spec| spec.name.clone());
            report.reject(reason, asset, &channel, s.ts);
            return;
        }
        let ts = s.ts.as_millis();
        let key = SeriesKey {
            handle: s.handle.0,
            channel: s.channel.0,
        };
        let col = &mut self.columns[c];
        let latest_ts = col.ts[h];
        if ts < latest_ts {
            // Late: stored at once, since the report needs to know what it did.
            match self.history.insert(key, s.ts, s.value) {
                Inserted::Duplicate => report.duplicates += 1,
                Inserted::Replaced => report.replaced += 1,
                Inserted::Appended | Inserted::OutOfOrder => report.out_of_order += 1,
            }
            return;
        }
        if ts == latest_ts {
            if col.value[h] == s.value && col.quality[h] == s.quality as u8 {
                report.duplicates += 1;
                return;
            }
            report.replaced += 1;
        } else {
            report.applied += 1;
        }
        col.value[h] = s.value;
        col.ts[h] = ts;
        col.quality[h] = s.quality as u8;
        // At least as new as the latest: to the hot log, no answer needed.
        self.history.append(key, s.ts, s.value);
        let (word, bit) = (h / 64, 1u64 << (h % 64));
        if self.dirty_bits[word] & bit == 0 {
            self.dirty_bits[word] |= bit;
            self.dirty.push(s.handle.0);
        }
    }

    /// Encodes a delivered value for `channel` as its column holds it (numbers as they
    /// are, booleans as 0/1, states as their index), or says why it does not fit.
    pub fn encode(&self, channel: ChannelId, value: &Value) -> Result<f64, RejectReason> {
        let spec = self
            .channels
            .get(channel.0 as usize)
            .ok_or(RejectReason::UnknownChannel)?;
        encode(&spec.ty, value).map_err(|e| match e {
            EncodeError::NotFinite => RejectReason::NotFinite,
            EncodeError::WrongType => RejectReason::WrongType,
            EncodeError::UnknownState => RejectReason::UnknownState,
        })
    }

    /// [`StateStore::encode`] of the state name `state` (a [`Value::Text`]), without
    /// allocating one.
    pub fn encode_state(&self, channel: ChannelId, state: &str) -> Result<f64, RejectReason> {
        let spec = self
            .channels
            .get(channel.0 as usize)
            .ok_or(RejectReason::UnknownChannel)?;
        match &spec.ty {
            ChannelType::Enum(states) => states
                .iter()
                .position(|x| x == state)
                .map(|i| i as f64)
                .ok_or(RejectReason::UnknownState),
            _ => Err(RejectReason::WrongType),
        }
    }

    /// Resolves a reading by id and channel name against the twin and encodes its value.
    pub fn resolve(&self, twin: &Twin, r: &Reading) -> Result<Sample, RejectReason> {
        let handle = twin.handle(&r.id).ok_or(RejectReason::UnknownId)?;
        let channel = self
            .channel(&r.channel)
            .ok_or(RejectReason::UnknownChannel)?;
        let value = self.encode(channel, &r.value)?;
        Ok(Sample {
            handle,
            channel,
            ts: r.ts,
            value,
            quality: r.quality,
        })
    }

    /// Applies readings by external id and channel name.
    pub fn apply_readings(
        &mut self,
        twin: &Twin,
        readings: &[Reading],
        now: Timestamp,
    ) -> IngestReport {
        let now_ms = now.as_millis();
        self.ensure_capacity(twin.handle_capacity());
        let mut report = IngestReport::default();
        for r in readings {
            match self.resolve(twin, r) {
                Ok(s) => self.apply_one(&s, Some(&r.id), now_ms, &mut report),
                Err(reason) => report.reject(reason, || r.id.clone(), &r.channel, r.ts),
            }
        }
        report
    }

    /// The latest sample of a channel of an asset.
    pub fn latest(&self, h: Handle, channel: ChannelId) -> Option<Latest> {
        let col = self.columns.get(channel.0 as usize)?;
        let i = h.index();
        let ts = *col.ts.get(i)?;
        (ts != NEVER).then(|| Latest {
            ts: Timestamp::from_millis(ts),
            value: col.value[i],
            quality: Quality::from_u8(col.quality[i]),
        })
    }

    /// The newest timestamp of any latest value (none when nothing has reported).
    pub fn newest_ts(&self) -> Option<Timestamp> {
        self.columns
            .iter()
            .flat_map(|c| c.ts.iter().copied())
            .filter(|t| *t != NEVER)
            .max()
            .map(Timestamp::from_millis)
    }

    /// The latest value of a channel of an asset, decoded.
    pub fn latest_value(&self, h: Handle, channel: ChannelId) -> Option<Value> {
        let l = self.latest(h, channel)?;
        let spec = self.spec(channel)?;
        Some(super::channel::decode(&spec.ty, l.value))
    }

    /// The value a channel of an asset had at time `t`: its last sample at or before
    /// `t` still in history.
    pub fn value_at(
        &self,
        h: Handle,
        channel: ChannelId,
        t: Timestamp,
    ) -> Option<(Timestamp, f64)> {
        self.history.at(
            SeriesKey {
                handle: h.0,
                channel: channel.0,
            },
            t,
        )
    }

    /// The state of the given assets (all assets with history when `None`) at time `t`:
    /// every (asset, channel) with a sample at or before `t`, with that sample, sorted.
    pub fn state_at(
        &self,
        t: Timestamp,
        assets: Option<&[Handle]>,
    ) -> Vec<(Handle, ChannelId, Timestamp, f64)> {
        let mut out: Vec<(Handle, ChannelId, Timestamp, f64)> = match assets {
            None => self
                .history
                .at_all(t)
                .into_iter()
                .map(|(k, ts, v)| (Handle(k.handle), ChannelId(k.channel), ts, v))
                .collect(),
            Some(hs) => hs
                .iter()
                .flat_map(|&h| {
                    (0..self.channels.len()).filter_map(move |c| {
                        let ch = ChannelId(c as u16);
                        let (ts, v) = self.value_at(h, ch, t)?;
                        Some((h, ch, ts, v))
                    })
                })
                .collect(),
        };
        out.sort_by_key(|a| (a.0, a.1));
        out
    }

    /// The handles whose latest state changed since the last call, as sorted,
    /// merged ranges (what a renderer uploads), and forgets them.
    pub fn take_changed(&mut self) -> Vec<Range<u32>> {
        let hs = std::mem::take(&mut self.dirty);
        for &h in &hs {
            self.dirty_bits[h as usize / 64] = 0;
        }
        merge_ranges(hs)
    }
}

/// Sorts handles and merges them into ranges of consecutive handles (duplicates
/// allowed).
pub(crate) fn merge_ranges(mut hs: Vec<u32>) -> Vec<Range<u32>> {
    hs.sort_unstable();
    let mut out: Vec<Range<u32>> = Vec::new();
    for h in hs {
        match out.last_mut() {
            Some(r) if h < r.end => {}
            Some(r) if r.end == h => r.end = h + 1,
            _ => out.push(h..h + 1),
        }
    }
    out
}
