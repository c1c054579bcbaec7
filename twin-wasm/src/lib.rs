//! # twin-wasm: the live twin inside a web page
//!
//! A dashboard embeds the same engine that runs natively. The JS class `Twin` (Rust
//! [`js::JsTwin`]) wraps a [`twin_core::Session`] — the assets with their R-tree, the
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
//! The logic lives in plain Rust on [`engine::Engine`] ([`engine`], [`ingest`],
//! [`query`], [`alerts`], [`overlay`]), returning `Result<_, String>` and serialisable
//! structs, tested natively with `cargo test -p twin-wasm`. [`js`] is the thin
//! wasm-bindgen layer: it converts arguments, turns results into plain JS objects
//! (`JSON.parse` of their serde JSON) and errors into `Error`s. The TypeScript
//! interfaces of those objects are below, so the generated `.d.ts` is typed.
//! `scripts/build-web` builds the npm package (`web/pkg`).

pub mod alerts;
pub mod engine;
#[cfg(target_arch = "wasm32")]
pub mod fetch;
pub mod ingest;
pub mod js;
mod listen;
pub mod overlay;
pub mod query;
#[cfg(target_arch = "wasm32")]
pub mod view;

pub use engine::Engine;

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** One refused reading. */
export interface Rejection { reason: string; asset: string; channel: string; ts: number; }
/** A line (JSON Lines, one-based) or array element (zero-based) that could not be read. */
export interface LineError { line: number; message: string; }
/** What one ingest call did. */
export interface IngestReport {
  applied: number; duplicates: number; outOfOrder: number; replaced: number;
  /** Readings refused by the twin, all reasons. */
  rejected: number;
  /** Refusals per reason (`unknown asset id`, `value type does not match the channel`, ...). */
  reasons: Record<string, number>;
  /** The first 64 refusals in full. */
  examples: Rejection[];
  /** Lines or elements that could not be read at all. */
  malformed: number;
  errors: LineError[];
  /** The twin's clock after the call (UTC ms). */
  now: number;
}
/** One query answer. */
export interface Hit {
  id: string; handle: number;
  /** `town`, `building`, `sensor:pm25`, ... */
  kind: string;
  /** Chinese name, else English, else the id. */
  name: string;
  /** Id of the town the asset lies in. */
  town: string | null;
  /** Metres from the query point (`near`, `knn`). */
  distance?: number;
}
/** A channel's latest sample. */
export interface LatestValue { value: number | boolean | string; ts: number; quality: "good" | "uncertain" | "bad"; }
/** Everything about one asset. */
export interface AssetInfo {
  id: string; handle: number; kind: string; name: string;
  names: { zh?: string; en?: string };
  town: string | null; attachedTo: string | null; partOf: string | null;
  /** `[minLon, minLat, maxLon, maxLat]`. */
  bbox: [number, number, number, number] | null;
  properties: Record<string, string | number | boolean>;
  /** By channel name. */
  latest: Record<string, LatestValue>;
  /** Ids of the assets attached to it (a building's energy meter, a pole's cameras). */
  sensors: string[];
}
/** A channel of the store. */
export interface ChannelInfo { id: number; name: string; type: "number" | "bool" | "enum"; unit: string | null; states?: string[]; }
/** One (asset, channel) of a past state. */
export interface StateEntry { id: string; handle: number; channel: string; ts: number; value: number | boolean | string; }
/** The sample in force at a time. */
export interface ValueAt { ts: number; value: number | boolean | string; }
/** What `onAlert` listeners receive. */
export interface AlertEvent {
  event: "raised" | "acknowledged" | "cleared";
  id: number; rule: string;
  /** The asset's id. */
  asset: string; handle: number; town: string | null;
  severity: "info" | "warning" | "critical";
  /** When it happened (UTC ms). */
  time: number;
  /** The value that raised it. */
  value: number;
}
/** An alert. */
export interface Alert {
  id: number; rule: string; asset: string; handle: number; town: string | null;
  severity: "info" | "warning" | "critical";
  state: "raised" | "acknowledged" | "cleared";
  raisedAt: number; value: number; acknowledgedAt: number | null; clearedAt: number | null;
}
/** Count, mean and maximum of a channel's latest values over a region. */
export interface ChannelStats { count: number; mean: number; max: number; }
/** A town or island row of the vital-signs table. */
export interface VitalRow {
  /** The town's or island's id. */
  region: string; name: string; island: boolean;
  sensors: number; online: number; offline: number;
  /** By channel name. */
  channels: Record<string, ChannelStats>;
  alerts: { info: number; warning: number; critical: number };
}
/** One overlay refresh. */
export interface OverlayFrame {
  /** RGBA by handle (alpha 0: draw the base colour); a copy. */
  colors: Uint8Array;
  /** `[start, end)` pairs of handles whose colour changed since the last refresh. */
  changed: Uint32Array;
}
/** How a layer colours values; colours are `#rrggbbaa`. */
export type LayerStyle =
  | { type: "ramp"; stops: [number, string][] }
  | { type: "thresholds"; breaks: number[]; colors: string[] }
  | { type: "categories"; map: [number, string][]; other: string };
/** An overlay layer, for legends. */
export interface OverlayLayer {
  name: string; kinds: string; channel: string; unit: string | null; style: LayerStyle;
  staleAfterMs: number | null; stale: string; noData: string;
}
/** Samples as columns: sample i is (handles[i], channels[i], values[i], timestamps[i]). */
export interface SampleArrays { handles: Uint32Array; channels: Uint16Array; values: Float64Array; timestamps: Float64Array; }
/** Options of `createView`. */
export interface ViewOptions {
  /** `"auto"` (default: WebGPU when the browser has it, else WebGL2), `"webgpu"` or `"webgl2"`. */
  backend?: "auto" | "webgpu" | "webgl2";
  /** Multisampling: 4 (default) or 1. */
  msaa?: 1 | 4;
}
/** A view's counters. */
export interface ViewStats {
  frames: number;
  /** `performance.now()` when the first frame was drawn, or null. */
  firstFrameMs: number | null;
  /** CPU time of the last frame (ms). */
  frameMs: number;
  /** Drawing-buffer size in device pixels. */
  width: number; height: number;
  drawCalls: number;
  /** State-texture ranges uploaded so far. */
  uploads: number;
  backend: "webgpu" | "webgl2";
}
/** What one `simulate` call did. */
export interface SimulateReport { ticks: number; samples: number; applied: number; rejected: number; now: number; }
"#;
