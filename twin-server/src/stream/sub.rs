//! What a client subscribed to: the `subscribe` message, checked, and the handle sets
//! it selects.
//!
//! A subscription is the intersection across fields and the union within a field;
//! an absent field does not restrict. `pins` add the values of those assets whatever
//! the rest says.

use std::collections::HashSet;

use serde::Deserialize;
use twin_core::geo_types::{Rect, coord};
use twin_core::{Handle, KindFilter, Session};

use super::frame::Bits;

/// Most entries in one list of a `subscribe`.
pub const MAX_TOWNS: usize = 64;
/// Most kinds.
pub const MAX_KINDS: usize = 64;
/// Most layers.
pub const MAX_LAYERS: usize = 32;
/// Most channels in `values`.
pub const MAX_CHANNELS: usize = 32;
/// Most pinned assets.
pub const MAX_PINS: usize = 256;

/// `values`: channel names, or `"all"`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Values {
    /// Every channel (`"all"`).
    All(String),
    /// These channels by name.
    Names(Vec<String>),
}

/// The `subscribe` message as it arrives.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Subscribe {
    /// Echoed in the answer.
    #[serde(default)]
    pub req: Option<u64>,
    /// Town ids.
    #[serde(default)]
    pub towns: Option<Vec<String>>,
    /// Kinds (`building`, `sensor:water_level`, `sensor`).
    #[serde(default)]
    pub kinds: Option<Vec<String>>,
    /// Overlay layer names (of the chosen `overlay`).
    #[serde(default)]
    pub layers: Option<Vec<String>>,
    /// The overlay whose colours are sent: `default` (the session's, the default) or
    /// the name of one `twin serve --overlay` added.
    #[serde(default)]
    pub overlay: Option<String>,
    /// `[west, south, east, north]`, WGS84 degrees.
    #[serde(default)]
    pub bbox: Option<[f64; 4]>,
    /// Colours (default true).
    #[serde(default)]
    pub colors: Option<bool>,
    /// Values of these channels (default none).
    #[serde(default)]
    pub values: Option<Values>,
    /// Asset ids whose values (every channel) are always sent.
    #[serde(default)]
    pub pins: Option<Vec<String>>,
    /// The client's own asset fingerprint (docs/stream.md §3); accepted and not used
    /// yet (a client compares the hello's fingerprint with its own).
    #[serde(default)]
    pub fingerprint: Option<String>,
}

/// A subscription resolved against the session.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// Handles whose colours are sent (empty when colours are off).
    pub colors: Bits,
    /// Handles whose values are sent (the filter when channels are asked, plus pins).
    pub values: Bits,
    /// Pinned handles (all channels).
    pub pins: Bits,
    /// Channels of `values`, by id.
    pub channels: Vec<u16>,
    /// Towns of the filter (alerts are filtered by these only); `None`: every town.
    pub towns: Option<HashSet<Handle>>,
    /// How many handles the filter selected.
    pub selected: usize,
    /// The overlay: 0 the session's, then [`Served::overlays`] from 1.
    ///
    /// [`Served::overlays`]: crate::state::Served::overlays
    pub overlay: u16,
}

fn capped<T>(name: &str, list: &Option<Vec<T>>, max: usize) -> Result<(), String> {
    match list {
        Some(l) if l.len() > max => Err(format!("`{name}`: {} entries; at most {max}", l.len())),
        _ => Ok(()),
    }
}

/// Resolves `sub` against the session: unknown towns, kinds, layers, channels or
/// pinned assets, and bad boxes, are errors (the client's subscription then stays as
/// it was).
pub fn resolve(
    sub: &Subscribe,
    s: &Session,
    named: &[crate::state::NamedOverlay],
) -> Result<Resolved, String> {
    capped("towns", &sub.towns, MAX_TOWNS)?;
    capped("kinds", &sub.kinds, MAX_KINDS)?;
    capped("layers", &sub.layers, MAX_LAYERS)?;
    capped("pins", &sub.pins, MAX_PINS)?;
    let twin = s.twin();
    let n = twin.handle_capacity();
    let towns = match &sub.towns {
        None => None,
        Some(list) => Some(
            list.iter()
                .map(|id| {
                    twin.handle(id)
                        .filter(|&h| {
                            twin.get(h)
                                .is_some_and(|a| a.kind == twin_core::AssetKind::Town)
                        })
                        .ok_or_else(|| format!("`towns`: no town `{id}`"))
                })
                .collect::<Result<HashSet<Handle>, String>>()?,
        ),
    };
    let kinds = match &sub.kinds {
        None => None,
        Some(list) => Some(
            list.iter()
                .map(|k| k.parse::<KindFilter>().map_err(|e| format!("`kinds`: {e}")))
                .collect::<Result<Vec<_>, String>>()?,
        ),
    };
    let overlay = match sub.overlay.as_deref() {
        None | Some("default") => 0,
        Some(name) => {
            named.iter().position(|o| o.name == name).ok_or_else(|| {
                let names: Vec<&str> = std::iter::once("default")
                    .chain(named.iter().map(|o| o.name.as_str()))
                    .collect();
                format!("`overlay`: no overlay `{name}` ({})", names.join(", "))
            })? + 1
        }
    };
    // The chosen overlay's layer of each handle, for the `layers` filter.
    let named_lock = overlay.checked_sub(1).map(|i| named[i].lock());
    let layer_of = |h: Handle| match &named_lock {
        None => s.overlay().layer_of(h),
        Some(o) => o.layer_of(h),
    };
    let layers = match &sub.layers {
        None => None,
        Some(list) => {
            let all = match overlay.checked_sub(1) {
                None => s.overlay().layers(),
                Some(i) => &named[i].layers[..],
            };
            Some(
                list.iter()
                    .map(|name| {
                        all.iter()
                            .position(|l| &l.name == name)
                            .ok_or_else(|| format!("`layers`: no layer `{name}`"))
                    })
                    .collect::<Result<HashSet<usize>, String>>()?,
            )
        }
    };
    let in_box = match sub.bbox {
        None => None,
        Some([w, so, e, no]) => {
            let ok = [w, so, e, no].iter().all(|x| x.is_finite())
                && (-180.0..=180.0).contains(&w)
                && (-180.0..=180.0).contains(&e)
                && (-90.0..=90.0).contains(&so)
                && (-90.0..=90.0).contains(&no)
                && w <= e
                && so <= no;
            if !ok {
                return Err(format!(
                    "`bbox`: [{w}, {so}, {e}, {no}] is not [west, south, east, north] in WGS84 degrees"
                ));
            }
            let hits = twin.query_bbox(Rect::new(coord! {x: w, y: so}, coord! {x: e, y: no}), None);
            let mut b = Bits::new(n);
            for h in hits {
                b.set(h.0);
            }
            Some(b)
        }
    };
    let channels: Vec<u16> = match &sub.values {
        None => Vec::new(),
        Some(Values::All(a)) if a == "all" => s.store().channels().map(|(id, _)| id.0).collect(),
        Some(Values::All(other)) => {
            return Err(format!(
                "`values`: `{other}` is neither \"all\" nor a list of channels"
            ));
        }
        Some(Values::Names(names)) => {
            if names.len() > MAX_CHANNELS {
                return Err(format!(
                    "`values`: {} channels; at most {MAX_CHANNELS}",
                    names.len()
                ));
            }
            names
                .iter()
                .map(|c| {
                    s.store()
                        .channel(c)
                        .map(|id| id.0)
                        .ok_or_else(|| format!("`values`: no channel `{c}`"))
                })
                .collect::<Result<_, String>>()?
        }
    };
    let mut pins = Bits::new(n);
    for id in sub.pins.iter().flatten() {
        let h = twin
            .handle(id)
            .ok_or_else(|| format!("`pins`: no asset `{id}`"))?;
        pins.set(h.0);
    }

    let mut selected = Bits::new(n);
    for (h, a) in twin.iter() {
        if towns
            .as_ref()
            .is_some_and(|t| !twin.town_of(h).is_some_and(|town| t.contains(&town)))
        {
            continue;
        }
        if kinds
            .as_ref()
            .is_some_and(|k| !k.iter().any(|f| f.matches(&a.kind)))
        {
            continue;
        }
        if layers
            .as_ref()
            .is_some_and(|l| !layer_of(h).is_some_and(|i| l.contains(&i)))
        {
            continue;
        }
        if in_box.as_ref().is_some_and(|b| !b.has(h.0)) {
            continue;
        }
        selected.set(h.0);
    }
    let count = selected.len();
    let colors = if sub.colors.unwrap_or(true) {
        selected.clone()
    } else {
        Bits::new(n)
    };
    let mut values = if channels.is_empty() {
        Bits::new(n)
    } else {
        selected
    };
    values.union_with(&pins);
    Ok(Resolved {
        colors,
        values,
        pins,
        channels,
        towns,
        selected: count,
        overlay: overlay as u16,
    })
}
