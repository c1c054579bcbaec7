//! glTF models: read from a binary glTF built here byte by byte, placed by a
//! georeference with hand-computed positions, and corrupt files refused.

use twin_core::crs::LocalFrame;
use twin_render::{LayerKind, Model, ModelError, Placement, Scene};

/// A GLB of one red triangle, (0,0,0) (10,0,0) (0,5,−20), under a node lifted 1 m.
fn glb(positions: &[[f32; 3]], indices: &[u16], declared_len: Option<usize>) -> Vec<u8> {
    let mut bin: Vec<u8> = positions
        .iter()
        .flatten()
        .flat_map(|f| f.to_le_bytes())
        .collect();
    let pos_len = bin.len();
    bin.extend(indices.iter().flat_map(|i| i.to_le_bytes()));
    let idx_len = bin.len() - pos_len;
    while !bin.len().is_multiple_of(4) {
        bin.push(0);
    }
    let (mut lo, mut hi) = ([f32::MAX; 3], [f32::MIN; 3]);
    for p in positions {
        for i in 0..3 {
            lo[i] = lo[i].min(p[i]);
            hi[i] = hi[i].max(p[i]);
        }
    }
    let json = format!(
        r#"{{"asset":{{"version":"2.0"}},"scene":0,"scenes":[{{"nodes":[0]}}],
"nodes":[{{"mesh":0,"translation":[0,1,0]}}],
"meshes":[{{"primitives":[{{"attributes":{{"POSITION":0}},"indices":1,"material":0}}]}}],
"materials":[{{"pbrMetallicRoughness":{{"baseColorFactor":[1,0,0,1]}}}}],
"buffers":[{{"byteLength":{}}}],
"bufferViews":[{{"buffer":0,"byteOffset":0,"byteLength":{pos_len}}},{{"buffer":0,"byteOffset":{pos_len},"byteLength":{idx_len}}}],
"accessors":[{{"bufferView":0,"componentType":5126,"count":{},"type":"VEC3","min":[{},{},{}],"max":[{},{},{}]}},
{{"bufferView":1,"componentType":5123,"count":{},"type":"SCALAR"}}]}}"#,
        declared_len.unwrap_or(bin.len()),
        positions.len(),
        lo[0],
        lo[1],
        lo[2],
        hi[0],
        hi[1],
        hi[2],
        indices.len()
    );
    let mut json = json.into_bytes();
    while !json.len().is_multiple_of(4) {
        json.push(b' ');
    }
    let total = 12 + 8 + json.len() + 8 + bin.len();
    let mut out = Vec::with_capacity(total);
    out.extend(b"glTF");
    out.extend(2u32.to_le_bytes());
    out.extend((total as u32).to_le_bytes());
    out.extend((json.len() as u32).to_le_bytes());
    out.extend(b"JSON");
    out.extend(&json);
    out.extend((bin.len() as u32).to_le_bytes());
    out.extend(b"BIN\0");
    out.extend(&bin);
    out
}

const TRI: [[f32; 3]; 3] = [[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 5.0, -20.0]];

#[test]
fn a_model_is_read_through_its_node_transform_with_its_colour() {
    let m = Model::from_glb(&glb(&TRI, &[0, 1, 2], None), "tri.glb").unwrap();
    assert_eq!(
        m.positions,
        vec![[0.0, 1.0, 0.0], [10.0, 1.0, 0.0], [0.0, 6.0, -20.0]]
    );
    assert_eq!(m.indices, vec![0, 1, 2]);
    assert!(m.colors.iter().all(|c| *c == [255, 0, 0, 255]));
}

#[test]
fn placement_turns_gltf_axes_into_east_north_up_by_heading() {
    let frame = LocalFrame::chongming();
    let m = Model::from_glb(&glb(&TRI, &[0, 1, 2], None), "tri.glb").unwrap();
    // At the frame origin, heading 0: x → east, −z → north, y → up (+ base 2 m).
    let p0 = Placement {
        lon: 121.60,
        lat: 31.50,
        base: 2.0,
        heading_deg: 0.0,
        scale: 1.0,
    };
    let c = &m.place(&p0, &frame, 42)[0];
    let pos: Vec<[f32; 3]> = c.vertices.iter().map(|v| v.pos).collect();
    let near = |a: [f32; 3], b: [f32; 3]| (0..3).all(|i| (a[i] - b[i]).abs() < 1e-3);
    assert!(
        near(pos[0], [0.0, 0.0, 3.0])
            && near(pos[1], [10.0, 0.0, 3.0])
            && near(pos[2], [0.0, 20.0, 8.0]),
        "{pos:?}"
    );
    assert!(c.vertices.iter().all(|v| v.handle == 42));
    // Heading 90° (facing east) and scale 2: north becomes east, east becomes south.
    let p90 = Placement {
        heading_deg: 90.0,
        scale: 2.0,
        ..p0
    };
    let c = &m.place(&p90, &frame, 42)[0];
    let pos: Vec<[f32; 3]> = c.vertices.iter().map(|v| v.pos).collect();
    assert!(
        near(pos[1], [0.0, -20.0, 4.0]) && near(pos[2], [40.0, 0.0, 14.0]),
        "{pos:?}"
    );
    // Placed 0.01° east of the origin: ~950 m east (the frame's scale at 31.5° N).
    let east = Placement { lon: 121.61, ..p0 };
    let c = &m.place(&east, &frame, 42)[0];
    assert!(
        (c.vertices[0].pos[0] - 949.8).abs() < 1.0,
        "{:?}",
        c.vertices[0].pos
    );
    // In a scene, the model is its own layer.
    let mut scene = Scene {
        layers: vec![Vec::new(); LayerKind::ALL.len()],
        ..Scene::default()
    };
    scene.add_chunks(LayerKind::Models, m.place(&p0, &frame, 42));
    assert_eq!(scene.layer(LayerKind::Models)[0].triangles(), 1);
    assert_eq!(scene.handle_capacity, 43);
}

#[test]
fn corrupt_models_are_refused_with_a_reason() {
    let good = glb(&TRI, &[0, 1, 2], None);
    let truncated = &good[..good.len() - 10];
    assert!(matches!(
        Model::from_glb(truncated, "t.glb"),
        Err(ModelError::Format { .. })
    ));
    assert!(matches!(
        Model::from_glb(b"not a model", "x.glb"),
        Err(ModelError::Format { .. })
    ));
    // An index past the three vertices.
    let e = Model::from_glb(&glb(&TRI, &[0, 1, 7], None), "i.glb").unwrap_err();
    assert!(e.to_string().contains("indexes vertex 7 of 3"), "{e}");
    // A buffer that declares more bytes than the file carries.
    let e = Model::from_glb(&glb(&TRI, &[0, 1, 2], Some(4096)), "b.glb").unwrap_err();
    assert!(e.to_string().contains("b.glb"), "{e}");
    // Every single-byte corruption is refused or read, never a panic.
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x5a;
        let _ = Model::from_glb(&bad, "flip.glb");
    }
}
