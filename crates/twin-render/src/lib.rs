//! # twin-render: from assets to GPU-ready meshes
//!
//! The renderer draws a [`twin_core::Twin`] from one code path in a window, into a PNG
//! and in a web page. This first part is the CPU side every backend shares: it turns
//! asset footprints (WGS84 in twin-core) into triangle meshes in the twin's local
//! metric frame, as `f32` metres around the frame's origin so positions keep
//! centimetre precision across the islands, and it tags every vertex with its asset
//! [`twin_core::Handle`] so live state can later colour assets through a per-asset
//! state texture without rebuilding a mesh. The wgpu pipeline (wgpu 29, the version
//! bevy 0.19 uses) builds on these meshes.

pub mod mesh;
