//! The desktop viewer, run for real under Xvfb on lavapipe: it opens the island with
//! the simulator running, selects and flies to a building, and saves a screenshot in
//! which the map is drawn and the selected building is highlighted at its centre.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Xvfb(Child);

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A display to run on: `$DISPLAY`, or a private Xvfb; `None` to skip (outside CI).
fn display() -> Option<(String, Option<Xvfb>)> {
    if let Ok(d) = std::env::var("DISPLAY")
        && !d.is_empty()
    {
        return Some((d, None));
    }
    let xvfb = ["/usr/bin/Xvfb", "/usr/local/bin/Xvfb"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(xvfb) = xvfb else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have Xvfb (scripts/test installs xvfb)"
        );
        eprintln!("skipping: no DISPLAY and no Xvfb");
        return None;
    };
    let n = 100 + std::process::id() % 400;
    let child = Command::new(xvfb)
        .args([
            format!(":{n}").as_str(),
            "-screen",
            "0",
            "1280x720x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb starts");
    let guard = Xvfb(child);
    // Wait for its socket.
    for _ in 0..100 {
        if std::path::Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Some((format!(":{n}"), Some(guard)))
}

#[test]
fn the_viewer_opens_the_island_and_highlights_a_selected_building() {
    let Some((display, _xvfb)) = display() else {
        return;
    };
    let out: PathBuf = std::env::temp_dir().join(format!("twin-viewer-{}.png", std::process::id()));
    let _ = std::fs::remove_file(&out);
    let runtime = std::env::temp_dir().join(format!("twin-xdg-{}", std::process::id()));
    std::fs::create_dir_all(&runtime).unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_twin-viewer"))
        .args([
            "--size",
            "1280x720",
            "--speed",
            "30",
            "--select",
            "CM-BLD-000001",
        ])
        .args(["--screenshot", out.to_str().unwrap(), "--after", "15"])
        .env("DISPLAY", &display)
        .env("XDG_RUNTIME_DIR", &runtime)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("twin-viewer runs");
    assert!(status.success(), "twin-viewer exited with {status}");
    let img = image::open(&out)
        .expect("a screenshot was saved")
        .to_rgba8();
    assert_eq!(img.dimensions(), (1280, 720));
    // The map fills the middle: many colours there (land, roads, buildings, markers),
    // not the window's clear colour.
    let mut colours = std::collections::HashSet::new();
    for y in (150..450).step_by(5) {
        for x in (300..900).step_by(5) {
            colours.insert(img.get_pixel(x, y).0);
        }
    }
    assert!(
        colours.len() > 50,
        "only {} colours in the map area",
        colours.len()
    );
    // The selected building sits at the map's centre, tinted cyan by the selection
    // (no overlay colour is cyan).
    let cyan = (420..760)
        .flat_map(|x| (120..420).map(move |y| (x, y)))
        .filter(|&(x, y)| {
            let p = img.get_pixel(x, y).0;
            p[0] < 190 && p[1] > 190 && p[2] > 210
        })
        .count();
    assert!(
        cyan > 30,
        "no highlighted building near the map centre ({cyan} cyan pixels)"
    );
}
