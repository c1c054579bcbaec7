//! Building models as twin assets: "GIS + BIM + IoT" down to the room and the door.
//!
//! An IFC file (IFC2X3, IFC4, IFC4X1–IFC4X3) becomes one [`Asset`] per product: the
//! site, the building, each storey and space, each wall, slab, door, window and piece
//! of equipment. Its **GlobalId is its twin id**, its IFC class gives its kind (an
//! `IfcBuilding` is a [`AssetKind::Building`], anything else `custom:ifc_<class>`,
//! e.g. `custom:ifc_door`), its name is its English name, and its property sets are
//! its properties as `Pset.Property` (numbers and booleans typed; the exact class in
//! `ifc_class`). `part_of` names the spatial structure it is contained in (a door its
//! storey, a space its storey, a storey its building), so a room's alert can roll up
//! to its building.
//!
//! Geometry comes from ifc-lite (`ifc-lite-processing`, MPL-2.0, used unmodified):
//! each element's triangles, placed on the earth, are its [`Surfaces`] (drawn by
//! twin-render as a CityJSON building's are), their convex hull seen from above its
//! footprint in the R-tree, and their lowest and highest points its
//! [`Vertical`] extent.
//!
//! **Placement** ([`place`]), first that applies:
//! 1. where the user says with [`Place`] (`--place LON,LAT[,HEADING[,BASE]]`);
//! 2. the file's IfcMapConversion (IFC4 and later; IfcMapConversionScaled too) into
//!    its IfcProjectedCRS, when twin knows that CRS by its name (`EPSG:4549`,
//!    `urn:ogc:def:crs:EPSG::4549`) or the user names it ([`ReadOptions::crs`],
//!    `--crs`) — model point → map point as IfcOpenShell's `xyz2enh` computes it,
//!    then the CRS's own projection to WGS84;
//! 3. the IfcSite's reference latitude, longitude and elevation, turned by the model
//!    context's TrueNorth (ifc-lite leaves TrueNorth out of its site georeference, so
//!    it is read here).
//!
//! IFC2X3 has no IfcMapConversion: the project's `ePSet_MapConversion` and
//! `ePSet_ProjectedCRS` (buildingSMART's georeferencing guide) stand in for it.
//!
//! A model with none is refused with the hint; so is a map conversion into a CRS
//! twin cannot name when the site has no reference point either.
//!
//! **Rooms are live** ([`sensors`]): [`room_sensors`] gives every IfcSpace a
//! thermometer, a CO₂ sensor and an occupancy counter attached to it (the `twin`
//! command adds them to every model it loads), which the simulator drives and real
//! readings can replace.
//!
//! **glTF** ([`gltf`]): a `.glb` (or `.gltf` with its buffers beside it) with a node
//! hierarchy reads the same way — each named node an element, its id from `extras`
//! or its name (IfcConvert's files keep the GlobalIds), its IFC class from `extras`
//! when it has one, `part_of` its nearest named ancestor — placed by [`Place`] only,
//! since glTF says nothing of where it stands. [`read_model`] picks the reader by the
//! file's extension.
//!
//! **Storeys** have no geometry in IFC; each spatial element without a shell gets
//! the extent of its parts (a footprint and the height its rooms start at), so a
//! point finds its storey and storeys can be ordered for storey isolation.
//!
//! **Bad models** are refused before ifc-lite sees them ([`check`]): a file that is
//! not STEP, is truncated, names a schema twin does not read, defines an entity
//! twice or refers to one that is not there — ifc-lite itself returns what it could
//! read of such a file without an error — and after it when ifc-lite's scan reports
//! that it dropped a record. Panics inside ifc-lite are caught and reported; nothing
//! is loaded from a refused model.
//!
//! [`Asset`]: twin_core::Asset
//! [`AssetKind::Building`]: twin_core::AssetKind::Building
//! [`Surfaces`]: twin_core::Surfaces
//! [`Vertical`]: twin_core::Vertical

pub mod add;
pub mod check;
mod extent;
pub mod gltf;
pub mod ifc;
pub mod place;
mod psets;
mod reports;
pub mod sensors;
mod step;

pub use add::{Added, Standing, add_bytes_to_twin, add_to_twin, with_room_sensors};
pub use place::{MapConversion, Place, PlacedBy, Placement};
pub use sensors::room_sensors;

/// How to read a model: where to put it when the file does not say (or to override
/// it), and the CRS of its IfcMapConversion when the file leaves it unnamed.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// `--place`: wins over anything the file says.
    pub place: Option<Place>,
    /// `--crs`: the CRS of the file's IfcMapConversion when its IfcProjectedCRS has no
    /// name twin knows (an empty name, or a description). A name twin knows wins.
    pub crs: Option<twin_core::crs::Crs>,
    /// With `place`: the middle of the model's elements (their box seen from above,
    /// the site's terrain left out) stands at the place, not the model's origin (for a
    /// model put on a plot, whose origin may be anywhere).
    pub centred: bool,
}

/// A model read into assets.
#[derive(Debug)]
pub struct Model {
    /// One per product, in file order (each `Ok`; a per-element error is reserved for
    /// elements the reader cannot convert).
    pub assets: twin_core::load::ReadResult,
    /// The file's schema.
    pub schema: String,
    /// Where the placement came from.
    pub placed_by: PlacedBy,
    /// Model coordinates to WGS84, as the assets were placed (for points given in
    /// model coordinates: a sensor's position in a room).
    pub placement: Placement,
}

/// Why a model was not read.
#[derive(Debug, thiserror::Error)]
pub enum BimError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The file.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The model is broken or cannot be placed.
    #[error("{file}: {message}")]
    Model {
        /// The file.
        file: String,
        /// What is wrong (naming the entity where there is one).
        message: String,
    },
}

/// The largest IFC file read (bytes).
pub const MAX_FILE_BYTES: u64 = 2 << 30;

/// Reads an IFC file into assets, placed by the file or by `options.place` (which wins).
pub fn read_ifc(path: &std::path::Path, options: &ReadOptions) -> Result<Model, BimError> {
    let file = path.display().to_string();
    let io = |source| BimError::Io {
        file: file.clone(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX_FILE_BYTES {
        return Err(BimError::Model {
            file,
            message: format!("{len} bytes: larger than the {MAX_FILE_BYTES} twin reads"),
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    read_ifc_bytes(&bytes, &file, options)
}

/// Whether twin-bim reads `path` as a building model: `.ifc`, `.glb` or `.gltf`.
pub fn is_model(path: &std::path::Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        ["ifc", "glb", "gltf"]
            .iter()
            .any(|m| e.eq_ignore_ascii_case(m))
    })
}

/// Reads a building model: IFC, or a glTF's node hierarchy (`.glb`, or `.gltf` with its
/// buffers in files beside it), as [`read_model_bytes`] reads the file's bytes.
pub fn read_model(path: &std::path::Path, options: &ReadOptions) -> Result<Model, BimError> {
    let file = path.display().to_string();
    let io = |source| BimError::Io {
        file: file.clone(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX_FILE_BYTES {
        return Err(BimError::Model {
            file,
            message: format!("{len} bytes: larger than the {MAX_FILE_BYTES} twin reads"),
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let gltf_json = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("glb") || e.eq_ignore_ascii_case("gltf"))
        && !bytes.starts_with(b"glTF");
    if gltf_json {
        // Only a file has neighbours: its buffers are read from beside it.
        let external = external_buffers(&bytes, path)?;
        return gltf::read_gltf_bytes(&bytes, &external, &file, options);
    }
    read_model_bytes(&bytes, &file, options)
}

/// Reads a building model from bytes, as a web page or a server hands them: a `.glb`
/// (the bytes start with `glTF`), a `.gltf` whose buffers are all inside the file
/// (none, since `data:` URIs are not read), or IFC. `file` names the model in errors
/// and in each asset's source; only its extension is looked at.
pub fn read_model_bytes(
    bytes: &[u8],
    file: &str,
    options: &ReadOptions,
) -> Result<Model, BimError> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(BimError::Model {
            file: file.to_string(),
            message: format!(
                "{} bytes: larger than the {MAX_FILE_BYTES} twin reads",
                bytes.len()
            ),
        });
    }
    let gltf_json = std::path::Path::new(file)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("gltf"));
    if bytes.starts_with(b"glTF") {
        return gltf::read_gltf_bytes(bytes, &[], file, options);
    }
    if gltf_json {
        let doc: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| BimError::Model {
                file: file.to_string(),
                message: format!("not a valid glTF: {e}"),
            })?;
        if doc["buffers"].as_array().is_some_and(|b| !b.is_empty()) {
            return Err(BimError::Model {
                file: file.to_string(),
                message: "its buffers are in other files, which twin cannot open from here: convert it to .glb".into(),
            });
        }
        return gltf::read_gltf_bytes(bytes, &[], file, options);
    }
    read_ifc_bytes(bytes, file, options)
}

/// The buffers a `.gltf` names by URI, read from beside it, in order. A `data:` URI is
/// not read (a `.glb` holds its buffer itself).
fn external_buffers(json: &[u8], path: &std::path::Path) -> Result<Vec<Vec<u8>>, BimError> {
    let file = path.display().to_string();
    let bad = |message: String| BimError::Model {
        file: file.clone(),
        message,
    };
    let doc: serde_json::Value =
        serde_json::from_slice(json).map_err(|e| bad(format!("not a valid glTF: {e}")))?;
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let mut out = Vec::new();
    for b in doc["buffers"].as_array().into_iter().flatten() {
        let Some(uri) = b["uri"].as_str() else {
            continue;
        };
        if uri.starts_with("data:") {
            return Err(bad(
                "a buffer is a data: URI, which twin does not read: convert the file to .glb"
                    .into(),
            ));
        }
        // A relative reference beside the file (glTF's own rule); an absolute path or
        // one climbing out of the file's folder is refused. Percent-escapes are not
        // decoded: such a name is looked up as written.
        let rel = std::path::Path::new(uri);
        if rel.is_absolute()
            || rel
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(bad(format!(
                "buffer `{uri}` is not a file beside the .gltf"
            )));
        }
        let at = dir.join(rel);
        let io = |source| BimError::Io {
            file: at.display().to_string(),
            source,
        };
        let len = std::fs::metadata(&at).map_err(io)?.len();
        if len > MAX_FILE_BYTES {
            return Err(bad(format!(
                "buffer `{uri}` has {len} bytes: larger than the {MAX_FILE_BYTES} twin reads"
            )));
        }
        out.push(std::fs::read(&at).map_err(io)?);
    }
    Ok(out)
}

/// Reads IFC bytes into assets; `file` names them in errors and in each asset's source.
pub fn read_ifc_bytes(bytes: &[u8], file: &str, options: &ReadOptions) -> Result<Model, BimError> {
    let checked = check::check(bytes).map_err(|message| BimError::Model {
        file: file.to_string(),
        message,
    })?;
    ifc::convert(bytes, file, &checked.schema, options)
}
