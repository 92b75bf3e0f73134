//! Video sources: rows, group membership, task and template counters, health.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::Row;
use vigil_core::FieldError;

use crate::rows::{i, opt_s, s, string_list, to_json_list};
use crate::video_groups::GroupRecord;
use crate::{now_ms, Store, StoreError};

#[derive(Debug, Clone)]
pub struct NewSource {
    pub project_id: String,
    pub name: String,
    pub access_type: String,
    pub source_type: String,
    /// `type_config` with any password masked; the password itself goes in `password_sealed`.
    pub type_config: String,
    pub password_sealed: Option<String>,
    pub latitude: String,
    pub longitude: String,
    pub tags: Vec<String>,
    pub group_ids: Vec<String>,
    pub stream_path: String,
}

#[derive(Debug, Clone)]
pub struct SourceRecord {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub access_type: String,
    pub source_type: String,
    pub type_config: String,
    pub password_sealed: Option<String>,
    pub latitude: String,
    pub longitude: String,
    pub tags: Vec<String>,
    /// 1 online, 2 offline, 9 abnormal.
    pub status: i64,
    pub stream_path: String,
    /// Base64 JPEG snapshot, empty until the prober took one.
    pub image: String,
    pub quality: Vec<String>,
    pub scene_recommend: Vec<String>,
    pub create_at: i64,
    pub modify_at: i64,
}

#[derive(Debug, Clone)]
pub struct TemplateRecord {
    pub name: String,
    pub roi: String,
    pub service_config: String,
    pub num_task: i64,
    pub create_at: i64,
    pub modify_at: i64,
}

/// A source with everything the Video Center shows next to it.
#[derive(Debug, Clone)]
pub struct SourceDetail {
    pub source: SourceRecord,
    pub groups: Vec<GroupRecord>,
    pub num_tasks: i64,
    pub templates: Vec<TemplateRecord>,
}

/// Fields of UpdateVideoSource; `None` leaves a field unchanged.
#[derive(Debug, Clone, Default)]
pub struct SourceUpdate {
    pub name: String,
    pub latitude: Option<String>,
    pub longitude: Option<String>,
    /// New masked `type_config`, its sealed password (None keeps the stored one) and stream path.
    pub type_config: Option<(String, Option<String>, String)>,
    pub tags: Option<Vec<String>>,
}

/// What a health probe found.
#[derive(Debug, Clone)]
pub struct SourceHealth {
    pub status: i64,
    pub stream_path: Option<String>,
    pub image: Option<String>,
    pub quality: Vec<String>,
    /// New `scene_recommend` tags; `None` keeps the stored ones (recommendations are computed
    /// far less often than the health is probed).
    pub scene_recommend: Option<Vec<String>>,
}

const SOURCE_COLUMNS: &str = "id, project_id, name, access_type, source_type, type_config, password_sealed, latitude, \
     longitude, tags, status, stream_path, image, quality, scene_recommend, create_at, modify_at";

/// The same columns with an empty `image`: list calls never load the snapshots.
const LIST_COLUMNS: &str = "id, project_id, name, access_type, source_type, type_config, password_sealed, latitude, \
     longitude, tags, status, stream_path, '' AS image, quality, scene_recommend, create_at, modify_at";

fn source(r: &AnyRow) -> Result<SourceRecord, StoreError> {
    Ok(SourceRecord {
        id: s(r, "id")?,
        project_id: s(r, "project_id")?,
        name: s(r, "name")?,
        access_type: s(r, "access_type")?,
        source_type: s(r, "source_type")?,
        type_config: s(r, "type_config")?,
        password_sealed: opt_s(r, "password_sealed")?,
        latitude: s(r, "latitude")?,
        longitude: s(r, "longitude")?,
        tags: string_list(r, "tags")?,
        status: i(r, "status")?,
        stream_path: s(r, "stream_path")?,
        image: s(r, "image")?,
        quality: string_list(r, "quality")?,
        scene_recommend: string_list(r, "scene_recommend")?,
        create_at: i(r, "create_at")?,
        modify_at: i(r, "modify_at")?,
    })
}

fn dup_name(e: sqlx::Error) -> StoreError {
    let e = StoreError::Db(e);
    if e.is_unique_violation() {
        StoreError::DuplicateName("video source")
    } else {
        e
    }
}

impl Store {
    pub async fn count_sources(&self, project_id: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM video_sources WHERE project_id = $1")
            .bind(project_id)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    /// Checks that every group exists in the project and has the source's access type.
    async fn check_groups(&self, project_id: &str, access_type: &str, group_ids: &[String]) -> Result<(), StoreError> {
        for (n, gid) in group_ids.iter().enumerate() {
            let row = sqlx::query("SELECT access_type FROM video_groups WHERE project_id = $1 AND id = $2")
                .bind(project_id)
                .bind(gid)
                .fetch_optional(&self.pool)
                .await?;
            match row {
                None => return Err(StoreError::NotFound("video group")),
                Some(r) if s(&r, "access_type")? != access_type => {
                    return Err(FieldError::invalid(
                        format!("video_group_ids[{n}]"),
                        "the group's access_type differs from the source's",
                    )
                    .into())
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Inserts a source and its memberships; enforces the per-project quota (atomically, see
    /// `quota.rs`) and unique names.
    pub async fn create_source(&self, new: NewSource, quota: i64) -> Result<String, StoreError> {
        if self.name_taken("video_sources", &new.project_id, &new.name, "").await? {
            return Err(StoreError::DuplicateName("video source"));
        }
        self.check_groups(&new.project_id, &new.access_type, &new.group_ids)
            .await?;
        let id = vigil_core::ids::new_resource_id();
        let now = now_ms();
        let mut tx = self.quota_tx(&new.project_id).await?;
        crate::quota::check(&mut tx, "video_sources", &new.project_id, 1, "video sources", quota).await?;
        sqlx::query(&format!(
            "INSERT INTO video_sources ({SOURCE_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,2,$11,'','[]','[]',$12,$12)"
        ))
        .bind(&id)
        .bind(&new.project_id)
        .bind(&new.name)
        .bind(&new.access_type)
        .bind(&new.source_type)
        .bind(&new.type_config)
        .bind(new.password_sealed.clone())
        .bind(&new.latitude)
        .bind(&new.longitude)
        .bind(to_json_list(&new.tags))
        .bind(&new.stream_path)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(dup_name)?;
        let mut seen = Vec::new();
        for gid in &new.group_ids {
            if seen.contains(gid) {
                continue;
            }
            seen.push(gid.clone());
            sqlx::query("INSERT INTO video_group_members (group_id, source_id) VALUES ($1, $2)")
                .bind(gid)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Sources of a project (all, or the one with `only_id`) with groups, counters and templates.
    /// Only the single-source form carries the snapshot (`image`).
    async fn source_details(&self, project_id: &str, only_id: Option<&str>) -> Result<Vec<SourceDetail>, StoreError> {
        let rows = match only_id {
            Some(id) => {
                sqlx::query(&format!(
                    "SELECT {SOURCE_COLUMNS} FROM video_sources WHERE project_id = $1 AND id = $2"
                ))
                .bind(project_id)
                .bind(id)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {LIST_COLUMNS} FROM video_sources WHERE project_id = $1"
                ))
                .bind(project_id)
                .fetch_all(&self.pool)
                .await?
            }
        };
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let groups: HashMap<String, GroupRecord> = self
            .list_groups(project_id)
            .await?
            .into_iter()
            .map(|g| (g.id.clone(), g))
            .collect();
        let mut members: HashMap<String, Vec<GroupRecord>> = HashMap::new();
        let mrows = sqlx::query(
            "SELECT m.group_id, m.source_id FROM video_group_members m JOIN video_groups g ON g.id = m.group_id \
             WHERE g.project_id = $1 ORDER BY g.create_at",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        for m in &mrows {
            if let Some(g) = groups.get(&s(m, "group_id")?) {
                members.entry(s(m, "source_id")?).or_default().push(g.clone());
            }
        }
        let mut tasks: HashMap<String, i64> = HashMap::new();
        let trows = sqlx::query(
            "SELECT video_source_id, COUNT(*) AS n FROM tasks WHERE project_id = $1 AND video_source_id IS NOT NULL \
             GROUP BY video_source_id",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        for t in &trows {
            tasks.insert(s(t, "video_source_id")?, i(t, "n")?);
        }
        // A template's `numTask`: tasks of that algorithm on that source.
        let mut per_service: HashMap<(String, String), i64> = HashMap::new();
        let srows = sqlx::query(
            "SELECT video_source_id, service_name, COUNT(*) AS n FROM tasks WHERE project_id = $1 \
             AND video_source_id IS NOT NULL GROUP BY video_source_id, service_name",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        for r in &srows {
            per_service.insert((s(r, "video_source_id")?, s(r, "service_name")?), i(r, "n")?);
        }
        let mut templates: HashMap<String, Vec<TemplateRecord>> = HashMap::new();
        let prows = sqlx::query(
            "SELECT t.source_id, t.name, t.roi, t.service_config, t.create_at, t.modify_at \
             FROM source_templates t JOIN video_sources v ON v.id = t.source_id WHERE v.project_id = $1 ORDER BY t.create_at",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        for p in &prows {
            let (source_id, name) = (s(p, "source_id")?, s(p, "name")?);
            let num_task = per_service
                .get(&(source_id.clone(), name.clone()))
                .copied()
                .unwrap_or(0);
            templates.entry(source_id).or_default().push(TemplateRecord {
                name,
                roi: s(p, "roi")?,
                service_config: s(p, "service_config")?,
                num_task,
                create_at: i(p, "create_at")?,
                modify_at: i(p, "modify_at")?,
            });
        }
        rows.iter()
            .map(|r| {
                let src = source(r)?;
                Ok(SourceDetail {
                    groups: members.remove(&src.id).unwrap_or_default(),
                    num_tasks: tasks.get(&src.id).copied().unwrap_or(0),
                    templates: templates.remove(&src.id).unwrap_or_default(),
                    source: src,
                })
            })
            .collect()
    }

    pub async fn get_source(&self, project_id: &str, id: &str) -> Result<SourceDetail, StoreError> {
        self.source_details(project_id, Some(id))
            .await?
            .pop()
            .ok_or(StoreError::NotFound("video source"))
    }

    /// The prober's latest snapshot of a source (base64 JPEG): `NotFound("video source")` for an
    /// unknown id (or another project's), `Ok(None)` while no snapshot was taken. Reads only this
    /// one column, so the console can fetch each list row's picture cheaply.
    pub async fn source_snapshot(&self, project_id: &str, id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT image FROM video_sources WHERE project_id = $1 AND id = $2")
            .bind(project_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound("video source"))?;
        Ok(opt_s(&row, "image")?.filter(|b64| !b64.is_empty()))
    }

    /// Every source of the project, without snapshots (`image` is empty).
    pub async fn list_sources(&self, project_id: &str) -> Result<Vec<SourceDetail>, StoreError> {
        self.source_details(project_id, None).await
    }

    pub async fn update_source(&self, project_id: &str, id: &str, up: SourceUpdate) -> Result<(), StoreError> {
        let cur = self.get_source(project_id, id).await?.source;
        if self.name_taken("video_sources", project_id, &up.name, id).await? {
            return Err(StoreError::DuplicateName("video source"));
        }
        let (type_config, password, stream_path) = match up.type_config {
            Some((xml, sealed, path)) => (xml, sealed.or(cur.password_sealed), path),
            None => (cur.type_config, cur.password_sealed, cur.stream_path),
        };
        sqlx::query(
            "UPDATE video_sources SET name = $1, latitude = $2, longitude = $3, type_config = $4, password_sealed = $5, \
             stream_path = $6, tags = $7, modify_at = $8 WHERE project_id = $9 AND id = $10",
        )
        .bind(&up.name)
        .bind(up.latitude.unwrap_or(cur.latitude))
        .bind(up.longitude.unwrap_or(cur.longitude))
        .bind(type_config)
        .bind(password)
        .bind(stream_path)
        .bind(to_json_list(&up.tags.unwrap_or(cur.tags)))
        .bind(now_ms())
        .bind(project_id)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(dup_name)?;
        Ok(())
    }

    /// Deletes a source and its memberships and templates; refused while tasks use it.
    pub async fn delete_source(&self, project_id: &str, id: &str) -> Result<(), StoreError> {
        let detail = self.get_source(project_id, id).await?;
        if detail.num_tasks > 0 {
            return Err(StoreError::InUse(format!(
                "video source {id} is used by {} task(s); delete them first",
                detail.num_tasks
            )));
        }
        let mut tx = self.pool.begin().await?;
        for sql in [
            "DELETE FROM video_group_members WHERE source_id = $1",
            "DELETE FROM source_templates WHERE source_id = $1",
            "DELETE FROM video_sources WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every source of every project, for the health prober: (id, source type, masked
    /// type_config, sealed password); without snapshots.
    pub async fn all_sources(&self) -> Result<Vec<SourceRecord>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {LIST_COLUMNS} FROM video_sources ORDER BY create_at"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(source).collect()
    }

    /// Records what the health prober saw and returns the quality labels stored before (so the
    /// caller can tell a label change); `None` for unknown ids (deleted meanwhile), which are
    /// otherwise ignored.
    pub async fn set_source_health(&self, id: &str, h: SourceHealth) -> Result<Option<Vec<String>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let Some(row) = sqlx::query("SELECT quality FROM video_sources WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let previous = string_list(&row, "quality")?;
        sqlx::query(
            "UPDATE video_sources SET status = $1, stream_path = COALESCE($2, stream_path), image = COALESCE($3, image), \
             quality = $4, scene_recommend = COALESCE($5, scene_recommend) WHERE id = $6",
        )
        .bind(h.status)
        .bind(h.stream_path)
        .bind(h.image)
        .bind(to_json_list(&h.quality))
        .bind(h.scene_recommend.as_deref().map(to_json_list))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(previous))
    }
}
