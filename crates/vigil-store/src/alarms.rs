//! Alarms: the one write of the alarm path (event center row + outbox rows in one transaction)
//! and the event-center queries behind Vigil's alarm extension API.

use sqlx::any::AnyRow;
use sqlx::Row;
use vigil_core::alarm::{Alarm, AlarmOutputs};

use crate::rows::{i, opt_s, s};
use crate::{now_ms, Store, StoreError};

/// One stored alarm of the event center; `envelope` has no picture.
#[derive(Debug, Clone)]
pub struct AlarmRecord {
    pub project_id: String,
    pub video_source_id: Option<String>,
    pub created_at: i64,
    pub has_image: bool,
    pub envelope: Alarm,
}

/// Filters of `list_alarms`; times are epoch seconds, both ends inclusive.
#[derive(Debug, Clone, Default)]
pub struct AlarmFilter {
    pub task_id: Option<String>,
    pub video_source_id: Option<String>,
    pub event_type: Option<u64>,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub offset: i64,
    pub limit: i64,
}

/// One alarm of [`Store::import_alarms`]: the envelope (with its picture) and the row's extras.
#[derive(Debug, Clone)]
pub struct ImportedAlarm {
    pub alarm: Alarm,
    pub video_source_id: Option<String>,
    /// Epoch milliseconds the row was stored at.
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct AlarmPage {
    /// Matches before pagination.
    pub total: i64,
    /// Newest first.
    pub alarms: Vec<AlarmRecord>,
}

/// Everything past the u64 → BIGINT boundary: VIAS values fit, anything larger is refused.
fn to_i64(what: &'static str, v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Invalid(vigil_core::FieldError::invalid(what, "is too large")))
}

fn record(r: &AnyRow) -> Result<AlarmRecord, StoreError> {
    let envelope: Alarm =
        serde_json::from_str(&s(r, "envelope")?).map_err(|e| StoreError::Corrupt(format!("alarm envelope: {e}")))?;
    Ok(AlarmRecord {
        project_id: s(r, "project_id")?,
        video_source_id: opt_s(r, "video_source_id")?,
        created_at: i(r, "created_at")?,
        has_image: i(r, "has_image")? != 0,
        envelope,
    })
}

impl Store {
    /// Records a new alarm: the event-center row when `outputs.event_center` is on and one outbox
    /// row per external output, all in one transaction, so an alarm is either fully queued or not
    /// at all. Delivery happens later, in the dispatcher; this never waits on a receiver.
    /// Returns the number of outbox rows written.
    pub async fn enqueue_alarm(
        &self,
        alarm: &Alarm,
        project_id: &str,
        video_source_id: Option<&str>,
        outputs: &AlarmOutputs,
    ) -> Result<usize, StoreError> {
        let now = now_ms();
        let event_type = to_i64("event_type", alarm.event_type)?;
        let alarm_time = to_i64("timestamp", alarm.timestamp)?;
        let targets = outputs.targets();
        let payload = alarm.to_json();
        let mut tx = self.pool.begin().await?;
        if outputs.event_center {
            sqlx::query(
                "INSERT INTO alarms (message_id, project_id, task_id, stream_id, video_source_id, event_type, \
                 alarm_time, created_at, envelope, image_base64) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&alarm.message_id)
            .bind(project_id)
            .bind(&alarm.task_id)
            .bind(&alarm.stream_id)
            .bind(video_source_id.map(str::to_string))
            .bind(event_type)
            .bind(alarm_time)
            .bind(now)
            .bind(alarm.without_image().to_json())
            .bind(alarm.image_base64.clone())
            .execute(&mut *tx)
            .await?;
        }
        for (kind, config) in &targets {
            sqlx::query(
                "INSERT INTO outbox (id, message_id, project_id, task_id, sink, sink_config, payload, attempts, \
                 next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $8)",
            )
            .bind(vigil_core::ids::new_hex32_id())
            .bind(&alarm.message_id)
            .bind(project_id)
            .bind(&alarm.task_id)
            .bind(kind.as_str())
            .bind(config.to_string())
            .bind(&payload)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(targets.len())
    }

    /// Event-center alarms of a project, newest first, with the total before pagination.
    pub async fn list_alarms(&self, project_id: &str, f: &AlarmFilter) -> Result<AlarmPage, StoreError> {
        // Built from fixed fragments only; every value is a bind parameter.
        let mut cond = String::from("project_id = $1");
        let mut n = 1;
        let mut next = |col: &str, op: &str| {
            n += 1;
            format!(" AND {col} {op} ${n}")
        };
        if f.task_id.is_some() {
            cond += &next("task_id", "=");
        }
        if f.video_source_id.is_some() {
            cond += &next("video_source_id", "=");
        }
        if f.event_type.is_some() {
            cond += &next("event_type", "=");
        }
        if f.start_time.is_some() {
            cond += &next("alarm_time", ">=");
        }
        if f.end_time.is_some() {
            cond += &next("alarm_time", "<=");
        }
        let event_type = f.event_type.map(|e| to_i64("event_type", e)).transpose()?;
        macro_rules! bind_filters {
            ($q:expr) => {{
                let mut q = $q.bind(project_id.to_string());
                if let Some(v) = &f.task_id {
                    q = q.bind(v.clone());
                }
                if let Some(v) = &f.video_source_id {
                    q = q.bind(v.clone());
                }
                if let Some(v) = event_type {
                    q = q.bind(v);
                }
                if let Some(v) = f.start_time {
                    q = q.bind(v);
                }
                if let Some(v) = f.end_time {
                    q = q.bind(v);
                }
                q
            }};
        }
        let count_sql = format!("SELECT COUNT(*) FROM alarms WHERE {cond}");
        let total: i64 = bind_filters!(sqlx::query(&count_sql))
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let list_sql = format!(
            "SELECT project_id, video_source_id, created_at, envelope, \
             CAST(CASE WHEN image_base64 IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_image FROM alarms WHERE {cond} \
             ORDER BY alarm_time DESC, created_at DESC, message_id LIMIT {} OFFSET {}",
            f.limit.max(0),
            f.offset.max(0)
        );
        let rows = bind_filters!(sqlx::query(&list_sql)).fetch_all(&self.pool).await?;
        Ok(AlarmPage {
            total,
            alarms: rows.iter().map(record).collect::<Result<_, _>>()?,
        })
    }

    /// Bulk-loads event-center alarms of a project (seeding, imports) in one transaction, several
    /// hundred rows per statement; each keeps its own `created_at`. No outbox rows are written.
    pub async fn import_alarms(&self, project_id: &str, alarms: &[ImportedAlarm]) -> Result<(), StoreError> {
        // 10 bind parameters per row, far below SQLite's and PostgreSQL's limits.
        const ROWS: usize = 250;
        let mut tx = self.pool.begin().await?;
        for chunk in alarms.chunks(ROWS) {
            let mut sql = String::from(
                "INSERT INTO alarms (message_id, project_id, task_id, stream_id, video_source_id, event_type, \
                 alarm_time, created_at, envelope, image_base64) VALUES ",
            );
            for r in 0..chunk.len() {
                let b = r * 10;
                if r > 0 {
                    sql.push(',');
                }
                sql += &format!(
                    "(${},${},${},${},${},${},${},${},${},${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8,
                    b + 9,
                    b + 10
                );
            }
            let mut q = sqlx::query(&sql);
            for a in chunk {
                q = q
                    .bind(a.alarm.message_id.clone())
                    .bind(project_id.to_string())
                    .bind(a.alarm.task_id.clone())
                    .bind(a.alarm.stream_id.clone())
                    .bind(a.video_source_id.clone())
                    .bind(to_i64("event_type", a.alarm.event_type)?)
                    .bind(to_i64("timestamp", a.alarm.timestamp)?)
                    .bind(a.created_at)
                    .bind(a.alarm.without_image().to_json())
                    .bind(a.alarm.image_base64.clone());
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Event-center alarms of a project stored after the cursor `(created_at, message_id)`, oldest
    /// first: the live feed's poll (`after_id = ""` takes every row of `after_ms` too). Only the
    /// id filters of `f` apply (task, source, event type); times and paging are the caller's.
    pub async fn alarms_created_after(
        &self,
        project_id: &str,
        after_ms: i64,
        after_id: &str,
        f: &AlarmFilter,
        limit: i64,
    ) -> Result<Vec<AlarmRecord>, StoreError> {
        // Built from fixed fragments only; every value is a bind parameter.
        let mut cond = String::from("project_id = $1 AND (created_at > $2 OR (created_at = $2 AND message_id > $3))");
        let mut n = 3;
        for (col, on) in [
            ("task_id", f.task_id.is_some()),
            ("video_source_id", f.video_source_id.is_some()),
            ("event_type", f.event_type.is_some()),
        ] {
            if on {
                n += 1;
                cond += &format!(" AND {col} = ${n}");
            }
        }
        let sql = format!(
            "SELECT project_id, video_source_id, created_at, envelope, \
             CAST(CASE WHEN image_base64 IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_image FROM alarms WHERE {cond} \
             ORDER BY created_at, message_id LIMIT {}",
            limit.max(0)
        );
        let mut q = sqlx::query(&sql).bind(project_id).bind(after_ms).bind(after_id);
        if let Some(v) = &f.task_id {
            q = q.bind(v.clone());
        }
        if let Some(v) = &f.video_source_id {
            q = q.bind(v.clone());
        }
        if let Some(v) = f.event_type {
            q = q.bind(to_i64("event_type", v)?);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(record).collect()
    }

    /// The JPEG of an event-center alarm: `NotFound("alarm")` for an unknown id (or another
    /// project's), `Ok(None)` for an alarm without a picture.
    pub async fn get_alarm_image(&self, project_id: &str, message_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT image_base64 FROM alarms WHERE project_id = $1 AND message_id = $2")
            .bind(project_id)
            .bind(message_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound("alarm"))?;
        match opt_s(&row, "image_base64")? {
            None => Ok(None),
            Some(b64) => vigil_core::alarm::decode_image(&b64)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(format!("alarm image: {e}"))),
        }
    }
}
