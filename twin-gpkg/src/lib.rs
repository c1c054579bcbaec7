//! GeoPackage in, for every front end that opens a user's files (`twin --data`, the
//! desktop viewer's `--data`): every feature table of a file (or the ones named), each
//! row a feature whose columns are its properties and whose `fid` is its own id, the
//! geometry decoded by geozero (`GpkgWkb`: the `GP` header, then WKB) in the CRS its
//! `gpkg_spatial_ref_sys` row names. Rows go through twin-core's mapping like any
//! other file's features ([`twin_core::load::read_features`]), so ids, kinds and
//! names come from the same mapping options as for GeoJSON or FlatGeobuf.
//!
//! The file is opened read-only by SQLite (rusqlite, bundled); a file that is not a
//! GeoPackage, or a table the file's own metadata names but does not hold, is a
//! [`LoadError::Format`] naming it. Each geometry blob is checked by twin-core
//! ([`twin_core::load::check_gpkg_blob`]) before geozero decodes it, so a corrupt blob
//! is a rejected feature, never a panic or an allocation its size does not justify.
//!
//! Not in twin-core because SQLite is C: twin-core builds for wasm32 with no C
//! toolchain.

use std::path::Path;

use geozero::ToGeo;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde_json::{Map, Value};
use twin_core::LoadError;
use twin_core::load::{Mapping, RawFeature, ReadResult, read_features};

/// One feature table: its name, geometry column and declared CRS.
struct Table {
    name: String,
    geometry: String,
    crs: Option<String>,
}

fn format_error(file: &str, message: impl Into<String>) -> LoadError {
    LoadError::Format {
        file: file.to_string(),
        message: message.into(),
    }
}

/// Reads the feature tables of a GeoPackage (all of them, or those in `layers`).
pub fn read(
    path: &Path,
    mapping: &Mapping,
    layers: &[String],
) -> Result<Vec<ReadResult>, LoadError> {
    let file = path.display().to_string();
    let db = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format_error(&file, format!("cannot open: {e}")))?;
    let bad = |e: rusqlite::Error| format_error(&file, format!("not a GeoPackage: {e}"));
    let mut stmt = db
        .prepare(
            "SELECT c.table_name, g.column_name, s.organization, s.organization_coordsys_id \
             FROM gpkg_contents c JOIN gpkg_geometry_columns g ON g.table_name = c.table_name \
             LEFT JOIN gpkg_spatial_ref_sys s ON s.srs_id = g.srs_id \
             WHERE c.data_type = 'features' ORDER BY c.table_name",
        )
        .map_err(bad)?;
    let tables: Vec<Table> = stmt
        .query_map([], |r| {
            let org: Option<String> = r.get(2)?;
            let code: Option<i64> = r.get(3)?;
            Ok(Table {
                name: r.get(0)?,
                geometry: r.get(1)?,
                // Codes 0 and -1 are GeoPackage's "undefined" systems.
                crs: match (org, code) {
                    (Some(o), Some(c)) if c > 0 => Some(format!("{}:{c}", o.to_ascii_uppercase())),
                    _ => None,
                },
            })
        })
        .map_err(bad)?
        .collect::<Result<_, _>>()
        .map_err(bad)?;
    for l in layers {
        if !tables.iter().any(|t| &t.name == l) {
            let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
            return Err(format_error(
                &file,
                format!("no feature table `{l}` (tables: {})", names.join(", ")),
            ));
        }
    }
    let mut out = Vec::new();
    for t in tables
        .iter()
        .filter(|t| layers.is_empty() || layers.contains(&t.name))
    {
        let declared = match &t.crs {
            None => None,
            Some(c) => Some(c.parse().map_err(|e| LoadError::Mapping {
                file: file.clone(),
                message: format!(
                    "table `{}` declares {c}, which this build cannot convert: {e} (give another CRS with --crs)",
                    t.name
                ),
            })?),
        };
        let name = if tables.len() == 1 {
            file.clone()
        } else {
            format!("{file}:{}", t.name)
        };
        let table_error =
            |e: rusqlite::Error| format_error(&file, format!("table `{}`: {e}", t.name));
        // Rows stream into the mapping one at a time: holding a million decoded rows
        // first doubled the peak memory of a load (scripts/bench-load).
        let mut stmt = db
            .prepare(&format!("SELECT rowid, * FROM {}", ident(&t.name)))
            .map_err(table_error)?;
        let columns = Columns::of(&db, t, mapping).map_err(|e| format_error(&file, e))?;
        let mut rows = stmt.query([]).map_err(table_error)?;
        let mut failed = None;
        let features = std::iter::from_fn(|| match rows.next() {
            Ok(Some(r)) => match columns.feature(r) {
                Ok(f) => Some(f),
                Err(e) => {
                    failed = Some(e);
                    None
                }
            },
            Ok(None) => None,
            Err(e) => {
                failed = Some(e);
                None
            }
        });
        let read = read_features(&name, mapping, declared, features)?;
        if let Some(e) = failed {
            return Err(table_error(e));
        }
        out.push(read);
    }
    Ok(out)
}

/// Quotes an SQL identifier.
fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A table's columns, and what each row becomes.
struct Columns {
    /// Column names (index 0 is the rowid).
    names: Vec<String>,
    /// The geometry column's index.
    geometry: Option<usize>,
    /// The feature's own id is wanted (the mapping takes ids from it).
    own_id: bool,
}

impl Columns {
    /// The columns of `SELECT rowid, *` on the table: `rowid`, then the table's own in
    /// order, their names read as bytes (rusqlite's column names panic on a name that
    /// is not UTF-8: found by fuzzing, fuzz/regressions/gpkg/).
    fn of(db: &rusqlite::Connection, t: &Table, mapping: &Mapping) -> Result<Columns, String> {
        let table = |e: rusqlite::Error| format!("table `{}`: {e}", t.name);
        let mut info = db
            .prepare(&format!("PRAGMA table_info({})", ident(&t.name)))
            .map_err(table)?;
        let raw = info
            .query_map([], |r| Ok(r.get_ref(1)?.as_bytes()?.to_vec()))
            .map_err(table)?
            .collect::<rusqlite::Result<Vec<Vec<u8>>>>()
            .map_err(table)?;
        let mut names = vec!["rowid".to_string()];
        for (i, b) in raw.into_iter().enumerate() {
            names.push(
                String::from_utf8(b).map_err(|_| {
                    format!("table `{}`: the name of column {i} is not UTF-8", t.name)
                })?,
            );
        }
        let geometry = names
            .iter()
            .skip(1)
            .position(|n| n == &t.geometry)
            .map(|i| i + 1);
        Ok(Columns {
            names,
            geometry,
            own_id: mapping.id == twin_core::load::IdSource::Feature,
        })
    }

    /// One row as a feature: its columns as properties, its `fid` as its own id.
    fn feature(&self, r: &rusqlite::Row<'_>) -> rusqlite::Result<RawFeature> {
        let mut properties = Map::new();
        let mut geometry = Err("no geometry".to_string());
        let fid: i64 = r.get(0)?;
        for (i, name) in self.names.iter().enumerate().skip(1) {
            let v = r.get_ref(i)?;
            if Some(i) == self.geometry {
                geometry = match v {
                    // Counts checked against the blob's length first: geozero
                    // allocates for the counts it reads (a 17-byte blob aborted).
                    ValueRef::Blob(b) => twin_core::load::check_gpkg_blob(b)
                        .and_then(|()| geozero::wkb::GpkgWkb(b).to_geo().map_err(|e| e.to_string()))
                        .map_err(|e| format!("geometry: {e}")),
                    ValueRef::Null => Err("no geometry".into()),
                    _ => Err("the geometry column holds no GeoPackage blob".into()),
                };
                continue;
            }
            let value = match v {
                ValueRef::Null => continue,
                ValueRef::Integer(n) => Value::from(n),
                ValueRef::Real(x) => {
                    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
                }
                ValueRef::Text(s) => Value::String(String::from_utf8_lossy(s).into_owned()),
                // Binary columns are not properties a twin can use.
                ValueRef::Blob(_) => continue,
            };
            // The primary key is the feature's own id, not a property.
            if name == "fid" && value.as_i64() == Some(fid) {
                continue;
            }
            properties.insert(name.clone(), value);
        }
        Ok(RawFeature {
            properties,
            own_id: self.own_id.then(|| fid.to_string()),
            geometry,
        })
    }
}
