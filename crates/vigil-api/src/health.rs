//! `GET /health` for load balancers: no auth, checks the database answers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::AppState;

#[utoipa::path(get, path = "/health", operation_id = "Health", tag = "Operations",
    responses((status = 200, description = "Serving, database reachable"), (status = 503, description = "Database unreachable")))]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match sqlx_ping(&state).await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ok"}))),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "detail": e})),
        ),
    }
}

async fn sqlx_ping(state: &AppState) -> Result<(), String> {
    state.store.count_users().await.map(|_| ()).map_err(|e| e.to_string())
}
