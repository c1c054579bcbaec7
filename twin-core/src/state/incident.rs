//! Incidents: the alerts of one event grouped into the one matter an operator handles
//! (一件事). A water-level surge in a town raises an alert per gauge; its incident holds
//! them all, with the assets, towns, severity and times of the event.
//!
//! ## Grouping
//! Each alert rule belongs to a **family** ([`GroupRule`]; a rule no group names is a
//! family of its own). A raised alert joins an incident of its family that is not
//! closed and that it is near: in the same town (`same_town`), or within `within_m`
//! metres of one of the incident's assets (local-frame distance between the assets'
//! geometries), or either when both are given. Otherwise it opens a new incident. An
//! incident whose alerts have all cleared turns **quiet**; a new alert of its family
//! nearby makes it **open** again; after `quiet_s` seconds of quiet it **closes** (its
//! end is when its last alert cleared). A new alert of its family nearby within
//! `reopen_s` seconds of its closing **reopens** it rather than starting another (a
//! recurrence is the same matter). Closed incidents are kept, newest last, up to
//! [`MAX_CLOSED`].
//!
//! Every raised alert belongs to exactly one incident. When alert events are lost (a
//! full queue, replaced rules, a restored snapshot), [`Incidents::reconcile`] brings
//! the incidents back in line with the open alerts.
//!
//! Grouping rules are data: a JSON array of
//! `{"family", "rules": [rule ids], "same_town", "within_m", "quiet_s", "reopen_s"}`
//! ([`IncidentRules::from_json`]); the bundled island's are in
//! `assets/rules/incidents.json`.
//!
//! [`Incidents`] follows a session's alert events ([`Incidents::on_events`]) and its
//! clock ([`Incidents::tick`]) and reports what changed as [`IncidentEvent`]s.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use geo::{BoundingRect, Buffer, ConvexHull, Distance, Euclidean};
use geo_types::{Geometry, MultiPoint, Point, Polygon, Rect};
use serde::{Deserialize, Serialize};

use super::alert::{Alert, AlertEvent, Severity};
use crate::asset::Handle;
use crate::query::KindFilter;
use crate::time::Timestamp;
use crate::twin::Twin;

/// Closed incidents kept (older ones are dropped first).
pub const MAX_CLOSED: usize = 1000;

/// Quiet period of a family no group names: five minutes.
pub const DEFAULT_QUIET_S: f64 = 300.0;

/// Reopen period of a family no group names: thirty minutes.
pub const DEFAULT_REOPEN_S: f64 = 1800.0;

/// The most alert ids an incident lists ([`Incident::alerts`]); it counts them all.
pub const MAX_ALERTS_LISTED: usize = 10_000;

/// Earlier closures an incident keeps (see [`Incident::closures`]).
pub const MAX_CLOSURES_KEPT: usize = 1000;

/// How the alerts of some rules group into incidents.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupRule {
    /// The family's name (`flooding`, `charger-fault` …): the incident's type.
    pub family: String,
    /// The alert rule ids of the family.
    pub rules: Vec<String>,
    /// Alerts in the same town group.
    #[serde(default)]
    pub same_town: bool,
    /// Alerts on assets within this many metres of an incident's asset group.
    #[serde(default)]
    pub within_m: Option<f64>,
    /// Seconds an incident stays quiet (all alerts cleared) before it closes.
    #[serde(default = "default_quiet")]
    pub quiet_s: f64,
    /// Seconds after it closes in which a new alert of the family nearby reopens the
    /// incident (and its order) instead of opening a new one.
    #[serde(default = "default_reopen")]
    pub reopen_s: f64,
}

fn default_quiet() -> f64 {
    DEFAULT_QUIET_S
}

fn default_reopen() -> f64 {
    DEFAULT_REOPEN_S
}

/// The grouping rules of a session.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IncidentRules {
    groups: Vec<GroupRule>,
    family_of: HashMap<String, usize>,
}

/// A grouping file that cannot be used.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("incident rules: {0}")]
pub struct IncidentRulesError(pub String);

impl IncidentRules {
    /// Rules from a JSON array of [`GroupRule`]s. Refuses unknown members, an empty
    /// family, a rule id in two families, a negative or non-finite distance or quiet
    /// period, and a group with neither `same_town` nor `within_m`.
    pub fn from_json(text: &str) -> Result<IncidentRules, IncidentRulesError> {
        let groups: Vec<GroupRule> =
            serde_json::from_str(text).map_err(|e| IncidentRulesError(e.to_string()))?;
        IncidentRules::new(groups)
    }

    /// Rules from groups, checked as [`IncidentRules::from_json`] says.
    pub fn new(groups: Vec<GroupRule>) -> Result<IncidentRules, IncidentRulesError> {
        let mut family_of = HashMap::new();
        for (i, g) in groups.iter().enumerate() {
            let fail = |m: &str| {
                Err(IncidentRulesError(format!(
                    "group {i} (`{}`): {m}",
                    g.family
                )))
            };
            if g.family.trim().is_empty() {
                return fail("the family has no name");
            }
            if !(g.quiet_s.is_finite() && g.quiet_s >= 0.0) {
                return fail("`quiet_s` must be a number of seconds ≥ 0");
            }
            if !(g.reopen_s.is_finite() && g.reopen_s >= 0.0) {
                return fail("`reopen_s` must be a number of seconds ≥ 0");
            }
            if g.within_m.is_some_and(|m| !(m.is_finite() && m >= 0.0)) {
                return fail("`within_m` must be a number of metres ≥ 0");
            }
            if !g.same_town && g.within_m.is_none() {
                return fail("give `same_town`, `within_m` or both");
            }
            for r in &g.rules {
                if family_of.insert(r.clone(), i).is_some() {
                    return fail(&format!("rule `{r}` is in two families"));
                }
            }
        }
        Ok(IncidentRules { groups, family_of })
    }

    /// The groups.
    pub fn groups(&self) -> &[GroupRule] {
        &self.groups
    }

    /// The group of an alert rule (a rule of its own family when none names it:
    /// same town, [`DEFAULT_QUIET_S`]).
    pub fn group_of(&self, rule: &str) -> GroupRule {
        match self.family_of.get(rule) {
            Some(&i) => self.groups[i].clone(),
            None => GroupRule {
                family: rule.to_string(),
                rules: vec![rule.to_string()],
                same_town: true,
                within_m: None,
                quiet_s: DEFAULT_QUIET_S,
                reopen_s: DEFAULT_REOPEN_S,
            },
        }
    }
}

/// Where an incident is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    /// At least one of its alerts is open.
    Open,
    /// All its alerts have cleared; it closes after its quiet period.
    Quiet,
    /// Over.
    Closed,
}

/// One incident.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Incident {
    /// Stable id, counting from 1 in a session.
    pub id: u64,
    /// Its family (the grouping rule's name).
    pub family: String,
    /// Its state.
    pub state: IncidentState,
    /// The alerts that joined it, in order (the first [`MAX_ALERTS_LISTED`]).
    pub alerts: Vec<u64>,
    /// How many alerts joined it.
    pub alert_count: u64,
    /// The alerts open now.
    pub open: BTreeSet<u64>,
    /// The assets of its alerts.
    pub assets: BTreeSet<Handle>,
    /// The towns its assets are in.
    pub towns: BTreeSet<Handle>,
    /// The highest severity of its open alerts (of all its alerts once none is open).
    pub severity: Severity,
    /// When its first alert was raised.
    pub start: Timestamp,
    /// When the most alerts were open at once, and how many.
    pub peak: (Timestamp, usize),
    /// When its last alert cleared (while quiet or closed).
    pub end: Option<Timestamp>,
    /// When it closed.
    pub closed_at: Option<Timestamp>,
    /// Seconds of quiet before it closes.
    pub quiet_s: f64,
    /// Seconds after closing in which it reopens.
    pub reopen_s: f64,
    /// How often it reopened.
    pub reopened: u32,
    /// Earlier closures that a recurrence undid: `(closed, reopened)`, oldest first,
    /// the last [`MAX_CLOSURES_KEPT`] (what [`Incidents::open_at`] needs to say it was
    /// not open in between).
    pub closures: Vec<(Timestamp, Timestamp)>,
    /// The highest severity any of its alerts had.
    pub max_severity: Severity,
    /// The open alerts' severities, for the severity of the open ones.
    #[serde(skip)]
    severities: HashMap<u64, Severity>,
    /// How many open alerts have each severity (info, warning, critical).
    #[serde(skip)]
    open_by_severity: [usize; 3],
    /// The box of its assets' local geometries (east, north metres).
    #[serde(skip)]
    bbox: Option<Rect<f64>>,
}

impl Incident {
    /// Whether it was open or quiet at `t`.
    pub fn was_open_at(&self, t: Timestamp) -> bool {
        self.start <= t
            && self.closed_at.is_none_or(|c| c > t)
            && !self.closures.iter().any(|(c, r)| *c <= t && t < *r)
    }

    /// The hull of its assets' geometries, widened by `buffer_m` metres, in the
    /// twin's local frame (east, north metres); `None` for an incident whose assets
    /// are gone.
    pub fn footprint_local(&self, twin: &Twin, buffer_m: f64) -> Option<Polygon<f64>> {
        let mut points: Vec<Point<f64>> = Vec::new();
        for h in &self.assets {
            let Some(g) = twin.local_geometry(*h) else {
                continue;
            };
            use geo::CoordsIter;
            points.extend(g.coords_iter().map(Point::from));
        }
        if points.is_empty() {
            return None;
        }
        let points = MultiPoint::from(points);
        if buffer_m > 0.0 {
            // Each point widened, then the hull: one asset's footprint is a disc.
            Some(points.buffer(buffer_m).convex_hull())
        } else {
            Some(points.convex_hull())
        }
    }

    /// Its footprint ([`Incident::footprint_local`]) in WGS84 longitude/latitude.
    pub fn footprint(&self, twin: &Twin, buffer_m: f64) -> Option<Polygon<f64>> {
        use geo::MapCoords;
        let local = self.footprint_local(twin, buffer_m)?;
        let f = twin.frame();
        Some(local.map_coords(|c| {
            let (lon, lat) = f.to_geographic(c.x, c.y);
            geo_types::Coord { x: lon, y: lat }
        }))
    }

    /// The assets of the given kinds in its footprint, counted by kind and town
    /// (`None`: in no town). An empty footprint affects nothing.
    pub fn affected(
        &self,
        twin: &Twin,
        buffer_m: f64,
        kinds: &KindFilter,
    ) -> BTreeMap<(String, Option<String>), usize> {
        let mut out = BTreeMap::new();
        let Some(area) = self.footprint(twin, buffer_m) else {
            return out;
        };
        for h in twin.query_intersecting(&Geometry::Polygon(area), Some(kinds)) {
            let Some(a) = twin.get(h) else {
                continue;
            };
            let town = twin
                .town_of(h)
                .and_then(|t| twin.get(t))
                .map(|t| t.id.clone());
            *out.entry((a.kind.to_string(), town)).or_default() += 1;
        }
        out
    }
}

/// What changed in an incident.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", content = "incident", rename_all = "snake_case")]
pub enum IncidentEvent {
    /// A new incident, with its first alert.
    Opened(u64),
    /// An alert joined an open incident.
    Grew(u64),
    /// A quiet incident has an open alert again, or a closed one recurred within its
    /// reopen period.
    Reopened(u64),
    /// Its last open alert cleared.
    Quiet(u64),
    /// Its quiet period passed.
    Closed(u64),
}

/// The incidents of a session.
#[derive(Clone, Debug, Default)]
pub struct Incidents {
    rules: IncidentRules,
    live: Vec<Incident>,
    closed: VecDeque<Incident>,
    by_alert: HashMap<u64, u64>,
    next_id: u64,
}

impl Incidents {
    /// No incidents yet, grouping by `rules`.
    pub fn new(rules: IncidentRules) -> Incidents {
        Incidents {
            rules,
            next_id: 1,
            ..Default::default()
        }
    }

    /// The grouping rules.
    pub fn rules(&self) -> &IncidentRules {
        &self.rules
    }

    /// Replaces the grouping rules (for alerts raised from now on).
    pub fn set_rules(&mut self, rules: IncidentRules) {
        self.rules = rules;
    }

    /// The open and quiet incidents, oldest first.
    pub fn live(&self) -> &[Incident] {
        &self.live
    }

    /// The closed incidents kept, oldest first.
    pub fn closed(&self) -> impl Iterator<Item = &Incident> {
        self.closed.iter()
    }

    /// An incident by id (live or kept).
    pub fn get(&self, id: u64) -> Option<&Incident> {
        self.live
            .iter()
            .chain(self.closed.iter())
            .find(|i| i.id == id)
    }

    /// The incidents that were open or quiet at `t` (started by then and not closed
    /// then), of those still kept, newest first: what a replay shows. An incident
    /// that closed and recurred counts as closed in between (for its last
    /// [`MAX_CLOSURES_KEPT`] closures).
    pub fn open_at(&self, t: Timestamp) -> Vec<&Incident> {
        let mut out: Vec<&Incident> = self
            .live
            .iter()
            .chain(self.closed.iter())
            .filter(|i| i.was_open_at(t))
            .collect();
        out.sort_by_key(|i| std::cmp::Reverse(i.id));
        out
    }

    /// The incident an alert joined.
    pub fn of_alert(&self, alert: u64) -> Option<u64> {
        self.by_alert.get(&alert).copied()
    }

    /// Groups the alerts of `events` (acknowledgements change nothing here).
    pub fn on_events(&mut self, twin: &Twin, events: &[AlertEvent]) -> Vec<IncidentEvent> {
        let mut out = Vec::new();
        for e in events {
            match e {
                AlertEvent::Raised(a) => {
                    // Incidents whose quiet period ran out before this alert close
                    // first (a batch or a clock jump may hold both): it must not
                    // reopen one that was over.
                    if self.live.iter().any(|i| i.state == IncidentState::Quiet) {
                        out.extend(self.tick(a.raised_at));
                    }
                    out.push(self.raised(twin, a));
                }
                AlertEvent::Cleared(a) => out.extend(self.cleared(a)),
                AlertEvent::Acknowledged(_) => {}
            }
        }
        out
    }

    fn raised(&mut self, twin: &Twin, a: &Alert) -> IncidentEvent {
        let group = self.rules.group_of(&a.rule);
        // The town as incidents store it (`town_of`: an alert's own `town` may be its
        // island); the distance test only when the town does not already match.
        let town = twin.town_of(a.asset);
        // Same town first (a set lookup), then distance (boxes first): an alert that
        // matches an incident's town never measures distances to the others'.
        let own_box = twin.local_geometry(a.asset).and_then(|g| g.bounding_rect());
        let same_town = |i: &Incident| {
            i.family == group.family
                && group.same_town
                && town.is_some_and(|t| i.towns.contains(&t))
        };
        let close = |i: &Incident| {
            i.family == group.family
                && group.within_m.is_some_and(|m| {
                    let boxes = match (&i.bbox, &own_box) {
                        (Some(ib), Some(ob)) => boxes_within(ib, ob, m),
                        _ => true,
                    };
                    boxes && within(twin, a.asset, &i.assets, m)
                })
        };
        let near = |i: &Incident| same_town(i) || close(i);
        let t = a.raised_at;
        let found = self
            .live
            .iter()
            .position(same_town)
            .or_else(|| self.live.iter().position(close));
        // A closed incident of the family nearby, within its reopen period, comes back.
        let recurring = || {
            self.closed.iter().rposition(|i| {
                i.closed_at.is_some_and(|c| {
                    t.as_millis().saturating_sub(c.as_millis()) as f64 <= i.reopen_s * 1000.0
                }) && near(i)
            })
        };
        let (i, event) = match found {
            Some(i) => {
                let inc = &mut self.live[i];
                let event = if inc.state == IncidentState::Quiet {
                    inc.state = IncidentState::Open;
                    inc.end = None;
                    inc.reopened += 1;
                    IncidentEvent::Reopened(inc.id)
                } else {
                    IncidentEvent::Grew(inc.id)
                };
                (i, event)
            }
            None => match recurring().and_then(|k| self.closed.remove(k)) {
                Some(mut inc) => {
                    inc.state = IncidentState::Open;
                    inc.end = None;
                    if let Some(c) = inc.closed_at.take() {
                        inc.closures.push((c, t));
                        let over = inc.closures.len().saturating_sub(MAX_CLOSURES_KEPT);
                        inc.closures.drain(..over);
                    }
                    inc.reopened += 1;
                    let id = inc.id;
                    for a in &inc.alerts {
                        self.by_alert.insert(*a, id);
                    }
                    self.live.push(inc);
                    (self.live.len() - 1, IncidentEvent::Reopened(id))
                }
                None => {
                    let id = self.next_id.max(1);
                    self.next_id = id + 1;
                    self.live.push(Incident {
                        id,
                        family: group.family.clone(),
                        state: IncidentState::Open,
                        alerts: Vec::new(),
                        alert_count: 0,
                        open: BTreeSet::new(),
                        assets: BTreeSet::new(),
                        towns: BTreeSet::new(),
                        severity: a.severity,
                        start: t,
                        peak: (t, 0),
                        end: None,
                        closed_at: None,
                        closures: Vec::new(),
                        quiet_s: group.quiet_s,
                        reopen_s: group.reopen_s,
                        reopened: 0,
                        max_severity: a.severity,
                        severities: HashMap::new(),
                        open_by_severity: [0; 3],
                        bbox: None,
                    });
                    (self.live.len() - 1, IncidentEvent::Opened(id))
                }
            },
        };
        let inc = &mut self.live[i];
        if inc.alerts.len() < MAX_ALERTS_LISTED {
            inc.alerts.push(a.id);
        }
        inc.alert_count += 1;
        inc.open.insert(a.id);
        if inc.severities.insert(a.id, a.severity).is_none() {
            inc.open_by_severity[a.severity.index()] += 1;
        }
        grow_box(&mut inc.bbox, twin, a.asset);
        inc.max_severity = inc.max_severity.max(a.severity);
        inc.assets.insert(a.asset);
        if let Some(town) = town {
            inc.towns.insert(town);
        }
        inc.severity = open_severity(inc);
        if inc.open.len() > inc.peak.1 {
            inc.peak = (t, inc.open.len());
        }
        self.by_alert.insert(a.id, inc.id);
        event
    }

    fn cleared(&mut self, a: &Alert) -> Option<IncidentEvent> {
        self.clear_alert(a.id, a.cleared_at.unwrap_or(a.raised_at))
    }

    /// Alert `alert` of an incident is no longer open since `at`.
    fn clear_alert(&mut self, alert: u64, at: Timestamp) -> Option<IncidentEvent> {
        let id = *self.by_alert.get(&alert)?;
        let inc = self.live.iter_mut().find(|i| i.id == id)?;
        if !inc.open.remove(&alert) {
            return None;
        }
        if let Some(sev) = inc.severities.remove(&alert) {
            inc.open_by_severity[sev.index()] -= 1;
        }
        if inc.open.is_empty() {
            inc.state = IncidentState::Quiet;
            // Never before it started (a restored alert may carry an older time).
            inc.end = Some(at.max(inc.start));
            inc.severity = inc.max_severity;
            Some(IncidentEvent::Quiet(id))
        } else {
            inc.severity = open_severity(inc);
            None
        }
    }

    /// Brings the incidents in line with the alerts open now, after alert events were
    /// lost (a full queue, rules replaced, a restored snapshot): an incident's alert
    /// that is no longer open clears at `now`; an open alert in no incident joins one.
    pub fn reconcile(
        &mut self,
        twin: &Twin,
        open: &[&Alert],
        now: Timestamp,
    ) -> Vec<IncidentEvent> {
        let open_ids: HashSet<u64> = open.iter().map(|a| a.id).collect();
        let mut out = Vec::new();
        let gone: Vec<u64> = self
            .live
            .iter()
            .flat_map(|i| i.open.iter().copied())
            .filter(|a| !open_ids.contains(a))
            .collect();
        for id in gone {
            out.extend(self.clear_alert(id, now));
        }
        for a in open {
            match self.by_alert.get(&a.id) {
                Some(inc) if self.live.iter().any(|i| i.id == *inc) => {}
                _ => out.push(self.raised(twin, a)),
            }
        }
        out
    }

    /// Closes the quiet incidents whose quiet period has passed at `now`.
    pub fn tick(&mut self, now: Timestamp) -> Vec<IncidentEvent> {
        let mut out: Vec<(Timestamp, u64)> = Vec::new();
        let mut k = 0;
        while k < self.live.len() {
            let inc = &self.live[k];
            let due = inc.state == IncidentState::Quiet
                && inc.end.is_some_and(|end| {
                    now.as_millis().saturating_sub(end.as_millis()) as f64 >= inc.quiet_s * 1000.0
                });
            if due {
                let mut inc = self.live.remove(k);
                inc.state = IncidentState::Closed;
                // At the moment its quiet period ended, not when the clock was next
                // told (a replay's clock may jump past it).
                let at = inc.end.map_or(now, |end| {
                    end.add_ms((inc.quiet_s * 1000.0).ceil() as i64).min(now)
                });
                inc.closed_at = Some(at);
                out.push((at, inc.id));
                // Every alert of it (not only the listed ones) stops pointing at it.
                let id = inc.id;
                self.by_alert.retain(|_, i| *i != id);
                self.closed.push_back(inc);
                while self.closed.len() > MAX_CLOSED {
                    self.closed.pop_front();
                }
            } else {
                k += 1;
            }
        }
        // In the order they closed.
        out.sort_unstable();
        out.into_iter()
            .map(|(_, id)| IncidentEvent::Closed(id))
            .collect()
    }
}

/// The highest severity of an incident's open alerts.
fn open_severity(inc: &Incident) -> Severity {
    [Severity::Critical, Severity::Warning, Severity::Info]
        .into_iter()
        .find(|s| inc.open_by_severity[s.index()] > 0)
        .unwrap_or(inc.severity)
}

/// Widens an incident's box by an asset's local geometry.
fn grow_box(bbox: &mut Option<Rect<f64>>, twin: &Twin, h: Handle) {
    let Some(r) = twin.local_geometry(h).and_then(|g| g.bounding_rect()) else {
        return;
    };
    *bbox = Some(match *bbox {
        None => r,
        Some(b) => Rect::new(
            geo_types::coord! {x: b.min().x.min(r.min().x), y: b.min().y.min(r.min().y)},
            geo_types::coord! {x: b.max().x.max(r.max().x), y: b.max().y.max(r.max().y)},
        ),
    });
}

/// Whether two boxes are within `m` metres of each other.
fn boxes_within(a: &Rect<f64>, b: &Rect<f64>, m: f64) -> bool {
    let dx = (a.min().x - b.max().x).max(b.min().x - a.max().x).max(0.0);
    let dy = (a.min().y - b.max().y).max(b.min().y - a.max().y).max(0.0);
    dx.hypot(dy) <= m
}

/// Whether asset `h` is within `m` metres of one of `assets` (local-frame distance
/// between geometries; boxes first).
fn within(twin: &Twin, h: Handle, assets: &BTreeSet<Handle>, m: f64) -> bool {
    let Some(g) = twin.local_geometry(h) else {
        return false;
    };
    let Some(r) = g.bounding_rect() else {
        return false;
    };
    assets.iter().any(|o| {
        let Some(og) = twin.local_geometry(*o) else {
            return false;
        };
        let Some(or) = og.bounding_rect() else {
            return false;
        };
        // Boxes farther apart than `m` cannot hold geometries within `m`.
        let dx = (or.min().x - r.max().x)
            .max(r.min().x - or.max().x)
            .max(0.0);
        let dy = (or.min().y - r.max().y)
            .max(r.min().y - or.max().y)
            .max(0.0);
        if dx.hypot(dy) > m {
            return false;
        }
        Euclidean.distance(g, og) <= m
    })
}

/// One incident as a snapshot keeps it: assets and towns by id, not handle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct SavedIncident {
    id: u64,
    family: String,
    state: IncidentState,
    alerts: Vec<u64>,
    alert_count: u64,
    open: Vec<(u64, Severity)>,
    assets: Vec<String>,
    towns: Vec<String>,
    severity: Severity,
    start: Timestamp,
    peak: (Timestamp, usize),
    end: Option<Timestamp>,
    closed_at: Option<Timestamp>,
    quiet_s: f64,
    reopen_s: f64,
    reopened: u32,
    #[serde(default)]
    closures: Vec<(Timestamp, Timestamp)>,
    max_severity: Severity,
}

/// The incidents of a session as a snapshot keeps them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedIncidents {
    next_id: u64,
    live: Vec<SavedIncident>,
    closed: Vec<SavedIncident>,
}

impl Incidents {
    /// The incidents for a snapshot (assets named by id).
    pub fn save(&self, twin: &Twin) -> SavedIncidents {
        let ids = |hs: &BTreeSet<Handle>| -> Vec<String> {
            hs.iter()
                .filter_map(|h| twin.get(*h))
                .map(|a| a.id.clone())
                .collect()
        };
        let one = |i: &Incident| SavedIncident {
            id: i.id,
            family: i.family.clone(),
            state: i.state,
            alerts: i.alerts.clone(),
            alert_count: i.alert_count,
            open: i
                .open
                .iter()
                .map(|a| (*a, i.severities.get(a).copied().unwrap_or(i.severity)))
                .collect(),
            assets: ids(&i.assets),
            towns: ids(&i.towns),
            severity: i.severity,
            start: i.start,
            peak: i.peak,
            end: i.end,
            closed_at: i.closed_at,
            quiet_s: i.quiet_s,
            reopen_s: i.reopen_s,
            reopened: i.reopened,
            closures: i.closures.clone(),
            max_severity: i.max_severity,
        };
        SavedIncidents {
            next_id: self.next_id,
            live: self.live.iter().map(one).collect(),
            closed: self.closed.iter().map(one).collect(),
        }
    }

    /// Puts back saved incidents (replacing any held); assets the twin no longer has
    /// are left out. Call [`Incidents::reconcile`] after, with the open alerts.
    pub fn restore(&mut self, twin: &Twin, saved: SavedIncidents) {
        let handles = |ids: &[String]| -> BTreeSet<Handle> {
            ids.iter().filter_map(|id| twin.handle(id)).collect()
        };
        let one = |s: SavedIncident| Incident {
            id: s.id,
            family: s.family,
            state: s.state,
            alerts: s.alerts,
            alert_count: s.alert_count,
            open: s.open.iter().map(|(a, _)| *a).collect(),
            assets: handles(&s.assets),
            towns: handles(&s.towns),
            severity: s.severity,
            start: s.start,
            peak: s.peak,
            end: s.end,
            closed_at: s.closed_at,
            quiet_s: s.quiet_s,
            reopen_s: s.reopen_s,
            reopened: s.reopened,
            closures: s.closures,
            max_severity: s.max_severity,
            severities: s.open.iter().copied().collect(),
            open_by_severity: {
                // Counted from the map: a repeated id in a file counts once.
                let unique: HashMap<u64, Severity> = s.open.into_iter().collect();
                let mut n = [0; 3];
                for sev in unique.values() {
                    n[sev.index()] += 1;
                }
                n
            },
            bbox: None,
        };
        self.live = saved.live.into_iter().map(one).collect();
        self.closed = saved.closed.into_iter().map(one).collect();
        while self.closed.len() > MAX_CLOSED {
            self.closed.pop_front();
        }
        for inc in self.live.iter_mut().chain(self.closed.iter_mut()) {
            let mut bbox = None;
            for h in &inc.assets {
                grow_box(&mut bbox, twin, *h);
            }
            inc.bbox = bbox;
        }
        // Listed and open alerts: an incident past MAX_ALERTS_LISTED still owns its
        // open alerts beyond the list.
        self.by_alert = self
            .live
            .iter()
            .flat_map(|i| {
                i.alerts
                    .iter()
                    .chain(i.open.iter())
                    .map(move |a| (*a, i.id))
            })
            .collect();
        let newest = self
            .live
            .iter()
            .chain(self.closed.iter())
            .map(|i| i.id)
            .max()
            .unwrap_or(0);
        self.next_id = saved.next_id.max(newest + 1);
    }
}
