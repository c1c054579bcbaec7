//! # twin-render: the live island, drawn with wgpu
//!
//! twin-render draws a [`twin_core::Twin`] and its live state from one code path into
//! a window surface, an offscreen image (PNG) or a web canvas. It uses wgpu 29, the
//! version bevy 0.19 uses, so the desktop viewer and this crate share one wgpu.
//!
//! ## Model
//! - A [`Scene`] is built once from the twin on the CPU: every asset, in its local-frame
//!   geometry (east, north, up in metres around the frame origin, as `f32`, which keeps
//!   millimetre precision over the 80 km of the islands), goes into one of a few
//!   [`LayerKind`]s — land, areas, water, roads, buildings (extruded prisms with their
//!   edges), models (glTF), markers (instanced diamonds for sensors and stations), town
//!   fills and borders, underground. Every vertex and every marker instance carries its
//!   asset [`twin_core::Handle`].
//! - The [`Renderer`] uploads a scene as a few large buffers per layer ([`CHUNK_VERTICES`]
//!   per chunk): draw calls grow with layers, not with assets.
//! - **Live state never re-meshes.** A per-asset *state texture* (RGBA8, one texel per
//!   handle, 2048 per row: it works on WebGL2, which has no storage buffers) holds the
//!   overlay colour of every asset; the vertex shader reads it by handle and lays it over
//!   the base colour by its alpha. [`Renderer::update_state`] takes the dense colours and
//!   changed ranges of a [`twin_core::state::Overlay`] refresh and uploads only the rows
//!   they touch. Selection is a uniform, so highlighting is free too.
//! - Shading: a sun from the south-south-east at 55° plus ambient light, flat per face
//!   (normals from screen-space derivatives, so prisms share vertices), building edges as
//!   darkened lines, water distinct from land, the estuary as the background.
//! - [`OrbitCamera`]: orbit, pan, zoom, tilt, fit to a box (fly to an asset or a town);
//!   reversed-Z infinite projection for depth precision from street to district.
//! - Picking is exact: a picking pass writes handle + 1 per pixel into an `R32Uint`
//!   texture, rasterising only the pixel asked for, and reads it back.
//! - [`Headless`] renders without a window (Mesa's lavapipe here) to an [`Image`]/PNG.
//!
//! All shaders live in one WGSL module ([`SHADER`]), validated by naga in the
//! tests.

mod camera;
pub mod cut;
mod geometry;
#[cfg(not(target_arch = "wasm32"))]
mod headless;
mod hosts;
mod model;
mod palette;
mod pipelines;
mod renderer;
pub mod scene;
mod state_texture;
mod target;

pub use camera::OrbitCamera;
pub use geometry::{CHUNK_VERTICES, Chunk, Instance, MeshBuilder, Vertex};
#[cfg(not(target_arch = "wasm32"))]
pub use headless::{Headless, Image};
pub use hosts::HostColors;
pub use model::{Model, ModelError, Placement};
pub use palette::LayerKind;
pub use pipelines::SHADER;
pub use renderer::Renderer;
pub use scene::Scene;
pub use state_texture::STATE_WIDTH;
pub use target::Target;

/// Why rendering could not go on.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// No GPU adapter (or device) could be had.
    #[error("no graphics adapter: {0} (install mesa-vulkan-drivers for lavapipe)")]
    NoAdapter(String),
    /// The twin has more handles than one state texture holds on this device.
    #[error("{handles} asset handles exceed the state texture's {max} on this device")]
    TooManyAssets {
        /// Handles asked for.
        handles: u32,
        /// Handles the texture can hold.
        max: u64,
    },
    /// A chunk is larger than the device's largest buffer.
    #[error("a {bytes}-byte buffer exceeds the device's {max}-byte limit")]
    BufferTooLarge {
        /// Bytes asked for.
        bytes: u64,
        /// The device's limit.
        max: u64,
    },
    /// Mapping or waiting on the GPU failed.
    #[error("GPU: {0}")]
    Gpu(String),
    /// Writing or reading an image failed.
    #[error("image: {0}")]
    Image(String),
}

/// What one frame drew.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameStats {
    /// Draw calls issued.
    pub draw_calls: u32,
    /// Triangles submitted.
    pub triangles: u64,
}

/// Counters over a renderer's life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenderStats {
    /// Mesh buffers uploaded (chunks and marker buffers): changes only with the scene.
    pub mesh_uploads: u64,
    /// State-texture uploads (flushes that wrote something).
    pub state_uploads: u64,
    /// Bytes of state texture uploaded.
    pub state_bytes: u64,
    /// Frames drawn.
    pub frames: u64,
    /// Picking passes.
    pub picks: u64,
}
