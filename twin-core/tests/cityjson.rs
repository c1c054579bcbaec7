//! CityJSON and CityJSONSeq files other projects wrote (tests/data/external/cityjson,
//! with their sources and licences in tests/data/external/README.md).
//!
//! Expected values were computed from the files by a short independent Python script
//! (json module: object types, each object's highest-LoD geometry, its lowest and
//! highest vertex after the transform, and triangle counts: a surface of n vertices in
//! r rings gives n − 2 + 2(r − 1) triangles); lon/lat values by GDAL 3.6 / PROJ 9.1
//! (`echo "E N" | gdaltransform -s_srs EPSG:28992 -t_srs EPSG:4326 -output_xy`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use twin_core::crs::{Crs, LocalFrame};
use twin_core::load::{LoadMode, Mapping, read_cityjson_seq_from};
use twin_core::{AssetKind, LoadError, SurfaceRole, Twin};

fn data(name: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/external/cityjson/"
    ))
    .join(name)
}

fn load(name: &str, mapping: &Mapping) -> Twin {
    let (t, _) = Twin::from_files(&[data(name)], mapping, LoadMode::Strict).unwrap();
    t
}

fn kinds(t: &Twin) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for (_, a) in t.iter() {
        *m.entry(a.kind.to_string()).or_default() += 1;
    }
    m
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() < tol
}

#[test]
fn delft_loads_every_city_object_as_its_kind_in_rd_new_plus_nap() {
    // CityJSON 2.0 with keys sorted (its `type` comes last), EPSG:7415 (compound).
    let t = load("delft.json", &Mapping::default());
    let want: BTreeMap<String, usize> = [
        ("bridge", 3),
        ("building", 160),
        ("custom:generic_city_object", 54),
        ("custom:land_use", 81),
        ("green_space", 126),
        ("road", 143),
        ("water_body", 3),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(kinds(&t), want);
    // Buildings are LoD1 solids: kept as 3D shells; roads are flat surfaces.
    let mut shells = 0;
    for (_, a) in t.iter() {
        let typ = a.properties.get("cityjson_type").and_then(|v| v.as_str());
        match a.kind {
            AssetKind::Building => {
                assert_eq!(typ, Some("Building"));
                assert_eq!(
                    a.properties.get("cityjson_lod").and_then(|v| v.as_str()),
                    Some("1")
                );
                let s = a.surfaces.as_ref().expect("a building's shell");
                assert!(!s.is_empty() && s.len() == s.roles.len());
                shells += 1;
            }
            AssetKind::Road => assert!(a.surfaces.is_none(), "{}", a.id),
            _ => {}
        }
        // Crs::Epsg in the default build, Crs::Proj with the `proj` feature.
        assert_eq!(a.source_crs.to_string(), "EPSG:7415");
    }
    assert_eq!(shells, 160);
    // Delft's old town is at about 4.36 E, 52.01 N.
    let (lon, lat) = (t.frame().origin_lon(), t.frame().origin_lat());
    assert!(
        close(lon, 4.36, 0.02) && close(lat, 52.01, 0.02),
        "{lon} {lat}"
    );
}

#[test]
fn buildings_and_their_parts_with_lod2_roofs() {
    // CityJSON 1.1 without a CRS: its RD coordinates are refused as lon/lat, with the
    // way out named …
    let e = Twin::from_files(
        &[data("DH_01_subs.city.json")],
        &Mapping::default(),
        LoadMode::Strict,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("--crs"), "{e}");
    // … and given, load: 4 buildings, 8 parts.
    let t = load(
        "DH_01_subs.city.json",
        &Mapping::default().with_crs(Crs::Epsg(7415)),
    );
    assert_eq!(t.len(), 12);
    let part = t
        .get(
            t.handle("GUID_13974D93-CB4F-4B5A-AB1E-577DD9928CF2_1")
                .unwrap(),
        )
        .unwrap();
    assert_eq!(part.kind, AssetKind::Building);
    assert_eq!(
        part.part_of.as_deref(),
        Some("GUID_13974D93-CB4F-4B5A-AB1E-577DD9928CF2")
    );
    assert!(
        close(part.vertical.base, 5.756, 1e-6),
        "{:?}",
        part.vertical
    );
    assert!(
        close(part.vertical.height, 14.467 - 5.756, 1e-6),
        "{:?}",
        part.vertical
    );
    let s = part.surfaces.as_ref().unwrap();
    assert_eq!(s.len(), 16);
    assert_eq!(s.count(SurfaceRole::Roof), 5);
    // Its first vertex, (78689.373, 457788.49, 11.864) in RD New, is one of the shell's.
    let (lon, lat) = (4.27337782294447, 52.1030700815743);
    assert!(
        s.vertices
            .iter()
            .any(|v| close(v[0], lon, 1e-7) && close(v[1], lat, 1e-7) && close(v[2], 11.864, 1e-6)),
        "{:?}",
        &s.vertices[..3]
    );
    // The parent has no geometry of its own: its parts' footprints and extent, drawn by
    // them (an empty shell).
    let parent = t
        .get(
            t.handle("GUID_13974D93-CB4F-4B5A-AB1E-577DD9928CF2")
                .unwrap(),
        )
        .unwrap();
    assert!(parent.surfaces.as_ref().unwrap().is_empty());
    assert!(close(parent.vertical.base, 5.756, 1e-6));
    assert!(close(
        parent.vertical.base + parent.vertical.height,
        14.467,
        1e-6
    ));
    // A building without parts has its own shell.
    let whole = t
        .get(
            t.handle("GUID_3D7D60B9-8F3A-4D3B-A3E5-CD9B5565A5B2")
                .unwrap(),
        )
        .unwrap();
    let s = whole.surfaces.as_ref().unwrap();
    assert_eq!((s.len(), s.count(SurfaceRole::Roof)), (16, 4));
    // The part lies inside its building's footprint.
    use geo::{Contains, InteriorPoint};
    let inner = part.geometry.interior_point().unwrap();
    assert!(parent.geometry.contains(&inner));
}

#[test]
fn the_highest_lod_is_the_one_kept() {
    // Each building has LoD 1.2, 1.3 and 2.2 solids; no CRS in the file.
    let t = load(
        "multi_lod.json",
        &Mapping::default().with_crs(Crs::Epsg(7415)),
    );
    assert_eq!(t.len(), 10);
    let a = t.get(t.handle("2921895").unwrap()).unwrap();
    assert_eq!(
        a.properties.get("cityjson_lod").and_then(|v| v.as_str()),
        Some("2.2")
    );
    let s = a.surfaces.as_ref().unwrap();
    assert_eq!((s.len(), s.count(SurfaceRole::Roof)), (68, 17));
    assert!(close(a.vertical.base, 5.207, 1e-6) && close(a.vertical.height, 13.78 - 5.207, 1e-6));
}

#[test]
fn cityjsonseq_from_3dbag_matches_its_own_height_attributes() {
    let t = load("small.city.jsonl", &Mapping::default());
    assert_eq!(t.len(), 6);
    for (building, ground) in [
        ("NL.IMBAG.Pand.0503100000012869", 0.476),
        ("NL.IMBAG.Pand.0503100000016459", -0.305),
        ("NL.IMBAG.Pand.0503100000005156", 0.692),
    ] {
        let b = t.get(t.handle(building).unwrap()).unwrap();
        // 3DBAG's own ground level (`b3_h_maaiveld`) is the lowest vertex, to a cm.
        assert_eq!(
            b.properties
                .get("b3_h_maaiveld")
                .and_then(|v| v.as_f64())
                .map(|g| (g * 1000.0).round() / 1000.0),
            Some(ground)
        );
        assert!(
            close(b.vertical.base, ground, 0.01),
            "{building}: {:?}",
            b.vertical
        );
        // The building has an LoD0 footprint and one LoD2.2 part that draws it.
        assert!(b.surfaces.as_ref().unwrap().is_empty());
        let part = t.get(t.handle(&format!("{building}-0")).unwrap()).unwrap();
        assert_eq!(part.part_of.as_deref(), Some(building));
        assert!(!part.surfaces.as_ref().unwrap().is_empty());
    }
    let p = t
        .get(t.handle("NL.IMBAG.Pand.0503100000005156-0").unwrap())
        .unwrap();
    let s = p.surfaces.as_ref().unwrap();
    assert_eq!((s.len(), s.count(SurfaceRole::Roof)), (60, 19));
    assert!(close(p.vertical.base + p.vertical.height, 11.119, 1e-3));
    let (lon, lat) = (4.36396683355504, 52.003649799291);
    assert!(
        s.vertices
            .iter()
            .any(|v| close(v[0], lon, 1e-7) && close(v[1], lat, 1e-7))
    );
}

#[test]
fn a_japanese_file_keeps_its_attributes_and_installations() {
    // EPSG:6677 (JGD2011 / Japan Plane Rectangular CS IX), written as an http URL.
    let t = load("japanese.city.json", &Mapping::default());
    assert_eq!(
        kinds(&t),
        [
            ("building".to_string(), 2),
            ("custom:building_installation".to_string(), 2)
        ]
        .into_iter()
        .collect()
    );
    let b = t
        .get(
            t.handle("bldg_ae456d21-3425-4a03-813d-c06e999bd1b8")
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        b.properties
            .get("延べ面積換算係数")
            .and_then(|v| v.as_str()),
        Some("1.00")
    );
    assert!(close(b.vertical.base, 11.92, 1e-6) && close(b.vertical.height, 25.096 - 11.92, 1e-6));
    let s = b.surfaces.as_ref().unwrap();
    assert_eq!((s.len(), s.count(SurfaceRole::Roof)), (20, 6));
    let (lon, lat) = (139.423837445265, 35.9227297201879);
    assert!(
        s.vertices
            .iter()
            .any(|v| close(v[0], lon, 1e-7) && close(v[1], lat, 1e-7))
    );
}

#[test]
fn invalid_files_are_refused_with_the_reason() {
    let refuse = |name: &str| -> String {
        let mut t = Twin::new(LocalFrame::chongming());
        let e = t
            .load_file(&data(name), &Mapping::default(), LoadMode::Strict)
            .unwrap_err();
        assert_eq!(t.len(), 0);
        e.to_string()
    };
    let e = refuse("invalid_missing_type.json");
    assert!(e.contains("missing field `type`"), "{e}");
    let e = refuse("invalid_out_of_range_vertex_index.json");
    assert!(
        e.contains("invalid_out_of_range_vertex_index")
            && e.contains("vertex index 99 is out of range"),
        "{e}"
    );
    // cjval's material overflow: a theme names material 2 of 2.
    let e = refuse("material.city.json");
    assert!(
        e.contains("material theme `main2` names material 2; the file has 2 materials"),
        "{e}"
    );
    let e = refuse("invalid_u64_f64_bounds.json");
    assert!(e.contains("vertex 1") && e.contains("integers"), "{e}");
    // The corpus writes this CityJSONFeature over several lines; CityJSONSeq wants one
    // object per line, so it is refused there already.
    let e = refuse("invalid_cityjsonfeature_root_id_unresolved.city.jsonl");
    assert!(e.contains("line 1"), "{e}");
    // On one line, after a header, the unresolved root id is what is refused.
    let text = std::fs::read_to_string(data(
        "invalid_cityjsonfeature_root_id_unresolved.city.jsonl",
    ))
    .unwrap();
    let feature: serde_json::Value = serde_json::from_str(&text).unwrap();
    let seq = format!(
        "{}\n{}\n",
        r#"{"type":"CityJSON","version":"2.0","transform":{"scale":[1,1,1],"translate":[0,0,0]},"CityObjects":{},"vertices":[]}"#,
        feature
    );
    let e =
        read_cityjson_seq_from(seq.as_bytes(), "root.city.jsonl", &Mapping::default()).unwrap_err();
    assert!(matches!(e, LoadError::Format { .. }));
    assert!(
        e.to_string()
            .contains("line 2: the feature's id `missing-main-object` is none of its CityObjects"),
        "{e}"
    );
}

#[test]
fn a_snapshot_keeps_the_lod2_shells() {
    use twin_core::{Session, SessionConfig, snapshot};
    let t = load(
        "DH_01_subs.city.json",
        &Mapping::default().with_crs(Crs::Epsg(7415)),
    );
    let live = Session::new(t, SessionConfig::default());
    let bytes = snapshot::to_bytes(&live).unwrap();
    let back = snapshot::from_bytes(&bytes, "dh.twinsnap", SessionConfig::default()).unwrap();
    let shells = |s: &Session| -> Vec<(String, Option<twin_core::Surfaces>)> {
        s.twin()
            .iter()
            .map(|(_, a)| (a.id.clone(), a.surfaces.as_deref().cloned()))
            .collect()
    };
    let (a, b) = (shells(&live), shells(&back));
    assert_eq!(a.len(), 12);
    assert_eq!(a, b);
    assert_eq!(
        b.iter()
            .filter(|(_, s)| s.as_ref().is_some_and(|s| !s.is_empty()))
            .count(),
        9
    );
}

#[test]
fn parts_name_their_building_by_its_mapped_id_and_groups_are_not_assets() {
    // With an id prefix, a part's `part_of` is its building's asset id, so the strict
    // load's relation check holds.
    let mut m = Mapping::default().with_crs(Crs::Epsg(7415));
    m.id_prefix = "DH/".into();
    let t = load("DH_01_subs.city.json", &m);
    let part = t
        .get(
            t.handle("DH/GUID_13974D93-CB4F-4B5A-AB1E-577DD9928CF2_1")
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        part.part_of.as_deref(),
        Some("DH/GUID_13974D93-CB4F-4B5A-AB1E-577DD9928CF2")
    );
    // A CityObjectGroup listing a building: the group is no asset, and the building is
    // nobody's part and keeps its own (flat, LoD0) footprint.
    let text = r#"{"type":"CityJSON","version":"2.0",
      "transform":{"scale":[1,1,1],"translate":[0,0,0]},
      "CityObjects":{
        "g":{"type":"CityObjectGroup","children":["b"]},
        "b":{"type":"Building","parents":["g"],"geometry":[{"type":"MultiSurface","lod":"0",
             "boundaries":[[[0,1,2,3]]]}]}},
      "vertices":[[0,0,0],[10,0,0],[10,10,0],[0,10,0]]}"#;
    let read = twin_core::load::read_cityjson_str(
        text,
        "group.city.json",
        &Mapping::default().with_crs(Crs::Epsg(28992)),
    )
    .unwrap();
    assert_eq!(read.len(), 1);
    let b = read[0].as_ref().unwrap();
    assert_eq!((b.id.as_str(), b.part_of.as_deref()), ("b", None));
    assert!(b.surfaces.is_none());
}
