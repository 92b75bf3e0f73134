//! Task Center — batch tasks (spec §3.8): one configuration over the sources of video groups,
//! materialised as one task per source carrying the batch id.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};
use vigil_core::secret_fields::seal_json;
use vigil_core::task_io::parse_output;
use vigil_core::task_state::TaskState;
use vigil_core::{validate, ErrorCode, FieldError};
use vigil_store::batch_tasks::{BatchPageQuery, BatchRecord, BatchTaskBrief};
use vigil_store::StoreError;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ViasErrorBody};
use crate::json_body::parse_json;
use crate::query::{PagedSwitch, QueryParams};
use crate::task_center::{self, TaskBody};
use crate::AppState;

#[derive(Debug, Deserialize, Serialize, ToSchema, Clone)]
pub struct BatchSource {
    pub video_source_id: String,
    /// Per-source ROI overriding `config.common.target_roi`.
    pub target_roi: Option<String>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema, Clone)]
pub struct BatchGroup {
    pub video_source_group_id: String,
    /// Omitted or empty: every source of the group.
    pub video_source_list: Option<Vec<BatchSource>>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema, Clone)]
pub struct BatchInput {
    pub video_source_group: Vec<BatchGroup>,
}

#[derive(Debug, Deserialize, ToSchema, Clone)]
pub struct BatchTaskBody {
    pub name: Option<String>,
    pub description: Option<String>,
    pub schedule: Option<Value>,
    pub batch_input: Option<BatchInput>,
    pub output: Option<Value>,
    pub config: Option<Value>,
    pub service_name: Option<String>,
    pub service_version: Option<String>,
    pub is_saved_as_template: Option<bool>,
    pub resource_order_id: Option<String>,
}

/// `BatchOpResult`.
#[derive(Debug, Serialize, ToSchema, Default)]
pub struct BatchOpResult {
    pub total_count: i64,
    pub failed_count: i64,
    pub succeed_count: i64,
    pub id: String,
    pub error_list: Vec<String>,
}

impl BatchOpResult {
    fn record(&mut self, r: Result<(), String>) {
        self.total_count += 1;
        match r {
            Ok(()) => self.succeed_count += 1,
            Err(e) => {
                self.failed_count += 1;
                self.error_list.push(e);
            }
        }
    }
}

fn batch_error(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound("batch task") => {
            ApiError::param(ErrorCode::IdNotFound, "id", "no batch task with this id")
        }
        StoreError::Quota {
            what: "batch tasks",
            limit,
        } => ApiError::new(
            ErrorCode::TaskQuotaReached,
            format!("the project may hold at most {limit} batch tasks"),
        ),
        StoreError::DuplicateName("batch task") => ApiError::param(
            ErrorCode::DuplicateTaskName,
            "name",
            "a batch task with this name exists",
        ),
        other => other.into(),
    }
}

/// The (source id, ROI override) pairs a batch input selects, checked against the project's groups.
async fn selected_sources(
    state: &AppState,
    project: &str,
    input: &BatchInput,
) -> ApiResult<(Vec<String>, Vec<(String, Option<String>)>)> {
    if input.video_source_group.is_empty() || input.video_source_group.len() > 50 {
        return Err(ApiError::invalid(
            "batch_input.video_source_group",
            "1 to 50 groups are required",
        ));
    }
    let mut groups = Vec::new();
    let mut picked: BTreeMap<String, Option<String>> = BTreeMap::new();
    for (gi, g) in input.video_source_group.iter().enumerate() {
        let at = format!("batch_input.video_source_group[{gi}]");
        let group = match state.store.get_group(project, &g.video_source_group_id).await {
            Ok(g) => g,
            Err(StoreError::NotFound(_)) => {
                return Err(ApiError::not_found(
                    &format!("{at}.video_source_group_id"),
                    "the video group",
                ))
            }
            Err(e) => return Err(e.into()),
        };
        let members = state.store.group_member_ids(project, &group.id).await?;
        match g.video_source_list.as_deref() {
            None | Some([]) => {
                for m in members {
                    picked.entry(m).or_insert(None);
                }
            }
            Some(list) => {
                for (si, s) in list.iter().enumerate() {
                    if !members.contains(&s.video_source_id) {
                        return Err(ApiError::not_found(
                            &format!("{at}.video_source_list[{si}].video_source_id"),
                            "a member source of the group",
                        ));
                    }
                    picked.insert(s.video_source_id.clone(), s.target_roi.clone());
                }
            }
        }
        groups.push(group.id);
    }
    if picked.is_empty() {
        return Err(ApiError::invalid(
            "batch_input.video_source_group",
            "the groups hold no video source",
        ));
    }
    Ok((groups, picked.into_iter().collect()))
}

/// The per-source task body of a batch.
fn task_body(b: &BatchTaskBody, name: String, source_id: &str, roi: &Option<String>) -> TaskBody {
    let mut config = b.config.clone().unwrap_or_else(|| json!({"common": {}}));
    if let Some(roi) = roi {
        if let Some(common) = config.get_mut("common").and_then(Value::as_object_mut) {
            common.insert("target_roi".into(), Value::String(roi.clone()));
        }
    }
    TaskBody {
        name: Some(name),
        description: b.description.clone(),
        schedule: b.schedule.clone(),
        input: Some(json!({"type": "video_source", "data": [{"video_source_id": source_id}]})),
        output: b.output.clone(),
        config: Some(config),
        service_version: b.service_version.clone(),
        is_saved_as_template: b.is_saved_as_template,
        resource_order_id: b.resource_order_id.clone(),
        ..Default::default()
    }
}

/// Checks what all tasks of the batch share, so a bad body fails as one 400.
fn check_shared(b: &BatchTaskBody, service: &str) -> ApiResult<()> {
    let name = b
        .name
        .as_deref()
        .ok_or_else(|| ApiError::invalid("name", "name is required"))?;
    validate::task_name("name", name)?;
    if b.description.as_ref().is_some_and(|d| d.chars().count() > 500) {
        return Err(ApiError::invalid("description", "must be at most 500 characters"));
    }
    let (spec, _) = task_center::algorithm(service)?;
    parse_output(
        b.output
            .as_ref()
            .ok_or_else(|| ApiError::invalid("output", "output is required"))?,
    )?;
    let probe = TaskBody {
        config: b.config.clone(),
        schedule: b.schedule.clone(),
        ..Default::default()
    };
    task_center::schedule_of(&probe)?;
    task_center::effective_config(spec, &probe)?;
    Ok(())
}

async fn create_one(
    state: &AppState,
    caller: &Caller,
    service: &str,
    body: TaskBody,
    batch_id: &str,
) -> Result<(), String> {
    let prepared = task_center::prepare_create(
        state,
        &caller.project_id,
        &caller.user_name,
        service,
        &body,
        Some(batch_id),
    )
    .await
    .map_err(|e| {
        format!(
            "{}: {} {}",
            body.name.clone().unwrap_or_default(),
            e.code.code(),
            e.detail
        )
    })?;
    state
        .store
        .create_tasks(
            &caller.project_id,
            prepared.tasks,
            prepared.templates,
            state.config.task_quota,
        )
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "{}: {}",
                body.name.unwrap_or_default(),
                task_center::task_error(e).detail
            )
        })
}

#[utoipa::path(post, path = "/v2/{project_id}/batch-tasks", tag = "Task Center", operation_id = "CreateBatchTask",
    params(("project_id" = String, Path)), request_body = BatchTaskBody,
    responses((status = 200, body = BatchOpResult), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    bytes: Bytes,
) -> ApiResult<Json<BatchOpResult>> {
    let mut b: BatchTaskBody = parse_json(&bytes)?;
    let service = b
        .service_name
        .clone()
        .ok_or_else(|| ApiError::invalid("service_name", "service_name is required"))?;
    check_shared(&b, &service)?;
    // Webhook header values are sealed at rest, in the batch and in each of its tasks.
    b.output = b.output.map(|o| seal_json(&state.secrets, &o, None));
    let input = b
        .batch_input
        .as_ref()
        .ok_or_else(|| ApiError::invalid("batch_input", "batch_input is required"))?;
    let (group_ids, picked) = selected_sources(&state, &caller.project_id, input).await?;
    let name = b.name.clone().unwrap_or_default();
    let record = BatchRecord {
        id: String::new(),
        project_id: caller.project_id.clone(),
        name: name.clone(),
        description: b.description.clone().unwrap_or_default(),
        service_name: service.clone(),
        service_version: b.service_version.clone().unwrap_or_else(|| "3.0".into()),
        batch_input: serde_json::to_string(input).unwrap_or_default(),
        output: b.output.as_ref().map(Value::to_string).unwrap_or_default(),
        config: b.config.as_ref().map(Value::to_string).unwrap_or_default(),
        schedule: b.schedule.as_ref().map(Value::to_string),
        resource_order_id: b.resource_order_id.clone().unwrap_or_default(),
        group_ids,
        created_at: 0,
        updated_at: 0,
    };
    let id = state
        .store
        .save_batch(record, state.config.batch_task_quota)
        .await
        .map_err(batch_error)?;
    let mut result = BatchOpResult {
        id: id.clone(),
        ..Default::default()
    };
    for (i, (source, roi)) in picked.iter().enumerate() {
        let body = task_body(&b, format!("{name}_{}", i + 1), source, roi);
        result.record(create_one(&state, &caller, &service, body, &id).await);
    }
    tracing::info!(
        batch_id = id,
        created = result.succeed_count,
        failed = result.failed_count,
        "created batch task"
    );
    Ok(Json(result))
}

#[utoipa::path(put, path = "/v2/{project_id}/batch-tasks/{id}", tag = "Task Center", operation_id = "UpdateBatchTask",
    params(("project_id" = String, Path), ("id" = String, Path)), request_body = BatchTaskBody,
    responses((status = 200, body = BatchOpResult), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
    bytes: Bytes,
) -> ApiResult<Json<BatchOpResult>> {
    task_center::check_task_id(&id).map_err(|_| ApiError::invalid("id", "must be 1 to 64 letters or digits"))?;
    let mut b: BatchTaskBody = parse_json(&bytes)?;
    let current = state
        .store
        .get_batch(&caller.project_id, &id)
        .await
        .map_err(batch_error)?;
    let parse_stored = |s: &str| serde_json::from_str::<Value>(s).ok();
    b.output = match b.output {
        Some(o) => Some(seal_json(&state.secrets, &o, parse_stored(&current.output).as_ref())),
        None => parse_stored(&current.output),
    };
    b.config = b.config.or_else(|| parse_stored(&current.config));
    b.schedule = b
        .schedule
        .or_else(|| current.schedule.as_deref().and_then(parse_stored));
    b.service_version = Some(current.service_version.clone());
    check_shared(&b, &current.service_name)?;
    let input = match &b.batch_input {
        Some(i) => i.clone(),
        None => serde_json::from_str(&current.batch_input).map_err(ApiError::internal)?,
    };
    let (group_ids, picked) = selected_sources(&state, &caller.project_id, &input).await?;
    let name = b.name.clone().unwrap_or_default();
    let record = BatchRecord {
        name: name.clone(),
        description: b.description.clone().unwrap_or(current.description.clone()),
        batch_input: serde_json::to_string(&input).unwrap_or_default(),
        output: b.output.as_ref().map(Value::to_string).unwrap_or_default(),
        config: b.config.as_ref().map(Value::to_string).unwrap_or_default(),
        schedule: b.schedule.as_ref().map(Value::to_string),
        resource_order_id: b.resource_order_id.clone().unwrap_or(current.resource_order_id.clone()),
        group_ids,
        ..current.clone()
    };
    state
        .store
        .save_batch(record, state.config.batch_task_quota)
        .await
        .map_err(batch_error)?;
    let tasks = state.store.tasks_of_batch(&caller.project_id, &id).await?;
    let mut result = BatchOpResult {
        id: id.clone(),
        ..Default::default()
    };
    // Tasks of sources no longer selected go; kept ones are updated in place; new ones are created.
    for t in &tasks {
        if !picked.iter().any(|(s, _)| t.video_source_id.as_deref() == Some(s)) {
            result.record(
                state
                    .store
                    .delete_task(&caller.project_id, &t.id)
                    .await
                    .map_err(|e| e.to_string()),
            );
        }
    }
    let mut taken: Vec<String> = tasks.iter().map(|t| t.name.clone()).collect();
    for (source, roi) in &picked {
        let fresh = (1..)
            .map(|n| format!("{name}_{n}"))
            .find(|n| !taken.contains(n))
            .unwrap_or_default();
        let mut body = task_body(&b, fresh.clone(), source, roi);
        match tasks.iter().find(|t| t.video_source_id.as_deref() == Some(source)) {
            Some(t) => {
                body.name = None;
                let r = async {
                    let (updated, templates) = task_center::prepare_update(&state, t, &body).await?;
                    state
                        .store
                        .update_task(&updated, templates)
                        .await
                        .map_err(task_center::task_error)
                }
                .await
                .map_err(|e| format!("{}: {}", t.name, e.detail));
                result.record(r);
            }
            None => {
                taken.push(fresh);
                result.record(create_one(&state, &caller, &current.service_name, body, &id).await)
            }
        }
    }
    Ok(Json(result))
}

#[utoipa::path(delete, path = "/v2/{project_id}/batch-tasks/{id}", tag = "Task Center", operation_id = "DeleteBatchTask",
    params(("project_id" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = BatchOpResult), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<BatchOpResult>> {
    let n = state
        .store
        .delete_batch(&caller.project_id, &id)
        .await
        .map_err(batch_error)? as i64;
    Ok(Json(BatchOpResult {
        total_count: n,
        succeed_count: n,
        id,
        ..Default::default()
    }))
}

#[utoipa::path(put, path = "/v2/{project_id}/batch-tasks/{id}/action/{command}", tag = "Task Center", operation_id = "StartStopBatchTask",
    params(("project_id" = String, Path), ("id" = String, Path), ("command" = String, Path, description = "start | stop")),
    responses((status = 200, body = BatchOpResult), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn action(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id, command)): Path<(String, String, String)>,
) -> ApiResult<Json<BatchOpResult>> {
    if command != "start" && command != "stop" {
        return Err(ApiError::invalid("command", "must be start or stop"));
    }
    state
        .store
        .get_batch(&caller.project_id, &id)
        .await
        .map_err(batch_error)?;
    let mut result = BatchOpResult {
        id: id.clone(),
        ..Default::default()
    };
    for t in state.store.tasks_of_batch(&caller.project_id, &id).await? {
        let r = task_center::act(&state, &caller.project_id, &t.id, &command).await;
        result.record(r.map(|_| ()).map_err(|e| format!("{}: {}", t.name, e.detail)));
    }
    Ok(Json(result))
}

/// Query of ListBatchTasks (spec §3.8.2).
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListBatchTasksParams {
    pub is_paged: Option<bool>,
    /// 5–200
    pub page_size: Option<i64>,
    /// 1–10000
    pub page_num: Option<i64>,
    /// `asc` | `desc` (default)
    pub order_by: Option<String>,
    /// `task_count` | `created_at` (default)
    pub sort_name: Option<String>,
    /// Comma-separated group names or ids.
    pub video_group: Option<String>,
    /// Lower-case task state: batches with at least one task in it.
    pub task_state: Option<String>,
    /// `batch_task_name` | `publish_service_name`: the field `name_like` searches.
    pub type_like: Option<String>,
    pub name_like: Option<String>,
    pub manufacturer: Option<String>,
    /// Algorithm display name.
    pub title: Option<String>,
}

impl ListBatchTasksParams {
    fn parse(q: &QueryParams) -> Result<Self, FieldError> {
        let mut states: Vec<String> = TaskState::ALL.iter().map(|s| s.as_str().to_lowercase()).collect();
        states.extend(["stopped_no_service", "scheduling", "lack_of_resources"].map(String::from));
        let states: Vec<&str> = states.iter().map(String::as_str).collect();
        Ok(Self {
            is_paged: q.bool("is_paged")?,
            page_size: q.int("page_size", 5, 200)?,
            page_num: q.int("page_num", 1, 10_000)?,
            order_by: q.choice("order_by", &["asc", "desc"])?,
            sort_name: q.choice("sort_name", &["task_count", "created_at"])?,
            video_group: q.text("video_group", 1000)?,
            task_state: q.choice("task_state", &states)?,
            type_like: q.choice("type_like", &["batch_task_name", "publish_service_name"])?,
            name_like: q.text("name_like", 100)?,
            manufacturer: q.text("manufacturer", 64)?,
            title: q.text("title", 64)?,
        })
    }
}

impl ListBatchTasksParams {
    /// The store query of these filters and page, or None when they match nothing (another
    /// vendor, an unknown state key).
    fn page_query(&self, paging: &PagedSwitch) -> Option<BatchPageQuery> {
        if self
            .manufacturer
            .as_ref()
            .is_some_and(|m| !m.eq_ignore_ascii_case("vigil"))
        {
            return None;
        }
        // A task counts under `stopped_no_service` when stop-deploy stopped it, else under its
        // lower-cased state (see `batch_item`).
        let task_state = match self.task_state.as_deref() {
            None => None,
            Some(s) if !STATE_KEYS.contains(&s) => return None,
            Some("stopped") => Some(("STOPPED".to_string(), Some(false))),
            Some("stopped_no_service") => Some(("STOPPED".to_string(), Some(true))),
            Some(s) => Some((s.to_uppercase(), None)),
        };
        Some(BatchPageQuery {
            groups: self
                .video_group
                .as_ref()
                .map(|vg| vg.split(',').map(|x| x.trim().to_string()).collect()),
            task_state,
            name_like: self.name_like.clone(),
            search_service_name: self.type_like.as_deref() == Some("publish_service_name"),
            service_names: self
                .title
                .as_ref()
                .map(|t| task_center::catalog_service_names(|s| s.title == t.as_str())),
            by_task_count: self.sort_name.as_deref() == Some("task_count"),
            ascending: paging.ascending,
            page: paging.sql_page(),
        })
    }
}

/// A batch as ListBatchTasks shows it, from its tasks (oldest first) and group names.
fn batch_item(b: &BatchRecord, tasks: &[BatchTaskBrief], group_names: &[String]) -> Value {
    let spec = vigil_core::catalog::Catalog::by_service_name(&b.service_name);
    let source_names: Vec<&str> = tasks.iter().filter_map(|t| t.source_name.as_deref()).collect();
    let mut counters: BTreeMap<&str, i64> = STATE_KEYS.iter().map(|k| (*k, 0)).collect();
    for t in tasks {
        // A task stopped by stop-deploy counts as `stopped_no_service`, not `stopped`.
        let key = if t.state == "STOPPED" && t.status == "stopped_no_service" {
            t.status.clone()
        } else {
            t.state.to_lowercase()
        };
        if let Some(c) = counters.get_mut(key.as_str()) {
            *c += 1;
        }
    }
    json!({
        "id": b.id, "batch_task_name": b.name, "video_source_name": source_names.join(","),
        "video_group_name": group_names.join(","), "alg_name": spec.map(|(s, _)| s.title).unwrap_or(""), "company": "Vigil",
        "type": spec.map(|(_, pl)| pl.as_str()).unwrap_or("cloud"), "num_task": tasks.len(), "created_at": b.created_at,
        "batch_task_status_info": counters,
    })
}

const STATE_KEYS: [&str; 18] = [
    "pending",
    "recovering",
    "starting",
    "upgrading",
    "create_failed",
    "start_failed",
    "running",
    "stopping",
    "stopped",
    "abnormal",
    "succeeded",
    "failed",
    "deleting",
    "freezing",
    "frozen",
    "stopped_no_service",
    "scheduling",
    "lack_of_resources",
];

#[utoipa::path(get, path = "/v2/{project_id}/batch-tasks", tag = "Task Center", operation_id = "ListBatchTasks",
    params(("project_id" = String, Path), ListBatchTasksParams),
    responses((status = 200, description = "{count, batch_task_list}"), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    let p = ListBatchTasksParams::parse(&q)?;
    let paging = PagedSwitch::new(p.is_paged, p.page_size, p.page_num, p.order_by.as_deref());
    let Some(query) = p.page_query(&paging) else {
        return Ok(Json(json!({"count": 0, "batch_task_list": []})));
    };
    let (count, batches) = state.store.batch_page(&caller.project_id, &query).await?;
    let ids: Vec<String> = batches.iter().map(|b| b.id.clone()).collect();
    let mut extras = state.store.batch_page_extras(&caller.project_id, &ids).await?;
    let list: Vec<Value> = batches
        .iter()
        .map(|b| {
            let tasks = extras.tasks.remove(&b.id).unwrap_or_default();
            let group_names = extras.group_names.remove(&b.id).unwrap_or_default();
            batch_item(b, &tasks, &group_names)
        })
        .collect();
    Ok(Json(json!({"count": count, "batch_task_list": list})))
}
