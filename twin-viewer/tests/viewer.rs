//! The desktop viewer, run for real under Xvfb on lavapipe: it opens the island with
//! the simulator running (or a twin served in-process by twin-server, `--connect`),
//! selects and flies to a building, and saves a screenshot in which the map is drawn
//! and the selected building is highlighted at its centre.

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
    // One display per test: the tests of this binary run at once, and one that ended
    // would take a shared server down with it.
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let k = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 8;
    let n = 100 + (std::process::id() % 100) * 8 + k;
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

#[test]
fn an_incident_selected_at_start_is_framed_and_its_footprint_drawn() {
    let Some((display, _xvfb)) = display() else {
        return;
    };
    let out: PathBuf =
        std::env::temp_dir().join(format!("twin-viewer-incident-{}.png", std::process::id()));
    let _ = std::fs::remove_file(&out);
    let runtime = std::env::temp_dir().join(format!("twin-xdg-i-{}", std::process::id()));
    std::fs::create_dir_all(&runtime).unwrap();
    // Twelve simulated minutes in, incident #2 is the exposed garbage a camera saw (a
    // warning): its footprint, 200 m around the camera, fills the framed map.
    let status = Command::new(env!("CARGO_BIN_EXE_twin-viewer"))
        .args(["--size", "1280x720", "--scale", "0.1", "--skip", "12"])
        .args(["--incident", "2"])
        .args(["--screenshot", out.to_str().unwrap(), "--after", "10"])
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
    // The outline is drawn in the warning colour, rgb(240, 160, 40), which nothing
    // else on the map uses (the incident list beside it does, so only the map is
    // counted: x 235–875, y 30–455 at this size).
    let outline = (235..875)
        .flat_map(|x| (30..455).map(move |y| (x, y)))
        .filter(|&(x, y)| {
            let p = img.get_pixel(x, y).0;
            p[0].abs_diff(240) < 16 && p[1].abs_diff(160) < 16 && p[2].abs_diff(40) < 24
        })
        .count();
    assert!(outline > 500, "no footprint outline ({outline} pixels)");
}

/// A served small island (5 % of the synthetic infrastructure, seed 2026), simulated
/// for 16 minutes before it is served (its incidents start 5, 10 and 15 minutes in,
/// so alerts are open), then fed by the same simulator every wall-clock second.
fn serve_island() -> (twin_server::Running, twin_core::Twin) {
    use twin_chongming::sim::{SimConfig, Simulator, standard_config, standard_session};
    let island = twin_chongming::SynthConfig {
        seed: 2026,
        scale: 0.05,
    };
    let twin = twin_chongming::island::load(&island).unwrap();
    let (mut session, channels) = standard_session(
        twin,
        standard_config(3_600_000, None),
        twin_chongming::DEFAULT_RULES_JSON,
    )
    .unwrap();
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let now = wall / 1000 * 1000;
    let start = now - 16 * 60_000;
    let config =
        SimConfig::default_for(session.twin(), 7, twin_core::Timestamp::from_millis(start));
    let mut sim = Simulator::new(session.twin(), &channels, config);
    for t in (start..=now).step_by(1000) {
        sim.drive(&mut session, twin_core::Timestamp::from_millis(t));
    }
    assert!(
        !session.open_alerts().is_empty(),
        "the incidents raised alerts"
    );
    let tokens = twin_server::Tokens::parse(
        "operator-token-0123456789abcdef operator duty\n",
        "test-tokens",
    )
    .unwrap();
    let running = twin_server::spawn(
        &twin_server::ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            tls: None,
            mqtt: None,
        },
        twin_server::Served::new(
            session,
            Some(tokens),
            twin_server::Limits::default(),
            "viewer test",
        ),
        twin_server::Feed::Driver(Box::new(move |s: &mut twin_core::Session, t| {
            sim.drive(s, t)
        })),
        false,
    )
    .unwrap();
    // The same assets again, for the test's own lookups.
    (running, twin_chongming::island::load(&island).unwrap())
}

/// A building with sensors attached (the inspector pins their values).
fn building_with_sensors(twin: &twin_core::Twin) -> String {
    twin.iter()
        .filter_map(|(h, _)| twin.attached_to(h))
        .filter_map(|host| twin.get(host))
        .find(|a| a.kind == twin_core::AssetKind::Building)
        .map(|a| a.id.clone())
        .expect("a building with an energy sensor")
}

#[test]
fn the_viewer_shows_a_served_twin_live() {
    let Some((display, _xvfb)) = display() else {
        return;
    };
    let (server, twin) = serve_island();
    let url = format!("http://{}", server.addr());
    let select = building_with_sensors(&twin);
    let out: PathBuf =
        std::env::temp_dir().join(format!("twin-viewer-served-{}.png", std::process::id()));
    let _ = std::fs::remove_file(&out);
    let runtime = std::env::temp_dir().join(format!("twin-xdg-s-{}", std::process::id()));
    std::fs::create_dir_all(&runtime).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_twin-viewer"))
        .args(["--size", "1280x720", "--scale", "0.05", "--seed", "2026"])
        .args(["--connect", &url, "--select", &select])
        .args(["--screenshot", out.to_str().unwrap(), "--after", "6"])
        .env("TWIN_TOKEN", "operator-token-0123456789abcdef")
        .env("DISPLAY", &display)
        .env("XDG_RUNTIME_DIR", &runtime)
        .output()
        .expect("twin-viewer runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "twin-viewer exited with {}: {}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    // The link's counters, printed at exit: connected once, the whole district's
    // colours and the pinned building's sensor values arrived, and the server's open
    // alerts (the incidents') are the viewer's.
    let line = stdout
        .lines()
        .find(|l| l.starts_with("twin-viewer: served by"))
        .unwrap_or_else(|| panic!("no link summary in {stdout}"));
    let count = |what: &str| -> u64 {
        let i = line
            .find(what)
            .unwrap_or_else(|| panic!("`{what}` in {line}"));
        line[..i]
            .trim_end()
            .rsplit([' ', '('])
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("a number before `{what}` in {line}"))
    };
    assert!(line.contains("Live"), "{line}");
    assert_eq!(count(" connections"), 1, "{line}");
    assert!(count(" colour frames") >= 1, "{line}");
    assert!(count(" runs)") >= 1, "{line}");
    assert!(count(" values") >= 1, "pinned values arrived: {line}");
    assert!(count(" open alerts") >= 1, "{line}");
    assert_eq!(count(" bad frames"), 0, "{line}");
    let img = image::open(&out)
        .expect("a screenshot was saved")
        .to_rgba8();
    // The map is drawn in the server's colours, and the selected building is
    // highlighted at the map's centre.
    let mut colours = std::collections::HashSet::new();
    for y in (150..450).step_by(5) {
        for x in (300..900).step_by(5) {
            colours.insert(img.get_pixel(x, y).0);
        }
    }
    assert!(colours.len() > 50, "only {} colours", colours.len());
    let cyan = (420..760)
        .flat_map(|x| (120..420).map(move |y| (x, y)))
        .filter(|&(x, y)| {
            let p = img.get_pixel(x, y).0;
            p[0] < 190 && p[1] > 190 && p[2] > 210
        })
        .count();
    assert!(cyan > 30, "no highlighted building ({cyan} cyan pixels)");
    server.stop();
}

#[test]
fn the_viewer_refuses_a_server_with_other_assets_or_a_bad_token_before_opening() {
    let (server, _) = serve_island();
    let url = format!("http://{}", server.addr());
    // Another scale: other assets, other handles.
    let run = Command::new(env!("CARGO_BIN_EXE_twin-viewer"))
        .args(["--scale", "0.06", "--seed", "2026", "--connect", &url])
        .env("TWIN_TOKEN", "operator-token-0123456789abcdef")
        .env_remove("DISPLAY")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(err.contains("other assets"), "{err}");
    // An overlay the server does not offer.
    let run = Command::new(env!("CARGO_BIN_EXE_twin-viewer"))
        .args(["--scale", "0.05", "--seed", "2026", "--connect", &url])
        .args(["--overlay", "flood"])
        .env("TWIN_TOKEN", "operator-token-0123456789abcdef")
        .env_remove("DISPLAY")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(err.contains("no such overlay (default)"), "{err}");
    // A token the server does not know.
    let run = Command::new(env!("CARGO_BIN_EXE_twin-viewer"))
        .args(["--scale", "0.05", "--seed", "2026", "--connect", &url])
        .args(["--token", "not-a-token-of-this-server-000000"])
        .env_remove("DISPLAY")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(err.contains("401"), "{err}");
    server.stop();
}

/// Runs the viewer on a data directory until its screenshot; returns its stderr.
fn viewer_on_data_dir(display: &str, dir: &std::path::Path, skip_min: &str, tag: &str) -> String {
    let out = std::env::temp_dir().join(format!("twin-viewer-dd-{tag}-{}.png", std::process::id()));
    let runtime = std::env::temp_dir().join(format!("twin-xdg-dd-{}", std::process::id()));
    std::fs::create_dir_all(&runtime).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_twin-viewer"))
        .args(["--size", "800x600", "--scale", "0.05", "--skip", skip_min])
        .args(["--data-dir", dir.to_str().unwrap()])
        .args(["--screenshot", out.to_str().unwrap(), "--after", "3"])
        .env("DISPLAY", display)
        .env("XDG_RUNTIME_DIR", &runtime)
        .output()
        .expect("twin-viewer runs");
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(
        o.status.success(),
        "twin-viewer exited with {}\n{err}",
        o.status
    );
    assert!(out.exists(), "no screenshot\n{err}");
    std::fs::remove_file(&out).ok();
    err
}

#[test]
fn the_viewer_keeps_its_twin_in_a_data_dir_and_comes_back_with_its_history() {
    let Some((display, _xvfb)) = display() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("twin-viewer-data-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let gauge = "CM-S-WL-000001";
    // Two simulated minutes before the window opens (2026-11-21 00:00 UTC on).
    let err = viewer_on_data_dir(&display, &dir, "2", "a");
    assert!(err.contains("0 records replayed"), "{err}");
    let (first, problems) =
        twin_store::read_series(&dir, gauge, "level", i64::MIN, i64::MAX).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    assert!(first.len() >= 120, "{} samples kept", first.len());
    assert_eq!(first[0].ts, 1_795_219_201_000, "the first simulated second");
    // Started again: what the first run journalled is replayed, and the simulation
    // goes on from where it stopped, two more minutes.
    let err = viewer_on_data_dir(&display, &dir, "2", "b");
    let replayed: u64 = err
        .split("data dir ")
        .nth(1)
        .and_then(|l| l.split(": ").nth(1))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no recovery line\n{err}"));
    assert!(replayed >= 120, "{replayed} records replayed\n{err}");
    let (second, _) = twin_store::read_series(&dir, gauge, "level", i64::MIN, i64::MAX).unwrap();
    assert!(
        second.len() >= first.len() + 120,
        "{} then {}",
        first.len(),
        second.len()
    );
    assert_eq!(
        &second[..first.len()],
        &first[..],
        "the first run's history is kept"
    );
    std::fs::remove_dir_all(&dir).ok();
}
