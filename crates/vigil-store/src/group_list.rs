//! ListVideoGroups paged in SQL (issue 15): the page's ids come from one ordered query, then the
//! counters of those groups only. Groups are few per project (quota, 100 by default), so the
//! sorts by member or batch-task count may compute their key per group.

use sqlx::Row;

use crate::rows::s;
use crate::sql_filter::{bind_args, Arg, Where};
use crate::video_groups::GroupRecord;
use crate::{Store, StoreError};

/// Sort keys of ListVideoGroups; ties are ordered by id in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupSort {
    #[default]
    CreateAt,
    ModifyAt,
    NumVideoSource,
    /// Batch tasks on the group.
    NumBatchTask,
}

/// Members of group `g` (sources of the project).
const MEMBERS: &str = "FROM video_group_members m JOIN video_sources s ON s.id = m.source_id \
     WHERE m.group_id = g.id AND s.project_id = $1";

impl GroupSort {
    fn key(self) -> String {
        match self {
            Self::CreateAt => "g.create_at".into(),
            Self::ModifyAt => "g.modify_at".into(),
            Self::NumVideoSource => format!("(SELECT COUNT(*) {MEMBERS})"),
            Self::NumBatchTask => "(SELECT COUNT(*) FROM batch_task_groups b WHERE b.group_id = g.id)".into(),
        }
    }
}

/// Filters, order and page of ListVideoGroups. Empty lists and `None` match everything.
#[derive(Debug, Clone, Default)]
pub struct GroupPageQuery {
    /// Case-insensitive substring of the group name.
    pub name: Option<String>,
    /// Groups holding a source at this level (1 online, 2 offline, 9 abnormal).
    pub status: Option<i64>,
    pub access_types: Vec<String>,
    /// Groups with (true) / without (false) batch tasks.
    pub has_task: Option<bool>,
    /// Groups holding a source of one of these types.
    pub source_types: Vec<String>,
    pub sort: GroupSort,
    pub ascending: bool,
    /// (offset, limit); `None` for every match.
    pub page: Option<(i64, i64)>,
}

#[derive(Debug, Clone)]
pub struct GroupPage {
    /// Groups matching the filters.
    pub matched: i64,
    /// Groups of the project.
    pub total: i64,
    pub items: Vec<GroupRecord>,
}

impl Store {
    /// One page of the project's groups matching `q`, in `q`'s order, with the counts.
    pub async fn group_page(&self, project_id: &str, q: &GroupPageQuery) -> Result<GroupPage, StoreError> {
        let mut w = Where::project(self.backend, "g.project_id", project_id);
        if let Some(name) = &q.name {
            w.contains_ci("g.name", name);
        }
        if let Some(level) = q.status {
            let p = w.arg(Arg::I(level));
            w.and(&format!("EXISTS (SELECT 1 {MEMBERS} AND s.status = {p})"));
        }
        if !q.access_types.is_empty() {
            let l = w.list(&q.access_types);
            w.and(&format!("g.access_type IN {l}"));
        }
        if let Some(has) = q.has_task {
            let not = if has { "" } else { "NOT " };
            w.and(&format!(
                "{not}EXISTS (SELECT 1 FROM batch_task_groups b WHERE b.group_id = g.id)"
            ));
        }
        if !q.source_types.is_empty() {
            let l = w.list(&q.source_types);
            w.and(&format!("EXISTS (SELECT 1 {MEMBERS} AND s.source_type IN {l})"));
        }
        let filtered = w.sql.contains(" AND ");
        let (where_sql, where_args) = (w.sql.clone(), w.args.clone());
        let dir = if q.ascending { "ASC" } else { "DESC" };
        let page = crate::sql_filter::page_clause(q.page);
        let key = q.sort.key();
        let rows = bind_args(
            sqlx::query(&format!(
                "SELECT g.id FROM video_groups g WHERE {where_sql} ORDER BY {key} {dir}, g.id {dir}{page}"
            )),
            &w.args,
        )
        .fetch_all(&self.pool)
        .await?;
        let ids = rows.iter().map(|r| s(r, "id")).collect::<Result<Vec<_>, _>>()?;
        let total = self.count_groups(project_id).await?;
        let first_page_complete = q
            .page
            .is_none_or(|(offset, limit)| offset == 0 && (ids.len() as i64) < limit);
        let matched = if !filtered {
            total
        } else if first_page_complete {
            ids.len() as i64
        } else {
            bind_args(
                sqlx::query(&format!("SELECT COUNT(*) FROM video_groups g WHERE {where_sql}")),
                &where_args,
            )
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?
        };
        let mut records = self.group_records(project_id, Some(&ids)).await?;
        // Back into the page's order.
        let items = ids
            .iter()
            .filter_map(|id| {
                let at = records.iter().position(|g| &g.id == id)?;
                Some(records.swap_remove(at))
            })
            .collect();
        Ok(GroupPage { matched, total, items })
    }
}
