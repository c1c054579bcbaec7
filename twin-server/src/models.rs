//! The building models the served twin holds (`twin serve --bim FILE --place …`),
//! offered to its screens: a dashboard builds its own twin from the bundled data, so
//! to hold the server's assets (equal fingerprints, docs/stream.md §5) it adds the same
//! models the same way. The stream's `hello` lists them and `get_model` sends a model's
//! bytes as file pieces (kind 5); `GET /api/v1/models` and `GET /api/v1/models/{index}`
//! give the same to any HTTP client.
//!
//! The bytes are kept as they were read when the server started, so a file changed on
//! disk later cannot make the screens hold other assets than the server.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use twin_core::stream::HelloModel;

use crate::api::error::ApiError;
use crate::state::Served;

/// A model the served twin holds.
#[derive(Clone, Debug)]
pub struct ServedModel {
    /// How the screens see it: index, file name (no folder), length, place and CRS.
    pub info: HelloModel,
    /// The file's bytes.
    pub bytes: Bytes,
}

/// The largest model offered to screens (bytes): a file piece's offset is a `u32`.
pub const MAX_MODEL_BYTES: usize = u32::MAX as usize;

impl Served {
    /// Offers a model the session's twin was given (its bytes as read, `name` the
    /// file's path or name: only the last part is shown, `place` and `crs` as the
    /// command line said them). Models are offered in the order they are added, which
    /// must be the order they were added to the twin.
    pub fn add_model(
        &mut self,
        name: &str,
        bytes: Vec<u8>,
        place: Option<String>,
        crs: Option<String>,
    ) -> Result<(), String> {
        if bytes.len() > MAX_MODEL_BYTES {
            return Err(format!(
                "{name}: {} bytes, more than the {MAX_MODEL_BYTES} a screen is sent",
                bytes.len()
            ));
        }
        let short = std::path::Path::new(name)
            .file_name()
            .map_or_else(|| name.to_string(), |n| n.to_string_lossy().into_owned());
        self.models.push(ServedModel {
            info: HelloModel {
                index: self.models.len() as u32,
                name: short,
                bytes: bytes.len() as u32,
                place,
                crs,
            },
            bytes: Bytes::from(bytes),
        });
        Ok(())
    }

    /// The models offered, in order.
    pub fn models(&self) -> &[ServedModel] {
        &self.models
    }
}

/// `GET /api/v1/models`: the models the twin holds, in the order they were added.
pub async fn list(State(served): State<Arc<Served>>) -> Response {
    let list: Vec<&HelloModel> = served.models.iter().map(|m| &m.info).collect();
    axum::Json(serde_json::json!({ "models": list })).into_response()
}

/// `GET /api/v1/models/{index}`: a model's bytes, as read when the server started.
pub async fn file(
    State(served): State<Arc<Served>>,
    index: Result<Path<u32>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(index) =
        index.map_err(|_| ApiError::bad("the model's index is a number (0, 1, …)"))?;
    let m = served
        .models
        .get(index as usize)
        .ok_or_else(|| ApiError::not_found(format!("no model {index}")))?;
    // The name is the server's own (a file name it was given), quoted for the header.
    let disposition = format!(
        "attachment; filename=\"{}\"",
        m.info
            .name
            .chars()
            .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            })
            .collect::<String>()
    );
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        m.bytes.clone(),
    )
        .into_response())
}
