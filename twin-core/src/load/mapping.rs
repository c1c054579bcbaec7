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
    /// The first rule on the feature's properties that matches
    /// ([`KindRules::osm`] reads OpenStreetMap tags).
    Rules(KindRules),
}

/// Where an asset's id comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum IdSource {
    /// This property; a feature without it falls back to its own GeoJSON `id` member.
    Property(String),
    /// The feature's own id: GeoJSON's `id` member, or a FlatGeobuf feature's index
    /// (GDAL's FID).
    Feature,
    /// Made from the file's name and the feature's index (`roads:0`, `roads:1` …):
    /// the same for every load of the same file, and marked on the asset with the
    /// property `id_generated: true`.
    Auto,
}

/// Rules that give a feature its kind from its properties, tried in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KindRules {
    /// The rules.
    pub rules: Vec<KindRule>,
    /// The kind of a feature no rule matches; `None` refuses such a feature.
    pub default: Option<AssetKind>,
}

/// One rule: a property, the value it must have, the kind it gives.
#[derive(Clone, Debug, PartialEq)]
pub struct KindRule {
    /// The property (`building`, `highway`, `landuse` …).
    pub property: String,
    /// The values that match; empty matches any value but `no`, `false` and empty.
    pub equals: Vec<String>,
    /// The kind.
    pub kind: AssetKind,
}

impl KindRules {
    /// OpenStreetMap's tags: bridges, buildings, roads, railways, waterways, water,
    /// parks, farmland, parking, chargers, ferry terminals, waste sites.
    pub fn osm() -> KindRules {
        let rule = |property: &str, equals: &[&str], kind: AssetKind| KindRule {
            property: property.into(),
            equals: equals.iter().map(|s| s.to_string()).collect(),
            kind,
        };
        KindRules {
            rules: vec![
                rule("bridge", &[], AssetKind::Bridge),
                rule("man_made", &["bridge"], AssetKind::Bridge),
                rule("building", &[], AssetKind::Building),
                rule("building:part", &[], AssetKind::Building),
                rule("amenity", &["charging_station"], AssetKind::EvCharger),
                rule("amenity", &["parking"], AssetKind::ParkingLot),
                rule("amenity", &["ferry_terminal"], AssetKind::FerryTerminal),
                rule(
                    "amenity",
                    &["waste_transfer_station", "recycling"],
                    AssetKind::GarbageStation,
                ),
                rule("highway", &[], AssetKind::Road),
                rule("railway", &[], AssetKind::Custom("railway".into())),
                rule("waterway", &[], AssetKind::River),
                rule("natural", &["water"], AssetKind::WaterBody),
                rule("water", &[], AssetKind::WaterBody),
                rule("leisure", &["park", "garden"], AssetKind::GreenSpace),
                rule(
                    "landuse",
                    &["grass", "recreation_ground", "village_green"],
                    AssetKind::GreenSpace,
                ),
                rule(
                    "landuse",
                    &["farmland", "farmyard", "orchard"],
                    AssetKind::FarmField,
                ),
                rule("man_made", &["pipeline"], AssetKind::Pipe),
            ],
            default: None,
        }
    }

    /// The kind the rules give a feature with these properties.
    pub fn kind_of(&self, props: &serde_json::Map<String, Value>) -> Option<AssetKind> {
        for r in &self.rules {
            let value = match props.get(&r.property) {
                Some(Value::String(s)) => s.trim().to_string(),
                Some(Value::Bool(b)) => b.to_string(),
                Some(Value::Number(n)) => n.to_string(),
                _ => continue,
            };
            let hit = if r.equals.is_empty() {
                !value.is_empty() && value != "no" && value != "false"
            } else {
                r.equals.contains(&value)
            };
            if hit {
                return Some(r.kind.clone());
            }
        }
        self.default.clone()
    }
}

/// How to read a file's features into assets.
///
/// The defaults read `id`, `kind`, `name_zh`, `name_en`, `height`, `base`, `z_level`,
/// `sensor_type`, `attached_to` and `part_of` properties, and lon/lat WGS84 coordinates.
/// Properties a mapping consumes are not copied into [`Asset::properties`]; all others are.
/// Arrays and objects are kept as their JSON text; `null`s are dropped.
#[derive(Clone, Debug, PartialEq)]
pub struct Mapping {
    /// Where the id comes from.
    pub id: IdSource,
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
    /// The property holding a number of storeys, used (times `storey_height`) when
    /// the feature has no height (OpenStreetMap's `building:levels`); empty: none.
    pub levels: String,
    /// Metres per storey for `levels`.
    pub storey_height: f64,
    /// The property holding the height of the asset's bottom above its base
    /// (OpenStreetMap's `min_height`: a bridge deck, an overhang); empty: none.
    pub min_height: String,
    /// The property holding the base elevation (m).
    pub base: String,
    /// The property holding the z-level (`underground`, `ground`, `water`, `air`).
    pub z_level: String,
    /// The property naming the asset a sensor is attached to.
    pub attached_to: String,
    /// The property naming the asset this one is part of.
    pub part_of: String,
    /// The CRS the file's coordinates are in, when the file does not say.
    pub crs: Crs,
    /// Whether a CRS the file declares (a FlatGeobuf header, GeoJSON's legacy `crs`
    /// member) wins over `crs`; [`Mapping::with_crs`] turns it off (a CRS given by
    /// the user overrides the file's).
    pub file_crs: bool,
}

impl Default for Mapping {
    fn default() -> Self {
        Mapping {
            id: IdSource::Property("id".into()),
            id_prefix: String::new(),
            kind: KindSource::Property("kind".into()),
            sensor_type: "sensor_type".into(),
            name_zh: "name_zh".into(),
            name_en: "name_en".into(),
            height: "height".into(),
            levels: String::new(),
            storey_height: 3.0,
            min_height: String::new(),
            base: "base".into(),
            z_level: "z_level".into(),
            attached_to: "attached_to".into(),
            part_of: "part_of".into(),
            crs: Crs::Wgs84,
            file_crs: true,
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

    /// This mapping with the coordinates in `crs`, whatever the file declares.
    pub fn with_crs(mut self, crs: Crs) -> Self {
        self.crs = crs;
        self.file_crs = false;
        self
    }

    /// This mapping for one file that declares `declared` (or nothing): the CRS it
    /// is read in, and the transformer from there to WGS84, made once per file.
    pub(crate) fn for_file(
        &self,
        declared: Option<Crs>,
        file: &str,
    ) -> Result<(Mapping, crate::crs::Transformer), crate::error::LoadError> {
        let crs = match declared {
            Some(c) if self.file_crs => c,
            _ => self.crs.clone(),
        };
        let transformer = super::convert::wgs84_transformer(&crs, file)?;
        Ok((
            Mapping {
                crs,
                ..self.clone()
            },
            transformer,
        ))
    }

    /// The id a feature's properties name before the asset is built (for errors).
    pub(crate) fn id_guess(
        &self,
        props: Option<&serde_json::Map<String, Value>>,
        own_id: Option<&str>,
        file: &str,
        index: usize,
    ) -> Option<String> {
        self.raw_id(props, own_id, file, index)
            .map(|id| format!("{}{id}", self.id_prefix))
    }

    fn raw_id(
        &self,
        props: Option<&serde_json::Map<String, Value>>,
        own_id: Option<&str>,
        file: &str,
        index: usize,
    ) -> Option<String> {
        let own = || {
            own_id
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        match &self.id {
            IdSource::Property(p) => match props.and_then(|m| m.get(p)) {
                Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => own(),
            },
            IdSource::Feature => own(),
            IdSource::Auto => Some(format!("{}:{index}", file_stem(file))),
        }
    }

    /// Builds an asset (without geometry checks, which the readers do) from a feature's
    /// properties. `own_id` is the feature's own id (GeoJSON's `id` member; a
    /// FlatGeobuf feature's index, used only by [`IdSource::Feature`]).
    pub(crate) fn asset_from_properties(
        &self,
        props: Option<serde_json::Map<String, Value>>,
        own_id: Option<&str>,
        geometry: geo_types::Geometry<f64>,
        file: &Arc<str>,
        index: usize,
    ) -> Result<Asset, (Option<String>, Problem)> {
        // Owned, so keys and values move into the asset's properties (a million
        // features × a dozen properties: cloning them was a tenth of reading a file).
        let props_owned = props.unwrap_or_default();
        let props = &props_owned;
        let Some(raw_id) = self.raw_id(Some(props), own_id, file, index) else {
            return Err((
                None,
                Problem::MissingId {
                    property: match &self.id {
                        IdSource::Property(p) => p.clone(),
                        IdSource::Feature => "the feature's own id".into(),
                        IdSource::Auto => String::new(),
                    },
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
            KindSource::Rules(rules) => rules.kind_of(props).ok_or_else(|| {
                fail(Problem::BadProperty {
                    name: "kind".into(),
                    message: "no kind rule matches the feature's properties and the rules give no default".into(),
                })
            })?,
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
                Some(Value::String(s)) => match metres(s) {
                    Some(v) => Ok(Some(v)),
                    None => Err(Problem::BadProperty {
                        name: name.into(),
                        message: format!("`{s}` is not a number (of metres or feet)"),
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

        let optional = |name: &str| -> Result<Option<f64>, Problem> {
            if name.is_empty() {
                Ok(None)
            } else {
                number(name)
            }
        };
        // Storeys are a count, not a length (`3 m` is no number of storeys).
        let levels = match props.get(self.levels.as_str()) {
            _ if self.levels.is_empty() => None,
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_f64().filter(|v| v.is_finite() && *v >= 0.0),
            Some(Value::String(s)) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0),
            Some(_) => None,
        };
        if levels.is_none()
            && !self.levels.is_empty()
            && props
                .get(self.levels.as_str())
                .is_some_and(|v| !v.is_null())
        {
            return Err(fail(Problem::BadProperty {
                name: self.levels.clone(),
                message: format!("{} is not a number of storeys", props[self.levels.as_str()]),
            }));
        }
        let mut height = match number(&self.height).map_err(fail)? {
            Some(h) => h,
            None => levels.map_or(0.0, |l| l * self.storey_height),
        };
        if height < 0.0 {
            return Err(fail(Problem::BadProperty {
                name: self.height.clone(),
                message: format!("height {height} is negative"),
            }));
        }
        let mut base = number(&self.base).map_err(fail)?.unwrap_or(0.0);
        if let Some(min) = optional(&self.min_height).map_err(fail)? {
            if min < 0.0 || min > height {
                return Err(fail(Problem::BadProperty {
                    name: self.min_height.clone(),
                    message: format!("{min} m is not between 0 and the height {height} m"),
                }));
            }
            base += min;
            height -= min;
        }
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

        let id_prop = match &self.id {
            IdSource::Property(p) => p.as_str(),
            _ => "",
        };
        let consumed = [
            id_prop,
            self.levels.as_str(),
            self.min_height.as_str(),
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
            KindSource::Fixed(_) | KindSource::Rules(_) => None,
        };
        let mut properties = Properties::with_capacity(props.len());
        for (k, v) in props_owned {
            if (!k.is_empty() && consumed.contains(&k.as_str())) || Some(k.as_str()) == kind_prop {
                continue;
            }
            let value = match v {
                Value::Null => continue,
                Value::Bool(b) => PropValue::Bool(b),
                Value::Number(n) => match n.as_f64() {
                    Some(f) => PropValue::Num(f),
                    None => PropValue::Str(n.to_string()),
                },
                Value::String(s) => PropValue::Str(s),
                other => PropValue::Str(other.to_string()),
            };
            properties.insert(k, value);
        }
        if self.id == IdSource::Auto {
            properties.insert("id_generated".into(), PropValue::Bool(true));
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
            surfaces: None,
        })
    }
}

/// A file's name without its folder and extension (`data/roads.geojson` → `roads`).
fn file_stem(file: &str) -> &str {
    let name = file.rsplit(['/', '\\']).next().unwrap_or(file);
    match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => name,
    }
}

/// A length as OpenStreetMap and many GIS files write it: `12`, `12.5 m`, `40 ft`,
/// `40'`; `None` for anything else.
fn metres(s: &str) -> Option<f64> {
    let t = s.trim();
    let (num, factor) = if let Some(n) = t.strip_suffix("ft").or_else(|| t.strip_suffix('\'')) {
        (n, 0.3048)
    } else if let Some(n) = t
        .strip_suffix("metres")
        .or_else(|| t.strip_suffix("meters"))
        .or_else(|| t.strip_suffix('m'))
    {
        (n, 1.0)
    } else {
        (t, 1.0)
    };
    let v = num.trim().parse::<f64>().ok()? * factor;
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_with_units() {
        assert_eq!(metres("15"), Some(15.0));
        assert_eq!(metres(" 15 m "), Some(15.0));
        assert_eq!(metres("12.5m"), Some(12.5));
        assert_eq!(metres("100 ft"), Some(30.48));
        assert_eq!(metres("10'"), Some(3.048));
        assert_eq!(metres("tall"), None);
        assert_eq!(metres("inf"), None);
        assert_eq!(file_stem("data/roads.geojson"), "roads");
        assert_eq!(file_stem("C:\\x\\a.b.fgb"), "a.b");
        assert_eq!(file_stem("roads.2024.geojson"), "roads.2024");
        assert_eq!(file_stem(".hidden"), ".hidden");
    }
}
