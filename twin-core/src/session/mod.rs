//! The live session: the one way to change a live twin.
//!
//! A [`Session`] owns a [`Twin`] (the assets) and everything that follows them live —
//! the [`StateStore`] (latest values and history), the [`AlertEngine`] (rules and
//! alerts), the [`VitalSigns`] (per-town table) and the [`Overlay`] (a colour per
//! asset) — and keeps them consistent: applying telemetry updates the store, then the
//! alerts and vital signs see the samples that became latest values; inserting,
//! removing or moving assets reaches the index, the vital signs, the rules' watch
//! lists and the overlay in the same call; a raised alert highlights its asset in the
//! overlay and a cleared one stops. Its fields are private: callers read the parts
//! through shared references ([`Session::twin`], [`Session::store`] …) and change them
//! only through the session's methods, so no caller can apply a sample the alerts did
//! not see or insert an asset the overlay does not know.
//!
//! Every front end stands on one session: `twin run` prints from it, the desktop
//! viewer and the web page draw its overlay, and a server shares it. What a scenario
//! adds (channels, rules, overlay layers, a simulator) it adds through the same
//! methods (`twin_chongming::sim::standard_session` builds the island's).
//!
//! ## Time
//! The session has a clock, [`Session::now`]: the latest time it was given by
//! [`Session::apply`], [`Session::tick`] or [`Session::advance`] (it never goes back).
//! Sensors count as online while their last sample is at most
//! [`SessionConfig::online_window_ms`] old by that clock; asset changes and
//! acknowledgements are stamped with it.
//!
//! ## Events
//! Alert events (raised, acknowledged, cleared) wait in a bounded queue and are taken
//! in batches with [`Session::drain_events`]. At most [`SessionConfig::event_capacity`]
//! wait: past that the oldest are dropped and counted ([`Session::events_dropped`]),
//! so a reader that stops reading costs a fixed amount of memory and slows nothing.
//! Highlights follow the alerts whether or not anyone drains the events.
//!
//! ## Incidents and orders
//! Every alert event also reaches the session's [`Incidents`] (alerts grouped into
//! the one matter an operator handles) and, through their changes, its [`Orders`]
//! (a work order per incident, dispatched, escalated and closed): see [`manage`].
//! Their changes wait in bounded queues of their own.

use std::collections::VecDeque;
use std::ops::Range;

use crate::asset::{Asset, Handle};
use crate::error::{LoadError, TwinError};
use crate::load::{LoadMode, LoadReport, Mapping, ReadResult};
use crate::state::alert::{
    Alert, AlertEngine, AlertEvent, GeofenceRule, RuleError, ThresholdRule, load_geofences_json,
    load_rules_json,
};
use crate::state::history::Retention;
use crate::state::incident::{IncidentEvent, IncidentRules, Incidents};
use crate::state::orders::{DispatchRules, OrderEvent, Orders};

pub mod journal;
pub mod manage;
pub mod views;
use crate::state::overlay::{Layer, Overlay, OverlayError, Rgba, StyleError, load_layers_json};
use crate::state::vitals::{VitalRow, VitalSigns};
use crate::state::{ChannelId, ChannelSpec, IngestReport, Reading, Sample, StateStore};
use crate::time::Timestamp;
use crate::twin::Twin;

/// How a session keeps its state; [`SessionConfig::default`] suits a district.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionConfig {
    /// How long history is kept per series.
    pub retention: Retention,
    /// Memory for history, bytes (oldest samples evicted past it; `None`: no cap).
    pub history_budget_bytes: Option<usize>,
    /// A sensor counts as online while its last sample is at most this old.
    pub online_window_ms: i64,
    /// Samples more than this far ahead of the session's clock are refused.
    pub future_tolerance_ms: i64,
    /// The most alert events kept undrained ([`Session::drain_events`]).
    pub event_capacity: usize,
    /// The colour an asset with an open warning or critical alert takes over its style
    /// (`None`: none). Info alerts (a silent sensor) leave the style's colour: a silent
    /// sensor shows grey as offline, not as an alarm.
    pub alert_highlight: Option<Rgba>,
}

/// The highlight of assets with an open alert, unless configured otherwise.
pub const ALERT_HIGHLIGHT: Rgba = Rgba::rgb(230, 0, 160);

impl Default for SessionConfig {
    /// Six hours of history within 512 MiB, online for 2 minutes after a sample,
    /// samples up to 5 minutes ahead, 100,000 undrained events, alerts in magenta.
    fn default() -> Self {
        SessionConfig {
            retention: Retention::max_age(6 * 3_600_000),
            history_budget_bytes: Some(512 << 20),
            online_window_ms: 120_000,
            future_tolerance_ms: 5 * 60_000,
            event_capacity: 100_000,
            alert_highlight: Some(ALERT_HIGHLIGHT),
        }
    }
}

/// What changed since the last [`Session::refresh`], as sorted, merged handle ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Refreshed {
    /// Handles whose latest value on some channel changed.
    pub values: Vec<Range<u32>>,
    /// Handles whose overlay colour changed.
    pub colors: Vec<Range<u32>>,
}

/// A live twin: assets, state, alerts, vital signs and colours, changed only together.
#[derive(Debug)]
pub struct Session {
    twin: Twin,
    store: StateStore,
    alerts: AlertEngine,
    vitals: VitalSigns,
    overlay: Overlay,
    config: SessionConfig,
    now: Timestamp,
    events: VecDeque<AlertEvent>,
    events_dropped: u64,
    /// The engine's drop count when its events were last moved here.
    engine_drops_seen: u64,
    /// Counts changes of the asset set (inserts, removals, moves): a view whose meshes
    /// were built at another generation builds them again.
    generation: u64,
    /// The alerts grouped into incidents.
    incidents: Incidents,
    /// Incident changes not yet taken ([`Session::drain_incident_events`]).
    incident_events: VecDeque<IncidentEvent>,
    /// The work orders of the incidents.
    orders: Orders,
    /// Order changes not yet taken ([`Session::drain_order_events`]).
    order_events: VecDeque<OrderEvent>,
    /// Incident and order changes dropped undrained.
    manage_dropped: u64,
    /// Alert events were lost without the engine counting them (rules replaced,
    /// alerts restored): incidents are reconciled with the open alerts next.
    reconcile_pending: bool,
    /// Hears of every change ([`journal`]).
    journal: journal::Slot,
}

impl Session {
    /// A session over `twin` with no channels, rules or overlay layers yet; its clock
    /// starts at the epoch.
    pub fn new(twin: Twin, config: SessionConfig) -> Session {
        let store = StateStore::new(
            twin.handle_capacity(),
            config.retention,
            config.history_budget_bytes,
        );
        Session::from_parts(twin, store, Vec::new(), config)
    }

    /// A session over a twin and a store that may already hold state (a restored
    /// snapshot): vital signs count the held values at the store's newest time, the
    /// clock starts there.
    pub(crate) fn from_parts(
        twin: Twin,
        mut store: StateStore,
        rules: Vec<ThresholdRule>,
        config: SessionConfig,
    ) -> Session {
        store.ensure_capacity(twin.handle_capacity());
        store.set_future_tolerance_ms(config.future_tolerance_ms);
        let mut vitals = VitalSigns::new(&twin, config.online_window_ms);
        let now = store.newest_ts().unwrap_or(Timestamp::EPOCH);
        if store.newest_ts().is_some() {
            vitals.seed(&store, now);
        }
        let overlay = Overlay::new(&twin, Vec::new()).expect("an overlay without layers is valid");
        let mut alerts = AlertEngine::new(rules);
        alerts.set_event_capacity(config.event_capacity);
        Session {
            twin,
            store,
            alerts,
            vitals,
            overlay,
            config,
            now,
            events: VecDeque::new(),
            events_dropped: 0,
            engine_drops_seen: 0,
            generation: 0,
            incidents: Incidents::new(IncidentRules::default()),
            incident_events: VecDeque::new(),
            orders: Orders::new(DispatchRules::none()),
            order_events: VecDeque::new(),
            manage_dropped: 0,
            reconcile_pending: false,
            journal: journal::Slot::default(),
        }
    }

    // ---- reading -------------------------------------------------------------------

    /// The assets.
    pub fn twin(&self) -> &Twin {
        &self.twin
    }

    /// Latest values and history.
    pub fn store(&self) -> &StateStore {
        &self.store
    }

    /// Rules and alerts.
    pub fn alerts(&self) -> &AlertEngine {
        &self.alerts
    }

    /// Per-town vital signs.
    pub fn vitals(&self) -> &VitalSigns {
        &self.vitals
    }

    /// Colours by handle.
    pub fn overlay(&self) -> &Overlay {
        &self.overlay
    }

    /// How the session keeps its state.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The session's clock.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Counts changes of the asset set since the session was made.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The vital-signs table now, with open alerts.
    pub fn vital_signs(&self) -> Vec<VitalRow> {
        self.vitals.table(&self.twin, Some(&self.alerts))
    }

    /// The vital-signs table at a past time, from history (alerts not counted).
    pub fn vital_signs_at(&self, t: Timestamp) -> Vec<VitalRow> {
        self.vitals.at(&self.twin, &self.store, t)
    }

    /// Every asset's colour at a past time, from history (no highlights).
    pub fn colors_at(&self, t: Timestamp) -> Vec<Rgba> {
        self.overlay.colors_at(&self.store, t)
    }

    /// Open alerts, most severe first, then newest first.
    pub fn open_alerts(&self) -> Vec<Alert> {
        let mut v: Vec<Alert> = self.alerts.open().cloned().collect();
        v.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(b.raised_at.cmp(&a.raised_at))
                .then(b.id.cmp(&a.id))
        });
        v
    }

    // ---- channels, rules, overlay --------------------------------------------------

    /// Registers a channel (a name already registered gives its id back).
    pub fn register_channel(&mut self, spec: ChannelSpec) -> ChannelId {
        let known = self.store.channels().count();
        let id = self.store.register(spec);
        if self.store.channels().count() != known {
            self.reconfigured("channels");
        }
        id
    }

    /// Sets how long one channel's history is kept.
    pub fn set_channel_retention(&mut self, channel: ChannelId, retention: Retention) {
        self.store.set_retention(channel, retention);
        self.reconfigured("retention");
    }

    /// Parses rules (JSON: threshold rules and geofences, see
    /// [`crate::state::alert::load_rules_json`]) against this session's channels and
    /// replaces the rules; open alerts of rules that still exist stay open. On error
    /// nothing changes.
    pub fn set_rules_json(&mut self, text: &str) -> Result<(), RuleError> {
        let rules = load_rules_json(text, &self.store)?;
        let fences = load_geofences_json(text)?;
        self.set_rules(rules, fences)
    }

    /// Replaces the rules and geofences (ids unique across both); open alerts of rules
    /// that still exist stay open. On error nothing changes.
    pub fn set_rules(
        &mut self,
        rules: Vec<ThresholdRule>,
        fences: Vec<GeofenceRule>,
    ) -> Result<(), RuleError> {
        self.alerts.replace_rules(rules, fences)?;
        self.reconcile_pending = true;
        self.after_alerts();
        // Open alerts of rules that are gone were dropped without an event: their
        // assets lose the highlight.
        if let Some(color) = self.config.alert_highlight {
            self.resync_highlights(color);
        }
        self.reconfigured("rules");
        Ok(())
    }

    /// Colours assets by these layers from now on, painted at once from the held
    /// state (open alerts stay highlighted). A bad style changes nothing.
    pub fn set_layers(&mut self, layers: Vec<Layer>) -> Result<(), StyleError> {
        let mut overlay = Overlay::new(&self.twin, layers)?;
        overlay.repaint_all();
        if let Some(color) = self.config.alert_highlight {
            for a in self.alerts.open().filter(|a| highlights(a)) {
                overlay.set_highlight(a.asset, Some(color));
            }
        }
        self.overlay = overlay;
        self.reconfigured("layers");
        Ok(())
    }

    /// Colours assets by the layers of an overlay file (JSON, see
    /// [`load_layers_json`]), as [`Session::set_layers`].
    pub fn set_overlay_json(&mut self, text: &str) -> Result<(), OverlayError> {
        let layers = load_layers_json(text, &self.store)?;
        self.set_layers(layers)
            .map_err(|e| OverlayError::Format(e.to_string()))
    }

    /// Recolours what changed since the last call (new values, silence, highlights,
    /// asset changes); returns the merged ranges of handles whose colour changed, the
    /// rows of a renderer's state texture to upload.
    pub fn refresh_colors(&mut self) -> Vec<Range<u32>> {
        self.overlay.refresh(&mut self.store, self.now)
    }

    /// As [`Session::refresh_colors`], and also the handles whose latest values
    /// changed since the last refresh (a live stream sends both; the store hands its
    /// changes out once, so one call must take them for both).
    pub fn refresh(&mut self) -> Refreshed {
        let values = self.store.take_changed();
        let colors = self.overlay.refresh_from(&self.store, &values, self.now);
        Refreshed { values, colors }
    }

    // ---- telemetry and time --------------------------------------------------------

    /// Applies a batch of samples at `now`: the store first, then alerts and vital
    /// signs see the samples that became latest values. Refusals are counted in the
    /// report; nothing held is disturbed by a bad sample.
    pub fn apply(&mut self, samples: &[Sample], now: Timestamp) -> IngestReport {
        self.now = self.now.max(now);
        let now = self.now;
        self.store.ensure_capacity(self.twin.handle_capacity());
        let taken = self.journal.is_set().then(|| {
            if samples.iter().all(|s| self.store.check(s, now).is_ok()) {
                None
            } else {
                let ok = |s: &&Sample| self.store.check(s, now).is_ok();
                Some(samples.iter().filter(ok).copied().collect::<Vec<_>>())
            }
        });
        let report = self.store.apply(samples, now);
        if let Some(taken) = taken {
            let samples = taken.as_deref().unwrap_or(samples);
            self.journal
                .record(journal::Entry::Applied { now, samples });
        }
        self.alerts.process(&self.twin, &self.store, samples);
        self.alerts.tick(&self.twin, &self.store, now);
        self.vitals.update(&self.store, samples, now);
        self.after_alerts();
        report
    }

    /// Applies readings by external id and channel name: each is resolved against the
    /// twin and the store's channels (refusals counted in the report), then the
    /// samples go through [`Session::apply`].
    pub fn apply_readings(&mut self, readings: &[Reading], now: Timestamp) -> IngestReport {
        self.store.ensure_capacity(self.twin.handle_capacity());
        let mut samples = Vec::with_capacity(readings.len());
        let mut refused = Vec::new();
        for r in readings {
            match self.store.resolve(&self.twin, r) {
                Ok(s) => samples.push(s),
                Err(reason) => refused.push((reason, r)),
            }
        }
        let mut report = self.apply(&samples, now);
        for (reason, r) in refused {
            report.note_rejection(reason, &r.id, &r.channel, r.ts);
        }
        report
    }

    /// Lets time pass to `now` without samples: sensors fall offline, silence rules
    /// raise, history's hot log is compacted now and then.
    pub fn tick(&mut self, now: Timestamp) {
        self.now = self.now.max(now);
        let now = self.now;
        self.store.tick(now);
        self.alerts.tick(&self.twin, &self.store, now);
        self.vitals.tick(now);
        self.after_alerts();
        self.journal.record(journal::Entry::Ticked { now });
    }

    /// Moves the clock to `now` (never back) without evaluating anything; the next
    /// [`Session::tick`] or [`Session::apply`] catches up.
    pub fn advance(&mut self, now: Timestamp) {
        self.now = self.now.max(now);
    }

    /// Numbers new alerts from `first` on ([`AlertEngine::start_ids_at`]).
    ///
    /// [`AlertEngine::start_ids_at`]: crate::state::alert::AlertEngine::start_ids_at
    pub fn start_alert_ids_at(&mut self, first: u64) {
        self.alerts.start_ids_at(first);
    }

    /// Acknowledges an open alert (stamped with the session's clock); false if it is
    /// unknown, cleared or already acknowledged.
    pub fn acknowledge(&mut self, alert: u64) -> bool {
        let ok = self.alerts.acknowledge(alert, self.now);
        self.after_alerts();
        if ok {
            let now = self.now;
            self.journal
                .record(journal::Entry::Acknowledged { now, alert });
        }
        ok
    }

    /// Takes at most `max` alert events, oldest first.
    pub fn drain_events(&mut self, max: usize) -> Vec<AlertEvent> {
        let n = max.min(self.events.len());
        self.events.drain(..n).collect()
    }

    /// How many events wait to be drained.
    pub fn pending_events(&self) -> usize {
        self.events.len()
    }

    /// Events dropped undrained since the session was made (the queue was full).
    pub fn events_dropped(&self) -> u64 {
        self.events_dropped + self.alerts.events_dropped()
    }

    /// Moves the engine's new events into the session's queue and the overlay's
    /// highlights. The engine's queue is drained after every call, so it drops events
    /// only within one call that raised more than it keeps; then highlights are set
    /// again from the open alerts.
    fn after_alerts(&mut self) {
        let events = self.alerts.drain_events(usize::MAX);
        if let Some(color) = self.config.alert_highlight {
            for e in &events {
                match e {
                    AlertEvent::Raised(a) if highlights(a) => {
                        self.overlay.set_highlight(a.asset, Some(color))
                    }
                    AlertEvent::Raised(_) => {}
                    AlertEvent::Cleared(a) => self.overlay.set_highlight(a.asset, None),
                    AlertEvent::Acknowledged(_) => {}
                }
            }
            if self.alerts.events_dropped() > self.engine_drops_seen {
                self.resync_highlights(color);
            }
        }
        let lost = self.alerts.events_dropped() > self.engine_drops_seen;
        self.engine_drops_seen = self.alerts.events_dropped();
        self.manage(&events, lost);
        self.events.extend(events);
        while self.events.len() > self.config.event_capacity.max(1) {
            self.events.pop_front();
            self.events_dropped += 1;
        }
    }

    fn resync_highlights(&mut self, color: Rgba) {
        self.overlay.clear_highlights();
        let open: Vec<Handle> = self
            .alerts
            .open()
            .filter(|a| highlights(a))
            .map(|a| a.asset)
            .collect();
        for h in open {
            self.overlay.set_highlight(h, Some(color));
        }
    }

    // ---- assets --------------------------------------------------------------------

    /// Inserts assets ([`Twin::insert_assets`]; strict: any problem inserts nothing)
    /// and counts them in at the session's clock: sensors in their town's vital signs,
    /// assets in the rules and overlay layers that match them.
    pub fn insert_assets(
        &mut self,
        assets: Vec<Asset>,
        mode: LoadMode,
    ) -> Result<LoadReport, LoadError> {
        let report = self.twin.insert_assets(assets, mode)?;
        self.assets_changed(&report.inserted);
        Ok(report)
    }

    /// Inserts what a reader produced (GeoJSON, FlatGeobuf), as
    /// [`Session::insert_assets`].
    pub fn insert_read(
        &mut self,
        read: ReadResult,
        mode: LoadMode,
    ) -> Result<LoadReport, LoadError> {
        let report = self.twin.insert_read(read, mode)?;
        self.assets_changed(&report.inserted);
        Ok(report)
    }

    /// Reads GeoJSON text and inserts its features, as [`Session::insert_assets`].
    pub fn load_geojson_str(
        &mut self,
        text: &str,
        name: &str,
        mapping: &Mapping,
        mode: LoadMode,
    ) -> Result<LoadReport, LoadError> {
        let report = self.twin.load_geojson_str(text, name, mapping, mode)?;
        self.assets_changed(&report.inserted);
        Ok(report)
    }

    /// Removes an asset by id: its open alerts clear, a sensor leaves its town's vital
    /// signs, rules stop watching it, its colour turns transparent.
    pub fn remove_asset(&mut self, id: &str) -> Result<Asset, TwinError> {
        let h = self
            .twin
            .handle(id)
            .ok_or_else(|| TwinError::UnknownId(id.to_string()))?;
        let asset = self.twin.remove(id)?;
        let now = self.now;
        self.alerts.asset_removed(&self.twin, h, &asset.kind, now);
        self.vitals
            .assets_changed(&self.twin, &self.store, &[h], now);
        self.overlay.assets_changed(&self.twin, &[h]);
        self.generation += 1;
        self.after_alerts();
        self.reconfigured("assets");
        Ok(asset)
    }

    /// Moves an asset (a ferry, a vehicle) and evaluates the geofences: a sensor counts
    /// in the town it is in now, spatial rules watch what is near it now. A bad
    /// geometry changes nothing.
    pub fn move_asset(
        &mut self,
        h: Handle,
        geometry: geo_types::Geometry<f64>,
    ) -> Result<(), TwinError> {
        self.twin.move_asset(h, geometry)?;
        self.alerts.on_moved(&self.twin, h, self.now);
        self.assets_changed(&[h]);
        Ok(())
    }

    fn assets_changed(&mut self, changed: &[Handle]) {
        if changed.is_empty() {
            return;
        }
        let now = self.now;
        self.store.ensure_capacity(self.twin.handle_capacity());
        self.alerts.assets_changed(&self.twin, changed, now);
        self.vitals
            .assets_changed(&self.twin, &self.store, changed, now);
        self.overlay.assets_changed(&self.twin, changed);
        self.generation += 1;
        self.after_alerts();
        self.reconfigured("assets");
    }

    /// Ends the session and gives back its twin.
    pub fn into_twin(self) -> Twin {
        self.twin
    }

    // ---- snapshots -----------------------------------------------------------------

    /// The alert engine's evaluation state for a snapshot (see `state::alert::saved`).
    pub(crate) fn alert_state(&self, index_of: impl Fn(u32) -> Option<u32>) -> Vec<u8> {
        self.alerts.save_state(index_of)
    }

    /// Puts back the alert engine's evaluation state, after the open alerts.
    pub(crate) fn restore_alert_state(
        &mut self,
        bytes: &[u8],
        handles: &[Handle],
    ) -> Result<(), String> {
        self.alerts.restore_state(bytes, handles)
    }

    /// Puts back alerts that were open when a snapshot was taken; returns those whose
    /// rule this session does not have.
    pub(crate) fn restore_alerts(&mut self, alerts: Vec<Alert>) -> Vec<Alert> {
        let orphans = self.alerts.restore(alerts);
        if let Some(color) = self.config.alert_highlight {
            self.resync_highlights(color);
        }
        // Grouped at the next change of alerts or clock, with the rules the caller sets
        // after the restore (not the defaults a restored session starts with).
        self.reconcile_pending = true;
        orphans
    }
}

/// Whether an open alert highlights its asset: warnings and critical alerts do.
fn highlights(a: &Alert) -> bool {
    a.severity >= crate::state::alert::Severity::Warning
}
