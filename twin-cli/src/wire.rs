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
//!   `twin_core::sim`) with a number, a boolean or a state name. `null`, arrays and
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
pub fn decode(payload: &[u8], asset_id: &str) -> Result<Decoded, String> {
    let text = std::str::from_utf8(payload).map_err(|_| "payload is not UTF-8".to_string())?;
    let v: Json = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let obj = v.as_object().ok_or("payload is not a JSON object")?;
    if matches!(obj.get("channel"), Some(Json::String(_))) {
        let r = parse_json_line(text)?;
        if r.id != asset_id {
            return Err(format!(
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
            .ok_or_else(|| format!("`ts` {n} is not whole milliseconds"))?,
        Some(Json::String(s)) => parse_iso8601(s)?,
        Some(other) => {
            return Err(format!(
                "`ts` must be UTC milliseconds or ISO 8601, got {other}"
            ));
        }
        None => return Err("missing `ts`".into()),
    };
    if !TS_RANGE.contains(&ts) {
        return Err(format!("ts {ts} is outside 1970–2200 in UTC milliseconds"));
    }
    let quality = match obj.get("quality") {
        None => Quality::Good,
        Some(Json::String(q)) => Quality::parse(q)
            .ok_or_else(|| format!("quality `{q}` is not good, uncertain or bad"))?,
        Some(other) => return Err(format!("`quality` must be a string, got {other}")),
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
            ts,
            value,
            quality,
        });
    }
    if out.readings.is_empty() && out.refused.is_empty() {
        return Err("no channel in the payload".into());
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

/// Days since 1970-01-01 of a civil date (H. Hinnant's days-from-civil).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses ISO 8601 / RFC 3339 date-times (`2025-11-21T04:40:00Z`,
/// `2025-11-21T12:40:00.250+08:00`, a space for the `T`, `+0800`) into UTC ms.
pub fn parse_iso8601(s: &str) -> Result<i64, String> {
    let bad = |why: &str| format!("`ts` `{s}` is not an ISO 8601 date-time: {why}");
    let b = s.trim().as_bytes();
    let num = |from: usize, len: usize| -> Result<i64, String> {
        let part = b.get(from..from + len).ok_or_else(|| bad("too short"))?;
        if !part.iter().all(u8::is_ascii_digit) {
            return Err(bad("expected digits"));
        }
        Ok(part.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let sep = |at: usize, ok: &[u8]| -> Result<(), String> {
        match b.get(at) {
            Some(c) if ok.contains(c) => Ok(()),
            _ => Err(bad("unexpected separator")),
        }
    };
    let year = num(0, 4)?;
    sep(4, b"-")?;
    let month = num(5, 2)?;
    sep(7, b"-")?;
    let day = num(8, 2)?;
    sep(10, b"Tt ")?;
    let (hour, minute) = (num(11, 2)?, num(14, 2)?);
    sep(13, b":")?;
    sep(16, b":")?;
    let second = num(17, 2)?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month) || day < 1 || day > month_days[month as usize - 1] {
        return Err(bad("no such date"));
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(bad("no such time"));
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b.get(i) == Some(&b'.') || b.get(i) == Some(&b',') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 3 {
                millis = millis * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return Err(bad("empty fraction"));
        }
        for _ in (i - start)..3 {
            millis *= 10;
        }
    }
    let offset_min = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&c @ (b'+' | b'-')) => {
            let h = num(i + 1, 2)?;
            let (m, end) = if b.get(i + 3) == Some(&b':') {
                (num(i + 4, 2)?, i + 6)
            } else {
                (num(i + 3, 2)?, i + 5)
            };
            if end != b.len() || h > 23 || m > 59 {
                return Err(bad("bad offset"));
            }
            if c == b'+' { h * 60 + m } else { -(h * 60 + m) }
        }
        _ => return Err(bad("expected `Z` or an offset such as +08:00")),
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_min * 60;
    Ok(secs * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use twin_core::telemetry::iso8601;

    #[test]
    fn iso8601_round_trips_and_refuses_garbage() {
        for ms in [0, 1_763_700_000_000, 1_763_700_000_250, 951_782_400_000] {
            assert_eq!(parse_iso8601(&iso8601(ms)), Ok(ms), "{}", iso8601(ms));
        }
        assert_eq!(
            parse_iso8601("2025-11-21T12:40:00.25+08:00"),
            Ok(1_763_700_000_250)
        );
        assert_eq!(
            parse_iso8601("2025-11-21 04:40:00.2509Z"),
            Ok(1_763_700_000_250)
        );
        assert_eq!(
            parse_iso8601("2025-11-21T00:40:00-0400"),
            Ok(1_763_700_000_000)
        );
        for bad in [
            "2025-02-29T00:00:00Z",
            "2025-11-21T24:00:00Z",
            "2025-11-21T04:40:00",
            "2025-11-21T04:40:00Zx",
            "2025-11-21",
            "21/11/2025 04:40",
            "2025-11-21T04:40:00.Z",
            "２０２５-11-21T04:40:00Z",
        ] {
            assert!(parse_iso8601(bad).is_err(), "{bad}");
        }
    }

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
            assert_eq!((r.id.as_str(), r.ts), ("C1", 1_763_700_000_000));
            r.value.clone()
        };
        assert_eq!(value("charger"), Value::Text("charging".into()));
        assert_eq!(value("power"), Value::Num(22.5));
        let d = decode(
            br#"{"ts":"2025-11-21T04:40:00Z","occupied":true,"quality":"bad","x":null}"#,
            "P1",
        )
        .unwrap();
        assert_eq!(d.readings[0].ts, 1_763_700_000_000);
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
