//! Task Center logic shared by the platform routes (`/tasks…`), the legacy VAS routes
//! (`/services/{service_name}/tasks…`) and batch tasks: validating a task body into rows, and
//! rendering task rows back into the two response shapes.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;
use vigil_core::catalog::{validate_common_at, AlgorithmSpec, Catalog, Placement};
use vigil_core::secret_fields::{mask_json, mask_url, seal_json};
use vigil_core::task_io::{parse_input, parse_output, TaskSource};
use vigil_core::{schedule, validate, ErrorCode, FieldError};
use vigil_store::source_list::SourceSummary;
use vigil_store::tasks::{NewTask, TaskRecord, TemplateWrite};
use vigil_store::StoreError;

use crate::error::{ApiError, ApiResult, Shape};
use crate::AppState;

/// Create/update body in either flavour: current (`config`, `schedule`) or legacy VAS
/// (`service_config`, `timing`, `edge_pool_id`).
#[derive(Debug, Deserialize, ToSchema, Default, Clone)]
pub struct TaskBody {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Weekly schedule (current body).
    pub schedule: Option<Value>,
    /// Legacy schedule (`type` daily/weekly, `periods` of `{begin_at, end_at}`).
    pub timing: Option<Value>,
    /// `{type, data: [...]}`; one task is created per `data` entry.
    pub input: Option<Value>,
    /// `webhook`, `obs`, `dis`, `event_center`.
    pub output: Option<Value>,
    /// `{"common": {…}}` (current body).
    pub config: Option<Value>,
    /// `{"common": {…}}` (legacy body).
    pub service_config: Option<Value>,
    pub service_version: Option<String>,
    pub is_saved_as_template: Option<bool>,
    pub resource_order_id: Option<String>,
    pub edge_pool_id: Option<String>,
}

impl TaskBody {
    pub fn is_legacy(&self) -> bool {
        self.service_config.is_some() || self.timing.is_some() || self.edge_pool_id.is_some()
    }

    fn config_field(&self) -> &'static str {
        if self.is_legacy() {
            "service_config"
        } else {
            "config"
        }
    }
}

/// The algorithm of a `service_name` path segment; refuses unknown and not-yet-implemented ones.
pub fn algorithm(service_name: &str) -> ApiResult<(&'static AlgorithmSpec, Placement)> {
    let (spec, placement) = Catalog::by_service_name(service_name).ok_or_else(|| {
        ApiError::param(
            ErrorCode::ObjectNotFound,
            "service_name",
            format!("no algorithm service {service_name:?}"),
        )
    })?;
    if !spec.implemented {
        return Err(ApiError::param(
            ErrorCode::ObjectOrParamInvalid,
            "service_name",
            format!(
                "{service_name} ({}) is in Vigil's catalogue but not implemented yet; see docs/algorithms.md",
                spec.title_en
            ),
        ));
    }
    Ok((spec, placement))
}

/// The `config.common` schema and placement of a task's service in a project: a catalogue
/// algorithm, or a partner rule package (validated as `catalog::PARTNER_RULE`, cloud placement).
/// With `runnable`, refuses a stopped service (VIAS.00010012) and a model-bound algorithm
/// without a bound package (VIAS.00010002), both with params `service_name`.
pub async fn task_service(
    state: &AppState,
    project: &str,
    service_name: &str,
    runnable: bool,
) -> ApiResult<(&'static AlgorithmSpec, Placement)> {
    let builtin = Catalog::by_service_name(service_name).is_some();
    if builtin {
        algorithm(service_name)?;
    }
    let (service, placement) = crate::algorithm_center::resolve_service(state, project, service_name).await?;
    if runnable {
        crate::algorithm_center::check_runnable(&service)?;
    }
    Ok((service.task_spec(), placement))
}

/// The catalogue's task service names whose algorithm (as `Catalog::by_service_name` resolves
/// it) satisfies `pred`: an algorithm filter as a `service_name IN (…)` list for SQL.
pub fn catalog_service_names(pred: impl Fn(&AlgorithmSpec) -> bool) -> Vec<String> {
    Catalog::iter()
        .flat_map(|s| [s.cloud_service_name, s.edge_service_name])
        .flatten()
        .filter(|n| Catalog::by_service_name(n).is_some_and(|(s, _)| pred(s)))
        .map(str::to_string)
        .collect()
}

/// A stable UUID-v4-shaped id for an algorithm (`algorithm_publish_id`, `alg_id`).
pub fn alg_id(spec: &AlgorithmSpec) -> String {
    spec.alg_id()
}

pub fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn check_text(param: &str, v: &Option<String>, max: usize) -> Result<(), FieldError> {
    match v {
        Some(s) if s.chars().count() > max => {
            Err(FieldError::invalid(param, format!("must be at most {max} characters")))
        }
        _ => Ok(()),
    }
}

fn check_version(v: &Option<String>, legacy: bool) -> Result<String, FieldError> {
    let Some(v) = v else {
        return if legacy {
            Err(FieldError::invalid("service_version", "is required"))
        } else {
            Ok("3.0".into())
        };
    };
    let ok = (3..=32).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.');
    let legacy_ok =
        !legacy || v.split('.').count() == 2 && v.split('.').all(|p| p.parse::<u16>().is_ok_and(|n| n <= 999));
    if ok && legacy_ok {
        Ok(v.clone())
    } else {
        Err(FieldError::invalid(
            "service_version",
            "must match ^[a-z0-9.]{3,32}$ (e.g. 3.0)",
        ))
    }
}

fn check_order_id(v: &Option<String>) -> Result<String, FieldError> {
    match v {
        None => Ok(String::new()),
        Some(s) if vigil_core::ids::is_resource_id(s) => Ok(s.clone()),
        Some(_) => Err(FieldError::invalid(
            "resource_order_id",
            "must match ^[a-z0-9-_]{4,36}$",
        )),
    }
}

/// What a body resolves to, ready for the store.
pub struct PreparedTasks {
    pub tasks: Vec<NewTask>,
    pub templates: Vec<TemplateWrite>,
}

/// Validated schedule JSON and its initial `schedule_status`.
pub fn schedule_of(body: &TaskBody) -> ApiResult<Option<(String, String)>> {
    let (field, v) = match (&body.schedule, &body.timing) {
        (Some(v), _) if !v.is_null() => ("schedule", v),
        (_, Some(v)) if !v.is_null() => ("timing", v),
        _ => return Ok(None),
    };
    let sched = schedule::parse(field, v)?;
    let active = if sched.is_active_at(chrono::Utc::now()) {
        "ACTIVATED"
    } else {
        "INACTIVATED"
    };
    Ok(Some((v.to_string(), active.to_string())))
}

/// Checks a `video_source` input against the project's sources: it exists, has the service's
/// access type, and is a kind of stream Vigil can open.
async fn check_source(state: &AppState, project: &str, id: &str, idx: usize, placement: Placement) -> ApiResult<()> {
    let param = format!("input.data[{idx}].video_source_id");
    let src = match state.store.get_source(project, id).await {
        Ok(d) => d.source,
        Err(StoreError::NotFound(_)) => return Err(ApiError::not_found(&param, "the video source")),
        Err(e) => return Err(e.into()),
    };
    if src.access_type != placement.as_str() {
        return Err(ApiError::invalid(
            param,
            format!(
                "the source's access_type is {}, the service runs on {}",
                src.access_type,
                placement.as_str()
            ),
        ));
    }
    if !["url", "restful", "obs"].contains(&src.source_type.as_str()) {
        return Err(ApiError::invalid(
            param,
            format!(
                "Vigil cannot pull {} sources; register the camera's RTSP address as a url source",
                src.source_type
            ),
        ));
    }
    Ok(())
}

/// Validates a create body into one new task per input entry.
pub async fn prepare_create(
    state: &AppState,
    project: &str,
    creator: &str,
    service_name: &str,
    body: &TaskBody,
    batch_id: Option<&str>,
) -> ApiResult<PreparedTasks> {
    let (spec, placement) = task_service(state, project, service_name, true).await?;
    let legacy = body.is_legacy();
    let name = body
        .name
        .clone()
        .ok_or_else(|| ApiError::invalid("name", "name is required"))?;
    validate::task_name("name", &name)?;
    check_text("description", &body.description, 500)?;
    let service_version = check_version(&body.service_version, legacy)?;
    let resource_order_id = check_order_id(&body.resource_order_id)?;
    let schedule = schedule_of(body)?;
    let input = body
        .input
        .as_ref()
        .ok_or_else(|| ApiError::invalid("input", "input is required"))?;
    let inputs = parse_input(input, placement == Placement::Edge, schedule.is_some(), false)?;
    let output = body
        .output
        .as_ref()
        .ok_or_else(|| ApiError::invalid("output", "output is required"))?;
    let (_, output_display) = parse_output(output)?;
    let config = effective_config(spec, body)?;
    let mut tasks = Vec::new();
    let mut templates = Vec::new();
    for (i, inp) in inputs.iter().enumerate() {
        let source_id = match &inp.source {
            TaskSource::VideoSource { id } => {
                check_source(state, project, id, i, placement).await?;
                Some(id.clone())
            }
            _ => None,
        };
        if let (Some(sid), Some(true)) = (&source_id, body.is_saved_as_template) {
            templates.push(template(sid, service_name, &config));
        }
        let name = if i == 0 {
            name.clone()
        } else {
            let suffix = format!("_{i}");
            let keep = 100usize.saturating_sub(suffix.len());
            format!("{}{suffix}", name.chars().take(keep).collect::<String>())
        };
        tasks.push(NewTask {
            name,
            description: body.description.clone().unwrap_or_default(),
            creator: creator.to_string(),
            service_name: service_name.to_string(),
            service_version: service_version.clone(),
            placement: placement.as_str().to_string(),
            video_source_id: source_id,
            // URL passwords and header values are sealed at rest (vigil_core::secret_fields).
            input: seal_json(&state.secrets, &inp.json, None).to_string(),
            output: seal_json(&state.secrets, &output_display, None).to_string(),
            config: config.to_string(),
            schedule: schedule.as_ref().map(|s| s.0.clone()),
            legacy,
            resource_order_id: resource_order_id.clone(),
            edge_pool_id: body.edge_pool_id.clone().unwrap_or_default(),
            batch_id: batch_id.map(str::to_string),
            schedule_status: schedule.as_ref().map(|s| s.1.clone()).unwrap_or_default(),
        });
    }
    Ok(PreparedTasks { tasks, templates })
}

fn template(source_id: &str, service_name: &str, config: &Value) -> TemplateWrite {
    TemplateWrite {
        source_id: source_id.to_string(),
        name: service_name.to_string(),
        roi: config["common"]["target_roi"].as_str().unwrap_or("").to_string(),
        service_config: config.to_string(),
    }
}

/// `{"common": {…}}` validated against the algorithm's schema, defaults filled in.
pub fn effective_config(spec: &AlgorithmSpec, body: &TaskBody) -> ApiResult<Value> {
    let field = body.config_field();
    let raw = if body.is_legacy() {
        &body.service_config
    } else {
        &body.config
    };
    let common = match raw {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(Value::Object(o)) => o.get("common").cloned().unwrap_or(Value::Object(Map::new())),
        Some(_) => {
            return Err(ApiError::invalid(
                field,
                format!("{field} must be an object {{\"common\": {{…}}}}"),
            ))
        }
    };
    let validated = validate_common_at(spec, &common, &format!("{field}.common"))
        .map_err(|e| ApiError::invalid(e.param.clone(), e.message.clone()))?;
    vigil_core::catalog::validate_roi(&validated, &format!("{field}.common.target_roi"))
        .map_err(|e| ApiError::invalid(e.param, e.message))?;
    Ok(json!({"common": validated.into_value()}))
}

/// Applies an update body to a task row: omitted fields stay; input keeps its type.
pub async fn prepare_update(
    state: &AppState,
    task: &TaskRecord,
    body: &TaskBody,
) -> ApiResult<(TaskRecord, Vec<TemplateWrite>)> {
    let (spec, placement) = task_service(state, &task.project_id, &task.service_name, false).await?;
    let mut t = task.clone();
    if let Some(name) = &body.name {
        validate::task_name("name", name)?;
        t.name = name.clone();
    }
    check_text("description", &body.description, 500)?;
    if let Some(d) = &body.description {
        t.description = d.clone();
    }
    if body.resource_order_id.is_some() {
        t.resource_order_id = check_order_id(&body.resource_order_id)?;
    }
    if let Some((json, status)) = schedule_of(body)? {
        t.schedule = Some(json);
        t.schedule_status = status;
    }
    if let Some(input) = &body.input {
        let old_type: Value = serde_json::from_str(&task.input).unwrap_or(Value::Null);
        let mut inputs = parse_input(input, placement == Placement::Edge, t.schedule.is_some(), true)?;
        let inp = inputs.remove(0);
        if old_type["type"] == "video_source" && inp.json["type"] != "video_source" {
            return Err(ApiError::invalid(
                "input.type",
                "a task created on a video source cannot switch to another input type",
            ));
        }
        t.video_source_id = match &inp.source {
            TaskSource::VideoSource { id } => {
                check_source(state, &task.project_id, id, 0, placement).await?;
                Some(id.clone())
            }
            _ => None,
        };
        t.input = seal_json(&state.secrets, &inp.json, Some(&old_type)).to_string();
    }
    if let Some(output) = &body.output {
        let old: Value = serde_json::from_str(&task.output).unwrap_or(Value::Null);
        t.output = seal_json(&state.secrets, &parse_output(output)?.1, Some(&old)).to_string();
    }
    if body.config.is_some() || body.service_config.is_some() {
        t.config = effective_config(spec, body)?.to_string();
    }
    let templates = match (&t.video_source_id, body.is_saved_as_template) {
        (Some(sid), Some(true)) => {
            vec![template(
                sid,
                &t.service_name,
                &serde_json::from_str(&t.config).unwrap_or(Value::Null),
            )]
        }
        _ => Vec::new(),
    };
    Ok((t, templates))
}

/// Maps store failures of task routes to VIAS codes (unknown task → `VIAS.00010007`).
pub fn task_error(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound("task") => ApiError::param(ErrorCode::TaskNotFound, "task_id", "no task with this id"),
        StoreError::DuplicateName("task") => {
            ApiError::param(ErrorCode::DuplicateTaskName, "name", "a task with this name exists")
        }
        StoreError::Quota { what: "tasks", limit } => ApiError::new(
            ErrorCode::TaskQuotaReached,
            format!("the project may hold at most {limit} tasks"),
        ),
        other => other.into(),
    }
}

pub fn check_task_id(id: &str) -> ApiResult<()> {
    if (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "task_id",
            "must be 1 to 64 letters, digits, '-' or '_'",
        ))
    }
}

/// Start or stop a task, per the state machine.
pub async fn act(state: &AppState, project: &str, id: &str, command: &str) -> ApiResult<TaskRecord> {
    let task = state.store.get_task(project, id).await.map_err(task_error)?;
    let current = vigil_core::task_state::TaskState::parse(&task.state)
        .ok_or_else(|| ApiError::internal(format!("stored task state {:?}", task.state)))?;
    match command {
        "start" if current.can_start() => {
            task_service(state, project, &task.service_name, true).await?;
            state.store.request_start(id).await?
        }
        "stop" if current.can_stop() => state.store.request_stop(id).await?,
        "start" | "stop" => {
            return Err(ApiError::new(
                ErrorCode::OperationNotAllowed,
                format!("cannot {command} a task in state {}", task.state),
            ))
        }
        _ => return Err(ApiError::invalid("command", "must be start or stop")),
    }
    tracing::info!(task_id = id, command, "task action");
    state.store.get_task(project, id).await.map_err(task_error)
}

/// Context for rendering a task: its source's name and stream, its groups.
pub struct TaskView {
    pub task: TaskRecord,
    pub source_name: String,
    pub stream_path: String,
    pub group_names: Vec<String>,
}

pub async fn views(state: &AppState, project: &str, tasks: Vec<TaskRecord>) -> ApiResult<Vec<TaskView>> {
    // Only the sources of these tasks.
    let mut ids: Vec<String> = tasks.iter().filter_map(|t| t.video_source_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let sources: HashMap<String, SourceSummary> = state
        .store
        .source_summaries(project, &ids)
        .await?
        .into_iter()
        .map(|d| (d.id.clone(), d))
        .collect();
    Ok(tasks
        .into_iter()
        .map(|task| {
            let src = task.video_source_id.as_ref().and_then(|id| sources.get(id));
            let input: Value = serde_json::from_str(&task.input).unwrap_or(Value::Null);
            let url = mask_url(input["data"][0]["url"].as_str().unwrap_or(""));
            TaskView {
                source_name: src.map(|d| d.name.clone()).unwrap_or_default(),
                stream_path: src.map(|d| d.stream_path.clone()).unwrap_or(url),
                group_names: src
                    .map(|d| d.groups.iter().map(|g| g.name.clone()).collect())
                    .unwrap_or_default(),
                task,
            }
        })
        .collect())
}

fn parsed(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or(Value::Null)
}

/// A stored input/output as responses show it: secrets read `******`.
fn shown(s: &str) -> Value {
    mask_json(&parsed(s))
}

fn spec_of(t: &TaskRecord) -> Option<&'static AlgorithmSpec> {
    Catalog::by_service_name(&t.service_name).map(|(s, _)| s)
}

/// `ShowTaskInfo` (platform shape).
pub fn platform_detail(v: &TaskView) -> Value {
    let t = &v.task;
    let spec = spec_of(t);
    let config = parsed(&t.config);
    json!({
        "id": t.id, "name": t.name, "description": t.description, "creator": t.creator, "project_id": t.project_id,
        "release_id": "", "service_id": t.service_name, "created_at": iso(t.created_at), "updated_at": iso(t.updated_at),
        "state": t.state, "status": t.status, "error": {"code": t.error_code, "message": t.error_message},
        "schedule_status": t.schedule_status, "schedule": t.schedule.as_deref().map(parsed),
        "input": shown(&t.input), "output": shown(&t.output), "config": config,
        "video_source_name": v.source_name, "title": spec.map(|s| s.title).unwrap_or(""),
        "group_name": v.group_names.join(","), "company": "Vigil", "task_config": t.config,
        "type": t.placement, "resource_order_id": t.resource_order_id, "package_id": "", "device_id": "",
        "access_address": v.stream_path, "algorithm_publish_id": spec.map(alg_id).unwrap_or_default(),
    })
}

/// `TaskInfo` (platform list item).
pub fn platform_item(v: &TaskView) -> Value {
    let t = &v.task;
    let spec = spec_of(t);
    json!({
        "id": t.id, "name": t.name, "service_id": t.service_name, "created_at": iso(t.created_at), "state": t.state,
        "video_source_name": v.source_name, "title": spec.map(|s| s.title).unwrap_or(""),
        "type": if t.placement == "edge" { "1" } else { "0" }, "algorithm_publish_id": spec.map(alg_id).unwrap_or_default(),
    })
}

/// `TaskDetails` (legacy VAS shape).
pub fn legacy_detail(t: &TaskRecord) -> Value {
    let spec = spec_of(t);
    let mut output = shown(&t.output);
    if let Some(o) = output.as_object_mut() {
        o.remove("event_center");
    }
    json!({
        "id": t.id, "name": t.name, "creator": t.creator, "project_id": t.project_id, "description": t.description,
        "service_name": t.service_name, "service_version": t.service_version,
        "service_title": {"zh": spec.map(|s| s.title).unwrap_or(""), "en": spec.map(|s| s.title_en).unwrap_or("")},
        "edge_pool_id": t.edge_pool_id, "resource_order_id": t.resource_order_id,
        "created_at": iso(t.created_at), "updated_at": iso(t.updated_at), "state": t.state, "status": t.status,
        "error": {"code": t.error_code, "message": t.error_message}, "timing_status": t.schedule_status,
        "timing": t.schedule.as_deref().map(parsed), "input": shown(&t.input), "output": output,
        "service_config": parsed(&t.config),
    })
}

/// Errors on legacy routes use shape C.
pub fn legacy(e: ApiError) -> ApiError {
    ApiError {
        shape: Shape::Legacy,
        ..e
    }
}
