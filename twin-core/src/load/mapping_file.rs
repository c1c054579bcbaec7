//! The mapping file: which of a user's fields hold the twin's id, kind, names and
//! heights (docs/mapping.md has the format with examples), and the short forms the
//! command line takes (`--id FIELD|@feature|auto`, `--as KIND|@FIELD|osm`).
//!
//! A mapping file is JSON. Every member is optional; an absent one keeps the twin's
//! own field (`id`, `kind`, `name_zh` …), so the twin's own files need none:
//!
//! ```json
//! {"id": "auto", "kind": {"osm": true, "default": "custom:other"},
//!  "name_en": "name", "levels": "building:levels", "min_height": "min_height"}
//! ```

use serde::Deserialize;

use super::mapping::{IdSource, KindRule, KindRules, KindSource, Mapping};
use crate::kind::AssetKind;

/// Why a mapping (file or short form) was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum MappingError {
    /// The file is not the JSON of a mapping.
    #[error("mapping: {0}")]
    Json(String),
    /// A member's value is not usable.
    #[error("mapping `{field}`: {message}")]
    Field {
        /// The member (`kind`, `crs` …).
        field: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    id: Option<String>,
    id_prefix: Option<String>,
    kind: Option<KindSpec>,
    sensor_type: Option<String>,
    name_zh: Option<String>,
    name_en: Option<String>,
    height: Option<String>,
    levels: Option<String>,
    storey_height: Option<f64>,
    min_height: Option<String>,
    base: Option<String>,
    z_level: Option<String>,
    attached_to: Option<String>,
    part_of: Option<String>,
    crs: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum KindSpec {
    Text(String),
    Rules(RulesSpec),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesSpec {
    #[serde(default)]
    rules: Vec<RuleSpec>,
    /// Also OpenStreetMap's tags, after `rules`.
    #[serde(default)]
    osm: bool,
    #[serde(default)]
    default: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    property: String,
    #[serde(default)]
    equals: Option<Equals>,
    kind: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Equals {
    One(String),
    Many(Vec<String>),
}

fn field(field: &str, message: impl Into<String>) -> MappingError {
    MappingError::Field {
        field: field.to_string(),
        message: message.into(),
    }
}

/// A kind a user named: checked as every user-given kind is (a typo is an error that
/// suggests the closest name; a kind of one's own is written `custom:NAME`).
fn kind_named(field_name: &str, s: &str) -> Result<AssetKind, MappingError> {
    if s.trim().is_empty() {
        return Err(field(field_name, "an empty kind"));
    }
    s.parse::<AssetKind>()
        .map_err(|e| field(field_name, e.to_string()))
}

impl Mapping {
    /// A mapping from a mapping file's JSON text; members it leaves out keep the
    /// default mapping's fields.
    pub fn from_json(text: &str) -> Result<Mapping, MappingError> {
        let f: File = serde_json::from_str(text).map_err(|e| MappingError::Json(e.to_string()))?;
        let mut m = Mapping::default();
        if let Some(id) = &f.id {
            m.set_id(id)?;
        }
        if let Some(p) = f.id_prefix {
            m.id_prefix = p;
        }
        match f.kind {
            None => {}
            Some(KindSpec::Text(t)) => m.set_kind(&t)?,
            Some(KindSpec::Rules(r)) => {
                let mut rules = KindRules::default();
                for (i, rule) in r.rules.into_iter().enumerate() {
                    let name = format!("kind.rules[{i}]");
                    if rule.property.trim().is_empty() {
                        return Err(field(&name, "no property"));
                    }
                    let equals = match rule.equals {
                        None => Vec::new(),
                        Some(Equals::One(v)) if v == "*" => Vec::new(),
                        Some(Equals::One(v)) => vec![v],
                        Some(Equals::Many(v)) => v,
                    };
                    rules.rules.push(KindRule {
                        property: rule.property,
                        equals,
                        kind: kind_named(&name, &rule.kind)?,
                    });
                }
                if r.osm {
                    rules.rules.extend(KindRules::osm().rules);
                }
                if rules.rules.is_empty() && r.default.is_none() {
                    return Err(field("kind", "no rules, no `osm` and no `default`"));
                }
                rules.default = r
                    .default
                    .as_deref()
                    .map(|d| kind_named("kind.default", d))
                    .transpose()?;
                m.kind = KindSource::Rules(rules);
            }
        }
        let set = |target: &mut String, v: Option<String>| {
            if let Some(v) = v {
                *target = v;
            }
        };
        set(&mut m.sensor_type, f.sensor_type);
        set(&mut m.name_zh, f.name_zh);
        set(&mut m.name_en, f.name_en);
        set(&mut m.height, f.height);
        set(&mut m.levels, f.levels);
        set(&mut m.min_height, f.min_height);
        set(&mut m.base, f.base);
        set(&mut m.z_level, f.z_level);
        set(&mut m.attached_to, f.attached_to);
        set(&mut m.part_of, f.part_of);
        if let Some(h) = f.storey_height {
            if !(h.is_finite() && h > 0.0 && h < 100.0) {
                return Err(field(
                    "storey_height",
                    format!("{h} is not a storey height in metres"),
                ));
            }
            m.storey_height = h;
        }
        if let Some(c) = f.crs {
            let crs = c.parse().map_err(|e| field("crs", format!("{e}")))?;
            m = m.with_crs(crs);
        }
        Ok(m)
    }

    /// The mapping a command line asks for: a mapping file's JSON (or the default
    /// mapping), then the short forms, each overriding the file: `--id`, `--kind`, and
    /// `--crs` (which also overrides a CRS the data file declares).
    pub fn from_options(
        file_json: Option<&str>,
        id: Option<&str>,
        kind: Option<&str>,
        crs: Option<&str>,
    ) -> Result<Mapping, MappingError> {
        let mut m = match file_json {
            Some(t) => Mapping::from_json(t)?,
            None => Mapping::default(),
        };
        if let Some(id) = id {
            m.set_id(id)?;
        }
        if let Some(kind) = kind {
            m.set_kind(kind)?;
        }
        if let Some(c) = crs {
            let crs = c.parse().map_err(|e| field("crs", format!("{e}")))?;
            m = m.with_crs(crs);
        }
        Ok(m)
    }

    /// Sets where ids come from: `auto` (from the file's name and the feature's
    /// index), `@feature` (the feature's own id) or a property's name.
    pub fn set_id(&mut self, spec: &str) -> Result<(), MappingError> {
        let s = spec.trim();
        self.id = match s {
            "" => return Err(field("id", "empty: give a property, @feature or auto")),
            "auto" => IdSource::Auto,
            "@feature" => IdSource::Feature,
            p => IdSource::Property(p.strip_prefix('@').unwrap_or(p).to_string()),
        };
        Ok(())
    }

    /// Sets where kinds come from: `osm` (OpenStreetMap's tags,
    /// [`KindRules::osm`]), `@FIELD` (a property holding the kind's name) or one
    /// kind for every feature (`building`, `sensor:water_level`, `custom:tree`).
    pub fn set_kind(&mut self, spec: &str) -> Result<(), MappingError> {
        let s = spec.trim();
        self.kind = match s {
            "osm" => {
                // OpenStreetMap's heights come with its tags.
                if self.levels.is_empty() {
                    self.levels = "building:levels".into();
                }
                if self.min_height.is_empty() {
                    self.min_height = "min_height".into();
                }
                KindSource::Rules(KindRules::osm())
            }
            p if p.starts_with('@') => {
                let name = &p[1..];
                if name.is_empty() {
                    return Err(field("kind", "`@` without a property name"));
                }
                KindSource::Property(name.to_string())
            }
            k => KindSource::Fixed(kind_named("kind", k)?),
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_sets_what_it_names_and_keeps_the_rest() {
        let m = Mapping::from_json(
            r#"{"id": "auto", "id_prefix": "NE-", "kind": "@featurecla", "name_en": "NAME",
                "levels": "building:levels", "storey_height": 3.5, "crs": "EPSG:3857"}"#,
        )
        .unwrap();
        assert_eq!(m.id, IdSource::Auto);
        assert_eq!(m.id_prefix, "NE-");
        assert_eq!(m.kind, KindSource::Property("featurecla".into()));
        assert_eq!(m.name_en, "NAME");
        assert_eq!(m.name_zh, "name_zh");
        assert_eq!(m.storey_height, 3.5);
        assert_eq!(m.crs, crate::crs::Crs::WebMercator);
        assert!(!m.file_crs, "a CRS the user gives wins over the file's");
    }

    #[test]
    fn kind_rules_match_in_order_with_a_default() {
        let m = Mapping::from_json(
            r#"{"kind": {"rules": [{"property": "landuse", "equals": ["farmland", "orchard"], "kind": "farm_field"},
                                   {"property": "amenity", "equals": "*", "kind": "custom:amenity"}],
                         "osm": true, "default": "custom:other"}}"#,
        )
        .unwrap();
        let KindSource::Rules(r) = &m.kind else {
            panic!("{:?}", m.kind)
        };
        let props = |j: &str| {
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(j).unwrap()
        };
        assert_eq!(
            r.kind_of(&props(r#"{"landuse": "orchard"}"#)),
            Some(AssetKind::FarmField)
        );
        assert_eq!(
            r.kind_of(&props(r#"{"amenity": "school", "building": "yes"}"#)),
            Some(AssetKind::Custom("amenity".into()))
        );
        // From the OSM rules after the file's own.
        assert_eq!(
            r.kind_of(&props(r#"{"building": "yes"}"#)),
            Some(AssetKind::Building)
        );
        assert_eq!(
            r.kind_of(&props(r#"{"building": "no"}"#)),
            Some(AssetKind::Custom("other".into()))
        );
        assert_eq!(
            r.kind_of(&props(r#"{"highway": "primary", "bridge": "yes"}"#)),
            Some(AssetKind::Bridge)
        );
    }

    #[test]
    fn bad_mappings_are_refused_with_the_member() {
        for (text, want) in [
            (r#"{"idd": "x"}"#, "unknown field `idd`"),
            (r#"{"id": ""}"#, "mapping `id`"),
            (r#"{"kind": "@"}"#, "mapping `kind`"),
            (r#"{"kind": "biulding"}"#, "did you mean `building`"),
            (r#"{"kind": {"rules": []}}"#, "no rules"),
            (r#"{"storey_height": -1}"#, "mapping `storey_height`"),
            (r#"{"crs": "EPSG:abc"}"#, "mapping `crs`"),
            ("[", "mapping:"),
        ] {
            let e = Mapping::from_json(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn short_forms() {
        let mut m = Mapping::default();
        m.set_id("@feature").unwrap();
        assert_eq!(m.id, IdSource::Feature);
        m.set_id("ISO_A3").unwrap();
        assert_eq!(m.id, IdSource::Property("ISO_A3".into()));
        m.set_kind("osm").unwrap();
        assert!(matches!(m.kind, KindSource::Rules(_)));
        m.set_kind("building").unwrap();
        assert_eq!(m.kind, KindSource::Fixed(AssetKind::Building));
        m.set_kind("@type").unwrap();
        assert_eq!(m.kind, KindSource::Property("type".into()));
    }
}
