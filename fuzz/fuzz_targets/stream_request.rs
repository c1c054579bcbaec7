//! The live stream's WebSocket control messages (`GET /api/v1/stream`, docs/stream.md).
//!
//! A WebSocket needs a real connection, so this target feeds the stream's own parser
//! (`twin_server::stream::parse`) and acts on what it read with the same public
//! functions the stream's writer calls: `stream::sub::resolve` for `subscribe`
//! against the served tiny twin and its overlays; `api::live::acknowledge_alert` for
//! `ack`; `api::manage::take_step` for `step`; the session's incident views for
//! `get_incident` and `get_incidents`.
#![no_main]
use twin_server::api::manage::take_step;
use twin_server::stream::{Cmd, parse, sub::resolve};
use twin_server::{Caller, Role};

twin_fuzz::fuzz_parser!(|data: &[u8]| {
    let Some(text) = twin_fuzz::text(data) else { return };
    let served = twin_fuzz::served();
    let caller = Caller {
        name: "fuzz".into(),
        role: Role::Admin,
    };
    match parse(text) {
        Cmd::Subscribe(sub) => {
            let s = served.read();
            let _ = resolve(&sub, &s, served.overlays());
        }
        Cmd::Ack { alert, .. } => {
            let _ = twin_server::api::live::acknowledge_alert(&served, &caller, alert);
        }
        Cmd::GetIncident { incident, .. } => {
            let s = served.read();
            if let Some(i) = s.incidents().get(incident) {
                let _ = twin_core::session::views::incident_json(&s, i, true);
            }
        }
        Cmd::IncidentsAt { at, .. } => {
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
        Cmd::Step {
            order,
            action,
            body,
            ..
        } => {
            let _ = take_step(
                &served,
                &caller,
                order,
                &action,
                &body,
                twin_core::session::views::order_brief_json,
            );
        }
        _ => {}
    }
});
