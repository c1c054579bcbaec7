//! Alerts: rules evaluated per applied sample, with a raised → acknowledged → cleared
//! lifecycle.
//!
//! A [`ThresholdRule`] has one [`Condition`]: a threshold (above / below, with
//! hysteresis and a minimum duration), an enumerated state, a rate of change over a
//! window (from history), or silence (no sample for N seconds, checked by
//! [`AlertEngine::tick`]). With [`Near`], it watches only the assets within some metres
//! of assets of other kinds (a spatial rule).
//!
//! A rule watches one channel of the assets of some kinds. `Above(x)` holds while the
//! value is above `x`; once raised, the alert clears only when the value falls to
//! `x − hysteresis` or below (`Below` mirrors it), so a value wandering around the limit
//! does not flap. With a minimum duration, the condition must hold on every sample for
//! that long (from the first sample that met it) before the alert is raised. One
//! (rule, asset) pair has at most one open alert: repeats are deduplicated.
//! Subscribers receive every [`AlertEvent`] through a channel.
//!
//! Rules load from JSON (`load_rules_json`) and are checked: unknown channels, bad
//! severities, negative hysteresis or duration and duplicate rule ids are refused with
//! the rule's index and id.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::{Receiver, Sender, channel};

use serde::Deserialize;

use super::channel::ChannelId;
use super::store::{Sample, StateStore};
use crate::asset::Handle;
use crate::query::KindFilter;
use crate::twin::Twin;

/// How urgent an alert is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// For information.
    Info,
    /// Needs attention.
    Warning,
    /// Needs action now.
    Critical,
}

impl Severity {
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
/// sensor within 500 m of a school"). The set is computed once, when the engine
/// first sees the twin.
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
            Condition::ChangeAbove { change, .. } => {
                before.is_none_or(|b| (v - b).abs() <= change - self.hysteresis)
            }
            Condition::Silent { .. } => true,
        }
    }
}

/// Where an alert is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertState {
    /// Raised, nobody has acknowledged it.
    Raised,
    /// An operator has acknowledged it; it is still open.
    Acknowledged,
    /// The condition is over.
    Cleared,
}

/// One alert.
#[derive(Clone, Debug, PartialEq)]
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
    pub raised_at: i64,
    /// The value that raised it.
    pub value: f64,
    /// Its state.
    pub state: AlertState,
    /// When it was acknowledged.
    pub acknowledged_at: Option<i64>,
    /// When it cleared.
    pub cleared_at: Option<i64>,
}

/// What happened to an alert.
#[derive(Clone, Debug, PartialEq)]
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
    since: Option<i64>,
    /// The open alert.
    open: Option<u64>,
}

/// Evaluates rules on applied samples and keeps the alerts.
#[derive(Debug, Default)]
pub struct AlertEngine {
    rules: Vec<ThresholdRule>,
    watches: HashMap<(u16, u32), Watch>,
    alerts: BTreeMap<u64, Alert>,
    next_id: u64,
    subscribers: Vec<Sender<AlertEvent>>,
    /// Per rule with `near`: which handles it watches (computed on first use).
    near_sets: Vec<Option<Vec<bool>>>,
    /// The last time `tick` scanned for silent assets.
    last_scan: i64,
    /// Per silence rule, the assets it watches (computed on first use).
    silent_watch: Vec<Option<Vec<Handle>>>,
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
            ..AlertEngine::default()
        }
    }

    /// The rules.
    pub fn rules(&self) -> &[ThresholdRule] {
        &self.rules
    }

    /// A channel that receives every event from now on.
    pub fn subscribe(&mut self) -> Receiver<AlertEvent> {
        let (tx, rx) = channel();
        self.subscribers.push(tx);
        rx
    }

    /// All alerts still open (raised or acknowledged), by id.
    pub fn open(&self) -> impl Iterator<Item = &Alert> {
        self.alerts
            .values()
            .filter(|a| a.state != AlertState::Cleared)
    }

    /// An alert by id.
    pub fn alert(&self, id: u64) -> Option<&Alert> {
        self.alerts.get(&id)
    }

    fn emit(&mut self, e: AlertEvent) {
        self.subscribers.retain(|s| s.send(e.clone()).is_ok());
    }

    /// Puts back alerts that were open when a snapshot was taken: they stay open until
    /// their rule sees a clearing sample. Alerts of rules the engine does not have are
    /// returned.
    pub fn restore(&mut self, alerts: Vec<Alert>) -> Vec<Alert> {
        let mut orphans = Vec::new();
        for a in alerts {
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
                },
            );
            self.alerts.insert(a.id, a);
        }
        orphans
    }

    /// The rules as JSON that [`load_rules_json`] reads back.
    pub fn rules_json(&self, store: &StateStore) -> String {
        let rules: Vec<serde_json::Value> = self
            .rules
            .iter()
            .map(|r| {
                let mut o = serde_json::Map::new();
                o.insert("id".into(), r.id.clone().into());
                o.insert("kinds".into(), r.kinds.to_string().into());
                let channel = store
                    .spec(r.channel)
                    .map(|s| s.name.clone())
                    .unwrap_or_default();
                o.insert("channel".into(), channel.into());
                match r.condition {
                    Condition::Above(x) => o.insert("above".into(), x.into()),
                    Condition::Below(x) => o.insert("below".into(), x.into()),
                    Condition::Equals(x) => {
                        let v = store
                            .spec(r.channel)
                            .map(|s| super::channel::decode(&s.ty, x))
                            .unwrap_or(super::channel::Value::Num(x));
                        let json = match v {
                            super::channel::Value::Num(n) => serde_json::Value::from(n),
                            super::channel::Value::Bool(b) => b.into(),
                            super::channel::Value::Text(t) => t.into(),
                        };
                        o.insert("state".into(), json)
                    }
                    Condition::ChangeAbove { change, window_ms } => {
                        o.insert("window_s".into(), (window_ms as f64 / 1000.0).into());
                        o.insert("change_above".into(), change.into())
                    }
                    Condition::Silent { after_ms } => {
                        o.insert("silent_s".into(), (after_ms as f64 / 1000.0).into())
                    }
                };
                if let Some(n) = &r.near {
                    o.insert("near_kinds".into(), n.kinds.to_string().into());
                    o.insert("near_m".into(), n.metres.into());
                }
                o.insert("hysteresis".into(), r.hysteresis.into());
                o.insert(
                    "min_duration_s".into(),
                    (r.min_duration_ms as f64 / 1000.0).into(),
                );
                let sev = match r.severity {
                    Severity::Info => "info",
                    Severity::Warning => "warning",
                    Severity::Critical => "critical",
                };
                o.insert("severity".into(), sev.into());
                serde_json::Value::Object(o)
            })
            .collect();
        serde_json::Value::Array(rules).to_string()
    }

    /// Acknowledges an open alert; false if it is unknown, cleared or acknowledged.
    pub fn acknowledge(&mut self, id: u64, at_ms: i64) -> bool {
        let Some(a) = self.alerts.get_mut(&id) else {
            return false;
        };
        if a.state != AlertState::Raised {
            return false;
        }
        a.state = AlertState::Acknowledged;
        a.acknowledged_at = Some(at_ms);
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
    pub fn tick(&mut self, twin: &Twin, store: &StateStore, now_ms: i64) {
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
                if now_ms.saturating_sub(l.ts) <= after_ms {
                    continue;
                }
                let key = (ri as u16, h.0);
                if self.watches.get(&key).is_some_and(|w| w.open.is_some()) {
                    continue;
                }
                raised.push((h, l.value));
            }
            for (h, value) in raised {
                let e = self.raise(twin, ri, h, now_ms, value);
                self.emit(e);
            }
        }
    }

    fn raise(&mut self, twin: &Twin, ri: usize, h: Handle, at: i64, value: f64) -> AlertEvent {
        let rule = &self.rules[ri];
        let id = self.next_id;
        self.next_id += 1;
        let alert = Alert {
            id,
            rule: rule.id.clone(),
            asset: h,
            asset_id: twin.get(h).map(|a| a.id.clone()).unwrap_or_default(),
            town: twin.located_in(h),
            severity: rule.severity,
            raised_at: at,
            value,
            state: AlertState::Raised,
            acknowledged_at: None,
            cleared_at: None,
        };
        self.alerts.insert(id, alert.clone());
        let w = self.watches.entry((ri as u16, h.0)).or_default();
        w.open = Some(id);
        AlertEvent::Raised(alert)
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
                    .value_at(s.handle, s.channel, s.ts.saturating_sub(window_ms))
                    .map(|(_, v)| v),
                _ => None,
            };
            let key = (ri as u16, s.handle.0);
            let mut w = self.watches.get(&key).copied().unwrap_or_default();
            let mut raise = false;
            let mut event = None;
            match w.open {
                None if rule.holds(s.value, before) => {
                    let since = *w.since.get_or_insert(s.ts);
                    raise = s.ts.saturating_sub(since) >= rule.min_duration_ms;
                }
                None => w.since = None,
                Some(id) if rule.cleared(s.value, before) => {
                    w.open = None;
                    w.since = None;
                    if let Some(a) = self.alerts.get_mut(&id) {
                        a.state = AlertState::Cleared;
                        a.cleared_at = Some(s.ts);
                        event = Some(AlertEvent::Cleared(a.clone()));
                    }
                }
                Some(_) => {}
            }
            self.watches.insert(key, w);
            if raise {
                event = Some(self.raise(twin, ri, s.handle, s.ts, s.value));
            }
            if let Some(e) = event {
                self.emit(e);
            }
        }
    }
}

/// A rule as written in a rules file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    id: String,
    kinds: String,
    channel: String,
    #[serde(default)]
    above: Option<f64>,
    #[serde(default)]
    below: Option<f64>,
    #[serde(default)]
    state: Option<serde_json::Value>,
    #[serde(default)]
    change_above: Option<f64>,
    #[serde(default)]
    window_s: Option<f64>,
    #[serde(default)]
    silent_s: Option<f64>,
    #[serde(default)]
    near_kinds: Option<String>,
    #[serde(default)]
    near_m: Option<f64>,
    #[serde(default)]
    hysteresis: f64,
    #[serde(default)]
    min_duration_s: f64,
    severity: String,
}

/// Why a rules file was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleError {
    /// The file is not a JSON array of rules.
    #[error("rules file: {0}")]
    Format(String),
    /// One rule is wrong.
    #[error("rule {index} (`{id}`): {message}")]
    Rule {
        /// Its index in the file.
        index: usize,
        /// Its id.
        id: String,
        /// What is wrong.
        message: String,
    },
}

/// Reads rules from JSON: an array of `{"id", "kinds", "channel", one condition,
/// "hysteresis", "min_duration_s", "severity", "near_kinds", "near_m"}` where the
/// condition is `"above": x`, `"below": x`, `"state": s`, `"change_above": x` with
/// `"window_s": w`, or `"silent_s": n`. Channels (and `state` values of enumerated or
/// boolean channels) are resolved against the store.
pub fn load_rules_json(text: &str, store: &StateStore) -> Result<Vec<ThresholdRule>, RuleError> {
    let raw: Vec<serde_json::Value> =
        serde_json::from_str(text).map_err(|e| RuleError::Format(e.to_string()))?;
    let mut out: Vec<ThresholdRule> = Vec::with_capacity(raw.len());
    for (index, v) in raw.into_iter().enumerate() {
        let id_hint = v
            .get("id")
            .and_then(|x| x.as_str())
            .unwrap_or("")
            .to_string();
        let fail = |message: String| RuleError::Rule {
            index,
            id: id_hint.clone(),
            message,
        };
        let r: RuleFile = serde_json::from_value(v).map_err(|e| fail(e.to_string()))?;
        let channel = store
            .channel(&r.channel)
            .ok_or_else(|| fail(format!("unknown channel `{}`", r.channel)))?;
        let spec = store
            .spec(channel)
            .ok_or_else(|| fail(format!("unknown channel `{}`", r.channel)))?;
        let given = [
            r.above.is_some(),
            r.below.is_some(),
            r.state.is_some(),
            r.change_above.is_some(),
            r.silent_s.is_some(),
        ]
        .iter()
        .filter(|g| **g)
        .count();
        if given != 1 {
            return Err(fail(
                "give exactly one of `above`, `below`, `state`, `change_above` (with `window_s`) or `silent_s`".into(),
            ));
        }
        let seconds = |v: Option<f64>, name: &str| -> Result<i64, RuleError> {
            match v {
                Some(x) if x.is_finite() && x > 0.0 => Ok((x * 1000.0).round() as i64),
                _ => Err(fail(format!("`{name}` must be a number of seconds > 0"))),
            }
        };
        let condition = match (r.above, r.below, &r.state) {
            (Some(x), None, None) if x.is_finite() => Condition::Above(x),
            (None, Some(x), None) if x.is_finite() => Condition::Below(x),
            (None, None, Some(v)) => {
                let value = match v {
                    serde_json::Value::String(s) => super::channel::Value::Text(s.clone()),
                    serde_json::Value::Bool(b) => super::channel::Value::Bool(*b),
                    serde_json::Value::Number(n) => {
                        super::channel::Value::Num(n.as_f64().unwrap_or(f64::NAN))
                    }
                    other => return Err(fail(format!("`state` {other} is not a value"))),
                };
                let x = super::channel::encode(&spec.ty, &value).map_err(|_| {
                    fail(format!(
                        "`state` {value} is not a value of channel `{}`",
                        r.channel
                    ))
                })?;
                Condition::Equals(x)
            }
            (None, None, None) => match (r.change_above, r.silent_s) {
                (Some(c), None) if c.is_finite() && c >= 0.0 => Condition::ChangeAbove {
                    change: c,
                    window_ms: seconds(r.window_s, "window_s")?,
                },
                (None, Some(_)) => Condition::Silent {
                    after_ms: seconds(r.silent_s, "silent_s")?,
                },
                _ => return Err(fail("`change_above` must be a finite number ≥ 0".into())),
            },
            _ => return Err(fail("`above` / `below` must be finite numbers".into())),
        };
        if !(r.hysteresis.is_finite() && r.hysteresis >= 0.0) {
            return Err(fail("`hysteresis` must be a number ≥ 0".into()));
        }
        if !(r.min_duration_s.is_finite() && r.min_duration_s >= 0.0) {
            return Err(fail("`min_duration_s` must be a number ≥ 0".into()));
        }
        let severity = Severity::parse(&r.severity).ok_or_else(|| {
            fail(format!(
                "severity `{}` is not info, warning or critical",
                r.severity
            ))
        })?;
        let near = match (r.near_kinds, r.near_m) {
            (None, None) => None,
            (Some(k), Some(m)) if m.is_finite() && m >= 0.0 => Some(Near {
                kinds: KindFilter::parse(&k),
                metres: m,
            }),
            _ => {
                return Err(fail(
                    "`near_kinds` needs `near_m`, a distance ≥ 0 in metres".into(),
                ));
            }
        };
        if out.iter().any(|o| o.id == r.id) {
            return Err(fail("duplicate rule id".into()));
        }
        out.push(ThresholdRule {
            id: r.id,
            kinds: KindFilter::parse(&r.kinds),
            channel,
            condition,
            hysteresis: r.hysteresis,
            min_duration_ms: (r.min_duration_s * 1000.0).round() as i64,
            severity,
            near,
        });
    }
    Ok(out)
}
