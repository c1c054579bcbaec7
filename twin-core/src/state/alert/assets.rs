//! Keeping the engine's view of the twin current when assets are inserted, removed or
//! moved after it was built: what spatial and silence rules watch, the alerts of
//! removed assets and the town of a moved asset's alerts.

use super::{AlertEngine, AlertState};
use crate::asset::Handle;
use crate::kind::AssetKind;
use crate::query::KindFilter;
use crate::time::Timestamp;
use crate::twin::Twin;

impl AlertEngine {
    /// Follows assets inserted, removed or moved (their handles in `changed`; a handle
    /// the twin no longer holds was removed), at `at`:
    ///
    /// - a removed asset's open alerts clear (its threshold, silence and geofence
    ///   watches end);
    /// - a moved asset's open alerts name the town it is in now;
    /// - spatial rules ([`super::Near`]) watch what is near now: a watched asset that
    ///   moved is checked again on its own, an asset of the kinds to be near that
    ///   came, went or moved recomputes the rule's set; an alert of an asset the rule
    ///   no longer watches clears;
    /// - silence rules list their assets again on the next [`AlertEngine::tick`].
    ///
    /// Geofences are evaluated by [`AlertEngine::on_moved`], not here. A removed
    /// asset's kind is unknown here, so it counts as one of every rule's kinds (spatial
    /// sets are recomputed); [`AlertEngine::asset_removed`] knows better.
    pub fn assets_changed(&mut self, twin: &Twin, changed: &[Handle], at: Timestamp) {
        self.follow(twin, changed, &[], at);
    }

    /// Follows the removal of one asset of `kind` (as [`AlertEngine::assets_changed`]):
    /// its alerts clear, and only rules about its kind look again.
    pub fn asset_removed(&mut self, twin: &Twin, h: Handle, kind: &AssetKind, at: Timestamp) {
        self.follow(twin, &[h], &[(h, kind)], at);
    }

    fn follow(
        &mut self,
        twin: &Twin,
        changed: &[Handle],
        removed: &[(Handle, &AssetKind)],
        at: Timestamp,
    ) {
        if changed.is_empty() {
            return;
        }
        // The kind of a changed asset, if known (a removed one's may not be).
        let kind_of = |h: u32| -> Option<&AssetKind> {
            twin.get(Handle(h))
                .map(|a| &a.kind)
                .or_else(|| removed.iter().find(|(r, _)| r.0 == h).map(|(_, k)| *k))
        };
        let mut sorted: Vec<u32> = changed.iter().map(|h| h.0).collect();
        sorted.sort_unstable();
        sorted.dedup();
        let is_changed = |h: u32| sorted.binary_search(&h).is_ok();

        // Removed assets: their watches end and their open alerts clear.
        let mut to_clear = Vec::new();
        for &h in &sorted {
            if twin.get(Handle(h)).is_some() {
                continue;
            }
            for ri in 0..self.rules.len() {
                if let Some(w) = self.watches.remove(&(ri as u16, h)) {
                    to_clear.extend(w.open);
                }
            }
            for fi in 0..self.fences.len() {
                self.fence_inside.remove(&(fi as u16, h));
                to_clear.extend(self.fence_open.remove(&(fi as u16, h)));
            }
        }

        // Moved assets: their open alerts follow them to their town. A town that came,
        // went or moved can change the town of any asset.
        let towns_changed = sorted
            .iter()
            .any(|&h| kind_of(h).is_none_or(|k| *k == AssetKind::Town));
        for a in self.alerts.values_mut() {
            if a.state != AlertState::Cleared && (towns_changed || is_changed(a.asset.0)) {
                a.town = twin.located_in(a.asset);
            }
        }

        // What each rule watches.
        let capacity = twin.handle_capacity();
        for ri in 0..self.rules.len() {
            let rule = &self.rules[ri];
            // An asset of unknown kind (removed) counts as touching every rule.
            let touches = |kinds: &KindFilter| {
                sorted
                    .iter()
                    .any(|&h| kind_of(h).is_none_or(|k| kinds.matches(k)))
            };
            if !touches(&rule.kinds) && !rule.near.as_ref().is_some_and(|n| touches(&n.kinds)) {
                continue;
            }
            self.silent_watch[ri] = None;
            let Some(near) = rule.near.clone() else {
                continue;
            };
            let Some(set) = self.near_sets[ri].as_mut() else {
                // Not computed yet: it will be on first use, over the twin as it is then.
                continue;
            };
            let dropped: Vec<u32> = if touches(&near.kinds) {
                // What to be near changed: the whole set again.
                let old = std::mem::take(set);
                self.near_sets[ri] = None;
                self.prepare_near(twin);
                let new = self.near_sets[ri].as_deref().unwrap_or(&[]);
                (0..old.len())
                    .filter(|&i| old[i] && !new.get(i).copied().unwrap_or(false))
                    .map(|i| i as u32)
                    .collect()
            } else {
                // Only watched assets moved or came: each is checked on its own
                // (within `metres` of an asset to be near, the same distance both ways).
                set.resize(capacity, false);
                let mut dropped = Vec::new();
                for &h in &sorted {
                    let Some(a) = twin.get(Handle(h)) else {
                        continue;
                    };
                    if !rule.kinds.matches(&a.kind) {
                        continue;
                    }
                    let near_now = !twin
                        .query_within_distance_of(&a.geometry, near.metres, Some(&near.kinds))
                        .is_empty();
                    let was = std::mem::replace(&mut set[h as usize], near_now);
                    if was && !near_now {
                        dropped.push(h);
                    }
                }
                dropped
            };
            for h in dropped {
                if let Some(w) = self.watches.remove(&(ri as u16, h)) {
                    to_clear.extend(w.open);
                }
            }
        }

        to_clear.sort_unstable();
        for id in to_clear {
            if let Some(e) = self.clear_alert(id, at) {
                self.emit(e);
            }
        }
    }
}
