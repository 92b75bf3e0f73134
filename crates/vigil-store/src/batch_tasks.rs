//! Batch tasks: one configuration applied to the sources of video groups; their tasks carry the
//! batch id.

use sqlx::any::AnyRow;

use crate::rows::{i, opt_s, s};
use crate::{now_ms, Store, StoreError};

#[derive(Debug, Clone)]
pub struct BatchRecord {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub service_name: String,
    pub service_version: String,
    pub batch_input: String,
    pub output: String,
    pub config: String,
    pub schedule: Option<String>,
    pub resource_order_id: String,
    pub group_ids: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, project_id, name, description, service_name, service_version, batch_input, output, config, \
    schedule, resource_order_id, created_at, updated_at";

fn batch(r: &AnyRow) -> Result<BatchRecord, StoreError> {
    Ok(BatchRecord {
        id: s(r, "id")?,
        project_id: s(r, "project_id")?,
        name: s(r, "name")?,
        description: s(r, "description")?,
        service_name: s(r, "service_name")?,
        service_version: s(r, "service_version")?,
        batch_input: s(r, "batch_input")?,
        output: s(r, "output")?,
        config: s(r, "config")?,
        schedule: opt_s(r, "schedule")?,
        resource_order_id: s(r, "resource_order_id")?,
        group_ids: Vec::new(),
        created_at: i(r, "created_at")?,
        updated_at: i(r, "updated_at")?,
    })
}

/// A parallel create with the same name loses on the unique index.
fn dup_name(e: sqlx::Error) -> StoreError {
    let e = StoreError::Db(e);
    if e.is_unique_violation() {
        StoreError::DuplicateName("batch task")
    } else {
        e
    }
}

impl Store {
    /// Inserts or replaces a batch row and its group links (`b.id` empty: a new batch, counted
    /// against `quota` batch tasks per project atomically, see `quota.rs`).
    pub async fn save_batch(&self, mut b: BatchRecord, quota: i64) -> Result<String, StoreError> {
        if self.name_taken("batch_tasks", &b.project_id, &b.name, &b.id).await? {
            return Err(StoreError::DuplicateName("batch task"));
        }
        let now = now_ms();
        let mut tx = self.quota_tx(&b.project_id).await?;
        if b.id.is_empty() {
            crate::quota::check(&mut tx, "batch_tasks", &b.project_id, 1, "batch tasks", quota).await?;
            b.id = vigil_core::ids::new_hex32_id();
            sqlx::query(&format!(
                "INSERT INTO batch_tasks ({COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$12)"
            ))
            .bind(&b.id)
            .bind(&b.project_id)
            .bind(&b.name)
            .bind(&b.description)
            .bind(&b.service_name)
            .bind(&b.service_version)
            .bind(&b.batch_input)
            .bind(&b.output)
            .bind(&b.config)
            .bind(b.schedule.clone())
            .bind(&b.resource_order_id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(dup_name)?;
        } else {
            sqlx::query(
                "UPDATE batch_tasks SET name = $1, description = $2, batch_input = $3, output = $4, config = $5, \
                 schedule = $6, resource_order_id = $7, updated_at = $8 WHERE id = $9",
            )
            .bind(&b.name)
            .bind(&b.description)
            .bind(&b.batch_input)
            .bind(&b.output)
            .bind(&b.config)
            .bind(b.schedule.clone())
            .bind(&b.resource_order_id)
            .bind(now)
            .bind(&b.id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM batch_task_groups WHERE batch_id = $1")
                .bind(&b.id)
                .execute(&mut *tx)
                .await?;
        }
        let mut groups = b.group_ids.clone();
        groups.sort();
        groups.dedup();
        for g in &groups {
            sqlx::query("INSERT INTO batch_task_groups (batch_id, group_id) VALUES ($1, $2)")
                .bind(&b.id)
                .bind(g)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(b.id)
    }

    pub async fn list_batches(&self, project_id: &str) -> Result<Vec<BatchRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM batch_tasks WHERE project_id = $1 ORDER BY created_at, id"
        ))
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        let links = sqlx::query(
            "SELECT l.batch_id, l.group_id FROM batch_task_groups l JOIN batch_tasks b ON b.id = l.batch_id WHERE b.project_id = $1",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<BatchRecord> = rows.iter().map(batch).collect::<Result<_, _>>()?;
        for l in &links {
            let (bid, gid) = (s(l, "batch_id")?, s(l, "group_id")?);
            if let Some(b) = out.iter_mut().find(|b| b.id == bid) {
                b.group_ids.push(gid);
            }
        }
        Ok(out)
    }

    pub async fn get_batch(&self, project_id: &str, id: &str) -> Result<BatchRecord, StoreError> {
        self.list_batches(project_id)
            .await?
            .into_iter()
            .find(|b| b.id == id)
            .ok_or(StoreError::NotFound("batch task"))
    }

    /// Deletes a batch task, its group links and its tasks.
    pub async fn delete_batch(&self, project_id: &str, id: &str) -> Result<u64, StoreError> {
        self.get_batch(project_id, id).await?;
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query("DELETE FROM tasks WHERE project_id = $1 AND batch_id = $2")
            .bind(project_id)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM batch_task_groups WHERE batch_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM batch_tasks WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(n)
    }
}
