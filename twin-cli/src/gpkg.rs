//! GeoPackage export: the assets of a twin, with their latest state, as one feature
//! table that GDAL (`ogrinfo`) and QGIS open.
//!
//! The file follows OGC GeoPackage 1.3: the `GPKG` application id, the required
//! `gpkg_spatial_ref_sys`, `gpkg_contents` and `gpkg_geometry_columns` tables, and a
//! feature table `assets` whose `geom` column holds GeoPackage binary geometries (a `GP`
//! header with the envelope, then little-endian WKB) in EPSG:4326. Columns: the asset's
//! id, kind, sensor type, names, town, base, height, z-level, relations, its other
//! properties as JSON, and for every channel of the state store `<channel>` (the latest
//! value; a state name for enumerated channels) and `<channel>_time` (ISO 8601 UTC).
//! The file is written to a temporary name and renamed when complete.

use std::path::Path;

use geo_types::Geometry;
use rusqlite::{Connection, params_from_iter, types::Value as Sql};
use twin_core::Twin;
use twin_core::state::{ChannelType, StateStore, Value};

use crate::export_rows::{ChannelColumn, FIXED, channel_columns, row};

/// A GeoPackage binary geometry: `GP`, version 0, flags (little endian, an xy
/// envelope), the SRS id, the envelope (minx, maxx, miny, maxy), then little-endian
/// 2D WKB; written by geozero, the reader twin uses for GeoPackage in.
pub fn gpkg_geometry(g: &Geometry<f64>, srs_id: i32) -> anyhow::Result<Vec<u8>> {
    use geo::BoundingRect;
    use geozero::{CoordDimensions, ToWkb};
    let envelope = g.bounding_rect().map_or(vec![0.0; 4], |r| {
        vec![r.min().x, r.max().x, r.min().y, r.max().y]
    });
    g.to_gpkg_wkb(CoordDimensions::xy(), Some(srs_id), envelope)
        .map_err(|e| anyhow::anyhow!("GeoPackage geometry: {e}"))
}

/// Writes the GeoPackage; `store` adds the latest state columns. On error the
/// temporary file is removed and `path` is untouched.
pub fn write(twin: &Twin, store: Option<&StateStore>, path: &Path) -> anyhow::Result<usize> {
    let tmp = path.with_extension("gpkg.tmp");
    let result = write_to(twin, store, path, &tmp);
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn write_to(
    twin: &Twin,
    store: Option<&StateStore>,
    path: &Path,
    tmp: &Path,
) -> anyhow::Result<usize> {
    let fail = |e: rusqlite::Error| anyhow::anyhow!("{}: {e}", path.display());
    let _ = std::fs::remove_file(tmp);
    let mut db = Connection::open(tmp).map_err(fail)?;
    db.execute_batch(
        "PRAGMA application_id = 1196444487; PRAGMA user_version = 10300;
         CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY,
           organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL,
           definition TEXT NOT NULL, description TEXT);
         INSERT INTO gpkg_spatial_ref_sys VALUES
           ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
           ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
           ('WGS 84 geodetic', 4326, 'EPSG', 4326,
            'GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\",SPHEROID[\"WGS 84\",6378137,298.257223563,AUTHORITY[\"EPSG\",\"7030\"]],AUTHORITY[\"EPSG\",\"6326\"]],PRIMEM[\"Greenwich\",0,AUTHORITY[\"EPSG\",\"8901\"]],UNIT[\"degree\",0.0174532925199433,AUTHORITY[\"EPSG\",\"9122\"]],AXIS[\"Latitude\",NORTH],AXIS[\"Longitude\",EAST],AUTHORITY[\"EPSG\",\"4326\"]]',
            'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid');
         CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
           identifier TEXT UNIQUE, description TEXT DEFAULT '',
           last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
           min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
           CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
         CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
           geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
           CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name));",
    )
    .map_err(fail)?;

    let channels = channel_columns(store, &["fid", "geom"]);
    let quote = |n: &str| format!("\"{}\"", n.replace('"', "\"\""));
    let mut cols = vec![
        "fid INTEGER PRIMARY KEY AUTOINCREMENT".to_string(),
        "geom GEOMETRY".into(),
        "asset_id TEXT NOT NULL UNIQUE".into(),
        "kind TEXT".into(),
        "sensor_type TEXT".into(),
        "name_zh TEXT".into(),
        "name_en TEXT".into(),
        "town TEXT".into(),
        "base REAL".into(),
        "height REAL".into(),
        "z_level TEXT".into(),
        "attached_to TEXT".into(),
        "part_of TEXT".into(),
        "properties TEXT".into(),
    ];
    for ChannelColumn {
        column: name, ty, ..
    } in &channels
    {
        let t = match ty {
            ChannelType::Number => "REAL",
            ChannelType::Bool => "BOOLEAN",
            ChannelType::Enum(_) => "TEXT",
        };
        cols.push(format!("{} {t}", quote(name)));
        cols.push(format!("{} TEXT", quote(&format!("{name}_time"))));
    }
    db.execute_batch(&format!("CREATE TABLE assets ({});", cols.join(", ")))
        .map_err(fail)?;

    let tx = db.transaction().map_err(fail)?;
    let n_cols = 1 + FIXED.len() + 2 * channels.len();
    let placeholders = vec!["?"; n_cols].join(", ");
    let mut env = (
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    );
    let mut count = 0usize;
    {
        let mut stmt = tx
            .prepare(&format!(
                "INSERT INTO assets (geom, {}{}) VALUES ({placeholders})",
                FIXED.join(", "),
                channels
                    .iter()
                    .map(|c| format!(
                        ", {}, {}",
                        quote(&c.column),
                        quote(&format!("{}_time", c.column))
                    ))
                    .collect::<String>()
            ))
            .map_err(fail)?;
        let text = |s: Option<&str>| s.map_or(Sql::Null, |s| Sql::Text(s.to_string()));
        for (h, a) in twin.iter() {
            use geo::BoundingRect;
            if let Some(r) = a.geometry.bounding_rect() {
                env = (
                    env.0.min(r.min().x),
                    env.1.min(r.min().y),
                    env.2.max(r.max().x),
                    env.3.max(r.max().y),
                );
            }
            let r = row(twin, store, &channels, h, a);
            let a = r.asset;
            let mut row: Vec<Sql> = vec![
                Sql::Blob(gpkg_geometry(&a.geometry, 4326)?),
                Sql::Text(a.id.clone()),
                Sql::Text(a.kind.as_str().to_string()),
                text(a.kind.sensor_type().map(|t| t.as_str())),
                text(a.name_zh.as_deref()),
                text(a.name_en.as_deref()),
                text(r.town),
                Sql::Real(a.vertical.base),
                Sql::Real(a.vertical.height),
                Sql::Text(a.vertical.z_level.as_str().to_string()),
                text(a.attached_to.as_deref()),
                text(a.part_of.as_deref()),
                Sql::Text(r.properties),
            ];
            for cell in r.state {
                match cell {
                    None => row.extend([Sql::Null, Sql::Null]),
                    Some((v, time)) => {
                        let v = match v {
                            Value::Num(n) => Sql::Real(n),
                            Value::Bool(b) => Sql::Integer(i64::from(b)),
                            Value::Text(t) => Sql::Text(t),
                        };
                        let time = twin_core::Timestamp::from_millis(time).to_string();
                        row.extend([v, Sql::Text(time)]);
                    }
                }
            }
            stmt.execute(params_from_iter(row)).map_err(fail)?;
            count += 1;
        }
    }
    tx.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, min_x, min_y, max_x, max_y, srs_id)
         VALUES ('assets', 'features', 'assets', 'twin assets with their latest state', ?1, ?2, ?3, ?4, 4326)",
        rusqlite::params![env.0, env.1, env.2, env.3],
    )
    .map_err(fail)?;
    tx.execute(
        "INSERT INTO gpkg_geometry_columns VALUES ('assets', 'geom', 'GEOMETRY', 4326, 0, 0)",
        [],
    )
    .map_err(fail)?;
    tx.commit().map_err(fail)?;
    db.close().map_err(|(_, e)| fail(e))?;
    std::fs::rename(tmp, path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_and_wkb_bytes() {
        let iso = |ms| twin_core::Timestamp::from_millis(ms).to_string();
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso(1_763_700_000_123), "2025-11-21T04:40:00.123Z");
        assert_eq!(iso(951_782_400_000), "2000-02-29T00:00:00Z");
        let p = Geometry::Point(geo_types::Point::new(1.5, -2.0));
        let g = gpkg_geometry(&p, 4326).unwrap();
        assert_eq!(&g[..4], b"GP\x00\x03");
        assert_eq!(i32::from_le_bytes([g[4], g[5], g[6], g[7]]), 4326);
        // The envelope, then WKB: little endian, type 1 (point), x, y.
        assert_eq!(g.len(), 8 + 32 + 21);
        let mut want = vec![1u8, 1, 0, 0, 0];
        want.extend_from_slice(&1.5f64.to_le_bytes());
        want.extend_from_slice(&(-2.0f64).to_le_bytes());
        assert_eq!(&g[40..], &want[..]);
        // And it reads back as it was.
        use geozero::ToGeo;
        assert_eq!(geozero::wkb::GpkgWkb(g).to_geo().unwrap(), p);
        let square: Geometry<f64> = geo_types::Polygon::new(
            geo_types::LineString::from(vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)]),
            vec![],
        )
        .into();
        let g = gpkg_geometry(&square, 4326).unwrap();
        assert_eq!(geozero::wkb::GpkgWkb(g).to_geo().unwrap(), square);
    }

    #[test]
    fn channel_names_that_collide_get_a_prefix() {
        use twin_core::state::{ChannelSpec, Retention};
        let mut twin = Twin::new(twin_core::crs::LocalFrame::chongming());
        twin.insert(twin_core::Asset::new(
            "A",
            twin_core::AssetKind::Building,
            Geometry::Point(geo_types::Point::new(121.4, 31.6)),
        ))
        .unwrap();
        let mut store = StateStore::new(1, Retention::default(), None);
        for name in ["height", "level", "Level", "level_time"] {
            store.register(ChannelSpec::number(name, ""));
        }
        let dir = std::env::temp_dir().join(format!("twin-gpkg-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.gpkg");
        assert_eq!(write(&twin, Some(&store), &path).unwrap(), 1);
        let db = Connection::open(&path).unwrap();
        let mut stmt = db
            .prepare("SELECT name FROM pragma_table_info('assets')")
            .unwrap();
        let cols: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|c| c.unwrap())
            .collect();
        for want in [
            "height",
            "ch_height",
            "level",
            "ch_Level",
            "ch_ch_level_time",
        ] {
            assert!(cols.iter().any(|c| c == want), "{want} not in {cols:?}");
        }
        assert!(!path.with_extension("gpkg.tmp").exists());
        std::fs::remove_dir_all(&dir).ok();
    }
}
