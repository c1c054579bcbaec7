//! `twin publish --mqtt URL`: the seeded simulator's telemetry published to an MQTT
//! broker, one message per sensor and second on its topic
//! (`twin/<town>/<kind>/<asset-id>`, [`twin_core::topic`]) with the compact JSON
//! payload of [`twin_core::telemetry::wire`], QoS 1 — something to feed `twin run --mqtt` with.
//!
//! The client keeps a persistent session (clean session off, `--client-id`), so
//! publishes not yet acknowledged when the broker goes away are sent again once it is
//! back; at the end it waits until the broker has acknowledged every message (or
//! fails, saying how many were not). Same seed, start and duration give the same
//! stream: `--report FILE` writes its counts (messages, samples, per town) as JSON.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use clap::Args;
use rumqttc::{Client, QoS};
use serde_json::json;
use twin_chongming::sim::{SimConfig, Simulator, standard_channels};
use twin_core::state::{Retention, Sample, StateStore, decode};
use twin_core::topic;

use crate::DataArgs;
use crate::broker::{NetEvent, options, shut_down, spawn_connection, wall_ms};
use crate::out::outln;
use crate::run::{clock, pace, parse_duration_ms, parse_speed};

/// Options of `twin publish`.
#[derive(Args, Debug, Clone)]
pub struct PublishArgs {
    /// The broker, mqtt://host:port.
    #[arg(long)]
    pub mqtt: String,
    /// Simulated time to publish (e.g. 30s, 20m); without it, until stopped.
    #[arg(long = "for")]
    pub duration: Option<String>,
    /// Simulated seconds per real second, or `max`.
    #[arg(long, default_value = "1")]
    pub speed: String,
    /// Simulated start, UTC milliseconds since the epoch (default: now). Start in the
    /// past to publish faster than real time: the twin refuses samples more than 5
    /// minutes ahead of its wall clock.
    #[arg(long)]
    pub start_ms: Option<i64>,
    /// Time the simulator's incidents are planned from, UTC ms (default: the start).
    #[arg(long)]
    pub incidents_from: Option<i64>,
    /// Client id of the persistent session.
    #[arg(long, default_value = "twin-publish")]
    pub client_id: String,
    /// Print a status line every this many simulated seconds.
    #[arg(long, default_value_t = 60)]
    pub status_every: u64,
    /// Publish only the sensors of shard I of N (`I/N`, handles modulo N), so that N
    /// publishers share the island between them.
    #[arg(long, value_parser = parse_shard)]
    pub shard: Option<(usize, usize)>,
    /// Publish each town's second as gateway batches on twin/TOWN/_batch/CLIENT-ID
    /// (JSON arrays of at most this many readings) instead of one message per sensor.
    #[arg(long)]
    pub batch: Option<usize>,
    /// User name, password and TLS of the broker connection.
    #[command(flatten)]
    pub mqtt_auth: crate::broker::MqttArgs,
    /// Write the counts of what was published here as JSON.
    #[arg(long)]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub data: DataArgs,
}

/// Reads `I/N` with I < N.
fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| format!("`{s}`: expected I/N, e.g. 0/3"))?;
    let (i, n): (usize, usize) = (
        i.trim()
            .parse()
            .map_err(|_| format!("`{s}`: `{i}` is not a number"))?,
        n.trim()
            .parse()
            .map_err(|_| format!("`{s}`: `{n}` is not a number"))?,
    );
    if n == 0 || i >= n {
        return Err(format!("`{s}`: need 0 <= I < N"));
    }
    Ok((i, n))
}

/// Counts of the stream.
#[derive(Debug, Default)]
struct Published {
    messages: u64,
    samples: u64,
    acked: u64,
    connections: u64,
    per_town: BTreeMap<String, u64>,
}

impl Published {
    fn drain(&mut self, rx: &Receiver<NetEvent>) -> anyhow::Result<()> {
        for e in rx.try_iter() {
            match e {
                NetEvent::Refused(why) => {
                    return Err(anyhow::anyhow!("the MQTT broker refused the login: {why}"));
                }
                NetEvent::PubAck => self.acked += 1,
                NetEvent::Connected { session_present } => {
                    self.connections += 1;
                    eprintln!("twin publish: connected (session present: {session_present})");
                }
                NetEvent::Lost(why) => eprintln!("twin publish: connection lost ({why})"),
                NetEvent::Subscribed(_) | NetEvent::Message(..) => {}
            }
        }
        Ok(())
    }
}

/// Publishes the simulated island.
pub fn run(args: &PublishArgs) -> anyhow::Result<()> {
    let duration_ms = args
        .duration
        .as_deref()
        .map(parse_duration_ms)
        .transpose()?;
    let speed = parse_speed(&args.speed)?;
    let opts = options(&args.mqtt, &args.client_id, false, &args.mqtt_auth)?;
    let twin = crate::data::load(&args.data)?;
    let mut store = StateStore::new(twin.handle_capacity(), Retention::default(), None);
    let channels = standard_channels(&mut store);
    let start = args.start_ms.unwrap_or_else(wall_ms).div_euclid(1000) * 1000;
    let mut config = SimConfig::default_for(
        &twin,
        args.data.seed,
        twin_core::Timestamp::from_millis(args.incidents_from.unwrap_or(start)),
    );
    config.start = twin_core::Timestamp::from_millis(start);
    let mut sim = Simulator::new(&twin, &channels, config);
    // Topic and town level of every simulated sensor and every camera with planned
    // events, by handle.
    let mut topics: Vec<Option<(String, String)>> = vec![None; twin.handle_capacity()];
    let (shard, shards) = args.shard.unwrap_or((0, 1));
    let reporters: Vec<twin_core::Handle> = sim.sensors().chain(sim.cameras()).collect();
    for h in reporters
        .into_iter()
        .filter(|h| h.index() % shards == shard)
    {
        if let Some(t) = topic::topic_of(&twin, h) {
            let town = topic::town_segment(&twin, twin.town_of(h));
            topics[h.index()] = Some((t, town));
        }
    }
    let names: Vec<(String, twin_core::state::ChannelType)> = store
        .channels()
        .map(|(_, s)| (s.name.clone(), s.ty.clone()))
        .collect();

    let (client, connection) = Client::new(opts, 1024);
    let (tx, rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let thread = spawn_connection(connection, tx, stop.clone(), Arc::new(AtomicU64::new(0)));
    outln!(
        "twin publish: {} sensors of {} assets to {} as `{}`, QoS 1, simulator seed {}",
        sim.sensor_count(),
        twin.len(),
        args.mqtt,
        args.client_id,
        args.data.seed
    );
    let mut out = Published::default();
    let result = publish(
        args,
        &client,
        &rx,
        &mut sim,
        &topics,
        &names,
        start,
        duration_ms,
        speed,
        &mut out,
    );
    shut_down(&client, &stop, thread);
    let (elapsed, t) = result?;
    outln!(
        "twin publish: {} messages ({} samples) from {} to {} in {:.1} s ({:.0} messages/s), all acknowledged",
        out.messages,
        out.samples,
        clock(start),
        clock(t),
        elapsed,
        out.messages as f64 / elapsed.max(1e-9)
    );
    if let Some(p) = &args.report {
        let report = json!({
            "messages": out.messages,
            "samples": out.samples,
            "acked": out.acked,
            "connections": out.connections,
            "from_ms": start,
            "to_ms": t,
            "seconds": elapsed,
            "messages_per_town": out.per_town,
        });
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(p, text + "\n").map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
    }
    Ok(())
}

/// Why a publish failed: the broker's refusal of the login if the connection thread
/// reported one (it stops, which is what made the publish fail), else the error.
fn publish_error(
    out: &mut Published,
    rx: &Receiver<NetEvent>,
    e: rumqttc::ClientError,
) -> anyhow::Error {
    match out.drain(rx) {
        Err(refused) => refused,
        Ok(()) => anyhow::anyhow!("MQTT publish: {e}"),
    }
}

/// One second of samples as gateway batches: per town, JSON arrays of at most `size`
/// per-reading objects on `twin/<town>/_batch/<client-id>`.
#[allow(clippy::too_many_arguments)]
fn publish_batches(
    args: &PublishArgs,
    client: &Client,
    rx: &Receiver<NetEvent>,
    samples: &[Sample],
    topics: &[Option<(String, String)>],
    names: &[(String, twin_core::state::ChannelType)],
    t: i64,
    size: usize,
    out: &mut Published,
) -> anyhow::Result<()> {
    let mut by_town: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for s in samples {
        let Some(Some((topic, town))) = topics.get(s.handle.index()) else {
            continue;
        };
        let Some((name, ty)) = names.get(usize::from(s.channel.0)) else {
            continue;
        };
        let id = topic.rsplit('/').next().unwrap_or_default();
        let value = match decode(ty, s.value) {
            twin_core::state::Value::Num(x) => serde_json::Number::from_f64(x)
                .map_or_else(|| "null".to_string(), |n| n.to_string()),
            twin_core::state::Value::Bool(b) => b.to_string(),
            twin_core::state::Value::Text(x) => serde_json::to_string(&x)?,
        };
        by_town.entry(town.as_str()).or_default().push(format!(
            "{{\"id\":{},\"channel\":{},\"ts\":{t},\"value\":{value}}}",
            serde_json::to_string(&topic::decode_segment(id).unwrap_or_default())?,
            serde_json::to_string(name)?
        ));
    }
    let gateway = topic::encode_segment(&args.client_id);
    for (town, readings) in by_town {
        let topic = format!(
            "twin/{town}/{}/{gateway}",
            twin_core::telemetry::wire::BATCH_KIND
        );
        for chunk in readings.chunks(size) {
            let payload = format!("[{}]", chunk.join(","));
            client
                .publish(topic.as_str(), QoS::AtLeastOnce, false, payload)
                .map_err(|e| publish_error(out, rx, e))?;
            out.messages += 1;
            out.samples += chunk.len() as u64;
            *out.per_town.entry(town.to_string()).or_insert(0) += 1;
        }
    }
    Ok(())
}

/// The publishing loop; returns the real seconds it took and the last simulated time.
#[allow(clippy::too_many_arguments)]
fn publish(
    args: &PublishArgs,
    client: &Client,
    rx: &Receiver<NetEvent>,
    sim: &mut Simulator,
    topics: &[Option<(String, String)>],
    names: &[(String, twin_core::state::ChannelType)],
    start: i64,
    duration_ms: Option<i64>,
    speed: Option<f64>,
    out: &mut Published,
) -> anyhow::Result<(f64, i64)> {
    let real_start = Instant::now();
    let status_every = args.status_every.max(1) as i64 * 1000;
    let mut t = start;
    let mut batch: Vec<Sample> = Vec::new();
    while duration_ms.is_none_or(|d| t - start < d) && !crate::out::gone() {
        pace(real_start, start, t, speed);
        t += 1000;
        batch.clear();
        sim.tick(twin_core::Timestamp::from_millis(t), &mut batch);
        if let Some(size) = args.batch {
            publish_batches(args, client, rx, &batch, topics, names, t, size.max(1), out)?;
            out.drain(rx)?;
            continue;
        }
        // One message per sensor: a charger's `power` and `charger` samples together.
        for group in batch.chunk_by(|a, b| a.handle == b.handle) {
            let Some(Some((topic, town))) = topics.get(group[0].handle.index()) else {
                continue;
            };
            let values: Vec<(&str, twin_core::state::Value)> = group
                .iter()
                .filter_map(|s| {
                    let (name, ty) = names.get(usize::from(s.channel.0))?;
                    Some((name.as_str(), decode(ty, s.value)))
                })
                .collect();
            let payload =
                twin_core::telemetry::wire::encode(twin_core::Timestamp::from_millis(t), &values);
            client
                .publish(topic.as_str(), QoS::AtLeastOnce, false, payload)
                .map_err(|e| publish_error(out, rx, e))?;
            out.messages += 1;
            out.samples += values.len() as u64;
            *out.per_town.entry(town.clone()).or_insert(0) += 1;
        }
        out.drain(rx)?;
        if (t - start) % status_every == 0 {
            outln!(
                "[{}] published {} messages ({} samples), {} acknowledged",
                clock(t),
                out.messages,
                out.samples,
                out.acked
            );
        }
    }
    // Wait until the broker has every message; give up after 60 s without progress.
    let mut last = (out.acked, Instant::now());
    while out.acked < out.messages {
        std::thread::sleep(Duration::from_millis(20));
        out.drain(rx)?;
        if out.acked != last.0 {
            last = (out.acked, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(60) {
            return Err(anyhow::anyhow!(
                "the broker acknowledged {} of {} messages (no progress for 60 s)",
                out.acked,
                out.messages
            ));
        }
    }
    Ok((real_start.elapsed().as_secs_f64(), t))
}
