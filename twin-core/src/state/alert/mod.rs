//! Alerts: rules evaluated per applied sample, with a raised → acknowledged → cleared
//! lifecycle.
//!
//! A [`ThresholdRule`] has one [`Condition`]: a threshold (above / below, with
//! hysteresis and a minimum duration), an enumerated state, a rate of change over a
//! window (from history), or silence (no sample for N seconds, checked by
//! [`AlertEngine::tick`]). With [`Near`], it watches only the assets within some metres
//! of assets of other kinds (a spatial rule). [`GeofenceRule`]s watch moving assets
//! entering or leaving a zone ([`AlertEngine::on_moved`]).
//!
//! A rule watches one channel of the assets of some kinds. `Above(x)` holds while the
//! value is above `x`; once raised, the alert clears only when the value falls to
//! `x − hysteresis` or below (`Below` mirrors it), so a value wandering around the limit
//! does not flap. With a minimum duration, the condition must hold on every sample for
//! that long (from the first sample that met it) before the alert is raised. One
//! (rule, asset) pair has at most one open alert: repeats are deduplicated.
//! Every [`AlertEvent`] goes into a bounded queue that its owner drains in batches
//! ([`AlertEngine::drain_events`]); past [`AlertEngine::event_capacity`] undrained
//! events the oldest are dropped and counted ([`AlertEngine::events_dropped`]), so an
//! owner that stops draining never makes the engine grow.
//!
//! Rules load from JSON (`load_rules_json`) and are checked: unknown channels, bad
//! severities, negative hysteresis or duration and duplicate rule ids are refused with
//! the rule's index and id.

use std::collections::{BTreeMap, HashMap, VecDeque};

mod assets;
mod geofence;
mod json;
mod saved;

pub use geofence::{FenceOn, GeofenceRule};
pub use json::{RuleError, load_geofences_json, load_rules_json};

use crate::asset::Handle;
use crate::query::KindFilter;
use crate::state::channel::ChannelId;
use crate::state::store::{Sample, StateStore};
use crate::time::Timestamp;
use crate::twin::Twin;

/// How urgent an alert is.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// For information.
    Info,
    /// Needs attention.
    Warning,
    /// Needs action now.
    Critical,
}

impl Severity {
    /// `info`, `warning` or `critical`, as rules files write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// 0, 1 or 2: the position in per-severity counts.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Parses `info`, `warning` or `critical`.
    pub fn parse(s: &str) -> Option<Severity> {
        match s.trim().to_ascii_lowercase().as_str() {
            "info" => Some(Severity::Info),
            "warning" | "warn" => Some(Severity::Warning),
            "critical" | "crit" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// When a threshold rule's condition holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Condition {
    /// The value is above the limit.
    Above(f64),
    /// The value is below the limit.
    Below(f64),
    /// The value equals this one (an enumerated state's index, a bool's 0/1); it
    /// clears as soon as the value differs (no hysteresis).
    Equals(f64),
    /// The value moved by more than `change` (either way) since `window_ms` ago (the
    /// last sample at or before then, from history); clears at `change − hysteresis`.
    ChangeAbove {
        /// The largest allowed change.
        change: f64,
        /// Over this window.
        window_ms: i64,
    },
    /// The asset sent nothing on the channel for longer than `after_ms` (checked by
    /// [`AlertEngine::tick`]); clears with its next sample. Only assets that have
    /// reported at least once are watched.
    Silent {
        /// Allowed silence.
        after_ms: i64,
    },
}

/// Restricts a rule to assets within `metres` of an asset of other kinds ("a PM2.5
/// sensor within 500 m of a school"). The set is computed when the engine first sees
/// the twin and follows assets inserted, removed or moved later
/// ([`AlertEngine::assets_changed`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Near {
    /// The kinds of the assets to be near.
    pub kinds: KindFilter,
    /// How near, in metres (local frame).
    pub metres: f64,
}

/// A threshold rule.
#[derive(Clone, Debug, PartialEq)]
pub struct ThresholdRule {
    /// The rule's id (`water-level-high`).
    pub id: String,
    /// The assets it watches.
    pub kinds: KindFilter,
    /// The channel it reads.
    pub channel: ChannelId,
    /// When it holds.
    pub condition: Condition,
    /// How far back past the limit the value must go to clear (≥ 0).
    pub hysteresis: f64,
    /// How long the condition must hold before raising (ms, ≥ 0).
    pub min_duration_ms: i64,
    /// The severity of its alerts.
    pub severity: Severity,
    /// Only assets near assets of other kinds (a spatial rule), or all.
    pub near: Option<Near>,
}

impl ThresholdRule {
    /// Whether the condition holds for `v`; `before` is the value `window_ms` ago for
    /// [`Condition::ChangeAbove`].
    fn holds(&self, v: f64, before: Option<f64>) -> bool {
        match self.condition {
            Condition::Above(x) => v > x,
            Condition::Below(x) => v < x,
            Condition::Equals(x) => v == x,
            Condition::ChangeAbove { change, .. } => before.is_some_and(|b| (v - b).abs() > change),
            Condition::Silent { .. } => false,
        }
    }

    fn cleared(&self, v: f64, before: Option<f64>) -> bool {
        match self.condition {
            Condition::Above(x) => v <= x - self.hysteresis,
            Condition::Below(x) => v >= x + self.hysteresis,
            Condition::Equals(x) => v != x,
            // Without an earlier value (evicted from history) nothing is known: stay.
            Condition::ChangeAbove { change, .. } => {
                before.is_some_and(|b| (v - b).abs() <= change - self.hysteresis)
            }
            Condition::Silent { .. } => true,
        }
    }
}

/// Where an alert is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Raised, nobody has acknowledged it.
    Raised,
    /// An operator has acknowledged it; it is still open.
    Acknowledged,
    /// The condition is over.
    Cleared,
}

/// One alert.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Alert {
    /// Its number, unique in the engine.
    pub id: u64,
    /// The rule that raised it.
    pub rule: String,
    /// The asset.
    pub asset: Handle,
    /// The asset's external id.
    pub asset_id: String,
    /// The town the asset lies in.
    pub town: Option<Handle>,
    /// Its severity.
    pub severity: Severity,
    /// When it was raised (the sample's time, UTC ms).
    pub raised_at: Timestamp,
    /// The value that raised it.
    pub value: f64,
    /// Its state.
    pub state: AlertState,
    /// When it was acknowledged.
    pub acknowledged_at: Option<Timestamp>,
    /// When it cleared.
    pub cleared_at: Option<Timestamp>,
}

impl Alert {
    /// Whether this alert rolls up to `whole` in `twin` ([`Twin::rolls_up_to`]): a
    /// room sensor's alert is its room's, storey's, building's and town's. The asset
    /// is found by its id, so an alert from another process of a district (whose
    /// handles are that process's) is placed in this twin.
    pub fn rolls_up_to(&self, twin: &Twin, whole: Handle) -> bool {
        twin.handle(&self.asset_id)
            .is_some_and(|h| twin.rolls_up_to(h, whole))
    }
}

/// What happened to an alert.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "event", content = "alert", rename_all = "snake_case")]
pub enum AlertEvent {
    /// A new alert.
    Raised(Alert),
    /// An operator acknowledged it.
    Acknowledged(Alert),
    /// Its condition ended.
    Cleared(Alert),
}

#[derive(Clone, Copy, Debug, Default)]
struct Watch {
    /// Time of the first sample of the current run where the condition held.
    since: Option<Timestamp>,
    /// The open alert.
    open: Option<u64>,
    /// The last sample evaluated (time, value): an exact repeat or an older sample is
    /// not evaluated again (at-least-once delivery must not move alerts).
    last: Option<(Timestamp, f64)>,
}

/// How many cleared alerts an engine keeps for [`AlertEngine::alert`] lookups (older
/// ones are dropped; their events have been queued).
pub const MAX_CLEARED_KEPT: usize = 10_000;

/// How many undrained alert events an engine keeps by default.
pub const DEFAULT_EVENT_CAPACITY: usize = 100_000;

/// Evaluates rules on applied samples and keeps the alerts.
#[derive(Debug, Default)]
pub struct AlertEngine {
    rules: Vec<ThresholdRule>,
    watches: HashMap<(u16, u32), Watch>,
    alerts: BTreeMap<u64, Alert>,
    next_id: u64,
    /// Events not yet drained, oldest first (at most `event_capacity`).
    events: VecDeque<AlertEvent>,
    /// The most undrained events kept.
    event_capacity: usize,
    /// Events dropped because the queue was full.
    events_dropped: u64,
    /// Per rule with `near`: which handles it watches (computed on first use).
    near_sets: Vec<Option<Vec<bool>>>,
    /// The last time `tick` scanned for silent assets.
    last_scan: i64,
    /// Per silence rule, the assets it watches (computed on first use).
    silent_watch: Vec<Option<Vec<Handle>>>,
    /// Cleared alerts, oldest first: at most [`MAX_CLEARED_KEPT`] are kept.
    cleared: std::collections::VecDeque<u64>,
    /// Geofences with their zone in the local frame (computed on first use).
    fences: Vec<(GeofenceRule, Option<geo_types::Geometry<f64>>)>,
    /// Whether each (fence, asset) was inside at its last move.
    fence_inside: HashMap<(u16, u32), bool>,
    /// The open alert of each (fence, asset).
    fence_open: HashMap<(u16, u32), u64>,
}

impl AlertEngine {
    /// An engine with these rules.
    pub fn new(rules: Vec<ThresholdRule>) -> Self {
        AlertEngine {
            near_sets: vec![None; rules.len()],
            silent_watch: vec![None; rules.len()],
            rules,
            next_id: 1,
            last_scan: i64::MIN,
            event_capacity: DEFAULT_EVENT_CAPACITY,
            ..AlertEngine::default()
        }
    }

    /// The rules.
    pub fn rules(&self) -> &[ThresholdRule] {
        &self.rules
    }

    /// Takes at most `max` queued events, oldest first.
    pub fn drain_events(&mut self, max: usize) -> Vec<AlertEvent> {
        let n = max.min(self.events.len());
        self.events.drain(..n).collect()
    }

    /// How many events wait to be drained.
    pub fn pending_events(&self) -> usize {
        self.events.len()
    }

    /// How many events were dropped, since the engine was made, because more than
    /// [`AlertEngine::event_capacity`] waited undrained.
    pub fn events_dropped(&self) -> u64 {
        self.events_dropped
    }

    /// The most undrained events the engine keeps.
    pub fn event_capacity(&self) -> usize {
        self.event_capacity
    }

    /// Sets the most undrained events kept (at least 1); extra events are dropped,
    /// oldest first, and counted.
    pub fn set_event_capacity(&mut self, capacity: usize) {
        self.event_capacity = capacity.max(1);
        self.trim_events();
    }

    fn trim_events(&mut self) {
        while self.events.len() > self.event_capacity {
            self.events.pop_front();
            self.events_dropped += 1;
        }
    }

    /// All alerts still open (raised or acknowledged), by id.
    pub fn open(&self) -> impl Iterator<Item = &Alert> {
        self.alerts
            .values()
            .filter(|a| a.state != AlertState::Cleared)
    }

    /// Remembers a cleared alert, dropping the oldest beyond [`MAX_CLEARED_KEPT`].
    fn retire(&mut self, id: u64) {
        self.cleared.push_back(id);
        while self.cleared.len() > MAX_CLEARED_KEPT {
            if let Some(old) = self.cleared.pop_front() {
                self.alerts.remove(&old);
            }
        }
    }

    /// An alert by id (open, or among the last cleared ones).
    pub fn alert(&self, id: u64) -> Option<&Alert> {
        self.alerts.get(&id)
    }

    fn emit(&mut self, e: AlertEvent) {
        self.events.push_back(e);
        self.trim_events();
    }

    /// Replaces the rules and geofences, keeping queued events, alert numbering and the
    /// open alerts whose rule id still exists (the others are dropped). Rule ids must be
    /// unique across both kinds of rules.
    pub fn replace_rules(
        &mut self,
        rules: Vec<ThresholdRule>,
        fences: Vec<GeofenceRule>,
    ) -> Result<(), RuleError> {
        let mut ids = std::collections::HashSet::new();
        for id in rules
            .iter()
            .map(|r| &r.id)
            .chain(fences.iter().map(|f| &f.id))
        {
            if !ids.insert(id.clone()) {
                return Err(RuleError::Format(format!(
                    "rule id `{id}` is used twice (threshold and geofence ids share one namespace)"
                )));
            }
        }
        let open: Vec<Alert> = self.open().cloned().collect();
        let mut next = AlertEngine::new(rules);
        for f in fences {
            next.add_geofence(f);
        }
        next.events = std::mem::take(&mut self.events);
        next.event_capacity = self.event_capacity;
        next.events_dropped = self.events_dropped;
        next.next_id = self.next_id;
        next.restore(open);
        *self = next;
        Ok(())
    }

    /// Numbers new alerts from `first` on (or from the next number, when that is
    /// higher): processes that share a district give each its own range, so an alert's
    /// number names it across the district.
    pub fn start_ids_at(&mut self, first: u64) {
        self.next_id = self.next_id.max(first);
    }

    /// Puts back alerts that were open when a snapshot was taken: they stay open until
    /// their rule sees a clearing sample. Alerts of rules the engine does not have are
    /// returned.
    pub fn restore(&mut self, alerts: Vec<Alert>) -> Vec<Alert> {
        let mut orphans = Vec::new();
        for a in alerts {
            if let Some(fi) = self.fences.iter().position(|(f, _)| f.id == a.rule) {
                let key = (fi as u16, a.asset.0);
                self.next_id = self.next_id.max(a.id + 1);
                if a.state != AlertState::Cleared {
                    self.fence_open.insert(key, a.id);
                    self.fence_inside
                        .insert(key, self.fences[fi].0.on == FenceOn::Enter);
                }
                self.alerts.insert(a.id, a);
                continue;
            }
            let Some(ri) = self.rules.iter().position(|r| r.id == a.rule) else {
                orphans.push(a);
                continue;
            };
            self.next_id = self.next_id.max(a.id + 1);
            self.watches.insert(
                (ri as u16, a.asset.0),
                Watch {
                    since: Some(a.raised_at),
                    open: (a.state != AlertState::Cleared).then_some(a.id),
                    last: None,
                },
            );
            self.alerts.insert(a.id, a);
        }
        orphans
    }

    /// Acknowledges an open alert; false if it is unknown, cleared or acknowledged.
    pub fn acknowledge(&mut self, id: u64, at: Timestamp) -> bool {
        let Some(a) = self.alerts.get_mut(&id) else {
            return false;
        };
        if a.state != AlertState::Raised {
            return false;
        }
        a.state = AlertState::Acknowledged;
        a.acknowledged_at = Some(at);
        let e = AlertEvent::Acknowledged(a.clone());
        self.emit(e);
        true
    }

    /// Evaluates the rules on samples just given to `store.apply`: only those that
    /// became the latest value count (late and refused samples do not move alerts).
    pub fn process(&mut self, twin: &Twin, store: &StateStore, samples: &[Sample]) {
        self.prepare_near(twin);
        for s in samples {
            let applied = store
                .latest(s.handle, s.channel)
                .is_some_and(|l| l.ts == s.ts && l.value == s.value);
            if applied {
                self.on_sample(twin, store, s);
            }
        }
    }

    /// Computes the watched set of every spatial rule not yet prepared.
    fn prepare_near(&mut self, twin: &Twin) {
        for (ri, rule) in self.rules.iter().enumerate() {
            let (Some(near), None) = (&rule.near, &self.near_sets[ri]) else {
                continue;
            };
            let mut set = vec![false; twin.handle_capacity()];
            for (_, a) in twin.iter() {
                if near.kinds.matches(&a.kind) {
                    for w in
                        twin.query_within_distance_of(&a.geometry, near.metres, Some(&rule.kinds))
                    {
                        set[w.index()] = true;
                    }
                }
            }
            self.near_sets[ri] = Some(set);
        }
    }

    fn watches_asset(&self, ri: usize, h: Handle) -> bool {
        match &self.near_sets[ri] {
            None => true,
            Some(set) => set.get(h.index()).copied().unwrap_or(false),
        }
    }

    /// Raises silence alerts: assets of a [`Condition::Silent`] rule whose last sample
    /// on its channel is older than the allowed silence. Scans at most once a second.
    pub fn tick(&mut self, twin: &Twin, store: &StateStore, now: Timestamp) {
        let now_ms = now.as_millis();
        if now_ms < self.last_scan.saturating_add(1000) {
            return;
        }
        self.last_scan = now_ms;
        self.prepare_near(twin);
        for ri in 0..self.rules.len() {
            let Condition::Silent { after_ms } = self.rules[ri].condition else {
                continue;
            };
            let channel = self.rules[ri].channel;
            if self.silent_watch[ri].is_none() {
                let rule = &self.rules[ri];
                let list: Vec<Handle> = twin
                    .iter()
                    .filter(|(h, a)| rule.kinds.matches(&a.kind) && self.watches_asset(ri, *h))
                    .map(|(h, _)| h)
                    .collect();
                self.silent_watch[ri] = Some(list);
            }
            let mut raised = Vec::new();
            for &h in self.silent_watch[ri].as_deref().unwrap_or(&[]) {
                let Some(l) = store.latest(h, channel) else {
                    continue;
                };
                if now.ms_since(l.ts) <= after_ms {
                    continue;
                }
                let key = (ri as u16, h.0);
                if self.watches.get(&key).is_some_and(|w| w.open.is_some()) {
                    continue;
                }
                raised.push((h, l.ts, l.value));
            }
            for (h, ts, value) in raised {
                let e = self.raise(twin, ri, h, now, value);
                // The last sample before the silence: only a newer one clears it.
                if let Some(w) = self.watches.get_mut(&(ri as u16, h.0)) {
                    w.last = Some((ts, value));
                }
                self.emit(e);
            }
        }
    }

    fn raise(
        &mut self,
        twin: &Twin,
        ri: usize,
        h: Handle,
        at: Timestamp,
        value: f64,
    ) -> AlertEvent {
        let (rule, severity) = (self.rules[ri].id.clone(), self.rules[ri].severity);
        let alert = self.open_alert(twin, rule, severity, h, at, value);
        let w = self.watches.entry((ri as u16, h.0)).or_default();
        w.open = Some(alert.id);
        AlertEvent::Raised(alert)
    }

    /// Numbers and stores a new raised alert (every kind of rule opens alerts here).
    fn open_alert(
        &mut self,
        twin: &Twin,
        rule: String,
        severity: Severity,
        h: Handle,
        at: Timestamp,
        value: f64,
    ) -> Alert {
        let id = self.next_id;
        self.next_id += 1;
        let alert = Alert {
            id,
            rule,
            asset: h,
            asset_id: twin.get(h).map(|a| a.id.clone()).unwrap_or_default(),
            town: twin.located_in(h),
            severity,
            raised_at: at,
            value,
            state: AlertState::Raised,
            acknowledged_at: None,
            cleared_at: None,
        };
        self.alerts.insert(id, alert.clone());
        alert
    }

    /// Clears an open alert at `at` and files it among the cleared ones (every kind of
    /// rule clears alerts here); the event to emit, if it was known.
    fn clear_alert(&mut self, id: u64, at: Timestamp) -> Option<AlertEvent> {
        let a = self.alerts.get_mut(&id)?;
        a.state = AlertState::Cleared;
        a.cleared_at = Some(at);
        let e = AlertEvent::Cleared(a.clone());
        self.retire(id);
        Some(e)
    }

    fn on_sample(&mut self, twin: &Twin, store: &StateStore, s: &Sample) {
        for ri in 0..self.rules.len() {
            let rule = &self.rules[ri];
            if rule.channel != s.channel {
                continue;
            }
            let Some(asset) = twin.get(s.handle) else {
                continue;
            };
            if !rule.kinds.matches(&asset.kind) || !self.watches_asset(ri, s.handle) {
                continue;
            }
            let before = match rule.condition {
                Condition::ChangeAbove { window_ms, .. } => store
                    .value_at(s.handle, s.channel, s.ts.add_ms(-window_ms))
                    .map(|(_, v)| v),
                _ => None,
            };
            let key = (ri as u16, s.handle.0);
            // A silence rule only clears on a sample (its raising is `tick`'s): no watch
            // is kept for a sensor that is not silent. Keeping one per sample made
            // silence rules on every sensor type cost 40% of the island's ingest.
            if let Condition::Silent { after_ms } = rule.condition {
                // Only a sample newer than the last one before the silence clears it
                // (a redelivered old sample does not). Without that sample's time (an
                // alert restored or kept over new rules), one from within the silence
                // window before the alert was raised counts as new.
                let raised_at = |id: u64| self.alerts.get(&id).map(|a| a.raised_at);
                let since = self.watches.get(&key).and_then(|w| {
                    let id = w.open?;
                    Some(match w.last {
                        Some((t, _)) => t,
                        None => raised_at(id)?.add_ms(-after_ms),
                    })
                });
                let open = match since {
                    Some(t) if s.ts > t => self.watches.get_mut(&key).and_then(|w| w.open.take()),
                    _ => None,
                };
                if let Some(e) = open.and_then(|id| self.clear_alert(id, s.ts)) {
                    self.emit(e);
                }
                continue;
            }
            let mut w = self.watches.get(&key).copied().unwrap_or_default();
            if w.last
                .is_some_and(|(t, v)| s.ts < t || (s.ts == t && s.value == v))
            {
                continue;
            }
            w.last = Some((s.ts, s.value));
            let mut raise = false;
            let mut clear = None;
            match w.open {
                None if rule.holds(s.value, before) => {
                    let since = *w.since.get_or_insert(s.ts);
                    raise = s.ts.ms_since(since) >= rule.min_duration_ms;
                }
                None => w.since = None,
                Some(id) if rule.cleared(s.value, before) => {
                    w.open = None;
                    w.since = None;
                    clear = Some(id);
                }
                Some(_) => {}
            }
            self.watches.insert(key, w);
            let event = if raise {
                Some(self.raise(twin, ri, s.handle, s.ts, s.value))
            } else {
                clear.and_then(|id| self.clear_alert(id, s.ts))
            };
            if let Some(e) = event {
                self.emit(e);
            }
        }
    }
}
