//! Algorithm deployments (Algorithm Center): one row per (project, algorithm) saying where the
//! algorithm's tasks may run (`pool_id`: an edge pool id or `cloud`), how many may run at once
//! (`stream_count`) and whether the service is running. The scheduler reads them on every claim.

use sqlx::any::AnyRow;

use crate::rows::{i, s};
use crate::{now_ms, Store, StoreError};

/// `status` of a deployment whose tasks may run.
pub const SERVICE_RUNNING: &str = "service_running";
/// `status` after stop-deploy: no task of the algorithm may run.
pub const SERVICE_STOPPED: &str = "service_stopped";
/// `pool_id` meaning "every node" (Vigil's cloud pool).
pub const CLOUD_POOL: &str = "cloud";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub project_id: String,
    pub alg_id: String,
    /// An edge pool id of the project, or [`CLOUD_POOL`].
    pub pool_id: String,
    pub stream_count: i64,
    /// JSON object text.
    pub deploy_config: String,
    /// JSON object text (`Map<String, String>`).
    pub envs: String,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Deployment {
    /// The edge pool this deployment pins its tasks to, if any (`cloud` and empty mean none),
    /// only while the service runs.
    pub fn required_pool(&self) -> Option<&str> {
        (self.status == SERVICE_RUNNING && !self.pool_id.is_empty() && self.pool_id != CLOUD_POOL)
            .then_some(self.pool_id.as_str())
    }
}

const COLS: &str = "project_id, alg_id, pool_id, stream_count, deploy_config, envs, status, created_at, updated_at";

fn from_row(r: &AnyRow) -> Result<Deployment, StoreError> {
    Ok(Deployment {
        project_id: s(r, "project_id")?,
        alg_id: s(r, "alg_id")?,
        pool_id: s(r, "pool_id")?,
        stream_count: i(r, "stream_count")?,
        deploy_config: s(r, "deploy_config")?,
        envs: s(r, "envs")?,
        status: s(r, "status")?,
        created_at: i(r, "created_at")?,
        updated_at: i(r, "updated_at")?,
    })
}

impl Store {
    /// Inserts or replaces the deployment of `(project_id, alg_id)`. `created_at` of an existing
    /// row is kept; `updated_at` is set to now (the given timestamps are used for a new row when
    /// non-zero).
    pub async fn upsert_deployment(&self, d: &Deployment) -> Result<(), StoreError> {
        let now = now_ms();
        let created = if d.created_at > 0 { d.created_at } else { now };
        sqlx::query(&format!(
            "INSERT INTO algorithm_deployments ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (project_id, alg_id) DO UPDATE SET pool_id = excluded.pool_id, \
             stream_count = excluded.stream_count, deploy_config = excluded.deploy_config, \
             envs = excluded.envs, status = excluded.status, updated_at = excluded.updated_at"
        ))
        .bind(&d.project_id)
        .bind(&d.alg_id)
        .bind(&d.pool_id)
        .bind(d.stream_count)
        .bind(&d.deploy_config)
        .bind(&d.envs)
        .bind(&d.status)
        .bind(created)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn get_deployment(&self, project_id: &str, alg_id: &str) -> Result<Option<Deployment>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM algorithm_deployments WHERE project_id = $1 AND alg_id = $2"
        ))
        .bind(project_id)
        .bind(alg_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The project's deployments, oldest first.
    pub async fn list_deployments(&self, project_id: &str) -> Result<Vec<Deployment>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM algorithm_deployments WHERE project_id = $1 ORDER BY created_at, alg_id"
        ))
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Every deployment of every project (the worker's scheduling view).
    pub async fn all_deployments(&self) -> Result<Vec<Deployment>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM algorithm_deployments ORDER BY project_id, created_at, alg_id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Sets the status; `NotFound("deployment")` when the algorithm was never deployed.
    pub async fn set_deployment_status(&self, project_id: &str, alg_id: &str, status: &str) -> Result<(), StoreError> {
        let n = sqlx::query(
            "UPDATE algorithm_deployments SET status = $1, updated_at = $2 WHERE project_id = $3 AND alg_id = $4",
        )
        .bind(status)
        .bind(now_ms())
        .bind(project_id)
        .bind(alg_id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound("deployment"));
        }
        Ok(())
    }

    /// Whether a running deployment of the project uses the pool (such a pool cannot be deleted).
    pub async fn pool_in_use(&self, project_id: &str, pool_id: &str) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM algorithm_deployments WHERE project_id = $1 AND pool_id = $2 AND status = $3",
        )
        .bind(project_id)
        .bind(pool_id)
        .bind(SERVICE_RUNNING)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// Tasks of the project that a live worker holds, oldest first: `(id, service_name)`. The
    /// scheduler maps service names to algorithms to enforce `stream_count`.
    pub async fn live_leased_tasks(&self, project_id: &str) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, service_name FROM tasks WHERE project_id = $1 AND lease_owner IS NOT NULL \
             AND lease_expires_at >= $2 ORDER BY created_at, id",
        )
        .bind(project_id)
        .bind(now_ms())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((s(r, "id")?, s(r, "service_name")?))).collect()
    }

    /// Shows why a waiting task does not start: sets `status` of a PENDING task that no live
    /// worker holds (a no-op when already set, so the scheduler can call it every tick).
    pub async fn note_waiting(&self, id: &str, status: &str) -> Result<(), StoreError> {
        let now = now_ms();
        sqlx::query(
            "UPDATE tasks SET status = $1, updated_at = $2 WHERE id = $3 AND state = 'PENDING' AND status <> $1 \
             AND (lease_owner IS NULL OR lease_expires_at < $2)",
        )
        .bind(status)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The alg_id of a partner (model package) service: the id of the project's newest package
    /// named `service_name`, if any.
    pub async fn partner_alg_id(&self, project_id: &str, service_name: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT id FROM model_packages WHERE project_id = $1 AND name = $2 ORDER BY created_at DESC, id LIMIT 1",
        )
        .bind(project_id)
        .bind(service_name)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(|r| s(r, "id")).transpose()
    }
}
