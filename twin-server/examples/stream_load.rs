//! Load on the live stream: many WebSocket clients (tokio-tungstenite, one process)
//! against a running `twin serve`, for `scripts/bench-stream`. Each client subscribes,
//! waits for its snapshot, then counts frames and the delay of every delta: receive
//! time (wall clock) minus the record's own time (value records: the sample's time;
//! colour frames: the twin's clock in the header, the second whose readings coloured
//! it). Stalled clients subscribe and then never read again.
//!
//! ```text
//! stream_load --url ws://127.0.0.1:8787 --clients 50 [--towns] [--values all]
//!             [--stalled 1] [--seconds 60]      (token from $TWIN_TOKEN)
//! ```
//!
//! Prints one JSON object: clients, snapshots, frames, bytes, records and the delay's
//! p50/p99/max in ms over every client.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// Delays in 1 ms buckets up to 10 s (the last bucket holds everything longer).
const BUCKETS: usize = 10_001;

struct Totals {
    snapshots: AtomicU64,
    frames: AtomicU64,
    bytes: AtomicU64,
    records: AtomicU64,
    failed: AtomicU64,
    hist: Vec<AtomicU64>,
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

struct Args {
    url: String,
    clients: usize,
    towns: bool,
    values: Option<String>,
    stalled: usize,
    seconds: u64,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        url: "ws://127.0.0.1:8787".into(),
        clients: 10,
        towns: false,
        values: None,
        stalled: 0,
        seconds: 60,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().ok_or(format!("{k} needs a value"));
        match k.as_str() {
            "--url" => a.url = v()?,
            "--clients" => a.clients = v()?.parse().map_err(|e| format!("--clients: {e}"))?,
            "--towns" => a.towns = true,
            "--values" => a.values = Some(v()?),
            "--stalled" => a.stalled = v()?.parse().map_err(|e| format!("--stalled: {e}"))?,
            "--seconds" => a.seconds = v()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

async fn connect(
    url: &str,
    token: Option<&str>,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    String,
> {
    let mut req = format!("{url}/api/v1/stream")
        .into_client_request()
        .map_err(|e| e.to_string())?;
    req.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("twin.v1"),
    );
    if let Some(t) = token {
        req.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {t}")).map_err(|e| e.to_string())?,
        );
    }
    let (ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .map_err(|e| e.to_string())?;
    Ok(ws)
}

fn subscription(i: usize, towns: &[String], a: &Args) -> Value {
    let mut sub = json!({"type": "subscribe"});
    if a.towns && !towns.is_empty() {
        sub["towns"] = json!([towns[i % towns.len()]]);
    }
    if let Some(v) = &a.values {
        sub["values"] = if v == "all" {
            json!("all")
        } else {
            json!(v.split(',').collect::<Vec<_>>())
        };
    }
    sub
}

async fn client(i: usize, a: Arc<Args>, token: Option<String>, totals: Arc<Totals>, stall: bool) {
    let Ok(mut ws) = connect(&a.url, token.as_deref()).await else {
        totals.failed.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let mut towns = Vec::new();
    let mut snapshot = false;
    let end = tokio::time::Instant::now() + Duration::from_secs(a.seconds);
    loop {
        let msg = match tokio::time::timeout_at(end, ws.next()).await {
            Err(_) => break,
            Ok(None) => break,
            Ok(Some(Err(_))) => {
                if !stall {
                    totals.failed.fetch_add(1, Ordering::Relaxed);
                }
                break;
            }
            Ok(Some(Ok(m))) => m,
        };
        match msg {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
                match v["type"].as_str() {
                    Some("hello") => {
                        towns = v["towns"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|t| t["id"].as_str().map(str::to_string))
                            .collect();
                        let sub = subscription(i, &towns, &a);
                        if ws.send(Message::text(sub.to_string())).await.is_err() {
                            break;
                        }
                        if stall {
                            // Never read again; hold the connection until the end.
                            tokio::time::sleep_until(end).await;
                            return;
                        }
                    }
                    Some("snapshot_end") => {
                        snapshot = true;
                        totals.snapshots.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {}
                }
            }
            Message::Binary(b) if b.len() >= 24 => {
                let now = wall_ms();
                totals.frames.fetch_add(1, Ordering::Relaxed);
                totals.bytes.fetch_add(b.len() as u64, Ordering::Relaxed);
                if !snapshot {
                    continue;
                }
                let count = u32::from_le_bytes(b[12..16].try_into().unwrap_or_default());
                let clock = i64::from_le_bytes(b[16..24].try_into().unwrap_or_default());
                let note = |ts: i64| {
                    let d = (now - ts).clamp(0, BUCKETS as i64 - 1) as usize;
                    totals.hist[d].fetch_add(1, Ordering::Relaxed);
                    totals.records.fetch_add(1, Ordering::Relaxed);
                };
                if b[0] == 2 {
                    for r in b[24..].chunks_exact(24) {
                        note(i64::from_le_bytes(r[16..24].try_into().unwrap_or_default()));
                    }
                } else if count > 0 {
                    note(clock);
                }
            }
            _ => {}
        }
    }
    let _ = towns;
}

fn quantile(hist: &[u64], q: f64) -> Option<usize> {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return None;
    }
    let want = (total as f64 * q).ceil() as u64;
    let mut seen = 0;
    hist.iter().position(|&n| {
        seen += n;
        seen >= want
    })
}

#[tokio::main]
async fn main() {
    let a = match args() {
        Ok(a) => Arc::new(a),
        Err(e) => {
            eprintln!("stream_load: {e}");
            std::process::exit(2);
        }
    };
    let token = std::env::var("TWIN_TOKEN").ok();
    let totals = Arc::new(Totals {
        snapshots: AtomicU64::new(0),
        frames: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
        records: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        hist: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
    });
    let mut tasks = Vec::new();
    for i in 0..a.clients + a.stalled {
        let stall = i >= a.clients;
        tasks.push(tokio::spawn(client(
            i,
            a.clone(),
            token.clone(),
            totals.clone(),
            stall,
        )));
    }
    for t in tasks {
        let _ = t.await;
    }
    let hist: Vec<u64> = totals
        .hist
        .iter()
        .map(|h| h.load(Ordering::Relaxed))
        .collect();
    let out = json!({
        "clients": a.clients,
        "stalled": a.stalled,
        "towns": a.towns,
        "values": a.values,
        "seconds": a.seconds,
        "snapshots": totals.snapshots.load(Ordering::Relaxed),
        "failed": totals.failed.load(Ordering::Relaxed),
        "frames": totals.frames.load(Ordering::Relaxed),
        "bytes": totals.bytes.load(Ordering::Relaxed),
        "records": totals.records.load(Ordering::Relaxed),
        "p50_ms": quantile(&hist, 0.5),
        "p99_ms": quantile(&hist, 0.99),
        "max_ms": hist.iter().rposition(|&n| n > 0),
    });
    println!("{out}");
}
