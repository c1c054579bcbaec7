//! Loading the twin a command works on, and exporting it.

use std::path::Path;

use twin_chongming::island;
use twin_chongming::synth::SynthConfig;
use twin_core::{LoadMode, Mapping, Twin};

use crate::DataArgs;

/// Loads the --data files, or the bundled island when there are none, then adds the
/// --bim files. Rejected features of a lenient load are listed on stderr.
pub fn load(args: &DataArgs) -> anyhow::Result<Twin> {
    let mut twin = load_base(args)?;
    for path in &args.models {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !ext.eq_ignore_ascii_case("ifc") {
            anyhow::bail!(
                "--bim {}: twin reads IFC models (.ifc); other files go in --data",
                path.display()
            );
        }
        let options = ifc_options(args, Some(&twin))?;
        let model = twin_bim::read_ifc(path, &options)?;
        let buildings: Vec<String> = model
            .assets
            .iter()
            .flatten()
            .filter(|a| a.kind == twin_core::AssetKind::Building)
            .map(|a| a.id.to_string())
            .collect();
        eprintln!(
            "twin: {}: {} {} elements added, placed by {}",
            path.display(),
            model.schema,
            model.assets.len(),
            model.placed_by
        );
        twin.insert_read(with_room_sensors(model.assets), LoadMode::Strict)
            .map_err(|e| anyhow::anyhow!("--bim {}: {e}", path.display()))?;
        // A model put on a building of the twin stands in for its extruded block: the
        // block is drawn flat (its footprint stays, with its id, sensors and state)
        // and names the model's building in `bim_building`.
        if let Some(id) = args.place.as_deref().and_then(|p| p.strip_prefix('@')) {
            let id = id.split(',').next().unwrap_or(id);
            if let Some(h) = twin.handle(id) {
                let Some(base) = twin.get(h).map(|a| a.vertical) else {
                    continue;
                };
                let flat = twin_core::Vertical {
                    height: 0.0,
                    ..base
                };
                let names = twin_core::PropValue::Str(buildings.join(","));
                twin.set_vertical(h, flat, [("bim_building".to_string(), names)])?;
            }
        }
    }
    Ok(twin)
}

/// A model's assets and a thermometer, CO₂ sensor and occupancy counter for each of
/// its rooms (`twin_bim::sensors`).
fn with_room_sensors(mut read: twin_core::load::ReadResult) -> twin_core::load::ReadResult {
    let assets: Vec<twin_core::Asset> = read.iter().flatten().cloned().collect();
    read.extend(twin_bim::room_sensors(&assets).into_iter().map(Ok));
    read
}

/// How IFC files are read: `--place` (`@ID` resolved in `twin`, the twin loaded so
/// far) and `--crs`.
fn ifc_options(args: &DataArgs, twin: Option<&Twin>) -> anyhow::Result<twin_bim::ReadOptions> {
    let place = match args.place.as_deref() {
        None => None,
        Some(at) if at.starts_with('@') => {
            let (id, heading) = match at[1..].split_once(',') {
                Some((id, h)) => (
                    id,
                    Some(
                        h.trim()
                            .parse::<f64>()
                            .ok()
                            .filter(|h| h.is_finite())
                            .ok_or_else(|| {
                                anyhow::anyhow!("--place {at}: heading `{h}` is not a number")
                            })?,
                    ),
                ),
                None => (&at[1..], None),
            };
            let no_asset = || {
                anyhow::anyhow!("--place {at}: no asset `{id}` in the twin loaded before the model")
            };
            let twin = twin.ok_or_else(no_asset)?;
            let h = twin.handle(id).ok_or_else(no_asset)?;
            let asset = twin.get(h).ok_or_else(no_asset)?;
            let c = geo::Centroid::centroid(&asset.geometry)
                .ok_or_else(|| anyhow::anyhow!("--place {at}: `{id}` has no centre"))?;
            Some(twin_bim::Place {
                lon: c.x(),
                lat: c.y(),
                heading: heading.unwrap_or_else(|| plot_heading(twin, h)),
                base: asset.vertical.base,
            })
        }
        Some(p) => Some(twin_bim::Place::parse(p).map_err(|e| anyhow::anyhow!(e))?),
    };
    Ok(twin_bim::ReadOptions {
        centred: args.place.as_deref().is_some_and(|p| p.starts_with('@')),
        place,
        crs: args
            .crs
            .as_deref()
            .map(|c| c.parse::<twin_core::crs::Crs>())
            .transpose()?,
    })
}

/// The heading that lines a model up with a plot: its +X along the long side of the
/// smallest rectangle around the plot's footprint (in the twin's local metres), as
/// a bearing of +Y from north in [0, 180).
fn plot_heading(twin: &Twin, h: twin_core::Handle) -> f64 {
    use geo::MinimumRotatedRect;
    let Some(rect) = twin
        .local_geometry(h)
        .and_then(|g| g.minimum_rotated_rect())
    else {
        return 0.0;
    };
    let p = &rect.exterior().0;
    if p.len() < 3 {
        return 0.0;
    }
    let (a, b) = (
        (p[1].x - p[0].x, p[1].y - p[0].y),
        (p[2].x - p[1].x, p[2].y - p[1].y),
    );
    let long = if a.0.hypot(a.1) >= b.0.hypot(b.1) {
        a
    } else {
        b
    };
    // +X along `long` (east, north): +Y is 90° counter-clockwise of it; its bearing
    // from north, clockwise.
    let y = (-long.1, long.0);
    y.0.atan2(y.1).to_degrees().rem_euclid(180.0)
}

/// The twin of --data, or the bundled island.
fn load_base(args: &DataArgs) -> anyhow::Result<Twin> {
    if args.data.is_empty() {
        if !(args.scale.is_finite() && args.scale > 0.0) {
            return Err(anyhow::anyhow!(
                "--scale must be a positive number, got {}",
                args.scale
            ));
        }
        let config = SynthConfig {
            seed: args.seed,
            scale: args.scale,
        };
        return Ok(island::load(&config)?);
    }
    let mapping = mapping(args)?;
    let mode = if args.lenient {
        LoadMode::Lenient
    } else {
        LoadMode::Strict
    };
    // The frame is centred on the files' data: a city anywhere gets true metres.
    let mut reads = Vec::new();
    let ifc_options = if args
        .data
        .iter()
        .any(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("ifc")))
    {
        ifc_options(args, None)?
    } else {
        twin_bim::ReadOptions::default()
    };
    for path in &args.data {
        let ext = |x: &str| path.extension().is_some_and(|e| e.eq_ignore_ascii_case(x));
        if ext("ifc") {
            let model = twin_bim::read_ifc(path, &ifc_options)?;
            eprintln!(
                "twin: {}: {} {} elements, placed by {}",
                path.display(),
                model.schema,
                model.assets.len(),
                model.placed_by
            );
            reads.push(with_room_sensors(model.assets));
        } else if ext("gpkg") {
            reads.extend(crate::gpkg_read::read(path, &mapping, &args.layers)?);
        } else {
            let bar = progress_bar(
                &format!("reading {}", path.display()),
                "{msg} {wide_bar} {human_pos}/{human_len} ({per_sec}, {eta})",
            );
            let read = twin_core::load::read_file_with(path, &mapping, &mut |done, total| {
                if let Some(t) = total {
                    bar.set_length(t as u64);
                }
                bar.set_position(done as u64);
            });
            bar.finish_and_clear();
            reads.push(read?);
        }
    }
    let n: usize = reads.iter().map(Vec::len).sum();
    let bar = progress_bar(
        &format!("checking and indexing {n} features"),
        "{spinner} {msg} {elapsed}",
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let built = Twin::from_reads(reads, mode);
    bar.finish_and_clear();
    let (twin, reports) = built?;
    for report in &reports {
        for r in &report.rejected {
            eprintln!("twin: rejected {r}");
        }
        for w in &report.warnings {
            eprintln!("twin: loaded as it is: {w}");
        }
    }
    Ok(twin)
}

/// A progress bar on stderr, drawn only when stderr is a terminal (indicatif hides it
/// otherwise), so piped output and logs stay quiet.
fn progress_bar(message: &str, template: &str) -> indicatif::ProgressBar {
    let bar =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(message.to_string());
    bar
}

/// The mapping of the --data files: `--mapping FILE`, then `--id`, `--as`, `--crs`.
pub fn mapping(args: &DataArgs) -> anyhow::Result<Mapping> {
    let text = args
        .mapping
        .as_ref()
        .map(|p| {
            std::fs::read_to_string(p)
                .map_err(|e| anyhow::anyhow!("--mapping {}: {e}", p.display()))
        })
        .transpose()?;
    Mapping::from_options(
        text.as_deref(),
        args.id.as_deref(),
        args.kind_as.as_deref(),
        args.crs.as_deref(),
    )
    .map_err(|e| match &args.mapping {
        Some(p) => anyhow::anyhow!("{}: {e}", p.display()),
        None => anyhow::anyhow!("{e}"),
    })
}

/// `twin export [--fgb FILE] [--gpkg FILE] [--snapshot FILE]`.
pub fn export(args: &DataArgs, out: &Outputs<'_>, snapshot: Option<&Path>) -> anyhow::Result<()> {
    let Outputs { fgb, gpkg, parquet } = *out;
    if fgb.is_none() && gpkg.is_none() && parquet.is_none() {
        anyhow::bail!("export: give --fgb FILE, --gpkg FILE and/or --parquet FILE");
    }
    let live = match snapshot {
        Some(p) => Some(twin_core::snapshot::load(
            p,
            twin_core::SessionConfig::default(),
        )?),
        None => None,
    };
    let loaded;
    let (twin, store) = match &live {
        Some(l) => (l.twin(), Some(l.store())),
        None => {
            loaded = load(args)?;
            (&loaded, None)
        }
    };
    if let Some(out) = fgb {
        let file =
            std::fs::File::create(out).map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
        let assets: Vec<_> = twin.iter().map(|(_, a)| a).collect();
        twin_core::load::write_flatgeobuf(
            assets.iter().copied(),
            "twin",
            std::io::BufWriter::new(file),
        )?;
        eprintln!("wrote {} assets to {}", assets.len(), out.display());
    }
    if let Some(out) = gpkg {
        let n = crate::gpkg::write(twin, store, out)?;
        eprintln!("wrote {n} assets to {}", out.display());
    }
    if let Some(out) = parquet {
        let n = crate::geoparquet_out::write(twin, store, out)?;
        eprintln!("wrote {n} assets to {}", out.display());
    }
    Ok(())
}

/// The files `twin export` writes.
#[derive(Clone, Copy)]
pub struct Outputs<'a> {
    /// FlatGeobuf.
    pub fgb: Option<&'a Path>,
    /// GeoPackage.
    pub gpkg: Option<&'a Path>,
    /// GeoParquet.
    pub parquet: Option<&'a Path>,
}
