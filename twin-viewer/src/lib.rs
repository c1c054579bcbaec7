//! # twin-viewer: a live twin inside a bevy app
//!
//! [`TwinPlugin`] lets any bevy 0.19 app show a twin. It does not translate assets into
//! bevy meshes and materials: it runs twin-render's own [`twin_render::Renderer`] on
//! bevy's wgpu device (the same wgpu 29), in the render world, drawing into a bevy
//! [`Image`]. So the desktop viewer, headless PNGs and the web canvas share one
//! renderer and one shader, and live state reaches the GPU the same way everywhere: as
//! rows of the per-asset state texture, never as re-built meshes.
//!
//! ## Model
//! - The main world holds a [`TwinView`] resource: the orbit camera, the selection,
//!   the visible layers, the image the twin is drawn into ([`TwinView::image`]), and a
//!   queue of changes for the GPU (a new [`Scene`], changed state colours, a picking
//!   request).
//! - Each frame the render world takes those changes under one short lock, uploads
//!   what changed, and draws the twin into the image before bevy's own render graph
//!   runs, so the image is current when bevy (or egui) samples it.
//! - Apps show the image wherever they like: on a UI node, a sprite, a material in
//!   their 3D scene, or an egui panel (the viewer in this crate does that). The twin is
//!   composited as an image; it does not share a depth buffer with the app's meshes.
//! - Picking is exact and asynchronous: [`TwinView::request_pick`] asks for a pixel; a
//!   frame or two later [`TwinView::take_pick`] returns the asset drawn there.

pub mod durable;
pub mod files;
pub mod incidents;
pub mod live;
pub mod remote;
pub mod tools;
pub mod ui;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bevy::asset::RenderAssetUsages;
use bevy::prelude::*;
use bevy::render::render_asset::RenderAssets;
use bevy::render::render_resource::TextureFormat;
use bevy::render::renderer::{RenderDevice, RenderQueue, render_system};
use bevy::render::texture::GpuImage;
use bevy::render::{Render, RenderApp, RenderSystems};
use twin_core::Handle as AssetHandle;
use twin_core::state::Rgba;
use twin_render::{FrameStats, LayerKind, OrbitCamera, RenderStats, Renderer, Scene, Target};

/// Adds the twin's render-world system and the [`TwinLink`] between the worlds; insert
/// a [`TwinView`] (see [`TwinView::new`]) to draw something.
pub struct TwinPlugin;

impl Plugin for TwinPlugin {
    fn build(&self, app: &mut App) {
        let link = TwinLink::default();
        app.insert_resource(link.clone())
            .add_systems(PostUpdate, publish_view);
        if let Some(render_app) = app.get_sub_app_mut(RenderApp) {
            render_app
                .insert_resource(link)
                .insert_resource(TwinGpu::default())
                .add_systems(
                    Render,
                    draw_twin
                        .in_set(RenderSystems::Render)
                        .before(render_system),
                );
        }
    }
}

/// What the main world hands the render world, behind one mutex.
#[derive(Default)]
struct Shared {
    image: Option<AssetId<Image>>,
    size: (u32, u32),
    scene: Option<Arc<Scene>>,
    state: Vec<(u32, Vec<Rgba>)>,
    camera: OrbitCamera,
    selected: Option<AssetHandle>,
    visible: Vec<(LayerKind, bool)>,
    pick_request: Option<(u32, u32)>,
    pick_result: Option<Option<AssetHandle>>,
    frame: FrameStats,
    stats: RenderStats,
    error: Option<String>,
}

/// The link between the main world's [`TwinView`] and the render world, made by
/// [`TwinPlugin`]; pass it to [`TwinView::new`].
#[derive(Clone, Default, Resource)]
pub struct TwinLink(Arc<Mutex<Shared>>);

impl TwinLink {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        // A panic elsewhere while holding the lock leaves plain data behind: keep going.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The twin as the main world sees it: camera, selection, layers, and the image the
/// render world draws into.
#[derive(Resource)]
pub struct TwinView {
    shared: TwinLink,
    /// The image the twin is drawn into (sRGB RGBA8).
    pub image: Handle<Image>,
    /// The camera; change it freely, it is sent every frame.
    pub camera: OrbitCamera,
    /// The highlighted asset.
    pub selected: Option<AssetHandle>,
    visible: [bool; LayerKind::ALL.len()],
    size: (u32, u32),
}

impl TwinView {
    /// A view drawing `scene` into a new `width` × `height` image.
    pub fn new(
        images: &mut Assets<Image>,
        link: &TwinLink,
        scene: Scene,
        width: u32,
        height: u32,
    ) -> TwinView {
        let image = images.add(target_image(width, height));
        let camera = match scene.bounds {
            Some((lo, hi)) => OrbitCamera::top_down(lo, hi, width as f32 / height.max(1) as f32),
            None => OrbitCamera::default(),
        };
        let shared = link.clone();
        {
            let mut s = shared.lock();
            s.scene = Some(Arc::new(scene));
            s.image = Some(image.id());
            s.size = (width, height);
        }
        TwinView {
            shared,
            image,
            camera,
            selected: None,
            visible: LayerKind::ALL.map(LayerKind::visible_by_default),
            size: (width, height),
        }
    }

    /// Replaces the scene (after assets were added, removed or moved).
    pub fn set_scene(&mut self, scene: Scene) {
        self.shared.lock().scene = Some(Arc::new(scene));
    }

    /// Sends live colours: the handles in `ranges` take their colours from `colors`
    /// (indexed by handle, as an overlay's colours are).
    pub fn update_state(&mut self, colors: &[Rgba], ranges: &[std::ops::Range<u32>]) {
        let mut s = self.shared.lock();
        for r in ranges {
            let end = (r.end as usize).min(colors.len());
            let start = (r.start as usize).min(end);
            if start < end {
                s.state.push((start as u32, colors[start..end].to_vec()));
            }
        }
    }

    /// Sets one asset's live colour.
    pub fn set_state(&mut self, h: AssetHandle, c: Rgba) {
        self.shared.lock().state.push((h.0, vec![c]));
    }

    /// Shows or hides a layer.
    pub fn set_layer_visible(&mut self, l: LayerKind, visible: bool) {
        self.visible[l.index()] = visible;
    }

    /// Whether a layer is shown.
    pub fn layer_visible(&self, l: LayerKind) -> bool {
        self.visible[l.index()]
    }

    /// The image size in pixels.
    pub fn size(&self) -> (u32, u32) {
        self.size
    }

    /// Resizes the image (a new image; the old handle stops being drawn into).
    pub fn resize(&mut self, images: &mut Assets<Image>, width: u32, height: u32) {
        let (width, height) = (width.max(1), height.max(1));
        if (width, height) == self.size {
            return;
        }
        self.size = (width, height);
        self.image = images.add(target_image(width, height));
        let mut s = self.shared.lock();
        s.image = Some(self.image.id());
        s.size = (width, height);
    }

    /// Asks for the asset at pixel (x, y) of the image; the answer comes through
    /// [`TwinView::take_pick`] once the GPU has it.
    pub fn request_pick(&mut self, x: u32, y: u32) {
        let mut s = self.shared.lock();
        s.pick_request = Some((x, y));
        s.pick_result = None;
    }

    /// The answer to the last pick request, once: `Some(None)` means nothing is there.
    pub fn take_pick(&mut self) -> Option<Option<AssetHandle>> {
        self.shared.lock().pick_result.take()
    }

    /// What the last frame drew, and the renderer's counters.
    pub fn stats(&self) -> (FrameStats, RenderStats) {
        let s = self.shared.lock();
        (s.frame, s.stats)
    }

    /// The renderer's last error (no adapter, a scene too large), if any.
    pub fn error(&self) -> Option<String> {
        self.shared.lock().error.clone()
    }
}

fn target_image(width: u32, height: u32) -> Image {
    let mut image = Image::new_target_texture(
        width.max(1),
        height.max(1),
        TextureFormat::Rgba8UnormSrgb,
        None,
    );
    image.asset_usage = RenderAssetUsages::RENDER_WORLD;
    image
}

/// Main world, every frame: camera, selection and layers go to the shared state.
fn publish_view(view: Option<Res<TwinView>>) {
    let Some(view) = view else { return };
    let mut s = view.shared.lock();
    s.camera = view.camera;
    s.selected = view.selected;
    s.visible = LayerKind::ALL
        .iter()
        .map(|&l| (l, view.visible[l.index()]))
        .collect();
}

/// The render world's side: the renderer on bevy's device, its target, a pick in flight.
#[derive(Default, Resource)]
struct TwinGpu {
    renderer: Option<Renderer>,
    target: Option<Target>,
    /// A pick being mapped: 0 pending, 1 mapped, 2 failed.
    pick_mapped: Option<Arc<AtomicU8>>,
}

fn draw_twin(
    mut gpu: ResMut<TwinGpu>,
    link: Res<TwinLink>,
    device: Res<RenderDevice>,
    queue: Res<RenderQueue>,
    images: Res<RenderAssets<GpuImage>>,
) {
    let shared = link.clone();
    if shared.lock().image.is_none() {
        return; // no TwinView yet
    }
    let gpu = &mut *gpu;
    let wdevice: &wgpu::Device = device.wgpu_device();
    let wqueue: &wgpu::Queue = &queue.0;
    if gpu.renderer.is_none() {
        match Renderer::new(
            wdevice.clone(),
            wqueue.clone(),
            wgpu::TextureFormat::Rgba8UnormSrgb,
            4,
        ) {
            Ok(r) => gpu.renderer = Some(r),
            Err(e) => {
                shared.lock().error = Some(e.to_string());
                return;
            }
        }
    }
    let Some(renderer) = gpu.renderer.as_mut() else {
        return;
    };
    // A pick mapped last frame: read it.
    if let Some(flag) = &gpu.pick_mapped
        && flag.load(Ordering::Acquire) == 2
    {
        shared.lock().pick_result = Some(None);
        gpu.pick_mapped = None;
    }
    if let (Some(flag), Some(target)) = (&gpu.pick_mapped, &gpu.target)
        && flag.load(Ordering::Acquire) == 1
    {
        let v = {
            let bytes = target.pick_readback.slice(..).get_mapped_range();
            u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
        };
        target.pick_readback.unmap();
        shared.lock().pick_result = Some(v.checked_sub(1).map(AssetHandle));
        gpu.pick_mapped = None;
    }
    let mut s = shared.lock();
    if let Some(scene) = s.scene.take()
        && let Err(e) = renderer.set_scene(&scene)
    {
        s.error = Some(e.to_string());
    }
    for (start, colors) in s.state.drain(..) {
        renderer.set_state_run(start, &colors);
    }
    renderer.set_selected(s.selected);
    for &(l, v) in &s.visible {
        renderer.set_layer_visible(l, v);
    }
    let Some(image) = s.image.and_then(|id| images.get(id)) else {
        return;
    };
    let (w, h) = s.size;
    if gpu
        .target
        .as_ref()
        .is_none_or(|t| (t.width, t.height) != (w.max(1), h.max(1)))
    {
        if gpu.pick_mapped.is_some() {
            return; // the old target's readback is still mapped; resize next frame
        }
        gpu.target = Some(Target::new(
            wdevice,
            renderer.format(),
            renderer.samples(),
            w,
            h,
        ));
    }
    let Some(target) = gpu.target.as_ref() else {
        return;
    };
    let mut encoder = wdevice.create_command_encoder(&wgpu::CommandEncoderDescriptor {
        label: Some("twin"),
    });
    s.frame = renderer.draw(&mut encoder, target, Some(&image.texture_view), &s.camera);
    let mut picked = false;
    if gpu.pick_mapped.is_none()
        && let Some((x, y)) = s.pick_request.take()
    {
        picked = renderer.encode_pick(&mut encoder, target, &s.camera, x, y);
        if !picked {
            s.pick_result = Some(None);
        }
    }
    s.stats = renderer.stats();
    drop(s);
    wqueue.submit([encoder.finish()]);
    if picked {
        let flag = Arc::new(AtomicU8::new(0));
        let f = flag.clone();
        target
            .pick_readback
            .slice(..)
            .map_async(wgpu::MapMode::Read, move |r| {
                f.store(if r.is_ok() { 1 } else { 2 }, Ordering::Release);
            });
        gpu.pick_mapped = Some(flag);
    }
    let _ = wdevice.poll(wgpu::PollType::Poll);
}
