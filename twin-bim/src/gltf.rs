//! Building models as glTF: each named node of the node hierarchy an element.
//!
//! A glTF says nothing of where it stands, so it is placed as `--place` says (a point,
//! or `@ID` on a plot of the twin). Its axes (metres, +Y up, −Z forward) become the
//! model's x = east, y = north (−Z) and z = up before placing, as twin-render places a
//! glTF standing for one asset.
//!
//! - **Elements**: each node with a name is an asset, with the triangles of its own
//!   mesh and of its unnamed descendants' meshes; an unnamed node with triangles and
//!   no named ancestor is an element of its own (`<file stem>-node-<n>`).
//! - **Ids**: a string `GlobalId`, `globalId`, `guid` or `id` in the node's `extras`,
//!   else its name (IfcOpenShell's IfcConvert names nodes by GlobalId, so such files
//!   keep the IFC ids). A name several nodes share becomes `<name>#1`, `<name>#2`, …
//!   in file order (ids must be unique); the name stays the asset's name.
//! - **Kinds**: an IFC class in `extras` (`ifc_class`, `IfcClass`, `class` or `type`,
//!   starting with `Ifc`) as for IFC files; else `extras.kind` as a data file names
//!   kinds; else `custom:gltf_node`. The other scalar `extras` become properties.
//! - **Hierarchy**: `part_of` is the nearest named ancestor, so a glTF with a node per
//!   storey holding its rooms reads as storeys and rooms.

use std::collections::HashMap;
use std::sync::Arc;

use twin_core::{Asset, AssetKind, PropValue, Properties, Source, Surfaces};
use twin_gltf::GltfNode;

use crate::place::{PlacedBy, Placement};
use crate::{BimError, Model, ReadOptions};

/// Reads glTF bytes (binary; or JSON with `external` buffers in order) into elements
/// placed by `options.place`; `file` names them in errors and in each asset's source.
pub fn read_gltf_bytes(
    bytes: &[u8],
    external: &[Vec<u8>],
    file: &str,
    options: &ReadOptions,
) -> Result<Model, BimError> {
    let bad = |message: String| BimError::Model {
        file: file.to_string(),
        message,
    };
    let nodes = twin_gltf::read_gltf_nodes(bytes, external, file).map_err(|e| {
        bad(e
            .to_string()
            .trim_start_matches(&format!("{file}: "))
            .to_string())
    })?;
    let Some(place) = options.place else {
        return Err(bad(
            "a glTF does not say where it stands: give --place LON,LAT[,HEADING[,BASE]] or --place @ID"
                .into(),
        ));
    };
    // glTF axes to the model's: east, north, up.
    let model_xyz = |q: [f32; 3]| [f64::from(q[0]), -f64::from(q[2]), f64::from(q[1])];
    let origin = if options.centred {
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for q in nodes.iter().flat_map(|n| n.positions.iter()) {
            let p = model_xyz(*q);
            for i in 0..3 {
                lo[i] = lo[i].min(p[i]);
                hi[i] = hi[i].max(p[i]);
            }
        }
        [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0, lo[2]]
    } else {
        [0.0; 3]
    };
    let placement = Placement::new(&place, origin, PlacedBy::Given);

    let stem = std::path::Path::new(file)
        .file_stem()
        .map_or_else(|| "gltf".to_string(), |s| s.to_string_lossy().into_owned());
    // The element each node's triangles belong to: itself when named, else its
    // nearest named ancestor, else itself when it has triangles.
    let mut owner: Vec<Option<usize>> = Vec::with_capacity(nodes.len());
    for (i, n) in nodes.iter().enumerate() {
        let o = if n.name.as_deref().is_some_and(|s| !s.trim().is_empty()) {
            Some(i)
        } else {
            n.parent
                .and_then(|p| owner[p])
                .or((!n.indices.is_empty()).then_some(i))
        };
        owner.push(o);
    }
    let ids = element_ids(&nodes, &owner, &stem);
    let source_file: Arc<str> = Arc::from(file);
    let mut shells: HashMap<usize, Surfaces> = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        let Some(o) = owner[i] else { continue };
        let s = shells.entry(o).or_default();
        let first = s.vertices.len() as u32;
        for q in &n.positions {
            let w = placement.to_wgs84(model_xyz(*q)).map_err(&bad)?;
            if !w.iter().all(|c| c.is_finite()) {
                return Err(bad(format!(
                    "node {i}: its geometry has a coordinate that is not a finite number"
                )));
            }
            s.vertices.push(w);
        }
        for t in n.indices.chunks_exact(3) {
            let tri = [first + t[0], first + t[1], first + t[2]];
            s.triangles.push(tri);
            s.roles.push(crate::ifc::role(&s.vertices, tri));
        }
    }
    let mut assets = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        if owner[i] != Some(i) {
            continue;
        }
        let extras = extras_of(n);
        let class = ["ifc_class", "IfcClass", "class", "type"]
            .iter()
            .find_map(|k| extras.get(*k).and_then(|v| v.as_str()))
            .filter(|c| {
                c.len() > 3
                    && c.as_bytes()
                        .get(..3)
                        .is_some_and(|p| p.eq_ignore_ascii_case(b"ifc"))
            })
            .map(crate::ifc::class_name);
        let kind = match (&class, extras.get("kind").and_then(|k| k.as_str())) {
            (Some(c), _) => crate::ifc::kind_of_class(c),
            (None, Some(k)) => AssetKind::from_data_name(k),
            (None, None) => AssetKind::Custom("gltf_node".into()),
        };
        let mut a = Asset::new(
            ids[i].clone(),
            kind,
            geo::Geometry::Point(geo::Point::new(0.0, 0.0)),
        );
        a.name_en = n.name.clone().filter(|s| !s.trim().is_empty());
        a.source = Source {
            file: source_file.clone(),
            feature: i,
        };
        let mut props = Properties::new();
        if let Some(c) = class {
            props.insert("ifc_class".into(), PropValue::Str(c));
        }
        props.insert("gltf_node".into(), PropValue::Num(i as f64));
        for (k, v) in &extras {
            let value = match v {
                serde_json::Value::String(s) => PropValue::Str(s.clone()),
                serde_json::Value::Number(x) => match x.as_f64() {
                    Some(f) => PropValue::Num(f),
                    None => continue,
                },
                serde_json::Value::Bool(b) => PropValue::Bool(*b),
                _ => continue,
            };
            if props.get(k).is_none() {
                props.insert(k.clone(), value);
            }
        }
        a.properties = props;
        a.part_of = n
            .parent
            .and_then(|p| owner[p])
            .filter(|o| *o != i)
            .map(|o| ids[o].clone());
        let shell = shells.remove(&i).unwrap_or_default();
        let (geometry, vertical) = crate::ifc::footprint(&shell, &placement)
            .map_err(|e| bad(format!("{}: {e}", ids[i])))?;
        a.geometry = geometry;
        a.vertical = vertical;
        a.surfaces = Some(Arc::new(shell));
        assets.push(a);
    }
    crate::extent::of_wholes(&mut assets);
    Ok(Model {
        assets: assets.into_iter().map(Ok).collect(),
        schema: "glTF".into(),
        placed_by: placement.by.clone(),
        placement,
    })
}

/// A node's `extras` as a JSON object (empty when it has none or they are not one).
fn extras_of(n: &GltfNode) -> serde_json::Map<String, serde_json::Value> {
    n.extras
        .as_deref()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
        .and_then(|v| match v {
            serde_json::Value::Object(m) => Some(m),
            _ => None,
        })
        .unwrap_or_default()
}

/// Each element's id (indexed by node; empty for nodes that are not elements).
fn element_ids(nodes: &[GltfNode], owner: &[Option<usize>], stem: &str) -> Vec<String> {
    let mut ids = vec![String::new(); nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        if owner[i] != Some(i) {
            continue;
        }
        let extras = extras_of(n);
        let from_extras = ["GlobalId", "globalId", "guid", "id"]
            .iter()
            .find_map(|k| extras.get(*k).and_then(|v| v.as_str()))
            .filter(|s| !s.trim().is_empty());
        ids[i] = match (
            from_extras,
            n.name.as_deref().filter(|s| !s.trim().is_empty()),
        ) {
            (Some(id), _) => id.trim().to_string(),
            (None, Some(name)) => name.trim().to_string(),
            (None, None) => format!("{stem}-node-{i}"),
        };
    }
    // A name several elements share: numbered in file order.
    let mut count: HashMap<String, usize> = HashMap::new();
    for id in ids.iter().filter(|s| !s.is_empty()) {
        *count.entry(id.clone()).or_default() += 1;
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for id in ids.iter_mut().filter(|s| !s.is_empty()) {
        if count[id.as_str()] > 1 {
            let k = seen.entry(id.clone()).or_default();
            *k += 1;
            *id = format!("{id}#{k}");
        }
    }
    ids
}
