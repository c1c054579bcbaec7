//! Town vital signs: per town and per island, how many sensors are online, the mean
//! and maximum of each channel, and the open alerts by severity — the table a district
//! operations centre puts on its big screen.
//!
//! [`VitalSigns`] is updated incrementally: [`VitalSigns::update`] takes the samples
//! just applied to the store and moves each one's contribution (count and a multiset of
//! values, so a falling maximum is exact and the mean is summed afresh, without drift) from the old value to the
//! new; [`VitalSigns::tick`] marks sensors offline when they have been silent longer than
//! the window (a deadline per sensor, to the millisecond). Means and maxima are over the latest
//! value of every sensor that has reported, online or not; "online" means a sample
//! within the window. Sensors that report only events (cameras: silence is their
//! normal, [`crate::SensorType::reports_events_only`]) are left out. [`VitalSigns::at`] recomputes the table for a past time from
//! history, the same way. [`VitalSigns::assets_changed`] follows sensors and towns
//! inserted, removed or moved after the table was built.

use std::collections::BTreeMap;

use super::alert::AlertEngine;
use super::channel::ChannelId;
use super::store::{Sample, StateStore};
use crate::asset::Handle;
use crate::kind::AssetKind;
use crate::time::Timestamp;
use crate::twin::Twin;

/// An f64 ordered by `total_cmp`, for the maximum multisets.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Ordered(f64);
impl Eq for Ordered {}
impl PartialOrd for Ordered {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Ordered {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}

/// Count and the multiset of values of one channel in one town.
#[derive(Clone, Debug, Default, PartialEq)]
struct Agg {
    values: BTreeMap<Ordered, u32>,
    count: usize,
}

impl Agg {
    fn add(&mut self, v: f64) {
        self.count += 1;
        *self.values.entry(Ordered(v)).or_insert(0) += 1;
    }

    fn remove(&mut self, v: f64) {
        if let Some(n) = self.values.get_mut(&Ordered(v)) {
            *n -= 1;
            if *n == 0 {
                self.values.remove(&Ordered(v));
            }
            self.count -= 1;
        }
    }

    fn stats(&self) -> Option<ChannelStats> {
        let max = self.values.keys().next_back()?.0;
        // The mean is summed afresh from the multiset (compensated, Neumaier): a running
        // sum updated by adding and subtracting drifts after an outlier comes and goes.
        let (mut sum, mut carry) = (0.0f64, 0.0f64);
        for (v, n) in &self.values {
            let x = v.0 * f64::from(*n);
            let t = sum + x;
            if sum.abs() >= x.abs() {
                carry += (sum - t) + x;
            } else {
                carry += (x - t) + sum;
            }
            sum = t;
        }
        Some(ChannelStats {
            count: self.count,
            mean: (sum + carry) / self.count as f64,
            max,
        })
    }
}

/// Mean and maximum of one channel over a region's sensors.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ChannelStats {
    /// Sensors that have reported the channel.
    pub count: usize,
    /// Mean of their latest values.
    pub mean: f64,
    /// Maximum of their latest values.
    pub max: f64,
}

/// One row of the table: a town or an island.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VitalRow {
    /// The town or island.
    pub region: Handle,
    /// Its display name.
    pub name: String,
    /// True for an island row (the sum of its towns).
    pub island: bool,
    /// Sensors located in it.
    pub sensors: usize,
    /// Of which reported within the window.
    pub online: usize,
    /// Per channel.
    pub channels: BTreeMap<ChannelId, ChannelStats>,
    /// Open alerts by severity (info, warning, critical).
    pub alerts: [usize; 3],
}

impl VitalRow {
    /// Sensors not online (never reported or silent past the window).
    pub fn offline(&self) -> usize {
        self.sensors - self.online
    }
}

/// Incrementally kept vital signs of every town and island.
#[derive(Debug)]
pub struct VitalSigns {
    window_ms: i64,
    /// Row index (into `towns`) of each sensor handle.
    town_of: Vec<Option<u16>>,
    towns: Vec<Handle>,
    sensors: Vec<usize>,
    online: Vec<usize>,
    /// Per channel, the value each sensor contributes (NaN: none).
    last: BTreeMap<ChannelId, Vec<f64>>,
    aggs: BTreeMap<(u16, ChannelId), Agg>,
    last_ts: Vec<i64>,
    is_online: Vec<bool>,
    /// Silence deadlines (UTC ms), at most one queued per sensor.
    deadlines: BTreeMap<i64, Vec<u32>>,
    queued: Vec<bool>,
}

impl VitalSigns {
    /// Vital signs of the twin's towns; a sensor is online while its last sample is at
    /// most `window_ms` old.
    pub fn new(twin: &Twin, window_ms: i64) -> VitalSigns {
        let towns: Vec<Handle> = twin
            .iter()
            .filter(|(_, a)| a.kind == AssetKind::Town)
            .map(|(h, _)| h)
            .collect();
        let n = twin.handle_capacity();
        let mut town_of = vec![None; n];
        let mut sensors = vec![0; towns.len()];
        for (h, a) in twin.iter() {
            // Event-only sensors (cameras) are not counted: silence is their normal.
            if a.kind.sensor_type().is_none_or(|t| t.reports_events_only()) {
                continue;
            }
            if let Some(t) = twin.located_in(h)
                && let Some(i) = towns.iter().position(|x| *x == t)
            {
                town_of[h.index()] = Some(i as u16);
                sensors[i] += 1;
            }
        }
        VitalSigns {
            window_ms: window_ms.max(0),
            town_of,
            online: vec![0; towns.len()],
            towns,
            sensors,
            last: BTreeMap::new(),
            aggs: BTreeMap::new(),
            last_ts: vec![i64::MIN; n],
            is_online: vec![false; n],
            deadlines: BTreeMap::new(),
            queued: vec![false; n],
        }
    }

    /// Counts the latest values a store already holds (a twin restored from a snapshot),
    /// as if they had just arrived; `now` decides who is online.
    pub fn seed(&mut self, store: &StateStore, now: Timestamp) {
        let now_ms = now.as_millis();
        let channels: Vec<ChannelId> = store.channels().map(|(c, _)| c).collect();
        for i in 0..self.town_of.len() {
            if let Some(town) = self.town_of[i] {
                self.count_latest(i, town, store, &channels, now_ms);
            }
        }
    }

    /// Counts one sensor's latest values in the store for `town`.
    fn count_latest(
        &mut self,
        i: usize,
        town: u16,
        store: &StateStore,
        channels: &[ChannelId],
        now_ms: i64,
    ) {
        let n = self.town_of.len();
        for &c in channels {
            let Some(l) = store.latest(Handle(i as u32), c) else {
                continue;
            };
            let col = self.last.entry(c).or_insert_with(|| vec![f64::NAN; n]);
            let old = std::mem::replace(&mut col[i], l.value);
            let agg = self.aggs.entry((town, c)).or_default();
            if !old.is_nan() {
                agg.remove(old);
            }
            agg.add(l.value);
            let ts = l.ts.as_millis();
            if ts > self.last_ts[i] {
                self.last_ts[i] = ts;
            }
        }
        if self.last_ts[i] != i64::MIN {
            self.set_online(i, town, self.last_ts[i], now_ms);
        }
    }

    /// Follows assets inserted, removed or moved after the table was built (their
    /// handles in `changed`): a sensor counts in the town it is located in now, with its
    /// latest values from the store; a removed sensor no longer counts. A town inserted,
    /// removed or moved rebuilds the table from the store (its sensors' towns changed).
    /// `now` decides who is online.
    pub fn assets_changed(
        &mut self,
        twin: &Twin,
        store: &StateStore,
        changed: &[Handle],
        now: Timestamp,
    ) {
        let now_ms = now.as_millis();
        let towns_changed = changed.iter().any(|&h| {
            self.towns.contains(&h) || twin.get(h).is_some_and(|a| a.kind == AssetKind::Town)
        });
        if towns_changed {
            *self = VitalSigns::new(twin, self.window_ms);
            self.seed(store, now);
            return;
        }
        self.grow(twin.handle_capacity());
        let channels: Vec<ChannelId> = store.channels().map(|(c, _)| c).collect();
        for &h in changed {
            let i = h.index();
            if i >= self.town_of.len() {
                continue;
            }
            self.forget(i);
            let town = twin
                .get(h)
                .filter(|a| {
                    a.kind
                        .sensor_type()
                        .is_some_and(|t| !t.reports_events_only())
                })
                .and_then(|_| twin.located_in(h))
                .and_then(|t| self.towns.iter().position(|x| *x == t));
            if let Some(t) = town {
                self.town_of[i] = Some(t as u16);
                self.sensors[t] += 1;
                self.count_latest(i, t as u16, store, &channels, now_ms);
            }
        }
    }

    /// Makes room for handles up to `n`.
    fn grow(&mut self, n: usize) {
        if n <= self.town_of.len() {
            return;
        }
        self.town_of.resize(n, None);
        self.last_ts.resize(n, i64::MIN);
        self.is_online.resize(n, false);
        self.queued.resize(n, false);
        for col in self.last.values_mut() {
            col.resize(n, f64::NAN);
        }
    }

    /// Takes a sensor's contribution out of its town (it moved or was removed).
    fn forget(&mut self, i: usize) {
        let Some(town) = self.town_of[i].take() else {
            return;
        };
        self.sensors[town as usize] -= 1;
        if std::mem::take(&mut self.is_online[i]) {
            self.online[town as usize] -= 1;
        }
        for (c, col) in self.last.iter_mut() {
            let old = std::mem::replace(&mut col[i], f64::NAN);
            if !old.is_nan()
                && let Some(agg) = self.aggs.get_mut(&(town, *c))
            {
                agg.remove(old);
            }
        }
        self.last_ts[i] = i64::MIN;
    }

    /// Takes samples just given to `store.apply` (only those that became the latest
    /// value count) and updates counts, sums, maxima and online sensors.
    pub fn update(&mut self, store: &StateStore, samples: &[Sample], now: Timestamp) {
        let now_ms = now.as_millis();
        for s in samples {
            let i = s.handle.index();
            let Some(Some(town)) = self.town_of.get(i).copied() else {
                continue;
            };
            let applied = store
                .latest(s.handle, s.channel)
                .is_some_and(|l| l.ts == s.ts && l.value == s.value);
            if !applied {
                continue;
            }
            let n = self.town_of.len();
            let col = self
                .last
                .entry(s.channel)
                .or_insert_with(|| vec![f64::NAN; n]);
            let old = std::mem::replace(&mut col[i], s.value);
            let agg = self.aggs.entry((town, s.channel)).or_default();
            if !old.is_nan() {
                agg.remove(old);
            }
            agg.add(s.value);
            let ts = s.ts.as_millis();
            if ts > self.last_ts[i] {
                self.last_ts[i] = ts;
                self.set_online(i, town, ts, now_ms);
            }
        }
        self.tick(now);
    }

    fn set_online(&mut self, i: usize, town: u16, ts: i64, now_ms: i64) {
        let online = now_ms.saturating_sub(ts) <= self.window_ms;
        if online != self.is_online[i] {
            self.is_online[i] = online;
            if online {
                self.online[town as usize] += 1;
            } else {
                self.online[town as usize] -= 1;
            }
        }
        if online {
            self.queue(i, ts);
        }
    }

    fn queue(&mut self, i: usize, ts: i64) {
        if !self.queued[i] {
            self.queued[i] = true;
            // Due the first millisecond the sample is older than the window, exactly:
            // rounding up to whole seconds kept a silent sensor online for up to a
            // second longer than a table built afresh says (found by the live-assets
            // property test). Sensors that report together share an entry anyway.
            let due = ts.saturating_add(self.window_ms).saturating_add(1);
            self.deadlines.entry(due).or_default().push(i as u32);
        }
    }

    /// Marks sensors silent longer than the window as offline.
    pub fn tick(&mut self, now: Timestamp) {
        let now_ms = now.as_millis();
        while let Some(entry) = self.deadlines.first_entry() {
            if *entry.key() > now_ms {
                break;
            }
            for i in entry.remove() {
                let i = i as usize;
                self.queued[i] = false;
                let Some(Some(town)) = self.town_of.get(i).copied() else {
                    continue;
                };
                if !self.is_online[i] {
                    continue;
                }
                if now_ms.saturating_sub(self.last_ts[i]) > self.window_ms {
                    self.is_online[i] = false;
                    self.online[town as usize] -= 1;
                } else {
                    // It reported since this deadline was set: watch its new one.
                    self.queue(i, self.last_ts[i]);
                }
            }
        }
    }

    /// The table now: one row per town, then one per island (sums of its towns),
    /// each with the open alerts of its assets by severity.
    pub fn table(&self, twin: &Twin, alerts: Option<&AlertEngine>) -> Vec<VitalRow> {
        let rows = (0..self.towns.len())
            .map(|t| {
                let channels = self
                    .aggs
                    .range((t as u16, ChannelId(0))..=(t as u16, ChannelId(u16::MAX)))
                    .filter_map(|((_, c), agg)| agg.stats().map(|s| (*c, s)))
                    .collect();
                (self.sensors[t], self.online[t], channels)
            })
            .collect();
        build_rows(twin, &self.towns, rows, alerts)
    }

    /// The table as it was at time `t`, recomputed from the store's history (the
    /// latest sample at or before `t` of every sensor and channel; online = a sample
    /// within the window before `t`). Alerts are not counted.
    pub fn at(&self, twin: &Twin, store: &StateStore, t: Timestamp) -> Vec<VitalRow> {
        let mut aggs: BTreeMap<(u16, ChannelId), Agg> = BTreeMap::new();
        let mut online = vec![0usize; self.towns.len()];
        let mut last_ts: BTreeMap<Handle, Timestamp> = BTreeMap::new();
        for (h, c, ts, v) in store.state_at(t, None) {
            let Some(Some(town)) = self.town_of.get(h.index()).copied() else {
                continue;
            };
            aggs.entry((town, c)).or_default().add(v);
            let e = last_ts.entry(h).or_insert(ts);
            *e = (*e).max(ts);
        }
        for (h, ts) in last_ts {
            if let Some(Some(town)) = self.town_of.get(h.index()).copied()
                && t.ms_since(ts) <= self.window_ms
            {
                online[town as usize] += 1;
            }
        }
        let rows = (0..self.towns.len())
            .map(|ti| {
                let channels = aggs
                    .range((ti as u16, ChannelId(0))..=(ti as u16, ChannelId(u16::MAX)))
                    .filter_map(|((_, c), agg)| agg.stats().map(|s| (*c, s)))
                    .collect();
                (self.sensors[ti], online[ti], channels)
            })
            .collect();
        build_rows(twin, &self.towns, rows, None)
    }
}

type RowData = (usize, usize, BTreeMap<ChannelId, ChannelStats>);

fn build_rows(
    twin: &Twin,
    towns: &[Handle],
    data: Vec<RowData>,
    alerts: Option<&AlertEngine>,
) -> Vec<VitalRow> {
    let mut town_alerts = vec![[0usize; 3]; towns.len()];
    if let Some(engine) = alerts {
        for a in engine.open() {
            if let Some(i) = a.town.and_then(|t| towns.iter().position(|x| *x == t)) {
                town_alerts[i][a.severity.index()] += 1;
            }
        }
    }
    let name = |h: Handle| {
        twin.get(h)
            .map(|a| a.display_name().to_string())
            .unwrap_or_default()
    };
    let mut rows: Vec<VitalRow> = towns
        .iter()
        .zip(data)
        .zip(&town_alerts)
        .map(|((&h, (sensors, online, channels)), al)| VitalRow {
            region: h,
            name: name(h),
            island: false,
            sensors,
            online,
            channels,
            alerts: *al,
        })
        .collect();
    // Islands: merge the towns located in each.
    let islands = island_rows(twin, &rows);
    rows.extend(islands);
    rows
}

/// The island rows of a table from its town rows: each island's towns (by
/// [`Twin::located_in`]) summed (sensors, online, alerts), their channel means merged
/// by count and their maxima by maximum. Processes that split the towns merge their
/// rows with this, and get the rows one process with every town would have.
pub fn island_rows(twin: &Twin, towns: &[VitalRow]) -> Vec<VitalRow> {
    let name = |h: Handle| {
        twin.get(h)
            .map(|a| a.display_name().to_string())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    let mut islands: BTreeMap<Handle, Vec<usize>> = BTreeMap::new();
    for (i, r) in towns.iter().enumerate() {
        if let Some(island) = twin.located_in(r.region) {
            islands.entry(island).or_default().push(i);
        }
    }
    for (island, members) in islands {
        // Merged from the towns' counts, means and maxima (a mean times its count is
        // its sum again to an ulp), not from their multisets of values: the table is
        // read on every delivery to a page and must not cost a pass over every sensor.
        let mut merged: BTreeMap<ChannelId, (usize, f64, f64, f64)> = BTreeMap::new();
        for &i in &members {
            for (c, st) in &towns[i].channels {
                let m = merged.entry(*c).or_insert((0, 0.0, 0.0, f64::NEG_INFINITY));
                m.0 += st.count;
                let x = st.mean * st.count as f64;
                let t = m.1 + x;
                m.2 += if m.1.abs() >= x.abs() {
                    (m.1 - t) + x
                } else {
                    (x - t) + m.1
                };
                m.1 = t;
                m.3 = m.3.max(st.max);
            }
        }
        let mut alerts = [0usize; 3];
        for &i in &members {
            for (sum, n) in alerts.iter_mut().zip(towns[i].alerts) {
                *sum += n;
            }
        }
        out.push(VitalRow {
            region: island,
            name: name(island),
            island: true,
            sensors: members.iter().map(|&i| towns[i].sensors).sum(),
            online: members.iter().map(|&i| towns[i].online).sum(),
            channels: merged
                .into_iter()
                .filter(|(_, m)| m.0 > 0)
                .map(|(c, (count, sum, carry, max))| {
                    let mean = (sum + carry) / count as f64;
                    (c, ChannelStats { count, mean, max })
                })
                .collect(),
            alerts,
        });
    }
    out
}
