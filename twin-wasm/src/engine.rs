//! The engine behind the JS `Twin`: the live [`Session`] (twin, state, alerts, vital
//! signs, overlay, clock) with the standard channels, the simulator and the alert
//! events waiting for the page, in plain Rust (every fallible call returns
//! `Result<_, String>` with the message twin-core gives).

use std::ops::Range;

use twin_chongming::DEFAULT_RULES_JSON;
use twin_chongming::island;
use twin_chongming::sim::{
    SimConfig, Simulator, StandardChannels, standard_channels, standard_config, standard_layers,
    standard_session,
};
use twin_core::crs::{Crs, LocalFrame};
use twin_core::load::read_geojson_str;
use twin_core::{LoadMode, Mapping, Session, SessionConfig, Timestamp, Twin};

use crate::alerts::EventOut;

/// How long a sensor counts as online after its last sample (the island's standard).
pub use twin_chongming::sim::ONLINE_WINDOW_MS;

/// History kept per series: the last two hours.
pub const HISTORY_MAX_AGE_MS: i64 = 2 * 3_600_000;

/// Memory cap of the sample history (oldest samples evicted first): 128 MiB, so the
/// whole island's 100,000 sensors keep about 20 minutes at 1 Hz in a browser tab.
pub const HISTORY_BUDGET_BYTES: usize = 128 << 20;

/// Most alert events kept for `onAlert` listeners between two deliveries; older ones
/// are dropped (a page that never drains them does not grow without bound).
pub const MAX_PENDING_EVENTS: usize = 10_000;

/// A live twin as the web API holds it.
#[derive(Debug)]
pub struct Engine {
    /// The live session: twin, state, alerts, vital signs, overlay, clock.
    pub session: Session,
    /// The standard channels' ids in the store.
    pub channels: StandardChannels,
    /// The seeded simulator, once [`Engine::start_simulator`] or a simulation made one.
    pub simulator: Option<Simulator>,
    /// Events not yet delivered to listeners (only kept while `listening`).
    pending: Vec<EventOut>,
    /// Whether a page listens to events (else they are dropped after highlighting).
    pub listening: bool,
    /// Overlay ranges changed since a view last took them (kept only while a view
    /// is attached, so a page's own `refreshOverlay` calls do not hide them from it).
    view_changes: Vec<Range<u32>>,
    /// Whether a canvas view draws this twin.
    pub view_attached: bool,
    /// The JSON telemetry path's id cache and buffers.
    pub(crate) json: twin_core::telemetry::JsonIngest,
    /// The past time views draw (`None`: live) and the colours of that time.
    pub(crate) view_time: Option<i64>,
    pub(crate) past: Vec<twin_core::state::Rgba>,
    /// A served twin's colours and channel map, once [`Engine::begin_stream`] ran.
    pub(crate) remote: Option<twin_core::stream::Remote>,
}

/// The session settings of a page: two hours of history within 128 MiB.
fn config() -> SessionConfig {
    standard_config(HISTORY_MAX_AGE_MS, Some(HISTORY_BUDGET_BYTES))
}

impl Engine {
    /// The bundled island: real boundaries and the seeded synthetic infrastructure
    /// (158,654 assets, ~100,000 sensors).
    pub fn bundled() -> Result<Engine, String> {
        Engine::from_twin(island::bundled().map_err(|e| e.to_string())?)
    }

    /// Only the real island and town boundaries (30 assets, no sensors).
    pub fn real_island() -> Result<Engine, String> {
        Engine::from_twin(island::load_real().map_err(|e| e.to_string())?)
    }

    /// A live twin of `twin` with the standard channels, the default rules and the
    /// standard overlay.
    pub fn from_twin(twin: Twin) -> Result<Engine, String> {
        let (session, channels) =
            standard_session(twin, config(), DEFAULT_RULES_JSON).map_err(|e| e.to_string())?;
        Ok(Engine::from_session(session, channels))
    }

    /// A twin of the features of GeoJSON text (strict: one bad feature loads nothing
    /// and the error names file, feature and problem). `crs` names the coordinates'
    /// CRS (`EPSG:4326` when `None`); `name` names the text in errors. The local frame
    /// is centred on the data.
    pub fn from_geojson(text: &str, crs: Option<&str>, name: &str) -> Result<Engine, String> {
        let mapping = mapping(crs)?;
        let read = read_geojson_str(text, name, &mapping).map_err(|e| e.to_string())?;
        let frame = frame_of(&read);
        let mut twin = Twin::new(frame);
        twin.insert_read(read, LoadMode::Strict)
            .map_err(|e| e.to_string())?;
        Engine::from_twin(twin)
    }

    /// A twin of a user's file (GeoJSON, FlatGeobuf, CityJSON, CityJSONSeq) read with
    /// `options` (`LoadOptions::read`): its local frame centred on the
    /// data.
    pub fn from_data(
        read: twin_core::load::ReadResult,
        options: &crate::data::LoadOptions,
    ) -> Result<(Engine, crate::data::LoadSummary), String> {
        let frame = frame_of(&read);
        let mut twin = Twin::new(frame);
        let report = twin
            .insert_read(read, options.mode())
            .map_err(|e| e.to_string())?;
        let summary = crate::data::LoadSummary::of(&report, &twin);
        Ok((Engine::from_twin(twin)?, summary))
    }

    /// A live twin restored from snapshot bytes (`twin run --save`, [`Engine::snapshot`]):
    /// assets, latest state, rules and open alerts. Bad bytes are refused with what is
    /// wrong (magic, version, a length or a checksum).
    pub fn from_snapshot(bytes: &[u8]) -> Result<Engine, String> {
        let mut session = twin_core::snapshot::from_bytes(bytes, "snapshot", config())
            .map_err(|e| e.to_string())?;
        let channels = standard_channels(&mut session);
        session.set_incident_rules(twin_chongming::sim::standard_incident_rules());
        session.set_dispatch_rules(twin_chongming::sim::standard_dispatch_rules());
        // Paint the restored state; open alerts stay highlighted.
        session
            .set_layers(standard_layers(&channels))
            .map_err(|e| e.to_string())?;
        Ok(Engine::from_session(session, channels))
    }

    fn from_session(session: Session, channels: StandardChannels) -> Engine {
        Engine {
            session,
            channels,
            simulator: None,
            pending: Vec::new(),
            listening: false,
            view_changes: Vec::new(),
            view_attached: false,
            json: Default::default(),
            view_time: None,
            past: Vec::new(),
            remote: None,
        }
    }

    /// The twin.
    pub fn twin(&self) -> &Twin {
        self.session.twin()
    }

    /// The twin's clock (UTC ms): the newest time it was told or sample it applied.
    pub fn now_ms(&self) -> i64 {
        self.session.now().as_millis()
    }

    /// The snapshot bytes of the live twin (what [`Engine::from_snapshot`] reads):
    /// assets, latest state, rules and open alerts, not history.
    pub fn snapshot(&self) -> Result<Vec<u8>, String> {
        twin_core::snapshot::to_bytes(&self.session).map_err(|e| e.to_string())
    }

    /// Adds the features of GeoJSON text to the twin (strict: a bad feature or an id
    /// already held loads nothing and the twin is unchanged). Returns how many assets
    /// were added. Vital signs, rules and the overlay (same layers) count them in.
    pub fn load_geojson(
        &mut self,
        text: &str,
        crs: Option<&str>,
        name: &str,
    ) -> Result<usize, String> {
        let mapping = mapping(crs)?;
        let report = self
            .session
            .load_geojson_str(text, name, &mapping, LoadMode::Strict)
            .map_err(|e| e.to_string())?;
        let added = report.inserted.len();
        self.after_load(added);
        Ok(added)
    }

    /// Adds a user's file (GeoJSON, FlatGeobuf, CityJSON, CityJSONSeq) read with
    /// `options` (`LoadOptions::read`); strict unless `options.lenient`
    /// (then the bad features are in the summary). Vital signs, rules and the overlay count the new assets in.
    pub fn load_data(
        &mut self,
        read: twin_core::load::ReadResult,
        options: &crate::data::LoadOptions,
    ) -> Result<crate::data::LoadSummary, String> {
        let report = self
            .session
            .insert_read(read, options.mode())
            .map_err(|e| e.to_string())?;
        self.after_load(report.inserted.len());
        Ok(crate::data::LoadSummary::of(&report, self.session.twin()))
    }

    /// After assets were added: events, the view's scene, the simulator, past colours.
    fn after_load(&mut self, added: usize) {
        if added == 0 {
            return;
        }
        self.collect_events();
        // A view rebuilds its scene for the new generation and uploads every colour.
        self.view_changes.clear();
        if let Some(config) = self.simulator.as_ref().map(|s| s.config().clone()) {
            self.simulator = Some(Simulator::new(self.session.twin(), &self.channels, config));
        }
        if self.view_time.is_some() {
            self.set_view_time(self.view_time);
        }
    }

    /// Moves the clock forward to `now_ms` (never back).
    pub fn advance_clock(&mut self, now_ms: i64) {
        self.session.advance(Timestamp::from_millis(now_ms));
    }

    /// Lets time pass without samples: sensors fall offline, silence alerts rise.
    pub fn tick(&mut self, now_ms: i64) {
        self.session.tick(Timestamp::from_millis(now_ms));
        self.collect_events();
    }

    /// Takes the session's alert events, in bounded batches, into the pending list
    /// (when listening; the session moves highlights itself).
    pub fn collect_events(&mut self) {
        loop {
            let batch = self.session.drain_events(MAX_PENDING_EVENTS);
            let n = batch.len();
            if self.listening {
                let twin = self.session.twin();
                self.pending
                    .extend(batch.iter().map(|e| EventOut::of(twin, e)));
            }
            if self.pending.len() > MAX_PENDING_EVENTS {
                let drop = self.pending.len() - MAX_PENDING_EVENTS;
                self.pending.drain(..drop);
            }
            if n < MAX_PENDING_EVENTS {
                break;
            }
        }
    }

    /// The events not yet delivered, oldest first.
    pub fn take_events(&mut self) -> Vec<EventOut> {
        std::mem::take(&mut self.pending)
    }

    /// Recolours the overlay and returns every range changed since the view last
    /// asked (including refreshes the page made itself in between).
    pub fn take_view_changes(&mut self) -> Vec<Range<u32>> {
        let ranges = self.session.refresh_colors();
        let mut all = std::mem::take(&mut self.view_changes);
        // A served twin's views draw the server's colours: the page's own overlay
        // changes do not show.
        if self.remote.is_none() {
            all.extend(ranges);
        }
        all
    }

    /// Notes ranges a page's refresh took, for the view.
    pub(crate) fn note_view_changes(&mut self, ranges: &[Range<u32>]) {
        if self.view_attached {
            self.view_changes.extend_from_slice(ranges);
        }
    }

    /// Makes (or remakes) the simulator: `seed` for every draw, the default incidents
    /// placed after `start_ms` when `incidents` is true.
    pub fn start_simulator(&mut self, seed: u64, start_ms: i64, incidents: bool) {
        let twin = self.session.twin();
        let config = if incidents {
            SimConfig::default_for(twin, seed, twin_core::Timestamp::from_millis(start_ms))
        } else {
            SimConfig::quiet(seed, twin_core::Timestamp::from_millis(start_ms))
        };
        self.simulator = Some(Simulator::new(twin, &self.channels, config));
    }
}

/// The default mapping, with the CRS named (or WGS84).
fn mapping(crs: Option<&str>) -> Result<Mapping, String> {
    // No CRS named: the file's own, else lon/lat (as the CLI reads files).
    match crs.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(Mapping::default()),
        Some(c) => {
            let crs: Crs = c.parse().map_err(|e| format!("crs: {e}"))?;
            Ok(Mapping::default().with_crs(crs))
        }
    }
}

/// A local frame centred on the read assets' lon/lat bounding box (Chongming's when
/// none was read).
fn frame_of(read: &twin_core::load::ReadResult) -> LocalFrame {
    use geo::BoundingRect;
    let mut bounds: Option<(f64, f64, f64, f64)> = None;
    for a in read.iter().flatten() {
        if let Some(r) = a.geometry.bounding_rect() {
            let b = bounds.get_or_insert((r.min().x, r.min().y, r.max().x, r.max().y));
            b.0 = b.0.min(r.min().x);
            b.1 = b.1.min(r.min().y);
            b.2 = b.2.max(r.max().x);
            b.3 = b.3.max(r.max().y);
        }
    }
    bounds
        .and_then(|(x0, y0, x1, y1)| {
            LocalFrame::try_new((x0 + x1) / 2.0, (y0 + y1) / 2.0, 0.0).ok()
        })
        .unwrap_or_else(LocalFrame::chongming)
}
