//! Assets and their state as JSON: the short form of query answers, the full form of
//! one asset, GeoJSON features for OGC API – Features.

use serde_json::{Map, Value as Json, json};
use twin_core::state::Value;
use twin_core::{Asset, Handle, PropValue, Session};

/// A delivered value as JSON (number, boolean or state name).
pub fn value(v: &Value) -> Json {
    match v {
        Value::Num(n) => json!(n),
        Value::Bool(b) => json!(b),
        Value::Text(s) => json!(s),
    }
}

/// A property value as JSON.
fn prop(v: &PropValue) -> Json {
    match v {
        PropValue::Str(s) => json!(s),
        PropValue::Num(n) => json!(n),
        PropValue::Bool(b) => json!(b),
    }
}

/// The id of the town an asset lies in.
fn town_id(session: &Session, h: Handle) -> Option<String> {
    let twin = session.twin();
    twin.town_of(h)
        .and_then(|t| twin.get(t))
        .map(|a| a.id.clone())
}

/// The short form: id, kind, names, town, and the distance when a query measured one.
pub fn summary(session: &Session, h: Handle, a: &Asset, distance_m: Option<f64>) -> Json {
    let mut o = Map::new();
    o.insert("id".into(), json!(a.id));
    o.insert("kind".into(), json!(a.kind.to_string()));
    if let Some(n) = &a.name_zh {
        o.insert("name_zh".into(), json!(n));
    }
    if let Some(n) = &a.name_en {
        o.insert("name_en".into(), json!(n));
    }
    if let Some(t) = town_id(session, h) {
        o.insert("town".into(), json!(t));
    }
    if let Some(d) = distance_m {
        o.insert("distance_m".into(), json!((d * 100.0).round() / 100.0));
    }
    Json::Object(o)
}

/// The latest value of every channel of an asset: `{channel: {value, ts, quality,
/// unit?}}`.
pub fn latest_state(session: &Session, h: Handle) -> Map<String, Json> {
    let store = session.store();
    let mut out = Map::new();
    for (c, spec) in store.channels() {
        let (Some(l), Some(v)) = (store.latest(h, c), store.latest_value(h, c)) else {
            continue;
        };
        let mut o = Map::new();
        o.insert("value".into(), value(&v));
        o.insert("ts".into(), json!(l.ts.as_millis()));
        o.insert("time".into(), json!(l.ts.to_string()));
        o.insert("quality".into(), json!(l.quality));
        if let Some(u) = &spec.unit {
            o.insert("unit".into(), json!(u));
        }
        out.insert(spec.name.clone(), Json::Object(o));
    }
    out
}

/// GeoJSON geometry of an asset (WGS84 lon/lat).
pub fn geometry(a: &Asset) -> Json {
    let g = geojson::Geometry::new(geojson::GeometryValue::from(&a.geometry));
    serde_json::to_value(g).unwrap_or(Json::Null)
}

/// The full form: everything the twin holds about the asset, its latest state, and the
/// sensors attached to it with theirs.
pub fn full(session: &Session, h: Handle, a: &Asset) -> Json {
    let mut o = match summary(session, h, a, None) {
        Json::Object(o) => o,
        _ => Map::new(),
    };
    o.insert("geometry".into(), geometry(a));
    o.insert(
        "vertical".into(),
        json!({
            "base_m": a.vertical.base,
            "height_m": a.vertical.height,
            "z_level": a.vertical.z_level.as_str(),
        }),
    );
    let props: Map<String, Json> = a
        .properties
        .iter()
        .map(|(k, v)| (k.clone(), prop(v)))
        .collect();
    o.insert("properties".into(), Json::Object(props));
    if let Some(p) = &a.attached_to {
        o.insert("attached_to".into(), json!(p));
    }
    if let Some(p) = &a.part_of {
        o.insert("part_of".into(), json!(p));
    }
    o.insert("source".into(), json!(a.source.to_string()));
    o.insert("state".into(), Json::Object(latest_state(session, h)));
    let twin = session.twin();
    let sensors: Vec<Json> = twin
        .iter()
        .filter(|(_, s)| s.attached_to.as_deref() == Some(a.id.as_str()))
        .map(|(sh, s)| {
            json!({
                "id": s.id,
                "kind": s.kind.to_string(),
                "state": latest_state(session, sh),
            })
        })
        .collect();
    o.insert("sensors".into(), Json::Array(sensors));
    Json::Object(o)
}

/// A GeoJSON Feature: the asset's geometry, its id, and as properties its kind,
/// names, town, own properties and latest values (`state.CHANNEL` flattened to
/// `CHANNEL` and `CHANNEL_time`, so that GIS clients see plain columns).
pub fn feature(session: &Session, h: Handle, a: &Asset) -> Json {
    let mut p = Map::new();
    p.insert("kind".into(), json!(a.kind.to_string()));
    p.insert("name_zh".into(), json!(a.name_zh));
    p.insert("name_en".into(), json!(a.name_en));
    p.insert("town".into(), json!(town_id(session, h)));
    p.insert("height_m".into(), json!(a.vertical.height));
    for (k, v) in a.properties.iter() {
        p.entry(k.clone()).or_insert_with(|| prop(v));
    }
    let store = session.store();
    for (c, spec) in store.channels() {
        if let (Some(l), Some(v)) = (store.latest(h, c), store.latest_value(h, c)) {
            p.insert(spec.name.clone(), value(&v));
            p.insert(format!("{}_time", spec.name), json!(l.ts.to_string()));
        }
    }
    json!({
        "type": "Feature",
        "id": a.id,
        "geometry": geometry(a),
        "properties": p,
    })
}
