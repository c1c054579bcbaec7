//! What the server holds: the one live session behind a lock, the recent alert events
//! for clients that poll, the tokens and limits, and the counters of what was served
//! and refused.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use serde::Serialize;
use twin_core::state::alert::AlertEvent;
use twin_core::{Session, Timestamp};

use crate::auth::{RateLimits, Tokens};

/// Limits on what one request may ask or send.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Largest request body, bytes (rules are the largest thing sent: 1 MiB).
    pub max_body_bytes: usize,
    /// Longest query string, bytes.
    pub max_query_bytes: usize,
    /// Most assets or features in one answer (`limit` is clamped to it).
    pub max_results: usize,
    /// Most raw samples in one history answer (ask for buckets beyond it).
    pub max_samples: usize,
    /// Requests a second per token (bursts of twice that).
    pub requests_per_second: u32,
    /// Failed authentications a second, all callers together.
    pub failures_per_second: u32,
    /// The live stream's limits.
    pub stream: crate::stream::StreamLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1 << 20,
            max_query_bytes: 4096,
            max_results: 10_000,
            max_samples: 100_000,
            requests_per_second: 200,
            failures_per_second: 20,
            stream: crate::stream::StreamLimits::default(),
        }
    }
}

/// Recent alert events kept for clients that poll `/api/v1/events`.
pub const EVENTS_KEPT: usize = 10_000;

/// Counters of what the server did, as `/api/v1/status` shows them.
#[derive(Debug, Default)]
pub struct Counters {
    /// Requests answered (any status).
    pub requests: AtomicU64,
    /// 401: no token or an unknown one.
    pub unauthorized: AtomicU64,
    /// 403: a known token whose role is too low.
    pub forbidden: AtomicU64,
    /// 429: over a rate limit.
    pub rate_limited: AtomicU64,
    /// Other 4xx: malformed, oversized or unknown requests.
    pub bad_requests: AtomicU64,
    /// Samples the driver (simulator or ingest) gave the session.
    pub samples: AtomicU64,
    /// MQTT messages taken from the broker.
    pub mqtt_messages: AtomicU64,
    /// MQTT messages refused whole (topic or payload unreadable, wrong town or kind).
    pub mqtt_bad_messages: AtomicU64,
    /// MQTT messages the broker sent again (after a lost connection).
    pub mqtt_redelivered: AtomicU64,
    /// MQTT connections made (reconnections included).
    pub mqtt_connects: AtomicU64,
    /// Samples refused by the session.
    pub refused_samples: AtomicU64,
}

/// A snapshot of [`Counters`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CounterValues {
    /// Requests answered.
    pub requests: u64,
    /// 401 answers.
    pub unauthorized: u64,
    /// 403 answers.
    pub forbidden: u64,
    /// 429 answers.
    pub rate_limited: u64,
    /// Other 4xx answers.
    pub bad_requests: u64,
    /// Samples given to the session.
    pub samples: u64,
    /// MQTT messages taken.
    pub mqtt_messages: u64,
    /// MQTT messages refused whole.
    pub mqtt_bad_messages: u64,
    /// MQTT messages redelivered.
    pub mqtt_redelivered: u64,
    /// MQTT connections made.
    pub mqtt_connects: u64,
    /// Samples it refused.
    pub refused_samples: u64,
}

impl Counters {
    /// Adds one to a counter.
    pub fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// The values now.
    pub fn values(&self) -> CounterValues {
        let v = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CounterValues {
            requests: v(&self.requests),
            unauthorized: v(&self.unauthorized),
            forbidden: v(&self.forbidden),
            rate_limited: v(&self.rate_limited),
            bad_requests: v(&self.bad_requests),
            samples: v(&self.samples),
            mqtt_messages: v(&self.mqtt_messages),
            mqtt_bad_messages: v(&self.mqtt_bad_messages),
            mqtt_redelivered: v(&self.mqtt_redelivered),
            mqtt_connects: v(&self.mqtt_connects),
            refused_samples: v(&self.refused_samples),
        }
    }
}

/// One alert event with its sequence number (1, 2, …, in the order they happened).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NumberedEvent {
    /// Its number.
    pub seq: u64,
    /// The event.
    #[serde(flatten)]
    pub event: AlertEvent,
}

/// The live twin as the server holds it.
#[derive(Debug)]
pub struct Served {
    session: RwLock<Session>,
    events: Mutex<(u64, VecDeque<NumberedEvent>)>,
    pub(crate) tokens: Option<Tokens>,
    pub(crate) rates: RateLimits,
    pub(crate) limits: Limits,
    pub(crate) counters: Counters,
    pub(crate) started: Instant,
    pub(crate) title: String,
    pub(crate) tls: bool,
    pub(crate) stream: crate::stream::Hub,
    pub(crate) district: Option<std::sync::Arc<crate::district::District>>,
    pub(crate) overlays: Vec<NamedOverlay>,
    /// The data directory the session is journalled to ([`Served::set_data_dir`]).
    pub(crate) store: Option<crate::store::Stored>,
    /// The building models the twin holds, offered to screens ([`crate::models`]).
    pub(crate) models: Vec<crate::models::ServedModel>,
}

/// Most named overlays beside the session's own.
pub const MAX_OVERLAYS: usize = 3;

/// An overlay the stream offers beside the session's own (`twin serve --overlay
/// NAME=FILE`): its layers colour the same assets from the same store, shared by every
/// client that subscribes to it. Only the stream's producer changes it.
#[derive(Debug)]
pub struct NamedOverlay {
    /// Its name in `subscribe`.
    pub name: String,
    /// The layers as given (rebuilt from them when the assets change).
    pub layers: Vec<twin_core::state::overlay::Layer>,
    pub(crate) overlay: Mutex<twin_core::state::overlay::Overlay>,
}

impl NamedOverlay {
    /// The overlay, locked (the producer writes it; subscriptions read its layers).
    pub fn lock(&self) -> std::sync::MutexGuard<'_, twin_core::state::overlay::Overlay> {
        self.overlay.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A fresh overlay of these layers over the session's assets: every asset
    /// repainted from the store at the next refresh, open alerts highlighted.
    pub(crate) fn build(
        session: &Session,
        layers: Vec<twin_core::state::overlay::Layer>,
    ) -> Result<twin_core::state::overlay::Overlay, String> {
        let mut o = twin_core::state::overlay::Overlay::new(session.twin(), layers)
            .map_err(|e| e.to_string())?;
        o.repaint_all();
        if let Some(color) = session.config().alert_highlight {
            for a in session.alerts().open() {
                o.set_highlight(a.asset, Some(color));
            }
        }
        Ok(o)
    }
}

impl Served {
    /// Serves `session`. Without `tokens` every caller is the local admin: the server
    /// then listens on loopback only (see [`crate::ServerConfig`]).
    pub fn new(session: Session, tokens: Option<Tokens>, limits: Limits, title: &str) -> Served {
        Served {
            session: RwLock::new(session),
            events: Mutex::new((0, VecDeque::new())),
            tokens,
            rates: RateLimits::new(limits.requests_per_second, limits.failures_per_second),
            stream: crate::stream::Hub::new(limits.stream.clone()),
            limits,
            counters: Counters::default(),
            started: Instant::now(),
            title: title.to_string(),
            tls: false,
            district: None,
            overlays: Vec::new(),
            store: None,
            models: Vec::new(),
        }
    }

    /// Adds an overlay the stream offers by `name` (letters, digits, `-` and `_`; not
    /// `default`, which is the session's own), from a layers JSON document (the format
    /// of `twin_core::state::overlay::load_layers_json`). At most [`MAX_OVERLAYS`].
    pub fn add_overlay(&mut self, name: &str, layers_json: &str) -> Result<(), String> {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok || name == "default" {
            return Err(format!(
                "overlay name `{name}`: 1 to 64 letters, digits, - or _, and not `default`"
            ));
        }
        if self.overlays.iter().any(|o| o.name == name) {
            return Err(format!("overlay `{name}` is given twice"));
        }
        if self.overlays.len() >= MAX_OVERLAYS {
            return Err(format!(
                "at most {MAX_OVERLAYS} overlays beside the session's"
            ));
        }
        let session = self.read();
        let layers = twin_core::state::overlay::load_layers_json(layers_json, session.store())
            .map_err(|e| format!("overlay `{name}`: {e}"))?;
        let overlay = NamedOverlay::build(&session, layers.clone())
            .map_err(|e| format!("overlay `{name}`: {e}"))?;
        drop(session);
        self.overlays.push(NamedOverlay {
            name: name.to_string(),
            layers,
            overlay: Mutex::new(overlay),
        });
        Ok(())
    }

    /// The overlays the stream offers beside the session's own.
    pub fn overlays(&self) -> &[NamedOverlay] {
        &self.overlays
    }

    /// This process's place in a district of processes that split the towns.
    pub fn district(&self) -> Option<&crate::district::District> {
        self.district.as_deref()
    }

    /// The vital-sign rows now: the session's, or the district's merge.
    pub fn vital_rows(&self, session: &Session) -> Vec<twin_core::state::vitals::VitalRow> {
        match &self.district {
            Some(d) => d.rows(session),
            None => session.vital_signs(),
        }
    }

    /// The open alerts by id: the session's, or the district's.
    pub fn open_alerts(&self, session: &Session) -> Vec<twin_core::state::alert::Alert> {
        match &self.district {
            Some(d) => d.open_alerts(session),
            None => session.alerts().open().cloned().collect(),
        }
    }

    /// Runs `f` under the session's write lock and files the alert events it returns
    /// (events of another process of the district) as the session's own are filed.
    pub(crate) fn file_foreign<E>(
        &self,
        f: impl FnOnce(&Session) -> Result<Vec<AlertEvent>, E>,
    ) -> Result<(), E> {
        self.write_with(|s| {
            let events = f(s)?;
            self.file(events);
            Ok(())
        })
    }

    fn file(&self, events: Vec<AlertEvent>) {
        if events.is_empty() {
            return;
        }
        let mut log = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        for event in events {
            log.0 += 1;
            let seq = log.0;
            log.1.push_back(NumberedEvent { seq, event });
            if log.1.len() > EVENTS_KEPT {
                log.1.pop_front();
            }
        }
    }

    /// The session, for reading. A panic while it was held (a bug, not user data) does
    /// not stop the server: the session is consistent after every call that returns.
    pub fn read(&self) -> RwLockReadGuard<'_, Session> {
        self.session.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The session, for changing it; alert events it produced are moved to the
    /// recent-events log when the guard is given back through [`Served::write_with`].
    fn write(&self) -> RwLockWriteGuard<'_, Session> {
        self.session.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the session for writing, then files the alert events it produced.
    pub fn write_with<R>(&self, f: impl FnOnce(&mut Session) -> R) -> R {
        let mut s = self.write();
        let r = f(&mut s);
        let events = s.drain_events(usize::MAX);
        // Numbered while the session is still held: a reader that takes the session and
        // then the log sees every event of the state it read, and none beyond it.
        self.file(events);
        r
    }

    /// Events numbered after `after`, at most `max`, oldest first; and the newest
    /// number given so far.
    pub fn events_after(&self, after: u64, max: usize) -> (Vec<NumberedEvent>, u64) {
        let log = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        let out = log
            .1
            .iter()
            .filter(|e| e.seq > after)
            .take(max)
            .cloned()
            .collect();
        (out, log.0)
    }

    /// The counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The live stream's counters.
    pub fn stream_counters(&self) -> &crate::stream::StreamCounters {
        self.stream.counters()
    }

    /// The session's clock.
    pub fn now(&self) -> Timestamp {
        self.read().now()
    }
}
