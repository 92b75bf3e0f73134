//! Vigil extension for the console's Nodes page: the service's workers with their load for the
//! calling project (leased tasks and analysed fps). Nodes are shared by all projects; the load
//! numbers only count the caller's own tasks.

use axum::extract::State;
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;
use vigil_store::nodes::NodeRecord;

use crate::auth::Caller;
use crate::edge_pools::AcceleratorDto;
use crate::error::{ApiResult, ViasErrorBody};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct NodeLoadDto {
    /// The worker id (owner of its task leases).
    pub id: String,
    pub name: String,
    /// `Running` while the node heartbeats within its lease TTL, else `Abnormal`.
    pub state: String,
    /// CPU cores.
    pub cpu: i64,
    /// Memory in MiB.
    pub memory: i64,
    pub arch: String,
    /// GPUs and NPUs (`type` tells which).
    pub gpus: Vec<AcceleratorDto>,
    /// Pools the node is in: the ones it joined by `--pool` and the project's pools listing it.
    pub pools: Vec<String>,
    pub version: String,
    /// Epoch ms.
    pub started_at: i64,
    /// Epoch ms of the last heartbeat.
    pub heartbeat_at: i64,
    /// The project's tasks whose lease this node holds.
    pub tasks: i64,
    /// Sum of those tasks' analysed frames per second (stats older than 60 s count 0).
    pub analysed_fps: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListNodesResponse {
    pub nodes: Vec<NodeLoadDto>,
}

#[utoipa::path(get, path = "/v2/{project_id}/vigil/nodes", operation_id = "ListNodes", tag = "Vigil extensions",
    params(("project_id" = String, Path)),
    responses((status = 200, body = ListNodesResponse), (status = 401, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<ListNodesResponse>> {
    let now = vigil_store::now_ms();
    let nodes = state.store.list_nodes().await?;
    let mut loads = state.store.node_loads(&caller.project_id, now).await?;
    let pools = state.store.edge_pool_views(&caller.project_id).await?;
    let dto = |n: NodeRecord| {
        let load = loads.remove(&n.id).unwrap_or_default();
        let mut names = n.pools.clone();
        for v in &pools {
            if v.members.iter().any(|m| m.id == n.id) && !names.contains(&v.pool.name) {
                names.push(v.pool.name.clone());
            }
        }
        NodeLoadDto {
            state: n.state(now).to_string(),
            gpus: n.gpu_info.iter().chain(&n.npu_info).map(Into::into).collect(),
            pools: names,
            tasks: load.tasks,
            analysed_fps: load.analysed_fps,
            id: n.id,
            name: n.name,
            cpu: n.cpu,
            memory: n.memory,
            arch: n.arch,
            version: n.version,
            started_at: n.started_at,
            heartbeat_at: n.heartbeat_at,
        }
    };
    Ok(Json(ListNodesResponse {
        nodes: nodes.into_iter().map(dto).collect(),
    }))
}
