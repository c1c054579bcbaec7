//! Users' files in the page: `Twin.fromData` and `loadData` read GeoJSON, FlatGeobuf,
//! CityJSON and CityJSONSeq bytes with the same mapping as the command line's
//! `--mapping`, `--id`, `--as` and `--crs`, given as an options object.

use serde::{Deserialize, Serialize};
use tsify::Tsify;
use twin_core::load::{self, LoadReport, Mapping, ReadResult};
use twin_core::{FeatureError, LoadMode};

/// The options object of `fromData` / `loadData`.
#[derive(Debug, Default, Deserialize, Tsify)]
#[serde(deny_unknown_fields)]
#[tsify(rename = "LoadOptions")]
pub struct LoadOptions {
    /// The file's name: its extension says the format (`.geojson`, `.json`, `.fgb`,
    /// `.city.json`, `.city.jsonl`) and errors name it.
    #[serde(default)]
    #[tsify(optional)]
    pub name: Option<String>,
    /// A mapping in the mapping file's format (docs/mapping.md).
    #[serde(default)]
    #[tsify(optional)]
    #[tsify(type = "Record<string, unknown>")]
    pub mapping: Option<serde_json::Value>,
    /// Where ids come from: a property, `@feature` or `auto`.
    #[serde(default)]
    #[tsify(optional)]
    pub id: Option<String>,
    /// What the features are: a kind, `@FIELD` or `osm`.
    #[serde(default)]
    #[tsify(optional)]
    pub kind: Option<String>,
    /// The coordinates' CRS, overriding the file's.
    #[serde(default)]
    #[tsify(optional)]
    pub crs: Option<String>,
    /// Keep the good features of a bad file and report the bad ones.
    #[serde(default)]
    #[tsify(optional)]
    pub lenient: bool,
    /// Called as features are read: `(done, total | null)`, every 8,192 features and
    /// at the end (not part of the JSON: read from the object itself).
    #[serde(rename = "onProgress", default)]
    #[tsify(optional, type = "(done: number, total: number | null) => void")]
    pub on_progress: Option<serde::de::IgnoredAny>,
}

impl LoadOptions {
    /// Parses the options object's JSON (`null`/`undefined`: the defaults).
    pub fn from_json(text: Option<&str>) -> Result<LoadOptions, String> {
        match text.map(str::trim) {
            None | Some("" | "null" | "undefined") => Ok(LoadOptions::default()),
            Some(t) => serde_json::from_str(t).map_err(|e| format!("options: {e}")),
        }
    }

    /// The file's name (`data.geojson` when none is given).
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("data.geojson")
    }

    /// Strict or lenient.
    pub fn mode(&self) -> LoadMode {
        if self.lenient {
            LoadMode::Lenient
        } else {
            LoadMode::Strict
        }
    }

    /// The mapping these options describe.
    pub fn mapping(&self) -> Result<Mapping, String> {
        let file = self.mapping.as_ref().map(|m| m.to_string());
        Mapping::from_options(
            file.as_deref(),
            self.id.as_deref(),
            self.kind.as_deref(),
            self.crs.as_deref(),
        )
        .map_err(|e| format!("{}: mapping: {e}", self.name()))
    }

    /// Reads `bytes` with these options.
    pub fn read(&self, bytes: &[u8]) -> Result<ReadResult, String> {
        self.read_with(bytes, &mut |_, _| {})
    }

    /// [`LoadOptions::read`], telling `progress` the features read and the total.
    pub fn read_with(
        &self,
        bytes: &[u8],
        progress: &mut dyn FnMut(usize, Option<usize>),
    ) -> Result<ReadResult, String> {
        load::read_bytes_with(bytes, self.name(), &self.mapping()?, progress)
            .map_err(|e| e.to_string())
    }
}

/// One feature a load refused or warned about.
#[derive(Debug, Serialize, Tsify)]
#[tsify(rename = "FeatureProblem")]
pub struct FeatureProblem {
    /// The file.
    pub file: String,
    /// Its index in the file.
    pub index: usize,
    /// Its id, when it could be read.
    pub id: Option<String>,
    /// What was wrong.
    pub problem: String,
}

impl From<&FeatureError> for FeatureProblem {
    fn from(e: &FeatureError) -> Self {
        FeatureProblem {
            file: e.file.to_string(),
            index: e.index,
            id: e.id.clone(),
            problem: e.problem.to_string(),
        }
    }
}

/// What `loadData` returns: `{added, first, rejected, warnings}`.
#[derive(Debug, Serialize, Tsify)]
#[tsify(rename = "LoadSummary")]
pub struct LoadSummary {
    /// Assets added.
    pub added: usize,
    /// The id of the first asset added (a page flies to it).
    pub first: Option<String>,
    /// Features refused (a lenient load only; a strict one throws).
    pub rejected: Vec<FeatureProblem>,
    /// Features loaded with a problem worth knowing (an invalid polygon).
    pub warnings: Vec<FeatureProblem>,
}

impl LoadSummary {
    /// The summary of a load into `twin`.
    pub fn of(r: &LoadReport, twin: &twin_core::Twin) -> Self {
        LoadSummary {
            added: r.inserted.len(),
            first: r
                .inserted
                .first()
                .and_then(|h| twin.get(*h))
                .map(|a| a.id.clone()),
            rejected: r.rejected.iter().map(FeatureProblem::from).collect(),
            warnings: r.warnings.iter().map(FeatureProblem::from).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_read_each_format_with_a_mapping() {
        let o = LoadOptions::from_json(Some(
            r#"{"name": "roads.geojson", "id": "auto", "kind": "road", "lenient": true}"#,
        ))
        .unwrap();
        let text = br#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[121.5,31.6],[121.6,31.6]]}},
            {"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[999,31.6]}}]}"#;
        let read = o.read(text).unwrap();
        assert_eq!(read.len(), 2);
        let a = read[0].as_ref().unwrap();
        assert_eq!((a.id.as_str(), a.kind.as_str()), ("roads:0", "road"));
        let e = read[1].as_ref().unwrap_err();
        assert_eq!((e.file.as_ref(), e.index), ("roads.geojson", 1));
        // Unknown options are named; so is a bad mapping.
        let e = LoadOptions::from_json(Some(r#"{"nmae": "x"}"#)).unwrap_err();
        assert!(e.contains("nmae"), "{e}");
        let o = LoadOptions::from_json(Some(r#"{"crs": "EPSG:abc"}"#)).unwrap();
        assert!(o.mapping().is_err());
        assert_eq!(LoadOptions::from_json(None).unwrap().name(), "data.geojson");
    }
}
