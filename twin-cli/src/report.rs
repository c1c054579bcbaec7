//! `--report FILE`: the end of a run as JSON — ingest counters and the vital signs per
//! town and island — so that processes splitting the towns can be checked and merged.
//!
//! ```json
//! {
//!   "source": "mqtt",
//!   "now_ms": 1763700031000, "now": "2025-11-21T04:40:31Z",
//!   "towns": ["CM-TOWN-BAOZHEN", "..."],
//!   "ingest": {"messages": 30600, "redelivered": 0, "bad_messages": 0, "acked": 30600,
//!              "connections": 1, "readings": 31200, "applied": 31200, "out_of_order": 0,
//!              "duplicates": 0, "replaced": 0, "rejected": {}, "rejected_total": 0,
//!              "messages_per_town": {"CM-TOWN-BAOZHEN": 1530, "...": 0}},
//!   "history_samples": 31200,
//!   "open_alerts": 1,
//!   "vital_signs": [{"id": "CM-TOWN-BAOZHEN", "name": "堡镇", "island": false,
//!                    "covered": true, "sensors": 51, "online": 51, "offline": 0,
//!                    "alerts": {"info": 0, "warning": 0, "critical": 0},
//!                    "channels": {"level": {"count": 2, "mean": 2.41, "max": 2.57}}}]
//! }
//! ```
//!
//! `towns` is `null` for a process that takes every town. A row is `covered` when the
//! process takes its town (an island row: all of the island's towns); rows of towns
//! other processes take are listed with what this process knows of them (nothing
//! reported). `rejected` counts refusals by reason; `readings` is every reading handed
//! to the store, so `applied + out_of_order + duplicates + replaced + rejected_total ==
//! readings`. Numbers are written so that they read back to the same f64.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value as Json, json};
use twin_core::Handle;
use twin_core::Session;
use twin_core::state::IngestReport;

/// What a run took in, summed over the run.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    /// `mqtt` or `simulator`.
    pub source: &'static str,
    /// MQTT messages received, redeliveries included.
    pub messages: u64,
    /// Of which carried the DUP flag (the broker sent them before).
    pub redelivered: u64,
    /// Messages refused whole (payload or topic).
    pub bad_messages: u64,
    /// Acknowledgements sent (after the message was applied).
    pub acked: u64,
    /// Connections made to the broker (1 + reconnections).
    pub connections: u64,
    /// Readings handed to the store.
    pub readings: u64,
    /// Good messages per town level of their topic (`_`: no town).
    pub per_town: BTreeMap<String, u64>,
    /// What the store made of the readings.
    pub ingest: IngestReport,
}

impl Counters {
    /// Counters for a source.
    pub fn new(source: &'static str) -> Self {
        Counters {
            source,
            ..Default::default()
        }
    }

    /// Adds what one ingest call did with `readings` readings.
    pub fn add(&mut self, readings: usize, report: &IngestReport) {
        self.readings += readings as u64;
        let mut counts = report.clone();
        counts.examples.clear();
        self.ingest.merge(counts);
    }
}

/// The report as JSON; `towns` are the towns this process takes (`None`: all).
pub fn to_json(live: &Session, c: &Counters, towns: Option<&[Handle]>, now_ms: i64) -> Json {
    let twin = live.twin();
    let id = |h: Handle| twin.get(h).map(|a| a.id.clone()).unwrap_or_default();
    let covers = |h: Handle| towns.is_none_or(|ts| ts.contains(&h));
    let manage = twin_core::state::orders::by_region(live.twin(), live.incidents(), live.orders());
    let rows: Vec<Json> = live
        .vital_signs()
        .iter()
        .map(|r| {
            let covered = if r.island {
                towns.is_none_or(|ts| {
                    twin.iter()
                        .filter(|(t, a)| {
                            a.kind == twin_core::AssetKind::Town
                                && twin.located_in(*t) == Some(r.region)
                        })
                        .all(|(t, _)| ts.contains(&t))
                })
            } else {
                covers(r.region)
            };
            let channels: serde_json::Map<String, Json> = r
                .channels
                .iter()
                .map(|(ch, s)| {
                    let name = live
                        .store()
                        .spec(*ch)
                        .map_or_else(|| format!("#{}", ch.0), |sp| sp.name.clone());
                    (
                        name,
                        json!({"count": s.count, "mean": s.mean, "max": s.max}),
                    )
                })
                .collect();
            json!({
                "id": id(r.region),
                "name": r.name,
                "island": r.island,
                "covered": covered,
                "sensors": r.sensors,
                "online": r.online,
                "offline": r.offline(),
                "alerts": {"info": r.alerts[0], "warning": r.alerts[1], "critical": r.alerts[2]},
                "management": manage.get(&r.region).cloned().unwrap_or_default(),
                "channels": channels,
            })
        })
        .collect();
    let rejected: serde_json::Map<String, Json> = c
        .ingest
        .rejected
        .iter()
        .map(|(r, n)| (format!("{r:?}"), json!(n)))
        .collect();
    json!({
        "source": c.source,
        "now_ms": now_ms,
        "now": twin_core::Timestamp::from_millis(now_ms).to_string(),
        "towns": towns.map(|ts| ts.iter().map(|h| id(*h)).collect::<Vec<_>>()),
        "ingest": {
            "messages": c.messages,
            "redelivered": c.redelivered,
            "bad_messages": c.bad_messages,
            "acked": c.acked,
            "connections": c.connections,
            "readings": c.readings,
            "applied": c.ingest.applied,
            "out_of_order": c.ingest.out_of_order,
            "duplicates": c.ingest.duplicates,
            "replaced": c.ingest.replaced,
            "rejected": rejected,
            "rejected_total": c.ingest.rejected_total(),
            "messages_per_town": c.per_town,
        },
        "history_samples": live.store().history().total_samples(),
        "open_alerts": live.alerts().open().count(),
        "incidents": incidents_json(live),
        "orders": crate::orders_out::to_json(live),
        "vital_signs": rows,
    })
}

use twin_core::session::views::{AFFECTED_KINDS, FOOTPRINT_BUFFER_M, incident_json};

/// The incidents (live and closed) as the API lists them, with times in ISO 8601 and
/// what each footprint — its assets' hull widened by 200 m — covers, counted by kind.
fn incidents_json(live: &Session) -> Vec<Json> {
    let twin = live.twin();
    let kinds: twin_core::KindFilter = AFFECTED_KINDS.parse().expect("valid kinds");
    let iso = |v: &Json| {
        v.as_i64().map_or(Json::Null, |ms| {
            json!(twin_core::Timestamp::from_millis(ms).to_string())
        })
    };
    let book = live.incidents();
    book.closed()
        .chain(book.live())
        .map(|i| {
            let mut v = incident_json(live, i, false);
            for k in ["start", "end", "closed_at"] {
                v[k] = iso(&v[k]);
            }
            v["peak"]["at"] = iso(&v["peak"]["at"]);
            let mut affected: std::collections::BTreeMap<String, usize> = Default::default();
            for ((kind, _town), n) in i.affected(twin, FOOTPRINT_BUFFER_M, &kinds) {
                *affected.entry(kind).or_default() += n;
            }
            v["affected"] = json!(affected);
            v
        })
        .collect()
}

/// Writes the report (pretty JSON) to `path`.
pub fn write(
    path: &Path,
    live: &Session,
    c: &Counters,
    towns: Option<&[Handle]>,
    now_ms: i64,
) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(&to_json(live, c, towns, now_ms))
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    std::fs::write(path, text + "\n").map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
