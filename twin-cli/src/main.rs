//! # twin: the command line of the twin engine
//!
//! `twin serve` is the island, live, as a service: the JSON API and OGC API – Features
//! over HTTP(S) with tokens (crate `twin-server`). `twin run` is the island, live: every sensor driven by the seeded simulator (or, with
//! `--mqtt`, by telemetry from an MQTT broker, several processes splitting the towns),
//! alerts printed as they are raised and cleared, and the town vital-signs table;
//! `twin publish` feeds a broker from the simulator. `twin info` counts what a twin holds per kind and per town; `twin crs` converts
//! coordinates read as CSV on stdin (like PROJ's `cs2cs`); `twin query` answers spatial
//! questions; `twin export` writes the twin as FlatGeobuf or a GeoPackage. With no `--data`, every
//! command works on the bundled island (real boundaries + seeded synthetic
//! infrastructure). Errors (anyhow, with their causes) go to stderr with a non-zero exit
//! status; output that nobody reads any more (`twin query … | head`) ends quietly.

mod broker;
mod crs_cmd;
mod data;
mod durable;
mod export_rows;
mod geoparquet_out;
mod gpkg;
mod info;
mod mqtt;
mod orders_out;
mod out;
mod publish;
mod query_cmd;
mod render_cmd;
mod replay;
mod report;
mod run;
mod serve;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// The twin command line.
#[derive(Parser, Debug)]
#[command(
    name = "twin",
    version,
    about = "Digital twin of Chongming's three islands: inspect, convert, query"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The island, live: simulated sensors, alerts and the town vital-signs table.
    Run(run::RunArgs),
    /// Serve the live twin over HTTP: JSON API, OGC API - Features, tokens, TLS.
    Serve(serve::ServeArgs),
    /// Watch a served district (`twin serve`) live: status, alerts, vital signs.
    Watch(watch::WatchArgs),
    /// Print a series' stored samples (ts,value) from a data directory (`--data-dir`).
    History(durable::HistoryArgs),
    /// Play recorded telemetry (JSON Lines or CSV) into the live island.
    Replay(replay::ReplayArgs),
    /// Draw the twin (optionally a town, an asset, a live overlay) into a PNG, headless.
    Render(render_cmd::RenderArgs),
    /// Publish the simulated island's telemetry to an MQTT broker (for `run --mqtt`).
    Publish(publish::PublishArgs),
    /// Counts of the loaded twin per kind and per town.
    Info(DataArgs),
    /// Convert `x,y` CSV lines from stdin between CRSs (EPSG:4326, EPSG:3857, GCJ02, any
    /// code of the bundled EPSG database; any PROJ CRS with the `proj` feature).
    Crs {
        /// Source CRS, e.g. EPSG:4326 or GCJ02.
        #[arg(long)]
        from: String,
        /// Target CRS, e.g. EPSG:32651.
        #[arg(long)]
        to: String,
    },
    /// Ask a spatial question; prints `id<TAB>name` per asset.
    Query {
        #[command(subcommand)]
        query: query_cmd::QueryKind,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Write the twin to FlatGeobuf, a GeoPackage and/or GeoParquet (with latest state
    /// when it comes from a snapshot).
    Export {
        /// FlatGeobuf output file (.fgb).
        #[arg(long)]
        fgb: Option<PathBuf>,
        /// GeoPackage output file (.gpkg): assets with their latest state.
        #[arg(long)]
        gpkg: Option<PathBuf>,
        /// GeoParquet output file (.parquet): the GeoPackage's columns, for DuckDB,
        /// GeoPandas, Polars.
        #[arg(long)]
        parquet: Option<PathBuf>,
        /// Export this snapshot (from `twin run --save`) instead of loading the island.
        #[arg(long)]
        snapshot: Option<PathBuf>,
        #[command(flatten)]
        data: DataArgs,
    },
}

/// Where the twin comes from.
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// GeoJSON (.geojson/.json), FlatGeobuf (.fgb), GeoPackage (.gpkg) or IFC (.ifc:
    /// every element an asset, id its GlobalId) files to load instead of the bundled
    /// island; repeat for several.
    #[arg(long = "data", global = true)]
    pub data: Vec<PathBuf>,
    /// CRS of the --data files, overriding one a file declares (a FlatGeobuf header,
    /// GeoJSON's `crs` member); without either, lon/lat (EPSG:4326). For an IFC model,
    /// the CRS of its IfcMapConversion when the model leaves it unnamed.
    #[arg(long, global = true)]
    pub crs: Option<String>,
    /// Only these feature tables of a GeoPackage (repeat the flag); every one by
    /// default.
    #[arg(long = "layer", global = true, value_name = "TABLE")]
    pub layers: Vec<String>,
    /// A mapping file (JSON, docs/mapping.md): which of the files' fields hold the
    /// id, kind, names and heights.
    #[arg(long, global = true, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Where ids come from: a property's name, `@feature` (the feature's own id) or
    /// `auto` (the file's name and the feature's index); overrides the mapping file.
    #[arg(long, global = true, value_name = "FIELD|@feature|auto")]
    pub id: Option<String>,
    /// What the features are: one kind for every feature (`--as road`, `--as
    /// custom:tree`), `@FIELD` (a property naming the kind) or `osm` (OpenStreetMap's
    /// tags); overrides the mapping file. (`--kind` is the queries' filter.)
    #[arg(long = "as", global = true, value_name = "KIND|@FIELD|osm")]
    pub kind_as: Option<String>,
    /// Keep the good features of a --data file and report the bad ones instead of failing.
    #[arg(long, global = true)]
    pub lenient: bool,
    /// Building models to add to the twin the other flags load (the bundled island, or
    /// the --data files): IFC (every element an asset, placed by the file or by
    /// --place) or glTF (.glb, .gltf: every named node an element, placed by --place).
    /// Repeat for several.
    #[arg(long = "bim", global = true, value_name = "FILE.ifc|FILE.glb")]
    pub models: Vec<PathBuf>,
    /// Where an IFC model stands: its origin at LON,LAT (WGS84), its +Y axis facing
    /// HEADING degrees clockwise from north, its origin BASE metres up; or `@ID` (at
    /// the centre of the footprint of the twin's asset ID, on its base), with an
    /// optional `,HEADING`. Overrides what the model says (IfcMapConversion, IfcSite);
    /// needed for a model that says neither.
    #[arg(
        long,
        global = true,
        value_name = "LON,LAT[,HEADING[,BASE]] | @ID[,HEADING]"
    )]
    pub place: Option<String>,
    /// Scale of the bundled island's synthetic infrastructure (10 gives 1M+ assets).
    #[arg(long, global = true, default_value_t = 1.0)]
    pub scale: f64,
    /// Seed of the bundled island's synthetic infrastructure.
    #[arg(long, global = true, default_value_t = 2026)]
    pub seed: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Watch(args) => {
            // Exit code 2: the server refused the token (trying again will not help).
            return match watch::run(&args) {
                Ok(code) => ExitCode::from(code),
                Err(e) => {
                    eprintln!("twin: {e:#}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Replay(args) => replay::run(&args),
        Command::History(args) => durable::history(&args),
        Command::Publish(args) => publish::run(&args),
        Command::Render(args) => render_cmd::run(&args),
        Command::Info(data) => info::run(&data),
        Command::Crs { from, to } => crs_cmd::run(&from, &to),
        Command::Query { query, data } => query_cmd::run(&query, &data),
        Command::Export {
            fgb,
            gpkg,
            parquet,
            snapshot,
            data,
        } => data::export(
            &data,
            &data::Outputs {
                fgb: fgb.as_deref(),
                gpkg: gpkg.as_deref(),
                parquet: parquet.as_deref(),
            },
            snapshot.as_deref(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}`: the error and its causes on one line ("a.json: feature 3: ...").
            eprintln!("twin: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    /// Every subcommand's flags are consistent (clap's own checks: a global flag
    /// named like a subcommand's flag made `twin render` panic at start).
    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
