//! One district across processes: several `twin serve` processes split the towns on
//! one MQTT broker, and each serves the whole district.
//!
//! Every process loads the same assets (equal [`twin_core::Twin::fingerprint`]s) and
//! takes the telemetry of its own towns (`--towns`, the `twin/<town>/#` filters). With
//! `--district N` it also:
//!
//! - **publishes** its status, retained, on `twin-district/<N>/status`, once a second
//!   when it changed and at least every [`REPUBLISH`]: its towns, the vital-sign rows
//!   of those towns and its open alerts (as `GET /api/v1/vitals` and `/alerts` show
//!   them). The message expires after [`EXPIRY`] (MQTT v5 message expiry), and the
//!   connection's last will empties it, so a process that died drops out of the
//!   district instead of being shown frozen;
//! - **reads** every other process's status (`twin-district/+/status`): town rows by
//!   town id, alerts in this process's handles, both checked against its own assets;
//! - **serves the merge**: town rows of towns it does not own are the owner's, island
//!   rows are merged again from the town rows ([`twin_core::state::vitals::island_rows`],
//!   the same arithmetic as one process with every town), open alerts are its own plus
//!   the others'. A change in another process's alerts becomes an alert event here (a
//!   new alert raised, a changed state acknowledged, a missing one cleared), so the
//!   live stream and `GET /api/v1/events` carry the district's events;
//! - **numbers its alerts** from `N << 40`, so an alert's id names its process, and
//!   **forwards acknowledgements** of another process's alert on
//!   `twin-district/<owner>/ack`, where the owner acknowledges it in its session.
//!
//! Limits, by design: the broker is the only link (no process talks to another), so
//! its access control must keep others off `twin-district/#`; a town no live process
//! owns shows this process's own (silent) row; the district's history, time travel and
//! asset queries are each process's own; a status is at most [`MAX_STATUS_BYTES`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Filter, LastWill, Packet, PublishProperties};
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use twin_core::state::alert::{Alert, AlertEvent, AlertState, Severity};
use twin_core::state::vitals::{ChannelStats, VitalRow};
use twin_core::{Handle, Session, Timestamp, Twin};

use crate::api::live::{alert_json, vital_json};
use crate::run::ServeError;
use crate::state::Served;

/// The topic root.
pub const ROOT: &str = "twin-district";
/// A status is published again at least this often, changed or not.
pub const REPUBLISH: Duration = Duration::from_secs(10);
/// A status expires on the broker (and is ignored here) this long after it was sent.
pub const EXPIRY: Duration = Duration::from_secs(30);
/// The largest status read.
pub const MAX_STATUS_BYTES: usize = 4 << 20;
/// Bits of an alert id below the process number.
pub const ID_BITS: u32 = 40;

/// The first alert id of process `n`.
pub fn first_alert_id(n: u8) -> u64 {
    (u64::from(n) << ID_BITS) | 1
}

/// The process an alert id belongs to (0: a process outside any district).
pub fn owner_of(alert: u64) -> u64 {
    alert >> ID_BITS
}

/// What another process said last.
#[derive(Debug, Default)]
struct Peer {
    /// When it sent it (its wall clock, ms).
    at_ms: i64,
    /// When it arrived here.
    seen: Option<Instant>,
    /// Its towns.
    towns: Vec<Handle>,
    /// Its towns' rows.
    rows: Vec<VitalRow>,
    /// Its open alerts, by id.
    alerts: BTreeMap<u64, Alert>,
}

/// Counters, under `district` in `/api/v1/status`.
#[derive(Debug, Default)]
pub struct DistrictCounters {
    /// Statuses published.
    pub published: AtomicU64,
    /// Statuses read from other processes.
    pub received: AtomicU64,
    /// Statuses refused (not JSON, too large, other assets, unknown towns).
    pub refused: AtomicU64,
    /// Statuses on this process's own topic from another process (the same number
    /// given twice).
    pub impostors: AtomicU64,
    /// Acknowledgements sent to another process.
    pub acks_forwarded: AtomicU64,
    /// Acknowledgements another process sent here.
    pub acks_received: AtomicU64,
}

/// This process's place in the district.
#[derive(Debug)]
pub struct District {
    /// Its number.
    pub process: u8,
    /// The towns it owns.
    pub towns: Vec<Handle>,
    peers: Mutex<BTreeMap<u8, Peer>>,
    acks: Mutex<Option<mpsc::Sender<(u8, Value)>>>,
    /// Counters.
    pub counters: DistrictCounters,
    /// This run's own mark in its statuses: a status on its own topic with another
    /// mark is a second process started with the same number.
    instance: String,
}

impl District {
    /// Process `process` owning `towns` (ids) of `twin`.
    pub fn new(process: u8, towns: &[String], twin: &Twin) -> Result<District, ServeError> {
        if process == 0 {
            return Err(ServeError::Mqtt(
                "--district: a number from 1 to 255".into(),
            ));
        }
        if towns.is_empty() {
            return Err(ServeError::Mqtt(
                "--district needs --towns: the towns this process owns".into(),
            ));
        }
        let mut handles = Vec::new();
        for t in towns {
            match twin.handle(t) {
                Some(h)
                    if twin
                        .get(h)
                        .is_some_and(|a| a.kind == twin_core::AssetKind::Town) =>
                {
                    handles.push(h)
                }
                _ => return Err(ServeError::Mqtt(format!("--towns: no town `{t}`"))),
            }
        }
        Ok(District {
            process,
            towns: handles,
            peers: Mutex::new(BTreeMap::new()),
            acks: Mutex::new(None),
            counters: DistrictCounters::default(),
            instance: format!(
                "{:x}-{:x}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |t| t.as_nanos())
            ),
        })
    }

    fn peers(&self) -> std::sync::MutexGuard<'_, BTreeMap<u8, Peer>> {
        self.peers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether this process owns the town `t` (an asset in no town: yes).
    fn owns(&self, t: Option<Handle>) -> bool {
        t.is_none_or(|t| self.towns.contains(&t))
    }

    /// The district's vital-sign rows: its own towns' rows, the owners' rows of the
    /// others, island rows merged from them.
    pub fn rows(&self, session: &Session) -> Vec<VitalRow> {
        let mut rows = session.vital_signs();
        rows.retain(|r| !r.island);
        let peers = self.peers();
        for r in rows.iter_mut() {
            if self.towns.contains(&r.region) {
                continue;
            }
            if let Some(theirs) = peers
                .values()
                .flat_map(|p| p.rows.iter())
                .find(|p| p.region == r.region)
            {
                *r = theirs.clone();
            }
        }
        let islands = twin_core::state::vitals::island_rows(session.twin(), &rows);
        rows.extend(islands);
        rows
    }

    /// The district's open alerts: this process's (in its towns) and the others'.
    pub fn open_alerts(&self, session: &Session) -> Vec<Alert> {
        let mut out: Vec<Alert> = session
            .alerts()
            .open()
            .filter(|a| self.owns(a.town))
            .cloned()
            .collect();
        for p in self.peers().values() {
            out.extend(p.alerts.values().cloned());
        }
        out.sort_by_key(|a| a.id);
        out
    }

    /// Asks the owner of `alert` to acknowledge it; false when the link is down or
    /// its queue is full.
    pub fn forward_ack(&self, alert: u64, by: &str) -> bool {
        let owner = owner_of(alert);
        let Ok(owner) = u8::try_from(owner) else {
            return false;
        };
        let tx = self.acks.lock().unwrap_or_else(PoisonError::into_inner);
        let sent = tx.as_ref().is_some_and(|tx| {
            tx.try_send((owner, json!({"alert": alert, "by": by})))
                .is_ok()
        });
        if sent {
            self.counters.acks_forwarded.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    /// An alert of another process, by id.
    pub fn peer_alert(&self, alert: u64) -> Option<Alert> {
        self.peers()
            .values()
            .find_map(|p| p.alerts.get(&alert).cloned())
    }

    /// Counters as JSON.
    pub fn status_json(&self) -> Value {
        let c = &self.counters;
        let v = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let peers: Vec<Value> = self
            .peers()
            .iter()
            .map(|(n, p)| {
                json!({"process": n, "at": p.at_ms, "towns": p.towns.len(), "open_alerts": p.alerts.len()})
            })
            .collect();
        json!({
            "process": self.process,
            "towns": self.towns.len(),
            "peers": peers,
            "published": v(&c.published),
            "received": v(&c.received),
            "refused": v(&c.refused),
            "impostors": v(&c.impostors),
            "acks_forwarded": v(&c.acks_forwarded),
            "acks_received": v(&c.acks_received),
        })
    }
}

/// This process's status message.
fn own_status(d: &District, session: &Session, wall_ms: i64) -> (Value, Value) {
    let twin = session.twin();
    let rows: Vec<VitalRow> = session
        .vital_signs()
        .into_iter()
        .filter(|r| !r.island && d.towns.contains(&r.region))
        .collect();
    // Alerts restored from a snapshot taken outside the district keep numbers that
    // do not name this process: they are served here and not published.
    let alerts: Vec<Value> = session
        .alerts()
        .open()
        .filter(|a| d.owns(a.town) && owner_of(a.id) == u64::from(d.process))
        .map(|a| alert_json(session, a))
        .collect();
    let body = json!({
        "fingerprint": twin.fingerprint(),
        "towns": d.towns.iter().filter_map(|t| twin.get(*t)).map(|a| a.id.clone()).collect::<Vec<_>>(),
        "rows": vital_json(session, &rows, false),
        "alerts": alerts,
    });
    let mut whole = body.clone();
    whole["process"] = json!(d.process);
    whole["instance"] = json!(d.instance);
    whole["at"] = json!(wall_ms);
    (body, whole)
}

/// An alert from a status, in this process's handles.
fn alert_of(twin: &Twin, v: &Value) -> Option<Alert> {
    let asset_id = v["asset"].as_str()?.to_string();
    let ms = |k: &str| v[k].as_i64().map(Timestamp::from_millis);
    Some(Alert {
        id: v["id"].as_u64()?,
        rule: v["rule"].as_str()?.to_string(),
        asset: twin.handle(&asset_id)?,
        asset_id,
        town: match v["town"].as_str() {
            Some(t) => Some(twin.handle(t)?),
            None => None,
        },
        severity: serde_json::from_value::<Severity>(v["severity"].clone()).ok()?,
        raised_at: ms("raised_at")?,
        value: v["value"].as_f64()?,
        state: serde_json::from_value::<AlertState>(v["state"].clone()).ok()?,
        acknowledged_at: ms("acknowledged_at"),
        cleared_at: ms("cleared_at"),
    })
}

/// A town row from a status, in this process's handles and channels.
fn row_of(session: &Session, r: &Value) -> Option<VitalRow> {
    let n = |v: &Value| v.as_u64().map(|x| x as usize);
    let mut channels = BTreeMap::new();
    for (name, s) in r["channels"].as_object()? {
        let id = session.store().channel(name)?;
        channels.insert(
            id,
            ChannelStats {
                count: n(&s["count"])?,
                mean: s["mean"].as_f64()?,
                max: s["max"].as_f64()?,
            },
        );
    }
    let sensors = n(&r["sensors"])?;
    Some(VitalRow {
        region: session.twin().handle(r["region"].as_str()?)?,
        name: r["name"].as_str()?.to_string(),
        island: false,
        sensors,
        online: sensors.checked_sub(n(&r["offline"])?)?,
        channels,
        alerts: [
            n(&r["alerts"]["info"])?,
            n(&r["alerts"]["warning"])?,
            n(&r["alerts"]["critical"])?,
        ],
    })
}

/// Another process's status, read and checked (outside the session's write lock).
struct Status {
    at_ms: i64,
    towns: Vec<Handle>,
    rows: Vec<VitalRow>,
    alerts: BTreeMap<u64, Alert>,
}

/// Reads a status payload against this process's twin; `Ok(None)` for an empty one
/// (the process left). Rows of towns the sender does not claim, and alerts outside
/// its number's range, are refused with the whole status: a status is all or nothing.
fn parse_status(session: &Session, from: u8, payload: &[u8]) -> Result<Option<Status>, String> {
    if payload.is_empty() {
        return Ok(None);
    }
    if payload.len() > MAX_STATUS_BYTES {
        return Err(format!("{} bytes", payload.len()));
    }
    let v: Value = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
    let twin = session.twin();
    if v["fingerprint"].as_str() != Some(twin.fingerprint().as_str()) {
        return Err("it holds other assets (fingerprints differ)".into());
    }
    let towns: Vec<Handle> = v["towns"]
        .as_array()
        .ok_or("no towns")?
        .iter()
        .map(|t| {
            t.as_str()
                .and_then(|t| twin.handle(t))
                .ok_or("an unknown town")
        })
        .collect::<Result<_, _>>()?;
    let rows: Vec<VitalRow> = v["rows"]
        .as_array()
        .ok_or("no rows")?
        .iter()
        .map(|r| row_of(session, r).ok_or("a row this twin cannot read"))
        .collect::<Result<_, _>>()?;
    if rows.iter().any(|r| !towns.contains(&r.region)) {
        return Err("a row of a town it does not claim".into());
    }
    let alerts: BTreeMap<u64, Alert> = v["alerts"]
        .as_array()
        .ok_or("no alerts")?
        .iter()
        .map(|a| {
            alert_of(twin, a)
                .map(|a| (a.id, a))
                .ok_or("an alert this twin cannot read")
        })
        .collect::<Result<_, _>>()?;
    if alerts.keys().any(|id| owner_of(*id) != u64::from(from)) {
        return Err("an alert numbered outside its process's range".into());
    }
    Ok(Some(Status {
        at_ms: v["at"].as_i64().unwrap_or(0),
        towns,
        rows,
        alerts,
    }))
}

/// The events of a process's alerts going from `old` to `new` (`None`: it left, so
/// its alerts leave every screen as cleared at `now`).
fn diff(
    old: &BTreeMap<u64, Alert>,
    new: Option<&BTreeMap<u64, Alert>>,
    now: Timestamp,
) -> Vec<AlertEvent> {
    let mut events = Vec::new();
    let empty = BTreeMap::new();
    let new = new.unwrap_or(&empty);
    for (id, a) in new {
        match old.get(id) {
            None => events.push(AlertEvent::Raised(a.clone())),
            Some(o) if o.state != a.state && a.state == AlertState::Acknowledged => {
                events.push(AlertEvent::Acknowledged(a.clone()))
            }
            _ => {}
        }
    }
    for (id, o) in old {
        if !new.contains_key(id) {
            let mut gone = o.clone();
            gone.state = AlertState::Cleared;
            gone.cleared_at = Some(now);
            events.push(AlertEvent::Cleared(gone));
        }
    }
    events
}

/// Takes a read status in (under the session's write lock, so the events are filed
/// with the state they describe); returns the alert events its change makes.
fn take_status(
    d: &District,
    session: &Session,
    from: u8,
    status: Option<Status>,
) -> Vec<AlertEvent> {
    let mut peers = d.peers();
    let now = session.now();
    match status {
        None => match peers.remove(&from) {
            Some(old) => diff(&old.alerts, None, now),
            None => Vec::new(),
        },
        Some(st) => {
            let peer = peers.entry(from).or_default();
            let events = diff(&peer.alerts, Some(&st.alerts), now);
            *peer = Peer {
                at_ms: st.at_ms,
                seen: Some(Instant::now()),
                towns: st.towns,
                rows: st.rows,
                alerts: st.alerts,
            };
            events
        }
    }
}

/// Drops statuses older than [`EXPIRY`] (a process that stopped publishing without
/// its last will reaching the broker yet); their alerts clear on every screen.
fn expire(served: &Served, d: &District) {
    let stale: Vec<u8> = d
        .peers()
        .iter()
        .filter(|(_, p)| p.seen.is_none_or(|s| s.elapsed() >= EXPIRY))
        .map(|(n, _)| *n)
        .collect();
    for n in stale {
        let _ = served.file_foreign(|s| Ok::<_, ()>(take_status(d, s, n, None)));
        eprintln!(
            "twin serve: district: process {n} sent nothing for {} s; it left",
            EXPIRY.as_secs()
        );
    }
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Starts the district's connection on its own thread; `options` are the broker's
/// (host, port, TLS, credentials) with this connection's client id.
pub fn start(
    served: Arc<Served>,
    district: Arc<District>,
    mut options: MqttOptions,
) -> Result<(oneshot::Sender<()>, std::thread::JoinHandle<()>), ServeError> {
    let status_topic = format!("{ROOT}/{}/status", district.process);
    options
        .set_clean_start(true)
        .set_keep_alive(Duration::from_secs(10))
        .set_max_packet_size(Some(MAX_STATUS_BYTES as u32 + 1024))
        .set_last_will(LastWill::new(
            status_topic.clone(),
            Vec::<u8>::new(),
            QoS::AtLeastOnce,
            true,
            None,
        ));
    let (acks_tx, acks_rx) = mpsc::channel::<(u8, Value)>(256);
    *district.acks.lock().unwrap_or_else(PoisonError::into_inner) = Some(acks_tx);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    let thread = std::thread::Builder::new()
        .name("twin-district".into())
        .spawn(move || {
            runtime.block_on(run(
                served,
                district,
                options,
                status_topic,
                acks_rx,
                stop_rx,
            ))
        })
        .map_err(ServeError::Runtime)?;
    Ok((stop_tx, thread))
}

async fn run(
    served: Arc<Served>,
    d: Arc<District>,
    options: MqttOptions,
    status_topic: String,
    mut acks: mpsc::Receiver<(u8, Value)>,
    mut stop: oneshot::Receiver<()>,
) {
    let (client, mut events) = AsyncClient::new(options, 1024);
    let ack_topic = format!("{ROOT}/{}/ack", d.process);
    let mut every = tokio::time::interval(Duration::from_secs(1));
    let mut last_body: Option<Value> = None;
    let mut last_sent: Option<Instant> = None;
    let mut logged: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = &mut stop => {
                // A clean leave: the retained status goes, as the last will would.
                let _ = client.try_publish(status_topic.clone(), QoS::AtLeastOnce, true, Vec::<u8>::new());
                let _ = tokio::time::timeout(Duration::from_secs(2), async {
                    while let Ok(e) = events.poll().await {
                        if matches!(e, Event::Incoming(Packet::PubAck(_))) { break; }
                    }
                }).await;
                let _ = client.try_disconnect();
                return;
            }
            _ = every.tick() => {
                expire(&served, &d);
                let (body, whole) = {
                    let s = served.read();
                    own_status(&d, &s, wall_ms())
                };
                let due = last_sent.is_none_or(|t| t.elapsed() >= REPUBLISH);
                if due || last_body.as_ref() != Some(&body) {
                    let props = PublishProperties {
                        message_expiry_interval: Some(EXPIRY.as_secs() as u32),
                        content_type: Some("application/json".into()),
                        ..PublishProperties::default()
                    };
                    let text = whole.to_string();
                    if text.len() > MAX_STATUS_BYTES && logged.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                        eprintln!(
                            "twin serve: district: this process's status is {} bytes, over the {MAX_STATUS_BYTES} the others read",
                            text.len()
                        );
                        logged = Some(Instant::now());
                    }
                    // Never waits: while the broker is away the request queue fills, and
                    // a status that does not fit is dropped (the next one replaces it).
                    if client
                        .try_publish_with_properties(status_topic.clone(), QoS::AtLeastOnce, true, text, props)
                        .is_ok()
                    {
                        d.counters.published.fetch_add(1, Ordering::Relaxed);
                        last_body = Some(body);
                        last_sent = Some(Instant::now());
                    }
                }
            }
            Some((owner, ack)) = acks.recv() => {
                let topic = format!("{ROOT}/{owner}/ack");
                if client.try_publish(topic, QoS::AtLeastOnce, false, ack.to_string()).is_err() {
                    eprintln!("twin serve: district: an acknowledgement for process {owner} was dropped (the broker is away)");
                }
            }
            e = events.poll() => match e {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let filters = [
                        Filter::new(format!("{ROOT}/+/status"), QoS::AtLeastOnce),
                        Filter::new(ack_topic.clone(), QoS::AtLeastOnce),
                    ];
                    if let Err(e) = client.try_subscribe_many(filters) {
                        eprintln!("twin serve: district: cannot subscribe: {e}");
                    }
                    // Publish again at once: the broker may have lost the status.
                    last_sent = None;
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let topic = String::from_utf8_lossy(&p.topic).to_string();
                    on_message(&served, &d, &topic, &p.payload);
                }
                Ok(_) => {}
                Err(e) => {
                    if logged.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                        eprintln!("twin serve: district: {e}; reconnecting");
                        logged = Some(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}

fn on_message(served: &Served, d: &District, topic: &str, payload: &[u8]) {
    let mut parts = topic.split('/');
    let (Some(ROOT), Some(n), Some(what), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return;
    };
    let Ok(from) = n.parse::<u8>() else {
        d.counters.refused.fetch_add(1, Ordering::Relaxed);
        return;
    };
    match what {
        "status" if from != d.process => {
            // Read under the read lock; taken in under the write lock, so a reader of
            // the session and then of the event log sees the events of the state it
            // read (as for this process's own).
            let parsed = parse_status(&served.read(), from, payload);
            match parsed {
                Ok(status) => {
                    let _ = served.file_foreign(|s| Ok::<_, ()>(take_status(d, s, from, status)));
                    d.counters.received.fetch_add(1, Ordering::Relaxed);
                }
                Err(why) => {
                    d.counters.refused.fetch_add(1, Ordering::Relaxed);
                    eprintln!("twin serve: district: process {from}'s status refused: {why}");
                }
            }
        }
        "status" => {
            // Our own, back from the broker: another run with our number would show here.
            let theirs = serde_json::from_slice::<Value>(payload)
                .ok()
                .and_then(|v| v["instance"].as_str().map(str::to_string));
            if theirs.is_some_and(|i| i != d.instance) {
                d.counters.impostors.fetch_add(1, Ordering::Relaxed);
                eprintln!(
                    "twin serve: district: another process publishes as number {}; give each process its own --district",
                    d.process
                );
            }
        }
        "ack" if from == d.process => {
            d.counters.acks_received.fetch_add(1, Ordering::Relaxed);
            let Ok(v) = serde_json::from_slice::<Value>(payload) else {
                return;
            };
            let (Some(id), by) = (v["alert"].as_u64(), v["by"].as_str().unwrap_or("?")) else {
                return;
            };
            let done = served.write_with(|s| s.acknowledge(id));
            eprintln!(
                "twin serve: alert {id} {} for {by} (through the district)",
                if done {
                    "acknowledged"
                } else {
                    "not acknowledged (not open)"
                }
            );
        }
        _ => {}
    }
}
