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
//! Everything read from the file is bounds-checked before the `gltf` crate's readers
//! touch it: a corrupt model is refused with a [`ModelError`], never a panic.

use glam::{Mat4, Vec3};
use twin_core::crs::LocalFrame;

use crate::geometry::{Chunk, MeshBuilder, Vertex};

/// Why a model could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Not valid glTF.
    #[error("{file}: not a valid glTF: {message}")]
    Format {
        /// The file (or a caller's label).
        file: String,
        /// What the glTF parser said.
        message: String,
    },
    /// A buffer, view or accessor points outside its data.
    #[error("{file}: {what}")]
    Bounds {
        /// The file.
        file: String,
        /// Which object and what was wrong.
        what: String,
    },
    /// Nothing to draw.
    #[error("{file}: the default scene has no triangles")]
    Empty {
        /// The file.
        file: String,
    },
}

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
        // gltf 1.4.1's accessor reader asserts a view's stride against the element size
        // instead of returning an error (found by fuzzing, fuzz/regressions/gltf/): a
        // file that trips it is refused, not the end of the process.
        std::panic::catch_unwind(|| Model::from_gltf_unguarded(bytes, external, file))
            .unwrap_or_else(|_| {
                Err(ModelError::Format {
                    file: file.to_string(),
                    message: "the glTF reader gave up on this file (a malformed accessor)".into(),
                })
            })
    }

    fn from_gltf_unguarded(
        bytes: &[u8],
        external: &[Vec<u8>],
        file: &str,
    ) -> Result<Model, ModelError> {
        let g = read_validated(bytes, file)?;
        let bounds = |what: String| ModelError::Bounds {
            file: file.to_string(),
            what,
        };
        // Buffer data, each checked to be as long as the file says.
        let mut data: Vec<&[u8]> = Vec::new();
        let mut ext = external.iter();
        for b in g.document.buffers() {
            let d: &[u8] = match b.source() {
                gltf::buffer::Source::Bin => g.blob.as_deref().unwrap_or(&[]),
                gltf::buffer::Source::Uri(uri) => ext
                    .next()
                    .map(|v| v.as_slice())
                    .ok_or_else(|| bounds(format!("buffer {} ({uri}) was not given", b.index())))?,
            };
            if d.len() < b.length() {
                return Err(bounds(format!(
                    "buffer {} has {} bytes, declares {}",
                    b.index(),
                    d.len(),
                    b.length()
                )));
            }
            data.push(d);
        }
        for v in g.document.views() {
            let end = v.offset().checked_add(v.length());
            if end.is_none_or(|e| e > v.buffer().length()) {
                return Err(bounds(format!(
                    "buffer view {} runs past its buffer",
                    v.index()
                )));
            }
        }
        for a in g.document.accessors() {
            let Some(v) = a.view() else { continue };
            let stride = v.stride().unwrap_or(a.size());
            let need = a
                .count()
                .checked_sub(1)
                .map_or(Some(0), |n| {
                    n.checked_mul(stride).and_then(|x| x.checked_add(a.size()))
                })
                .and_then(|x| x.checked_add(a.offset()));
            if need.is_none_or(|n| n > v.length()) {
                return Err(bounds(format!("accessor {} runs past its view", a.index())));
            }
        }
        let mut model = Model::default();
        let scene = g
            .document
            .default_scene()
            .or_else(|| g.document.scenes().next());
        let Some(scene) = scene else {
            return Err(ModelError::Empty {
                file: file.to_string(),
            });
        };
        for node in scene.nodes() {
            model.add_node(&node, Mat4::IDENTITY, &data, 0, file)?;
        }
        if model.indices.is_empty() {
            return Err(ModelError::Empty {
                file: file.to_string(),
            });
        }
        Ok(model)
    }

    fn add_node(
        &mut self,
        node: &gltf::Node,
        parent: Mat4,
        data: &[&[u8]],
        depth: usize,
        file: &str,
    ) -> Result<(), ModelError> {
        if depth > 64 {
            return Err(ModelError::Bounds {
                file: file.to_string(),
                what: "node hierarchy deeper than 64 (a cycle?)".into(),
            });
        }
        let m = parent * Mat4::from_cols_array_2d(&node.transform().matrix());
        if let Some(mesh) = node.mesh() {
            for p in mesh.primitives() {
                if p.mode() != gltf::mesh::Mode::Triangles {
                    continue;
                }
                let reader = p.reader(|b| data.get(b.index()).copied());
                let Some(pos) = reader.read_positions() else {
                    continue;
                };
                let base = self.positions.len() as u32;
                let n_before = self.positions.len();
                self.positions
                    .extend(pos.map(|q| m.transform_point3(Vec3::from(q)).to_array()));
                let n = (self.positions.len() - n_before) as u32;
                let c = p.material().pbr_metallic_roughness().base_color_factor();
                let srgb = |x: f32| (linear_to_srgb(x.clamp(0.0, 1.0)) * 255.0).round() as u8;
                let color = [srgb(c[0]), srgb(c[1]), srgb(c[2]), 255];
                self.colors.extend(std::iter::repeat_n(color, n as usize));
                let idx: Vec<u32> = match reader.read_indices() {
                    Some(i) => i.into_u32().collect(),
                    None => (0..n).collect(),
                };
                if let Some(bad) = idx.iter().find(|&&i| i >= n) {
                    return Err(ModelError::Bounds {
                        file: file.to_string(),
                        what: format!("mesh {} indexes vertex {bad} of {n}", mesh.index()),
                    });
                }
                let whole = idx.len() / 3 * 3;
                self.indices.extend(idx[..whole].iter().map(|i| base + i));
            }
        }
        for child in node.children() {
            self.add_node(&child, m, data, depth + 1, file)?;
        }
        Ok(())
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

/// Parses and validates a glTF. gltf-json 1.4.1's validation indexes a primitive's
/// POSITION accessor without a bounds check and panics on files whose accessors are
/// missing; those references are checked here first, and any other panic inside the
/// parser becomes an error rather than taking the caller down.
fn read_validated(bytes: &[u8], file: &str) -> Result<gltf::Gltf, ModelError> {
    let format = |message: String| ModelError::Format {
        file: file.to_string(),
        message,
    };
    // gltf 1.4.1 subtracts the 12-byte header from a GLB's declared length unchecked
    // (an overflow panic in debug builds: found by fuzzing, fuzz/regressions/gltf/).
    if bytes.len() >= 12 && &bytes[..4] == b"glTF" {
        let length = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        if length < 12 {
            return Err(format(format!(
                "GLB header declares a length of {length} bytes, less than the header"
            )));
        }
    }
    let raw = std::panic::catch_unwind(|| gltf::Gltf::from_slice_without_validation(bytes))
        .map_err(|_| format("the glTF reader gave up on this file".into()))?
        .map_err(|e| format(e.to_string()))?;
    let json = raw.document.as_json();
    for (m, mesh) in json.meshes.iter().enumerate() {
        for (p, prim) in mesh.primitives.iter().enumerate() {
            let refs = prim
                .attributes
                .values()
                .map(|i| i.value())
                .chain(prim.indices.map(|i| i.value()));
            for a in refs {
                if a >= json.accessors.len() {
                    return Err(format(format!(
                        "mesh {m} primitive {p} uses accessor {a} of {}",
                        json.accessors.len()
                    )));
                }
            }
        }
    }
    let blob = raw.blob;
    let document =
        std::panic::catch_unwind(move || gltf::Document::from_json(raw.document.into_json()))
            .map_err(|_| format("the glTF parser failed on this file".into()))?
            .map_err(|e| format(e.to_string()))?;
    Ok(gltf::Gltf { document, blob })
}

fn linear_to_srgb(x: f32) -> f32 {
    if x <= 0.003_130_8 {
        x * 12.92
    } else {
        1.055 * x.powf(1.0 / 2.4) - 0.055
    }
}
