//! ListVideoSources paged in SQL (issue 15), and the few source facts other pages show (task
//! views: a source's name, stream and groups). A page reads its rows over the index of its sort
//! (`(project_id, key, id)`, migration 0008), then the groups of those rows only; no snapshot.

use std::collections::HashMap;

use sqlx::Row;

use crate::rows::{i, s};
use crate::sql_filter::{bind_args, Where};
use crate::video_groups::GroupRecord;
use crate::video_sources::{SourceRecord, PROJECT_SOURCES};
use crate::{Backend, Store, StoreError};

/// Sort keys of ListVideoSources; ties are ordered by id in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourceSort {
    #[default]
    CreateAt,
    NumTasks,
    NumTemplates,
}

impl SourceSort {
    fn key(self, item: &SourceListItem) -> i64 {
        match self {
            Self::CreateAt => item.source.create_at,
            Self::NumTasks => item.num_tasks,
            Self::NumTemplates => item.num_templates,
        }
    }

    fn column(self) -> &'static str {
        match self {
            Self::CreateAt => "v.create_at",
            Self::NumTasks => "v.num_tasks",
            Self::NumTemplates => "v.num_templates",
        }
    }
}

/// Filters, order and page of ListVideoSources. Empty lists and `None` match everything.
#[derive(Debug, Clone, Default)]
pub struct SourcePageQuery {
    /// Case-insensitive substring of the source's name, or with `scope_in_groups` of the name
    /// of one of its groups.
    pub scope: Option<String>,
    pub scope_in_groups: bool,
    /// Any of these levels (1 online, 2 offline, 9 abnormal).
    pub statuses: Vec<i64>,
    pub source_types: Vec<String>,
    /// Sources in any of these groups.
    pub group_ids: Vec<String>,
    pub access_types: Vec<String>,
    /// Sources carrying exactly this tag.
    pub tag: Option<String>,
    pub sort: SourceSort,
    pub ascending: bool,
    /// (offset, limit); `None` for every match.
    pub page: Option<(i64, i64)>,
}

/// A source as lists show it: without its snapshot (`image` is empty), with its groups and
/// counters.
#[derive(Debug, Clone)]
pub struct SourceListItem {
    pub source: SourceRecord,
    pub groups: Vec<GroupRecord>,
    pub num_tasks: i64,
    pub num_templates: i64,
}

#[derive(Debug, Clone)]
pub struct SourcePage {
    /// Sources matching the filters.
    pub matched: i64,
    /// Sources of the project.
    pub total: i64,
    pub items: Vec<SourceListItem>,
}

/// A group as a task view names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    pub id: String,
    pub name: String,
}

/// What task views show of a task's source.
#[derive(Debug, Clone)]
pub struct SourceSummary {
    pub id: String,
    pub name: String,
    pub stream_path: String,
    /// Oldest group first.
    pub groups: Vec<GroupRef>,
}

/// The columns of a list item, in the order [`page_items`] reads them.
const JSON_COLUMNS: [&str; 18] = [
    "id",
    "project_id",
    "name",
    "access_type",
    "source_type",
    "type_config",
    "password_sealed",
    "latitude",
    "longitude",
    "tags",
    "status",
    "stream_path",
    "quality",
    "scene_recommend",
    "create_at",
    "modify_at",
    "num_tasks",
    "num_templates",
];

/// The items of a page aggregated as a JSON array of [`JSON_COLUMNS`] arrays.
fn page_items(json: &str) -> Result<Vec<SourceListItem>, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("source list page: {what}"));
    let rows: Vec<Vec<serde_json::Value>> = serde_json::from_str(json).map_err(|e| corrupt(&e.to_string()))?;
    rows.into_iter()
        .map(|r| {
            if r.len() != JSON_COLUMNS.len() {
                return Err(corrupt("wrong number of columns"));
            }
            let text = |k: usize| {
                r[k].as_str()
                    .map(str::to_string)
                    .ok_or_else(|| corrupt(JSON_COLUMNS[k]))
            };
            let int = |k: usize| r[k].as_i64().ok_or_else(|| corrupt(JSON_COLUMNS[k]));
            let list = |k: usize| -> Result<Vec<String>, StoreError> {
                serde_json::from_str(&text(k)?).map_err(|_| corrupt(JSON_COLUMNS[k]))
            };
            Ok(SourceListItem {
                source: SourceRecord {
                    id: text(0)?,
                    project_id: text(1)?,
                    name: text(2)?,
                    access_type: text(3)?,
                    source_type: text(4)?,
                    type_config: text(5)?,
                    password_sealed: r[6].as_str().map(str::to_string),
                    latitude: text(7)?,
                    longitude: text(8)?,
                    tags: list(9)?,
                    status: int(10)?,
                    stream_path: text(11)?,
                    image: String::new(),
                    quality: list(12)?,
                    scene_recommend: list(13)?,
                    create_at: int(14)?,
                    modify_at: int(15)?,
                },
                groups: Vec::new(),
                num_tasks: int(16)?,
                num_templates: int(17)?,
            })
        })
        .collect()
}

/// Ids per `IN (…)` list: far below both backends' bind-parameter limits.
const IN_CHUNK: usize = 500;

impl Store {
    /// One page of the project's sources matching `q`, in `q`'s order, with the counts.
    pub async fn source_page(&self, project_id: &str, q: &SourcePageQuery) -> Result<SourcePage, StoreError> {
        let mut w = Where::project(self.backend, "v.project_id", project_id);
        if let Some(text) = &q.scope {
            if q.scope_in_groups {
                let cond = w.contains_ci_cond("g.name", text);
                w.and(&format!(
                    "EXISTS (SELECT 1 FROM video_group_members m JOIN video_groups g ON g.id = m.group_id \
                     WHERE m.source_id = v.id AND g.project_id = $1 AND {cond})"
                ));
            } else {
                w.contains_ci("v.name", text);
            }
        }
        if !q.statuses.is_empty() {
            let l = w.int_list(&q.statuses);
            w.and(&format!("v.status IN {l}"));
        }
        if !q.source_types.is_empty() {
            let l = w.list(&q.source_types);
            w.and(&format!("v.source_type IN {l}"));
        }
        if !q.access_types.is_empty() {
            let l = w.list(&q.access_types);
            w.and(&format!("v.access_type IN {l}"));
        }
        if !q.group_ids.is_empty() {
            let l = w.list(&q.group_ids);
            w.and(&format!(
                "EXISTS (SELECT 1 FROM video_group_members m JOIN video_groups g ON g.id = m.group_id \
                 WHERE m.source_id = v.id AND g.project_id = $1 AND m.group_id IN {l})"
            ));
        }
        if let Some(tag) = &q.tag {
            // `tags` is a JSON list; validated tags hold no quote or backslash, so the quoted
            // tag occurs in it exactly when the list holds that tag.
            w.contains("v.tags", &serde_json::Value::String(tag.clone()).to_string());
        }
        let filtered = w.sql.contains(" AND ");
        let (where_sql, where_args) = (w.sql.clone(), w.args.clone());
        let dir = if q.ascending { "ASC" } else { "DESC" };
        let page = w.page(q.page);
        let key = q.sort.column();
        let cols = JSON_COLUMNS.join(", ");
        let inner =
            format!("SELECT {cols} FROM video_sources v WHERE {where_sql} ORDER BY {key} {dir}, v.id {dir}{page}");
        // The whole page comes back as one row: one JSON array per source, aggregated by the
        // database. Rows cross from the database driver's thread one message at a time, and
        // that hand-off cost more than the query itself for a 50-item page. The project's count
        // rides along, read from its counter.
        let aggregate = match self.backend {
            Backend::Sqlite => format!("json_group_array(json_array({cols}))"),
            Backend::Postgres => format!("COALESCE(json_agg(json_build_array({cols}))::TEXT, '[]')"),
        };
        let row = bind_args(
            sqlx::query(&format!(
                "SELECT {aggregate} AS page, \
                 {PROJECT_SOURCES} AS project_total FROM ({inner}) p"
            )),
            &w.args,
        )
        .fetch_one(&self.pool)
        .await?;
        let total = i(&row, "project_total")?;
        let mut items = page_items(&s(&row, "page")?)?;
        // An aggregate's input order is not promised by SQL: restore the page's order.
        items.sort_by(|a, b| {
            let by = q
                .sort
                .key(a)
                .cmp(&q.sort.key(b))
                .then_with(|| a.source.id.cmp(&b.source.id));
            if q.ascending {
                by
            } else {
                by.reverse()
            }
        });
        let first_page_complete = q
            .page
            .is_none_or(|(offset, limit)| offset == 0 && (items.len() as i64) < limit);
        let matched = if !filtered {
            total
        } else if first_page_complete {
            items.len() as i64
        } else {
            bind_args(
                sqlx::query(&format!("SELECT COUNT(*) FROM video_sources v WHERE {where_sql}")),
                &where_args,
            )
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?
        };
        let ids: Vec<String> = items.iter().map(|it| it.source.id.clone()).collect();
        let mut groups = self.source_groups(project_id, &ids).await?;
        for it in &mut items {
            it.groups = groups.remove(&it.source.id).unwrap_or_default();
        }
        Ok(SourcePage { matched, total, items })
    }

    /// Every source of the project, oldest first, as lists show them (no snapshots).
    pub async fn list_sources(&self, project_id: &str) -> Result<Vec<SourceListItem>, StoreError> {
        let q = SourcePageQuery {
            ascending: true,
            ..Default::default()
        };
        Ok(self.source_page(project_id, &q).await?.items)
    }

    /// Name, stream and groups of the project's sources among `ids` (unknown ids are left out).
    pub async fn source_summaries(&self, project_id: &str, ids: &[String]) -> Result<Vec<SourceSummary>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IN_CHUNK) {
            let mut w = Where::project(self.backend, "project_id || ''", project_id);
            // `project_id || ''`: an expression, so the planner looks the ids up by key instead
            // of scanning the project's index (SQLite without statistics took that).
            let l = w.list(chunk);
            w.and(&format!("id IN {l}"));
            let rows = bind_args(
                sqlx::query(&format!(
                    "SELECT id, name, stream_path FROM video_sources WHERE {}",
                    w.sql
                )),
                &w.args,
            )
            .fetch_all(&self.pool)
            .await?;
            for r in &rows {
                out.push(SourceSummary {
                    id: s(r, "id")?,
                    name: s(r, "name")?,
                    stream_path: s(r, "stream_path")?,
                    groups: Vec::new(),
                });
            }
        }
        let found: Vec<String> = out.iter().map(|x| x.id.clone()).collect();
        let mut refs = self.group_refs(project_id, &found).await?;
        for x in &mut out {
            x.groups = refs.remove(&x.id).unwrap_or_default();
        }
        Ok(out)
    }

    /// The project's groups of each of `source_ids`, oldest group first.
    async fn group_refs(
        &self,
        project_id: &str,
        source_ids: &[String],
    ) -> Result<HashMap<String, Vec<GroupRef>>, StoreError> {
        let mut out: HashMap<String, Vec<GroupRef>> = HashMap::new();
        for chunk in source_ids.chunks(IN_CHUNK) {
            let mut w = Where::project(self.backend, "g.project_id", project_id);
            let l = w.list(chunk);
            w.and(&format!("m.source_id IN {l}"));
            let rows = bind_args(
                sqlx::query(&format!(
                    "SELECT m.source_id, g.id, g.name FROM video_group_members m \
                     JOIN video_groups g ON g.id = m.group_id WHERE {} ORDER BY g.create_at, g.id",
                    w.sql
                )),
                &w.args,
            )
            .fetch_all(&self.pool)
            .await?;
            for r in &rows {
                out.entry(s(r, "source_id")?).or_default().push(GroupRef {
                    id: s(r, "id")?,
                    name: s(r, "name")?,
                });
            }
        }
        Ok(out)
    }

    /// The project's groups (with their counters) of each of `source_ids`, oldest group first.
    pub(crate) async fn source_groups(
        &self,
        project_id: &str,
        source_ids: &[String],
    ) -> Result<HashMap<String, Vec<GroupRecord>>, StoreError> {
        let refs = self.group_refs(project_id, source_ids).await?;
        let mut group_ids: Vec<String> = refs.values().flatten().map(|g| g.id.clone()).collect();
        group_ids.sort();
        group_ids.dedup();
        let mut records: HashMap<String, GroupRecord> = HashMap::new();
        for chunk in group_ids.chunks(IN_CHUNK) {
            for g in self.group_records(project_id, Some(chunk)).await? {
                records.insert(g.id.clone(), g);
            }
        }
        Ok(refs
            .into_iter()
            .map(|(sid, gs)| (sid, gs.iter().filter_map(|g| records.get(&g.id).cloned()).collect()))
            .collect())
    }
}
