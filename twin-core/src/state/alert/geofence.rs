//! Geofences: alerts for moving assets (ferries, vehicles, drones) entering or leaving
//! a zone, evaluated when an asset moves ([`AlertEngine::on_moved`]).
//!
//! An `enter` fence raises while an asset of its kinds is inside the zone (also when it
//! is first seen inside) and clears when it leaves; an `exit` fence raises when an asset
//! that was inside leaves, and clears when it comes back. The zone is WGS84; the test
//! runs on the asset's local-frame geometry (any part inside counts).

use geo::Intersects;
use geo_types::Geometry;

use super::{AlertEngine, AlertEvent, Severity};
use crate::asset::Handle;
use crate::query::KindFilter;
use crate::time::Timestamp;
use crate::twin::Twin;

/// Which crossing a fence alerts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FenceOn {
    /// Being inside the zone (a restricted area).
    Enter,
    /// Having left the zone (a ferry off its route, a vehicle out of its district).
    Exit,
}

/// A geofence rule.
#[derive(Clone, Debug, PartialEq)]
pub struct GeofenceRule {
    /// The rule's id.
    pub id: String,
    /// The assets it watches.
    pub kinds: KindFilter,
    /// The zone, WGS84.
    pub zone: Geometry<f64>,
    /// Which crossing alerts.
    pub on: FenceOn,
    /// The severity of its alerts.
    pub severity: Severity,
}

impl AlertEngine {
    /// Adds a geofence rule.
    pub fn add_geofence(&mut self, rule: GeofenceRule) {
        self.fences.push((rule, None));
    }

    /// The geofence rules.
    pub fn geofences(&self) -> impl Iterator<Item = &GeofenceRule> {
        self.fences.iter().map(|(r, _)| r)
    }

    /// Evaluates the geofences for an asset that moved (or was first placed) at `at`.
    pub fn on_moved(&mut self, twin: &Twin, h: Handle, at: Timestamp) {
        let Some(asset) = twin.get(h) else {
            return;
        };
        let Some(local) = twin.local_geometry(h) else {
            return;
        };
        for fi in 0..self.fences.len() {
            if !self.fences[fi].0.kinds.matches(&asset.kind) {
                continue;
            }
            if self.fences[fi].1.is_none() {
                let zone = twin.to_local(&self.fences[fi].0.zone);
                self.fences[fi].1 = Some(zone);
            }
            let inside = self.fences[fi]
                .1
                .as_ref()
                .is_some_and(|zone| zone.intersects(local));
            let key = (fi as u16, h.0);
            let was_inside = self.fence_inside.insert(key, inside);
            let open = self.fence_open.get(&key).copied();
            let rule = &self.fences[fi].0;
            let should_be_open = match rule.on {
                FenceOn::Enter => inside,
                // Only after the asset has been seen inside.
                FenceOn::Exit => !inside && (was_inside == Some(true) || open.is_some()),
            };
            let (rule_id, severity) = (rule.id.clone(), rule.severity);
            match (should_be_open, open) {
                (true, None) => {
                    let value = f64::from(u8::from(inside));
                    let alert = self.open_alert(twin, rule_id, severity, h, at, value);
                    self.fence_open.insert(key, alert.id);
                    self.emit(AlertEvent::Raised(alert));
                }
                (false, Some(id)) => {
                    self.fence_open.remove(&key);
                    if let Some(e) = self.clear_alert(id, at) {
                        self.emit(e);
                    }
                }
                _ => {}
            }
        }
    }
}
