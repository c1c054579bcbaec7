//! The server's HTTP requests: the real router (`twin_server::api::router`, every
//! route, the authentication and limit layers, query and path extractors, JSON bodies
//! such as `PUT /api/v1/rules` and order steps, OGC API - Features) over the tiny
//! twin, driven in-process with `tower::ServiceExt::oneshot`, the answer's body read
//! to the end.
//!
//! Input: a request line `METHOD TARGET`, header lines `Name: value`, a blank line,
//! the body. Inputs that hyper would refuse before the router (a method or URI that
//! does not parse, a bad header) are skipped.
#![no_main]
use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request};
use tower::ServiceExt;

fn router() -> &'static Router {
    static R: OnceLock<Router> = OnceLock::new();
    R.get_or_init(|| twin_server::api::router(twin_fuzz::served()))
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static R: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    R.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a tokio runtime")
    })
}

fn request(data: &[u8]) -> Option<Request<Body>> {
    let split = data.windows(2).position(|w| w == b"\n\n");
    let (head, body) = match split {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let head = std::str::from_utf8(head).ok()?;
    let mut lines = head.lines();
    let (method, target) = lines.next()?.split_once(' ')?;
    let mut req = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).ok()?)
        .uri(target);
    for line in lines {
        let (name, value) = line.split_once(':')?;
        req = req.header(
            HeaderName::from_bytes(name.trim().as_bytes()).ok()?,
            HeaderValue::from_str(value.trim()).ok()?,
        );
    }
    req.body(Body::from(body.to_vec())).ok()
}

twin_fuzz::fuzz_parser!(|data: &[u8]| {
    let Some(req) = request(data) else { return };
    runtime().block_on(async {
        let res = router().clone().oneshot(req).await.expect("the router is infallible");
        let _ = axum::body::to_bytes(res.into_body(), usize::MAX).await;
    });
});
