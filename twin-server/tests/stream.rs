//! The live stream end to end: a real server on a loopback port and tungstenite (a
//! WebSocket client no one here wrote) as the screen. Known answers come from the twin
//! the test built before the server took it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;

use serde_json::{Value, json};
use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};
use twin_core::state::{IngestReport, Quality, Reading, Value as V};
use twin_core::{Handle, KindFilter, Session, Timestamp};
use twin_server::{Feed, Limits, StreamLimits};

use common::{OPERATOR, VIEWER, session, start, start_with};

type Ws = WebSocket<MaybeTlsStream<TcpStream>>;

/// 2026-05-04T00:00:00Z.
const T0: i64 = 1_777_852_800_000;

/// A driver fed by the test: each second it applies what the test sent.
fn driven() -> (Feed, mpsc::Sender<Reading>) {
    let (tx, rx) = mpsc::channel::<Reading>();
    let feed = Feed::Driver(Box::new(move |s: &mut Session, now: Timestamp| {
        let batch: Vec<Reading> = rx.try_iter().collect();
        if batch.is_empty() {
            s.tick(now);
            return (0, IngestReport::default());
        }
        let report = s.apply_readings(&batch, now);
        (batch.len(), report)
    }));
    (feed, tx)
}

/// Connects with the token in a header, in the subprotocol, or not at all.
fn connect(
    addr: SocketAddr,
    header: Option<&str>,
    protocols: &str,
    query: &str,
) -> Result<(Ws, tungstenite::handshake::client::Response), tungstenite::Error> {
    let mut req = format!("ws://{addr}/api/v1/stream{query}")
        .into_client_request()
        .unwrap();
    if let Some(t) = header {
        req.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {t}")).unwrap(),
        );
    }
    if !protocols.is_empty() {
        req.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_str(protocols).unwrap(),
        );
    }
    let (ws, res) = tungstenite::connect(req)?;
    if let MaybeTlsStream::Plain(s) = ws.get_ref() {
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
    }
    Ok((ws, res))
}

fn status_of(e: tungstenite::Error) -> u16 {
    match e {
        tungstenite::Error::Http(r) => r.status().as_u16(),
        other => panic!("expected an HTTP refusal, got {other}"),
    }
}

/// base64url without padding, written out (the test must not share the server's code).
fn b64url(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &x)| n | (u32::from(x) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// What a client has seen.
#[derive(Default)]
struct Seen {
    texts: Vec<Value>,
    /// Colour records per handle, every one received.
    colors: BTreeMap<u32, Vec<[u8; 4]>>,
    /// Values per (handle, channel): every (value, ts) received.
    values: BTreeMap<(u32, u16), Vec<(f64, i64)>>,
    /// The overlay (header offset 2) of each handle's latest colour.
    overlay_of: BTreeMap<u32, u16>,
    frame_seq: u32,
    closed: Option<u16>,
}

impl Seen {
    fn decode(&mut self, b: &[u8]) {
        assert!(b.len() >= 24);
        assert_eq!(b[1], 1, "format version");
        let seq = u32::from_le_bytes(b[8..12].try_into().unwrap());
        assert_eq!(seq, self.frame_seq + 1, "frame sequence without gaps");
        self.frame_seq = seq;
        let count = u32::from_le_bytes(b[12..16].try_into().unwrap());
        let mut body = &b[24..];
        let u32_at = |s: &[u8], i: usize| u32::from_le_bytes(s[i..i + 4].try_into().unwrap());
        match b[0] {
            1 => {
                let overlay = u16::from_le_bytes(b[2..4].try_into().unwrap());
                for _ in 0..count {
                    let (start, len) = (u32_at(body, 0), u32_at(body, 4));
                    for i in 0..len as usize {
                        let c: [u8; 4] = body[8 + 4 * i..12 + 4 * i].try_into().unwrap();
                        self.colors.entry(start + i as u32).or_default().push(c);
                        self.overlay_of.insert(start + i as u32, overlay);
                    }
                    body = &body[8 + 4 * len as usize..];
                }
            }
            2 => {
                assert_eq!(body.len(), 24 * count as usize);
                for r in body.chunks(24) {
                    let h = u32_at(r, 0);
                    let ch = u16::from_le_bytes(r[4..6].try_into().unwrap());
                    let v = f64::from_le_bytes(r[8..16].try_into().unwrap());
                    let ts = i64::from_le_bytes(r[16..24].try_into().unwrap());
                    self.values.entry((h, ch)).or_default().push((v, ts));
                }
                body = &[];
            }
            k => panic!("unknown frame kind {k}"),
        }
        assert!(body.is_empty(), "frame fully used");
    }

    /// Reads until `until` says stop or `limit` passes; false on timeout.
    fn read_until(&mut self, ws: &mut Ws, limit: Duration, until: impl Fn(&Seen) -> bool) -> bool {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if until(self) {
                return true;
            }
            match ws.read() {
                Ok(Message::Text(t)) => self.texts.push(serde_json::from_str(t.as_str()).unwrap()),
                Ok(Message::Binary(b)) => self.decode(&b),
                Ok(Message::Close(f)) => {
                    self.closed = Some(f.map_or(1005, |f| u16::from(f.code)));
                    return until(self);
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => {
                    self.closed.get_or_insert(0);
                    eprintln!("read: {e}");
                    return until(self);
                }
            }
        }
        until(self)
    }

    fn of_type(&self, t: &str) -> Vec<&Value> {
        self.texts.iter().filter(|v| v["type"] == t).collect()
    }
}

fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).unwrap();
}

fn gauge(s: &Session) -> (Handle, String) {
    let f: KindFilter = "sensor:water_level".parse().unwrap();
    s.twin()
        .iter()
        .find(|(_, a)| f.matches(&a.kind))
        .map(|(h, a)| (h, a.id.clone()))
        .unwrap()
}

fn reading(id: &str, channel: &str, ts: i64, value: V) -> Reading {
    Reading {
        id: id.into(),
        channel: channel.into(),
        ts: Timestamp::from_millis(ts),
        value,
        quality: Quality::Good,
    }
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn tokens_in_header_or_subprotocol_and_only_twin_v1_is_answered() {
    let server = start(session(), Limits::default(), Feed::Nothing);
    let addr = server.addr();
    // No token, an unknown one, a token in the URL, no twin.v1: refused before the upgrade.
    assert_eq!(
        status_of(connect(addr, None, "twin.v1", "").unwrap_err()),
        401
    );
    let unknown = format!(
        "twin.v1, twin.bearer.{}",
        b64url("not-a-token-at-all-000000")
    );
    assert_eq!(
        status_of(connect(addr, None, &unknown, "").unwrap_err()),
        401
    );
    assert_eq!(
        status_of(connect(addr, Some(VIEWER), "twin.v1", &format!("?token={VIEWER}")).unwrap_err()),
        400
    );
    assert_eq!(
        status_of(connect(addr, Some(VIEWER), "chat", "").unwrap_err()),
        400
    );

    // The header, as twin watch and the viewer send it.
    let (mut ws, res) = connect(addr, Some(VIEWER), "twin.v1", "").unwrap();
    assert_eq!(res.headers()["sec-websocket-protocol"], "twin.v1");
    let mut seen = Seen::default();
    assert!(seen.read_until(&mut ws, Duration::from_secs(5), |s| {
        !s.of_type("hello").is_empty()
    }));
    let hello = seen.of_type("hello")[0].clone();
    assert_eq!(hello["protocol"], "twin.v1");
    assert_eq!(hello["caller"], json!({"name": "wall", "role": "viewer"}));
    assert_eq!(hello["fingerprint"].as_str().unwrap().len(), 16);
    assert!(
        hello["channels"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "level" && c["unit"] == "m")
    );
    assert!(!hello["towns"].as_array().unwrap().is_empty());

    // The subprotocol, as a browser sends it: the answer is twin.v1 alone, never the token.
    let offered = format!("twin.v1, twin.bearer.{}", b64url(OPERATOR));
    let (_ws2, res) = connect(addr, None, &offered, "").unwrap();
    assert_eq!(res.headers()["sec-websocket-protocol"], "twin.v1");
    server.stop();
}

#[test]
fn a_snapshot_covers_every_subscribed_handle_once_with_its_colour_and_value() {
    let mut s = session();
    let (g, gid) = gauge(&s);
    let town = s.twin().town_of(g).unwrap();
    let pm25_sensor = {
        let f: KindFilter = "sensor:pm25".parse().unwrap();
        s.twin()
            .iter()
            .find(|(h, a)| f.matches(&a.kind) && s.twin().town_of(*h) == Some(town))
            .map(|(h, a)| (h, a.id.clone()))
            .unwrap()
    };
    let r = s.apply_readings(
        &[
            reading(&gid, "level", T0, V::Num(2.5)),
            reading(&pm25_sensor.1, "pm25", T0, V::Num(35.0)),
        ],
        Timestamp::from_millis(T0),
    );
    assert_eq!(r.applied, 2);
    s.refresh_colors();
    let town_id = s.twin().get(town).unwrap().id.clone();
    let want: BTreeSet<u32> = s
        .twin()
        .iter()
        .filter(|(h, _)| s.twin().town_of(*h) == Some(town))
        .map(|(h, _)| h.0)
        .collect();
    let colors: BTreeMap<u32, [u8; 4]> = want
        .iter()
        .map(|&h| (h, s.overlay().color(Handle(h)).0))
        .collect();
    let level = s.store().channel("level").unwrap().0;
    let pm25 = s.store().channel("pm25").unwrap().0;
    let fingerprint = s.twin().fingerprint();
    assert!(want.len() > 100, "{} handles in {town_id}", want.len());

    let server = start(s, Limits::default(), Feed::Nothing);
    let (mut ws, _) = connect(server.addr(), Some(VIEWER), "twin.v1", "").unwrap();
    send(
        &mut ws,
        json!({"type": "subscribe", "req": 7, "towns": [town_id], "values": ["level"]}),
    );
    let mut seen = Seen::default();
    assert!(seen.read_until(&mut ws, Duration::from_secs(10), |s| {
        !s.of_type("snapshot_end").is_empty()
    }));
    assert_eq!(
        seen.of_type("hello")[0]["fingerprint"],
        fingerprint.as_str()
    );
    let sub = seen.of_type("subscribed")[0];
    assert_eq!(sub["req"], 7);
    assert_eq!(sub["handles"], want.len());
    // Every handle of the town exactly once, with the session's colour; no other.
    let got: BTreeSet<u32> = seen.colors.keys().copied().collect();
    assert_eq!(got, want);
    for (h, c) in &seen.colors {
        assert_eq!(c.len(), 1, "handle {h} sent once");
        assert_eq!(c[0], colors[h], "colour of handle {h}");
    }
    // The one gauge with a level, with its value and time.
    assert_eq!(seen.values.len(), 1);
    assert_eq!(seen.values[&(g.0, level)], vec![(2.5, T0)]);
    // The snapshot also carried the open alerts and the vital signs.
    assert!(!seen.of_type("alerts").is_empty());
    assert!(!seen.of_type("vitals").is_empty());

    // Bad subscriptions are refused without closing; the old one stays. (Each is
    // answered before the next is sent: subscribes that arrive together coalesce, the
    // older answered `superseded`.)
    send(
        &mut ws,
        json!({"type": "subscribe", "req": 8, "towns": ["NOWHERE"]}),
    );
    assert!(seen.read_until(&mut ws, Duration::from_secs(5), |s| {
        !s.of_type("error").is_empty()
    }));
    send(
        &mut ws,
        json!({"type": "subscribe", "req": 9, "bbox": [200, 0, 1, 1]}),
    );
    send(&mut ws, json!({"type": "ping", "req": 10}));
    assert!(seen.read_until(&mut ws, Duration::from_secs(5), |s| {
        !s.of_type("pong").is_empty() && s.of_type("error").len() == 2
    }));
    let errors = seen.of_type("error");
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0]["req"], 8);
    assert_eq!(errors[0]["status"], 400);
    assert!(errors[0]["message"].as_str().unwrap().contains("NOWHERE"));
    assert_eq!(errors[1]["req"], 9);

    // More channels on the same handles: every value of them comes again (pm25 for
    // the first time).
    send(
        &mut ws,
        json!({"type": "subscribe", "req": 12, "towns": [town_id], "values": "all"}),
    );
    assert!(seen.read_until(
        &mut ws,
        Duration::from_secs(10),
        |s| s.of_type("snapshot_end").len() == 2
    ));
    assert_eq!(seen.values[&(pm25_sensor.0.0, pm25)], vec![(35.0, T0)]);
    assert_eq!(seen.values[&(g.0, level)].len(), 2);

    // A wider subscription sends only what came into view.
    let before = seen.colors.len();
    send(&mut ws, json!({"type": "subscribe", "req": 11}));
    assert!(seen.read_until(
        &mut ws,
        Duration::from_secs(10),
        |s| s.of_type("snapshot_end").len() == 3
    ));
    assert!(seen.colors.len() > before);
    assert!(
        seen.colors.values().all(|c| c.len() == 1),
        "no handle sent twice"
    );
    server.stop();
}

#[test]
fn deltas_alerts_and_acknowledgement_through_the_stream() {
    let s = session();
    let (g, gid) = gauge(&s);
    let level = s.store().channel("level").unwrap().0;
    let charger = {
        let f: KindFilter = "sensor:charger_power".parse().unwrap();
        s.twin()
            .iter()
            .find(|(_, a)| f.matches(&a.kind))
            .map(|(_, a)| a.id.clone())
            .unwrap()
    };
    let (feed, tx) = driven();
    let server = start(s, Limits::default(), feed);
    let (mut viewer, _) = connect(server.addr(), Some(VIEWER), "twin.v1", "").unwrap();
    let (mut operator, _) = connect(server.addr(), Some(OPERATOR), "twin.v1", "").unwrap();
    let mut v = Seen::default();
    let mut o = Seen::default();
    for (ws, seen) in [(&mut viewer, &mut v), (&mut operator, &mut o)] {
        send(
            ws,
            json!({"type": "subscribe", "values": "all", "kinds": ["sensor"]}),
        );
        assert!(seen.read_until(ws, Duration::from_secs(10), |s| {
            !s.of_type("snapshot_end").is_empty()
        }));
    }

    // A level arrives within a couple of seconds (the driver applies once a second,
    // the stream ticks every 250 ms).
    let ts = wall_ms();
    let sent = Instant::now();
    tx.send(reading(&gid, "level", ts, V::Num(3.25))).unwrap();
    assert!(v.read_until(&mut viewer, Duration::from_secs(5), |s| {
        s.values
            .get(&(g.0, level))
            .is_some_and(|l| l.last() == Some(&(3.25, ts)))
    }));
    assert!(
        sent.elapsed() < Duration::from_millis(2500),
        "{:?}",
        sent.elapsed()
    );

    // A charger fault raises an alert; both screens see it.
    tx.send(reading(
        &charger,
        "charger",
        wall_ms(),
        V::Text("fault".into()),
    ))
    .unwrap();
    let raised = |s: &Seen| {
        s.of_type("event")
            .iter()
            .find(|e| e["event"] == "raised" && e["alert"]["asset"] == charger.as_str())
            .map(|e| e["alert"]["id"].as_u64().unwrap())
    };
    assert!(v.read_until(&mut viewer, Duration::from_secs(5), |s| raised(s).is_some()));
    assert!(o.read_until(&mut operator, Duration::from_secs(5), |s| {
        raised(s).is_some()
    }));
    let id = raised(&v).unwrap();

    // The viewer may not acknowledge; the operator may, and everyone sees it.
    send(&mut viewer, json!({"type": "ack", "req": 1, "alert": id}));
    assert!(v.read_until(&mut viewer, Duration::from_secs(5), |s| {
        !s.of_type("error").is_empty()
    }));
    let e = v.of_type("error")[0];
    assert_eq!(
        (e["req"].clone(), e["status"].clone(), e["fatal"].clone()),
        (json!(1), json!(403), json!(false))
    );
    send(&mut operator, json!({"type": "ack", "req": 2, "alert": id}));
    assert!(o.read_until(&mut operator, Duration::from_secs(5), |s| {
        !s.of_type("ack_result").is_empty()
    }));
    assert_eq!(o.of_type("ack_result")[0]["alert"]["state"], "acknowledged");
    let acked = |s: &Seen| {
        s.of_type("event")
            .iter()
            .any(|e| e["event"] == "acknowledged" && e["alert"]["id"] == id)
    };
    assert!(v.read_until(&mut viewer, Duration::from_secs(5), acked));
    // Twice is a conflict.
    send(&mut operator, json!({"type": "ack", "req": 3, "alert": id}));
    assert!(o.read_until(&mut operator, Duration::from_secs(5), |s| {
        !s.of_type("error").is_empty()
    }));
    assert_eq!(o.of_type("error")[0]["status"], 409);

    // Status arrives every second with the twin's clock.
    assert!(v.read_until(
        &mut viewer,
        Duration::from_secs(3),
        |s| s.of_type("status").len() >= 2
    ));
    server.stop();
}

#[test]
fn a_stalled_client_is_dropped_and_the_others_go_on() {
    let limits = Limits {
        stream: StreamLimits {
            // The live client answers the pings (tungstenite does, as browsers do);
            // the stalled one reads nothing, so it answers nothing.
            idle: Duration::from_secs(2),
            ping_every: Duration::from_millis(500),
            write_timeout: Duration::from_secs(2),
            ..StreamLimits::default()
        },
        ..Limits::default()
    };
    let s = session();
    let (g, gid) = gauge(&s);
    let level = s.store().channel("level").unwrap().0;
    let (feed, tx) = driven();
    let server = start(s, limits, feed);
    // The stalled one subscribes to everything and then never reads or writes again.
    let (mut stalled, _) = connect(server.addr(), Some(VIEWER), "twin.v1", "").unwrap();
    send(&mut stalled, json!({"type": "subscribe", "values": "all"}));
    let (mut live, _) = connect(server.addr(), Some(VIEWER), "twin.v1", "").unwrap();
    send(&mut live, json!({"type": "subscribe", "values": ["level"]}));
    let mut seen = Seen::default();
    assert!(seen.read_until(&mut live, Duration::from_secs(10), |s| {
        !s.of_type("snapshot_end").is_empty()
    }));
    // For four seconds a new level every second; the live client gets each in time.
    for i in 0..4 {
        let ts = wall_ms();
        let sent = Instant::now();
        tx.send(reading(&gid, "level", ts, V::Num(f64::from(i))))
            .unwrap();
        assert!(seen.read_until(&mut live, Duration::from_secs(5), |s| {
            s.values
                .get(&(g.0, level))
                .is_some_and(|l| l.last() == Some(&(f64::from(i), ts)))
        }));
        assert!(
            sent.elapsed() < Duration::from_millis(2500),
            "{:?}",
            sent.elapsed()
        );
    }
    // By now the stalled one is gone (idle 2 s), and counted; the live one is not.
    let status = ureq_status(server.addr());
    assert_eq!(status["stream"]["dropped_idle"], 1, "{status}");
    assert_eq!(status["stream"]["clients"], 1);
    drop(stalled);
    server.stop();
}

#[test]
fn stream_limits_refuse_with_the_documented_codes() {
    let limits = Limits {
        stream: StreamLimits {
            max_clients: 3,
            max_per_token: 2,
            max_text_bytes: 1024,
            ..StreamLimits::default()
        },
        ..Limits::default()
    };
    let server = start(session(), limits, Feed::Nothing);
    let addr = server.addr();
    let (mut a, _) = connect(addr, Some(VIEWER), "twin.v1", "").unwrap();
    let (mut b, _) = connect(addr, Some(VIEWER), "twin.v1", "").unwrap();
    // Per token: the viewer's third is 429; the operator's first still fits.
    assert_eq!(
        status_of(connect(addr, Some(VIEWER), "twin.v1", "").unwrap_err()),
        429
    );
    let (mut c, _) = connect(addr, Some(OPERATOR), "twin.v1", "").unwrap();
    // In all: the fourth is 503.
    assert_eq!(
        status_of(connect(addr, Some(OPERATOR), "twin.v1", "").unwrap_err()),
        503
    );

    // Not JSON: an error, and the connection goes on.
    a.send(Message::text("{not json")).unwrap();
    send(&mut a, json!({"type": "ping", "req": 5}));
    let mut sa = Seen::default();
    assert!(sa.read_until(&mut a, Duration::from_secs(5), |s| {
        !s.of_type("pong").is_empty()
    }));
    assert_eq!(sa.of_type("error")[0]["status"], 400);
    // Too big: closed with 1009; binary: closed with 1003.
    b.send(Message::text(format!(
        "{{\"type\":\"ping\",\"pad\":\"{}\"}}",
        "x".repeat(4096)
    )))
    .unwrap();
    let mut sb = Seen::default();
    assert!(sb.read_until(&mut b, Duration::from_secs(5), |s| s.closed.is_some()));
    assert_eq!(sb.closed, Some(1009));
    c.send(Message::binary(vec![1u8, 2, 3])).unwrap();
    let mut sc = Seen::default();
    assert!(sc.read_until(&mut c, Duration::from_secs(5), |s| s.closed.is_some()));
    assert_eq!(sc.closed, Some(1003));
    // Their places are free again.
    std::thread::sleep(Duration::from_millis(300));
    let (_d, _) = connect(addr, Some(VIEWER), "twin.v1", "").unwrap();
    server.stop();
}

/// `/api/v1/status` through curl.
fn ureq_status(addr: SocketAddr) -> Value {
    let out = std::process::Command::new("curl")
        .args(["-s", "-H", &format!("Authorization: Bearer {VIEWER}")])
        .arg(format!("http://{addr}/api/v1/status"))
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_named_overlay_colours_the_same_assets_its_own_way() {
    // A flood map: gauges green below 3 m, magenta from 3 m.
    let flood = r##"[{"name": "flood", "kinds": "sensor:water_level", "channel": "level",
        "thresholds": {"breaks": [3.0], "colors": ["#00ff00", "#ff00ff"]},
        "no_data": "#00000000"}]"##;
    let s = session();
    let (g, gid) = gauge(&s);
    let f: KindFilter = "sensor:water_level".parse().unwrap();
    let gauges = s.twin().iter().filter(|(_, a)| f.matches(&a.kind)).count();
    let (feed, tx) = driven();
    let server = start_with(s, Limits::default(), feed, &[("flood", flood)]);
    let (mut on_flood, _) = connect(server.addr(), Some(VIEWER), "twin.v1", "").unwrap();
    let (mut on_default, _) = connect(server.addr(), Some(VIEWER), "twin.v1", "").unwrap();
    let mut seen = Seen::default();
    assert!(
        seen.read_until(&mut on_flood, Duration::from_secs(10), |s| !s
            .of_type("hello")
            .is_empty())
    );
    let hello = seen.of_type("hello")[0].clone();
    assert_eq!(hello["overlays"][0]["name"], "default");
    assert_eq!(
        hello["overlays"][1],
        json!({"name": "flood", "layers": ["flood"]})
    );
    // Unknown overlays, and layers of another overlay, are refused.
    // (One at a time: a subscription sent before the last was applied replaces it.)
    send(
        &mut on_flood,
        json!({"type": "subscribe", "req": 1, "overlay": "nope"}),
    );
    assert!(seen.read_until(
        &mut on_flood,
        Duration::from_secs(10),
        |s| s.of_type("error").len() == 1
    ));
    send(
        &mut on_flood,
        json!({"type": "subscribe", "req": 2, "overlay": "flood", "layers": ["water level"]}),
    );
    assert!(seen.read_until(
        &mut on_flood,
        Duration::from_secs(10),
        |s| s.of_type("error").len() == 2
    ));
    let errors: Vec<String> = seen
        .of_type("error")
        .iter()
        .map(|e| e["message"].to_string())
        .collect();
    assert!(
        errors[0].contains("no overlay `nope` (default, flood)"),
        "{errors:?}"
    );
    assert!(errors[1].contains("no layer `water level`"), "{errors:?}");
    // The flood overlay's layer selects every gauge; their colours come as overlay 1.
    send(
        &mut on_flood,
        json!({"type": "subscribe", "req": 3, "overlay": "flood", "layers": ["flood"]}),
    );
    assert!(
        seen.read_until(&mut on_flood, Duration::from_secs(10), |s| !s
            .of_type("snapshot_end")
            .is_empty())
    );
    let subscribed = seen.of_type("subscribed").last().unwrap()["handles"].clone();
    assert_eq!(subscribed, gauges);
    assert_eq!(seen.overlay_of.get(&g.0), Some(&1));
    assert_eq!(seen.colors[&g.0].last(), Some(&[0, 0, 0, 0]), "no data yet");
    let mut other = Seen::default();
    send(
        &mut on_default,
        json!({"type": "subscribe", "kinds": ["sensor:water_level"]}),
    );
    assert!(
        other.read_until(&mut on_default, Duration::from_secs(10), |s| !s
            .of_type("snapshot_end")
            .is_empty())
    );
    assert_eq!(other.overlay_of.get(&g.0), Some(&0));
    // 3.5 m: magenta on the flood map, the standard ramp's red on the default one.
    tx.send(reading(&gid, "level", wall_ms(), V::Num(3.5)))
        .unwrap();
    assert!(
        seen.read_until(&mut on_flood, Duration::from_secs(10), |s| {
            s.colors.get(&g.0).and_then(|c| c.last()) == Some(&[255, 0, 255, 255])
        })
    );
    assert!(
        other.read_until(&mut on_default, Duration::from_secs(10), |s| {
            s.colors.get(&g.0).and_then(|c| c.last()) == Some(&[215, 25, 28, 255])
        })
    );
    assert_eq!(seen.overlay_of[&g.0], 1);
    server.stop();
}

#[test]
fn incidents_and_orders_stream_to_their_towns_and_steps_go_through_the_stream() {
    let s = session();
    let f: KindFilter = "sensor:charger_power".parse().unwrap();
    let (ch, charger) = s
        .twin()
        .iter()
        .find(|(_, a)| f.matches(&a.kind))
        .map(|(h, a)| (h, a.id.clone()))
        .unwrap();
    let town = s.twin().town_of(ch).unwrap();
    let town_id = s.twin().get(town).unwrap().id.clone();
    let other_town = {
        let t: KindFilter = "town".parse().unwrap();
        s.twin()
            .iter()
            .find(|(h, a)| t.matches(&a.kind) && *h != town)
            .map(|(_, a)| a.id.clone())
            .unwrap()
    };
    let (feed, tx) = driven();
    let server = start(s, Limits::default(), feed);
    let mut screens = Vec::new();
    for (token, towns) in [
        (VIEWER, json!(null)),
        (OPERATOR, json!([town_id])),
        (VIEWER, json!([other_town])),
    ] {
        let (mut ws, _) = connect(server.addr(), Some(token), "twin.v1", "").unwrap();
        let mut seen = Seen::default();
        let mut sub = json!({"type": "subscribe", "kinds": ["town"]});
        if !towns.is_null() {
            sub["towns"] = towns;
        }
        send(&mut ws, sub);
        // The snapshot holds the (empty) management lists after the open alerts.
        assert!(seen.read_until(&mut ws, Duration::from_secs(10), |s| {
            !s.of_type("manage").is_empty()
        }));
        let m = seen.of_type("manage")[0];
        assert_eq!(
            (m["open_incidents"].clone(), m["open_orders"].clone()),
            (json!(0), json!(0))
        );
        screens.push((ws, seen));
    }

    // A charger fault: one incident and its order, dispatched by the island's rules.
    tx.send(reading(
        &charger,
        "charger",
        wall_ms(),
        V::Text("fault".into()),
    ))
    .unwrap();
    let order_state = |s: &Seen| {
        s.of_type("order")
            .last()
            .map(|o| o["order"]["state"].as_str().unwrap_or("").to_string())
    };
    for (ws, seen) in screens.iter_mut().take(2) {
        assert!(seen.read_until(ws, Duration::from_secs(8), |s| {
            order_state(s).as_deref() == Some("dispatched")
        }));
        let inc = seen.of_type("incident");
        assert_eq!(inc[0]["events"][0], "opened", "{}", inc[0]);
        assert_eq!(inc[0]["incident"]["towns"], json!([town_id]));
        assert_eq!(inc[0]["incident"]["severity"], "warning");
        // One message per order per tick, its events in order: created, then dispatched.
        let events: Vec<Value> = seen
            .of_type("order")
            .iter()
            .flat_map(|o| o["events"].as_array().unwrap().clone())
            .collect();
        assert_eq!(events[0]["event"], "created");
        assert_eq!(events[1]["transition"]["action"], "dispatch", "{events:?}");
    }
    let order = screens[0].1.of_type("order")[0]["order"]["id"]
        .as_u64()
        .unwrap();
    let incident = screens[0].1.of_type("incident")[0]["incident"]["id"]
        .as_u64()
        .unwrap();

    // A viewer reads the incident's detail: its footprint covers the charger.
    let (ws, seen) = &mut screens[0];
    send(
        ws,
        json!({"type": "get_incident", "req": 6, "incident": incident}),
    );
    assert!(seen.read_until(ws, Duration::from_secs(5), |s| {
        !s.of_type("incident_detail").is_empty()
    }));
    let d = &seen.of_type("incident_detail")[0]["incident"];
    assert_eq!(d["asset_ids"], json!([charger]));
    assert_eq!(d["footprint"]["type"], "Polygon");
    // What was open a minute from now (the replay's question): this one, dispatched.
    send(
        ws,
        json!({"type": "get_incidents", "req": 4, "at": wall_ms() + 60_000}),
    );
    assert!(seen.read_until(ws, Duration::from_secs(5), |s| {
        !s.of_type("incidents_at").is_empty()
    }));
    let then = seen.of_type("incidents_at")[0];
    assert_eq!(then["incidents"][0]["id"], incident);
    assert_eq!(then["incidents"][0]["at"]["order_state"], "dispatched");
    send(
        ws,
        json!({"type": "get_incident", "req": 5, "incident": incident + 100}),
    );
    assert!(seen.read_until(ws, Duration::from_secs(5), |s| {
        !s.of_type("error").is_empty()
    }));
    assert_eq!(seen.of_type("error")[0]["status"], 404);
    seen.texts.clear();

    // The viewer may not accept; the operator may, and the other screens see it.
    let (ws, seen) = &mut screens[0];
    send(
        ws,
        json!({"type": "step", "req": 7, "order": order, "action": "accept"}),
    );
    assert!(seen.read_until(ws, Duration::from_secs(5), |s| {
        !s.of_type("error").is_empty()
    }));
    assert_eq!(seen.of_type("error")[0]["status"], 403);
    let (ws, seen) = &mut screens[1];
    send(
        ws,
        json!({"type": "step", "req": 8, "order": order, "action": "resolve"}),
    );
    assert!(seen.read_until(ws, Duration::from_secs(5), |s| {
        !s.of_type("error").is_empty()
    }));
    let e = seen.of_type("error")[0];
    assert_eq!(
        (e["req"].clone(), e["status"].clone()),
        (json!(8), json!(409)),
        "{e}"
    );
    send(
        ws,
        json!({"type": "step", "req": 9, "order": order, "action": "accept", "note": "on the way"}),
    );
    assert!(seen.read_until(ws, Duration::from_secs(5), |s| {
        !s.of_type("step_result").is_empty()
    }));
    let r = seen.of_type("step_result")[0];
    assert_eq!(r["req"], 9);
    assert_eq!(r["order"]["state"], "accepted");
    let (ws, seen) = &mut screens[0];
    assert!(seen.read_until(ws, Duration::from_secs(5), |s| {
        order_state(s).as_deref() == Some("accepted")
    }));
    let last = seen.of_type("order").last().unwrap()["order"]["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (last["by"].clone(), last["note"].clone()),
        (json!("duty"), json!("on the way"))
    );

    // The screen of another town saw none of it.
    let (ws, seen) = &mut screens[2];
    seen.read_until(ws, Duration::from_millis(1500), |_| false);
    assert!(seen.of_type("incident").is_empty() && seen.of_type("order").is_empty());
    // A reconnecting screen gets the open incident and order in its snapshot.
    let (mut ws, _) = connect(server.addr(), Some(VIEWER), "twin.v1", "").unwrap();
    let mut seen = Seen::default();
    send(&mut ws, json!({"type": "subscribe", "kinds": ["town"]}));
    assert!(seen.read_until(&mut ws, Duration::from_secs(10), |s| {
        !s.of_type("manage").is_empty()
    }));
    let m = seen.of_type("manage")[0];
    assert_eq!(m["orders"][0]["id"], order);
    assert_eq!(m["orders"][0]["state"], "accepted");
    assert_eq!(m["incidents"][0]["order"], order);
    server.stop();
}
