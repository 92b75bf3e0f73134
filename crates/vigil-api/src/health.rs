//! `GET /health` for load balancers: no auth, checks the database answers. The answer is one of
//! two fixed bodies; why the database failed goes to the log, never to the (anonymous) caller.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::AppState;

#[utoipa::path(get, path = "/health", operation_id = "Health", tag = "Operations",
    responses((status = 200, description = "Serving, database reachable: {\"status\":\"ok\"}"),
              (status = 503, description = "Database unreachable: {\"status\":\"unavailable\"}")))]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.store.count_users().await {
        Ok(_) => (StatusCode::OK, Json(json!({"status": "ok"}))),
        Err(e) => {
            tracing::error!(error = %e, "health check: the database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable"})))
        }
    }
}
