//! The per-asset state texture: one RGBA8 (sRGB) texel per handle, in rows of
//! [`STATE_WIDTH`], holding the live overlay colour the shader lays over each asset.
//!
//! A CPU mirror keeps the texture's content. An update writes the changed handles into
//! the mirror, marks their rows dirty, and uploads each run of consecutive dirty rows
//! with one `write_texture`: the cost follows the number of rows touched, never the
//! meshes, and is bounded by the texture's size (4 MiB for a million assets).

use std::ops::Range;

use twin_core::state::Rgba;

use crate::RenderError;

/// Texels per row. WebGL2 guarantees 2048 × 2048 textures, so one texture holds up to
/// 4,194,304 handles everywhere.
pub const STATE_WIDTH: u32 = 2048;

/// The state texture and its CPU mirror.
pub struct StateTexture {
    texture: wgpu::Texture,
    view: wgpu::TextureView,
    mirror: Vec<[u8; 4]>,
    rows: u32,
    dirty: Vec<bool>,
    /// Bytes uploaded since creation (all uploads).
    pub uploaded_bytes: u64,
}

impl StateTexture {
    /// A texture for `capacity` handles, all transparent (base colours show).
    pub fn new(device: &wgpu::Device, capacity: u32) -> Result<StateTexture, RenderError> {
        let rows = capacity.div_ceil(STATE_WIDTH).max(1);
        let max = device.limits().max_texture_dimension_2d;
        if rows > max {
            return Err(RenderError::TooManyAssets {
                handles: capacity,
                max: max as u64 * STATE_WIDTH as u64,
            });
        }
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("twin state"),
            size: wgpu::Extent3d {
                width: STATE_WIDTH,
                height: rows,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba8UnormSrgb,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        Ok(StateTexture {
            texture,
            view,
            mirror: vec![[0; 4]; (rows * STATE_WIDTH) as usize],
            rows,
            dirty: vec![true; rows as usize],
            uploaded_bytes: 0,
        })
    }

    /// The view the shader reads.
    pub fn view(&self) -> &wgpu::TextureView {
        &self.view
    }

    /// The colour held for a handle.
    pub fn get(&self, handle: u32) -> Option<Rgba> {
        self.mirror.get(handle as usize).map(|c| Rgba(*c))
    }

    /// Copies the colours of the given handle ranges from `colors` (indexed by handle,
    /// as [`twin_core::state::Overlay::colors`] is). Handles past either end are ignored.
    pub fn set_ranges(&mut self, colors: &[Rgba], ranges: &[Range<u32>]) {
        for r in ranges {
            let end = (r.end as usize).min(colors.len()).min(self.mirror.len());
            let start = (r.start as usize).min(end);
            if start == end {
                continue;
            }
            for (m, c) in self.mirror[start..end].iter_mut().zip(&colors[start..end]) {
                *m = c.0;
            }
            let (r0, r1) = (
                start / STATE_WIDTH as usize,
                (end - 1) / STATE_WIDTH as usize,
            );
            self.dirty[r0..=r1].iter_mut().for_each(|d| *d = true);
        }
    }

    /// Sets the colours of `colors.len()` handles from `start` (past the end ignored).
    pub fn set_run(&mut self, start: u32, colors: &[Rgba]) {
        let start = (start as usize).min(self.mirror.len());
        let end = (start + colors.len()).min(self.mirror.len());
        if start == end {
            return;
        }
        for (m, c) in self.mirror[start..end].iter_mut().zip(colors) {
            *m = c.0;
        }
        let (r0, r1) = (
            start / STATE_WIDTH as usize,
            (end - 1) / STATE_WIDTH as usize,
        );
        self.dirty[r0..=r1].iter_mut().for_each(|d| *d = true);
    }

    /// Sets one handle's colour.
    pub fn set(&mut self, handle: u32, c: Rgba) {
        if let Some(m) = self.mirror.get_mut(handle as usize) {
            *m = c.0;
            self.dirty[(handle / STATE_WIDTH) as usize] = true;
        }
    }

    /// Uploads the dirty rows; returns the bytes written.
    pub fn flush(&mut self, queue: &wgpu::Queue) -> u64 {
        let mut written = 0;
        let mut row = 0;
        while row < self.rows as usize {
            if !self.dirty[row] {
                row += 1;
                continue;
            }
            let start = row;
            while row < self.rows as usize && self.dirty[row] {
                self.dirty[row] = false;
                row += 1;
            }
            let texels = &self.mirror[start * STATE_WIDTH as usize..row * STATE_WIDTH as usize];
            queue.write_texture(
                wgpu::TexelCopyTextureInfo {
                    texture: &self.texture,
                    mip_level: 0,
                    origin: wgpu::Origin3d {
                        x: 0,
                        y: start as u32,
                        z: 0,
                    },
                    aspect: wgpu::TextureAspect::All,
                },
                bytemuck::cast_slice(texels),
                wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(STATE_WIDTH * 4),
                    rows_per_image: None,
                },
                wgpu::Extent3d {
                    width: STATE_WIDTH,
                    height: (row - start) as u32,
                    depth_or_array_layers: 1,
                },
            );
            written += (texels.len() * 4) as u64;
        }
        self.uploaded_bytes += written;
        written
    }
}
