//! Journal segments: the file format, and reading one back.
//!
//! A segment is `TWINWAL1` (8 bytes), a little-endian `u32` format version (1) and the
//! `u64` sequence number of its first record, then records, each:
//!
//! | bytes | holds |
//! |---|---|
//! | 4 | `u32` length of the body |
//! | 4 | CRC-32 (IEEE) of the sequence number and the body |
//! | 8 | `u64` sequence number (one more than the record before, across segments) |
//! | length | the body: a `u8` type, then its fields |
//!
//! Bodies (all numbers little-endian, times UTC milliseconds):
//! - 1 *applied*: `i64` clock, `u32` count, then per sample `u32` handle, `u16`
//!   channel, `u8` quality, `i64` time, `f64` value (23 bytes);
//! - 2 *ticked*: `i64` clock;
//! - 3 *stepped*: `i64` clock, `u64` order, JSON `{action, by, unit, note}`;
//! - 4 *acknowledged*: `i64` clock, `u64` alert.
//!
//! A reader stops at the first record whose header is cut short, whose length runs
//! past the end of the file, whose checksum does not match or whose sequence number
//! is not the next: in the newest segment that is the torn tail of a crash (cut and
//! reported); in an older one it is damage (reported with the segment's name and
//! offset; the records before it are used).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use twin_core::state::orders::{Action, StepRequest};
use twin_core::state::{ChannelId, Quality, Sample};
use twin_core::{Handle, Timestamp};

use crate::StoreError;

/// A segment's first bytes.
pub const MAGIC: &[u8; 8] = b"TWINWAL1";
/// The segment format this build writes and reads.
pub const VERSION: u32 = 1;
/// Bytes before the first record.
pub const HEADER: usize = 8 + 4 + 8;
/// Bytes of a record's header (length, checksum, sequence number).
pub const RECORD_HEADER: usize = 4 + 4 + 8;
/// Bytes of one sample in an *applied* body.
pub const SAMPLE_BYTES: usize = 4 + 2 + 1 + 8 + 8;
/// The longest body a reader accepts (a longer length is damage, not an allocation).
pub const MAX_BODY: usize = 1 << 30;

const APPLIED: u8 = 1;
const TICKED: u8 = 2;
const STEPPED: u8 = 3;
const ACKNOWLEDGED: u8 = 4;

/// A person's step on an order, owned (the journal's copy of a [`StepRequest`]).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Step {
    /// The action (`dispatch`, `accept`, …).
    pub action: String,
    /// Who took it.
    pub by: String,
    /// The unit, for dispatch and reassign.
    pub unit: Option<String>,
    /// The note.
    pub note: String,
}

impl Step {
    /// The request to replay, or `None` if the action is unknown to this build.
    pub fn request(&self) -> Option<StepRequest<'_>> {
        Some(StepRequest {
            action: Action::parse(&self.action)?,
            by: &self.by,
            unit: self.unit.as_deref(),
            note: &self.note,
        })
    }
}

/// One journal record's content.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    /// Samples applied at `now`.
    Applied {
        /// The session's clock.
        now: Timestamp,
        /// The samples.
        samples: Vec<Sample>,
    },
    /// The clock moved on.
    Ticked {
        /// The session's clock.
        now: Timestamp,
    },
    /// A step on an order.
    Stepped {
        /// The session's clock.
        now: Timestamp,
        /// The order.
        order: u64,
        /// The step.
        step: Step,
    },
    /// An alert acknowledged.
    Acknowledged {
        /// The session's clock.
        now: Timestamp,
        /// The alert.
        alert: u64,
    },
}

/// Appends a record (header and body) for `seq` to `out`; `body` writes the body.
pub fn encode(out: &mut Vec<u8>, seq: u64, body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&seq.to_le_bytes());
    body(out);
    let len = (out.len() - start - RECORD_HEADER) as u32;
    let crc = crc32fast::hash(&out[start + 8..]);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// The body of an *applied* record.
pub fn applied_body(out: &mut Vec<u8>, now: Timestamp, samples: &[Sample]) {
    out.reserve(1 + 8 + 4 + samples.len() * SAMPLE_BYTES);
    out.push(APPLIED);
    out.extend_from_slice(&now.as_millis().to_le_bytes());
    out.extend_from_slice(&(samples.len() as u32).to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.handle.0.to_le_bytes());
        out.extend_from_slice(&s.channel.0.to_le_bytes());
        out.push(s.quality as u8);
        out.extend_from_slice(&s.ts.as_millis().to_le_bytes());
        out.extend_from_slice(&s.value.to_le_bytes());
    }
}

/// The body of a *ticked* record.
pub fn ticked_body(out: &mut Vec<u8>, now: Timestamp) {
    out.push(TICKED);
    out.extend_from_slice(&now.as_millis().to_le_bytes());
}

/// The body of a *stepped* record.
pub fn stepped_body(out: &mut Vec<u8>, now: Timestamp, order: u64, step: &StepRequest<'_>) {
    out.push(STEPPED);
    out.extend_from_slice(&now.as_millis().to_le_bytes());
    out.extend_from_slice(&order.to_le_bytes());
    let step = Step {
        action: step.action.as_str().to_string(),
        by: step.by.to_string(),
        unit: step.unit.map(str::to_string),
        note: step.note.to_string(),
    };
    // A struct of strings always serialises.
    out.extend_from_slice(&serde_json::to_vec(&step).unwrap_or_default());
}

/// The body of an *acknowledged* record.
pub fn acknowledged_body(out: &mut Vec<u8>, now: Timestamp, alert: u64) {
    out.push(ACKNOWLEDGED);
    out.extend_from_slice(&now.as_millis().to_le_bytes());
    out.extend_from_slice(&alert.to_le_bytes());
}

/// A segment's header bytes.
pub fn header(first_seq: u64) -> [u8; HEADER] {
    let mut h = [0; HEADER];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h[12..].copy_from_slice(&first_seq.to_le_bytes());
    h
}

/// The file name of the segment whose first record is `first_seq`.
pub fn file_name(first_seq: u64) -> String {
    format!("{first_seq:020}.wal")
}

struct Cursor<'a> {
    b: &'a [u8],
}

impl Cursor<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.b.split_first_chunk::<N>()?;
        self.b = rest;
        Some(*head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take().map(u16::from_le_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.take().map(i64::from_le_bytes)
    }
    fn f64(&mut self) -> Option<f64> {
        self.take().map(f64::from_le_bytes)
    }
}

/// Decodes a record's body (its checksum already checked); `None` if it is malformed.
pub fn decode(body: &[u8]) -> Option<Record> {
    let mut c = Cursor { b: body };
    let kind = c.u8()?;
    let now = Timestamp::from_millis(c.i64()?);
    let record = match kind {
        APPLIED => {
            let n = c.u32()? as usize;
            if c.b.len() != n.checked_mul(SAMPLE_BYTES)? {
                return None;
            }
            let mut samples = Vec::with_capacity(n);
            for _ in 0..n {
                let handle = Handle(c.u32()?);
                let channel = ChannelId(c.u16()?);
                let quality = Quality::from_u8(c.u8()?);
                let ts = Timestamp::from_millis(c.i64()?);
                let value = c.f64()?;
                samples.push(Sample {
                    handle,
                    channel,
                    ts,
                    value,
                    quality,
                });
            }
            Record::Applied { now, samples }
        }
        TICKED => Record::Ticked { now },
        STEPPED => {
            let order = c.u64()?;
            let step = serde_json::from_slice(std::mem::take(&mut c.b)).ok()?;
            Record::Stepped { now, order, step }
        }
        ACKNOWLEDGED => Record::Acknowledged {
            now,
            alert: c.u64()?,
        },
        _ => return None,
    };
    c.b.is_empty().then_some(record)
}

/// Where and why reading a segment stopped early.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// The segment.
    pub file: PathBuf,
    /// Bytes from the start of the file to the first bad record.
    pub offset: u64,
    /// Bytes from there to the end of the file.
    pub bytes: u64,
    /// What was wrong.
    pub reason: String,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} at byte {} ({} bytes from there on not used)",
            self.file.display(),
            self.reason,
            self.offset,
            self.bytes
        )
    }
}

/// Reads a segment's records in order (see the module docs for where it stops).
pub struct SegmentReader {
    file: PathBuf,
    r: BufReader<File>,
    len: u64,
    pos: u64,
    next_seq: u64,
    first_seq: u64,
    damage: Option<Damage>,
    body: Vec<u8>,
}

impl SegmentReader {
    /// Opens a segment and checks its header.
    pub fn open(path: &Path) -> Result<SegmentReader, StoreError> {
        let io = |e| StoreError::io(path, e);
        let f = File::open(path).map_err(io)?;
        let len = f.metadata().map_err(io)?.len();
        let mut r = BufReader::with_capacity(1 << 20, f);
        let mut h = [0u8; HEADER];
        let bad = |m: &str| StoreError::Invalid {
            file: path.display().to_string(),
            message: m.to_string(),
        };
        if len < HEADER as u64 {
            return Err(bad("shorter than a segment's header"));
        }
        r.read_exact(&mut h).map_err(io)?;
        if &h[..8] != MAGIC {
            return Err(bad("not a twin journal segment (bad magic)"));
        }
        let version = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
        if version != VERSION {
            return Err(bad(&format!(
                "segment format version {version}; this build reads {VERSION}"
            )));
        }
        let first_seq = u64::from_le_bytes(h[12..20].try_into().unwrap_or_default());
        Ok(SegmentReader {
            file: path.to_path_buf(),
            r,
            len,
            pos: HEADER as u64,
            next_seq: first_seq,
            first_seq,
            damage: None,
            body: Vec::new(),
        })
    }

    /// The sequence number of the segment's first record.
    pub fn first_seq(&self) -> u64 {
        self.first_seq
    }

    /// Bytes of good records read so far, header included: where a torn tail is cut.
    pub fn good_len(&self) -> u64 {
        self.pos
    }

    /// Why reading stopped before the end of the file, once it has.
    pub fn damage(&self) -> Option<&Damage> {
        self.damage.as_ref()
    }

    fn stop(&mut self, reason: String) -> Option<Result<(u64, Record), StoreError>> {
        self.damage = Some(Damage {
            file: self.file.clone(),
            offset: self.pos,
            bytes: self.len - self.pos,
            reason,
        });
        None
    }

    /// The next good record and its sequence number; `None` at the end or at the first
    /// damage ([`SegmentReader::damage`]); an error only if the file cannot be read.
    pub fn next_record(&mut self) -> Option<Result<(u64, Record), StoreError>> {
        if self.damage.is_some() || self.pos == self.len {
            return None;
        }
        let left = self.len - self.pos;
        if left < RECORD_HEADER as u64 {
            return self.stop(format!("record header cut short ({left} bytes)"));
        }
        let mut h = [0u8; RECORD_HEADER];
        if let Err(e) = self.r.read_exact(&mut h) {
            return Some(Err(StoreError::io(&self.file, e)));
        }
        let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as u64;
        let crc = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
        let seq = u64::from_le_bytes(h[8..16].try_into().unwrap_or_default());
        if len > MAX_BODY as u64 || len > left - RECORD_HEADER as u64 {
            return self.stop(format!(
                "record {seq} of {len} bytes runs past the end of the file"
            ));
        }
        self.body.resize(len as usize, 0);
        if let Err(e) = self.r.read_exact(&mut self.body) {
            return Some(Err(StoreError::io(&self.file, e)));
        }
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&h[8..16]);
        hasher.update(&self.body);
        if hasher.finalize() != crc {
            return self.stop("checksum mismatch".to_string());
        }
        if seq != self.next_seq {
            return self.stop(format!(
                "record number {seq} where {} was due",
                self.next_seq
            ));
        }
        let Some(record) = decode(&self.body) else {
            return self.stop(format!("record {seq} is malformed"));
        };
        self.pos += RECORD_HEADER as u64 + len;
        self.next_seq += 1;
        Some(Ok((seq, record)))
    }
}
