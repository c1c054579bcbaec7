//! The producer side of the stream: every tick it takes what changed in the session
//! once, copies the changed colours and values into the mirror, serialises the new
//! alert events and (once a second) the vital signs and status once for every client,
//! and publishes a small [`Tick`] of ranges on a broadcast ring.
//!
//! Clients compose their frames from the mirror under its own lock, never the
//! session's, so any number of screens cannot hold up the MQTT writer. The mirror is a
//! plain `RwLock` rather than the per-handle seqlock of docs/stream.md: the producer
//! holds it for the copy of one tick's changes (the changed handles only), a client for
//! composing one frame of at most 256 KiB.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::broadcast;
use twin_core::state::Rgba;
use twin_core::state::alert::AlertEvent;
use twin_core::{Handle, Session};

use super::StreamLimits;
use crate::api::live::{event_json, vital_json};
use crate::state::Served;

/// "No value yet" in the mirror's timestamps.
pub const NO_TS: i64 = i64::MIN;

/// The latest colour and values of every handle, as clients read them.
#[derive(Debug, Default)]
pub struct Mirror {
    /// The session generation these handles belong to.
    pub generation: u64,
    /// [`twin_core::Twin::fingerprint`] of that generation.
    pub fingerprint: String,
    /// RGBA per handle, per overlay: 0 the session's own, then the named ones
    /// ([`Served::overlays`]) in order.
    pub colors: Vec<Vec<[u8; 4]>>,
    /// Per channel (by [`twin_core::state::ChannelId`]), per handle.
    pub channels: Vec<ChannelMirror>,
}

/// One channel's latest values.
#[derive(Debug, Default)]
pub struct ChannelMirror {
    /// The stored value (numbers as they are, booleans 0/1, states by index).
    pub value: Vec<f64>,
    /// The sample's time, ms; [`NO_TS`] where there is none.
    pub ts: Vec<i64>,
    /// Its quality as a number (good 0, uncertain 1, bad 2).
    pub quality: Vec<u8>,
}

impl Mirror {
    fn rebuild(&mut self, s: &Session, named: &[Vec<[u8; 4]>]) {
        let n = s.twin().handle_capacity();
        self.generation = s.generation();
        self.fingerprint = s.twin().fingerprint();
        let own: Vec<[u8; 4]> = s.overlay().colors().iter().map(|c| c.0).collect();
        self.colors = std::iter::once(own).chain(named.iter().cloned()).collect();
        for c in &mut self.colors {
            c.resize(n, [0; 4]);
        }
        let nc = s.store().channels().count();
        self.channels = (0..nc)
            .map(|_| ChannelMirror {
                value: vec![0.0; n],
                ts: vec![NO_TS; n],
                quality: vec![0; n],
            })
            .collect();
        #[allow(clippy::single_range_in_vec_init, reason = "one range: every handle")]
        self.copy_values(s, &[0..n as u32]);
    }

    fn copy_colors(&mut self, overlay: usize, colors: &[Rgba], ranges: &[Range<u32>]) {
        let Some(mirror) = self.colors.get_mut(overlay) else {
            return;
        };
        for r in ranges {
            for h in r.clone() {
                if let (Some(dst), Some(src)) = (mirror.get_mut(h as usize), colors.get(h as usize))
                {
                    *dst = src.0;
                }
            }
        }
    }

    fn copy_values(&mut self, s: &Session, ranges: &[Range<u32>]) {
        let store = s.store();
        for (c, (id, _)) in self.channels.iter_mut().zip(store.channels()) {
            for r in ranges {
                for h in r.clone() {
                    let i = h as usize;
                    if i >= c.ts.len() {
                        continue;
                    }
                    match store.latest(Handle(h), id) {
                        Some(l) => {
                            c.value[i] = l.value;
                            c.ts[i] = l.ts.as_millis();
                            c.quality[i] = l.quality as u8;
                        }
                        None => c.ts[i] = NO_TS,
                    }
                }
            }
        }
    }
}

/// One alert event, serialised once for every client.
#[derive(Debug)]
pub struct TickEvent {
    /// Its number in the server's event log.
    pub seq: u64,
    /// The town of the alert's asset (clients filter by town).
    pub town: Option<Handle>,
    /// The `event` message.
    pub text: Arc<str>,
}

/// What one tick changed: ranges, not data (the data is in the mirror).
#[derive(Debug, Default)]
pub struct Tick {
    /// 1, 2, … per producer.
    pub seq: u64,
    /// The session generation; a change means every client resends everything.
    pub generation: u64,
    /// The twin's clock, ms.
    pub now: i64,
    /// Handles whose values changed.
    pub values: Vec<Range<u32>>,
    /// Handles whose colours changed, per overlay (as [`Mirror::colors`]).
    pub colors: Vec<Vec<Range<u32>>>,
    /// New alert events, in order.
    pub events: Vec<TickEvent>,
    /// One message per incident and order that changed (see [`super::manage`]).
    pub manage: Vec<super::manage::ManageMessage>,
    /// Alert events, or incident and order changes, were lost between ticks (more
    /// than the queues keep): clients resync their open alerts, incidents and orders.
    pub events_lost: bool,
    /// The `vitals` message, when the rows changed (at most once a second).
    pub vitals: Option<Arc<str>>,
    /// The shared part of the `status` message (once a second).
    pub status: Option<Arc<serde_json::Value>>,
}

/// Counters of the stream, as `/api/v1/status` shows them under `stream`.
#[derive(Debug, Default)]
pub struct StreamCounters {
    /// Clients connected now.
    pub clients: AtomicUsize,
    /// Connections accepted so far.
    pub connects: AtomicU64,
    /// Clients dropped because a write did not finish in time.
    pub dropped_slow: AtomicU64,
    /// Clients dropped because nothing came from them in time.
    pub dropped_idle: AtomicU64,
    /// Clients refused at the limit of streams (all, or per token).
    pub refused: AtomicU64,
    /// Full resends to clients that fell behind the tick ring.
    pub resyncs: AtomicU64,
    /// Binary frames sent.
    pub frames: AtomicU64,
    /// Bytes sent (text and binary).
    pub bytes: AtomicU64,
    /// Ticks produced.
    pub ticks: AtomicU64,
    /// Time the producer held the session's write lock, µs, in all.
    pub refresh_us: AtomicU64,
}

impl StreamCounters {
    /// The values now, as JSON.
    pub fn json(&self) -> serde_json::Value {
        let v = |c: &AtomicU64| c.load(Ordering::Relaxed);
        json!({
            "clients": self.clients.load(Ordering::Relaxed),
            "connects": v(&self.connects),
            "dropped_slow": v(&self.dropped_slow),
            "dropped_idle": v(&self.dropped_idle),
            "refused": v(&self.refused),
            "resyncs": v(&self.resyncs),
            "frames": v(&self.frames),
            "bytes": v(&self.bytes),
            "ticks": v(&self.ticks),
            "refresh_us": v(&self.refresh_us),
        })
    }
}

/// The stream's shared state: the mirror, the tick ring, the client counts.
#[derive(Debug)]
pub struct Hub {
    pub(crate) tx: broadcast::Sender<Arc<Tick>>,
    mirror: RwLock<Mirror>,
    pub(crate) limits: StreamLimits,
    pub(crate) counters: StreamCounters,
    /// Streams open per token name.
    pub(crate) per_token: Mutex<std::collections::HashMap<String, usize>>,
    /// The twin's clock at the last tick, ms (frame headers carry it).
    pub(crate) now: AtomicI64,
    /// The newest `vitals` message, for a client's snapshot.
    pub(crate) latest_vitals: Mutex<Option<Arc<str>>>,
}

impl Hub {
    /// A hub with these limits; the mirror fills at the first tick.
    pub fn new(limits: StreamLimits) -> Hub {
        let (tx, _) = broadcast::channel(limits.tick_ring.max(1));
        Hub {
            tx,
            mirror: RwLock::new(Mirror::default()),
            limits,
            counters: StreamCounters::default(),
            per_token: Mutex::new(Default::default()),
            now: AtomicI64::new(0),
            latest_vitals: Mutex::new(None),
        }
    }

    /// The mirror, for reading.
    pub fn mirror(&self) -> RwLockReadGuard<'_, Mirror> {
        self.mirror.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The newest `vitals` message (a client's snapshot, or a resend after a lag).
    pub fn latest_vitals(&self) -> Option<Arc<str>> {
        self.latest_vitals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The counters.
    pub fn counters(&self) -> &StreamCounters {
        &self.counters
    }
}

/// The producer's memory between ticks.
#[derive(Debug)]
pub struct Producer {
    seq: u64,
    per_second: u64,
    last_event: u64,
    last_manage_dropped: u64,
    last_vitals: Option<Arc<str>>,
    /// The samples counter over the last five seconds: the feed applies a second at a
    /// time on its own beat, so a one-second window would alias to 0 or twice the rate.
    last_samples: VecDeque<(u64, Instant)>,
}

impl Producer {
    /// A producer for `served`, which has not ticked yet.
    pub fn new(served: &Served) -> Producer {
        let tick = served.stream.limits.tick.as_millis().max(1);
        Producer {
            seq: 0,
            per_second: (Duration::from_secs(1).as_millis() / tick).max(1) as u64,
            last_event: 0,
            last_manage_dropped: 0,
            last_vitals: None,
            last_samples: VecDeque::from([(
                served.counters.samples.load(Ordering::Relaxed),
                Instant::now(),
            )]),
        }
    }

    /// One tick: the mirror brought up to date, the tick published. The first one
    /// fills the mirror and the vital signs, so the server runs it before it listens:
    /// no client ever sees an empty mirror.
    pub fn step(&mut self, served: &Served) {
        self.seq += 1;
        let once_a_second = self.seq % self.per_second == 1 || self.per_second == 1;
        let tick = one_tick(
            served,
            self.seq,
            once_a_second,
            &mut self.last_event,
            &mut self.last_manage_dropped,
            &mut self.last_vitals,
            &mut self.last_samples,
        );
        let hub = &served.stream;
        hub.counters.ticks.fetch_add(1, Ordering::Relaxed);
        // No receivers is not an error: nobody watches yet.
        let _ = hub.tx.send(Arc::new(tick));
    }
}

/// The producer: one tick every [`super::StreamLimits::tick`] while the server runs.
pub async fn produce(served: Arc<Served>, mut producer: Producer) {
    let mut every = tokio::time::interval(served.stream.limits.tick);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    every.tick().await; // the first one is now: the server ran it before listening
    loop {
        every.tick().await;
        tokio::task::block_in_place(|| producer.step(&served));
    }
}

fn one_tick(
    served: &Served,
    seq: u64,
    once_a_second: bool,
    last_event: &mut u64,
    last_manage_dropped: &mut u64,
    last_vitals: &mut Option<Arc<str>>,
    last_samples: &mut VecDeque<(u64, Instant)>,
) -> Tick {
    let hub = &served.stream;
    let started = std::time::Instant::now();
    // The events since the last tick: their highlights go to the named overlays now,
    // their messages to the clients below.
    let (list, newest) = served.events_after(*last_event, usize::MAX);
    let mut incident_events = Vec::new();
    let mut order_events = Vec::new();
    let mut manage_dropped = 0;
    let (generation, now, values, colors) = served.write_with(|s| {
        // Taken every tick (the queues are bounded), sent only outside district mode.
        incident_events = s.drain_incident_events(usize::MAX);
        order_events = s.drain_order_events(usize::MAX);
        manage_dropped = s.manage_events_dropped();
        let r = s.refresh();
        let mut m = hub.mirror.write().unwrap_or_else(PoisonError::into_inner);
        let n = s.twin().handle_capacity() as u32;
        let stale = m.generation != s.generation()
            || m.colors.first().is_none_or(|c| c.len() != n as usize)
            || m.channels.len() != s.store().channels().count()
            || m.fingerprint.is_empty();
        let named_colors = refresh_named(served, s, &list, &r.values, stale);
        if stale {
            let named: Vec<Vec<[u8; 4]>> = served
                .overlays
                .iter()
                .map(|o| o.lock().colors().iter().map(|c| c.0).collect())
                .collect();
            m.rebuild(s, &named);
            #[allow(clippy::single_range_in_vec_init, reason = "one range: every handle")]
            let all = vec![0..n];
            let colors = vec![all.clone(); 1 + served.overlays.len()];
            (s.generation(), s.now().as_millis(), all, colors)
        } else {
            m.copy_colors(0, s.overlay().colors(), &r.colors);
            for (i, (o, ranges)) in served.overlays.iter().zip(&named_colors).enumerate() {
                m.copy_colors(i + 1, o.lock().colors(), ranges);
            }
            m.copy_values(s, &r.values);
            let colors = std::iter::once(r.colors).chain(named_colors).collect();
            (s.generation(), s.now().as_millis(), r.values, colors)
        }
    });
    hub.now.store(now, Ordering::Relaxed);
    hub.counters
        .refresh_us
        .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);

    let manage_lost = manage_dropped > *last_manage_dropped;
    *last_manage_dropped = manage_dropped;
    let events_lost = list.first().is_some_and(|e| e.seq > *last_event + 1) || manage_lost;
    let session = served.read();
    let manage = if served.district().is_none() {
        super::manage::messages(&session, &incident_events, &order_events)
    } else {
        Vec::new()
    };
    let events = list
        .iter()
        .map(|e| {
            let alert = match &e.event {
                AlertEvent::Raised(a) | AlertEvent::Acknowledged(a) | AlertEvent::Cleared(a) => a,
            };
            let mut v = event_json(&session, e);
            v["type"] = json!("event");
            TickEvent {
                seq: e.seq,
                town: alert.town,
                text: v.to_string().into(),
            }
        })
        .collect();
    *last_event = newest;
    let (vitals, status) = if once_a_second {
        let rows = vital_json(
            &session,
            &served.vital_rows(&session),
            served.district().is_none(),
        );
        let text: Arc<str> = json!({"type": "vitals", "at": now, "rows": rows})
            .to_string()
            .into();
        // Sent only when the rows changed (the `at` changes every second, so compare
        // the rows' text).
        let rows_text = rows.to_string();
        let changed = last_vitals.as_deref() != Some(rows_text.as_str());
        if changed {
            *last_vitals = Some(rows_text.into());
        }
        *hub.latest_vitals
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(text.clone());
        let samples = served.counters.samples.load(Ordering::Relaxed);
        last_samples.push_back((samples, Instant::now()));
        while last_samples.len() > 6 {
            last_samples.pop_front();
        }
        let (first, since) = last_samples
            .front()
            .copied()
            .unwrap_or((samples, Instant::now()));
        let dt = since.elapsed().as_secs_f64().max(1e-3);
        let rate = samples.saturating_sub(first) as f64 / dt;
        let status = json!({
            "type": "status",
            "now": now,
            "now_iso": session.now().to_string(),
            "open_alerts": served.open_alerts(&session).len(),
            "samples": samples,
            "samples_per_s": rate.round(),
            "events_dropped": session.events_dropped(),
        });
        (changed.then_some(text), Some(Arc::new(status)))
    } else {
        (None, None)
    };
    Tick {
        seq,
        generation,
        now,
        values,
        colors,
        events,
        manage,
        events_lost,
        vitals,
        status,
    }
}

/// Brings the named overlays up to date under the session's write lock: the highlights
/// of the tick's alert events, then the colours of the changed values (every asset
/// again, rebuilt from its layers, when the assets changed). Returns each one's
/// changed ranges.
fn refresh_named(
    served: &Served,
    s: &Session,
    events: &[crate::state::NumberedEvent],
    values: &[Range<u32>],
    stale: bool,
) -> Vec<Vec<Range<u32>>> {
    let highlight = s.config().alert_highlight;
    served
        .overlays
        .iter()
        .map(|named| {
            let mut o = named.lock();
            if stale && o.colors().len() != s.twin().handle_capacity() {
                match crate::state::NamedOverlay::build(s, named.layers.clone()) {
                    Ok(fresh) => *o = fresh,
                    Err(e) => eprintln!("twin serve: overlay `{}`: {e}", named.name),
                }
            }
            if let Some(color) = highlight {
                for e in events {
                    match &e.event {
                        AlertEvent::Raised(a) => o.set_highlight(a.asset, Some(color)),
                        AlertEvent::Cleared(a) => o.set_highlight(a.asset, None),
                        AlertEvent::Acknowledged(_) => {}
                    }
                }
            }
            o.refresh_from(s.store(), values, s.now())
        })
        .collect()
}
