//! Telemetry into the twin: JSON (an array of readings or JSON Lines) and typed arrays.

use std::collections::BTreeMap;

use serde::Serialize;
use tsify::Tsify;
use twin_core::Handle;
use twin_core::state::{ChannelId, IngestReport, Quality, Sample};
use twin_core::telemetry::LineError;
use twin_core::telemetry::{Now, TS_RANGE};

use crate::engine::Engine;

/// Most unreadable lines listed in full in an [`IngestOut`] (all are counted).
pub const MAX_ERRORS_LISTED: usize = 64;

/// One refused reading.
#[derive(Clone, Debug, PartialEq, Serialize, Tsify)]
#[tsify(rename = "Rejection")]
pub struct RejectionOut {
    /// Why (`unknown asset id`, `value type does not match the channel`, ...).
    pub reason: String,
    /// The asset as given (id, or `#handle`).
    pub asset: String,
    /// The channel as given.
    pub channel: String,
    /// The reading's time (UTC ms).
    pub ts: i64,
}

/// A line (JSON Lines, one-based) or array element (zero-based) that could not be read.
#[derive(Clone, Debug, PartialEq, Serialize, Tsify)]
#[tsify(rename = "LineError")]
pub struct LineErrorOut {
    /// One-based line number (JSON Lines) or zero-based index (array).
    pub line: usize,
    /// What was wrong.
    pub message: String,
}

/// What one ingest call did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(rename = "IngestReport")]
pub struct IngestOut {
    /// Readings that became the latest value of their channel.
    pub applied: u64,
    /// Exact repeats: no effect.
    pub duplicates: u64,
    /// Older than the latest: kept in history only.
    pub out_of_order: u64,
    /// Same time as a held sample, another value: the newer write won.
    pub replaced: u64,
    /// Readings refused by the twin, all reasons (unknown id or channel, wrong type, ...).
    pub rejected: u64,
    /// Refusals per reason (`unknown asset id`, `value type does not match the channel`, ...).
    pub reasons: BTreeMap<String, u64>,
    /// The first 64 refusals in full.
    #[tsify(type = "Rejection[]")]
    pub examples: Vec<RejectionOut>,
    /// Lines or elements that could not be read at all.
    pub malformed: u64,
    /// The first 64 of them in full.
    #[tsify(type = "LineError[]")]
    pub errors: Vec<LineErrorOut>,
    /// The twin's clock after the call (UTC ms).
    pub now: i64,
}

impl IngestOut {
    fn of(report: IngestReport, errors: &[LineError], now: i64) -> IngestOut {
        IngestOut {
            applied: report.applied,
            duplicates: report.duplicates,
            out_of_order: report.out_of_order,
            replaced: report.replaced,
            rejected: report.rejected_total(),
            reasons: report
                .rejected
                .iter()
                .map(|(r, n)| (r.to_string(), *n))
                .collect(),
            examples: report
                .examples
                .iter()
                .map(|e| RejectionOut {
                    reason: e.reason.to_string(),
                    asset: e.asset.clone(),
                    channel: e.channel.clone(),
                    ts: e.ts.as_millis(),
                })
                .collect(),
            malformed: errors.len() as u64,
            errors: errors
                .iter()
                .take(MAX_ERRORS_LISTED)
                .map(|e| LineErrorOut {
                    line: e.line,
                    message: e.message.clone(),
                })
                .collect(),
            now,
        }
    }
}

/// Telemetry text as JSON Lines: JSON Lines as they are; a JSON array of reading
/// objects (when the text starts with `[`) with each element on a line of its own
/// (line k + 1 is element k). Returns the text and how many readings it holds. An
/// array that is not valid JSON is an error with serde_json's message.
pub fn as_json_lines(text: &str) -> Result<(std::borrow::Cow<'_, str>, usize), String> {
    if !text.trim_start().starts_with('[') {
        let n = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .count();
        return Ok((text.into(), n));
    }
    let bad = || match serde_json::from_str::<serde_json::Value>(text) {
        Err(e) => format!("payload: not a JSON array of readings: {e}"),
        Ok(_) => "payload: not a JSON array of readings".to_string(),
    };
    let elements = split_array(text).ok_or_else(bad)?;
    let mut out = String::with_capacity(text.len() + elements.len());
    for e in &elements {
        // Newlines outside strings are whitespace in JSON, and inside strings they
        // are not allowed raw: an element becomes one line without changing meaning.
        out.extend(
            e.chars()
                .map(|c| if c == '\n' || c == '\r' { ' ' } else { c }),
        );
        out.push('\n');
    }
    Ok((out.into(), elements.len()))
}

/// The top-level elements of a JSON array (as text, trimmed), or `None` when the text
/// is not one array: brackets and braces balanced outside strings, commas between
/// non-empty elements, nothing but whitespace after the closing bracket. The elements
/// themselves are checked by the reading parser.
fn split_array(text: &str) -> Option<Vec<&str>> {
    let t = text.trim();
    let b = t.as_bytes();
    if b.first() != Some(&b'[') || b.last() != Some(&b']') {
        return None;
    }
    let inner = &t[1..t.len() - 1];
    if inner.trim().is_empty() {
        return Some(Vec::new());
    }
    let mut out = Vec::new();
    let (mut depth, mut in_str, mut escaped, mut start) = (0i32, false, false, 0usize);
    for (i, c) in inner.bytes().enumerate() {
        if in_str {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth -= 1;
                if depth < 0 {
                    return None;
                }
            }
            b',' if depth == 0 => {
                let e = inner[start..i].trim();
                if e.is_empty() {
                    return None;
                }
                out.push(e);
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = inner[start..].trim();
    if in_str || depth != 0 || last.is_empty() {
        return None;
    }
    out.push(last);
    Some(out)
}

impl Engine {
    /// Applies telemetry in twin's JSON format (an array of reading objects or JSON
    /// Lines, read as JSON Lines) as one batch, through twin-core's fast JSON path
    /// with the engine's id cache ([`twin_core::telemetry::JsonIngest`]). The batch is
    /// applied at `now_ms`, or, when `None`, at the twin's clock moved up to the newest
    /// reading (so no reading counts as from the future). A payload of which nothing
    /// could be read is an error (nothing changes); otherwise unreadable lines are
    /// counted in the report beside the refusals. Array elements are numbered from 0
    /// in errors, JSON Lines from 1.
    pub fn apply_json(&mut self, text: &str, now_ms: Option<i64>) -> Result<IngestOut, String> {
        let array = text.trim_start().starts_with('[');
        let (lines, count) = as_json_lines(text)?;
        let now = match now_ms {
            Some(t) => Now::At(twin_core::Timestamp::from_millis(self.now_ms().max(t))),
            None => Now::Newest {
                at_least: twin_core::Timestamp::from_millis(self.now_ms()),
            },
        };
        let (mut done, at) = self
            .json
            .ingest_at(&mut self.session, &lines, "payload", now);
        if array {
            done.errors.iter_mut().for_each(|e| e.line -= 1);
        }
        // Nothing readable: no sample was applied and the clock stays (a batch with
        // no readings is applied at the twin's own time).
        if count > 0
            && done.errors.len() >= count
            && let Some(first) = done.errors.first()
        {
            let more = match done.errors.len() {
                1 => String::new(),
                n => format!(" (and {} more bad lines)", n - 1),
            };
            return Err(format!("{first}{more}"));
        }
        self.advance_clock(at.as_millis());
        self.collect_events();
        Ok(IngestOut::of(done.report, &done.errors, self.now_ms()))
    }

    /// The typed fast path: sample `i` is `(handles[i], channels[i], values[i],
    /// timestamps[i])`, values encoded as the store holds them (booleans 0/1, states
    /// by index). `channels` has one entry per sample or a single one for all. Bad
    /// samples (unknown handle or channel, non-finite or mistyped value, a timestamp
    /// that is not UTC ms in 1970–2200) are refused and counted; mismatched lengths
    /// are an error. `now_ms` as in [`Engine::apply_json`].
    pub fn apply_typed(
        &mut self,
        handles: &[u32],
        channels: &[u16],
        values: &[f64],
        timestamps: &[f64],
        now_ms: Option<i64>,
    ) -> Result<IngestOut, String> {
        let n = handles.len();
        if values.len() != n || timestamps.len() != n {
            return Err(format!(
                "applyTyped: handles ({n}), values ({}) and timestamps ({}) must have the same length",
                values.len(),
                timestamps.len()
            ));
        }
        if channels.len() != n && channels.len() != 1 {
            return Err(format!(
                "applyTyped: channels must have one entry per sample ({n}) or a single one, got {}",
                channels.len()
            ));
        }
        let samples: Vec<Sample> = (0..n)
            .map(|i| Sample {
                handle: Handle(handles[i]),
                channel: ChannelId(if channels.len() == 1 {
                    channels[0]
                } else {
                    channels[i]
                }),
                ts: twin_core::Timestamp::from_millis(ts_of(timestamps[i])),
                value: values[i],
                quality: Quality::Good,
            })
            .collect();
        let now = match now_ms {
            Some(t) => t,
            None => samples
                .iter()
                .map(|s| s.ts.as_millis())
                .filter(|t| TS_RANGE.contains(t))
                .max()
                .unwrap_or(self.now_ms()),
        };
        self.advance_clock(now);
        // Handles the twin does not hold (removed, or beyond its capacity) are refused
        // here: the store only knows its capacity.
        let (known, unknown): (Vec<Sample>, Vec<Sample>) = samples
            .into_iter()
            .partition(|s| self.session.twin().get(s.handle).is_some());
        let at = self.session.now();
        let mut report = self.session.apply(&known, at);
        for s in unknown {
            let channel = self
                .session
                .store()
                .spec(s.channel)
                .map_or_else(|| format!("#{}", s.channel.0), |c| c.name.clone());
            report.note_rejection(
                twin_core::state::RejectReason::UnknownHandle,
                &s.handle.to_string(),
                &channel,
                s.ts,
            );
        }
        self.collect_events();
        Ok(IngestOut::of(report, &[], self.now_ms()))
    }

    /// The handle of an asset id.
    pub fn handle_of(&self, id: &str) -> Result<u32, String> {
        self.session
            .twin()
            .handle(id)
            .map(|h| h.0)
            .ok_or_else(|| format!("unknown asset id `{id}`"))
    }

    /// The number of a channel name (`level`, `pm25`, ...).
    pub fn channel_id(&self, name: &str) -> Result<u16, String> {
        self.session
            .store()
            .channel(name)
            .map(|c| c.0)
            .ok_or_else(|| {
                let known: Vec<&str> = self
                    .session
                    .store()
                    .channels()
                    .map(|(_, s)| s.name.as_str())
                    .collect();
                format!("unknown channel `{name}` (known: {})", known.join(", "))
            })
    }
}

/// A JS timestamp as UTC ms: whole milliseconds in 1970–2200, else the store's
/// "invalid timestamp" marker (the sample is refused).
fn ts_of(t: f64) -> i64 {
    let lo = *TS_RANGE.start() as f64;
    let hi = *TS_RANGE.end() as f64;
    if t.is_finite() && t.fract() == 0.0 && (lo..=hi).contains(&t) {
        t as i64
    } else {
        i64::MIN
    }
}

/// A channel of the store.
#[derive(Clone, Debug, PartialEq, Serialize, Tsify)]
pub struct ChannelInfo {
    /// Its number (what `applyTyped` takes).
    pub id: u16,
    /// Its name.
    pub name: String,
    /// `number`, `bool` or `enum`.
    #[serde(rename = "type")]
    #[tsify(type = r#""number" | "bool" | "enum""#)]
    pub ty: &'static str,
    /// Unit for display.
    pub unit: Option<String>,
    /// The states of an `enum` channel, by encoded value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub states: Option<Vec<String>>,
}

impl Engine {
    /// The store's channels, by number.
    pub fn channel_list(&self) -> Vec<ChannelInfo> {
        use twin_core::state::ChannelType;
        self.session
            .store()
            .channels()
            .map(|(id, s)| ChannelInfo {
                id: id.0,
                name: s.name.clone(),
                ty: match s.ty {
                    ChannelType::Number => "number",
                    ChannelType::Bool => "bool",
                    ChannelType::Enum(_) => "enum",
                },
                unit: s.unit.clone(),
                states: match &s.ty {
                    ChannelType::Enum(states) => Some(states.clone()),
                    _ => None,
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_split_into_their_elements() {
        assert_eq!(split_array("[]"), Some(vec![]));
        assert_eq!(split_array(" [ ] \n"), Some(vec![]));
        assert_eq!(
            split_array(r#"[{"a":"x,]}"}, {"b":[1,2]} ,3]"#),
            Some(vec![r#"{"a":"x,]}"}"#, r#"{"b":[1,2]}"#, "3"])
        );
        assert_eq!(
            split_array(r#"[{"a":"say \"hi\", ok"}]"#),
            Some(vec![r#"{"a":"say \"hi\", ok"}"#])
        );
        for bad in [
            "[1,]", "[,1]", "[1,,2]", "[{]", "[}]", "[\"open]", "[1] x", "{}", "[1",
        ] {
            assert_eq!(split_array(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_pretty_printed_array_becomes_one_line_per_element() {
        let text = "[\n  {\"id\": \"A\",\n   \"value\": 1},\n  {\"id\": \"B\"}\n]";
        let (lines, n) = as_json_lines(text).unwrap();
        assert_eq!(n, 2);
        assert_eq!(lines, "{\"id\": \"A\",    \"value\": 1}\n{\"id\": \"B\"}\n");
        let e = as_json_lines("[{\"id\": 1,").unwrap_err();
        assert!(
            e.starts_with("payload: not a JSON array of readings: EOF"),
            "{e}"
        );
        let (lines, n) = as_json_lines("# c\n{}\n\n{}").unwrap();
        assert_eq!((lines.as_ref(), n), ("# c\n{}\n\n{}", 2));
    }
}
