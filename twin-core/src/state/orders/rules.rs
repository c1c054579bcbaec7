//! Dispatch rules: which unit handles which incident, where its orders escalate, and
//! how fast each severity must be accepted and resolved.
//!
//! The format is in the [`orders`](super) module's docs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::state::alert::Severity;

/// A unit that takes orders (a team, an operator, a centre).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitSpec {
    /// Its id; `{town}` makes one unit per town.
    pub id: String,
    /// Its name; `{town}` stands for the town's name.
    pub name: String,
    /// Its tier: 1 a town team, higher ones above it (the district centre).
    pub tier: u8,
}

/// Which unit an incident goes to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// The incident family (`*`: any).
    pub family: String,
    /// Town asset ids the route is limited to.
    #[serde(default)]
    pub towns: Option<Vec<String>>,
    /// Only incidents over several towns (`true`) or at most one (`false`).
    #[serde(default)]
    pub multi_town: Option<bool>,
    /// The unit (an id of `units`, maybe with `{town}`).
    pub unit: String,
    /// Units an overdue order goes to, in turn.
    #[serde(default)]
    pub escalate_to: Vec<String>,
    /// The response plan its orders carry (a key of `plans`).
    #[serde(default)]
    pub plan: Option<String>,
}

/// How soon an order must be accepted and resolved.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseTimes {
    /// Seconds from dispatch to acceptance.
    pub accept_s: f64,
    /// Seconds from dispatch to resolution.
    pub resolve_s: f64,
}

/// A response plan (应急预案): the steps an order carries as its checklist, and the
/// resources to call on, found near the incident when the order is routed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Its title.
    pub title: String,
    /// The steps, in order.
    pub steps: Vec<String>,
    /// The resources the plan calls on.
    #[serde(default)]
    pub resources: Vec<ResourceSpec>,
}

/// Resources of a plan: the `count` assets of `kinds` nearest the incident's assets
/// (pumping stations, response teams …), within `within_m` when given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceSpec {
    /// A kind filter (`custom:pumping_station`, `building,road` …).
    pub kinds: String,
    /// How many, 1 to [`MAX_RESOURCES`].
    pub count: usize,
    /// The farthest, metres.
    #[serde(default)]
    pub within_m: Option<f64>,
}

/// The most resources one entry of a plan finds.
pub const MAX_RESOURCES: usize = 20;

/// The dispatch rules as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatchSpec {
    /// The units.
    pub units: Vec<UnitSpec>,
    /// The routes, first match wins.
    pub routes: Vec<Route>,
    /// Response times per severity (`info`, `warning`, `critical`).
    pub response: BTreeMap<String, ResponseTimes>,
    /// Response plans by name.
    #[serde(default)]
    pub plans: BTreeMap<String, Plan>,
}

/// A dispatch file that cannot be used.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("dispatch rules: {0}")]
pub struct DispatchRulesError(pub String);

/// Checked dispatch rules.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DispatchRules {
    spec: Option<DispatchSpec>,
}

/// A unit as an order names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// Its id (`{town}` put in).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its tier.
    pub tier: u8,
}

/// Where an incident goes.
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    /// The unit.
    pub unit: Unit,
    /// The escalation chain after it.
    pub chain: Vec<Unit>,
    /// The plan's name.
    pub plan: Option<String>,
}

/// The incident a route is chosen for: its family and its towns (asset id, name).
pub struct RouteQuery<'a> {
    /// The family.
    pub family: &'a str,
    /// Its towns: asset id and display name.
    pub towns: &'a [(String, String)],
}

impl DispatchRules {
    /// No rules: orders are made and wait, new, with no unit and no deadlines, until
    /// rules are set ([`crate::Session::set_dispatch_rules`] routes them then).
    pub fn none() -> DispatchRules {
        DispatchRules { spec: None }
    }

    /// Rules from JSON (format: [`crate::state::orders`]). Refuses unknown members, a route to
    /// a unit no `units` entry matches, a unit id twice, a tier of 0, a severity name
    /// that is not `info`, `warning` or `critical`, response times that are not
    /// positive seconds, and a route naming a plan that is not there.
    pub fn from_json(text: &str) -> Result<DispatchRules, DispatchRulesError> {
        let spec: DispatchSpec =
            serde_json::from_str(text).map_err(|e| DispatchRulesError(e.to_string()))?;
        DispatchRules::new(spec)
    }

    /// Rules from a spec, checked as [`DispatchRules::from_json`] says.
    pub fn new(spec: DispatchSpec) -> Result<DispatchRules, DispatchRulesError> {
        let fail = |m: String| Err(DispatchRulesError(m));
        for (i, u) in spec.units.iter().enumerate() {
            if u.id.trim().is_empty() {
                return fail(format!("unit {i} has no id"));
            }
            if u.tier == 0 {
                return fail(format!("unit `{}`: tiers count from 1", u.id));
            }
            if spec.units[..i].iter().any(|o| o.id == u.id) {
                return fail(format!("unit `{}` is listed twice", u.id));
            }
        }
        for (i, r) in spec.routes.iter().enumerate() {
            for unit in std::iter::once(&r.unit).chain(&r.escalate_to) {
                if !spec.units.iter().any(|u| &u.id == unit) {
                    return fail(format!("route {i} (`{}`): no unit `{unit}`", r.family));
                }
            }
            if let Some(p) = &r.plan
                && !spec.plans.contains_key(p)
            {
                return fail(format!("route {i} (`{}`): no plan `{p}`", r.family));
            }
        }
        for (name, plan) in &spec.plans {
            for (i, r) in plan.resources.iter().enumerate() {
                if let Err(e) = r.kinds.parse::<crate::KindFilter>() {
                    return fail(format!("plan `{name}`, resource {i}: {e}"));
                }
                if !(1..=MAX_RESOURCES).contains(&r.count) {
                    return fail(format!(
                        "plan `{name}`, resource {i}: count {} is not 1 to {MAX_RESOURCES}",
                        r.count
                    ));
                }
                if r.within_m.is_some_and(|m| !(m.is_finite() && m > 0.0)) {
                    return fail(format!(
                        "plan `{name}`, resource {i}: within_m must be metres > 0"
                    ));
                }
            }
        }
        for (name, t) in &spec.response {
            if Severity::parse(name).is_none() {
                return fail(format!(
                    "response: `{name}` is not info, warning or critical"
                ));
            }
            let positive = |v: f64| v.is_finite() && v > 0.0;
            if !(positive(t.accept_s) && positive(t.resolve_s)) {
                return fail(format!(
                    "response `{name}`: accept_s and resolve_s must be seconds > 0"
                ));
            }
        }
        Ok(DispatchRules { spec: Some(spec) })
    }

    /// The rules as written (`None`: no rules).
    pub fn spec(&self) -> Option<&DispatchSpec> {
        self.spec.as_ref()
    }

    /// The response times of a severity (`None`: no deadlines).
    pub fn response(&self, severity: Severity) -> Option<ResponseTimes> {
        self.spec.as_ref()?.response.get(severity.as_str()).copied()
    }

    /// A plan by name.
    pub fn plan(&self, name: &str) -> Option<&Plan> {
        self.spec.as_ref()?.plans.get(name)
    }

    /// The unit and escalation chain of an incident (`None`: no route matches; the
    /// order waits to be dispatched by hand).
    pub fn route(&self, q: &RouteQuery<'_>) -> Option<Assignment> {
        let spec = self.spec.as_ref()?;
        spec.routes.iter().find_map(|r| {
            if r.family != "*" && r.family != q.family {
                return None;
            }
            if r.multi_town.is_some_and(|m| m != (q.towns.len() > 1)) {
                return None;
            }
            if let Some(allowed) = &r.towns
                && (q.towns.is_empty() || !q.towns.iter().all(|(id, _)| allowed.contains(id)))
            {
                return None;
            }
            let unit = self.unit(&r.unit, q.towns)?;
            let chain = r
                .escalate_to
                .iter()
                .map(|u| self.unit(u, q.towns))
                .collect::<Option<Vec<_>>>()?;
            Some(Assignment {
                unit,
                chain,
                plan: r.plan.clone(),
            })
        })
    }

    /// A unit by its template id, `{town}` put in (`None`: it needs one town and the
    /// incident has not exactly one).
    fn unit(&self, template: &str, towns: &[(String, String)]) -> Option<Unit> {
        let spec = self.spec.as_ref()?;
        let u = spec.units.iter().find(|u| u.id == template)?;
        if !(u.id.contains("{town}") || u.name.contains("{town}")) {
            return Some(Unit {
                id: u.id.clone(),
                name: u.name.clone(),
                tier: u.tier,
            });
        }
        let [(town_id, town_name)] = towns else {
            return None;
        };
        Some(Unit {
            id: u.id.replace("{town}", town_id),
            name: u.name.replace("{town}", town_name),
            tier: u.tier,
        })
    }

    /// A unit by its id as orders name it (`{town}` put in), for reassigning by hand.
    pub fn unit_by_id(
        &self,
        id: &str,
        town_names: &dyn Fn(&str) -> Option<String>,
    ) -> Option<Unit> {
        let spec = self.spec.as_ref()?;
        spec.units.iter().find_map(|u| {
            if u.id == id && !u.id.contains("{town}") {
                return Some(Unit {
                    id: u.id.clone(),
                    name: u.name.clone(),
                    tier: u.tier,
                });
            }
            let (pre, post) = u.id.split_once("{town}")?;
            let town = id.strip_prefix(pre)?.strip_suffix(post)?;
            let name = town_names(town)?;
            Some(Unit {
                id: id.to_string(),
                name: u.name.replace("{town}", &name),
                tier: u.tier,
            })
        })
    }
}
