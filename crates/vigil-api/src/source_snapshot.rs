//! Vigil extension, outside the VIAS surface: a video source's latest snapshot as a JPEG
//! (`GET /v2/{project_id}/vigil/sources/{video_source_id}/snapshot`). VIAS clients get it base64
//! inside ShowVideoSource; the console's camera list loads it per row as a plain image.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use vigil_store::StoreError;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ViasErrorBody};
use crate::AppState;

/// VIAS answers a missing object with 400; an image URL answers 404 so browsers and caches treat
/// it as absent. The body is the usual VIAS error (`VIAS.00010002`, `params: [video_source_id]`).
fn not_found(what: &str) -> Response {
    let mut resp = ApiError::not_found("video_source_id", what).into_response();
    *resp.status_mut() = StatusCode::NOT_FOUND;
    resp
}

#[utoipa::path(get, path = "/v2/{project_id}/vigil/sources/{video_source_id}/snapshot", operation_id = "ShowVideoSourceSnapshot",
    tag = "Vigil extensions",
    description = "Vigil extension (not part of VIAS): the latest snapshot the health prober took of a video source, \
        as a JPEG. 404 `VIAS.00010002` when the source does not exist or has no snapshot yet.",
    params(("project_id" = String, Path), ("video_source_id" = String, Path)),
    responses((status = 200, body = Vec<u8>, content_type = "image/jpeg"), (status = 400, body = ViasErrorBody),
        (status = 404, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    if !vigil_core::ids::is_resource_id(&id) {
        return Err(ApiError::invalid("video_source_id", "must match ^[a-z0-9_-]{4,36}$"));
    }
    let b64 = match state.store.source_snapshot(&caller.project_id, &id).await {
        Ok(Some(b64)) => b64,
        Ok(None) => return Ok(not_found("a snapshot of this video source")),
        Err(StoreError::NotFound(_)) => return Ok(not_found("the video source")),
        Err(e) => return Err(e.into()),
    };
    let jpeg = vigil_core::alarm::decode_image(&b64)
        .map_err(|e| ApiError::internal(format!("snapshot of {id} is not base64: {e}")))?;
    let mut resp = jpeg.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(resp)
}
