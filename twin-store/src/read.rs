//! Reading one series back from a data directory, without a twin: `twin history`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::catalog::{Catalogs, numbered};
use crate::compact::history_files;
use crate::segment::{Record, SegmentReader};
use crate::{StoreError, columnar};

/// One stored sample of a series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SeriesSample {
    /// Time, UTC milliseconds.
    pub ts: i64,
    /// The value as the twin holds it.
    pub value: f64,
    /// Quality (0 good, 1 uncertain, 2 bad).
    pub quality: u8,
}

/// The stored samples of one series (asset id, channel name) with `from <= ts <= to`,
/// from the history files and the journal's segments, in time order: one per time,
/// the latest record's where a time was written more than once (as the twin's
/// history keeps it). Also returns what could not be read (damaged files), which is
/// skipped. Safe to call while a twin writes the directory: a segment listed and then
/// compacted away before it was read makes the read start again (at most five times).
pub fn read_series(
    root: &Path,
    asset: &str,
    channel: &str,
    from: i64,
    to: i64,
) -> Result<Series, StoreError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match read_once(root, asset, channel, from, to)? {
            Some(done) => return Ok(done),
            None if tries >= 5 => {
                return Err(StoreError::Journal(
                    "segments kept being compacted while they were read; try again".into(),
                ));
            }
            None => {}
        }
    }
}

/// A series' samples and the problems met reading it.
type Series = (Vec<SeriesSample>, Vec<String>);

/// One read; `None` if a listed segment was gone when it was read.
fn read_once(
    root: &Path,
    asset: &str,
    channel: &str,
    from: i64,
    to: i64,
) -> Result<Option<Series>, StoreError> {
    // Segments are listed before history files: a segment compacted after this
    // listing has its history file in the next one, or is missing when read (then
    // the whole read starts again).
    let segments = numbered(&root.join("wal"), ".wal")?;
    let mut problems = Vec::new();
    // ts → (record, value, quality); the later record wins.
    let mut by_ts: BTreeMap<i64, (u64, f64, u8)> = BTreeMap::new();
    let mut put = |ts: i64, seq: u64, value: f64, quality: u8| {
        if ts < from || ts > to {
            return;
        }
        let e = by_ts.entry(ts).or_insert((seq, value, quality));
        if seq >= e.0 {
            *e = (seq, value, quality);
        }
    };
    for f in history_files(&root.join("history"))? {
        if f.to < from || f.from > to {
            continue;
        }
        let read = columnar::for_each_row(&f.path, |r| {
            if r.asset == asset && r.channel == channel {
                put(r.ts, r.seq, r.value, r.quality);
            }
        });
        match read {
            Ok(()) => {}
            // Deleted by retention since the listing: nothing to read.
            Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            }
            Err(e) => problems.push(e.to_string()),
        }
    }
    let (catalogs, bad) = Catalogs::load(&root.join("catalogs"))?;
    problems.extend(bad);
    // Per catalog, the numbers of the asset and channel.
    let keys: BTreeMap<u64, Option<(u32, u16)>> = catalogs
        .0
        .iter()
        .map(|(seq, c)| (*seq, c.handle_of(asset).zip(c.channel_of(channel))))
        .collect();
    let key_for = |seq: u64| {
        keys.range(..seq)
            .next_back()
            .or_else(|| keys.iter().next())
            .and_then(|(_, k)| *k)
    };
    for (_, path) in segments {
        let mut r = match SegmentReader::open(&path) {
            Ok(r) => r,
            Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Ok(None);
            }
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        while let Some(next) = r.next_record() {
            let (seq, record) = match next {
                Ok(x) => x,
                Err(e) => {
                    problems.push(e.to_string());
                    break;
                }
            };
            let Record::Applied { samples, .. } = record else {
                continue;
            };
            let Some((h, c)) = key_for(seq) else { continue };
            for s in samples {
                if s.handle.0 == h && s.channel.0 == c {
                    put(s.ts.as_millis(), seq, s.value, s.quality as u8);
                }
            }
        }
    }
    let samples = by_ts
        .into_iter()
        .map(|(ts, (_, value, quality))| SeriesSample { ts, value, quality })
        .collect();
    Ok(Some((samples, problems)))
}
