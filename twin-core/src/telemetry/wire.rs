//! The JSON payload of a telemetry message on `twin/<town>/<kind>/<asset-id>`
//! ([`crate::topic`]), and the batched payloads of gateways on
//! `twin/<town>/_batch/<gateway-id>`.
//!
//! ## One asset per message
//! The **compact form**, what `twin publish` sends:
//!
//! ```json
//! {"ts": 1763700000000, "level": 2.41}
//! {"ts": "2025-11-21T04:40:00.250Z", "power": 22.0, "charger": "charging", "quality": "uncertain"}
//! ```
//!
//! - `ts`: UTC milliseconds since the epoch (a JSON integer), or ISO 8601 with an offset
//!   (digits below the millisecond are dropped); 1970–2200 like telemetry files.
//! - `quality` (optional): `good` (default), `uncertain` or `bad`, for every reading.
//! - every other member is a channel (`level`, `pm25`, `charger`, …) with a number, a
//!   boolean or a state name; `null`, arrays and objects are refused as the wrong type
//!   for that channel, the rest still applies.
//!
//! The **per-reading form** of twin's JSON Lines files is accepted too (an object with
//! a string `channel`: `{"id": "CM-S-WL-000001", "channel": "level", "ts": …, "value":
//! 2.41}`); its `id` must be the topic's asset.
//!
//! ## Batches (topic kind level `_batch`)
//! A gateway that sends a second of its sensors at once publishes one message with many
//! readings, each naming its asset:
//!
//! - a **JSON array of per-reading objects** (`[{"id": …, "channel": …, "ts": …,
//!   "value": …}, …]`);
//! - the **OGC SensorThings `dataArray`** form (an array of objects, or one object):
//!   `{"Datastream": {"@iot.id": "CM-S-WL-000001/level"}, "components":
//!   ["phenomenonTime", "result"], "dataArray": [["2025-11-21T04:40:00Z", 2.41], …]}` —
//!   the Datastream id is `ASSET-ID/CHANNEL` (split at the last `/`), the components
//!   must include `phenomenonTime` and `result` and may include `resultQuality`; other
//!   components are ignored.
//!
//! A reading of a batch that cannot be read is refused alone (counted with its reason);
//! a payload that is not JSON, or not one of these shapes, is refused whole. A payload
//! that is not UTF-8 JSON, has no valid `ts` or no channel is refused whole.

use serde_json::Value as Json;

use super::{TS_RANGE, parse_json_line};
use crate::state::{Quality, Reading, RejectReason, Value};
use crate::time::Timestamp;

/// The kind level of a batch topic: `twin/<town>/_batch/<gateway-id>`.
pub const BATCH_KIND: &str = "_batch";

/// Most readings one batch may carry (a payload is at most 1 MiB anyway).
pub const MAX_BATCH_READINGS: usize = 100_000;

/// Why a payload was refused whole.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum WireError {
    /// The bytes are not UTF-8.
    #[error("payload is not UTF-8")]
    NotUtf8,
    /// Not JSON.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// JSON, but not a shape twin reads.
    #[error("{0}")]
    Shape(String),
    /// The time is missing or wrong.
    #[error("{0}")]
    Time(String),
    /// A per-reading payload names another asset than its topic.
    #[error("payload id `{payload}` is not the topic's asset `{topic}`")]
    OtherAsset {
        /// The id in the payload.
        payload: String,
        /// The topic's asset.
        topic: String,
    },
    /// More readings than a batch may carry.
    #[error("{0} readings in one batch; at most {MAX_BATCH_READINGS}")]
    TooMany(usize),
}

/// What a payload holds: readings to apply, and readings refused before resolving.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decoded {
    /// The readings, by asset id and channel name.
    pub readings: Vec<Reading>,
    /// Readings refused in the payload: reason, asset id (as given), channel, time.
    pub refused: Vec<(RejectReason, String, String, Timestamp)>,
}

fn text_of(payload: &[u8]) -> Result<(&str, Json), WireError> {
    let text = std::str::from_utf8(payload).map_err(|_| WireError::NotUtf8)?;
    let v: Json = serde_json::from_str(text).map_err(|e| WireError::NotJson(e.to_string()))?;
    Ok((text, v))
}

/// A `ts`: whole milliseconds or ISO 8601, 1970–2200.
fn time(v: Option<&Json>, what: &str) -> Result<Timestamp, String> {
    let ms = match v {
        Some(Json::Number(n)) => n
            .as_i64()
            .ok_or_else(|| format!("`{what}` {n} is not whole milliseconds"))?,
        Some(Json::String(s)) => s
            .parse::<Timestamp>()
            .map_err(|e| format!("`{what}` {e}"))?
            .as_millis(),
        Some(other) => {
            return Err(format!(
                "`{what}` must be UTC milliseconds or ISO 8601, got {other}"
            ));
        }
        None => return Err(format!("missing `{what}`")),
    };
    if !TS_RANGE.contains(&ms) {
        return Err(format!(
            "`{what}` {ms} is outside 1970–2200 in UTC milliseconds"
        ));
    }
    Ok(Timestamp::from_millis(ms))
}

fn quality(v: Option<&Json>) -> Result<Quality, String> {
    match v {
        None => Ok(Quality::Good),
        Some(Json::String(q)) => super::quality_name(q)
            .ok_or_else(|| format!("quality `{q}` is not good, uncertain or bad")),
        Some(other) => Err(format!("`quality` must be a string, got {other}")),
    }
}

/// A JSON value as a reading's value, or why it cannot be one.
fn value(v: &Json) -> Result<Value, RejectReason> {
    match v {
        Json::Number(n) => n.as_f64().map(Value::Num).ok_or(RejectReason::NotFinite),
        Json::Bool(b) => Ok(Value::Bool(*b)),
        Json::String(s) => Ok(Value::Text(s.clone())),
        Json::Null | Json::Array(_) | Json::Object(_) => Err(RejectReason::WrongType),
    }
}

/// Reads the payload of a message for the asset `asset_id` (from its topic).
pub fn decode(payload: &[u8], asset_id: &str) -> Result<Decoded, WireError> {
    let (text, v) = text_of(payload)?;
    let obj = v
        .as_object()
        .ok_or_else(|| WireError::Shape("payload is not a JSON object".into()))?;
    if matches!(obj.get("channel"), Some(Json::String(_))) {
        let r = parse_json_line(text).map_err(WireError::Shape)?;
        if r.id != asset_id {
            return Err(WireError::OtherAsset {
                payload: r.id,
                topic: asset_id.to_string(),
            });
        }
        return Ok(Decoded {
            readings: vec![r],
            refused: Vec::new(),
        });
    }
    let ts = time(obj.get("ts"), "ts").map_err(WireError::Time)?;
    let quality = quality(obj.get("quality")).map_err(WireError::Shape)?;
    let mut out = Decoded::default();
    for (channel, v) in obj {
        if channel == "ts" || channel == "quality" {
            continue;
        }
        match value(v) {
            Ok(value) => out.readings.push(Reading {
                id: asset_id.to_string(),
                channel: channel.clone(),
                ts,
                value,
                quality,
            }),
            Err(reason) => out
                .refused
                .push((reason, asset_id.to_string(), channel.clone(), ts)),
        }
    }
    if out.readings.is_empty() && out.refused.is_empty() {
        return Err(WireError::Shape("no channel in the payload".into()));
    }
    Ok(out)
}

/// Reads a batch payload: a JSON array of per-reading objects, or SensorThings
/// `dataArray` objects (one, or an array of them).
pub fn decode_batch(payload: &[u8]) -> Result<Decoded, WireError> {
    use serde_json::value::RawValue;
    let text = std::str::from_utf8(payload).map_err(|_| WireError::NotUtf8)?;
    let not_json = |e: serde_json::Error| WireError::NotJson(e.to_string());
    // Each item on its own: per-reading objects through the JSON Lines fast parser (a
    // third of the time of a `Value` tree for the whole array), the rest as `Value`s.
    let items: Vec<&RawValue> = match text.trim_start().as_bytes().first() {
        Some(b'[') => serde_json::from_str(text).map_err(not_json)?,
        Some(b'{') => vec![serde_json::from_str(text).map_err(not_json)?],
        _ => {
            // Not JSON at all, or JSON that is neither an array nor an object.
            serde_json::from_str::<&RawValue>(text).map_err(not_json)?;
            return Err(WireError::Shape(
                "a batch is a JSON array of readings or SensorThings dataArray objects".into(),
            ));
        }
    };
    if items.len() > MAX_BATCH_READINGS {
        return Err(WireError::TooMany(items.len()));
    }
    let mut out = Decoded::default();
    out.readings.reserve(items.len());
    for (i, raw) in items.into_iter().enumerate() {
        if let Some(r) = super::parse_json_line_fast(raw.get()) {
            out.readings.push(r.to_reading());
            continue;
        }
        let item: Json = serde_json::from_str(raw.get()).map_err(not_json)?;
        let Some(obj) = item.as_object() else {
            return Err(WireError::Shape(format!(
                "batch item {i} is not a JSON object"
            )));
        };
        if obj.contains_key("dataArray") {
            data_array(obj, i, &mut out)?;
        } else {
            reading(obj, &mut out);
        }
        let n = out.readings.len() + out.refused.len();
        if n > MAX_BATCH_READINGS {
            return Err(WireError::TooMany(n));
        }
    }
    Ok(out)
}

/// Files one reading of a batch: read, or refused with the reason its value or
/// quality gives.
fn file(
    out: &mut Decoded,
    (id, channel, ts): (&str, &str, Timestamp),
    value: Result<Value, RejectReason>,
    quality: Result<Quality, String>,
) {
    match (value, quality) {
        (Ok(value), Ok(quality)) => out.readings.push(Reading {
            id: id.to_string(),
            channel: channel.to_string(),
            ts,
            value,
            quality,
        }),
        (Err(reason), _) => out
            .refused
            .push((reason, id.to_string(), channel.to_string(), ts)),
        (_, Err(_)) => out.refused.push((
            RejectReason::WrongType,
            id.to_string(),
            channel.to_string(),
            ts,
        )),
    }
}

/// One per-reading object of a batch; refused alone when it cannot be read.
fn reading(obj: &serde_json::Map<String, Json>, out: &mut Decoded) {
    let s = |k: &str| obj.get(k).and_then(Json::as_str).unwrap_or("");
    let (id, channel) = (s("id"), s("channel"));
    let Ok(ts) = time(obj.get("ts"), "ts") else {
        let never = Timestamp::from_millis(0);
        file(
            out,
            (id, channel, never),
            Err(RejectReason::InvalidTimestamp),
            Ok(Quality::Good),
        );
        return;
    };
    let value = if id.is_empty() {
        Err(RejectReason::UnknownId)
    } else if channel.is_empty() {
        Err(RejectReason::UnknownChannel)
    } else {
        obj.get("value").map_or(Err(RejectReason::WrongType), value)
    };
    file(out, (id, channel, ts), value, quality(obj.get("quality")));
}

/// One SensorThings `dataArray` object: the Datastream `ASSET-ID/CHANNEL`, the
/// components, the rows.
fn data_array(
    obj: &serde_json::Map<String, Json>,
    i: usize,
    out: &mut Decoded,
) -> Result<(), WireError> {
    let bad = |why: String| WireError::Shape(format!("batch item {i}: {why}"));
    let stream = obj
        .get("Datastream")
        .and_then(|d| d.get("@iot.id"))
        .and_then(Json::as_str)
        .ok_or_else(|| bad("no `Datastream` with a string `@iot.id`".into()))?;
    let (id, channel) = stream
        .rsplit_once('/')
        .filter(|(a, c)| !a.is_empty() && !c.is_empty())
        .ok_or_else(|| bad(format!("Datastream `{stream}` is not ASSET-ID/CHANNEL")))?;
    let components: Vec<&str> = obj
        .get("components")
        .and_then(Json::as_array)
        .ok_or_else(|| bad("no `components` array".into()))?
        .iter()
        .map(|c| c.as_str().unwrap_or(""))
        .collect();
    let col = |name: &str| components.iter().position(|c| *c == name);
    let (Some(t_col), Some(r_col)) = (col("phenomenonTime"), col("result")) else {
        return Err(bad(
            "`components` must name phenomenonTime and result".into()
        ));
    };
    let q_col = col("resultQuality");
    let rows = obj
        .get("dataArray")
        .and_then(Json::as_array)
        .ok_or_else(|| bad("`dataArray` is not an array".into()))?;
    for row in rows {
        let row = row.as_array().map(Vec::as_slice).unwrap_or(&[]);
        let Ok(ts) = time(row.get(t_col), "phenomenonTime") else {
            let never = Timestamp::from_millis(0);
            file(
                out,
                (id, channel, never),
                Err(RejectReason::InvalidTimestamp),
                Ok(Quality::Good),
            );
            continue;
        };
        let value = row.get(r_col).map_or(Err(RejectReason::WrongType), value);
        let q = q_col.map_or(Ok(Quality::Good), |c| quality(row.get(c)));
        file(out, (id, channel, ts), value, q);
    }
    Ok(())
}

/// The compact payload of readings of one asset at `ts` (quality `good`; a value that
/// is not finite is written as `null`, which the twin refuses).
pub fn encode(ts: Timestamp, values: &[(&str, Value)]) -> String {
    let mut out = format!("{{\"ts\":{}", ts.as_millis());
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
