//! The binary frames of `twin serve`'s live stream (docs/stream.md §4), written and
//! read in one place: the server encodes with these functions, the web page (twin-wasm)
//! and any other screen decode with [`decode`], so the two cannot drift apart.
//!
//! Every frame starts with a 24-byte little-endian [`Header`]: kind (u8), format
//! version (u8, [`VERSION`]), overlay index (u16), the low 32 bits of the session
//! generation (u32), the frame's sequence number on its connection (u32), its record
//! count (u32) and the twin's clock in ms (i64). The body is
//!
//! - kind 1 ([`KIND_COLORS`]): `count` runs of `u32 start, u32 len, len × RGBA`;
//! - kind 2 ([`KIND_VALUES`]): `count` records of `u32 handle, u16 channel, u8 quality,
//!   u8 0, f64 value, i64 ts_ms` ([`VALUE_RECORD`] bytes each).
//!
//! [`decode`] checks a frame whole (lengths, runs, trailing bytes) before it returns
//! anything, so a reader that refuses a bad frame has changed nothing. [`Remote`] is a
//! screen's side: the hello checked and frames applied to a session.

use std::ops::Range;

mod remote;
pub use remote::{Applied, Caller, Hello, HelloChannel, PROTOCOL, Remote, RemoteError};

/// The frame format version.
pub const VERSION: u8 = 1;
/// Header bytes.
pub const HEADER: usize = 24;
/// Colour frames.
pub const KIND_COLORS: u8 = 1;
/// Value frames.
pub const KIND_VALUES: u8 = 2;
/// Bytes of one run header (start, len).
pub const RUN_HEADER: usize = 8;
/// Bytes of one value record.
pub const VALUE_RECORD: usize = 24;

/// A frame's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// [`KIND_COLORS`] or [`KIND_VALUES`].
    pub kind: u8,
    /// Overlay index (colour frames), else 0.
    pub overlay: u16,
    /// Low 32 bits of the session generation the handles belong to.
    pub generation: u32,
    /// 1, 2, … on a connection.
    pub seq: u32,
    /// Runs or records in the body.
    pub count: u32,
    /// The twin's clock, ms.
    pub now: i64,
}

impl Header {
    /// Appends the header (with [`VERSION`]) to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.push(self.kind);
        out.push(VERSION);
        out.extend_from_slice(&self.overlay.to_le_bytes());
        out.extend_from_slice(&self.generation.to_le_bytes());
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&self.now.to_le_bytes());
    }

    /// Sets the record count of a frame already written (the count is known last).
    pub fn set_count(frame: &mut [u8], count: u32) {
        if frame.len() >= HEADER {
            frame[12..16].copy_from_slice(&count.to_le_bytes());
        }
    }
}

/// One value record.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ValueRecord {
    /// The server's handle.
    pub handle: u32,
    /// The server's channel id.
    pub channel: u16,
    /// Good 0, uncertain 1, bad 2.
    pub quality: u8,
    /// The stored value (numbers as they are, booleans 0/1, states by index).
    pub value: f64,
    /// The sample's time, ms.
    pub ts: i64,
}

impl ValueRecord {
    /// Appends the record to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.handle.to_le_bytes());
        out.extend_from_slice(&self.channel.to_le_bytes());
        out.push(self.quality);
        out.push(0);
        out.extend_from_slice(&self.value.to_le_bytes());
        out.extend_from_slice(&self.ts.to_le_bytes());
    }
}

/// Appends a run header (its length is set when the run is finished, with
/// [`set_run_len`]); returns where the length is.
pub fn start_run(out: &mut Vec<u8>, start: u32) -> usize {
    out.extend_from_slice(&start.to_le_bytes());
    let at = out.len();
    out.extend_from_slice(&0u32.to_le_bytes());
    at
}

/// Sets the length of a run started with [`start_run`].
pub fn set_run_len(out: &mut [u8], at: usize, len: u32) {
    out[at..at + 4].copy_from_slice(&len.to_le_bytes());
}

/// A frame's body, read.
#[derive(Clone, Debug, PartialEq)]
pub enum Body<'a> {
    /// Colour runs: the handles and their RGBA bytes (4 per handle).
    Colors(Vec<(Range<u32>, &'a [u8])>),
    /// Value records.
    Values(Vec<ValueRecord>),
}

/// Why a frame was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Shorter than its header.
    #[error("a stream frame of {0} bytes; its header alone is {HEADER}")]
    Short(usize),
    /// Another format version.
    #[error("stream frame version {0}; this reader reads {VERSION}")]
    Version(u8),
    /// A kind this reader does not know.
    #[error("stream frame kind {0}; this reader reads {KIND_COLORS} and {KIND_VALUES}")]
    Kind(u8),
    /// A colour run that goes past the end of the frame.
    #[error("colour frame: run {0} is cut short")]
    RunCut(u32),
    /// A colour run whose handles overflow a u32.
    #[error("colour frame: run {0} ends past the last handle a u32 holds")]
    RunOverflow(u32),
    /// Bytes after the last run.
    #[error("colour frame: {bytes} bytes after its {count} runs")]
    Trailing {
        /// Bytes left over.
        bytes: usize,
        /// Runs read.
        count: u32,
    },
    /// A value frame whose length is not its count of records.
    #[error("value frame: {bytes} bytes for {count} records of {VALUE_RECORD}")]
    ValueLength {
        /// Body bytes.
        bytes: usize,
        /// Records announced.
        count: u32,
    },
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(a)
}

/// Reads a whole frame, checked before anything is returned.
pub fn decode(b: &[u8]) -> Result<(Header, Body<'_>), FrameError> {
    if b.len() < HEADER {
        return Err(FrameError::Short(b.len()));
    }
    if b[1] != VERSION {
        return Err(FrameError::Version(b[1]));
    }
    let header = Header {
        kind: b[0],
        overlay: u16::from_le_bytes([b[2], b[3]]),
        generation: u32_at(b, 4),
        seq: u32_at(b, 8),
        count: u32_at(b, 12),
        now: u64_at(b, 16) as i64,
    };
    let body = &b[HEADER..];
    let count = header.count;
    match header.kind {
        KIND_COLORS => {
            let mut runs = Vec::new();
            let mut at = 0usize;
            for r in 0..count {
                if body.len() < at + RUN_HEADER {
                    return Err(FrameError::RunCut(r));
                }
                let (start, len) = (u32_at(body, at), u32_at(body, at + 4));
                let end = start.checked_add(len).ok_or(FrameError::RunOverflow(r))?;
                let bytes = (len as usize)
                    .checked_mul(4)
                    .filter(|n| body.len() - at - RUN_HEADER >= *n)
                    .ok_or(FrameError::RunCut(r))?;
                runs.push((start..end, &body[at + RUN_HEADER..at + RUN_HEADER + bytes]));
                at += RUN_HEADER + bytes;
            }
            if at != body.len() {
                return Err(FrameError::Trailing {
                    bytes: body.len() - at,
                    count,
                });
            }
            Ok((header, Body::Colors(runs)))
        }
        KIND_VALUES => {
            if Some(body.len()) != VALUE_RECORD.checked_mul(count as usize) {
                return Err(FrameError::ValueLength {
                    bytes: body.len(),
                    count,
                });
            }
            let records = body
                .chunks_exact(VALUE_RECORD)
                .map(|r| ValueRecord {
                    handle: u32_at(r, 0),
                    channel: u16::from_le_bytes([r[4], r[5]]),
                    quality: r[6],
                    value: f64::from_bits(u64_at(r, 8)),
                    ts: u64_at(r, 16) as i64,
                })
                .collect();
            Ok((header, Body::Values(records)))
        }
        k => Err(FrameError::Kind(k)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(kind: u8, count: u32) -> Header {
        Header {
            kind,
            overlay: 0,
            generation: 7,
            seq: 3,
            count,
            now: 42,
        }
    }

    #[test]
    fn frames_written_are_read_back() {
        let mut f = Vec::new();
        header(KIND_COLORS, 0).write(&mut f);
        let at = start_run(&mut f, 5);
        f.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        set_run_len(&mut f, at, 2);
        Header::set_count(&mut f, 1);
        assert_eq!(f.len(), HEADER + RUN_HEADER + 8);
        let (h, body) = decode(&f).unwrap();
        assert_eq!(h, header(KIND_COLORS, 1));
        assert_eq!(
            body,
            Body::Colors(vec![(5..7, &[1u8, 2, 3, 4, 5, 6, 7, 8][..])])
        );

        let mut f = Vec::new();
        header(KIND_VALUES, 1).write(&mut f);
        let r = ValueRecord {
            handle: 9,
            channel: 2,
            quality: 1,
            value: -2.5,
            ts: 1_763_700_000_000,
        };
        r.write(&mut f);
        assert_eq!(f.len(), HEADER + VALUE_RECORD);
        assert_eq!(decode(&f).unwrap().1, Body::Values(vec![r]));
    }

    #[test]
    fn bad_frames_are_refused_with_what_is_wrong() {
        assert_eq!(decode(&[1, 1, 0]), Err(FrameError::Short(3)));
        let mut f = Vec::new();
        header(KIND_COLORS, 1).write(&mut f);
        f[1] = 2;
        assert_eq!(decode(&f), Err(FrameError::Version(2)));
        let mut f = Vec::new();
        header(9, 0).write(&mut f);
        assert_eq!(decode(&f), Err(FrameError::Kind(9)));
        // A run announced with 3 colours and only 1 there.
        let mut f = Vec::new();
        header(KIND_COLORS, 1).write(&mut f);
        let at = start_run(&mut f, 0);
        set_run_len(&mut f, at, 3);
        f.extend_from_slice(&[0; 4]);
        assert_eq!(decode(&f), Err(FrameError::RunCut(0)));
        // A run past u32::MAX.
        let mut f = Vec::new();
        header(KIND_COLORS, 1).write(&mut f);
        let at = start_run(&mut f, u32::MAX);
        set_run_len(&mut f, at, 2);
        f.extend_from_slice(&[0; 8]);
        assert_eq!(decode(&f), Err(FrameError::RunOverflow(0)));
        // Bytes after the runs.
        let mut f = Vec::new();
        header(KIND_COLORS, 0).write(&mut f);
        f.push(0);
        assert_eq!(decode(&f), Err(FrameError::Trailing { bytes: 1, count: 0 }));
        // A huge count on a short value frame.
        let mut f = Vec::new();
        header(KIND_VALUES, u32::MAX).write(&mut f);
        assert_eq!(
            decode(&f),
            Err(FrameError::ValueLength {
                bytes: 0,
                count: u32::MAX
            })
        );
    }
}
