//! glTF models (BIM exports, stations, bridges) placed on the twin by a georeference.
//!
//! A [`Model`] is read from a binary glTF (`.glb`) or a `.gltf` with its buffers given
//! by the caller; its triangles are flattened through the default scene's node
//! transforms, each with its material's base colour. [`Model::place`] puts it on the
//! islands: glTF's axes (+Y up, +X right, −Z forward) become east, up and north, the
//! model turns clockwise by its heading, scales, and stands at a WGS84 point and base
//! height. Every vertex carries the handle of the asset the model represents, so live
//! state colours a model like any building.
//!
//! The file is read by twin-gltf's reader ([`twin_gltf::read_gltf_nodes`]),
//! which bounds-checks everything before the `gltf` crate's readers touch it: a
//! corrupt model is refused with a [`ModelError`], never a panic.

use twin_core::crs::LocalFrame;

use crate::geometry::{Chunk, MeshBuilder, Vertex};

/// Why a model could not be read (twin-core's hardened glTF reader's error).
pub use twin_gltf::GltfError as ModelError;

/// A model's triangles in its own axes (glTF: metres, +Y up), one colour per triangle
/// run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Model {
    /// Vertex positions after node transforms.
    pub positions: Vec<[f32; 3]>,
    /// sRGB colour per vertex (from its material's base colour).
    pub colors: Vec<[u8; 4]>,
    /// Triangle indices.
    pub indices: Vec<u32>,
}

/// Where and how a model stands on the islands.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placement {
    /// Longitude of the model's origin (WGS84 degrees).
    pub lon: f64,
    /// Latitude of the model's origin.
    pub lat: f64,
    /// Height of the model's origin (m, the twin's vertical reference).
    pub base: f64,
    /// Clockwise rotation from north of the model's forward (−Z) axis, degrees.
    pub heading_deg: f64,
    /// Uniform scale.
    pub scale: f64,
}

impl Model {
    /// Reads a binary glTF.
    pub fn from_glb(bytes: &[u8], file: &str) -> Result<Model, ModelError> {
        Model::from_gltf(bytes, &[], file)
    }

    /// Reads a glTF (binary, or JSON with `external` buffers given in order for its
    /// buffers that have a URI).
    pub fn from_gltf(bytes: &[u8], external: &[Vec<u8>], file: &str) -> Result<Model, ModelError> {
        let mut model = Model::default();
        for node in twin_gltf::read_gltf_nodes(bytes, external, file)? {
            let base = model.positions.len() as u32;
            model.positions.extend(node.positions);
            model.colors.extend(node.colors);
            model.indices.extend(node.indices.iter().map(|i| base + i));
        }
        Ok(model)
    }

    /// The model's vertices in the local frame, tagged with `handle`, as chunks for a
    /// scene layer ([`crate::LayerKind::Models`]).
    pub fn place(&self, p: &Placement, frame: &LocalFrame, handle: u32) -> Vec<Chunk> {
        let (e0, n0) = frame.to_local(p.lon, p.lat);
        let (s, c) = p.heading_deg.to_radians().sin_cos();
        let vertices: Vec<Vertex> = self
            .positions
            .iter()
            .zip(&self.colors)
            .map(|(q, &color)| {
                let (x, up, north) = (
                    q[0] as f64 * p.scale,
                    q[1] as f64 * p.scale,
                    -q[2] as f64 * p.scale,
                );
                let e = x * c + north * s;
                let n = -x * s + north * c;
                Vertex {
                    pos: [(e0 + e) as f32, (n0 + n) as f32, (p.base + up) as f32],
                    handle,
                    color,
                }
            })
            .collect();
        let mut b = MeshBuilder::new();
        b.triangles(&vertices, &self.indices);
        b.finish()
    }
}
