//! GeoJSON FeatureCollections.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::ReadResult;
use super::convert::{geometry_from_geojson, to_wgs84};
use super::mapping::Mapping;
use crate::crs::Transformer;
use crate::error::{FeatureError, LoadError, Problem};

#[derive(Deserialize)]
struct RawCollection<'a> {
    #[serde(rename = "type")]
    kind: String,
    #[serde(borrow, default)]
    features: Option<Vec<&'a RawValue>>,
    /// GeoJSON 2008's `crs` member (RFC 7946 dropped it; many files still carry it).
    #[serde(default)]
    crs: Option<serde_json::Value>,
}

/// The CRS a legacy `crs` member names (`{"type": "name", "properties": {"name":
/// "urn:ogc:def:crs:EPSG::3857"}}`).
fn declared_crs(crs: &serde_json::Value, file: &str) -> Result<Option<crate::crs::Crs>, LoadError> {
    let Some(name) = crs["properties"]["name"].as_str() else {
        return Ok(None);
    };
    name.parse().map(Some).map_err(|e| LoadError::Mapping {
        file: file.to_string(),
        message: format!("the file's `crs` member names `{name}`: {e} (give the CRS with --crs)"),
    })
}

/// Reads a GeoJSON file into assets (not yet inserted into a twin).
///
/// The file must hold a FeatureCollection (or a single Feature). A file that is not
/// JSON, is empty or truncated, or has no `features` array fails with
/// [`LoadError::Format`]; each bad feature becomes an `Err` entry naming the file, its
/// index and id, so a lenient caller can keep the rest.
pub fn read_geojson(path: &std::path::Path, mapping: &Mapping) -> Result<ReadResult, LoadError> {
    let (name, text) = super::text_file(path)?;
    read_geojson_str(&text, &name, mapping)
}

/// Reads GeoJSON text; `file` names it in errors.
pub fn read_geojson_str(
    text: &str,
    file: &str,
    mapping: &Mapping,
) -> Result<ReadResult, LoadError> {
    read_text(text, file, mapping, &mut |_, _| {})
}

/// [`read_geojson_str`] with progress.
pub(crate) fn read_text(
    text: &str,
    file: &str,
    mapping: &Mapping,
    progress: &mut dyn FnMut(usize, Option<usize>),
) -> Result<ReadResult, LoadError> {
    let format = |message: String| LoadError::Format {
        file: file.to_string(),
        message,
    };
    if text.trim().is_empty() {
        return Err(format("the file is empty".into()));
    }
    let raw: RawCollection<'_> = serde_json::from_str(text).map_err(|e| {
        let what = if e.is_eof() {
            "truncated JSON"
        } else {
            "not valid GeoJSON"
        };
        format(format!("{what}: {e}"))
    })?;
    // A GeoJSON text may also be one bare geometry (RFC 7946 §2): one feature
    // without properties.
    let bare;
    let features: Vec<&str> = match raw.kind.as_str() {
        "FeatureCollection" => raw
            .features
            .ok_or_else(|| format("FeatureCollection without a `features` array".into()))?
            .into_iter()
            .map(RawValue::get)
            .collect(),
        "Feature" => vec![text],
        "Point" | "MultiPoint" | "LineString" | "MultiLineString" | "Polygon" | "MultiPolygon"
        | "GeometryCollection" => {
            bare = format!(r#"{{"type":"Feature","properties":null,"geometry":{text}}}"#);
            vec![bare.as_str()]
        }
        other => {
            return Err(format(format!(
                "expected a FeatureCollection, a Feature or a geometry, found `{other}`"
            )));
        }
    };
    let declared = match &raw.crs {
        Some(c) if mapping.file_crs => declared_crs(c, file)?,
        _ => None,
    };
    let (mapping, transformer) = mapping.for_file(declared, file)?;
    let mapping = &mapping;
    let file: Arc<str> = Arc::from(file);
    let total = Some(features.len());
    Ok(features
        .iter()
        .enumerate()
        .map(|(index, json)| {
            super::tick(progress, index, total);
            read_feature(json, &file, index, mapping, &transformer)
        })
        .collect())
}

fn read_feature(
    json: &str,
    file: &Arc<str>,
    index: usize,
    mapping: &Mapping,
    transformer: &Transformer,
) -> Result<crate::asset::Asset, FeatureError> {
    let err = |id: Option<String>, problem: Problem| FeatureError {
        file: file.clone(),
        index,
        id,
        problem,
    };
    let feature: geojson::Feature =
        serde_json::from_str(json).map_err(|e| err(None, Problem::Decode(e.to_string())))?;
    let fallback_id = feature.id.as_ref().map(|id| match id {
        geojson::feature::Id::String(s) => s.clone(),
        geojson::feature::Id::Number(n) => n.to_string(),
    });
    // Read the id first so a geometry error can name it.
    let id_guess = mapping.id_guess(
        feature.properties.as_ref(),
        fallback_id.as_deref(),
        file,
        index,
    );
    let geometry = match &feature.geometry {
        None => return Err(err(id_guess, Problem::MissingGeometry)),
        Some(g) => geometry_from_geojson(&g.value).map_err(|p| err(id_guess.clone(), p))?,
    };
    let geometry = to_wgs84(geometry, transformer).map_err(|p| err(id_guess.clone(), p))?;
    mapping
        .asset_from_properties(
            feature.properties,
            fallback_id.as_deref(),
            geometry,
            file,
            index,
        )
        .map_err(|(id, p)| err(id, p))
}
