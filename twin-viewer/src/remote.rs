//! The viewer on a served twin (`--connect URL`): a thread holds the stream's
//! WebSocket ([`twin_client`]), reconnecting with back-off, and passes what arrives to
//! the frame loop, which applies it with [`twin_core::stream::Remote`] as the web page
//! does: colours and the pinned assets' values into the viewer's own session, alerts
//! and vital-sign rows from their JSON into the types the panels already draw.
//!
//! The viewer subscribes to every asset's colour and to the values of the selected
//! asset and the sensors attached to it (`pins`), so what it draws is the server's and
//! what it receives stays small however large the district is. An operator's token
//! can acknowledge alerts; the answer comes back as the stream's `acknowledged` event.

use std::collections::BTreeMap;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use twin_client::{Backoff, Failure, Incoming, Options};
use twin_core::state::alert::{Alert, AlertEvent, AlertState, Severity};
use twin_core::state::vitals::{ChannelStats, VitalRow};
use twin_core::stream::{Applied, Remote};
use twin_core::{Handle, Session, Timestamp, Twin};

/// Messages the frame loop applies per frame at most; also the bound of the queue
/// between the link's thread and the frame loop. When the viewer falls behind, the
/// thread stops reading and the server treats the viewer as a slow client (it skips
/// rounds and later resends whole state; docs/stream.md §7), so memory stays bounded.
pub const PER_FRAME: usize = 4096;

/// What the link's thread passes to the frame loop.
#[derive(Debug)]
pub enum FromServer {
    /// Connected: JSON messages and frames follow, `hello` first.
    Connected,
    /// A JSON message.
    Json(Value),
    /// A binary frame.
    Binary(Vec<u8>),
    /// The connection was lost; the thread tries again after `wait`.
    Lost {
        /// Why.
        why: String,
        /// Until the next attempt.
        wait: Duration,
    },
    /// Refused for good (token, certificate, address); the thread has ended.
    Refused(String),
}

/// What the frame loop asks of the link's thread.
#[derive(Debug)]
enum ToServer {
    /// Send this JSON message.
    Send(Value),
    /// Close the stream and end (the server holds other assets).
    Close,
}

/// Where the link stands.
#[derive(Clone, Debug, PartialEq)]
pub enum LinkState {
    /// Dialling.
    Connecting,
    /// Receiving.
    Live,
    /// Lost; trying again.
    Lost(String),
    /// Refused for good.
    Refused(String),
}

/// Counters of what arrived (the viewer prints them on exit).
#[derive(Clone, Copy, Debug, Default)]
pub struct LinkCounts {
    /// Connections made.
    pub connections: u64,
    /// Colour frames applied.
    pub color_frames: u64,
    /// Colour runs in them.
    pub color_runs: u64,
    /// Value records applied.
    pub values: u64,
    /// Frames refused as malformed.
    pub bad_frames: u64,
    /// Alert events received.
    pub events: u64,
    /// Vital-sign tables received.
    pub vitals: u64,
}

/// The viewer's side of a served twin.
pub struct Link {
    /// The server's address, as given.
    pub url: String,
    /// Where it stands.
    pub state: LinkState,
    /// The stream's state (after the first hello).
    pub remote: Option<Remote>,
    /// Open alerts, by id.
    pub open: BTreeMap<u64, Alert>,
    /// The latest vital-sign rows.
    pub vitals: Vec<VitalRow>,
    /// The server's ingest rate.
    pub samples_per_s: f64,
    /// What arrived.
    pub counts: LinkCounts,
    /// The last refusal the server sent (`error`).
    pub last_error: Option<String>,
    /// Live incidents, by id, as the server shows them (`manage`, `incident`).
    pub incidents: BTreeMap<u64, Value>,
    /// Live orders, by id (`manage`, `order`, `step_result`).
    pub orders: BTreeMap<u64, Value>,
    /// The latest incident detail asked for (`get_incident`).
    pub detail: Option<Value>,
    /// Asset ids whose values are subscribed.
    pins: Vec<String>,
    /// The server's overlay whose colours are drawn (`None`: its default).
    overlay: Option<String>,
    // A Mutex only to be Sync (bevy resources are): one frame loop reads it.
    rx: std::sync::Mutex<Receiver<FromServer>>,
    tx: Sender<ToServer>,
    snapshot_done: bool,
}

impl Link {
    /// Starts the link's thread; `overlay` names one of the server's overlays
    /// (`twin serve --overlay`) to draw instead of its default.
    pub fn start(url: &str, options: Options, overlay: Option<String>) -> Link {
        let (to_viewer, rx) = mpsc::sync_channel(PER_FRAME);
        let (tx, from_viewer) = mpsc::channel();
        let u = url.to_string();
        std::thread::Builder::new()
            .name("twin-link".into())
            .spawn(move || run(&u, &options, &to_viewer, &from_viewer))
            .expect("a thread starts");
        Link {
            url: url.to_string(),
            state: LinkState::Connecting,
            remote: None,
            open: BTreeMap::new(),
            vitals: Vec::new(),
            samples_per_s: 0.0,
            counts: LinkCounts::default(),
            last_error: None,
            incidents: BTreeMap::new(),
            orders: BTreeMap::new(),
            detail: None,
            pins: Vec::new(),
            overlay,
            rx: std::sync::Mutex::new(rx),
            tx,
            snapshot_done: false,
        }
    }

    /// Who the server says the token belongs to, `name (role)`.
    pub fn caller(&self) -> Option<String> {
        let c = &self.remote.as_ref()?.hello.caller;
        Some(format!("{} ({})", c.name, c.role))
    }

    /// Whether the token may acknowledge.
    pub fn can_acknowledge(&self) -> bool {
        self.remote
            .as_ref()
            .is_some_and(|r| matches!(r.hello.caller.role.as_str(), "operator" | "admin"))
    }

    /// Whether the snapshot after the latest hello has arrived whole.
    pub fn snapshot_done(&self) -> bool {
        self.snapshot_done
    }

    /// Asks the server to acknowledge an alert.
    pub fn acknowledge(&self, alert: u64) {
        let _ = self
            .tx
            .send(ToServer::Send(json!({"type": "ack", "alert": alert})));
    }

    /// Asks for an incident's detail (its footprint); it arrives in [`Link::detail`].
    pub fn request_incident(&self, incident: u64) {
        let _ = self.tx.send(ToServer::Send(
            json!({"type": "get_incident", "incident": incident}),
        ));
    }

    /// Asks the server to take a step on an order as the token (the answer updates
    /// [`Link::orders`]; a refusal lands in [`Link::last_error`]).
    pub fn step(&self, order: u64, action: &str, note: &str) {
        let _ = self.tx.send(ToServer::Send(
            json!({"type": "step", "order": order, "action": action, "note": note, "req": order}),
        ));
    }

    /// The token's role (`viewer`, `operator`, `admin`).
    pub fn role(&self) -> &str {
        self.remote
            .as_ref()
            .map_or("viewer", |r| r.hello.caller.role.as_str())
    }

    /// Subscribes to the values of these assets (the selection and its sensors).
    pub fn pin(&mut self, ids: Vec<String>) {
        if ids != self.pins {
            self.pins = ids;
            self.subscribe();
        }
    }

    fn subscribe(&self) {
        let mut sub = json!({
            "type": "subscribe",
            "colors": true,
            "values": [],
            "pins": self.pins,
        });
        if let Some(o) = &self.overlay {
            sub["overlay"] = json!(o);
        }
        let _ = self.tx.send(ToServer::Send(sub));
    }

    /// Applies what arrived (at most [`PER_FRAME`] messages). Returns the colour
    /// ranges that changed (all of them after a new hello) and the alert events. When
    /// the server's assets differ from the viewer's the link is refused.
    pub fn poll(&mut self, session: &mut Session) -> (Vec<std::ops::Range<u32>>, Vec<AlertEvent>) {
        let mut changed = Vec::new();
        let mut events = Vec::new();
        let mut arrived = Vec::new();
        {
            let rx = match self.rx.lock() {
                Ok(rx) => rx,
                Err(poisoned) => poisoned.into_inner(),
            };
            while arrived.len() < PER_FRAME {
                match rx.try_recv() {
                    Ok(m) => arrived.push(m),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        if !matches!(self.state, LinkState::Refused(_)) {
                            self.state = LinkState::Refused("the link's thread ended".into());
                        }
                        break;
                    }
                }
            }
        }
        for msg in arrived {
            match msg {
                FromServer::Connected => {
                    self.state = LinkState::Live;
                    self.counts.connections += 1;
                }
                FromServer::Lost { why, wait } => {
                    self.state =
                        LinkState::Lost(format!("{why}; again in {:.0} s", wait.as_secs_f64()));
                }
                FromServer::Refused(why) => self.state = LinkState::Refused(why),
                FromServer::Binary(b) => {
                    let Some(remote) = self.remote.as_mut() else {
                        continue;
                    };
                    match remote.apply(session, &b) {
                        Ok(Applied::Colors { count, changed: c }) => {
                            self.counts.color_frames += 1;
                            self.counts.color_runs += u64::from(count);
                            changed.extend(c);
                        }
                        Ok(Applied::Values { applied, .. }) => {
                            self.counts.values += applied as u64;
                        }
                        Ok(Applied::Stale) => {}
                        Err(e) => {
                            self.counts.bad_frames += 1;
                            self.last_error = Some(e.to_string());
                        }
                    }
                }
                FromServer::Json(v) => self.on_json(session, &v, &mut changed, &mut events),
            }
        }
        (changed, events)
    }

    fn on_json(
        &mut self,
        session: &mut Session,
        v: &Value,
        changed: &mut Vec<std::ops::Range<u32>>,
        events: &mut Vec<AlertEvent>,
    ) {
        match v["type"].as_str().unwrap_or_default() {
            "hello" => {
                self.snapshot_done = false;
                match Remote::begin(session, &v.to_string(), self.remote.take()) {
                    Ok(r) => {
                        let now = Timestamp::from_millis(r.hello.now);
                        if now > session.now() {
                            session.advance(now);
                        }
                        self.remote = Some(r);
                        changed.push(0..session.twin().handle_capacity() as u32);
                        self.subscribe();
                    }
                    Err(e) => {
                        // Other assets: no reconnection will fix that.
                        self.state = LinkState::Refused(e.to_string());
                        let _ = self.tx.send(ToServer::Close);
                    }
                }
            }
            "alerts" => {
                self.open.clear();
                for a in v["open"].as_array().into_iter().flatten() {
                    if let Some(a) = alert(session.twin(), a) {
                        self.open.insert(a.id, a);
                    }
                }
            }
            "event" => {
                self.counts.events += 1;
                let Some(a) = alert(session.twin(), &v["alert"]) else {
                    return;
                };
                let e = match v["event"].as_str().unwrap_or_default() {
                    "raised" => AlertEvent::Raised(a.clone()),
                    "acknowledged" => AlertEvent::Acknowledged(a.clone()),
                    _ => AlertEvent::Cleared(a.clone()),
                };
                if a.state == AlertState::Cleared {
                    self.open.remove(&a.id);
                } else {
                    self.open.insert(a.id, a);
                }
                events.push(e);
            }
            "vitals" => {
                self.counts.vitals += 1;
                self.vitals = v["rows"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| vital_row(session, r))
                    .collect();
            }
            "status" => {
                self.samples_per_s = v["samples_per_s"].as_f64().unwrap_or(0.0);
                if let Some(now) = v["now"].as_i64() {
                    let now = Timestamp::from_millis(now);
                    if now > session.now() {
                        session.advance(now);
                    }
                }
            }
            "snapshot_end" => self.snapshot_done = true,
            "manage" => {
                let by_id = |list: &Value| -> BTreeMap<u64, Value> {
                    list.as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|x| Some((x["id"].as_u64()?, x.clone())))
                        .collect()
                };
                self.incidents = by_id(&v["incidents"]);
                self.orders = by_id(&v["orders"]);
            }
            "incident" => upsert(&mut self.incidents, &v["incident"]),
            "order" => upsert(&mut self.orders, &v["order"]),
            "step_result" => upsert(&mut self.orders, &v["order"]),
            "incident_detail" => self.detail = Some(v["incident"].clone()),
            "error" => {
                self.last_error = Some(format!(
                    "{} {}",
                    v["status"].as_u64().unwrap_or(0),
                    v["message"].as_str().unwrap_or("?")
                ));
            }
            _ => {}
        }
    }
}

/// Keeps a live incident or order by id; a closed one leaves.
fn upsert(map: &mut BTreeMap<u64, Value>, item: &Value) {
    let Some(id) = item["id"].as_u64() else {
        return;
    };
    if item["state"] == "closed" {
        map.remove(&id);
    } else {
        map.insert(id, item.clone());
    }
}

/// An alert from the stream's JSON, in the viewer's handles (`None` when the asset is
/// not in the viewer's twin).
fn alert(twin: &Twin, v: &Value) -> Option<Alert> {
    let asset_id = v["asset"].as_str()?.to_string();
    let asset = twin.handle(&asset_id)?;
    let ms = |k: &str| v[k].as_i64().map(Timestamp::from_millis);
    Some(Alert {
        id: v["id"].as_u64()?,
        rule: v["rule"].as_str().unwrap_or("?").to_string(),
        asset,
        asset_id,
        town: v["town"].as_str().and_then(|t| twin.handle(t)),
        severity: serde_json::from_value::<Severity>(v["severity"].clone()).ok()?,
        raised_at: ms("raised_at")?,
        value: v["value"].as_f64().unwrap_or(f64::NAN),
        state: serde_json::from_value::<AlertState>(v["state"].clone()).ok()?,
        acknowledged_at: ms("acknowledged_at"),
        cleared_at: ms("cleared_at"),
    })
}

/// A vital-sign row from the stream's JSON, channels by the viewer's ids.
fn vital_row(session: &Session, r: &Value) -> Option<VitalRow> {
    let n = |v: &Value| v.as_u64().unwrap_or(0) as usize;
    let region = session.twin().handle(r["region"].as_str()?)?;
    let mut channels = BTreeMap::new();
    for (name, s) in r["channels"].as_object().into_iter().flatten() {
        if let Some(id) = session.store().channel(name) {
            channels.insert(
                id,
                ChannelStats {
                    count: n(&s["count"]),
                    mean: s["mean"].as_f64().unwrap_or(f64::NAN),
                    max: s["max"].as_f64().unwrap_or(f64::NAN),
                },
            );
        }
    }
    let sensors = n(&r["sensors"]);
    Some(VitalRow {
        region,
        name: r["name"].as_str().unwrap_or("?").to_string(),
        island: r["island"].as_bool().unwrap_or(false),
        sensors,
        // `offline` is what the server sends; online follows (and never exceeds).
        online: sensors.saturating_sub(n(&r["offline"])),
        channels,
        alerts: [
            n(&r["alerts"]["info"]),
            n(&r["alerts"]["warning"]),
            n(&r["alerts"]["critical"]),
        ],
    })
}

/// The link's thread: connect, pass everything on, send what the viewer asks; after a
/// loss wait and connect again; after a refusal end.
fn run(url: &str, options: &Options, to: &SyncSender<FromServer>, from: &Receiver<ToServer>) {
    let mut backoff = Backoff::default();
    let options = Options {
        read_timeout: Some(Duration::from_millis(50)),
        ..options.clone()
    };
    loop {
        let began = Instant::now();
        let why = match connection(url, &options, to, from) {
            Ok(Stop::Viewer) => return,
            // The frame loop asked (and has said why).
            Ok(Stop::Closed) => return,
            Err(Failure::Refused(why)) => {
                let _ = to.send(FromServer::Refused(why));
                return;
            }
            Err(Failure::Lost(why)) => why,
        };
        let wait = backoff.wait(began.elapsed());
        if to.send(FromServer::Lost { why, wait }).is_err() {
            return;
        }
        std::thread::sleep(wait);
    }
}

enum Stop {
    /// The viewer has gone.
    Viewer,
    /// The viewer asked to close (its assets differ from the server's).
    Closed,
}

fn connection(
    url: &str,
    options: &Options,
    to: &SyncSender<FromServer>,
    from: &Receiver<ToServer>,
) -> Result<Stop, Failure> {
    let mut ws = twin_client::connect(url, options)?;
    if to.send(FromServer::Connected).is_err() {
        return Ok(Stop::Viewer);
    }
    loop {
        let msg = match ws.read()? {
            Incoming::Json(v) => Some(FromServer::Json(v)),
            Incoming::Binary(b) => Some(FromServer::Binary(b)),
            Incoming::Idle => None,
        };
        if let Some(msg) = msg
            && to.send(msg).is_err()
        {
            ws.close();
            return Ok(Stop::Viewer);
        }
        loop {
            match from.try_recv() {
                Ok(ToServer::Close) => {
                    ws.close();
                    return Ok(Stop::Closed);
                }
                Ok(ToServer::Send(m)) => ws.send(&m)?,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    ws.close();
                    return Ok(Stop::Viewer);
                }
            }
        }
    }
}

/// The ids to pin for a selected asset: it and the sensors attached to it (at most
/// 20, as the inspector lists them).
pub fn pins_for(twin: &Twin, selected: Option<Handle>, attached: &[Handle]) -> Vec<String> {
    let Some(h) = selected else {
        return Vec::new();
    };
    std::iter::once(h)
        .chain(attached.iter().copied().take(20))
        .filter_map(|h| twin.get(h).map(|a| a.id.clone()))
        .collect()
}
