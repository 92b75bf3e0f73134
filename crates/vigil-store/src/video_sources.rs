//! Video sources: rows, group membership, task and template counters, health.

use std::collections::HashMap;

use rand::Rng;
use sqlx::Row;
use vigil_core::FieldError;

use crate::rows::{i, opt_s, s, string_list, to_json_list, ReadRow};
use crate::video_groups::GroupRecord;
use crate::{now_ms, Backend, Store, StoreError};

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

/// A scalar subquery: the project's (`$1`) sources, from the counter slots the creates and
/// deletes keep.
pub(crate) const PROJECT_SOURCES: &str =
    "COALESCE((SELECT CAST(SUM(n) AS BIGINT) FROM project_source_counts WHERE project_id = $1), 0)";

/// Rows a project's source counter is split into on PostgreSQL. Each create bumps one slot at
/// random and its row lock is held until the commit (which waits for the WAL flush); with one
/// row, a project's creates queued on that lock one flush at a time. SQLite has one writer
/// anyway, so there it is one row.
const PG_COUNT_SLOTS: i64 = 16;

/// The columns of an insert; `image` is always '' (snapshots live in `source_snapshots`).
const SOURCE_COLUMNS: &str = "id, project_id, name, access_type, source_type, type_config, password_sealed, latitude, \
     longitude, tags, status, stream_path, image, quality, scene_recommend, create_at, modify_at";

/// The columns `source` reads, with the snapshot from its own table (detail calls only).
const DETAIL_COLUMNS: &str = "id, project_id, name, access_type, source_type, type_config, password_sealed, latitude, \
     longitude, tags, status, stream_path, \
     COALESCE((SELECT p.image FROM source_snapshots p WHERE p.source_id = video_sources.id), '') AS image, \
     quality, scene_recommend, create_at, modify_at";

/// The same columns with an empty `image`: list calls never load the snapshots.
pub(crate) const LIST_COLUMNS: &str =
    "id, project_id, name, access_type, source_type, type_config, password_sealed, latitude, \
     longitude, tags, status, stream_path, '' AS image, quality, scene_recommend, create_at, modify_at";

pub(crate) fn source(r: &impl ReadRow) -> Result<SourceRecord, StoreError> {
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
    /// Sources of the project, from the per-project counter the creates and deletes keep.
    pub async fn count_sources(&self, project_id: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query(&format!("SELECT {PROJECT_SOURCES} AS n"))
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

    /// Inserts a source and its memberships; enforces the per-project quota exactly and unique
    /// names.
    ///
    /// The quota without a project-wide lock: the create bumps one counter slot and then reads
    /// the sum. Every create still in flight holds a different slot, so at most `slots - 1` of
    /// them are not in that sum: while `sum + slots - 1 <= quota` no interleaving can pass the
    /// quota. Nearer to it, the create starts again holding every slot, which waits for the
    /// creates in flight and keeps new ones out, and counts exactly.
    pub async fn create_source(&self, new: NewSource, quota: i64) -> Result<String, StoreError> {
        if self.name_taken("video_sources", &new.project_id, &new.name, "").await? {
            return Err(StoreError::DuplicateName("video source"));
        }
        self.check_groups(&new.project_id, &new.access_type, &new.group_ids)
            .await?;
        let id = vigil_core::ids::new_resource_id();
        let now = now_ms();
        let quota_error = StoreError::Quota {
            what: "video sources",
            limit: quota,
        };
        if quota < 1 {
            return Err(quota_error);
        }
        let slots = self.count_slots();
        let mut tx = self.pool.begin().await?;
        insert_source(&mut tx, &id, &new, now).await?;
        // The counter last: its slot's row lock is held until the commit, so the inserts above
        // run outside it.
        let slot = rand::thread_rng().gen_range(0..slots);
        add_to_project_count(&mut tx, &new.project_id, slot, 1).await?;
        let total: i64 = sqlx::query(&format!("SELECT {PROJECT_SOURCES}"))
            .bind(&new.project_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        if total + slots - 1 <= quota {
            tx.commit().await?;
            return Ok(id);
        }
        tx.rollback().await?;
        if slots == 1 {
            return Err(quota_error);
        }
        // Near the quota (PostgreSQL): every slot row exists and is held before counting. The
        // source row goes first, as above: a create of the same name waits on it before this
        // one holds any slot, never while holding one (that would deadlock).
        let mut tx = self.pool.begin().await?;
        insert_source(&mut tx, &id, &new, now).await?;
        let rows = (0..slots)
            .map(|s| format!("($1, {s}, 0)"))
            .collect::<Vec<_>>()
            .join(", ");
        sqlx::query(&format!(
            "INSERT INTO project_source_counts (project_id, slot, n) VALUES {rows} ON CONFLICT DO NOTHING"
        ))
        .bind(&new.project_id)
        .execute(&mut *tx)
        .await?;
        let held = sqlx::query("SELECT n FROM project_source_counts WHERE project_id = $1 ORDER BY slot FOR UPDATE")
            .bind(&new.project_id)
            .fetch_all(&mut *tx)
            .await?;
        let total = held.iter().map(|r| r.try_get::<i64, _>(0)).sum::<Result<i64, _>>()?;
        if total >= quota {
            return Err(quota_error);
        }
        add_to_project_count(&mut tx, &new.project_id, 0, 1).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Counter slots of a project's sources (see [`PG_COUNT_SLOTS`]).
    fn count_slots(&self) -> i64 {
        match self.backend {
            Backend::Postgres => PG_COUNT_SLOTS,
            Backend::Sqlite => 1,
        }
    }

    /// One source with its snapshot, groups, task count and templates.
    pub async fn get_source(&self, project_id: &str, id: &str) -> Result<SourceDetail, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {DETAIL_COLUMNS} FROM video_sources WHERE project_id = $1 AND id = $2"
        ))
        .bind(project_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound("video source"))?;
        let src = source(&row)?;
        // A template's `numTask`: tasks of that algorithm on this source.
        let mut per_service: HashMap<String, i64> = HashMap::new();
        let srows = sqlx::query(
            "SELECT service_name, COUNT(*) AS n FROM tasks WHERE video_source_id = $1 GROUP BY service_name",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        for r in &srows {
            per_service.insert(s(r, "service_name")?, i(r, "n")?);
        }
        let prows = sqlx::query(
            "SELECT name, roi, service_config, create_at, modify_at FROM source_templates WHERE source_id = $1 \
             ORDER BY create_at, name",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let templates = prows
            .iter()
            .map(|p| {
                let name = s(p, "name")?;
                Ok(TemplateRecord {
                    num_task: per_service.get(&name).copied().unwrap_or(0),
                    roi: s(p, "roi")?,
                    service_config: s(p, "service_config")?,
                    create_at: i(p, "create_at")?,
                    modify_at: i(p, "modify_at")?,
                    name,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let groups = self
            .source_groups(project_id, std::slice::from_ref(&src.id))
            .await?
            .remove(&src.id)
            .unwrap_or_default();
        Ok(SourceDetail {
            groups,
            num_tasks: per_service.values().sum(),
            templates,
            source: src,
        })
    }

    /// The prober's latest snapshot of a source (base64 JPEG): `NotFound("video source")` for an
    /// unknown id (or another project's), `Ok(None)` while no snapshot was taken. Reads only this
    /// one column, so the console can fetch each list row's picture cheaply.
    pub async fn source_snapshot(&self, project_id: &str, id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT p.image FROM video_sources v LEFT JOIN source_snapshots p ON p.source_id = v.id \
             WHERE v.project_id = $1 AND v.id = $2",
        )
        .bind(project_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound("video source"))?;
        Ok(opt_s(&row, "image")?.filter(|b64| !b64.is_empty()))
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
            "DELETE FROM source_snapshots WHERE source_id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        let gone = sqlx::query("DELETE FROM video_sources WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if gone > 0 {
            let slot = rand::thread_rng().gen_range(0..self.count_slots());
            add_to_project_count(&mut tx, project_id, slot, -(gone as i64)).await?;
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
            "UPDATE video_sources SET status = $1, stream_path = COALESCE($2, stream_path), \
             quality = $3, scene_recommend = COALESCE($4, scene_recommend) WHERE id = $5",
        )
        .bind(h.status)
        .bind(h.stream_path)
        .bind(to_json_list(&h.quality))
        .bind(h.scene_recommend.as_deref().map(to_json_list))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if let Some(image) = h.image {
            sqlx::query(
                "INSERT INTO source_snapshots (source_id, image) VALUES ($1, $2) \
                 ON CONFLICT (source_id) DO UPDATE SET image = excluded.image",
            )
            .bind(id)
            .bind(image)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Some(previous))
    }
}

/// The counters of a source that other tables' writes keep (migration 0008).
#[derive(Debug, Clone, Copy)]
pub(crate) enum SourceCounter {
    /// `num_tasks`: tasks on the source.
    Tasks,
    /// `num_templates`: its service configuration templates.
    Templates,
}

/// Adds `delta` to a counter of the source `id`, inside the transaction that adds or removes
/// the counted rows (a relative update, so concurrent writers never lose a count).
pub(crate) async fn add_to_counter(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    counter: SourceCounter,
    id: &str,
    delta: i64,
) -> Result<(), StoreError> {
    let sql = match counter {
        SourceCounter::Tasks => "UPDATE video_sources SET num_tasks = num_tasks + $1 WHERE id = $2",
        SourceCounter::Templates => "UPDATE video_sources SET num_templates = num_templates + $1 WHERE id = $2",
    };
    sqlx::query(sql).bind(delta).bind(id).execute(&mut **tx).await?;
    Ok(())
}

/// The source's row and its group memberships, in the create's transaction.
async fn insert_source(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
    new: &NewSource,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO video_sources ({SOURCE_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,2,$11,'','[]','[]',$12,$12)"
    ))
    .bind(id)
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
    .execute(&mut **tx)
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
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Adds `delta` to one counter slot of the project's sources (the row is made on first use).
async fn add_to_project_count(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    project_id: &str,
    slot: i64,
    delta: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO project_source_counts (project_id, slot, n) VALUES ($1, $2, $3) \
         ON CONFLICT (project_id, slot) DO UPDATE SET n = project_source_counts.n + $3",
    )
    .bind(project_id)
    .bind(slot)
    .bind(delta)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
