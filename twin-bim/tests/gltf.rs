//! glTF building models: each named node an element. IfcOpenShell's glTF of FZK-Haus
//! (nodes named by GlobalId, written by scripts/ifc-to-glb.py) keeps the IFC ids and
//! stands where the IFC read stands; a glTF with a node hierarchy written here reads
//! as a building of storeys and rooms.

mod common;

use std::collections::HashMap;

use geo::Centroid;
use serde_json::json;
use twin_bim::{Place, ReadOptions, read_ifc, read_model};
use twin_core::Asset;

use common::{model, python};

fn placed(lon: f64, lat: f64, heading: f64) -> ReadOptions {
    ReadOptions {
        place: Some(Place {
            lon,
            lat,
            heading,
            base: 0.0,
        }),
        ..ReadOptions::default()
    }
}

fn by_id(assets: twin_core::load::ReadResult) -> HashMap<String, Asset> {
    assets
        .into_iter()
        .map(|a| a.unwrap())
        .map(|a| (a.id.to_string(), a))
        .collect()
}

#[test]
fn ifcopenshells_gltf_of_a_model_keeps_the_ids_and_stands_where_the_ifc_stands() {
    let dir = std::env::temp_dir().join(format!("twin-bim-glb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let glb = dir.join("fzk.glb");
    let ifc = model("AC20-FZK-Haus.ifc");
    let o = std::process::Command::new(python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scripts/ifc-to-glb.py"
        ))
        .arg(&ifc)
        .arg(&glb)
        .output()
        .expect("run scripts/ifc-to-glb.py");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let written: usize = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap();

    let options = placed(121.397, 31.623, 30.0);
    let from_glb = by_id(read_model(&glb, &options).unwrap().assets);
    let from_ifc = by_id(read_ifc(&ifc, &options).unwrap().assets);
    assert_eq!(from_glb.len(), written);
    // Each element of the glTF that the IFC read has (IfcOpenShell also writes the
    // openings twin leaves out) stands where the IFC read puts it, by its GlobalId:
    // IfcOpenShell's geometry against ifc-lite's.
    let mut compared = 0;
    for (id, g) in &from_glb {
        assert_eq!(g.kind.to_string(), "custom:gltf_node");
        let Some(i) = from_ifc.get(id) else {
            // IfcOpenShell also writes the openings twin leaves out.
            continue;
        };
        if i.surfaces.as_ref().is_none_or(|s| s.vertices.is_empty()) {
            continue;
        }
        let (a, b) = (
            g.geometry.centroid().unwrap(),
            i.geometry.centroid().unwrap(),
        );
        let frame = twin_core::crs::LocalFrame::new(121.397, 31.623, 0.0);
        let (ax, ay) = frame.to_local(a.x(), a.y());
        let (bx, by) = frame.to_local(b.x(), b.y());
        assert!(
            (ax - bx).hypot(ay - by) < 0.02,
            "{id} ({}): glTF ({ax:.3}, {ay:.3}) vs IFC ({bx:.3}, {by:.3})",
            i.kind
        );
        assert!(
            (g.vertical.base - i.vertical.base).abs() < 0.02
                && (g.vertical.height - i.vertical.height).abs() < 0.02,
            "{id}: {:?} vs {:?}",
            g.vertical,
            i.vertical
        );
        compared += 1;
    }
    assert!(compared >= 80, "{compared} of {}", from_glb.len());
    // And the other way: every element the IFC read meshed is a node of the glTF.
    let missing: Vec<&String> = from_ifc
        .iter()
        .filter(|(_, a)| a.surfaces.as_ref().is_some_and(|s| !s.vertices.is_empty()))
        .map(|(id, _)| id)
        .filter(|id| !from_glb.contains_key(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "not in IfcOpenShell's glTF: {missing:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A binary glTF of `nodes` (JSON objects; `"cube": [x, y, z, size]` gives one a cube
/// mesh at that corner, in glTF's axes) written here.
fn glb(nodes: &[serde_json::Value]) -> Vec<u8> {
    let mut bin: Vec<u8> = Vec::new();
    let (mut meshes, mut accessors, mut views) = (vec![], vec![], vec![]);
    let mut out_nodes = vec![];
    for n in nodes {
        let mut n = n.clone();
        if let Some(c) = n.as_object_mut().unwrap().remove("cube") {
            let c: Vec<f32> = c
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            let (x, y, z, s) = (c[0], c[1], c[2], c[3]);
            let at = bin.len();
            for i in 0..8 {
                let p = [
                    x + s * (i & 1) as f32,
                    y + s * ((i >> 1) & 1) as f32,
                    z + s * ((i >> 2) & 1) as f32,
                ];
                for v in p {
                    bin.extend(v.to_le_bytes());
                }
            }
            let faces: [[u32; 4]; 6] = [
                [0, 2, 3, 1],
                [4, 5, 7, 6],
                [0, 1, 5, 4],
                [2, 6, 7, 3],
                [0, 4, 6, 2],
                [1, 3, 7, 5],
            ];
            let idx_at = bin.len();
            for f in faces {
                for i in [f[0], f[1], f[2], f[0], f[2], f[3]] {
                    bin.extend(i.to_le_bytes());
                }
            }
            views.push(json!({"buffer": 0, "byteOffset": at, "byteLength": 96}));
            views.push(json!({"buffer": 0, "byteOffset": idx_at, "byteLength": 144}));
            accessors.push(
                json!({"bufferView": views.len() - 2, "componentType": 5126, "count": 8,
                "type": "VEC3", "min": [x, y, z], "max": [x + s, y + s, z + s]}),
            );
            accessors.push(json!({"bufferView": views.len() - 1, "componentType": 5125,
                "count": 36, "type": "SCALAR"}));
            meshes.push(
                json!({"primitives": [{"attributes": {"POSITION": accessors.len() - 2},
                "indices": accessors.len() - 1}]}),
            );
            n["mesh"] = json!(meshes.len() - 1);
        }
        out_nodes.push(n);
    }
    let doc = json!({
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": out_nodes,
        "meshes": meshes,
        "accessors": accessors,
        "bufferViews": views,
        "buffers": [{"byteLength": bin.len()}],
    });
    let mut text = serde_json::to_vec(&doc).unwrap();
    while !text.len().is_multiple_of(4) {
        text.push(b' ');
    }
    let total = 12 + 8 + text.len() + 8 + bin.len();
    let mut out = Vec::new();
    out.extend(b"glTF");
    out.extend(2u32.to_le_bytes());
    out.extend((total as u32).to_le_bytes());
    out.extend((text.len() as u32).to_le_bytes());
    out.extend(b"JSON");
    out.extend(text);
    out.extend((bin.len() as u32).to_le_bytes());
    out.extend(b"BIN\0");
    out.extend(bin);
    out
}

#[test]
fn a_node_hierarchy_reads_as_a_building_of_storeys_and_rooms() {
    // Building → Storey 1 → Room A (a 4 m cube 10 m forward, i.e. north), an
    // unnamed node with a mesh (part of the storey's own shell), two chairs of one
    // name; a root sibling is not in the default scene's tree.
    let bytes = glb(&[
        json!({"name": "Building", "children": [1], "extras": {"ifc_class": "IfcBuilding"}}),
        json!({"name": "Storey 1", "children": [2, 3, 4, 5],
               "extras": {"ifc_class": "IFCBUILDINGSTOREY"}}),
        json!({"name": "Room A", "cube": [0.0, 0.0, -14.0, 4.0],
               "extras": {"GlobalId": "ROOM-A", "ifc_class": "IfcSpace", "area": 16.0,
                          "LongName": "Office"}}),
        json!({"cube": [0.0, -0.3, -14.0, 0.3]}),
        json!({"name": "Chair", "cube": [1.0, 0.0, -12.0, 0.5], "extras": {"kind": "custom:chair"}}),
        json!({"name": "Chair", "cube": [2.0, 0.0, -12.0, 0.5]}),
        json!({"name": "Elsewhere", "cube": [50.0, 0.0, 0.0, 1.0]}),
    ]);
    let m = twin_bim::gltf::read_gltf_bytes(&bytes, &[], "house.glb", &placed(121.5, 31.6, 0.0))
        .unwrap();
    let a = by_id(m.assets);
    let mut ids: Vec<&str> = a.keys().map(String::as_str).collect();
    ids.sort();
    assert_eq!(
        ids,
        ["Building", "Chair#1", "Chair#2", "ROOM-A", "Storey 1"]
    );
    let room = &a["ROOM-A"];
    assert_eq!(room.kind.to_string(), "custom:ifc_space");
    assert_eq!(room.name_en.as_deref(), Some("Room A"));
    assert_eq!(
        room.properties.get("area").and_then(|p| p.as_f64()),
        Some(16.0)
    );
    assert_eq!(room.part_of.as_deref(), Some("Storey 1"));
    assert_eq!(a["Storey 1"].kind.to_string(), "custom:ifc_building_storey");
    assert_eq!(a["Storey 1"].part_of.as_deref(), Some("Building"));
    assert_eq!(a["Building"].kind, twin_core::AssetKind::Building);
    assert_eq!(a["Chair#1"].kind.to_string(), "custom:chair");
    assert_eq!(a["Chair#2"].part_of.as_deref(), Some("Storey 1"));
    // The unnamed node's cube is the storey's own shell (12 triangles).
    assert_eq!(a["Storey 1"].surfaces.as_ref().unwrap().triangles.len(), 12);
    // glTF −Z is north: the room spans 10–14 m north of the place, 0–4 m east and up.
    let frame = twin_core::crs::LocalFrame::new(121.5, 31.6, 0.0);
    let c = room.geometry.centroid().unwrap();
    let (e, n) = frame.to_local(c.x(), c.y());
    assert!(
        (e - 2.0).abs() < 0.01 && (n - 12.0).abs() < 0.01,
        "({e}, {n})"
    );
    assert!((room.vertical.base - 0.0).abs() < 1e-6 && (room.vertical.height - 4.0).abs() < 1e-6);

    // On a twin: the room has its sensors, a point in it finds it, the storey holds it.
    let sensors = twin_bim::with_room_sensors(a.into_values().map(Ok).collect::<Vec<_>>());
    let (twin, _) =
        twin_core::Twin::from_reads(vec![sensors], twin_core::LoadMode::Strict).unwrap();
    assert!(twin.handle("ROOM-A-CO2").is_some());
    let (lon, lat) = frame.to_geographic(2.0, 12.0);
    let inside: Vec<&str> = twin
        .query_containing_3d(lon, lat, 2.0, None)
        .into_iter()
        .map(|h| twin.get(h).unwrap().id.as_str())
        .collect();
    assert!(inside.contains(&"ROOM-A"), "{inside:?}");
    let storey = twin.handle("Storey 1").unwrap();
    assert!(twin.parts(storey).contains(&twin.handle("ROOM-A").unwrap()));
}

#[test]
fn a_gltf_without_a_place_or_broken_is_refused_by_name() {
    let bytes = glb(&[json!({"name": "Box", "cube": [0.0, 0.0, 0.0, 1.0]})]);
    let e = twin_bim::gltf::read_gltf_bytes(&bytes, &[], "box.glb", &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("box.glb: ") && e.contains("--place"), "{e}");
    let e = twin_bim::gltf::read_gltf_bytes(
        &bytes[..bytes.len() - 40],
        &[],
        "cut.glb",
        &placed(121.5, 31.6, 0.0),
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("cut.glb: "), "{e}");
    // A node under two parents (glTF's trees are disjoint): expanded once per path, 64
    // levels of it would be 2^64 nodes; it is refused.
    let shared = glb(&[
        json!({"name": "Root", "children": [1, 1]}),
        json!({"name": "Box", "cube": [0.0, 0.0, 0.0, 1.0]}),
    ]);
    let e = twin_bim::gltf::read_gltf_bytes(&shared, &[], "dag.glb", &placed(121.5, 31.6, 0.0))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("node 1 is in the scene's hierarchy twice"),
        "{e}"
    );
    // A class that is not ASCII where its first three bytes would be sliced.
    let odd = glb(&[json!({"name": "Box", "cube": [0.0, 0.0, 0.0, 1.0],
                          "extras": {"type": "a€b"}})]);
    let m =
        twin_bim::gltf::read_gltf_bytes(&odd, &[], "odd.glb", &placed(121.5, 31.6, 0.0)).unwrap();
    let a = m.assets.into_iter().next().unwrap().unwrap();
    assert_eq!(a.kind.to_string(), "custom:gltf_node");
}
