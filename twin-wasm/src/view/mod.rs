//! The canvas view (wasm32 only): twin-render drawing a [`crate::js::JsTwin`] into an
//! HTML canvas with WebGPU where the browser has it and WebGL2 otherwise.
//!
//! A `TwinView` shares the twin's engine. It runs its own `requestAnimationFrame`
//! loop; each frame it
//! 1. follows the canvas's CSS size (times `devicePixelRatio`) and reconfigures the
//!    surface when it changed,
//! 2. takes the overlay ranges that changed since the last frame
//!    ([`crate::engine::Engine::take_view_changes`]), paints building-energy meters'
//!    colours onto their buildings ([`twin_render::HostColors`]) and uploads only those
//!    rows of the state texture (no mesh is rebuilt; a new asset set is, once),
//! 3. draws, only when something changed (camera, size, colours, selection, layers).
//!
//! Mouse: drag pans, right-drag (or ctrl/shift-drag) orbits and tilts, the wheel zooms
//! towards the cursor, a click (no drag) picks exactly what is drawn under the cursor
//! (a GPU picking pass of one pixel), selects it and calls the `onPick` listeners.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use js_sys::{Function, Promise, Reflect};
use twin_core::state::Rgba;
use twin_core::{AssetKind, Handle};
use twin_render::scene::{asset_bounds, kind_bounds, widen};
use twin_render::{HostColors, OrbitCamera, Renderer, Scene, Target};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlCanvasElement;

use crate::engine::Engine;
use crate::js::JsTwin;

mod api;
mod input;

use input::{Drag, listen};

type JsResult<T> = Result<T, JsError>;

fn console_error(msg: &str) {
    web_sys::console::error_1(&JsValue::from_str(msg));
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// The page as a display (what GL surfaces are made on).
#[derive(Debug)]
struct WebDisplay;

impl raw_window_handle::HasDisplayHandle for WebDisplay {
    fn display_handle(
        &self,
    ) -> Result<raw_window_handle::DisplayHandle<'_>, raw_window_handle::HandleError> {
        Ok(raw_window_handle::DisplayHandle::web())
    }
}

/// Options of `createView`. Read field by field from the page's object by
/// [`options`], which checks them; both may be left out.
#[derive(tsify::Tsify)]
#[tsify(rename = "ViewOptions")]
struct Options {
    /// `"auto"` (default: WebGPU when the browser has it, else WebGL2), `"webgpu"` or `"webgl2"`.
    #[tsify(optional, type = r#""auto" | "webgpu" | "webgl2""#)]
    backend: String,
    /// Multisampling: 4 (default) or 1.
    #[tsify(optional, type = "1 | 4")]
    msaa: u32,
}

fn options(v: &JsValue) -> JsResult<Options> {
    let mut o = Options {
        backend: "auto".into(),
        msaa: 4,
    };
    if v.is_undefined() || v.is_null() {
        return Ok(o);
    }
    let get = |k: &str| Reflect::get(v, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
    let b = get("backend");
    if !b.is_undefined() {
        o.backend = b
            .as_string()
            .filter(|s| matches!(s.as_str(), "auto" | "webgpu" | "webgl2"))
            .ok_or_else(|| {
                JsError::new("createView: backend must be \"auto\", \"webgpu\" or \"webgl2\"")
            })?;
    }
    let m = get("msaa");
    if !m.is_undefined() {
        o.msaa = match m.as_f64() {
            Some(1.0) => 1,
            Some(4.0) => 4,
            _ => return Err(JsError::new("createView: msaa must be 1 or 4")),
        };
    }
    Ok(o)
}

/// Counters the page reads with `stats()`.
#[derive(Clone, Copy, Default)]
struct Stats {
    frames: u64,
    first_frame_ms: Option<f64>,
    frame_ms: f64,
    draw_calls: u32,
    uploads: u64,
}

/// Everything a frame needs, shared by the loop, the event handlers and the JS object.
struct Inner {
    engine: Rc<RefCell<Engine>>,
    canvas: HtmlCanvasElement,
    surface: wgpu::Surface<'static>,
    config: wgpu::SurfaceConfiguration,
    renderer: Renderer,
    target: Target,
    camera: OrbitCamera,
    hosts: HostColors,
    colors: Vec<Rgba>,
    generation: u64,
    home: Option<([f32; 3], [f32; 3])>,
    dirty: bool,
    backend: &'static str,
    stats: Stats,
    drag: Option<Drag>,
    listeners: Vec<Function>,
    alive: bool,
}

impl Inner {
    fn aspect(&self) -> f32 {
        self.config.width as f32 / self.config.height.max(1) as f32
    }

    /// Device pixels per CSS pixel of the drawing buffer.
    fn scale(&self) -> f64 {
        let css = self.canvas.client_width().max(1) as f64;
        self.config.width as f64 / css
    }

    /// Follows the canvas's CSS size.
    fn resize(&mut self) {
        let dpr = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
        let max = self.renderer.device().limits().max_texture_dimension_2d;
        let want = |css: i32| ((css.max(1) as f64 * dpr).round() as u32).clamp(1, max);
        let (w, h) = (
            want(self.canvas.client_width()),
            want(self.canvas.client_height()),
        );
        if (w, h) == (self.config.width, self.config.height) {
            return;
        }
        self.canvas.set_width(w);
        self.canvas.set_height(h);
        self.config.width = w;
        self.config.height = h;
        self.surface.configure(self.renderer.device(), &self.config);
        self.target = Target::new(
            self.renderer.device(),
            self.config.format,
            self.renderer.samples(),
            w,
            h,
        );
        self.dirty = true;
    }

    /// Takes the twin's colour changes (and a new asset set) into the renderer.
    fn sync(&mut self) -> Result<(), String> {
        let engine = self.engine.clone();
        let mut e = engine.borrow_mut();
        let mut ranges = e.take_view_changes();
        if e.session.generation() != self.generation {
            // Taken first: a scene the device refuses is reported once, not every frame.
            self.generation = e.session.generation();
            let twin = e.session.twin();
            self.renderer
                .set_scene(&Scene::build(twin))
                .map_err(|x| x.to_string())?;
            self.hosts = HostColors::building_energy(twin);
            self.colors = vec![Rgba::NONE; twin.handle_capacity()];
            // The islands, else the towns, else everything (a twin of a few assets).
            self.home = kind_bounds(twin, &AssetKind::Island)
                .or_else(|| kind_bounds(twin, &AssetKind::Town))
                .or_else(|| {
                    twin.iter()
                        .filter_map(|(h, _)| asset_bounds(twin, h))
                        .reduce(|(l0, h0), (l1, h1)| {
                            (
                                std::array::from_fn(|i| l0[i].min(l1[i])),
                                std::array::from_fn(|i| h0[i].max(h1[i])),
                            )
                        })
                        .map(|b| widen(b, 50.0))
                });
            ranges = std::iter::once(0..twin.handle_capacity() as u32).collect();
        }
        if ranges.is_empty() {
            return Ok(());
        }
        let changed = self.hosts.apply(e.view_colors(), &ranges, &mut self.colors);
        self.renderer.update_state(&self.colors, &changed);
        self.stats.uploads += changed.len() as u64;
        self.dirty = true;
        Ok(())
    }

    /// One animation frame: size, colours, and a draw when anything changed.
    fn frame(&mut self) {
        self.resize();
        if let Err(e) = self.sync() {
            console_error(&format!("twin view: {e}"));
        }
        if !self.dirty {
            return;
        }
        let t0 = now_ms();
        let frame = match self.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(f)
            | wgpu::CurrentSurfaceTexture::Suboptimal(f) => f,
            wgpu::CurrentSurfaceTexture::Outdated | wgpu::CurrentSurfaceTexture::Lost => {
                self.surface.configure(self.renderer.device(), &self.config);
                return;
            }
            _ => return,
        };
        let view = frame
            .texture
            .create_view(&wgpu::TextureViewDescriptor::default());
        let device = self.renderer.device().clone();
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("twin canvas frame"),
        });
        let camera = self.camera;
        let fs = self
            .renderer
            .draw(&mut encoder, &self.target, Some(&view), &camera);
        self.renderer.queue().submit([encoder.finish()]);
        frame.present();
        self.dirty = false;
        let t1 = now_ms();
        self.stats.frames += 1;
        self.stats.first_frame_ms.get_or_insert(t1);
        self.stats.frame_ms = t1 - t0;
        self.stats.draw_calls = fs.draw_calls;
    }

    fn fly_to(&mut self, h: Handle) -> bool {
        let b = asset_bounds(self.engine.borrow().session.twin(), h);
        match b {
            Some(b) => {
                let (lo, hi) = widen(b, 120.0);
                let aspect = self.aspect();
                self.camera.fit(lo, hi, aspect);
                self.dirty = true;
                true
            }
            None => false,
        }
    }

    fn home(&mut self) {
        if let Some((lo, hi)) = self.home {
            self.camera = OrbitCamera::top_down(lo, hi, self.aspect());
            self.dirty = true;
        }
    }
}

/// Starts a GPU pick of CSS pixel (x, y); the future resolves to the handle drawn
/// there. The view is borrowed only while the pass is recorded.
async fn pick_handle(inner: &Rc<RefCell<Inner>>, x: f64, y: f64) -> Result<Option<Handle>, String> {
    let (device, buffer) = {
        let mut v = inner.borrow_mut();
        let s = v.scale();
        let (px, py) = ((x * s).floor(), (y * s).floor());
        if !(px >= 0.0 && py >= 0.0) {
            return Ok(None);
        }
        let device = v.renderer.device().clone();
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("twin pick readback"),
            size: 256,
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("twin canvas pick"),
        });
        let camera = v.camera;
        let Inner {
            renderer, target, ..
        } = &mut *v;
        if !renderer.encode_pick_to(&mut encoder, target, &camera, px as u32, py as u32, &buffer) {
            return Ok(None);
        }
        renderer.queue().submit([encoder.finish()]);
        (device, buffer)
    };
    let state: Rc<Cell<Option<bool>>> = Rc::new(Cell::new(None));
    let done = state.clone();
    buffer
        .slice(..)
        .map_async(wgpu::MapMode::Read, move |r| done.set(Some(r.is_ok())));
    // WebGPU maps by itself; WebGL (wgpu-core) maps when polled after the GPU is done,
    // and a page cannot block: poll, yield to the browser, poll again (up to ~10 s).
    let mut ok = None;
    for _ in 0..2000 {
        let _ = device.poll(wgpu::PollType::Poll);
        ok = state.get();
        if ok.is_some() {
            break;
        }
        sleep_ms(5).await;
    }
    match ok {
        Some(true) => {}
        Some(false) => return Err("pick readback could not be mapped".into()),
        None => return Err("pick readback timed out".into()),
    }
    let v = {
        let bytes = buffer.slice(..).get_mapped_range();
        u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
    };
    buffer.unmap();
    Ok(v.checked_sub(1).map(Handle))
}

/// Resolves after `ms` milliseconds (a timer task), letting the browser run.
async fn sleep_ms(ms: i32) {
    let p = Promise::new(&mut |res, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&res, ms);
        }
    });
    let _ = JsFuture::from(p).await;
}

/// The JS `Hit` of a handle (or `null`).
fn hit_value(engine: &Rc<RefCell<Engine>>, h: Option<Handle>) -> JsValue {
    let hit = h.and_then(|h| engine.borrow().hit(h, None));
    match hit.map(|h| serde_json::to_string(&h)) {
        Some(Ok(text)) => js_sys::JSON::parse(&text).unwrap_or(JsValue::NULL),
        _ => JsValue::NULL,
    }
}

type Listener = Closure<dyn FnMut(web_sys::Event)>;
type FrameSlot = Rc<RefCell<Option<Closure<dyn FnMut(f64)>>>>;

/// A live view of a twin in a canvas (the JS `TwinView`), made by
/// `twin.createView(canvas)`. Call `free()` when the canvas goes away: it stops the
/// loop and removes the event listeners.
#[wasm_bindgen(js_name = TwinView)]
pub struct JsTwinView {
    inner: Rc<RefCell<Inner>>,
    handlers: Vec<(&'static str, Listener)>,
    frame_loop: Loop,
}

/// The animation loop's closure (it reschedules itself) and its pending request.
struct Loop {
    closure: FrameSlot,
    request: Rc<Cell<i32>>,
}

impl Drop for JsTwinView {
    fn drop(&mut self) {
        let mut v = self.inner.borrow_mut();
        v.alive = false;
        v.engine.borrow_mut().view_attached = false;
        for (name, h) in &self.handlers {
            let _ = v
                .canvas
                .remove_event_listener_with_callback(name, h.as_ref().unchecked_ref());
        }
        drop(v);
        // Cancel the pending frame before dropping the closure it would call.
        if let Some(w) = web_sys::window() {
            let _ = w.cancel_animation_frame(self.frame_loop.request.get());
        }
        self.frame_loop.closure.borrow_mut().take();
    }
}

#[wasm_bindgen(js_class = Twin)]
impl JsTwin {
    /// Draws this twin into `canvas` (WebGPU when the browser has it, else WebGL2):
    /// resolves to a `TwinView` once the first frame is scheduled. `options.backend`
    /// (`"auto"`, `"webgpu"`, `"webgl2"`) forces one; `options.msaa` is 4 (default) or 1.
    /// Size the canvas with CSS; the view sets its drawing buffer.
    #[wasm_bindgen(js_name = createView, unchecked_return_type = "Promise<TwinView>")]
    pub fn create_view(
        &self,
        canvas: HtmlCanvasElement,
        #[wasm_bindgen(unchecked_param_type = "ViewOptions")] options_value: JsValue,
    ) -> JsResult<Promise> {
        let opts = options(&options_value)?;
        let engine = self.engine.clone();
        Ok(wasm_bindgen_futures::future_to_promise(async move {
            match create(engine, canvas, opts).await {
                Ok(v) => Ok(v.into()),
                Err(e) => Err(js_sys::Error::new(&format!("createView: {e}")).into()),
            }
        }))
    }
}

async fn create(
    engine: Rc<RefCell<Engine>>,
    canvas: HtmlCanvasElement,
    opts: Options,
) -> Result<JsTwinView, String> {
    let backends = match opts.backend.as_str() {
        "webgpu" => wgpu::Backends::BROWSER_WEBGPU,
        "webgl2" => wgpu::Backends::GL,
        _ => wgpu::Backends::BROWSER_WEBGPU | wgpu::Backends::GL,
    };
    // WebGL (wgpu-core's GL backend) makes surfaces only with the page as display.
    let mut desc = wgpu::InstanceDescriptor::new_with_display_handle(Box::new(WebDisplay));
    desc.backends = backends;
    let instance = wgpu::util::new_instance_with_webgpu_detection(desc).await;
    let surface = instance
        .create_surface(wgpu::SurfaceTarget::Canvas(canvas.clone()))
        .map_err(|e| format!("no surface on the canvas: {e}"))?;
    let adapter = instance
        .request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: Some(&surface),
        })
        .await
        .map_err(|e| format!("no {} adapter: {e}", opts.backend))?;
    let backend = match adapter.get_info().backend {
        wgpu::Backend::BrowserWebGpu => "webgpu",
        _ => "webgl2",
    };
    let (device, queue) = adapter
        .request_device(&wgpu::DeviceDescriptor {
            label: Some("twin canvas"),
            required_features: wgpu::Features::empty(),
            required_limits: adapter.limits(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        })
        .await
        .map_err(|e| format!("no device: {e}"))?;
    // A GPU error must not abort the page's module: report it and go on.
    device.on_uncaptured_error(Arc::new(|e| {
        console_error(&format!("twin view GPU error: {e}"))
    }));
    let caps = surface.get_capabilities(&adapter);
    let format = caps
        .formats
        .first()
        .copied()
        .ok_or("the canvas offers no surface format")?;
    let samples = if opts.msaa == 4
        && adapter
            .get_texture_format_features(format)
            .flags
            .sample_count_supported(4)
    {
        4
    } else {
        1
    };
    let (w, h) = (canvas.width().max(1), canvas.height().max(1));
    let config = wgpu::SurfaceConfiguration {
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT,
        format,
        width: w,
        height: h,
        present_mode: wgpu::PresentMode::Fifo,
        desired_maximum_frame_latency: 2,
        alpha_mode: caps
            .alpha_modes
            .first()
            .copied()
            .unwrap_or(wgpu::CompositeAlphaMode::Auto),
        view_formats: vec![],
    };
    surface.configure(&device, &config);
    let renderer = Renderer::new(device, queue, format, samples).map_err(|e| e.to_string())?;
    let target = Target::new(renderer.device(), format, samples, w, h);
    let generation = {
        let mut e = engine.borrow_mut();
        e.view_attached = true;
        // Forces the scene to be built on the first frame.
        e.session.generation().wrapping_sub(1)
    };
    let mut inner = Inner {
        engine,
        canvas: canvas.clone(),
        surface,
        config,
        renderer,
        target,
        camera: OrbitCamera::default(),
        hosts: HostColors::default(),
        colors: Vec::new(),
        generation,
        home: None,
        dirty: true,
        backend,
        stats: Stats::default(),
        drag: None,
        listeners: Vec::new(),
        alive: true,
    };
    inner.resize();
    inner.sync()?;
    inner.home();
    let inner = Rc::new(RefCell::new(inner));
    let handlers = listen(&inner, &canvas);
    let frame_loop = start_loop(&inner);
    Ok(JsTwinView {
        inner,
        handlers,
        frame_loop,
    })
}

fn request_frame(f: &Closure<dyn FnMut(f64)>, request: &Cell<i32>) {
    if let Some(w) = web_sys::window()
        && let Ok(id) = w.request_animation_frame(f.as_ref().unchecked_ref())
    {
        request.set(id);
    }
}

/// The animation loop: a closure that draws and asks for the next frame while the
/// view is alive (the view's drop cancels the request and drops the closure).
fn start_loop(inner: &Rc<RefCell<Inner>>) -> Loop {
    let closure: FrameSlot = Rc::new(RefCell::new(None));
    let request = Rc::new(Cell::new(0));
    let weak = Rc::downgrade(inner);
    let (me, req) = (closure.clone(), request.clone());
    *closure.borrow_mut() = Some(Closure::new(move |_t: f64| {
        let Some(inner) = weak.upgrade() else {
            return;
        };
        if !inner.borrow().alive {
            return;
        }
        inner.borrow_mut().frame();
        if let Some(f) = me.borrow().as_ref() {
            request_frame(f, &req);
        }
    }));
    if let Some(f) = closure.borrow().as_ref() {
        request_frame(f, &request);
    }
    Loop { closure, request }
}
