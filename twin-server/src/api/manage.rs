//! Incidents and work orders: list and read them, and take an order's steps by role.
//!
//! Who may take which step: an **operator** dispatches, accepts, marks on site,
//! resolves and reassigns; an **admin** (a supervisor) also verifies, closes and
//! reopens. The step is recorded under the caller's token name; the lifecycle refuses
//! illegal steps with the reason (409). Escalation is the system's alone.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value as Json_, json};
use twin_core::state::orders::{Action, OrderError, StepRequest};

use super::error::ApiError;
use super::live::require;
use crate::auth::{Caller, Role};
use crate::state::Served;

pub use twin_core::session::views::{
    AFFECTED_KINDS, FOOTPRINT_BUFFER_M, incident_json, order_json,
};

/// The role a step needs.
pub fn role_for(action: Action) -> Role {
    match action.role() {
        "admin" => Role::Admin,
        _ => Role::Operator,
    }
}

/// `?state=` of the lists, and how many.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `live` (default: not closed), `closed` or `all`.
    pub state: Option<String>,
    /// The most returned, newest first (default 100, at most 1000).
    pub limit: Option<usize>,
    /// Incidents only: those open or quiet at this moment (UTC ms), as they were then.
    pub at: Option<i64>,
}

fn which(q: &ListQuery) -> Result<(bool, bool, usize), ApiError> {
    let (live, closed) = match q.state.as_deref().unwrap_or("live") {
        "live" => (true, false),
        "closed" => (false, true),
        "all" => (true, true),
        other => {
            return Err(ApiError::bad(format!(
                "`state`: `{other}` is not live, closed or all"
            )));
        }
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad(format!("`limit`: {limit} is not 1 to 1000")));
    }
    Ok((live, closed, limit))
}

/// The live and/or closed items a list query asks for, newest (highest id) first.
fn pick<'a, T>(
    q: &ListQuery,
    live: &'a [T],
    closed: impl Iterator<Item = &'a T>,
    id: impl Fn(&T) -> u64,
) -> Result<Vec<&'a T>, ApiError> {
    let (with_live, with_closed, limit) = which(q)?;
    let mut list: Vec<&T> = Vec::new();
    if with_live {
        list.extend(live);
    }
    if with_closed {
        list.extend(closed);
    }
    list.sort_by_key(|t| std::cmp::Reverse(id(t)));
    list.truncate(limit);
    Ok(list)
}

/// `GET /api/v1/incidents[?state=live|closed|all&limit=N]`: newest first.
pub async fn incidents(
    State(served): State<Arc<Served>>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Json_>, ApiError> {
    let Query(q) = q?;
    let s = served.read();
    let book = s.incidents();
    if let Some(at) = q.at {
        if q.state.is_some() {
            return Err(ApiError::bad("`at` and `state` do not go together"));
        }
        let (_, _, limit) = which(&q)?;
        let t = twin_core::Timestamp::from_millis(at);
        let out: Vec<Json_> = book
            .open_at(t)
            .into_iter()
            .take(limit)
            .map(|i| twin_core::session::views::incident_at_json(&s, i, t))
            .collect();
        return Ok(Json(
            json!({"count": out.len(), "at": at, "incidents": out}),
        ));
    }
    let list = pick(&q, book.live(), book.closed(), |i| i.id)?;
    let out: Vec<Json_> = list.iter().map(|i| incident_json(&s, i, false)).collect();
    Ok(Json(json!({"count": out.len(), "incidents": out})))
}

/// `GET /api/v1/incidents/{id}`: one incident with its footprint and what it covers.
pub async fn incident(
    State(served): State<Arc<Served>>,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Json<Json_>, ApiError> {
    let Path(id) = id?;
    let s = served.read();
    let i = s
        .incidents()
        .get(id)
        .ok_or_else(|| ApiError::not_found(format!("no incident {id}")))?;
    Ok(Json(incident_json(&s, i, true)))
}

/// `GET /api/v1/orders[?state=live|closed|all&limit=N]`: newest first.
pub async fn orders(
    State(served): State<Arc<Served>>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Json_>, ApiError> {
    let Query(q) = q?;
    if q.at.is_some() {
        return Err(ApiError::bad(
            "`at` is for incidents (an order's history says its state at any time)",
        ));
    }
    let s = served.read();
    let book = s.orders();
    let list = pick(&q, book.live(), book.closed(), |o| o.id)?;
    let out: Vec<Json_> = list.iter().map(|o| order_json(o)).collect();
    Ok(Json(json!({
        "count": out.len(),
        "overdue": book.overdue(),
        "orders": out,
    })))
}

/// `GET /api/v1/orders/{id}`: one order and its whole history.
pub async fn order(
    State(served): State<Arc<Served>>,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Json<Json_>, ApiError> {
    let Path(id) = id?;
    let s = served.read();
    let o = s
        .orders()
        .get(id)
        .ok_or_else(|| ApiError::not_found(format!("no order {id}")))?;
    Ok(Json(order_json(o)))
}

/// The body of a step: a note, and the unit for dispatch and reassign.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    /// Why, or what was done (at most 2000 characters).
    #[serde(default)]
    pub note: String,
    /// The unit, for dispatch and reassign.
    #[serde(default)]
    pub unit: Option<String>,
}

/// Longest note kept.
pub const MAX_NOTE_CHARS: usize = 2000;

/// `POST /api/v1/orders/{id}/{action}` (operator or admin, by action): takes the step
/// as the caller; the order as it is after it, or 400, 403, 404 or 409 with the reason.
pub async fn step(
    State(served): State<Arc<Served>>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<(u64, String)>, PathRejection>,
    body: Bytes,
) -> Result<Json<Json_>, ApiError> {
    let Path((id, name)) = path?;
    let body: StepBody = if body.iter().all(u8::is_ascii_whitespace) {
        StepBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad(format!("body: {e}")))?
    };
    take_step(&served, &caller, id, &name, &body, order_json).map(Json)
}

/// Takes step `name` on order `id` as `caller`: the order as it is after it (shown by
/// `show`: the whole order for HTTP, the stream's brief form there), or 400, 403, 404
/// or 409 with the reason. The HTTP route and the live stream's `step`
/// message both come here, so both check and log alike.
pub fn take_step(
    served: &Served,
    caller: &Caller,
    id: u64,
    name: &str,
    body: &StepBody,
    show: fn(&twin_core::state::orders::Order) -> Json_,
) -> Result<Json_, ApiError> {
    let action = Action::parse(name).ok_or_else(|| {
        let names: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
        ApiError::not_found(format!("no step `{name}` (steps: {})", names.join(", ")))
    })?;
    if action == Action::Escalate {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "only the system escalates (when a response time passes)",
        ));
    }
    require(served, caller, role_for(action))?;
    if body.note.chars().count() > MAX_NOTE_CHARS {
        return Err(ApiError::bad(format!(
            "`note`: longer than {MAX_NOTE_CHARS} characters"
        )));
    }
    let request = StepRequest {
        action,
        by: &caller.name,
        unit: body.unit.as_deref(),
        note: &body.note,
    };
    let done = served.write_with(|s| {
        s.act_on_order(id, &request)
            .map(|_| s.orders().get(id).map(show).unwrap_or(Json_::Null))
    });
    match done {
        Ok(v) => {
            eprintln!(
                "twin serve: order {id} {} by {}",
                action.as_str(),
                caller.name
            );
            Ok(v)
        }
        Err(OrderError::Unknown(_)) => Err(ApiError::not_found(format!("no order {id}"))),
        Err(e @ OrderError::Illegal { .. }) => {
            Err(ApiError::new(StatusCode::CONFLICT, e.to_string()))
        }
    }
}
