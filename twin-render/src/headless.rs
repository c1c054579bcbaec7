//! Offscreen rendering without a window: any view of a twin to an RGBA image or a PNG.
//!
//! [`Headless::new`] asks wgpu for any adapter (here Mesa's lavapipe, Vulkan on the
//! CPU; `WGPU_BACKEND=vulkan|gl` chooses), renders into a [`Target`] and reads the
//! pixels back. Picking reads one pixel of the picking pass the same way.

use std::path::Path;

use twin_core::Handle;

use crate::camera::OrbitCamera;
use crate::renderer::Renderer;
use crate::scene::Scene;
use crate::{FrameStats, RenderError, Target};

/// The colour format of offscreen images.
pub const IMAGE_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8UnormSrgb;

/// An RGBA8 (sRGB) image, rows top to bottom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width × height` pixels, RGBA, row-major from the top-left.
    pub pixels: Vec<[u8; 4]>,
}

impl Image {
    /// The pixel at (x, y) from the top-left, if inside.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 4]> {
        (x < self.width && y < self.height).then(|| self.pixels[(y * self.width + x) as usize])
    }

    /// Writes the image as a PNG file.
    pub fn save_png(&self, path: &Path) -> Result<(), RenderError> {
        let buf = image::RgbaImage::from_raw(self.width, self.height, self.pixels.concat())
            .ok_or_else(|| RenderError::Image(format!("{}: bad pixel buffer", path.display())))?;
        buf.save_with_format(path, image::ImageFormat::Png)
            .map_err(|e| RenderError::Image(format!("{}: {e}", path.display())))
    }

    /// Reads a PNG file.
    pub fn load_png(path: &Path) -> Result<Image, RenderError> {
        let img = image::open(path)
            .map_err(|e| RenderError::Image(format!("{}: {e}", path.display())))?
            .to_rgba8();
        let (width, height) = img.dimensions();
        let pixels = img.pixels().map(|p| p.0).collect();
        Ok(Image {
            width,
            height,
            pixels,
        })
    }
}

/// A renderer with its own device and an offscreen target.
pub struct Headless {
    /// The renderer (scene, state, layers, selection).
    pub renderer: Renderer,
    target: Target,
    readback: wgpu::Buffer,
    adapter: wgpu::AdapterInfo,
}

impl Headless {
    /// A `width` × `height` offscreen renderer on the first adapter wgpu finds.
    pub fn new(width: u32, height: u32) -> Result<Headless, RenderError> {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        if std::env::var_os("WGPU_BACKEND").is_none() {
            desc.backends = wgpu::Backends::VULKAN | wgpu::Backends::GL;
        }
        let instance = wgpu::Instance::new(desc);
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: None,
        }))
        .map_err(|e| RenderError::NoAdapter(e.to_string()))?;
        let info = adapter.get_info();
        // Headless renders ask for what the adapter has: big scenes need big buffers.
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("twin headless"),
            required_features: wgpu::Features::empty(),
            required_limits: limits,
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| RenderError::NoAdapter(e.to_string()))?;
        let samples = if adapter
            .get_texture_format_features(IMAGE_FORMAT)
            .flags
            .sample_count_supported(4)
        {
            4
        } else {
            1
        };
        let renderer = Renderer::new(device, queue, IMAGE_FORMAT, samples)?;
        let target = Target::new(renderer.device(), IMAGE_FORMAT, samples, width, height);
        let readback = renderer.device().create_buffer(&wgpu::BufferDescriptor {
            label: Some("twin image readback"),
            size: padded_row(target.width) as u64 * target.height as u64,
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        Ok(Headless {
            renderer,
            target,
            readback,
            adapter: info,
        })
    }

    /// A renderer with `scene` uploaded.
    pub fn with_scene(width: u32, height: u32, scene: &Scene) -> Result<Headless, RenderError> {
        let mut h = Headless::new(width, height)?;
        h.renderer.set_scene(scene)?;
        Ok(h)
    }

    /// The adapter in use (lavapipe here: `llvmpipe`, device type Cpu).
    pub fn adapter(&self) -> &wgpu::AdapterInfo {
        &self.adapter
    }

    /// Image width.
    pub fn width(&self) -> u32 {
        self.target.width
    }

    /// Image height.
    pub fn height(&self) -> u32 {
        self.target.height
    }

    /// Renders a frame and reads it back.
    pub fn render(&mut self, camera: &OrbitCamera) -> Result<(Image, FrameStats), RenderError> {
        let device = self.renderer.device().clone();
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("twin frame"),
        });
        let stats = self.renderer.draw(&mut encoder, &self.target, None, camera);
        let row = padded_row(self.target.width);
        encoder.copy_texture_to_buffer(
            wgpu::TexelCopyTextureInfo {
                texture: &self.target.color,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::TexelCopyBufferInfo {
                buffer: &self.readback,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(row),
                    rows_per_image: None,
                },
            },
            wgpu::Extent3d {
                width: self.target.width,
                height: self.target.height,
                depth_or_array_layers: 1,
            },
        );
        self.renderer.queue().submit([encoder.finish()]);
        let bytes = read_buffer(&device, &self.readback)?;
        let (w, h) = (self.target.width as usize, self.target.height as usize);
        let mut pixels = Vec::with_capacity(w * h);
        for y in 0..h {
            let line = &bytes[y * row as usize..y * row as usize + w * 4];
            pixels.extend(line.chunks_exact(4).map(|p| [p[0], p[1], p[2], p[3]]));
        }
        Ok((
            Image {
                width: w as u32,
                height: h as u32,
                pixels,
            },
            stats,
        ))
    }

    /// The asset drawn at pixel (x, y) from the top-left, exactly as the last frame of
    /// this camera shows it (nearest surface; see-through layers are not pickable).
    pub fn pick(
        &mut self,
        camera: &OrbitCamera,
        x: u32,
        y: u32,
    ) -> Result<Option<Handle>, RenderError> {
        let device = self.renderer.device().clone();
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("twin pick"),
        });
        if !self
            .renderer
            .encode_pick(&mut encoder, &self.target, camera, x, y)
        {
            return Ok(None);
        }
        self.renderer.queue().submit([encoder.finish()]);
        let bytes = read_buffer(&device, &self.target.pick_readback)?;
        let v = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        Ok(v.checked_sub(1).map(Handle))
    }
}

/// Bytes per row of a readback, padded to wgpu's 256-byte copy alignment.
fn padded_row(width: u32) -> u32 {
    (width * 4).div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT) * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT
}

/// Maps a buffer after the last submission and copies it out.
fn read_buffer(device: &wgpu::Device, buffer: &wgpu::Buffer) -> Result<Vec<u8>, RenderError> {
    let slice = buffer.slice(..);
    let (tx, rx) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| RenderError::Gpu(e.to_string()))?;
    rx.recv()
        .map_err(|e| RenderError::Gpu(e.to_string()))?
        .map_err(|e| RenderError::Gpu(e.to_string()))?;
    let bytes = slice.get_mapped_range().to_vec();
    buffer.unmap();
    Ok(bytes)
}
