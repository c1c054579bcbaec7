//! Telemetry from an MQTT broker into the served session, with as many connections as
//! the machine has cores.
//!
//! - **Connections**: `connections` MQTT v5 clients (ids `CLIENT-ID-0`, `-1`, …) in one
//!   shared-subscription group, `$share/GROUP/twin/#`: the broker hands each message
//!   to one of them, so decoding runs on every core. One connection subscribes to the
//!   plain filter instead (no sharing needed).
//! - **Delivery**: QoS 1 on persistent sessions (clean start off, session expiry one
//!   day by default, [`MqttConfig::session_expiry`]) with manual acknowledgements,
//!   sent only after the message was applied (or refused: it would come back
//!   forever). A connection that broke and came back does
//!   not acknowledge what it received before (the packet ids are the old
//!   connection's); the broker sends those again and the store counts the exact
//!   repeats as duplicates.
//! - **Threads**: each connection runs on its own thread (a single-threaded tokio
//!   runtime): its task decodes (topic and JSON payload,
//!   [`twin_core::telemetry::wire`]) and its apply task takes whatever has arrived (up
//!   to [`MAX_BATCH`] messages), checks each topic against the twin (a single-asset
//!   message must name the asset's town and kind), applies the readings at the wall
//!   clock's time under the session's write lock, then acknowledges. A bounded channel
//!   between them stops reading from the broker while the twin is behind (the broker
//!   holds the rest).
//! - **Refusals**: a broker that refuses the login (bad user name or password, not
//!   authorised, banned) is a clear error at start, not a retry loop; other connection
//!   errors are retried (100 ms doubling to 5 s) and logged at most once a minute per
//!   connection.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{ConnectReturnCode, Packet, Publish, SubscribeReasonCode};
use rumqttc::v5::{AsyncClient, ConnectionError, Event, MqttOptions};
use rumqttc::{NetworkOptions, TlsConfiguration, Transport};
use tokio::sync::{mpsc, oneshot};
use twin_core::Timestamp;
use twin_core::telemetry::wire::{self, Decoded};
use twin_core::topic::Topic;

use crate::run::ServeError;
use crate::state::{Counters, Served};

/// Messages applied under one write lock at most.
pub const MAX_BATCH: usize = 4096;
/// Messages decoded and waiting for the apply task at most.
const QUEUE: usize = 16_384;

/// Where telemetry comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MqttConfig {
    /// `mqtt://host[:port]` (1883) or `mqtts://host[:port]` (8883, TLS).
    pub url: String,
    /// User name and password, if the broker wants them.
    pub credentials: Option<(String, String)>,
    /// For `mqtts://`: the certificate authority to trust (PEM).
    pub ca_file: Option<PathBuf>,
    /// Client id prefix (connection `i` is `PREFIX-i`, or `PREFIX-HASH-i` with `towns`,
    /// HASH naming the filters), also the persistent sessions'.
    pub client_id: String,
    /// Connections (at least 1).
    pub connections: usize,
    /// Shared-subscription group.
    pub group: String,
    /// Topic filter (default `twin/#`); unused when `towns` are given.
    pub filter: String,
    /// Only these towns (ids): `twin/<town>/#` of each, so several processes split
    /// the towns on one broker (see [`MqttConfig::district`]).
    pub towns: Vec<String>,
    /// This process's number (1–255) in a district of processes that split the towns
    /// (crate::district): it publishes its towns' rows and alerts on the broker and
    /// serves the whole district's. `None`: a process that stands alone.
    pub district: Option<u8>,
    /// How long the broker keeps a connection's session (its subscription and the
    /// messages queued for it) while the twin is away; default one day. A member of the
    /// shared group that does not come back (fewer `connections` than before, another
    /// client id) keeps receiving its share of the messages until then.
    pub session_expiry: Duration,
}

impl MqttConfig {
    /// A configuration for `url` with a connection per core, group `twin`, client ids
    /// `twin-serve-N`, filter `twin/#`.
    pub fn new(url: &str) -> MqttConfig {
        MqttConfig {
            url: url.to_string(),
            credentials: None,
            ca_file: None,
            client_id: "twin-serve".into(),
            connections: std::thread::available_parallelism().map_or(2, |n| n.get()),
            group: "twin".into(),
            filter: "twin/#".into(),
            towns: Vec::new(),
            district: None,
            session_expiry: Duration::from_secs(24 * 3600),
        }
    }
}

/// Host, port and TLS of the URL.
fn parse_url(url: &str) -> Result<(String, u16, bool), ServeError> {
    let bad = |why: &str| ServeError::Mqtt(format!("`{url}`: {why}"));
    let (rest, tls) = if let Some(r) = url.strip_prefix("mqtts://") {
        (r, true)
    } else if let Some(r) = url.strip_prefix("mqtt://") {
        (r, false)
    } else {
        return Err(bad("expected mqtt://host[:port] or mqtts://host[:port]"));
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (
            h.trim_start_matches('[').trim_end_matches(']'),
            p.parse::<u16>()
                .map_err(|_| bad("the port is not a number"))?,
        ),
        _ => (
            rest.trim_start_matches('[').trim_end_matches(']'),
            if tls { 8883 } else { 1883 },
        ),
    };
    if host.is_empty() || host.contains('/') {
        return Err(bad("no host"));
    }
    Ok((host.to_string(), port, tls))
}

/// What every connection to the broker shares: TCP_NODELAY, the credentials, TLS.
fn connect_to(o: &mut MqttOptions, config: &MqttConfig, transport: Option<&Transport>) {
    let mut net = NetworkOptions::new();
    net.set_tcp_nodelay(true);
    o.set_network_options(net);
    if let Some((user, password)) = &config.credentials {
        o.set_credentials(user.clone(), password.clone());
    }
    if let Some(t) = transport {
        o.set_transport(t.clone());
    }
}

/// The broker said no to the login: retrying would not help.
fn fatal(code: &ConnectReturnCode) -> bool {
    matches!(
        code,
        ConnectReturnCode::BadUserNamePassword
            | ConnectReturnCode::NotAuthorized
            | ConnectReturnCode::Banned
            | ConnectReturnCode::BadAuthenticationMethod
            | ConnectReturnCode::ClientIdentifierNotValid
    )
}

fn refusal(code: &ConnectReturnCode) -> String {
    match code {
        ConnectReturnCode::BadUserNamePassword => "bad user name or password".into(),
        ConnectReturnCode::NotAuthorized => {
            "not authorised (wrong or missing user name or password)".into()
        }
        other => format!("{other:?}"),
    }
}

/// A message decoded on its connection's task, waiting to be applied.
struct Item {
    publish: Publish,
    topic: Result<Topic, String>,
    decoded: Result<Decoded, String>,
    client: AsyncClient,
    /// The connection's generation when it came, and the counter now.
    generation: u64,
    current: Arc<AtomicU64>,
}

/// The ingest running on its threads; dropping it (or [`Ingest::stop`]) disconnects.
#[derive(Debug, Default)]
pub struct Ingest {
    threads: Vec<(oneshot::Sender<()>, std::thread::JoinHandle<()>)>,
}

impl Ingest {
    /// Stops the ingest and waits for its threads.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        for (stop, thread) in self.threads.drain(..) {
            let _ = stop.send(());
            let _ = thread.join();
        }
    }
}

impl Drop for Ingest {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts the ingest: one thread per connection, each a single-threaded tokio runtime
/// running the connection and its own apply task (they wake each other without
/// crossing threads; the connections share only the session's write lock). Waits for
/// each broker's first answer: an unreachable broker or a refused login is an error
/// here.
///
/// Measured on 2 cores shared with the broker and 3 publishers (scripts/bench-serve,
/// single readings, share of mosquitto_sub's rate in the same run): the connections'
/// tasks on the server's multi-threaded runtime with one apply task, 0.82 and 0.94;
/// every connection and one apply task on one single-threaded runtime, 0.92 and 0.96;
/// a thread per connection (this), 0.98 (one run).
pub fn start(served: Arc<Served>, config: &MqttConfig) -> Result<Ingest, ServeError> {
    let (host, port, tls) = parse_url(&config.url)?;
    let transport = if tls {
        let path = config.ca_file.as_ref().ok_or_else(|| {
            ServeError::Mqtt(format!(
                "`{}`: TLS needs the broker's certificate authority (--mqtt-ca FILE)",
                config.url
            ))
        })?;
        let ca = std::fs::read(path)
            .map_err(|e| ServeError::Mqtt(format!("{}: {e}", path.display())))?;
        Some(Transport::tls_with_config(TlsConfiguration::Simple {
            ca,
            alpn: None,
            client_auth: None,
        }))
    } else {
        None
    };
    let n = config.connections.max(1);
    let plain: Vec<String> = if config.towns.is_empty() {
        vec![config.filter.clone()]
    } else {
        config
            .towns
            .iter()
            .map(|t| twin_core::topic::town_filter(t))
            .collect()
    };
    let filters: Vec<String> = if n == 1 {
        plain
    } else {
        plain
            .iter()
            .map(|f| format!("$share/{}/{f}", config.group))
            .collect()
    };
    let filter = filters.join(" ");
    // The broker keeps a persistent session's subscriptions: other towns need another
    // session, so the client ids carry a hash of the filters.
    let client_id = if config.towns.is_empty() {
        config.client_id.clone()
    } else {
        let mut sorted = filters.clone();
        sorted.sort();
        let hash = sorted
            .join("\n")
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
        format!("{}-{:08x}", config.client_id, hash as u32)
    };
    let mut ingest = Ingest::default();
    for i in 0..n {
        let mut o = MqttOptions::new(format!("{client_id}-{i}"), host.clone(), port);
        o.set_clean_start(false)
            .set_session_expiry_interval(Some(
                u32::try_from(config.session_expiry.as_secs()).unwrap_or(u32::MAX),
            ))
            .set_keep_alive(Duration::from_secs(30))
            .set_max_packet_size(Some(1 << 20))
            .set_manual_acks(true);
        // No Receive Maximum of our own: mosquitto 2.0.11 then stops delivering a
        // backlog to a v5 client after the first windows (measured: 640 messages/s
        // draining 500,000 queued messages with Receive Maximum 1024, ~70,000/s
        // without). Its window is then the broker's `max_inflight_messages` (20 by
        // default; 1000 is better for this load, see the README).
        // Acknowledgements are tiny packets: without TCP_NODELAY, Nagle's algorithm
        // holds each until the broker's delayed ACK (measured: 99 messages/s draining
        // a backlog, against ~90,000/s for mosquitto_sub).
        connect_to(&mut o, config, transport.as_ref());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ServeError::Runtime)?;
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (served, filters) = (served.clone(), filters.clone());
        let thread = std::thread::Builder::new()
            .name(format!("twin-mqtt-{i}"))
            .spawn(move || {
                runtime.block_on(async move {
                    let (tx, rx) = mpsc::channel::<Item>(QUEUE);
                    tokio::spawn(apply_loop(served.clone(), rx));
                    let (first_tx, first_rx) = oneshot::channel();
                    tokio::spawn(connection(i, o, filters, served, tx, first_tx));
                    let first = match tokio::time::timeout(Duration::from_secs(15), first_rx).await
                    {
                        Err(_) => Err("no answer from the broker in 15 s".to_string()),
                        Ok(r) => r.unwrap_or_else(|_| Err("the connection task ended".into())),
                    };
                    let ok = first.is_ok();
                    let _ = ready_tx.send(first);
                    if ok {
                        let _ = stop_rx.await;
                    }
                });
            })
            .map_err(ServeError::Runtime)?;
        ingest.threads.push((stop_tx, thread));
        let first = ready_rx
            .recv()
            .unwrap_or_else(|_| Err("the connection thread ended".into()));
        if let Err(why) = first {
            ingest.shutdown();
            return Err(ServeError::Mqtt(format!("{}: {why}", config.url)));
        }
    }
    if let Some(d) = served.district.clone() {
        let mut o = MqttOptions::new(
            format!("{}-district-{}", config.client_id, d.process),
            host.clone(),
            port,
        );
        connect_to(&mut o, config, transport.as_ref());
        match crate::district::start(served.clone(), d.clone(), o) {
            Ok(t) => ingest.threads.push(t),
            Err(e) => {
                ingest.shutdown();
                return Err(e);
            }
        }
        eprintln!(
            "twin serve: district process {} owning {} towns, on {}/{}/status",
            d.process,
            d.towns.len(),
            crate::district::ROOT,
            d.process
        );
    }
    eprintln!(
        "twin serve: MQTT {} — {n} connection{} subscribed to {filter}",
        config.url,
        if n == 1 { "" } else { "s" }
    );
    Ok(ingest)
}

/// One connection: polls its event loop, subscribes when the broker lost the session,
/// decodes messages and hands them to the apply task.
async fn connection(
    i: usize,
    options: MqttOptions,
    filters: Vec<String>,
    served: Arc<Served>,
    tx: mpsc::Sender<Item>,
    ready: oneshot::Sender<Result<(), String>>,
) {
    // The requests channel (our acknowledgements) holds every message that can be
    // between this task and the broker's acknowledgement: the apply queue, a batch and
    // the receive window. Smaller, the apply task could wait for room to acknowledge
    // while this task waits for room in the apply queue, and neither would move
    // (found draining a backlog of 100,000 messages).
    let (client, mut events) = AsyncClient::new(options, QUEUE + MAX_BATCH + 1024);
    let generation = Arc::new(AtomicU64::new(0));
    let mut ready = Some(ready);
    let mut backoff = Duration::from_millis(100);
    let mut last_log: Option<Instant> = None;
    loop {
        match events.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                backoff = Duration::from_millis(100);
                generation.fetch_add(1, Ordering::SeqCst);
                served
                    .counters
                    .mqtt_connects
                    .fetch_add(1, Ordering::Relaxed);
                let subscribe = filters
                    .iter()
                    .map(|f| rumqttc::v5::mqttbytes::v5::Filter::new(f.clone(), QoS::AtLeastOnce));
                if !ack.session_present
                    && let Err(e) = client.subscribe_many(subscribe).await
                {
                    eprintln!("twin serve: MQTT connection {i}: cannot subscribe: {e}");
                }
                if let Some(r) = ready.take() {
                    let _ = r.send(Ok(()));
                }
            }
            Ok(Event::Incoming(Packet::SubAck(s))) => {
                for code in &s.return_codes {
                    if !matches!(code, SubscribeReasonCode::Success(_)) {
                        eprintln!(
                            "twin serve: MQTT connection {i}: {} refused: {code:?}",
                            filters.join(" ")
                        );
                    }
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let topic = std::str::from_utf8(&p.topic)
                    .map_err(|_| "topic is not UTF-8".to_string())
                    .and_then(|t| Topic::parse(t).map_err(|e| e.to_string()));
                let decoded = match &topic {
                    Ok(t) if t.kind == wire::BATCH_KIND => {
                        wire::decode_batch(&p.payload).map_err(|e| e.to_string())
                    }
                    Ok(t) => wire::decode(&p.payload, &t.id).map_err(|e| e.to_string()),
                    Err(e) => Err(e.clone()),
                };
                let item = Item {
                    publish: p,
                    topic,
                    decoded,
                    client: client.clone(),
                    generation: generation.load(Ordering::SeqCst),
                    current: generation.clone(),
                };
                if tx.send(item).await.is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(ConnectionError::ConnectionRefused(code)) if fatal(&code) => {
                let why = format!("the broker refused the login: {}", refusal(&code));
                match ready.take() {
                    Some(r) => {
                        let _ = r.send(Err(why));
                    }
                    None => eprintln!("twin serve: MQTT connection {i}: {why}; giving up"),
                }
                return;
            }
            Err(e) => {
                if let Some(r) = ready.take() {
                    let _ = r.send(Err(format!("cannot connect: {e}")));
                    return;
                }
                if last_log.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                    eprintln!("twin serve: MQTT connection {i}: {e}; reconnecting");
                    last_log = Some(Instant::now());
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

fn wall_now() -> Timestamp {
    Timestamp::from_millis(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
    )
}

/// Applies what the connections decoded, in batches, then acknowledges it.
async fn apply_loop(served: Arc<Served>, mut rx: mpsc::Receiver<Item>) {
    let mut batch: Vec<Item> = Vec::with_capacity(MAX_BATCH);
    loop {
        batch.clear();
        if rx.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        let c = &served.counters;
        {
            served.write_with(|s| {
                let mut readings = Vec::new();
                let mut refused = Vec::new();
                for item in &mut batch {
                    Counters::bump(&c.mqtt_messages);
                    if item.publish.dup {
                        Counters::bump(&c.mqtt_redelivered);
                    }
                    let checked = match (&item.topic, &mut item.decoded) {
                        (Ok(t), Ok(d)) if t.kind == wire::BATCH_KIND => Ok(d),
                        (Ok(t), Ok(d)) => t.check(s.twin()).map(|_| d).map_err(|e| e.to_string()),
                        (Err(e), _) => Err(e.clone()),
                        (_, Err(e)) => Err(e.clone()),
                    };
                    match checked {
                        Ok(d) => {
                            readings.append(&mut d.readings);
                            refused.append(&mut d.refused);
                        }
                        Err(why) => {
                            if c.mqtt_bad_messages.fetch_add(1, Ordering::Relaxed) < 20 {
                                let topic = String::from_utf8_lossy(&item.publish.topic);
                                eprintln!("twin serve: refused message on `{topic}`: {why}");
                            }
                        }
                    }
                }
                let mut report = s.apply_readings(&readings, wall_now());
                for (reason, id, channel, ts) in &refused {
                    report.note_rejection(*reason, id, channel, *ts);
                }
                c.samples
                    .fetch_add((readings.len() + refused.len()) as u64, Ordering::Relaxed);
                c.refused_samples
                    .fetch_add(report.rejected_total(), Ordering::Relaxed);
            });
        }
        // Acknowledged only once on disk, with a data directory; if the journal cannot
        // be written nothing is acknowledged (the broker keeps and resends it).
        if let Err(e) = served.sync_journal() {
            static TOLD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
            if !TOLD.swap(true, Ordering::Relaxed) {
                eprintln!("twin serve: not acknowledging: {e}");
            }
            continue;
        }
        for item in &batch {
            if item.current.load(Ordering::SeqCst) == item.generation {
                let _ = item.client.ack(&item.publish).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(parse_url("mqtt://h").unwrap(), ("h".into(), 1883, false));
        assert_eq!(
            parse_url("mqtts://h:8884/").unwrap(),
            ("h".into(), 8884, true)
        );
        assert_eq!(
            parse_url("mqtts://[::1]").unwrap(),
            ("::1".into(), 8883, true)
        );
        assert!(
            parse_url("http://h")
                .unwrap_err()
                .to_string()
                .contains("expected mqtt://")
        );
        assert!(
            parse_url("mqtt://h:x")
                .unwrap_err()
                .to_string()
                .contains("port")
        );
        assert!(
            parse_url("mqtt://")
                .unwrap_err()
                .to_string()
                .contains("no host")
        );
    }
}
