//! The steps themselves: state, unit, deadlines and history of one order.

use super::{
    Action, Deadline, Order, OrderEvent, OrderState, ResponseTimes, SYSTEM, Transition, Unit,
};
use crate::time::Timestamp;

/// `at` plus `s` seconds.
fn after(at: Timestamp, s: f64) -> Timestamp {
    Timestamp::from_millis(at.as_millis().saturating_add((s * 1000.0).round() as i64))
}

/// Applies one step that [`super::next_state`] allowed (or the system takes), with its
/// deadlines, and records it.
#[allow(clippy::too_many_arguments)]
pub(super) fn step(
    o: &mut Order,
    action: Action,
    mut to: OrderState,
    by: &str,
    unit: Option<Unit>,
    note: &str,
    at: Timestamp,
    times: Option<ResponseTimes>,
    out: &mut Vec<OrderEvent>,
) {
    // The history stays in time order: a step is never stamped before the last one (a
    // late reading may put an incident's close before a person's step already taken).
    let at = o.history.last().map_or(at, |last| at.max(last.at));
    let from = o.state;
    if let Some(u) = unit {
        o.unit = Some(u);
    }
    // An order no unit ever held goes back to new, not to a unit.
    if to == OrderState::Dispatched && o.unit.is_none() {
        to = OrderState::New;
    }
    o.state = to;
    let accept = |t: ResponseTimes| after(at, t.accept_s);
    let resolve = |t: ResponseTimes| after(at, t.resolve_s);
    match action {
        Action::Dispatch | Action::Reopen if to == OrderState::Dispatched => {
            o.accept_due = times.map(accept);
            o.resolve_due = times.map(resolve);
            // A fresh start: overdue again only if its new times pass.
            o.overdue = false;
        }
        Action::Reassign | Action::Escalate => {
            o.accept_due = times.map(accept);
        }
        Action::Accept => {
            o.accept_due = None;
            o.accepted_at = o.accepted_at.or(Some(at));
        }
        Action::Resolve => {
            o.accept_due = None;
            o.resolve_due = None;
            o.resolved_at = Some(at);
        }
        Action::Close => {
            o.accept_due = None;
            o.resolve_due = None;
            o.closed_at = Some(at);
        }
        _ => {}
    }
    let transition = Transition {
        at,
        by: by.to_string(),
        action,
        from,
        to,
        unit: o.unit.as_ref().map(|u| u.id.clone()),
        note: note.to_string(),
    };
    o.history.push(transition.clone());
    out.push(OrderEvent::Step {
        order: o.id,
        transition,
    });
}

/// Escalates `o` for every response time that passed by `now`, in time order, each at
/// the moment it passed.
pub(super) fn escalate_due(
    o: &mut Order,
    now: Timestamp,
    times: Option<ResponseTimes>,
    out: &mut Vec<OrderEvent>,
) {
    // Each round moves a deadline later or clears it; the bound is a guard only.
    for _ in 0..64 {
        let accept = o
            .accept_due
            .filter(|d| o.state == OrderState::Dispatched && *d <= now)
            .map(|d| (d, Deadline::Accept));
        let resolve = o
            .resolve_due
            .filter(|d| o.state.is_active() && *d <= now)
            .map(|d| (d, Deadline::Resolve));
        let Some((at, which)) = [accept, resolve]
            .into_iter()
            .flatten()
            .min_by_key(|(d, _)| *d)
        else {
            return;
        };
        o.overdue = true;
        let (what, secs) = match which {
            Deadline::Accept => ("accepted", times.map(|t| t.accept_s)),
            Deadline::Resolve => ("resolved", times.map(|t| t.resolve_s)),
        };
        let within = secs.map_or(String::new(), |s| format!(" within {s} s"));
        if o.chain.is_empty() {
            match which {
                Deadline::Accept => o.accept_due = None,
                Deadline::Resolve => o.resolve_due = None,
            }
            out.push(OrderEvent::Overdue {
                order: o.id,
                deadline: which,
                at,
            });
            continue;
        }
        let next = o.chain.remove(0);
        let old = o.unit_id().unwrap_or("no unit").to_string();
        let note = format!(
            "not {what}{within}: from {old} to {} (tier {})",
            next.id, next.tier
        );
        o.escalations += 1;
        step(
            o,
            Action::Escalate,
            OrderState::Dispatched,
            SYSTEM,
            Some(next),
            &note,
            at,
            times,
            out,
        );
        if which == Deadline::Resolve {
            o.resolve_due = times.map(|t| after(at, t.resolve_s));
        }
    }
}

/// Deadlines for a higher severity: each counted again from when it started (never
/// before `now`), kept if already sooner.
pub(super) fn tighten(o: &mut Order, times: ResponseTimes, now: Timestamp) {
    let last_dispatch = o
        .history
        .iter()
        .rev()
        .find(|t| t.to == OrderState::Dispatched)
        .map(|t| t.at);
    // The resolve time runs from the last dispatch, reopening or escalation for the
    // resolve time (the step that last set it).
    let resolve_from = o
        .history
        .iter()
        .rev()
        .find(|t| {
            matches!(
                t.action,
                Action::Dispatch | Action::Reopen | Action::Escalate
            )
        })
        .map(|t| t.at);
    if let (Some(due), Some(at)) = (o.accept_due, last_dispatch) {
        o.accept_due = Some(due.min(after(at, times.accept_s).max(now)));
    }
    if let (Some(due), Some(at)) = (o.resolve_due, resolve_from) {
        o.resolve_due = Some(due.min(after(at, times.resolve_s).max(now)));
    }
}
