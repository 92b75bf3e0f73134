//! `X-request-id: <uuid>-<epoch>-<hostname>` on every response (spec §1.5).

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// The id of the request being served, available to handlers as an extension.
#[derive(Debug, Clone)]
pub struct RequestId {
    pub uuid: uuid::Uuid,
}

pub async fn layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let uuid = uuid::Uuid::new_v4();
    let epoch = chrono::Utc::now().timestamp();
    let header = format!("{uuid}-{epoch}-{}", state.hostname);
    req.extensions_mut().insert(RequestId { uuid });
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let started = std::time::Instant::now();
    let mut resp = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&header) {
        resp.headers_mut().insert("X-request-id", v);
    }
    tracing::info!(
        request_id = %uuid, %method, path, status = resp.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64, "request"
    );
    resp
}
