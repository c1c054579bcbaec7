//! Overlay colours and layers, and the seeded simulator driving the twin.

use serde::Serialize;
use tsify::Tsify;
use twin_chongming::sim::Incident;
use twin_core::Timestamp;
use twin_core::state::{Rgba, Sample, Style, layers_json};

use crate::engine::Engine;

/// One overlay refresh. The JS object holds typed arrays, built by
/// `Twin.refreshOverlay` (not serialised), hence the field types given here.
#[derive(Clone, Debug, PartialEq, Tsify)]
#[tsify(rename = "OverlayFrame")]
pub struct Frame {
    /// RGBA by handle, 4 bytes each (alpha 0: draw the asset's base colour); a copy.
    #[tsify(type = "Uint8Array")]
    pub colors: Vec<u8>,
    /// `[start, end)` pairs of handles whose colour changed since the last refresh.
    #[tsify(type = "Uint32Array")]
    pub changed: Vec<u32>,
}

/// A colour as `#rrggbbaa` (alpha always written, for legends that slice it off).
pub fn hex(c: Rgba) -> String {
    let [r, g, b, a] = c.0;
    format!("#{r:02x}{g:02x}{b:02x}{a:02x}")
}

/// How a layer colours values; colours are `#rrggbbaa`.
#[derive(Clone, Debug, PartialEq, Serialize, Tsify)]
#[serde(tag = "type", rename_all = "camelCase")]
#[tsify(rename = "LayerStyle")]
pub enum StyleOut {
    /// Linear interpolation between `[value, colour]` stops.
    Ramp {
        /// The stops, sorted by value.
        stops: Vec<(f64, String)>,
    },
    /// `colors[i]` below `breaks[i]`, the last colour above all breaks.
    Thresholds {
        /// Upper bounds of all classes but the last.
        breaks: Vec<f64>,
        /// One colour per class.
        colors: Vec<String>,
    },
    /// A colour per encoded value.
    Categories {
        /// `[value, colour]` pairs.
        map: Vec<(f64, String)>,
        /// For other values.
        other: String,
    },
}

/// An overlay layer, for legends.
#[derive(Clone, Debug, PartialEq, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(rename = "OverlayLayer")]
pub struct LayerOut {
    /// Its name (`water level`).
    pub name: String,
    /// The kinds it colours (`sensor:water_level`).
    pub kinds: String,
    /// The channel it reads.
    pub channel: String,
    /// The channel's unit.
    pub unit: Option<String>,
    /// Value → colour.
    #[tsify(type = "LayerStyle")]
    pub style: StyleOut,
    /// Assets silent longer than this (ms) are drawn `stale`.
    pub stale_after_ms: Option<i64>,
    /// Colour of stale assets.
    pub stale: String,
    /// Colour of assets that never reported.
    pub no_data: String,
}

/// What one `simulate` call did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(rename = "SimulateReport")]
pub struct SimulateOut {
    /// Simulator ticks (simulated seconds).
    pub ticks: u64,
    /// Samples made.
    pub samples: u64,
    /// Samples that became latest values.
    pub applied: u64,
    /// Samples refused (none unless the twin changed under the simulator).
    pub rejected: u64,
    /// The twin's clock after the call (UTC ms).
    pub now: i64,
}

/// Samples as columns: sample `i` is `(handles[i], channels[i], values[i],
/// timestamps[i])`, values encoded as the store holds them (what `applyTyped` takes).
/// The JS object holds typed arrays, built by `Twin.simulateSamples` (not
/// serialised), hence the field types given here.
#[derive(Clone, Debug, Default, PartialEq, Tsify)]
#[tsify(rename = "SampleArrays")]
pub struct SampleColumns {
    /// Asset handles.
    #[tsify(type = "Uint32Array")]
    pub handles: Vec<u32>,
    /// Channel ids.
    #[tsify(type = "Uint16Array")]
    pub channels: Vec<u16>,
    /// Encoded values.
    #[tsify(type = "Float64Array")]
    pub values: Vec<f64>,
    /// UTC milliseconds.
    #[tsify(type = "Float64Array")]
    pub timestamps: Vec<f64>,
}

/// Most simulated seconds one call may cover (a day): a worker calls again for more.
pub const MAX_SIMULATE_MS: i64 = 86_400_000;

impl Engine {
    /// Replaces the overlay's layers with those of an overlay file (the JSON of
    /// [`twin_core::state::overlay::json`]). A bad file changes nothing and the error
    /// names the layer and the problem. Every asset is repainted from its latest state
    /// at the next refresh; open alerts stay highlighted.
    pub fn set_overlay(&mut self, json: &str) -> Result<(), String> {
        self.session
            .set_overlay_json(json)
            .map_err(|e| e.to_string())?;
        if self.view_time.is_some() {
            self.set_view_time(self.view_time);
        }
        Ok(())
    }

    /// The overlay's layers as an overlay file (what [`Engine::set_overlay`] reads).
    pub fn overlay_json(&self) -> String {
        layers_json(self.session.overlay().layers(), self.session.store())
    }

    /// Makes views draw the overlay's colours at a past time `t` (from history, as
    /// [`twin_core::state::Overlay::colors_at`]: no alert highlights), or live again
    /// with `None`. Live telemetry goes on meanwhile; only the views' colours change.
    pub fn set_view_time(&mut self, t: Option<i64>) {
        self.view_time = t;
        self.past = match t {
            Some(t) => self.session.colors_at(Timestamp::from_millis(t)),
            None => Vec::new(),
        };
        let all = 0..self.session.twin().handle_capacity() as u32;
        self.note_view_changes(std::slice::from_ref(&all));
    }

    /// The colours views draw: live, or those of the time set by
    /// [`Engine::set_view_time`].
    pub fn view_colors(&self) -> &[Rgba] {
        match (&self.view_time, &self.remote) {
            (Some(_), _) => &self.past,
            (None, Some(r)) => &r.colors,
            (None, None) => self.session.overlay().colors(),
        }
    }

    /// Recolours what changed since the last refresh and what fell silent by the
    /// twin's clock, moved to `now_ms` first when given (never back).
    pub fn refresh_overlay(&mut self, now_ms: Option<i64>) -> Frame {
        if let Some(t) = now_ms {
            self.advance_clock(t);
        }
        let ranges = self.session.refresh_colors();
        self.note_view_changes(&ranges);
        let colors = self
            .session
            .overlay()
            .colors()
            .iter()
            .flat_map(|c| c.0)
            .collect();
        let changed = ranges.iter().flat_map(|r| [r.start, r.end]).collect();
        Frame { colors, changed }
    }

    /// The overlay's layers.
    pub fn overlay_layers(&self) -> Vec<LayerOut> {
        let store = self.session.store();
        self.session
            .overlay()
            .layers()
            .iter()
            .map(|l| {
                let spec = store.spec(l.channel);
                LayerOut {
                    name: l.name.clone(),
                    kinds: l.kinds.to_string(),
                    channel: spec.map_or_else(|| format!("#{}", l.channel.0), |s| s.name.clone()),
                    unit: spec.and_then(|s| s.unit.clone()),
                    style: match &l.style {
                        Style::Ramp(stops) => StyleOut::Ramp {
                            stops: stops.iter().map(|(v, c)| (*v, hex(*c))).collect(),
                        },
                        Style::Thresholds { breaks, colors } => StyleOut::Thresholds {
                            breaks: breaks.clone(),
                            colors: colors.iter().map(|c| hex(*c)).collect(),
                        },
                        Style::Categories { map, other } => StyleOut::Categories {
                            map: map.iter().map(|(v, c)| (*v, hex(*c))).collect(),
                            other: hex(*other),
                        },
                    },
                    stale_after_ms: l.stale_after_ms,
                    stale: hex(l.stale),
                    no_data: hex(l.no_data),
                }
            })
            .collect()
    }

    /// The simulator's ticks for a call covering `(from_ms, to_ms]`: every whole
    /// second in it. Checks the span (at most a day) and makes the simulator on first
    /// use (seed 2026, the default incidents from `from_ms`).
    fn simulator_ticks(
        &mut self,
        what: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<std::iter::StepBy<std::ops::RangeInclusive<i64>>, String> {
        let range = twin_core::telemetry::TS_RANGE;
        if !(range.contains(&from_ms) && range.contains(&to_ms)) {
            return Err(format!(
                "{what}: fromMs and toMs must be UTC ms between 1970 and 2200, got {from_ms} and {to_ms}"
            ));
        }
        if to_ms < from_ms || to_ms - from_ms > MAX_SIMULATE_MS {
            return Err(format!(
                "{what}: need fromMs ≤ toMs at most a day apart, got {from_ms} and {to_ms}"
            ));
        }
        if self.simulator.is_none() {
            self.start_simulator(2026, from_ms, true);
        }
        Ok(((from_ms.div_euclid(1000) + 1) * 1000..=to_ms).step_by(1000))
    }

    /// The simulator's samples of second `t` into `batch` (cleared first).
    fn tick_simulator(&mut self, t: i64, batch: &mut Vec<Sample>) {
        batch.clear();
        if let Some(sim) = self.simulator.as_mut() {
            sim.tick(twin_core::Timestamp::from_millis(t), batch);
        }
    }

    /// Drives the twin from the seeded simulator: one tick per whole second `t` with
    /// `from_ms < t <= to_ms`, each applied at `t`, then the clock set to `to_ms`. The
    /// simulator is made on first use (seed 2026, the default incidents from `from_ms`)
    /// unless [`Engine::start_simulator`] made one. At most a day per call.
    pub fn simulate(&mut self, from_ms: i64, to_ms: i64) -> Result<SimulateOut, String> {
        let ticks = self.simulator_ticks("simulate", from_ms, to_ms)?;
        let mut out = SimulateOut::default();
        let mut batch: Vec<Sample> = Vec::new();
        for t in ticks {
            self.tick_simulator(t, &mut batch);
            let report = self.session.apply(&batch, Timestamp::from_millis(t));
            out.ticks += 1;
            out.samples += batch.len() as u64;
            out.applied += report.applied;
            out.rejected += report.rejected_total();
            self.collect_events();
        }
        self.session.tick(Timestamp::from_millis(to_ms));
        self.collect_events();
        out.now = self.now_ms();
        Ok(out)
    }

    /// The samples the seeded simulator makes over `(from_ms, to_ms]` (one tick per
    /// whole second), as typed columns, without applying them here: what a Web Worker
    /// sends to the twin of the page. The simulator is made on first use as in
    /// [`Engine::simulate`]. At most a day per call.
    pub fn simulate_samples(&mut self, from_ms: i64, to_ms: i64) -> Result<SampleColumns, String> {
        let ticks = self.simulator_ticks("simulateSamples", from_ms, to_ms)?;
        let mut out = SampleColumns::default();
        let mut batch: Vec<Sample> = Vec::new();
        for t in ticks {
            self.tick_simulator(t, &mut batch);
            for s in &batch {
                out.handles.push(s.handle.0);
                out.channels.push(s.channel.0);
                out.values.push(s.value);
                out.timestamps.push(s.ts.as_millis() as f64);
            }
        }
        Ok(out)
    }

    /// The simulator's planned incidents, one line each (none before it is made).
    pub fn incidents(&self) -> Vec<String> {
        self.simulator
            .as_ref()
            .map(|s| {
                s.config()
                    .incidents
                    .iter()
                    .map(|i: &Incident| i.describe(self.session.twin()))
                    .collect()
            })
            .unwrap_or_default()
    }
}
