//! Incidents and work orders as JSON, one shape for every front end: the HTTP API,
//! the live stream and the page's own twin (twin-wasm) all show these.
//!
//! Times are UTC milliseconds. An incident's detail adds its footprint (a GeoJSON
//! polygon in WGS84: the hull of its assets buffered by [`FOOTPRINT_BUFFER_M`]), the
//! assets of [`AFFECTED_KINDS`] inside it counted by kind and town, and the ids of its
//! alerts and assets. An order carries its whole history and `next`: the steps the
//! lifecycle allows from its state, each with the least role that may take it.

use serde_json::{Value, json};

use super::Session;
use crate::state::incident::Incident;
use crate::state::orders::{Action, Order, next_state};

/// Metres around an incident's assets its footprint reaches.
pub const FOOTPRINT_BUFFER_M: f64 = 200.0;

/// The kinds an incident's footprint counts as affected.
pub const AFFECTED_KINDS: &str = "building,road,ev_charger,farm_field,station_5g";

/// An incident; `detail` adds its footprint, what it covers and its alerts' and
/// assets' ids.
pub fn incident_json(s: &Session, i: &Incident, detail: bool) -> Value {
    let twin = s.twin();
    let id = |h: &crate::Handle| twin.get(*h).map(|a| a.id.clone()).unwrap_or_default();
    let mut v = json!({
        "id": i.id,
        "family": i.family,
        "state": i.state,
        "severity": i.severity.as_str(),
        "towns": i.towns.iter().map(id).collect::<Vec<_>>(),
        "alerts": i.alert_count,
        "open_alerts": i.open.len(),
        "assets": i.assets.len(),
        "start": i.start.as_millis(),
        "peak": {"at": i.peak.0.as_millis(), "open_alerts": i.peak.1},
        "end": i.end.map(|t| t.as_millis()),
        "closed_at": i.closed_at.map(|t| t.as_millis()),
        "reopened": i.reopened,
        "order": s.orders().of_incident(i.id).map(|o| o.id),
    });
    if detail {
        let footprint = i.footprint(twin, FOOTPRINT_BUFFER_M).map(|p| {
            let ring: Vec<[f64; 2]> = p.exterior().coords().map(|c| [c.x, c.y]).collect();
            json!({"type": "Polygon", "coordinates": [ring]})
        });
        let kinds: crate::KindFilter = AFFECTED_KINDS.parse().expect("valid kinds");
        let affected: Vec<Value> = i
            .affected(twin, FOOTPRINT_BUFFER_M, &kinds)
            .into_iter()
            .map(|((kind, town), n)| json!({"kind": kind, "town": town, "count": n}))
            .collect();
        v["footprint"] = json!(footprint);
        v["affected"] = json!(affected);
        v["alert_ids"] = json!(i.alerts);
        v["asset_ids"] = json!(i.assets.iter().map(id).collect::<Vec<_>>());
    }
    v
}

/// An incident as it was at `t` (from [`crate::state::incident::Incidents::open_at`]):
/// its JSON as now, plus `at`: the time, whether it was `open` or `quiet` then (by its
/// latest quiet period), and its order's state and unit then (from the order's
/// history).
pub fn incident_at_json(s: &Session, i: &Incident, t: crate::Timestamp) -> Value {
    let mut v = incident_json(s, i, false);
    let quiet = i.end.is_some_and(|e| e <= t);
    let order = s.orders().of_incident_at(i.id, t);
    v["at"] = json!({
        "time": t.as_millis(),
        "state": if quiet { "quiet" } else { "open" },
        "order_state": order.and_then(|o| o.state_at(t)),
        "unit": order.and_then(|o| o.unit_at(t)),
    });
    v
}

/// Transitions an order carries on the stream and in lists ([`order_brief_json`]).
pub const HISTORY_BRIEF: usize = 20;

/// An order as the stream and the lists carry it: [`order_json`] with only the last
/// [`HISTORY_BRIEF`] transitions and `history_len`, the whole count (a flapping order's
/// history is up to 10,000 steps; `GET /api/v1/orders/{id}` gives all of it).
pub fn order_brief_json(o: &Order) -> Value {
    let mut v = order_json(o);
    let n = o.history.len();
    if let Some(h) = v.get_mut("history").and_then(Value::as_array_mut) {
        h.drain(..n.saturating_sub(HISTORY_BRIEF));
    }
    v["history_len"] = json!(n);
    v
}

/// An order with its history and the steps allowed next (`{action, role}`).
pub fn order_json(o: &Order) -> Value {
    let next: Vec<Value> = Action::ALL
        .into_iter()
        .filter(|a| *a != Action::Escalate && next_state(o.state, *a, false).is_ok())
        .map(|a| json!({"action": a, "role": a.role()}))
        .collect();
    let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
    v["next"] = json!(next);
    v
}
