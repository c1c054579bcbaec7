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
use std::path::PathBuf;
use std::time::Instant;

use serde_json::{Value, json};
use twin_client::{Backoff, Connection, Failure, Incoming, Options};

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
    let options = Options {
        token: args
            .token
            .clone()
            .or_else(|| std::env::var("TWIN_TOKEN").ok()),
        ca: args.ca.clone(),
        read_timeout: None,
    };
    let mut backoff = Backoff::default();
    loop {
        let began = Instant::now();
        match session(args, &options) {
            Ok(()) => return Ok(0),
            Err(Failure::Refused(why)) => {
                eprintln!("twin watch: {why}");
                return Ok(2);
            }
            Err(Failure::Lost(e)) if !args.once => {
                let wait = backoff.wait(began.elapsed());
                eprintln!("twin watch: {e}; again in {:.1} s", wait.as_secs_f64());
                std::thread::sleep(wait);
                if crate::out::gone() {
                    return Ok(0);
                }
            }
            Err(Failure::Lost(e)) => return Err(anyhow::anyhow!(e)),
        }
    }
}

/// One connection: hello, subscribe, print until it ends.
fn session(args: &WatchArgs, options: &Options) -> Result<(), Failure> {
    let mut ws = twin_client::connect(&args.url, options)?;
    let mut view = View::new(args);
    loop {
        match ws.read()? {
            Incoming::Json(v) => {
                if view.on(&mut ws, &v)? {
                    ws.close();
                    return Ok(());
                }
            }
            Incoming::Binary(_) | Incoming::Idle => {}
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
    fn on(&mut self, ws: &mut Connection, v: &Value) -> Result<bool, Failure> {
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
                ws.send(&sub)?;
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
                    return Err(Failure::Lost(format!("the server refused: {message}")));
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
        manage: [
            n(&r["management"]["open_incidents"]),
            n(&r["management"]["open_orders"]),
            n(&r["management"]["overdue_orders"]),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows_read_the_vitals_json() {
        let r = table_row(&json!({
            "name": "城桥镇", "island": false, "online": 10, "offline": 2,
            "channels": {"level": {"count": 3, "mean": 1.5, "max": 2.25}},
            "alerts": {"info": 0, "warning": 1, "critical": 2},
            "management": {"open_incidents": 1, "open_orders": 1, "overdue_orders": 0}
        }));
        assert_eq!(r.online, 10);
        assert_eq!(r.offline, 2);
        assert_eq!(r.level, Some((1.5, 2.25)));
        assert_eq!(r.pm25, None);
        assert_eq!(r.alerts, [0, 1, 2]);
        assert_eq!(r.manage, [1, 1, 0]);
    }
}
