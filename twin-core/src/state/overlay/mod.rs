//! Overlays: live state turned into a colour per asset, refreshed incrementally.
//!
//! An [`Overlay`] holds named [`Layer`]s, each for the assets of some kinds, colouring
//! one channel with a [`Style`] (a numeric ramp, thresholds, or categories), with
//! colours for assets that have never reported and for *stale* ones (silent longer than
//! the layer allows). Alerts highlight assets over their style; a region choropleth
//! colours towns by an indicator.
//!
//! The output is one dense RGBA array by handle plus the ranges of handles whose colour
//! changed since the last refresh: a renderer uploads those rows of its state texture and
//! never re-meshes. A refresh touches only the assets whose state changed
//! ([`super::StateStore::take_changed`]) and those whose silence deadline passed
//! (deadlines are kept in one-second buckets, so staleness shows at the first whole
//! second after the limit), so its cost follows the updates, not the size of the twin.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use super::channel::ChannelId;
use super::store::{StateStore, merge_ranges};
use crate::asset::Handle;
use crate::query::KindFilter;
use crate::time::Timestamp;
use crate::twin::Twin;

pub mod json;

pub use json::{OverlayError, layers_json, load_layers_json};

/// An 8-bit RGBA colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Rgba(pub [u8; 4]);

impl Rgba {
    /// An opaque colour.
    pub const fn rgb(r: u8, g: u8, b: u8) -> Rgba {
        Rgba([r, g, b, 255])
    }

    /// Fully transparent: the asset is drawn with its base colour.
    pub const NONE: Rgba = Rgba([0, 0, 0, 0]);

    /// Parses `#rrggbb` or `#rrggbbaa`.
    pub fn parse(s: &str) -> Option<Rgba> {
        let h = s.trim().strip_prefix('#')?;
        let byte = |i: usize| u8::from_str_radix(h.get(i..i + 2)?, 16).ok();
        match h.len() {
            6 => Some(Rgba([byte(0)?, byte(2)?, byte(4)?, 255])),
            8 => Some(Rgba([byte(0)?, byte(2)?, byte(4)?, byte(6)?])),
            _ => None,
        }
    }

    fn lerp(a: Rgba, b: Rgba, t: f64) -> Rgba {
        let mut out = [0u8; 4];
        for (i, o) in out.iter_mut().enumerate() {
            let v = a.0[i] as f64 + (b.0[i] as f64 - a.0[i] as f64) * t;
            *o = v.round().clamp(0.0, 255.0) as u8;
        }
        Rgba(out)
    }
}

impl fmt::Display for Rgba {
    /// `#rrggbb` for an opaque colour, else `#rrggbbaa` (what [`Rgba::parse`] reads).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [r, g, b, a] = self.0;
        if a == 255 {
            write!(f, "#{r:02x}{g:02x}{b:02x}")
        } else {
            write!(f, "#{r:02x}{g:02x}{b:02x}{a:02x}")
        }
    }
}

/// How a value becomes a colour.
#[derive(Clone, Debug, PartialEq)]
pub enum Style {
    /// Linear interpolation between stops sorted by value; clamped outside them.
    Ramp(Vec<(f64, Rgba)>),
    /// `colors[i]` for values in `[breaks[i-1], breaks[i])`: `colors` has one more
    /// entry than `breaks` (sorted).
    Thresholds {
        /// Upper bounds (exclusive) of all classes but the last.
        breaks: Vec<f64>,
        /// One colour per class.
        colors: Vec<Rgba>,
    },
    /// A colour per encoded value (enum state index, bool 0/1), `other` for the rest.
    Categories {
        /// Value → colour.
        map: Vec<(f64, Rgba)>,
        /// For values not listed.
        other: Rgba,
    },
}

/// Why a style cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StyleError {
    /// A ramp needs at least one stop, sorted and finite.
    #[error("a ramp needs one or more finite stops in increasing order")]
    BadRamp,
    /// Thresholds need sorted finite breaks and one more colour than breaks.
    #[error("thresholds need sorted finite breaks and one more colour than breaks")]
    BadThresholds,
}

impl Style {
    /// Checks the style's invariants.
    pub fn validate(&self) -> Result<(), StyleError> {
        let sorted = |v: &mut dyn Iterator<Item = f64>| {
            let v: Vec<f64> = v.collect();
            v.iter().all(|x| x.is_finite()) && v.windows(2).all(|w| w[0] <= w[1])
        };
        match self {
            Style::Ramp(stops) if stops.is_empty() || !sorted(&mut stops.iter().map(|s| s.0)) => {
                Err(StyleError::BadRamp)
            }
            Style::Thresholds { breaks, colors }
                if colors.len() != breaks.len() + 1 || !sorted(&mut breaks.iter().copied()) =>
            {
                Err(StyleError::BadThresholds)
            }
            _ => Ok(()),
        }
    }

    /// The colour of a value.
    pub fn color(&self, x: f64) -> Rgba {
        match self {
            Style::Ramp(stops) => {
                let i = stops.partition_point(|s| s.0 <= x);
                match (i, stops.get(i)) {
                    (0, Some(first)) => first.1,
                    (_, None) => stops.last().map(|s| s.1).unwrap_or(Rgba::NONE),
                    (i, Some(hi)) => {
                        let lo = stops[i - 1];
                        let span = hi.0 - lo.0;
                        let t = if span > 0.0 { (x - lo.0) / span } else { 1.0 };
                        Rgba::lerp(lo.1, hi.1, t)
                    }
                }
            }
            Style::Thresholds { breaks, colors } => {
                let i = breaks.partition_point(|b| *b <= x);
                colors.get(i).copied().unwrap_or(Rgba::NONE)
            }
            Style::Categories { map, other } => map
                .iter()
                .find(|(v, _)| *v == x)
                .map(|(_, c)| *c)
                .unwrap_or(*other),
        }
    }
}

/// One named style layer.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// Its name (`water level`, `air quality`).
    pub name: String,
    /// The assets it colours.
    pub kinds: KindFilter,
    /// The channel it reads.
    pub channel: ChannelId,
    /// Value → colour.
    pub style: Style,
    /// An asset silent for longer than this is drawn `stale`.
    pub stale_after_ms: Option<i64>,
    /// Colour of stale assets.
    pub stale: Rgba,
    /// Colour of assets that never reported.
    pub no_data: Rgba,
}

/// Live colours of every asset of a twin.
#[derive(Debug)]
pub struct Overlay {
    layers: Vec<Layer>,
    layer_of: Vec<Option<u16>>,
    colors: Vec<Rgba>,
    highlight: Vec<Option<Rgba>>,
    /// Silence deadlines in one-second buckets (a timing wheel: O(1) to queue), at
    /// most one queued per asset (`queued`); a due asset that reported since is queued
    /// again at its new deadline.
    deadlines: BTreeMap<i64, Vec<u32>>,
    queued: Vec<bool>,
    /// Assets to recolour at the next refresh (highlights set or cleared, new assets,
    /// a repaint), each at most once (`is_pending`), so an overlay nobody refreshes
    /// holds at most one entry per asset.
    pending: Vec<u32>,
    is_pending: Vec<bool>,
    changed: Vec<u32>,
}

impl Overlay {
    /// An overlay of these layers over the twin's assets (each asset takes the first
    /// layer whose kinds match). All colours start as each layer's `no_data`.
    pub fn new(twin: &Twin, layers: Vec<Layer>) -> Result<Overlay, StyleError> {
        for l in &layers {
            l.style.validate()?;
        }
        let n = twin.handle_capacity();
        let mut layer_of = vec![None; n];
        let mut colors = vec![Rgba::NONE; n];
        for (h, a) in twin.iter() {
            if let Some(i) = layers.iter().position(|l| l.kinds.matches(&a.kind)) {
                layer_of[h.index()] = Some(i as u16);
                colors[h.index()] = layers[i].no_data;
            }
        }
        Ok(Overlay {
            layers,
            layer_of,
            colors,
            highlight: vec![None; n],
            deadlines: BTreeMap::new(),
            queued: vec![false; n],
            pending: Vec::new(),
            is_pending: vec![false; n],
            changed: (0..n as u32).collect(),
        })
    }

    /// The layers.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// Colours by handle, 4 bytes each: what a renderer uploads.
    pub fn colors(&self) -> &[Rgba] {
        &self.colors
    }

    /// The index in [`Overlay::layers`] of the layer that colours `h`, if any.
    pub fn layer_of(&self, h: Handle) -> Option<usize> {
        self.layer_of
            .get(h.index())
            .copied()
            .flatten()
            .map(usize::from)
    }

    /// The colour of one asset.
    pub fn color(&self, h: Handle) -> Rgba {
        self.colors.get(h.index()).copied().unwrap_or(Rgba::NONE)
    }

    /// Recolours every asset from the store at the next refresh: after the overlay was
    /// made for a twin whose assets already hold state (a new overlay starts with every
    /// asset at its layer's `no_data` colour).
    pub fn repaint_all(&mut self) {
        for i in 0..self.layer_of.len() {
            if self.layer_of[i].is_some() {
                self.mark(i as u32);
            }
        }
    }

    /// Queues an asset for the next refresh, once.
    fn mark(&mut self, h: u32) {
        if let Some(p) = self.is_pending.get_mut(h as usize)
            && !*p
        {
            *p = true;
            self.pending.push(h);
        }
    }

    /// Removes every highlight (each asset gets its style's colour at the next
    /// refresh).
    pub fn clear_highlights(&mut self) {
        for i in 0..self.highlight.len() {
            if self.highlight[i].take().is_some() {
                self.mark(i as u32);
            }
        }
    }

    /// Follows assets inserted or removed after the overlay was built (their handles in
    /// `changed`; a handle the twin no longer holds was removed): a new asset takes the
    /// first layer that matches it and gets its colour from the store at the next
    /// [`Overlay::refresh`]; a removed one turns transparent. Moves change no colour.
    pub fn assets_changed(&mut self, twin: &Twin, changed: &[Handle]) {
        let n = twin.handle_capacity();
        if n > self.colors.len() {
            self.layer_of.resize(n, None);
            self.colors.resize(n, Rgba::NONE);
            self.highlight.resize(n, None);
            self.queued.resize(n, false);
            self.is_pending.resize(n, false);
        }
        for &h in changed {
            let i = h.index();
            if i >= n {
                continue;
            }
            let layer = twin
                .get(h)
                .and_then(|a| self.layers.iter().position(|l| l.kinds.matches(&a.kind)));
            self.layer_of[i] = layer.map(|l| l as u16);
            let color = layer.map_or(Rgba::NONE, |l| self.layers[l].no_data);
            if twin.get(h).is_none() {
                self.highlight[i] = None;
            }
            if self.colors[i] != color {
                self.colors[i] = color;
                self.changed.push(h.0);
            }
            if layer.is_some() {
                self.mark(h.0);
            }
        }
    }

    /// The colours the layers gave every asset at a past time `t`, from history: each
    /// asset's value in force at `t` through its layer's style, `stale` if it was older
    /// than the layer allows, `no_data` if there was none (or retention dropped it).
    /// Highlights are not included (alerts have no history here). The live colours are
    /// not touched.
    pub fn colors_at(&self, store: &StateStore, t: Timestamp) -> Vec<Rgba> {
        let mut out = vec![Rgba::NONE; self.colors.len()];
        for (i, layer) in self.layer_of.iter().enumerate() {
            let Some(layer) = layer.map(|l| &self.layers[l as usize]) else {
                continue;
            };
            out[i] = match store.value_at(Handle(i as u32), layer.channel, t) {
                None => layer.no_data,
                Some((ts, _)) if layer.stale_after_ms.is_some_and(|s| t.ms_since(ts) > s) => {
                    layer.stale
                }
                Some((_, v)) => layer.style.color(v),
            };
        }
        out
    }

    /// Highlights an asset (an open alert) with a colour over its style, or removes it.
    pub fn set_highlight(&mut self, h: Handle, color: Option<Rgba>) {
        if let Some(slot) = self.highlight.get_mut(h.index())
            && *slot != color
        {
            *slot = color;
            self.mark(h.0);
        }
    }

    /// Colours the given regions (towns) by an indicator value through `style`
    /// (a choropleth); regions not listed keep their colour.
    pub fn choropleth(&mut self, values: &[(Handle, f64)], style: &Style) {
        for &(h, v) in values {
            if let Some(c) = self.colors.get_mut(h.index()) {
                let new = if v.is_finite() {
                    style.color(v)
                } else {
                    Rgba::NONE
                };
                if *c != new {
                    *c = new;
                    self.changed.push(h.0);
                }
            }
        }
    }

    /// Recolours what changed in the store since the last refresh and what fell silent
    /// by `now`; returns the merged ranges of handles whose colour changed.
    pub fn refresh(&mut self, store: &mut StateStore, now: Timestamp) -> Vec<Range<u32>> {
        let changed = store.take_changed();
        self.refresh_from(store, &changed, now)
    }

    /// As [`Overlay::refresh`], with the store's changed ranges already taken (by a
    /// caller that needs them too: a live stream sends changed values as well as
    /// colours).
    pub fn refresh_from(
        &mut self,
        store: &StateStore,
        changed: &[Range<u32>],
        now: Timestamp,
    ) -> Vec<Range<u32>> {
        let now_ms = now.as_millis();
        for h in std::mem::take(&mut self.pending) {
            self.is_pending[h as usize] = false;
            self.recolor(store, h, now_ms);
        }
        for r in changed {
            for h in r.clone() {
                self.recolor(store, h, now_ms);
            }
        }
        while let Some(entry) = self.deadlines.first_entry() {
            if *entry.key() > now_ms {
                break;
            }
            for h in entry.remove() {
                if let Some(q) = self.queued.get_mut(h as usize) {
                    *q = false;
                }
                self.recolor(store, h, now_ms);
            }
        }
        merge_ranges(std::mem::take(&mut self.changed))
    }

    fn recolor(&mut self, store: &StateStore, h: u32, now_ms: i64) {
        let i = h as usize;
        let Some(Some(li)) = self.layer_of.get(i).copied() else {
            return;
        };
        let layer = &self.layers[li as usize];
        let color = match store.latest(Handle(h), layer.channel) {
            None => layer.no_data,
            Some(l) => match layer.stale_after_ms {
                Some(limit) if now_ms.saturating_sub(l.ts.as_millis()) > limit => layer.stale,
                Some(limit) => {
                    if !self.queued[i] {
                        self.queued[i] = true;
                        // Due at the first whole second after the limit passes.
                        let due = l.ts.as_millis().saturating_add(limit).saturating_add(1);
                        let due = due
                            .saturating_add(999)
                            .div_euclid(1000)
                            .saturating_mul(1000);
                        self.deadlines.entry(due).or_default().push(h);
                    }
                    layer.style.color(l.value)
                }
                None => layer.style.color(l.value),
            },
        };
        let color = self.highlight[i].unwrap_or(color);
        if self.colors[i] != color {
            self.colors[i] = color;
            self.changed.push(h);
        }
    }
}
