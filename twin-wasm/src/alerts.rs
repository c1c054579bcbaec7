//! Rules, alerts, their events and the vital-signs table, as plain serialisable values.

use std::collections::BTreeMap;

use serde::Serialize;
use tsify::Tsify;
use twin_core::state::alert::{Alert, AlertEvent, AlertState};
use twin_core::state::vitals::VitalRow;
use twin_core::{Timestamp, Twin};

use crate::engine::Engine;
use crate::query::town_id;

/// What `onAlert` listeners receive.
#[derive(Clone, Debug, PartialEq, Serialize, Tsify)]
#[tsify(rename = "AlertEvent")]
pub struct EventOut {
    /// `raised`, `acknowledged` or `cleared`.
    #[tsify(type = r#""raised" | "acknowledged" | "cleared""#)]
    pub event: &'static str,
    /// The alert's number.
    pub id: u64,
    /// The rule's id.
    pub rule: String,
    /// The asset's id.
    pub asset: String,
    /// The asset's handle.
    pub handle: u32,
    /// Id of the town it lies in.
    pub town: Option<String>,
    /// `info`, `warning` or `critical`.
    #[tsify(type = r#""info" | "warning" | "critical""#)]
    pub severity: &'static str,
    /// When it happened (UTC ms): raised, acknowledged or cleared.
    pub time: i64,
    /// The value that raised it.
    pub value: f64,
}

impl EventOut {
    /// The event of a twin-core alert event.
    pub fn of(twin: &Twin, e: &AlertEvent) -> EventOut {
        let (event, a, time) = match e {
            AlertEvent::Raised(a) => ("raised", a, a.raised_at.as_millis()),
            AlertEvent::Acknowledged(a) => (
                "acknowledged",
                a,
                a.acknowledged_at.unwrap_or(a.raised_at).as_millis(),
            ),
            AlertEvent::Cleared(a) => (
                "cleared",
                a,
                a.cleared_at.unwrap_or(a.raised_at).as_millis(),
            ),
        };
        EventOut {
            event,
            id: a.id,
            rule: a.rule.clone(),
            asset: a.asset_id.clone(),
            handle: a.asset.0,
            town: town_id(twin, a.asset),
            severity: a.severity.as_str(),
            time,
            value: a.value,
        }
    }
}

/// An alert.
#[derive(Clone, Debug, PartialEq, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(rename = "Alert")]
pub struct AlertOut {
    /// Its number.
    pub id: u64,
    /// The rule's id.
    pub rule: String,
    /// The asset's external id.
    pub asset: String,
    /// The asset's handle.
    pub handle: u32,
    /// Id of the town it lies in.
    pub town: Option<String>,
    /// `info`, `warning` or `critical`.
    #[tsify(type = r#""info" | "warning" | "critical""#)]
    pub severity: &'static str,
    /// `raised`, `acknowledged` or `cleared`.
    #[tsify(type = r#""raised" | "acknowledged" | "cleared""#)]
    pub state: &'static str,
    /// When it was raised (UTC ms).
    pub raised_at: i64,
    /// The value that raised it.
    pub value: f64,
    /// When it was acknowledged.
    pub acknowledged_at: Option<i64>,
    /// When it cleared.
    pub cleared_at: Option<i64>,
}

impl AlertOut {
    fn of(twin: &Twin, a: &Alert) -> AlertOut {
        AlertOut {
            id: a.id,
            rule: a.rule.clone(),
            asset: a.asset_id.clone(),
            handle: a.asset.0,
            town: town_id(twin, a.asset),
            severity: a.severity.as_str(),
            state: match a.state {
                AlertState::Raised => "raised",
                AlertState::Acknowledged => "acknowledged",
                AlertState::Cleared => "cleared",
            },
            raised_at: a.raised_at.as_millis(),
            value: a.value,
            acknowledged_at: a.acknowledged_at.map(Timestamp::as_millis),
            cleared_at: a.cleared_at.map(Timestamp::as_millis),
        }
    }
}

/// Count, mean and maximum of a channel's latest values over a region.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Tsify)]
#[tsify(rename = "ChannelStats")]
pub struct StatsOut {
    /// Sensors that have reported the channel.
    pub count: usize,
    /// Mean of their latest values.
    pub mean: f64,
    /// Maximum of their latest values.
    pub max: f64,
}

/// Open alerts by severity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Tsify)]
pub struct AlertCounts {
    /// Info.
    pub info: usize,
    /// Warning.
    pub warning: usize,
    /// Critical.
    pub critical: usize,
}

/// A town or island row of the vital-signs table.
#[derive(Clone, Debug, PartialEq, Serialize, Tsify)]
#[tsify(rename = "VitalRow")]
pub struct VitalOut {
    /// The town's or island's id.
    pub region: String,
    /// Its display name.
    pub name: String,
    /// True for an island row (the sum of its towns).
    pub island: bool,
    /// Sensors located in it.
    pub sensors: usize,
    /// Of which reported within the online window.
    pub online: usize,
    /// The others.
    pub offline: usize,
    /// By channel name.
    #[tsify(type = "Record<string, ChannelStats>")]
    pub channels: BTreeMap<String, StatsOut>,
    /// Open alerts by severity (none for a past table).
    pub alerts: AlertCounts,
}

impl Engine {
    fn vital_rows(&self, rows: Vec<VitalRow>) -> Vec<VitalOut> {
        let store = self.session.store();
        rows.into_iter()
            .map(|r| VitalOut {
                region: self
                    .session
                    .twin()
                    .get(r.region)
                    .map(|a| a.id.clone())
                    .unwrap_or_default(),
                offline: r.offline(),
                name: r.name,
                island: r.island,
                sensors: r.sensors,
                online: r.online,
                channels: r
                    .channels
                    .iter()
                    .map(|(c, s)| {
                        let name = store
                            .spec(*c)
                            .map_or_else(|| format!("#{}", c.0), |s| s.name.clone());
                        let stats = StatsOut {
                            count: s.count,
                            mean: s.mean,
                            max: s.max,
                        };
                        (name, stats)
                    })
                    .collect(),
                alerts: AlertCounts {
                    info: r.alerts[0],
                    warning: r.alerts[1],
                    critical: r.alerts[2],
                },
            })
            .collect()
    }

    /// The vital-signs table now, with open alerts: towns, then islands.
    pub fn vital_signs(&self) -> Vec<VitalOut> {
        self.vital_rows(self.session.vital_signs())
    }

    /// The table as it was at `t`, from history (alerts not counted).
    pub fn vital_signs_at(&self, t: i64) -> Vec<VitalOut> {
        self.vital_rows(self.session.vital_signs_at(Timestamp::from_millis(t)))
    }

    /// Open alerts, most severe first, then newest first.
    pub fn open_alerts(&self) -> Vec<AlertOut> {
        let twin = self.session.twin();
        self.session
            .open_alerts()
            .iter()
            .map(|a| AlertOut::of(twin, a))
            .collect()
    }

    /// One alert by number (open, or among the last cleared ones).
    pub fn alert(&self, id: u64) -> Result<AlertOut, String> {
        self.session
            .alerts()
            .alert(id)
            .map(|a| AlertOut::of(self.session.twin(), a))
            .ok_or_else(|| format!("unknown alert #{id}"))
    }

    /// Acknowledges an alert at the twin's clock, moved to `at_ms` first when given
    /// (never back). True when it was raised and is now acknowledged, false when it was
    /// already acknowledged or cleared; an unknown number is an error.
    pub fn acknowledge(&mut self, id: u64, at_ms: Option<i64>) -> Result<bool, String> {
        if self.session.alerts().alert(id).is_none() {
            return Err(format!("unknown alert #{id}"));
        }
        if let Some(t) = at_ms {
            self.advance_clock(t);
        }
        let done = self.session.acknowledge(id);
        self.collect_events();
        Ok(done)
    }

    /// Replaces the alert rules (JSON, as `assets/rules/chongming.json`). On error
    /// (the rule's index, id and problem) nothing changes.
    pub fn set_rules(&mut self, json: &str) -> Result<(), String> {
        // The session takes the highlights of alerts whose rule is gone away.
        self.session
            .set_rules_json(json)
            .map_err(|e| e.to_string())?;
        self.collect_events();
        Ok(())
    }

    /// The rules as JSON that [`Engine::set_rules`] reads back.
    pub fn rules_json(&self) -> String {
        self.session.alerts().rules_json(self.session.store())
    }
}
