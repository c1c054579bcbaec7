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

use serde::Deserialize;
use twin_core::state::{ChannelId, Quality, Rgba, Sample};
use twin_core::stream::{self as frames, Body};
use twin_core::{Handle, Timestamp};
use wasm_bindgen::prelude::*;

use crate::engine::Engine;
use crate::js::{JsResult, JsTwin, err};

/// The stream's frame format this page reads.
pub const FRAME_VERSION: u8 = twin_core::stream::VERSION;

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
        let Some(remote) = self.remote.as_mut() else {
            return Err("applyStream before beginStream (the server's hello)".into());
        };
        let (header, body) = frames::decode(b).map_err(|e| e.to_string())?;
        if header.generation != remote.generation {
            return Ok(0);
        }
        match body {
            Body::Colors(runs) => {
                let n = remote.colors.len() as u64;
                if let Some((r, _)) = runs.iter().find(|(r, _)| u64::from(r.end) > n) {
                    return Err(format!(
                        "colour frame: a run ends at handle {}, past this twin's {n}",
                        r.end
                    ));
                }
                let mut changed = Vec::with_capacity(runs.len());
                for (range, rgba) in runs {
                    for (h, c) in range.clone().zip(rgba.chunks_exact(4)) {
                        remote.colors[h as usize] = Rgba([c[0], c[1], c[2], c[3]]);
                    }
                    changed.push(range);
                }
                self.note_view_changes(&changed);
                Ok(header.count)
            }
            Body::Values(records) => {
                let mut samples = Vec::with_capacity(records.len());
                for r in &records {
                    let Some(Some(channel)) = remote.channels.get(r.channel as usize).copied()
                    else {
                        continue;
                    };
                    let quality = match r.quality {
                        0 => Quality::Good,
                        1 => Quality::Uncertain,
                        2 => Quality::Bad,
                        q => return Err(format!("value frame: quality {q}")),
                    };
                    samples.push(Sample {
                        handle: Handle(r.handle),
                        channel,
                        ts: Timestamp::from_millis(r.ts),
                        value: r.value,
                        quality,
                    });
                }
                let now = self.session.now().max(Timestamp::from_millis(header.now));
                self.session.apply(&samples, now);
                Ok(header.count)
            }
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
