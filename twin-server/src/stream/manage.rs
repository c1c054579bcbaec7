//! Incidents and work orders on the stream.
//!
//! Each tick the producer takes the session's incident and order changes (the
//! session's bounded queues, [`twin_core::Session::drain_incident_events`] and
//! [`twin_core::Session::drain_order_events`]) and makes **one message per incident
//! and per order that changed**, whatever the number of changes: an `incident` message
//! carries the names of what happened to it in the tick and the incident as
//! `GET /api/v1/incidents` shows it; an `order` message carries the order events and
//! the order as `GET /api/v1/orders/{id}` shows it but with only its last 20
//! transitions (`history_len` counts them all). Both are absolute state, so a client
//! upserts by id and a message seen twice does no harm. An item already evicted from
//! the kept closed ones when the tick is sent goes as `{id, state: "closed"}` alone.
//!
//! With a subscription, and again whenever alert events or management changes were
//! lost, a client gets a `manage` message: the live incidents and orders of its towns
//! (newest first, at most [`MANAGE_LISTED`] of each). Incident and order messages are
//! filtered by the subscription's towns like alert events (an item passes when one of
//! its towns is subscribed). A `district` server sends none of these: each process
//! numbers its own incidents and orders, and merging them is not built.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Value as Json, json};
use twin_core::state::incident::{Incident, IncidentEvent};
use twin_core::state::orders::{Order, OrderEvent};
use twin_core::{Handle, Session};

use crate::api::manage::incident_json;
use twin_core::session::views::order_brief_json;

/// The most incidents, and the most orders, one `manage` message lists.
pub const MANAGE_LISTED: usize = 1000;

/// One incident or order message of a tick, serialised once for every client.
#[derive(Debug)]
pub struct ManageMessage {
    /// The towns it touches (clients filter by town); empty: no town.
    pub towns: Vec<Handle>,
    /// The message.
    pub text: Arc<str>,
}

impl ManageMessage {
    /// Whether a client subscribed to `towns` (`None`: all) gets it (a tombstone, with
    /// no towns known any more, goes to everyone).
    pub fn passes(&self, towns: Option<&HashSet<Handle>>) -> bool {
        self.towns.is_empty() || towns.is_none_or(|t| self.towns.iter().any(|h| t.contains(h)))
    }
}

fn incident_event_name(e: &IncidentEvent) -> (u64, &'static str) {
    match e {
        IncidentEvent::Opened(i) => (*i, "opened"),
        IncidentEvent::Grew(i) => (*i, "grew"),
        IncidentEvent::Reopened(i) => (*i, "reopened"),
        IncidentEvent::Quiet(i) => (*i, "quiet"),
        IncidentEvent::Closed(i) => (*i, "closed"),
    }
}

fn order_of(e: &OrderEvent) -> u64 {
    match e {
        OrderEvent::Created { order, .. }
        | OrderEvent::Step { order, .. }
        | OrderEvent::Overdue { order, .. } => *order,
    }
}

/// Groups items by id, in the order each id first appears.
fn grouped<'a, T, V>(items: &'a [T], key: impl Fn(&'a T) -> (u64, V)) -> Vec<(u64, Vec<V>)> {
    let mut at: HashMap<u64, usize> = HashMap::new();
    let mut out: Vec<(u64, Vec<V>)> = Vec::new();
    for item in items {
        let (id, v) = key(item);
        let slot = *at.entry(id).or_insert_with(|| {
            out.push((id, Vec::new()));
            out.len() - 1
        });
        out[slot].1.push(v);
    }
    out
}

fn incident_towns(i: &Incident) -> Vec<Handle> {
    i.towns.iter().copied().collect()
}

fn order_towns(s: &Session, o: &Order) -> Vec<Handle> {
    o.towns
        .iter()
        .filter_map(|id| s.twin().handle(id))
        .collect()
}

/// The tick's messages: one per incident changed, then one per order changed. An
/// item no longer kept (evicted from the closed lists) is left out.
pub fn messages(
    s: &Session,
    incidents: &[IncidentEvent],
    orders: &[OrderEvent],
) -> Vec<ManageMessage> {
    let mut out = Vec::new();
    for (id, events) in grouped(incidents, incident_event_name) {
        let Some(i) = s.incidents().get(id) else {
            let text = json!({"type": "incident", "events": events,
                "incident": {"id": id, "state": "closed"}});
            out.push(ManageMessage {
                towns: Vec::new(),
                text: text.to_string().into(),
            });
            continue;
        };
        let text =
            json!({"type": "incident", "events": events, "incident": incident_json(s, i, false)});
        out.push(ManageMessage {
            towns: incident_towns(i),
            text: text.to_string().into(),
        });
    }
    for (id, events) in grouped(orders, |e| (order_of(e), e)) {
        let Some(o) = s.orders().get(id) else {
            let text = json!({"type": "order", "events": events,
                "order": {"id": id, "state": "closed"}});
            out.push(ManageMessage {
                towns: Vec::new(),
                text: text.to_string().into(),
            });
            continue;
        };
        let text = json!({"type": "order", "events": events, "order": order_brief_json(o)});
        out.push(ManageMessage {
            towns: order_towns(s, o),
            text: text.to_string().into(),
        });
    }
    out
}

/// The `manage` message: the live incidents and orders of `towns` (`None`: all),
/// newest first.
pub fn snapshot(s: &Session, towns: Option<&HashSet<Handle>>) -> String {
    let pass = |list: &[Handle]| towns.is_none_or(|t| list.iter().any(|h| t.contains(h)));
    let mut incidents: Vec<&Incident> = s
        .incidents()
        .live()
        .iter()
        .filter(|i| pass(&incident_towns(i)))
        .collect();
    incidents.sort_by_key(|i| std::cmp::Reverse(i.id));
    let mut orders: Vec<&Order> = s
        .orders()
        .live()
        .iter()
        .filter(|o| pass(&order_towns(s, o)))
        .collect();
    orders.sort_by_key(|o| std::cmp::Reverse(o.id));
    let listed = |n: usize| n.min(MANAGE_LISTED);
    json!({
        "type": "manage",
        "open_incidents": incidents.len(),
        "open_orders": orders.len(),
        "incidents": incidents[..listed(incidents.len())]
            .iter()
            .map(|i| incident_json(s, i, false))
            .collect::<Vec<Json>>(),
        "orders": orders[..listed(orders.len())]
            .iter()
            .map(|o| order_brief_json(o))
            .collect::<Vec<Json>>(),
    })
    .to_string()
}
