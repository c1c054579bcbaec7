//! Overlay files: the layers of an [`Overlay`](super::Overlay) as JSON, in and out.
//!
//! A file is an array of layers, each
//! `{"name", "kinds", "channel", one style, "stale_after_s"?, "stale"?, "no_data"?}`:
//!
//! ```json
//! [
//!   {"name": "water level", "kinds": "sensor:water_level", "channel": "level",
//!    "ramp": [[1.5, "#286edc"], [2.8, "#f0c828"], [3.3, "#d7191c"]],
//!    "stale_after_s": 120, "stale": "#808080"},
//!   {"name": "air quality", "kinds": "sensor:pm25", "channel": "pm25",
//!    "thresholds": {"breaks": [35, 75, 115],
//!                   "colors": ["#2ea043", "#f0c828", "#f5821e", "#d7191c"]}},
//!   {"name": "chargers", "kinds": "sensor:charger_power", "channel": "charger",
//!    "categories": [["idle", "#969696"], ["charging", "#2ea043"], ["fault", "#d7191c"]],
//!    "other": "#808080"}
//! ]
//! ```
//!
//! - `kinds` is a [`KindFilter`] (`sensor:pm25`, `building,road`, `sensor`); an asset
//!   takes the first layer whose kinds match it.
//! - The style is exactly one of `ramp` (`[value, colour]` stops in increasing order,
//!   interpolated, clamped outside), `thresholds` (`colors` has one more entry than the
//!   sorted `breaks`) or `categories` (`[value, colour]` pairs, `other` for the rest;
//!   values are state names of an enumerated channel, `true`/`false` of a boolean one,
//!   or numbers).
//! - Colours are `#rrggbb` or `#rrggbbaa`; alpha 0 draws the asset's base colour.
//!   `no_data` (never reported) defaults to `#00000000`, `stale` (silent longer than
//!   `stale_after_s`) to grey `#808080`; without `stale_after_s` nothing goes stale.
//!
//! Channels and category states are resolved against a [`StateStore`]; every mistake is
//! an [`OverlayError`] naming the layer (index and name) and what is wrong, and nothing
//! is half-loaded.

use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::{Layer, Rgba, Style};
use crate::query::KindFilter;
use crate::state::StateStore;
use crate::state::channel::{Value, decode, encode};

/// The colour of stale assets when a file gives none.
pub const DEFAULT_STALE: Rgba = Rgba::rgb(128, 128, 128);

/// Why an overlay file was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OverlayError {
    /// The text is not a JSON array of layers.
    #[error("overlay file: {0}")]
    Format(String),
    /// One layer is wrong.
    #[error("overlay layer {index} (`{name}`): {message}")]
    Layer {
        /// Its index in the file.
        index: usize,
        /// Its name (empty if it has none).
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// A layer as written in a file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LayerFile {
    name: String,
    kinds: String,
    channel: String,
    #[serde(default)]
    ramp: Option<Vec<(f64, String)>>,
    #[serde(default)]
    thresholds: Option<ThresholdsFile>,
    #[serde(default)]
    categories: Option<Vec<(Json, String)>>,
    #[serde(default)]
    other: Option<String>,
    #[serde(default)]
    stale_after_s: Option<f64>,
    #[serde(default)]
    stale: Option<String>,
    #[serde(default)]
    no_data: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThresholdsFile {
    breaks: Vec<f64>,
    colors: Vec<String>,
}

/// Reads overlay layers from JSON (the format in the [module docs](self)), resolving
/// channels and category states against `store`.
pub fn load_layers_json(text: &str, store: &StateStore) -> Result<Vec<Layer>, OverlayError> {
    let raw: Vec<Json> =
        serde_json::from_str(text).map_err(|e| OverlayError::Format(e.to_string()))?;
    let mut out = Vec::with_capacity(raw.len());
    for (index, v) in raw.into_iter().enumerate() {
        let name_hint = v
            .get("name")
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string();
        let fail = |message: String| OverlayError::Layer {
            index,
            name: name_hint.clone(),
            message,
        };
        let l: LayerFile = serde_json::from_value(v).map_err(|e| fail(e.to_string()))?;
        out.push(layer_of(l, store).map_err(fail)?);
    }
    Ok(out)
}

fn color(text: &str, what: &str) -> Result<Rgba, String> {
    Rgba::parse(text)
        .ok_or_else(|| format!("{what}: `{text}` is not a colour (#rrggbb or #rrggbbaa)"))
}

fn layer_of(l: LayerFile, store: &StateStore) -> Result<Layer, String> {
    if l.name.trim().is_empty() {
        return Err("`name` must not be empty".into());
    }
    if l.kinds.trim().is_empty() {
        return Err("`kinds` must name one or more kinds".into());
    }
    let channel = store
        .channel(&l.channel)
        .ok_or_else(|| format!("unknown channel `{}`", l.channel))?;
    let spec = store
        .spec(channel)
        .ok_or_else(|| format!("unknown channel `{}`", l.channel))?;
    let given = [
        l.ramp.is_some(),
        l.thresholds.is_some(),
        l.categories.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err("give exactly one style: `ramp`, `thresholds` or `categories`".into());
    }
    if l.other.is_some() && l.categories.is_none() {
        return Err("`other` belongs to `categories`".into());
    }
    let style = if let Some(stops) = l.ramp {
        let stops = stops
            .iter()
            .map(|(v, c)| Ok((*v, color(c, "ramp")?)))
            .collect::<Result<Vec<_>, String>>()?;
        Style::Ramp(stops)
    } else if let Some(t) = l.thresholds {
        let colors = t
            .colors
            .iter()
            .map(|c| color(c, "thresholds"))
            .collect::<Result<Vec<_>, String>>()?;
        Style::Thresholds {
            breaks: t.breaks,
            colors,
        }
    } else {
        let pairs = l.categories.unwrap_or_default();
        let mut map = Vec::with_capacity(pairs.len());
        for (v, c) in &pairs {
            let value = match v {
                Json::String(s) => Value::Text(s.clone()),
                Json::Bool(b) => Value::Bool(*b),
                Json::Number(n) => Value::Num(n.as_f64().unwrap_or(f64::NAN)),
                other => return Err(format!("category {other} is not a value")),
            };
            let x = encode(&spec.ty, &value).map_err(|_| {
                format!("category {value} is not a value of channel `{}`", l.channel)
            })?;
            map.push((x, color(c, "categories")?));
        }
        let other = match &l.other {
            Some(c) => color(c, "other")?,
            None => Rgba::NONE,
        };
        Style::Categories { map, other }
    };
    style.validate().map_err(|e| e.to_string())?;
    let stale_after_ms = match l.stale_after_s {
        None => None,
        Some(s) if s.is_finite() && s > 0.0 && s < 1e12 => Some((s * 1000.0).round() as i64),
        Some(s) => {
            return Err(format!(
                "`stale_after_s` must be a number of seconds > 0, got {s}"
            ));
        }
    };
    let stale = match &l.stale {
        Some(c) => color(c, "stale")?,
        None => DEFAULT_STALE,
    };
    let no_data = match &l.no_data {
        Some(c) => color(c, "no_data")?,
        None => Rgba::NONE,
    };
    Ok(Layer {
        name: l.name,
        kinds: l
            .kinds
            .parse::<KindFilter>()
            .map_err(|e| format!("`kinds`: {e}"))?,
        channel,
        style,
        stale_after_ms,
        stale,
        no_data,
    })
}

/// The layers as JSON that [`load_layers_json`] reads back (channel names and category
/// states from `store`).
pub fn layers_json(layers: &[Layer], store: &StateStore) -> String {
    let out: Vec<Json> = layers
        .iter()
        .map(|l| {
            let spec = store.spec(l.channel);
            let mut o = serde_json::Map::new();
            o.insert("name".into(), l.name.clone().into());
            o.insert("kinds".into(), l.kinds.to_string().into());
            o.insert(
                "channel".into(),
                spec.map(|s| s.name.clone()).unwrap_or_default().into(),
            );
            match &l.style {
                Style::Ramp(stops) => {
                    let stops: Vec<Json> = stops
                        .iter()
                        .map(|(v, c)| json!([v, c.to_string()]))
                        .collect();
                    o.insert("ramp".into(), stops.into());
                }
                Style::Thresholds { breaks, colors } => {
                    let colors: Vec<String> = colors.iter().map(Rgba::to_string).collect();
                    o.insert(
                        "thresholds".into(),
                        json!({"breaks": breaks, "colors": colors}),
                    );
                }
                Style::Categories { map, other } => {
                    let pairs: Vec<Json> = map
                        .iter()
                        .map(|(x, c)| {
                            let v = match spec.map(|s| decode(&s.ty, *x)) {
                                Some(Value::Text(t)) => Json::from(t),
                                Some(Value::Bool(b)) => Json::from(b),
                                _ => Json::from(*x),
                            };
                            json!([v, c.to_string()])
                        })
                        .collect();
                    o.insert("categories".into(), pairs.into());
                    o.insert("other".into(), other.to_string().into());
                }
            }
            if let Some(ms) = l.stale_after_ms {
                o.insert("stale_after_s".into(), (ms as f64 / 1000.0).into());
            }
            o.insert("stale".into(), l.stale.to_string().into());
            o.insert("no_data".into(), l.no_data.to_string().into());
            Json::Object(o)
        })
        .collect();
    Json::Array(out).to_string()
}
