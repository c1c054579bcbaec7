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
//! A file holds row groups of at most [`ROW_GROUP`] rows, zstd-compressed (`value`
//! byte-stream-split). Each
//! row group is one run of the segment's samples in arrival order, sorted by
//! channel, asset, time and record (and within a record in the order of its
//! samples: the later of two at one time is the value held); the file as a whole is
//! not sorted. Sorting runs rather than whole segments bounds what the compactor
//! holds to one row group's rows (32 MB) whatever the segment size; with Snappy it
//! cost 17 % more bytes per sample than sorting whole 64 MiB segments (7.8 against
//! 6.7), and zstd with byte-stream-split values then took it to 5.4 (the island's
//! first 30 simulated minutes, docs/durability.md). The key-value metadata holds `twin.from_ms`,
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
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use crate::{Catalog, StoreError};

/// Rows per row group at most.
pub const ROW_GROUP: usize = 1 << 20;

/// Rows handed to the Parquet writer at a time: the Arrow arrays of one batch are
/// all that is built beside the sorted rows (the writer keeps the row group being
/// filled encoded and compressed), where a whole row group's arrays took ~33 MB.
const BATCH: usize = 1 << 16;

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

/// A history file being written one sorted run (one row group) at a time, so that
/// the compactor holds at most [`ROW_GROUP`] rows of a segment however large the
/// segment is. Until [`HistoryWriter::finish`] the file is `FIRSTSEQ.parquet.tmp`
/// (removed at the next open if a crash leaves it).
pub struct HistoryWriter {
    dir: PathBuf,
    tmp: PathBuf,
    writer: ArrowWriter<File>,
    schema: Arc<Schema>,
    first_seq: u64,
    range: Option<(i64, i64)>,
}

impl HistoryWriter {
    /// Starts a history file in `dir` whose first record is `first_seq`.
    pub fn create(dir: &Path, first_seq: u64) -> Result<HistoryWriter, StoreError> {
        let tmp = dir.join(format!("{first_seq:020}.parquet.tmp"));
        // zstd level 3, and `value` as byte-stream-split (its bytes regrouped by
        // position) without a dictionary: 5.4 bytes per sample on the island where
        // Snappy with a dictionary took 7.8 (same runs; docs/durability.md). DuckDB,
        // pyarrow and Polars read both (twin-cli/tests/history.rs checks the first two).
        let value = ColumnPath::from("value");
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap_or_default()))
            .set_column_dictionary_enabled(value.clone(), false)
            .set_column_encoding(value, Encoding::BYTE_STREAM_SPLIT)
            .set_max_row_group_row_count(Some(ROW_GROUP))
            .build();
        let file = File::create(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
        let schema = Arc::new(schema());
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
            .map_err(|e| parquet_error(&tmp, e))?;
        Ok(HistoryWriter {
            dir: dir.to_path_buf(),
            tmp,
            writer,
            schema,
            first_seq,
            range: None,
        })
    }

    /// Sorts `rows` (at most [`ROW_GROUP`]; more are split) by channel, asset, time
    /// and record, and writes them as a row group of their own.
    pub fn write_run(&mut self, rows: &mut [Row], catalog: &Catalog) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        // Stable: one record may hold the same (asset, channel, time) twice (two
        // messages in one batch), and the later one is the value held.
        rows.sort_by_key(|r| (r.channel, r.handle, r.ts, r.seq));
        for r in rows.iter() {
            self.range = Some(match self.range {
                None => (r.ts, r.ts),
                Some((a, b)) => (a.min(r.ts), b.max(r.ts)),
            });
        }
        for chunk in rows.chunks(BATCH) {
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
            let batch = RecordBatch::try_new(self.schema.clone(), columns).map_err(|e| {
                StoreError::Invalid {
                    file: self.tmp.display().to_string(),
                    message: e.to_string(),
                }
            })?;
            self.writer
                .write(&batch)
                .map_err(|e| parquet_error(&self.tmp, e))?;
        }
        // A run is a row group: the next run is sorted on its own.
        self.writer.flush().map_err(|e| parquet_error(&self.tmp, e))
    }

    /// Whether no rows have been written yet.
    pub fn is_empty(&self) -> bool {
        self.range.is_none()
    }

    /// Writes the footer (with the time range and `last_seq`), syncs the file and
    /// renames it to its name ([`file_name`]); a file with no rows is removed and
    /// `None` returned.
    pub fn finish(mut self, last_seq: u64) -> Result<Option<PathBuf>, StoreError> {
        let Some((from, to)) = self.range else {
            drop(self.writer);
            std::fs::remove_file(&self.tmp).map_err(|e| StoreError::io(&self.tmp, e))?;
            return Ok(None);
        };
        for (k, v) in [
            ("twin.from_ms", from.to_string()),
            ("twin.to_ms", to.to_string()),
            ("twin.first_seq", self.first_seq.to_string()),
            ("twin.last_seq", last_seq.to_string()),
        ] {
            self.writer
                .append_key_value_metadata(KeyValue::new(k.into(), v));
        }
        let file = self
            .writer
            .into_inner()
            .map_err(|e| parquet_error(&self.tmp, e))?;
        file.sync_all().map_err(|e| StoreError::io(&self.tmp, e))?;
        drop(file);
        let path = self.dir.join(file_name(from, to, self.first_seq));
        std::fs::rename(&self.tmp, &path).map_err(|e| StoreError::io(&path, e))?;
        crate::writer::sync_dir(&self.dir).map_err(|e| StoreError::io(&self.dir, e))?;
        Ok(Some(path))
    }
}

fn parquet_error(file: &Path, e: parquet::errors::ParquetError) -> StoreError {
    StoreError::Invalid {
        file: file.display().to_string(),
        message: e.to_string(),
    }
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

/// A history file in memory whose readers fail at its end instead of reading nothing.
///
/// parquet 59.3 reads page headers through its `Read`-based Thrift decoder, which skips a
/// field it does not know by copying from the `Read` and ignores a short copy. A corrupt
/// page header that declares a list of 2^31 doubles at the end of the data therefore loops
/// 2^31 times reading nothing: 2 min 22 s on a 4.6 kB file from disk, 30 s from memory (a
/// fuzzer's find, `fuzz/regressions/history_parquet/thrift-list-skip-at-eof.parquet`).
/// Reading past the end is an error here, so the first empty read ends the header and
/// the file is refused. The crate's own readers never need to read past the end of a
/// file: page data is read with `take(len)` (which stops before the end) and the footer
/// through `get_bytes`.
#[derive(Clone)]
struct EofStrict(bytes::Bytes);

impl parquet::file::reader::Length for EofStrict {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
}

impl parquet::file::reader::ChunkReader for EofStrict {
    type T = EofStrictRead;

    fn get_read(&self, start: u64) -> parquet::errors::Result<EofStrictRead> {
        self.0.get_read(start).map(EofStrictRead)
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        self.0.get_bytes(start, length)
    }
}

/// The `Read` of an [`EofStrict`] file: an error where the file ends.
struct EofStrictRead(bytes::buf::Reader<bytes::Bytes>);

impl std::io::Read for EofStrictRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        if n == 0 && !buf.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "a page reads past the end of the file",
            ));
        }
        Ok(n)
    }
}

/// Refuses a dictionary page that declares more values than its bytes can hold.
///
/// parquet 59.3 sizes a column's dictionary by the count its page header declares
/// (`DictDecoder::set_dict` resizes to it before decoding), so a 4 kB history file whose
/// `value` dictionary declared 1.7 billion doubles allocated 13.9 GB (a fuzzer's find,
/// `fuzz/regressions/history_parquet/dictionary-count-13gb.parquet`). Every page header
/// is read (pages other than dictionaries are skipped, not decoded) and each dictionary
/// decoded once: a plain-encoded value takes at least its fixed width, or the 4-byte
/// length of a byte array, so more values than that are a corrupt page. The files twin
/// writes have one small dictionary per column chunk (asset and channel names).
fn check_dictionaries(file: &EofStrict) -> Result<(), String> {
    use parquet::basic::Type as Physical;
    use parquet::column::page::Page;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(file.clone()).map_err(|e| e.to_string())?;
    for g in 0..reader.num_row_groups() {
        let group = reader.get_row_group(g).map_err(|e| e.to_string())?;
        let meta = group.metadata();
        for c in 0..meta.num_columns() {
            // Twin writes zstd (Snappy before 2026-12-07). Another codec is a damaged
            // footer: refused before a page is decompressed (LZ4 and Brotli size their
            // output by the page header's count, which a damaged header inflates).
            let codec = meta.column(c).compression();
            if !matches!(
                codec,
                parquet::basic::Compression::ZSTD(_)
                    | parquet::basic::Compression::SNAPPY
                    | parquet::basic::Compression::UNCOMPRESSED
            ) {
                return Err(format!(
                    "row group {g}, column {}: compressed with {codec}, which twin does not write",
                    meta.column(c).column_descr().path()
                ));
            }
            let column = meta.column(c).column_descr();
            let width = match column.physical_type() {
                Physical::INT64 | Physical::DOUBLE => 8,
                Physical::INT32 | Physical::FLOAT | Physical::BYTE_ARRAY => 4,
                Physical::INT96 => 12,
                Physical::FIXED_LEN_BYTE_ARRAY => column.type_length().max(1) as usize,
                // Booleans are bit-packed: eight to a byte.
                Physical::BOOLEAN => 0,
            };
            let mut pages = group.get_column_page_reader(c).map_err(|e| e.to_string())?;
            while let Some(page) = pages.peek_next_page().map_err(|e| e.to_string())? {
                if !page.is_dict {
                    pages.skip_next_page().map_err(|e| e.to_string())?;
                    continue;
                }
                if let Some(Page::DictionaryPage {
                    buf, num_values, ..
                }) = pages.get_next_page().map_err(|e| e.to_string())?
                {
                    let need = if width == 0 {
                        (num_values as usize).div_ceil(8)
                    } else {
                        (num_values as usize).saturating_mul(width)
                    };
                    if need > buf.len() {
                        return Err(format!(
                            "row group {g}, column {}: a dictionary page declares {num_values} values in {} bytes",
                            column.path(),
                            buf.len()
                        ));
                    }
                }
            }
        }
    }
    Ok(())
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
    // Read whole (a history file is one segment's samples, ~20 MB) and hand the
    // parquet reader an `EofStrict` view of it (below: why).
    let bytes = EofStrict(bytes::Bytes::from(
        std::fs::read(path).map_err(|e| StoreError::io(path, e))?,
    ));
    check_dictionaries(&bytes).map_err(bad)?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(handle: u32, channel: u16, ts: i64, seq: u64) -> Row {
        Row {
            handle,
            channel,
            ts,
            value: ts as f64 / 1000.0,
            quality: 0,
            seq,
        }
    }

    #[test]
    fn each_run_is_a_sorted_row_group_and_the_footer_spans_them_all() {
        let dir = std::env::temp_dir().join(format!("twin-columnar-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let catalog = Catalog {
            assets: vec![Some("a".into()), None, Some("c".into())],
            channels: vec!["level".into(), "flow".into()],
        };
        let mut w = HistoryWriter::create(&dir, 7).unwrap();
        assert!(w.is_empty());
        // Arrival order; two runs, each sorted on its own.
        let mut first = vec![
            row(2, 1, 5_000, 7),
            row(0, 0, 3_000, 7),
            row(2, 0, 1_000, 8),
        ];
        let mut second = vec![row(0, 1, 9_000, 9), row(0, 0, 2_000, 9)];
        w.write_run(&mut first, &catalog).unwrap();
        w.write_run(&mut second, &catalog).unwrap();
        let path = w.finish(12).unwrap().expect("rows were written");
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            "1000_9000_00000000000000000007.parquet"
        );
        assert!(!dir.join("00000000000000000007.parquet.tmp").exists());

        let file = File::open(&path).unwrap();
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        let meta = builder.metadata().clone();
        assert_eq!(meta.num_row_groups(), 2);
        assert_eq!(meta.row_group(0).num_rows(), 3);
        assert_eq!(meta.row_group(1).num_rows(), 2);
        let kv: Vec<(String, String)> = meta
            .file_metadata()
            .key_value_metadata()
            .unwrap()
            .iter()
            .map(|k| (k.key.clone(), k.value.clone().unwrap_or_default()))
            .collect();
        for want in [
            ("twin.from_ms", "1000"),
            ("twin.to_ms", "9000"),
            ("twin.first_seq", "7"),
            ("twin.last_seq", "12"),
        ] {
            assert!(
                kv.contains(&(want.0.into(), want.1.into())),
                "{want:?} in {kv:?}"
            );
        }
        let mut read = Vec::new();
        for_each_row(&path, |r| {
            read.push((r.channel.to_string(), r.asset.to_string(), r.ts))
        })
        .unwrap();
        let expect: Vec<(String, String, i64)> = [
            // First run: channel, then asset, then time.
            ("level", "a", 3_000),
            ("level", "c", 1_000),
            ("flow", "c", 5_000),
            // Second run.
            ("level", "a", 2_000),
            ("flow", "a", 9_000),
        ]
        .iter()
        .map(|(c, a, t)| (c.to_string(), a.to_string(), *t))
        .collect();
        assert_eq!(read, expect);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_with_no_rows_is_not_left_behind() {
        let dir = std::env::temp_dir().join(format!("twin-columnar-empty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let w = HistoryWriter::create(&dir, 1).unwrap();
        assert_eq!(w.finish(5).unwrap(), None);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
