//! glTF read into its nodes, each with its name, `extras`, parent and triangles, by a
//! reader that refuses a corrupt file instead of panicking.
//!
//! Two users: twin-render draws a glTF standing for one asset (all nodes' triangles
//! together), and twin-bim makes each named node of a building model an element of
//! its own (IfcOpenShell's IfcConvert names nodes by IFC GlobalId). Positions stay in
//! glTF's axes (metres, +Y up, −Z forward) after each node's world transform; the
//! caller turns them into the twin's.
//!
//! Everything read from the file is bounds-checked before the `gltf` crate's readers
//! touch it (gltf 1.4.1 asserts some of these instead of returning errors: found by
//! fuzzing, fuzz/regressions/gltf/), any panic left in the parser becomes a
//! [`GltfError`], a node reached twice is refused (glTF's node trees are disjoint; a
//! shared node would be expanded once per path) and a file expands to at most
//! [`MAX_VERTICES`].
//!
//! Its own crate, not twin-core's: the engine keeps to GIS formats and builds for
//! wasm32 without a 3D-model parser (ARCHITECTURE.md's dependency rules).

use glam::{Mat4, Vec3};

/// Why a glTF could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GltfError {
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

/// One node of the default scene, as visited from its roots (a node used twice is
/// listed twice).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GltfNode {
    /// Its name, if it has one.
    pub name: Option<String>,
    /// Its `extras`, as JSON text, if it has any.
    pub extras: Option<String>,
    /// The index in the list of the node it is a child of.
    pub parent: Option<usize>,
    /// Its mesh's triangle vertices after the node's world transform (glTF axes).
    pub positions: Vec<[f32; 3]>,
    /// sRGB colour per vertex (its material's base colour).
    pub colors: Vec<[u8; 4]>,
    /// Triangles, three indices into `positions` each.
    pub indices: Vec<u32>,
}

/// How deep a node hierarchy may be (deeper is taken for a cycle).
const MAX_DEPTH: usize = 64;

/// The most vertices a file may expand to after its node transforms (64 M, 768 MB of
/// positions): a mesh used by many nodes is copied for each, so a small file can ask
/// for any number.
pub const MAX_VERTICES: usize = 64 << 20;

/// Reads a glTF (binary, or JSON with `external` buffers given in order for its
/// buffers that have a URI) into the nodes of its default scene (or first scene).
/// `Err(Empty)` when no node has a triangle.
pub fn read_gltf_nodes(
    bytes: &[u8],
    external: &[Vec<u8>],
    file: &str,
) -> Result<Vec<GltfNode>, GltfError> {
    std::panic::catch_unwind(|| read_unguarded(bytes, external, file)).unwrap_or_else(|_| {
        Err(GltfError::Format {
            file: file.to_string(),
            message: "the glTF reader gave up on this file (a malformed accessor)".into(),
        })
    })
}

fn read_unguarded(
    bytes: &[u8],
    external: &[Vec<u8>],
    file: &str,
) -> Result<Vec<GltfNode>, GltfError> {
    let g = read_validated(bytes, file)?;
    let bounds = |what: String| GltfError::Bounds {
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
    let scene = g
        .document
        .default_scene()
        .or_else(|| g.document.scenes().next());
    let Some(scene) = scene else {
        return Err(GltfError::Empty {
            file: file.to_string(),
        });
    };
    let mut nodes = Vec::new();
    // glTF's node hierarchy is a set of disjoint trees: a node reached twice (a child
    // of two parents, or a root listed twice) would be expanded once per path, 2^64
    // times for 64 levels of a few hundred bytes; it is refused.
    let mut walk = Walk {
        seen: vec![false; g.document.nodes().len()],
        vertices: 0,
    };
    for node in scene.nodes() {
        add_node(
            &mut nodes,
            &node,
            None,
            Mat4::IDENTITY,
            &data,
            0,
            file,
            &mut walk,
        )?;
    }
    if nodes.iter().all(|n| n.indices.is_empty()) {
        return Err(GltfError::Empty {
            file: file.to_string(),
        });
    }
    Ok(nodes)
}

#[allow(clippy::too_many_arguments)]
fn add_node(
    nodes: &mut Vec<GltfNode>,
    node: &gltf::Node,
    parent: Option<usize>,
    parent_m: Mat4,
    data: &[&[u8]],
    depth: usize,
    file: &str,
    walk: &mut Walk,
) -> Result<(), GltfError> {
    let bounds = |what: String| GltfError::Bounds {
        file: file.to_string(),
        what,
    };
    if depth > MAX_DEPTH {
        return Err(bounds(format!(
            "node hierarchy deeper than {MAX_DEPTH} (a cycle?)"
        )));
    }
    match walk.seen.get_mut(node.index()) {
        Some(s) if !*s => *s = true,
        _ => {
            return Err(bounds(format!(
                "node {} is in the scene's hierarchy twice (glTF nodes form disjoint trees)",
                node.index()
            )));
        }
    }
    let m = parent_m * Mat4::from_cols_array_2d(&node.transform().matrix());
    let mut out = GltfNode {
        name: node.name().map(str::to_string),
        extras: node.extras().as_ref().map(|e| e.get().to_string()),
        parent,
        ..GltfNode::default()
    };
    if let Some(mesh) = node.mesh() {
        for p in mesh.primitives() {
            if p.mode() != gltf::mesh::Mode::Triangles {
                continue;
            }
            let reader = p.reader(|b| data.get(b.index()).copied());
            let Some(pos) = reader.read_positions() else {
                continue;
            };
            walk.vertices = walk.vertices.saturating_add(reader_len(&p));
            if walk.vertices > MAX_VERTICES {
                return Err(bounds(format!(
                    "more than {MAX_VERTICES} vertices after the node transforms"
                )));
            }
            let base = out.positions.len() as u32;
            let n_before = out.positions.len();
            out.positions
                .extend(pos.map(|q| m.transform_point3(Vec3::from(q)).to_array()));
            let n = (out.positions.len() - n_before) as u32;
            let c = p.material().pbr_metallic_roughness().base_color_factor();
            let srgb = |x: f32| (linear_to_srgb(x.clamp(0.0, 1.0)) * 255.0).round() as u8;
            let color = [srgb(c[0]), srgb(c[1]), srgb(c[2]), 255];
            out.colors.extend(std::iter::repeat_n(color, n as usize));
            let idx: Vec<u32> = match reader.read_indices() {
                Some(i) => i.into_u32().collect(),
                None => (0..n).collect(),
            };
            if let Some(bad) = idx.iter().find(|&&i| i >= n) {
                return Err(GltfError::Bounds {
                    file: file.to_string(),
                    what: format!("mesh {} indexes vertex {bad} of {n}", mesh.index()),
                });
            }
            let whole = idx.len() / 3 * 3;
            out.indices.extend(idx[..whole].iter().map(|i| base + i));
        }
    }
    let me = nodes.len();
    nodes.push(out);
    for child in node.children() {
        add_node(nodes, &child, Some(me), m, data, depth + 1, file, walk)?;
    }
    Ok(())
}

/// What a walk of the node trees has seen: the nodes visited, the vertices taken.
struct Walk {
    seen: Vec<bool>,
    vertices: usize,
}

/// The vertex count a primitive's POSITION accessor declares (0 without one).
fn reader_len(p: &gltf::Primitive) -> usize {
    p.get(&gltf::Semantic::Positions).map_or(0, |a| a.count())
}

/// Parses and validates a glTF. gltf-json 1.4.1's validation indexes a primitive's
/// POSITION accessor without a bounds check and panics on files whose accessors are
/// missing; those references are checked here first, and any other panic inside the
/// parser becomes an error rather than taking the caller down.
fn read_validated(bytes: &[u8], file: &str) -> Result<gltf::Gltf, GltfError> {
    let format = |message: String| GltfError::Format {
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
