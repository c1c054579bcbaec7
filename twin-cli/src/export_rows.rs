//! The rows every table export writes (GeoPackage and GeoParquet): one per asset, the
//! same columns in both, so a user who switches format finds the same names.
//!
//! Fixed columns: `asset_id`, `kind`, `sensor_type`, `name_zh`, `name_en`, `town`,
//! `base`, `height`, `z_level`, `attached_to`, `part_of`, `properties` (the asset's
//! other properties as a JSON object). With a state store, two columns per channel:
//! `<channel>` (the latest value: a number, a boolean, or the state's name for
//! enumerated channels) and `<channel>_time` (ISO 8601 UTC).

use std::collections::HashSet;

use twin_core::state::{ChannelId, ChannelType, StateStore, Value};
use twin_core::{Asset, Handle, PropValue, Twin};

/// The fixed columns, in order (the geometry column is the format's own).
pub const FIXED: [&str; 12] = [
    "asset_id",
    "kind",
    "sensor_type",
    "name_zh",
    "name_en",
    "town",
    "base",
    "height",
    "z_level",
    "attached_to",
    "part_of",
    "properties",
];

/// A state channel exported as two columns.
pub struct ChannelColumn {
    /// The channel.
    pub id: ChannelId,
    /// Its value column's name (`<column>_time` is its time column).
    pub column: String,
    /// Its type.
    pub ty: ChannelType,
}

/// The channels of `store` as columns. Names must not collide (SQLite compares
/// them without case) with the fixed columns, `reserved` or each other: such a
/// channel gets a `ch_` prefix.
pub fn channel_columns(store: Option<&StateStore>, reserved: &[&str]) -> Vec<ChannelColumn> {
    let mut taken: HashSet<String> = FIXED
        .iter()
        .chain(reserved)
        .map(|s| s.to_lowercase())
        .collect();
    let Some(store) = store else {
        return Vec::new();
    };
    store
        .channels()
        .map(|(id, spec)| {
            let mut col = spec.name.clone();
            while taken.contains(&col.to_lowercase())
                || taken.contains(&format!("{col}_time").to_lowercase())
            {
                col = format!("ch_{col}");
            }
            taken.insert(col.to_lowercase());
            taken.insert(format!("{col}_time").to_lowercase());
            ChannelColumn {
                id,
                column: col,
                ty: spec.ty.clone(),
            }
        })
        .collect()
}

/// One asset's row.
pub struct Row<'a> {
    /// The asset (id, kind, names, heights, relations, geometry).
    pub asset: &'a Asset,
    /// The id of the town it lies in.
    pub town: Option<&'a str>,
    /// Its other properties as a JSON object.
    pub properties: String,
    /// Per channel column: the latest value and its time (Unix milliseconds).
    pub state: Vec<Option<(Value, i64)>>,
}

/// The row of asset `h`.
pub fn row<'a>(
    twin: &'a Twin,
    store: Option<&StateStore>,
    channels: &[ChannelColumn],
    h: Handle,
    asset: &'a Asset,
) -> Row<'a> {
    let props: serde_json::Map<String, serde_json::Value> = asset
        .properties
        .iter()
        .map(|(k, v)| {
            let j = match v {
                PropValue::Str(s) => serde_json::Value::from(s.as_str()),
                PropValue::Num(n) => serde_json::Value::from(*n),
                PropValue::Bool(b) => serde_json::Value::from(*b),
            };
            (k.clone(), j)
        })
        .collect();
    let town = twin
        .located_in(h)
        .and_then(|t| twin.get(t))
        .map(|t| t.id.as_str());
    let state = channels
        .iter()
        .map(|c| {
            store
                .and_then(|s| s.latest(h, c.id))
                .map(|l| (twin_core::state::decode(&c.ty, l.value), l.ts.as_millis()))
        })
        .collect();
    Row {
        asset,
        town,
        properties: serde_json::Value::Object(props).to_string(),
        state,
    }
}
