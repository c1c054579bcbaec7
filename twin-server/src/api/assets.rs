//! `/api/v1/assets`: spatial queries, one asset with its state and sensors, a series'
//! history.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value as Json_, json};
use twin_core::state::SeriesKey;
use twin_core::{Asset, Handle, KindFilter, Session};

use super::error::ApiError;
use super::{json, params};
use crate::state::Served;

/// Parameters of `GET /api/v1/assets`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetQuery {
    /// `minlon,minlat,maxlon,maxlat`: assets whose box meets it.
    bbox: Option<String>,
    /// `lon,lat`: assets within `radius` metres of it.
    near: Option<String>,
    /// Metres for `near`.
    radius: Option<f64>,
    /// `lon,lat`: the `k` nearest assets.
    knn: Option<String>,
    /// How many for `knn` (default 10).
    k: Option<usize>,
    /// `lon,lat`: assets whose geometry covers it.
    contains: Option<String>,
    /// Kind filter (`building`, `sensor`, `sensor:water_level,road`).
    kind: Option<String>,
    /// Page size (default 100, at most the server's limit).
    limit: Option<usize>,
    /// Assets to skip.
    offset: Option<usize>,
}

/// `GET /api/v1/assets`: one spatial question (or none: every asset), paged.
pub async fn list(
    State(served): State<Arc<Served>>,
    q: Result<Query<AssetQuery>, QueryRejection>,
) -> Result<Json<Json_>, ApiError> {
    let Query(q) = q?;
    let filter: Option<KindFilter> = q.kind.as_deref().map(params::kinds).transpose()?;
    let asked = [&q.bbox, &q.near, &q.knn, &q.contains]
        .iter()
        .filter(|x| x.is_some())
        .count();
    if asked > 1 {
        return Err(ApiError::bad(
            "give at most one of `bbox`, `near`, `knn` and `contains`",
        ));
    }
    if q.radius.is_some() != q.near.is_some() {
        return Err(ApiError::bad("`near` and `radius` go together"));
    }
    if q.k.is_some() && q.knn.is_none() {
        return Err(ApiError::bad("`k` goes with `knn`"));
    }
    let max = served.limits.max_results;
    let limit = q.limit.unwrap_or(100).clamp(1, max);
    let offset = q.offset.unwrap_or(0);
    let session = served.read();
    let twin = session.twin();
    let f = filter.as_ref();
    let hits: Vec<(Handle, Option<f64>)> = if let Some(b) = &q.bbox {
        let r = params::bbox("bbox", b)?;
        twin.query_bbox(r, f)
            .into_iter()
            .map(|h| (h, None))
            .collect()
    } else if let Some(p) = &q.near {
        let p = params::lonlat("near", p)?;
        let m = params::metres("radius", q.radius.unwrap_or(0.0))?;
        twin.query_within_distance(p, m, f)
            .into_iter()
            .map(|h| (h, None))
            .collect()
    } else if let Some(p) = &q.knn {
        let p = params::lonlat("knn", p)?;
        let k = q.k.unwrap_or(10);
        if k == 0 || k > max {
            return Err(ApiError::bad(format!("`k` must be 1 to {max}")));
        }
        twin.query_nearest(p, k, f)
            .into_iter()
            .map(|(h, d)| (h, Some(d)))
            .collect()
    } else if let Some(p) = &q.contains {
        let p = params::lonlat("contains", p)?;
        twin.query_containing(p, f)
            .into_iter()
            .map(|h| (h, None))
            .collect()
    } else {
        twin.iter()
            .filter(|(_, a)| f.is_none_or(|f| f.matches(&a.kind)))
            .map(|(h, _)| (h, None))
            .collect()
    };
    let matched = hits.len();
    let page: Vec<Json_> = hits
        .iter()
        .skip(offset)
        .take(limit)
        .filter_map(|&(h, d)| twin.get(h).map(|a| json::summary(&session, h, a, d)))
        .collect();
    let next = (offset + page.len() < matched).then_some(offset + page.len());
    Ok(Json(json!({
        "matched": matched,
        "returned": page.len(),
        "offset": offset,
        "next_offset": next,
        "assets": page,
    })))
}

/// The asset with this id, or 404.
fn asset<'a>(session: &'a Session, id: &str) -> Result<(Handle, &'a Asset), ApiError> {
    let twin = session.twin();
    twin.handle(id)
        .and_then(|h| twin.get(h).map(|a| (h, a)))
        .ok_or_else(|| ApiError::not_found(format!("no asset `{id}`")))
}

/// `GET /api/v1/assets/{id}`: the asset, its latest state, its sensors with theirs.
pub async fn one(
    State(served): State<Arc<Served>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Json_>, ApiError> {
    let Path(id) = id?;
    let session = served.read();
    let (h, a) = asset(&session, &id)?;
    Ok(Json(json::full(&session, h, a)))
}

/// Parameters of `GET /api/v1/assets/{id}/history`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// The channel (default: the asset's only channel with data).
    channel: Option<String>,
    /// Start (ms or ISO 8601; default one hour before `to`).
    from: Option<String>,
    /// End (default: the twin's clock).
    to: Option<String>,
    /// Bucket width in seconds: min/max/mean per bucket instead of raw samples.
    bucket_s: Option<f64>,
}

/// `GET /api/v1/assets/{id}/history`: one series over a time range, raw or bucketed.
pub async fn history(
    State(served): State<Arc<Served>>,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Json<Json_>, ApiError> {
    let Path(id) = id?;
    let Query(q) = q?;
    let session = served.read();
    let store = session.store();
    let (h, _) = asset(&session, &id)?;
    let channel = match &q.channel {
        Some(name) => store.channel(name).ok_or_else(|| {
            let names: Vec<&str> = store.channels().map(|(_, s)| s.name.as_str()).collect();
            ApiError::bad(format!(
                "no channel `{name}` (channels: {})",
                names.join(", ")
            ))
        })?,
        None => {
            let with_data: Vec<_> = store
                .channels()
                .filter(|(c, _)| store.latest(h, *c).is_some())
                .collect();
            match with_data.as_slice() {
                [(c, _)] => *c,
                [] => return Err(ApiError::not_found(format!("`{id}` has no data"))),
                more => {
                    let names: Vec<&str> = more.iter().map(|(_, s)| s.name.as_str()).collect();
                    return Err(ApiError::bad(format!(
                        "`{id}` has several channels: give `channel` ({})",
                        names.join(", ")
                    )));
                }
            }
        }
    };
    let to = match &q.to {
        Some(t) => params::time("to", t)?,
        None => session.now(),
    };
    let from = match &q.from {
        Some(t) => params::time("from", t)?,
        None => to.add_ms(-3_600_000),
    };
    if from > to {
        return Err(ApiError::bad(format!(
            "`from` ({from}) is after `to` ({to})"
        )));
    }
    let key = SeriesKey::new(h.0, channel.0);
    let name = store
        .spec(channel)
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let head =
        json!({"asset": id, "channel": name, "from": from.to_string(), "to": to.to_string()});
    let mut out = match head {
        Json_::Object(o) => o,
        _ => serde_json::Map::new(),
    };
    if let Some(b) = q.bucket_s {
        if !(b.is_finite() && b >= 0.001) {
            return Err(ApiError::bad(format!(
                "`bucket_s`: {b} is not a positive number of seconds"
            )));
        }
        let bucket_ms = (b * 1000.0).round() as i64;
        let span = to.ms_since(from);
        if span / bucket_ms.max(1) > served.limits.max_samples as i64 {
            return Err(ApiError::bad(format!(
                "{span} ms in buckets of {bucket_ms} ms is more than {} buckets",
                served.limits.max_samples
            )));
        }
        let buckets: Vec<Json_> = store
            .history()
            .downsample(key, from, to, bucket_ms)
            .into_iter()
            .map(|b| {
                json!({"start": b.start.as_millis(), "count": b.count, "min": b.min, "max": b.max, "mean": b.mean})
            })
            .collect();
        out.insert("bucket_ms".into(), json!(bucket_ms));
        out.insert("buckets".into(), Json_::Array(buckets));
    } else {
        let samples = store.history().range(key, from, to);
        if samples.len() > served.limits.max_samples {
            return Err(ApiError::bad(format!(
                "{} samples in range, more than {}: narrow it or give `bucket_s`",
                samples.len(),
                served.limits.max_samples
            )));
        }
        let rows: Vec<Json_> = samples
            .into_iter()
            .map(|(t, v)| json!([t.as_millis(), v]))
            .collect();
        out.insert("samples".into(), Json_::Array(rows));
    }
    Ok(Json(Json_::Object(out)))
}
