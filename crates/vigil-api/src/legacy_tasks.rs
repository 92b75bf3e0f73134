//! Task Center — the legacy VAS job routes (spec §3.10), service scoped, errors in shape C.
//! The official `huaweicloudsdkvas` SDK speaks exactly these.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};
use vigil_core::task_state::TaskState;
use vigil_core::FieldError;
use vigil_store::task_list::{LegacyTaskOrder, LegacyTaskQuery};
use vigil_store::tasks::TaskRecord;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::json_body::parse_json;
use crate::query::QueryParams;
use crate::task_center::{self, check_task_id, legacy, task_error, TaskBody};
use crate::AppState;

type LegacyResult<T> = Result<T, ApiError>;

async fn task_of_service(state: &AppState, project: &str, service: &str, id: &str) -> ApiResult<TaskRecord> {
    check_task_id(id)?;
    let t = state.store.get_task(project, id).await.map_err(task_error)?;
    if t.service_name != service {
        return Err(task_error(vigil_store::StoreError::NotFound("task")));
    }
    Ok(t)
}

/// Epoch bounds: values below 10^11 are read as seconds, larger ones as milliseconds.
fn epoch_ms(v: i64) -> i64 {
    if v < 100_000_000_000 {
        v * 1000
    } else {
        v
    }
}

/// The store query of ListTasksDetails' parameters (validated in the order clients see errors).
fn list_query(q: &QueryParams, service: &str) -> Result<LegacyTaskQuery, FieldError> {
    let states: Vec<&str> = TaskState::ALL.iter().map(|s| s.as_str()).collect();
    let service_version = q.text("service_version", 32)?;
    let state = q.choice("state", &states)?;
    let name_like = q.text("name_like", 100)?;
    let id_like = q.text("id_like", 64)?;
    let created_since = q.int("created_since", 0, i64::MAX)?.map(epoch_ms);
    let created_until = q.int("created_until", 0, i64::MAX)?.map(epoch_ms);
    let offset = q.int("offset", 0, 100_000)?.unwrap_or(0);
    let limit = q.int("limit", 1, 1000)?.unwrap_or(1000);
    let order = match q
        .choice(
            "order",
            &[
                "name:ASC",
                "name:DESC",
                "created_at:ASC",
                "created_at:DESC",
                "updated_at:ASC",
                "updated_at:DESC",
            ],
        )?
        .as_deref()
    {
        Some("name:ASC") => LegacyTaskOrder::NameAsc,
        Some("name:DESC") => LegacyTaskOrder::NameDesc,
        Some("created_at:ASC") => LegacyTaskOrder::CreatedAsc,
        Some("updated_at:ASC") => LegacyTaskOrder::UpdatedAsc,
        Some("updated_at:DESC") => LegacyTaskOrder::UpdatedDesc,
        _ => LegacyTaskOrder::CreatedDesc,
    };
    Ok(LegacyTaskQuery {
        service_name: service.to_string(),
        service_version,
        state,
        name_like,
        id_like,
        created_since,
        created_until,
        order,
        offset,
        limit,
    })
}

/// ListTasksDetails: `{count (all matches), tasks}` with offset/limit/order.
#[utoipa::path(get, path = "/v2/{project_id}/services/{service_name}/tasks", tag = "Legacy VAS jobs", operation_id = "ListTasksDetails",
    params(("project_id" = String, Path), ("service_name" = String, Path), ("offset" = Option<i64>, Query), ("limit" = Option<i64>, Query), ("order" = Option<String>, Query), ("service_version" = Option<String>, Query), ("state" = Option<String>, Query), ("name_like" = Option<String>, Query), ("id_like" = Option<String>, Query), ("created_since" = Option<i64>, Query), ("created_until" = Option<i64>, Query)),
    responses((status = 200, description = "{count, tasks: [TaskDetails]}")), security(("token" = []), ("aksk" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, service)): Path<(String, String)>,
    q: QueryParams,
) -> LegacyResult<Json<Value>> {
    let result = async {
        let query = list_query(&q, &service)?;
        let (count, tasks) = state.store.legacy_task_page(&caller.project_id, &query).await?;
        let page: Vec<Value> = tasks.iter().map(task_center::legacy_detail).collect();
        Ok::<_, ApiError>(Json(json!({"count": count, "tasks": page})))
    }
    .await;
    result.map_err(legacy)
}

#[utoipa::path(get, path = "/v2/{project_id}/services/{service_name}/tasks/{task_id}", tag = "Legacy VAS jobs", operation_id = "ShowTask",
    params(("project_id" = String, Path), ("service_name" = String, Path), ("task_id" = String, Path)), responses((status = 200, description = "TaskDetails with hosting_result")), security(("token" = []), ("aksk" = [])))]
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, service, id)): Path<(String, String, String)>,
) -> LegacyResult<Json<Value>> {
    let t = task_of_service(&state, &caller.project_id, &service, &id)
        .await
        .map_err(legacy)?;
    let mut v = task_center::legacy_detail(&t);
    v["hosting_result"] = json!({"status": "NOT_GENERATED"});
    Ok(Json(v))
}

#[utoipa::path(put, path = "/v2/{project_id}/services/{service_name}/tasks/{task_id}", tag = "Legacy VAS jobs", operation_id = "UpdateLegacyTask",
    params(("project_id" = String, Path), ("service_name" = String, Path), ("task_id" = String, Path)), request_body = TaskBody, responses((status = 200, description = "TaskDetails")), security(("token" = []), ("aksk" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, service, id)): Path<(String, String, String)>,
    bytes: Bytes,
) -> LegacyResult<Json<Value>> {
    let result = async {
        let t = task_of_service(&state, &caller.project_id, &service, &id).await?;
        let body: TaskBody = parse_json(&bytes)?;
        let (updated, templates) = task_center::prepare_update(&state, &t, &body).await?;
        state.store.update_task(&updated, templates).await.map_err(task_error)?;
        let t = state
            .store
            .get_task(&caller.project_id, &id)
            .await
            .map_err(task_error)?;
        Ok::<_, ApiError>(Json(task_center::legacy_detail(&t)))
    }
    .await;
    result.map_err(legacy)
}

#[utoipa::path(delete, path = "/v2/{project_id}/services/{service_name}/tasks/{task_id}", tag = "Legacy VAS jobs", operation_id = "DeleteLegacyTask",
    params(("project_id" = String, Path), ("service_name" = String, Path), ("task_id" = String, Path)), responses((status = 200, description = "empty")), security(("token" = []), ("aksk" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, service, id)): Path<(String, String, String)>,
) -> LegacyResult<Response> {
    let result = async {
        task_of_service(&state, &caller.project_id, &service, &id).await?;
        state
            .store
            .delete_task(&caller.project_id, &id)
            .await
            .map_err(task_error)?;
        Ok::<_, ApiError>(StatusCode::OK.into_response())
    }
    .await;
    result.map_err(legacy)
}

async fn act(state: AppState, caller: Caller, service: String, id: String, command: &str) -> LegacyResult<Response> {
    let result = async {
        task_of_service(&state, &caller.project_id, &service, &id).await?;
        task_center::act(&state, &caller.project_id, &id, command).await?;
        Ok::<_, ApiError>(StatusCode::OK.into_response())
    }
    .await;
    result.map_err(legacy)
}

#[utoipa::path(post, path = "/v2/{project_id}/services/{service_name}/tasks/{task_id}/start", tag = "Legacy VAS jobs", operation_id = "StartTask",
    params(("project_id" = String, Path), ("service_name" = String, Path), ("task_id" = String, Path)), responses((status = 200, description = "empty")), security(("token" = []), ("aksk" = [])))]
pub async fn start(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, service, id)): Path<(String, String, String)>,
) -> LegacyResult<Response> {
    act(state, caller, service, id, "start").await
}

#[utoipa::path(post, path = "/v2/{project_id}/services/{service_name}/tasks/{task_id}/stop", tag = "Legacy VAS jobs", operation_id = "StopTask",
    params(("project_id" = String, Path), ("service_name" = String, Path), ("task_id" = String, Path)), responses((status = 200, description = "empty")), security(("token" = []), ("aksk" = [])))]
pub async fn stop(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, service, id)): Path<(String, String, String)>,
) -> LegacyResult<Response> {
    act(state, caller, service, id, "stop").await
}
