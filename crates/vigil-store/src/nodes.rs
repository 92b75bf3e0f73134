//! Worker nodes (Operation Center): every worker process registers a row at start and bumps its
//! heartbeat on every tick. Rows are never deleted automatically: a node that stops heartbeating
//! shows `Abnormal` until an operator removes it.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::rows::{i, s, string_list, to_json_list};
use crate::{now_ms, Store, StoreError};

/// Node state while its heartbeat is fresh.
pub const RUNNING: &str = "Running";
/// Node (and pool) state otherwise.
pub const ABNORMAL: &str = "Abnormal";

/// `task_stats` rows older than this (ms) are a stopped worker's last word: their fps count 0.
pub const STATS_FRESH_MS: i64 = 60_000;

/// One node's share of a project's work.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeLoad {
    /// Tasks of the project whose lease the node holds.
    pub tasks: i64,
    /// Sum of those tasks' analysed frames per second.
    pub analysed_fps: f64,
}

/// One GPU or NPU a node sees (`gpu_info` / `npu_info` items of `EdgeNodeInfoDto`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accelerator {
    pub name: String,
    pub driver_version: String,
    /// `GPU` or `NPU`.
    pub kind: String,
    /// Device memory in MiB (0 when unknown).
    pub capacity: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecord {
    /// The worker id (the lease owner of its tasks).
    pub id: String,
    pub name: String,
    pub description: String,
    /// Logical CPU cores available to the process.
    pub cpu: i64,
    /// `x86_64`, `aarch64`, …
    pub arch: String,
    /// Memory in MiB.
    pub memory: i64,
    pub gpu_info: Vec<Accelerator>,
    pub npu_info: Vec<Accelerator>,
    pub version: String,
    /// Pool names the node joins by configuration (`--pool`).
    pub pools: Vec<String>,
    /// The worker's lease TTL in ms: a heartbeat older than this means the node is gone.
    pub lease_ttl: i64,
    pub started_at: i64,
    pub heartbeat_at: i64,
}

impl NodeRecord {
    /// `Running` while the last heartbeat is within the lease TTL, else `Abnormal`.
    pub fn state(&self, now_ms: i64) -> &'static str {
        node_state(self.heartbeat_at, self.lease_ttl, now_ms)
    }
}

/// The state of a node whose last heartbeat was at `heartbeat_at` (all in ms).
pub fn node_state(heartbeat_at: i64, lease_ttl: i64, now_ms: i64) -> &'static str {
    if now_ms - heartbeat_at <= lease_ttl {
        RUNNING
    } else {
        ABNORMAL
    }
}

fn accelerators_to_json(list: &[Accelerator]) -> String {
    let items: Vec<serde_json::Value> = list
        .iter()
        .map(|a| {
            serde_json::json!({"name": a.name, "driver_version": a.driver_version, "type": a.kind, "capacity": a.capacity})
        })
        .collect();
    serde_json::Value::Array(items).to_string()
}

fn accelerators(row: &AnyRow, col: &str) -> Result<Vec<Accelerator>, StoreError> {
    let raw = s(row, col)?;
    let v: Vec<serde_json::Value> =
        serde_json::from_str(&raw).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))?;
    let text = |a: &serde_json::Value, k: &str| a.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    Ok(v.iter()
        .map(|a| Accelerator {
            name: text(a, "name"),
            driver_version: text(a, "driver_version"),
            kind: text(a, "type"),
            capacity: a.get("capacity").and_then(|x| x.as_i64()).unwrap_or(0),
        })
        .collect())
}

const COLS: &str =
    "id, name, description, cpu, arch, memory, gpu_info, npu_info, version, pools, lease_ttl, started_at, heartbeat_at";

fn from_row(r: &AnyRow) -> Result<NodeRecord, StoreError> {
    Ok(NodeRecord {
        id: s(r, "id")?,
        name: s(r, "name")?,
        description: s(r, "description")?,
        cpu: i(r, "cpu")?,
        arch: s(r, "arch")?,
        memory: i(r, "memory")?,
        gpu_info: accelerators(r, "gpu_info")?,
        npu_info: accelerators(r, "npu_info")?,
        version: s(r, "version")?,
        pools: string_list(r, "pools")?,
        lease_ttl: i(r, "lease_ttl")?,
        started_at: i(r, "started_at")?,
        heartbeat_at: i(r, "heartbeat_at")?,
    })
}

impl Store {
    /// Registers a node or refreshes everything about it (a restarted worker with the same id);
    /// `started_at` and `heartbeat_at` are set to now. The description set by an operator stays.
    pub async fn upsert_node(&self, n: &NodeRecord) -> Result<(), StoreError> {
        let now = now_ms();
        sqlx::query(&format!(
            "INSERT INTO nodes ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, cpu = excluded.cpu, arch = excluded.arch, \
             memory = excluded.memory, gpu_info = excluded.gpu_info, npu_info = excluded.npu_info, \
             version = excluded.version, pools = excluded.pools, lease_ttl = excluded.lease_ttl, \
             started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at"
        ))
        .bind(&n.id)
        .bind(&n.name)
        .bind(&n.description)
        .bind(n.cpu)
        .bind(&n.arch)
        .bind(n.memory)
        .bind(accelerators_to_json(&n.gpu_info))
        .bind(accelerators_to_json(&n.npu_info))
        .bind(&n.version)
        .bind(to_json_list(&n.pools))
        .bind(n.lease_ttl)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// One cheap UPDATE per worker tick; false when the row is gone (re-register then).
    pub async fn heartbeat_node(&self, id: &str) -> Result<bool, StoreError> {
        let n = sqlx::query("UPDATE nodes SET heartbeat_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    pub async fn get_node(&self, id: &str) -> Result<Option<NodeRecord>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM nodes WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Every registered node, oldest first. Nodes are shared by all projects (they are the
    /// service's workers); pools are per project.
    pub async fn list_nodes(&self) -> Result<Vec<NodeRecord>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLS} FROM nodes ORDER BY started_at, id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// What each node runs for one project (the console's Nodes page): tasks whose lease it
    /// holds and the sum of their analysed fps from `task_stats`. Project-scoped on purpose, so
    /// a tenant never learns another tenant's load. Stats older than [`STATS_FRESH_MS`] count 0
    /// (their worker stopped reporting).
    pub async fn node_loads(&self, project_id: &str, now: i64) -> Result<HashMap<String, NodeLoad>, StoreError> {
        let mut out: HashMap<String, NodeLoad> = HashMap::new();
        let leased = sqlx::query(
            "SELECT lease_owner AS node_id, COUNT(*) AS n FROM tasks \
             WHERE project_id = $1 AND lease_owner IS NOT NULL AND lease_expires_at > $2 GROUP BY lease_owner",
        )
        .bind(project_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        for r in &leased {
            out.entry(s(r, "node_id")?).or_default().tasks = i(r, "n")?;
        }
        let fps = sqlx::query(
            "SELECT node_id, CAST(SUM(analysed_fps) AS DOUBLE PRECISION) AS fps FROM task_stats \
             WHERE project_id = $1 AND updated_at >= $2 GROUP BY node_id",
        )
        .bind(project_id)
        .bind(now - STATS_FRESH_MS)
        .fetch_all(&self.pool)
        .await?;
        for r in &fps {
            out.entry(s(r, "node_id")?).or_default().analysed_fps = r.try_get::<f64, _>("fps")?;
        }
        Ok(out)
    }

    /// Removes a node row (operators and tests; never done automatically).
    pub async fn delete_node(&self, id: &str) -> Result<bool, StoreError> {
        let n = sqlx::query("DELETE FROM nodes WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_follows_the_heartbeat_age() {
        assert_eq!(node_state(1_000, 15_000, 1_000), RUNNING);
        assert_eq!(node_state(1_000, 15_000, 16_000), RUNNING);
        assert_eq!(node_state(1_000, 15_000, 16_001), ABNORMAL);
    }
}
