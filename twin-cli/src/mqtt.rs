//! `twin run --mqtt URL`: the live twin fed from an MQTT broker instead of the
//! simulator.
//!
//! - **Topics and payloads**: `twin/<town>/<kind>/<asset-id>` ([`twin_core::topic`]),
//!   one JSON object per message ([`twin_core::telemetry::wire`]). `--towns` subscribes to
//!   `twin/<town>/#` of each town given, so several processes can split the towns;
//!   without it, to `twin/#`. A message whose town or kind is not its asset's is
//!   refused, so a process never applies another process's town.
//! - **Delivery**: QoS 1 on a persistent session (clean session off) under a fixed
//!   client id (`--client-id`, by default `twin-run-all` or `twin-run-` and a hash of
//!   the towns), so the broker keeps the subscriptions and queues messages while the
//!   twin is away. Acknowledgements are manual and sent only after the message has
//!   been applied to the live twin (a refused message is acknowledged too, or it
//!   would come back forever). What was applied but not yet acknowledged when the
//!   connection broke comes again; the store treats the exact repeat as a duplicate
//!   (counted, no effect), so nothing is lost or applied twice.
//! - **Reconnection**: a thread polls the rumqttc connection and hands events to the
//!   ingest loop over a channel; after an error it waits (100 ms, doubling to 2 s) and
//!   polls again, which reconnects. The subscriptions are made again only when the
//!   broker has lost the session. Acknowledgements are sent only on the connection
//!   a message came on.
//! - **Clock**: the twin's "now" is the newest sample time seen, never ahead of the
//!   wall clock, and runs on in real time once no message has come for a second (it
//!   never goes back): live data runs on the wall clock, a recorded or simulated
//!   stream of the past on its own time, whatever its pace, and sensors go offline
//!   once it stops.
//! - **Ingest**: messages are applied in batches of whatever has arrived (up to
//!   4,096), then acknowledged; the console (status line per simulated minute,
//!   alerts, vital signs) is `twin run`'s.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use rumqttc::{Client, Publish, QoS, SubscribeFilter, SubscribeReasonCode};
use twin_core::state::IngestReport;
use twin_core::telemetry::{TS_RANGE, wire};
use twin_core::topic::{self, Topic};
use twin_core::{AssetKind, Handle, Twin};
use twin_core::{Session, Timestamp};

use crate::broker::{NetEvent, options, shut_down, spawn_connection, wall_ms};
use crate::out::outln;
use crate::report::Counters;
use crate::run::{Console, RunArgs, parse_duration_ms};

/// Messages applied in one batch at most.
const MAX_BATCH: usize = 4096;
/// Refusals printed in full; the rest are counted.
const MAX_PRINTED: u64 = 20;

/// How long without messages before the clock runs on in real time.
const GRACE_MS: i64 = 1000;

/// The twin's clock: the newest sample time seen (never ahead of the wall clock) while
/// messages come; after a second without any, it runs on in real time. It never goes
/// back. Unset until the first sample.
#[derive(Debug)]
struct EventClock {
    newest: Option<i64>,
    last_arrival: Instant,
    floor: i64,
}

impl Default for EventClock {
    fn default() -> Self {
        EventClock {
            newest: None,
            last_arrival: Instant::now(),
            floor: i64::MIN,
        }
    }
}

impl EventClock {
    fn now(&mut self) -> Option<i64> {
        let newest = self.newest?;
        let quiet = self.last_arrival.elapsed().as_millis() as i64 - GRACE_MS;
        let t = (newest + quiet.max(0)).min(wall_ms().max(newest));
        self.floor = self.floor.max(t);
        Some(self.floor)
    }

    /// A batch of samples came, the newest at `newest`.
    fn observe(&mut self, newest: i64) {
        let candidate = newest.min(wall_ms());
        self.newest = Some(self.newest.map_or(candidate, |n| n.max(candidate)));
        self.last_arrival = Instant::now();
    }
}

/// The towns of a comma-separated list: ids (`CM-TOWN-CHENJIA`, any case) or English
/// names (`Chenjia`).
pub fn resolve_towns(twin: &Twin, list: &str) -> anyhow::Result<Vec<Handle>> {
    let towns: Vec<(Handle, &twin_core::Asset)> = twin
        .iter()
        .filter(|(_, a)| a.kind == AssetKind::Town)
        .collect();
    let mut out = BTreeSet::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let found = towns.iter().find(|(_, a)| {
            a.id.eq_ignore_ascii_case(name)
                || a.name_en
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
        });
        match found {
            Some((h, _)) => out.insert(*h),
            None => {
                let ids: Vec<&str> = towns.iter().map(|(_, a)| a.id.as_str()).collect();
                return Err(anyhow::anyhow!(
                    "--towns: no town `{name}` (towns: {})",
                    ids.join(", ")
                ));
            }
        };
    }
    if out.is_empty() {
        anyhow::bail!("--towns: no town given");
    }
    Ok(out.into_iter().collect())
}

/// The default client id: `twin-run-all`, or `twin-run-` and 12 hex digits of an
/// FNV-1a hash of the sorted town ids (the same towns give the same session).
pub fn default_client_id(twin: &Twin, towns: Option<&[Handle]>) -> String {
    let Some(towns) = towns else {
        return "twin-run-all".into();
    };
    let mut ids: Vec<&str> = towns
        .iter()
        .filter_map(|h| twin.get(*h).map(|a| a.id.as_str()))
        .collect();
    ids.sort_unstable();
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for b in ids.join(",").bytes() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    format!("twin-run-{:012x}", hash >> 16)
}

/// A message read and checked: its topic and readings, or why it is refused whole.
/// A gateway's batch (`twin/<town>/_batch/<gateway>`) names its assets itself.
fn read_message(twin: &Twin, p: &Publish) -> anyhow::Result<(Topic, wire::Decoded)> {
    let t = Topic::parse(&p.topic)?;
    if t.kind == wire::BATCH_KIND {
        return Ok((t, wire::decode_batch(&p.payload)?));
    }
    t.check(twin)?;
    let decoded = wire::decode(&p.payload, &t.id)?;
    Ok((t, decoded))
}

/// The ingest loop's state besides the live twin.
struct Ingest<'a> {
    args: &'a RunArgs,
    /// The data directory: a batch is acknowledged only once its records are on disk.
    dir: Option<&'a mut twin_store::DataDir>,
    client: Client,
    generation: Arc<AtomicU64>,
    counters: Counters,
    clock: EventClock,
    console: Option<Console>,
    /// Start and last console second.
    start: i64,
    t: i64,
    pending: (usize, IngestReport, Duration),
    printed: u64,
    /// When the first and the last message came.
    arrivals: Option<(Instant, Instant)>,
}

impl Ingest<'_> {
    fn apply_batch(
        &mut self,
        live: &mut Session,
        batch: Vec<(Box<Publish>, u64)>,
    ) -> anyhow::Result<()> {
        let mut readings = Vec::new();
        let mut refused = Vec::new();
        let now = Instant::now();
        self.arrivals = Some((self.arrivals.map_or(now, |a| a.0), now));
        for (p, _) in &batch {
            self.counters.messages += 1;
            self.counters.redelivered += u64::from(p.dup);
            match read_message(live.twin(), p) {
                Ok((t, d)) => {
                    let town = t.town.unwrap_or_else(|| topic::NO_TOWN.into());
                    *self.counters.per_town.entry(town).or_insert(0) += 1;
                    refused.extend(d.refused);
                    readings.extend(d.readings);
                }
                Err(why) => {
                    self.counters.bad_messages += 1;
                    self.note(|| format!("refused message on `{}`: {why}", p.topic));
                }
            }
        }
        if let Some(newest) = readings
            .iter()
            .map(|r| r.ts.as_millis())
            .chain(refused.iter().map(|r| r.3.as_millis()))
            .filter(|ts| TS_RANGE.contains(ts))
            .max()
        {
            self.clock.observe(newest);
        }
        if let Some(now) = self.clock.now() {
            self.start_console(now);
            let began = Instant::now();
            let mut report = live.apply_readings(&readings, Timestamp::from_millis(now));
            for (reason, id, channel, ts) in &refused {
                report.note_rejection(*reason, id, channel, *ts);
            }
            let took = began.elapsed();
            for r in &report.examples {
                self.note(|| format!("refused {r}"));
            }
            let n = readings.len() + refused.len();
            self.counters.add(n, &report);
            self.pending.0 += n;
            self.pending.2 += took;
            self.pending.1.merge(report);
        }
        // Applied (and with a data directory, on disk): acknowledge, on the connection
        // each message came on.
        if let Some(dir) = self.dir.as_deref() {
            dir.sync()?;
        }
        let current = self.generation.load(Ordering::SeqCst);
        for (p, g) in &batch {
            if *g == current && self.client.ack(p).is_ok() {
                self.counters.acked += 1;
            }
        }
        Ok(())
    }

    fn note(&mut self, line: impl FnOnce() -> String) {
        self.printed += 1;
        if self.printed <= MAX_PRINTED {
            eprintln!("twin run: {}", line());
        } else if self.printed == MAX_PRINTED + 1 {
            eprintln!("twin run: ... further refusals are counted, not printed");
        }
    }

    fn start_console(&mut self, now: i64) {
        if self.console.is_none() {
            self.start = now.div_euclid(1000) * 1000;
            self.t = self.start;
            self.console = Some(Console::new(
                self.start,
                self.args.alert_lines,
                self.args.table_every,
            ));
        }
    }

    /// Steps the console through every whole second up to the clock.
    fn advance(&mut self, live: &mut Session) {
        let (Some(now), Some(console)) = (self.clock.now(), self.console.as_mut()) else {
            return;
        };
        let target = now.div_euclid(1000) * 1000;
        if target - self.t > 3_600_000 {
            self.t = target - 1000;
        }
        if self.t < target {
            live.tick(Timestamp::from_millis(now));
        }
        while self.t < target {
            self.t += 1000;
            let (n, report, took) = std::mem::take(&mut self.pending);
            console.step(live, self.t, n, &report, took);
        }
    }
}

/// Runs the live twin from the broker at `url` until `--for` has passed on the twin's
/// clock or `--idle-exit` without messages; returns the counters, the towns taken
/// (`None`: all) and the final time.
pub fn run(
    args: &RunArgs,
    url: &str,
    live: &mut Session,
    dir: Option<&mut twin_store::DataDir>,
) -> anyhow::Result<(Counters, Option<Vec<Handle>>, i64)> {
    let towns = args
        .towns
        .as_deref()
        .map(|l| resolve_towns(live.twin(), l))
        .transpose()?;
    let filters: Vec<String> = match &towns {
        None => vec![topic::ALL_TOWNS.to_string()],
        Some(ts) => ts
            .iter()
            .filter_map(|h| live.twin().get(*h))
            .map(|a| topic::town_filter(&a.id))
            .collect(),
    };
    let duration_ms = args
        .duration
        .as_deref()
        .map(parse_duration_ms)
        .transpose()?;
    let idle_exit = args
        .idle_exit
        .as_deref()
        .map(parse_duration_ms)
        .transpose()?
        .map(|ms| Duration::from_millis(ms as u64));
    let client_id = args
        .client_id
        .clone()
        .unwrap_or_else(|| default_client_id(live.twin(), towns.as_deref()));
    let (client, connection) = Client::new(
        options(url, &client_id, true, &args.mqtt_auth)?,
        4 * MAX_BATCH,
    );
    let (tx, rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let generation = Arc::new(AtomicU64::new(0));
    let thread = spawn_connection(connection, tx, stop.clone(), generation.clone());
    outln!(
        "twin run: MQTT {url}, client `{client_id}` (persistent session, QoS 1), topics {}",
        filters.join(" ")
    );
    let mut ing = Ingest {
        args,
        dir,
        client: client.clone(),
        generation,
        counters: Counters::new("mqtt"),
        clock: EventClock::default(),
        console: None,
        start: 0,
        t: 0,
        pending: Default::default(),
        printed: 0,
        arrivals: None,
    };
    let result = ingest_loop(&mut ing, live, &rx, &filters, duration_ms, idle_exit);
    shut_down(&client, &stop, thread);
    result?;
    let now = ing.clock.now().unwrap_or_else(wall_ms);
    if let Some(c) = ing.console.as_mut() {
        c.finish(live, ing.t);
    }
    let secs = ing
        .arrivals
        .map_or(0.0, |(first, last)| (last - first).as_secs_f64());
    let c = &ing.counters;
    outln!(
        "twin run: {} messages in {secs:.1} s ({:.0}/s; {} refused), {} readings applied, {} duplicates, {} acknowledged; {} connections",
        c.messages,
        c.messages as f64 / secs.max(1e-3),
        c.bad_messages,
        c.ingest.applied,
        c.ingest.duplicates,
        c.acked,
        c.connections
    );
    Ok((ing.counters, towns, now))
}

fn ingest_loop(
    ing: &mut Ingest<'_>,
    live: &mut Session,
    rx: &Receiver<NetEvent>,
    filters: &[String],
    duration_ms: Option<i64>,
    idle_exit: Option<Duration>,
) -> anyhow::Result<()> {
    let mut connected = false;
    let mut failures = 0u64;
    let mut quiet_since = Instant::now();
    let mut any_message = false;
    loop {
        let mut events = Vec::new();
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(e) => events.push(e),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                anyhow::bail!("the MQTT connection thread stopped");
            }
        }
        while events.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(e) => events.push(e),
                Err(_) => break,
            }
        }
        let mut batch = Vec::new();
        for e in events {
            match e {
                NetEvent::Connected { session_present } => {
                    connected = true;
                    failures = 0;
                    quiet_since = Instant::now();
                    ing.counters.connections += 1;
                    outln!("twin run: connected (session present: {session_present})");
                    if !session_present {
                        let subs = filters
                            .iter()
                            .map(|f| SubscribeFilter::new(f.clone(), QoS::AtLeastOnce));
                        ing.client
                            .subscribe_many(subs)
                            .map_err(|e| anyhow::anyhow!("MQTT subscribe: {e}"))?;
                    }
                }
                NetEvent::Subscribed(codes) => {
                    if codes.contains(&SubscribeReasonCode::Failure) {
                        return Err(anyhow::anyhow!(
                            "the broker refused the subscription to {filters:?}"
                        ));
                    }
                    outln!("twin run: subscribed to {}", filters.join(" "));
                }
                NetEvent::Message(p, g) => batch.push((p, g)),
                NetEvent::PubAck => {}
                NetEvent::Refused(why) => {
                    return Err(anyhow::anyhow!("the MQTT broker refused the login: {why}"));
                }
                NetEvent::Lost(why) => {
                    failures += 1;
                    if connected {
                        outln!("twin run: connection lost ({why}); reconnecting");
                    } else if failures == 1 || failures.is_multiple_of(30) {
                        outln!("twin run: cannot reach the broker ({why}); retrying");
                    }
                    connected = false;
                }
            }
        }
        if !batch.is_empty() {
            any_message = true;
            quiet_since = Instant::now();
            ing.apply_batch(live, batch)?;
        }
        ing.advance(live);
        crate::durable::after_step(ing.dir.as_deref_mut(), live)?;
        // The reader of standard output went away: end as if the time were up.
        if crate::out::gone() {
            return Ok(());
        }
        if let (Some(d), Some(now)) = (duration_ms, ing.clock.now())
            && ing.console.is_some()
            && now - ing.start >= d
        {
            return Ok(());
        }
        if let Some(idle) = idle_exit
            && any_message
            && connected
            && quiet_since.elapsed() >= idle
        {
            return Ok(());
        }
    }
}
