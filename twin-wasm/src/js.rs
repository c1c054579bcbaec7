//! The wasm-bindgen surface: the JS `Twin` class, thin wrappers over [`Engine`] that
//! turn values into plain JS objects (through `JSON.parse`) and errors into JS `Error`s.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Object, Reflect, Uint8Array, Uint16Array, Uint32Array};
use serde::Serialize;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::engine::Engine;
use crate::listen::Listeners;

pub(crate) type JsResult<T> = Result<T, JsError>;

pub(crate) fn err(e: String) -> JsError {
    JsError::new(&e)
}

/// A plain JS value of a serialisable Rust value.
pub(crate) fn to_js<T: Serialize>(x: &T) -> JsResult<JsValue> {
    let text = serde_json::to_string(x).map_err(|e| err(e.to_string()))?;
    js_sys::JSON::parse(&text).map_err(|_| err("internal: JSON.parse refused a result".into()))
}

/// UTC milliseconds from a JS number: finite, rounded to whole milliseconds.
pub(crate) fn ms(x: f64, what: &str) -> JsResult<i64> {
    if x.is_finite() {
        Ok(x.round() as i64)
    } else {
        Err(err(format!(
            "{what} must be a finite number of UTC milliseconds, got {x}"
        )))
    }
}

fn opt_ms(x: Option<f64>, what: &str) -> JsResult<Option<i64>> {
    x.map(|x| ms(x, what)).transpose()
}

/// A whole non-negative number from a JS number (alert numbers, seeds, k).
fn whole(x: f64, what: &str) -> JsResult<u64> {
    if x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x <= 9_007_199_254_740_991.0 {
        Ok(x as u64)
    } else {
        Err(err(format!("{what} must be a whole number ≥ 0, got {x}")))
    }
}

/// The bytes of a string, `Uint8Array` or `ArrayBuffer`.
fn bytes_of(data: &JsValue, what: &str) -> JsResult<Vec<u8>> {
    if let Some(s) = data.as_string() {
        return Ok(s.into_bytes());
    }
    if let Some(a) = data.dyn_ref::<Uint8Array>() {
        Ok(a.to_vec())
    } else if let Some(b) = data.dyn_ref::<js_sys::ArrayBuffer>() {
        Ok(Uint8Array::new(b).to_vec())
    } else {
        Err(err(format!(
            "{what}: expected a Uint8Array, ArrayBuffer or string"
        )))
    }
}

/// Reads a user's file with the options object, calling its `onProgress`.
fn read_data(
    data: &JsValue,
    options: &JsValue,
) -> JsResult<(twin_core::load::ReadResult, crate::data::LoadOptions)> {
    let parsed = load_options(options)?;
    let bytes = bytes_of(data, parsed.name())?;
    let callback = if options.is_object() {
        Reflect::get(options, &JsValue::from_str("onProgress"))
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
    } else {
        None
    };
    let mut progress = |done: usize, total: Option<usize>| {
        if let Some(f) = &callback {
            let total = total.map_or(JsValue::NULL, |t| JsValue::from_f64(t as f64));
            // A throwing callback does not stop the read.
            let _ = f.call2(&JsValue::NULL, &JsValue::from_f64(done as f64), &total);
        }
    };
    let read = parsed.read_with(&bytes, &mut progress).map_err(err)?;
    Ok((read, parsed))
}

/// The options object of `fromData` / `loadData`, through JSON (its `onProgress`
/// function is read by [`read_data`]).
fn load_options(options: &JsValue) -> JsResult<crate::data::LoadOptions> {
    let text = if options.is_undefined() || options.is_null() {
        None
    } else {
        Some(
            js_sys::JSON::stringify(options)
                .map_err(|_| err("options: not a plain object".into()))?
                .as_string()
                .unwrap_or_default(),
        )
    };
    crate::data::LoadOptions::from_json(text.as_deref()).map_err(err)
}

/// Text from a string, a `Uint8Array` or an `ArrayBuffer` of UTF-8.
fn text_of(data: &JsValue, what: &str) -> JsResult<String> {
    if let Some(s) = data.as_string() {
        return Ok(s);
    }
    let bytes = if let Some(a) = data.dyn_ref::<Uint8Array>() {
        a.to_vec()
    } else if let Some(b) = data.dyn_ref::<js_sys::ArrayBuffer>() {
        Uint8Array::new(b).to_vec()
    } else {
        return Err(err(format!(
            "{what}: expected a string, Uint8Array or ArrayBuffer"
        )));
    };
    String::from_utf8(bytes).map_err(|e| err(format!("{what}: not UTF-8 text: {e}")))
}

/// The live twin in a page: assets, queries, telemetry, overlay colours, alerts, vital
/// signs, time travel and a seeded simulator. Every method that takes data from the
/// page checks it and throws an `Error` naming what is wrong; the twin is unchanged
/// by a refused call and keeps answering.
#[wasm_bindgen(js_name = Twin)]
pub struct JsTwin {
    /// Shared with the canvas views of this twin. Borrowed only for the length of one
    /// call and never while page code runs (listeners are called after the engine is
    /// released), so two borrows cannot meet.
    pub(crate) engine: Rc<RefCell<Engine>>,
    /// `onAlert` and `onVitalSigns` listeners.
    pub(crate) listeners: Listeners,
}

impl JsTwin {
    pub(crate) fn new(engine: Engine) -> JsTwin {
        JsTwin {
            engine: Rc::new(RefCell::new(engine)),
            listeners: Listeners::default(),
        }
    }
}

#[wasm_bindgen(js_class = Twin)]
impl JsTwin {
    /// The bundled island: the real boundaries of Chongming's islands and 18 towns and
    /// the seeded synthetic infrastructure (158,654 assets, ~100,000 sensors).
    pub fn bundled() -> JsResult<JsTwin> {
        Engine::bundled().map(JsTwin::new).map_err(err)
    }

    /// Only the real island and town boundaries (30 assets, no sensors): quick.
    #[wasm_bindgen(js_name = realIsland)]
    pub fn real_island() -> JsResult<JsTwin> {
        Engine::real_island().map(JsTwin::new).map_err(err)
    }

    /// A twin of GeoJSON (text, `Uint8Array` or `ArrayBuffer`, e.g. from
    /// `fetch(url).then(r => r.arrayBuffer())`), strict: one bad feature loads nothing
    /// and the error names it. `crs` is the coordinates' CRS (`EPSG:4326` by default;
    /// `EPSG:3857`, `EPSG:4490`, `EPSG:326zz`, `GCJ-02`); `name` names the data in errors.
    #[wasm_bindgen(js_name = fromGeoJson)]
    pub fn from_geojson(
        #[wasm_bindgen(unchecked_param_type = "string | Uint8Array | ArrayBuffer")] data: JsValue,
        crs: Option<String>,
        name: Option<String>,
    ) -> JsResult<JsTwin> {
        let name = name.unwrap_or_else(|| "geojson".into());
        let text = text_of(&data, &name)?;
        Engine::from_geojson(&text, crs.as_deref(), &name)
            .map(JsTwin::new)
            .map_err(err)
    }

    /// A twin of a user's file: GeoJSON, FlatGeobuf, CityJSON or CityJSONSeq bytes
    /// (`Uint8Array`, `ArrayBuffer`, or text), read with `options`: `{name, mapping, id,
    /// kind, crs, lenient}` — `name` gives the format by its extension and names the
    /// file in errors; `mapping` is a mapping file's object (docs/mapping.md); `id`,
    /// `kind` and `crs` are the command line's `--id`, `--as` and `--crs`;
    /// `onProgress(done, total)` is called as features are read (every 8,192). Strict
    /// unless `lenient`: one bad feature throws, naming the file, the feature and the
    /// problem.
    #[wasm_bindgen(js_name = fromData)]
    pub fn from_data(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer | string")] data: JsValue,
        #[wasm_bindgen(unchecked_param_type = "LoadOptions | undefined")] options: JsValue,
    ) -> JsResult<JsTwin> {
        let (read, options) = read_data(&data, &options)?;
        let (engine, _) = Engine::from_data(read, &options).map_err(err)?;
        Ok(JsTwin::new(engine))
    }

    /// Adds a user's file to the twin, read as [`fromData`](Self::from_data) reads it.
    /// Returns `{added, first, rejected: [{file, index, id, problem}], warnings: [...]}`
    /// (`first`: the first new asset's id); a
    /// strict load throws on the first bad feature and adds nothing.
    #[wasm_bindgen(js_name = loadData, unchecked_return_type = "LoadSummary")]
    pub fn load_data(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer | string")] data: JsValue,
        #[wasm_bindgen(unchecked_param_type = "LoadOptions | undefined")] options: JsValue,
    ) -> JsResult<JsValue> {
        // Read before the engine is borrowed: `onProgress` is page code.
        let (read, options) = read_data(&data, &options)?;
        let summary = self
            .engine
            .borrow_mut()
            .load_data(read, &options)
            .map_err(err)?;
        self.deliver()?;
        to_js(&summary)
    }

    /// A twin restored from snapshot bytes (`twin run --save FILE`, or
    /// [`snapshot`](Self::snapshot)): assets, latest state, rules, open alerts.
    #[wasm_bindgen(js_name = fromSnapshot)]
    pub fn from_snapshot(bytes: &[u8]) -> JsResult<JsTwin> {
        Engine::from_snapshot(bytes).map(JsTwin::new).map_err(err)
    }

    /// The twin as snapshot bytes (history is not included).
    pub fn snapshot(&self) -> JsResult<Vec<u8>> {
        self.engine.borrow_mut().snapshot().map_err(err)
    }

    /// Adds the features of GeoJSON to the twin (strict; ids must be new). Returns how
    /// many assets were added.
    #[wasm_bindgen(js_name = loadGeoJson)]
    pub fn load_geojson(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string | Uint8Array | ArrayBuffer")] data: JsValue,
        crs: Option<String>,
        name: Option<String>,
    ) -> JsResult<u32> {
        let name = name.unwrap_or_else(|| "geojson".into());
        let text = text_of(&data, &name)?;
        let n = self
            .engine
            .borrow_mut()
            .load_geojson(&text, crs.as_deref(), &name)
            .map_err(err)?;
        self.deliver()?;
        Ok(n as u32)
    }

    /// Number of assets held.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> u32 {
        self.engine.borrow_mut().session.twin().len() as u32
    }

    /// One past the highest handle: the length of the overlay's colour array / 4.
    #[wasm_bindgen(getter, js_name = handleCapacity)]
    pub fn handle_capacity(&self) -> u32 {
        self.engine.borrow_mut().session.twin().handle_capacity() as u32
    }

    /// The twin's clock (UTC ms): the newest time it was given or applied.
    #[wasm_bindgen(getter)]
    pub fn now(&self) -> f64 {
        self.engine.borrow().now_ms() as f64
    }

    /// The attribution to show wherever the bundled data is displayed.
    pub fn attribution() -> String {
        twin_chongming::island::ATTRIBUTION.to_string()
    }

    /// Applies telemetry: a JSON array of readings or JSON Lines, each
    /// `{"id", "channel", "ts", "value", "quality"?}`. Applied at `nowMs`, or at the
    /// newest reading's time when omitted. Throws when nothing in the payload can be
    /// read; otherwise refused readings and bad lines are counted in the report.
    #[wasm_bindgen(js_name = applyJson, unchecked_return_type = "IngestReport")]
    pub fn apply_json(
        &mut self,
        text: &str,
        #[wasm_bindgen(js_name = nowMs)] now_ms: Option<f64>,
    ) -> JsResult<JsValue> {
        let now = opt_ms(now_ms, "nowMs")?;
        let out = self
            .engine
            .borrow_mut()
            .apply_json(text, now)
            .map_err(err)?;
        self.deliver()?;
        to_js(&out)
    }

    /// The fast path: sample `i` is `(handles[i], channels[i], values[i],
    /// timestamps[i])` with values encoded (booleans 0/1, states by index).
    /// `channels` is a `Uint16Array` (one per sample), a channel number or a channel
    /// name for all. Bad samples are refused and counted; mismatched lengths throw.
    #[wasm_bindgen(js_name = applyTyped, unchecked_return_type = "IngestReport")]
    pub fn apply_typed(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint32Array")] handles: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint16Array | number | string")] channels: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Float64Array")] values: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Float64Array")] timestamps: JsValue,
        #[wasm_bindgen(js_name = nowMs)] now_ms: Option<f64>,
    ) -> JsResult<JsValue> {
        // Typed arrays only: wasm-bindgen would turn a string or a plain array into
        // numbers (a string into zeros, handle 0 being the island) without a word.
        let handles = handles
            .dyn_ref::<Uint32Array>()
            .ok_or_else(|| err("applyTyped: handles must be a Uint32Array".into()))?
            .to_vec();
        let values = values
            .dyn_ref::<js_sys::Float64Array>()
            .ok_or_else(|| err("applyTyped: values must be a Float64Array".into()))?
            .to_vec();
        let timestamps = timestamps
            .dyn_ref::<js_sys::Float64Array>()
            .ok_or_else(|| err("applyTyped: timestamps must be a Float64Array".into()))?
            .to_vec();
        let channels: Vec<u16> = if let Some(name) = channels.as_string() {
            vec![self.engine.borrow_mut().channel_id(&name).map_err(err)?]
        } else if let Some(a) = channels.dyn_ref::<Uint16Array>() {
            a.to_vec()
        } else if let Some(n) = channels.as_f64() {
            let n = whole(n, "channel")?;
            vec![u16::try_from(n).map_err(|_| err(format!("channel {n} is out of range")))?]
        } else {
            return Err(err(
                "applyTyped: channels must be a Uint16Array, a channel number or a channel name"
                    .into(),
            ));
        };
        let now = opt_ms(now_ms, "nowMs")?;
        let out = self
            .engine
            .borrow_mut()
            .apply_typed(&handles, &channels, &values, &timestamps, now)
            .map_err(err)?;
        self.deliver()?;
        to_js(&out)
    }

    /// The id of the asset a handle names, or `null`.
    #[wasm_bindgen(js_name = idOf)]
    pub fn id_of(&self, handle: u32) -> Option<String> {
        self.engine.borrow().id_of(handle)
    }

    /// The handle of an asset id (throws for an unknown id).
    #[wasm_bindgen(js_name = handleOf)]
    pub fn handle_of(&self, id: &str) -> JsResult<u32> {
        self.engine.borrow_mut().handle_of(id).map_err(err)
    }

    /// The number of a channel (`level`, `pm25`, `charger`, ...; throws if unknown).
    #[wasm_bindgen(js_name = channelId)]
    pub fn channel_id(&self, name: &str) -> JsResult<u16> {
        self.engine.borrow_mut().channel_id(name).map_err(err)
    }

    /// The channels: `{id, name, type, unit, states?}` by number.
    #[wasm_bindgen(unchecked_return_type = "ChannelInfo[]")]
    pub fn channels(&self) -> JsResult<JsValue> {
        to_js(&self.engine.borrow_mut().channel_list())
    }

    /// Assets whose lon/lat bounding box meets the box, optionally of some kinds
    /// (`building`, `sensor`, `sensor:pm25`, `town,island`).
    #[wasm_bindgen(unchecked_return_type = "Hit[]")]
    pub fn bbox(
        &self,
        #[wasm_bindgen(js_name = minLon)] min_lon: f64,
        #[wasm_bindgen(js_name = minLat)] min_lat: f64,
        #[wasm_bindgen(js_name = maxLon)] max_lon: f64,
        #[wasm_bindgen(js_name = maxLat)] max_lat: f64,
        kind: Option<String>,
    ) -> JsResult<JsValue> {
        let hits = self
            .engine
            .borrow_mut()
            .bbox((min_lon, min_lat), (max_lon, max_lat), kind.as_deref())
            .map_err(err)?;
        to_js(&hits)
    }

    /// Assets within `metres` of the point, nearest first, with distances.
    #[wasm_bindgen(unchecked_return_type = "Hit[]")]
    pub fn near(&self, lon: f64, lat: f64, metres: f64, kind: Option<String>) -> JsResult<JsValue> {
        to_js(
            &self
                .engine
                .borrow_mut()
                .near(lon, lat, metres, kind.as_deref())
                .map_err(err)?,
        )
    }

    /// The `k` assets nearest the point, nearest first, with distances in metres.
    #[wasm_bindgen(unchecked_return_type = "Hit[]")]
    pub fn knn(&self, lon: f64, lat: f64, k: f64, kind: Option<String>) -> JsResult<JsValue> {
        let k = whole(k, "k")? as usize;
        to_js(
            &self
                .engine
                .borrow_mut()
                .knn(lon, lat, k, kind.as_deref())
                .map_err(err)?,
        )
    }

    /// Assets covering the point (a town, an island, a building...).
    #[wasm_bindgen(unchecked_return_type = "Hit[]")]
    pub fn contains(&self, lon: f64, lat: f64, kind: Option<String>) -> JsResult<JsValue> {
        to_js(
            &self
                .engine
                .borrow_mut()
                .contains(lon, lat, kind.as_deref())
                .map_err(err)?,
        )
    }

    /// Everything about one asset, with its latest values (throws for an unknown id).
    #[wasm_bindgen(unchecked_return_type = "AssetInfo")]
    pub fn asset(&self, id: &str) -> JsResult<JsValue> {
        to_js(&self.engine.borrow_mut().asset(id).map_err(err)?)
    }

    /// Replaces the alert rules (JSON array as `assets/rules/chongming.json`); throws
    /// with the rule's index, id and problem, and then nothing changes.
    #[wasm_bindgen(js_name = setRules)]
    pub fn set_rules(&mut self, json: &str) -> JsResult<()> {
        self.engine.borrow_mut().set_rules(json).map_err(err)?;
        self.deliver()
    }

    /// The rules as JSON text (what `setRules` reads).
    pub fn rules(&self) -> String {
        self.engine.borrow_mut().rules_json()
    }

    /// Recolours what changed and what fell silent by `nowMs` (the clock when
    /// omitted): RGBA by handle and the `[start, end)` handle ranges that changed.
    #[wasm_bindgen(js_name = refreshOverlay, unchecked_return_type = "OverlayFrame")]
    pub fn refresh_overlay(
        &mut self,
        #[wasm_bindgen(js_name = nowMs)] now_ms: Option<f64>,
    ) -> JsResult<JsValue> {
        let now = opt_ms(now_ms, "nowMs")?;
        let frame = self.engine.borrow_mut().refresh_overlay(now);
        let o = Object::new();
        let set = |k: &str, v: &JsValue| {
            Reflect::set(&o, &JsValue::from_str(k), v)
                .map(|_| ())
                .map_err(|_| err("internal: cannot build the frame".into()))
        };
        set("colors", &Uint8Array::from(frame.colors.as_slice()).into())?;
        set(
            "changed",
            &Uint32Array::from(frame.changed.as_slice()).into(),
        )?;
        Ok(o.into())
    }

    /// Replaces the overlay's layers with an overlay file: a JSON array of
    /// `{name, kinds, channel, ramp | thresholds | categories, other?, stale_after_s?,
    /// stale?, no_data?}` (twin-core's `state::overlay::json`). Throws with the layer's
    /// index, name and problem, and then nothing changes. Every asset is repainted from
    /// its latest state (views follow on their next frame).
    #[wasm_bindgen(js_name = setOverlay)]
    pub fn set_overlay(&mut self, json: &str) -> JsResult<()> {
        self.engine.borrow_mut().set_overlay(json).map_err(err)
    }

    /// The overlay's layers as an overlay file (what `setOverlay` reads).
    #[wasm_bindgen(js_name = overlayJson)]
    pub fn overlay_json(&self) -> String {
        self.engine.borrow().overlay_json()
    }

    /// The overlay's layers (name, kinds, channel, style stops), for legends.
    #[wasm_bindgen(js_name = overlayLayers, unchecked_return_type = "OverlayLayer[]")]
    pub fn overlay_layers(&self) -> JsResult<JsValue> {
        to_js(&self.engine.borrow_mut().overlay_layers())
    }

    /// Open alerts, most severe and newest first.
    #[wasm_bindgen(js_name = openAlerts, unchecked_return_type = "Alert[]")]
    pub fn open_alerts(&self) -> JsResult<JsValue> {
        to_js(&self.engine.borrow_mut().open_alerts())
    }

    /// One alert by number (throws if unknown).
    #[wasm_bindgen(unchecked_return_type = "Alert")]
    pub fn alert(&self, id: f64) -> JsResult<JsValue> {
        to_js(
            &self
                .engine
                .borrow_mut()
                .alert(whole(id, "alert id")?)
                .map_err(err)?,
        )
    }

    /// Acknowledges an alert (at `atMs`, or the clock): true if it was raised, false if
    /// already acknowledged or cleared; throws for an unknown number.
    pub fn acknowledge(
        &mut self,
        id: f64,
        #[wasm_bindgen(js_name = atMs)] at_ms: Option<f64>,
    ) -> JsResult<bool> {
        let at = opt_ms(at_ms, "atMs")?;
        let done = self
            .engine
            .borrow_mut()
            .acknowledge(whole(id, "alert id")?, at)
            .map_err(err)?;
        self.deliver()?;
        Ok(done)
    }

    /// The vital-signs table now: one row per town, then per island.
    #[wasm_bindgen(js_name = vitalSigns, unchecked_return_type = "VitalRow[]")]
    pub fn vital_signs(&self) -> JsResult<JsValue> {
        to_js(&self.engine.borrow_mut().vital_signs())
    }

    /// The table as it was at `t` (UTC ms), from history; alerts are not counted.
    #[wasm_bindgen(js_name = vitalSignsAt, unchecked_return_type = "VitalRow[]")]
    pub fn vital_signs_at(&self, t: f64) -> JsResult<JsValue> {
        to_js(&self.engine.borrow_mut().vital_signs_at(ms(t, "t")?))
    }

    /// The state at `t`: per asset and channel the sample in force, for every asset
    /// with history or those meeting `bbox` (`[minLon, minLat, maxLon, maxLat]`).
    #[wasm_bindgen(js_name = stateAt, unchecked_return_type = "StateEntry[]")]
    pub fn state_at(&self, t: f64, bbox: Option<Vec<f64>>) -> JsResult<JsValue> {
        let bbox = match bbox.as_deref() {
            None => None,
            Some(&[a, b, c, d]) => Some([a, b, c, d]),
            Some(other) => {
                return Err(err(format!(
                    "stateAt: bbox must be [minLon, minLat, maxLon, maxLat], got {} numbers",
                    other.len()
                )));
            }
        };
        to_js(
            &self
                .engine
                .borrow_mut()
                .state_at(ms(t, "t")?, bbox)
                .map_err(err)?,
        )
    }

    /// The value of a channel of an asset at `t`, or `null` when history has none;
    /// throws for an unknown id or channel.
    #[wasm_bindgen(js_name = valueAt, unchecked_return_type = "ValueAt | null")]
    pub fn value_at(&self, id: &str, channel: &str, t: f64) -> JsResult<JsValue> {
        to_js(
            &self
                .engine
                .borrow_mut()
                .value_at(id, channel, ms(t, "t")?)
                .map_err(err)?,
        )
    }

    /// Lets time pass to `nowMs` without samples: sensors fall offline, silence alerts
    /// rise (listeners are called).
    pub fn tick(&mut self, #[wasm_bindgen(js_name = nowMs)] now_ms: f64) -> JsResult<()> {
        self.engine.borrow_mut().tick(ms(now_ms, "nowMs")?);
        self.deliver()
    }

    /// Makes the seeded simulator: the same seed gives the same telemetry; with
    /// `incidents` (default true) a surge, a silence and a charger fault are planned
    /// after `startMs`.
    #[wasm_bindgen(js_name = startSimulator)]
    pub fn start_simulator(
        &mut self,
        seed: f64,
        #[wasm_bindgen(js_name = startMs)] start_ms: f64,
        incidents: Option<bool>,
    ) -> JsResult<()> {
        let seed = whole(seed, "seed")?;
        let start = ms(start_ms, "startMs")?;
        self.engine
            .borrow_mut()
            .start_simulator(seed, start, incidents.unwrap_or(true));
        Ok(())
    }

    /// Drives the twin from the simulator, one tick per whole second in
    /// `(fromMs, toMs]` (at most a day per call); made with seed 2026 and the default
    /// incidents on first use unless `startSimulator` was called.
    #[wasm_bindgen(unchecked_return_type = "SimulateReport")]
    pub fn simulate(
        &mut self,
        #[wasm_bindgen(js_name = fromMs)] from_ms: f64,
        #[wasm_bindgen(js_name = toMs)] to_ms: f64,
    ) -> JsResult<JsValue> {
        let out = self
            .engine
            .borrow_mut()
            .simulate(ms(from_ms, "fromMs")?, ms(to_ms, "toMs")?)
            .map_err(err)?;
        self.deliver()?;
        to_js(&out)
    }

    /// Runs the seeded simulator over `(fromMs, toMs]` without applying the samples
    /// to this twin and returns them as typed arrays (what `applyTyped` takes): a Web
    /// Worker makes telemetry this way and transfers the arrays to the page's twin.
    #[wasm_bindgen(js_name = simulateSamples, unchecked_return_type = "SampleArrays")]
    pub fn simulate_samples(
        &mut self,
        #[wasm_bindgen(js_name = fromMs)] from_ms: f64,
        #[wasm_bindgen(js_name = toMs)] to_ms: f64,
    ) -> JsResult<JsValue> {
        let cols = self
            .engine
            .borrow_mut()
            .simulate_samples(ms(from_ms, "fromMs")?, ms(to_ms, "toMs")?)
            .map_err(err)?;
        let out = Object::new();
        let set = |k: &str, v: &JsValue| Reflect::set(&out, &JsValue::from_str(k), v);
        set(
            "handles",
            &Uint32Array::from(cols.handles.as_slice()).into(),
        )
        .and(set(
            "channels",
            &Uint16Array::from(cols.channels.as_slice()).into(),
        ))
        .and(set(
            "values",
            &js_sys::Float64Array::from(cols.values.as_slice()).into(),
        ))
        .and(set(
            "timestamps",
            &js_sys::Float64Array::from(cols.timestamps.as_slice()).into(),
        ))
        .map_err(|_| err("internal: could not build the sample arrays".into()))?;
        Ok(out.into())
    }

    /// The simulator's planned incidents, one line each.
    pub fn incidents(&self) -> Vec<String> {
        self.engine.borrow_mut().incidents()
    }
}
