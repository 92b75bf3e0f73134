//! Task Center — platform routes (spec §3.2–§3.7) and the intl `/v1/{project_id}/infer/…` aliases.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};
use utoipa::IntoParams;
use vigil_core::task_state::TaskState;
use vigil_core::FieldError;
use vigil_store::task_list::TaskPageQuery;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, TaskCreateErrorBody, ViasErrorBody};
use crate::json_body::parse_json;
use crate::query::QueryParams;
use crate::task_center::{self, check_task_id, task_error, TaskBody};
use crate::AppState;

/// Create tasks: one per `input.data` entry. A legacy VAS body (`service_config`, `timing`,
/// `edge_pool_id`) is answered in the legacy shape (`[{"id": …}]`, errors as `IVA.` codes).
#[utoipa::path(post, path = "/v2/{project_id}/services/{service_name}/tasks", tag = "Task Center", operation_id = "CreateTask",
    params(("project_id" = String, Path), ("service_name" = String, Path, description = "e.g. c-intrusiondetection-cloud")),
    request_body = TaskBody,
    responses((status = 200, description = "{\"tasks\": [{\"id\": …}]} (legacy body: [{\"id\": …}])"), (status = 400, body = TaskCreateErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, service_name)): Path<(String, String)>,
    bytes: Bytes,
) -> Response {
    let raw: Result<TaskBody, ApiError> = parse_json(&bytes);
    let legacy = raw.as_ref().map(TaskBody::is_legacy).unwrap_or(false);
    let result = async {
        let body = raw?;
        let prepared = task_center::prepare_create(
            &state,
            &caller.project_id,
            &caller.user_name,
            &service_name,
            &body,
            None,
        )
        .await?;
        let ids = state
            .store
            .create_tasks(
                &caller.project_id,
                prepared.tasks,
                prepared.templates,
                state.config.task_quota,
            )
            .await
            .map_err(task_error)?;
        tracing::info!(service_name, tasks = ?ids, "created tasks");
        Ok::<_, ApiError>(ids)
    }
    .await;
    match (result, legacy) {
        (Ok(ids), false) => {
            Json(json!({"tasks": ids.iter().map(|id| json!({"id": id})).collect::<Vec<_>>()})).into_response()
        }
        (Ok(ids), true) => Json(json!(ids.iter().map(|id| json!({"id": id})).collect::<Vec<_>>())).into_response(),
        (Err(e), false) => e.into_response(),
        (Err(e), true) => task_center::legacy(e).into_response(),
    }
}

/// Query of ListTasks (spec §3.3).
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListTasksParams {
    /// `async_task` | `sync_task` (Vigil's video tasks are all asynchronous).
    pub source_data_type: Option<String>,
    /// Algorithm display name (Chinese title, or the English title).
    pub title: Option<String>,
    /// Video source name (substring).
    pub camera_name: Option<String>,
    /// One upper-case state of spec §3.1.
    pub task_state: Option<String>,
    /// Task name (substring).
    pub task_name: Option<String>,
    /// 5–1000, default 10.
    pub page_size: Option<i64>,
    /// Page index, 1-based, default 1.
    pub page: Option<i64>,
    /// `asc` | `desc` (default), by creation time.
    pub sort_dir: Option<String>,
    pub batch_id: Option<String>,
    /// Comma-joined group ids: tasks whose source is in any of them.
    pub video_group_id: Option<String>,
    /// Vendor(s), comma-joined; Vigil's algorithms are from `Vigil`.
    pub company: Option<String>,
    /// Algorithm id (`algorithm_publish_id`).
    pub alg_id: Option<String>,
}

impl ListTasksParams {
    fn parse(q: &QueryParams) -> Result<Self, FieldError> {
        let mut states: Vec<&str> = TaskState::ALL.iter().map(|s| s.as_str()).collect();
        states.extend(["SCHEDULING", "LACK_OF_RESOURCES"]);
        let groups = q.text("video_group_id", 2048)?;
        Ok(Self {
            source_data_type: q.choice("source_data_type", &["async_task", "sync_task"])?,
            title: q.text("title", 64)?,
            camera_name: q.text("camera_name", 255)?,
            task_state: q.choice("task_state", &states)?,
            task_name: q.text("task_name", 100)?,
            page_size: q.int("page_size", 5, 1000)?,
            page: q.int("page", 1, 100_000)?,
            sort_dir: q.choice("sort_dir", &["asc", "desc"])?,
            batch_id: q.text("batch_id", 36)?,
            video_group_id: groups,
            company: q.text("company", 255)?,
            alg_id: q.text("alg_id", 36)?,
        })
    }

    /// The store query of these filters, or None when they match nothing (`sync_task`, another
    /// vendor). The algorithm filters become the list of the catalogue's service names they
    /// select; every other filter is evaluated in SQL.
    fn page_query(&self) -> Option<TaskPageQuery> {
        let other_vendor = self
            .company
            .as_ref()
            .is_some_and(|c| !c.split(',').any(|x| x.trim().eq_ignore_ascii_case("vigil")));
        if self.source_data_type.as_deref() == Some("sync_task") || other_vendor {
            return None;
        }
        let service_names = (self.title.is_some() || self.alg_id.is_some()).then(|| {
            task_center::catalog_service_names(|s| {
                self.title
                    .as_ref()
                    .is_none_or(|t| s.title == t.as_str() || s.title_en.eq_ignore_ascii_case(t))
                    && self.alg_id.as_ref().is_none_or(|a| &task_center::alg_id(s) == a)
            })
        });
        let (size, page) = (self.page_size.unwrap_or(10), self.page.unwrap_or(1));
        Some(TaskPageQuery {
            service_names,
            source_name: self.camera_name.clone(),
            state: self.task_state.clone(),
            name: self.task_name.clone(),
            batch_id: self.batch_id.clone(),
            group_ids: self
                .video_group_id
                .as_ref()
                .map(|g| g.split(',').map(|id| id.trim().to_string()).collect()),
            ascending: self.sort_dir.as_deref() == Some("asc"),
            offset: (page - 1) * size,
            limit: size,
        })
    }
}

#[utoipa::path(get, path = "/v2/{project_id}/tasks", tag = "Task Center", operation_id = "ListTasks",
    params(("project_id" = String, Path), ListTasksParams),
    responses((status = 200, description = "{count (items on this page), tasks, page, page_size}"), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    let params = ListTasksParams::parse(&q)?;
    let tasks = match params.page_query() {
        Some(query) => state.store.task_page(&caller.project_id, &query).await?,
        None => Vec::new(),
    };
    let (size, page) = (params.page_size.unwrap_or(10), params.page.unwrap_or(1));
    let items: Vec<Value> = task_center::views(&state, &caller.project_id, tasks)
        .await?
        .iter()
        .map(task_center::platform_item)
        .collect();
    Ok(Json(
        json!({"count": items.len(), "tasks": items, "page": page, "page_size": size}),
    ))
}

async fn detail(state: &AppState, project: &str, id: &str) -> ApiResult<Value> {
    let task = state.store.get_task(project, id).await.map_err(task_error)?;
    let view = task_center::views(state, project, vec![task]).await?.remove(0);
    Ok(task_center::platform_detail(&view))
}

#[utoipa::path(get, path = "/v2/{project_id}/tasks/{task_id}", tag = "Task Center", operation_id = "ShowTaskInfo",
    params(("project_id" = String, Path), ("task_id" = String, Path)),
    responses((status = 200, description = "ShowTaskInfo"), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    check_task_id(&id)?;
    Ok(Json(detail(&state, &caller.project_id, &id).await?))
}

#[utoipa::path(put, path = "/v2/{project_id}/tasks/{task_id}", tag = "Task Center", operation_id = "UpdateTask",
    params(("project_id" = String, Path), ("task_id" = String, Path)), request_body = TaskBody,
    responses((status = 200, description = "The task's details after the update"), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
    bytes: Bytes,
) -> ApiResult<Json<Value>> {
    check_task_id(&id)?;
    let body: TaskBody = parse_json(&bytes)?;
    let task = state
        .store
        .get_task(&caller.project_id, &id)
        .await
        .map_err(task_error)?;
    let (updated, templates) = task_center::prepare_update(&state, &task, &body).await?;
    state.store.update_task(&updated, templates).await.map_err(task_error)?;
    Ok(Json(detail(&state, &caller.project_id, &id).await?))
}

#[utoipa::path(delete, path = "/v2/{project_id}/tasks/{task_id}", tag = "Task Center", operation_id = "DeleteTask",
    params(("project_id" = String, Path), ("task_id" = String, Path)),
    responses((status = 200, description = "{}"), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    check_task_id(&id)?;
    state
        .store
        .delete_task(&caller.project_id, &id)
        .await
        .map_err(task_error)?;
    tracing::info!(task_id = id, "deleted task");
    Ok(Json(json!({})))
}

#[utoipa::path(put, path = "/v2/{project_id}/tasks/{task_id}/action/{command}", tag = "Task Center", operation_id = "StartStopTask",
    params(("project_id" = String, Path), ("task_id" = String, Path), ("command" = String, Path, description = "start | stop")),
    responses((status = 200, description = "{id, state}"), (status = 400, body = ViasErrorBody), (status = 500, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn action(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id, command)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    check_task_id(&id)?;
    let t = task_center::act(&state, &caller.project_id, &id, &command).await?;
    Ok(Json(json!({"id": t.id, "state": t.state})))
}

// The intl documentation's `/v1/{project_id}/infer/…` aliases: the same handlers under other paths.

#[utoipa::path(post, path = "/v1/{project_id}/infer/services/{service_name}/tasks", tag = "Task Center", operation_id = "CreateTaskV1",
    params(("project_id" = String, Path), ("service_name" = String, Path)), request_body = TaskBody,
    responses((status = 200, description = "as CreateTask")), security(("token" = []), ("aksk" = [])))]
pub async fn create_v1(
    state: State<AppState>,
    caller: Extension<Caller>,
    path: Path<(String, String)>,
    bytes: Bytes,
) -> Response {
    create(state, caller, path, bytes).await
}

#[utoipa::path(get, path = "/v1/{project_id}/infer/tasks", tag = "Task Center", operation_id = "ListTasksV1",
    params(("project_id" = String, Path), ListTasksParams), responses((status = 200, description = "as ListTasks")),
    security(("token" = []), ("aksk" = [])))]
pub async fn list_v1(state: State<AppState>, caller: Extension<Caller>, q: QueryParams) -> ApiResult<Json<Value>> {
    list(state, caller, q).await
}

#[utoipa::path(get, path = "/v1/{project_id}/infer/tasks/{task_id}", tag = "Task Center", operation_id = "ShowTaskInfoV1",
    params(("project_id" = String, Path), ("task_id" = String, Path)), responses((status = 200, description = "as ShowTaskInfo")),
    security(("token" = []), ("aksk" = [])))]
pub async fn show_v1(
    state: State<AppState>,
    caller: Extension<Caller>,
    path: Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    show(state, caller, path).await
}

#[utoipa::path(put, path = "/v1/{project_id}/infer/tasks/{task_id}", tag = "Task Center", operation_id = "UpdateTaskV1",
    params(("project_id" = String, Path), ("task_id" = String, Path)), request_body = TaskBody,
    responses((status = 200, description = "as UpdateTask")), security(("token" = []), ("aksk" = [])))]
pub async fn update_v1(
    state: State<AppState>,
    caller: Extension<Caller>,
    path: Path<(String, String)>,
    bytes: Bytes,
) -> ApiResult<Json<Value>> {
    update(state, caller, path, bytes).await
}

#[utoipa::path(delete, path = "/v1/{project_id}/infer/tasks/{task_id}", tag = "Task Center", operation_id = "DeleteTaskV1",
    params(("project_id" = String, Path), ("task_id" = String, Path)), responses((status = 200, description = "{}")),
    security(("token" = []), ("aksk" = [])))]
pub async fn delete_v1(
    state: State<AppState>,
    caller: Extension<Caller>,
    path: Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    delete(state, caller, path).await
}

#[utoipa::path(put, path = "/v1/{project_id}/infer/tasks/{task_id}/action/{command}", tag = "Task Center", operation_id = "StartStopTaskV1",
    params(("project_id" = String, Path), ("task_id" = String, Path), ("command" = String, Path)),
    responses((status = 200, description = "{id, state}")), security(("token" = []), ("aksk" = [])))]
pub async fn action_v1(
    state: State<AppState>,
    caller: Extension<Caller>,
    path: Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    action(state, caller, path).await
}
