//! IFC models read into assets, checked against IfcOpenShell (PyPI, in
//! scripts/pyenv; scripts/ifc-reference.py prints what it reads) on the public models
//! in tests/data/external (copied from ../shared/data/external/ifc) and on a model of
//! its own (scripts/ifc-synth.py).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use twin_bim::{Place, PlacedBy, ReadOptions, read_ifc, read_ifc_bytes};
use twin_core::Asset;
use twin_core::PropValue;
use twin_core::crs::LocalFrame;

mod common;

use common::{model, python};

/// What IfcOpenShell reads from the model.
fn reference(path: &Path) -> Value {
    let o = Command::new(python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scripts/ifc-reference.py"
        ))
        .arg(path)
        .output()
        .expect("run scripts/ifc-reference.py");
    assert!(
        o.status.success(),
        "ifc-reference: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("reference JSON")
}

/// The model's assets, after checking that they make a twin under a strict load
/// (ids unique, every part_of naming an asset of the model, shells valid).
fn assets(path: &Path, place: Option<&Place>) -> (Vec<Asset>, PlacedBy) {
    let options = ReadOptions {
        place: place.copied(),
        ..ReadOptions::default()
    };
    let m = read_ifc(path, &options).unwrap_or_else(|e| panic!("{e}"));
    let assets: Vec<Asset> = m
        .assets
        .into_iter()
        .map(|a| a.expect("every element converts"))
        .collect();
    let read = assets.iter().cloned().map(Ok).collect();
    let (twin, _) = twin_core::Twin::from_reads(vec![read], twin_core::LoadMode::Strict)
        .unwrap_or_else(|e| panic!("a strict load of {}: {e}", path.display()));
    assert_eq!(twin.len(), assets.len());
    (assets, m.placed_by)
}

fn class(a: &Asset) -> &str {
    a.properties
        .get("ifc_class")
        .and_then(PropValue::as_str)
        .unwrap_or("")
}

/// Counts per class, storeys, containment and property values equal IfcOpenShell's.
fn check_against_reference(assets: &[Asset], r: &Value) {
    let skipped = ["IfcOpeningElement", "IfcVirtualElement", "IfcAnnotation"];
    let mut ours: BTreeMap<&str, u64> = BTreeMap::new();
    for a in assets {
        *ours.entry(class(a)).or_default() += 1;
    }
    let theirs: BTreeMap<&str, u64> = r["classes"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| !skipped.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(ours, theirs, "elements per class");
    let by_id: BTreeMap<&str, &Asset> = assets.iter().map(|a| (a.id.as_str(), a)).collect();
    let storeys: Vec<&str> = r["storeys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    for (s, want) in storeys.iter().zip(r["storeys"].as_array().unwrap()) {
        let a = by_id.get(s).unwrap_or_else(|| panic!("storey {s}"));
        assert_eq!(class(a), "IfcBuildingStorey");
        assert_eq!(
            a.name_en.as_deref(),
            want["name"].as_str(),
            "storey {s}'s name"
        );
    }
    // Every element in a spatial structure is part of it; every aggregated part of
    // its whole unless it is contained.
    let contained = r["containers"].as_object().unwrap();
    for (e, container) in contained {
        if let Some(a) = by_id.get(e.as_str()) {
            assert_eq!(
                a.part_of.as_deref(),
                container.as_str(),
                "{e} ({})",
                class(a)
            );
        }
    }
    for (e, whole) in r["aggregates"].as_object().unwrap() {
        if contained.contains_key(e) {
            continue;
        }
        if let Some(a) = by_id.get(e.as_str()) {
            // The site's whole is the IfcProject, which is not an asset.
            let whole = whole.as_str().filter(|w| Some(*w) != r["project"].as_str());
            assert_eq!(a.part_of.as_deref(), whole, "{e} ({})", class(a));
        }
    }
    // Property values of doors and spaces.
    let mut checked = 0;
    let expected: usize = r["psets"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    for (e, props) in r["psets"].as_object().unwrap() {
        let a = by_id[e.as_str()];
        for (k, v) in props.as_object().unwrap() {
            let got = a
                .properties
                .get(k)
                .unwrap_or_else(|| panic!("{e} has no {k}"));
            match (got, v) {
                (PropValue::Num(x), Value::Number(n)) => {
                    assert!(
                        (x - n.as_f64().unwrap()).abs() < 1e-9,
                        "{e} {k}: {x} vs {n}"
                    )
                }
                (PropValue::Bool(b), Value::Bool(w)) => assert_eq!(b, w, "{e} {k}"),
                (PropValue::Str(s), Value::String(w)) => assert_eq!(s, w, "{e} {k}"),
                (got, want) => panic!("{e} {k}: {got:?} where IfcOpenShell has {want}"),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, expected);
}

/// A space's shell back in model coordinates (metres), as min and max corners.
fn model_box(a: &Asset, site: [f64; 3], north: (f64, f64)) -> ([f64; 3], [f64; 3]) {
    let frame = LocalFrame::new(site[0], site[1], site[2]);
    let (tx, ty) = north;
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for v in &a.surfaces.as_ref().unwrap().vertices {
        let [e, n, u] = frame.to_local3(v[0], v[1], v[2]);
        let p = [e * ty + n * tx, -e * tx + n * ty, u];
        for i in 0..3 {
            lo[i] = lo[i].min(p[i]);
            hi[i] = hi[i].max(p[i]);
        }
    }
    (lo, hi)
}

#[test]
fn fzk_haus_reads_as_ifcopenshell_reads_it_and_stands_at_its_site() {
    let path = model("AC20-FZK-Haus.ifc");
    let r = reference(&path);
    let (assets, by) = assets(&path, None);
    check_against_reference(&assets, &r);
    // Placed by the site's reference point, turned by TrueNorth (0.766, 0.643).
    let PlacedBy::Site { heading } = by else {
        panic!("placed by {by:?}")
    };
    assert!((heading + 50.0).abs() < 1e-6, "{heading}");
    let site = &r["site"];
    let site = [
        site["ref_longitude"].as_f64().unwrap(),
        site["ref_latitude"].as_f64().unwrap(),
        site["ref_elevation"].as_f64().unwrap(),
    ];
    let tn = r["true_north"].as_array().unwrap();
    let north = (tn[0].as_f64().unwrap(), tn[1].as_f64().unwrap());
    // Every space's box equals IfcOpenShell's to a millimetre.
    for s in r["spaces"].as_array().unwrap() {
        let a = assets
            .iter()
            .find(|a| a.id == s["id"].as_str().unwrap())
            .unwrap();
        let (lo, hi) = model_box(a, site, north);
        for i in 0..3 {
            let (wl, wh) = (s["min"][i].as_f64().unwrap(), s["max"][i].as_f64().unwrap());
            assert!(
                (lo[i] - wl).abs() < 1e-3 && (hi[i] - wh).abs() < 1e-3,
                "space {} axis {i}: {lo:?}–{hi:?}, IfcOpenShell {wl}–{wh}",
                s["long_name"]
            );
        }
    }
    // The bedroom by hand: centre (9.675, 6.975) is 0.876 m east and 11.895 m north
    // of the site point, its floor at the site's elevation (110 m) and 2.5 m high.
    let bed = assets
        .iter()
        .find(|a| a.id == "347jFE2yX7IhCEIALmupEH")
        .unwrap();
    assert_eq!(bed.kind.to_string(), "custom:ifc_space");
    let frame = LocalFrame::new(site[0], site[1], site[2]);
    let c = geo::Centroid::centroid(&bed.geometry).unwrap();
    let (e, n) = frame.to_local(c.x(), c.y());
    assert!(
        (e - 0.876).abs() < 0.01 && (n - 11.895).abs() < 0.01,
        "{e} {n}"
    );
    assert!((bed.vertical.base - 110.0).abs() < 1e-6 && (bed.vertical.height - 2.5).abs() < 1e-6);
    // A known door: its class, kind, storey and a property from Pset_DoorCommon.
    let door = assets
        .iter()
        .find(|a| a.id == "1Oms875aH3Wg$9l65H2ZGw")
        .unwrap();
    assert_eq!(door.kind.to_string(), "custom:ifc_door");
    assert_eq!(door.name_en.as_deref(), Some("Innentuer-1"));
    assert_eq!(door.part_of.as_deref(), Some("2eyxpyOx95m90jmsXLOuR0"));
    assert_eq!(
        door.properties.get("Pset_DoorCommon.ThermalTransmittance"),
        Some(&PropValue::Num(2.0))
    );
    // Its type's sets (IfcDoorType.HasPropertySets, as in FZK-Haus's STEP text): the
    // predefined lining and panel sets, whose values are the entities' attributes
    // (#17731: LiningDepth 0.1, LiningThickness 0.05, LiningOffset 0.; #17734:
    // PanelDepth 0.04, .SWINGING.), and a property set of the type.
    let prop = |k: &str| door.properties.get(k).cloned();
    assert_eq!(
        prop("Tür Linien-Sachmerkmale.LiningDepth"),
        Some(PropValue::Num(0.1))
    );
    assert_eq!(
        prop("Tür Linien-Sachmerkmale.LiningThickness"),
        Some(PropValue::Num(0.05))
    );
    assert_eq!(
        prop("Tür Linien-Sachmerkmale.LiningOffset"),
        Some(PropValue::Num(0.0))
    );
    assert_eq!(
        prop("Tür Linien-Sachmerkmale.ThresholdDepth"),
        None,
        "unset ($)"
    );
    assert_eq!(
        prop("Türblatt-Sachmerkmale - Panel1.PanelDepth"),
        Some(PropValue::Num(0.04))
    );
    assert_eq!(
        prop("Türblatt-Sachmerkmale - Panel1.PanelOperation"),
        Some(PropValue::Str("SWINGING".into()))
    );
    assert_eq!(
        prop("AC_Pset_IFC_Tür_-_Eine_Öffnunsgrichtung.Konstruktionsmaterial"),
        Some(PropValue::Str("Aluminium".into()))
    );
    assert!(
        !door.surfaces.as_ref().unwrap().is_empty(),
        "the door has a shell"
    );
}

#[test]
fn an_ifc2x3_model_reads_as_ifcopenshell_reads_it() {
    // Written by scripts/ifc-synth.py: two storeys of six rooms, each a space, a
    // floor slab, two walls and a door, with property sets.
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("synth-ifc2x3.ifc");
    let out = Command::new(python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scripts/ifc-synth.py"
        ))
        .args(["60", "--schema", "IFC2X3", "--cols", "3", "--rows", "2"])
        .output()
        .expect("run scripts/ifc-synth.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&path, &out.stdout).unwrap();
    let r = reference(&path);
    assert_eq!(r["schema"], "IFC2X3");
    let (assets, _) = assets(&path, None);
    check_against_reference(&assets, &r);
    assert_eq!(r["classes"]["IfcDoor"], 12);
    // The doors of the first row are external (Pset_DoorCommon, shared by the six).
    let external = assets
        .iter()
        .filter(|a| a.properties.get("Pset_DoorCommon.IsExternal") == Some(&PropValue::Bool(true)))
        .count();
    assert_eq!(external, 6);
}

/// IFC2X3 has no IfcMapConversion: its georeference is the project's
/// ePSet_MapConversion and ePSet_ProjectedCRS. The synthetic model with both (to
/// EPSG:4549, the x axis 30° clockwise of east) stands where IfcOpenShell's
/// `auto_xyz2enh` puts every shape, within a millimetre, though its IfcSite also has
/// a reference point (the map conversion comes first, as in IFC4).
#[test]
fn an_ifc2x3_model_is_placed_by_its_projects_map_conversion_property_set() {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("synth-ifc2x3-epset.ifc");
    let out = Command::new(python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scripts/ifc-synth.py"
        ))
        .args(["60", "--schema", "IFC2X3", "--cols", "3", "--rows", "2"])
        .args([
            "--epset-map-conversion",
            "642000,3498000,4,0.866,-0.5,1,EPSG:4549",
        ])
        .output()
        .expect("run scripts/ifc-synth.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&path, &out.stdout).unwrap();
    let r = reference(&path);
    let (assets, by) = assets(&path, None);
    let PlacedBy::MapConversion { crs, heading, .. } = &by else {
        panic!("placed by {by:?}")
    };
    assert_eq!(crs, "EPSG:4549");
    assert!((heading - 30.0).abs() < 0.01, "{heading}");
    let cgcs: twin_core::crs::Crs = "EPSG:4549".parse().unwrap();
    let to_map = twin_core::crs::Transformer::new(&twin_core::crs::Crs::Wgs84, &cgcs).unwrap();
    let boxes = r["map_boxes"].as_object().unwrap();
    assert_eq!(boxes.len(), 60, "IfcOpenShell's shapes");
    for (gid, b) in boxes {
        let a = assets.iter().find(|a| a.id == *gid).unwrap();
        let (lo, hi) = map_box(a, &to_map);
        for i in 0..3 {
            let (wl, wh) = (b[0][i].as_f64().unwrap(), b[1][i].as_f64().unwrap());
            assert!(
                (lo[i] - wl).abs() < 1e-3 && (hi[i] - wh).abs() < 1e-3,
                "{gid} axis {i}: {lo:?}–{hi:?}, IfcOpenShell {wl}–{wh}"
            );
        }
    }
}

/// The box of an asset's shell in a projected CRS (metres).
fn map_box(a: &Asset, to_map: &twin_core::crs::Transformer) -> ([f64; 3], [f64; 3]) {
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for v in &a.surfaces.as_ref().expect("a shell").vertices {
        let (e, n) = to_map.convert(v[0], v[1]).unwrap();
        for (i, c) in [e, n, v[2]].into_iter().enumerate() {
            lo[i] = lo[i].min(c);
            hi[i] = hi[i].max(c);
        }
    }
    (lo, hi)
}

/// geolocation-mapconversion-angle.ifc (IfcOpenShell's test file: millimetres, an
/// IfcMapConversion with Eastings 15000 and the x axis 30° clockwise of east, into an
/// IfcProjectedCRS with no name) as it is, and moved to Chongming: its CRS named
/// EPSG:4549 (CGCS2000 / 3-degree Gauss-Kruger CM 120E), Eastings 642,015 m,
/// Northings 3,498,000 m, OrthogonalHeight 4 m (all in millimetres, the map unit
/// being the project's).
#[test]
fn a_map_conversion_places_the_model_in_its_projected_crs() {
    let text = std::fs::read_to_string(model("geolocation-mapconversion-angle.ifc")).unwrap();
    let err = read_ifc_bytes(text.as_bytes(), "angle.ifc", &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("angle.ifc") && err.contains("IfcMapConversion") && err.contains("--crs"),
        "{err}"
    );
    let moved = text
        .replacen(
            "#292=IFCPROJECTEDCRS('',",
            "#292=IFCPROJECTEDCRS('EPSG:4549',",
            1,
        )
        .replacen(
            "IFCMAPCONVERSION(#14,#292,15000.,0.,0.,",
            "IFCMAPCONVERSION(#14,#292,642015000.,3498000000.,4000.,",
            1,
        );
    assert_ne!(moved, text);
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mapconversion-chongming.ifc");
    std::fs::write(&path, &moved).unwrap();
    let r = reference(&path);
    let (assets, by) = assets(&path, None);
    let PlacedBy::MapConversion {
        crs,
        heading,
        crs_given,
    } = &by
    else {
        panic!("placed by {by:?}")
    };
    assert_eq!((crs.as_str(), *crs_given), ("EPSG:4549", false));
    // The x axis (0.866, −0.5) is 30° clockwise of east: +Y faces 30° east of grid north.
    assert!((heading - 30.0).abs() < 1e-9, "{heading}");
    let cgcs: twin_core::crs::Crs = "EPSG:4549".parse().unwrap();
    let to_map = twin_core::crs::Transformer::new(&twin_core::crs::Crs::Wgs84, &cgcs).unwrap();
    let boxes = r["map_boxes"].as_object().unwrap();
    assert_eq!(boxes.len(), 8, "IfcOpenShell's shapes");
    for (gid, b) in boxes {
        let a = assets.iter().find(|a| a.id == *gid).unwrap();
        let (lo, hi) = map_box(a, &to_map);
        for i in 0..3 {
            let (wl, wh) = (b[0][i].as_f64().unwrap(), b[1][i].as_f64().unwrap());
            assert!(
                (lo[i] - wl).abs() < 1e-3 && (hi[i] - wh).abs() < 1e-3,
                "{gid} axis {i}: {lo:?}–{hi:?}, IfcOpenShell {wl}–{wh}"
            );
        }
    }
    // On Chongming island (CGCS2000 ≡ WGS84 to the metre here).
    let c = geo::Centroid::centroid(&assets[0].geometry).unwrap();
    assert!(
        (c.x() - 121.4963).abs() < 1e-3 && (c.y() - 31.5958).abs() < 1e-3,
        "{c:?}"
    );

    // The file as it is, with the map's CRS given: the same model, 642,000 m west and
    // 3,498 km south (its Eastings 15 m, Northings 0).
    let given = ReadOptions {
        crs: Some(cgcs.clone()),
        ..ReadOptions::default()
    };
    let m = read_ifc_bytes(text.as_bytes(), "angle.ifc", &given).unwrap();
    assert!(matches!(
        m.placed_by,
        PlacedBy::MapConversion {
            crs_given: true,
            ..
        }
    ));
    let gid = boxes.keys().next().unwrap();
    let a = m.assets.iter().flatten().find(|a| a.id == *gid).unwrap();
    let (lo, _) = map_box(a, &to_map);
    let want = boxes[gid][0].as_array().unwrap();
    let d = [
        lo[0] - (want[0].as_f64().unwrap() - 642_000.0),
        lo[1] - (want[1].as_f64().unwrap() - 3_498_000.0),
        lo[2] - (want[2].as_f64().unwrap() - 4.0),
    ];
    assert!(d.iter().all(|d| d.abs() < 1e-3), "{d:?}");
}

/// A point inside a known space finds that space (and its storey's elements are its
/// storey's): FZK-Haus, model coordinates from IfcOpenShell's meshes (docs/bim-plan.md).
#[test]
fn a_point_in_a_room_finds_the_room_and_a_storey_lists_its_elements() {
    let path = model("AC20-FZK-Haus.ifc");
    let m = read_ifc(&path, &ReadOptions::default()).unwrap();
    let placement = m.placement.clone();
    let (twin, _) = twin_core::Twin::from_reads(vec![m.assets], twin_core::LoadMode::Strict)
        .expect("strict load");
    let spaces = twin_core::KindFilter::Is(twin_core::AssetKind::Custom("ifc_space".into()));
    let at = |x: f64, y: f64, z: f64| -> Vec<String> {
        let [lon, lat, h] = placement.to_wgs84([x, y, z]).unwrap();
        twin.query_containing_3d(lon, lat, h, Some(&spaces))
            .into_iter()
            .map(|h| twin.get(h).unwrap().name_en.clone().unwrap_or_default())
            .collect()
    };
    // The bedroom's middle.
    assert_eq!(at(9.675, 6.975, 1.25), vec!["Schlafzimmer"]);
    // The Galerie is a gable: under the ridge inside, above the slope near the eaves
    // outside although inside its box; between the storeys in no space.
    assert_eq!(at(6.0, 5.0, 4.0), vec!["Galerie"], "under the ridge");
    assert!(at(6.0, 1.0, 5.8).is_empty(), "above the Galerie's slope");
    assert!(at(6.0, 5.0, 2.6).is_empty(), "in the floor slab");
    // Outside the house.
    assert!(at(-3.0, 5.0, 1.0).is_empty());

    // Each storey stands at its elevation (as IfcOpenShell reads it; twin takes the
    // floor from the storey's rooms), spans its elements' footprints, and holds a
    // point on its floor.
    let r = reference(&path);
    let zero = placement.to_wgs84([0.0, 0.0, 0.0]).unwrap()[2];
    let storeys =
        twin_core::KindFilter::Is(twin_core::AssetKind::Custom("ifc_building_storey".into()));
    for s in r["storeys"].as_array().unwrap() {
        let a = twin
            .get(twin.handle(s["id"].as_str().unwrap()).unwrap())
            .unwrap();
        let elevation = s["elevation"].as_f64().unwrap();
        assert!(
            (a.vertical.base - zero - elevation).abs() < 0.01,
            "{}: floor {} vs elevation {elevation}",
            s["name"],
            a.vertical.base - zero
        );
        assert!(
            matches!(a.geometry, geo::Geometry::Polygon(_)),
            "{:?}",
            a.geometry
        );
        let [lon, lat, h] = placement.to_wgs84([6.0, 5.0, elevation + 1.0]).unwrap();
        let found = twin.query_containing_3d(lon, lat, h, Some(&storeys));
        assert_eq!(found, vec![twin.handle(&a.id).unwrap()], "{}", s["name"]);
    }

    // Erdgeschoss: its spaces and elements, as IfcOpenShell contains and aggregates them.
    let ground = r["storeys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Erdgeschoss")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut want: Vec<String> = r["containers"]
        .as_object()
        .unwrap()
        .iter()
        .chain(r["aggregates"].as_object().unwrap())
        .filter(|(_, whole)| whole.as_str() == Some(ground.as_str()))
        .map(|(part, _)| part.clone())
        .filter(|id| twin.handle(id).is_some())
        .collect();
    want.sort();
    want.dedup();
    let h = twin.handle(&ground).unwrap();
    let mut got: Vec<String> = twin
        .parts(h)
        .into_iter()
        .map(|p| twin.get(p).unwrap().id.to_string())
        .collect();
    got.sort();
    assert_eq!(got, want);
    assert!(got.len() > 10, "{}", got.len());
    // The building holds both storeys and everything in them.
    let building = twin
        .iter()
        .find(|(_, a)| a.kind == twin_core::AssetKind::Building)
        .unwrap()
        .0;
    let within = twin.parts_within(building);
    assert!(within.contains(&h));
    assert!(within.len() > got.len() + 2);
}

#[test]
fn a_model_without_a_site_needs_a_place() {
    let path = model("hello-wall.ifc");
    let err = read_ifc(&path, &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("hello-wall.ifc") && err.contains("--place"),
        "{err}"
    );
    let place = Place::parse("121.397,31.623,0,3").unwrap();
    let r = reference(&path);
    let (assets, by) = assets(&path, Some(&place));
    assert_eq!(by, PlacedBy::Given);
    check_against_reference(&assets, &r);
    // The wall stands where it was put, from 3 m up.
    let wall = assets.iter().find(|a| class(a) == "IfcWall").unwrap();
    let c = geo::Centroid::centroid(&wall.geometry).unwrap();
    assert!(
        (c.x() - 121.397).abs() < 1e-3 && (c.y() - 31.623).abs() < 1e-3,
        "{c:?}"
    );
    assert!(
        (wall.vertical.base - 3.0).abs() < 0.5,
        "{:?}",
        wall.vertical
    );
}

#[test]
fn broken_models_are_refused_naming_what_is_wrong() {
    let good = std::fs::read(model("AC20-FZK-Haus.ifc")).unwrap();
    let cut = &good[..good.len() / 2];
    let err = read_ifc_bytes(cut, "cut.ifc", &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("cut.ifc: truncated"), "{err}");
    // A wall whose representation is not in the file.
    let text = String::from_utf8_lossy(&good).into_owned();
    let at = text.find("IFCWALLSTANDARDCASE(").unwrap();
    let line_start = text[..at].rfind('#').unwrap();
    let end = at + text[at..].find(";").unwrap();
    let entity = &text[line_start..end];
    let rep = entity.match_indices('#').nth(3).map(|(i, _)| i).unwrap();
    let num_end = rep
        + 1
        + entity[rep + 1..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap();
    let broken = format!(
        "{}{}#999999{}{}",
        &text[..line_start],
        &entity[..rep],
        &entity[num_end..],
        &text[end..]
    );
    let err = read_ifc_bytes(broken.as_bytes(), "dangling.ifc", &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("refers to #999999"), "{err}");
    let unknown = text.replacen("FILE_SCHEMA(('IFC4'))", "FILE_SCHEMA(('IFC9'))", 1);
    let err = read_ifc_bytes(unknown.as_bytes(), "ifc9.ifc", &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("IFC9"), "{err}");
    let err = read_ifc_bytes(b"not a model", "x.ifc", &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a STEP file"), "{err}");
    // A name with apostrophes not doubled (`'Wand'E'xt'`): the quotes pair up, so
    // the STEP check passes, but ifc-lite's scan drops the record as malformed and
    // reports it (that went to stderr while the rest loaded without the wall).
    let stray = text.replacen("'Wand-Ext-ERDG-1'", "'Wand'E'xt'", 1);
    let err = read_ifc_bytes(stray.as_bytes(), "quote.ifc", &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("quote.ifc: ") && err.contains("no terminating ';'"),
        "{err}"
    );
}
