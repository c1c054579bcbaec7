// Kept by measurement (2026-12-06): this parser against a typed serde deserializer
// that borrows its strings (`typed.rs`, no `Value` DOM), same lines, same bench run:
//
//   nice cargo bench -p twin-benches --bench state -- "json/"
//
// One second of the bundled island, ~102,000 lines; two runs, ns per line:
//   hand-written (this file)                  80.3    77.4
//   typed serde, borrowed (typed.rs)         162.4   152.9   -> 2.02x, 1.98x slower
//   plain `#[derive]`, untagged value        182.1   191.0   (not exact, for comparison)
//   serde_json `Value` DOM                   586.3   534.8
// The rule was: keep this only if at least 1.5x faster than the typed serde path.
// (2 shared cores, another build running beside: compare the ratios, not the times.)

//! The hand-written parser for the common shape of a JSON Lines reading: one flat
//! object with the members `id`, `channel`, `ts`, `value` and optionally `quality`, in
//! any order, strings without escapes. It borrows from the line (no allocation) and
//! answers only when it is sure: for anything else — escapes, other members,
//! duplicates, `null`, numbers it cannot convert exactly as serde_json does, and every
//! malformed or refused line — it returns `None` and the caller falls back to
//! serde_json (the typed path, [`super::parse_json_line_typed`], which reads every
//! line as [`super::parse_json_line_serde`] does), so results and error messages are
//! those of the fallback by construction.
//!
//! Numbers: `ts` must be a JSON integer; `value` any JSON number whose significand
//! fits a `u64` (at most 19 digits). Integers convert as serde_json's `as_f64` does
//! (`u as f64`). Other numbers are `significand × 10^exponent`: exactly representable
//! operands (significand below 2^53, |exponent| ≤ 22) give one correctly rounded
//! operation, the same in both of serde_json's modes; otherwise the result is computed
//! as serde_json computes it, which depends on whether its `float_roundtrip` feature
//! is on (correct rounding) or off (its own multiply/divide by a power of ten). Which
//! one is in force is found once, by parsing a number on which they differ.

use std::sync::OnceLock;

use super::{TS_RANGE, quality_name};
use crate::state::Quality;

/// A value borrowed from its line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ValueRef<'a> {
    /// A number.
    Num(f64),
    /// A boolean.
    Bool(bool),
    /// A state name.
    Text(&'a str),
}

/// A reading borrowed from its line: what the fast path of
/// [`super::parse_json_line`] reads without allocating.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReadingRef<'a> {
    /// The asset's external id.
    pub id: &'a str,
    /// The channel's name.
    pub channel: &'a str,
    /// Time of the reading.
    pub ts: crate::time::Timestamp,
    /// The value.
    pub value: ValueRef<'a>,
    /// The source's quality flag.
    pub quality: Quality,
}

/// Reads `line` if it has the common shape (see the module docs); `None` means "ask
/// serde_json", not "invalid".
pub fn parse(line: &str) -> Option<ReadingRef<'_>> {
    let mut c = Cursor { text: line, i: 0 };
    c.ws();
    c.eat(b'{')?;
    let (mut id, mut channel, mut ts, mut value, mut quality) = (None, None, None, None, None);
    c.ws();
    if c.peek() != Some(b'}') {
        loop {
            let key = c.string()?;
            c.ws();
            c.eat(b':')?;
            c.ws();
            match key {
                "id" if id.is_none() => id = Some(c.string()?),
                "channel" if channel.is_none() => channel = Some(c.string()?),
                "ts" if ts.is_none() => ts = Some(c.timestamp()?),
                "value" if value.is_none() => value = Some(c.value()?),
                "quality" if quality.is_none() => quality = Some(c.string()?),
                _ => return None,
            }
            c.ws();
            match c.next()? {
                b',' => c.ws(),
                b'}' => break,
                _ => return None,
            }
        }
    } else {
        c.i += 1;
    }
    c.ws();
    if c.i != line.len() {
        return None;
    }
    let (id, channel) = (id?, channel?);
    if id.is_empty() || channel.is_empty() {
        return None;
    }
    let quality = match quality {
        None => Quality::Good,
        Some(q) => quality_name(q)?,
    };
    Some(ReadingRef {
        id,
        channel,
        ts: ts?,
        value: value?,
        quality,
    })
}

struct Cursor<'a> {
    text: &'a str,
    i: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.i).copied()
    }

    #[inline]
    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.i += 1;
        Some(b)
    }

    #[inline]
    fn eat(&mut self, b: u8) -> Option<()> {
        (self.next()? == b).then_some(())
    }

    /// Skips JSON whitespace.
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    /// A string without escapes or control characters.
    #[inline]
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        let bytes = self.text.as_bytes();
        // Eight bytes at a time while none of them ends or escapes the string.
        while let Some(w) = word(bytes, self.i) {
            let stop = special(w);
            if stop != 0 {
                self.i += (stop.trailing_zeros() / 8) as usize;
                break;
            }
            self.i += 8;
        }
        loop {
            match *bytes.get(self.i)? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => self.i += 1,
            }
        }
        let s = self.text.get(start..self.i)?;
        self.i += 1;
        Some(s)
    }

    /// Digits of a JSON integer part into a u64 (no leading zeros); `None` on overflow
    /// (serde_json then parses a long number its own way) or bad syntax. Returns the
    /// value and the number of digits.
    #[inline]
    fn digits(&mut self, mut acc: u64, leading: bool) -> Option<(u64, u32)> {
        let mut n = 0u32;
        if leading {
            match self.peek()? {
                b'0' => {
                    self.i += 1;
                    return match self.peek() {
                        Some(b'0'..=b'9') => None,
                        _ => Some((0, 1)),
                    };
                }
                b'1'..=b'9' => {}
                _ => return None,
            }
        }
        let bytes = self.text.as_bytes();
        loop {
            // Eight digits at once while the value stays far from overflowing.
            if acc < 10_000_000_000
                && let Some(eight) = word(bytes, self.i).and_then(eight_digits)
            {
                acc = acc * 100_000_000 + eight;
                self.i += 8;
                n += 8;
                continue;
            }
            let Some(d @ b'0'..=b'9') = self.peek() else {
                break;
            };
            let d = u64::from(d - b'0');
            acc = if acc < 1_000_000_000_000_000_000 {
                acc * 10 + d
            } else {
                acc.checked_mul(10)?.checked_add(d)?
            };
            self.i += 1;
            n += 1;
        }
        Some((acc, n))
    }

    /// A `ts`: a non-negative JSON integer in [`TS_RANGE`].
    fn timestamp(&mut self) -> Option<crate::time::Timestamp> {
        let (n, _) = self.digits(0, true)?;
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let ts = i64::try_from(n).ok()?;
        TS_RANGE
            .contains(&ts)
            .then_some(crate::time::Timestamp::from_millis(ts))
    }

    /// A `value`: a number, a boolean or a string.
    fn value(&mut self) -> Option<ValueRef<'a>> {
        match self.peek()? {
            b'"' => self.string().map(ValueRef::Text),
            b't' => self.word("true").map(|()| ValueRef::Bool(true)),
            b'f' => self.word("false").map(|()| ValueRef::Bool(false)),
            _ => self.number().map(ValueRef::Num),
        }
    }

    fn word(&mut self, w: &str) -> Option<()> {
        let end = self.i + w.len();
        (self.text.as_bytes().get(self.i..end)? == w.as_bytes()).then_some(())?;
        self.i = end;
        Some(())
    }

    /// A JSON number, converted as serde_json converts it.
    fn number(&mut self) -> Option<f64> {
        let start = self.i;
        let negative = self.peek()? == b'-';
        if negative {
            self.i += 1;
        }
        let (mut significand, _) = self.digits(0, true)?;
        let mut exponent: i32 = 0;
        let mut float = false;
        if self.peek() == Some(b'.') {
            self.i += 1;
            let (s, n) = self.digits(significand, false)?;
            if n == 0 {
                return None;
            }
            significand = s;
            exponent = -i32::try_from(n).ok()?;
            float = true;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            let positive = match self.peek()? {
                b'+' => {
                    self.i += 1;
                    true
                }
                b'-' => {
                    self.i += 1;
                    false
                }
                _ => true,
            };
            let mut exp: i32 = 0;
            let mut n = 0;
            while let Some(d @ b'0'..=b'9') = self.peek() {
                exp = exp.checked_mul(10)?.checked_add(i32::from(d - b'0'))?;
                self.i += 1;
                n += 1;
            }
            if n == 0 {
                return None;
            }
            exponent = if positive {
                exponent.saturating_add(exp)
            } else {
                exponent.saturating_sub(exp)
            };
            float = true;
        }
        if !float {
            // serde_json: U64, I64, or F64 for `-0`; `as_f64` converts with `as`.
            let f = significand as f64;
            return Some(if negative { -f } else { f });
        }
        let f = if significand < (1 << 53) && (-22..=22).contains(&exponent) {
            let pow = pow10()[exponent.unsigned_abs() as usize];
            let s = significand as f64;
            if exponent >= 0 { s * pow } else { s / pow }
        } else if serde_rounds_correctly() {
            let f: f64 = self.text.get(start..self.i)?.parse().ok()?;
            return f.is_finite().then_some(f);
        } else {
            serde_from_parts(significand, exponent)?
        };
        Some(if negative { -f } else { f })
    }
}

/// The 8 bytes at `i`, little-endian, if there are 8.
#[inline]
fn word(bytes: &[u8], i: usize) -> Option<u64> {
    let w: [u8; 8] = bytes.get(i..i.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(w))
}

/// The high bit of every byte of `w` that is `"`, `\` or a control character
/// (below 0x20). Exact: a borrow out of a lower byte cannot set a higher byte's bit.
#[inline]
fn special(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    // The first flagged byte is always a real one; only its position is used.
    zero(w ^ (ONES * u64::from(b'"'))) | zero(w ^ (ONES * u64::from(b'\\'))) | below_space
}

/// The value of 8 ASCII digits (little-endian word), if all 8 bytes are digits.
#[inline]
fn eight_digits(w: u64) -> Option<u64> {
    const HIGH_NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    let all_digits = (w & HIGH_NIBBLES)
        | ((w.wrapping_add(0x0606_0606_0606_0606) & HIGH_NIBBLES) >> 4)
        == 0x3333_3333_3333_3333;
    if !all_digits {
        return None;
    }
    // Pairs, then quads, then the eight (as in simdjson and fast_float).
    let v = w.wrapping_sub(0x3030_3030_3030_3030);
    let v = v.wrapping_mul(10).wrapping_add(v >> 8);
    let v = (v & 0x0000_00FF_0000_00FF)
        .wrapping_mul(100 + (1_000_000 << 32))
        .wrapping_add(((v >> 16) & 0x0000_00FF_0000_00FF).wrapping_mul(1 + (10_000 << 32)))
        >> 32;
    Some(v & 0xFFFF_FFFF)
}

/// 1e0 ..= 1e308, each correctly rounded, as serde_json's table of literals.
fn pow10() -> &'static [f64] {
    static TABLE: OnceLock<Vec<f64>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..=308)
            .map(|e| format!("1e{e}").parse().unwrap_or(f64::INFINITY))
            .collect()
    })
}

/// serde_json's `f64_from_parts` without its `float_roundtrip` feature; `None` where
/// it reports the number out of range.
fn serde_from_parts(significand: u64, mut exponent: i32) -> Option<f64> {
    let table = pow10();
    let mut f = significand as f64;
    loop {
        match table.get(exponent.wrapping_abs() as usize) {
            Some(&pow) => {
                if exponent >= 0 {
                    f *= pow;
                    if f.is_infinite() {
                        return None;
                    }
                } else {
                    f /= pow;
                }
                return Some(f);
            }
            None => {
                if f == 0.0 {
                    return Some(f);
                }
                if exponent >= 0 {
                    return None;
                }
                f /= 1e308;
                exponent += 308;
            }
        }
    }
}

/// Whether serde_json, as built, rounds decimal numbers correctly (its
/// `float_roundtrip` feature): without it, `3e23` reads as 2.9999999999999997e23.
fn serde_rounds_correctly() -> bool {
    static EXACT: OnceLock<bool> = OnceLock::new();
    *EXACT.get_or_init(|| serde_json::from_str::<f64>("3e23").is_ok_and(|f| f == 3e23))
}
