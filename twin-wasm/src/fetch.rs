//! Loading twin data from a URL (wasm32 only): the page's or worker's own `fetch`,
//! then the same loaders as for bytes. A failed request (network error, an HTTP status
//! other than 2xx) is an `Error` naming the URL; bad data is the loader's `Error`.

use js_sys::{Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::engine::Engine;
use crate::js::JsTwin;

fn fail(url: &str, what: &str) -> JsError {
    JsError::new(&format!("fetch {url}: {what}"))
}

/// Text of a JS error or value, for messages.
fn describe(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "failed".into())
}

/// Calls `obj.name()` and awaits the promise it returns.
async fn call_await(obj: &JsValue, name: &str, arg: Option<&JsValue>) -> Result<JsValue, JsValue> {
    let f: Function = Reflect::get(obj, &JsValue::from_str(name))?.dyn_into()?;
    let p = match arg {
        Some(a) => f.call1(obj, a)?,
        None => f.call0(obj)?,
    };
    JsFuture::from(Promise::from(p)).await
}

/// The bytes at `url`, fetched with the global `fetch` (window or worker).
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, JsError> {
    let global: JsValue = js_sys::global().into();
    let resp = call_await(&global, "fetch", Some(&JsValue::from_str(url)))
        .await
        .map_err(|e| fail(url, &describe(&e)))?;
    let field = |k: &str| Reflect::get(&resp, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
    if field("ok").as_bool() != Some(true) {
        let status = field("status").as_f64().unwrap_or(0.0);
        let text = field("statusText").as_string().unwrap_or_default();
        return Err(fail(url, format!("HTTP {status} {text}").trim_end()));
    }
    let buf = call_await(&resp, "arrayBuffer", None)
        .await
        .map_err(|e| fail(url, &describe(&e)))?;
    Ok(Uint8Array::new(&buf).to_vec())
}

#[wasm_bindgen(js_class = Twin)]
impl JsTwin {
    /// A twin of the GeoJSON at `url` (fetched by the page; strict, as `fromGeoJson`).
    /// `crs` as in `fromGeoJson`; errors name the URL, or the feature and problem.
    #[wasm_bindgen(js_name = fetchGeoJson)]
    pub async fn fetch_geojson(url: String, crs: Option<String>) -> Result<JsTwin, JsError> {
        let bytes = fetch_bytes(&url).await?;
        let text =
            String::from_utf8(bytes).map_err(|e| fail(&url, &format!("not UTF-8 text: {e}")))?;
        Engine::from_geojson(&text, crs.as_deref(), &url)
            .map(JsTwin::new)
            .map_err(|e| JsError::new(&e))
    }

    /// A twin restored from the snapshot at `url` (`twin run --save`).
    #[wasm_bindgen(js_name = fetchSnapshot)]
    pub async fn fetch_snapshot(url: String) -> Result<JsTwin, JsError> {
        let bytes = fetch_bytes(&url).await?;
        Engine::from_snapshot(&bytes)
            .map(JsTwin::new)
            .map_err(|e| JsError::new(&format!("{url}: {e}")))
    }
}
