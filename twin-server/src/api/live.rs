//! The live side of the API: status, vital signs, alerts (list, acknowledge), alert
//! events for polling clients, rules (get, set).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value as Json_, json};
use twin_core::Session;
use twin_core::state::alert::{Alert, AlertEvent, AlertState};
use twin_core::state::vitals::VitalRow;

use super::error::ApiError;
use super::params;
use crate::auth::{Caller, Role};
use crate::state::Served;

/// Refuses a caller whose role is below `role` (403, counted).
pub fn require(served: &Served, caller: &Caller, role: Role) -> Result<(), ApiError> {
    if caller.role >= role {
        Ok(())
    } else {
        crate::state::Counters::bump(&served.counters.forbidden);
        eprintln!(
            "twin serve: 403 `{}` ({}) needs the {role} role",
            caller.name, caller.role
        );
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "`{}` is a {}; this needs the {role} role",
                caller.name, caller.role
            ),
        ))
    }
}

/// `GET /api/v1/status`: the clock, what the twin holds, and the server's counters.
pub async fn status(State(served): State<Arc<Served>>) -> Json<Json_> {
    // Before the session's lock: the feed takes the directory's lock, then the session's.
    let data_dir = served.store_status();
    let session = served.read();
    let open = served.open_alerts(&session).len();
    Json(json!({
        "title": served.title,
        "version": env!("CARGO_PKG_VERSION"),
        "now": session.now().as_millis(),
        "now_iso": session.now().to_string(),
        "uptime_s": served.started.elapsed().as_secs(),
        "assets": session.twin().len(),
        "channels": session.store().channels().count(),
        "rules": session.alerts().rules().len(),
        "open_alerts": open,
        "events_dropped": session.events_dropped(),
        "counters": served.counters.values(),
        "stream": served.stream_counters().json(),
        "district": served.district().map(|d| d.status_json()),
        "data_dir": data_dir,
    }))
}

/// Vital-sign rows as the API shows them (channels by name); `now`: rows of the
/// present, which also carry each region's incidents and work orders (`management`,
/// [`twin_core::state::orders::ManageRow`]).
pub fn vital_json(session: &Session, rows: &[VitalRow], now: bool) -> Json_ {
    let store = session.store();
    let manage = if now {
        twin_core::state::orders::by_region(session.twin(), session.incidents(), session.orders())
    } else {
        Default::default()
    };
    let rows: Vec<Json_> = rows
        .iter()
        .map(|r| {
            let channels: serde_json::Map<String, Json_> = r
                .channels
                .iter()
                .filter_map(|(c, s)| {
                    let name = store.spec(*c)?.name.clone();
                    Some((
                        name,
                        json!({"count": s.count, "mean": s.mean, "max": s.max}),
                    ))
                })
                .collect();
            let mut v = json!({
                "region": session.twin().get(r.region).map(|a| a.id.clone()),
                "name": r.name,
                "island": r.island,
                "sensors": r.sensors,
                "online": r.online,
                "offline": r.offline(),
                "channels": channels,
                "alerts": {"info": r.alerts[0], "warning": r.alerts[1], "critical": r.alerts[2]},
            });
            if now {
                v["management"] = json!(manage.get(&r.region).cloned().unwrap_or_default());
            }
            v
        })
        .collect();
    Json_::Array(rows)
}

/// Parameters of `GET /api/v1/vitals`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VitalsQuery {
    /// A past time (ms or ISO 8601): the table as it was then, from history.
    at: Option<String>,
}

/// `GET /api/v1/vitals[?at=T]`: one row per town, then one per island.
pub async fn vitals(
    State(served): State<Arc<Served>>,
    q: Result<Query<VitalsQuery>, QueryRejection>,
) -> Result<Json<Json_>, ApiError> {
    let Query(q) = q?;
    let at = q.at.as_deref().map(|t| params::time("at", t)).transpose()?;
    let session = served.read();
    let rows = match at {
        Some(t) => session.vital_signs_at(t),
        None => served.vital_rows(&session),
    };
    Ok(Json(json!({
        "at": at.unwrap_or(session.now()).as_millis(),
        // A district's processes each order their own incidents: no merged counts yet.
        "rows": vital_json(&session, &rows, at.is_none() && served.district().is_none()),
    })))
}

/// An alert as the API shows it: asset and town by id, times in ms and ISO 8601.
pub fn alert_json(session: &Session, a: &Alert) -> Json_ {
    let twin = session.twin();
    json!({
        "id": a.id,
        "rule": a.rule,
        "asset": a.asset_id,
        "town": a.town.and_then(|t| twin.get(t)).map(|t| t.id.clone()),
        // The wholes the alert rolls up to, nearest first (a room sensor's room,
        // storey, building), by the asset's id: an alert of another process of the
        // district carries that process's handles.
        "within": twin.handle(&a.asset_id).map_or_else(Vec::new, |h| {
            let town = twin.town_of(h);
            twin.lineage(h)
                .into_iter()
                .filter(|w| Some(*w) != town)
                .filter_map(|w| twin.get(w).map(|w| w.id.clone()))
                .collect()
        }),
        "severity": a.severity,
        "state": a.state,
        "value": a.value,
        "raised_at": a.raised_at.as_millis(),
        "raised": a.raised_at.to_string(),
        "acknowledged_at": a.acknowledged_at.map(|t| t.as_millis()),
        "cleared_at": a.cleared_at.map(|t| t.as_millis()),
    })
}

/// Parameters of `GET /api/v1/alerts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsQuery {
    /// `open` (default: raised or acknowledged), `raised`, `acknowledged`.
    state: Option<String>,
    /// Only alerts that roll up to this asset: a building's, a storey's or a room's
    /// own and those of the sensors attached to them ([`twin_core::Twin::lineage`]).
    within: Option<String>,
}

/// `GET /api/v1/alerts[?state=open|raised|acknowledged][&within=ID]`: open alerts,
/// by id; with `within`, those of an asset and everything it holds.
pub async fn alerts(
    State(served): State<Arc<Served>>,
    q: Result<Query<AlertsQuery>, QueryRejection>,
) -> Result<Json<Json_>, ApiError> {
    let Query(q) = q?;
    let want: fn(AlertState) -> bool = match q.state.as_deref().unwrap_or("open") {
        "open" => |s| s != AlertState::Cleared,
        "raised" => |s| s == AlertState::Raised,
        "acknowledged" => |s| s == AlertState::Acknowledged,
        other => {
            return Err(ApiError::bad(format!(
                "`state`: `{other}` is not open, raised or acknowledged"
            )));
        }
    };
    let session = served.read();
    let twin = session.twin();
    let whole = match q.within.as_deref() {
        None => None,
        Some(id) => Some(
            twin.handle(id)
                .ok_or_else(|| ApiError::not_found(format!("`within`: no asset `{id}`")))?,
        ),
    };
    let list: Vec<Json_> = served
        .open_alerts(&session)
        .iter()
        .filter(|a| want(a.state))
        .filter(|a| whole.is_none_or(|w| a.rolls_up_to(twin, w)))
        .map(|a| alert_json(&session, a))
        .collect();
    Ok(Json(json!({"count": list.len(), "alerts": list})))
}

/// `POST /api/v1/alerts/{id}/ack` (operator): acknowledges an open alert.
pub async fn acknowledge(
    State(served): State<Arc<Served>>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Json<Json_>, ApiError> {
    require(&served, &caller, Role::Operator)?;
    let Path(id) = id?;
    acknowledge_alert(&served, &caller, id).map(Json)
}

/// Acknowledges alert `id` for `caller` (who must be an operator): the alert as it is
/// now, or 403, 404 (no such alert) or 409 (cleared or already acknowledged). The
/// HTTP route and the live stream both come here, so both check and log alike.
pub fn acknowledge_alert(served: &Served, caller: &Caller, id: u64) -> Result<Json_, ApiError> {
    require(served, caller, Role::Operator)?;
    // Another process's alert: its owner acknowledges it (crate::district).
    if let Some(d) = served.district()
        && let Some(owner) = Some(crate::district::owner_of(id))
        && owner != 0
        && owner != u64::from(d.process)
    {
        let Some(a) = d.peer_alert(id) else {
            return Err(ApiError::not_found(format!("no alert {id}")));
        };
        if a.state != twin_core::state::alert::AlertState::Raised {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("alert {id} is acknowledged and cannot be acknowledged again"),
            ));
        }
        if !d.forward_ack(id, &caller.name) {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("alert {id} belongs to process {owner}, which cannot be reached now"),
            ));
        }
        eprintln!(
            "twin serve: alert {id} acknowledged by {}: sent to process {owner}",
            caller.name
        );
        let mut v = alert_json(&served.read(), &a);
        v["forwarded_to"] = json!(owner);
        return Ok(v);
    }
    let (done, alert) = served.write_with(|s| {
        let done = s.acknowledge(id);
        let alert = s.alerts().alert(id).map(|a| alert_json(s, a));
        (done, alert)
    });
    match (done, alert) {
        (true, Some(a)) => {
            eprintln!("twin serve: alert {id} acknowledged by {}", caller.name);
            Ok(a)
        }
        (false, Some(a)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "alert {id} is {} and cannot be acknowledged",
                a["state"].as_str().unwrap_or("closed")
            ),
        )),
        _ => Err(ApiError::not_found(format!("no alert {id}"))),
    }
}

/// An alert event as the API shows it: `{seq, event, alert}`.
pub fn event_json(session: &Session, e: &crate::state::NumberedEvent) -> Json_ {
    let (kind, alert) = match &e.event {
        AlertEvent::Raised(a) => ("raised", a),
        AlertEvent::Acknowledged(a) => ("acknowledged", a),
        AlertEvent::Cleared(a) => ("cleared", a),
    };
    json!({"seq": e.seq, "event": kind, "alert": alert_json(session, alert)})
}

/// Parameters of `GET /api/v1/events`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Only events numbered after this (default 0: the oldest kept).
    after: Option<u64>,
    /// At most this many (default 1000).
    limit: Option<usize>,
}

/// `GET /api/v1/events?after=N`: alert events (raised, acknowledged, cleared) in order,
/// for clients that poll; `last` is the newest number given so far.
pub async fn events(
    State(served): State<Arc<Served>>,
    q: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Json<Json_>, ApiError> {
    let Query(q) = q?;
    let limit = q.limit.unwrap_or(1000).clamp(1, served.limits.max_results);
    let (list, last) = served.events_after(q.after.unwrap_or(0), limit);
    let session = served.read();
    let events: Vec<Json_> = list.iter().map(|e| event_json(&session, e)).collect();
    Ok(Json(json!({"last": last, "events": events})))
}

/// `GET /api/v1/rules`: the alert rules in force, as a rules file.
pub async fn rules(State(served): State<Arc<Served>>) -> Response {
    let session = served.read();
    let text = session.alerts().rules_json(session.store());
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        text,
    )
        .into_response()
}

/// `PUT /api/v1/rules` (admin): replaces the alert rules with a rules file; on any
/// error nothing changes.
pub async fn set_rules(
    State(served): State<Arc<Served>>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Json<Json_>, ApiError> {
    require(&served, &caller, Role::Admin)?;
    let text =
        std::str::from_utf8(&body).map_err(|_| ApiError::bad("the rules are not UTF-8 text"))?;
    let n = served.write_with(|s| {
        s.set_rules_json(text)
            .map(|()| s.alerts().rules().len())
            .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))
    })?;
    eprintln!("twin serve: rules replaced by {} ({n} rules)", caller.name);
    Ok(Json(json!({"rules": n})))
}
