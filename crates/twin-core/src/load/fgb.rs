//! FlatGeobuf: bulk binary features, read and written with the `flatgeobuf` crate.
//!
//! Properties are stored as columns (the union over all features written); the mapping's
//! property names apply as for GeoJSON. Geometry is written in WGS84 lon/lat.

use std::io::{BufReader, Read, Seek, Write};
use std::sync::Arc;

use fallible_streaming_iterator::FallibleStreamingIterator;
use flatgeobuf::{ColumnType, FgbCrs, FgbReader, FgbWriter, FgbWriterOptions, GeometryType};
use geozero::{ColumnValue, PropertyProcessor, ToGeo};
use serde_json::{Map, Value};

use super::ReadResult;
use super::convert::{to_wgs84, wgs84_transformer};
use super::mapping::Mapping;
use crate::asset::{Asset, PropValue};
use crate::error::{FeatureError, LoadError, Problem};

/// Reads a FlatGeobuf file into assets (not yet inserted into a twin).
pub fn read_flatgeobuf(path: &std::path::Path, mapping: &Mapping) -> Result<ReadResult, LoadError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| LoadError::Io {
        file: name.clone(),
        source,
    })?;
    read_flatgeobuf_from(BufReader::new(file), &name, mapping)
}

/// Reads FlatGeobuf from any seekable reader; `file` names it in errors.
pub fn read_flatgeobuf_from<R: Read + Seek>(
    mut reader: R,
    file: &str,
    mapping: &Mapping,
) -> Result<ReadResult, LoadError> {
    let format = |message: String| LoadError::Format {
        file: file.to_string(),
        message,
    };
    let fgb =
        FgbReader::open(&mut reader).map_err(|e| format(format!("not a FlatGeobuf file: {e}")))?;
    let mut iter = fgb
        .select_all_seq()
        .map_err(|e| format(format!("cannot read features: {e}")))?;
    let transformer = wgs84_transformer(&mapping.crs, file)?;
    let file: Arc<str> = Arc::from(file);
    let mut out = Vec::new();
    let mut index = 0usize;
    loop {
        let feature = match iter.next() {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                // The rest of the file cannot be read: a truncated or corrupt file.
                return Err(format(format!(
                    "feature {index}: {e} (truncated or corrupt file)"
                )));
            }
        };
        let err = |id: Option<String>, problem: Problem| FeatureError {
            file: file.clone(),
            index,
            id,
            problem,
        };
        let mut props = PropCollector(Map::new());
        let result = match geozero::FeatureProperties::process_properties(feature, &mut props) {
            Err(e) => Err(err(None, Problem::Decode(e.to_string()))),
            Ok(_) => {
                let id_guess = props.0.get(&mapping.id).map(|v| match v {
                    Value::String(s) => format!("{}{s}", mapping.id_prefix),
                    other => format!("{}{other}", mapping.id_prefix),
                });
                feature
                    .to_geo()
                    .map_err(|e| err(id_guess.clone(), Problem::Decode(e.to_string())))
                    .and_then(|g| to_wgs84(g, &transformer).map_err(|p| err(id_guess.clone(), p)))
                    .and_then(|g| {
                        mapping
                            .asset_from_properties(Some(&props.0), None, g, &file, index)
                            .map_err(|(id, p)| err(id, p))
                    })
            }
        };
        out.push(result);
        index += 1;
    }
    Ok(out)
}

struct PropCollector(Map<String, Value>);

impl PropertyProcessor for PropCollector {
    fn property(&mut self, _i: usize, name: &str, v: &ColumnValue) -> geozero::error::Result<bool> {
        let value = match v {
            ColumnValue::Bool(b) => Value::Bool(*b),
            ColumnValue::Byte(n) => Value::from(*n),
            ColumnValue::UByte(n) => Value::from(*n),
            ColumnValue::Short(n) => Value::from(*n),
            ColumnValue::UShort(n) => Value::from(*n),
            ColumnValue::Int(n) => Value::from(*n),
            ColumnValue::UInt(n) => Value::from(*n),
            ColumnValue::Long(n) => Value::from(*n),
            ColumnValue::ULong(n) => Value::from(*n),
            ColumnValue::Float(f) => Value::from(f64::from(*f)),
            ColumnValue::Double(f) => Value::from(*f),
            ColumnValue::String(s) | ColumnValue::Json(s) | ColumnValue::DateTime(s) => {
                Value::String((*s).to_string())
            }
            ColumnValue::Binary(_) => return Ok(false),
        };
        self.0.insert(name.to_string(), value);
        Ok(false)
    }
}

/// The columns written for every asset, before its own properties.
const FIXED_COLUMNS: [(&str, ColumnType); 10] = [
    ("id", ColumnType::String),
    ("kind", ColumnType::String),
    ("sensor_type", ColumnType::String),
    ("name_zh", ColumnType::String),
    ("name_en", ColumnType::String),
    ("base", ColumnType::Double),
    ("height", ColumnType::Double),
    ("z_level", ColumnType::String),
    ("attached_to", ColumnType::String),
    ("part_of", ColumnType::String),
];

/// Writes assets to FlatGeobuf (WGS84, with a spatial index), readable back with the
/// default [`Mapping`]. Property columns are the union of the assets' properties; a
/// property that has different types on different assets is written as text.
pub fn write_flatgeobuf<'a>(
    assets: impl IntoIterator<Item = &'a Asset> + Clone,
    name: &str,
    out: impl Write,
) -> Result<(), LoadError> {
    let fail = |e: &dyn std::fmt::Display| LoadError::Format {
        file: name.to_string(),
        message: format!("cannot write FlatGeobuf: {e}"),
    };
    let mut columns: Vec<(String, ColumnType)> = FIXED_COLUMNS
        .iter()
        .map(|(n, t)| (n.to_string(), *t))
        .collect();
    let mut extra = std::collections::BTreeMap::<String, ColumnType>::new();
    for a in assets.clone() {
        for (k, v) in &a.properties {
            let t = match v {
                PropValue::Str(_) => ColumnType::String,
                PropValue::Num(_) => ColumnType::Double,
                PropValue::Bool(_) => ColumnType::Bool,
            };
            extra
                .entry(k.clone())
                .and_modify(|old| {
                    if *old != t {
                        *old = ColumnType::String
                    }
                })
                .or_insert(t);
        }
    }
    let fixed = columns.len();
    columns.extend(
        extra
            .into_iter()
            .filter(|(k, _)| !FIXED_COLUMNS.iter().any(|(n, _)| n == k)),
    );

    let options = FgbWriterOptions {
        write_index: true,
        detect_type: false,
        promote_to_multi: false,
        crs: FgbCrs {
            code: 4326,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut fgb = FgbWriter::create_with_options(name, GeometryType::Unknown, options)
        .map_err(|e| fail(&e))?;
    for (n, t) in &columns {
        fgb.add_column(n, *t, |_, c| c.nullable = true);
    }
    for a in assets {
        let fixed_values: [Option<ColumnValue<'_>>; 10] = [
            Some(ColumnValue::String(&a.id)),
            Some(ColumnValue::String(a.kind.as_str())),
            a.kind
                .sensor_type()
                .map(|t| ColumnValue::String(t.as_str())),
            a.name_zh.as_deref().map(ColumnValue::String),
            a.name_en.as_deref().map(ColumnValue::String),
            Some(ColumnValue::Double(a.vertical.base)),
            Some(ColumnValue::Double(a.vertical.height)),
            Some(ColumnValue::String(a.vertical.z_level.as_str())),
            a.attached_to.as_deref().map(ColumnValue::String),
            a.part_of.as_deref().map(ColumnValue::String),
        ];
        let texts: Vec<Option<String>> = columns[fixed..]
            .iter()
            .map(|(k, t)| match (a.properties.get(k), *t) {
                (Some(v), ColumnType::String) => Some(v.to_string()),
                _ => None,
            })
            .collect();
        let geom = a.geometry.clone();
        fgb.add_feature_geom(geom, |w| {
            for (i, v) in fixed_values.iter().enumerate() {
                if let Some(v) = v {
                    let _ = w.property(i, columns[i].0.as_str(), v);
                }
            }
            for (j, (k, t)) in columns[fixed..].iter().enumerate() {
                let i = fixed + j;
                let v = match (a.properties.get(k), *t) {
                    (Some(PropValue::Num(n)), ColumnType::Double) => ColumnValue::Double(*n),
                    (Some(PropValue::Bool(b)), ColumnType::Bool) => ColumnValue::Bool(*b),
                    (Some(_), ColumnType::String) => match &texts[j] {
                        Some(s) => ColumnValue::String(s),
                        None => continue,
                    },
                    _ => continue,
                };
                let _ = w.property(i, k, &v);
            }
        })
        .map_err(|e| fail(&e))?;
    }
    fgb.write(out).map_err(|e| fail(&e))
}
