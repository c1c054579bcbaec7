//! The connection to the MQTT broker that `twin run --mqtt` and `twin publish` share:
//! the URL (`mqtt://`, `mqtts://`), credentials and TLS ([`MqttArgs`]), the client
//! options of a persistent session, and the thread that polls the rumqttc connection
//! and hands its events over a channel ([`spawn_connection`]), reconnecting after
//! errors except a refused login, which ends the command.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Args;
use rumqttc::{
    Client, Connection, Event, MqttOptions, Outgoing, Packet, Publish, SubscribeReasonCode,
};

/// Credentials and TLS of the MQTT clients (`twin run --mqtt`, `twin publish`,
/// `twin serve --mqtt`).
#[derive(Args, Debug, Clone, Default)]
pub struct MqttArgs {
    /// MQTT user name (the password from --mqtt-password-file or $TWIN_MQTT_PASSWORD).
    #[arg(long)]
    pub mqtt_user: Option<String>,
    /// File holding the MQTT password (its first line).
    #[arg(long, requires = "mqtt_user")]
    pub mqtt_password_file: Option<PathBuf>,
    /// For mqtts://: the certificate authority to trust (PEM).
    #[arg(long)]
    pub mqtt_ca: Option<PathBuf>,
}

impl MqttArgs {
    /// User name and password, if a user is given; the password from its file or
    /// `$TWIN_MQTT_PASSWORD` (never from the command line, which others can read).
    pub fn credentials(&self) -> anyhow::Result<Option<(String, String)>> {
        let Some(user) = &self.mqtt_user else {
            return Ok(None);
        };
        let password = match &self.mqtt_password_file {
            Some(p) => std::fs::read_to_string(p)
                .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
                .lines()
                .next()
                .unwrap_or("")
                .to_string(),
            None => std::env::var("TWIN_MQTT_PASSWORD").map_err(|_| {
                anyhow::anyhow!(
                    "--mqtt-user needs a password: --mqtt-password-file FILE or $TWIN_MQTT_PASSWORD"
                )
            })?,
        };
        Ok(Some((user.clone(), password)))
    }
}

/// Host, port and TLS of `mqtt://host[:port]` (or `tcp://`; port 1883) or
/// `mqtts://host[:port]` (port 8883).
pub fn parse_url(url: &str) -> anyhow::Result<(String, u16, bool)> {
    let (rest, tls) = if let Some(r) = url.strip_prefix("mqtts://") {
        (r, true)
    } else if let Some(r) = url
        .strip_prefix("mqtt://")
        .or_else(|| url.strip_prefix("tcp://"))
    {
        (r, false)
    } else {
        return Err(anyhow::anyhow!(
            "--mqtt `{url}`: expected mqtt://host[:port] or mqtts://host[:port]"
        ));
    };
    let rest = rest.trim_end_matches('/');
    let default = if tls { 8883 } else { 1883 };
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && !p.contains(']') => (
            h.trim_start_matches('[').trim_end_matches(']'),
            p.parse::<u16>()
                .map_err(|_| anyhow::anyhow!("--mqtt `{url}`: port `{p}` is not a number"))?,
        ),
        _ => (rest.trim_start_matches('[').trim_end_matches(']'), default),
    };
    if host.is_empty() || host.contains('/') {
        return Err(anyhow::anyhow!("--mqtt `{url}`: no host"));
    }
    Ok((host.to_string(), port, tls))
}

/// MQTT options for twin's clients: a persistent session (clean session off) under
/// `client_id`, a 30 s keep-alive, packets up to 1 MiB, and the credentials and TLS of
/// `auth`.
pub fn options(
    url: &str,
    client_id: &str,
    manual_acks: bool,
    auth: &MqttArgs,
) -> anyhow::Result<MqttOptions> {
    let (host, port, tls) = parse_url(url)?;
    let mut o = MqttOptions::new(client_id, host, port);
    o.set_clean_session(false)
        .set_keep_alive(Duration::from_secs(30))
        .set_max_packet_size(1 << 20, 1 << 20)
        .set_manual_acks(manual_acks);
    if let Some((user, password)) = auth.credentials()? {
        o.set_credentials(user, password);
    }
    if tls {
        let ca = auth.mqtt_ca.as_ref().ok_or_else(|| {
            anyhow::anyhow!(
                "--mqtt `{url}`: TLS needs the broker's certificate authority (--mqtt-ca FILE)"
            )
        })?;
        let ca = std::fs::read(ca).map_err(|e| anyhow::anyhow!("{}: {e}", ca.display()))?;
        o.set_transport(rumqttc::Transport::tls_with_config(
            rumqttc::TlsConfiguration::Simple {
                ca,
                alpn: None,
                client_auth: None,
            },
        ));
    }
    Ok(o)
}

/// What the connection thread hands over.
#[derive(Debug)]
pub enum NetEvent {
    /// Connected (again); the broker kept the session when `session_present`.
    Connected {
        /// The broker still had the session (subscriptions, queued messages).
        session_present: bool,
    },
    /// A subscription was answered.
    Subscribed(Vec<SubscribeReasonCode>),
    /// A message, with the number of the connection it came on.
    Message(Box<Publish>, u64),
    /// A publish of ours was acknowledged by the broker.
    PubAck,
    /// The connection failed; it is retried.
    Lost(String),
    /// The broker refused the login (user name, password, not authorised): retrying
    /// would not help, the thread has stopped.
    Refused(String),
}

/// Polls `connection` on a thread until `stop` is set and the disconnect went out
/// (or the client is dropped), handing events to `tx`. After an error it sleeps
/// (100 ms doubling to 2 s) and polls again, which reconnects. `generation` counts
/// connections made and lost: a message is tagged with it when it arrives.
pub fn spawn_connection(
    mut connection: Connection,
    tx: Sender<NetEvent>,
    stop: Arc<AtomicBool>,
    generation: Arc<AtomicU64>,
) -> JoinHandle<()> {
    // Acknowledgements are tiny packets: without TCP_NODELAY Nagle's algorithm holds
    // them back (see twin-server's MQTT ingest for the measurement).
    let mut net = rumqttc::NetworkOptions::new();
    net.set_tcp_nodelay(true);
    connection.eventloop.set_network_options(net);
    std::thread::spawn(move || {
        let mut backoff = Duration::from_millis(100);
        for event in connection.iter() {
            let sent = match event {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    backoff = Duration::from_millis(100);
                    generation.fetch_add(1, Ordering::SeqCst);
                    tx.send(NetEvent::Connected {
                        session_present: ack.session_present,
                    })
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let g = generation.load(Ordering::SeqCst);
                    tx.send(NetEvent::Message(Box::new(p), g))
                }
                Ok(Event::Incoming(Packet::SubAck(s))) => {
                    tx.send(NetEvent::Subscribed(s.return_codes))
                }
                Ok(Event::Incoming(Packet::PubAck(_))) => tx.send(NetEvent::PubAck),
                Ok(Event::Outgoing(Outgoing::Disconnect)) if stop.load(Ordering::SeqCst) => break,
                Ok(_) => Ok(()),
                Err(rumqttc::ConnectionError::ConnectionRefused(code))
                    if matches!(
                        code,
                        rumqttc::ConnectReturnCode::BadUserNamePassword
                            | rumqttc::ConnectReturnCode::NotAuthorized
                    ) =>
                {
                    let why = match code {
                        rumqttc::ConnectReturnCode::BadUserNamePassword => {
                            "bad user name or password"
                        }
                        _ => "not authorised (wrong or missing user name or password)",
                    };
                    let _ = tx.send(NetEvent::Refused(why.into()));
                    break;
                }
                Err(e) => {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    generation.fetch_add(1, Ordering::SeqCst);
                    let sent = tx.send(NetEvent::Lost(e.to_string()));
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    sent
                }
            };
            if sent.is_err() {
                break;
            }
        }
    })
}

/// Sends the disconnect and waits (up to 5 s) for the connection thread to finish.
pub fn shut_down(client: &Client, stop: &AtomicBool, thread: JoinHandle<()>) {
    stop.store(true, Ordering::SeqCst);
    let _ = client.try_disconnect();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !thread.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    if thread.is_finished() {
        let _ = thread.join();
    }
}

/// UTC milliseconds now.
pub fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
