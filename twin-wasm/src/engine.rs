//! The engine behind the JS `Twin`: a live twin with its channels, overlay, clock,
//! simulator and pending alert events, in plain Rust (every fallible call returns
//! `Result<_, String>` with the message twin-core gives).

use std::ops::Range;
use std::sync::mpsc::Receiver;

use twin_core::crs::{Crs, LocalFrame};
use twin_core::load::read_geojson_str;
use twin_core::sim::{
    SimConfig, Simulator, StandardChannels, standard_channels, standard_layers, standard_live_twin,
};
use twin_core::state::alert::AlertEvent;
use twin_core::state::live::{DEFAULT_RULES_JSON, LiveTwin};
use twin_core::state::{Overlay, Retention, Rgba};
use twin_core::{LoadMode, Mapping, Twin, island};

use crate::alerts::EventOut;

/// How long a sensor counts as online after its last sample (twin-core's standard).
pub use twin_core::sim::ONLINE_WINDOW_MS;

/// History kept per series: the last two hours.
pub const HISTORY_MAX_AGE_MS: i64 = 2 * 3_600_000;

/// Memory cap of the sample history (oldest samples evicted first): 128 MiB, so the
/// whole island's 100,000 sensors keep about 20 minutes at 1 Hz in a browser tab.
pub const HISTORY_BUDGET_BYTES: usize = 128 << 20;

/// The colour an asset with an open alert takes over its style (as in the desktop
/// viewer).
pub const ALERT_HIGHLIGHT: Rgba = Rgba::rgb(230, 0, 160);

/// Most alert events kept for `onAlert` listeners between two deliveries; older ones
/// are dropped (a page that never drains them does not grow without bound).
pub const MAX_PENDING_EVENTS: usize = 10_000;

/// A live twin as the web API holds it.
#[derive(Debug)]
pub struct Engine {
    /// The twin, its state, alerts and vital signs.
    pub live: LiveTwin,
    /// The standard channels' ids in the store.
    pub channels: StandardChannels,
    /// Live colours by handle.
    pub overlay: Overlay,
    /// The twin's clock (UTC ms): the newest time it was told or sample it applied.
    pub now_ms: i64,
    /// The seeded simulator, once [`Engine::start_simulator`] or a simulation made one.
    pub simulator: Option<Simulator>,
    events: Receiver<AlertEvent>,
    /// Events not yet delivered to listeners (only kept while `listening`).
    pending: Vec<EventOut>,
    /// Whether a page listens to events (else they only move highlights).
    pub listening: bool,
    /// Overlay ranges changed since a view last took them (kept only while a view
    /// is attached, so a page's own `refreshOverlay` calls do not hide them from it).
    view_changes: Vec<Range<u32>>,
    /// Whether a canvas view draws this twin.
    pub view_attached: bool,
    /// The JSON telemetry path's id cache and buffers.
    pub(crate) json: twin_core::telemetry::JsonIngest,
    /// Counts changes of the asset set (a view rebuilds its scene when it moves).
    pub generation: u64,
    /// The past time views draw (`None`: live) and the colours of that time.
    pub(crate) view_time: Option<i64>,
    pub(crate) past: Vec<Rgba>,
}

fn retention() -> Retention {
    Retention::max_age(HISTORY_MAX_AGE_MS)
}

impl Engine {
    /// The bundled island: real boundaries and the seeded synthetic infrastructure
    /// (157,741 assets, ~100,000 sensors).
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
        let (live, channels) = standard_live_twin(
            twin,
            retention(),
            Some(HISTORY_BUDGET_BYTES),
            DEFAULT_RULES_JSON,
        )
        .map_err(|e| e.to_string())?;
        Engine::from_live(live, channels)
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

    /// A live twin restored from snapshot bytes (`twin run --save`, [`Engine::snapshot`]):
    /// assets, latest state, rules and open alerts. Bad bytes are refused with what is
    /// wrong (magic, version, a length or a checksum).
    pub fn from_snapshot(bytes: &[u8]) -> Result<Engine, String> {
        let mut live = twin_core::snapshot::from_bytes(
            bytes,
            "snapshot",
            retention(),
            Some(HISTORY_BUDGET_BYTES),
        )
        .map_err(|e| e.to_string())?;
        let channels = standard_channels(&mut live.store);
        let mut engine = Engine::from_live(live, channels)?;
        engine.now_ms = engine.live.store.newest_ts().unwrap_or(0);
        // Paint the restored state and highlight the open alerts.
        engine.rebuild_overlay(standard_layers(&engine.channels))?;
        Ok(engine)
    }

    fn from_live(mut live: LiveTwin, channels: StandardChannels) -> Result<Engine, String> {
        let overlay =
            Overlay::new(&live.twin, standard_layers(&channels)).map_err(|e| e.to_string())?;
        let events = live.alerts.subscribe();
        Ok(Engine {
            live,
            channels,
            overlay,
            now_ms: 0,
            simulator: None,
            events,
            pending: Vec::new(),
            listening: false,
            view_changes: Vec::new(),
            view_attached: false,
            json: Default::default(),
            generation: 0,
            view_time: None,
            past: Vec::new(),
        })
    }

    /// The snapshot bytes of the live twin (what [`Engine::from_snapshot`] reads):
    /// assets, latest state, rules and open alerts, not history.
    pub fn snapshot(&self) -> Result<Vec<u8>, String> {
        twin_core::snapshot::to_bytes(&self.live).map_err(|e| e.to_string())
    }

    /// Adds the features of GeoJSON text to the twin (strict: a bad feature or an id
    /// already held loads nothing and the twin is unchanged). Returns how many assets
    /// were added. Vital signs and spatial rules count them in, the overlay (same layers)
    /// is rebuilt for them.
    pub fn load_geojson(
        &mut self,
        text: &str,
        crs: Option<&str>,
        name: &str,
    ) -> Result<usize, String> {
        let mapping = mapping(crs)?;
        let report = self
            .live
            .twin
            .load_geojson_str(text, name, &mapping, LoadMode::Strict)
            .map_err(|e| e.to_string())?;
        let added = report.inserted.len();
        if added == 0 {
            return Ok(0);
        }
        // Vital signs and the rules' watch lists count the new assets in.
        let now = self.live.store.newest_ts().unwrap_or(0).max(self.now_ms);
        self.live.assets_changed(&report.inserted, now);
        // The same layers (the page may have set its own), over the new assets too.
        let layers = self.overlay.layers().to_vec();
        self.rebuild_overlay(layers)?;
        self.generation += 1;
        self.view_changes.clear();
        if self.simulator.is_some() {
            let config = self.simulator.as_ref().map(|s| s.config().clone());
            self.simulator = config.map(|c| Simulator::new(&self.live.twin, &self.channels, c));
        }
        Ok(added)
    }

    /// Moves the clock forward to `now_ms` (never back).
    pub fn advance_clock(&mut self, now_ms: i64) {
        self.now_ms = self.now_ms.max(now_ms);
    }

    /// Lets time pass without samples: sensors fall offline, silence alerts rise.
    pub fn tick(&mut self, now_ms: i64) {
        self.advance_clock(now_ms);
        self.live.tick(self.now_ms);
        self.collect_events();
    }

    /// Takes the alert events raised since the last call into the pending list (when
    /// listening) and moves the overlay's highlights.
    pub fn collect_events(&mut self) {
        while let Ok(e) = self.events.try_recv() {
            match &e {
                AlertEvent::Raised(a) => self.overlay.set_highlight(a.asset, Some(ALERT_HIGHLIGHT)),
                AlertEvent::Cleared(a) => self.overlay.set_highlight(a.asset, None),
                AlertEvent::Acknowledged(_) => {}
            }
            if self.listening {
                self.pending.push(EventOut::of(&self.live.twin, &e));
            }
        }
        if self.pending.len() > MAX_PENDING_EVENTS {
            let drop = self.pending.len() - MAX_PENDING_EVENTS;
            self.pending.drain(..drop);
        }
    }

    /// The events not yet delivered, oldest first.
    pub fn take_events(&mut self) -> Vec<EventOut> {
        std::mem::take(&mut self.pending)
    }

    /// Recolours the overlay and returns every range changed since the view last
    /// asked (including refreshes the page made itself in between).
    pub fn take_view_changes(&mut self) -> Vec<Range<u32>> {
        let ranges = self.overlay.refresh(&mut self.live.store, self.now_ms);
        let mut all = std::mem::take(&mut self.view_changes);
        all.extend(ranges);
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
        let config = if incidents {
            SimConfig::default_for(&self.live.twin, seed, start_ms)
        } else {
            SimConfig::quiet(seed, start_ms)
        };
        self.simulator = Some(Simulator::new(&self.live.twin, &self.channels, config));
    }
}

/// The default mapping, with the CRS named (or WGS84).
fn mapping(crs: Option<&str>) -> Result<Mapping, String> {
    let crs: Crs = match crs.map(str::trim).filter(|c| !c.is_empty()) {
        None => Crs::Wgs84,
        Some(c) => c.parse().map_err(|e| format!("crs: {e}"))?,
    };
    Ok(Mapping::default().with_crs(crs))
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
