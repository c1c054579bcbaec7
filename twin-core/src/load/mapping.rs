//! Which properties of a feature mean what.

use std::sync::Arc;

use serde_json::Value;

use crate::asset::{Asset, PropValue, Properties, Source, Vertical};
use crate::crs::Crs;
use crate::error::Problem;
use crate::kind::{AssetKind, ZLevel};

/// Where an asset's kind comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum KindSource {
    /// Read the kind from this property (e.g. `kind`); a sensor's type may come from
    /// [`Mapping::sensor_type`].
    Property(String),
    /// Every feature of the file has this kind.
    Fixed(AssetKind),
}

/// How to read a file's features into assets.
///
/// The defaults read `id`, `kind`, `name_zh`, `name_en`, `height`, `base`, `z_level`,
/// `sensor_type`, `attached_to` and `part_of` properties, and lon/lat WGS84 coordinates.
/// Properties a mapping consumes are not copied into [`Asset::properties`]; all others are.
/// Arrays and objects are kept as their JSON text; `null`s are dropped.
#[derive(Clone, Debug, PartialEq)]
pub struct Mapping {
    /// The property holding the id. When the feature lacks it, the feature's own `id`
    /// member (GeoJSON) is used.
    pub id: String,
    /// Prepended to every id read (e.g. `CM-BLD-`), to keep ids of several sources apart.
    pub id_prefix: String,
    /// Where the kind comes from.
    pub kind: KindSource,
    /// The property naming a sensor's type, for kinds given as plain `sensor`.
    pub sensor_type: String,
    /// The property holding the Chinese name.
    pub name_zh: String,
    /// The property holding the English name.
    pub name_en: String,
    /// The property holding the height above the base (m).
    pub height: String,
    /// The property holding the base elevation (m).
    pub base: String,
    /// The property holding the z-level (`underground`, `ground`, `water`, `air`).
    pub z_level: String,
    /// The property naming the asset a sensor is attached to.
    pub attached_to: String,
    /// The property naming the asset this one is part of.
    pub part_of: String,
    /// The CRS the file's coordinates are in.
    pub crs: Crs,
}

impl Default for Mapping {
    fn default() -> Self {
        Mapping {
            id: "id".into(),
            id_prefix: String::new(),
            kind: KindSource::Property("kind".into()),
            sensor_type: "sensor_type".into(),
            name_zh: "name_zh".into(),
            name_en: "name_en".into(),
            height: "height".into(),
            base: "base".into(),
            z_level: "z_level".into(),
            attached_to: "attached_to".into(),
            part_of: "part_of".into(),
            crs: Crs::Wgs84,
        }
    }
}

impl Mapping {
    /// The default mapping with every feature of the given kind.
    pub fn with_kind(kind: AssetKind) -> Self {
        Mapping {
            kind: KindSource::Fixed(kind),
            ..Mapping::default()
        }
    }

    /// The default mapping in the given CRS.
    pub fn with_crs(mut self, crs: Crs) -> Self {
        self.crs = crs;
        self
    }

    /// Builds an asset (without geometry checks, which the readers do) from a feature's
    /// properties. `fallback_id` is the feature's own id member, if any.
    pub(crate) fn asset_from_properties(
        &self,
        props: Option<&serde_json::Map<String, Value>>,
        fallback_id: Option<String>,
        geometry: geo_types::Geometry<f64>,
        file: &Arc<str>,
        index: usize,
    ) -> Result<Asset, (Option<String>, Problem)> {
        let empty = serde_json::Map::new();
        let props = props.unwrap_or(&empty);
        let raw_id = match props.get(&self.id) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => fallback_id.filter(|s| !s.trim().is_empty()),
        };
        let Some(raw_id) = raw_id else {
            return Err((
                None,
                Problem::MissingId {
                    property: self.id.clone(),
                },
            ));
        };
        let id = format!("{}{}", self.id_prefix, raw_id);
        let fail = |problem: Problem| (Some(id.clone()), problem);

        let kind = match &self.kind {
            KindSource::Fixed(k) => k.clone(),
            KindSource::Property(name) => match props.get(name) {
                Some(Value::String(s)) if !s.trim().is_empty() => {
                    let k = AssetKind::from_data_name(s);
                    match (&k, props.get(&self.sensor_type)) {
                        (AssetKind::Sensor(_), Some(Value::String(t))) if s.trim() == "sensor" => {
                            AssetKind::Sensor(crate::kind::SensorType::parse(t))
                        }
                        _ => k,
                    }
                }
                _ => {
                    return Err(fail(Problem::BadProperty {
                        name: name.clone(),
                        message: "missing or not a string: every feature needs a kind".into(),
                    }));
                }
            },
        };

        let number = |name: &str| -> Result<Option<f64>, Problem> {
            match props.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => match n.as_f64() {
                    Some(v) if v.is_finite() => Ok(Some(v)),
                    _ => Err(Problem::BadProperty {
                        name: name.into(),
                        message: "not a finite number".into(),
                    }),
                },
                Some(Value::String(s)) => match s.trim().parse::<f64>() {
                    Ok(v) if v.is_finite() => Ok(Some(v)),
                    _ => Err(Problem::BadProperty {
                        name: name.into(),
                        message: format!("`{s}` is not a number"),
                    }),
                },
                Some(other) => Err(Problem::BadProperty {
                    name: name.into(),
                    message: format!("expected a number, got {other}"),
                }),
            }
        };
        let text = |name: &str| -> Result<Option<String>, Problem> {
            match props.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(other) => Err(Problem::BadProperty {
                    name: name.into(),
                    message: format!("expected a string, got {other}"),
                }),
            }
        };

        let height = number(&self.height).map_err(fail)?.unwrap_or(0.0);
        if height < 0.0 {
            return Err(fail(Problem::BadProperty {
                name: self.height.clone(),
                message: format!("height {height} is negative"),
            }));
        }
        let base = number(&self.base).map_err(fail)?.unwrap_or(0.0);
        let z_level = match text(&self.z_level).map_err(fail)? {
            None => kind.default_z_level(),
            Some(s) => ZLevel::parse(&s).ok_or_else(|| {
                fail(Problem::BadProperty {
                    name: self.z_level.clone(),
                    message: format!("`{s}` is not one of underground, ground, water, air"),
                })
            })?,
        };
        let name_zh = text(&self.name_zh).map_err(fail)?;
        let name_en = text(&self.name_en).map_err(fail)?;
        let attached_to = text(&self.attached_to).map_err(fail)?;
        let part_of = text(&self.part_of).map_err(fail)?;

        let consumed = [
            self.id.as_str(),
            self.sensor_type.as_str(),
            self.name_zh.as_str(),
            self.name_en.as_str(),
            self.height.as_str(),
            self.base.as_str(),
            self.z_level.as_str(),
            self.attached_to.as_str(),
            self.part_of.as_str(),
        ];
        let kind_prop = match &self.kind {
            KindSource::Property(p) => Some(p.as_str()),
            KindSource::Fixed(_) => None,
        };
        let mut properties = Properties::new();
        for (k, v) in props {
            if consumed.contains(&k.as_str()) || Some(k.as_str()) == kind_prop {
                continue;
            }
            let value = match v {
                Value::Null => continue,
                Value::Bool(b) => PropValue::Bool(*b),
                Value::Number(n) => match n.as_f64() {
                    Some(f) => PropValue::Num(f),
                    None => PropValue::Str(n.to_string()),
                },
                Value::String(s) => PropValue::Str(s.clone()),
                other => PropValue::Str(other.to_string()),
            };
            properties.insert(k.clone(), value);
        }
        properties.shrink_to_fit();

        Ok(Asset {
            id,
            kind,
            name_zh,
            name_en,
            geometry,
            source_crs: self.crs.clone(),
            vertical: Vertical {
                base,
                height,
                z_level,
            },
            properties,
            attached_to,
            part_of,
            source: Source {
                file: file.clone(),
                feature: index,
            },
        })
    }
}
