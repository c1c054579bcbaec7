//! Rendering on a real wgpu device (Mesa's lavapipe here): pixel colours at the
//! projected positions of known assets, live state without re-meshing, exact picking,
//! a reference image, and naga validation of every shader.

use geo_types::{Geometry, LineString, Point, Polygon};
use twin_core::crs::LocalFrame;
use twin_core::state::Rgba;
use twin_core::{Asset, AssetKind, Handle, SensorType, Twin};
use twin_render::{Headless, Image, LayerKind, OrbitCamera, Scene};

/// A headless renderer, or `None` (test skipped) where no adapter exists outside CI.
fn headless(w: u32, h: u32, scene: &Scene) -> Option<Headless> {
    match Headless::with_scene(w, h, scene) {
        Ok(hl) => Some(hl),
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping: {e}");
            None
        }
        Err(e) => panic!("CI must have a GPU adapter (lavapipe): {e}"),
    }
}

/// Degrees of longitude/latitude for `m` metres east/north near the frame origin.
fn deg(m: f64) -> (f64, f64) {
    (m / 94_980.0, m / 110_870.0)
}

fn square(cx: f64, cy: f64, half_m: f64) -> Polygon<f64> {
    let (o_lon, o_lat) = (121.60, 31.50);
    let (dx, dy) = deg(half_m);
    let (x, y) = (o_lon + deg(cx).0, o_lat + deg(cy).1);
    Polygon::new(
        LineString::from(vec![
            (x - dx, y - dy),
            (x + dx, y - dy),
            (x + dx, y + dy),
            (x - dx, y + dy),
            (x - dx, y - dy),
        ]),
        vec![],
    )
}

struct Known {
    island: Handle,
    building: Handle,
    sensor: Handle,
    scene: Scene,
}

/// A 2 km island, a 60 m square building 20 m tall at its centre (the frame origin),
/// a sensor 400 m east.
fn known() -> Known {
    let mut twin = Twin::new(LocalFrame::chongming());
    let island = twin
        .insert(Asset::new(
            "ISL",
            AssetKind::Island,
            Geometry::Polygon(square(0.0, 0.0, 1000.0)),
        ))
        .unwrap();
    let mut b = Asset::new(
        "BLD",
        AssetKind::Building,
        Geometry::Polygon(square(0.0, 0.0, 30.0)),
    );
    b.vertical.height = 20.0;
    let building = twin.insert(b).unwrap();
    let (dx, _) = deg(400.0);
    let sensor = twin
        .insert(Asset::new(
            "S1",
            AssetKind::Sensor(SensorType::Noise),
            Geometry::Point(Point::new(121.60 + dx, 31.50)),
        ))
        .unwrap();
    let scene = Scene::build(&twin);
    Known {
        island,
        building,
        sensor,
        scene,
    }
}

fn top_down() -> OrbitCamera {
    OrbitCamera::top_down([-1000.0, -1000.0, 0.0], [1000.0, 1000.0, 0.0], 1.0)
}

/// The colour the shader gives a horizontal surface of sRGB colour `c`: linear colour
/// × (ambient 0.35 + 0.65 × sin 55°, the sun's height), back to sRGB.
fn lit_flat(c: [u8; 3]) -> [u8; 3] {
    let k = 0.35 + 0.65 * 55f64.to_radians().sin();
    c.map(|v| {
        let x = v as f64 / 255.0;
        let lin = if x <= 0.04045 {
            x / 12.92
        } else {
            ((x + 0.055) / 1.055).powf(2.4)
        } * k;
        let s = if lin <= 0.0031308 {
            lin * 12.92
        } else {
            1.055 * lin.powf(1.0 / 2.4) - 0.055
        };
        (s * 255.0).round() as u8
    })
}

fn near(got: [u8; 4], want: [u8; 3], tol: i32) -> bool {
    (0..3).all(|i| (got[i] as i32 - want[i] as i32).abs() <= tol)
}

fn pixel_at(img: &Image, cam: &OrbitCamera, p: [f32; 3]) -> [u8; 4] {
    let q = cam.project(p, img.width, img.height).unwrap();
    img.pixel(q[0] as u32, q[1] as u32).unwrap()
}

#[test]
fn every_shader_entry_point_validates_with_naga() {
    let module = naga::front::wgsl::parse_str(twin_render::SHADER).expect("WGSL parses");
    let mut v = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    );
    v.validate(&module).expect("the module validates");
    let names: Vec<&str> = module
        .entry_points
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    for want in [
        "vs_main",
        "vs_line",
        "vs_marker",
        "fs_main",
        "fs_blend",
        "fs_edge",
        "fs_line",
        "fs_pick",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
}

#[test]
fn known_scene_has_known_colours_and_live_state_does_not_remesh() {
    let k = known();
    let Some(mut hl) = headless(256, 256, &k.scene) else {
        return;
    };
    let cam = top_down();
    let (img, stats) = hl.render(&cam).unwrap();
    // Land, building layers (fill + edges) and markers: four draw calls.
    assert_eq!(stats.draw_calls, 4, "{stats:?}");
    // The corner is estuary; land 500 m from the building is lit land; the roof (20 m up)
    // is the building colour lit the same (it is horizontal too).
    assert!(
        near(img.pixel(2, 2).unwrap(), [140, 179, 209], 1),
        "{:?}",
        img.pixel(2, 2)
    );
    let land = pixel_at(&img, &cam, [-500.0, -500.0, 0.0]);
    assert!(
        near(land, lit_flat([232, 228, 214]), 2),
        "{land:?} vs {:?}",
        lit_flat([232, 228, 214])
    );
    let roof = pixel_at(&img, &cam, [0.0, 0.0, 20.0]);
    assert!(near(roof, lit_flat([226, 218, 204]), 2), "{roof:?}");
    let uploads = hl.renderer.stats().mesh_uploads;

    // The overlay turns the building red, then blue: the roof follows, no mesh rebuilt.
    hl.renderer.set_state(k.building, Rgba::rgb(255, 0, 0));
    let (img, _) = hl.render(&cam).unwrap();
    assert!(near(
        pixel_at(&img, &cam, [0.0, 0.0, 20.0]),
        lit_flat([255, 0, 0]),
        2
    ));
    assert!(near(
        pixel_at(&img, &cam, [-500.0, -500.0, 0.0]),
        lit_flat([232, 228, 214]),
        2
    ));
    hl.renderer.update_state(
        &{
            let mut c = vec![Rgba::NONE; 3];
            c[k.building.index()] = Rgba::rgb(0, 0, 255);
            c
        },
        std::slice::from_ref(&(k.building.0..k.building.0 + 1)),
    );
    let (img, _) = hl.render(&cam).unwrap();
    assert!(near(
        pixel_at(&img, &cam, [0.0, 0.0, 20.0]),
        lit_flat([0, 0, 255]),
        2
    ));
    // A run of colours from a start handle (how the bevy plugin sends them).
    hl.renderer
        .set_state_run(k.building.0, &[Rgba::rgb(0, 255, 0)]);
    let (img, _) = hl.render(&cam).unwrap();
    assert!(near(
        pixel_at(&img, &cam, [0.0, 0.0, 20.0]),
        lit_flat([0, 255, 0]),
        2
    ));
    assert_eq!(
        hl.renderer.stats().mesh_uploads,
        uploads,
        "a state change must not re-mesh"
    );
    // Three state flushes after the first frame's, each one texture row (2048 × 4 bytes).
    assert_eq!(hl.renderer.stats().state_uploads, 4);
    assert_eq!(hl.renderer.stats().state_bytes, 4 * 2048 * 4);

    // Hiding the buildings shows the land under them.
    hl.renderer.set_layer_visible(LayerKind::Buildings, false);
    let (img, stats) = hl.render(&cam).unwrap();
    assert_eq!(stats.draw_calls, 2);
    assert!(near(
        pixel_at(&img, &cam, [0.0, 0.0, 0.0]),
        lit_flat([232, 228, 214]),
        2
    ));
}

#[test]
fn picking_returns_the_asset_under_the_pixel() {
    let k = known();
    let Some(mut hl) = headless(256, 256, &k.scene) else {
        return;
    };
    let cam = top_down();
    let at = |p: [f32; 3]| {
        let q = cam.project(p, 256, 256).unwrap();
        (q[0] as u32, q[1] as u32)
    };
    let (x, y) = at([0.0, 0.0, 20.0]);
    assert_eq!(hl.pick(&cam, x, y).unwrap(), Some(k.building));
    let (x, y) = at([-500.0, 300.0, 0.0]);
    assert_eq!(hl.pick(&cam, x, y).unwrap(), Some(k.island));
    let (x, y) = at([400.0, 0.0, 0.0]);
    assert_eq!(hl.pick(&cam, x, y).unwrap(), Some(k.sensor));
    assert_eq!(hl.pick(&cam, 1, 1).unwrap(), None, "estuary");
    assert_eq!(hl.pick(&cam, 999, 5).unwrap(), None, "outside the image");
    // The building's edge: 29 m from its centre is inside, 31 m is land.
    let (x, y) = at([0.0, 0.0, 20.0]);
    let px_per_m = 256.0 / (2.0 * cam.distance * (cam.fovy / 2.0).tan());
    let in_px = (25.0 * px_per_m).floor() as u32;
    assert_eq!(hl.pick(&cam, x + in_px, y).unwrap(), Some(k.building));
    let out_px = (36.0 * px_per_m).ceil() as u32;
    assert_eq!(hl.pick(&cam, x + out_px, y).unwrap(), Some(k.island));

    // Selection tints the picked building, nothing else.
    hl.renderer.set_selected(Some(k.building));
    let (img, _) = hl.render(&cam).unwrap();
    let roof = pixel_at(&img, &cam, [0.0, 0.0, 20.0]);
    // The tint is 65% of cyan (0, 0.85, 1) over the base colour, in linear light.
    let lin = |v: u8| ((v as f64 / 255.0 + 0.055) / 1.055).powf(2.4);
    let tint = [0.0, 0.85, 1.0];
    let base = [226u8, 218, 204];
    let want: [u8; 3] = std::array::from_fn(|i| {
        let m = 0.35 * lin(base[i]) + 0.65 * tint[i];
        ((1.055 * m.powf(1.0 / 2.4) - 0.055) * 255.0).round() as u8
    });
    assert!(
        near(roof, lit_flat(want), 2),
        "selected roof {roof:?} vs {:?}",
        lit_flat(want)
    );
    assert!(near(
        pixel_at(&img, &cam, [-500.0, -500.0, 0.0]),
        lit_flat([232, 228, 214]),
        2
    ));
}

#[test]
fn a_tilted_view_shades_walls_differently_from_roofs() {
    let k = known();
    let Some(mut hl) = headless(256, 256, &k.scene) else {
        return;
    };
    // Looking north, 35° down, from 200 m: the south wall faces the camera and the sun.
    let cam = OrbitCamera {
        target: glam::Vec3::new(0.0, 0.0, 10.0),
        distance: 200.0,
        heading: 0.0,
        pitch: 35f32.to_radians(),
        ..OrbitCamera::default()
    };
    let (img, _) = hl.render(&cam).unwrap();
    let roof = pixel_at(&img, &cam, [0.0, 0.0, 20.0]);
    let wall = pixel_at(&img, &cam, [0.0, -30.0, 10.0]);
    // The south wall's normal is (0, −1, 0): light = 0.35 + 0.65 × cos 55° × cos 30°.
    let k_wall = 0.35 + 0.65 * 55f64.to_radians().cos() * 30f64.to_radians().cos();
    let k_roof = 0.35 + 0.65 * 55f64.to_radians().sin();
    assert!(wall[0] < roof[0], "wall {wall:?} roof {roof:?}");
    let ratio = |a: u8, b: u8| {
        let lin = |v: u8| ((v as f64 / 255.0 + 0.055) / 1.055).powf(2.4);
        lin(a) / lin(b)
    };
    let r = ratio(wall[0], roof[0]);
    assert!(
        (r - k_wall / k_roof).abs() < 0.03,
        "{r} vs {}",
        k_wall / k_roof
    );
}

#[test]
fn the_bundled_island_matches_its_reference_image() {
    let twin = twin_chongming::island::bundled().unwrap();
    let scene = Scene::build(&twin);
    let Some(mut hl) = headless(320, 200, &scene) else {
        return;
    };
    let (lo, hi) = scene.bounds.unwrap();
    let cam = OrbitCamera::top_down(lo, hi, 1.6);
    let (img, stats) = hl.render(&cam).unwrap();
    assert!(stats.draw_calls <= 12, "{stats:?}");
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/island-320x200.png");
    let out = std::env::temp_dir().join("twin-island-320x200.png");
    img.save_png(&out).unwrap();
    if std::env::var_os("TWIN_UPDATE_REFERENCE").is_some() {
        img.save_png(&path).unwrap();
        return;
    }
    let reference = Image::load_png(&path).unwrap_or_else(|e| {
        panic!(
            "missing reference {e}; render is at {}; set TWIN_UPDATE_REFERENCE=1 to accept it",
            out.display()
        )
    });
    assert_eq!((reference.width, reference.height), (320, 200));
    let differ = img
        .pixels
        .iter()
        .zip(&reference.pixels)
        .filter(|(a, b)| (0..3).any(|i| (a[i] as i32 - b[i] as i32).abs() > 24))
        .count();
    // Threshold: at most 0.5% of pixels may differ by more than 24 levels in a channel
    // (drivers rasterise sub-pixel markers and line ends a little differently).
    assert!(
        differ * 200 <= img.pixels.len(),
        "{differ} pixels differ; see {}",
        out.display()
    );
}
