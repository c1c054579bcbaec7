//! Work orders: each incident becomes one order, dispatched to the unit responsible
//! for it, handled tier by tier, verified and closed, with its history kept
//! (高效处置一件事: 智能派单, 分层分级, 依责承接).
//!
//! ## Lifecycle
//! `new → dispatched → accepted → on_site → resolved → verified → closed`, plus
//! `reassign` (to another unit: back to dispatched) and `reopen` (a resolved, verified
//! or closed order goes back to dispatched). [`next_state`] is the whole table; any
//! other step is refused with the reason ([`OrderError::Illegal`]). Each step is a
//! [`Transition`] naming who, when, from and to, the unit and a note; an order's
//! history is only ever appended to. A resolved order is verified by someone other
//! than who resolved it (the system excepted).
//!
//! ## Dispatch and escalation
//! [`DispatchRules`] route a new incident's order to a unit (by family and town) and
//! give each severity its response times. An order not accepted within `accept_s` of
//! its dispatch, or not resolved within `resolve_s`, **escalates** at that exact
//! moment: it goes to the next unit of its route's chain (town team → district
//! centre), is marked overdue, and the step is recorded as the system's. With no unit
//! left to go to it stays where it is, overdue, and [`OrderEvent::Overdue`] says so.
//!
//! ## Dispatch rules
//! A JSON object ([`DispatchRules::from_json`]):
//!
//! ```json
//! {
//!   "units": [
//!     {"id": "water/{town}", "name": "Water authority, {town} team", "tier": 1},
//!     {"id": "district-centre", "name": "District operation centre", "tier": 3}
//!   ],
//!   "routes": [
//!     {"family": "*", "multi_town": true, "unit": "district-centre"},
//!     {"family": "flooding", "unit": "water/{town}", "escalate_to": ["district-centre"]}
//!   ],
//!   "response": {
//!     "critical": {"accept_s": 300, "resolve_s": 3600},
//!     "warning": {"accept_s": 900, "resolve_s": 14400},
//!     "info": {"accept_s": 3600, "resolve_s": 86400}
//!   }
//! }
//! ```
//!
//! The first route whose `family` matches (`*`: any), whose `towns` (asset ids, if
//! given) hold every town of the incident and whose `multi_town` (if given) says
//! whether the incident touches more than one town gives the unit and the escalation
//! chain. `{town}` in a unit id stands for the incident's one town (its asset id); in
//! a unit's name, for the town's name. A route whose unit needs a town the incident
//! does not have exactly one of is passed over. A unit id must match one of `units`
//! (after `{town}` is put in). `plans` names response plans (应急预案: a `title`,
//! `steps`, and optional `resources`: `[{"kinds": "custom:pumping_station", "count": 3,
//! "within_m": 15000}]`); a route's `plan` puts its steps on the order as a checklist
//! and lists the resources — for each entry, the `count` assets of its kinds nearest
//! any of the incident's assets, with their distance — on the order ([`Resource`])
//! when it is routed.
//!
//! ## Automatic review and closure (自动复核、自动销案)
//! When an incident closes (its alerts cleared and stayed clear for its quiet period)
//! the system resolves its order if no one has, verifies it and closes it, each step
//! recorded as the system's. When a closed incident recurs within its reopen period
//! ([`crate::state::incident::GroupRule::reopen_s`]) the incident and its order reopen
//! instead of new ones starting.

mod flow;
mod rules;
mod summary;

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

pub use self::rules::{
    Assignment, DispatchRules, DispatchRulesError, DispatchSpec, MAX_RESOURCES, Plan, ResourceSpec,
    ResponseTimes, Route, RouteQuery, Unit, UnitSpec,
};
pub use self::summary::{ManageRow, by_region, by_unit};
use super::alert::Severity;
use super::incident::{Incident, IncidentEvent, Incidents};
use crate::time::Timestamp;
use crate::twin::Twin;

/// The name the system's own transitions carry.
pub const SYSTEM: &str = "system";

/// Closed orders kept (older ones are dropped first).
pub const MAX_CLOSED_ORDERS: usize = 1000;

/// The most transitions one order holds; past it, people's steps are refused, the
/// system still closes it, and a recurrence of its incident gets a new order.
pub const MAX_HISTORY: usize = 10_000;

/// Where an order is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Made, no unit yet.
    New,
    /// Sent to a unit, not yet accepted.
    Dispatched,
    /// The unit has taken it.
    Accepted,
    /// The unit is at the place.
    OnSite,
    /// The unit says it is done.
    Resolved,
    /// Someone else (or the system) has checked it.
    Verified,
    /// Over.
    Closed,
}

impl OrderState {
    /// Its name (`on_site` …).
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::New => "new",
            OrderState::Dispatched => "dispatched",
            OrderState::Accepted => "accepted",
            OrderState::OnSite => "on_site",
            OrderState::Resolved => "resolved",
            OrderState::Verified => "verified",
            OrderState::Closed => "closed",
        }
    }

    /// True while a unit still has work to do.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            OrderState::Dispatched | OrderState::Accepted | OrderState::OnSite
        )
    }
}

/// A step in an order's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Send a new order to a unit.
    Dispatch,
    /// The unit takes the order.
    Accept,
    /// The unit is on site.
    Arrive,
    /// The unit has done the work.
    Resolve,
    /// Someone else confirms the work.
    Verify,
    /// The order is over.
    Close,
    /// Send the order to another unit.
    Reassign,
    /// Back to work.
    Reopen,
    /// The system moves an overdue order up a tier.
    Escalate,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 9] = [
        Action::Dispatch,
        Action::Accept,
        Action::Arrive,
        Action::Resolve,
        Action::Verify,
        Action::Close,
        Action::Reassign,
        Action::Reopen,
        Action::Escalate,
    ];

    /// Its name (`arrive` …).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Dispatch => "dispatch",
            Action::Accept => "accept",
            Action::Arrive => "arrive",
            Action::Resolve => "resolve",
            Action::Verify => "verify",
            Action::Close => "close",
            Action::Reassign => "reassign",
            Action::Reopen => "reopen",
            Action::Escalate => "escalate",
        }
    }

    /// An action by name.
    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s.trim())
    }

    /// The least role that may take the step: `admin` (a supervisor) verifies,
    /// closes and reopens; only the system escalates, and counts as `admin` here;
    /// `operator` takes the rest. Servers map these names onto their tokens' roles.
    pub fn role(self) -> &'static str {
        match self {
            Action::Verify | Action::Close | Action::Reopen | Action::Escalate => "admin",
            _ => "operator",
        }
    }

    /// Whether the action names a unit to send the order to.
    pub fn needs_unit(self) -> bool {
        matches!(self, Action::Dispatch | Action::Reassign)
    }
}

/// The state `action` takes an order in `from` to, or why it cannot. `system` steps
/// may also resolve an order no one has accepted (its incident ended by itself); only
/// the system escalates.
pub fn next_state(from: OrderState, action: Action, system: bool) -> Result<OrderState, String> {
    table(from, action, system).ok_or_else(|| {
        let can: Vec<&str> = Action::ALL
            .into_iter()
            .filter(|a| table(from, *a, system).is_some())
            .map(Action::as_str)
            .collect();
        let why = if action == Action::Escalate && !system {
            "only the system escalates".to_string()
        } else {
            format!(
                "an order that is {} cannot be {}",
                from.as_str(),
                past(action)
            )
        };
        if can.is_empty() {
            format!("{why}; it takes no more steps")
        } else {
            format!("{why}; it can be: {}", can.join(", "))
        }
    })
}

/// The lifecycle table.
fn table(from: OrderState, action: Action, system: bool) -> Option<OrderState> {
    use OrderState::*;
    match (action, from) {
        (Action::Dispatch, New) => Some(Dispatched),
        (Action::Accept, Dispatched) => Some(Accepted),
        (Action::Arrive, Accepted) => Some(OnSite),
        (Action::Resolve, Accepted | OnSite) => Some(Resolved),
        (Action::Resolve, New | Dispatched) if system => Some(Resolved),
        (Action::Verify, Resolved) => Some(Verified),
        (Action::Close, Verified) => Some(Closed),
        (Action::Reassign, Dispatched | Accepted | OnSite) => Some(Dispatched),
        (Action::Reopen, Resolved | Verified | Closed) => Some(Dispatched),
        (Action::Escalate, Dispatched | Accepted | OnSite) if system => Some(Dispatched),
        _ => None,
    }
}

/// "accepted", "resolved" … for messages.
fn past(a: Action) -> &'static str {
    match a {
        Action::Dispatch => "dispatched",
        Action::Accept => "accepted",
        Action::Arrive => "marked on site",
        Action::Resolve => "resolved",
        Action::Verify => "verified",
        Action::Close => "closed",
        Action::Reassign => "reassigned",
        Action::Reopen => "reopened",
        Action::Escalate => "escalated",
    }
}

/// One step of an order's history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    /// When.
    pub at: Timestamp,
    /// Who (a person's or token's name, or [`SYSTEM`]).
    pub by: String,
    /// What.
    pub action: Action,
    /// The state before.
    pub from: OrderState,
    /// The state after.
    pub to: OrderState,
    /// The unit holding the order after the step.
    pub unit: Option<String>,
    /// Why, or what was done.
    pub note: String,
}

/// Which response time passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deadline {
    /// Not accepted in time.
    Accept,
    /// Not resolved in time.
    Resolve,
}

/// An asset a response plan calls on (a pumping station, a response team).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// Its id.
    pub id: String,
    /// Its kind.
    pub kind: String,
    /// Its name (Chinese, else English), if it has one.
    pub name: Option<String>,
    /// Metres from the nearest asset of the incident.
    pub distance_m: f64,
}

/// One work order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// Stable id, counting from 1.
    pub id: u64,
    /// The incident it handles.
    pub incident: u64,
    /// The incident's family.
    pub family: String,
    /// The incident's towns (asset ids).
    pub towns: Vec<String>,
    /// The incident's highest severity so far.
    pub severity: Severity,
    /// Its state.
    pub state: OrderState,
    /// The unit holding it.
    pub unit: Option<Unit>,
    /// Units it escalates to, in turn.
    pub chain: Vec<Unit>,
    /// Its response plan's name.
    pub plan: Option<String>,
    /// The plan's steps, each with whether it is done.
    pub checklist: Vec<(String, bool)>,
    /// The resources the plan calls on, nearest the incident first, found when the
    /// order was routed.
    #[serde(default)]
    pub resources: Vec<Resource>,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it was first accepted.
    pub accepted_at: Option<Timestamp>,
    /// When it was last resolved.
    pub resolved_at: Option<Timestamp>,
    /// When it was last closed.
    pub closed_at: Option<Timestamp>,
    /// When it escalates unless accepted.
    pub accept_due: Option<Timestamp>,
    /// When it escalates unless resolved.
    pub resolve_due: Option<Timestamp>,
    /// Some response time of it has passed.
    pub overdue: bool,
    /// How often it escalated.
    pub escalations: u32,
    /// Every step, oldest first; only appended to.
    pub history: Vec<Transition>,
}

impl Order {
    /// Its state at `t`, from its history (`None`: not made yet; `new` until its
    /// first step).
    pub fn state_at(&self, t: Timestamp) -> Option<OrderState> {
        if self.created_at > t {
            return None;
        }
        Some(
            self.history
                .iter()
                .rfind(|s| s.at <= t)
                .map_or(OrderState::New, |s| s.to),
        )
    }

    /// The unit that held it at `t`, from its history.
    pub fn unit_at(&self, t: Timestamp) -> Option<&str> {
        self.history
            .iter()
            .rfind(|s| s.at <= t)
            .and_then(|s| s.unit.as_deref())
    }

    /// The unit's id.
    pub fn unit_id(&self) -> Option<&str> {
        self.unit.as_ref().map(|u| u.id.as_str())
    }
}

/// A person's step: what, who, to which unit (dispatch and reassign only) and why.
#[derive(Clone, Copy, Debug)]
pub struct StepRequest<'a> {
    /// The step.
    pub action: Action,
    /// Who takes it.
    pub by: &'a str,
    /// The unit, for dispatch and reassign.
    pub unit: Option<&'a str>,
    /// A note for the history.
    pub note: &'a str,
}

/// Why a step was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum OrderError {
    /// No live or kept order has the id.
    #[error("no order {0}")]
    Unknown(u64),
    /// The lifecycle does not allow the step.
    #[error("order {order}: {reason}")]
    Illegal {
        /// The order.
        order: u64,
        /// Why.
        reason: String,
    },
}

/// What happened to orders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum OrderEvent {
    /// A new order for an incident.
    Created {
        /// The order.
        order: u64,
        /// Its incident.
        incident: u64,
    },
    /// A step (escalations included).
    Step {
        /// The order.
        order: u64,
        /// The step.
        transition: Transition,
    },
    /// A response time passed with no unit left to escalate to.
    Overdue {
        /// The order.
        order: u64,
        /// Which time.
        deadline: Deadline,
        /// When it passed.
        at: Timestamp,
    },
}

/// The orders of a session.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Orders {
    #[serde(skip)]
    rules: DispatchRules,
    live: Vec<Order>,
    closed: VecDeque<Order>,
    next_id: u64,
}

impl Orders {
    /// No orders yet, dispatching by `rules`.
    pub fn new(rules: DispatchRules) -> Orders {
        Orders {
            rules,
            next_id: 1,
            ..Default::default()
        }
    }

    /// The dispatch rules.
    pub fn rules(&self) -> &DispatchRules {
        &self.rules
    }

    /// Replaces the dispatch rules (for orders made from now on).
    pub fn set_rules(&mut self, rules: DispatchRules) {
        self.rules = rules;
    }

    /// The orders not closed, oldest first.
    pub fn live(&self) -> &[Order] {
        &self.live
    }

    /// The closed orders kept, oldest first.
    pub fn closed(&self) -> impl Iterator<Item = &Order> {
        self.closed.iter()
    }

    /// An order by id.
    pub fn get(&self, id: u64) -> Option<&Order> {
        self.live
            .iter()
            .chain(self.closed.iter())
            .find(|o| o.id == id)
    }

    /// The order an incident had at `t`: the newest of its orders made by then.
    pub fn of_incident_at(&self, incident: u64, t: Timestamp) -> Option<&Order> {
        self.live
            .iter()
            .chain(self.closed.iter())
            .filter(|o| o.incident == incident && o.created_at <= t)
            .max_by_key(|o| (o.created_at, o.id))
    }

    /// The order of an incident.
    pub fn of_incident(&self, incident: u64) -> Option<&Order> {
        self.live
            .iter()
            .chain(self.closed.iter().rev())
            .find(|o| o.incident == incident)
    }

    /// Orders past a response time, among the live ones.
    pub fn overdue(&self) -> usize {
        self.live.iter().filter(|o| o.overdue).count()
    }

    /// Follows incident changes: an order per new incident (dispatched where a route
    /// matches), severity and towns as incidents grow, automatic review and closure
    /// when an incident closes, reopening when a closed one recurs.
    pub fn on_incident_events(
        &mut self,
        twin: &Twin,
        incidents: &Incidents,
        events: &[IncidentEvent],
        now: Timestamp,
    ) -> Vec<OrderEvent> {
        let mut out = Vec::new();
        for e in events {
            match e {
                IncidentEvent::Opened(id) => {
                    if let Some(inc) = incidents.get(*id) {
                        // Made and routed the moment the incident began.
                        self.create(twin, inc, inc.start.min(now), &mut out);
                    }
                }
                IncidentEvent::Grew(id) | IncidentEvent::Quiet(id) => {
                    if let Some(inc) = incidents.get(*id) {
                        self.follow(twin, inc, now);
                    }
                }
                IncidentEvent::Reopened(id) => {
                    if let Some(inc) = incidents.get(*id) {
                        self.follow(twin, inc, now);
                        self.recur(twin, inc, now, &mut out);
                    }
                }
                IncidentEvent::Closed(id) => {
                    if let Some(inc) = incidents.get(*id) {
                        // At the moment the incident closed: deadlines before it first.
                        let at = inc.closed_at.map_or(now, |c| c.min(now));
                        out.extend(self.tick(at));
                        self.auto_close(inc, at, &mut out);
                    }
                }
            }
        }
        out
    }

    /// A person's step on order `id`, at `now`; `town_names` gives a town's name for
    /// a `{town}` unit.
    pub fn act(
        &mut self,
        id: u64,
        request: &StepRequest<'_>,
        now: Timestamp,
        town_names: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Vec<OrderEvent>, OrderError> {
        let StepRequest {
            action,
            by,
            unit,
            note,
        } = *request;
        let illegal = |reason: String| OrderError::Illegal { order: id, reason };
        let by = by.trim();
        if by.is_empty() || by == SYSTEM {
            return Err(illegal(format!(
                "a step needs the name of who takes it (not empty, not `{SYSTEM}`)"
            )));
        }
        let unit = match (action.needs_unit(), unit) {
            (true, Some(u)) => Some(
                self.rules
                    .unit_by_id(u, town_names)
                    .ok_or_else(|| illegal(format!("no unit `{u}` in the dispatch rules")))?,
            ),
            (true, None) => return Err(illegal(format!("{} needs a unit", action.as_str()))),
            (false, Some(_)) => {
                return Err(illegal(format!("{} takes no unit", action.as_str())));
            }
            (false, None) => None,
        };
        let Some(current) = self.get(id) else {
            return Err(OrderError::Unknown(id));
        };
        let times = self.rules.response(current.severity);
        // Every check before anything moves: a refused step changes nothing.
        if current.history.len() >= MAX_HISTORY {
            return Err(illegal(format!(
                "it holds {MAX_HISTORY} steps, the most an order keeps; open a new one"
            )));
        }
        if action == Action::Verify
            && current
                .history
                .iter()
                .rev()
                .find(|t| t.action == Action::Resolve)
                .is_some_and(|t| t.by == by)
        {
            return Err(illegal(format!(
                "{by} resolved it; someone else verifies it"
            )));
        }
        if action == Action::Reassign && unit.as_ref().map(|u| u.id.as_str()) == current.unit_id() {
            return Err(illegal(format!(
                "{} holds it already",
                current.unit_id().unwrap_or("that unit")
            )));
        }
        let to = next_state(current.state, action, false).map_err(illegal)?;
        // A reopened closed order comes back to the live list.
        if let Some(k) = self.closed.iter().position(|o| o.id == id)
            && let Some(o) = self.closed.remove(k)
        {
            self.live.push(o);
        }
        let Some(order) = self.live.iter_mut().find(|o| o.id == id) else {
            return Err(OrderError::Unknown(id));
        };
        let mut out = Vec::new();
        flow::step(order, action, to, by, unit, note, now, times, &mut out);
        self.retire();
        Ok(out)
    }

    /// Escalates the orders whose response times have passed by `now`, each at the
    /// moment its time passed.
    pub fn tick(&mut self, now: Timestamp) -> Vec<OrderEvent> {
        let mut out = Vec::new();
        for o in &mut self.live {
            let times = self.rules.response(o.severity);
            flow::escalate_due(o, now, times, &mut out);
        }
        out
    }

    /// Puts back saved orders (from [`crate::session::Session::save_management`]),
    /// keeping these rules.
    pub fn restore(&mut self, saved: Orders) {
        self.live = saved.live;
        self.closed = saved.closed;
        while self.closed.len() > MAX_CLOSED_ORDERS {
            self.closed.pop_front();
        }
        let newest = self
            .live
            .iter()
            .chain(self.closed.iter())
            .map(|o| o.id)
            .max()
            .unwrap_or(0);
        self.next_id = saved.next_id.max(newest + 1);
    }

    /// Routes the orders still waiting for a unit (made while no route matched, or
    /// before there were rules) by the current rules, as the system.
    pub fn dispatch_waiting(
        &mut self,
        twin: &Twin,
        incidents: &Incidents,
        now: Timestamp,
    ) -> Vec<OrderEvent> {
        let mut out = Vec::new();
        for o in self.live.iter_mut().filter(|o| o.state == OrderState::New) {
            if let Some(inc) = incidents.get(o.incident) {
                route(
                    &self.rules,
                    twin,
                    o,
                    inc,
                    &town_list(twin, inc),
                    now,
                    &mut out,
                );
            }
        }
        out
    }

    /// Moves closed orders from the live list to the kept ones.
    fn retire(&mut self) {
        let mut k = 0;
        while k < self.live.len() {
            if self.live[k].state == OrderState::Closed {
                let o = self.live.remove(k);
                self.closed.push_back(o);
                while self.closed.len() > MAX_CLOSED_ORDERS {
                    self.closed.pop_front();
                }
            } else {
                k += 1;
            }
        }
    }

    fn create(&mut self, twin: &Twin, inc: &Incident, now: Timestamp, out: &mut Vec<OrderEvent>) {
        let towns = town_list(twin, inc);
        let id = self.next_id.max(1);
        self.next_id = id + 1;
        let mut order = Order {
            id,
            incident: inc.id,
            family: inc.family.clone(),
            towns: towns.iter().map(|(id, _)| id.clone()).collect(),
            severity: inc.severity,
            state: OrderState::New,
            unit: None,
            chain: Vec::new(),
            plan: None,
            checklist: Vec::new(),
            resources: Vec::new(),
            created_at: now,
            accepted_at: None,
            resolved_at: None,
            closed_at: None,
            accept_due: None,
            resolve_due: None,
            overdue: false,
            escalations: 0,
            history: Vec::new(),
        };
        out.push(OrderEvent::Created {
            order: id,
            incident: inc.id,
        });
        route(&self.rules, twin, &mut order, inc, &towns, now, out);
        self.live.push(order);
    }

    /// Severity and towns follow the incident (a higher severity shortens the
    /// deadlines still to come).
    fn follow(&mut self, twin: &Twin, inc: &Incident, now: Timestamp) {
        let Some(o) = self.live.iter_mut().find(|o| o.incident == inc.id) else {
            return;
        };
        o.towns = town_list(twin, inc).into_iter().map(|(id, _)| id).collect();
        if inc.severity > o.severity {
            o.severity = inc.severity;
            if let Some(times) = self.rules.response(o.severity) {
                flow::tighten(o, times, now);
            }
        }
    }

    fn recur(&mut self, twin: &Twin, inc: &Incident, now: Timestamp, out: &mut Vec<OrderEvent>) {
        // A closed order comes back, unless its history is full: then the recurrence
        // gets a new order (a flapping incident must not grow one without bound).
        let full = |o: &Order| o.history.len() >= MAX_HISTORY;
        if let Some(k) = self
            .closed
            .iter()
            .position(|o| o.incident == inc.id && !full(o))
            && let Some(o) = self.closed.remove(k)
        {
            self.live.push(o);
        }
        let Some(o) = self.live.iter_mut().find(|o| o.incident == inc.id) else {
            // Its order is no longer kept: the recurrence gets a new one.
            self.create(twin, inc, now, out);
            return;
        };
        if matches!(
            o.state,
            OrderState::Resolved | OrderState::Verified | OrderState::Closed
        ) {
            let times = self.rules.response(o.severity);
            let unit = o.unit.clone();
            let note = format!("incident {} recurred", inc.id);
            flow::step(
                o,
                Action::Reopen,
                OrderState::Dispatched,
                SYSTEM,
                unit,
                &note,
                now,
                times,
                out,
            );
        }
    }

    fn auto_close(&mut self, inc: &Incident, now: Timestamp, out: &mut Vec<OrderEvent>) {
        let Some(o) = self.live.iter_mut().find(|o| o.incident == inc.id) else {
            return;
        };
        let times = self.rules.response(o.severity);
        let unit = o.unit.clone();
        let quiet = format!("its alerts cleared and stayed clear for {} s", inc.quiet_s);
        if o.state != OrderState::Resolved && o.state != OrderState::Verified {
            let note = format!("resolved by itself: {quiet}");
            flow::step(
                o,
                Action::Resolve,
                OrderState::Resolved,
                SYSTEM,
                unit.clone(),
                &note,
                now,
                times,
                out,
            );
        }
        if o.state == OrderState::Resolved {
            let note = format!("automatic review: {quiet}");
            flow::step(
                o,
                Action::Verify,
                OrderState::Verified,
                SYSTEM,
                unit.clone(),
                &note,
                now,
                times,
                out,
            );
        }
        if o.state == OrderState::Verified {
            flow::step(
                o,
                Action::Close,
                OrderState::Closed,
                SYSTEM,
                unit,
                "closed automatically",
                now,
                times,
                out,
            );
        }
        self.retire();
    }
}

/// Dispatches a new order by the rules' route for its incident, with the route's
/// escalation chain and plan, as the system; a no-op when no route matches.
fn route(
    rules: &DispatchRules,
    twin: &Twin,
    o: &mut Order,
    inc: &Incident,
    towns: &[(String, String)],
    now: Timestamp,
    out: &mut Vec<OrderEvent>,
) {
    let Some(a) = rules.route(&RouteQuery {
        family: &inc.family,
        towns,
    }) else {
        return;
    };
    o.chain = a.chain;
    let plan = a.plan.as_deref().and_then(|p| rules.plan(p));
    o.checklist = plan
        .map(|p| p.steps.iter().map(|s| (s.clone(), false)).collect())
        .unwrap_or_default();
    o.resources = plan
        .map(|p| resources(twin, inc, &p.resources))
        .unwrap_or_default();
    o.plan = a.plan;
    let times = rules.response(o.severity);
    let note = format!(
        "{} incident {} routed by the dispatch rules",
        inc.family, inc.id
    );
    flow::step(
        o,
        Action::Dispatch,
        OrderState::Dispatched,
        SYSTEM,
        Some(a.unit),
        &note,
        now,
        times,
        out,
    );
}

/// An incident's towns: asset id and name (Chinese and English where known).
/// The resources of a plan nearest the incident's assets: for each entry, the `count`
/// assets of its kinds at the least distance from any of the incident's assets (the
/// first 200 of them, which bounds the cost of a huge incident), nearest first; an
/// asset found for two entries is listed once.
fn resources(twin: &Twin, inc: &Incident, specs: &[ResourceSpec]) -> Vec<Resource> {
    use geo::BoundingRect;
    let centres: Vec<geo_types::Point<f64>> = inc
        .assets
        .iter()
        .take(200)
        .filter_map(|h| twin.get(*h)?.geometry.bounding_rect())
        .map(|r| r.center().into())
        .collect();
    let mut out: Vec<Resource> = Vec::new();
    for spec in specs {
        let Ok(filter) = spec.kinds.parse::<crate::KindFilter>() else {
            continue;
        };
        let count = spec.count.min(MAX_RESOURCES);
        let mut best: Vec<(crate::Handle, f64)> = Vec::new();
        for p in &centres {
            for (h, d) in twin.query_nearest(*p, count, Some(&filter)) {
                match best.iter_mut().find(|(b, _)| *b == h) {
                    Some(b) => b.1 = b.1.min(d),
                    None => best.push((h, d)),
                }
            }
        }
        best.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        best.retain(|(_, d)| spec.within_m.is_none_or(|m| *d <= m));
        for (h, d) in best.into_iter().take(count) {
            let Some(a) = twin.get(h) else { continue };
            if out.iter().any(|r| r.id == a.id) {
                continue;
            }
            out.push(Resource {
                id: a.id.clone(),
                kind: a.kind.to_string(),
                name: a.name_zh.clone().or_else(|| a.name_en.clone()),
                distance_m: (d * 10.0).round() / 10.0,
            });
        }
    }
    out
}

fn town_list(twin: &Twin, inc: &Incident) -> Vec<(String, String)> {
    inc.towns
        .iter()
        .filter_map(|h| twin.get(*h))
        .map(|t| {
            let name = match (&t.name_zh, &t.name_en) {
                (Some(zh), Some(en)) => format!("{zh} {en}"),
                (Some(n), None) | (None, Some(n)) => n.clone(),
                (None, None) => t.id.clone(),
            };
            (t.id.clone(), name)
        })
        .collect()
}
