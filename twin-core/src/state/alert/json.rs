//! Rules files: JSON in, JSON out.

use serde::Deserialize;

use super::*;

impl AlertEngine {
    /// The rules as JSON that [`load_rules_json`] reads back.
    pub fn rules_json(&self, store: &StateStore) -> String {
        let rules: Vec<serde_json::Value> = self
            .rules
            .iter()
            .map(|r| {
                let mut o = serde_json::Map::new();
                o.insert("id".into(), r.id.clone().into());
                o.insert("kinds".into(), r.kinds.to_string().into());
                let channel = store
                    .spec(r.channel)
                    .map(|s| s.name.clone())
                    .unwrap_or_default();
                o.insert("channel".into(), channel.into());
                match r.condition {
                    Condition::Above(x) => o.insert("above".into(), x.into()),
                    Condition::Below(x) => o.insert("below".into(), x.into()),
                    Condition::Equals(x) => {
                        let v = store
                            .spec(r.channel)
                            .map(|s| crate::state::channel::decode(&s.ty, x))
                            .unwrap_or(crate::state::channel::Value::Num(x));
                        let json = match v {
                            crate::state::channel::Value::Num(n) => serde_json::Value::from(n),
                            crate::state::channel::Value::Bool(b) => b.into(),
                            crate::state::channel::Value::Text(t) => t.into(),
                        };
                        o.insert("state".into(), json)
                    }
                    Condition::ChangeAbove { change, window_ms } => {
                        o.insert("window_s".into(), (window_ms as f64 / 1000.0).into());
                        o.insert("change_above".into(), change.into())
                    }
                    Condition::Silent { after_ms } => {
                        o.insert("silent_s".into(), (after_ms as f64 / 1000.0).into())
                    }
                };
                if let Some(n) = &r.near {
                    o.insert("near_kinds".into(), n.kinds.to_string().into());
                    o.insert("near_m".into(), n.metres.into());
                }
                o.insert("hysteresis".into(), r.hysteresis.into());
                o.insert(
                    "min_duration_s".into(),
                    (r.min_duration_ms as f64 / 1000.0).into(),
                );
                o.insert("severity".into(), r.severity.as_str().into());
                serde_json::Value::Object(o)
            })
            .collect();
        let mut rules = rules;
        for f in self.geofences() {
            let zone = geojson::Geometry::from(&f.zone);
            rules.push(serde_json::json!({
                "id": f.id,
                "kinds": f.kinds.to_string(),
                "geofence": zone,
                "on": match f.on { FenceOn::Enter => "enter", FenceOn::Exit => "exit" },
                "severity": f.severity.as_str(),
            }));
        }
        serde_json::Value::Array(rules).to_string()
    }
}

/// A rule as written in a rules file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    id: String,
    kinds: String,
    channel: String,
    #[serde(default)]
    above: Option<f64>,
    #[serde(default)]
    below: Option<f64>,
    #[serde(default)]
    state: Option<serde_json::Value>,
    #[serde(default)]
    change_above: Option<f64>,
    #[serde(default)]
    window_s: Option<f64>,
    #[serde(default)]
    silent_s: Option<f64>,
    #[serde(default)]
    near_kinds: Option<String>,
    #[serde(default)]
    near_m: Option<f64>,
    #[serde(default)]
    hysteresis: f64,
    #[serde(default)]
    min_duration_s: f64,
    severity: String,
}

/// Why a rules file was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleError {
    /// The file is not a JSON array of rules.
    #[error("rules file: {0}")]
    Format(String),
    /// One rule is wrong.
    #[error("rule {index} (`{id}`): {message}")]
    Rule {
        /// Its index in the file.
        index: usize,
        /// Its id.
        id: String,
        /// What is wrong.
        message: String,
    },
}

/// Reads rules from JSON: an array of `{"id", "kinds", "channel", one condition,
/// "hysteresis", "min_duration_s", "severity", "near_kinds", "near_m"}` where the
/// condition is `"above": x`, `"below": x`, `"state": s`, `"change_above": x` with
/// `"window_s": w`, or `"silent_s": n`. Channels (and `state` values of enumerated or
/// boolean channels) are resolved against the store.
pub fn load_rules_json(text: &str, store: &StateStore) -> Result<Vec<ThresholdRule>, RuleError> {
    let raw: Vec<serde_json::Value> =
        serde_json::from_str(text).map_err(|e| RuleError::Format(e.to_string()))?;
    let mut out: Vec<ThresholdRule> = Vec::with_capacity(raw.len());
    for (index, v) in raw.into_iter().enumerate() {
        if v.get("geofence").is_some() {
            continue;
        }
        let id_hint = v
            .get("id")
            .and_then(|x| x.as_str())
            .unwrap_or("")
            .to_string();
        let fail = |message: String| RuleError::Rule {
            index,
            id: id_hint.clone(),
            message,
        };
        let r: RuleFile = serde_json::from_value(v).map_err(|e| fail(e.to_string()))?;
        let channel = store
            .channel(&r.channel)
            .ok_or_else(|| fail(format!("unknown channel `{}`", r.channel)))?;
        let spec = store
            .spec(channel)
            .ok_or_else(|| fail(format!("unknown channel `{}`", r.channel)))?;
        let given = [
            r.above.is_some(),
            r.below.is_some(),
            r.state.is_some(),
            r.change_above.is_some(),
            r.silent_s.is_some(),
        ]
        .iter()
        .filter(|g| **g)
        .count();
        if given != 1 {
            return Err(fail(
                "give exactly one of `above`, `below`, `state`, `change_above` (with `window_s`) or `silent_s`".into(),
            ));
        }
        let seconds = |v: Option<f64>, name: &str| -> Result<i64, RuleError> {
            match v {
                Some(x) if x.is_finite() && x > 0.0 => Ok((x * 1000.0).round() as i64),
                _ => Err(fail(format!("`{name}` must be a number of seconds > 0"))),
            }
        };
        let condition = match (r.above, r.below, &r.state) {
            (Some(x), None, None) if x.is_finite() => Condition::Above(x),
            (None, Some(x), None) if x.is_finite() => Condition::Below(x),
            (None, None, Some(v)) => {
                let value = match v {
                    serde_json::Value::String(s) => crate::state::channel::Value::Text(s.clone()),
                    serde_json::Value::Bool(b) => crate::state::channel::Value::Bool(*b),
                    serde_json::Value::Number(n) => {
                        crate::state::channel::Value::Num(n.as_f64().unwrap_or(f64::NAN))
                    }
                    other => return Err(fail(format!("`state` {other} is not a value"))),
                };
                let x = crate::state::channel::encode(&spec.ty, &value).map_err(|_| {
                    fail(format!(
                        "`state` {value} is not a value of channel `{}`",
                        r.channel
                    ))
                })?;
                Condition::Equals(x)
            }
            (None, None, None) => match (r.change_above, r.silent_s) {
                (Some(c), None) if c.is_finite() && c >= 0.0 => Condition::ChangeAbove {
                    change: c,
                    window_ms: seconds(r.window_s, "window_s")?,
                },
                (None, Some(_)) => Condition::Silent {
                    after_ms: seconds(r.silent_s, "silent_s")?,
                },
                _ => return Err(fail("`change_above` must be a finite number ≥ 0".into())),
            },
            _ => return Err(fail("`above` / `below` must be finite numbers".into())),
        };
        if !(r.hysteresis.is_finite() && r.hysteresis >= 0.0) {
            return Err(fail("`hysteresis` must be a number ≥ 0".into()));
        }
        if !(r.min_duration_s.is_finite() && r.min_duration_s >= 0.0) {
            return Err(fail("`min_duration_s` must be a number ≥ 0".into()));
        }
        let severity = Severity::parse(&r.severity).ok_or_else(|| {
            fail(format!(
                "severity `{}` is not info, warning or critical",
                r.severity
            ))
        })?;
        let near = match (r.near_kinds, r.near_m) {
            (None, None) => None,
            (Some(k), Some(m)) if m.is_finite() && m >= 0.0 => Some(Near {
                kinds: k
                    .parse::<KindFilter>()
                    .map_err(|e| fail(format!("`near_kinds`: {e}")))?,
                metres: m,
            }),
            _ => {
                return Err(fail(
                    "`near_kinds` needs `near_m`, a distance ≥ 0 in metres".into(),
                ));
            }
        };
        if out.iter().any(|o| o.id == r.id) {
            return Err(fail("duplicate rule id".into()));
        }
        let kinds = r
            .kinds
            .parse::<KindFilter>()
            .map_err(|e| fail(format!("`kinds`: {e}")))?;
        out.push(ThresholdRule {
            id: r.id,
            kinds,
            channel,
            condition,
            hysteresis: r.hysteresis,
            min_duration_ms: (r.min_duration_s * 1000.0).round() as i64,
            severity,
            near,
        });
    }
    Ok(out)
}

/// Reads the geofence rules of a rules file: the objects with a `"geofence"` (a
/// GeoJSON geometry, WGS84), `"id"`, `"kinds"`, `"on"` (`enter` or `exit`) and
/// `"severity"`. Other rules are left to [`load_rules_json`].
pub fn load_geofences_json(text: &str) -> Result<Vec<GeofenceRule>, RuleError> {
    let raw: Vec<serde_json::Value> =
        serde_json::from_str(text).map_err(|e| RuleError::Format(e.to_string()))?;
    let mut out: Vec<GeofenceRule> = Vec::new();
    for (index, v) in raw.into_iter().enumerate() {
        let Some(zone) = v.get("geofence") else {
            continue;
        };
        let id = v
            .get("id")
            .and_then(|x| x.as_str())
            .unwrap_or("")
            .to_string();
        let fail = |message: String| RuleError::Rule {
            index,
            id: id.clone(),
            message,
        };
        if id.is_empty() {
            return Err(fail("missing `id`".into()));
        }
        let geometry: geojson::Geometry = serde_json::from_value(zone.clone())
            .map_err(|e| fail(format!("`geofence` is not a GeoJSON geometry: {e}")))?;
        // Checked position by position (geojson's own conversion indexes a position
        // with fewer than two numbers and panics: found by fuzzing).
        let zone = crate::load::geometry_from_geojson(&geometry.value)
            .map_err(|p| fail(format!("`geofence`: {p}")))?;
        crate::load::check_asset_geometry(&zone)
            .and_then(|()| crate::load::check_asset_validity(&zone))
            .map_err(|p| fail(format!("`geofence`: {p}")))?;
        let kinds = v
            .get("kinds")
            .and_then(|x| x.as_str())
            .ok_or_else(|| fail("missing `kinds`".into()))?;
        let on = match v.get("on").and_then(|x| x.as_str()) {
            Some("enter") => FenceOn::Enter,
            Some("exit") => FenceOn::Exit,
            other => return Err(fail(format!("`on` must be enter or exit, got {other:?}"))),
        };
        let severity = v
            .get("severity")
            .and_then(|x| x.as_str())
            .and_then(Severity::parse)
            .ok_or_else(|| fail("`severity` must be info, warning or critical".into()))?;
        if out.iter().any(|o| o.id == id) {
            return Err(fail("duplicate rule id".into()));
        }
        let kinds = kinds
            .parse::<KindFilter>()
            .map_err(|e| fail(format!("`kinds`: {e}")))?;
        out.push(GeofenceRule {
            kinds,
            zone,
            on,
            severity,
            id,
        });
    }
    Ok(out)
}
