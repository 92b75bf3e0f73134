//! Operation Center — edge pools (spec §4.6). A pool groups worker nodes (every `vigil worker`
//! and the worker inside `vigil serve` registers itself as a node); members are the listed
//! nodes plus the nodes started with `--pool <name>`.

use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vigil_core::{ErrorCode, FieldError};
use vigil_store::edge_pools::{valid_pool_name, EdgePoolPageQuery, EdgePoolView, NewEdgePool};
use vigil_store::nodes::{Accelerator, NodeRecord};
use vigil_store::StoreError;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ViasErrorBody};
use crate::json_body::JsonBody;
use crate::query::{PagedSwitch, QueryParams};
use crate::AppState;

/// Vigil has no workspaces: every pool is in the default one.
const WORKSPACE_ID: &str = "0";
const DESCRIPTION_MAX: usize = 255;
const NODES_MAX: usize = 100;
const NODE_ID_MAX: usize = 128;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateEdgePoolDto {
    /// 4–32 characters `[a-z0-9-]`, starting with a lowercase letter, ending with a letter or digit.
    pub name: String,
    /// 0–255 characters.
    pub description: Option<String>,
    /// Accepted and stored (Vigil manages its nodes itself, without IEF).
    pub ief_service_instance_id: Option<String>,
    /// Registered node ids (0–100); nodes may also join by `vigil worker --pool <name>`.
    pub nodes: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreateEdgePoolResponse {
    pub id: String,
}

/// `gpu_info` / `npu_info` item.
#[derive(Debug, Serialize, ToSchema)]
pub struct AcceleratorDto {
    pub name: String,
    pub driver_version: String,
    /// `GPU` or `NPU`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Device memory in MiB.
    pub capacity: i64,
}

impl From<&Accelerator> for AcceleratorDto {
    fn from(a: &Accelerator) -> Self {
        Self {
            name: a.name.clone(),
            driver_version: a.driver_version.clone(),
            kind: a.kind.clone(),
            capacity: a.capacity,
        }
    }
}

/// `EdgeNodeInfoDto`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EdgeNodeInfoDto {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// `Running` while the node heartbeats within its lease TTL, else `Abnormal`.
    pub state: String,
    /// CPU cores.
    pub cpu: i64,
    pub arch: String,
    pub enable_gpu: bool,
    pub enable_npu: bool,
    /// Memory in MiB.
    pub memory: i64,
    pub gpu_info: Vec<AcceleratorDto>,
    pub npu_info: Vec<AcceleratorDto>,
}

impl EdgeNodeInfoDto {
    fn new(n: &NodeRecord, now: i64) -> Self {
        Self {
            id: n.id.clone(),
            name: n.name.clone(),
            description: n.description.clone(),
            state: n.state(now).to_string(),
            cpu: n.cpu,
            arch: n.arch.clone(),
            enable_gpu: !n.gpu_info.is_empty(),
            enable_npu: !n.npu_info.is_empty(),
            memory: n.memory,
            gpu_info: n.gpu_info.iter().map(Into::into).collect(),
            npu_info: n.npu_info.iter().map(Into::into).collect(),
        }
    }
}

/// `EdgePoolListItemDto`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EdgePoolListItemDto {
    pub id: String,
    pub name: String,
    /// `Running` | `Abnormal`.
    pub state: String,
    pub project_id: String,
    pub workspace_id: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub description: String,
}

impl From<&EdgePoolView> for EdgePoolListItemDto {
    fn from(v: &EdgePoolView) -> Self {
        Self {
            id: v.pool.id.clone(),
            name: v.pool.name.clone(),
            state: v.state.to_string(),
            project_id: v.pool.project_id.clone(),
            workspace_id: WORKSPACE_ID.into(),
            created_at: v.pool.created_at,
            updated_at: v.pool.updated_at,
            description: v.pool.description.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListEdgePoolsResponse {
    /// Pools matching the filters (before paging).
    pub count: i64,
    pub edge_pools: Vec<EdgePoolListItemDto>,
}

/// ShowEdgePoolInfo response.
#[derive(Debug, Serialize, ToSchema)]
pub struct EdgePoolInfoDto {
    pub id: String,
    pub name: String,
    pub description: String,
    pub state: String,
    pub project_id: String,
    pub workspace_id: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub nodes: Vec<EdgeNodeInfoDto>,
}

/// Query of ListEdgePools.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListEdgePoolsParams {
    pub is_paged: Option<bool>,
    /// 1–1000, default 10
    pub page_size: Option<i64>,
    /// 1–10000, default 1
    pub page_num: Option<i64>,
    /// `^[a-z0-9-]{1,30}$`: pools whose name contains it.
    pub name_like: Option<String>,
    /// `asc` | `desc` (default)
    pub order_by: Option<String>,
    /// `created_at` (default) | `updated_at`
    pub sort_name: Option<String>,
    /// `Running` | `Abnormal`
    pub state: Option<String>,
}

impl ListEdgePoolsParams {
    fn parse(q: &QueryParams) -> Result<Self, FieldError> {
        let name_like = q.text("name_like", 30)?;
        if let Some(n) = &name_like {
            if !n
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(FieldError::invalid("name_like", "must match ^[a-z0-9-]{1,30}$"));
            }
        }
        Ok(Self {
            is_paged: q.bool("is_paged")?,
            page_size: q.int("page_size", 1, 1000)?,
            page_num: q.int("page_num", 1, 10_000)?,
            name_like,
            order_by: q.choice("order_by", &["asc", "desc"])?,
            sort_name: q.choice("sort_name", &["created_at", "updated_at"])?,
            state: q.choice("state", &["Running", "Abnormal"])?,
        })
    }
}

/// `^[a-zA-Z0-9-]{1,64}$` (path id).
fn check_id(id: &str) -> ApiResult<()> {
    if (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Ok(())
    } else {
        Err(ApiError::invalid("id", "must match ^[a-zA-Z0-9-]{1,64}$"))
    }
}

fn validate_create(body: &CreateEdgePoolDto) -> Result<(), FieldError> {
    if !valid_pool_name(&body.name) {
        return Err(FieldError::invalid(
            "name",
            "4-32 characters a-z, 0-9 and '-', starting with a lowercase letter and ending with a letter or digit",
        ));
    }
    if body
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > DESCRIPTION_MAX)
    {
        return Err(FieldError::invalid(
            "description",
            format!("must be at most {DESCRIPTION_MAX} characters"),
        ));
    }
    if let Some(ief) = &body.ief_service_instance_id {
        if ief.len() > 64 || !ief.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(FieldError::invalid(
                "ief_service_instance_id",
                "must match ^[a-zA-Z0-9-]{0,64}$",
            ));
        }
    }
    let nodes = body.nodes.as_deref().unwrap_or_default();
    if nodes.len() > NODES_MAX {
        return Err(FieldError::invalid("nodes", format!("at most {NODES_MAX} node ids")));
    }
    for (i, n) in nodes.iter().enumerate() {
        if n.is_empty() || n.len() > NODE_ID_MAX || !n.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(FieldError::invalid(
                format!("nodes[{i}]"),
                format!("a node id has 1-{NODE_ID_MAX} visible ASCII characters"),
            ));
        }
        if nodes[..i].contains(n) {
            return Err(FieldError::invalid(format!("nodes[{i}]"), "listed twice"));
        }
    }
    Ok(())
}

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::DuplicateName(_) => {
            ApiError::param(ErrorCode::ObjectExists, "name", "an edge pool with this name exists")
        }
        StoreError::Quota { limit, .. } => ApiError::new(
            ErrorCode::PoolQuotaReached,
            format!("the project may hold at most {limit} edge pools"),
        ),
        StoreError::NotFound(_) => ApiError::not_found("id", "the edge pool"),
        other => other.into(),
    }
}

#[utoipa::path(post, path = "/v2/{project_id}/edge-pools", operation_id = "CreateEdgePool", tag = "Operation Center",
    params(("project_id" = String, Path)), request_body = CreateEdgePoolDto,
    responses((status = 200, body = CreateEdgePoolResponse), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<CreateEdgePoolDto>,
) -> ApiResult<Json<CreateEdgePoolResponse>> {
    validate_create(&body)?;
    let new = NewEdgePool {
        project_id: caller.project_id,
        name: body.name,
        description: body.description.unwrap_or_default(),
        ief_service_instance_id: body.ief_service_instance_id.unwrap_or_default(),
        nodes: body.nodes.unwrap_or_default(),
    };
    let id = state
        .store
        .create_edge_pool(new, state.config.edge_pool_quota)
        .await
        .map_err(store_error)?;
    Ok(Json(CreateEdgePoolResponse { id }))
}

#[utoipa::path(get, path = "/v2/{project_id}/edge-pools", operation_id = "ListEdgePools", tag = "Operation Center",
    params(("project_id" = String, Path), ListEdgePoolsParams),
    responses((status = 200, body = ListEdgePoolsResponse), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: QueryParams,
) -> ApiResult<Json<ListEdgePoolsResponse>> {
    let params = ListEdgePoolsParams::parse(&q)?;
    let paging = PagedSwitch::new(
        params.is_paged,
        params.page_size,
        params.page_num,
        params.order_by.as_deref(),
    );
    // A pool's state follows its nodes' heartbeats at this instant, so the state filter is
    // evaluated here over the project's pools (few: at most the edge pool quota); the rest in SQL.
    let ids = match &params.state {
        Some(wanted) => Some(
            state
                .store
                .edge_pool_views(&caller.project_id)
                .await?
                .into_iter()
                .filter(|v| v.state == wanted)
                .map(|v| v.pool.id)
                .collect(),
        ),
        None => None,
    };
    let query = EdgePoolPageQuery {
        name_like: params.name_like.clone(),
        ids,
        by_updated: params.sort_name.as_deref() == Some("updated_at"),
        ascending: paging.ascending,
        page: paging.sql_page(),
    };
    let (count, page) = state.store.edge_pool_page(&caller.project_id, &query).await?;
    Ok(Json(ListEdgePoolsResponse {
        count,
        edge_pools: page.iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(get, path = "/v2/{project_id}/edge-pools/{id}", operation_id = "ShowEdgePoolInfo", tag = "Operation Center",
    params(("project_id" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = EdgePoolInfoDto), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<EdgePoolInfoDto>> {
    check_id(&id)?;
    let pool = state
        .store
        .get_edge_pool(&caller.project_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("id", "the edge pool"))?;
    let view = state
        .store
        .views_of(vec![pool])
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("id", "the edge pool"))?;
    let now = vigil_store::now_ms();
    let p = &view.pool;
    Ok(Json(EdgePoolInfoDto {
        id: p.id.clone(),
        name: p.name.clone(),
        description: p.description.clone(),
        state: view.state.to_string(),
        project_id: p.project_id.clone(),
        workspace_id: WORKSPACE_ID.into(),
        created_at: p.created_at,
        updated_at: p.updated_at,
        nodes: view.members.iter().map(|n| EdgeNodeInfoDto::new(n, now)).collect(),
    }))
}

#[utoipa::path(delete, path = "/v2/{project_id}/edge-pools/{id}", operation_id = "DeleteEdgePool", tag = "Operation Center",
    params(("project_id" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = String, description = "the JSON string \"success\""), (status = 400, body = ViasErrorBody),
        (status = 500, body = ViasErrorBody, description = "VIAS.00010012 while a running deployment uses the pool")),
    security(("token" = []), ("aksk" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    check_id(&id)?;
    state
        .store
        .delete_edge_pool(&caller.project_id, &id)
        .await
        .map_err(store_error)?;
    Ok(([(CONTENT_TYPE, "application/json")], "\"success\"").into_response())
}
