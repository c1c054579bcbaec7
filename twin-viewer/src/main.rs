//! `twin-viewer`: the planners' desktop viewer. Opens the bundled island with the
//! simulator running; see `twin-viewer --help`.

use std::path::PathBuf;

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, save_to_disk};
use bevy::window::WindowResolution;
use bevy_egui::{EguiPlugin, EguiPrimaryContextPass};
use twin_viewer::live::Live;
use twin_viewer::ui::{self, Viewer};
use twin_viewer::{TwinLink, TwinPlugin, TwinView};
use twin_render::Scene;

const HELP: &str = "twin-viewer: the live island on the desktop

usage: twin-viewer [--scale S] [--speed N] [--skip MIN] [--size WxH] [--select ID]
                   [--screenshot FILE --after SECONDS]

  --scale S          synthetic infrastructure scale (default: the bundled island, scale 1)
  --speed N          simulated seconds per real second (default 10)
  --skip MIN         simulate MIN minutes before opening (incidents start 5, 10 and
                     15 minutes in: a charger fault, a water-level surge, silent sensors)
  --size WxH         window size in logical pixels (default 1600x900)
  --screenshot FILE  save a screenshot of the window after --after seconds, then exit
  --select ID        select an asset and fly to it at start

Mouse on the map: left-drag pans, right-drag orbits, wheel zooms, click selects.";

/// Command-line options.
#[derive(Clone, Debug, Resource)]
struct Options {
    scale: Option<f64>,
    speed: f64,
    size: (u32, u32),
    screenshot: Option<PathBuf>,
    after_s: f64,
    select: Option<String>,
    skip_min: f64,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        scale: None,
        speed: 10.0,
        size: (1600, 900),
        screenshot: None,
        after_s: 8.0,
        select: None,
        skip_min: 0.0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--help" | "-h" => return Err(HELP.to_string()),
            "--scale" => {
                o.scale = Some(
                    value("--scale")?
                        .parse()
                        .map_err(|e| format!("--scale: {e}"))?,
                )
            }
            "--speed" => {
                o.speed = value("--speed")?
                    .parse()
                    .map_err(|e| format!("--speed: {e}"))?
            }
            "--size" => {
                let v = value("--size")?;
                let (w, h) = v.split_once('x').ok_or("--size: WIDTHxHEIGHT")?;
                o.size = (
                    w.parse().map_err(|e| format!("--size: {e}"))?,
                    h.parse().map_err(|e| format!("--size: {e}"))?,
                );
            }
            "--screenshot" => o.screenshot = Some(PathBuf::from(value("--screenshot")?)),
            "--after" => {
                o.after_s = value("--after")?
                    .parse()
                    .map_err(|e| format!("--after: {e}"))?
            }
            "--select" => o.select = Some(value("--select")?),
            "--skip" => {
                o.skip_min = value("--skip")?
                    .parse()
                    .map_err(|e| format!("--skip: {e}"))?
            }
            other => return Err(format!("unknown argument `{other}`\n\n{HELP}")),
        }
    }
    Ok(o)
}

fn main() {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("{msg}");
            std::process::exit(if msg == HELP { 0 } else { 2 });
        }
    };
    let twin = match opts.scale {
        None => twin_core::island::bundled(),
        Some(s) => twin_core::island::load(&twin_core::synth::SynthConfig {
            scale: s,
            ..Default::default()
        }),
    };
    let twin = match twin {
        Ok(t) => t,
        Err(e) => {
            eprintln!("twin-viewer: loading the island: {e}");
            std::process::exit(1);
        }
    };
    // The simulated clock starts at 2026-11-21 08:00 China time (00:00 UTC).
    let start_ms = 1_795_219_200_000;
    let mut live = match Live::new(twin, start_ms, 7) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("twin-viewer: {e}");
            std::process::exit(1);
        }
    };
    live.fast_forward((opts.skip_min.max(0.0) * 60_000.0) as i64);
    live.speed = opts.speed;
    App::new()
        .add_plugins(DefaultPlugins.set(WindowPlugin {
            primary_window: Some(Window {
                title: "twin — Chongming · Changxing · Hengsha".into(),
                resolution: WindowResolution::new(opts.size.0, opts.size.1),
                ..default()
            }),
            ..default()
        }))
        .add_plugins(EguiPlugin::default())
        .add_plugins(TwinPlugin)
        .insert_resource(ClearColor(Color::srgb(0.12, 0.13, 0.15)))
        .insert_resource(Viewer::new(live))
        .insert_resource(opts)
        .add_systems(Startup, setup)
        .add_systems(Update, (ui::simulate, screenshot))
        .add_systems(
            EguiPrimaryContextPass,
            (ui::setup_fonts, ui::draw_ui).chain(),
        )
        .run();
}

fn setup(
    mut commands: Commands,
    mut images: ResMut<Assets<Image>>,
    link: Res<TwinLink>,
    mut viewer: ResMut<Viewer>,
    opts: Res<Options>,
) {
    commands.spawn(Camera2d);
    let scene = Scene::build(&viewer.live.live.twin);
    let mut view = TwinView::new(&mut images, &link, scene, 1024, 768);
    // Frame the three islands (the mainland context stays at the edges).
    if let Some((lo, hi)) =
        twin_render::scene::kind_bounds(&viewer.live.live.twin, &twin_core::AssetKind::Island)
    {
        view.camera.pitch = 55f32.to_radians();
        view.camera.fit(lo, hi, 1024.0 / 768.0);
        view.camera.distance *= 0.8;
    }
    if let Some(id) = &opts.select {
        viewer.select_by_id(id, &mut view);
    }
    commands.insert_resource(view);
}

/// `--screenshot`: saves the window after `--after` seconds, then exits.
fn screenshot(
    mut commands: Commands,
    time: Res<Time<Real>>,
    opts: Res<Options>,
    mut state: Local<u8>,
    mut exit: MessageWriter<AppExit>,
    view: Option<Res<TwinView>>,
) {
    let Some(path) = &opts.screenshot else { return };
    let t = time.elapsed_secs_f64();
    // Not before the twin has been drawn a few times (a slow start must not capture an
    // empty map).
    let drawn = view.is_some_and(|v| v.stats().1.frames >= 5);
    if *state == 0 && t >= opts.after_s && drawn {
        info!("saving a screenshot to {}", path.display());
        commands
            .spawn(Screenshot::primary_window())
            .observe(save_to_disk(path.clone()));
        *state = 1;
    } else if *state == 1 && (path.exists() || t >= opts.after_s + 120.0) {
        // The capture is read back asynchronously: exit once it is on disk.
        *state = 2;
    } else if *state == 2 {
        exit.write(AppExit::Success);
    }
}
