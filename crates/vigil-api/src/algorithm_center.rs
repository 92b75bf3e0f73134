//! Algorithm Center (spec §4.2–4.5): every catalogue algorithm as a `self` service, every
//! generic-rule model package of the project as a `partner` service, their deployment
//! (`pool_id`, `stream_count`) and stop. Also the service checks of task creation and start.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use vigil_core::catalog::{json_schema, AlgorithmSpec, Catalog, Placement};
use vigil_core::model_package::{Binding, PackageManifest};
use vigil_core::{ErrorCode, FieldError};
use vigil_store::algorithm_deployments::{Deployment, CLOUD_POOL, SERVICE_RUNNING, SERVICE_STOPPED};
use vigil_store::model_packages::PackageRecord;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ViasErrorBody};
use crate::json_body::JsonBody;
use crate::query::{PagedSwitch, QueryParams};
use crate::AppState;

/// `created_at` of the built-in services: Vigil's first release (2025-01-01T00:00:00Z, ms).
pub const BUILTIN_CREATED_AT: i64 = 1_735_689_600_000;
pub const COMPANY: &str = "Vigil";
pub const BUILTIN_PACKAGE_NAME: &str = "vigil-builtin";
pub const FUNCTION_VERSION: &str = "3.0";
/// Streams a deployment may run when `stream_count` is omitted on first deploy.
pub const DEFAULT_STREAM_COUNT: i64 = 1000;
const ALG_STATUSES: [&str; 9] = [
    "service_running",
    "service_deploying",
    "service_failed",
    "service_stopping",
    "service_stopped",
    "service_upgrading",
    "service_finished",
    "service_concerning",
    "not_deployed",
];

pub fn builtin_package_id() -> String {
    vigil_core::ids::stable_uuid("vigil-package:builtin")
}

/// The roles a model-bound built-in algorithm needs from a bound package (`None`: it runs on
/// Vigil's shipped models).
pub fn model_roles(spec: &AlgorithmSpec) -> Option<Vec<&'static str>> {
    vigil_core::catalog::model_roles::roles(spec.id).map(|r| r.iter().map(|r| r.role).collect())
}

/// A parsed package row.
#[derive(Debug, Clone)]
pub struct Package {
    pub record: PackageRecord,
    pub manifest: PackageManifest,
}

impl Package {
    pub fn from_record(record: PackageRecord) -> Option<Self> {
        let v: Value = serde_json::from_str(&record.manifest).ok()?;
        let manifest: PackageManifest = serde_json::from_value(v).ok()?;
        Some(Self { record, manifest })
    }

    /// The catalogue algorithm the package is bound to, if any.
    pub fn bound_algorithm(&self) -> Option<&str> {
        match &self.manifest.binding {
            Binding::Algorithm { algorithm, .. } => Some(algorithm),
            Binding::Rule(_) => None,
        }
    }

    pub fn is_rule(&self) -> bool {
        matches!(self.manifest.binding, Binding::Rule(_))
    }
}

pub async fn project_packages(state: &AppState, project: &str) -> ApiResult<Vec<Package>> {
    Ok(state
        .store
        .list_packages(project)
        .await?
        .into_iter()
        .filter_map(Package::from_record)
        .collect())
}

/// What a service is: a catalogue algorithm or a generic-rule package.
#[derive(Debug, Clone)]
pub enum ServiceKind {
    Builtin(&'static AlgorithmSpec),
    Partner(Box<Package>),
}

/// One service of a project with its derived status.
#[derive(Debug, Clone)]
pub struct Service {
    pub kind: ServiceKind,
    pub deployment: Option<Deployment>,
    /// The newest package bound to a model-bound built-in.
    pub bound: Option<Package>,
    pub alg_status: &'static str,
    pub error_msg: String,
}

impl Service {
    pub fn alg_id(&self) -> String {
        match &self.kind {
            ServiceKind::Builtin(s) => s.alg_id(),
            ServiceKind::Partner(p) => p.record.id.clone(),
        }
    }

    pub fn service_id(&self) -> String {
        match &self.kind {
            ServiceKind::Builtin(s) => s.service_id(),
            ServiceKind::Partner(p) => vigil_core::ids::stable_uuid(&format!("vigil-service:{}", p.record.id)),
        }
    }

    pub fn service_name(&self) -> String {
        match &self.kind {
            ServiceKind::Builtin(s) => s.cloud_service_name.or(s.edge_service_name).unwrap_or(s.id).to_string(),
            ServiceKind::Partner(p) => p.manifest.name.clone(),
        }
    }

    /// Every name tasks of the service are created under.
    pub fn task_service_names(&self) -> Vec<String> {
        match &self.kind {
            ServiceKind::Builtin(s) => [s.edge_service_name, s.cloud_service_name]
                .into_iter()
                .flatten()
                .map(str::to_string)
                .collect(),
            ServiceKind::Partner(p) => vec![p.manifest.name.clone()],
        }
    }

    fn alg_name(&self) -> String {
        match &self.kind {
            ServiceKind::Builtin(s) => s.title.to_string(),
            ServiceKind::Partner(p) => p.manifest.name.clone(),
        }
    }

    fn company(&self) -> String {
        match &self.kind {
            ServiceKind::Partner(p) if !p.manifest.company.is_empty() => p.manifest.company.clone(),
            _ => COMPANY.to_string(),
        }
    }

    fn package(&self) -> (String, String) {
        match &self.kind {
            ServiceKind::Builtin(_) => (builtin_package_id(), BUILTIN_PACKAGE_NAME.into()),
            ServiceKind::Partner(p) => (p.record.id.clone(), p.manifest.name.clone()),
        }
    }

    fn alg_version(&self) -> String {
        match &self.kind {
            ServiceKind::Builtin(_) => env!("CARGO_PKG_VERSION").to_string(),
            ServiceKind::Partner(p) => p.manifest.version.clone(),
        }
    }

    fn created_at(&self) -> i64 {
        match &self.kind {
            ServiceKind::Builtin(_) => BUILTIN_CREATED_AT,
            ServiceKind::Partner(p) => p.record.created_at,
        }
    }

    fn updated_at(&self) -> i64 {
        let base = match &self.kind {
            ServiceKind::Builtin(_) => BUILTIN_CREATED_AT,
            ServiceKind::Partner(p) => p.record.updated_at,
        };
        base.max(self.deployment.as_ref().map(|d| d.updated_at).unwrap_or(0))
    }

    fn deploy_type(&self) -> &'static str {
        match &self.kind {
            ServiceKind::Builtin(s) if s.cloud_service_name.is_none() => "edge",
            _ => "cloud",
        }
    }

    fn alg_class(&self) -> &'static str {
        match &self.kind {
            ServiceKind::Builtin(_) => "self",
            ServiceKind::Partner(_) => "partner",
        }
    }

    fn description(&self) -> String {
        match &self.kind {
            ServiceKind::Builtin(s) => s.title_en.to_string(),
            ServiceKind::Partner(p) => p.manifest.description.clone(),
        }
    }

    /// The `config.common` schema its tasks are validated with.
    pub fn task_spec(&self) -> &'static AlgorithmSpec {
        match &self.kind {
            ServiceKind::Builtin(s) => s,
            ServiceKind::Partner(_) => &vigil_core::catalog::PARTNER_RULE,
        }
    }

    /// Number in the spec's table (partners after the 41 built-ins), for a stable order.
    fn rank(&self) -> u8 {
        match &self.kind {
            ServiceKind::Builtin(s) => s.number,
            ServiceKind::Partner(_) => u8::MAX,
        }
    }
}

/// Scene tags (a small fixed set, Vigil's decision) by keywords of the algorithm id.
pub fn tags(spec: &AlgorithmSpec) -> Vec<String> {
    let id = spec.id;
    let tag = if id.contains("urban") || id.contains("trash") || id.contains("manhole") || id.contains("stall") {
        "urban_management"
    } else if id.contains("water") || id.contains("ship") || id.contains("float") || id.contains("drain") {
        "water"
    } else if id.contains("vehicle") || id.contains("park") || id.contains("speed") || id.contains("retrograde") {
        "traffic"
    } else if id.contains("fire") || id.contains("smoke") || id.contains("safety") || id.contains("helmet") {
        "safety"
    } else {
        "security"
    };
    vec![tag.to_string()]
}

fn service_tags(s: &Service) -> Vec<String> {
    match &s.kind {
        ServiceKind::Builtin(spec) => tags(spec),
        ServiceKind::Partner(_) => vec!["partner".to_string()],
    }
}

/// Whether an edge pool of the project is `Abnormal` (`None`: no such pool).
async fn pool_abnormal(state: &AppState, project: &str, pool_id: &str) -> ApiResult<Option<bool>> {
    Ok(state
        .store
        .pool_state(project, pool_id)
        .await?
        .map(|st| st != "Running"))
}

/// Every service of the project, with status.
pub async fn services(state: &AppState, project: &str) -> ApiResult<Vec<Service>> {
    let packages = project_packages(state, project).await?;
    let deployments: BTreeMap<String, Deployment> = state
        .store
        .list_deployments(project)
        .await?
        .into_iter()
        .map(|d| (d.alg_id.clone(), d))
        .collect();
    let mut out = Vec::new();
    for spec in Catalog::iter() {
        let bound = packages
            .iter()
            .filter(|p| p.bound_algorithm() == Some(spec.id))
            .max_by_key(|p| (p.record.created_at, p.record.id.clone()))
            .cloned();
        out.push(Service {
            kind: ServiceKind::Builtin(spec),
            deployment: deployments.get(&spec.alg_id()).cloned(),
            bound,
            alg_status: "",
            error_msg: String::new(),
        });
    }
    for p in packages.into_iter().filter(Package::is_rule) {
        let deployment = deployments.get(&p.record.id).cloned();
        out.push(Service {
            kind: ServiceKind::Partner(Box::new(p)),
            deployment,
            bound: None,
            alg_status: "",
            error_msg: String::new(),
        });
    }
    for s in &mut out {
        let (status, msg) = status_of(state, project, s).await?;
        s.alg_status = status;
        s.error_msg = msg;
    }
    Ok(out)
}

async fn status_of(state: &AppState, project: &str, s: &Service) -> ApiResult<(&'static str, String)> {
    if let Some(d) = &s.deployment {
        if d.status == SERVICE_STOPPED {
            return Ok(("service_stopped", String::new()));
        }
        if d.pool_id != CLOUD_POOL && pool_abnormal(state, project, &d.pool_id).await? != Some(false) {
            return Ok((
                "service_concerning",
                format!("edge pool {} has no running node", d.pool_id),
            ));
        }
    }
    if let ServiceKind::Builtin(spec) = &s.kind {
        if model_roles(spec).is_some() && s.bound.is_none() {
            return Ok(("not_deployed", needs_model_text(spec)));
        }
    }
    Ok(("service_running", String::new()))
}

fn needs_model_text(spec: &AlgorithmSpec) -> String {
    format!(
        "{} (upload one with POST /v2/{{project_id}}/algorithm/packages or `vigil models install`)",
        vigil_core::catalog::model_roles::missing_model_message(spec.id)
    )
}

/// A service by `alg_id`; VIAS.00010002 params `alg_id` when unknown.
async fn by_alg_id(state: &AppState, project: &str, alg_id: &str) -> ApiResult<Service> {
    services(state, project)
        .await?
        .into_iter()
        .find(|s| s.alg_id() == alg_id)
        .ok_or_else(|| ApiError::not_found("alg_id", "the algorithm"))
}

/// The service behind a task's `service_name` (built-in name or a partner package name) and
/// the placement its tasks take; VIAS.00010002 params `service_name` when unknown.
pub async fn resolve_service(state: &AppState, project: &str, service_name: &str) -> ApiResult<(Service, Placement)> {
    let placement = Catalog::by_service_name(service_name)
        .map(|(_, p)| p)
        .unwrap_or(Placement::Cloud);
    services(state, project)
        .await?
        .into_iter()
        .find(|s| s.task_service_names().iter().any(|n| n == service_name))
        .map(|s| (s, placement))
        .ok_or_else(|| {
            ApiError::param(
                ErrorCode::ObjectNotFound,
                "service_name",
                format!("no algorithm service {service_name:?}"),
            )
        })
}

/// Refuses tasks of a stopped service (VIAS.00010012) and of a model-bound algorithm without a
/// bound package (VIAS.00010002), both with params `service_name`.
pub fn check_runnable(s: &Service) -> ApiResult<()> {
    if s.deployment.as_ref().is_some_and(|d| d.status == SERVICE_STOPPED) {
        return Err(ApiError::param(
            ErrorCode::OperationNotAllowed,
            "service_name",
            format!(
                "the service {} is stopped (stop-deploy); deploy it again first",
                s.service_name()
            ),
        ));
    }
    if let ServiceKind::Builtin(spec) = &s.kind {
        if model_roles(spec).is_some() && s.bound.is_none() {
            return Err(ApiError::param(
                ErrorCode::ObjectNotFound,
                "service_name",
                needs_model_text(spec),
            ));
        }
    }
    Ok(())
}

// ---- DTOs -------------------------------------------------------------------------------

/// `ServicesListInfoDto`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServicesListInfoDto {
    pub alg_id: String,
    pub service_id: String,
    pub service_name: String,
    pub package_id: String,
    pub package_name: String,
    pub company: String,
    pub alg_version: String,
    pub function_version: String,
    pub tags: Vec<String>,
    pub created_at: i64,
    pub alg_status: String,
    pub deploy_type: String,
    pub alg_class: String,
    pub request_mode: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error_msg: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListUserServicesResponse {
    /// Services on this page.
    pub count: i64,
    pub service_list: Vec<ServicesListInfoDto>,
    /// Services matching the filters.
    pub total: i64,
}

fn list_item(s: &Service) -> ServicesListInfoDto {
    let (package_id, package_name) = s.package();
    ServicesListInfoDto {
        alg_id: s.alg_id(),
        service_id: s.service_id(),
        service_name: s.service_name(),
        package_id,
        package_name,
        company: s.company(),
        alg_version: s.alg_version(),
        function_version: FUNCTION_VERSION.into(),
        tags: service_tags(s),
        created_at: s.created_at(),
        alg_status: s.alg_status.into(),
        deploy_type: s.deploy_type().into(),
        alg_class: s.alg_class().into(),
        request_mode: "async".into(),
        description: s.description(),
        error_msg: s.error_msg.clone(),
    }
}

/// Query of ListUserServices (spec §4.4).
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListUserServicesParams {
    /// Fuzzy service name (case-insensitive substring), at most 64 characters.
    pub name_like: Option<String>,
    pub is_paged: Option<bool>,
    /// 5–200, default 10.
    pub page_size: Option<i64>,
    /// 1–10000, default 1.
    pub page_num: Option<i64>,
    /// `asc` | `desc` (default).
    pub order_by: Option<String>,
    /// `created_at` (default) | `function_version`.
    pub sort_name: Option<String>,
    /// Repeated or comma-joined values of the `alg_status` enum.
    pub alg_status: Option<Vec<String>>,
}

impl ListUserServicesParams {
    fn parse(q: &QueryParams) -> Result<Self, FieldError> {
        Ok(Self {
            name_like: q.text("name_like", 64)?,
            is_paged: q.bool("is_paged")?,
            page_size: q.int("page_size", 5, 200)?,
            page_num: q.int("page_num", 1, 10_000)?,
            order_by: q.choice("order_by", &["asc", "desc"])?,
            sort_name: q.choice("sort_name", &["created_at", "function_version"])?,
            alg_status: Some(q.choices("alg_status", &ALG_STATUSES, ALG_STATUSES.len())?),
        })
    }
}

#[utoipa::path(get, path = "/v2/{project_id}/algorithm/services/user", operation_id = "ListUserServices", tag = "Algorithm Center",
    params(("project_id" = String, Path), ListUserServicesParams),
    responses((status = 200, body = ListUserServicesResponse), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: QueryParams,
) -> ApiResult<Json<ListUserServicesResponse>> {
    let p = ListUserServicesParams::parse(&q)?;
    let paging = PagedSwitch::new(p.is_paged, p.page_size, p.page_num, p.order_by.as_deref());
    let statuses = p.alg_status.unwrap_or_default();
    let hits: Vec<(u8, ServicesListInfoDto)> = services(&state, &caller.project_id)
        .await?
        .iter()
        .filter(|s| statuses.is_empty() || statuses.iter().any(|x| x == s.alg_status))
        .filter(|s| {
            p.name_like
                .as_ref()
                .is_none_or(|n| s.service_name().to_lowercase().contains(&n.to_lowercase()))
        })
        .map(|s| (s.rank(), list_item(s)))
        .collect();
    let by_version = p.sort_name.as_deref() == Some("function_version");
    // Ascending by (key, catalogue number); `desc` reverses it.
    let (total, page) = paging.sort_and_page(hits, |(rank, i)| {
        let key = if by_version {
            (0, i.function_version.clone(), *rank)
        } else {
            (i.created_at, String::new(), *rank)
        };
        (key, i.service_id.as_str())
    });
    let service_list: Vec<ServicesListInfoDto> = page.into_iter().map(|(_, i)| i).collect();
    Ok(Json(ListUserServicesResponse {
        count: service_list.len() as i64,
        service_list,
        total,
    }))
}

/// `ServiceApiDto`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceApiDto {
    pub request_type: String,
    pub zh: String,
    pub en: String,
    pub request_url: String,
}

/// `DeploymentConstraintsDto`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeploymentConstraintsDto {
    pub request_mode: String,
    pub cpu_type: String,
    pub accelerators: Vec<Value>,
    pub input_types: Vec<String>,
    pub output_types: Vec<String>,
    /// JSON Schema (text) of `deploy_config`.
    pub service_config: String,
    /// JSON Schema (draft 2020-12, text) of the tasks' `config.common`.
    pub task_config: String,
}

/// ShowServiceDetail response (plus Vigil's deployment fields).
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceDetailDto {
    pub service_id: String,
    pub service_name: String,
    pub function_version: String,
    pub release_flag: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub release_at: i64,
    pub api: String,
    pub pool_id: String,
    pub alg_name: String,
    pub alg_id: String,
    pub request_mode: String,
    pub package_name: String,
    pub package_id: String,
    pub alg_version: String,
    pub alg_versions: Vec<String>,
    pub service_api_list: Vec<ServiceApiDto>,
    pub deployment_constraints: DeploymentConstraintsDto,
    pub company: String,
    pub tags: Vec<String>,
    pub deploy_type: String,
    pub alg_class: String,
    pub alg_status: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error_msg: String,
    /// Vigil: streams the deployment may run at once (absent when not deployed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_count: Option<i64>,
    /// Vigil: the deployment's stored `envs` (shown, not applied: Vigil starts no containers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub envs: Option<Value>,
    /// Vigil: the package bound to a model-bound built-in (`name@version`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound_package: Option<String>,
}

fn check_uuid_param(name: &str, v: &str) -> ApiResult<()> {
    let ok = v.len() == 36
        && v.bytes().enumerate().all(|(i, b)| {
            if [8, 13, 18, 23].contains(&i) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        });
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(name, "must be a UUID (8-4-4-4-12 hex digits)"))
    }
}

#[utoipa::path(get, path = "/v2/{project_id}/algorithm/services/{service_id}", operation_id = "ShowServiceDetail", tag = "Algorithm Center",
    params(("project_id" = String, Path), ("service_id" = String, Path)),
    responses((status = 200, body = ServiceDetailDto), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, service_id)): Path<(String, String)>,
) -> ApiResult<Json<ServiceDetailDto>> {
    check_uuid_param("service_id", &service_id)?;
    let s = services(&state, &caller.project_id)
        .await?
        .into_iter()
        .find(|s| s.service_id() == service_id)
        .ok_or_else(|| ApiError::not_found("service_id", "the service"))?;
    let (package_id, package_name) = s.package();
    let name = s.service_name();
    let tasks_url = format!("/v2/{}/services/{name}/tasks", caller.project_id);
    let api = |request_type: &str, zh: &str, en: &str, url: &str| ServiceApiDto {
        request_type: request_type.into(),
        zh: zh.into(),
        en: en.into(),
        request_url: url.into(),
    };
    let cpu_type = if std::env::consts::ARCH == "aarch64" {
        "aarch64"
    } else {
        "x86_64"
    };
    Ok(Json(ServiceDetailDto {
        service_id: s.service_id(),
        service_name: name.clone(),
        function_version: FUNCTION_VERSION.into(),
        release_flag: true,
        description: s.description(),
        created_at: s.created_at(),
        updated_at: s.updated_at(),
        release_at: s.created_at(),
        api: tasks_url.clone(),
        pool_id: s
            .deployment
            .as_ref()
            .map(|d| d.pool_id.clone())
            .unwrap_or_else(|| CLOUD_POOL.into()),
        alg_name: s.alg_name(),
        alg_id: s.alg_id(),
        request_mode: "async".into(),
        package_name,
        package_id,
        alg_version: s.alg_version(),
        alg_versions: vec![s.alg_version()],
        service_api_list: vec![
            api("post", "创建任务", "Create a task", &tasks_url),
            api(
                "get",
                "查询任务列表",
                "List tasks",
                &format!("/v2/{}/tasks", caller.project_id),
            ),
        ],
        deployment_constraints: DeploymentConstraintsDto {
            request_mode: "async".into(),
            cpu_type: cpu_type.into(),
            accelerators: Vec::new(),
            input_types: ["URL", "Restful", "EdgeCamera"].map(String::from).to_vec(),
            output_types: ["OBS", "DIS", "Webhook"].map(String::from).to_vec(),
            service_config: json_schema::deploy_config_schema().to_string(),
            task_config: json_schema::common_schema(s.task_spec()).to_string(),
        },
        company: s.company(),
        tags: service_tags(&s),
        deploy_type: s.deploy_type().into(),
        alg_class: s.alg_class().into(),
        alg_status: s.alg_status.into(),
        error_msg: s.error_msg.clone(),
        stream_count: s.deployment.as_ref().map(|d| d.stream_count),
        envs: s
            .deployment
            .as_ref()
            .map(|d| serde_json::from_str(&d.envs).unwrap_or(Value::Object(Map::new()))),
        bound_package: s
            .bound
            .as_ref()
            .map(|p| format!("{}@{}", p.manifest.name, p.manifest.version)),
    }))
}

/// `DeployServiceReq`.
#[derive(Debug, Deserialize, ToSchema, Default)]
pub struct DeployServiceReq {
    /// An edge pool id of the project, or `cloud` (every node). Required on first deploy.
    pub pool_id: Option<Value>,
    /// 1–10000 streams at once (default 1000 on first deploy, else unchanged).
    pub stream_count: Option<Value>,
    /// Must match `service_config` (Vigil: the empty object).
    pub deploy_config: Option<Value>,
    /// Map<String, String>; stored and shown, not applied.
    pub envs: Option<Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeployResponse {
    pub alg_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StopDeployResponse {
    pub alg_id: String,
}

fn env_key_ok(k: &str) -> bool {
    let b = k.as_bytes();
    (1..=64).contains(&b.len())
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

const MAX_ENVS: usize = 64;
const MAX_ENV_VALUE: usize = 1024;

fn parse_envs(v: &Option<Value>) -> ApiResult<Option<Map<String, Value>>> {
    let Some(v) = v.as_ref().filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let Value::Object(m) = v else {
        return Err(ApiError::invalid("envs", "must be an object of strings"));
    };
    if m.len() > MAX_ENVS {
        return Err(ApiError::invalid("envs", format!("at most {MAX_ENVS} variables")));
    }
    for (k, val) in m {
        if !env_key_ok(k) {
            return Err(ApiError::invalid(
                "envs",
                "variable names must match ^[A-Za-z_][A-Za-z0-9_]{0,63}$",
            ));
        }
        match val {
            Value::String(s) if s.chars().count() <= MAX_ENV_VALUE => {}
            _ => {
                return Err(ApiError::invalid(
                    format!("envs.{k}"),
                    format!("must be a string of at most {MAX_ENV_VALUE} characters"),
                ))
            }
        }
    }
    Ok(Some(m.clone()))
}

#[utoipa::path(post, path = "/v2/{project_id}/algorithm/{alg_id}/deploy", operation_id = "DeployAlgorithm", tag = "Algorithm Center",
    params(("project_id" = String, Path), ("alg_id" = String, Path)), request_body = DeployServiceReq,
    responses((status = 200, body = DeployResponse), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn deploy(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, alg_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<DeployServiceReq>,
) -> ApiResult<Json<DeployResponse>> {
    check_uuid_param("alg_id", &alg_id)?;
    let project = &caller.project_id;
    let s = by_alg_id(&state, project, &alg_id).await?;
    let pool_id = match body.pool_id.as_ref().filter(|v| !v.is_null()) {
        None => match &s.deployment {
            Some(d) => d.pool_id.clone(),
            None => {
                return Err(ApiError::invalid(
                    "pool_id",
                    "pool_id is required when the algorithm is not deployed",
                ))
            }
        },
        Some(Value::String(p)) => {
            let ok = (1..=64).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !ok {
                return Err(ApiError::invalid("pool_id", "must match ^[a-zA-Z0-9-]{1,64}$"));
            }
            if p != CLOUD_POOL && pool_abnormal(&state, project, p).await?.is_none() {
                return Err(ApiError::not_found("pool_id", "the edge pool"));
            }
            p.clone()
        }
        Some(_) => return Err(ApiError::invalid("pool_id", "must be a string")),
    };
    let stream_count = match body.stream_count.as_ref().filter(|v| !v.is_null()) {
        None => s
            .deployment
            .as_ref()
            .map(|d| d.stream_count)
            .unwrap_or(DEFAULT_STREAM_COUNT),
        Some(v) => match v.as_i64() {
            Some(n) if (1..=10_000).contains(&n) => n,
            _ => return Err(ApiError::invalid("stream_count", "must be an integer from 1 to 10000")),
        },
    };
    let deploy_config = match body.deploy_config.as_ref().filter(|v| !v.is_null()) {
        None => Map::new(),
        Some(Value::Object(m)) => {
            if let Some(k) = m.keys().next() {
                return Err(ApiError::invalid(
                    format!("deploy_config.{k}"),
                    "unknown key: Vigil's services take no start parameters (see service_config)",
                ));
            }
            m.clone()
        }
        Some(_) => return Err(ApiError::invalid("deploy_config", "must be an object")),
    };
    let envs = match parse_envs(&body.envs)? {
        Some(m) => m,
        None => s
            .deployment
            .as_ref()
            .and_then(|d| serde_json::from_str(&d.envs).ok())
            .unwrap_or_default(),
    };
    let d = Deployment {
        project_id: project.clone(),
        alg_id: alg_id.clone(),
        pool_id,
        stream_count,
        deploy_config: Value::Object(deploy_config).to_string(),
        envs: Value::Object(envs).to_string(),
        status: SERVICE_RUNNING.into(),
        created_at: 0,
        updated_at: 0,
    };
    state.store.upsert_deployment(&d).await?;
    tracing::info!(alg_id, pool_id = %d.pool_id, stream_count, "algorithm deployed");
    Ok(Json(DeployResponse { alg_name: s.alg_name() }))
}

#[utoipa::path(put, path = "/v2/{project_id}/algorithm/{alg_id}/deploy/stop", operation_id = "StopDeployAlgorithm", tag = "Algorithm Center",
    params(("project_id" = String, Path), ("alg_id" = String, Path)),
    responses((status = 200, body = StopDeployResponse), (status = 400, body = ViasErrorBody), (status = 500, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn stop(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, alg_id)): Path<(String, String)>,
) -> ApiResult<Json<StopDeployResponse>> {
    check_uuid_param("alg_id", &alg_id)?;
    let project = &caller.project_id;
    let s = by_alg_id(&state, project, &alg_id).await?;
    match &s.deployment {
        None => {
            return Err(ApiError::param(
                ErrorCode::OperationNotAllowed,
                "alg_id",
                "the algorithm is not deployed",
            ))
        }
        Some(d) if d.status == SERVICE_STOPPED => {
            return Err(ApiError::param(
                ErrorCode::OperationNotAllowed,
                "alg_id",
                "the deployment is already stopped",
            ))
        }
        Some(_) => {}
    }
    state
        .store
        .set_deployment_status(project, &alg_id, SERVICE_STOPPED)
        .await?;
    let names = s.task_service_names();
    let stopped = state.store.stop_tasks_no_service(project, &names).await?;
    tracing::info!(alg_id, stopped, "algorithm deployment stopped");
    Ok(Json(StopDeployResponse { alg_id }))
}

/// `service_name` of every catalogue service, for checks of partner package names.
pub fn is_builtin_service_name(name: &str) -> bool {
    Catalog::by_service_name(name).is_some() || Catalog::iter().any(|s| s.id == name)
}
