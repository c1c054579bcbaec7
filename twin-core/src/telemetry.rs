//! Telemetry files: readings as JSON Lines or CSV, parsed line by line with every bad
//! line reported (file, line number, what was wrong) and the good ones kept.
//!
//! JSON Lines: one object per line,
//! `{"id": "CM-S-WL-000001", "channel": "level", "ts": 1763700000000, "value": 2.41}`
//! with an optional `"quality": "good" | "uncertain" | "bad"`. `value` is a number, a
//! boolean or a state name. `ts` is UTC milliseconds since the Unix epoch, between
//! 1970 and 2200 ([`TS_RANGE`]).
//!
//! CSV: `id,channel,ts,value[,quality]` per line; a first line starting with `id,` is a
//! header. A value that parses as a number is a number, `true`/`false` a boolean,
//! anything else a state name. Blank lines and lines starting with `#` are skipped in
//! both formats.
//!
//! [`Replay`] hands the readings out in time order, one batch per step, for
//! `twin replay FILE --speed N`.
//!
//! ## Fast JSON
//! [`parse_json_line`] first tries a hand-written parser for the common shape (a flat
//! object of `id`, `channel`, `ts`, `value` and `quality`, strings without escapes;
//! see [`parse_json_line_fast`]) that borrows from the line, and falls back to
//! serde_json for anything else, including every line it would refuse: to a typed
//! deserializer that borrows its strings too ([`parse_json_line_typed`]) and reads
//! every line as serde_json's `Value` DOM does ([`parse_json_line_serde`], the
//! reference): the results and error messages are those of the DOM path.
//! [`ingest_json_lines`] parses a batch of lines that way, resolves each reading to a
//! handle and channel without allocating (the twin's id map and the store's channel
//! names are looked up by `&str`) and applies the batch to a [`Session`] in one call:
//! the same as [`parse`] followed by [`Session::apply_readings`], without the
//! `String`s.

use std::fmt;
use std::path::Path;

use serde_json::Value as Json;

use crate::error::LoadError;
use crate::session::Session;
use crate::state::{IngestReport, Quality, Reading, RejectReason, Sample, StateStore, Value};
use crate::time::Timestamp;
use crate::twin::Twin;

mod fast;
mod ingest;
mod typed;
pub mod wire;

pub use fast::{ReadingRef, ValueRef};
pub use ingest::{JsonIngest, Now};
pub use typed::{ReadingCow, ValueCow};

/// A line that could not be read.
#[derive(Clone, Debug, PartialEq)]
pub struct LineError {
    /// The file.
    pub file: String,
    /// One-based line number.
    pub line: usize,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Readings of a file and the lines that were refused.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TelemetryFile {
    /// The readings, in file order.
    pub readings: Vec<Reading>,
    /// Lines that could not be read.
    pub errors: Vec<LineError>,
}

/// The two formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line.
    JsonLines,
    /// `id,channel,ts,value[,quality]`.
    Csv,
}

impl Format {
    /// The format a file name says (`.csv`: CSV; `.jsonl`, `.ndjson`, `.json`: JSON Lines).
    pub fn from_path(p: &Path) -> Option<Format> {
        match p.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" | "json" => Some(Format::JsonLines),
            _ => None,
        }
    }
}

/// Reads a telemetry file (format from its extension).
pub fn read_file(path: &Path) -> Result<TelemetryFile, LoadError> {
    let name = path.display().to_string();
    let format = Format::from_path(path).ok_or_else(|| LoadError::Format {
        file: name.clone(),
        message: "unknown telemetry format (expected .jsonl, .ndjson, .json or .csv)".into(),
    })?;
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        file: name.clone(),
        source,
    })?;
    Ok(parse(&text, &name, format))
}

/// Parses telemetry text; `file` names it in errors.
pub fn parse(text: &str, file: &str, format: Format) -> TelemetryFile {
    let mut out = TelemetryFile::default();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if format == Format::Csv && i == 0 && line.to_ascii_lowercase().starts_with("id,") {
            continue;
        }
        let parsed = match format {
            Format::JsonLines => parse_json_line(line),
            Format::Csv => parse_csv_line(line),
        };
        match parsed {
            Ok(r) => out.readings.push(r),
            Err(message) => out.errors.push(LineError {
                file: file.to_string(),
                line: i + 1,
                message,
            }),
        }
    }
    out
}

/// A quality name as [`Quality::parse`] reads it, the usual spellings first.
fn quality_name(q: &str) -> Option<Quality> {
    match q {
        "good" => Some(Quality::Good),
        "uncertain" => Some(Quality::Uncertain),
        "bad" => Some(Quality::Bad),
        _ => Quality::parse(q),
    }
}

fn quality(s: Option<&str>) -> Result<Quality, String> {
    match s {
        None => Ok(Quality::Good),
        Some(q) => {
            quality_name(q).ok_or_else(|| format!("quality `{q}` is not good, uncertain or bad"))
        }
    }
}

/// The timestamps a file may carry: 1970-01-01 to 2200-01-01 (UTC ms). Anything else is
/// a unit mistake (seconds, microseconds) or garbage, refused with its line.
pub const TS_RANGE: std::ops::RangeInclusive<i64> = 0..=7_258_118_400_000;

fn check_ts(ts: i64) -> Result<Timestamp, String> {
    if TS_RANGE.contains(&ts) {
        Ok(Timestamp::from_millis(ts))
    } else {
        Err(format!("ts {ts} is outside 1970–2200 in UTC milliseconds"))
    }
}

/// Parses one JSON Lines reading: by the fast path when the line has the common shape,
/// else by serde_json (see the module docs; the result is the same either way).
pub fn parse_json_line(line: &str) -> Result<Reading, String> {
    match fast::parse(line) {
        Some(r) => Ok(r.to_reading()),
        None => typed::parse(line).map(|r| r.to_reading()),
    }
}

/// The fast path of [`parse_json_line`] alone: the reading, borrowed from `line`, when
/// the line has the common shape and is valid; `None` when only serde_json can say
/// (anything unusual, and every line that would be refused).
pub fn parse_json_line_fast(line: &str) -> Option<ReadingRef<'_>> {
    fast::parse(line)
}

/// Parses one JSON Lines reading with serde_json into typed members, strings borrowed
/// from the line (no `Value` tree): the same results and error messages as
/// [`parse_json_line_serde`].
pub fn parse_json_line_typed(line: &str) -> Result<ReadingCow<'_>, String> {
    typed::parse(line)
}

/// Parses one JSON Lines reading through serde_json's `Value` DOM: the reference
/// [`parse_json_line`] and [`parse_json_line_typed`] agree with. About 3.5 times
/// slower than the typed path, which leaves to it only lines starting with
/// serde_json's private raw-value key.
pub fn parse_json_line_serde(line: &str) -> Result<Reading, String> {
    let v: Json = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let obj = v.as_object().ok_or("not a JSON object")?;
    let text = |k: &str| -> Result<String, String> {
        match obj.get(k) {
            Some(Json::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(_) => Err(format!("`{k}` must be a non-empty string")),
            None => Err(format!("missing `{k}`")),
        }
    };
    let id = text("id")?;
    let channel = text("channel")?;
    let ts = match obj.get("ts") {
        Some(Json::Number(n)) => check_ts(
            n.as_i64()
                .ok_or_else(|| format!("`ts` {n} is not whole milliseconds"))?,
        )?,
        Some(other) => return Err(format!("`ts` must be UTC milliseconds, got {other}")),
        None => return Err("missing `ts`".into()),
    };
    let value = match obj.get("value") {
        Some(Json::Number(n)) => Value::Num(n.as_f64().ok_or("`value` is not a number")?),
        Some(Json::Bool(b)) => Value::Bool(*b),
        Some(Json::String(s)) => Value::Text(s.clone()),
        Some(other) => {
            return Err(format!(
                "`value` must be a number, boolean or state, got {other}"
            ));
        }
        None => return Err("missing `value`".into()),
    };
    let quality = quality(obj.get("quality").and_then(Json::as_str))?;
    Ok(Reading {
        id,
        channel,
        ts,
        value,
        quality,
    })
}

impl ReadingRef<'_> {
    /// The reading, owned.
    pub fn to_reading(&self) -> Reading {
        Reading {
            id: self.id.to_string(),
            channel: self.channel.to_string(),
            ts: self.ts,
            value: match self.value {
                ValueRef::Num(n) => Value::Num(n),
                ValueRef::Bool(b) => Value::Bool(b),
                ValueRef::Text(s) => Value::Text(s.to_string()),
            },
            quality: self.quality,
        }
    }
}

impl<'a> From<&'a Reading> for ReadingRef<'a> {
    fn from(r: &'a Reading) -> Self {
        ReadingRef {
            id: &r.id,
            channel: &r.channel,
            ts: r.ts,
            value: match &r.value {
                Value::Num(n) => ValueRef::Num(*n),
                Value::Bool(b) => ValueRef::Bool(*b),
                Value::Text(s) => ValueRef::Text(s),
            },
            quality: r.quality,
        }
    }
}

/// Resolves a borrowed reading against the twin and the store's channels, as
/// [`StateStore::resolve`] does for a [`Reading`], without allocating.
pub fn resolve(
    twin: &Twin,
    store: &StateStore,
    r: &ReadingRef<'_>,
) -> Result<Sample, RejectReason> {
    let handle = twin.handle(r.id).ok_or(RejectReason::UnknownId)?;
    let channel = store
        .channel(r.channel)
        .ok_or(RejectReason::UnknownChannel)?;
    ingest::encode(store, handle, channel, r)
}

/// What [`ingest_json_lines`] did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ingested {
    /// The live twin's report (refusals of readings that did not resolve included).
    pub report: IngestReport,
    /// Lines that could not be read.
    pub errors: Vec<LineError>,
}

/// Parses JSON Lines telemetry (`file` names it in errors) and applies its readings to
/// `live` as one batch at `now`: the same readings, errors and report as [`parse`]
/// followed by [`Session::apply_readings`], through the fast parser and without
/// allocating per reading (see the module docs). [`JsonIngest`] does the same with an
/// id index kept between batches, faster.
pub fn ingest_json_lines(live: &mut Session, text: &str, file: &str, now: Timestamp) -> Ingested {
    let mut samples = Vec::with_capacity(text.len() / 64);
    ingest::run(live, text, file, ingest::Now::At(now), &mut samples, None).0
}

/// Parses one CSV reading.
pub fn parse_csv_line(line: &str) -> Result<Reading, String> {
    let cols: Vec<&str> = line.split(',').map(str::trim).collect();
    if !(4..=5).contains(&cols.len()) {
        return Err(format!(
            "{} columns, expected id,channel,ts,value[,quality]",
            cols.len()
        ));
    }
    if cols[0].is_empty() || cols[1].is_empty() {
        return Err("empty id or channel".into());
    }
    let ts = check_ts(
        cols[2]
            .parse()
            .map_err(|_| format!("ts `{}` is not UTC milliseconds", cols[2]))?,
    )?;
    let value = match cols[3] {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        s => match s.parse::<f64>() {
            Ok(n) => Value::Num(n),
            Err(_) if !s.is_empty() => Value::Text(s.to_string()),
            Err(_) => return Err("empty value".into()),
        },
    };
    Ok(Reading {
        id: cols[0].to_string(),
        channel: cols[1].to_string(),
        ts,
        value,
        quality: quality(cols.get(4).copied())?,
    })
}

/// Readings in time order, handed out up to a time.
#[derive(Clone, Debug)]
pub struct Replay {
    readings: Vec<Reading>,
    next: usize,
}

impl Replay {
    /// Sorts the readings by time (stable: file order within one millisecond).
    pub fn new(mut readings: Vec<Reading>) -> Self {
        readings.sort_by_key(|r| r.ts);
        Replay { readings, next: 0 }
    }

    /// Time of the first reading.
    pub fn start(&self) -> Option<Timestamp> {
        self.readings.first().map(|r| r.ts)
    }

    /// Time of the last reading.
    pub fn end(&self) -> Option<Timestamp> {
        self.readings.last().map(|r| r.ts)
    }

    /// The readings not yet handed out with `ts <= until`.
    pub fn until(&mut self, until: Timestamp) -> &[Reading] {
        let from = self.next;
        while self.next < self.readings.len() && self.readings[self.next].ts <= until {
            self.next += 1;
        }
        &self.readings[from..self.next]
    }

    /// Time of the next reading not yet handed out.
    pub fn next_ts(&self) -> Option<Timestamp> {
        self.readings.get(self.next).map(|r| r.ts)
    }

    /// Number of readings.
    pub fn len(&self) -> usize {
        self.readings.len()
    }

    /// True when there are no readings.
    pub fn is_empty(&self) -> bool {
        self.readings.is_empty()
    }

    /// True when every reading has been handed out.
    pub fn is_done(&self) -> bool {
        self.next >= self.readings.len()
    }
}
