//! Alerts: threshold rules with hysteresis and a minimum duration, evaluated per
//! applied sample, with a raised → acknowledged → cleared lifecycle.
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
}

impl ThresholdRule {
    fn holds(&self, v: f64) -> bool {
        match self.condition {
            Condition::Above(x) => v > x,
            Condition::Below(x) => v < x,
            Condition::Equals(x) => v == x,
        }
    }

    fn cleared(&self, v: f64) -> bool {
        match self.condition {
            Condition::Above(x) => v <= x - self.hysteresis,
            Condition::Below(x) => v >= x + self.hysteresis,
            Condition::Equals(x) => v != x,
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
}

impl AlertEngine {
    /// An engine with these rules.
    pub fn new(rules: Vec<ThresholdRule>) -> Self {
        AlertEngine {
            rules,
            next_id: 1,
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
                };
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
        for s in samples {
            let applied = store
                .latest(s.handle, s.channel)
                .is_some_and(|l| l.ts == s.ts && l.value == s.value);
            if applied {
                self.on_sample(twin, s);
            }
        }
    }

    fn on_sample(&mut self, twin: &Twin, s: &Sample) {
        for ri in 0..self.rules.len() {
            let rule = &self.rules[ri];
            if rule.channel != s.channel {
                continue;
            }
            let Some(asset) = twin.get(s.handle) else {
                continue;
            };
            if !rule.kinds.matches(&asset.kind) {
                continue;
            }
            let key = (ri as u16, s.handle.0);
            let mut w = self.watches.get(&key).copied().unwrap_or_default();
            let mut event = None;
            match w.open {
                None if rule.holds(s.value) => {
                    let since = *w.since.get_or_insert(s.ts);
                    if s.ts.saturating_sub(since) >= rule.min_duration_ms {
                        let id = self.next_id;
                        self.next_id += 1;
                        let alert = Alert {
                            id,
                            rule: rule.id.clone(),
                            asset: s.handle,
                            asset_id: asset.id.clone(),
                            town: twin.located_in(s.handle),
                            severity: rule.severity,
                            raised_at: s.ts,
                            value: s.value,
                            state: AlertState::Raised,
                            acknowledged_at: None,
                            cleared_at: None,
                        };
                        self.alerts.insert(id, alert.clone());
                        w.open = Some(id);
                        event = Some(AlertEvent::Raised(alert));
                    }
                }
                None => w.since = None,
                Some(id) if rule.cleared(s.value) => {
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

/// Reads threshold rules from JSON: an array of
/// `{"id", "kinds", "channel", "above"|"below"|"state", "hysteresis", "min_duration_s",
/// "severity"}`, channels (and `state` values of enumerated or boolean channels)
/// resolved against the store.
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
            _ => {
                return Err(fail(
                    "give exactly one of a finite `above`, a finite `below` or a `state`".into(),
                ));
            }
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
        });
    }
    Ok(out)
}
