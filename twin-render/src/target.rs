//! Render targets: the textures a frame is drawn into and read back from.

use crate::pipelines::{DEPTH_FORMAT, PICK_FORMAT};

/// The textures of one viewport: colour (and its multisampled twin), depth, and the
/// picking texture with its one-pixel readback buffer. Recreate it when the viewport
/// is resized.
pub struct Target {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The single-sampled colour texture (the image read back by headless renders).
    pub color: wgpu::Texture,
    /// Its view.
    pub color_view: wgpu::TextureView,
    /// The multisampled colour view, when the renderer uses MSAA.
    pub msaa: Option<wgpu::TextureView>,
    /// Depth of the colour pass.
    pub depth_view: wgpu::TextureView,
    /// Handle + 1 per pixel, written by the picking pass.
    pub pick: wgpu::Texture,
    /// Its view.
    pub pick_view: wgpu::TextureView,
    /// Depth of the picking pass.
    pub pick_depth_view: wgpu::TextureView,
    /// Where the picked pixel is copied to be read.
    pub pick_readback: wgpu::Buffer,
}

impl Target {
    /// Textures for a `width` × `height` viewport of `format` with `samples` MSAA samples.
    pub fn new(
        device: &wgpu::Device,
        format: wgpu::TextureFormat,
        samples: u32,
        width: u32,
        height: u32,
    ) -> Target {
        let (width, height) = (width.max(1), height.max(1));
        let tex = |label, format, samples, usage| {
            device.create_texture(&wgpu::TextureDescriptor {
                label: Some(label),
                size: wgpu::Extent3d {
                    width,
                    height,
                    depth_or_array_layers: 1,
                },
                mip_level_count: 1,
                sample_count: samples,
                dimension: wgpu::TextureDimension::D2,
                format,
                usage,
                view_formats: &[],
            })
        };
        let view = |t: &wgpu::Texture| t.create_view(&wgpu::TextureViewDescriptor::default());
        let attach = wgpu::TextureUsages::RENDER_ATTACHMENT;
        let color = tex(
            "twin colour",
            format,
            1,
            attach | wgpu::TextureUsages::COPY_SRC,
        );
        let msaa = (samples > 1).then(|| view(&tex("twin msaa", format, samples, attach)));
        let depth = tex("twin depth", DEPTH_FORMAT, samples, attach);
        let pick = tex(
            "twin pick",
            PICK_FORMAT,
            1,
            attach | wgpu::TextureUsages::COPY_SRC,
        );
        let pick_depth = tex("twin pick depth", DEPTH_FORMAT, 1, attach);
        let pick_readback = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("twin pick readback"),
            size: 256,
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        Target {
            width,
            height,
            color_view: view(&color),
            color,
            msaa,
            depth_view: view(&depth),
            pick_view: view(&pick),
            pick,
            pick_depth_view: view(&pick_depth),
            pick_readback,
        }
    }
}
