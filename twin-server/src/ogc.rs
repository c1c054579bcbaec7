//! The assets as OGC API – Features (Part 1: Core, GeoJSON, OpenAPI 3.0), under
//! `/ogc`: a landing page, conformance, one collection of every asset (`assets`) and
//! one per kind the twin holds (`building`, `sensor-water_level`, … — the kind with
//! `:` written `-`), items with `bbox`, `limit` (default 10, at most the server's
//! limit) and `offset`, `next` links, `numberMatched`, and the latest state of each
//! asset among its properties. GIS clients open it directly; GDAL's OAPIF driver reads
//! `OAPIF:http://HOST:PORT/ogc`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use geo::BoundingRect;
use serde::Deserialize;
use serde_json::{Value as Json_, json};
use twin_core::{AssetKind, Handle, Session};

use crate::api::error::ApiError;
use crate::api::{json as asset_json, params};
use crate::state::Served;

const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
const GEOJSON: &str = "application/geo+json";
const CONFORMS: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
];

/// The OGC routes (state: the served twin).
pub fn routes() -> Router<Arc<Served>> {
    Router::new()
        .route("/ogc", get(landing))
        .route("/ogc/", get(landing))
        .route("/ogc/conformance", get(conformance))
        .route("/ogc/collections", get(collections))
        .route("/ogc/collections/{cid}", get(collection))
        .route("/ogc/collections/{cid}/items", get(items))
        .route("/ogc/collections/{cid}/items/{fid}", get(item))
}

/// `http(s)://host/ogc` as the client addressed the server (links must be absolute):
/// the `Host` header (HTTP/1.1) or the request's authority (HTTP/2).
fn base(served: &Served, headers: &HeaderMap, uri: &Uri) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or("localhost");
    let scheme = if served.tls { "https" } else { "http" };
    format!("{scheme}://{host}/ogc")
}

fn link(href: String, rel: &str, ty: &str, title: &str) -> Json_ {
    json!({"href": href, "rel": rel, "type": ty, "title": title})
}

async fn landing(State(served): State<Arc<Served>>, headers: HeaderMap, uri: Uri) -> Json<Json_> {
    let b = base(&served, &headers, &uri);
    let root = b.trim_end_matches("/ogc").to_string();
    Json(json!({
        "title": served.title,
        "description": "The assets of the live twin, with their latest state",
        "links": [
            link(b.clone(), "self", "application/json", "this document"),
            link(format!("{root}/openapi.json"), "service-desc", "application/vnd.oai.openapi+json;version=3.0", "the API definition"),
            link(format!("{b}/conformance"), "conformance", "application/json", "conformance classes"),
            link(format!("{b}/collections"), "data", "application/json", "the collections"),
        ]
    }))
}

async fn conformance() -> Json<Json_> {
    Json(json!({"conformsTo": CONFORMS}))
}

/// A collection's id for a kind: its name with `:` written `-`.
fn collection_id(kind: &AssetKind) -> String {
    kind.to_string().replace(':', "-")
}

/// What a collection holds: every asset, or those of one kind.
enum Which {
    All,
    Kind(AssetKind),
}

impl Which {
    fn matches(&self, k: &AssetKind) -> bool {
        match self {
            Which::All => true,
            Which::Kind(w) => w == k,
        }
    }
}

fn which(session: &Session, cid: &str) -> Result<Which, ApiError> {
    if cid == "assets" {
        return Ok(Which::All);
    }
    session
        .twin()
        .iter()
        .map(|(_, a)| &a.kind)
        .find(|k| collection_id(k) == cid)
        .map(|k| Which::Kind(k.clone()))
        .ok_or_else(|| ApiError::not_found(format!("no collection `{cid}`")))
}

/// Count and lon/lat extent of every collection, in one pass over the twin.
fn extents(session: &Session) -> BTreeMap<String, (usize, [f64; 4])> {
    let mut out: BTreeMap<String, (usize, [f64; 4])> = BTreeMap::new();
    let empty = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for (_, a) in session.twin().iter() {
        let r = a.geometry.bounding_rect();
        for id in ["assets".to_string(), collection_id(&a.kind)] {
            let e = out.entry(id).or_insert((0, empty));
            e.0 += 1;
            if let Some(r) = r {
                e.1 = [
                    e.1[0].min(r.min().x),
                    e.1[1].min(r.min().y),
                    e.1[2].max(r.max().x),
                    e.1[3].max(r.max().y),
                ];
            }
        }
    }
    out
}

fn collection_json(b: &str, id: &str, count: usize, bbox: [f64; 4]) -> Json_ {
    let title = if id == "assets" {
        "Every asset".to_string()
    } else {
        format!("Assets of kind {}", id.replacen('-', ":", 2))
    };
    json!({
        "id": id,
        "title": title,
        "description": format!("{count} features"),
        "itemType": "feature",
        "crs": [CRS84],
        "extent": {"spatial": {"bbox": [bbox], "crs": CRS84}},
        "links": [
            link(format!("{b}/collections/{id}"), "self", "application/json", "this collection"),
            link(format!("{b}/collections/{id}/items"), "items", GEOJSON, "its features"),
        ]
    })
}

async fn collections(
    State(served): State<Arc<Served>>,
    headers: HeaderMap,
    uri: Uri,
) -> Json<Json_> {
    let b = base(&served, &headers, &uri);
    let session = served.read();
    let list: Vec<Json_> = extents(&session)
        .into_iter()
        .map(|(id, (n, bbox))| collection_json(&b, &id, n, bbox))
        .collect();
    Json(json!({
        "links": [link(format!("{b}/collections"), "self", "application/json", "the collections")],
        "collections": list,
    }))
}

async fn collection(
    State(served): State<Arc<Served>>,
    headers: HeaderMap,
    uri: Uri,
    cid: Result<Path<String>, PathRejection>,
) -> Result<Json<Json_>, ApiError> {
    let Path(cid) = cid?;
    let b = base(&served, &headers, &uri);
    let session = served.read();
    which(&session, &cid)?;
    let (n, bbox) = extents(&session)
        .remove(&cid)
        .ok_or_else(|| ApiError::not_found(format!("no collection `{cid}`")))?;
    Ok(Json(collection_json(&b, &cid, n, bbox)))
}

/// Parameters of `/ogc/collections/{id}/items`. Unknown parameters are refused with
/// 400, as OGC API – Features asks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemsQuery {
    bbox: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
    f: Option<String>,
}

fn geojson_response(v: Json_) -> Response {
    ([(header::CONTENT_TYPE, GEOJSON)], Json(v)).into_response()
}

async fn items(
    State(served): State<Arc<Served>>,
    headers: HeaderMap,
    uri: Uri,
    cid: Result<Path<String>, PathRejection>,
    q: Result<Query<ItemsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path(cid) = cid?;
    let Query(q) = q?;
    if let Some(f) = q.f.as_deref().filter(|f| !matches!(*f, "json" | "geojson")) {
        return Err(ApiError::bad(format!("`f`: `{f}` is not json or geojson")));
    }
    let limit = q.limit.unwrap_or(10).clamp(1, served.limits.max_results);
    let offset = q.offset.unwrap_or(0);
    let b = base(&served, &headers, &uri);
    let session = served.read();
    let w = which(&session, &cid)?;
    let twin = session.twin();
    let handles: Vec<Handle> = match &q.bbox {
        Some(text) => {
            let r = params::bbox("bbox", text)?;
            twin.query_bbox(r, None)
                .into_iter()
                .filter(|h| twin.get(*h).is_some_and(|a| w.matches(&a.kind)))
                .collect()
        }
        None => twin
            .iter()
            .filter(|(_, a)| w.matches(&a.kind))
            .map(|(h, _)| h)
            .collect(),
    };
    let matched = handles.len();
    let features: Vec<Json_> = handles
        .iter()
        .skip(offset)
        .take(limit)
        .filter_map(|&h| twin.get(h).map(|a| asset_json::feature(&session, h, a)))
        .collect();
    let returned = features.len();
    let bbox_param = q
        .bbox
        .as_deref()
        .map(|t| format!("&bbox={t}"))
        .unwrap_or_default();
    let page =
        |o: usize| format!("{b}/collections/{cid}/items?limit={limit}&offset={o}{bbox_param}");
    let mut links = vec![link(page(offset), "self", GEOJSON, "this page")];
    if offset + returned < matched {
        links.push(link(
            page(offset + returned),
            "next",
            GEOJSON,
            "the next page",
        ));
    }
    Ok(geojson_response(json!({
        "type": "FeatureCollection",
        "features": features,
        "numberMatched": matched,
        "numberReturned": returned,
        "timeStamp": session.now().to_string(),
        "links": links,
    })))
}

async fn item(
    State(served): State<Arc<Served>>,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((cid, fid)) = ids?;
    let session = served.read();
    let w = which(&session, &cid)?;
    let twin = session.twin();
    let h = twin
        .handle(&fid)
        .filter(|h| twin.get(*h).is_some_and(|a| w.matches(&a.kind)))
        .ok_or_else(|| ApiError::not_found(format!("no feature `{fid}` in `{cid}`")))?;
    let a = twin
        .get(h)
        .ok_or_else(|| ApiError::not_found(format!("no feature `{fid}`")))?;
    Ok(geojson_response(asset_json::feature(&session, h, a)))
}
