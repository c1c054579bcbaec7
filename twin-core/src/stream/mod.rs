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
//!   u8 0, f64 value, i64 ts_ms` ([`VALUE_RECORD`] bytes each);
//! - kind 5 ([`KIND_FILE`]): a piece of a file the client asked for (a building model
//!   the served twin holds, `get_model`): `u32 file index, u32 offset`, then the bytes;
//!   `count` is the whole file's length. [`FileParts`] puts the pieces together.
//!
//! [`decode`] checks a frame whole (lengths, runs, trailing bytes) before it returns
//! anything, so a reader that refuses a bad frame has changed nothing. [`Remote`] is a
//! screen's side: the hello checked and frames applied to a session.

use std::ops::Range;

mod remote;
pub use remote::{Applied, Caller, Hello, HelloChannel, HelloModel, PROTOCOL, Remote, RemoteError};

/// The frame format version.
pub const VERSION: u8 = 1;
/// Header bytes.
pub const HEADER: usize = 24;
/// Colour frames.
pub const KIND_COLORS: u8 = 1;
/// Value frames.
pub const KIND_VALUES: u8 = 2;
/// File pieces (`get_model`'s answer).
pub const KIND_FILE: u8 = 5;
/// Bytes before a file piece's bytes: file index and offset.
pub const FILE_PIECE_HEADER: usize = 8;
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
    /// A piece of a file.
    File {
        /// Which file (the index the server's list gives it).
        index: u32,
        /// Where in the file the piece starts.
        offset: u32,
        /// The whole file's length.
        total: u32,
        /// The piece.
        bytes: &'a [u8],
    },
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
    #[error(
        "stream frame kind {0}; this reader reads {KIND_COLORS}, {KIND_VALUES} and {KIND_FILE}"
    )]
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
    /// A file piece that does not fit in its file.
    #[error("file piece: {bytes} bytes at {offset} of a file of {total}")]
    FilePiece {
        /// Where the piece starts.
        offset: u64,
        /// Its length (`u64::MAX` when the frame is too short for the piece's header).
        bytes: u64,
        /// The file's length.
        total: u32,
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
        KIND_FILE => {
            let bad = |bytes: u64, offset: u64| FrameError::FilePiece {
                offset,
                bytes,
                total: count,
            };
            if body.len() < FILE_PIECE_HEADER {
                return Err(bad(u64::MAX, 0));
            }
            let (index, offset) = (u32_at(body, 0), u32_at(body, 4));
            let bytes = &body[FILE_PIECE_HEADER..];
            if u64::from(offset) + bytes.len() as u64 > u64::from(count) {
                return Err(bad(bytes.len() as u64, u64::from(offset)));
            }
            Ok((
                header,
                Body::File {
                    index,
                    offset,
                    total: count,
                    bytes,
                },
            ))
        }
        k => Err(FrameError::Kind(k)),
    }
}

/// Appends a file piece frame's body to `out` (a header of kind [`KIND_FILE`] whose
/// count is the file's length written first).
pub fn write_file_piece(out: &mut Vec<u8>, index: u32, offset: u32, bytes: &[u8]) {
    out.extend_from_slice(&index.to_le_bytes());
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(bytes);
}

/// A file that comes in pieces ([`KIND_FILE`] frames), put together in order. The
/// length is the one the file was announced with, so a server cannot make a client
/// hold more than it agreed to; a piece that is out of order, of another file or
/// of another length is refused.
#[derive(Debug)]
pub struct FileParts {
    index: u32,
    bytes: Vec<u8>,
    total: u32,
}

impl FileParts {
    /// Waits for file `index` of `total` bytes.
    pub fn new(index: u32, total: u32) -> FileParts {
        FileParts {
            index,
            bytes: Vec::new(),
            total,
        }
    }

    /// Takes one frame; `Ok(true)` once the file is whole.
    pub fn take(&mut self, frame: &[u8]) -> Result<bool, String> {
        let (_, body) = decode(frame).map_err(|e| e.to_string())?;
        let Body::File {
            index,
            offset,
            total,
            bytes,
        } = body
        else {
            return Err("a frame that is not a file piece".into());
        };
        if index != self.index || total != self.total {
            return Err(format!(
                "a piece of file {index} ({total} bytes) while file {} ({} bytes) comes",
                self.index, self.total
            ));
        }
        if offset as usize != self.bytes.len() {
            return Err(format!(
                "a piece at {offset} where {} was next",
                self.bytes.len()
            ));
        }
        self.bytes.extend_from_slice(bytes);
        Ok(self.is_whole())
    }

    /// Whether every byte came.
    pub fn is_whole(&self) -> bool {
        self.bytes.len() == self.total as usize
    }

    /// The bytes so far (the whole file once [`FileParts::is_whole`]).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The file, taken.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file piece frame, written by hand from docs/stream.md §4.
    fn piece(index: u32, offset: u32, total: u32, bytes: &[u8]) -> Vec<u8> {
        let mut f = vec![KIND_FILE, VERSION, 0, 0];
        f.extend_from_slice(&7u32.to_le_bytes());
        f.extend_from_slice(&1u32.to_le_bytes());
        f.extend_from_slice(&total.to_le_bytes());
        f.extend_from_slice(&42i64.to_le_bytes());
        f.extend_from_slice(&index.to_le_bytes());
        f.extend_from_slice(&offset.to_le_bytes());
        f.extend_from_slice(bytes);
        f
    }

    #[test]
    fn a_file_comes_together_from_its_pieces_and_nothing_else() {
        let mut p = FileParts::new(2, 10);
        assert_eq!(p.take(&piece(2, 0, 10, b"hello ")), Ok(false));
        // Out of order, another file, another length, past the end: refused, nothing
        // taken.
        for (frame, why) in [
            (piece(2, 0, 10, b"again"), "at 0 where 6"),
            (piece(3, 6, 10, b"abcd"), "file 3"),
            (piece(2, 6, 11, b"abcd"), "11 bytes"),
            (piece(2, 6, 10, b"abcde"), "5 bytes at 6 of a file of 10"),
        ] {
            let e = p.take(&frame).unwrap_err();
            assert!(e.contains(why), "{e}");
        }
        assert_eq!(p.bytes(), b"hello ");
        assert_eq!(p.take(&piece(2, 6, 10, b"abcd")), Ok(true));
        assert_eq!(p.into_bytes(), b"hello abcd");
        // A frame too short for the piece's header.
        let mut short = piece(0, 0, 0, b"");
        short.truncate(HEADER + 4);
        assert!(matches!(decode(&short), Err(FrameError::FilePiece { .. })));
        // What the server writes is what the test wrote.
        let mut out = Vec::new();
        header(KIND_FILE, 10).write(&mut out);
        write_file_piece(&mut out, 2, 6, b"abcd");
        let mut want = piece(2, 6, 10, b"abcd");
        want[8..12].copy_from_slice(&3u32.to_le_bytes());
        assert_eq!(out, want);
    }

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
