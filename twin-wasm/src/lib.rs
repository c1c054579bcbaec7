//! # twin-wasm: the live twin inside a web page
//!
//! A dashboard embeds the same engine that runs natively. The JS class `Twin` (Rust
//! [`JsTwin`]) wraps a [`twin_core::Session`] — the assets with their R-tree, the
//! state store of the standard sensor channels
//! ([`twin_chongming::sim::standard_channels`]), the default alert rules
//! ([`twin_chongming::DEFAULT_RULES_JSON`]), vital signs and the overlay of the
//! standard layers, built by [`twin_chongming::sim::standard_session`] as every front
//! end builds it — plus, on demand, the seeded [`twin_chongming::sim::Simulator`]. A page loads the bundled island (`Twin.bundled()`),
//! GeoJSON (`Twin.fromGeoJson`, `loadGeoJson`) or a snapshot (`Twin.fromSnapshot`);
//! from a URL with `Twin.fetchGeoJson(url)` / `Twin.fetchSnapshot(url)` (the page's
//! `fetch`; HTTP errors name the URL), or from bytes the page has.
//!
//! ## Time and telemetry
//! The twin has a clock (UTC ms, `twin.now`) that only moves forward: to the `nowMs`
//! a call is given, else to the newest sample it applies. Telemetry comes as twin's
//! JSON readings (`applyJson`: an array or JSON Lines of `{id, channel, ts, value,
//! quality?}`) or as typed arrays of handles, channel numbers, encoded values and
//! times (`applyTyped`, the fast path for a Web Worker); the simulator drives the twin
//! second by second (`simulate(fromMs, toMs)`). Each call returns an ingest report:
//! applied, duplicates, late, replaced, refused by reason, unreadable lines. Alerts
//! raised, acknowledged and cleared by a call reach `onAlert` listeners when it ends;
//! open alerts are highlighted in the overlay. `onVitalSigns(callback, everyMs)` hands
//! a listener the town and island table when it has changed, at most once per `everyMs`
//! of the twin's clock (module `listen`). `refreshOverlay` gives the RGBA colour of
//! every handle and the ranges that changed, what a renderer uploads; the overlay's
//! layers are the standard ones until the page sets its own with `setOverlay(json)`
//! (an overlay file as `assets/overlays/standard.json`: per layer the kinds, the
//! channel, a ramp, thresholds or categories, and stale and no-data colours), and
//! `overlayJson()` gives them back.
//!
//! ## The view
//! `twin.createView(canvas)` resolves to a `TwinView` (module `view`, built for wasm32 only):
//! twin-render drawing the twin into the canvas with WebGPU where the browser has it
//! and WebGL2 otherwise (`options.backend` forces one). It shares the twin's engine
//! and runs its own animation loop: colours follow telemetry with no call from the
//! page (only the changed rows of the state texture are uploaded; building-energy
//! meters colour their buildings), the drawing buffer follows the canvas's CSS size
//! and `devicePixelRatio`, the mouse pans, orbits and zooms, and a click picks exactly
//! what is drawn under the cursor (a one-pixel GPU pass), selects it and calls the
//! `onPick` listeners with the asset. `pick`, `select`, `flyTo`, `home`,
//! `screenPosition`, `setLayerVisible` and `stats` serve pages and their tests.
//!
//! ## Errors
//! Nothing a page sends can panic the module: every input is checked and a refusal
//! throws a JS `Error` with twin-core's message (file, feature and problem for
//! GeoJSON; rule index and id for rules; which part of a snapshot is wrong), and the
//! twin keeps what it held. Readings that do not fit (unknown id, wrong type, far
//! future) are not errors but counted refusals, as in every other telemetry path.
//!
//! ## Layout
//! The logic lives in plain Rust on [`Engine`] (private modules `engine`, `ingest`,
//! `query`, `alerts`, `overlay`), returning `Result<_, String>` and serialisable
//! structs, tested natively with `cargo test -p twin-wasm`. The private module `js` is the thin
//! wasm-bindgen layer: it converts arguments, turns results into plain JS objects
//! (`JSON.parse` of their serde JSON) and errors into `Error`s. The TypeScript
//! interfaces of those objects (`Alert`, `IngestReport`, ...) are derived from the Rust
//! types with [`tsify`] (`#[derive(Tsify)]`: serde's field names, the doc comments as
//! JSDoc, `#[tsify(type = ...)]` where the JS type is narrower than the Rust one or
//! the object is built by hand, as the typed arrays of `OverlayFrame`), and
//! wasm-bindgen writes them into the `.d.ts`; the methods name them with
//! `unchecked_return_type`. `scripts/build-web` builds the npm package (`web/pkg`) and
//! type-checks a TypeScript file against its `.d.ts` (`twin-wasm/tests/node/types.ts`).

mod alerts;
mod data;
mod engine;
#[cfg(target_arch = "wasm32")]
mod fetch;
mod ingest;
mod js;
mod listen;
mod manage;
mod overlay;
mod query;
mod stream;
#[cfg(target_arch = "wasm32")]
mod view;

pub use alerts::{AlertCounts, AlertOut, EventOut, StatsOut, VitalOut};
pub use engine::{
    Engine, HISTORY_BUDGET_BYTES, HISTORY_MAX_AGE_MS, MAX_PENDING_EVENTS, ONLINE_WINDOW_MS,
};
pub use ingest::{ChannelInfo, IngestOut, LineErrorOut, MAX_ERRORS_LISTED, RejectionOut};
pub use js::JsTwin;
pub use overlay::{Frame, LayerOut, MAX_SIMULATE_MS, SampleColumns, SimulateOut, StyleOut};
pub use query::{AssetInfo, Hit, LatestOut, StateEntry, ValueAt};
pub use stream::FRAME_VERSION;
pub use twin_core::stream::Remote;
#[cfg(target_arch = "wasm32")]
pub use view::JsTwinView;

/// Runs when the module is instantiated: a panic (a bug: input is refused with an
/// Error, never by panicking) is written to the console with its message and place
/// before the module aborts, so a page's report says what went wrong.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&wasm_bindgen::JsValue::from_str(&format!(
            "twin-wasm panicked: {info}"
        )));
    }));
}
