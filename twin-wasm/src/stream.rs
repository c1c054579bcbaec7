//! A page on a served twin: the frames of `twin serve`'s live stream applied to the
//! page's twin (docs/stream.md §4).
//!
//! The page loads the same assets as the server (the bundled island; the fingerprints
//! must match) and then runs no simulator, ingest or rules of its own:
//! [`Engine::begin_stream`] checks the server's `hello`, maps its channels by name and
//! switches the views to the server's colours; [`Engine::apply_stream`] writes colour
//! runs into those colours (the changed ranges go to the views) and value records into
//! the page's store, so the inspector shows the server's latest values. Alerts and
//! vital signs come as JSON messages, which the page shows as they are.

use std::ops::Range;

use serde::Deserialize;
use twin_core::state::{ChannelId, Quality, Rgba, Sample};
use twin_core::{Handle, Timestamp};
use wasm_bindgen::prelude::*;

use crate::engine::Engine;
use crate::js::{JsResult, JsTwin, err};

/// The stream's frame format this page reads.
pub const FRAME_VERSION: u8 = 1;
const HEADER: usize = 24;
const VALUE_RECORD: usize = 24;

/// What a served twin's frames need: the colours views draw, the server's channel ids
/// mapped to the page's, the generation the handles belong to.
#[derive(Debug, Default)]
pub struct Remote {
    /// Colours by handle, as the server sent them.
    pub colors: Vec<Rgba>,
    /// Server channel id → the page's channel (`None`: the page has no such channel).
    pub channels: Vec<Option<ChannelId>>,
    /// Low 32 bits of the server's generation.
    pub generation: u32,
}

#[derive(Deserialize)]
struct Hello {
    protocol: String,
    fingerprint: String,
    generation: u64,
    channels: Vec<HelloChannel>,
}

#[derive(Deserialize)]
struct HelloChannel {
    id: u16,
    name: String,
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(a)
}

impl Engine {
    /// Starts showing a served twin from its `hello` message (JSON text): the assets
    /// must be the page's (equal fingerprints), the protocol `twin.v1`. The page's
    /// rules are cleared (the server's alerts come over the stream) and the views draw
    /// the server's colours from now on. Called again after a reconnection.
    pub fn begin_stream(&mut self, hello: &str) -> Result<(), String> {
        let h: Hello =
            serde_json::from_str(hello).map_err(|e| format!("the server's hello: {e}"))?;
        if h.protocol != "twin.v1" {
            return Err(format!(
                "the server speaks `{}`; this page reads twin.v1",
                h.protocol
            ));
        }
        let here = self.session.twin().fingerprint();
        if h.fingerprint != here {
            return Err(format!(
                "the server holds other assets than this page (fingerprint {} there, {here} here): start twin serve on the bundled island (no --data, default --scale and --seed)",
                h.fingerprint
            ));
        }
        let mut channels = Vec::new();
        for c in &h.channels {
            let i = c.id as usize;
            if channels.len() <= i {
                channels.resize(i + 1, None);
            }
            channels[i] = self.session.store().channel(&c.name);
        }
        self.session
            .set_rules(Vec::new(), Vec::new())
            .map_err(|e| e.to_string())?;
        let colors = match self.remote.take() {
            Some(r) => r.colors,
            None => self.session.overlay().colors().to_vec(),
        };
        self.remote = Some(Remote {
            colors,
            channels,
            generation: h.generation as u32,
        });
        let all = 0..self.session.twin().handle_capacity() as u32;
        self.note_view_changes(std::slice::from_ref(&all));
        Ok(())
    }

    /// Applies one binary frame of the stream; returns how many records it held (0 for
    /// a frame of another generation, which is dropped). A malformed frame is refused
    /// whole with what is wrong, and changes nothing.
    pub fn apply_stream(&mut self, b: &[u8]) -> Result<u32, String> {
        if b.len() < HEADER {
            return Err(format!(
                "a stream frame of {} bytes; its header alone is {HEADER}",
                b.len()
            ));
        }
        let (kind, version) = (b[0], b[1]);
        if version != FRAME_VERSION {
            return Err(format!(
                "stream frame version {version}; this page reads {FRAME_VERSION}"
            ));
        }
        let Some(remote) = self.remote.as_mut() else {
            return Err("applyStream before beginStream (the server's hello)".into());
        };
        if u32_at(b, 4) != remote.generation {
            return Ok(0);
        }
        let count = u32_at(b, 12);
        let now = u64_at(b, 16) as i64;
        let body = &b[HEADER..];
        match kind {
            1 => {
                // Checked whole before anything is written.
                let mut runs: Vec<(usize, Range<u32>)> = Vec::new();
                let mut at = 0usize;
                for r in 0..count {
                    if body.len() < at + 8 {
                        return Err(format!("colour frame: run {r} is cut short"));
                    }
                    let (start, len) = (u32_at(body, at), u32_at(body, at + 4));
                    let end = start as u64 + len as u64;
                    if end > remote.colors.len() as u64 {
                        return Err(format!(
                            "colour frame: run {r} ends at handle {end}, past this twin's {}",
                            remote.colors.len()
                        ));
                    }
                    if body.len() < at + 8 + 4 * len as usize {
                        return Err(format!("colour frame: run {r} is cut short"));
                    }
                    runs.push((at + 8, start..end as u32));
                    at += 8 + 4 * len as usize;
                }
                if at != body.len() {
                    return Err(format!(
                        "colour frame: {} bytes after its {count} runs",
                        body.len() - at
                    ));
                }
                let mut changed = Vec::with_capacity(runs.len());
                for (from, range) in runs {
                    for (i, h) in range.clone().enumerate() {
                        let o = from + 4 * i;
                        remote.colors[h as usize] =
                            Rgba([body[o], body[o + 1], body[o + 2], body[o + 3]]);
                    }
                    changed.push(range);
                }
                self.note_view_changes(&changed);
                Ok(count)
            }
            2 => {
                if Some(body.len()) != VALUE_RECORD.checked_mul(count as usize) {
                    return Err(format!(
                        "value frame: {} bytes for {count} records of {VALUE_RECORD}",
                        body.len()
                    ));
                }
                let mut samples = Vec::with_capacity(count as usize);
                for r in body.chunks_exact(VALUE_RECORD) {
                    let channel = u16::from_le_bytes([r[4], r[5]]) as usize;
                    let Some(Some(channel)) = remote.channels.get(channel).copied() else {
                        continue;
                    };
                    let quality = match r[6] {
                        0 => Quality::Good,
                        1 => Quality::Uncertain,
                        2 => Quality::Bad,
                        q => return Err(format!("value frame: quality {q}")),
                    };
                    samples.push(Sample {
                        handle: Handle(u32_at(r, 0)),
                        channel,
                        ts: Timestamp::from_millis(u64_at(r, 16) as i64),
                        value: f64::from_bits(u64_at(r, 8)),
                        quality,
                    });
                }
                let now = self.session.now().max(Timestamp::from_millis(now));
                self.session.apply(&samples, now);
                Ok(count)
            }
            k => Err(format!("stream frame kind {k}; this page reads 1 and 2")),
        }
    }
}

#[wasm_bindgen(js_class = Twin)]
impl JsTwin {
    /// Names this twin's assets and handles (`Twin::fingerprint` of twin-core): a
    /// served twin with the same fingerprint uses the same handles.
    #[wasm_bindgen(getter)]
    pub fn fingerprint(&self) -> String {
        self.engine.borrow().twin().fingerprint()
    }

    /// Starts showing a served twin: `hello` is the stream's first message (its JSON
    /// text). Throws when the server holds other assets or speaks another protocol.
    /// From then on the page's rules are off and its views draw the server's colours.
    #[wasm_bindgen(js_name = beginStream)]
    pub fn begin_stream(&self, hello: &str) -> JsResult<()> {
        self.engine.borrow_mut().begin_stream(hello).map_err(err)
    }

    /// Applies one binary frame of the stream (colours or values); returns its record
    /// count (0 for a frame of an older asset set). Throws on a malformed frame, which
    /// changes nothing.
    #[wasm_bindgen(js_name = applyStream)]
    pub fn apply_stream(&mut self, frame: &[u8]) -> JsResult<u32> {
        let n = self.engine.borrow_mut().apply_stream(frame).map_err(err)?;
        self.deliver()?;
        Ok(n)
    }
}
