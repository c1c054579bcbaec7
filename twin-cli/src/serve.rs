//! `twin serve`: the live twin as a service ([`twin_server`]). Loads the session as
//! `twin run` does (the island or `--data`, `--rules`, `--resume`), drives it from the
//! seeded simulator in real time unless `--no-sim`, and serves the JSON API and OGC API
//! – Features until stopped (Ctrl-C).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use twin_chongming::sim::{SimConfig, Simulator};
use twin_server::{Limits, Served, ServerConfig, TlsFiles, Tokens};

use crate::DataArgs;
use crate::out::outln;

/// Options of `twin serve`.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on. Without --tokens only a loopback address is allowed.
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,
    /// Tokens file: one `TOKEN ROLE [NAME]` per line, roles viewer, operator, admin.
    #[arg(long)]
    pub tokens: Option<PathBuf>,
    /// Serve HTTPS with this certificate chain (PEM; with --tls-key).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM; with --tls-cert).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Alert rules (JSON) instead of the bundled island's defaults.
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Start from this snapshot (from `twin run --save`) instead of loading afresh.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Memory for sample history, MiB.
    #[arg(long, default_value_t = 512)]
    pub history_mib: usize,
    /// Do not run the simulator: the twin's clock still follows the wall clock.
    #[arg(long)]
    pub no_sim: bool,
    /// Take telemetry from this MQTT broker (`mqtt://host[:port]`, `mqtts://` for TLS)
    /// instead of the simulator: topics twin/TOWN/KIND/ASSET-ID and gateway batches on
    /// twin/TOWN/_batch/GATEWAY, QoS 1.
    #[arg(long, conflicts_with = "no_sim")]
    pub mqtt: Option<String>,
    /// User name, password and TLS of the broker connection.
    #[command(flatten)]
    pub mqtt_auth: crate::broker::MqttArgs,
    /// MQTT connections in the shared-subscription group (default: one per core).
    #[arg(long, requires = "mqtt")]
    pub mqtt_connections: Option<usize>,
    /// How long the broker keeps the twin's MQTT sessions (and queues their messages)
    /// while it is away, e.g. 30m, 1d (default 1d). A connection that does not come
    /// back keeps its share of the shared subscription until its session expires.
    #[arg(long, requires = "mqtt", default_value = "1d")]
    pub mqtt_session_expiry: String,
    /// Client id prefix of the MQTT connections (their persistent sessions).
    #[arg(long, requires = "mqtt", default_value = "twin-serve")]
    pub mqtt_client_id: String,
    /// With --mqtt: only these towns (comma-separated ids such as CM-TOWN-CHENJIA, or
    /// English names), subscribing to twin/TOWN/# of each.
    #[arg(long, requires = "mqtt")]
    pub towns: Option<String>,
    /// With --mqtt and --towns: this process's number (1–255) in a district of
    /// processes that split the towns on one broker. Each publishes its towns' rows
    /// and alerts on twin-district/N/status and serves the whole district's
    /// (ARCHITECTURE.md, "One district across processes").
    #[arg(long, requires = "towns", value_parser = clap::value_parser!(u8).range(1..))]
    pub district: Option<u8>,
    /// An overlay the live stream offers beside the standard one, NAME=FILE (a layers
    /// JSON file as twin-chongming's assets/overlays/standard.json); up to 3. A client
    /// picks it with `"overlay": "NAME"` in its subscription.
    #[arg(long = "overlay", value_name = "NAME=FILE")]
    pub overlays: Vec<String>,
    /// Requests a second per token (bursts of twice that).
    #[arg(long, default_value_t = 200)]
    pub requests_per_second: u32,
    /// The data directory (journal, checkpoints, history on disk).
    #[command(flatten)]
    pub store: crate::durable::StoreArgs,
    #[command(flatten)]
    pub data: DataArgs,
}

/// The MQTT settings of the arguments; the password from its file or the environment.
fn mqtt_config(
    args: &ServeArgs,
    url: &str,
    twin: &twin_core::Twin,
) -> anyhow::Result<twin_server::MqttConfig> {
    let mut c = twin_server::MqttConfig::new(url);
    c.client_id = args.mqtt_client_id.clone();
    if let Some(list) = &args.towns {
        c.towns = crate::mqtt::resolve_towns(twin, list)?
            .into_iter()
            .filter_map(|h| twin.get(h).map(|a| a.id.clone()))
            .collect();
    }
    c.district = args.district;
    // Processes of a district share the broker: their persistent sessions must not.
    if let Some(n) = args.district {
        c.client_id = format!("{}-d{n}", args.mqtt_client_id);
    }
    if let Some(n) = args.mqtt_connections {
        anyhow::ensure!(n >= 1, "--mqtt-connections must be at least 1");
        c.connections = n;
    }
    let expiry = crate::run::parse_duration_ms(&args.mqtt_session_expiry)?;
    anyhow::ensure!(
        expiry >= 1000,
        "--mqtt-session-expiry must be at least a second"
    );
    c.session_expiry = std::time::Duration::from_millis(expiry as u64);
    c.ca_file = args.mqtt_auth.mqtt_ca.clone();
    c.credentials = args.mqtt_auth.credentials()?;
    Ok(c)
}

/// Runs `twin serve` until Ctrl-C.
pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let loaded = Instant::now();
    let tokens = args.tokens.as_ref().map(|p| Tokens::load(p)).transpose()?;
    let (session, channels, dir) = crate::durable::open_live(
        &args.store,
        &args.data,
        args.rules.as_ref(),
        args.resume.as_ref(),
        args.history_mib,
    )?;
    let assets = session.twin().len();
    let mqtt = args
        .mqtt
        .as_ref()
        .map(|url| mqtt_config(args, url, session.twin()))
        .transpose()?;
    let feed = if args.no_sim || mqtt.is_some() {
        twin_server::Feed::WallClock
    } else {
        // Whole seconds, as the server feeds them.
        let start =
            twin_core::Timestamp::from_millis(crate::broker::wall_ms().div_euclid(1000) * 1000);
        let config = SimConfig::default_for(session.twin(), args.data.seed, start);
        for incident in &config.incidents {
            outln!("  incident planned: {}", incident.describe(session.twin()));
        }
        let mut sim = Simulator::new(session.twin(), &channels, config);
        twin_server::Feed::Driver(Box::new(move |s: &mut twin_core::Session, t| {
            sim.drive(s, t)
        }))
    };
    let limits = Limits {
        requests_per_second: args.requests_per_second,
        ..Limits::default()
    };
    let n_tokens = tokens.as_ref().map(Tokens::len);
    let mut served = Served::new(session, tokens, limits, "Chongming twin");
    if let Some(dir) = dir {
        served.set_data_dir(dir);
    }
    // The models go to the screens as read now, in the order they were added, with
    // the same --place and --crs: a dashboard adds them to its own twin to hold the
    // same assets (twin_server::models).
    for path in &args.data.models {
        let bytes =
            std::fs::read(path).map_err(|e| anyhow::anyhow!("--bim {}: {e}", path.display()))?;
        served
            .add_model(
                &path.display().to_string(),
                bytes,
                args.data.place.clone(),
                args.data.crs.clone(),
            )
            .map_err(|e| anyhow::anyhow!("--bim {e}"))?;
    }
    for o in &args.overlays {
        let (name, file) = o
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--overlay `{o}`: give NAME=FILE"))?;
        let text = std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("--overlay {name}: {file}: {e}"))?;
        served
            .add_overlay(name, &text)
            .map_err(|e| anyhow::anyhow!("--overlay {name} ({file}): {e}"))?;
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    };
    let https = tls.is_some();
    let config = ServerConfig {
        listen: args.listen,
        tls,
        mqtt,
    };
    let running = twin_server::spawn(&config, served, feed, true)?;
    let scheme = if https { "https" } else { "http" };
    outln!(
        "twin serve: {assets} assets loaded in {:.2} s; {}; listening on {scheme}://{}",
        loaded.elapsed().as_secs_f64(),
        match (&args.mqtt, args.no_sim) {
            (Some(_), _) => "telemetry from MQTT",
            (None, true) => "no simulator",
            (None, false) => "simulator running in real time",
        },
        running.addr()
    );
    match n_tokens {
        Some(n) => outln!("twin serve: {n} tokens; every route but /healthz needs one"),
        None => outln!("twin serve: no --tokens: loopback only, every local caller is admin"),
    }
    outln!(
        "twin serve: API {scheme}://{0}/api/v1/status, OpenAPI {scheme}://{0}/openapi.json, OGC API - Features {scheme}://{0}/ogc",
        running.addr()
    );
    outln!(
        "twin serve: live stream {}://{}/api/v1/stream; on a terminal: twin watch {scheme}://{}",
        if https { "wss" } else { "ws" },
        running.addr(),
        running.addr()
    );
    running.wait();
    Ok(())
}
