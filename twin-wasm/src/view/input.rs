//! Pointer input on the canvas: drag pans, right-drag (or ctrl/shift-drag) orbits and
//! tilts, the wheel zooms towards the cursor, a click picks and selects.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlCanvasElement, PointerEvent, WheelEvent};

use super::{Inner, Listener, console_error, hit_value, pick_handle};

/// Pixels a pointer may move between press and release and still count as a click.
const CLICK_SLOP_PX: f64 = 4.0;

/// A drag in progress.
pub(super) struct Drag {
    x: f64,
    y: f64,
    start: (f64, f64),
    orbit: bool,
    moved: bool,
}

/// Mouse handling on the canvas.
pub(super) fn listen(
    inner: &Rc<RefCell<Inner>>,
    canvas: &HtmlCanvasElement,
) -> Vec<(&'static str, Listener)> {
    let mut out: Vec<(&'static str, Listener)> = Vec::new();
    let mut add = |name: &'static str, f: Box<dyn FnMut(web_sys::Event)>, passive: bool| {
        let c = Closure::wrap(f);
        let opts = web_sys::AddEventListenerOptions::new();
        opts.set_passive(passive);
        let _ = canvas.add_event_listener_with_callback_and_add_event_listener_options(
            name,
            c.as_ref().unchecked_ref(),
            &opts,
        );
        out.push((name, c));
    };

    let v = inner.clone();
    add(
        "pointerdown",
        Box::new(move |e| {
            let Some(e) = e.dyn_ref::<PointerEvent>() else {
                return;
            };
            let (x, y) = (e.offset_x() as f64, e.offset_y() as f64);
            let orbit = e.button() == 2 || e.ctrl_key() || e.shift_key();
            if let Some(t) = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            {
                let _ = t.set_pointer_capture(e.pointer_id());
            }
            v.borrow_mut().drag = Some(Drag {
                x,
                y,
                start: (x, y),
                orbit,
                moved: false,
            });
        }),
        true,
    );

    let v = inner.clone();
    add(
        "pointermove",
        Box::new(move |e| {
            let Some(e) = e.dyn_ref::<PointerEvent>() else {
                return;
            };
            let (x, y) = (e.offset_x() as f64, e.offset_y() as f64);
            let mut v = v.borrow_mut();
            let height = v.canvas.client_height().max(1) as f32;
            let Some(d) = v.drag.as_mut() else {
                return;
            };
            let (dx, dy) = (x - d.x, y - d.y);
            d.x = x;
            d.y = y;
            if !d.moved && (x - d.start.0).hypot(y - d.start.1) > CLICK_SLOP_PX {
                d.moved = true;
            }
            if !d.moved {
                return;
            }
            let orbit = d.orbit;
            if orbit {
                v.camera.orbit(dx as f32 * 0.006, dy as f32 * 0.006);
            } else {
                v.camera.pan(dx as f32, dy as f32, height);
            }
            v.dirty = true;
        }),
        true,
    );

    let v = inner.clone();
    add(
        "pointerup",
        Box::new(move |e| {
            let Some(e) = e.dyn_ref::<PointerEvent>() else {
                return;
            };
            let drag = v.borrow_mut().drag.take();
            let Some(d) = drag else {
                return;
            };
            if d.moved || e.button() != 0 {
                return;
            }
            let (x, y) = (e.offset_x() as f64, e.offset_y() as f64);
            let v = v.clone();
            wasm_bindgen_futures::spawn_local(async move {
                click(&v, x, y).await;
            });
        }),
        true,
    );

    let v = inner.clone();
    add(
        "wheel",
        Box::new(move |e| {
            let Some(e) = e.dyn_ref::<WheelEvent>() else {
                return;
            };
            e.prevent_default();
            let mut v = v.borrow_mut();
            let s = v.scale() as f32;
            let (w, h) = (v.config.width, v.config.height);
            let (x, y) = (e.offset_x() as f32 * s, e.offset_y() as f32 * s);
            // Lines or pages count as 40 pixels.
            let dy = e.delta_y() * if e.delta_mode() == 0 { 1.0 } else { 40.0 };
            let factor = (-dy * 0.0015).exp() as f32;
            // The ground under the cursor stays under it.
            let before = v.camera.ground_point(x, y, w, h, 0.0);
            v.camera.zoom(factor);
            let after = v.camera.ground_point(x, y, w, h, 0.0);
            if let (Some(a), Some(b)) = (before, after) {
                v.camera.target.x += a[0] - b[0];
                v.camera.target.y += a[1] - b[1];
            }
            v.dirty = true;
        }),
        false,
    );

    add(
        "contextmenu",
        Box::new(|e: web_sys::Event| e.prevent_default()),
        false,
    );
    out
}

/// A click: pick, select, tell the listeners (with no borrow held while they run).
async fn click(inner: &Rc<RefCell<Inner>>, x: f64, y: f64) {
    let h = match pick_handle(inner, x, y).await {
        Ok(h) => h,
        Err(e) => {
            console_error(&format!("twin view: {e}"));
            return;
        }
    };
    let (engine, listeners) = {
        let mut v = inner.borrow_mut();
        v.renderer.set_selected(h);
        v.dirty = true;
        (v.engine.clone(), v.listeners.clone())
    };
    let hit = hit_value(&engine, h);
    for f in listeners {
        if let Err(e) = f.call3(
            &JsValue::NULL,
            &hit,
            &JsValue::from_f64(x),
            &JsValue::from_f64(y),
        ) {
            web_sys::console::error_2(&JsValue::from_str("twin view: onPick listener threw"), &e);
        }
    }
}
