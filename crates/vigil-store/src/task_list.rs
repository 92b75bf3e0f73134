//! Task lists paged in SQL (issue 15): ListTasks (platform), ListTasksDetails (legacy VAS) and
//! the "is any task of these services busy" check. Filters are fixed SQL fragments with bind
//! parameters; every order ends with the id so pages never overlap.

use sqlx::Row;

use crate::sql_filter::{bind_args, page_clause, Arg};
// Moved to `sql_filter`; re-exported for the modules that import them from here.
pub(crate) use crate::sql_filter::{bytewise, Where};
use crate::tasks::{task, COLUMNS};
use crate::{Store, StoreError};

/// What a platform task list shows: every column but the large `input`, `output` and `config`
/// (read back as empty texts).
const LIST_COLUMNS: &str = "id, project_id, name, description, creator, service_name, service_version, placement, \
    video_source_id, '' AS input, '' AS output, '' AS config, schedule, legacy, resource_order_id, edge_pool_id, \
    batch_id, state, status, error_code, error_message, schedule_status, revision, lease_owner, lease_expires_at, \
    created_at, updated_at";

/// Filters and page of ListTasks. `None` filters match everything.
#[derive(Debug, Clone, Default)]
pub struct TaskPageQuery {
    /// Only tasks of these service names (the algorithm filters resolved by the caller).
    pub service_names: Option<Vec<String>>,
    /// Case-insensitive substring of the task's video source name.
    pub source_name: Option<String>,
    pub state: Option<String>,
    /// Case-insensitive substring of the task name.
    pub name: Option<String>,
    pub batch_id: Option<String>,
    /// Tasks whose video source is in any of these groups.
    pub group_ids: Option<Vec<String>>,
    /// By (created_at, id); descending otherwise.
    pub ascending: bool,
    pub offset: i64,
    pub limit: i64,
}

/// Orders of ListTasksDetails; ties keep creation order (created_at, id ascending).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LegacyTaskOrder {
    NameAsc,
    NameDesc,
    CreatedAsc,
    #[default]
    CreatedDesc,
    UpdatedAsc,
    UpdatedDesc,
}

/// Filters and page of ListTasksDetails (one service's tasks).
#[derive(Debug, Clone, Default)]
pub struct LegacyTaskQuery {
    pub service_name: String,
    pub service_version: Option<String>,
    pub state: Option<String>,
    /// Case-sensitive substrings of the name and the id.
    pub name_like: Option<String>,
    pub id_like: Option<String>,
    /// Creation time bounds (ms, inclusive).
    pub created_since: Option<i64>,
    pub created_until: Option<i64>,
    pub order: LegacyTaskOrder,
    pub offset: i64,
    pub limit: i64,
}

impl Store {
    /// One page of the project's tasks matching `q`, newest first unless `q.ascending`.
    pub async fn task_page(
        &self,
        project_id: &str,
        q: &TaskPageQuery,
    ) -> Result<Vec<crate::tasks::TaskRecord>, StoreError> {
        let mut w = Where::project(self.backend, "t.project_id", project_id);
        if let Some(names) = &q.service_names {
            let l = w.list(names);
            w.and(&format!("t.service_name IN {l}"));
        }
        if let Some(n) = &q.source_name {
            let cond = w.name_contains_ci_cond("s", n);
            w.and(&format!(
                "EXISTS (SELECT 1 FROM video_sources s WHERE s.id = t.video_source_id AND s.project_id = $1 AND {cond})"
            ));
        }
        if let Some(s) = &q.state {
            let p = w.arg(Arg::S(s.clone()));
            w.and(&format!("t.state = {p}"));
        }
        if let Some(n) = &q.name {
            w.name_contains_ci("t", n);
        }
        if let Some(b) = &q.batch_id {
            let p = w.arg(Arg::S(b.clone()));
            w.and(&format!("t.batch_id = {p}"));
        }
        if let Some(groups) = &q.group_ids {
            let l = w.list(groups);
            w.and(&format!(
                "EXISTS (SELECT 1 FROM video_group_members m JOIN video_groups g ON g.id = m.group_id \
                 JOIN video_sources s ON s.id = m.source_id WHERE m.source_id = t.video_source_id \
                 AND s.project_id = $1 AND g.project_id = $1 AND m.group_id IN {l})"
            ));
        }
        let dir = if q.ascending { "ASC" } else { "DESC" };
        let page = page_clause(Some((q.offset, q.limit)));
        let sql = format!(
            "SELECT {LIST_COLUMNS} FROM tasks t WHERE {} ORDER BY t.created_at {dir}, t.id {dir}{page}",
            w.sql
        );
        let rows = bind_args(sqlx::query(&sql), &w.args).fetch_all(&self.pool).await?;
        rows.iter().map(task).collect()
    }

    /// ListTasksDetails: the number of matching tasks and one page of them (all columns).
    pub async fn legacy_task_page(
        &self,
        project_id: &str,
        q: &LegacyTaskQuery,
    ) -> Result<(i64, Vec<crate::tasks::TaskRecord>), StoreError> {
        let mut w = Where::project(self.backend, "project_id", project_id);
        let p = w.arg(Arg::S(q.service_name.clone()));
        w.and(&format!("service_name = {p}"));
        if let Some(v) = &q.service_version {
            let p = w.arg(Arg::S(v.clone()));
            w.and(&format!("service_version = {p}"));
        }
        if let Some(s) = &q.state {
            let p = w.arg(Arg::S(s.clone()));
            w.and(&format!("state = {p}"));
        }
        if let Some(n) = &q.name_like {
            w.contains("name", n);
        }
        if let Some(n) = &q.id_like {
            w.contains("id", n);
        }
        if let Some(t) = q.created_since {
            let p = w.arg(Arg::I(t));
            w.and(&format!("created_at >= {p}"));
        }
        if let Some(t) = q.created_until {
            let p = w.arg(Arg::I(t));
            w.and(&format!("created_at <= {p}"));
        }
        let count: i64 = bind_args(
            sqlx::query(&format!("SELECT COUNT(*) FROM tasks WHERE {}", w.sql)),
            &w.args,
        )
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?;
        let name = bytewise(self.backend, "name");
        let order = match q.order {
            LegacyTaskOrder::NameAsc => format!("{name} ASC, created_at, id"),
            LegacyTaskOrder::NameDesc => format!("{name} DESC, created_at, id"),
            LegacyTaskOrder::CreatedAsc => "created_at, id".into(),
            LegacyTaskOrder::CreatedDesc => "created_at DESC, id".into(),
            LegacyTaskOrder::UpdatedAsc => "updated_at, created_at, id".into(),
            LegacyTaskOrder::UpdatedDesc => "updated_at DESC, created_at, id".into(),
        };
        let page = page_clause(Some((q.offset, q.limit)));
        let sql = format!("SELECT {COLUMNS} FROM tasks WHERE {} ORDER BY {order}{page}", w.sql);
        let rows = bind_args(sqlx::query(&sql), &w.args).fetch_all(&self.pool).await?;
        Ok((count, rows.iter().map(task).collect::<Result<_, _>>()?))
    }

    /// Whether a task of the project with one of these service names is in one of `states`.
    pub async fn any_task_in_states(
        &self,
        project_id: &str,
        service_names: &[String],
        states: &[&str],
    ) -> Result<bool, StoreError> {
        let mut w = Where::project(self.backend, "project_id", project_id);
        let names = w.list(service_names);
        let states: Vec<String> = states.iter().map(|s| s.to_string()).collect();
        let states = w.list(&states);
        w.and(&format!("service_name IN {names} AND state IN {states}"));
        // COUNT over at most one row: an i64 on both backends, and the scan stops at the first hit.
        let sql = format!("SELECT COUNT(*) FROM (SELECT 1 FROM tasks WHERE {} LIMIT 1) hit", w.sql);
        let n: i64 = bind_args(sqlx::query(&sql), &w.args)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        Ok(n > 0)
    }

    /// The tasks of a batch task, oldest first.
    pub async fn tasks_of_batch(
        &self,
        project_id: &str,
        batch_id: &str,
    ) -> Result<Vec<crate::tasks::TaskRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM tasks WHERE project_id = $1 AND batch_id = $2 ORDER BY created_at, id"
        ))
        .bind(project_id)
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(task).collect()
    }
}
