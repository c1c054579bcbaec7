//! Starting and stopping the server: the listener (plain or TLS), the driver that
//! feeds the session every second, and shutdown.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum_server::tls_rustls::RustlsConfig;
use tokio::sync::oneshot;
use twin_core::state::IngestReport;
use twin_core::{Session, Timestamp};

use crate::state::Served;

/// What feeds the session: called once per second of wall-clock time with that second
/// (the simulator in `twin serve`'s default mode). Returns the samples it gave and what
/// the session made of them.
pub trait Driver: Send + 'static {
    /// Feeds the session for time `now`.
    fn step(&mut self, session: &mut Session, now: Timestamp) -> (usize, IngestReport);
}

impl<F> Driver for F
where
    F: FnMut(&mut Session, Timestamp) -> (usize, IngestReport) + Send + 'static,
{
    fn step(&mut self, session: &mut Session, now: Timestamp) -> (usize, IngestReport) {
        self(session, now)
    }
}

/// What moves the session on while it is served.
pub enum Feed {
    /// The driver, once per second of wall-clock time (the simulator of `twin serve`).
    Driver(Box<dyn Driver>),
    /// Only the wall clock: the session ticks every second (sensors fall offline,
    /// silence rules raise) with no samples of its own.
    WallClock,
    /// Nothing: the session changes only through requests (tests with known times).
    Nothing,
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Feed::Driver(_) => "Feed::Driver",
            Feed::WallClock => "Feed::WallClock",
            Feed::Nothing => "Feed::Nothing",
        })
    }
}

/// A certificate chain and its private key, PEM files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain (leaf first).
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Where and how to listen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// The address to listen on (port 0: any free port, see [`Running::addr`]).
    pub listen: SocketAddr,
    /// HTTPS with this certificate and key; plain HTTP without.
    pub tls: Option<TlsFiles>,
    /// Telemetry from this MQTT broker.
    pub mqtt: Option<crate::mqtt::MqttConfig>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Listening beyond loopback without tokens would let anyone change the twin.
    #[error(
        "refusing to listen on {0} without --tokens: anyone who can reach it could change the twin (give --tokens FILE, or listen on 127.0.0.1)"
    )]
    OpenWithoutTokens(SocketAddr),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// What the system said.
        source: std::io::Error,
    },
    /// The certificate or key could not be read or used.
    #[error("TLS: {0}")]
    Tls(String),
    /// The MQTT broker could not be reached, or refused the login.
    #[error("MQTT {0}")]
    Mqtt(String),
    /// The async runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
}

/// A server running on its own thread.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    ingest: Option<crate::mqtt::Ingest>,
}

impl Running {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops it (open connections get up to five seconds) and waits for its thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    /// Blocks until the server stops by itself (it does not, unless its runtime fails).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    fn shutdown(&mut self) {
        if let Some(i) = self.ingest.take() {
            i.stop();
        }
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The wall clock, floored to the second.
fn wall_second() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    Timestamp::from_millis(ms.div_euclid(1000) * 1000)
}

/// Binds, then serves `served` on a thread of its own with `feed` moving it on;
/// returns once it listens. Stop it with [`Running::stop`] (or Ctrl-C when
/// `ctrl_c` is set).
pub fn spawn(
    config: &ServerConfig,
    served: Served,
    feed: Feed,
    ctrl_c: bool,
) -> Result<Running, ServeError> {
    if served.tokens.is_none() && !config.listen.ip().is_loopback() {
        return Err(ServeError::OpenWithoutTokens(config.listen));
    }
    let listener = TcpListener::bind(config.listen).map_err(|source| ServeError::Bind {
        addr: config.listen,
        source,
    })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: config.listen,
        source,
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| ServeError::Bind { addr, source })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("twin-serve")
        .build()
        .map_err(ServeError::Runtime)?;
    let mut served = served;
    let tls = match &config.tls {
        None => None,
        Some(files) => {
            // The crypto provider is ring, the only one built in: rustls takes it
            // from its features (scripts/check-deps keeps aws-lc-rs out of the tree).
            served.tls = true;
            Some(
                runtime
                    .block_on(RustlsConfig::from_pem_file(&files.cert, &files.key))
                    .map_err(|e| {
                        ServeError::Tls(format!(
                            "{} / {}: {e}",
                            files.cert.display(),
                            files.key.display()
                        ))
                    })?,
            )
        }
    };
    if let Some(m) = &config.mqtt
        && let Some(n) = m.district
    {
        let d = {
            let s = served.read();
            crate::district::District::new(n, &m.towns, s.twin())?
        };
        served.write_with(|s| s.start_alert_ids_at(crate::district::first_alert_id(n)));
        served.district = Some(Arc::new(d));
    }
    let served = Arc::new(served);
    let ingest = match &config.mqtt {
        Some(m) => Some(crate::mqtt::start(served.clone(), m)?),
        None => None,
    };
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("twin-serve".into())
        .spawn(move || runtime.block_on(serve(listener, tls, served, feed, stop_rx, ctrl_c)))
        .map_err(ServeError::Runtime)?;
    Ok(Running {
        addr,
        stop: Some(stop_tx),
        thread: Some(thread),
        ingest,
    })
}

async fn serve(
    listener: TcpListener,
    tls: Option<RustlsConfig>,
    served: Arc<Served>,
    feed: Feed,
    stop: oneshot::Receiver<()>,
    ctrl_c: bool,
) {
    // Nothing to feed: no task that would take the write lock every second for nothing.
    let feeding = match feed {
        Feed::Driver(d) => Some(tokio::spawn(feed_loop(served.clone(), Some(d)))),
        Feed::WallClock => Some(tokio::spawn(feed_loop(served.clone(), None))),
        Feed::Nothing => None,
    };
    let mut first = crate::stream::hub::Producer::new(&served);
    first.step(&served);
    let producer = tokio::spawn(crate::stream::hub::produce(served.clone(), first));
    let app =
        crate::api::router(served.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    let h = handle.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = stop => {}
            _ = async { if ctrl_c { let _ = tokio::signal::ctrl_c().await; } else { std::future::pending::<()>().await } } => {
                eprintln!("twin serve: stopping");
            }
        }
        h.graceful_shutdown(Some(Duration::from_secs(5)));
    });
    let result = match tls {
        Some(config) => {
            axum_server::from_tcp_rustls(listener, config)
                .handle(handle)
                .serve(app)
                .await
        }
        None => {
            axum_server::from_tcp(listener)
                .handle(handle)
                .serve(app)
                .await
        }
    };
    if let Err(e) = result {
        eprintln!("twin serve: the listener failed: {e}");
    }
    if let Some(f) = feeding {
        f.abort();
    }
    producer.abort();
    tokio::task::block_in_place(|| served.close_store());
}

/// Feeds the session once a second of wall-clock time: the driver's samples, or a
/// plain tick without a driver.
async fn feed_loop(served: Arc<Served>, mut driver: Option<Box<dyn Driver>>) {
    let mut every = tokio::time::interval(Duration::from_millis(250));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last = None;
    loop {
        every.tick().await;
        let now = wall_second();
        if last.is_some_and(|l| l >= now) {
            continue;
        }
        last = Some(now);
        // A simulated second of the island takes tens of milliseconds: done on this
        // worker thread while the others keep answering.
        let done = tokio::task::block_in_place(|| {
            served.write_with(|s| match driver.as_mut() {
                Some(d) => Some(d.step(s, now)),
                None => {
                    s.tick(now);
                    None
                }
            })
        });
        tokio::task::block_in_place(|| served.after_feed());
        if let Some((n, report)) = done {
            let c = &served.counters;
            c.samples.fetch_add(n as u64, Ordering::Relaxed);
            c.refused_samples
                .fetch_add(report.rejected_total(), Ordering::Relaxed);
        }
    }
}
