//! Tasks (jobs): rows, state changes, templates saved on sources.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::rows::{i, opt_s, s};
use crate::video_sources::{add_to_counter, SourceCounter};
use crate::{now_ms, Store, StoreError};

#[derive(Debug, Clone)]
pub struct TaskRecord {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub creator: String,
    pub service_name: String,
    pub service_version: String,
    /// `cloud` or `edge`.
    pub placement: String,
    pub video_source_id: Option<String>,
    /// Normalized JSON texts as accepted by the API.
    pub input: String,
    pub output: String,
    /// `{"common": {…}}` with defaults filled in.
    pub config: String,
    pub schedule: Option<String>,
    /// Created through the legacy VAS body (`service_config`, `timing`).
    pub legacy: bool,
    pub resource_order_id: String,
    pub edge_pool_id: String,
    pub batch_id: Option<String>,
    pub state: String,
    pub status: String,
    pub error_code: String,
    pub error_message: String,
    pub schedule_status: String,
    /// Bumped on every change of what the pipeline must do, so workers restart it.
    pub revision: i64,
    pub lease_owner: Option<String>,
    pub lease_expires_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A task to insert (id and timestamps are set by the store).
#[derive(Debug, Clone)]
pub struct NewTask {
    pub name: String,
    pub description: String,
    pub creator: String,
    pub service_name: String,
    pub service_version: String,
    pub placement: String,
    pub video_source_id: Option<String>,
    pub input: String,
    pub output: String,
    pub config: String,
    pub schedule: Option<String>,
    pub legacy: bool,
    pub resource_order_id: String,
    pub edge_pool_id: String,
    pub batch_id: Option<String>,
    pub schedule_status: String,
}

/// A template to save on a video source (`is_saved_as_template`).
#[derive(Debug, Clone)]
pub struct TemplateWrite {
    pub source_id: String,
    pub name: String,
    pub roi: String,
    pub service_config: String,
}

pub(crate) const COLUMNS: &str = "id, project_id, name, description, creator, service_name, service_version, placement, \
    video_source_id, input, output, config, schedule, legacy, resource_order_id, edge_pool_id, batch_id, state, status, \
    error_code, error_message, schedule_status, revision, lease_owner, lease_expires_at, created_at, updated_at";

pub(crate) fn task(r: &AnyRow) -> Result<TaskRecord, StoreError> {
    Ok(TaskRecord {
        id: s(r, "id")?,
        project_id: s(r, "project_id")?,
        name: s(r, "name")?,
        description: s(r, "description")?,
        creator: s(r, "creator")?,
        service_name: s(r, "service_name")?,
        service_version: s(r, "service_version")?,
        placement: s(r, "placement")?,
        video_source_id: opt_s(r, "video_source_id")?,
        input: s(r, "input")?,
        output: s(r, "output")?,
        config: s(r, "config")?,
        schedule: opt_s(r, "schedule")?,
        legacy: i(r, "legacy")? != 0,
        resource_order_id: s(r, "resource_order_id")?,
        edge_pool_id: s(r, "edge_pool_id")?,
        batch_id: opt_s(r, "batch_id")?,
        state: s(r, "state")?,
        status: s(r, "status")?,
        error_code: s(r, "error_code")?,
        error_message: s(r, "error_message")?,
        schedule_status: s(r, "schedule_status")?,
        revision: i(r, "revision")?,
        lease_owner: opt_s(r, "lease_owner")?,
        lease_expires_at: i(r, "lease_expires_at")?,
        created_at: i(r, "created_at")?,
        updated_at: i(r, "updated_at")?,
    })
}

fn dup_name(e: sqlx::Error) -> StoreError {
    let e = StoreError::Db(e);
    if e.is_unique_violation() {
        StoreError::DuplicateName("task")
    } else {
        e
    }
}

impl Store {
    pub async fn count_tasks(&self, project_id: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM tasks WHERE project_id = $1")
            .bind(project_id)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    /// Inserts tasks (all or none) in state PENDING, and saves templates, in one transaction.
    pub async fn create_tasks(
        &self,
        project_id: &str,
        tasks: Vec<NewTask>,
        templates: Vec<TemplateWrite>,
        quota: i64,
    ) -> Result<Vec<String>, StoreError> {
        for t in &tasks {
            if self.name_taken("tasks", project_id, &t.name, "").await? {
                return Err(StoreError::DuplicateName("task"));
            }
        }
        // Count and insert under the project's quota lock (`quota.rs`).
        let mut tx = self.quota_tx(project_id).await?;
        crate::quota::check(&mut tx, "tasks", project_id, tasks.len() as i64, "tasks", quota).await?;
        let mut ids = Vec::with_capacity(tasks.len());
        for t in tasks {
            let id = vigil_core::ids::new_hex32_id();
            let now = now_ms();
            sqlx::query(
                "INSERT INTO tasks (id, project_id, name, description, creator, service_name, service_version, placement, \
                 video_source_id, input, output, config, schedule, legacy, resource_order_id, edge_pool_id, batch_id, \
                 state, schedule_status, revision, created_at, updated_at) \
                 VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,'PENDING',$18,1,$19,$19)",
            )
            .bind(&id)
            .bind(project_id)
            .bind(&t.name)
            .bind(&t.description)
            .bind(&t.creator)
            .bind(&t.service_name)
            .bind(&t.service_version)
            .bind(&t.placement)
            .bind(t.video_source_id.clone())
            .bind(&t.input)
            .bind(&t.output)
            .bind(&t.config)
            .bind(t.schedule.clone())
            .bind(t.legacy as i64)
            .bind(&t.resource_order_id)
            .bind(&t.edge_pool_id)
            .bind(t.batch_id.clone())
            .bind(&t.schedule_status)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(dup_name)?;
            if let Some(source_id) = &t.video_source_id {
                add_to_counter(&mut tx, SourceCounter::Tasks, source_id, 1).await?;
            }
            ids.push(id);
        }
        save_templates(&mut tx, &templates).await?;
        tx.commit().await?;
        Ok(ids)
    }

    pub async fn get_task(&self, project_id: &str, id: &str) -> Result<TaskRecord, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM tasks WHERE project_id = $1 AND id = $2"
        ))
        .bind(project_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(task).transpose()?.ok_or(StoreError::NotFound("task"))
    }

    pub async fn list_tasks(&self, project_id: &str) -> Result<Vec<TaskRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM tasks WHERE project_id = $1 ORDER BY created_at, id"
        ))
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(task).collect()
    }

    /// Every task of every project (for workers).
    pub async fn all_tasks(&self) -> Result<Vec<TaskRecord>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM tasks ORDER BY created_at, id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(task).collect()
    }

    /// Tasks bound to a video source that still want its alarms: every state except stopped,
    /// finished, failed and being deleted (source-level events such as quality changes go to
    /// these tasks' outputs).
    pub async fn live_tasks_of_source(&self, source_id: &str) -> Result<Vec<TaskRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM tasks WHERE video_source_id = $1 AND state NOT IN \
             ('STOPPING', 'STOPPED', 'SUCCEEDED', 'FAILED', 'CREATE_FAILED', 'START_FAILED', 'DELETING', \
             'FREEZING', 'FROZEN') ORDER BY created_at, id"
        ))
        .bind(source_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(task).collect()
    }

    /// Replaces what a task does (name, description, input, output, config, schedule) and bumps
    /// its revision; saves templates in the same transaction.
    pub async fn update_task(&self, t: &TaskRecord, templates: Vec<TemplateWrite>) -> Result<(), StoreError> {
        if self.name_taken("tasks", &t.project_id, &t.name, &t.id).await? {
            return Err(StoreError::DuplicateName("task"));
        }
        let mut tx = self.pool.begin().await?;
        // Lock the row first (a no-op write), so the source read next is the one replaced here
        // even when another update of this task runs at the same time.
        sqlx::query("UPDATE tasks SET revision = revision WHERE project_id = $1 AND id = $2")
            .bind(&t.project_id)
            .bind(&t.id)
            .execute(&mut *tx)
            .await?;
        let old_source = sqlx::query("SELECT video_source_id FROM tasks WHERE project_id = $1 AND id = $2")
            .bind(&t.project_id)
            .bind(&t.id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| opt_s(&r, "video_source_id"))
            .transpose()?
            .flatten();
        let n = sqlx::query(
            "UPDATE tasks SET name = $1, description = $2, video_source_id = $3, input = $4, output = $5, config = $6, \
             schedule = $7, resource_order_id = $8, schedule_status = $9, revision = revision + 1, updated_at = $10 \
             WHERE project_id = $11 AND id = $12",
        )
        .bind(&t.name)
        .bind(&t.description)
        .bind(t.video_source_id.clone())
        .bind(&t.input)
        .bind(&t.output)
        .bind(&t.config)
        .bind(t.schedule.clone())
        .bind(&t.resource_order_id)
        .bind(&t.schedule_status)
        .bind(now_ms())
        .bind(&t.project_id)
        .bind(&t.id)
        .execute(&mut *tx)
        .await
        .map_err(dup_name)?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound("task"));
        }
        if old_source != t.video_source_id {
            if let Some(old) = &old_source {
                add_to_counter(&mut tx, SourceCounter::Tasks, old, -1).await?;
            }
            if let Some(new) = &t.video_source_id {
                add_to_counter(&mut tx, SourceCounter::Tasks, new, 1).await?;
            }
        }
        save_templates(&mut tx, &templates).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a task's state, detail and error (empty strings clear them).
    pub async fn set_task_state(
        &self,
        id: &str,
        state: &str,
        status: &str,
        error: (&str, &str),
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE tasks SET state = $1, status = $2, error_code = $3, error_message = $4, updated_at = $5 WHERE id = $6",
        )
        .bind(state)
        .bind(status)
        .bind(error.0)
        .bind(error.1)
        .bind(now_ms())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Start: back to PENDING with a new revision so a worker picks it up.
    pub async fn request_start(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE tasks SET state = 'PENDING', status = '', error_code = '', error_message = '', revision = revision + 1, \
             updated_at = $1 WHERE id = $2",
        )
        .bind(now_ms())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stop: STOPPED at once when no live worker holds the task, else STOPPING for its worker.
    pub async fn request_stop(&self, id: &str) -> Result<(), StoreError> {
        let now = now_ms();
        sqlx::query(
            "UPDATE tasks SET state = CASE WHEN lease_owner IS NOT NULL AND lease_expires_at > $1 THEN 'STOPPING' ELSE 'STOPPED' END, \
             status = '', updated_at = $1 WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stop-deploy of an algorithm: the project's tasks of these service names that run or
    /// wait to run stop with `status` `stopped_no_service` (STOPPING first while a live worker
    /// holds one; the worker's release keeps the status). Returns how many.
    pub async fn stop_tasks_no_service(&self, project_id: &str, service_names: &[String]) -> Result<u64, StoreError> {
        let now = now_ms();
        let mut n = 0;
        for name in service_names {
            n += sqlx::query(
                "UPDATE tasks SET state = CASE WHEN lease_owner IS NOT NULL AND lease_expires_at > $1 THEN 'STOPPING' \
                 ELSE 'STOPPED' END, status = 'stopped_no_service', updated_at = $1 \
                 WHERE project_id = $2 AND service_name = $3 \
                 AND state IN ('PENDING', 'STARTING', 'RUNNING', 'ABNORMAL', 'RECOVERING')",
            )
            .bind(now)
            .bind(project_id)
            .bind(name)
            .execute(&self.pool)
            .await?
            .rows_affected();
        }
        Ok(n)
    }

    pub async fn delete_task(&self, project_id: &str, id: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("DELETE FROM tasks WHERE project_id = $1 AND id = $2 RETURNING video_source_id")
            .bind(project_id)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound("task"))?;
        if let Some(source_id) = opt_s(&row, "video_source_id")? {
            add_to_counter(&mut tx, SourceCounter::Tasks, &source_id, -1).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

async fn save_templates(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    templates: &[TemplateWrite],
) -> Result<(), StoreError> {
    for t in templates {
        let now = now_ms();
        let n = sqlx::query("UPDATE source_templates SET roi = $1, service_config = $2, modify_at = $3 WHERE source_id = $4 AND name = $5")
            .bind(&t.roi)
            .bind(&t.service_config)
            .bind(now)
            .bind(&t.source_id)
            .bind(&t.name)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if n == 0 {
            sqlx::query(
                "INSERT INTO source_templates (source_id, name, roi, service_config, create_at, modify_at) \
                 VALUES ($1, $2, $3, $4, $5, $5)",
            )
            .bind(&t.source_id)
            .bind(&t.name)
            .bind(&t.roi)
            .bind(&t.service_config)
            .bind(now)
            .execute(&mut **tx)
            .await?;
            add_to_counter(tx, SourceCounter::Templates, &t.source_id, 1).await?;
        }
    }
    Ok(())
}

/// States in which a worker should run the task (see `TaskState::wants_pipeline`).
const RUNNABLE: &str = "('PENDING','STARTING','RUNNING','ABNORMAL','RECOVERING')";

impl Store {
    /// Runnable tasks that no live worker holds (lease free or expired), plus those `owner` holds.
    pub async fn claimable_tasks(&self, owner: &str) -> Result<Vec<TaskRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM tasks WHERE state IN {RUNNABLE} \
             AND (lease_owner IS NULL OR lease_owner = $1 OR lease_expires_at < $2) ORDER BY created_at, id"
        ))
        .bind(owner)
        .bind(now_ms())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(task).collect()
    }

    /// Takes or renews the lease of one task; false when another live worker holds it. A single
    /// conditional UPDATE, so two workers racing on PostgreSQL cannot both win.
    pub async fn claim_task(&self, id: &str, owner: &str, ttl_ms: i64) -> Result<bool, StoreError> {
        let now = now_ms();
        let n = sqlx::query(
            "UPDATE tasks SET lease_owner = $1, lease_expires_at = $2, heartbeat_at = $3 \
             WHERE id = $4 AND (lease_owner IS NULL OR lease_owner = $1 OR lease_expires_at < $3)",
        )
        .bind(owner)
        .bind(now + ttl_ms)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Tasks whose lease `owner` holds (for heartbeats and stop/delete/update detection).
    pub async fn owned_tasks(&self, owner: &str) -> Result<Vec<TaskRecord>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM tasks WHERE lease_owner = $1"))
            .bind(owner)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(task).collect()
    }

    /// Gives a task's lease up, optionally moving it to a final state (e.g. STOPPED, SUCCEEDED).
    pub async fn release_task(&self, id: &str, owner: &str, state: Option<&str>) -> Result<(), StoreError> {
        let now = now_ms();
        match state {
            Some(st) => {
                sqlx::query(
                    "UPDATE tasks SET lease_owner = NULL, lease_expires_at = 0, state = $1, updated_at = $2 \
                     WHERE id = $3 AND lease_owner = $4",
                )
                .bind(st)
                .bind(now)
                .bind(id)
                .bind(owner)
                .execute(&self.pool)
                .await?
            }
            None => {
                sqlx::query(
                    "UPDATE tasks SET lease_owner = NULL, lease_expires_at = 0 WHERE id = $1 AND lease_owner = $2",
                )
                .bind(id)
                .bind(owner)
                .execute(&self.pool)
                .await?
            }
        };
        Ok(())
    }

    /// Sets the state of a task only while `owner` holds it (a worker reporting on its pipeline).
    pub async fn report_task_state(
        &self,
        id: &str,
        owner: &str,
        state: &str,
        status: &str,
        error: (&str, &str),
    ) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "UPDATE tasks SET state = $1, status = $2, error_code = $3, error_message = $4, updated_at = $5 \
             WHERE id = $6 AND lease_owner = $7 AND state <> 'STOPPING' AND state <> 'STOPPED'",
        )
        .bind(state)
        .bind(status)
        .bind(error.0)
        .bind(error.1)
        .bind(now_ms())
        .bind(id)
        .bind(owner)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    pub async fn set_schedule_status(&self, id: &str, status: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE tasks SET schedule_status = $1 WHERE id = $2")
            .bind(status)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
