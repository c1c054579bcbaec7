//! `twin render`: any view of the twin to a PNG, headless (Mesa's lavapipe here).

use std::path::PathBuf;

use clap::Args;
use twin_chongming::sim::{SimConfig, Simulator, standard_channels, standard_layers};
use twin_core::state::history::Retention;
use twin_core::state::{Rgba, load_layers_json};
use twin_core::{AssetKind, Handle, Twin};
use twin_core::{Session, SessionConfig, Timestamp};
use twin_render::scene::{asset_bounds, kind_bounds, widen};
use twin_render::{Headless, HostColors, LayerKind, Model, OrbitCamera, Placement, Scene};

use crate::DataArgs;

/// Options of `twin render`.
#[derive(Args, Debug)]
pub struct RenderArgs {
    /// The PNG to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Image width in pixels.
    #[arg(long, default_value_t = 1280)]
    pub width: u32,
    /// Image height in pixels.
    #[arg(long, default_value_t = 800)]
    pub height: u32,
    /// Frame one town: its id, Chinese or English name (城桥镇, Chengqiao).
    #[arg(long)]
    pub town: Option<String>,
    /// Frame and highlight one asset by id.
    #[arg(long)]
    pub asset: Option<String>,
    /// Colour live state with a standard overlay layer (`water level`, `air quality`,
    /// `noise`, `soil moisture`, `traffic`, `parking`, `chargers`, `building energy`,
    /// ...), `all`, or the layers of an overlay file (`FILE.json`, as
    /// `assets/overlays/standard.json`), after simulating `--sim`.
    #[arg(long)]
    pub overlay: Option<String>,
    /// Simulated time before the picture when --overlay is given.
    #[arg(long, default_value = "2m")]
    pub sim: String,
    /// Degrees the camera looks down (90: straight down).
    #[arg(long, default_value_t = 90.0)]
    pub pitch: f32,
    /// Heading the camera looks towards, degrees clockwise from north.
    #[arg(long, default_value_t = 0.0)]
    pub heading: f32,
    /// Layers to hide, comma-separated (land, areas, water, roads, buildings, models,
    /// markers, towns, town-borders, underground).
    #[arg(long, value_delimiter = ',')]
    pub hide: Vec<String>,
    /// Layers to show that are hidden by default (underground).
    #[arg(long, value_delimiter = ',')]
    pub show: Vec<String>,
    /// Cut building models at this height (metres, the twin's heights): their elements
    /// that start above it (upper storeys, the roof) are left out, so the storey below
    /// shows from above with its rooms' floors.
    #[arg(long, value_name = "HEIGHT", allow_negative_numbers = true)]
    pub section: Option<f64>,
    /// Storey isolation in building models: show this storey (its name, long name or
    /// GlobalId) and those below it, leave out the storeys above and the roof.
    #[arg(long, value_name = "NAME|ID")]
    pub storey: Option<String>,
    /// Draw building models' shells see-through (walls, slabs, roof, doors, windows:
    /// a third of their pixels), so their rooms show inside; clicks go to the rooms.
    #[arg(long)]
    pub see_through: bool,
    /// Draw the frame this many times and report the median draw time (a measure:
    /// the first frame also warms the pipelines up).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub frames: u32,
    /// A glTF binary model standing for an asset: `FILE.glb@ASSET_ID[,HEADING[,SCALE]]`
    /// (placed at the asset's centre and base, coloured by its state). Repeatable.
    #[arg(long)]
    pub model: Vec<String>,
    #[command(flatten)]
    pub data: DataArgs,
}

/// Runs `twin render`.
pub fn run(args: &RenderArgs) -> anyhow::Result<()> {
    let mut twin = crate::data::load(&args.data)?;
    let keep = twin_render::cut::keep(&twin, args.section, args.storey.as_deref())
        .map_err(anyhow::Error::msg)?;
    let mut scene = if args.see_through {
        Scene::build_styled(&twin, &keep, &twin_render::cut::model_shell)
    } else {
        Scene::build_with(&twin, &keep)
    };
    for spec in &args.model {
        add_model(&twin, &mut scene, spec)?;
    }
    let mut hl = Headless::with_scene(args.width, args.height, &scene)?;
    for (names, on) in [(&args.hide, false), (&args.show, true)] {
        for name in names {
            let l = LayerKind::parse(name).ok_or_else(|| {
                let all: Vec<&str> = LayerKind::ALL.iter().map(|l| l.as_str()).collect();
                anyhow::anyhow!(
                    "--hide/--show: no layer `{name}` (layers: {})",
                    all.join(", ")
                )
            })?;
            hl.renderer.set_layer_visible(l, on);
        }
    }
    if let Some(name) = &args.overlay {
        let (back, colors) = overlay_colors(twin, name, &args.sim)?;
        twin = back;
        hl.renderer.set_all_state(&colors);
    }
    let aspect = args.width as f32 / args.height.max(1) as f32;
    let mut cam = OrbitCamera {
        pitch: args.pitch.clamp(3.0, 90.0).to_radians(),
        heading: args.heading.to_radians(),
        ..OrbitCamera::default()
    };
    let focus = match (&args.asset, &args.town) {
        (Some(id), _) => {
            let h = twin
                .handle(id)
                .ok_or_else(|| anyhow::anyhow!("--asset: no asset `{id}`"))?;
            hl.renderer.set_selected(Some(h));
            let (lo, hi) = asset_bounds(&twin, h)
                .ok_or_else(|| anyhow::anyhow!("--asset {id}: no geometry"))?;
            // Context around it in proportion: a house is seen close, a park whole, a
            // building model's room with its building.
            let size = (hi[0] - lo[0]).max(hi[1] - lo[1]);
            let least = if twin.part_of(h).is_some() { 8.0 } else { 25.0 };
            Some(widen((lo, hi), size.clamp(least, 150.0)))
        }
        (None, Some(name)) => {
            let h = find_town(&twin, name)?;
            asset_bounds(&twin, h)
        }
        (None, None) => kind_bounds(&twin, &AssetKind::Island).or(scene.bounds),
    };
    let (lo, hi) = focus.ok_or_else(|| anyhow::anyhow!("nothing to draw: the twin is empty"))?;
    cam.fit(lo, hi, aspect);
    // The frame drawn --frames times (the scene uploaded once, before): the median
    // time of drawing it and reading it back, the picture of the last.
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..args.frames.max(1) {
        let t = std::time::Instant::now();
        last = Some(hl.render(&cam)?);
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let Some((img, stats)) = last else {
        anyhow::bail!("no frame drawn");
    };
    times.sort_by(f64::total_cmp);
    img.save_png(&args.out)?;
    eprintln!(
        "wrote {} ({}x{}, {} draw calls, {} triangles, {:.0} ms to draw on {}{})",
        args.out.display(),
        args.width,
        args.height,
        stats.draw_calls,
        stats.triangles,
        times[times.len() / 2],
        hl.adapter().name,
        if times.len() > 1 {
            format!(", median of {} frames", times.len())
        } else {
            String::new()
        }
    );
    Ok(())
}

/// A town by id, Chinese name or English name (case-insensitive).
fn find_town(twin: &Twin, name: &str) -> anyhow::Result<Handle> {
    let lower = name.to_lowercase();
    let mut names = Vec::new();
    for (h, a) in twin.iter() {
        if a.kind != AssetKind::Town {
            continue;
        }
        let en = a.name_en.as_deref().unwrap_or("");
        if a.id == name || a.name_zh.as_deref() == Some(name) || en.to_lowercase() == lower {
            return Ok(h);
        }
        names.push(format!("{} {}", a.name_zh.as_deref().unwrap_or(""), en));
    }
    Err(anyhow::anyhow!(
        "--town: no town `{name}` (towns: {})",
        names.join(", ")
    ))
}

/// Simulates `sim` of telemetry into a session over `twin` and colours every asset
/// with the chosen standard layer(s); building-energy meters colour their buildings.
/// Gives the twin back with the colours.
fn overlay_colors(twin: Twin, name: &str, sim: &str) -> anyhow::Result<(Twin, Vec<Rgba>)> {
    let sim_ms = crate::run::parse_duration_ms(sim).map_err(|e| anyhow::anyhow!("--sim: {e}"))?;
    let config = SessionConfig {
        retention: Retention::max_age(sim_ms + 60_000),
        history_budget_bytes: None,
        ..SessionConfig::default()
    };
    let mut session = Session::new(twin, config);
    let ch = standard_channels(&mut session);
    let layers: Vec<_> = if name.ends_with(".json") {
        let text =
            std::fs::read_to_string(name).map_err(|e| anyhow::anyhow!("--overlay {name}: {e}"))?;
        load_layers_json(&text, session.store()).map_err(|e| anyhow::anyhow!("{name}: {e}"))?
    } else {
        standard_layers(&ch)
            .into_iter()
            .filter(|l| name == "all" || l.name == name)
            .collect()
    };
    if layers.is_empty() && !name.ends_with(".json") {
        let all: Vec<String> = standard_layers(&ch).into_iter().map(|l| l.name).collect();
        return Err(anyhow::anyhow!(
            "--overlay: no layer `{name}` (layers: {}, or all)",
            all.join(", ")
        ));
    }
    // No rules: the picture shows the layers' colours only, no alert highlights.
    session.set_layers(layers)?;
    // 2026-11-21 08:00 China time.
    let start = 1_795_219_200_000;
    let twin = session.twin();
    let mut simulator = Simulator::new(
        twin,
        &ch,
        SimConfig::default_for(twin, 7, twin_core::Timestamp::from_millis(start)),
    );
    let mut t = start;
    while t <= start + sim_ms {
        simulator.drive(&mut session, Timestamp::from_millis(t));
        t += 1000;
    }
    session.refresh_colors();
    let twin = session.twin();
    let mut colors = vec![Rgba::NONE; twin.handle_capacity()];
    let all = 0..colors.len() as u32;
    HostColors::building_energy(twin).apply(
        session.overlay().colors(),
        std::slice::from_ref(&all),
        &mut colors,
    );
    Ok((session.into_twin(), colors))
}

/// `FILE.glb@ASSET_ID[,HEADING[,SCALE]]`: the model placed on the asset.
fn add_model(twin: &Twin, scene: &mut Scene, spec: &str) -> anyhow::Result<()> {
    let (file, rest) = spec.rsplit_once('@').ok_or_else(|| {
        anyhow::anyhow!("--model `{spec}`: expected FILE.glb@ASSET_ID[,HEADING[,SCALE]]")
    })?;
    let mut parts = rest.split(',');
    let id = parts.next().unwrap_or_default();
    let num = |s: Option<&str>, what: &str, default: f64| -> anyhow::Result<f64> {
        s.map(|x| {
            x.trim()
                .parse::<f64>()
                .map_err(|e| anyhow::anyhow!("--model `{spec}`: {what}: {e}"))
        })
        .transpose()
        .map(|v| v.unwrap_or(default))
    };
    let heading = num(parts.next(), "heading", 0.0)?;
    let scale = num(parts.next(), "scale", 1.0)?;
    let h = twin
        .handle(id)
        .ok_or_else(|| anyhow::anyhow!("--model `{spec}`: no asset `{id}`"))?;
    let a = twin
        .get(h)
        .ok_or_else(|| anyhow::anyhow!("--model `{spec}`: no asset `{id}`"))?;
    let (lo, hi) = asset_bounds(twin, h)
        .ok_or_else(|| anyhow::anyhow!("--model `{spec}`: `{id}` has no geometry"))?;
    let (lon, lat) = twin.frame().to_geographic(
        ((lo[0] + hi[0]) / 2.0) as f64,
        ((lo[1] + hi[1]) / 2.0) as f64,
    );
    let bytes = std::fs::read(file).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    let model = Model::from_glb(&bytes, file)?;
    let placement = Placement {
        lon,
        lat,
        base: a.vertical.base,
        heading_deg: heading,
        scale,
    };
    scene.add_chunks(
        LayerKind::Models,
        model.place(&placement, twin.frame(), h.0),
    );
    Ok(())
}
