//! The stream's binary frames, composed from the mirror (the layout and its reader are
//! `twin_core::stream`, shared with every screen), and the per-client handle bitsets
//! they are composed from.

use twin_core::stream::{
    HEADER, Header, KIND_COLORS, KIND_VALUES, RUN_HEADER, VALUE_RECORD, ValueRecord, set_run_len,
    start_run,
};

use super::hub::{Mirror, NO_TS};

/// A set of handles, one bit each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bits {
    words: Vec<u64>,
    count: usize,
}

impl Bits {
    /// An empty set for handles below `n`.
    pub fn new(n: usize) -> Bits {
        Bits {
            words: vec![0; n.div_ceil(64)],
            count: 0,
        }
    }

    /// How many handles are in it.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether `h` is in it.
    pub fn has(&self, h: u32) -> bool {
        self.words
            .get(h as usize / 64)
            .is_some_and(|w| w & (1 << (h % 64)) != 0)
    }

    /// Adds `h` (ignored past the end).
    pub fn set(&mut self, h: u32) {
        if let Some(w) = self.words.get_mut(h as usize / 64) {
            let bit = 1 << (h % 64);
            if *w & bit == 0 {
                *w |= bit;
                self.count += 1;
            }
        }
    }

    /// Removes `h`.
    pub fn unset(&mut self, h: u32) {
        if let Some(w) = self.words.get_mut(h as usize / 64) {
            let bit = 1 << (h % 64);
            if *w & bit != 0 {
                *w &= !bit;
                self.count -= 1;
            }
        }
    }

    /// Removes everything.
    pub fn clear(&mut self) {
        self.words.fill(0);
        self.count = 0;
    }

    /// How many handles it can hold (a multiple of 64).
    pub fn capacity(&self) -> usize {
        self.words.len() * 64
    }

    /// Adds every handle of `other` (growing to its length).
    pub fn union_with(&mut self, other: &Bits) {
        if self.words.len() < other.words.len() {
            self.words.resize(other.words.len(), 0);
        }
        for (w, o) in self.words.iter_mut().zip(&other.words) {
            *w |= o;
        }
        self.count = self.words.iter().map(|w| w.count_ones() as usize).sum();
    }

    /// The handles in both (as long as `self`).
    pub fn intersect(&self, other: &Bits) -> Bits {
        let words: Vec<u64> = self
            .words
            .iter()
            .zip(other.words.iter().chain(std::iter::repeat(&0)))
            .map(|(a, b)| a & b)
            .collect();
        let count = words.iter().map(|w| w.count_ones() as usize).sum();
        Bits { words, count }
    }

    /// The handles of `self` not in `other`.
    pub fn minus(&self, other: &Bits) -> Bits {
        let words: Vec<u64> = self
            .words
            .iter()
            .zip(other.words.iter().chain(std::iter::repeat(&0)))
            .map(|(a, b)| a & !b)
            .collect();
        let count = words.iter().map(|w| w.count_ones() as usize).sum();
        Bits { words, count }
    }

    /// The first handle at or after `from`.
    pub fn next_from(&self, from: u32) -> Option<u32> {
        let mut i = from as usize / 64;
        let mut w = *self.words.get(i)? & (!0u64 << (from % 64));
        loop {
            if w != 0 {
                return Some((i * 64) as u32 + w.trailing_zeros());
            }
            i += 1;
            w = *self.words.get(i)?;
        }
    }
}

/// Writes frame headers with a connection's running sequence number.
#[derive(Debug, Default)]
pub struct Framer {
    seq: u32,
}

impl Framer {
    /// A file piece: `bytes` at `offset` of file `index`, `total` bytes long
    /// (docs/stream.md §4, kind 5).
    pub fn file_piece(
        &mut self,
        index: u32,
        offset: u32,
        bytes: &[u8],
        total: u32,
        generation: u64,
        now: i64,
    ) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(HEADER + twin_core::stream::FILE_PIECE_HEADER + bytes.len());
        self.header(&mut out, twin_core::stream::KIND_FILE, 0, generation, now);
        Header::set_count(&mut out, total);
        twin_core::stream::write_file_piece(&mut out, index, offset, bytes);
        out
    }

    fn header(&mut self, out: &mut Vec<u8>, kind: u8, overlay: u16, generation: u64, now: i64) {
        self.seq = self.seq.wrapping_add(1);
        out.clear();
        Header {
            kind,
            overlay,
            generation: generation as u32,
            seq: self.seq,
            count: 0,
            now,
        }
        .write(out);
    }

    /// A colour frame of overlay `overlay` (0: the session's, [`Mirror::colors`]) of
    /// at most `max_bytes` from the handles in `dirty` (taken out of it as they are
    /// written), or `None` when `dirty` is empty.
    pub fn colors(
        &mut self,
        dirty: &mut Bits,
        mirror: &Mirror,
        overlay: u16,
        now: i64,
        max_bytes: usize,
    ) -> Option<Vec<u8>> {
        let colors = mirror.colors.get(usize::from(overlay))?;
        let mut h = dirty.next_from(0)?;
        let mut out = Vec::with_capacity(max_bytes.min(HEADER + 8 + 4 * dirty.len()));
        self.header(&mut out, KIND_COLORS, overlay, mirror.generation, now);
        let mut runs = 0u32;
        loop {
            // One run: consecutive dirty handles from `h`.
            if out.len() + RUN_HEADER + 4 > max_bytes {
                break;
            }
            let start = h;
            let len_at = start_run(&mut out, start);
            let mut len = 0u32;
            let mut next = Some(h);
            while let Some(x) = next {
                if x != start + len || out.len() + 4 > max_bytes {
                    break;
                }
                let c = colors.get(x as usize).copied().unwrap_or([0; 4]);
                out.extend_from_slice(&c);
                dirty.unset(x);
                len += 1;
                next = dirty.next_from(x + 1);
            }
            set_run_len(&mut out, len_at, len);
            runs += 1;
            match next {
                Some(x) if out.len() + RUN_HEADER + 4 <= max_bytes => h = x,
                _ => break,
            }
        }
        Header::set_count(&mut out, runs);
        Some(out)
    }

    /// A value frame of at most `max_bytes` from the handles in `dirty` (taken out as
    /// they are written): each handle's values on `channels` (the ones it holds), or
    /// on every channel for handles in `pins`. `None` when `dirty` is empty.
    pub fn values(
        &mut self,
        dirty: &mut Bits,
        channels: &[u16],
        pins: &Bits,
        mirror: &Mirror,
        now: i64,
        max_bytes: usize,
    ) -> Option<Vec<u8>> {
        let mut h = dirty.next_from(0)?;
        let all: Vec<u16> = (0..mirror.channels.len() as u16).collect();
        let mut out = Vec::with_capacity(max_bytes.min(HEADER + VALUE_RECORD * 4 * dirty.len()));
        self.header(&mut out, KIND_VALUES, 0, mirror.generation, now);
        let mut records = 0u32;
        loop {
            let wanted = if pins.has(h) { &all[..] } else { channels };
            if out.len() + VALUE_RECORD * wanted.len() > max_bytes && records > 0 {
                break;
            }
            for &c in wanted {
                let Some(m) = mirror.channels.get(c as usize) else {
                    continue;
                };
                let i = h as usize;
                let ts = m.ts.get(i).copied().unwrap_or(NO_TS);
                if ts == NO_TS {
                    continue;
                }
                ValueRecord {
                    handle: h,
                    channel: c,
                    quality: m.quality[i],
                    value: m.value[i],
                    ts,
                }
                .write(&mut out);
                records += 1;
            }
            dirty.unset(h);
            match dirty.next_from(h + 1) {
                Some(x) => h = x,
                None => break,
            }
        }
        Header::set_count(&mut out, records);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::hub::ChannelMirror;
    use twin_core::stream::{Body, VERSION, decode};

    fn mirror() -> Mirror {
        Mirror {
            generation: 7,
            fingerprint: "x".into(),
            colors: vec![(0..10u8).map(|i| [i, 0, 0, 255]).collect()],
            channels: vec![ChannelMirror {
                value: (0..10).map(f64::from).collect(),
                ts: (0..10)
                    .map(|i| if i == 5 { NO_TS } else { 1000 + i })
                    .collect(),
                quality: vec![0; 10],
            }],
        }
    }

    #[test]
    fn bitsets_count_and_walk_in_order() {
        let mut b = Bits::new(130);
        for h in [3, 64, 65, 129, 3] {
            b.set(h);
        }
        assert_eq!(b.len(), 4);
        assert_eq!(b.next_from(0), Some(3));
        assert_eq!(b.next_from(4), Some(64));
        assert_eq!(b.next_from(66), Some(129));
        assert_eq!(b.next_from(130), None);
        b.unset(64);
        assert_eq!(b.len(), 3);
        let mut c = Bits::new(130);
        c.set(3);
        assert_eq!(b.minus(&c).len(), 2);
        c.union_with(&b);
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn colour_frames_are_runs_of_consecutive_handles() {
        let m = mirror();
        let mut dirty = Bits::new(10);
        for h in [1, 2, 3, 7] {
            dirty.set(h);
        }
        let mut f = Framer::default();
        let out = f.colors(&mut dirty, &m, 0, 42, 1 << 18).unwrap();
        assert!(dirty.is_empty());
        assert_eq!(out[0], KIND_COLORS);
        assert_eq!(out[1], VERSION);
        assert_eq!(u32::from_le_bytes(out[4..8].try_into().unwrap()), 7);
        assert_eq!(u32::from_le_bytes(out[8..12].try_into().unwrap()), 1);
        assert_eq!(
            u32::from_le_bytes(out[12..16].try_into().unwrap()),
            2,
            "two runs"
        );
        assert_eq!(i64::from_le_bytes(out[16..24].try_into().unwrap()), 42);
        // Run 1: start 1, len 3, colours 1, 2, 3; run 2: start 7, len 1.
        let body = &out[24..];
        assert_eq!(&body[0..8], &[1, 0, 0, 0, 3, 0, 0, 0]);
        assert_eq!(&body[8..20], &[1, 0, 0, 255, 2, 0, 0, 255, 3, 0, 0, 255]);
        assert_eq!(&body[20..28], &[7, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(&body[28..32], &[7, 0, 0, 255]);
        assert_eq!(out.len(), 24 + 32);
        // twin-core's reader (every screen's) reads the same runs.
        let (h, body) = decode(&out).unwrap();
        assert_eq!((h.generation, h.seq, h.count, h.now), (7, 1, 2, 42));
        assert_eq!(
            body,
            Body::Colors(vec![
                (1..4, &[1u8, 0, 0, 255, 2, 0, 0, 255, 3, 0, 0, 255][..]),
                (7..8, &[7u8, 0, 0, 255][..]),
            ])
        );
        assert!(f.colors(&mut dirty, &m, 0, 42, 1 << 18).is_none());
    }

    #[test]
    fn frames_stop_at_their_size_and_leave_the_rest_dirty() {
        let m = mirror();
        let mut dirty = Bits::new(10);
        for h in 0..10 {
            dirty.set(h);
        }
        let mut f = Framer::default();
        // Header, one run header and four colours.
        let out = f.colors(&mut dirty, &m, 0, 0, 24 + 8 + 16).unwrap();
        assert_eq!(out.len(), 48);
        assert_eq!(dirty.len(), 6);
        assert_eq!(dirty.next_from(0), Some(4));
        let out = f.colors(&mut dirty, &m, 0, 0, 1 << 18).unwrap();
        assert_eq!(
            u32::from_le_bytes(out[8..12].try_into().unwrap()),
            2,
            "second frame"
        );
        assert!(dirty.is_empty());
    }

    #[test]
    fn value_records_skip_handles_without_a_value() {
        let m = mirror();
        let mut dirty = Bits::new(10);
        dirty.set(4);
        dirty.set(5);
        let mut f = Framer::default();
        let out = f
            .values(&mut dirty, &[0], &Bits::new(10), &m, 9, 1 << 18)
            .unwrap();
        assert_eq!(u32::from_le_bytes(out[12..16].try_into().unwrap()), 1);
        let r = &out[24..];
        assert_eq!(r.len(), VALUE_RECORD);
        assert_eq!(u32::from_le_bytes(r[0..4].try_into().unwrap()), 4);
        assert_eq!(u16::from_le_bytes(r[4..6].try_into().unwrap()), 0);
        assert_eq!(f64::from_le_bytes(r[8..16].try_into().unwrap()), 4.0);
        assert_eq!(i64::from_le_bytes(r[16..24].try_into().unwrap()), 1004);
        match decode(&out).unwrap().1 {
            Body::Values(v) => assert_eq!(
                (v.len(), v[0].handle, v[0].value, v[0].ts),
                (1, 4, 4.0, 1004)
            ),
            other => panic!("{other:?}"),
        }
        assert!(dirty.is_empty());
    }
}
