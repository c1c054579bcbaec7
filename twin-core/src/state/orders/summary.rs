//! Incidents and work orders counted per town, island and unit: the management columns
//! of the vital signs (open incidents, open and overdue orders, mean time from an
//! order's creation to its acceptance and to its resolution).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{Order, OrderState, Orders};
use crate::asset::Handle;
use crate::state::incident::Incidents;
use crate::twin::Twin;

/// Incidents and orders of one town, island or unit.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ManageRow {
    /// Incidents not closed.
    pub open_incidents: usize,
    /// Orders not closed.
    pub open_orders: usize,
    /// Of which past a response time.
    pub overdue_orders: usize,
    /// Orders ever accepted (kept ones).
    pub accepted: usize,
    /// Their mean time from creation to acceptance, ms.
    pub mean_accept_ms: Option<i64>,
    /// Orders ever resolved (kept ones).
    pub resolved: usize,
    /// Their mean time from creation to resolution, ms.
    pub mean_resolve_ms: Option<i64>,
    #[serde(skip)]
    accept_sum: i64,
    #[serde(skip)]
    resolve_sum: i64,
}

impl ManageRow {
    fn add_order(&mut self, o: &Order) {
        if o.state != OrderState::Closed {
            self.open_orders += 1;
            self.overdue_orders += usize::from(o.overdue);
        }
        if let Some(a) = o.accepted_at {
            self.accepted += 1;
            self.accept_sum = self
                .accept_sum
                .saturating_add(a.as_millis().saturating_sub(o.created_at.as_millis()));
            self.mean_accept_ms = Some(self.accept_sum / self.accepted as i64);
        }
        if let Some(r) = o.resolved_at {
            self.resolved += 1;
            self.resolve_sum = self
                .resolve_sum
                .saturating_add(r.as_millis().saturating_sub(o.created_at.as_millis()));
            self.mean_resolve_ms = Some(self.resolve_sum / self.resolved as i64);
        }
    }
}

/// Per town and island (keyed by handle): each incident and order counted once in
/// every town it touches and once in each of their islands.
pub fn by_region(
    twin: &Twin,
    incidents: &Incidents,
    orders: &Orders,
) -> BTreeMap<Handle, ManageRow> {
    let regions = |towns: &mut dyn Iterator<Item = Handle>| -> BTreeSet<Handle> {
        let mut out = BTreeSet::new();
        for t in towns {
            out.insert(t);
            if let Some(island) = twin.located_in(t) {
                out.insert(island);
            }
        }
        out
    };
    let mut rows: BTreeMap<Handle, ManageRow> = BTreeMap::new();
    for i in incidents.live() {
        for r in regions(&mut i.towns.iter().copied()) {
            rows.entry(r).or_default().open_incidents += 1;
        }
    }
    for o in orders.live().iter().chain(orders.closed()) {
        let mut towns = o.towns.iter().filter_map(|id| twin.handle(id));
        for r in regions(&mut towns) {
            rows.entry(r).or_default().add_order(o);
        }
    }
    rows
}

/// Per unit (by id; `None`: orders not yet dispatched).
pub fn by_unit(orders: &Orders) -> BTreeMap<Option<String>, ManageRow> {
    let mut rows: BTreeMap<Option<String>, ManageRow> = BTreeMap::new();
    for o in orders.live().iter().chain(orders.closed()) {
        rows.entry(o.unit_id().map(str::to_string))
            .or_default()
            .add_order(o);
    }
    rows
}
