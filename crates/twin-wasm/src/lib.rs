//! # twin-wasm: the twin inside a web page
//!
//! A dashboard embeds the same engine that runs natively: [`WasmTwin`] wraps a
//! [`twin_core::Twin`] behind a small wasm-bindgen API, so a page loads the island and
//! asks spatial questions without a server round trip. Errors become JS `Error`s with
//! the loader's message (file, feature, problem); the twin keeps what it held.
//!
//! This first part loads the bundled real boundaries or GeoJSON text and answers
//! `contains`, `near`, `knn` and `bbox` with asset ids. The view (twin-render on
//! WebGPU/WebGL2), telemetry and alerts come with the live-state and renderer work.

use twin_core::{KindFilter, LoadMode, Mapping, Twin, island};
use wasm_bindgen::prelude::*;

/// A twin held by the page.
#[wasm_bindgen]
pub struct WasmTwin {
    twin: Twin,
}

fn filter(kind: Option<String>) -> Option<KindFilter> {
    kind.as_deref().map(KindFilter::parse)
}

#[wasm_bindgen]
impl WasmTwin {
    /// The real boundaries of Chongming's islands and 18 towns.
    #[wasm_bindgen(js_name = realIsland)]
    pub fn real_island() -> Result<WasmTwin, JsError> {
        let twin = island::load_real().map_err(|e| JsError::new(&e.to_string()))?;
        Ok(WasmTwin { twin })
    }

    /// Loads GeoJSON text into the twin (strict: a bad feature loads nothing and the
    /// error names it). Returns the number of assets added.
    #[wasm_bindgen(js_name = loadGeoJson)]
    pub fn load_geojson(&mut self, text: &str, name: &str) -> Result<usize, JsError> {
        let report = self
            .twin
            .load_geojson_str(text, name, &Mapping::default(), LoadMode::Strict)
            .map_err(|e| JsError::new(&e.to_string()))?;
        Ok(report.inserted.len())
    }

    /// Number of assets held.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> usize {
        self.twin.len()
    }

    /// Ids of the assets covering the point, optionally of one kind.
    pub fn contains(&self, lon: f64, lat: f64, kind: Option<String>) -> Vec<String> {
        self.ids(self.twin.query_containing(lon, lat, filter(kind).as_ref()))
    }

    /// Ids of the assets within `metres` of the point.
    pub fn near(&self, lon: f64, lat: f64, metres: f64, kind: Option<String>) -> Vec<String> {
        self.ids(
            self.twin
                .query_within_distance(lon, lat, metres, filter(kind).as_ref()),
        )
    }

    /// Ids of the `k` nearest assets, nearest first.
    pub fn knn(&self, lon: f64, lat: f64, k: usize, kind: Option<String>) -> Vec<String> {
        let hits = self.twin.query_nearest(lon, lat, k, filter(kind).as_ref());
        self.ids(hits.into_iter().map(|(h, _)| h).collect())
    }

    /// Ids of the assets whose lon/lat bounding box meets the box.
    pub fn bbox(
        &self,
        min_lon: f64,
        min_lat: f64,
        max_lon: f64,
        max_lat: f64,
        kind: Option<String>,
    ) -> Vec<String> {
        self.ids(self.twin.query_bbox(
            (min_lon, min_lat),
            (max_lon, max_lat),
            filter(kind).as_ref(),
        ))
    }
}

impl WasmTwin {
    fn ids(&self, hs: Vec<twin_core::Handle>) -> Vec<String> {
        hs.into_iter()
            .filter_map(|h| self.twin.get(h).map(|a| a.id.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_queries_on_the_real_island() {
        let t = WasmTwin::real_island().ok().unwrap();
        assert_eq!(t.size(), 30);
        assert_eq!(
            t.contains(121.397, 31.623, Some("town".into())),
            vec!["CM-TOWN-CHENGQIAO".to_string()]
        );
        assert_eq!(
            t.knn(121.69, 31.40, 1, Some("island".into())),
            vec!["CM-ISL-CHANGXING"]
        );
    }
}
