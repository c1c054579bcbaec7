//! The live stream, `GET /api/v1/stream`: one WebSocket per screen, a snapshot of what
//! it subscribed to and then only what changed. docs/stream.md is the wire format;
//! this module keeps to it (where it simplifies, the difference is written there).
//!
//! ## Model
//! A producer task ([`hub::produce`]) ticks every 250 ms: under the session's write
//! lock it takes what changed once ([`twin_core::Session::refresh`]) and copies the
//! changed colours and values into a [`hub::Mirror`]; it serialises new alert events,
//! and once a second the vital signs and status, once for all clients; then it
//! publishes a [`hub::Tick`] of handle ranges on a broadcast ring of 16.
//!
//! Each client has a reader task (control messages, rate-limited, and the idle
//! timeout) and a writer that owns the client's state: the subscribed handles and the
//! handles still to send, as bitsets. Merging a tick marks `changed ∩ subscribed` as
//! dirty; a round then sends replies, events, vitals and status as JSON text, and the
//! dirty handles' current colours and values from the mirror as binary frames. A
//! client that falls more than the ring behind gets every subscribed handle marked
//! dirty again: it skips intermediate values and its memory does not grow with how
//! slow it is. A client whose write does not finish within [`StreamLimits::write_timeout`],
//! or that sends nothing (not even a pong) for [`StreamLimits::idle`], is dropped.
//!
//! ## Auth
//! The route sits behind the same token check as the rest of the API. Browsers, which
//! cannot set headers on a WebSocket, offer the token as a second subprotocol,
//! `twin.bearer.<base64url(token)>`; the server answers only `twin.v1`. Viewers
//! watch; operators may also acknowledge (`ack`), through the same function as
//! `POST /api/v1/alerts/{id}/ack`.

pub mod frame;
pub mod hub;
pub mod manage;
pub mod sub;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::ws::{
    CloseFrame, Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
};
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value as Json, json};
use tokio::sync::{broadcast, mpsc};

use crate::api::error::ApiError;
use crate::api::live::{acknowledge_alert, alert_json};
use crate::api::manage::{StepBody, take_step};
use crate::auth::Caller;
use crate::state::Served;
use frame::{Bits, Framer};
pub use hub::{Hub, StreamCounters};
use sub::{Resolved, Subscribe};
use twin_core::stream::{FILE_PIECE_HEADER, HEADER};

/// The one subprotocol the server speaks.
pub const PROTOCOL: &str = "twin.v1";
/// Prefix of the subprotocol entry that carries a browser's token.
pub const BEARER_PROTOCOL_PREFIX: &str = "twin.bearer.";

/// Limits of the stream (defaults in brackets).
#[derive(Clone, Debug, PartialEq)]
pub struct StreamLimits {
    /// Streams open at once, all tokens together (500); past it 503.
    pub max_clients: usize,
    /// Streams open at once per token (250); past it 429.
    pub max_per_token: usize,
    /// Control messages a second per client (20, bursts of twice that).
    pub messages_per_second: u32,
    /// Refused messages after which the client is closed with 1008 (100).
    pub max_refused: u32,
    /// Largest control message, bytes (64 KiB); larger closes with 1009.
    pub max_text_bytes: usize,
    /// A client that sends nothing, not even a pong, for this long is dropped (45 s).
    pub idle: Duration,
    /// A client whose write has not finished after this long is dropped (30 s).
    pub write_timeout: Duration,
    /// Pings every (15 s).
    pub ping_every: Duration,
    /// Largest binary frame (256 KiB; at least 1 KiB is used, whatever is set).
    pub frame_bytes: usize,
    /// Most bytes of frames per round (4 MiB); the rest stays dirty for the next.
    pub round_bytes: usize,
    /// Alert events queued per client (1,000); past it the queue is replaced by one
    /// `alerts` list of the open alerts.
    pub events_queued: usize,
    /// Ticks a client may fall behind before it is resent everything (16).
    pub tick_ring: usize,
    /// The producer's period (250 ms).
    pub tick: Duration,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            max_clients: 500,
            max_per_token: 250,
            messages_per_second: 20,
            max_refused: 100,
            max_text_bytes: 64 << 10,
            idle: Duration::from_secs(45),
            write_timeout: Duration::from_secs(30),
            ping_every: Duration::from_secs(15),
            frame_bytes: 256 << 10,
            round_bytes: 4 << 20,
            events_queued: 1000,
            tick_ring: 16,
            tick: Duration::from_millis(250),
        }
    }
}

/// Holds a stream's place in the counts; gives it back when dropped.
struct Slot {
    served: Arc<Served>,
    token: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let hub = &self.served.stream;
        hub.counters.clients.fetch_sub(1, Ordering::Relaxed);
        let mut map = hub
            .per_token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = map.get_mut(&self.token) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.token);
            }
        }
    }
}

/// `GET /api/v1/stream`: the upgrade, after the subprotocol and the stream limits are
/// checked.
pub async fn stream(
    State(served): State<Arc<Served>>,
    Extension(caller): Extension<Caller>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => return ApiError::new(e.status(), e.body_text()).into_response(),
    };
    if !ws
        .requested_protocols()
        .any(|p| p.as_bytes() == PROTOCOL.as_bytes())
    {
        return ApiError::bad(format!(
            "offer the WebSocket subprotocol `{PROTOCOL}` (Sec-WebSocket-Protocol)"
        ))
        .into_response();
    }
    let hub = &served.stream;
    let limits = hub.limits.clone();
    if hub.counters.clients.fetch_add(1, Ordering::Relaxed) >= limits.max_clients {
        hub.counters.clients.fetch_sub(1, Ordering::Relaxed);
        hub.counters.refused.fetch_add(1, Ordering::Relaxed);
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the server has {} streams open, its limit",
                limits.max_clients
            ),
        )
        .into_response();
    }
    {
        let mut map = hub
            .per_token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = map.entry(caller.name.clone()).or_insert(0);
        if *n >= limits.max_per_token {
            drop(map);
            hub.counters.clients.fetch_sub(1, Ordering::Relaxed);
            hub.counters.refused.fetch_add(1, Ordering::Relaxed);
            crate::state::Counters::bump(&served.counters.rate_limited);
            return ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "`{}` has {} streams open, its limit",
                    caller.name, limits.max_per_token
                ),
            )
            .into_response();
        }
        *n += 1;
    }
    let slot = Slot {
        served: served.clone(),
        token: caller.name.clone(),
    };
    hub.counters.connects.fetch_add(1, Ordering::Relaxed);
    ws.protocols([PROTOCOL])
        .max_message_size(limits.max_text_bytes)
        .max_frame_size(limits.max_text_bytes)
        .write_buffer_size(0)
        // Each send is awaited (with the write timeout) before the next, so the buffer
        // holds at most the message being sent; a cap would refuse a large `alerts`
        // list outright.
        .max_write_buffer_size(usize::MAX)
        .on_upgrade(move |socket| connection(served, caller, socket, slot))
}

/// What the reader hands the writer: a client's control message as [`parse`] reads it,
/// or what happened to the connection. Public for the fuzz target (fuzz/), which feeds
/// [`parse`] and acts on its answer as the writer does.
#[derive(Debug)]
pub enum Cmd {
    /// `subscribe`: what to send.
    Subscribe(Box<Subscribe>),
    /// `ack`: acknowledge an alert.
    Ack {
        /// The request's number, echoed in the answer.
        req: Option<u64>,
        /// The alert.
        alert: u64,
    },
    /// `get_incident`: one incident in detail.
    GetIncident {
        /// The request's number.
        req: Option<u64>,
        /// The incident.
        incident: u64,
    },
    /// `get_incidents`: the incidents open at a time.
    IncidentsAt {
        /// The request's number.
        req: Option<u64>,
        /// The time, UTC milliseconds.
        at: i64,
    },
    /// `step`: a step on a work order.
    Step {
        /// The request's number.
        req: Option<u64>,
        /// The order.
        order: u64,
        /// The action's name.
        action: String,
        /// Its note and unit.
        body: StepBody,
    },
    /// `get_model`: a building model's bytes, as file pieces.
    GetModel {
        /// The request's number.
        req: Option<u64>,
        /// The model's index in the hello's `models`.
        model: u32,
    },
    /// `ping`.
    Ping {
        /// The request's number.
        req: Option<u64>,
    },
    /// A message refused, with the answer's status and reason.
    Error {
        /// The request's number, when it could be read.
        req: Option<u64>,
        /// The HTTP-like status.
        status: u16,
        /// Why.
        message: String,
    },
    /// The connection is to close with this code and reason.
    Close {
        /// The WebSocket close code.
        code: u16,
        /// The reason.
        reason: String,
    },
    /// The client was idle too long.
    Idle,
    /// The connection is gone.
    Gone,
}

/// A control message as it arrives (subscribe is parsed on its own, strictly).
#[derive(Deserialize)]
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
    #[serde(default)]
    model: Option<u32>,
}

/// Aborts the reader task when the connection ends, however it ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn connection(served: Arc<Served>, caller: Caller, socket: WebSocket, slot: Slot) {
    let (sink, stream) = socket.split();
    let (tx, rx) = mpsc::channel(16);
    let limits = served.stream.limits.clone();
    // The reader's idle verdict also cuts short a write in progress: a client that
    // stops reading is dropped at the idle limit, not the idle limit plus a write's.
    let idle = Arc::new(tokio::sync::Notify::new());
    let _reader = AbortOnDrop(tokio::spawn(read_loop(stream, tx, limits, idle.clone())));
    write_loop(&served, &caller, sink, rx, &idle).await;
    drop(slot);
}

async fn read_loop(
    mut stream: futures_util::stream::SplitStream<WebSocket>,
    tx: mpsc::Sender<Cmd>,
    limits: StreamLimits,
    idle: Arc<tokio::sync::Notify>,
) {
    use governor::{Quota, RateLimiter};
    let per_s = std::num::NonZeroU32::new(limits.messages_per_second.max(1))
        .unwrap_or(std::num::NonZeroU32::MIN);
    let burst = std::num::NonZeroU32::new(limits.messages_per_second.max(1) * 2).unwrap_or(per_s);
    let limiter = RateLimiter::direct(Quota::per_second(per_s).allow_burst(burst));
    let mut refused = 0u32;
    loop {
        let cmd = match tokio::time::timeout(limits.idle, stream.next()).await {
            Err(_) => {
                idle.notify_one();
                Cmd::Idle
            }
            Ok(None) => Cmd::Gone,
            Ok(Some(Err(e))) => {
                let too_big = std::error::Error::source(&e)
                    .and_then(|s| s.downcast_ref::<tungstenite::Error>())
                    .is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)));
                if too_big {
                    Cmd::Close {
                        code: 1009,
                        reason: format!("a message of more than {} bytes", limits.max_text_bytes),
                    }
                } else {
                    Cmd::Gone
                }
            }
            Ok(Some(Ok(msg))) => match msg {
                Message::Text(text) => {
                    if limiter.check().is_err() {
                        refused += 1;
                        if refused >= limits.max_refused {
                            Cmd::Close {
                                code: 1008,
                                reason: format!("{refused} messages refused"),
                            }
                        } else {
                            Cmd::Error {
                                req: None,
                                status: 429,
                                message: format!(
                                    "over {} messages a second; this one was dropped",
                                    limits.messages_per_second
                                ),
                            }
                        }
                    } else {
                        let cmd = parse(text.as_str());
                        if matches!(cmd, Cmd::Error { .. }) {
                            refused += 1;
                        }
                        cmd
                    }
                }
                Message::Binary(_) => Cmd::Close {
                    code: 1003,
                    reason: "binary messages are not accepted".into(),
                },
                Message::Close(_) => Cmd::Gone,
                Message::Ping(_) | Message::Pong(_) => continue,
            },
        };
        let last = matches!(cmd, Cmd::Idle | Cmd::Gone | Cmd::Close { .. });
        if tx.send(cmd).await.is_err() || last {
            return;
        }
    }
}

/// Reads one control message (docs/stream.md §3); anything malformed is a
/// [`Cmd::Error`] with the reason.
pub fn parse(text: &str) -> Cmd {
    let env: Envelope = match serde_json::from_str(text) {
        Ok(e) => e,
        Err(e) => {
            return Cmd::Error {
                req: None,
                status: 400,
                message: format!("not a control message: {e}"),
            };
        }
    };
    let bad = |message: String| Cmd::Error {
        req: env.req,
        status: 400,
        message,
    };
    match env.kind.as_str() {
        "subscribe" => {
            let mut v: Json = serde_json::from_str(text).unwrap_or(Json::Null);
            if let Some(o) = v.as_object_mut() {
                o.remove("type");
            }
            match serde_json::from_value::<Subscribe>(v) {
                Ok(s) => Cmd::Subscribe(Box::new(s)),
                Err(e) => bad(format!("`subscribe`: {e}")),
            }
        }
        "ack" => match env.alert {
            Some(alert) => Cmd::Ack {
                req: env.req,
                alert,
            },
            None => bad("`ack` needs `alert`, the alert's id".into()),
        },
        "get_incident" => match env.incident {
            Some(incident) => Cmd::GetIncident {
                req: env.req,
                incident,
            },
            None => bad("`get_incident` needs `incident`, the incident's id".into()),
        },
        "get_incidents" => match env.at {
            Some(at) => Cmd::IncidentsAt { req: env.req, at },
            None => bad("`get_incidents` needs `at`, a time in UTC ms".into()),
        },
        "step" => match (env.order, env.action) {
            (Some(order), Some(action)) => Cmd::Step {
                req: env.req,
                order,
                action,
                body: StepBody {
                    note: env.note.unwrap_or_default(),
                    unit: env.unit,
                },
            },
            _ => bad("`step` needs `order` (the order's id) and `action`".into()),
        },
        "get_model" => match env.model {
            Some(model) => Cmd::GetModel {
                req: env.req,
                model,
            },
            None => bad("`get_model` needs `model`, the model's index in the hello".into()),
        },
        "ping" => Cmd::Ping { req: env.req },
        other => bad(format!(
            "unknown message type `{other}` (subscribe, ack, step, get_incident, get_incidents, get_model, ping)"
        )),
    }
}

/// The writer's state for one client.
struct Client {
    framer: Framer,
    /// The newest `subscribe` not yet applied, and when one was last applied.
    pending_sub: Option<Subscribe>,
    last_sub: Option<tokio::time::Instant>,
    sub: Option<(Subscribe, Resolved)>,
    dirty_colors: Bits,
    dirty_values: Bits,
    /// Replies and control messages, in order.
    replies: VecDeque<String>,
    events: VecDeque<Arc<str>>,
    /// Events numbered up to this are in the last `alerts` list sent.
    events_seen: u64,
    alerts_due: bool,
    vitals: Option<Arc<str>>,
    status: Option<String>,
    epoch: u64,
    snapshot_end: Option<u64>,
    generation: u64,
    skipped: u64,
    ping_due: bool,
    /// A model being sent: the request, the model, the next offset.
    sending: Option<(Option<u64>, u32, usize)>,
}

fn error_text(req: Option<u64>, status: u16, message: &str, fatal: bool) -> String {
    json!({"type": "error", "req": req, "status": status, "message": message, "fatal": fatal})
        .to_string()
}

/// Why a connection ended.
enum End {
    Slow,
    Idle,
    Gone,
    Closed,
}

async fn write_loop(
    served: &Arc<Served>,
    caller: &Caller,
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Cmd>,
    idle: &tokio::sync::Notify,
) {
    let hub = &served.stream;
    let limits = hub.limits.clone();
    let mut ticks = hub.tx.subscribe();
    let (hello, generation) = hello(served, caller);
    let mut c = Client {
        framer: Framer::default(),
        pending_sub: None,
        last_sub: None,
        sub: None,
        dirty_colors: Bits::new(0),
        dirty_values: Bits::new(0),
        replies: VecDeque::from([hello]),
        events: VecDeque::new(),
        events_seen: 0,
        alerts_due: false,
        vitals: None,
        status: None,
        epoch: 0,
        snapshot_end: None,
        generation,
        skipped: 0,
        ping_due: false,
        sending: None,
    };
    let mut ping = tokio::time::interval_at(
        tokio::time::Instant::now() + limits.ping_every,
        limits.ping_every,
    );
    let end = loop {
        let mut first = true;
        let mut closing = None;
        // Wait for something, then take whatever else is ready without waiting.
        loop {
            let cmd = if first {
                first = false;
                tokio::select! {
                    biased;
                    cmd = rx.recv() => Some(cmd.unwrap_or(Cmd::Gone)),
                    t = ticks.recv() => { c.tick(served, t); None }
                    _ = ping.tick() => { c.ping_due = true; None }
                }
            } else {
                match rx.try_recv() {
                    Ok(cmd) => Some(cmd),
                    Err(_) => {
                        match ticks.try_recv() {
                            Ok(t) => c.tick(served, Ok(t)),
                            Err(broadcast::error::TryRecvError::Lagged(n)) => {
                                c.tick(served, Err(broadcast::error::RecvError::Lagged(n)))
                            }
                            Err(_) => break,
                        }
                        None
                    }
                }
            };
            if let Some(cmd) = cmd {
                match cmd {
                    Cmd::Idle => {
                        hub.counters.dropped_idle.fetch_add(1, Ordering::Relaxed);
                        closing = Some((
                            1008,
                            format!("nothing received for {} s", limits.idle.as_secs()),
                        ));
                        break;
                    }
                    Cmd::Gone => {
                        closing = Some((0, String::new()));
                        break;
                    }
                    Cmd::Close { code, reason } => {
                        closing = Some((code, reason));
                        break;
                    }
                    other => c.command(served, caller, other),
                }
            }
        }
        if let Some((code, reason)) = closing {
            if code != 0 {
                let frame = CloseFrame {
                    code,
                    reason: reason.into(),
                };
                let _ = tokio::time::timeout(
                    Duration::from_secs(1),
                    sink.send(Message::Close(Some(frame))),
                )
                .await;
                break End::Closed;
            }
            break End::Gone;
        }
        if let Err(end) = c.round(served, &mut sink, &limits, idle).await {
            break end;
        }
    };
    if matches!(end, End::Idle) {
        hub.counters.dropped_idle.fetch_add(1, Ordering::Relaxed);
    }
    if matches!(end, End::Slow) {
        hub.counters.dropped_slow.fetch_add(1, Ordering::Relaxed);
        eprintln!(
            "twin serve: stream of `{}` dropped: a write took longer than {} s",
            caller.name,
            limits.write_timeout.as_secs()
        );
    }
}

/// The `hello` message and the generation it describes.
fn hello(served: &Served, caller: &Caller) -> (String, u64) {
    let s = served.read();
    let store = s.store();
    let channels: Vec<Json> = store
        .channels()
        .map(|(id, spec)| {
            let mut v = serde_json::to_value(spec).unwrap_or(Json::Null);
            v["id"] = json!(id.0);
            v
        })
        .collect();
    let towns: Vec<Json> = s
        .twin()
        .iter()
        .filter(|(_, a)| a.kind == twin_core::AssetKind::Town)
        .map(|(h, a)| json!({"id": a.id, "name": a.display_name(), "handle": h.0}))
        .collect();
    let l = &served.stream.limits;
    let text = json!({
        "type": "hello",
        "protocol": PROTOCOL,
        "server": "twin serve",
        "version": env!("CARGO_PKG_VERSION"),
        "title": served.title,
        "caller": {"name": caller.name, "role": caller.role.as_str()},
        "generation": s.generation(),
        "fingerprint": s.twin().fingerprint(),
        "handles": s.twin().handle_capacity(),
        "now": s.now().as_millis(),
        "channels": channels,
        "layers": s.overlay().layers().iter().map(|l| l.name.clone()).collect::<Vec<_>>(),
        "overlays": std::iter::once(json!({"name": "default", "layers": s.overlay().layers().iter().map(|l| l.name.clone()).collect::<Vec<_>>()}))
            .chain(served.overlays().iter().map(|o| json!({"name": o.name, "layers": o.layers.iter().map(|l| l.name.clone()).collect::<Vec<_>>()})))
            .collect::<Vec<_>>(),
        "towns": towns,
        "models": served.models().iter().map(|m| &m.info).collect::<Vec<_>>(),
        "limits": {
            "messages_per_second": l.messages_per_second,
            "max_text_bytes": l.max_text_bytes,
            "idle_s": l.idle.as_secs(),
            "ping_s": l.ping_every.as_secs(),
            "frame_bytes": l.frame_bytes,
            "tick_ms": l.tick.as_millis() as u64,
        },
    });
    (text.to_string(), s.generation())
}

impl Client {
    fn command(&mut self, served: &Served, caller: &Caller, cmd: Cmd) {
        match cmd {
            // The latest wins; applied at the next round, at most once a tick.
            Cmd::Subscribe(sub) => {
                if let Some(old) = self.pending_sub.replace(*sub)
                    && old.req.is_some()
                {
                    self.replies
                        .push_back(json!({"type": "superseded", "req": old.req}).to_string());
                }
            }
            Cmd::Ack { req, alert } => {
                let text = tokio::task::block_in_place(|| acknowledge_alert(served, caller, alert));
                self.replies.push_back(match text {
                    Ok(a) => json!({"type": "ack_result", "req": req, "alert": a}).to_string(),
                    Err(e) => error_text(req, e.status.as_u16(), &e.reason, false),
                });
            }
            // Incidents and orders are per process: not on a district's stream.
            Cmd::GetIncident { req, .. } | Cmd::IncidentsAt { req, .. } | Cmd::Step { req, .. }
                if served.district().is_some() =>
            {
                self.replies.push_back(error_text(
                    req,
                    404,
                    "incidents and orders are not merged across a district",
                    false,
                ));
            }
            Cmd::GetIncident { req, incident } => {
                let text = tokio::task::block_in_place(|| {
                    let s = served.read();
                    s.incidents()
                        .get(incident)
                        .map(|i| twin_core::session::views::incident_json(&s, i, true))
                });
                self.replies.push_back(match text {
                    Some(i) => {
                        json!({"type": "incident_detail", "req": req, "incident": i}).to_string()
                    }
                    None => error_text(req, 404, &format!("no incident {incident}"), false),
                });
            }
            Cmd::IncidentsAt { req, at } => {
                let t = twin_core::Timestamp::from_millis(at);
                let text = tokio::task::block_in_place(|| {
                    let s = served.read();
                    let list: Vec<Json> = s
                        .incidents()
                        .open_at(t)
                        .into_iter()
                        .take(manage::MANAGE_LISTED)
                        .map(|i| twin_core::session::views::incident_at_json(&s, i, t))
                        .collect();
                    json!({"type": "incidents_at", "req": req, "at": at, "incidents": list})
                        .to_string()
                });
                self.replies.push_back(text);
            }
            Cmd::Step {
                req,
                order,
                action,
                body,
            } => {
                let text = tokio::task::block_in_place(|| {
                    take_step(
                        served,
                        caller,
                        order,
                        &action,
                        &body,
                        twin_core::session::views::order_brief_json,
                    )
                });
                self.replies.push_back(match text {
                    Ok(o) => json!({"type": "step_result", "req": req, "order": o}).to_string(),
                    Err(e) => error_text(req, e.status.as_u16(), &e.reason, false),
                });
            }
            Cmd::GetModel { req, model } => {
                if served.models().get(model as usize).is_none() {
                    self.replies.push_back(error_text(
                        req,
                        404,
                        &format!("no model {model}"),
                        false,
                    ));
                } else if self.sending.is_some() {
                    // One at a time: a client cannot queue the same megabytes twice.
                    self.replies.push_back(error_text(
                        req,
                        429,
                        "a model is being sent: ask for the next when `model_end` came",
                        false,
                    ));
                } else {
                    self.sending = Some((req, model, 0));
                }
            }
            Cmd::Ping { req } => self
                .replies
                .push_back(json!({"type": "pong", "req": req}).to_string()),
            Cmd::Error {
                req,
                status,
                message,
            } => self
                .replies
                .push_back(error_text(req, status, &message, false)),
            Cmd::Close { .. } | Cmd::Idle | Cmd::Gone => {}
        }
    }

    fn subscribe(&mut self, served: &Served, sub: Subscribe) {
        let req = sub.req;
        // A walk over every asset under the read lock: off the async worker.
        let resolved = tokio::task::block_in_place(|| {
            let s = served.read();
            let r = sub::resolve(&sub, &s, served.overlays());
            self.generation = s.generation();
            r
        });
        match resolved {
            Err(message) => self
                .replies
                .push_back(error_text(req, 400, &message, false)),
            Ok(res) => {
                self.install(res, sub);
                self.epoch += 1;
                self.snapshot_end = Some(self.epoch);
                let (_, r) = self.sub.as_ref().expect("just installed");
                self.replies.push_back(
                    json!({"type": "subscribed", "req": req, "epoch": self.epoch, "handles": r.selected}).to_string(),
                );
                self.alerts_due = true;
                self.vitals = served.stream.latest_vitals();
            }
        }
    }

    /// Installs a new subscription: handles new to it are sent in full, handles that
    /// stay subscribed are sent only if they were still to be sent.
    fn install(&mut self, res: Resolved, sub: Subscribe) {
        let n = res.colors.capacity();
        // Values already sent count only if the same channels were asked; a handle
        // newly pinned gets every channel even if its filter values were sent.
        let (mut old_c, old_v) = match &self.sub {
            Some((_, old)) if old.channels == res.channels => (
                old.colors.clone(),
                old.values.minus(&res.pins.minus(&old.pins)),
            ),
            Some((_, old)) => (old.colors.clone(), Bits::new(n)),
            None => (Bits::new(n), Bits::new(n)),
        };
        // Another overlay: every colour is new.
        if self
            .sub
            .as_ref()
            .is_some_and(|(_, old)| old.overlay != res.overlay)
        {
            old_c = Bits::new(n);
        }
        let mut dc = res.colors.minus(&old_c);
        dc.union_with(&res.colors.intersect(&self.dirty_colors));
        let mut dv = res.values.minus(&old_v);
        dv.union_with(&res.values.intersect(&self.dirty_values));
        self.dirty_colors = dc;
        self.dirty_values = dv;
        self.sub = Some((sub, res));
    }

    /// Everything subscribed is sent again (after falling behind, or a new asset set).
    fn resend_all(&mut self, served: &Served) {
        if let Some((_, r)) = &self.sub {
            self.dirty_colors = r.colors.clone();
            self.dirty_values = r.values.clone();
            self.alerts_due = true;
            // Vitals are sent when they change: the ticks skipped may have held some.
            self.vitals = served.stream.latest_vitals();
        }
    }

    fn tick(&mut self, served: &Served, t: Result<Arc<hub::Tick>, broadcast::error::RecvError>) {
        let tick = match t {
            Ok(t) => t,
            Err(broadcast::error::RecvError::Lagged(_)) => {
                self.skipped += 1;
                served
                    .stream
                    .counters
                    .resyncs
                    .fetch_add(1, Ordering::Relaxed);
                self.resend_all(served);
                self.events.clear();
                return;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if let Some(status) = &tick.status {
            let mut v = (**status).clone();
            v["skipped_rounds"] = json!(self.skipped);
            self.status = Some(v.to_string());
        }
        if tick.generation != self.generation {
            let fingerprint = served.stream.mirror().fingerprint.clone();
            self.replies.push_back(
                json!({"type": "assets_changed", "generation": tick.generation, "fingerprint": fingerprint})
                    .to_string(),
            );
            // The old handles mean nothing in the new asset set.
            self.dirty_colors.clear();
            self.dirty_values.clear();
            self.events.clear();
            if let Some((sub, _)) = self.sub.take() {
                self.subscribe(served, sub);
            }
            self.generation = tick.generation;
            return;
        }
        let Some((_, r)) = &self.sub else {
            return;
        };
        for range in tick
            .colors
            .get(usize::from(r.overlay))
            .into_iter()
            .flatten()
        {
            for h in range.clone() {
                if r.colors.has(h) {
                    self.dirty_colors.set(h);
                }
            }
        }
        for range in &tick.values {
            for h in range.clone() {
                if r.values.has(h) {
                    self.dirty_values.set(h);
                }
            }
        }
        if tick.events_lost {
            self.alerts_due = true;
            self.events.clear();
        }
        for e in &tick.events {
            if e.seq <= self.events_seen {
                continue;
            }
            if let Some(towns) = &r.towns
                && !e.town.is_some_and(|t| towns.contains(&t))
            {
                continue;
            }
            self.events.push_back(e.text.clone());
        }
        for m in &tick.manage {
            if m.passes(r.towns.as_ref()) {
                self.events.push_back(m.text.clone());
            }
        }
        if self.events.len() > served.stream.limits.events_queued {
            self.events.clear();
            self.alerts_due = true;
        }
        if tick.vitals.is_some() {
            self.vitals = tick.vitals.clone();
        }
    }

    /// The `alerts` message: the open alerts of the subscribed towns, and the newest
    /// event number they include; then, outside district mode, the `manage` message of
    /// the same towns.
    fn alerts(&mut self, served: &Served) -> Vec<String> {
        // The session first, then the log: events are numbered under the session's
        // write lock, so every event up to `last` is in this state and none after.
        let s = served.read();
        let (_, last) = served.events_after(u64::MAX, 0);
        let towns = self.sub.as_ref().and_then(|(_, r)| r.towns.as_ref());
        let open: Vec<Json> = served
            .open_alerts(&s)
            .iter()
            .filter(|a| towns.is_none_or(|t| a.town.is_some_and(|x| t.contains(&x))))
            .map(|a| alert_json(&s, a))
            .collect();
        self.events_seen = last;
        self.events.clear();
        let mut out = vec![json!({"type": "alerts", "last_seq": last, "open": open}).to_string()];
        if served.district().is_none() {
            out.push(manage::snapshot(&s, towns));
        }
        out
    }

    /// Sends one round: control replies, alerts, events, vitals, status, then frames
    /// of dirty handles up to the round's size.
    async fn round(
        &mut self,
        served: &Served,
        sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
        limits: &StreamLimits,
        idle: &tokio::sync::Notify,
    ) -> Result<(), End> {
        let counters = &served.stream.counters;
        let due = self
            .last_sub
            .is_none_or(|t| t.elapsed() >= served.stream.limits.tick);
        if due && let Some(sub) = self.pending_sub.take() {
            self.last_sub = Some(tokio::time::Instant::now());
            self.subscribe(served, sub);
        }
        let mut texts: Vec<String> = self.replies.drain(..).collect();
        if self.alerts_due && self.sub.is_some() {
            self.alerts_due = false;
            let text = self.alerts(served);
            texts.extend(text);
        }
        let mut shared: Vec<Arc<str>> = self.events.drain(..).collect();
        if let Some(v) = self.vitals.take() {
            shared.push(v);
        }
        for t in texts {
            send(sink, Message::text(t), limits, counters, idle).await?;
        }
        for t in shared {
            send(sink, Message::text(t.to_string()), limits, counters, idle).await?;
        }
        if let Some(s) = self.status.take() {
            send(sink, Message::text(s), limits, counters, idle).await?;
        }
        if self.ping_due {
            self.ping_due = false;
            send(
                sink,
                Message::Ping(Default::default()),
                limits,
                counters,
                idle,
            )
            .await?;
        }
        let mut budget = limits.round_bytes;
        // A model's pieces go before the state frames, within the same round budget.
        // (Models are fixed at start: an index accepted by `get_model` stays valid.)
        if let Some((req, index, mut offset)) = self.sending.take()
            && let Some(m) = served.models().get(index as usize)
        {
            let now = served.stream.now.load(Ordering::Relaxed);
            let generation = served.stream.mirror().generation;
            let piece = limits.frame_bytes.max(1024) - HEADER - FILE_PIECE_HEADER;
            while budget > 0 && offset < m.bytes.len() {
                let end = (offset + piece).min(m.bytes.len());
                let frame = self.framer.file_piece(
                    index,
                    offset as u32,
                    &m.bytes[offset..end],
                    m.bytes.len() as u32,
                    generation,
                    now,
                );
                budget = budget.saturating_sub(frame.len());
                offset = end;
                counters.frames.fetch_add(1, Ordering::Relaxed);
                send(sink, Message::binary(frame), limits, counters, idle).await?;
            }
            if offset < m.bytes.len() {
                self.sending = Some((req, index, offset));
            } else {
                let text = json!({"type": "model_end", "req": req, "model": index, "bytes": m.bytes.len()})
                    .to_string();
                send(sink, Message::text(text), limits, counters, idle).await?;
            }
        }
        while budget > 0 && !(self.dirty_colors.is_empty() && self.dirty_values.is_empty()) {
            let frame = {
                let m = served.stream.mirror();
                let now = served.stream.now.load(Ordering::Relaxed);
                let size = limits.frame_bytes.max(1024).min(budget.max(1024));
                if !self.dirty_colors.is_empty() {
                    let overlay = self.sub.as_ref().map_or(0, |(_, r)| r.overlay);
                    self.framer
                        .colors(&mut self.dirty_colors, &m, overlay, now, size)
                } else {
                    // Borrowed, not copied: a frame is composed many times a second.
                    let Some((_, r)) = &self.sub else { break };
                    self.framer
                        .values(&mut self.dirty_values, &r.channels, &r.pins, &m, now, size)
                }
            };
            let Some(frame) = frame else { break };
            budget = budget.saturating_sub(frame.len());
            counters.frames.fetch_add(1, Ordering::Relaxed);
            send(sink, Message::binary(frame), limits, counters, idle).await?;
        }
        if let Some(epoch) = self.snapshot_end
            && self.dirty_colors.is_empty()
            && self.dirty_values.is_empty()
        {
            self.snapshot_end = None;
            let text = json!({"type": "snapshot_end", "epoch": epoch}).to_string();
            send(sink, Message::text(text), limits, counters, idle).await?;
        }
        Ok(())
    }
}

async fn send(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    msg: Message,
    limits: &StreamLimits,
    counters: &StreamCounters,
    idle: &tokio::sync::Notify,
) -> Result<(), End> {
    let len = match &msg {
        Message::Text(t) => t.len(),
        Message::Binary(b) => b.len(),
        _ => 0,
    };
    tokio::select! {
        r = tokio::time::timeout(limits.write_timeout, sink.send(msg)) => match r {
            Err(_) => Err(End::Slow),
            Ok(Err(_)) => Err(End::Gone),
            Ok(Ok(())) => {
                counters.bytes.fetch_add(len as u64, Ordering::Relaxed);
                Ok(())
            }
        },
        // The reader found the client idle while this write waited.
        () = idle.notified() => Err(End::Idle),
    }
}
