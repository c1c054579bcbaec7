//! The GPU side: a scene's buffers, the state texture, and drawing into a target.

use std::ops::Range;

use twin_core::Handle;
use twin_core::state::Rgba;
use wgpu::util::DeviceExt;

use crate::camera::OrbitCamera;
use crate::geometry::Instance;
use crate::palette::{BACKGROUND, LayerKind};
use crate::pipelines::{Globals, Pipelines};
use crate::scene::Scene;
use crate::state_texture::StateTexture;
use crate::{FrameStats, RenderError, RenderStats};

/// Marker shape: an upright diamond, radius 1, 3 tall, its foot at the origin.
const DIAMOND: [[f32; 3]; 6] = [
    [0.0, 0.0, 0.0],
    [1.0, 0.0, 1.5],
    [0.0, 1.0, 1.5],
    [-1.0, 0.0, 1.5],
    [0.0, -1.0, 1.5],
    [0.0, 0.0, 3.0],
];
const DIAMOND_INDICES: [u16; 24] = [
    0, 2, 1, 0, 3, 2, 0, 4, 3, 0, 1, 4, 5, 1, 2, 5, 2, 3, 5, 3, 4, 5, 4, 1,
];

/// Direction towards the sun: from the south-south-east, 55° above the horizon.
fn sun() -> [f32; 4] {
    let (az, el) = (150f32.to_radians(), 55f32.to_radians());
    [az.sin() * el.cos(), az.cos() * el.cos(), el.sin(), 0.35]
}

struct GpuChunk {
    vertices: wgpu::Buffer,
    indices: wgpu::Buffer,
    index_count: u32,
    lines: Option<(wgpu::Buffer, u32)>,
    see_through: bool,
}

/// Draws a [`Scene`] with live colours. One renderer serves any number of targets
/// (a window surface, an offscreen image, a canvas) of its colour format.
pub struct Renderer {
    device: wgpu::Device,
    queue: wgpu::Queue,
    format: wgpu::TextureFormat,
    samples: u32,
    pipelines: Pipelines,
    globals: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    state: StateTexture,
    layers: Vec<Vec<GpuChunk>>,
    markers: Option<(wgpu::Buffer, u32)>,
    diamond: (wgpu::Buffer, wgpu::Buffer),
    visible: [bool; LayerKind::ALL.len()],
    selected: Option<Handle>,
    /// Smallest marker radius, in pixels.
    pub marker_min_px: f32,
    /// Opacity of see-through layers (towns' choropleth, underground).
    pub overlay_opacity: f32,
    stats: RenderStats,
}

impl Renderer {
    /// A renderer drawing into targets of `format` with `samples` MSAA samples (1 or 4).
    pub fn new(
        device: wgpu::Device,
        queue: wgpu::Queue,
        format: wgpu::TextureFormat,
        samples: u32,
    ) -> Result<Renderer, RenderError> {
        let pipelines = Pipelines::new(&device, format, samples);
        let globals = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("twin globals"),
            size: std::mem::size_of::<Globals>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let state = StateTexture::new(&device, 1)?;
        let bind_group = bind(&device, &pipelines.layout, &globals, &state);
        let diamond = (
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("diamond"),
                contents: bytemuck::cast_slice(&DIAMOND),
                usage: wgpu::BufferUsages::VERTEX,
            }),
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("diamond indices"),
                contents: bytemuck::cast_slice(&DIAMOND_INDICES),
                usage: wgpu::BufferUsages::INDEX,
            }),
        );
        Ok(Renderer {
            visible: LayerKind::ALL.map(LayerKind::visible_by_default),
            device,
            queue,
            format,
            samples,
            pipelines,
            globals,
            bind_group,
            state,
            layers: Vec::new(),
            markers: None,
            diamond,
            selected: None,
            marker_min_px: 1.0,
            overlay_opacity: 0.6,
            stats: RenderStats::default(),
        })
    }

    /// The device.
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// The colour format targets must have.
    pub fn format(&self) -> wgpu::TextureFormat {
        self.format
    }

    /// MSAA samples of the colour pass.
    pub fn samples(&self) -> u32 {
        self.samples
    }

    /// Counters since the renderer was made.
    pub fn stats(&self) -> RenderStats {
        self.stats
    }

    /// Uploads a scene's meshes (replacing any previous scene) and makes a state
    /// texture for its handles, all transparent.
    pub fn set_scene(&mut self, scene: &Scene) -> Result<(), RenderError> {
        let max = self.device.limits().max_buffer_size;
        let mut layers = Vec::with_capacity(scene.layers.len());
        for chunks in &scene.layers {
            let mut gpu = Vec::with_capacity(chunks.len());
            for c in chunks {
                let bytes = (c.vertices.len() * std::mem::size_of::<crate::Vertex>()) as u64;
                if bytes > max || c.indices.len() as u64 * 4 > max {
                    return Err(RenderError::BufferTooLarge { bytes, max });
                }
                let vertices = self.buffer(
                    "vertices",
                    bytemuck::cast_slice(&c.vertices),
                    wgpu::BufferUsages::VERTEX,
                );
                let indices = self.buffer(
                    "indices",
                    bytemuck::cast_slice(&c.indices),
                    wgpu::BufferUsages::INDEX,
                );
                let lines = (!c.lines.is_empty()).then(|| {
                    let b = self.buffer(
                        "lines",
                        bytemuck::cast_slice(&c.lines),
                        wgpu::BufferUsages::INDEX,
                    );
                    (b, c.lines.len() as u32)
                });
                gpu.push(GpuChunk {
                    vertices,
                    indices,
                    index_count: c.indices.len() as u32,
                    lines,
                    see_through: c.see_through,
                });
                self.stats.mesh_uploads += 1;
            }
            layers.push(gpu);
        }
        self.layers = layers;
        self.markers = (!scene.markers.is_empty()).then(|| {
            let b = self.buffer(
                "markers",
                bytemuck::cast_slice::<Instance, u8>(&scene.markers),
                wgpu::BufferUsages::VERTEX,
            );
            (b, scene.markers.len() as u32)
        });
        if self.markers.is_some() {
            self.stats.mesh_uploads += 1;
        }
        self.state = StateTexture::new(&self.device, scene.handle_capacity.max(1))?;
        self.bind_group = bind(
            &self.device,
            &self.pipelines.layout,
            &self.globals,
            &self.state,
        );
        Ok(())
    }

    fn buffer(&self, label: &str, contents: &[u8], usage: wgpu::BufferUsages) -> wgpu::Buffer {
        // wgpu refuses empty initialised buffers' zero-size mapping on some backends: pad.
        let pad = [0u8; 4];
        let contents = if contents.is_empty() {
            &pad[..]
        } else {
            contents
        };
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents,
                usage,
            })
    }

    /// Takes live colours: the handles in `ranges` get their colour from `colors`
    /// (indexed by handle, e.g. [`twin_core::state::Overlay::colors`] with the ranges
    /// its refresh returned). Uploads happen at the next draw; no mesh is touched.
    pub fn update_state(&mut self, colors: &[Rgba], ranges: &[Range<u32>]) {
        self.state.set_ranges(colors, ranges);
    }

    /// Sets the live colours of the handles `start..start + colors.len()`.
    pub fn set_state_run(&mut self, start: u32, colors: &[Rgba]) {
        self.state.set_run(start, colors);
    }

    /// Sets every handle's live colour from a dense array.
    pub fn set_all_state(&mut self, colors: &[Rgba]) {
        let all = 0..colors.len() as u32;
        self.state.set_ranges(colors, std::slice::from_ref(&all));
    }

    /// Sets one asset's live colour ([`Rgba::NONE`] shows its base colour).
    pub fn set_state(&mut self, h: Handle, c: Rgba) {
        self.state.set(h.0, c);
    }

    /// The live colour held for an asset.
    pub fn state(&self, h: Handle) -> Option<Rgba> {
        self.state.get(h.0)
    }

    /// Uploads pending state rows now (draws do it too); returns the bytes written.
    pub fn flush_state(&mut self) -> u64 {
        let n = self.state.flush(&self.queue);
        if n > 0 {
            self.stats.state_uploads += 1;
            self.stats.state_bytes += n;
        }
        n
    }

    /// Highlights one asset (or none).
    pub fn set_selected(&mut self, h: Option<Handle>) {
        self.selected = h;
    }

    /// The highlighted asset.
    pub fn selected(&self) -> Option<Handle> {
        self.selected
    }

    /// Shows or hides a layer.
    pub fn set_layer_visible(&mut self, l: LayerKind, visible: bool) {
        self.visible[l.index()] = visible;
    }

    /// Whether a layer is shown.
    pub fn layer_visible(&self, l: LayerKind) -> bool {
        self.visible[l.index()]
    }

    fn write_globals(&self, camera: &OrbitCamera, width: u32, height: u32) {
        let aspect = width as f32 / height.max(1) as f32;
        let eye = camera.eye();
        let g = Globals {
            view_proj: camera.view_proj(aspect).to_cols_array_2d(),
            eye: [eye.x, eye.y, eye.z, 1.0],
            sun: sun(),
            params: [
                2.0 * (camera.fovy / 2.0).tan() / height.max(1) as f32,
                self.marker_min_px,
                self.overlay_opacity,
                if self.format.is_srgb() { 0.0 } else { 1.0 },
            ],
            selected: [self.selected.map_or(0, |h| h.0 + 1), 0, 0, 0],
        };
        self.queue
            .write_buffer(&self.globals, 0, bytemuck::bytes_of(&g));
    }

    /// Records a frame: clears `target`'s colour and depth and draws every visible layer.
    /// `resolve` is the view the image ends in when the target is multisampled (a
    /// surface texture or [`crate::Target`]'s own); the caller submits `encoder`.
    pub fn draw(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        target: &crate::Target,
        resolve: Option<&wgpu::TextureView>,
        camera: &OrbitCamera,
    ) -> FrameStats {
        self.flush_state();
        self.write_globals(camera, target.width, target.height);
        // The clear colour is linear for sRGB targets and stored as is otherwise.
        let srgb = self.format.is_srgb();
        let bg = BACKGROUND.map(|c| {
            let c = c as f64 / 255.0;
            if srgb { srgb_to_linear(c) } else { c }
        });
        let (view, resolve_target) = match (&target.msaa, resolve) {
            (Some(m), Some(r)) => (m, Some(r)),
            (Some(m), None) => (m, Some(&target.color_view)),
            (None, Some(r)) => (r, None),
            (None, None) => (&target.color_view, None),
        };
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("twin frame"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view,
                depth_slice: None,
                resolve_target,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color {
                        r: bg[0],
                        g: bg[1],
                        b: bg[2],
                        a: 1.0,
                    }),
                    store: wgpu::StoreOp::Store,
                },
            })],
            depth_stencil_attachment: Some(depth_attachment(&target.depth_view)),
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        let stats = self.record(&mut pass, false);
        self.stats.frames += 1;
        stats
    }

    /// Records the draws of every visible layer into a pass (colour or picking).
    fn record(&self, pass: &mut wgpu::RenderPass<'_>, picking: bool) -> FrameStats {
        let p = &self.pipelines;
        let mut stats = FrameStats::default();
        pass.set_bind_group(0, &self.bind_group, &[]);
        for layer in LayerKind::ALL {
            if !self.visible[layer.index()] {
                continue;
            }
            if layer == LayerKind::Markers {
                if let Some((instances, n)) = &self.markers {
                    pass.set_pipeline(if picking { &p.pick_markers } else { &p.markers });
                    pass.set_vertex_buffer(0, self.diamond.0.slice(..));
                    pass.set_vertex_buffer(1, instances.slice(..));
                    pass.set_index_buffer(self.diamond.1.slice(..), wgpu::IndexFormat::Uint16);
                    pass.draw_indexed(0..DIAMOND_INDICES.len() as u32, 0, 0..*n);
                    stats.draw_calls += 1;
                    stats.triangles += *n as u64 * 8;
                }
                continue;
            }
            let Some(chunks) = self.layers.get(layer.index()) else {
                continue;
            };
            let see_through = matches!(layer, LayerKind::Towns | LayerKind::Underground);
            if picking && see_through {
                continue;
            }
            let fill = match (picking, layer) {
                (true, _) => &p.pick_fill,
                (false, LayerKind::Towns) => &p.overlay,
                (false, LayerKind::Underground) => &p.xray,
                _ => &p.fill,
            };
            for c in chunks {
                // A see-through shell is not picked: a click goes to the room behind.
                if c.see_through && picking {
                    continue;
                }
                pass.set_vertex_buffer(0, c.vertices.slice(..));
                if c.index_count > 0 {
                    pass.set_pipeline(if c.see_through { &p.dither } else { fill });
                    pass.set_index_buffer(c.indices.slice(..), wgpu::IndexFormat::Uint32);
                    pass.draw_indexed(0..c.index_count, 0, 0..1);
                    stats.draw_calls += 1;
                    stats.triangles += c.index_count as u64 / 3;
                }
                if let (false, Some((lines, n))) = (picking, &c.lines) {
                    pass.set_pipeline(if layer == LayerKind::Buildings {
                        &p.edges
                    } else {
                        &p.lines
                    });
                    pass.set_index_buffer(lines.slice(..), wgpu::IndexFormat::Uint32);
                    pass.draw_indexed(0..*n, 0, 0..1);
                    stats.draw_calls += 1;
                }
            }
        }
        stats
    }

    /// Records the picking pass for pixel (`x`, `y`) of `target` into its pick texture
    /// and copies that one pixel into the target's readback buffer.
    pub fn encode_pick(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        target: &crate::Target,
        camera: &OrbitCamera,
        x: u32,
        y: u32,
    ) -> bool {
        self.encode_pick_to(encoder, target, camera, x, y, &target.pick_readback)
    }

    /// As [`Renderer::encode_pick`], copying the pixel into `readback` (256 bytes,
    /// `COPY_DST | MAP_READ`): picks in flight at once each need their own buffer
    /// (a browser maps them asynchronously).
    pub fn encode_pick_to(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        target: &crate::Target,
        camera: &OrbitCamera,
        x: u32,
        y: u32,
        readback: &wgpu::Buffer,
    ) -> bool {
        if x >= target.width || y >= target.height {
            return false;
        }
        self.flush_state();
        self.write_globals(camera, target.width, target.height);
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("twin pick"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &target.pick_view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: Some(depth_attachment(&target.pick_depth_view)),
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            // Only the one pixel is rasterised.
            pass.set_scissor_rect(x, y, 1, 1);
            self.record(&mut pass, true);
        }
        encoder.copy_texture_to_buffer(
            wgpu::TexelCopyTextureInfo {
                texture: &target.pick,
                mip_level: 0,
                origin: wgpu::Origin3d { x, y, z: 0 },
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::TexelCopyBufferInfo {
                buffer: readback,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(256),
                    rows_per_image: None,
                },
            },
            wgpu::Extent3d {
                width: 1,
                height: 1,
                depth_or_array_layers: 1,
            },
        );
        self.stats.picks += 1;
        true
    }
}

fn depth_attachment(view: &wgpu::TextureView) -> wgpu::RenderPassDepthStencilAttachment<'_> {
    wgpu::RenderPassDepthStencilAttachment {
        view,
        depth_ops: Some(wgpu::Operations {
            load: wgpu::LoadOp::Clear(0.0),
            store: wgpu::StoreOp::Store,
        }),
        stencil_ops: None,
    }
}

fn bind(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    globals: &wgpu::Buffer,
    state: &StateTexture,
) -> wgpu::BindGroup {
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("twin globals"),
        layout,
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: globals.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: wgpu::BindingResource::TextureView(state.view()),
            },
        ],
    })
}

/// sRGB to linear, for the clear colour (the shader does the same for vertex colours).
pub(crate) fn srgb_to_linear(c: f64) -> f64 {
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}
