//! `twin watch URL`: a served district on the terminal, as `twin run` prints its own:
//! the status line every minute of the twin's clock, alert events as they come, the
//! vital-signs table every `--table-every` minutes. A client of the server's live
//! stream (`/api/v1/stream`, docs/stream.md) that subscribes to no colours and no
//! values: only what the district's operators read.
//!
//! The token comes from `--token` or, better (other users can read a command line),
//! `$TWIN_TOKEN`. A refused token ends with exit code 2; a lost connection is retried
//! after 1, 2, 4 … 30 s (±20 %), each time with a fresh snapshot. `https://` needs the
//! server's certificate authority (`--ca FILE`).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};
use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;
use tungstenite::{Message, WebSocket};

use crate::out::{out, outln};
use crate::run::{TableRow, clock, vitals_table};

/// `twin watch` arguments.
#[derive(clap::Args, Debug)]
pub struct WatchArgs {
    /// The server: http://HOST:PORT or https://HOST:PORT (the address `twin serve`
    /// printed).
    pub url: String,
    /// The token (prefer `$TWIN_TOKEN`: a command line is visible to other users).
    #[arg(long)]
    pub token: Option<String>,
    /// Only these towns (ids; repeat the flag); every town by default.
    #[arg(long = "town")]
    pub towns: Vec<String>,
    /// The vital-signs table every this many minutes of the twin's clock.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub table_every: u64,
    /// Print the open alerts and the table once, then exit.
    #[arg(long)]
    pub once: bool,
    /// For https: the certificate authority to trust (PEM).
    #[arg(long)]
    pub ca: Option<PathBuf>,
}

/// Runs `twin watch`; returns the process exit code.
pub fn run(args: &WatchArgs) -> anyhow::Result<u8> {
    let token = args
        .token
        .clone()
        .or_else(|| std::env::var("TWIN_TOKEN").ok());
    let mut backoff = 1.0f64;
    loop {
        let began = Instant::now();
        match session(args, token.as_deref()) {
            Ok(()) => return Ok(0),
            Err(Failure::Refused(why)) => {
                eprintln!("twin watch: {why}");
                return Ok(2);
            }
            Err(Failure::Lost(e)) if !args.once => {
                // A connection that lasted a while starts the back-off again.
                if began.elapsed() > Duration::from_secs(60) {
                    backoff = 1.0;
                }
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos());
                let jitter = 0.8 + 0.4 * f64::from(nanos % 1000) / 1000.0;
                let wait = backoff * jitter;
                eprintln!("twin watch: {e:#}; again in {wait:.1} s");
                std::thread::sleep(Duration::from_secs_f64(wait));
                backoff = (backoff * 2.0).min(30.0);
                if crate::out::gone() {
                    return Ok(0);
                }
            }
            Err(Failure::Lost(e)) => return Err(e),
        }
    }
}

enum Failure {
    /// The server refused the token or its role (no point trying again).
    Refused(String),
    /// The connection failed or was lost.
    Lost(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure::Lost(e.into())
    }
}

/// A byte stream, plain or TLS.
trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// The WebSocket URL of the stream, the host and port to dial, and whether it is TLS.
fn endpoint(url: &str) -> anyhow::Result<(String, String, u16, bool)> {
    let (tls, rest) = if let Some(r) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("wss://"))
    {
        (true, r)
    } else if let Some(r) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("ws://"))
    {
        (false, r)
    } else {
        bail!("`{url}`: give http://HOST:PORT or https://HOST:PORT");
    };
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        bail!("`{url}`: no host (and no user:password@ either: tokens go in $TWIN_TOKEN)");
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (
            h.trim_start_matches('[').trim_end_matches(']').to_string(),
            p.parse::<u16>()
                .with_context(|| format!("`{url}`: port `{p}`"))?,
        ),
        _ => (authority.to_string(), if tls { 443 } else { 80 }),
    };
    let scheme = if tls { "wss" } else { "ws" };
    Ok((
        format!("{scheme}://{authority}/api/v1/stream"),
        host,
        port,
        tls,
    ))
}

fn tls_stream(tcp: TcpStream, host: &str, ca: Option<&PathBuf>) -> anyhow::Result<Box<dyn Stream>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    let ca =
        ca.ok_or_else(|| anyhow!("https needs the server's certificate authority (--ca FILE)"))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).with_context(|| format!("{}", ca.display()))? {
        roots
            .add(cert.with_context(|| format!("{}", ca.display()))?)
            .with_context(|| format!("{}", ca.display()))?;
    }
    // The crypto provider is ring, the only one built in (scripts/check-deps keeps
    // aws-lc out): rustls takes it from its features.
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name =
        ServerName::try_from(host.to_string()).with_context(|| format!("server name `{host}`"))?;
    let conn = rustls::ClientConnection::new(Arc::new(config), name)?;
    Ok(Box::new(rustls::StreamOwned::new(conn, tcp)))
}

/// One connection: hello, subscribe, print until it ends.
fn session(args: &WatchArgs, token: Option<&str>) -> Result<(), Failure> {
    let (url, host, port, tls) =
        endpoint(&args.url).map_err(|e| Failure::Refused(format!("{e:#}")))?;
    let tcp = TcpStream::connect((host.as_str(), port))
        .with_context(|| format!("cannot reach {host}:{port}"))?;
    // The server sends its status every second: five without anything means it is gone.
    tcp.set_read_timeout(Some(Duration::from_secs(5)))?;
    tcp.set_nodelay(true)?;
    let stream: Box<dyn Stream> = if tls {
        tls_stream(tcp, &host, args.ca.as_ref()).map_err(|e| Failure::Refused(format!("{e:#}")))?
    } else {
        Box::new(tcp)
    };
    let mut req = url.as_str().into_client_request()?;
    req.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("twin.v1"),
    );
    if let Some(t) = token {
        let v = HeaderValue::from_str(&format!("Bearer {t}")).map_err(|_| {
            Failure::Refused("the token has characters a header cannot carry".into())
        })?;
        req.headers_mut().insert("authorization", v);
    }
    let (mut ws, _) = match tungstenite::client(req, stream) {
        Ok(x) => x,
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(res))) => {
            let code = res.status().as_u16();
            let body = res
                .body()
                .as_deref()
                .and_then(|b| serde_json::from_slice::<Value>(b).ok())
                .and_then(|v| v["reason"].as_str().map(str::to_string))
                .unwrap_or_default();
            let why = format!("{url}: {code} {body}");
            return Err(if matches!(code, 401 | 403) {
                Failure::Refused(why)
            } else {
                Failure::Lost(anyhow!(why))
            });
        }
        // A certificate the given authority does not vouch for will not change by
        // trying again.
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Io(e)))
            if e.get_ref()
                .is_some_and(|i| i.downcast_ref::<rustls::Error>().is_some()) =>
        {
            return Err(Failure::Refused(format!("{url}: TLS: {e}")));
        }
        Err(e) => return Err(Failure::Lost(anyhow!("{url}: {e}"))),
    };
    let mut view = View::new(args);
    loop {
        let msg = match ws.read() {
            Ok(m) => m,
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(Failure::Lost(anyhow!("nothing from the server for 5 s")));
            }
            Err(e) => return Err(Failure::Lost(anyhow!("{e}"))),
        };
        match msg {
            Message::Text(t) => {
                let v: Value =
                    serde_json::from_str(t.as_str()).context("a message that is not JSON")?;
                if view.on(&mut ws, &v)? {
                    let _ = ws.close(None);
                    let _ = ws.flush();
                    return Ok(());
                }
            }
            Message::Close(f) => {
                return Err(Failure::Lost(anyhow!(
                    "the server closed the stream{}",
                    f.map(|f| format!(": {} {}", u16::from(f.code), f.reason))
                        .unwrap_or_default()
                )));
            }
            _ => {}
        }
        if crate::out::gone() {
            return Ok(());
        }
    }
}

/// What has been printed and what is known.
struct View<'a> {
    args: &'a WatchArgs,
    towns: BTreeMap<String, String>,
    rows: Vec<TableRow>,
    last_minute: Option<i64>,
    last_table: Option<i64>,
    now: i64,
}

impl<'a> View<'a> {
    fn new(args: &'a WatchArgs) -> View<'a> {
        View {
            args,
            towns: BTreeMap::new(),
            rows: Vec::new(),
            last_minute: None,
            last_table: None,
            now: 0,
        }
    }

    /// Handles one message; true when `--once` has printed what it should.
    fn on(&mut self, ws: &mut WebSocket<Box<dyn Stream>>, v: &Value) -> Result<bool, Failure> {
        match v["type"].as_str().unwrap_or_default() {
            "hello" => {
                for t in v["towns"].as_array().into_iter().flatten() {
                    if let (Some(id), Some(name)) = (t["id"].as_str(), t["name"].as_str()) {
                        self.towns.insert(id.to_string(), name.to_string());
                    }
                }
                for t in &self.args.towns {
                    if !self.towns.contains_key(t) {
                        return Err(Failure::Refused(format!(
                            "--town `{t}`: the server has no such town ({})",
                            self.towns.keys().cloned().collect::<Vec<_>>().join(", ")
                        )));
                    }
                }
                self.now = v["now"].as_i64().unwrap_or(0);
                outln!(
                    "twin watch: {} (twin serve {}) as {} ({}): {} towns, {} channels",
                    v["title"].as_str().unwrap_or("?"),
                    v["version"].as_str().unwrap_or("?"),
                    v["caller"]["name"].as_str().unwrap_or("?"),
                    v["caller"]["role"].as_str().unwrap_or("?"),
                    self.towns.len(),
                    v["channels"].as_array().map_or(0, Vec::len)
                );
                let mut sub = json!({"type": "subscribe", "colors": false});
                if !self.args.towns.is_empty() {
                    sub["towns"] = json!(self.args.towns);
                }
                ws.send(Message::text(sub.to_string()))?;
            }
            "alerts" => {
                let open = v["open"].as_array().cloned().unwrap_or_default();
                outln!("[{}] {} open alerts", clock(self.now), open.len());
                for a in &open {
                    outln!(
                        "{}",
                        self.alert_line("OPEN   ", a, a["raised_at"].as_i64().unwrap_or(0))
                    );
                }
            }
            "event" => {
                let a = &v["alert"];
                let (what, at) = match v["event"].as_str().unwrap_or_default() {
                    "raised" => ("RAISED ", a["raised_at"].as_i64()),
                    "acknowledged" => ("ACKED  ", a["acknowledged_at"].as_i64()),
                    _ => ("CLEARED", a["cleared_at"].as_i64()),
                };
                outln!("{}", self.alert_line(what, a, at.unwrap_or(self.now)));
            }
            "vitals" => {
                self.rows = v["rows"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(table_row)
                    .collect();
            }
            "status" => {
                self.now = v["now"].as_i64().unwrap_or(self.now);
                let minute = self.now.div_euclid(60_000);
                if self.last_minute.is_some_and(|m| m != minute) {
                    outln!(
                        "[{}] {:>7.0} samples/s  open alerts {}  events dropped {}  skipped rounds {}",
                        clock(self.now),
                        v["samples_per_s"].as_f64().unwrap_or(0.0),
                        v["open_alerts"].as_u64().unwrap_or(0),
                        v["events_dropped"].as_u64().unwrap_or(0),
                        v["skipped_rounds"].as_u64().unwrap_or(0)
                    );
                }
                self.last_minute = Some(minute);
                let every = self.args.table_every as i64 * 60_000;
                let slot = self.now.div_euclid(every);
                if self.last_table.is_some_and(|t| t != slot) && !self.rows.is_empty() {
                    out!("{}", vitals_table(&self.rows, self.now));
                }
                self.last_table = Some(slot);
            }
            // The snapshot holds the vital signs the server has: --once prints what
            // came and ends.
            "snapshot_end" if self.args.once => {
                if self.rows.is_empty() {
                    outln!("[{}] no vital signs yet", clock(self.now));
                } else {
                    out!("{}", vitals_table(&self.rows, self.now));
                }
                return Ok(true);
            }
            "error" => {
                let message = v["message"].as_str().unwrap_or("?");
                if self.args.once || v["fatal"].as_bool() == Some(true) {
                    return Err(Failure::Lost(anyhow!("the server refused: {message}")));
                }
                eprintln!("twin watch: the server says: {message}");
            }
            _ => {}
        }
        Ok(false)
    }

    fn alert_line(&self, what: &str, a: &Value, at: i64) -> String {
        let town = a["town"]
            .as_str()
            .and_then(|t| self.towns.get(t))
            .map_or("-", String::as_str);
        format!(
            "[{}] ALERT {what} #{:<5} {:<9} {:<18} {} in {town} (value {:.2})",
            clock(at),
            a["id"].as_u64().unwrap_or(0),
            a["severity"].as_str().unwrap_or("?"),
            a["rule"].as_str().unwrap_or("?"),
            a["asset"].as_str().unwrap_or("?"),
            a["value"].as_f64().unwrap_or(f64::NAN)
        )
    }
}

/// A table row from the stream's `vitals` JSON (the same rows as `GET /api/v1/vitals`).
fn table_row(r: &Value) -> TableRow {
    let stat = |name: &str| {
        let c = &r["channels"][name];
        Some((c["mean"].as_f64()?, c["max"].as_f64()?))
    };
    let n = |v: &Value| v.as_u64().unwrap_or(0) as usize;
    TableRow {
        name: r["name"].as_str().unwrap_or("?").to_string(),
        island: r["island"].as_bool().unwrap_or(false),
        online: n(&r["online"]),
        offline: n(&r["offline"]),
        level: stat("level"),
        pm25: stat("pm25"),
        alerts: [
            n(&r["alerts"]["info"]),
            n(&r["alerts"]["warning"]),
            n(&r["alerts"]["critical"]),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_become_stream_endpoints() {
        assert_eq!(
            endpoint("http://127.0.0.1:8787").unwrap(),
            (
                "ws://127.0.0.1:8787/api/v1/stream".into(),
                "127.0.0.1".into(),
                8787,
                false
            )
        );
        assert_eq!(
            endpoint("https://twin.example/").unwrap(),
            (
                "wss://twin.example/api/v1/stream".into(),
                "twin.example".into(),
                443,
                true
            )
        );
        assert_eq!(endpoint("http://[::1]:9000").unwrap().1, "::1");
        assert!(endpoint("ftp://x").is_err());
        assert!(endpoint("http://user:pw@host:1").is_err());
        assert!(endpoint("http://host:port").is_err());
    }

    #[test]
    fn table_rows_read_the_vitals_json() {
        let r = table_row(&json!({
            "name": "城桥镇", "island": false, "online": 10, "offline": 2,
            "channels": {"level": {"count": 3, "mean": 1.5, "max": 2.25}},
            "alerts": {"info": 0, "warning": 1, "critical": 2}
        }));
        assert_eq!(r.online, 10);
        assert_eq!(r.offline, 2);
        assert_eq!(r.level, Some((1.5, 2.25)));
        assert_eq!(r.pm25, None);
        assert_eq!(r.alerts, [0, 1, 2]);
    }
}
