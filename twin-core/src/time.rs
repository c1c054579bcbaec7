//! Time in the twin's public API: a [`Timestamp`] is a moment in UTC to the
//! millisecond, the resolution of every sample, alert and history record.
//!
//! It is one `i64` of milliseconds since the Unix epoch (`#[repr(transparent)]`, so a
//! [`crate::state::Sample`] costs no more than before), ordered, hashable and `Copy`.
//! Text goes through [jiff](https://docs.rs/jiff): [`Timestamp`] parses RFC 3339 /
//! ISO 8601 date-times with any offset (`2025-11-21T04:40:00Z`,
//! `2025-11-21T12:40:00.250+08:00`, a space for the `T`) and displays as RFC 3339 in
//! UTC, with milliseconds only when there are some (`2025-11-21T04:40:00Z`,
//! `2025-11-21T04:40:00.123Z`). In JSON (serde) a timestamp is its number of
//! milliseconds, the form of twin's telemetry files and MQTT payloads; deserializing
//! also takes an ISO 8601 string.
//!
//! Spans of time are `std::time::Duration` where they cannot be negative and plain
//! milliseconds (`i64`, named `_ms`) where they can.

use std::fmt;
use std::str::FromStr;

/// The earliest time twin accepts: 1970-01-01T00:00:00Z.
pub const EARLIEST_MS: i64 = 0;
/// The first time twin no longer accepts: 2200-01-01T00:00:00Z.
pub const END_MS: i64 = 7_258_118_400_000;

/// A moment in UTC, in whole milliseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Timestamp(i64);

/// Why a text or number is not a [`Timestamp`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Not an ISO 8601 / RFC 3339 date-time with an offset.
    #[error(
        "`{text}` is not an ISO 8601 date-time with an offset (e.g. 2025-11-21T04:40:00Z): {why}"
    )]
    Syntax {
        /// The text given.
        text: String,
        /// What jiff found wrong.
        why: String,
    },
    /// Outside the years twin accepts (1970 to 2199).
    #[error("{ms} ms is outside 1970-01-01 to 2200-01-01")]
    OutOfRange {
        /// The milliseconds since the epoch.
        ms: i64,
    },
}

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp(0);

    /// The moment `ms` milliseconds after the epoch (any `i64`; see
    /// [`Timestamp::checked_from_millis`] for the range twin stores).
    pub const fn from_millis(ms: i64) -> Timestamp {
        Timestamp(ms)
    }

    /// The moment `ms` milliseconds after the epoch if it lies in 1970–2199, the range
    /// twin's stores and files accept.
    pub fn checked_from_millis(ms: i64) -> Result<Timestamp, TimeError> {
        if (EARLIEST_MS..END_MS).contains(&ms) {
            Ok(Timestamp(ms))
        } else {
            Err(TimeError::OutOfRange { ms })
        }
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// This moment moved by `ms` milliseconds (saturating at the ends of `i64`).
    pub const fn add_ms(self, ms: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(ms))
    }

    /// Milliseconds from `earlier` to this moment (negative when `earlier` is later).
    pub const fn ms_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// The same moment as a [`jiff::Timestamp`].
    pub fn to_jiff(self) -> jiff::Timestamp {
        // Every i64 of milliseconds is within jiff's range (years -9999 to 9999 hold
        // ±2.5e14 ms; larger values saturate to jiff's ends).
        jiff::Timestamp::from_millisecond(self.0).unwrap_or(if self.0 < 0 {
            jiff::Timestamp::MIN
        } else {
            jiff::Timestamp::MAX
        })
    }

    /// A [`jiff::Timestamp`] truncated to the millisecond.
    pub fn from_jiff(t: jiff::Timestamp) -> Timestamp {
        Timestamp(t.as_millisecond())
    }

    /// `HH:MM:SSZ`, the time of day in UTC (for status lines).
    pub fn clock(self) -> String {
        let s = self.0.div_euclid(1000);
        let (h, m, sec) = ((s / 3600) % 24, (s / 60) % 60, s % 60);
        format!("{h:02}:{m:02}:{sec:02}Z")
    }
}

impl From<Timestamp> for i64 {
    fn from(t: Timestamp) -> i64 {
        t.0
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC, milliseconds only when there are some.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // jiff prints the shortest fraction that keeps the value; whole milliseconds
        // have at most three digits, so `.5` would read as `.500`: pad to three.
        let t = self.to_jiff();
        if self.0.rem_euclid(1000) == 0 {
            write!(f, "{t:.0}")
        } else {
            write!(f, "{t:.3}")
        }
    }
}

impl FromStr for Timestamp {
    type Err = TimeError;
    /// Parses an RFC 3339 / ISO 8601 date-time with an offset (`Z`, `+08:00`, `+0800`);
    /// fractions below a millisecond are truncated.
    fn from_str(s: &str) -> Result<Timestamp, TimeError> {
        let text = s.trim();
        let t: jiff::Timestamp = text.parse().map_err(|e: jiff::Error| TimeError::Syntax {
            text: text.to_string(),
            why: e.to_string(),
        })?;
        Ok(Timestamp::from_jiff(t))
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("UTC milliseconds since the epoch or an ISO 8601 date-time")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Timestamp, E> {
                Ok(Timestamp(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Timestamp, E> {
                i64::try_from(v)
                    .map(Timestamp)
                    .map_err(|_| E::custom(format!("{v} ms is out of range")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timestamp, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_8601_in_and_out() {
        let t = Timestamp::from_millis(1_763_700_000_000);
        assert_eq!(t.to_string(), "2025-11-21T04:40:00Z");
        assert_eq!(
            Timestamp::from_millis(1_763_700_000_123).to_string(),
            "2025-11-21T04:40:00.123Z"
        );
        assert_eq!(
            Timestamp::from_millis(1_763_700_000_500).to_string(),
            "2025-11-21T04:40:00.500Z"
        );
        assert_eq!(Timestamp::EPOCH.to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Timestamp::from_millis(951_782_400_000).to_string(),
            "2000-02-29T00:00:00Z"
        );
        for text in [
            "2025-11-21T04:40:00Z",
            "2025-11-21T12:40:00+08:00",
            "2025-11-21t04:40:00z",
            "2025-11-21 04:40:00Z",
            "2025-11-21T12:40:00+0800",
            "2025-11-21T00:40:00-04:00",
        ] {
            assert_eq!(text.parse::<Timestamp>(), Ok(t), "{text}");
        }
        assert_eq!(
            "2025-11-21T12:40:00.2509+08:00".parse::<Timestamp>(),
            Ok(Timestamp::from_millis(1_763_700_000_250))
        );
        for bad in [
            "",
            "2025-11-21",
            "2025-11-21T04:40:00",
            "2025-02-30T00:00:00Z",
            "2025-11-21T24:40:00Z",
            "yesterday",
        ] {
            let e = bad.parse::<Timestamp>().unwrap_err();
            assert!(matches!(e, TimeError::Syntax { .. }), "{bad}: {e}");
            assert!(e.to_string().contains("ISO 8601"), "{e}");
        }
    }

    #[test]
    fn range_and_arithmetic() {
        assert!(Timestamp::checked_from_millis(-1).is_err());
        assert!(Timestamp::checked_from_millis(END_MS).is_err());
        assert_eq!(
            Timestamp::checked_from_millis(END_MS - 1)
                .unwrap()
                .to_string(),
            "2199-12-31T23:59:59.999Z"
        );
        let t = Timestamp::from_millis(1000);
        assert_eq!(t.add_ms(500).ms_since(t), 500);
        assert_eq!(
            Timestamp::from_millis(i64::MAX).add_ms(1).as_millis(),
            i64::MAX
        );
        assert_eq!(Timestamp::from_millis(3_723_000).clock(), "01:02:03Z");
        let _ = Timestamp::from_millis(i64::MIN).to_string();
    }

    #[test]
    fn serde_is_milliseconds_and_reads_iso() {
        let t = Timestamp::from_millis(1_763_700_000_000);
        assert_eq!(serde_json::to_string(&t).unwrap(), "1763700000000");
        assert_eq!(
            serde_json::from_str::<Timestamp>("1763700000000").unwrap(),
            t
        );
        assert_eq!(
            serde_json::from_str::<Timestamp>("\"2025-11-21T04:40:00Z\"").unwrap(),
            t
        );
        assert!(serde_json::from_str::<Timestamp>("\"soon\"").is_err());
        assert!(serde_json::from_str::<Timestamp>("1.5").is_err());
    }
}
