//! Channels: the named, typed quantities an asset reports (`level`, `pm25`, `online`).

use std::fmt;

/// A dense channel number, given in registration order.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct ChannelId(pub u16);

/// What values a channel takes.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", content = "states", rename_all = "snake_case")]
pub enum ChannelType {
    /// A finite number.
    Number,
    /// True or false.
    Bool,
    /// One of a fixed list of states (`open`, `closed`, `fault`).
    Enum(Vec<String>),
}

/// A channel's name, type and unit.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ChannelSpec {
    /// The name telemetry uses (`level`, `pm25`, `power`).
    pub name: String,
    /// The values it takes (in JSON: `"type"`, and `"states"` for an enumeration).
    #[serde(flatten)]
    pub ty: ChannelType,
    /// Unit for display (`m`, `µg/m³`, `kW`), if any.
    pub unit: Option<String>,
}

impl ChannelSpec {
    /// A numeric channel.
    pub fn number(name: &str, unit: &str) -> Self {
        ChannelSpec {
            name: name.into(),
            ty: ChannelType::Number,
            unit: (!unit.is_empty()).then(|| unit.to_string()),
        }
    }

    /// A boolean channel.
    pub fn boolean(name: &str) -> Self {
        ChannelSpec {
            name: name.into(),
            ty: ChannelType::Bool,
            unit: None,
        }
    }

    /// An enumerated channel.
    pub fn enumeration(name: &str, states: &[&str]) -> Self {
        ChannelSpec {
            name: name.into(),
            ty: ChannelType::Enum(states.iter().map(|s| s.to_string()).collect()),
            unit: None,
        }
    }

    /// A stored value as a person reads it: a number with about three significant
    /// digits (at most three decimals, none from 100 up) and the unit, `true`/`false`,
    /// or the state's name. `4.4945316576765535` in metres is `4.49 m`, `1234.6` kW is
    /// `1235 kW`, `0.01234` is `0.012`. Screens (the viewer, the dashboard through
    /// wasm, `twin watch`) all show values this way.
    pub fn format(&self, x: f64) -> String {
        match &self.ty {
            ChannelType::Number => {
                let decimals = if x == 0.0 || !x.is_finite() {
                    0
                } else {
                    (2 - x.abs().log10().floor() as i64).clamp(0, 3) as usize
                };
                let mut text = format!("{x:.decimals$}");
                if text == "-0"
                    || text.starts_with("-0.") && text.trim_end_matches(['0', '.']) == "-"
                {
                    text.remove(0);
                }
                match &self.unit {
                    Some(u) => format!("{text} {u}"),
                    None => text,
                }
            }
            ty => decode(ty, x).to_string().trim_matches('"').to_string(),
        }
    }
}

/// A value as telemetry delivers it, before it is checked against its channel.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A number.
    Num(f64),
    /// A boolean.
    Bool(bool),
    /// A state name of an enumerated channel.
    Text(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Num(n) => write!(f, "{n}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Text(s) => write!(f, "{s:?}"),
        }
    }
}

/// How far a reading can be trusted, as the source says.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Quality {
    /// A normal reading.
    #[default]
    Good = 0,
    /// The source doubts it (calibration due, estimated).
    Uncertain = 1,
    /// The source says it is wrong (sensor fault).
    Bad = 2,
}

impl Quality {
    /// Parses `good`, `uncertain` or `bad`.
    pub fn parse(s: &str) -> Option<Quality> {
        match s.trim().to_ascii_lowercase().as_str() {
            "good" | "ok" => Some(Quality::Good),
            "uncertain" => Some(Quality::Uncertain),
            "bad" => Some(Quality::Bad),
            _ => None,
        }
    }

    /// The flag stored as `u8` (0 good, 1 uncertain, anything else bad).
    pub fn from_u8(q: u8) -> Quality {
        match q {
            0 => Quality::Good,
            1 => Quality::Uncertain,
            _ => Quality::Bad,
        }
    }
}

/// Encodes a delivered value for a channel as the f64 the columns hold (bools as 0/1,
/// enum states as their index), or says why it does not fit.
pub(crate) fn encode(ty: &ChannelType, v: &Value) -> Result<f64, EncodeError> {
    match (ty, v) {
        (ChannelType::Number, Value::Num(n)) if n.is_finite() => Ok(*n),
        (ChannelType::Number, Value::Num(_)) => Err(EncodeError::NotFinite),
        (ChannelType::Bool, Value::Bool(b)) => Ok(if *b { 1.0 } else { 0.0 }),
        (ChannelType::Enum(states), Value::Text(s)) => states
            .iter()
            .position(|x| x == s)
            .map(|i| i as f64)
            .ok_or(EncodeError::UnknownState),
        _ => Err(EncodeError::WrongType),
    }
}

/// Why a value does not fit its channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EncodeError {
    NotFinite,
    WrongType,
    UnknownState,
}

/// Decodes a column value back to what the channel delivers.
pub fn decode(ty: &ChannelType, x: f64) -> Value {
    match ty {
        ChannelType::Number => Value::Num(x),
        ChannelType::Bool => Value::Bool(x != 0.0),
        ChannelType::Enum(states) => Value::Text(
            states
                .get(x as usize)
                .cloned()
                .unwrap_or_else(|| format!("#{x}")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_with_three_significant_digits_and_their_unit() {
        let level = ChannelSpec::number("level", "m");
        assert_eq!(level.format(4.4945316576765535), "4.49 m");
        assert_eq!(level.format(0.0), "0 m");
        assert_eq!(level.format(-0.0001), "0.000 m");
        assert_eq!(level.format(0.01234), "0.012 m");
        assert_eq!(level.format(12.345), "12.3 m");
        assert_eq!(level.format(-12.345), "-12.3 m");
        assert_eq!(level.format(1234.6), "1235 m");
        assert_eq!(ChannelSpec::number("count", "").format(7.0), "7.00");
        assert_eq!(ChannelSpec::boolean("open").format(1.0), "true");
        let gate = ChannelSpec::enumeration("gate", &["open", "closed"]);
        assert_eq!(gate.format(1.0), "closed");
        assert_eq!(gate.format(5.0), "#5");
    }
}
