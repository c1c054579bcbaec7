//! The viewer's live twin: the bundled island driven by the seeded simulator, its
//! overlay, and the colours sent to the renderer.

use std::sync::Mutex;
use std::sync::mpsc::Receiver;

use twin_core::sim::{SimConfig, Simulator, StandardChannels, standard_layers, standard_live_twin};
use twin_core::state::alert::{Alert, AlertEvent};
use twin_core::state::history::Retention;
use twin_core::state::live::{DEFAULT_RULES_JSON, LiveTwin};
use twin_core::state::{Overlay, Rgba, Sample};
use twin_core::{Handle, Twin};
use twin_render::HostColors;

/// Highlight of assets with an open alert.
pub const ALERT_HIGHLIGHT: Rgba = Rgba::rgb(230, 0, 160);

/// The running twin.
pub struct Live {
    /// Twin, state, alerts, vital signs.
    pub live: LiveTwin,
    /// The standard channels.
    pub channels: StandardChannels,
    /// The simulator.
    pub sim: Simulator,
    /// State → colour.
    pub overlay: Overlay,
    /// Simulated time now (UTC ms).
    pub now_ms: i64,
    /// Simulated seconds per real second.
    pub speed: f64,
    /// Paused.
    pub paused: bool,
    /// Samples applied in total.
    pub applied: u64,
    /// Alert events, newest last (bounded).
    pub events: Vec<AlertEvent>,
    /// Alert events from the engine (a mutex makes the receiver shareable for bevy).
    rx: Mutex<Receiver<AlertEvent>>,
    /// Building-energy sensors colour the buildings they measure.
    hosts: HostColors,
    /// Sensors attached to each asset (the inspector lists their values).
    attached: std::collections::HashMap<u32, Vec<Handle>>,
    /// Colours sent to the renderer (overlay colours plus hosts).
    pub colors: Vec<Rgba>,
    batch: Vec<Sample>,
}

/// Most alert events kept for the feed.
const EVENTS_KEPT: usize = 500;

impl Live {
    /// The live twin of `twin`, simulated from `start_ms`.
    pub fn new(twin: Twin, start_ms: i64, seed: u64) -> Result<Live, String> {
        let retention = Retention {
            max_age_ms: Some(2 * 3_600_000),
            max_samples: None,
        };
        let (mut live, channels) =
            standard_live_twin(twin, retention, Some(512 << 20), DEFAULT_RULES_JSON)
                .map_err(|e| e.to_string())?;
        let twin = &live.twin;
        let config = SimConfig::default_for(twin, seed, start_ms);
        let sim = Simulator::new(twin, &channels, config);
        let overlay = Overlay::new(twin, standard_layers(&channels)).map_err(|e| e.to_string())?;
        let hosts = HostColors::building_energy(twin);
        let mut attached: std::collections::HashMap<u32, Vec<Handle>> = Default::default();
        for (h, _) in twin.iter() {
            if let Some(host) = twin.attached_to(h) {
                attached.entry(host.0).or_default().push(h);
            }
        }
        let rx = Mutex::new(live.alerts.subscribe());
        let colors = vec![Rgba::NONE; live.twin.handle_capacity()];
        Ok(Live {
            live,
            channels,
            sim,
            overlay,
            now_ms: start_ms,
            speed: 10.0,
            paused: false,
            applied: 0,
            events: Vec::new(),
            rx,
            hosts,
            attached,
            colors,
            batch: Vec::new(),
        })
    }

    /// Advances simulated time by `real_s` real seconds at the current speed (at most
    /// 20 simulator ticks per call, so a slow frame does not snowball).
    pub fn advance(&mut self, real_s: f64) {
        if self.paused {
            return;
        }
        let target = self.now_ms + (real_s * self.speed * 1000.0).round() as i64;
        let mut ticks = 0;
        let mut t = (self.now_ms / 1000 + 1) * 1000;
        while t <= target && ticks < 20 {
            self.batch.clear();
            self.sim.tick(t, &mut self.batch);
            let report = self.live.apply(&self.batch, t);
            self.applied += report.applied;
            self.now_ms = t;
            t += 1000;
            ticks += 1;
        }
        if ticks < 20 {
            self.now_ms = target.max(self.now_ms);
            self.live.tick(self.now_ms);
        }
        self.take_events();
    }

    /// Simulates `ms` of telemetry at once (before the window opens).
    pub fn fast_forward(&mut self, ms: i64) {
        let end = self.now_ms + ms;
        let mut t = (self.now_ms / 1000 + 1) * 1000;
        while t <= end {
            self.batch.clear();
            self.sim.tick(t, &mut self.batch);
            self.applied += self.live.apply(&self.batch, t).applied;
            self.now_ms = t;
            t += 1000;
        }
        self.take_events();
    }

    fn take_events(&mut self) {
        let rx = self.rx.get_mut().unwrap_or_else(|e| e.into_inner());
        while let Ok(e) = rx.try_recv() {
            match &e {
                AlertEvent::Raised(a) => self.overlay.set_highlight(a.asset, Some(ALERT_HIGHLIGHT)),
                AlertEvent::Cleared(a) => self.overlay.set_highlight(a.asset, None),
                AlertEvent::Acknowledged(_) => {}
            }
            self.events.push(e);
        }
        if self.events.len() > EVENTS_KEPT {
            let drop = self.events.len() - EVENTS_KEPT;
            self.events.drain(..drop);
        }
    }

    /// Refreshes the overlay; returns the handle ranges whose colour changed in
    /// [`Live::colors`] (hosts included).
    pub fn refresh_colors(&mut self) -> Vec<std::ops::Range<u32>> {
        let ranges = self.overlay.refresh(&mut self.live.store, self.now_ms);
        self.hosts
            .apply(self.overlay.colors(), &ranges, &mut self.colors)
    }

    /// Open alerts, most severe and newest first.
    pub fn open_alerts(&self) -> Vec<Alert> {
        let mut v: Vec<Alert> = self.live.alerts.open().cloned().collect();
        v.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(b.raised_at.cmp(&a.raised_at))
        });
        v
    }

    /// The live values of an asset and of the sensors attached to it: label, value as
    /// text, time.
    pub fn values_of(&self, h: Handle) -> Vec<(String, String, i64)> {
        let mut out = self.own_values(h, None);
        for &s in self.attached.get(&h.0).into_iter().flatten().take(20) {
            let id = self.live.twin.get(s).map(|a| a.id.as_str());
            out.extend(self.own_values(s, id));
        }
        out
    }

    fn own_values(&self, h: Handle, prefix: Option<&str>) -> Vec<(String, String, i64)> {
        let mut out = Vec::new();
        for (id, spec) in self.live.store.channels() {
            if let Some(l) = self.live.store.latest(h, id) {
                let v = self
                    .live
                    .store
                    .latest_value(h, id)
                    .map(|v| format!("{v}"))
                    .unwrap_or_default();
                let mut name = match &spec.unit {
                    Some(u) if !u.is_empty() => format!("{} ({u})", spec.name),
                    _ => spec.name.clone(),
                };
                if let Some(p) = prefix {
                    name = format!("{p} {name}");
                }
                out.push((name, v, l.ts));
            }
        }
        out
    }

    /// The asset's history of its first channel over the last `window_ms`.
    pub fn recent(&self, h: Handle, window_ms: i64) -> Option<(String, Vec<(i64, f64)>)> {
        let (id, spec) = self
            .live
            .store
            .channels()
            .find(|(id, _)| self.live.store.latest(h, *id).is_some())?;
        let key = twin_core::state::SeriesKey::new(h.0, id.0);
        let pts = self
            .live
            .store
            .history()
            .range(key, self.now_ms - window_ms, self.now_ms);
        Some((spec.name.clone(), pts))
    }
}

impl Live {
    /// The colours the overlay gave every asset at a past time `t`, from history: each
    /// asset's value at `t` through its layer's style (stale and no-data colours as the
    /// live overlay would show them), building-energy colours on their buildings.
    pub fn colors_at(&self, t: i64) -> Vec<Rgba> {
        let past = self.overlay.colors_at(&self.live.store, t);
        let mut out = vec![Rgba::NONE; past.len()];
        let all = 0..past.len() as u32;
        self.hosts
            .apply(&past, std::slice::from_ref(&all), &mut out);
        out
    }
}
