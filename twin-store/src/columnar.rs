//! History files: the samples of journal segments as Parquet, one file per range of
//! records, for the twin to load back and for DuckDB, pandas or Polars to read.
//!
//! ## Schema (documented in docs/durability.md)
//! | column | type | holds |
//! |---|---|---|
//! | `asset` | string (dictionary) | the asset's id |
//! | `channel` | string (dictionary) | the channel's name |
//! | `ts` | timestamp, milliseconds, UTC | the reading's time |
//! | `value` | double | the value as the twin holds it (numbers as they are, booleans 0/1, states their index in the channel's list) |
//! | `quality` | uint8 | 0 good, 1 uncertain, 2 bad |
//! | `seq` | uint64 | the journal record the sample came in (a later record wins a tie) |
//!
//! Rows are sorted by channel, asset, time and record (and within a record in the
//! order of its samples: the later of two at one time is the value held), in row
//! groups of at most
//! [`ROW_GROUP`] rows, Snappy-compressed. The key-value metadata holds `twin.from_ms`,
//! `twin.to_ms` (the samples' time range), `twin.first_seq` and `twin.last_seq`.
//! The file name is `FROM_TO_FIRSTSEQ.parquet` (times as UTC milliseconds, the
//! sequence number 20 digits), so a listing sorts by time and retention needs no
//! reading.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::StringDictionaryBuilder;
use arrow_array::types::Int32Type;
use arrow_array::{
    Array, ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMillisecondArray, UInt8Array,
    UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use crate::{Catalog, StoreError};

/// Rows per row group at most.
pub const ROW_GROUP: usize = 1 << 20;

/// One stored sample, by the catalog's handle and channel numbers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Row {
    /// The asset's handle.
    pub handle: u32,
    /// The channel's number.
    pub channel: u16,
    /// Time, UTC milliseconds.
    pub ts: i64,
    /// The value.
    pub value: f64,
    /// Quality (0 good, 1 uncertain, 2 bad).
    pub quality: u8,
    /// The journal record it came in.
    pub seq: u64,
}

/// The Arrow schema of a history file.
pub fn schema() -> Schema {
    let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    Schema::new(vec![
        Field::new("asset", dict.clone(), false),
        Field::new("channel", dict, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        Field::new("value", DataType::Float64, false),
        Field::new("quality", DataType::UInt8, false),
        Field::new("seq", DataType::UInt64, false),
    ])
}

/// A history file's name for its time range and first record.
pub fn file_name(from_ms: i64, to_ms: i64, first_seq: u64) -> String {
    format!("{from_ms}_{to_ms}_{first_seq:020}.parquet")
}

/// The time range and first record a history file's name says.
pub fn parse_name(name: &str) -> Option<(i64, i64, u64)> {
    let mut parts = name.strip_suffix(".parquet")?.split('_');
    let from = parts.next()?.parse().ok()?;
    let to = parts.next()?.parse().ok()?;
    let seq = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((from, to, seq))
}

/// Writes `rows` (any order; sorted here) as a history file in `dir`, synced and
/// renamed into place; returns its path, or `None` when there are no rows.
pub fn write(
    dir: &Path,
    rows: &mut [Row],
    catalog: &Catalog,
    first_seq: u64,
    last_seq: u64,
) -> Result<Option<PathBuf>, StoreError> {
    if rows.is_empty() {
        return Ok(None);
    }
    // Stable: one record may hold the same (asset, channel, time) twice (two messages
    // in one batch), and the later one is the value held.
    rows.sort_by_key(|r| (r.channel, r.handle, r.ts, r.seq));
    let from = rows.iter().map(|r| r.ts).min().unwrap_or_default();
    let to = rows.iter().map(|r| r.ts).max().unwrap_or_default();
    let path = dir.join(file_name(from, to, first_seq));
    let tmp = path.with_extension("parquet.tmp");
    let parquet_err = |e: parquet::errors::ParquetError| StoreError::Invalid {
        file: tmp.display().to_string(),
        message: e.to_string(),
    };
    let schema = Arc::new(schema());
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP))
        .set_key_value_metadata(Some(vec![
            KeyValue::new("twin.from_ms".into(), from.to_string()),
            KeyValue::new("twin.to_ms".into(), to.to_string()),
            KeyValue::new("twin.first_seq".into(), first_seq.to_string()),
            KeyValue::new("twin.last_seq".into(), last_seq.to_string()),
        ]))
        .build();
    let file = File::create(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
    let mut w = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(parquet_err)?;
    for chunk in rows.chunks(ROW_GROUP) {
        let mut asset = StringDictionaryBuilder::<Int32Type>::new();
        let mut channel = StringDictionaryBuilder::<Int32Type>::new();
        for r in chunk {
            asset.append_value(catalog.asset(r.handle).unwrap_or(""));
            channel.append_value(catalog.channel(r.channel).unwrap_or(""));
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(asset.finish()),
            Arc::new(channel.finish()),
            Arc::new(
                TimestampMillisecondArray::from_iter_values(chunk.iter().map(|r| r.ts))
                    .with_timezone("UTC"),
            ),
            Arc::new(Float64Array::from_iter_values(
                chunk.iter().map(|r| r.value),
            )),
            Arc::new(UInt8Array::from_iter_values(
                chunk.iter().map(|r| r.quality),
            )),
            Arc::new(UInt64Array::from_iter_values(chunk.iter().map(|r| r.seq))),
        ];
        let batch =
            RecordBatch::try_new(schema.clone(), columns).map_err(|e| StoreError::Invalid {
                file: tmp.display().to_string(),
                message: e.to_string(),
            })?;
        w.write(&batch).map_err(parquet_err)?;
    }
    let file = w.into_inner().map_err(parquet_err)?;
    file.sync_all().map_err(|e| StoreError::io(&tmp, e))?;
    drop(file);
    std::fs::rename(&tmp, &path).map_err(|e| StoreError::io(&path, e))?;
    crate::writer::sync_dir(dir).map_err(|e| StoreError::io(dir, e))?;
    Ok(Some(path))
}

fn strings(a: &dyn Array) -> Option<Vec<Option<&str>>> {
    use arrow_array::cast::AsArray;
    if let Some(d) = a.as_dictionary_opt::<Int32Type>() {
        let values = d.values().as_string_opt::<i32>()?;
        return Some(
            d.keys()
                .iter()
                .map(|k| {
                    k.and_then(|k| usize::try_from(k).ok())
                        .map(|k| values.value(k))
                })
                .collect(),
        );
    }
    let s: &StringArray = a.as_string_opt::<i32>()?;
    Some(s.iter().collect())
}

/// A row of a history file as it is read (names borrowed from the file's
/// dictionaries: nothing is allocated per row).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RowRef<'a> {
    /// The asset's id.
    pub asset: &'a str,
    /// The channel's name.
    pub channel: &'a str,
    /// Time, UTC milliseconds.
    pub ts: i64,
    /// The value.
    pub value: f64,
    /// Quality.
    pub quality: u8,
    /// The journal record it came in.
    pub seq: u64,
}

/// Calls `f` on every row of a history file, in file order.
pub fn for_each_row(path: &Path, f: impl FnMut(RowRef<'_>)) -> Result<(), StoreError> {
    // The parquet crate (59.3) panics on some corrupt pages (a VLQ run header too long:
    // found by fuzzing, `fuzz/regressions/history_parquet/`): a damaged history file
    // is an error, not the end of the process.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rows_unguarded(path, f)))
        .unwrap_or_else(|_| {
            Err(StoreError::Invalid {
                file: path.display().to_string(),
                message: "corrupt Parquet data (the reader gave up on a page)".into(),
            })
        })
}

fn rows_unguarded(path: &Path, mut f: impl FnMut(RowRef<'_>)) -> Result<(), StoreError> {
    let bad = |m: String| StoreError::Invalid {
        file: path.display().to_string(),
        message: m,
    };
    let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| bad(e.to_string()))?;
    for batch in reader {
        let batch = batch.map_err(|e| bad(e.to_string()))?;
        let col = |name: &str| {
            batch
                .column_by_name(name)
                .cloned()
                .ok_or_else(|| bad(format!("no column {name}")))
        };
        let (asset, channel) = (col("asset")?, col("channel")?);
        let assets = strings(asset.as_ref()).ok_or_else(|| bad("asset is not text".into()))?;
        let channels =
            strings(channel.as_ref()).ok_or_else(|| bad("channel is not text".into()))?;
        let ts = col("ts")?;
        let ts = ts
            .as_any()
            .downcast_ref::<TimestampMillisecondArray>()
            .ok_or_else(|| bad("ts is not a millisecond timestamp".into()))?;
        let value = col("value")?;
        let value = value
            .as_any()
            .downcast_ref::<Float64Array>()
            .ok_or_else(|| bad("value is not a double".into()))?;
        let quality = col("quality")?;
        let quality = quality
            .as_any()
            .downcast_ref::<UInt8Array>()
            .ok_or_else(|| bad("quality is not uint8".into()))?;
        let seq = col("seq")?;
        let seq = seq
            .as_any()
            .downcast_ref::<UInt64Array>()
            .ok_or_else(|| bad("seq is not uint64".into()))?;
        for i in 0..batch.num_rows() {
            let (Some(a), Some(c)) = (assets[i], channels[i]) else {
                continue;
            };
            f(RowRef {
                asset: a,
                channel: c,
                ts: ts.value(i),
                value: value.value(i),
                quality: quality.value(i),
                seq: seq.value(i),
            });
        }
    }
    Ok(())
}
