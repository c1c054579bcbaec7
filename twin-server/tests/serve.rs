//! `twin serve` end to end: a real server on a loopback port, asked with curl (Debian's
//! HTTP client, not ours) and GDAL's OAPIF driver, with known answers from the twin the
//! test built.

use std::process::Command;

mod common;

use serde_json::Value;
use twin_chongming::sim::{SimConfig, Simulator};
use twin_core::geo_types::{Rect, coord};
use twin_core::state::{Quality, Reading, Value as V};
use twin_core::{KindFilter, Session, Timestamp};
use twin_server::{Feed, Limits, Running, ServeError, Served, ServerConfig, TlsFiles};

use common::{ADMIN, OPERATOR, VIEWER, session, session_and_channels, tokens};

/// 2026-05-04T00:00:00Z.
const T0: i64 = 1_777_852_800_000;

fn start(session: Session, limits: Limits) -> Running {
    common::start(session, limits, Feed::Nothing)
}

/// Status and body of one request with curl; `extra` are curl's own arguments.
fn curl(url: &str, token: Option<&str>, extra: &[&str]) -> (u16, String) {
    let mut c = Command::new("curl");
    c.args(["-s", "-S", "-g", "-w", "\n%{http_code}"]);
    if let Some(t) = token {
        c.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    c.args(extra).arg(url);
    let out = c.output().expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
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

/// The first asset of a kind, by handle.
fn first_of(s: &Session, kind: &str) -> String {
    let f: KindFilter = kind.parse().unwrap();
    s.twin()
        .iter()
        .find(|(_, a)| f.matches(&a.kind))
        .map(|(_, a)| a.id.clone())
        .unwrap()
}

#[test]
fn tokens_roles_queries_history_and_alerts() {
    let mut s = session();
    let gauge = first_of(&s, "sensor:water_level");
    let charger = first_of(&s, "sensor:charger_power");
    // Three known levels, then a charger fault (raises `charger-fault` at once).
    let r = s.apply_readings(
        &[
            reading(&gauge, "level", T0, V::Num(1.25)),
            reading(&gauge, "level", T0 + 1000, V::Num(1.5)),
            reading(&gauge, "level", T0 + 2000, V::Num(2.0)),
            reading(&charger, "charger", T0 + 2000, V::Text("fault".into())),
        ],
        Timestamp::from_millis(T0 + 2000),
    );
    assert_eq!(r.applied, 4);
    // Known answers from the twin itself, before the server takes it.
    let bbox = Rect::new(coord! {x: 121.3, y: 31.5}, coord! {x: 121.6, y: 31.7});
    let buildings: KindFilter = "building".parse().unwrap();
    let mut want: Vec<String> = s
        .twin()
        .query_bbox(bbox, Some(&buildings))
        .into_iter()
        .map(|h| s.twin().get(h).unwrap().id.clone())
        .collect();
    want.sort();
    assert!(want.len() > 10, "{} buildings in the box", want.len());
    let server = start(s, Limits::default());
    let base = format!("http://{}", server.addr());

    // Health needs nothing; everything else a token.
    assert_eq!(
        curl(&format!("{base}/healthz"), None, &[]),
        (200, "ok\n".into())
    );
    let (code, body) = curl(&format!("{base}/api/v1/status"), None, &[]);
    assert_eq!(code, 401);
    assert!(
        json(&body)["reason"]
            .as_str()
            .unwrap()
            .contains("missing bearer token")
    );
    let (code, _) = curl(
        &format!("{base}/api/v1/status"),
        Some("not-a-token-at-all-000000"),
        &[],
    );
    assert_eq!(code, 401);
    let (code, headers) = curl(
        &format!("{base}/api/v1/status"),
        None,
        &["-D", "-", "-o", "/dev/null"],
    );
    assert_eq!(code, 401);
    assert!(
        headers
            .to_ascii_lowercase()
            .contains("www-authenticate: bearer"),
        "{headers}"
    );

    // Status: the clock is the newest sample's time.
    let (code, body) = curl(&format!("{base}/api/v1/status"), Some(VIEWER), &[]);
    assert_eq!(code, 200, "{body}");
    let st = json(&body);
    assert_eq!(st["now"], T0 + 2000);
    assert_eq!(st["now_iso"], "2026-05-04T00:00:02Z");
    assert_eq!(st["open_alerts"], 1);

    // A bbox query answers the twin's own query, every page.
    let mut got: Vec<String> = Vec::new();
    let mut offset = 0;
    loop {
        let (code, body) = curl(
            &format!(
                "{base}/api/v1/assets?bbox=121.3,31.5,121.6,31.7&kind=building&limit=7&offset={offset}"
            ),
            Some(VIEWER),
            &[],
        );
        assert_eq!(code, 200, "{body}");
        let page = json(&body);
        assert_eq!(page["matched"].as_u64().unwrap() as usize, want.len());
        for a in page["assets"].as_array().unwrap() {
            assert_eq!(a["kind"], "building");
            got.push(a["id"].as_str().unwrap().to_string());
        }
        match page["next_offset"].as_u64() {
            Some(n) => offset = n as usize,
            None => break,
        }
    }
    got.sort();
    assert_eq!(got, want);

    // One asset: its latest state.
    let (code, body) = curl(&format!("{base}/api/v1/assets/{gauge}"), Some(VIEWER), &[]);
    assert_eq!(code, 200, "{body}");
    let a = json(&body);
    assert_eq!(a["state"]["level"]["value"], 2.0);
    assert_eq!(a["state"]["level"]["ts"], T0 + 2000);
    assert_eq!(a["state"]["level"]["unit"], "m");
    assert_eq!(a["geometry"]["type"], "Point");
    let (code, _) = curl(&format!("{base}/api/v1/assets/NO-SUCH"), Some(VIEWER), &[]);
    assert_eq!(code, 404);

    // History: the three samples, raw and in 2-second buckets.
    let (code, body) = curl(
        &format!(
            "{base}/api/v1/assets/{gauge}/history?channel=level&from={T0}&to=2026-05-04T00:00:02Z"
        ),
        Some(VIEWER),
        &[],
    );
    assert_eq!(code, 200, "{body}");
    let h = json(&body);
    assert_eq!(
        h["samples"],
        serde_json::json!([[T0, 1.25], [T0 + 1000, 1.5], [T0 + 2000, 2.0]])
    );
    let (_, body) = curl(
        &format!("{base}/api/v1/assets/{gauge}/history?from={T0}&bucket_s=2"),
        Some(VIEWER),
        &[],
    );
    let b = json(&body);
    assert_eq!(b["buckets"][0]["count"], 2);
    assert_eq!(b["buckets"][0]["mean"], 1.375);
    assert_eq!(b["buckets"][1]["max"], 2.0);

    // The alert: listed, refused to a viewer, acknowledged by an operator, once.
    let (_, body) = curl(&format!("{base}/api/v1/alerts"), Some(VIEWER), &[]);
    let list = json(&body);
    assert_eq!(list["count"], 1);
    let alert = &list["alerts"][0];
    assert_eq!(alert["rule"], "charger-fault");
    assert_eq!(alert["asset"], charger.as_str());
    let id = alert["id"].as_u64().unwrap();
    let ack = format!("{base}/api/v1/alerts/{id}/ack");
    let (code, body) = curl(&ack, Some(VIEWER), &["-X", "POST"]);
    assert_eq!(code, 403, "{body}");
    assert!(
        json(&body)["reason"]
            .as_str()
            .unwrap()
            .contains("operator role")
    );
    let (code, body) = curl(&ack, Some(OPERATOR), &["-X", "POST"]);
    assert_eq!(code, 200, "{body}");
    assert_eq!(json(&body)["state"], "acknowledged");
    let (code, _) = curl(&ack, Some(OPERATOR), &["-X", "POST"]);
    assert_eq!(code, 409);
    let (_, body) = curl(&format!("{base}/api/v1/events?after=0"), Some(VIEWER), &[]);
    let ev = json(&body);
    let kinds: Vec<&str> = ev["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    // The raise happened before the server took the twin; both are filed in order.
    assert_eq!(kinds, ["raised", "acknowledged"], "{ev}");
    assert_eq!(ev["events"][1]["alert"]["asset"], charger.as_str());
    assert_eq!(ev["last"], 2);
    let (_, body) = curl(&format!("{base}/api/v1/events?after=2"), Some(VIEWER), &[]);
    assert_eq!(json(&body)["events"], serde_json::json!([]));

    // Rules: read by a viewer, replaced only by an admin, and only with valid rules.
    let (code, rules) = curl(&format!("{base}/api/v1/rules"), Some(VIEWER), &[]);
    assert_eq!(code, 200);
    assert_eq!(json(&rules).as_array().unwrap().len(), 18);
    let put = |token: &str, body: &str| {
        curl(
            &format!("{base}/api/v1/rules"),
            Some(token),
            &[
                "-X",
                "PUT",
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                body,
            ],
        )
    };
    assert_eq!(put(OPERATOR, "[]").0, 403);
    let (code, body) = put(
        ADMIN,
        r#"[{"id": "x", "kinds": "twon", "channel": "level", "above": 1, "severity": "info"}]"#,
    );
    assert_eq!(code, 422, "{body}");
    assert!(
        json(&body)["reason"]
            .as_str()
            .unwrap()
            .contains("did you mean"),
        "{body}"
    );
    let (_, body) = curl(&format!("{base}/api/v1/status"), Some(VIEWER), &[]);
    assert_eq!(json(&body)["rules"], 18);
    let one = r#"[{"id": "high", "kinds": "sensor:water_level", "channel": "level", "above": 5, "severity": "critical"}]"#;
    assert_eq!(put(ADMIN, one), (200, r#"{"rules":1}"#.into()));

    // Every route of the OpenAPI document is served (none is "no such route").
    for (method, path) in twin_server::api::ROUTES {
        let url = path
            .replace("{id}", if path.contains("alerts") { "1" } else { &gauge })
            .replace("{collectionId}", "assets")
            .replace("{featureId}", &gauge);
        let m = method.to_ascii_uppercase();
        let (code, body) = curl(&format!("{base}{url}"), Some(ADMIN), &["-X", &m]);
        assert!(
            code != 405 && !body.contains("no such route"),
            "{m} {url}: {code} {body}"
        );
    }

    // The counters saw every refusal.
    let (_, body) = curl(&format!("{base}/api/v1/status"), Some(VIEWER), &[]);
    let c = &json(&body)["counters"];
    assert_eq!(c["unauthorized"], 3);
    assert_eq!(c["forbidden"], 2);
    server.stop();
}

#[test]
fn malformed_oversized_and_too_many_requests_are_refused_and_serving_goes_on() {
    let limits = Limits {
        requests_per_second: 20,
        ..Limits::default()
    };
    let server = start(session(), limits);
    let base = format!("http://{}", server.addr());
    let cases = [
        ("/api/v1/assets?bbox=1,2", 400, "4 finite numbers"),
        ("/api/v1/assets?bbox=121,31,122", 400, "4 finite numbers"),
        ("/api/v1/assets?bboxx=1,2,3,4", 400, "unknown field `bboxx`"),
        ("/api/v1/assets?knn=121.5,31.6&k=0", 400, "`k` must be"),
        ("/api/v1/assets?near=121.5,31.6", 400, "go together"),
        ("/api/v1/assets?kind=twon", 400, "did you mean"),
        ("/api/v1/vitals?at=yesterday", 400, "ISO 8601"),
        ("/api/v1/alerts/abc/ack", 405, "method not allowed"),
        ("/api/v1/nothing", 404, "no such route"),
        ("/ogc/collections/nothing/items", 404, "no collection"),
    ];
    for (path, want, reason) in cases {
        let (code, body) = curl(&format!("{base}{path}"), Some(VIEWER), &[]);
        assert_eq!(code, want, "{path}: {body}");
        assert!(
            json(&body)["reason"].as_str().unwrap().contains(reason),
            "{path}: {body}"
        );
    }
    // A body over the limit, a query string over the limit.
    let big = std::env::temp_dir().join(format!("twin-serve-big-{}.json", std::process::id()));
    std::fs::write(&big, vec![b' '; 2 << 20]).unwrap();
    let (code, _) = curl(
        &format!("{base}/api/v1/rules"),
        Some(ADMIN),
        &["-X", "PUT", "--data-binary", &format!("@{}", big.display())],
    );
    std::fs::remove_file(&big).ok();
    assert_eq!(code, 413);
    let long = "x".repeat(5000);
    let (code, _) = curl(
        &format!("{base}/api/v1/assets?kind={long}"),
        Some(VIEWER),
        &[],
    );
    assert_eq!(code, 414);
    // Over the rate: some of a burst of 60 are refused with 429; the server still
    // answers afterwards.
    let urls: Vec<String> = (0..60).map(|_| format!("{base}/api/v1/status")).collect();
    let mut c = Command::new("curl");
    c.args(["-s", "-w", "\n%{http_code}\n", "-H"])
        .arg(format!("Authorization: Bearer {VIEWER}"))
        .args(&urls);
    let out = String::from_utf8(c.output().unwrap().stdout).unwrap();
    let codes: Vec<&str> = out
        .lines()
        .filter(|l| l.len() == 3 && l.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    assert_eq!(codes.len(), 60);
    assert!(codes.contains(&"429"), "{codes:?}");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let (code, body) = curl(&format!("{base}/api/v1/status"), Some(VIEWER), &[]);
    assert_eq!(code, 200);
    let c = &json(&body)["counters"];
    assert!(c["rate_limited"].as_u64().unwrap() > 0);
    assert!(c["bad_requests"].as_u64().unwrap() >= 12, "{c}");
    server.stop();
}

#[test]
fn gdal_reads_the_ogc_api() {
    let s = session();
    let bbox = Rect::new(coord! {x: 121.45, y: 31.55}, coord! {x: 121.55, y: 31.65});
    let f: KindFilter = "building".parse().unwrap();
    let mut want: Vec<String> = s
        .twin()
        .query_bbox(bbox, Some(&f))
        .into_iter()
        .map(|h| s.twin().get(h).unwrap().id.clone())
        .collect();
    want.sort();
    assert!(!want.is_empty());
    let n_buildings = s.twin().iter().filter(|(_, a)| f.matches(&a.kind)).count();
    let server = start(s, Limits::default());
    let url = format!("OAPIF:http://{}/ogc", server.addr());
    let auth = format!("Authorization: Bearer {VIEWER}");
    let ogrinfo = |args: &[&str]| {
        let out = Command::new("ogrinfo")
            .args(["--config", "GDAL_HTTP_HEADERS", &auth, "-ro"])
            .args(args)
            .output()
            .expect("ogrinfo runs (Debian gdal-bin)");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "ogrinfo {args:?}: {err}");
        assert!(!err.contains("ERROR"), "ogrinfo {args:?}: {err}");
        text
    };
    // The collections are listed: every asset, and per kind.
    let list = ogrinfo(&[&url]);
    assert!(list.contains("assets"), "{list}");
    assert!(list.contains("building"), "{list}");
    assert!(list.contains("sensor-water_level"), "{list}");
    // A summary counts the buildings (numberMatched).
    let summary = ogrinfo(&["-so", &url, "building"]);
    assert!(
        summary.contains(&format!("Feature Count: {n_buildings}")),
        "{summary}"
    );
    // A bbox read returns the same buildings as the twin's own query.
    let read = ogrinfo(&[
        &url,
        "building",
        "-spat",
        "121.45",
        "31.55",
        "121.55",
        "31.65",
        "-oo",
        "PAGE_SIZE=50",
    ]);
    let mut got: Vec<String> = read
        .lines()
        .filter_map(|l| l.trim().strip_prefix("id (String) = "))
        .map(str::to_string)
        .collect();
    got.sort();
    assert_eq!(got, want);
    server.stop();
}

#[test]
fn https_with_a_self_signed_certificate() {
    let dir = std::env::temp_dir().join(format!("twin-serve-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, signing_key.serialize_pem()).unwrap();
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls: Some(TlsFiles {
            cert: cert_path.clone(),
            key: key_path.clone(),
        }),
        mqtt: None,
    };
    let served = Served::new(session(), Some(tokens()), Limits::default(), "tls twin");
    let server = twin_server::spawn(&config, served, Feed::Nothing, false).unwrap();
    let port = server.addr().port();
    let ca = cert_path.display().to_string();
    let (code, body) = curl(
        &format!("https://127.0.0.1:{port}/api/v1/status"),
        Some(VIEWER),
        &["--cacert", &ca],
    );
    assert_eq!(code, 200, "{body}");
    // Links name the scheme the client used.
    let (_, body) = curl(
        &format!("https://localhost:{port}/ogc"),
        Some(VIEWER),
        &["--cacert", &ca],
    );
    assert!(
        body.contains(&format!("https://localhost:{port}/ogc/collections")),
        "{body}"
    );
    // Plain HTTP on the TLS port gets nowhere; an unknown CA is refused by curl.
    let (code, _) = curl(
        &format!("http://127.0.0.1:{port}/healthz"),
        None,
        &["-m", "5"],
    );
    assert_ne!(code, 200);
    let (code, _) = curl(
        &format!("https://127.0.0.1:{port}/healthz"),
        None,
        &["-m", "5"],
    );
    assert_eq!(code, 0);
    server.stop();
    // A key that is not a key is a clear error.
    std::fs::write(&key_path, "not a key").unwrap();
    let served = Served::new(session(), Some(tokens()), Limits::default(), "tls twin");
    let e = twin_server::spawn(&config, served, Feed::Nothing, false).unwrap_err();
    assert!(matches!(e, ServeError::Tls(_)), "{e}");
    assert!(e.to_string().contains("key.pem"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn without_tokens_only_loopback_and_the_simulator_drives_in_real_time() {
    let config = ServerConfig {
        listen: "0.0.0.0:0".parse().unwrap(),
        tls: None,
        mqtt: None,
    };
    let e = twin_server::spawn(
        &config,
        Served::new(session(), None, Limits::default(), "open"),
        Feed::Nothing,
        false,
    )
    .unwrap_err();
    assert!(matches!(e, ServeError::OpenWithoutTokens(_)), "{e}");

    let (s, channels) = session_and_channels();
    let now = Timestamp::from_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    );
    let mut sim = Simulator::new(s.twin(), &channels, SimConfig::quiet(1, now));
    let sensors = sim.sensors().count() as u64;
    let driver = Box::new(move |s: &mut Session, t| sim.drive(s, t));
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls: None,
        mqtt: None,
    };
    let server = twin_server::spawn(
        &config,
        Served::new(s, None, Limits::default(), "sim"),
        Feed::Driver(driver),
        false,
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let (code, body) = curl(
        &format!("http://{}/api/v1/status", server.addr()),
        None,
        &[],
    );
    assert_eq!(code, 200);
    let st = json(&body);
    let samples = st["counters"]["samples"].as_u64().unwrap();
    assert!(
        samples >= sensors * 2,
        "{samples} samples from {sensors} sensors"
    );
    assert_eq!(st["counters"]["refused_samples"], 0);
    let (_, body) = curl(
        &format!("http://{}/api/v1/vitals", server.addr()),
        None,
        &[],
    );
    let rows = json(&body)["rows"].as_array().unwrap().clone();
    assert!(
        rows.iter().any(|r| r["online"].as_u64().unwrap() > 0),
        "{rows:?}"
    );
    server.stop();
}
