//! The JS methods of `TwinView`: picking, selection, camera, layers, time, stats.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use serde::Serialize;
use tsify::Tsify;
use twin_core::Handle;
use twin_render::LayerKind;
use twin_render::scene::asset_bounds;
use wasm_bindgen::prelude::*;

use super::{JsResult, JsTwinView, hit_value, pick_handle};
use crate::engine::Engine;

/// A view's counters.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(rename = "ViewStats")]
struct ViewStats {
    /// Frames drawn.
    frames: u64,
    /// `performance.now()` when the first frame was drawn, or null.
    first_frame_ms: Option<f64>,
    /// CPU time of the last frame (ms).
    frame_ms: f64,
    /// Drawing-buffer width in device pixels.
    width: u32,
    /// Drawing-buffer height in device pixels.
    height: u32,
    /// Draw calls of the last frame.
    draw_calls: u32,
    /// State-texture ranges uploaded so far.
    uploads: u64,
    /// The graphics API drawing.
    #[tsify(type = r#""webgpu" | "webgl2""#)]
    backend: &'static str,
}

#[wasm_bindgen(js_class = TwinView)]
impl JsTwinView {
    /// `"webgpu"` or `"webgl2"`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.inner.borrow().backend.to_string()
    }

    /// Frames drawn, when the first was drawn (`performance.now()` ms), the last
    /// frame's CPU time (ms), the drawing buffer's size, draw calls of the last frame,
    /// and state-texture ranges uploaded so far.
    #[wasm_bindgen(unchecked_return_type = "ViewStats")]
    pub fn stats(&self) -> JsResult<JsValue> {
        let v = self.inner.borrow();
        let s = v.stats;
        crate::js::to_js(&ViewStats {
            frames: s.frames,
            first_frame_ms: s.first_frame_ms,
            frame_ms: s.frame_ms,
            width: v.config.width,
            height: v.config.height,
            draw_calls: s.draw_calls,
            uploads: s.uploads,
            backend: v.backend,
        })
    }

    /// Calls `listener(hit, x, y)` after each click on the canvas (no drag): `hit` is
    /// the asset drawn there (or `null`), `x`, `y` CSS pixels in the canvas. The
    /// clicked asset is selected first.
    #[wasm_bindgen(js_name = onPick)]
    pub fn on_pick(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(hit: Hit | null, x: number, y: number) => void")]
        listener: Function,
    ) {
        self.inner.borrow_mut().listeners.push(listener);
    }

    /// The asset drawn at CSS pixel (x, y) of the canvas (exact GPU picking of what
    /// the current camera shows), or `null`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Hit | null>")]
    pub fn pick(&self, x: f64, y: f64) -> JsResult<Promise> {
        if !(x.is_finite() && y.is_finite()) {
            return Err(JsError::new("pick: x and y must be finite numbers"));
        }
        let inner = self.inner.clone();
        Ok(wasm_bindgen_futures::future_to_promise(async move {
            let h = pick_handle(&inner, x, y)
                .await
                .map_err(|e| JsValue::from(js_sys::Error::new(&format!("pick: {e}"))))?;
            let engine = inner.borrow().engine.clone();
            Ok(hit_value(&engine, h))
        }))
    }

    /// Selects an asset by id (drawn cyan), or clears the selection with `null`.
    /// Throws for an unknown id.
    pub fn select(&self, id: Option<String>) -> JsResult<()> {
        let mut v = self.inner.borrow_mut();
        let h = match id {
            Some(id) => Some(handle(&v.engine, &id)?),
            None => None,
        };
        v.renderer.set_selected(h);
        v.dirty = true;
        Ok(())
    }

    /// The selected asset's id, or `null`.
    #[wasm_bindgen(getter, unchecked_return_type = "string | null")]
    pub fn selected(&self) -> JsValue {
        let v = self.inner.borrow();
        let id = v
            .renderer
            .selected()
            .and_then(|h| v.engine.borrow().id_of(h.0));
        id.map_or(JsValue::NULL, |id| JsValue::from_str(&id))
    }

    /// Moves the camera to frame an asset and its neighbourhood (at least 240 m
    /// across), keeping heading and tilt. Throws for an unknown id.
    #[wasm_bindgen(js_name = flyTo)]
    pub fn fly_to(&self, id: &str) -> JsResult<()> {
        let mut v = self.inner.borrow_mut();
        let h = handle(&v.engine, id)?;
        if !v.fly_to(h) {
            return Err(JsError::new(&format!(
                "flyTo: `{id}` has no geometry to fly to"
            )));
        }
        Ok(())
    }

    /// The whole island from straight above.
    pub fn home(&self) {
        self.inner.borrow_mut().home();
    }

    /// Where an asset appears in the canvas (CSS pixels from its top-left corner): the
    /// centre of its top (a building's roof), or `null` when it is behind the camera
    /// or outside the canvas.
    #[wasm_bindgen(js_name = screenPosition, unchecked_return_type = "[number, number] | null")]
    pub fn screen_position(&self, id: &str) -> JsResult<JsValue> {
        let v = self.inner.borrow();
        let h = handle(&v.engine, id)?;
        let Some((lo, hi)) = asset_bounds(v.engine.borrow().session.twin(), h) else {
            return Ok(JsValue::NULL);
        };
        let top = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0, hi[2]];
        let (w, hgt) = (v.config.width, v.config.height);
        let Some([x, y]) = v.camera.project(top, w, hgt) else {
            return Ok(JsValue::NULL);
        };
        if !(0.0..w as f32).contains(&x) || !(0.0..hgt as f32).contains(&y) {
            return Ok(JsValue::NULL);
        }
        let s = v.scale();
        let xy = js_sys::Array::of2(&(x as f64 / s).into(), &(y as f64 / s).into());
        Ok(xy.into())
    }

    /// Shows or hides a layer by name (`land`, `water`, `roads`, `buildings`,
    /// `markers`, `towns`, ...; see `layers()`). Throws for an unknown name.
    #[wasm_bindgen(js_name = setLayerVisible)]
    pub fn set_layer_visible(&self, name: &str, visible: bool) -> JsResult<()> {
        let l = LayerKind::parse(name).ok_or_else(|| {
            let names: Vec<&str> = LayerKind::ALL.iter().map(|l| l.as_str()).collect();
            JsError::new(&format!(
                "setLayerVisible: unknown layer `{name}` (layers: {})",
                names.join(", ")
            ))
        })?;
        let mut v = self.inner.borrow_mut();
        v.renderer.set_layer_visible(l, visible);
        v.dirty = true;
        Ok(())
    }

    /// The layers, in drawing order, and whether each is shown.
    #[wasm_bindgen(unchecked_return_type = "{ name: string; visible: boolean }[]")]
    pub fn layers(&self) -> JsValue {
        let v = self.inner.borrow();
        let out = js_sys::Array::new();
        for l in LayerKind::ALL {
            let o = Object::new();
            let _ = Reflect::set(&o, &"name".into(), &l.as_str().into());
            let _ = Reflect::set(&o, &"visible".into(), &v.renderer.layer_visible(l).into());
            out.push(&o);
        }
        out.into()
    }

    /// The camera: `{ heading, pitch }` in degrees (heading clockwise from north,
    /// pitch below the horizon) and `distance` in metres.
    #[wasm_bindgen(unchecked_return_type = "{ heading: number; pitch: number; distance: number }")]
    pub fn camera(&self) -> JsValue {
        let c = self.inner.borrow().camera;
        let o = Object::new();
        let _ = Reflect::set(
            &o,
            &"heading".into(),
            &(c.heading.to_degrees() as f64).into(),
        );
        let _ = Reflect::set(&o, &"pitch".into(), &(c.pitch.to_degrees() as f64).into());
        let _ = Reflect::set(&o, &"distance".into(), &(c.distance as f64).into());
        o.into()
    }

    /// Turns and tilts the camera (degrees; pitch 90 looks straight down), keeping
    /// what it looks at.
    #[wasm_bindgen(js_name = setOrientation)]
    pub fn set_orientation(&self, heading: f64, pitch: f64) -> JsResult<()> {
        if !(heading.is_finite() && pitch.is_finite()) {
            return Err(JsError::new(
                "setOrientation: heading and pitch must be finite",
            ));
        }
        let mut v = self.inner.borrow_mut();
        let c = &mut v.camera;
        let (h0, p0) = (c.heading, c.pitch);
        c.orbit(
            (heading as f32).to_radians() - h0,
            (pitch as f32).to_radians() - p0,
        );
        v.dirty = true;
        Ok(())
    }

    /// Draws the twin as it was at `t` (UTC ms, from history: each asset's value in
    /// force then, through the overlay) or live again with `null`. Applies to every
    /// view of this twin; telemetry goes on being applied meanwhile.
    #[wasm_bindgen(js_name = setTime)]
    pub fn set_time(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number | null")] t: Option<f64>,
    ) -> JsResult<()> {
        let t = t.map(|t| crate::js::ms(t, "t")).transpose()?;
        let v = self.inner.borrow();
        v.engine.borrow_mut().set_view_time(t);
        Ok(())
    }

    /// The past time drawn (UTC ms), or `null` when live.
    #[wasm_bindgen(getter, unchecked_return_type = "number | null")]
    pub fn time(&self) -> JsValue {
        let v = self.inner.borrow();
        let t = v.engine.borrow().view_time;
        t.map_or(JsValue::NULL, |t| JsValue::from_f64(t as f64))
    }

    /// Where a WGS84 point at `height` metres appears in the canvas (CSS pixels from
    /// its top-left corner, possibly outside it: polygons drawn over the view clip
    /// themselves), or `null` when it is behind the camera. The page draws an
    /// incident's footprint with this on a 2D canvas over the view.
    #[wasm_bindgen(js_name = projectLonLat, unchecked_return_type = "[number, number] | null")]
    pub fn project_lon_lat(&self, lon: f64, lat: f64, height: Option<f64>) -> JsValue {
        if !(lon.is_finite() && lat.is_finite()) {
            return JsValue::NULL;
        }
        let v = self.inner.borrow();
        let (x, y) = v.engine.borrow().session.twin().frame().to_local(lon, lat);
        let z = height.filter(|h| h.is_finite()).unwrap_or(0.0);
        let (w, hgt) = (v.config.width, v.config.height);
        let Some([px, py]) = v.camera.project([x as f32, y as f32, z as f32], w, hgt) else {
            return JsValue::NULL;
        };
        let s = v.scale();
        js_sys::Array::of2(&(px as f64 / s).into(), &(py as f64 / s).into()).into()
    }

    /// Moves the camera to frame a WGS84 box (`west, south, east, north`, at least
    /// 240 m across), keeping heading and tilt: an incident's footprint, a search
    /// result's area. Throws for a box that is not finite or has west > east or
    /// south > north.
    #[wasm_bindgen(js_name = frameBox)]
    pub fn frame_box(&self, west: f64, south: f64, east: f64, north: f64) -> JsResult<()> {
        let ok = [west, south, east, north].iter().all(|x| x.is_finite());
        if !ok || west > east || south > north {
            return Err(JsError::new(&format!(
                "frameBox: [{west}, {south}, {east}, {north}] is not a west, south, east, north box"
            )));
        }
        let mut v = self.inner.borrow_mut();
        let (lo, hi) = {
            let e = v.engine.borrow();
            let f = e.session.twin().frame();
            let a = f.to_local(west, south);
            let b = f.to_local(east, north);
            let c = f.to_local(west, north);
            let d = f.to_local(east, south);
            let xs = [a.0, b.0, c.0, d.0];
            let ys = [a.1, b.1, c.1, d.1];
            let min = |l: [f64; 4]| l.into_iter().fold(f64::INFINITY, f64::min) as f32;
            let max = |l: [f64; 4]| l.into_iter().fold(f64::NEG_INFINITY, f64::max) as f32;
            ([min(xs), min(ys), 0.0], [max(xs), max(ys), 0.0])
        };
        let (lo, hi) = twin_render::scene::widen((lo, hi), 120.0);
        let aspect = v.aspect();
        v.camera.fit(lo, hi, aspect);
        v.dirty = true;
        Ok(())
    }

    /// Draws on the next animation frame even if nothing changed.
    pub fn redraw(&self) {
        self.inner.borrow_mut().dirty = true;
    }
}

fn handle(engine: &Rc<RefCell<Engine>>, id: &str) -> JsResult<Handle> {
    engine
        .borrow()
        .session
        .twin()
        .handle(id)
        .ok_or_else(|| JsError::new(&format!("unknown asset id `{id}`")))
}
