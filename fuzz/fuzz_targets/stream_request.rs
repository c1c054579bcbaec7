//! The live stream's WebSocket control messages (`GET /api/v1/stream`, docs/stream.md).
//!
//! The stream's own parser (`stream::parse`) and the writer's `Client::command` are
//! private to twin-server, and a WebSocket needs a real connection, so this target
//! repeats the parser's few lines of dispatch (the envelope below is a copy of
//! twin-server's private `Envelope`) and calls the same public functions the stream
//! does with what it read: `subscribe` through serde into `stream::sub::Subscribe`
//! and `stream::sub::resolve` against the served tiny twin and its overlays; `ack`
//! through `api::live::acknowledge_alert`; `step` through `api::manage::take_step`;
//! `get_incident` and `get_incidents` through the session's incident views.
#![no_main]
use serde_json::Value as Json;
use twin_server::api::manage::{StepBody, take_step};
use twin_server::stream::sub::{Subscribe, resolve};
use twin_server::{Caller, Role};

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    req: Option<u64>,
    #[serde(default)]
    alert: Option<u64>,
    #[serde(default)]
    order: Option<u64>,
    #[serde(default)]
    incident: Option<u64>,
    #[serde(default)]
    at: Option<i64>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    unit: Option<String>,
}

twin_fuzz::fuzz_parser!(|data: &[u8]| {
    let Some(text) = twin_fuzz::text(data) else { return };
    let Ok(env) = serde_json::from_str::<Envelope>(text) else { return };
    let served = twin_fuzz::served();
    let caller = Caller {
        name: "fuzz".into(),
        role: Role::Admin,
    };
    match env.kind.as_str() {
        "subscribe" => {
            let mut v: Json = serde_json::from_str(text).unwrap_or(Json::Null);
            if let Some(o) = v.as_object_mut() {
                o.remove("type");
            }
            if let Ok(sub) = serde_json::from_value::<Subscribe>(v) {
                let s = served.read();
                let _ = resolve(&sub, &s, served.overlays());
            }
        }
        "ack" => {
            if let Some(alert) = env.alert {
                let _ = twin_server::api::live::acknowledge_alert(&served, &caller, alert);
            }
        }
        "get_incident" => {
            if let Some(id) = env.incident {
                let s = served.read();
                if let Some(i) = s.incidents().get(id) {
                    let _ = twin_core::session::views::incident_json(&s, i, true);
                }
            }
        }
        "get_incidents" => {
            if let Some(at) = env.at {
                let t = twin_core::Timestamp::from_millis(at);
                let s = served.read();
                for i in s
                    .incidents()
                    .open_at(t)
                    .into_iter()
                    .take(twin_server::stream::manage::MANAGE_LISTED)
                {
                    let _ = twin_core::session::views::incident_at_json(&s, i, t);
                }
            }
        }
        "step" => {
            if let (Some(order), Some(action)) = (env.order, env.action) {
                let body = StepBody {
                    note: env.note.unwrap_or_default(),
                    unit: env.unit,
                };
                let _ = take_step(
                    &served,
                    &caller,
                    order,
                    &action,
                    &body,
                    twin_core::session::views::order_brief_json,
                );
            }
        }
        _ => {}
    }
});
