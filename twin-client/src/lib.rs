//! A blocking client of `twin serve`'s live stream (`GET /api/v1/stream`,
//! docs/stream.md), shared by `twin watch` and the desktop viewer's `--connect`.
//!
//! [`connect`] turns the address `twin serve` printed (`http://HOST:PORT` or
//! `https://HOST:PORT`) into the stream's WebSocket URL, dials it (through rustls when
//! it is https, trusting only the authority given), offers the `twin.v1` subprotocol
//! and the token as a Bearer header, and sorts what can go wrong into a [`Failure`]:
//! [`Failure::Refused`] when trying again cannot help (a refused token, a certificate
//! the authority does not vouch for, a bad address) and [`Failure::Lost`] when it can
//! (the server is down, the connection dropped).
//!
//! A [`Connection`] reads [`Incoming`] messages: JSON text parsed, binary frames as
//! bytes for `twin_core::stream`'s decoder. Reads wait at most the connection's read
//! timeout and then return [`Incoming::Idle`], so one thread can both read and send.
//! The server sends its status every second: [`Connection::read`] declares the
//! connection lost after [`DEAD_AFTER`] without any message. Dialling one address
//! gives up after [`CONNECT_TIMEOUT`], the handshakes after [`DEAD_AFTER`], and a
//! write that blocks after [`WRITE_TIMEOUT`]. [`Backoff`] spaces
//! reconnections 1, 2, 4 … 30 s apart with ±20 % jitter, as the protocol asks.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;
use tungstenite::{Message, WebSocket};

/// The subprotocol spoken.
pub const PROTOCOL: &str = "twin.v1";

/// With nothing from the server this long, the connection is lost (it sends its
/// status every second).
pub const DEAD_AFTER: Duration = Duration::from_secs(5);

/// Why a connection failed or ended.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Trying again cannot help: a refused token or role, an unusable address, a
    /// certificate the given authority does not vouch for.
    #[error("{0}")]
    Refused(String),
    /// The connection failed or was lost; try again after a [`Backoff`].
    #[error("{0}")]
    Lost(String),
}

/// How long dialling one address may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one write may block (a server that stopped reading).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// A byte stream, plain or TLS.
trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// Where the stream of a server is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `ws://HOST:PORT/api/v1/stream` or `wss://…`.
    pub url: String,
    /// The host to dial (brackets of an IPv6 literal removed).
    pub host: String,
    /// The port to dial.
    pub port: u16,
    /// Whether it is TLS.
    pub tls: bool,
}

impl Endpoint {
    /// The stream of the server at `url` (`http(s)://HOST[:PORT][/…]`, or `ws(s)://`).
    pub fn parse(url: &str) -> Result<Endpoint, String> {
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
            return Err(format!(
                "`{url}`: give http://HOST:PORT or https://HOST:PORT"
            ));
        };
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.is_empty() || authority.contains('@') {
            return Err(format!(
                "`{url}`: no host (and no user:password@ either: tokens go in $TWIN_TOKEN)"
            ));
        }
        let default_port = if tls { 443 } else { 80 };
        let port_of = |p: &str| {
            p.parse::<u16>()
                .map_err(|e| format!("`{url}`: port `{p}`: {e}"))
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            // [IPv6] or [IPv6]:PORT
            let (h, rest) = v6
                .split_once(']')
                .ok_or_else(|| format!("`{url}`: `[` without `]`"))?;
            let port = match rest {
                "" => default_port,
                r => port_of(
                    r.strip_prefix(':')
                        .ok_or_else(|| format!("`{url}`: `{r}` after the address"))?,
                )?,
            };
            (h.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), port_of(p)?),
                None => (authority.to_string(), default_port),
            }
        };
        let scheme = if tls { "wss" } else { "ws" };
        Ok(Endpoint {
            url: format!("{scheme}://{authority}/api/v1/stream"),
            host,
            port,
            tls,
        })
    }
}

/// How to connect.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The token (sent as `Authorization: Bearer`).
    pub token: Option<String>,
    /// For https: the certificate authority to trust (PEM).
    pub ca: Option<PathBuf>,
    /// How long one [`Connection::read`] waits before [`Incoming::Idle`] (default
    /// [`DEAD_AFTER`]).
    pub read_timeout: Option<Duration>,
}

/// One message from the server.
#[derive(Debug)]
pub enum Incoming {
    /// A JSON text message (its `type` says which).
    Json(Value),
    /// A binary frame (docs/stream.md §4).
    Binary(Vec<u8>),
    /// Nothing within the read timeout (the connection is still alive).
    Idle,
}

/// An open stream.
pub struct Connection {
    ws: WebSocket<Box<dyn Stream>>,
    endpoint: Endpoint,
    last: Instant,
}

fn tls_stream(tcp: TcpStream, host: &str, ca: Option<&Path>) -> Result<Box<dyn Stream>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    let ca = ca.ok_or("https needs the server's certificate authority (--ca FILE)")?;
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca).map_err(|e| format!("{}: {e}", ca.display()))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("{}: {e}", ca.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("{}: {e}", ca.display()))?;
    }
    // The crypto provider is ring, the only one built in: rustls takes it from its
    // features.
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name =
        ServerName::try_from(host.to_string()).map_err(|e| format!("server name `{host}`: {e}"))?;
    let conn = rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    Ok(Box::new(rustls::StreamOwned::new(conn, tcp)))
}

/// Connects to the stream of the server at `url`.
pub fn connect(url: &str, options: &Options) -> Result<Connection, Failure> {
    let endpoint = Endpoint::parse(url).map_err(Failure::Refused)?;
    let (host, port) = (endpoint.host.as_str(), endpoint.port);
    let tcp = dial(host, port)?;
    let lost = |e: std::io::Error| Failure::Lost(format!("{host}:{port}: {e}"));
    // The handshakes get the whole DEAD_AFTER; reads the caller's timeout after them
    // (a clone of the socket shares its options).
    tcp.set_read_timeout(Some(DEAD_AFTER)).map_err(lost)?;
    tcp.set_write_timeout(Some(WRITE_TIMEOUT)).map_err(lost)?;
    tcp.set_nodelay(true).map_err(lost)?;
    let socket = tcp.try_clone().map_err(lost)?;
    let stream: Box<dyn Stream> = if endpoint.tls {
        tls_stream(tcp, host, options.ca.as_deref()).map_err(Failure::Refused)?
    } else {
        Box::new(tcp)
    };
    let url = endpoint.url.as_str();
    let mut req = url
        .into_client_request()
        .map_err(|e| Failure::Refused(format!("{url}: {e}")))?;
    req.headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static(PROTOCOL));
    if let Some(t) = &options.token {
        let v = HeaderValue::from_str(&format!("Bearer {t}")).map_err(|_| {
            Failure::Refused("the token has characters a header cannot carry".into())
        })?;
        req.headers_mut().insert("authorization", v);
    }
    let ws = match tungstenite::client(req, stream) {
        Ok((ws, _)) => ws,
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(res))) => {
            let code = res.status().as_u16();
            let reason = res
                .body()
                .as_deref()
                .and_then(|b| serde_json::from_slice::<Value>(b).ok())
                .and_then(|v| v["reason"].as_str().map(str::to_string))
                .unwrap_or_default();
            let why = format!("{url}: {code} {reason}");
            return Err(if matches!(code, 401 | 403) {
                Failure::Refused(why)
            } else {
                Failure::Lost(why)
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
        Err(e) => return Err(Failure::Lost(format!("{url}: {e}"))),
    };
    socket
        .set_read_timeout(Some(options.read_timeout.unwrap_or(DEAD_AFTER)))
        .map_err(lost)?;
    Ok(Connection {
        ws,
        endpoint,
        last: Instant::now(),
    })
}

/// A TCP connection to `host:port`, each of its addresses tried for at most
/// [`CONNECT_TIMEOUT`].
fn dial(host: &str, port: u16) -> Result<TcpStream, Failure> {
    use std::net::ToSocketAddrs;
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| Failure::Lost(format!("cannot resolve {host}: {e}")))?;
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(Failure::Lost(match last {
        Some(e) => format!("cannot reach {host}:{port}: {e}"),
        None => format!("{host} has no address"),
    }))
}

impl Connection {
    /// Where it is connected.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The next message, or [`Incoming::Idle`] after the read timeout. Lost after
    /// [`DEAD_AFTER`] without any message, on a close from the server (with its code
    /// and reason) or on a text message that is not JSON.
    pub fn read(&mut self) -> Result<Incoming, Failure> {
        loop {
            let msg = match self.ws.read() {
                Ok(m) => m,
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    if self.last.elapsed() >= DEAD_AFTER {
                        return Err(Failure::Lost(format!(
                            "nothing from the server for {} s",
                            DEAD_AFTER.as_secs()
                        )));
                    }
                    return Ok(Incoming::Idle);
                }
                Err(e) => return Err(Failure::Lost(e.to_string())),
            };
            self.last = Instant::now();
            match msg {
                Message::Text(t) => {
                    return serde_json::from_str(t.as_str())
                        .map(Incoming::Json)
                        .map_err(|e| Failure::Lost(format!("a message that is not JSON: {e}")));
                }
                Message::Binary(b) => return Ok(Incoming::Binary(b.to_vec())),
                Message::Close(f) => {
                    return Err(Failure::Lost(format!(
                        "the server closed the stream{}",
                        f.map(|f| format!(": {} {}", u16::from(f.code), f.reason))
                            .unwrap_or_default()
                    )));
                }
                // Pings are answered by tungstenite on the next read or write.
                _ => {}
            }
        }
    }

    /// Sends a JSON message (`subscribe`, `ack` …).
    pub fn send(&mut self, message: &Value) -> Result<(), Failure> {
        self.ws
            .send(Message::text(message.to_string()))
            .map_err(|e| Failure::Lost(e.to_string()))
    }

    /// Closes the stream politely.
    pub fn close(mut self) {
        let _ = self.ws.close(None);
        let _ = self.ws.flush();
    }
}

/// The waits between reconnections: 1, 2, 4 … 30 s with ±20 % jitter; a connection
/// that lasted a minute starts again at 1 s.
#[derive(Clone, Debug)]
pub struct Backoff {
    next_s: f64,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff { next_s: 1.0 }
    }
}

impl Backoff {
    /// The wait after a connection that lasted `lasted`.
    pub fn wait(&mut self, lasted: Duration) -> Duration {
        if lasted > Duration::from_secs(60) {
            self.next_s = 1.0;
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let jitter = 0.8 + 0.4 * f64::from(nanos % 1000) / 1000.0;
        let wait = self.next_s * jitter;
        self.next_s = (self.next_s * 2.0).min(30.0);
        Duration::from_secs_f64(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_become_stream_endpoints() {
        let e = Endpoint::parse("http://127.0.0.1:8787").unwrap();
        assert_eq!(
            e,
            Endpoint {
                url: "ws://127.0.0.1:8787/api/v1/stream".into(),
                host: "127.0.0.1".into(),
                port: 8787,
                tls: false
            }
        );
        let e = Endpoint::parse("https://twin.example/").unwrap();
        assert_eq!(
            (e.url.as_str(), e.host.as_str(), e.port, e.tls),
            (
                "wss://twin.example/api/v1/stream",
                "twin.example",
                443,
                true
            )
        );
        assert_eq!(Endpoint::parse("http://[::1]:9000").unwrap().host, "::1");
        let e = Endpoint::parse("http://[::1]").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("::1", 80));
        assert!(Endpoint::parse("http://[::1").is_err());
        assert!(Endpoint::parse("http://[::1]x").is_err());
        assert!(Endpoint::parse("ftp://x").is_err());
        assert!(Endpoint::parse("http://user:pw@host:1").is_err());
        assert!(Endpoint::parse("http://host:port").is_err());
    }

    #[test]
    fn backoff_doubles_to_thirty_seconds_and_starts_again_after_a_long_connection() {
        let mut b = Backoff::default();
        let short = Duration::from_secs(1);
        let waits: Vec<f64> = (0..7).map(|_| b.wait(short).as_secs_f64()).collect();
        for (w, base) in waits.iter().zip([1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]) {
            assert!(
                (0.8 * base..=1.2 * base).contains(w),
                "{w} s for a base of {base} s"
            );
        }
        let w = b.wait(Duration::from_secs(61)).as_secs_f64();
        assert!((0.8..=1.2).contains(&w), "{w}");
    }

    #[test]
    fn a_server_that_is_not_there_is_lost_not_refused() {
        // A port nothing listens on: bind one, then drop it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let r = connect(&format!("http://127.0.0.1:{port}"), &Options::default());
        assert!(matches!(r, Err(Failure::Lost(_))), "{:?}", r.err());
    }
}
