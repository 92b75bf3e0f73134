//! ListVideoSources paged in SQL (issue 15), and the few source facts other pages show (task
//! views: a source's name, stream and groups). A page reads its rows over the index of its sort
//! (`(project_id, key, id)`, migration 0008), then the groups of those rows only; no snapshot.

use std::collections::HashMap;

use sqlx::Row;

use crate::rows::{i, opt_s, s};
use crate::sql_filter::{bind_args, Where};
use crate::video_groups::GroupRecord;
use crate::video_sources::{source, SourceRecord, LIST_COLUMNS, PROJECT_SOURCES};
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

/// The columns of a list item, in the order [`page_items`] reads them; the page query adds the
/// item's group ids as a 19th ([`page_group_ids`]).
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

/// The ids of a page row's groups in the project, as a JSON list in text, or NULL when the
/// project has no group (a project without groups then reads no membership at all). Computed on
/// the page's rows (`p`) after LIMIT, so a page reads the memberships of its 50 rows only, and
/// saves the round trip a separate groups query cost.
fn page_group_ids(backend: Backend) -> String {
    let agg = match backend {
        Backend::Sqlite => "json_group_array(m.group_id)",
        Backend::Postgres => "COALESCE(json_agg(m.group_id), '[]'::json)::TEXT",
    };
    format!(
        "CASE WHEN EXISTS (SELECT 1 FROM video_groups WHERE project_id = $1) THEN \
         (SELECT {agg} FROM video_group_members m JOIN video_groups g ON g.id = m.group_id \
         WHERE m.source_id = p.id AND g.project_id = p.project_id) END"
    )
}

/// The items of a page aggregated as a JSON array of [`JSON_COLUMNS`] + group ids arrays, each with
/// the ids of its groups (in no order).
fn page_items(json: &str) -> Result<Vec<(SourceListItem, Vec<String>)>, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("source list page: {what}"));
    let rows: Vec<Vec<serde_json::Value>> = serde_json::from_str(json).map_err(|e| corrupt(&e.to_string()))?;
    rows.into_iter()
        .map(|r| {
            if r.len() != JSON_COLUMNS.len() + 1 {
                return Err(corrupt("wrong number of columns"));
            }
            let name = |k: usize| JSON_COLUMNS.get(k).copied().unwrap_or("group_ids");
            let text = |k: usize| r[k].as_str().map(str::to_string).ok_or_else(|| corrupt(name(k)));
            let int = |k: usize| r[k].as_i64().ok_or_else(|| corrupt(JSON_COLUMNS[k]));
            let list = |k: usize| -> Result<Vec<String>, StoreError> {
                serde_json::from_str(&text(k)?).map_err(|_| corrupt(name(k)))
            };
            let item = SourceListItem {
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
            };
            // The group ids: JSON text, or an array where the database kept the value's JSON type.
            let k = JSON_COLUMNS.len();
            let group_ids = match &r[k] {
                serde_json::Value::Null => Vec::new(),
                serde_json::Value::Array(a) => a
                    .iter()
                    .map(|v| v.as_str().map(str::to_string).ok_or_else(|| corrupt(name(k))))
                    .collect::<Result<_, _>>()?,
                _ => list(k)?,
            };
            Ok((item, group_ids))
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
                w.name_contains_ci("v", text);
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
        let where_sql = &w.sql;
        let dir = if q.ascending { "ASC" } else { "DESC" };
        let page = crate::sql_filter::page_clause(q.page);
        let key = q.sort.column();
        let page_sql = |cols: &str| {
            format!("SELECT {cols} FROM video_sources v WHERE {where_sql} ORDER BY {key} {dir}, v.id {dir}{page}")
        };
        let group_ids = page_group_ids(self.backend);
        let (total, mut rows) = match self.backend {
            Backend::Sqlite => {
                // The whole page comes back as one row: one JSON array per source, aggregated by
                // SQLite. Rows cross from the driver's thread one message at a time, and that
                // hand-off cost more than the query itself for a 50-item page. The project's
                // count rides along, read from its counter.
                let cols = JSON_COLUMNS.join(", ");
                let row = bind_args(
                    sqlx::query(&format!(
                        "SELECT json_group_array(json_array({cols}, {group_ids})) AS page, \
                         {PROJECT_SOURCES} AS project_total FROM ({}) p",
                        page_sql(&cols)
                    )),
                    &w.args,
                )
                .fetch_one(&self.pool)
                .await?;
                (i(&row, "project_total")?, page_items(&s(&row, "page")?)?)
            }
            Backend::Postgres => {
                // Plain rows, decoded natively: the PostgreSQL driver reads them on the request's
                // own task, and building the JSON (type lookups per value) cost PostgreSQL a
                // third more than the page itself. The counter rides along as a column (computed
                // once); an empty page reads it on its own.
                let cols = format!("{LIST_COLUMNS}, num_tasks, num_templates");
                let sql = format!(
                    "SELECT p.*, {group_ids} AS group_ids, {PROJECT_SOURCES} AS project_total FROM ({}) p",
                    page_sql(&cols)
                );
                let found = match &self.list_reads {
                    Some(reads) => bind_args(sqlx::query(&sql), &w.args).fetch_all(reads).await?,
                    None => return Err(StoreError::Corrupt("PostgreSQL store without its list pool".into())),
                };
                let total = match found.first() {
                    Some(r) => i(r, "project_total")?,
                    None => self.count_sources(project_id).await?,
                };
                let mut rows = Vec::with_capacity(found.len());
                for r in &found {
                    let item = SourceListItem {
                        source: source(r)?,
                        groups: Vec::new(),
                        num_tasks: i(r, "num_tasks")?,
                        num_templates: i(r, "num_templates")?,
                    };
                    let group_ids = match opt_s(r, "group_ids")? {
                        Some(text) => {
                            serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("group_ids: {e}")))?
                        }
                        None => Vec::new(),
                    };
                    rows.push((item, group_ids));
                }
                (total, rows)
            }
        };
        // Neither an aggregate's input nor a join's output keeps an order SQL promises: restore
        // the page's order.
        rows.sort_by(|(a, _), (b, _)| {
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
            .is_none_or(|(offset, limit)| offset == 0 && (rows.len() as i64) < limit);
        let matched = if !filtered {
            total
        } else if first_page_complete {
            rows.len() as i64
        } else {
            bind_args(
                sqlx::query(&format!("SELECT COUNT(*) FROM video_sources v WHERE {where_sql}")),
                &w.args,
            )
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?
        };
        let items = self.with_groups(project_id, rows).await?;
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

    /// Page items with their groups (and the groups' counters), oldest group first; no query
    /// when no item is in a group.
    async fn with_groups(
        &self,
        project_id: &str,
        rows: Vec<(SourceListItem, Vec<String>)>,
    ) -> Result<Vec<SourceListItem>, StoreError> {
        let mut group_ids: Vec<String> = rows.iter().flat_map(|(_, g)| g.iter().cloned()).collect();
        group_ids.sort();
        group_ids.dedup();
        let mut records: Vec<GroupRecord> = Vec::new();
        for chunk in group_ids.chunks(IN_CHUNK) {
            records.extend(self.group_records(project_id, Some(chunk)).await?);
        }
        records.sort_by(|a, b| (a.create_at, &a.id).cmp(&(b.create_at, &b.id)));
        Ok(rows
            .into_iter()
            .map(|(mut item, ids)| {
                item.groups = records.iter().filter(|g| ids.contains(&g.id)).cloned().collect();
                item
            })
            .collect())
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
