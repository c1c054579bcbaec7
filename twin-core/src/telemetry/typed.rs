//! The typed serde path of a JSON Lines reading: serde_json deserializes the line
//! straight into the members twin reads, strings borrowed from the line (copied only
//! when they have escapes), no [`serde_json::Value`] tree.
//!
//! It reads every line exactly as [`super::parse_json_line_serde`] (the `Value` DOM)
//! does, with the same results and error messages:
//!
//! - the same parser runs over the same bytes with `deserialize_any` everywhere, so a
//!   line that is not JSON fails with the same serde_json error, at the same place;
//! - a repeated member: the last one counts (as in a `serde_json::Map`);
//! - other members are read and dropped (their numbers and strings checked as the
//!   DOM checks them: `1e400` anywhere is "number out of range");
//! - arrays and objects, which twin never reads but may name in an error, and a line
//!   that is not an object, are read as `Value`s (rare lines only);
//! - the checks of the members are the DOM path's, in the same order.
//!
//! Hence the `Deserialize` of the line is written out rather than derived: a derived
//! struct refuses repeated members ("duplicate field"), skips other members without
//! checking their numbers ([`serde::de::IgnoredAny`]) and reads an array as a struct.
//! It is the code the derive would generate otherwise. Anything the visitors refuse
//! themselves (only serde_json's private raw-value key as a line's first member, which
//! the DOM reads its own way) is left to the DOM path.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::error::Category;
use serde_json::{Number, Value as Json};

use super::{ReadingRef, ValueRef, check_ts, parse_json_line_serde, quality};
use crate::state::{Quality, Reading, Value};

/// A value borrowed from its line where it has no escapes.
#[derive(Clone, Debug, PartialEq)]
pub enum ValueCow<'a> {
    /// A number.
    Num(f64),
    /// A boolean.
    Bool(bool),
    /// A state name.
    Text(Cow<'a, str>),
}

/// A reading as the typed serde path reads it: its strings borrowed from the line
/// unless they have escapes.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadingCow<'a> {
    /// The asset's external id.
    pub id: Cow<'a, str>,
    /// The channel's name.
    pub channel: Cow<'a, str>,
    /// Time of the reading.
    pub ts: crate::time::Timestamp,
    /// The value.
    pub value: ValueCow<'a>,
    /// The source's quality flag.
    pub quality: Quality,
}

impl<'a> ReadingCow<'a> {
    /// The reading, owned.
    pub fn to_reading(&self) -> Reading {
        Reading {
            id: self.id.to_string(),
            channel: self.channel.to_string(),
            ts: self.ts,
            value: match &self.value {
                ValueCow::Num(n) => Value::Num(*n),
                ValueCow::Bool(b) => Value::Bool(*b),
                ValueCow::Text(s) => Value::Text(s.to_string()),
            },
            quality: self.quality,
        }
    }

    /// The reading borrowed from its line, when none of its strings had to be copied.
    pub fn borrowed(&self) -> Option<ReadingRef<'a>> {
        let line = |s: &Cow<'a, str>| match s {
            Cow::Borrowed(s) => Some(*s),
            Cow::Owned(_) => None,
        };
        Some(ReadingRef {
            id: line(&self.id)?,
            channel: line(&self.channel)?,
            ts: self.ts,
            value: match &self.value {
                ValueCow::Num(n) => ValueRef::Num(*n),
                ValueCow::Bool(b) => ValueRef::Bool(*b),
                ValueCow::Text(s) => ValueRef::Text(line(s)?),
            },
            quality: self.quality,
        })
    }
}

impl From<Reading> for ReadingCow<'_> {
    fn from(r: Reading) -> Self {
        ReadingCow {
            id: Cow::Owned(r.id),
            channel: Cow::Owned(r.channel),
            ts: r.ts,
            value: match r.value {
                Value::Num(n) => ValueCow::Num(n),
                Value::Bool(b) => ValueCow::Bool(b),
                Value::Text(s) => ValueCow::Text(Cow::Owned(s)),
            },
            quality: r.quality,
        }
    }
}

/// Reads one line (see the module docs).
pub fn parse(line: &str) -> Result<ReadingCow<'_>, String> {
    let mut members = Members::default();
    // As `serde_json::from_str`, into `members` in place.
    let mut de = serde_json::Deserializer::from_str(line);
    let read = LineSeed(&mut members)
        .deserialize(&mut de)
        .and_then(|object| de.end().map(|()| object));
    match read {
        Ok(true) => {}
        Ok(false) => return Err("not a JSON object".into()),
        // Only refused by the visitors themselves: the DOM path decides.
        Err(e) if e.classify() == Category::Data => {
            return parse_json_line_serde(line).map(ReadingCow::from);
        }
        Err(e) => return Err(format!("not JSON: {e}")),
    }
    let id = text("id", members.id)?;
    let channel = text("channel", members.channel)?;
    let ts = match members.ts {
        Some(Member::Num(n)) => check_ts(
            n.as_i64()
                .ok_or_else(|| format!("`ts` {n} is not whole milliseconds"))?,
        )?,
        Some(other) => {
            return Err(format!(
                "`ts` must be UTC milliseconds, got {}",
                other.json()
            ));
        }
        None => return Err("missing `ts`".into()),
    };
    let value = match members.value {
        Some(Member::Num(n)) => ValueCow::Num(n.as_f64().ok_or("`value` is not a number")?),
        Some(Member::Bool(b)) => ValueCow::Bool(b),
        Some(Member::Str(s)) => ValueCow::Text(s),
        Some(other) => {
            return Err(format!(
                "`value` must be a number, boolean or state, got {}",
                other.json()
            ));
        }
        None => return Err("missing `value`".into()),
    };
    let flag = match &members.quality {
        Some(Member::Str(q)) => quality(Some(q)),
        _ => quality(None),
    }?;
    Ok(ReadingCow {
        id,
        channel,
        ts,
        value,
        quality: flag,
    })
}

/// A member that must be a non-empty string.
#[inline]
fn text<'a>(k: &str, m: Option<Member<'a>>) -> Result<Cow<'a, str>, String> {
    match m {
        Some(Member::Str(s)) if !s.is_empty() => Ok(s),
        Some(_) => Err(format!("`{k}` must be a non-empty string")),
        None => Err(format!("missing `{k}`")),
    }
}

/// The members of a line twin reads, as the line spells them.
#[derive(Default)]
struct Members<'a> {
    id: Option<Member<'a>>,
    channel: Option<Member<'a>>,
    ts: Option<Member<'a>>,
    value: Option<Member<'a>>,
    quality: Option<Member<'a>>,
}

/// One member's value.
enum Member<'a> {
    Str(Cow<'a, str>),
    Num(Number),
    Bool(bool),
    Null,
    /// An array or an object, as serde_json's DOM reads it.
    Compound(Box<Json>),
}

impl Member<'_> {
    /// The value as the DOM path prints it in an error.
    fn json(self) -> Json {
        match self {
            Member::Str(s) => Json::String(s.into_owned()),
            Member::Num(n) => Json::Number(n),
            Member::Bool(b) => Json::Bool(b),
            Member::Null => Json::Null,
            Member::Compound(v) => *v,
        }
    }
}

/// A member's name.
enum Key {
    Id,
    Channel,
    Ts,
    Value,
    Quality,
    /// serde_json's private key of a raw value, which its DOM reads specially when it
    /// comes first.
    Raw,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    #[inline]
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_identifier(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    #[inline]
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Key, E> {
        Ok(match s {
            "id" => Key::Id,
            "channel" => Key::Channel,
            "ts" => Key::Ts,
            "value" => Key::Value,
            "quality" => Key::Quality,
            "$serde_json::private::RawValue" => Key::Raw,
            _ => Key::Other,
        })
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Member<'a> {
    #[inline]
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MemberVisitor(PhantomData))
    }
}

struct MemberVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for MemberVisitor<'a> {
    type Value = Member<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    #[inline]
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Member<'a>, E> {
        Ok(Member::Bool(b))
    }

    #[inline]
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Member<'a>, E> {
        Ok(Member::Num(n.into()))
    }

    #[inline]
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Member<'a>, E> {
        Ok(Member::Num(n.into()))
    }

    #[inline]
    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Member<'a>, E> {
        // As serde_json's `Value` does.
        Ok(Number::from_f64(f).map_or(Member::Null, Member::Num))
    }

    #[inline]
    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Member<'a>, E> {
        Ok(Member::Str(Cow::Borrowed(s)))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Member<'a>, E> {
        Ok(Member::Str(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Member<'a>, E> {
        Ok(Member::Str(Cow::Owned(s)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Member<'a>, E> {
        Ok(Member::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Member<'a>, E> {
        Ok(Member::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Member<'a>, A::Error> {
        Json::deserialize(SeqAccessDeserializer::new(seq)).map(|v| Member::Compound(Box::new(v)))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Member<'a>, A::Error> {
        Json::deserialize(MapAccessDeserializer::new(map)).map(|v| Member::Compound(Box::new(v)))
    }
}

/// Reads a line into its members; `false` when it is not an object.
struct LineSeed<'m, 'a>(&'m mut Members<'a>);

impl<'de: 'a, 'a> DeserializeSeed<'de> for LineSeed<'_, 'a> {
    type Value = bool;

    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for LineSeed<'_, 'a> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    #[inline]
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let m = self.0;
        let mut first = true;
        while let Some(key) = map.next_key::<Key>()? {
            let slot = match key {
                Key::Id => &mut m.id,
                Key::Channel => &mut m.channel,
                Key::Ts => &mut m.ts,
                Key::Value => &mut m.value,
                Key::Quality => &mut m.quality,
                Key::Raw if first => {
                    return Err(de::Error::custom("a raw value: read by the DOM path"));
                }
                Key::Raw | Key::Other => {
                    map.next_value::<Member<'a>>()?;
                    first = false;
                    continue;
                }
            };
            *slot = Some(map.next_value()?);
            first = false;
        }
        Ok(true)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<bool, A::Error> {
        Json::deserialize(SeqAccessDeserializer::new(seq)).map(|_| false)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
}
