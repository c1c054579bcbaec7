//! Work orders in `twin run`'s output: a line per order step, an orders table beside
//! the vital signs, and the `orders` of `--report`.

use std::fmt::Write as _;

use serde_json::{Value as Json, json};
use twin_core::session::Session;
use twin_core::state::orders::{Order, OrderEvent};

use crate::run::clock;

/// One line per order change: `[12:08:00Z] ORDER #1 ESCALATE  by system → …`.
pub fn describe(live: &Session, e: &OrderEvent) -> String {
    match e {
        OrderEvent::Created { order, incident } => {
            let family = live
                .incidents()
                .get(*incident)
                .map_or("", |i| i.family.as_str());
            let at = live
                .orders()
                .get(*order)
                .map_or(live.now().as_millis(), |o| o.created_at.as_millis());
            format!(
                "[{}] ORDER #{order} CREATED   for incident #{incident} {family}",
                clock(at)
            )
        }
        OrderEvent::Step { order, transition } => {
            let t = transition;
            let unit = live
                .orders()
                .get(*order)
                .and_then(|o| o.unit.as_ref())
                .filter(|u| Some(u.id.as_str()) == t.unit.as_deref())
                .map(|u| format!(" → {} ({})", u.id, u.name))
                .unwrap_or_default();
            let due = live
                .orders()
                .get(*order)
                .filter(|o| o.history.last() == Some(t))
                .map(deadlines)
                .unwrap_or_default();
            let unit = if matches!(
                t.action.as_str(),
                "dispatch" | "reassign" | "escalate" | "reopen"
            ) {
                unit
            } else {
                String::new()
            };
            let note = if t.note.is_empty() {
                String::new()
            } else {
                format!(": {}", t.note)
            };
            // The plan's resources, once: with the first dispatch.
            let resources = live
                .orders()
                .get(*order)
                .filter(|o| o.history.first() == Some(t) && !o.resources.is_empty())
                .map(|o| {
                    let list: Vec<String> = o
                        .resources
                        .iter()
                        .map(|r| format!("{} ({:.1} km)", r.id, r.distance_m / 1000.0))
                        .collect();
                    format!("; resources: {}", list.join(", "))
                })
                .unwrap_or_default();
            format!(
                "[{}] ORDER #{order} {:<9} by {}{unit}{note}{due}{resources}",
                clock(t.at.as_millis()),
                t.action.as_str().to_uppercase(),
                t.by,
            )
        }
        OrderEvent::Overdue {
            order,
            deadline,
            at,
        } => format!(
            "[{}] ORDER #{order} OVERDUE   (not {} in time; no higher tier to escalate to)",
            clock(at.as_millis()),
            match deadline {
                twin_core::state::orders::Deadline::Accept => "accepted",
                twin_core::state::orders::Deadline::Resolve => "resolved",
            }
        ),
    }
}

/// `; accept by 12:08:00Z; resolve by 13:03:00Z` for an order's open deadlines (a
/// deadline on a later day says how many days later).
fn deadlines(o: &Order) -> String {
    let day = |ms: i64| ms.div_euclid(86_400_000);
    let at = |due: twin_core::Timestamp| {
        let days = day(due.as_millis()) - day(o.created_at.as_millis());
        if days > 0 {
            format!("{} (+{days} d)", clock(due.as_millis()))
        } else {
            clock(due.as_millis())
        }
    };
    let mut out = String::new();
    if let Some(d) = o.accept_due {
        let _ = write!(out, "; accept by {}", at(d));
    }
    if let Some(d) = o.resolve_due {
        let _ = write!(out, "; resolve by {}", at(d));
    }
    out
}

/// Minutes, one decimal.
fn minutes(ms: i64) -> String {
    format!("{:.1} min", ms as f64 / 60_000.0)
}

/// The orders table: each live order, then per unit its open and overdue orders and
/// mean times to accept and resolve. Empty when there have been no orders.
pub fn table(live: &Session, t: i64) -> String {
    let book = live.orders();
    let closed = book.closed().count();
    if book.live().is_empty() && closed == 0 {
        return String::new();
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nwork orders at {}: {} open ({} overdue), {closed} closed",
        clock(t),
        book.live().len(),
        book.overdue()
    );
    if !book.live().is_empty() {
        let _ = writeln!(
            out,
            "  {:>5} {:>8} {:<15} {:<10} {:<9} {:>4} {:<40}",
            "order", "incident", "family", "state", "severity", "esc", "unit"
        );
    }
    for o in book.live() {
        let _ = writeln!(
            out,
            "  {:>5} {:>8} {:<15} {:<10} {:<9} {:>4} {:<40}{}",
            format!("#{}", o.id),
            format!("#{}", o.incident),
            o.family,
            o.state.as_str(),
            o.severity.as_str(),
            o.escalations,
            o.unit_id().unwrap_or("-"),
            if o.overdue { "  OVERDUE" } else { "" }
        );
    }
    let _ = writeln!(
        out,
        "  {:<40} {:>4} {:>7} {:>13} {:>14}",
        "unit", "open", "overdue", "mean→accept", "mean→resolve"
    );
    for (unit, r) in twin_core::state::orders::by_unit(book) {
        let _ = writeln!(
            out,
            "  {:<40} {:>4} {:>7} {:>13} {:>14}",
            unit.as_deref().unwrap_or("(not dispatched)"),
            r.open_orders,
            r.overdue_orders,
            r.mean_accept_ms.map_or("-".into(), minutes),
            r.mean_resolve_ms.map_or("-".into(), minutes),
        );
    }
    out
}

/// The orders for `--report`: each with its incident, unit, state, deadlines and
/// whole history.
pub fn to_json(live: &Session) -> Vec<Json> {
    let book = live.orders();
    book.closed()
        .chain(book.live())
        .map(|o| {
            json!({
                "id": o.id,
                "incident": o.incident,
                "family": o.family,
                "towns": o.towns,
                "severity": o.severity.as_str(),
                "state": o.state,
                "unit": o.unit,
                "plan": o.plan,
                "checklist": o.checklist,
                "resources": o.resources,
                "overdue": o.overdue,
                "escalations": o.escalations,
                "created_at": o.created_at.to_string(),
                "accepted_at": o.accepted_at.map(|t| t.to_string()),
                "resolved_at": o.resolved_at.map(|t| t.to_string()),
                "closed_at": o.closed_at.map(|t| t.to_string()),
                "accept_due": o.accept_due.map(|t| t.to_string()),
                "resolve_due": o.resolve_due.map(|t| t.to_string()),
                "history": o.history.iter().map(|t| json!({
                    "at": t.at.to_string(),
                    "by": t.by,
                    "action": t.action,
                    "from": t.from,
                    "to": t.to,
                    "unit": t.unit,
                    "note": t.note,
                })).collect::<Vec<_>>(),
            })
        })
        .collect()
}
