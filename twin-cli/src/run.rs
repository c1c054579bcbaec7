//! `twin run`: the island, live. Loads the twin, drives every sensor from the seeded
//! simulator (or, with `--mqtt`, takes telemetry from an MQTT broker: [`crate::mqtt`]),
//! applies each second's samples to the live state, and prints a status line, alerts as
//! they are raised and cleared, and the town vital-signs table; `--report` writes the
//! final vital signs and ingest counters as JSON ([`crate::report`]).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use twin_chongming::DEFAULT_RULES_JSON;
use twin_chongming::sim::{SimConfig, Simulator, StandardChannels, standard_config};
use twin_core::state::IngestReport;
use twin_core::state::alert::AlertEvent;
use twin_core::state::vitals::VitalRow;
use twin_core::{Session, Timestamp};

use crate::DataArgs;
use crate::out::{out, outln};
use crate::report::Counters;

/// Options of `twin run`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Simulated time to run (e.g. 90s, 20m, 2h; with --mqtt: on the twin's clock from
    /// the first message); without it, runs until stopped.
    #[arg(long = "for")]
    pub duration: Option<String>,
    /// Simulated seconds per real second, or `max` to run as fast as possible
    /// (default 1).
    #[arg(long, conflicts_with = "mqtt")]
    pub speed: Option<String>,
    /// Simulated start, UTC milliseconds since the epoch (default: now).
    #[arg(long, conflicts_with = "mqtt")]
    pub start_ms: Option<i64>,
    /// Alert rules (JSON) instead of the bundled island's defaults.
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Time the simulator's incidents are planned from, UTC ms (default: the start;
    /// give the first run's start when resuming, to keep its incidents on schedule).
    #[arg(long, conflicts_with = "mqtt")]
    pub incidents_from: Option<i64>,
    /// Print the vital-signs table every this many simulated minutes.
    #[arg(long, default_value_t = 10)]
    pub table_every: u64,
    /// Memory for sample history, MiB (oldest samples are evicted past it; 100,000
    /// sensors at 1 Hz fill ~70 MiB a minute).
    #[arg(long, default_value_t = 512)]
    pub history_mib: usize,
    /// Save a snapshot of the live twin (assets, latest state, rules, open alerts) here
    /// when the run ends (written atomically).
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Start from this snapshot instead of loading the island afresh.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Alert lines printed per rule per simulated minute (the rest are counted).
    #[arg(long, default_value_t = 5)]
    pub alert_lines: usize,
    /// Take telemetry from this MQTT broker (mqtt://host:port) instead of the
    /// simulator: topics twin/TOWN/KIND/ASSET-ID, JSON payloads, QoS 1.
    #[arg(long)]
    pub mqtt: Option<String>,
    /// With --mqtt: only these towns (comma-separated ids such as CM-TOWN-CHENJIA, or
    /// English names), subscribing to twin/TOWN/# of each.
    #[arg(long, requires = "mqtt")]
    pub towns: Option<String>,
    /// With --mqtt: the client id of the persistent session (default: twin-run-all, or
    /// twin-run- and a hash of --towns).
    #[arg(long, requires = "mqtt")]
    pub client_id: Option<String>,
    /// With --mqtt: stop after this long (real time, e.g. 5s) connected without a
    /// message, once messages have come.
    #[arg(long, requires = "mqtt")]
    pub idle_exit: Option<String>,
    /// User name, password and TLS of the broker connection.
    #[command(flatten)]
    pub mqtt_auth: crate::broker::MqttArgs,
    /// Write the final vital signs and ingest counters here as JSON when the run ends.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// The data directory (journal, checkpoints, history on disk).
    #[command(flatten)]
    pub store: crate::durable::StoreArgs,
    #[command(flatten)]
    pub data: DataArgs,
}

/// Parses `90s`, `20m`, `2h`, `1500ms` or plain seconds into milliseconds.
pub fn parse_duration_ms(s: &str) -> anyhow::Result<i64> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("duration `{s}`: `{num}` is not a number"))?;
    let factor = match unit {
        "ms" => 1.0,
        "s" => 1000.0,
        "m" | "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        other => {
            return Err(anyhow::anyhow!(
                "duration `{s}`: unknown unit `{other}` (ms, s, m, h, d)"
            ));
        }
    };
    let ms = n * factor;
    if !(0.0..1e15).contains(&ms) {
        return Err(anyhow::anyhow!("duration `{s}` is out of range"));
    }
    Ok(ms as i64)
}

/// `HH:MM:SSZ` of a UTC millisecond time.
pub fn clock(ms: i64) -> String {
    let s = ms.div_euclid(1000);
    let (h, m, sec) = ((s / 3600) % 24, (s / 60) % 60, s % 60);
    format!("{h:02}:{m:02}:{sec:02}Z")
}

/// Parses `--speed`: a positive number of simulated seconds per real second, or `max`.
pub fn parse_speed(s: &str) -> anyhow::Result<Option<f64>> {
    match s.trim() {
        "max" => Ok(None),
        s => match s.parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 => Ok(Some(v)),
            _ => Err(anyhow::anyhow!("--speed `{s}`: a positive number or `max`")),
        },
    }
}

/// History kept by `twin run`: six hours.
pub const HISTORY_MAX_AGE_MS: i64 = 6 * 3_600_000;

/// Alert events taken from the session per batch.
const EVENT_BATCH: usize = 10_000;

/// The session settings of `twin run` with `history_mib` MiB of history.
pub fn session_config(history_mib: usize) -> twin_core::SessionConfig {
    standard_config(
        HISTORY_MAX_AGE_MS,
        Some(history_mib.saturating_mul(1 << 20)),
    )
}

/// Loads the twin (per `data`) into the island's standard session with the rules.
pub fn live_twin(
    data: &DataArgs,
    rules: Option<&PathBuf>,
    history_mib: usize,
) -> anyhow::Result<(Session, StandardChannels)> {
    let rules_text = match rules {
        Some(p) => {
            std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
        }
        None => DEFAULT_RULES_JSON.to_string(),
    };
    let twin = crate::data::load(data)?;
    let (live, channels) =
        twin_chongming::sim::standard_session(twin, session_config(history_mib), &rules_text)
            .map_err(|e| match rules {
                Some(p) => anyhow::anyhow!("{}: {e}", p.display()),
                None => anyhow::Error::new(e),
            })?;
    Ok((live, channels))
}

/// What the console shows while a live twin runs: a status line per simulated minute,
/// alerts (a few per rule and minute, the rest counted), the vital-signs table.
pub struct Console {
    start_ms: i64,
    minute: (u64, u64, u64, Duration),
    printed: std::collections::BTreeMap<String, usize>,
    /// Incidents that grew this minute.
    grew: std::collections::BTreeSet<u64>,
    alert_lines: usize,
    table_every_ms: i64,
    last_table: Option<i64>,
}

impl Console {
    /// A console starting at simulated time `start_ms`.
    pub fn new(start_ms: i64, alert_lines: usize, table_every_min: u64) -> Self {
        Console {
            start_ms,
            minute: (0, 0, 0, Duration::ZERO),
            printed: Default::default(),
            grew: Default::default(),
            alert_lines,
            table_every_ms: table_every_min.clamp(1, 1_000_000) as i64 * 60_000,
            last_table: None,
        }
    }

    /// Reports one simulated second: `samples` given, what the store made of them, and
    /// how long applying took.
    pub fn step(
        &mut self,
        live: &mut Session,
        t: i64,
        samples: usize,
        report: &IngestReport,
        took: Duration,
    ) {
        self.minute.0 += samples as u64;
        self.minute.1 += report.applied;
        self.minute.2 += report.rejected_total();
        self.minute.3 += took;
        loop {
            let events = live.drain_events(EVENT_BATCH);
            for e in &events {
                let rule = match e {
                    AlertEvent::Raised(a)
                    | AlertEvent::Acknowledged(a)
                    | AlertEvent::Cleared(a) => &a.rule,
                };
                let n = match self.printed.get_mut(rule) {
                    Some(n) => n,
                    None => self.printed.entry(rule.clone()).or_insert(0),
                };
                *n += 1;
                if *n <= self.alert_lines {
                    outln!("{}", describe_event(live, e));
                }
            }
            if events.len() < EVENT_BATCH {
                break;
            }
        }
        // Incidents: one line when one opens, goes quiet, reopens or closes; growth is
        // summed up once a minute.
        for e in live.drain_incident_events(usize::MAX) {
            use twin_core::state::incident::IncidentEvent as E;
            let (what, id) = match e {
                E::Opened(id) => ("OPENED  ", id),
                E::Reopened(id) => ("REOPENED", id),
                E::Quiet(id) => ("QUIET   ", id),
                E::Closed(id) => ("CLOSED  ", id),
                E::Grew(id) => {
                    self.grew.insert(id);
                    continue;
                }
            };
            // Stamped with the moment it happened (a replay's clock may jump past it).
            let inc = live.incidents().get(id);
            let at = match e {
                E::Opened(_) => inc.map(|i| i.start),
                E::Quiet(_) => inc.and_then(|i| i.end),
                E::Closed(_) => inc.and_then(|i| i.closed_at),
                _ => None,
            }
            .map_or(t, |at| at.as_millis().min(t));
            outln!(
                "[{}] INCIDENT {what} {}",
                clock(at),
                describe_incident(live, id)
            );
        }
        for e in live.drain_order_events(usize::MAX) {
            outln!("{}", crate::orders_out::describe(live, &e));
        }
        let elapsed = t - self.start_ms;
        if elapsed % 60_000 == 0 {
            for (rule, n) in std::mem::take(&mut self.printed) {
                if n > self.alert_lines {
                    outln!(
                        "[{}] ALERT ... and {} more events of {rule} this minute",
                        clock(t),
                        n - self.alert_lines
                    );
                }
            }
            self.print_growth(live, t);
            let (samples, applied, rejected, took) = self.minute;
            outln!(
                "[{}] {samples:>7} samples/min  applied {applied:>7}  rejected {rejected}  open alerts {}  ingest {:.1} ms/s  history {:.0} MiB",
                clock(t),
                live.alerts().open().count(),
                took.as_secs_f64() * 1000.0 / 60.0,
                live.store().history().bytes() as f64 / 1_048_576.0
            );
            self.minute = (0, 0, 0, Duration::ZERO);
        }
        if elapsed % self.table_every_ms == 0 {
            out!(
                "{}",
                vitals_table(&table_rows(&live.vital_signs(), live), t)
            );
            out!("{}", crate::orders_out::table(live, t));
            self.last_table = Some(t);
        }
    }

    /// One line per incident that grew since the last call and is not closed.
    fn print_growth(&mut self, live: &Session, t: i64) {
        use twin_core::state::incident::IncidentState;
        for id in std::mem::take(&mut self.grew) {
            if live
                .incidents()
                .get(id)
                .is_some_and(|i| i.state != IncidentState::Closed)
            {
                outln!(
                    "[{}] INCIDENT GREW     {}",
                    clock(t),
                    describe_incident(live, id)
                );
            }
        }
    }

    /// The final table (unless it was just printed).
    pub fn finish(&mut self, live: &Session, t: i64) {
        // Growth not yet summed up by a minute's end.
        self.print_growth(live, t);
        if self.last_table != Some(t) {
            out!(
                "{}",
                vitals_table(&table_rows(&live.vital_signs(), live), t)
            );
            out!("{}", crate::orders_out::table(live, t));
        }
    }
}

/// Sleeps until simulated time `t` is due at `speed` (no wait for `max`).
pub fn pace(real_start: Instant, start_ms: i64, t: i64, speed: Option<f64>) {
    if let Some(speed) = speed {
        let due =
            real_start + Duration::from_secs_f64((t - start_ms).max(0) as f64 / 1000.0 / speed);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
    }
}

/// Loads the live twin: the island afresh, the snapshot of `--resume`, or the data
/// directory's.
fn load_live(
    args: &RunArgs,
) -> anyhow::Result<(Session, StandardChannels, Option<twin_store::DataDir>)> {
    crate::durable::open_live(
        &args.store,
        &args.data,
        args.rules.as_ref(),
        args.resume.as_ref(),
        args.history_mib,
    )
}

/// Loads a live session (for `twin run` and `twin serve`): the island or `data` afresh
/// with `rules`, or the snapshot `resume` (with `rules` replacing its own when given).
pub fn load_session(
    data: &DataArgs,
    rules: Option<&PathBuf>,
    resume: Option<&PathBuf>,
    history_mib: usize,
) -> anyhow::Result<(Session, StandardChannels)> {
    Ok(match resume {
        None => live_twin(data, rules, history_mib)?,
        Some(p) => {
            let text = rules
                .map(|r| {
                    std::fs::read_to_string(r).map_err(|e| anyhow::anyhow!("{}: {e}", r.display()))
                })
                .transpose()?;
            let (live, channels) = twin_chongming::sim::standard_session_from_snapshot(
                p,
                session_config(history_mib),
                text.as_deref(),
            )
            .map_err(|e| match rules {
                Some(r) => anyhow::anyhow!("{e} (rules {})", r.display()),
                None => anyhow::anyhow!("{e}"),
            })?;
            outln!(
                "twin: resumed from {} ({} open alerts)",
                p.display(),
                live.alerts().open().count()
            );
            (live, channels)
        }
    })
}

/// Saves the snapshot (`--save`) and writes the report (`--report`) of a finished run.
fn finish(
    args: &RunArgs,
    live: &mut Session,
    dir: Option<twin_store::DataDir>,
    counters: &Counters,
    towns: Option<&[twin_core::Handle]>,
    now_ms: i64,
) -> anyhow::Result<()> {
    crate::durable::close(dir, live)?;
    if let Some(p) = &args.save {
        twin_core::snapshot::save(live, p)?;
        outln!("twin run: snapshot saved to {}", p.display());
    }
    if let Some(p) = &args.report {
        crate::report::write(p, live, counters, towns, now_ms)?;
        outln!("twin run: report written to {}", p.display());
    }
    Ok(())
}

/// Runs the live island.
pub fn run(args: &RunArgs) -> anyhow::Result<()> {
    let duration_ms = args
        .duration
        .as_deref()
        .map(parse_duration_ms)
        .transpose()?;
    let speed = parse_speed(args.speed.as_deref().unwrap_or("1"))?;
    let now_ms = crate::broker::wall_ms();
    let loaded = Instant::now();
    let (mut live, channels, mut dir) = load_live(args)?;
    if let Some(url) = &args.mqtt {
        outln!(
            "twin run: {} assets loaded in {:.2} s; {} rules",
            live.twin().len(),
            loaded.elapsed().as_secs_f64(),
            live.alerts().rules().len()
        );
        let (counters, towns, now) = crate::mqtt::run(args, url, &mut live, dir.as_mut())?;
        return finish(args, &mut live, dir, &counters, towns.as_deref(), now);
    }
    // Without --start-ms: now, or just after the newest state of a resumed snapshot
    // (older samples would only go to history).
    let start_ms = args.start_ms.unwrap_or_else(|| {
        live.store().newest_ts().map_or(now_ms, |t| {
            now_ms.max(t.as_millis().div_euclid(1000) * 1000)
        })
    });
    let mut config = SimConfig::default_for(
        live.twin(),
        args.data.seed,
        twin_core::Timestamp::from_millis(args.incidents_from.unwrap_or(start_ms)),
    );
    config.start = twin_core::Timestamp::from_millis(start_ms);
    outln!(
        "twin run: {} assets loaded in {:.2} s; {} rules; simulator seed {}",
        live.twin().len(),
        loaded.elapsed().as_secs_f64(),
        live.alerts().rules().len(),
        args.data.seed
    );
    for incident in &config.incidents {
        outln!("  incident planned: {}", incident.describe(live.twin()));
    }
    let mut sim = Simulator::new(live.twin(), &channels, config);
    let mut console = Console::new(start_ms, args.alert_lines, args.table_every);
    let real_start = Instant::now();
    let mut t = start_ms;
    let mut counters = Counters::new("simulator");
    // Until --for has passed, or the reader of standard output went away (then the
    // run ends as if its time were up: --save and --report are still written).
    while duration_ms.is_none_or(|d| t - start_ms < d) && !crate::out::gone() {
        pace(real_start, start_ms, t, speed);
        t += 1000;
        let began = Instant::now();
        let (made, report) = sim.drive(&mut live, Timestamp::from_millis(t));
        let took = began.elapsed();
        console.step(&mut live, t, made, &report, took);
        counters.add(made, &report);
        crate::durable::after_step(dir.as_mut(), &live)?;
    }
    console.finish(&live, t);
    outln!(
        "twin run: simulated {} in {:.1} s real time",
        clock(t - start_ms),
        real_start.elapsed().as_secs_f64()
    );
    finish(args, &mut live, dir, &counters, None, t)
}

/// `#3 flooding in 陈家镇 (critical): 342 alerts, 340 open, 342 assets`.
fn describe_incident(live: &Session, id: u64) -> String {
    let Some(i) = live.incidents().get(id) else {
        return format!("#{id}");
    };
    let towns: Vec<String> = i
        .towns
        .iter()
        .filter_map(|h| live.twin().get(*h))
        .map(|t| t.display_name().to_string())
        .collect();
    let towns = if towns.is_empty() {
        "-".to_string()
    } else {
        towns.join(", ")
    };
    format!(
        "#{} {} in {towns} ({}): {} alerts, {} open, {} assets",
        i.id,
        i.family,
        i.severity.as_str(),
        i.alert_count,
        i.open.len(),
        i.assets.len()
    )
}

fn describe_event(live: &Session, e: &AlertEvent) -> String {
    let (what, a, at) = match e {
        AlertEvent::Raised(a) => ("RAISED ", a, a.raised_at.as_millis()),
        AlertEvent::Acknowledged(a) => (
            "ACKED  ",
            a,
            a.acknowledged_at.unwrap_or(a.raised_at).as_millis(),
        ),
        AlertEvent::Cleared(a) => (
            "CLEARED",
            a,
            a.cleared_at.unwrap_or(a.raised_at).as_millis(),
        ),
    };
    let town = a
        .town
        .and_then(|h| live.twin().get(h))
        .map(|t| t.display_name().to_string())
        .unwrap_or_else(|| "-".into());
    format!(
        "[{}] ALERT {what} #{:<5} {:<9?} {:<18} {} in {town} (value {:.2})",
        clock(at),
        a.id,
        a.severity,
        a.rule,
        a.asset_id,
        a.value
    )
}

/// One line of the vital-signs table, from a session's rows or a served twin's JSON.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TableRow {
    /// The town's or island's name.
    pub name: String,
    /// An island's row (drawn with a `*`).
    pub island: bool,
    /// Sensors online and offline.
    pub online: usize,
    /// Sensors offline.
    pub offline: usize,
    /// Mean and max of `level` (m), if any sensor reported.
    pub level: Option<(f64, f64)>,
    /// Mean and max of `pm25` (µg/m³).
    pub pm25: Option<(f64, f64)>,
    /// Open alerts: info, warning, critical.
    pub alerts: [usize; 3],
    /// Open incidents, open work orders, overdue work orders.
    pub manage: [usize; 3],
}

/// The table rows of a session's vital signs.
pub fn table_rows(rows: &[VitalRow], live: &Session) -> Vec<TableRow> {
    let manage = twin_core::state::orders::by_region(live.twin(), live.incidents(), live.orders());
    let stat = |r: &VitalRow, name: &str| {
        live.store()
            .channel(name)
            .and_then(|c| r.channels.get(&c))
            .map(|s| (s.mean, s.max))
    };
    rows.iter()
        .map(|r| TableRow {
            name: r.name.clone(),
            island: r.island,
            online: r.online,
            offline: r.offline(),
            level: stat(r, "level"),
            pm25: stat(r, "pm25"),
            alerts: [r.alerts[0], r.alerts[1], r.alerts[2]],
            manage: manage.get(&r.region).map_or([0; 3], |m| {
                [m.open_incidents, m.open_orders, m.overdue_orders]
            }),
        })
        .collect()
}

/// The vital-signs table: one line per town, then per island.
pub fn vitals_table(rows: &[TableRow], t: i64) -> String {
    let stat = |s: Option<(f64, f64)>, max: bool| -> String {
        s.map(|(mean, mx)| format!("{:.1}", if max { mx } else { mean }))
            .unwrap_or_else(|| "-".into())
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nvital signs at {}\n  {:<14} {:>7} {:>7} {:>9} {:>9} {:>8} {:>8}  alerts(i/w/c)  incidents/orders/overdue",
        clock(t),
        "town",
        "online",
        "offline",
        "level avg",
        "level max",
        "pm25 avg",
        "pm25 max"
    );
    for r in rows {
        let name = if r.island {
            format!("* {}", r.name)
        } else {
            r.name.clone()
        };
        let _ = writeln!(
            out,
            "  {} {:>7} {:>7} {:>9} {:>9} {:>8} {:>8}  {:<13}  {}/{}/{}",
            crate::info::pad_to(&name, 14),
            r.online,
            r.offline,
            stat(r.level, false),
            stat(r.level, true),
            stat(r.pm25, false),
            stat(r.pm25, true),
            format!("{}/{}/{}", r.alerts[0], r.alerts[1], r.alerts[2]),
            r.manage[0],
            r.manage[1],
            r.manage[2]
        );
    }
    out
}
