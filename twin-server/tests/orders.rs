//! Incidents and work orders over HTTP, asked with curl: a charger fault becomes an
//! incident whose order the dispatch rules sent to the charging operator; each step
//! needs its role, is recorded under the caller's token name, and an illegal one is
//! refused with the reason.

use std::process::Command;

mod common;

use serde_json::Value;
use twin_core::state::{Quality, Reading, Value as V};
use twin_core::{KindFilter, Timestamp};
use twin_server::{Feed, Limits};

use common::{ADMIN, OPERATOR, VIEWER, session};

/// 2026-05-04T00:00:00Z.
const T0: i64 = 1_777_852_800_000;

/// Status and parsed body of one request; `extra` are curl's own arguments.
fn curl(url: &str, token: &str, extra: &[&str]) -> (u16, Value) {
    let out = Command::new("curl")
        .args(["-s", "-S", "-g", "-w", "\n%{http_code}"])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args(extra)
        .arg(url)
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    (code.trim().parse().unwrap_or(0), body)
}

fn post(url: &str, token: &str, body: &str) -> (u16, Value) {
    curl(
        url,
        token,
        &[
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "--data",
            body,
        ],
    )
}

fn reason(v: &Value) -> &str {
    v["reason"].as_str().unwrap_or("")
}

#[test]
fn an_order_is_listed_and_stepped_through_by_role_with_illegal_steps_refused() {
    let mut s = session();
    let f: KindFilter = "sensor:charger_power".parse().unwrap();
    let charger = s
        .twin()
        .iter()
        .find(|(_, a)| f.matches(&a.kind))
        .map(|(_, a)| a.id.clone())
        .unwrap();
    s.apply_readings(
        &[Reading {
            id: charger.clone(),
            channel: "charger".into(),
            ts: Timestamp::from_millis(T0),
            value: V::Text("fault".into()),
            quality: Quality::Good,
        }],
        Timestamp::from_millis(T0),
    );
    let server = common::start(s, Limits::default(), Feed::Nothing);
    let base = format!("http://{}/api/v1", server.addr());

    // The incident, with its order; its footprint holds the charger.
    let (code, list) = curl(&format!("{base}/incidents"), VIEWER, &[]);
    assert_eq!(code, 200, "{list}");
    assert_eq!(list["count"], 1, "{list}");
    let inc = &list["incidents"][0];
    assert_eq!(inc["family"], "charger-fault");
    assert_eq!(inc["state"], "open");
    let incident = inc["id"].as_u64().unwrap();
    let id = inc["order"].as_u64().unwrap();
    let (_, one) = curl(&format!("{base}/incidents/{incident}"), VIEWER, &[]);
    assert_eq!(one["asset_ids"], serde_json::json!([charger]));
    assert_eq!(one["footprint"]["type"], "Polygon");
    let (code, _) = curl(&format!("{base}/incidents/999"), VIEWER, &[]);
    assert_eq!(code, 404);
    let (code, bad) = curl(&format!("{base}/orders?state=pending"), VIEWER, &[]);
    assert_eq!(code, 400);
    assert!(reason(&bad).contains("not live, closed or all"), "{bad}");

    // The vital signs count it in its town and its island, and not in the past.
    let (_, vitals) = curl(&format!("{base}/vitals"), VIEWER, &[]);
    let rows = vitals["rows"].as_array().unwrap();
    let with_order = |island: bool| {
        rows.iter()
            .filter(|r| r["island"] == island && r["management"]["open_orders"] == 1)
            .count()
    };
    assert_eq!((with_order(false), with_order(true)), (1, 1), "{vitals}");
    let (_, past) = curl(&format!("{base}/vitals?at={T0}"), VIEWER, &[]);
    assert!(past["rows"][0].get("management").is_none(), "{past}");

    // The order: dispatched by the rules, warning deadlines (accept in 15 min).
    let order = format!("{base}/orders/{id}");
    let (_, o) = curl(&order, VIEWER, &[]);
    assert_eq!(o["state"], "dispatched");
    assert_eq!(o["unit"]["id"], "charging-operator");
    assert_eq!(o["accept_due"], T0 + 900_000);
    assert_eq!(o["history"][0]["by"], "system");
    let next: Vec<(&str, &str)> = o["next"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["action"].as_str().unwrap(), n["role"].as_str().unwrap()))
        .collect();
    assert_eq!(next, [("accept", "operator"), ("reassign", "operator")]);

    // Roles: a viewer may not accept; an operator may not verify.
    let (code, r) = post(&format!("{order}/accept"), VIEWER, "");
    assert_eq!(code, 403, "{r}");
    let (code, r) = post(
        &format!("{order}/accept"),
        OPERATOR,
        r#"{"note": "on my way"}"#,
    );
    assert_eq!(code, 200, "{r}");
    assert_eq!(r["state"], "accepted");
    let last = r["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["by"].as_str(), last["note"].as_str()),
        (Some("duty"), Some("on my way"))
    );
    let (code, r) = post(&format!("{order}/verify"), OPERATOR, "");
    assert_eq!(code, 403, "{r}");
    assert!(reason(&r).contains("admin role"), "{r}");
    // The lifecycle: an accepted order cannot be verified, whoever asks.
    let (code, r) = post(&format!("{order}/verify"), ADMIN, "");
    assert_eq!(code, 409, "{r}");
    assert!(
        reason(&r).contains("an order that is accepted cannot be verified"),
        "{r}"
    );
    // Only the system escalates; unknown steps, fields and units are refused.
    let (code, r) = post(&format!("{order}/escalate"), ADMIN, "");
    assert_eq!(code, 403, "{r}");
    let (code, r) = post(&format!("{order}/hurry"), ADMIN, "");
    assert_eq!(code, 404, "{r}");
    let (code, r) = post(&format!("{order}/arrive"), OPERATOR, r#"{"nota": "x"}"#);
    assert_eq!(code, 400, "{r}");
    let (code, r) = post(
        &format!("{order}/reassign"),
        OPERATOR,
        r#"{"unit": "nobody"}"#,
    );
    assert_eq!(code, 409, "{r}");
    assert!(reason(&r).contains("no unit `nobody`"), "{r}");

    // To the end: on site, resolved by the operator, verified and closed by the admin.
    for (step, token) in [
        ("arrive", OPERATOR),
        ("resolve", OPERATOR),
        ("verify", ADMIN),
        ("close", ADMIN),
    ] {
        let (code, r) = post(&format!("{order}/{step}"), token, "");
        assert_eq!(code, 200, "{step}: {r}");
    }
    let (_, o) = curl(&order, VIEWER, &[]);
    assert_eq!(o["state"], "closed");
    let by: Vec<(&str, &str)> = o["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["action"].as_str().unwrap(), t["by"].as_str().unwrap()))
        .collect();
    assert_eq!(
        by,
        [
            ("dispatch", "system"),
            ("accept", "duty"),
            ("arrive", "duty"),
            ("resolve", "duty"),
            ("verify", "root"),
            ("close", "root")
        ]
    );
    let (_, closed) = curl(&format!("{base}/orders?state=closed"), VIEWER, &[]);
    assert_eq!(closed["count"], 1);
    let (_, live) = curl(&format!("{base}/orders"), VIEWER, &[]);
    assert_eq!(live["count"], 0);

    // Replay: the incident was open from T0 (its order's steps all at T0, so closed
    // then); nothing was open a millisecond before.
    let (code, then) = curl(&format!("{base}/incidents?at={T0}"), VIEWER, &[]);
    assert_eq!(code, 200, "{then}");
    assert_eq!(then["count"], 1, "{then}");
    let at = &then["incidents"][0]["at"];
    assert_eq!(
        (at["time"].as_i64(), at["state"].as_str()),
        (Some(T0), Some("open"))
    );
    assert_eq!(at["order_state"], "closed");
    assert_eq!(at["unit"], "charging-operator");
    let (_, before) = curl(&format!("{base}/incidents?at={}", T0 - 1), VIEWER, &[]);
    assert_eq!(before["count"], 0, "{before}");
    let (code, r) = curl(&format!("{base}/incidents?at={T0}&state=all"), VIEWER, &[]);
    assert_eq!(code, 400, "{r}");
    let (code, r) = curl(&format!("{base}/orders?at={T0}"), VIEWER, &[]);
    assert_eq!(code, 400, "{r}");
}
