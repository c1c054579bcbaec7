//! The HTTP surface: routes, the authentication and limits every protected route
//! passes, and the counting of refusals.
//!
//! | route | role | what |
//! |---|---|---|
//! | `GET /healthz` | none | `ok` while the server runs |
//! | `GET /openapi.json` | viewer | this API as OpenAPI 3.0 |
//! | `GET /api/v1/status` | viewer | clock, counts, counters |
//! | `GET /api/v1/assets` | viewer | `bbox`, `near`+`radius`, `knn`+`k`, `contains`, `kind`, `limit`, `offset` |
//! | `GET /api/v1/assets/{id}` | viewer | one asset, its state and sensors |
//! | `GET /api/v1/assets/{id}/history` | viewer | `channel`, `from`, `to`, `bucket_s` |
//! | `GET /api/v1/vitals` | viewer | vital signs now or `at` a time |
//! | `GET /api/v1/alerts` | viewer | open alerts |
//! | `POST /api/v1/alerts/{id}/ack` | operator | acknowledge |
//! | `GET /api/v1/events` | viewer | alert events `after` a number |
//! | `GET /api/v1/stream` | viewer | the live stream, a WebSocket ([`crate::stream`]) |
//! | `GET`/`PUT /api/v1/rules` | viewer / admin | the rules file |
//! | `GET /api/v1/incidents` | viewer | incidents, `state` (live, closed, all), `limit` |
//! | `GET /api/v1/incidents/{id}` | viewer | one, with footprint and affected assets |
//! | `GET /api/v1/orders` | viewer | work orders, `state`, `limit` |
//! | `GET /api/v1/orders/{id}` | viewer | one, with its history and next steps |
//! | `POST /api/v1/orders/{id}/{action}` | operator / admin | a step ([`manage`]) |
//! | `GET /api/v1/models` | viewer | the building models the twin holds ([`crate::models`]) |
//! | `GET /api/v1/models/{index}` | viewer | a model's file, as the server read it |
//! | `GET /ogc/...` | viewer | OGC API – Features ([`crate::ogc`]) |

pub mod assets;
pub mod error;
pub mod json;
pub mod live;
pub mod manage;
pub mod params;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::auth::{Caller, Role};
use crate::state::{Counters, Served};
use error::ApiError;

/// The OpenAPI description of the server, served at `/openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// Every route of the server with its method, as the OpenAPI document must list them
/// (checked by a test).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/openapi.json"),
    ("get", "/api/v1/status"),
    ("get", "/api/v1/assets"),
    ("get", "/api/v1/assets/{id}"),
    ("get", "/api/v1/assets/{id}/history"),
    ("get", "/api/v1/vitals"),
    ("get", "/api/v1/alerts"),
    ("post", "/api/v1/alerts/{id}/ack"),
    ("get", "/api/v1/events"),
    ("get", "/api/v1/stream"),
    ("get", "/api/v1/rules"),
    ("put", "/api/v1/rules"),
    ("get", "/api/v1/incidents"),
    ("get", "/api/v1/incidents/{id}"),
    ("get", "/api/v1/orders"),
    ("get", "/api/v1/orders/{id}"),
    ("post", "/api/v1/orders/{id}/{action}"),
    ("get", "/api/v1/models"),
    ("get", "/api/v1/models/{index}"),
    ("get", "/ogc"),
    ("get", "/ogc/conformance"),
    ("get", "/ogc/collections"),
    ("get", "/ogc/collections/{collectionId}"),
    ("get", "/ogc/collections/{collectionId}/items"),
    ("get", "/ogc/collections/{collectionId}/items/{featureId}"),
];

/// The server's routes over `served`.
pub fn router(served: Arc<Served>) -> Router {
    let protected = Router::new()
        .route("/openapi.json", get(openapi))
        .route("/api/v1/status", get(live::status))
        .route("/api/v1/assets", get(assets::list))
        .route("/api/v1/assets/{id}", get(assets::one))
        .route("/api/v1/assets/{id}/history", get(assets::history))
        .route("/api/v1/vitals", get(live::vitals))
        .route("/api/v1/alerts", get(live::alerts))
        .route("/api/v1/alerts/{id}/ack", post(live::acknowledge))
        .route("/api/v1/events", get(live::events))
        .route("/api/v1/stream", get(crate::stream::stream))
        .route("/api/v1/rules", get(live::rules).put(live::set_rules))
        .route("/api/v1/incidents", get(manage::incidents))
        .route("/api/v1/incidents/{id}", get(manage::incident))
        .route("/api/v1/orders", get(manage::orders))
        .route("/api/v1/orders/{id}", get(manage::order))
        .route("/api/v1/orders/{id}/{action}", post(manage::step))
        .route("/api/v1/models", get(crate::models::list))
        .route("/api/v1/models/{index}", get(crate::models::file))
        .merge(crate::ogc::routes())
        .route_layer(middleware::from_fn_with_state(served.clone(), authenticate));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .merge(protected)
        .fallback(|| async { ApiError::not_found("no such route (see /openapi.json)") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed on this route",
            )
        })
        .layer(DefaultBodyLimit::max(served.limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(served.clone(), count))
        .with_state(served)
}

async fn openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/vnd.oai.openapi+json;version=3.0",
        )],
        OPENAPI_JSON,
    )
        .into_response()
}

/// The peer's address, for logs (absent when a test drives the router directly).
fn peer(req: &Request) -> String {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "-".to_string(), |c| c.0.to_string())
}

/// Who is calling, or 401 / 429. Without a tokens file the caller is the local admin
/// (the server then listens on loopback only). Query strings longer than the limit are
/// refused here, before any handler parses them.
async fn authenticate(State(served): State<Arc<Served>>, mut req: Request, next: Next) -> Response {
    let uri_len = req.uri().query().map_or(0, str::len);
    if uri_len > served.limits.max_query_bytes {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            format!(
                "query string of {uri_len} bytes; at most {} are read",
                served.limits.max_query_bytes
            ),
        )
        .into_response();
    }
    if req.uri().query().is_some_and(has_token_param) {
        return ApiError::bad(
            "tokens in URLs are refused (they end up in logs and history): send Authorization: Bearer TOKEN, or the twin.bearer.* WebSocket subprotocol",
        )
        .into_response();
    }
    let caller = match &served.tokens {
        None => Caller {
            name: "loopback".into(),
            role: Role::Admin,
        },
        Some(tokens) => {
            let from_header = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(|t| t.trim().to_string());
            let presented = from_header.or_else(|| protocol_token(&req));
            match presented.as_deref().and_then(|t| tokens.find(t)) {
                Some(c) => c,
                None => {
                    if !served.rates.allow_failure() {
                        Counters::bump(&served.counters.rate_limited);
                        return ApiError::new(
                            StatusCode::TOO_MANY_REQUESTS,
                            "too many failed authentications; try again shortly",
                        )
                        .into_response();
                    }
                    Counters::bump(&served.counters.unauthorized);
                    let why = if presented.is_some() {
                        "unknown bearer token"
                    } else {
                        "missing bearer token (Authorization: Bearer TOKEN)"
                    };
                    eprintln!(
                        "twin serve: 401 {} {} from {}: {why}",
                        req.method(),
                        req.uri().path(),
                        peer(&req)
                    );
                    return ApiError::new(StatusCode::UNAUTHORIZED, why).into_response();
                }
            }
        }
    };
    if !served.rates.allow(&caller) {
        // Logged once per thousand refusals: a client over its rate must not flood
        // the log as well.
        let n = served.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
        if n.is_multiple_of(1000) {
            eprintln!(
                "twin serve: 429 `{}` over {} requests a second ({} refused so far)",
                caller.name,
                served.limits.requests_per_second,
                n + 1
            );
        }
        return ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "`{}` is over {} requests a second",
                caller.name, served.limits.requests_per_second
            ),
        )
        .into_response();
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}

/// Whether a query string has a `token` parameter.
fn has_token_param(query: &str) -> bool {
    query.split('&').any(|kv| {
        kv.split('=')
            .next()
            .is_some_and(|k| k.eq_ignore_ascii_case("token"))
    })
}

/// A browser's token on a WebSocket upgrade: the subprotocol entry
/// `twin.bearer.<base64url(token)>` (browsers cannot set headers on a WebSocket).
fn protocol_token(req: &Request) -> Option<String> {
    use base64::Engine;
    if !req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
    {
        return None;
    }
    req.headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| p.trim().strip_prefix(crate::stream::BEARER_PROTOCOL_PREFIX))
        .and_then(|b| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(b)
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
}

/// Counts every answer, and the 4xx ones that are not 401/403/429 (counted where they
/// are decided) as bad requests.
async fn count(State(served): State<Arc<Served>>, req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    Counters::bump(&served.counters.requests);
    let s = res.status();
    if s.is_client_error()
        && s != StatusCode::UNAUTHORIZED
        && s != StatusCode::FORBIDDEN
        && s != StatusCode::TOO_MANY_REQUESTS
    {
        Counters::bump(&served.counters.bad_requests);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_lists_every_route_and_only_those() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        assert_eq!(doc["openapi"], "3.0.3");
        let paths = doc["paths"].as_object().unwrap();
        let mut listed: Vec<(String, String)> = paths
            .iter()
            .flat_map(|(p, ops)| {
                ops.as_object()
                    .unwrap()
                    .keys()
                    .map(move |m| (m.clone(), p.clone()))
            })
            .collect();
        listed.sort();
        let mut routes: Vec<(String, String)> = ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        routes.sort();
        assert_eq!(listed, routes);
        // Every path parameter is declared.
        for (p, ops) in paths {
            for op in ops.as_object().unwrap().values() {
                let declared: Vec<&str> = op["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|x| x["in"] == "path")
                    .map(|x| x["name"].as_str().unwrap())
                    .collect();
                let in_path: Vec<&str> = p
                    .split('/')
                    .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                    .collect();
                assert_eq!(declared, in_path, "{p}");
            }
        }
    }
}
