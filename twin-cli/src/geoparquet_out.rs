//! GeoParquet export: the assets of a twin, with their latest state, as one Parquet
//! file that DuckDB, GeoPandas, pyarrow, Polars and QGIS read.
//!
//! The file is GeoParquet 1.1 written by geoarrow's `geoparquet` crate on the Apache
//! `parquet` crate: a `geometry` column of WKB in OGC:CRS84 (longitude, latitude; the
//! `geo` metadata names no CRS, which GeoParquet defines as CRS84), a `bbox` covering
//! column (xmin, ymin, xmax, ymax) so readers can skip row groups by area, and the same
//! columns as the GeoPackage export ([`crate::export_rows`]). Numbers are `DOUBLE`,
//! boolean channels `BOOLEAN`, enumerated channels their state's name, and each
//! `<channel>_time` a `TIMESTAMP` in milliseconds, UTC. Rows go out in batches of
//! [`BATCH`] (one row group each), so memory stays bounded on a large twin; snappy
//! compression. The file is written to a temporary name and renamed when complete.

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, StringBuilder, TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use geoarrow_array::GeoArrowArray;
use geoarrow_array::builder::GeometryBuilder;
use geoarrow_schema::{GeoArrowType, GeometryType};
use geoparquet::writer::{GeoParquetRecordBatchEncoder, GeoParquetWriterOptionsBuilder};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use twin_core::Twin;
use twin_core::state::{ChannelType, StateStore, Value};

use crate::export_rows::{ChannelColumn, FIXED, Row, channel_columns, row};

/// Rows per record batch and row group.
pub const BATCH: usize = 65_536;

/// Writes the GeoParquet file; `store` adds the latest state columns. On error the
/// temporary file is removed and `path` is untouched. Returns the number of assets.
pub fn write(twin: &Twin, store: Option<&StateStore>, path: &Path) -> anyhow::Result<usize> {
    let tmp = path.with_extension("parquet.tmp");
    let result = write_to(twin, store, &tmp, BATCH).and_then(|n| {
        std::fs::rename(&tmp, path)?;
        Ok(n)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// The type of a channel's value column.
fn channel_type(ty: &ChannelType) -> DataType {
    match ty {
        ChannelType::Number => DataType::Float64,
        ChannelType::Bool => DataType::Boolean,
        ChannelType::Enum(_) => DataType::Utf8,
    }
}

/// The Arrow schema: geometry, the fixed columns, two per channel.
fn schema(channels: &[ChannelColumn]) -> Schema {
    let text = |name: &str, nullable| Field::new(name, DataType::Utf8, nullable);
    let mut fields = vec![
        GeoArrowType::Geometry(GeometryType::default()).to_field("geometry", false),
        text("asset_id", false),
        text("kind", false),
        text("sensor_type", true),
        text("name_zh", true),
        text("name_en", true),
        text("town", true),
        Field::new("base", DataType::Float64, false),
        Field::new("height", DataType::Float64, false),
        text("z_level", false),
        text("attached_to", true),
        text("part_of", true),
        text("properties", false),
    ];
    debug_assert_eq!(fields.len(), 1 + FIXED.len());
    for c in channels {
        fields.push(Field::new(&c.column, channel_type(&c.ty), true));
        fields.push(Field::new(
            format!("{}_time", c.column),
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            true,
        ));
    }
    Schema::new(fields)
}

/// One record batch of rows.
fn batch(
    schema: &SchemaRef,
    rows: &[Row<'_>],
    channels: &[ChannelColumn],
) -> anyhow::Result<RecordBatch> {
    let mut geometry = GeometryBuilder::new(GeometryType::default());
    for r in rows {
        geometry
            .push_geometry(Some(&r.asset.geometry))
            .map_err(|e| anyhow::anyhow!("asset {}: geometry: {e}", r.asset.id))?;
    }
    let strings = |f: &dyn Fn(&Row<'_>) -> Option<String>| -> ArrayRef {
        let mut b = StringBuilder::new();
        for r in rows {
            b.append_option(f(r));
        }
        Arc::new(b.finish())
    };
    let numbers = |f: &dyn Fn(&Row<'_>) -> f64| -> ArrayRef {
        let mut b = Float64Builder::with_capacity(rows.len());
        for r in rows {
            b.append_value(f(r));
        }
        Arc::new(b.finish())
    };
    let mut columns: Vec<ArrayRef> = vec![
        geometry.finish().to_array_ref(),
        strings(&|r| Some(r.asset.id.clone())),
        strings(&|r| Some(r.asset.kind.as_str().to_string())),
        strings(&|r| r.asset.kind.sensor_type().map(|t| t.as_str().to_string())),
        strings(&|r| r.asset.name_zh.clone()),
        strings(&|r| r.asset.name_en.clone()),
        strings(&|r| r.town.map(str::to_string)),
        numbers(&|r| r.asset.vertical.base),
        numbers(&|r| r.asset.vertical.height),
        strings(&|r| Some(r.asset.vertical.z_level.as_str().to_string())),
        strings(&|r| r.asset.attached_to.clone()),
        strings(&|r| r.asset.part_of.clone()),
        strings(&|r| Some(r.properties.clone())),
    ];
    for (i, c) in channels.iter().enumerate() {
        let cell = |r: &Row<'_>| r.state[i].as_ref().map(|(v, _)| v.clone());
        let values: ArrayRef = match c.ty {
            ChannelType::Number => {
                let mut b = Float64Builder::with_capacity(rows.len());
                for r in rows {
                    b.append_option(match cell(r) {
                        Some(Value::Num(n)) => Some(n),
                        _ => None,
                    });
                }
                Arc::new(b.finish())
            }
            ChannelType::Bool => {
                let mut b = BooleanBuilder::with_capacity(rows.len());
                for r in rows {
                    b.append_option(match cell(r) {
                        Some(Value::Bool(v)) => Some(v),
                        _ => None,
                    });
                }
                Arc::new(b.finish())
            }
            ChannelType::Enum(_) => {
                let mut b = StringBuilder::new();
                for r in rows {
                    b.append_option(match cell(r) {
                        Some(Value::Text(t)) => Some(t),
                        Some(Value::Num(n)) => Some(n.to_string()),
                        Some(Value::Bool(v)) => Some(v.to_string()),
                        None => None,
                    });
                }
                Arc::new(b.finish())
            }
        };
        let mut times = TimestampMillisecondBuilder::with_capacity(rows.len()).with_timezone("UTC");
        for r in rows {
            times.append_option(r.state[i].as_ref().map(|(_, ms)| *ms));
        }
        columns.push(values);
        columns.push(Arc::new(times.finish()));
    }
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

fn write_to(
    twin: &Twin,
    store: Option<&StateStore>,
    tmp: &Path,
    batch_rows: usize,
) -> anyhow::Result<usize> {
    let channels = channel_columns(store, &["geometry", "bbox"]);
    let schema: SchemaRef = Arc::new(schema(&channels));
    let options = GeoParquetWriterOptionsBuilder::default()
        .set_primary_column("geometry".to_string())
        .set_generate_covering(true)
        .build();
    let mut encoder = GeoParquetRecordBatchEncoder::try_new(&schema, &options)?;
    let file = std::fs::File::create(tmp)?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(batch_rows))
        .build();
    // Without the embedded Arrow schema, readers take the schema's metadata from the
    // file's key-value metadata, where the `geo` key goes at the end: pyarrow (and so
    // GeoPandas) find it there; with the Arrow schema they would see its empty metadata.
    let options = ArrowWriterOptions::new()
        .with_properties(props)
        .with_skip_arrow_metadata(true);
    let mut writer = ArrowWriter::try_new_with_options(file, encoder.target_schema(), options)?;
    let mut count = 0;
    let mut rows = Vec::with_capacity(batch_rows.min(twin.len()));
    let mut flush = |rows: &mut Vec<Row<'_>>, writer: &mut ArrowWriter<std::fs::File>| {
        let b = batch(&schema, rows, &channels)?;
        writer.write(&encoder.encode_record_batch(&b)?)?;
        rows.clear();
        anyhow::Ok(())
    };
    for (h, a) in twin.iter() {
        rows.push(row(twin, store, &channels, h, a));
        count += 1;
        if rows.len() == batch_rows {
            flush(&mut rows, &mut writer)?;
        }
    }
    if !rows.is_empty() || count == 0 {
        flush(&mut rows, &mut writer)?;
    }
    writer.append_key_value_metadata(encoder.into_keyvalue()?);
    writer.close()?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    #[test]
    fn batches_become_row_groups_and_every_row_is_written() {
        let mut twin = Twin::new(twin_core::crs::LocalFrame::chongming());
        for i in 0..5 {
            twin.insert(twin_core::Asset::new(
                format!("A{i}"),
                twin_core::AssetKind::Building,
                geo_types::Geometry::Point(geo_types::Point::new(
                    121.4 + f64::from(i) * 0.01,
                    31.6,
                )),
            ))
            .unwrap();
        }
        let dir = std::env::temp_dir().join(format!("twin-gpq-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.parquet");
        assert_eq!(write_to(&twin, None, &path, 2).unwrap(), 5);
        let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        let meta = reader.metadata();
        let groups: Vec<i64> = meta.row_groups().iter().map(|g| g.num_rows()).collect();
        assert_eq!(groups, [2, 2, 1]);
        let geo = meta
            .file_metadata()
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|k| k.key == "geo"))
            .and_then(|k| k.value.clone())
            .unwrap();
        let geo: serde_json::Value = serde_json::from_str(&geo).unwrap();
        assert_eq!(
            geo["columns"]["geometry"]["bbox"],
            serde_json::json!([121.4, 31.6, 121.44, 31.6])
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
