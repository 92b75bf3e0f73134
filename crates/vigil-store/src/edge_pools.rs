//! Edge pools (Operation Center, spec §4.6): named groups of worker nodes, per project. A pool's
//! members are the nodes it lists plus the nodes started with `--pool <its name>`; it is
//! `Running` while it has members and all of them heartbeat, else `Abnormal`.

use std::collections::HashSet;

use sqlx::any::AnyRow;
use sqlx::Row;
use vigil_core::{ErrorCode, FieldError};

use crate::nodes::{NodeRecord, ABNORMAL, RUNNING};
use crate::rows::{i, s, string_list, to_json_list};
use crate::sql_filter::bind_args;
use crate::task_list::Where;
use crate::{now_ms, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgePoolRecord {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub ief_service_instance_id: String,
    /// Node ids listed at creation.
    pub nodes: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewEdgePool {
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub ief_service_instance_id: String,
    pub nodes: Vec<String>,
}

/// A pool with its resolved members and state, as the API shows it.
#[derive(Debug, Clone)]
pub struct EdgePoolView {
    pub pool: EdgePoolRecord,
    pub members: Vec<NodeRecord>,
    pub state: &'static str,
}

/// Pool name rule (spec §4.6): 4–32 characters `[a-z0-9-]`, starting with a lowercase letter
/// and ending with a letter or digit.
pub fn valid_pool_name(name: &str) -> bool {
    let b = name.as_bytes();
    (4..=32).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0].is_ascii_lowercase()
        && b[b.len() - 1] != b'-'
}

/// Whether `node` is a member of `pool`: listed by id, or joined by name (`--pool`).
pub fn is_member(pool: &EdgePoolRecord, node: &NodeRecord) -> bool {
    pool.nodes.iter().any(|id| id == &node.id) || node.pools.iter().any(|p| p == &pool.name)
}

/// The pool's members among `nodes`, in the order of `nodes`.
pub fn pool_members<'a>(pool: &EdgePoolRecord, nodes: &'a [NodeRecord]) -> Vec<&'a NodeRecord> {
    nodes.iter().filter(|n| is_member(pool, n)).collect()
}

/// `Running` when the pool has at least one member, every member heartbeats and every listed
/// node is still registered; `Abnormal` otherwise.
pub fn pool_state(pool: &EdgePoolRecord, nodes: &[NodeRecord], now_ms: i64) -> &'static str {
    let members = pool_members(pool, nodes);
    let known: HashSet<&str> = nodes.iter().map(|n| n.id.as_str()).collect();
    let all_listed_known = pool.nodes.iter().all(|id| known.contains(id.as_str()));
    if !members.is_empty() && all_listed_known && members.iter().all(|n| n.state(now_ms) == RUNNING) {
        RUNNING
    } else {
        ABNORMAL
    }
}

/// Filters, order and page of ListEdgePools. `None` filters match everything.
#[derive(Debug, Clone, Default)]
pub struct EdgePoolPageQuery {
    /// Case-sensitive substring of the name.
    pub name_like: Option<String>,
    /// Only these pools.
    pub ids: Option<Vec<String>>,
    /// By (updated_at, id) instead of (created_at, id).
    pub by_updated: bool,
    pub ascending: bool,
    /// (offset, limit); None: every match.
    pub page: Option<(i64, i64)>,
}

const COLS: &str = "id, project_id, name, description, ief_service_instance_id, nodes, created_at, updated_at";

fn from_row(r: &AnyRow) -> Result<EdgePoolRecord, StoreError> {
    Ok(EdgePoolRecord {
        id: s(r, "id")?,
        project_id: s(r, "project_id")?,
        name: s(r, "name")?,
        description: s(r, "description")?,
        ief_service_instance_id: s(r, "ief_service_instance_id")?,
        nodes: string_list(r, "nodes")?,
        created_at: i(r, "created_at")?,
        updated_at: i(r, "updated_at")?,
    })
}

fn dup_name(e: sqlx::Error) -> StoreError {
    let e = StoreError::Db(e);
    if e.is_unique_violation() {
        StoreError::DuplicateName("edge pool")
    } else {
        e
    }
}

impl Store {
    /// Creates a pool; every listed node must be registered (VIAS.00010002 naming `nodes[i]`),
    /// the name unique in the project (`DuplicateName("edge pool")`), and the project under its
    /// pool quota (`Quota { what: "edge pools" }`, atomic with the insert).
    pub async fn create_edge_pool(&self, new: NewEdgePool, quota: i64) -> Result<String, StoreError> {
        if self.name_taken("edge_pools", &new.project_id, &new.name, "").await? {
            return Err(StoreError::DuplicateName("edge pool"));
        }
        for (n, id) in new.nodes.iter().enumerate() {
            if self.get_node(id).await?.is_none() {
                return Err(FieldError::with_code(
                    ErrorCode::ObjectNotFound,
                    format!("nodes[{n}]"),
                    format!("node {id:?} is not registered (start `vigil worker` on it first)"),
                )
                .into());
            }
        }
        let mut nodes = new.nodes.clone();
        nodes.sort();
        nodes.dedup();
        let id = vigil_core::ids::new_resource_id();
        let now = now_ms();
        let mut tx = self.quota_tx(&new.project_id).await?;
        crate::quota::check(&mut tx, "edge_pools", &new.project_id, 1, "edge pools", quota).await?;
        sqlx::query(&format!(
            "INSERT INTO edge_pools ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"
        ))
        .bind(&id)
        .bind(&new.project_id)
        .bind(&new.name)
        .bind(&new.description)
        .bind(&new.ief_service_instance_id)
        .bind(to_json_list(&nodes))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(dup_name)?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn get_edge_pool(&self, project_id: &str, id: &str) -> Result<Option<EdgePoolRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM edge_pools WHERE project_id = $1 AND id = $2"
        ))
        .bind(project_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The project's pools, oldest first.
    pub async fn list_edge_pools(&self, project_id: &str) -> Result<Vec<EdgePoolRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM edge_pools WHERE project_id = $1 ORDER BY created_at, id"
        ))
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Every pool of every project (the worker's scheduling view).
    pub async fn all_edge_pools(&self) -> Result<Vec<EdgePoolRecord>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLS} FROM edge_pools ORDER BY created_at, id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// The project's pools with members and state (one read of the node table).
    pub async fn edge_pool_views(&self, project_id: &str) -> Result<Vec<EdgePoolView>, StoreError> {
        let pools = self.list_edge_pools(project_id).await?;
        self.views_of(pools).await
    }

    /// Pools with their members and state (one read of the node table, which holds the
    /// cluster's few worker nodes).
    pub async fn views_of(&self, pools: Vec<EdgePoolRecord>) -> Result<Vec<EdgePoolView>, StoreError> {
        let nodes = self.list_nodes().await?;
        let now = now_ms();
        Ok(pools
            .into_iter()
            .map(|pool| EdgePoolView {
                members: pool_members(&pool, &nodes).into_iter().cloned().collect(),
                state: pool_state(&pool, &nodes, now),
                pool,
            })
            .collect())
    }

    /// ListEdgePools: the number of matching pools and the requested page of them (all of them
    /// when `q.page` is None), with members and state.
    pub async fn edge_pool_page(
        &self,
        project_id: &str,
        q: &EdgePoolPageQuery,
    ) -> Result<(i64, Vec<EdgePoolView>), StoreError> {
        let mut w = Where::project(self.backend, "project_id", project_id);
        if let Some(n) = &q.name_like {
            w.contains("name", n);
        }
        if let Some(ids) = &q.ids {
            let l = w.list(ids);
            w.and(&format!("id IN {l}"));
        }
        let count: i64 = bind_args(
            sqlx::query(&format!("SELECT COUNT(*) FROM edge_pools WHERE {}", w.sql)),
            &w.args,
        )
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?;
        let dir = if q.ascending { "ASC" } else { "DESC" };
        let key = if q.by_updated { "updated_at" } else { "created_at" };
        let page = crate::sql_filter::page_clause(q.page);
        let sql = format!(
            "SELECT {COLS} FROM edge_pools WHERE {} ORDER BY {key} {dir}, id {dir}{page}",
            w.sql
        );
        let rows = bind_args(sqlx::query(&sql), &w.args).fetch_all(&self.pool).await?;
        let pools = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
        Ok((count, self.views_of(pools).await?))
    }

    /// `Running` / `Abnormal`, or None when the project has no such pool.
    pub async fn pool_state(&self, project_id: &str, pool_id: &str) -> Result<Option<String>, StoreError> {
        let Some(pool) = self.get_edge_pool(project_id, pool_id).await? else {
            return Ok(None);
        };
        let nodes = self.list_nodes().await?;
        Ok(Some(pool_state(&pool, &nodes, now_ms()).to_string()))
    }

    /// Deletes a pool; `NotFound("edge pool")` when unknown, `InUse` while a running
    /// deployment places its algorithm on it.
    pub async fn delete_edge_pool(&self, project_id: &str, id: &str) -> Result<(), StoreError> {
        if self.get_edge_pool(project_id, id).await?.is_none() {
            return Err(StoreError::NotFound("edge pool"));
        }
        if self.pool_in_use(project_id, id).await? {
            return Err(StoreError::InUse(format!(
                "edge pool {id} is used by a running algorithm deployment; stop the deployment first"
            )));
        }
        sqlx::query("DELETE FROM edge_pools WHERE project_id = $1 AND id = $2")
            .bind(project_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, pools: &[&str], heartbeat_at: i64) -> NodeRecord {
        NodeRecord {
            id: id.into(),
            name: id.into(),
            description: String::new(),
            cpu: 4,
            arch: "x86_64".into(),
            memory: 1024,
            gpu_info: vec![],
            npu_info: vec![],
            version: "0".into(),
            pools: pools.iter().map(|p| p.to_string()).collect(),
            lease_ttl: 10_000,
            started_at: 0,
            heartbeat_at,
        }
    }

    fn pool(name: &str, listed: &[&str]) -> EdgePoolRecord {
        EdgePoolRecord {
            id: format!("id-{name}"),
            project_id: "p".into(),
            name: name.into(),
            description: String::new(),
            ief_service_instance_id: String::new(),
            nodes: listed.iter().map(|p| p.to_string()).collect(),
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn pool_names() {
        for ok in ["pool", "pool-a", "a123", "abcdefghijklmnopqrstuvwxyz012345"] {
            assert!(valid_pool_name(ok), "{ok}");
        }
        for bad in [
            "poo",
            "Pool-a",
            "1pool",
            "pool-",
            "pool_a",
            "pool a",
            "abcdefghijklmnopqrstuvwxyz0123456",
            "pööl",
        ] {
            assert!(!valid_pool_name(bad), "{bad}");
        }
    }

    #[test]
    fn members_are_listed_nodes_and_nodes_joining_by_name() {
        let nodes = vec![
            node("w1", &["pool-a"], 100),
            node("w2", &["pool-a", "pool-c"], 100),
            node("w3", &["pool-b"], 100),
            node("w4", &[], 100),
        ];
        let ids = |p: &EdgePoolRecord| pool_members(p, &nodes).iter().map(|n| n.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&pool("pool-a", &[])), ["w1", "w2"]);
        assert_eq!(ids(&pool("pool-b", &["w4"])), ["w3", "w4"]);
        assert_eq!(ids(&pool("pool-c", &["w2"])), ["w2"]);
        assert!(ids(&pool("pool-d", &[])).is_empty());
    }

    #[test]
    fn state_needs_members_all_heartbeating_and_listed_nodes_known() {
        let now = 50_000;
        let nodes = vec![
            node("w1", &["a"], now - 1_000),
            node("w2", &["a"], now - 1_000),
            node("w3", &["b"], 0),
        ];
        assert_eq!(pool_state(&pool("a", &[]), &nodes, now), RUNNING);
        // One member silent for longer than its lease TTL.
        assert_eq!(pool_state(&pool("b", &[]), &nodes, now), ABNORMAL);
        assert_eq!(pool_state(&pool("a", &["w3"]), &nodes, now), ABNORMAL);
        // No member at all.
        assert_eq!(pool_state(&pool("empty", &[]), &nodes, now), ABNORMAL);
        // A listed node whose row was removed.
        assert_eq!(pool_state(&pool("a", &["gone"]), &nodes, now), ABNORMAL);
    }
}
