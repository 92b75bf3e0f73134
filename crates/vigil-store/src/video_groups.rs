//! Video groups and their M:N membership with sources.

use std::collections::HashMap;

use sqlx::Row;
use vigil_core::FieldError;

use crate::rows::{i, s};
use crate::sql_filter::{bind_args, Where};
use crate::{now_ms, Store, StoreError};

#[derive(Debug, Clone)]
pub struct GroupRecord {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub access_type: String,
    pub create_at: i64,
    pub modify_at: i64,
    pub num_video_source: i64,
    pub num_online: i64,
    pub num_offline: i64,
    pub num_exception: i64,
    pub num_batch_task: i64,
    /// Distinct types of the member sources, sorted.
    pub source_types: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct NewGroup {
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub access_type: String,
    pub source_ids: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct GroupUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub source_ids: Option<Vec<String>>,
}

fn dup_name(e: sqlx::Error) -> StoreError {
    let e = StoreError::Db(e);
    if e.is_unique_violation() {
        StoreError::DuplicateName("video group")
    } else {
        e
    }
}

impl Store {
    /// Every id must be a source of the project with the group's access type.
    async fn check_members(&self, project_id: &str, access_type: &str, ids: &[String]) -> Result<(), StoreError> {
        for (n, id) in ids.iter().enumerate() {
            let row = sqlx::query("SELECT access_type FROM video_sources WHERE project_id = $1 AND id = $2")
                .bind(project_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
            match row {
                None => return Err(StoreError::NotFound("video source")),
                Some(r) if s(&r, "access_type")? != access_type => {
                    return Err(FieldError::invalid(
                        format!("video_source_ids[{n}]"),
                        "the source's access_type differs from the group's",
                    )
                    .into())
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    pub async fn count_groups(&self, project_id: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM video_groups WHERE project_id = $1")
            .bind(project_id)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    /// Inserts a group and its members; the quota check and the insert are atomic (`quota.rs`).
    pub async fn create_group(&self, new: NewGroup, quota: i64) -> Result<String, StoreError> {
        if self.name_taken("video_groups", &new.project_id, &new.name, "").await? {
            return Err(StoreError::DuplicateName("video group"));
        }
        self.check_members(&new.project_id, &new.access_type, &new.source_ids)
            .await?;
        let id = vigil_core::ids::new_resource_id();
        let now = now_ms();
        let mut tx = self.quota_tx(&new.project_id).await?;
        crate::quota::check(&mut tx, "video_groups", &new.project_id, 1, "video groups", quota).await?;
        sqlx::query(
            "INSERT INTO video_groups (id, project_id, name, description, access_type, create_at, modify_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(&id)
        .bind(&new.project_id)
        .bind(&new.name)
        .bind(&new.description)
        .bind(&new.access_type)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(dup_name)?;
        let mut ids = new.source_ids.clone();
        ids.sort();
        ids.dedup();
        for sid in &ids {
            sqlx::query("INSERT INTO video_group_members (group_id, source_id) VALUES ($1, $2)")
                .bind(&id)
                .bind(sid)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    pub async fn update_group(&self, project_id: &str, id: &str, up: GroupUpdate) -> Result<(), StoreError> {
        let cur = self.get_group(project_id, id).await?;
        if let Some(name) = &up.name {
            if self.name_taken("video_groups", project_id, name, id).await? {
                return Err(StoreError::DuplicateName("video group"));
            }
        }
        if let Some(ids) = &up.source_ids {
            self.check_members(project_id, &cur.access_type, ids).await?;
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE video_groups SET name = $1, description = $2, modify_at = $3 WHERE id = $4")
            .bind(up.name.unwrap_or(cur.name))
            .bind(up.description.unwrap_or(cur.description))
            .bind(now_ms())
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(dup_name)?;
        if let Some(mut ids) = up.source_ids {
            ids.sort();
            ids.dedup();
            sqlx::query("DELETE FROM video_group_members WHERE group_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            for sid in &ids {
                sqlx::query("INSERT INTO video_group_members (group_id, source_id) VALUES ($1, $2)")
                    .bind(id)
                    .bind(sid)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a group and its memberships (the sources stay). Refused while batch tasks use it.
    pub async fn delete_group(&self, project_id: &str, id: &str) -> Result<(), StoreError> {
        let g = self.get_group(project_id, id).await?;
        if g.num_batch_task > 0 {
            return Err(StoreError::InUse(format!(
                "video group {id} is used by {} batch task(s)",
                g.num_batch_task
            )));
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM video_group_members WHERE group_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM video_groups WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_group(&self, project_id: &str, id: &str) -> Result<GroupRecord, StoreError> {
        self.group_records(project_id, Some(&[id.to_string()]))
            .await?
            .pop()
            .ok_or(StoreError::NotFound("video group"))
    }

    /// All groups of a project with their counters, oldest first.
    pub async fn list_groups(&self, project_id: &str) -> Result<Vec<GroupRecord>, StoreError> {
        self.group_records(project_id, None).await
    }

    /// Groups of the project with their counters, oldest first: those in `ids` only when given.
    /// The counters read the members of these groups only.
    pub(crate) async fn group_records(
        &self,
        project_id: &str,
        ids: Option<&[String]>,
    ) -> Result<Vec<GroupRecord>, StoreError> {
        let mut w = Where::project(self.backend, "g.project_id", project_id);
        if let Some(ids) = ids {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let l = w.list(ids);
            w.and(&format!("g.id IN {l}"));
        }
        let rows = bind_args(
            sqlx::query(&format!(
                "SELECT g.id, g.project_id, g.name, g.description, g.access_type, g.create_at, g.modify_at, \
                 (SELECT COUNT(*) FROM batch_task_groups b WHERE b.group_id = g.id) AS num_batch_task \
                 FROM video_groups g WHERE {} ORDER BY g.create_at, g.id",
                w.sql
            )),
            &w.args,
        )
        .fetch_all(&self.pool)
        .await?;
        let member_rows = bind_args(
            sqlx::query(&format!(
                "SELECT m.group_id, s.status, s.source_type, COUNT(*) AS n FROM video_group_members m \
                 JOIN video_groups g ON g.id = m.group_id JOIN video_sources s ON s.id = m.source_id \
                 WHERE {} AND s.project_id = $1 GROUP BY m.group_id, s.status, s.source_type",
                w.sql
            )),
            &w.args,
        )
        .fetch_all(&self.pool)
        .await?;
        // (status, source type, members) per group.
        let mut members: HashMap<String, Vec<(i64, String, i64)>> = HashMap::new();
        for m in &member_rows {
            members
                .entry(s(m, "group_id")?)
                .or_default()
                .push((i(m, "status")?, s(m, "source_type")?, i(m, "n")?));
        }
        rows.iter()
            .map(|r| {
                let id = s(r, "id")?;
                let ms = members.remove(&id).unwrap_or_default();
                let count = |level: Option<i64>| {
                    ms.iter()
                        .filter(|(st, _, _)| level.is_none_or(|l| *st == l))
                        .map(|(_, _, n)| n)
                        .sum::<i64>()
                };
                let mut types: Vec<String> = ms.iter().map(|(_, t, _)| t.clone()).collect();
                types.sort();
                types.dedup();
                Ok(GroupRecord {
                    project_id: s(r, "project_id")?,
                    name: s(r, "name")?,
                    description: s(r, "description")?,
                    access_type: s(r, "access_type")?,
                    create_at: i(r, "create_at")?,
                    modify_at: i(r, "modify_at")?,
                    num_video_source: count(None),
                    num_online: count(Some(1)),
                    num_offline: count(Some(2)),
                    num_exception: count(Some(9)),
                    num_batch_task: i(r, "num_batch_task")?,
                    source_types: types,
                    id,
                })
            })
            .collect()
    }

    /// The ids of a group's member sources (in the project).
    pub async fn group_member_ids(&self, project_id: &str, group_id: &str) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.source_id FROM video_group_members m JOIN video_sources s ON s.id = m.source_id \
             WHERE m.group_id = $1 AND s.project_id = $2 ORDER BY m.source_id",
        )
        .bind(group_id)
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| s(r, "source_id")).collect()
    }
}
