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
    if args.models.is_empty() {
        return Ok(twin);
    }
    let (standing, crs) = ifc_options(args)?;
    for path in &args.models {
        if !twin_bim::is_model(path) {
            anyhow::bail!(
                "--bim {}: twin reads building models (.ifc, .glb, .gltf); other files go in --data",
                path.display()
            );
        }
        let added = twin_bim::add_to_twin(&mut twin, path, &standing, crs.as_ref())?;
        eprintln!(
            "twin: {}: {} {} elements and {} sensors added (rooms and meters), placed by {}",
            path.display(),
            added.schema,
            added.elements,
            added.sensors,
            added.placed_by
        );
    }
    Ok(twin)
}

/// `--place` and `--crs` as the IFC reader takes them.
fn ifc_options(
    args: &DataArgs,
) -> anyhow::Result<(twin_bim::Standing, Option<twin_core::crs::Crs>)> {
    let standing = match args.place.as_deref() {
        None => twin_bim::Standing::AsTheFileSays,
        Some(p) => twin_bim::Standing::parse(p).map_err(|e| anyhow::anyhow!(e))?,
    };
    let crs = args
        .crs
        .as_deref()
        .map(|c| c.parse::<twin_core::crs::Crs>())
        .transpose()?;
    Ok((standing, crs))
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
    let ifc_options = if args.data.iter().any(|p| twin_bim::is_model(p)) {
        let (standing, crs) = ifc_options(args)?;
        let place = match standing {
            twin_bim::Standing::AsTheFileSays => None,
            twin_bim::Standing::At(p) => Some(p),
            twin_bim::Standing::On { id, .. } => anyhow::bail!(
                "--place @{id}: a model stands on an asset of the twin it is added to (--bim), not of --data"
            ),
        };
        twin_bim::ReadOptions {
            place,
            crs,
            centred: false,
        }
    } else {
        twin_bim::ReadOptions::default()
    };
    for path in &args.data {
        let ext = |x: &str| path.extension().is_some_and(|e| e.eq_ignore_ascii_case(x));
        if twin_bim::is_model(path) {
            let model = twin_bim::read_model(path, &ifc_options)?;
            eprintln!(
                "twin: {}: {} {} elements, placed by {}",
                path.display(),
                model.schema,
                model.assets.len(),
                model.placed_by
            );
            reads.push(twin_bim::with_room_sensors(model.assets));
        } else if ext("gpkg") {
            reads.extend(twin_gpkg::read(path, &mapping, &args.layers)?);
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
