//! The viewer's live twin: the bundled island driven by the seeded simulator, its
//! overlay, and the colours sent to the renderer.

use twin_chongming::DEFAULT_RULES_JSON;
use twin_chongming::sim::{
    SimConfig, Simulator, StandardChannels, standard_config, standard_session,
};
use twin_core::state::Rgba;
use twin_core::state::alert::{Alert, AlertEvent};
use twin_core::{Handle, Session, Timestamp, Twin};
use twin_render::HostColors;

/// History the viewer keeps: two hours within 512 MiB.
pub const HISTORY_MAX_AGE_MS: i64 = 2 * 3_600_000;

/// The running twin.
pub struct Live {
    /// Twin, state, alerts, vital signs and colours.
    pub session: Session,
    /// The standard channels.
    pub channels: StandardChannels,
    /// The simulator.
    pub sim: Simulator,
    /// Simulated seconds per real second.
    pub speed: f64,
    /// Paused.
    pub paused: bool,
    /// Samples applied in total.
    pub applied: u64,
    /// Alert events, newest last (bounded).
    pub events: Vec<AlertEvent>,
    /// Building-energy sensors colour the buildings they measure.
    hosts: HostColors,
    /// Sensors attached to each asset (the inspector lists their values).
    attached: std::collections::HashMap<u32, Vec<Handle>>,
    /// Colours sent to the renderer (overlay colours plus hosts).
    pub colors: Vec<Rgba>,
}

/// Most alert events kept for the feed.
const EVENTS_KEPT: usize = 500;

impl Live {
    /// The live twin of `twin`, simulated from `start_ms`.
    pub fn new(twin: Twin, start_ms: i64, seed: u64) -> Result<Live, String> {
        let config = standard_config(HISTORY_MAX_AGE_MS, Some(512 << 20));
        let (mut session, channels) =
            standard_session(twin, config, DEFAULT_RULES_JSON).map_err(|e| e.to_string())?;
        session.advance(Timestamp::from_millis(start_ms));
        let twin = session.twin();
        let sim = Simulator::new(
            twin,
            &channels,
            SimConfig::default_for(twin, seed, twin_core::Timestamp::from_millis(start_ms)),
        );
        let hosts = HostColors::building_energy(twin);
        let mut attached: std::collections::HashMap<u32, Vec<Handle>> = Default::default();
        for (h, _) in twin.iter() {
            if let Some(host) = twin.attached_to(h) {
                attached.entry(host.0).or_default().push(h);
            }
        }
        let colors = vec![Rgba::NONE; twin.handle_capacity()];
        Ok(Live {
            session,
            channels,
            sim,
            speed: 10.0,
            paused: false,
            applied: 0,
            events: Vec::new(),
            hosts,
            attached,
            colors,
        })
    }

    /// The twin.
    pub fn twin(&self) -> &Twin {
        self.session.twin()
    }

    /// Simulated time now (UTC ms).
    pub fn now_ms(&self) -> i64 {
        self.session.now().as_millis()
    }

    /// Advances simulated time by `real_s` real seconds at the current speed (at most
    /// 20 simulator ticks per call, so a slow frame does not snowball).
    pub fn advance(&mut self, real_s: f64) {
        if self.paused {
            return;
        }
        let now = self.now_ms();
        let target = now + (real_s * self.speed * 1000.0).round() as i64;
        let mut ticks = 0;
        let mut t = (now / 1000 + 1) * 1000;
        while t <= target && ticks < 20 {
            let (_, report) = self.sim.drive(&mut self.session, Timestamp::from_millis(t));
            self.applied += report.applied;
            t += 1000;
            ticks += 1;
        }
        if ticks < 20 {
            self.session.tick(Timestamp::from_millis(target));
        }
        self.take_events();
    }

    /// Simulates `ms` of telemetry at once (before the window opens).
    pub fn fast_forward(&mut self, ms: i64) {
        let end = self.now_ms() + ms;
        let mut t = (self.now_ms() / 1000 + 1) * 1000;
        while t <= end {
            let (_, report) = self.sim.drive(&mut self.session, Timestamp::from_millis(t));
            self.applied += report.applied;
            t += 1000;
        }
        self.take_events();
    }

    /// Moves the session's new alert events into the feed (highlights follow them in
    /// the session itself).
    fn take_events(&mut self) {
        loop {
            let batch = self.session.drain_events(EVENTS_KEPT);
            let n = batch.len();
            self.events.extend(batch);
            if self.events.len() > EVENTS_KEPT {
                let drop = self.events.len() - EVENTS_KEPT;
                self.events.drain(..drop);
            }
            if n < EVENTS_KEPT {
                break;
            }
        }
    }

    /// Refreshes the overlay; returns the handle ranges whose colour changed in
    /// [`Live::colors`] (hosts included).
    pub fn refresh_colors(&mut self) -> Vec<std::ops::Range<u32>> {
        let ranges = self.session.refresh_colors();
        self.hosts
            .apply(self.session.overlay().colors(), &ranges, &mut self.colors)
    }

    /// Open alerts, most severe and newest first.
    pub fn open_alerts(&self) -> Vec<Alert> {
        self.session.open_alerts()
    }

    /// The live values of an asset and of the sensors attached to it: label, value as
    /// text, time.
    pub fn values_of(&self, h: Handle) -> Vec<(String, String, Timestamp)> {
        let mut out = self.own_values(h, None);
        for &s in self.attached.get(&h.0).into_iter().flatten().take(20) {
            let id = self.session.twin().get(s).map(|a| a.id.as_str());
            out.extend(self.own_values(s, id));
        }
        out
    }

    fn own_values(&self, h: Handle, prefix: Option<&str>) -> Vec<(String, String, Timestamp)> {
        let mut out = Vec::new();
        let store = self.session.store();
        for (id, spec) in store.channels() {
            if let Some(l) = store.latest(h, id) {
                // About three significant digits and the unit (`4.49 m`), as every
                // screen shows values (ChannelSpec::format).
                let v = spec.format(l.value);
                let mut name = spec.name.clone();
                if let Some(p) = prefix {
                    name = format!("{p} {name}");
                }
                out.push((name, v, l.ts));
            }
        }
        out
    }

    /// The asset's history of its first channel over the last `window_ms`.
    pub fn recent(&self, h: Handle, window_ms: i64) -> Option<(String, Vec<(Timestamp, f64)>)> {
        let store = self.session.store();
        let (id, spec) = store
            .channels()
            .find(|(id, _)| store.latest(h, *id).is_some())?;
        let key = twin_core::state::SeriesKey::new(h.0, id.0);
        let now = self.now_ms();
        let now = Timestamp::from_millis(now);
        let pts = store.history().range(key, now.add_ms(-window_ms), now);
        Some((spec.name.clone(), pts))
    }
}

impl Live {
    /// The colours the overlay gave every asset at a past time `t`, from history: each
    /// asset's value at `t` through its layer's style (stale and no-data colours as the
    /// live overlay would show them), building-energy colours on their buildings.
    pub fn colors_at(&self, t: i64) -> Vec<Rgba> {
        let past = self.session.colors_at(Timestamp::from_millis(t));
        let mut out = vec![Rgba::NONE; past.len()];
        let all = 0..past.len() as u32;
        self.hosts
            .apply(&past, std::slice::from_ref(&all), &mut out);
        out
    }
}
