//! Vigil extension for the console: each running task's throughput as its worker last reported
//! it (`task_stats`, refreshed every ~5 s). Project-scoped.

use axum::extract::State;
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;
use vigil_store::task_stats::TaskStats;

use crate::auth::Caller;
use crate::error::{ApiResult, ViasErrorBody};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskStatsDto {
    pub task_id: String,
    /// The worker (node) running the task.
    pub node_id: String,
    /// Frames per second the task analysed over the last few seconds (0 when the report is
    /// older than 60 s).
    pub analysed_fps: f64,
    /// Frames per second decoded from the task's source (0 when older than 60 s).
    pub decode_fps: f64,
    /// Frames analysed since the worker took the task.
    pub analysed_frames: i64,
    /// Frames of a live source dropped because analysis fell behind.
    pub dropped_frames: i64,
    /// Pipeline restarts after failures, and stall restarts of the task's stream.
    pub restarts: i64,
    /// Epoch ms of the worker's report.
    pub updated_at: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListTaskStatsResponse {
    /// One item per task some worker runs now (stopped tasks have none).
    pub stats: Vec<TaskStatsDto>,
}

impl From<TaskStats> for TaskStatsDto {
    fn from(s: TaskStats) -> Self {
        TaskStatsDto {
            task_id: s.task_id,
            node_id: s.node_id,
            analysed_fps: s.analysed_fps,
            decode_fps: s.decode_fps,
            analysed_frames: s.analysed_frames,
            dropped_frames: s.dropped_frames,
            restarts: s.restarts,
            updated_at: s.updated_at,
        }
    }
}

#[utoipa::path(get, path = "/v2/{project_id}/vigil/task-stats", operation_id = "ListTaskStats", tag = "Vigil extensions",
    params(("project_id" = String, Path)),
    responses((status = 200, body = ListTaskStatsResponse), (status = 401, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<ListTaskStatsResponse>> {
    let rows = state
        .store
        .list_task_stats(&caller.project_id, vigil_store::now_ms())
        .await?;
    Ok(Json(ListTaskStatsResponse {
        stats: rows.into_iter().map(Into::into).collect(),
    }))
}
