//! Batch tasks: one configuration applied to the sources of video groups; their tasks carry the
//! batch id.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::rows::{i, opt_s, s};
use crate::sql_filter::bind_args;
use crate::sql_filter::Where;
use crate::video_sources::{add_to_counter, SourceCounter};
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

/// Filters, order and page of ListBatchTasks. `None` filters match everything.
#[derive(Debug, Clone, Default)]
pub struct BatchPageQuery {
    /// Batches linked to a group with one of these ids or names.
    pub groups: Option<Vec<String>>,
    /// Batches with a task in this (upper-case) state; for `STOPPED`, `Some(true)` asks for
    /// the tasks stopped by stop-deploy (status `stopped_no_service`), `Some(false)` the others.
    pub task_state: Option<(String, Option<bool>)>,
    /// Case-insensitive substring of the name (or of the service name with `search_service_name`).
    pub name_like: Option<String>,
    pub search_service_name: bool,
    /// Only batches of these service names.
    pub service_names: Option<Vec<String>>,
    /// By (task count, created_at, id) instead of (created_at, id).
    pub by_task_count: bool,
    pub ascending: bool,
    /// (offset, limit); None: every match.
    pub page: Option<(i64, i64)>,
}

/// A task of a batch as the batch list shows it.
#[derive(Debug, Clone)]
pub struct BatchTaskBrief {
    pub state: String,
    pub status: String,
    pub source_name: Option<String>,
}

/// Per-batch extras of a page of batches, by batch id.
#[derive(Debug, Clone, Default)]
pub struct BatchExtras {
    pub tasks: HashMap<String, Vec<BatchTaskBrief>>,
    pub group_names: HashMap<String, Vec<String>>,
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

    pub async fn get_batch(&self, project_id: &str, id: &str) -> Result<BatchRecord, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM batch_tasks WHERE project_id = $1 AND id = $2"
        ))
        .bind(project_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let mut b = row
            .as_ref()
            .map(batch)
            .transpose()?
            .ok_or(StoreError::NotFound("batch task"))?;
        b.group_ids = self
            .batch_group_ids(std::slice::from_ref(&b.id))
            .await?
            .remove(&b.id)
            .unwrap_or_default();
        Ok(b)
    }

    /// The group links of these batches.
    async fn batch_group_ids(&self, ids: &[String]) -> Result<HashMap<String, Vec<String>>, StoreError> {
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let mut w = Where::new(self.backend);
        let l = w.list(ids);
        let sql = format!("SELECT batch_id, group_id FROM batch_task_groups WHERE batch_id IN {l}");
        for r in bind_args(sqlx::query(&sql), &w.args).fetch_all(&self.pool).await? {
            out.entry(s(&r, "batch_id")?).or_default().push(s(&r, "group_id")?);
        }
        Ok(out)
    }

    /// ListBatchTasks: the number of matching batches and the requested page of them (all of
    /// them when `q.page` is None), with group links.
    pub async fn batch_page(
        &self,
        project_id: &str,
        q: &BatchPageQuery,
    ) -> Result<(i64, Vec<BatchRecord>), StoreError> {
        let mut w = Where::project(self.backend, "b.project_id", project_id);
        if let Some(vals) = &q.groups {
            let l = w.list(vals);
            w.and(&format!(
                "EXISTS (SELECT 1 FROM batch_task_groups l WHERE l.batch_id = b.id AND (l.group_id IN {l} \
                 OR l.group_id IN (SELECT g.id FROM video_groups g WHERE g.project_id = $1 AND g.name IN {l})))"
            ));
        }
        if let Some((state, no_service)) = &q.task_state {
            let p = w.arg(crate::sql_filter::Arg::S(state.clone()));
            let status = match no_service {
                None => "",
                Some(true) => " AND t.status = 'stopped_no_service'",
                Some(false) => " AND t.status <> 'stopped_no_service'",
            };
            w.and(&format!(
                "EXISTS (SELECT 1 FROM tasks t WHERE t.project_id = $1 AND t.batch_id = b.id AND t.state = {p}{status})"
            ));
        }
        if let Some(n) = &q.name_like {
            let col = if q.search_service_name {
                "b.service_name"
            } else {
                "b.name"
            };
            w.contains_ci(col, n);
        }
        if let Some(names) = &q.service_names {
            let l = w.list(names);
            w.and(&format!("b.service_name IN {l}"));
        }
        let count: i64 = bind_args(
            sqlx::query(&format!("SELECT COUNT(*) FROM batch_tasks b WHERE {}", w.sql)),
            &w.args,
        )
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?;
        let dir = if q.ascending { "ASC" } else { "DESC" };
        let key = if q.by_task_count {
            format!("(SELECT COUNT(*) FROM tasks t WHERE t.project_id = b.project_id AND t.batch_id = b.id) {dir}, ")
        } else {
            String::new()
        };
        let page = crate::sql_filter::page_clause(q.page);
        let cols = COLUMNS
            .split(", ")
            .map(|c| format!("b.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {cols} FROM batch_tasks b WHERE {} ORDER BY {key}b.created_at {dir}, b.id {dir}{page}",
            w.sql
        );
        let rows = bind_args(sqlx::query(&sql), &w.args).fetch_all(&self.pool).await?;
        let mut out: Vec<BatchRecord> = rows.iter().map(batch).collect::<Result<_, _>>()?;
        let ids: Vec<String> = out.iter().map(|b| b.id.clone()).collect();
        let mut links = self.batch_group_ids(&ids).await?;
        for b in &mut out {
            b.group_ids = links.remove(&b.id).unwrap_or_default();
        }
        Ok((count, out))
    }

    /// For these batches: their tasks' (state, status, source name if the source is in the
    /// project), oldest task first, and the names of their groups (oldest group first).
    pub async fn batch_page_extras(&self, project_id: &str, ids: &[String]) -> Result<BatchExtras, StoreError> {
        let mut out = BatchExtras::default();
        if ids.is_empty() {
            return Ok(out);
        }
        let mut w = Where::project(self.backend, "t.project_id", project_id);
        let l = w.list(ids);
        let sql = format!(
            "SELECT t.batch_id, t.state, t.status, s.name AS source_name FROM tasks t \
             LEFT JOIN video_sources s ON s.id = t.video_source_id AND s.project_id = $1 \
             WHERE {} AND t.batch_id IN {l} ORDER BY t.created_at, t.id",
            w.sql
        );
        for r in bind_args(sqlx::query(&sql), &w.args).fetch_all(&self.pool).await? {
            out.tasks.entry(s(&r, "batch_id")?).or_default().push(BatchTaskBrief {
                state: s(&r, "state")?,
                status: s(&r, "status")?,
                source_name: opt_s(&r, "source_name")?,
            });
        }
        let mut w = Where::project(self.backend, "g.project_id", project_id);
        let l = w.list(ids);
        let sql = format!(
            "SELECT l.batch_id, g.name FROM batch_task_groups l JOIN video_groups g ON g.id = l.group_id \
             WHERE {} AND l.batch_id IN {l} ORDER BY g.create_at, g.id",
            w.sql
        );
        for r in bind_args(sqlx::query(&sql), &w.args).fetch_all(&self.pool).await? {
            out.group_names
                .entry(s(&r, "batch_id")?)
                .or_default()
                .push(s(&r, "name")?);
        }
        Ok(out)
    }

    /// Deletes a batch task, its group links and its tasks.
    pub async fn delete_batch(&self, project_id: &str, id: &str) -> Result<u64, StoreError> {
        self.get_batch(project_id, id).await?;
        let mut tx = self.pool.begin().await?;
        let deleted =
            sqlx::query("DELETE FROM tasks WHERE project_id = $1 AND batch_id = $2 RETURNING video_source_id")
                .bind(project_id)
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
        let mut per_source: HashMap<String, i64> = HashMap::new();
        for r in &deleted {
            if let Some(source_id) = opt_s(r, "video_source_id")? {
                *per_source.entry(source_id).or_default() += 1;
            }
        }
        for (source_id, k) in &per_source {
            add_to_counter(&mut tx, SourceCounter::Tasks, source_id, -k).await?;
        }
        let n = deleted.len() as u64;
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
