//! `twin-viewer`: the planners' desktop viewer. Opens the bundled island (or
//! `--data` files) with its own simulator running, or shows a served twin live with
//! `--connect URL`; see `twin-viewer --help` (arguments through clap).

use std::path::PathBuf;

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, save_to_disk};
use bevy::window::WindowResolution;
use bevy_egui::{EguiPlugin, EguiPrimaryContextPass};
use clap::Parser;
use twin_core::Twin;
use twin_render::Scene;
use twin_viewer::live::Live;
use twin_viewer::remote::Link;
use twin_viewer::ui::{self, Viewer};
use twin_viewer::{TwinLink, TwinPlugin, TwinView};

/// The live island on the desktop: layers, search, inspector, alerts, town vital
/// signs and a time slider. By default the bundled island with its own simulator;
/// `--connect URL` shows what `twin serve` at URL holds, live (the same assets must be
/// opened here: the same --data, or the bundled island with the same --scale/--seed).
///
/// Mouse on the map: left-drag pans, right-drag orbits, wheel zooms, click selects.
#[derive(Clone, Debug, Resource, Parser)]
#[command(name = "twin-viewer", version)]
struct Options {
    /// Synthetic infrastructure scale (default: the bundled island, scale 1).
    #[arg(long, value_parser = positive)]
    scale: Option<f64>,
    /// Seed of the synthetic infrastructure.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// GeoJSON (.geojson/.json), FlatGeobuf (.fgb), GeoPackage (.gpkg) or CityJSON
    /// (.city.json/.jsonl) files to open instead of the bundled island; repeat for
    /// several.
    #[arg(long = "data")]
    data: Vec<PathBuf>,
    /// CRS of the --data files, overriding one a file declares; without either,
    /// lon/lat (EPSG:4326).
    #[arg(long)]
    crs: Option<String>,
    /// A mapping file (JSON, docs/mapping.md) for the --data files.
    #[arg(long, value_name = "FILE")]
    mapping: Option<PathBuf>,
    /// Where the --data files' ids come from: a property, `@feature` or `auto`.
    #[arg(long, value_name = "FIELD|@feature|auto")]
    id: Option<String>,
    /// What the --data files' features are: a kind, `@FIELD` or `osm`.
    #[arg(long = "as", value_name = "KIND|@FIELD|osm")]
    kind_as: Option<String>,
    /// Keep the good features of a --data file and report the bad ones.
    #[arg(long)]
    lenient: bool,
    /// Building models (IFC, or glTF .glb/.gltf with named nodes) to add to the island
    /// or the --data files: every element an asset, every room with a thermometer, a
    /// CO₂ sensor and an occupancy counter. Repeat for several.
    #[arg(long = "bim", value_name = "FILE.ifc|FILE.glb")]
    bim: Vec<PathBuf>,
    /// Where the --bim models stand: `LON,LAT[,HEADING[,BASE]]`, or `@ID[,HEADING]` on
    /// an asset of the twin (a building's plot); by default where the file says.
    #[arg(long, value_name = "LON,LAT[,HEADING[,BASE]] | @ID[,HEADING]")]
    place: Option<String>,
    /// Cut building models at this height (metres): their elements that start above
    /// it (upper storeys, the roof) are not drawn, so the rooms below can be picked.
    #[arg(long, value_name = "HEIGHT", allow_negative_numbers = true, value_parser = number)]
    section: Option<f64>,
    /// Storey isolation in building models: show this storey (its name, long name or
    /// GlobalId) and those below it, not the storeys above and the roof.
    #[arg(long, value_name = "NAME|ID")]
    storey: Option<String>,
    /// Draw building models' shells see-through, so their rooms show inside and can
    /// be picked through the walls.
    #[arg(long)]
    see_through: bool,
    /// Show the twin served at this address (http://HOST:PORT or https://…, as
    /// `twin serve` printed it) instead of simulating one.
    #[arg(long)]
    connect: Option<String>,
    /// Keep the viewer's simulated twin in this directory (as `twin run --data-dir`):
    /// a restart comes back from it, its history included.
    #[arg(long, conflicts_with = "connect")]
    data_dir: Option<std::path::PathBuf>,
    /// The token for --connect (prefer $TWIN_TOKEN: a command line is visible to other
    /// users). An operator's token can acknowledge alerts.
    #[arg(long)]
    token: Option<String>,
    /// For an https --connect: the certificate authority to trust (PEM).
    #[arg(long)]
    ca: Option<PathBuf>,
    /// With --connect: draw this overlay of the server's (`twin serve --overlay
    /// NAME=FILE`) instead of its default one.
    #[arg(long, requires = "connect")]
    overlay: Option<String>,
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
    /// Select an incident at start (by number): its footprint is framed and drawn, its
    /// order shown in the incidents panel.
    #[arg(long)]
    incident: Option<u64>,
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

/// The twin to show: the --data files, or the synthetic island, with the --bim models.
fn load(opts: &Options) -> Result<Twin, String> {
    let mut twin = load_base(opts)?;
    let standing = match opts.place.as_deref() {
        None => twin_bim::Standing::AsTheFileSays,
        Some(p) => twin_bim::Standing::parse(p)?,
    };
    let crs = opts
        .crs
        .as_deref()
        .map(|c| c.parse::<twin_core::crs::Crs>().map_err(|e| e.to_string()))
        .transpose()?;
    for path in &opts.bim {
        let added = twin_bim::add_to_twin(&mut twin, path, &standing, crs.as_ref())
            .map_err(|e| e.to_string())?;
        eprintln!(
            "twin-viewer: {}: {} elements and {} sensors added (rooms and meters), placed by {}",
            path.display(),
            added.elements,
            added.sensors,
            added.placed_by
        );
    }
    Ok(twin)
}

/// The --data files, or the synthetic island.
fn load_base(opts: &Options) -> Result<Twin, String> {
    if opts.data.is_empty() {
        let config = twin_chongming::synth::SynthConfig {
            scale: opts.scale.unwrap_or(1.0),
            seed: opts.seed,
        };
        return twin_chongming::island::load(&config)
            .map_err(|e| format!("loading the island: {e}"));
    }
    let text = opts
        .mapping
        .as_ref()
        .map(|p| std::fs::read_to_string(p).map_err(|e| format!("--mapping {}: {e}", p.display())))
        .transpose()?;
    let mapping = twin_core::Mapping::from_options(
        text.as_deref(),
        opts.id.as_deref(),
        opts.kind_as.as_deref(),
        opts.crs.as_deref(),
    )
    .map_err(|e| e.to_string())?;
    let mode = if opts.lenient {
        twin_core::LoadMode::Lenient
    } else {
        twin_core::LoadMode::Strict
    };
    // The frame is centred on the files' data: a city anywhere gets true metres.
    let (twin, reports) = twin_viewer::files::twin_of_files(&opts.data, &mapping, mode)?;
    for report in &reports {
        for r in &report.rejected {
            eprintln!("twin-viewer: rejected {r}");
        }
        for w in &report.warnings {
            eprintln!("twin-viewer: loaded as it is: {w}");
        }
    }
    Ok(twin)
}

/// Before a window opens: the server must take the token and hold the same assets.
/// A refusal ends the viewer with exit code 2 and the reason; a server that cannot be
/// reached yet is left to the link, which keeps trying.
fn probe(
    url: &str,
    options: &twin_client::Options,
    twin: &Twin,
    overlay: Option<&str>,
) -> Result<(), String> {
    let mut ws = match twin_client::connect(url, options) {
        Ok(ws) => ws,
        Err(twin_client::Failure::Refused(why)) => return Err(why),
        Err(twin_client::Failure::Lost(why)) => {
            eprintln!("twin-viewer: {why}; the viewer keeps trying");
            return Ok(());
        }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        match ws.read() {
            Ok(twin_client::Incoming::Json(v)) if v["type"] == "hello" => {
                let there = v["fingerprint"].as_str().unwrap_or_default();
                let here = twin.fingerprint();
                ws.close();
                let names: Vec<&str> = v["overlays"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|o| o["name"].as_str())
                    .collect();
                if let Some(o) = overlay
                    && !names.contains(&o)
                {
                    return Err(format!(
                        "--overlay {o}: the server has no such overlay ({})",
                        names.join(", ")
                    ));
                }
                return if there == here {
                    Ok(())
                } else {
                    Err(twin_core::stream::RemoteError::Fingerprint {
                        server: there.to_string(),
                        here,
                    }
                    .to_string())
                };
            }
            Ok(_) => {}
            Err(twin_client::Failure::Refused(why)) => return Err(why),
            Err(twin_client::Failure::Lost(why)) => {
                eprintln!("twin-viewer: {why}; the viewer keeps trying");
                return Ok(());
            }
        }
    }
    Ok(())
}

fn main() {
    let opts = Options::parse();
    // With --data-dir the twin comes from the directory's checkpoint when it has one.
    let twin = || match load(&opts) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("twin-viewer: {e}");
            std::process::exit(1);
        }
    };
    let live = match (&opts.connect, &opts.data_dir) {
        (None, Some(dir)) => {
            twin_viewer::durable::open(dir, || load(&opts)).map(|(session, channels, dir)| {
                let mut live = Live::durable(session, channels, dir, 1_795_219_200_000, 7);
                live.fast_forward((opts.skip_min.max(0.0) * 60_000.0) as i64);
                live.speed = opts.speed;
                live
            })
        }
        (None, None) => {
            // The simulated clock starts at 2026-11-21 08:00 China time (00:00 UTC).
            let start_ms = 1_795_219_200_000;
            Live::new(twin(), start_ms, 7).map(|mut live| {
                live.fast_forward((opts.skip_min.max(0.0) * 60_000.0) as i64);
                live.speed = opts.speed;
                live
            })
        }
        (Some(url), _) => {
            let options = twin_client::Options {
                token: opts
                    .token
                    .clone()
                    .or_else(|| std::env::var("TWIN_TOKEN").ok()),
                ca: opts.ca.clone(),
                read_timeout: None,
            };
            let twin = twin();
            if let Err(why) = probe(url, &options, &twin, opts.overlay.as_deref()) {
                eprintln!("twin-viewer: {why}");
                std::process::exit(2);
            }
            Live::served(twin, Link::start(url, options, opts.overlay.clone()))
        }
    };
    let live = match live {
        Ok(l) => l,
        Err(e) => {
            eprintln!("twin-viewer: {e}");
            std::process::exit(1);
        }
    };
    // A storey that is not there is a mistake to say before a window opens.
    if let Err(e) = twin_render::cut::keep(live.twin(), opts.section, opts.storey.as_deref()) {
        eprintln!("twin-viewer: {e}");
        std::process::exit(2);
    }
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
    // --section and --storey were checked in main.
    let scene =
        match twin_render::cut::keep(viewer.live.twin(), opts.section, opts.storey.as_deref()) {
            Ok(keep) if opts.see_through => {
                Scene::build_styled(viewer.live.twin(), &keep, &twin_render::cut::model_shell)
            }
            Ok(keep) if opts.section.is_some() || opts.storey.is_some() => {
                Scene::build_with(viewer.live.twin(), &keep)
            }
            _ => Scene::build(viewer.live.twin()),
        };
    let mut view = TwinView::new(&mut images, &link, scene, 1024, 768);
    // Frame the three islands (the mainland context stays at the edges), or the
    // user's data.
    let twin = viewer.live.twin();
    let all = || {
        twin.iter()
            .filter_map(|(h, _)| twin_render::scene::asset_bounds(twin, h))
            .reduce(|(l0, h0), (l1, h1)| {
                (
                    std::array::from_fn(|i| l0[i].min(l1[i])),
                    std::array::from_fn(|i| h0[i].max(h1[i])),
                )
            })
    };
    if let Some((lo, hi)) =
        twin_render::scene::kind_bounds(twin, &twin_core::AssetKind::Island).or_else(all)
    {
        view.camera.pitch = 55f32.to_radians();
        view.camera.fit(lo, hi, 1024.0 / 768.0);
        view.camera.distance *= 0.8;
    }
    if let Some(id) = &opts.select {
        viewer.select_by_id(id, &mut view);
    }
    if let Some(id) = opts.incident {
        viewer.incidents.select(id);
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
    viewer: Res<Viewer>,
) {
    let Some(path) = &opts.screenshot else { return };
    let t = time.elapsed_secs_f64();
    // Not before the twin has been drawn a few times (a slow start must not capture an
    // empty map), nor before a served twin's snapshot has arrived.
    let drawn = view.is_some_and(|v| v.stats().1.frames >= 5)
        && viewer.live.link().is_none_or(|l| l.snapshot_done());
    if *state == 0 && t >= opts.after_s + 60.0 && !drawn {
        // A minute past the time and nothing to capture (no server answer, no frames):
        // fail rather than wait forever.
        let why = viewer.live.link().map_or_else(
            || "the map was not drawn".to_string(),
            |l| format!("{:?}", l.state),
        );
        eprintln!("twin-viewer: no screenshot after {:.0} s: {why}", t);
        exit.write(AppExit::error());
        *state = 3;
    } else if *state == 0 && t >= opts.after_s && drawn {
        info!("saving a screenshot to {}", path.display());
        // An older file there would read as this capture done (state 1 waits for it).
        let _ = std::fs::remove_file(path);
        commands
            .spawn(Screenshot::primary_window())
            .observe(save_to_disk(path.clone()));
        *state = 1;
    } else if *state == 1 && (path.exists() || t >= opts.after_s + 120.0) {
        // The capture is read back asynchronously: exit once it is on disk.
        *state = 2;
    } else if *state == 2 {
        if let Some(link) = viewer.live.link() {
            let c = link.counts;
            // What a test (or an operator) can check the screenshot against.
            println!(
                "twin-viewer: served by {}: {:?}, {} connections, {} colour frames ({} runs), {} values, {} events, {} vital-sign tables, {} open alerts, {} bad frames",
                link.url,
                link.state,
                c.connections,
                c.color_frames,
                c.color_runs,
                c.values,
                c.events,
                c.vitals,
                link.open.len(),
                c.bad_frames
            );
        }
        exit.write(AppExit::Success);
    }
}
