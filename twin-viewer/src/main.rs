//! `twin-viewer`: the planners' desktop viewer. Opens the bundled island with the
//! simulator running; see `twin-viewer --help` (arguments through clap).

use std::path::PathBuf;

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, save_to_disk};
use bevy::window::WindowResolution;
use bevy_egui::{EguiPlugin, EguiPrimaryContextPass};
use clap::Parser;
use twin_render::Scene;
use twin_viewer::live::Live;
use twin_viewer::ui::{self, Viewer};
use twin_viewer::{TwinLink, TwinPlugin, TwinView};

/// The live island on the desktop: the bundled island with its simulator, layers,
/// search, inspector, alerts, town vital signs and a time slider.
///
/// Mouse on the map: left-drag pans, right-drag orbits, wheel zooms, click selects.
#[derive(Clone, Debug, Resource, Parser)]
#[command(name = "twin-viewer", version)]
struct Options {
    /// Synthetic infrastructure scale (default: the bundled island, scale 1).
    #[arg(long, value_parser = positive)]
    scale: Option<f64>,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 10.0, value_parser = positive)]
    speed: f64,
    /// Window size in logical pixels, WIDTHxHEIGHT.
    #[arg(long, default_value = "1600x900", value_parser = size)]
    size: (u32, u32),
    /// Save a screenshot of the window after --after seconds, then exit.
    #[arg(long)]
    screenshot: Option<PathBuf>,
    /// Seconds before the screenshot.
    #[arg(long = "after", default_value_t = 8.0, value_parser = non_negative)]
    after_s: f64,
    /// Select an asset and fly to it at start.
    #[arg(long)]
    select: Option<String>,
    /// Simulate this many minutes before opening (incidents start 5, 10 and 15 minutes
    /// in: a charger fault, a water-level surge, silent sensors).
    #[arg(long = "skip", default_value_t = 0.0, value_parser = non_negative)]
    skip_min: f64,
}

fn number(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("`{s}` is not a number"))
}

fn positive(s: &str) -> Result<f64, String> {
    number(s).and_then(|v| {
        if v > 0.0 {
            Ok(v)
        } else {
            Err(format!("{v} must be above 0"))
        }
    })
}

fn non_negative(s: &str) -> Result<f64, String> {
    number(s).and_then(|v| {
        if v >= 0.0 {
            Ok(v)
        } else {
            Err(format!("{v} must not be negative"))
        }
    })
}

fn size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("`{s}` is not WIDTHxHEIGHT"))?;
    let px = |v: &str| {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|p| (64..=16_384).contains(p))
            .ok_or_else(|| format!("`{v}` in `{s}` is not a size of 64 to 16384 pixels"))
    };
    Ok((px(w)?, px(h)?))
}

fn main() {
    let opts = Options::parse();
    let twin = match opts.scale {
        None => twin_chongming::island::bundled(),
        Some(s) => twin_chongming::island::load(&twin_chongming::synth::SynthConfig {
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
    let scene = Scene::build(viewer.live.twin());
    let mut view = TwinView::new(&mut images, &link, scene, 1024, 768);
    // Frame the three islands (the mainland context stays at the edges).
    if let Some((lo, hi)) =
        twin_render::scene::kind_bounds(viewer.live.twin(), &twin_core::AssetKind::Island)
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
