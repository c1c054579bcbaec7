//! A live twin: the twin with its state store, alert engine and vital signs, fed by
//! one call per batch of samples. Assets inserted, removed or moved through it (or
//! announced with [`LiveTwin::assets_changed`]) are counted in at once.

use super::alert::{AlertEngine, RuleError, ThresholdRule, load_geofences_json, load_rules_json};
use super::store::{IngestReport, Sample, StateStore};
use super::vitals::{VitalRow, VitalSigns};
use crate::asset::{Asset, Handle};
use crate::error::{LoadError, TwinError};
use crate::load::{LoadMode, LoadReport, ReadResult};
use crate::twin::Twin;

/// The default alert rules of the bundled island (`assets/rules/chongming.json`),
/// written for the channels of [`crate::sim::standard_channels`].
pub const DEFAULT_RULES_JSON: &str = include_str!("../../../assets/rules/chongming.json");

/// The twin, its live state, alerts and vital signs, kept consistent by [`LiveTwin::apply`].
#[derive(Debug)]
pub struct LiveTwin {
    /// The assets.
    pub twin: Twin,
    /// Latest values and history.
    pub store: StateStore,
    /// Rules and alerts.
    pub alerts: AlertEngine,
    /// Per-town vital signs.
    pub vitals: VitalSigns,
}

impl LiveTwin {
    /// A live twin; sensors count as online while their last sample is at most
    /// `online_window_ms` old.
    pub fn new(
        twin: Twin,
        store: StateStore,
        rules: Vec<ThresholdRule>,
        online_window_ms: i64,
    ) -> Self {
        let mut vitals = VitalSigns::new(&twin, online_window_ms);
        // A store that already holds state (a restored snapshot) counts from the start.
        if let Some(newest) = store.newest_ts() {
            vitals.seed(&store, newest);
        }
        LiveTwin {
            twin,
            store,
            alerts: AlertEngine::new(rules),
            vitals,
        }
    }

    /// Parses rules (JSON, see [`load_rules_json`] and [`load_geofences_json`]) against
    /// this twin's channels and replaces the engine's rules; open alerts of rules that
    /// still exist stay open, subscribers stay subscribed. On error nothing changes.
    pub fn set_rules_json(&mut self, text: &str) -> Result<(), RuleError> {
        let rules = load_rules_json(text, &self.store)?;
        let fences = load_geofences_json(text)?;
        self.alerts.replace_rules(rules, fences)
    }

    /// Moves an asset (a ferry, a vehicle) and evaluates the geofences at `at_ms`; a
    /// sensor counts in the town it is in now, spatial rules watch what is near it now.
    /// A bad geometry changes nothing.
    pub fn move_asset(
        &mut self,
        h: Handle,
        geometry: geo_types::Geometry<f64>,
        at_ms: i64,
    ) -> Result<(), TwinError> {
        self.twin.move_asset(h, geometry)?;
        self.alerts.on_moved(&self.twin, h, at_ms);
        self.assets_changed(&[h], at_ms);
        Ok(())
    }

    /// Inserts assets ([`Twin::insert_assets`]; strict: any problem inserts nothing)
    /// and counts them in at `now_ms`: sensors in their town's vital signs, assets in
    /// the spatial and silence rules that match them.
    pub fn insert_assets(
        &mut self,
        assets: Vec<Asset>,
        mode: LoadMode,
        now_ms: i64,
    ) -> Result<LoadReport, LoadError> {
        let report = self.twin.insert_assets(assets, mode)?;
        self.assets_changed(&report.inserted, now_ms);
        Ok(report)
    }

    /// Inserts what a reader produced ([`Twin::insert_read`]: GeoJSON, FlatGeobuf) and
    /// counts the new assets in at `now_ms`, as [`LiveTwin::insert_assets`].
    pub fn insert_read(
        &mut self,
        read: ReadResult,
        mode: LoadMode,
        now_ms: i64,
    ) -> Result<LoadReport, LoadError> {
        let report = self.twin.insert_read(read, mode)?;
        self.assets_changed(&report.inserted, now_ms);
        Ok(report)
    }

    /// Removes an asset by id at `now_ms`: its open alerts clear, a sensor leaves its
    /// town's vital signs, rules stop watching it (and what was near only it).
    pub fn remove_asset(&mut self, id: &str, now_ms: i64) -> Result<Asset, TwinError> {
        let h = self
            .twin
            .handle(id)
            .ok_or_else(|| TwinError::UnknownId(id.to_string()))?;
        let asset = self.twin.remove(id)?;
        self.alerts
            .asset_removed(&self.twin, h, &asset.kind, now_ms);
        self.vitals
            .assets_changed(&self.twin, &self.store, &[h], now_ms);
        Ok(asset)
    }

    /// Brings vital signs and alert rules up to date after assets were inserted,
    /// removed or moved through `self.twin` directly (the methods above call it):
    /// `changed` holds their handles. See [`VitalSigns::assets_changed`] and
    /// [`AlertEngine::assets_changed`].
    pub fn assets_changed(&mut self, changed: &[Handle], now_ms: i64) {
        self.store.ensure_capacity(self.twin.handle_capacity());
        self.alerts.assets_changed(&self.twin, changed, now_ms);
        self.vitals
            .assets_changed(&self.twin, &self.store, changed, now_ms);
    }

    /// Applies a batch: the store first, then alerts and vital signs see the samples
    /// that became latest values.
    pub fn apply(&mut self, samples: &[Sample], now_ms: i64) -> IngestReport {
        self.store.ensure_capacity(self.twin.handle_capacity());
        let report = self.store.apply(samples, now_ms);
        self.alerts.process(&self.twin, &self.store, samples);
        self.alerts.tick(&self.twin, &self.store, now_ms);
        self.vitals.update(&self.store, samples, now_ms);
        report
    }

    /// Applies readings by external id and channel name: each is resolved against the
    /// twin and the store's channels (refusals are counted in the report), then the
    /// samples go through [`LiveTwin::apply`].
    pub fn apply_readings(&mut self, readings: &[super::Reading], now_ms: i64) -> IngestReport {
        self.store.ensure_capacity(self.twin.handle_capacity());
        let mut samples = Vec::with_capacity(readings.len());
        let mut refused = Vec::new();
        for r in readings {
            match self.store.resolve(&self.twin, r) {
                Ok(s) => samples.push(s),
                Err(reason) => refused.push((reason, r)),
            }
        }
        let mut report = self.apply(&samples, now_ms);
        for (reason, r) in refused {
            report.note_rejection(reason, &r.id, &r.channel, r.ts);
        }
        report
    }

    /// Lets time pass without samples (sensors fall offline; the history's hot log is
    /// compacted now and then, see [`StateStore::tick`]).
    pub fn tick(&mut self, now_ms: i64) {
        self.store.tick(now_ms);
        self.alerts.tick(&self.twin, &self.store, now_ms);
        self.vitals.tick(now_ms);
    }

    /// The vital-signs table now, with open alerts.
    pub fn vital_signs(&self) -> Vec<VitalRow> {
        self.vitals.table(&self.twin, Some(&self.alerts))
    }
}
