//! # MQTT topics of a twin's telemetry: `twin/<town>/<kind>/<asset-id>`
//!
//! Every asset that reports has one topic, built from what the twin knows of it, so a
//! publisher and any number of ingesting processes agree on it without a registry:
//!
//! - `<town>`: the external id of the town the asset is located in
//!   (`CM-TOWN-CHENJIA`: stable, ASCII, the same in every file and process, where the
//!   Chinese and English names are neither), or `_` for an asset in no town. A town
//!   asset is in its own town.
//! - `<kind>`: the sensor type for sensors (`water_level`, `charger_power`), else the
//!   kind's name (`ev_charger`, `building`): subscribers can filter on it
//!   (`twin/+/water_level/#`).
//! - `<asset-id>`: the asset's external id (`CM-S-WL-003306`).
//!
//! Each level is written with [`encode_segment`]: ASCII letters, digits and `-_.~:` as
//! they are, every other byte (`/`, `+`, `#`, `%`, spaces, non-ASCII UTF-8) as `%XX`,
//! and a segment that is exactly `_` as `%5F`, so a topic is ASCII, holds no MQTT
//! wildcard and has exactly four levels. The bundled island's ids need no escaping.
//!
//! A process that takes some towns subscribes to [`town_filter`] of each
//! (`twin/CM-TOWN-CHENJIA/#`); one that takes them all to [`ALL_TOWNS`] (`twin/#`).
//! [`Topic::parse`] reads a topic back and [`Topic::check`] verifies that its town
//! and kind are the asset's, so a misrouted message is refused rather than applied by
//! a process that does not own its town.
//!
//! ```
//! use twin_core::topic::{self, Topic};
//! use twin_core::{LoadMode, Mapping, Twin, crs::LocalFrame};
//! let mut twin = Twin::new(LocalFrame::chongming());
//! let town = r#"{"type":"Feature","properties":{"id":"CM-TOWN-CHENJIA","kind":"town"},
//!   "geometry":{"type":"Polygon","coordinates":[[[121.8,31.5],[121.9,31.5],[121.9,31.6],[121.8,31.5]]]}}"#;
//! let gauge = r#"{"type":"Feature","properties":{"id":"CM-S-WL-003306","kind":"sensor:water_level"},
//!   "geometry":{"type":"Point","coordinates":[121.88,31.52]}}"#;
//! let text = format!(r#"{{"type":"FeatureCollection","features":[{town},{gauge}]}}"#);
//! twin.load_geojson_str(&text, "doc", &Mapping::default(), LoadMode::Strict).unwrap();
//! let h = twin.handle("CM-S-WL-003306").unwrap();
//! assert_eq!(topic::topic_of(&twin, h).unwrap(), "twin/CM-TOWN-CHENJIA/water_level/CM-S-WL-003306");
//! let t = Topic::parse("twin/CM-TOWN-CHENJIA/water_level/CM-S-WL-003306").unwrap();
//! assert_eq!(t.town.as_deref(), Some("CM-TOWN-CHENJIA"));
//! assert_eq!(topic::encode_segment("a/b c"), "a%2Fb%20c");
//! ```

use std::fmt;

use crate::asset::Handle;
use crate::kind::AssetKind;
use crate::twin::Twin;

/// The first level of every twin topic.
pub const ROOT: &str = "twin";
/// The town level of an asset in no town.
pub const NO_TOWN: &str = "_";
/// The filter of every town (and of assets in none).
pub const ALL_TOWNS: &str = "twin/#";

/// Why a topic is not a twin topic, or not this asset's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TopicError {
    /// It does not start with `twin/`.
    NotTwin,
    /// It does not have four levels.
    Levels(usize),
    /// A level has a bad `%XX` escape or is empty.
    Encoding(String),
    /// The asset is not located in the topic's town.
    WrongTown {
        /// The asset.
        id: String,
        /// The topic's town (`_`: none).
        topic: String,
        /// The asset's town (`_`: none).
        asset: String,
    },
    /// The topic's kind is not the asset's.
    WrongKind {
        /// The asset.
        id: String,
        /// The topic's kind.
        topic: String,
        /// The asset's kind level.
        asset: String,
    },
}

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopicError::NotTwin => write!(f, "topic does not start with `{ROOT}/`"),
            TopicError::Levels(n) => write!(
                f,
                "topic has {n} levels, expected {ROOT}/<town>/<kind>/<asset-id>"
            ),
            TopicError::Encoding(s) => write!(f, "topic level `{s}` is empty or badly escaped"),
            TopicError::WrongTown { id, topic, asset } => write!(
                f,
                "{id} is located in town `{asset}`, not in the topic's `{topic}`"
            ),
            TopicError::WrongKind { id, topic, asset } => {
                write!(f, "{id} is of kind `{asset}`, not the topic's `{topic}`")
            }
        }
    }
}

impl std::error::Error for TopicError {}

fn plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':')
}

/// One topic level: the bytes other than ASCII letters, digits and `-_.~:` as `%XX`
/// (upper-case hex), and `_` alone as `%5F` (it stands for "no town").
pub fn encode_segment(s: &str) -> String {
    if s == NO_TOWN {
        return "%5F".into();
    }
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if plain(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Reads a level written by [`encode_segment`] (any `%XX` escape is accepted).
pub fn decode_segment(s: &str) -> Result<String, TopicError> {
    let bad = || TopicError::Encoding(s.to_string());
    if s.is_empty() {
        return Err(bad());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
            let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

/// The kind level of an asset of this kind: the sensor type for sensors, else the
/// kind's name (encoded).
pub fn kind_segment(kind: &AssetKind) -> String {
    match kind.sensor_type() {
        Some(t) => encode_segment(t.as_str()),
        None => encode_segment(kind.as_str()),
    }
}

/// The town level of a town (`_` for none).
pub fn town_segment(twin: &Twin, town: Option<Handle>) -> String {
    match town.and_then(|t| twin.get(t)) {
        Some(a) => encode_segment(&a.id),
        None => NO_TOWN.to_string(),
    }
}

/// The topic of an asset (none for an unknown handle).
pub fn topic_of(twin: &Twin, h: Handle) -> Option<String> {
    let a = twin.get(h)?;
    Some(format!(
        "{ROOT}/{}/{}/{}",
        town_segment(twin, twin.town_of(h)),
        kind_segment(&a.kind),
        encode_segment(&a.id)
    ))
}

/// The filter of one town's topics: `twin/<town>/#`.
pub fn town_filter(town_id: &str) -> String {
    format!("{ROOT}/{}/#", encode_segment(town_id))
}

/// A twin topic, read back (levels decoded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topic {
    /// The town's id; `None` for `_` (no town).
    pub town: Option<String>,
    /// The kind level (a sensor type or a kind name).
    pub kind: String,
    /// The asset's external id.
    pub id: String,
}

impl Topic {
    /// Reads `twin/<town>/<kind>/<asset-id>`.
    pub fn parse(topic: &str) -> Result<Topic, TopicError> {
        let levels: Vec<&str> = topic.split('/').collect();
        if levels.first() != Some(&ROOT) {
            return Err(TopicError::NotTwin);
        }
        if levels.len() != 4 {
            return Err(TopicError::Levels(levels.len()));
        }
        let town = match levels[1] {
            NO_TOWN => None,
            s => Some(decode_segment(s)?),
        };
        Ok(Topic {
            town,
            kind: decode_segment(levels[2])?,
            id: decode_segment(levels[3])?,
        })
    }

    /// The asset named, if the twin has it, after checking that it is located in the
    /// topic's town and is of the topic's kind (`Ok(None)`: no such asset).
    pub fn check(&self, twin: &Twin) -> Result<Option<Handle>, TopicError> {
        let Some(h) = twin.handle(&self.id) else {
            return Ok(None);
        };
        let Some(asset) = twin.get(h) else {
            return Ok(None);
        };
        let town = twin.town_of(h).and_then(|t| twin.get(t)).map(|a| &a.id);
        if town != self.town.as_ref() {
            let name = |t: Option<&String>| t.cloned().unwrap_or_else(|| NO_TOWN.into());
            return Err(TopicError::WrongTown {
                id: self.id.clone(),
                topic: name(self.town.as_ref()),
                asset: name(town),
            });
        }
        let kind = match asset.kind.sensor_type() {
            Some(t) => t.as_str(),
            None => asset.kind.as_str(),
        };
        if kind != self.kind {
            return Err(TopicError::WrongKind {
                id: self.id.clone(),
                topic: self.kind.clone(),
                asset: kind.to_string(),
            });
        }
        Ok(Some(h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kind::SensorType;

    #[test]
    fn segments_round_trip_and_hold_no_wildcards() {
        for s in [
            "CM-S-WL-000001",
            "a/b",
            "+#%",
            "城桥镇",
            "_",
            "x_y",
            "a b:c",
        ] {
            let e = encode_segment(s);
            assert!(
                e.bytes().all(|b| plain(b) || b == b'%') && e != NO_TOWN,
                "{e}"
            );
            assert_eq!(decode_segment(&e).unwrap(), s);
        }
        assert_eq!(encode_segment("CM-TOWN-CHENJIA"), "CM-TOWN-CHENJIA");
        assert_eq!(encode_segment("城"), "%E5%9F%8E");
        assert!(decode_segment("%G1").is_err());
        assert!(decode_segment("%4").is_err());
        assert!(decode_segment("").is_err());
        assert!(decode_segment("%FF").is_err(), "not UTF-8");
        assert_eq!(
            kind_segment(&AssetKind::Sensor(SensorType::WaterLevel)),
            "water_level"
        );
        assert_eq!(kind_segment(&AssetKind::EvCharger), "ev_charger");
    }

    #[test]
    fn parse_refuses_foreign_topics() {
        assert_eq!(Topic::parse("other/a/b/c"), Err(TopicError::NotTwin));
        assert_eq!(Topic::parse("twin/a/b"), Err(TopicError::Levels(3)));
        assert_eq!(Topic::parse("twin/a/b/c/d"), Err(TopicError::Levels(5)));
        assert!(matches!(
            Topic::parse("twin/a//c"),
            Err(TopicError::Encoding(_))
        ));
        let t = Topic::parse("twin/_/road/R%2F1").unwrap();
        assert_eq!(t.town, None);
        assert_eq!(t.id, "R/1");
    }
}
