//! Incidents and work orders of a session: alert events become incidents, incident
//! changes become order steps, and the clock escalates and closes orders.
//!
//! After every change of the alerts ([`Session::apply`], [`Session::tick`], an
//! acknowledgement, new rules, restored alerts) the session passes the alert events to
//! its [`Incidents`], reconciles them with the open alerts when events were lost,
//! closes incidents whose quiet period passed, then passes the incident changes to its
//! [`Orders`] and escalates the orders whose response times passed. People's steps on
//! orders come through [`Session::act_on_order`], stamped with the session's clock.
//! Incident and order changes wait in bounded queues ([`Session::drain_incident_events`],
//! [`Session::drain_order_events`]); past the session's event capacity the oldest are
//! dropped and counted ([`Session::manage_events_dropped`]).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::Session;
use crate::state::alert::{Alert, AlertEvent};
use crate::state::incident::{IncidentEvent, IncidentRules, Incidents, SavedIncidents};
use crate::state::orders::{DispatchRules, OrderError, OrderEvent, Orders, StepRequest};

/// Incidents and orders as a snapshot keeps them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SavedManagement {
    /// The incidents.
    pub incidents: SavedIncidents,
    /// The orders.
    pub orders: Orders,
}

impl Session {
    /// The alerts grouped into incidents.
    pub fn incidents(&self) -> &Incidents {
        &self.incidents
    }

    /// Sets how alerts group into incidents (for alerts raised from now on).
    pub fn set_incident_rules(&mut self, rules: IncidentRules) {
        self.incidents.set_rules(rules);
        self.reconfigured("incident rules");
    }

    /// Takes up to `max` incident changes, oldest first.
    pub fn drain_incident_events(&mut self, max: usize) -> Vec<IncidentEvent> {
        let n = max.min(self.incident_events.len());
        self.incident_events.drain(..n).collect()
    }

    /// The work orders.
    pub fn orders(&self) -> &Orders {
        &self.orders
    }

    /// Sets the dispatch rules (for orders made from now on; the response times of a
    /// severity apply to every order's next deadline).
    pub fn set_dispatch_rules(&mut self, rules: DispatchRules) {
        self.orders.set_rules(rules);
        // Orders that waited for a unit (made before there were rules) are routed now.
        let steps = self
            .orders
            .dispatch_waiting(&self.twin, &self.incidents, self.now);
        self.queue_orders(steps);
        self.reconfigured("dispatch rules");
    }

    /// Takes up to `max` order changes, oldest first.
    pub fn drain_order_events(&mut self, max: usize) -> Vec<OrderEvent> {
        let n = max.min(self.order_events.len());
        self.order_events.drain(..n).collect()
    }

    /// Incident and order changes dropped undrained (their queues were full).
    pub fn manage_events_dropped(&self) -> u64 {
        self.manage_dropped
    }

    /// A person's step on an order, at the session's clock: the changes it made (also
    /// queued for [`Session::drain_order_events`]), or why it was refused (the step
    /// changes nothing then; deadlines that had passed before it still escalate).
    pub fn act_on_order(
        &mut self,
        order: u64,
        request: &StepRequest<'_>,
    ) -> Result<Vec<OrderEvent>, OrderError> {
        // Deadlines that passed before the step escalate first, at their own moments
        // (a step at the very millisecond of a deadline is in time).
        let due = self.orders.tick(self.now.add_ms(-1));
        self.queue_orders(due);
        let twin = &self.twin;
        // Only a town stands for `{town}` in a unit's id.
        let names = |id: &str| {
            twin.get_by_id(id)
                .filter(|t| t.kind == crate::AssetKind::Town)
                .map(|t| {
                    t.name_zh
                        .clone()
                        .or_else(|| t.name_en.clone())
                        .unwrap_or_else(|| t.id.clone())
                })
        };
        let events = self.orders.act(order, request, self.now, &names)?;
        self.queue_orders(events.clone());
        let now = self.now;
        self.journal.record(super::journal::Entry::Stepped {
            now,
            order,
            request,
        });
        Ok(events)
    }

    /// Incidents and orders for a snapshot.
    pub fn save_management(&self) -> SavedManagement {
        SavedManagement {
            incidents: self.incidents.save(&self.twin),
            orders: self.orders.clone(),
        }
    }

    /// Puts back saved incidents and orders (the rules stay the session's); the
    /// incidents are reconciled with the open alerts at the next change.
    pub fn restore_management(&mut self, saved: SavedManagement) {
        self.incidents.restore(&self.twin, saved.incidents);
        self.orders.restore(saved.orders);
        self.reconcile_pending = true;
        self.reconfigured("incidents and orders");
    }

    /// Follows alert events into incidents and orders (see the module docs); `lost`:
    /// the engine dropped events since the last call.
    pub(super) fn manage(&mut self, events: &[AlertEvent], lost: bool) {
        let mut changes = self.incidents.on_events(&self.twin, events);
        if lost || self.reconcile_pending {
            self.reconcile_pending = false;
            let open: Vec<&Alert> = self.alerts.open().collect();
            changes.extend(self.incidents.reconcile(&self.twin, &open, self.now));
        }
        changes.extend(self.incidents.tick(self.now));
        // Deadlines up to the first incident that closed (an order whose incident
        // closed still escalated when its time passed before), then the incident
        // changes (each closure at its own moment), then deadlines up to now.
        let first_close = changes
            .iter()
            .filter_map(|c| match c {
                IncidentEvent::Closed(id) => self.incidents.get(*id).and_then(|i| i.closed_at),
                _ => None,
            })
            .min();
        let mut steps = self
            .orders
            .tick(first_close.map_or(self.now, |c| c.min(self.now)));
        steps.extend(self.orders.on_incident_events(
            &self.twin,
            &self.incidents,
            &changes,
            self.now,
        ));
        steps.extend(self.orders.tick(self.now));
        let cap = self.config.event_capacity.max(1);
        self.manage_dropped += push_capped(&mut self.incident_events, changes, cap);
        self.queue_orders(steps);
    }

    fn queue_orders(&mut self, events: Vec<OrderEvent>) {
        let cap = self.config.event_capacity.max(1);
        self.manage_dropped += push_capped(&mut self.order_events, events, cap);
    }
}

/// Appends to a bounded queue, dropping the oldest past `cap`; returns how many went.
fn push_capped<T>(queue: &mut VecDeque<T>, items: Vec<T>, cap: usize) -> u64 {
    queue.extend(items);
    let over = queue.len().saturating_sub(cap);
    queue.drain(..over);
    over as u64
}
