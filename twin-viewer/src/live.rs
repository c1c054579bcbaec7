//! The viewer's live twin: the island (or the `--data` files) driven either by the
//! seeded simulator or by a served twin's stream ([`crate::remote`]), and the colours
//! sent to the renderer.

use twin_chongming::DEFAULT_RULES_JSON;
use twin_chongming::sim::{
    SimConfig, Simulator, StandardChannels, standard_config, standard_session,
};
use twin_core::state::Rgba;
use twin_core::state::alert::{Alert, AlertEvent, AlertState};
use twin_core::state::vitals::VitalRow;
use twin_core::{Handle, Session, Timestamp, Twin};
use twin_render::HostColors;

use crate::remote::{Link, pins_for};

/// History the viewer keeps: two hours within 512 MiB.
pub const HISTORY_MAX_AGE_MS: i64 = 2 * 3_600_000;

/// The running twin.
pub struct Live {
    /// Twin, state, alerts, vital signs and colours.
    pub session: Session,
    /// The standard channels.
    pub channels: StandardChannels,
    /// What drives it.
    pub source: Source,
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
    /// The data directory the session is journalled to (`--data-dir`).
    store: Option<twin_store::DataDir>,
    /// The data directory's error was printed.
    store_error_told: bool,
}

/// What drives the viewer's twin.
pub enum Source {
    /// Its own simulator.
    Sim(Box<Simulator>),
    /// A served twin's stream.
    Served(Box<Served>),
}

/// A served twin's link and what the viewer still has to draw from it.
pub struct Served {
    /// The link.
    pub link: Link,
    /// Colour ranges received and not yet drawn.
    pending: Vec<std::ops::Range<u32>>,
    /// The selection whose values are pinned.
    pinned_for: Option<Option<Handle>>,
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
        Ok(Live::with(session, channels, Source::Sim(Box::new(sim))))
    }

    /// The live twin kept in a data directory ([`crate::durable::open`]), simulated
    /// from the later of `start_ms` and its own clock.
    pub fn durable(
        session: Session,
        channels: StandardChannels,
        dir: twin_store::DataDir,
        start_ms: i64,
        seed: u64,
    ) -> Live {
        let start = start_ms.max(session.now().as_millis().div_euclid(1000) * 1000);
        let mut session = session;
        session.advance(Timestamp::from_millis(start));
        let twin = session.twin();
        let sim = Simulator::new(
            twin,
            &channels,
            SimConfig::default_for(twin, seed, Timestamp::from_millis(start)),
        );
        let mut live = Live::with(session, channels, Source::Sim(Box::new(sim)));
        live.store = Some(dir);
        live
    }

    /// The twin served at `link`'s server, shown on `twin` (the same assets: the
    /// fingerprints must match, which the first hello checks). No simulator and no
    /// rules run here.
    pub fn served(twin: Twin, link: Link) -> Result<Live, String> {
        let config = standard_config(HISTORY_MAX_AGE_MS, Some(512 << 20));
        let (session, channels) =
            standard_session(twin, config, DEFAULT_RULES_JSON).map_err(|e| e.to_string())?;
        let served = Served {
            link,
            pending: Vec::new(),
            pinned_for: None,
        };
        Ok(Live::with(
            session,
            channels,
            Source::Served(Box::new(served)),
        ))
    }

    fn with(session: Session, channels: StandardChannels, source: Source) -> Live {
        let twin = session.twin();
        let hosts = HostColors::building_energy(twin);
        let mut attached: std::collections::HashMap<u32, Vec<Handle>> = Default::default();
        for (h, _) in twin.iter() {
            if let Some(host) = twin.attached_to(h) {
                attached.entry(host.0).or_default().push(h);
            }
        }
        let colors = vec![Rgba::NONE; twin.handle_capacity()];
        Live {
            session,
            channels,
            source,
            speed: 10.0,
            paused: false,
            applied: 0,
            events: Vec::new(),
            hosts,
            attached,
            colors,
            store: None,
            store_error_told: false,
        }
    }

    /// The served twin's link, when the viewer shows one.
    pub fn link(&self) -> Option<&Link> {
        match &self.source {
            Source::Served(s) => Some(&s.link),
            Source::Sim(_) => None,
        }
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
    /// On a served twin it applies what arrived instead (and keeps the selection's
    /// values subscribed).
    pub fn advance(&mut self, real_s: f64, selected: Option<Handle>) {
        let sim = match &mut self.source {
            Source::Sim(sim) => sim,
            Source::Served(served) => {
                let (changed, events) = served.link.poll(&mut self.session);
                served.pending.extend(changed);
                self.applied = served.link.counts.values;
                self.events.extend(events);
                if self.events.len() > EVENTS_KEPT {
                    let drop = self.events.len() - EVENTS_KEPT;
                    self.events.drain(..drop);
                }
                if served.pinned_for != Some(selected) && served.link.remote.is_some() {
                    let attached = selected
                        .and_then(|h| self.attached.get(&h.0))
                        .map_or(&[][..], Vec::as_slice);
                    served
                        .link
                        .pin(pins_for(self.session.twin(), selected, attached));
                    served.pinned_for = Some(selected);
                }
                return;
            }
        };
        if self.paused {
            return;
        }
        let now = self.session.now().as_millis();
        let target = now + (real_s * self.speed * 1000.0).round() as i64;
        let mut ticks = 0;
        let mut t = (now / 1000 + 1) * 1000;
        while t <= target && ticks < 20 {
            let (_, report) = sim.drive(&mut self.session, Timestamp::from_millis(t));
            self.applied += report.applied;
            t += 1000;
            ticks += 1;
        }
        if ticks < 20 {
            self.session.tick(Timestamp::from_millis(target));
        }
        self.take_events();
        if let Some(dir) = self.store.as_mut() {
            let err = dir
                .maybe_checkpoint(&self.session)
                .err()
                .map(|e| e.to_string())
                .or_else(|| dir.error());
            if let Some(e) = err
                && !self.store_error_told
            {
                self.store_error_told = true;
                eprintln!("twin-viewer: data dir: {e}");
            }
        }
    }

    /// Simulates `ms` of telemetry at once (before the window opens).
    pub fn fast_forward(&mut self, ms: i64) {
        let Source::Sim(sim) = &mut self.source else {
            return;
        };
        let end = self.session.now().as_millis() + ms;
        let mut t = (self.session.now().as_millis() / 1000 + 1) * 1000;
        while t <= end {
            let (_, report) = sim.drive(&mut self.session, Timestamp::from_millis(t));
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
        match &mut self.source {
            Source::Sim(_) => {
                let ranges = self.session.refresh_colors();
                self.hosts
                    .apply(self.session.overlay().colors(), &ranges, &mut self.colors)
            }
            Source::Served(served) => {
                let Some(remote) = &served.link.remote else {
                    return Vec::new();
                };
                let ranges = std::mem::take(&mut served.pending);
                self.hosts.apply(&remote.colors, &ranges, &mut self.colors)
            }
        }
    }

    /// Open alerts, most severe and newest first.
    pub fn open_alerts(&self) -> Vec<Alert> {
        match &self.source {
            Source::Sim(_) => self.session.open_alerts(),
            Source::Served(served) => {
                let mut v: Vec<Alert> = served
                    .link
                    .open
                    .values()
                    .filter(|a| a.state != AlertState::Cleared)
                    .cloned()
                    .collect();
                v.sort_by(|a, b| {
                    b.severity
                        .cmp(&a.severity)
                        .then(b.raised_at.cmp(&a.raised_at))
                        .then(b.id.cmp(&a.id))
                });
                v
            }
        }
    }

    /// The town vital signs now: the session's own, or the server's latest rows.
    pub fn vital_signs(&self) -> Vec<VitalRow> {
        match &self.source {
            Source::Sim(_) => self.session.vital_signs(),
            Source::Served(served) => served.link.vitals.clone(),
        }
    }

    /// Whether this viewer can look back in time (its own simulator keeps history of
    /// every sensor; a served twin's history is the server's).
    pub fn can_travel(&self) -> bool {
        matches!(self.source, Source::Sim(_))
    }

    /// Acknowledges an alert: through the server when served (the token must be an
    /// operator's), in the session otherwise.
    pub fn acknowledge(&mut self, alert: u64) {
        match &mut self.source {
            Source::Sim(_) => {
                self.session.acknowledge(alert);
                self.take_events();
            }
            Source::Served(served) => served.link.acknowledge(alert),
        }
    }

    /// Whether [`Live::acknowledge`] can work.
    pub fn can_acknowledge(&self) -> bool {
        match &self.source {
            Source::Sim(_) => true,
            Source::Served(served) => served.link.can_acknowledge(),
        }
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
