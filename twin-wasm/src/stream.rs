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

use twin_core::stream::{Applied, Remote};
use wasm_bindgen::prelude::*;

use crate::engine::Engine;
use crate::js::{JsResult, JsTwin, err};

/// The stream's frame format this page reads.
pub const FRAME_VERSION: u8 = twin_core::stream::VERSION;

impl Engine {
    /// Starts showing a served twin from its `hello` message (JSON text), through
    /// [`Remote::begin`]: the assets must be the page's (equal fingerprints), the
    /// protocol `twin.v1`. The page's rules are cleared and the views draw the
    /// server's colours from now on. Called again after a reconnection.
    pub fn begin_stream(&mut self, hello: &str) -> Result<(), String> {
        let previous = self.remote.take();
        let remote =
            Remote::begin(&mut self.session, hello, previous).map_err(|e| e.to_string())?;
        self.remote = Some(remote);
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
        match remote
            .apply(&mut self.session, b)
            .map_err(|e| e.to_string())?
        {
            Applied::Colors { count, changed } => {
                self.note_view_changes(&changed);
                Ok(count)
            }
            Applied::Values { count, .. } => Ok(count),
            Applied::Stale => Ok(0),
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
