//! The JSON payload of a telemetry message on `twin/<town>/<kind>/<asset-id>`
//! ([`twin_core::topic`]).
//!
//! One message carries the readings of one asset at one time. The **compact form**,
//! what `twin publish` sends:
//!
//! ```json
//! {"ts": 1763700000000, "level": 2.41}
//! {"ts": "2025-11-21T04:40:00.250Z", "power": 22.0, "charger": "charging", "quality": "uncertain"}
//! ```
//!
//! - `ts`: UTC milliseconds since the epoch (a JSON integer), or an ISO 8601 string
//!   (`YYYY-MM-DDTHH:MM:SS[.fff]` with `Z` or an offset `±HH:MM`; digits below the
//!   millisecond are dropped); 1970–2200 like telemetry files.
//! - `quality` (optional): `good` (default), `uncertain` or `bad`, for every reading.
//! - every other member is a channel (`level`, `pm25`, `occupied`, `charger`, …; see
//!   `twin_chongming::sim`) with a number, a boolean or a state name. `null`, arrays and
//!   objects are refused as the wrong type for that channel, the rest still applies.
//!
//! The **per-reading form** of twin's JSON Lines telemetry files is accepted too: an
//! object with a string `channel` member is read by
//! [`twin_core::telemetry::parse_json_line`]
//! (`{"id": "CM-S-WL-000001", "channel": "level", "ts": 1763700000000, "value": 2.41}`),
//! and its `id` must be the topic's asset.
//!
//! A payload that is not UTF-8 JSON, has no valid `ts` or no channel is refused whole.

use twin_core::state::{Quality, Reading, RejectReason, Value};
use twin_core::telemetry::{TS_RANGE, parse_json_line};

use serde_json::Value as Json;

/// What a payload holds: readings to apply and readings refused before resolving.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decoded {
    /// The readings, by asset id and channel name.
    pub readings: Vec<Reading>,
    /// Channels refused in the payload (reason, channel, ts).
    pub refused: Vec<(RejectReason, String, i64)>,
}

/// Reads a payload for the asset `asset_id` (from the topic).
pub fn decode(payload: &[u8], asset_id: &str) -> anyhow::Result<Decoded> {
    let text = std::str::from_utf8(payload).map_err(|_| anyhow::anyhow!("payload is not UTF-8"))?;
    let v: Json = serde_json::from_str(text).map_err(|e| anyhow::anyhow!("not JSON: {e}"))?;
    let obj = v
        .as_object()
        .ok_or_else(|| anyhow::anyhow!("payload is not a JSON object"))?;
    if matches!(obj.get("channel"), Some(Json::String(_))) {
        let r = parse_json_line(text).map_err(anyhow::Error::msg)?;
        if r.id != asset_id {
            return Err(anyhow::anyhow!(
                "payload id `{}` is not the topic's asset `{asset_id}`",
                r.id
            ));
        }
        return Ok(Decoded {
            readings: vec![r],
            refused: Vec::new(),
        });
    }
    let ts = match obj.get("ts") {
        Some(Json::Number(n)) => n
            .as_i64()
            .ok_or_else(|| anyhow::anyhow!("`ts` {n} is not whole milliseconds"))?,
        Some(Json::String(s)) => s
            .parse::<twin_core::Timestamp>()
            .map_err(|e| anyhow::anyhow!("`ts` {e}"))?
            .as_millis(),
        Some(other) => {
            return Err(anyhow::anyhow!(
                "`ts` must be UTC milliseconds or ISO 8601, got {other}"
            ));
        }
        None => return Err(anyhow::anyhow!("missing `ts`")),
    };
    if !TS_RANGE.contains(&ts) {
        return Err(anyhow::anyhow!(
            "ts {ts} is outside 1970–2200 in UTC milliseconds"
        ));
    }
    let quality = match obj.get("quality") {
        None => Quality::Good,
        Some(Json::String(q)) => Quality::parse(q)
            .ok_or_else(|| anyhow::anyhow!("quality `{q}` is not good, uncertain or bad"))?,
        Some(other) => return Err(anyhow::anyhow!("`quality` must be a string, got {other}")),
    };
    let mut out = Decoded::default();
    for (channel, value) in obj {
        if channel == "ts" || channel == "quality" {
            continue;
        }
        let value = match value {
            Json::Number(n) => match n.as_f64() {
                Some(x) => Value::Num(x),
                None => {
                    out.refused
                        .push((RejectReason::NotFinite, channel.clone(), ts));
                    continue;
                }
            },
            Json::Bool(b) => Value::Bool(*b),
            Json::String(s) => Value::Text(s.clone()),
            Json::Null | Json::Array(_) | Json::Object(_) => {
                out.refused
                    .push((RejectReason::WrongType, channel.clone(), ts));
                continue;
            }
        };
        out.readings.push(Reading {
            id: asset_id.to_string(),
            channel: channel.clone(),
            ts: twin_core::Timestamp::from_millis(ts),
            value,
            quality,
        });
    }
    if out.readings.is_empty() && out.refused.is_empty() {
        anyhow::bail!("no channel in the payload");
    }
    Ok(out)
}

/// The compact payload of readings of one asset at `ts` (quality `good`; a value that
/// is not finite is written as `null`, which the twin refuses).
pub fn encode(ts: i64, values: &[(&str, Value)]) -> String {
    let mut out = format!("{{\"ts\":{ts}");
    for (name, v) in values {
        let name = serde_json::to_string(name).unwrap_or_else(|_| "\"?\"".into());
        let v = match v {
            Value::Num(x) => serde_json::Number::from_f64(*x)
                .map_or_else(|| "null".to_string(), |n| n.to_string()),
            Value::Bool(b) => b.to_string(),
            Value::Text(s) => serde_json::to_string(s).unwrap_or_else(|_| "null".into()),
        };
        out.push(',');
        out.push_str(&name);
        out.push(':');
        out.push_str(&v);
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_and_per_reading_payloads_decode() {
        let d = decode(
            br#"{"ts":1763700000000,"power":22.5,"charger":"charging"}"#,
            "C1",
        )
        .unwrap();
        assert_eq!(d.readings.len(), 2);
        let value = |ch: &str| {
            let r = d.readings.iter().find(|r| r.channel == ch).unwrap();
            assert_eq!((r.id.as_str(), r.ts.as_millis()), ("C1", 1_763_700_000_000));
            r.value.clone()
        };
        assert_eq!(value("charger"), Value::Text("charging".into()));
        assert_eq!(value("power"), Value::Num(22.5));
        let d = decode(
            br#"{"ts":"2025-11-21T04:40:00Z","occupied":true,"quality":"bad","x":null}"#,
            "P1",
        )
        .unwrap();
        assert_eq!(
            d.readings[0].ts,
            twin_core::Timestamp::from_millis(1_763_700_000_000)
        );
        assert_eq!(d.readings[0].quality, Quality::Bad);
        assert_eq!(
            d.refused,
            vec![(RejectReason::WrongType, "x".into(), 1_763_700_000_000)]
        );
        let line = br#"{"id":"W1","channel":"level","ts":1763700000000,"value":2.5}"#;
        assert_eq!(
            decode(line, "W1").unwrap().readings[0].value,
            Value::Num(2.5)
        );
        assert!(
            decode(line, "W2")
                .unwrap_err()
                .to_string()
                .contains("not the topic's asset")
        );
        for bad in [
            &b"\xff"[..],
            b"not json",
            b"[1]",
            b"{\"level\":1}",
            b"{\"ts\":1.5,\"level\":1}",
            b"{\"ts\":-5,\"level\":1}",
            b"{\"ts\":1763700000000}",
            b"{\"ts\":1763700000000,\"level\":1,\"quality\":\"meh\"}",
        ] {
            assert!(
                decode(bad, "W1").is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let text = encode(
            1_763_700_000_000,
            &[
                ("power", Value::Num(0.1 + 0.2)),
                ("charger", Value::Text("idle".into())),
            ],
        );
        assert_eq!(
            text,
            r#"{"ts":1763700000000,"power":0.30000000000000004,"charger":"idle"}"#
        );
        let back = decode(text.as_bytes(), "C").unwrap();
        let power = back.readings.iter().find(|r| r.channel == "power").unwrap();
        assert_eq!(power.value, Value::Num(0.1 + 0.2));
    }
}
