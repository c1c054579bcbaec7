//! `twin render` end to end on lavapipe: framing an asset, its selection highlight at
//! the image centre, a live overlay changing its colour, and clear errors.

use std::process::{Command, Output};

fn twin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_twin"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Renders; `None` (skip) when there is no GPU adapter outside CI.
fn render(args: &[&str]) -> Option<image::RgbaImage> {
    static RENDERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RENDERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = std::env::temp_dir().join(format!("twin-render-{}-{n}.png", std::process::id()));
    let mut all = vec![
        "render",
        "--out",
        out.to_str().unwrap(),
        "--width",
        "320",
        "--height",
        "240",
    ];
    all.extend_from_slice(args);
    let o = twin(&all);
    if !o.status.success()
        && stderr(&o).contains("no graphics adapter")
        && std::env::var_os("CI").is_none()
    {
        eprintln!("skipping: {}", stderr(&o));
        return None;
    }
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("draw calls"), "{}", stderr(&o));
    Some(image::open(&out).unwrap().to_rgba8())
}

#[test]
fn render_frames_an_asset_highlights_it_and_colours_it_by_overlay() {
    let Some(plain) = render(&["--asset", "CM-BLD-000001"]) else {
        return;
    };
    assert_eq!(plain.dimensions(), (320, 240));
    // Looking straight down at the selected building: the centre is its roof, tinted cyan.
    let c = plain.get_pixel(160, 120).0;
    assert!(c[0] < 190 && c[1] > 190 && c[2] > 210, "centre {c:?}");
    // With the building-energy overlay the roof's colour under the tint changes.
    let live = render(&["--asset", "CM-BLD-000001", "--overlay", "building energy"]).unwrap();
    let d = live.get_pixel(160, 120).0;
    assert_ne!(c, d, "the overlay must change the building's colour");
    assert!(d[1] > 150 && d[2] > 150, "still highlighted: {d:?}");
}

#[test]
fn render_takes_an_overlay_file() {
    let dir = std::env::temp_dir().join(format!("twin-overlay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Every building-energy meter (so its building) one colour, whatever it reads.
    let file = |name: &str, colour: &str| {
        let path = dir.join(name);
        std::fs::write(
            &path,
            format!(
                r#"[{{"name": "energy", "kinds": "sensor:building_energy", "channel": "energy",
                     "thresholds": {{"breaks": [], "colors": ["{colour}"]}}}}]"#
            ),
        )
        .unwrap();
        path.to_str().unwrap().to_string()
    };
    let red = file("red.json", "#ff0000");
    let blue = file("blue.json", "#0000ff");
    let Some(r) = render(&["--asset", "CM-BLD-000001", "--overlay", &red]) else {
        return;
    };
    let b = render(&["--asset", "CM-BLD-000001", "--overlay", &blue]).unwrap();
    // The roof at the centre, under the selection tint: red shows more red, blue more blue.
    let (r, b) = (r.get_pixel(160, 120).0, b.get_pixel(160, 120).0);
    assert!(
        r[0] > b[0] + 40 && b[2] > r[2] + 40,
        "red {r:?}, blue {b:?}"
    );

    // A bad file is refused with its path, the layer and the problem.
    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        r##"[{"name": "e", "kinds": "building", "channel": "joules", "ramp": [[0, "#000000"]]}]"##,
    )
    .unwrap();
    let out = dir.join("never.png");
    let o = twin(&[
        "render",
        "--out",
        out.to_str().unwrap(),
        "--overlay",
        bad.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("bad.json: overlay layer 0 (`e`): unknown channel `joules`"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn render_refuses_unknown_towns_layers_and_models() {
    let out = std::env::temp_dir().join("twin-render-never.png");
    let out = out.to_str().unwrap();
    let o = twin(&["render", "--out", out, "--town", "Atlantis"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("no town `Atlantis`") && stderr(&o).contains("城桥镇"),
        "{}",
        stderr(&o)
    );
    let o = twin(&["render", "--out", out, "--overlay", "moonlight"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("no layer `moonlight`") && stderr(&o).contains("water level"),
        "{}",
        stderr(&o)
    );
    let o = twin(&["render", "--out", out, "--hide", "clouds"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no layer `clouds`"), "{}", stderr(&o));
    let o = twin(&["render", "--out", out, "--model", "nothing.glb"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("expected FILE.glb@ASSET_ID"),
        "{}",
        stderr(&o)
    );
    let o = twin(&[
        "render",
        "--out",
        out,
        "--model",
        "/nonexistent.glb@CM-BLD-000001",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("/nonexistent.glb"), "{}", stderr(&o));
}

/// FZK-Haus stood on an island building and cut at 1.5 m, or its ground storey
/// isolated: looking straight down at the selected bedroom, the centre is its floor
/// (tinted cyan); without the cut it is the red roof over it. A corner of the picture away from the house is the island.
#[test]
fn a_section_through_a_model_shows_the_picked_room() {
    let model = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../twin-bim/tests/data/external/AC20-FZK-Haus.ifc"
    );
    let args = |cut: Option<&'static str>| {
        let mut a = vec![
            "--bim",
            model,
            "--place",
            "@CM-BLD-008456",
            "--asset",
            "347jFE2yX7IhCEIALmupEH",
            "--hide",
            "markers",
        ];
        if let Some(c) = cut {
            a.extend(c.split(' '));
        }
        a
    };
    let Some(cut) = render(&args(Some("--section 1.5"))) else {
        return;
    };
    let c = cut.get_pixel(160, 120).0;
    assert!(
        c[0] < 190 && c[1] > 190 && c[2] > 190,
        "the room's floor: {c:?}"
    );
    let roof = render(&args(None)).unwrap();
    let r = roof.get_pixel(160, 120).0;
    assert!(r[0] > r[2] + 20, "the roof above the room: {r:?}");
    // Storey isolation: the ground storey shows without the attic and the roof, by
    // the storey's name or its GlobalId.
    for storey in ["--storey Erdgeschoss", "--storey 2eyxpyOx95m90jmsXLOuR0"] {
        let c = render(&args(Some(storey))).unwrap().get_pixel(160, 120).0;
        assert!(
            c[0] < 190 && c[1] > 190 && c[2] > 190,
            "{storey}: the room's floor: {c:?}"
        );
    }
    let attic = render(&args(Some("--storey Dachgeschoss"))).unwrap();
    let a = attic.get_pixel(160, 120).0;
    // The attic holds the roof's slabs: isolated, it shows without them, its floor
    // over the bedroom (neither the roof's red nor the bedroom's cyan).
    assert!(
        !(a[0] < 190 && a[1] > 190 && a[2] > 190) && a != r && a[0] < a[2] + 60,
        "the attic's floor: {a:?} (roof {r:?})"
    );
    // See-through: the roof keeps a third of its pixels (an ordered dither), and what
    // is under it shows through the rest.
    let xray = render(&args(Some("--see-through"))).unwrap();
    let mut sum = [0u32; 3];
    for y in 116..124 {
        for x in 156..164 {
            let p = xray.get_pixel(x, y).0;
            (0..3).for_each(|i| sum[i] += u32::from(p[i]));
        }
    }
    let roof_pixels = (116..124)
        .flat_map(|y| (156..164).map(move |x| (x, y)))
        .filter(|&(x, y)| xray.get_pixel(x, y).0 == roof.get_pixel(x, y).0)
        .count();
    assert!(
        (16..=26).contains(&roof_pixels),
        "{roof_pixels} of 64 pixels the roof's ({sum:?})"
    );
    let out = std::env::temp_dir().join(format!("twin-keller-{}.png", std::process::id()));
    let o = twin(&[
        "render",
        "--out",
        out.to_str().unwrap(),
        "--bim",
        model,
        "--place",
        "@CM-BLD-008456",
        "--storey",
        "Keller",
    ]);
    assert!(!o.status.success());
    assert!(!out.exists());
    let err = stderr(&o);
    assert!(
        err.contains("--storey: no storey `Keller`; the storeys are Erdgeschoss (2eyxpyOx95m90jmsXLOuR0), Dachgeschoss"),
        "{err}"
    );
}
