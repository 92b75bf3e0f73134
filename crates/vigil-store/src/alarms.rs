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
