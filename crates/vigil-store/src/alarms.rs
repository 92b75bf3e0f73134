//! Alarms: the one write of the alarm path (event center row + outbox rows in one transaction)
//! and the event-center queries behind Vigil's alarm extension API.

use sqlx::{Any, Row};
use vigil_core::alarm::{Alarm, AlarmOutputs};

use crate::alarm_counts::{counted_total, CountDeltas};
use crate::alarm_pictures::{insert_pictures, NewPicture};
use crate::rows::{i, opt_s, s, ReadRow};
use crate::sql_filter::{bind_args, Arg};
use crate::{now_ms, Store, StoreError};

/// One stored alarm of the event center; `envelope` has no picture.
#[derive(Debug, Clone)]
pub struct AlarmRecord {
    pub project_id: String,
    pub video_source_id: Option<String>,
    pub created_at: i64,
    pub has_image: bool,
    /// Epoch seconds of the alarm (`envelope.timestamp`), the first key of the list order.
    pub alarm_time: i64,
    pub envelope: Alarm,
    /// `none` | `pending` | `approved` | `rejected` (event rules, manual review).
    pub review_state: String,
    /// Alarms folded into this row by duplicate aggregation, itself included.
    pub aggregate_count: i64,
    /// Epoch seconds of the newest alarm folded into this row (its own time when none was).
    pub last_alarm_time: i64,
}

/// Review states of the event center's alarms.
pub const REVIEW_STATES: &[&str] = &["none", "pending", "approved", "rejected"];

/// Filters of `list_alarms`; times are epoch seconds, both ends inclusive.
#[derive(Debug, Clone, Default)]
pub struct AlarmFilter {
    pub task_id: Option<String>,
    pub video_source_id: Option<String>,
    pub event_type: Option<u64>,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    /// One of [`REVIEW_STATES`].
    pub review_state: Option<String>,
    /// `list_alarms` starts after this alarm (keyset paging); `offset` then skips from there.
    pub marker: Option<AlarmMarker>,
    pub offset: i64,
    pub limit: i64,
}

/// A position in the list order `alarm_time DESC, created_at DESC, message_id`: the keys of the
/// last alarm of a page. The next page is everything after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmMarker {
    pub alarm_time: i64,
    pub created_at: i64,
    pub message_id: String,
}

impl AlarmMarker {
    fn of(r: &AlarmRecord) -> Self {
        Self {
            alarm_time: r.alarm_time,
            created_at: r.created_at,
            message_id: r.envelope.message_id.clone(),
        }
    }
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
    /// Matches before pagination (the marker and offset do not change it).
    pub total: i64,
    /// Newest first.
    pub alarms: Vec<AlarmRecord>,
    /// The marker of the next page; `None` when no alarm follows this page.
    pub next: Option<AlarmMarker>,
}

/// Everything past the u64 → BIGINT boundary: VIAS values fit, anything larger is refused.
fn to_i64(what: &'static str, v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Invalid(vigil_core::FieldError::invalid(what, "is too large")))
}

/// The columns `record` reads.
const RECORD_COLS: &str = "project_id, video_source_id, created_at, alarm_time, envelope, review_state, \
     aggregate_count, COALESCE(last_alarm_time, alarm_time) AS last_time, has_image";

/// The list order; the `alarms_list*` indexes of migration 0010 have these columns in this order.
const LIST_ORDER: &str = "alarm_time DESC, created_at DESC, message_id";

/// The WHERE clause of a project's alarms matching the filter fields of `f` (not its paging),
/// built from fixed fragments only; every value is a bind parameter (`$1` is the project).
pub(crate) fn alarm_where(project_id: &str, f: &AlarmFilter) -> Result<(String, Vec<Arg>), StoreError> {
    let mut cond = String::from("project_id = $1");
    let mut args = vec![Arg::S(project_id.to_string())];
    let mut add = |col: &str, op: &str, v: Arg| {
        args.push(v);
        cond += &format!(" AND {col} {op} ${}", args.len());
    };
    if let Some(v) = &f.task_id {
        add("task_id", "=", Arg::S(v.clone()));
    }
    if let Some(v) = &f.video_source_id {
        add("video_source_id", "=", Arg::S(v.clone()));
    }
    if let Some(v) = f.event_type {
        add("event_type", "=", Arg::I(to_i64("event_type", v)?));
    }
    if let Some(v) = f.start_time {
        add("alarm_time", ">=", Arg::I(v));
    }
    if let Some(v) = f.end_time {
        add("alarm_time", "<=", Arg::I(v));
    }
    if let Some(v) = &f.review_state {
        add("review_state", "=", Arg::S(v.clone()));
    }
    Ok((cond, args))
}

/// Longest aggregation key stored as is; longer ones (huge polygon names) are hashed.
const KEY_MAX: usize = 200;

/// The duplicate-aggregation key of an alarm: its task and event type plus the target — the
/// first event's `detection_id` (track), else `data.detection_id`, else the first event's
/// `polygon_name` (region), else the stream.
pub fn aggregate_key(alarm: &Alarm) -> String {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let present = |v: Option<&serde_json::Value>| v.filter(|v| !v.is_null()).map(text);
    let first = alarm.data.get("event_set").and_then(|e| e.get(0));
    let target = present(first.and_then(|e| e.get("detection_id")))
        .or_else(|| present(alarm.data.get("detection_id")))
        .map(|d| format!("track:{d}"))
        .or_else(|| present(first.and_then(|e| e.get("polygon_name"))).map(|p| format!("region:{p}")))
        .unwrap_or_else(|| format!("stream:{}", alarm.stream_id));
    let key = format!("{}|{}|{target}", alarm.task_id, alarm.event_type);
    if key.len() <= KEY_MAX {
        return key;
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(key.as_bytes());
    format!(
        "sha256:{}",
        digest.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// Folds an alarm at `alarm_time` into the newest row of `key` whose first alarm is at most
/// `window_s` older; false when there is none.
async fn fold_into_recent(
    tx: &mut sqlx::Transaction<'_, Any>,
    project_id: &str,
    key: &str,
    alarm_time: i64,
    window_s: i64,
) -> Result<bool, StoreError> {
    let n = sqlx::query(
        "UPDATE alarms SET aggregate_count = aggregate_count + 1, last_alarm_time = CASE \
         WHEN COALESCE(last_alarm_time, alarm_time) > $4 THEN COALESCE(last_alarm_time, alarm_time) ELSE $4 END \
         WHERE message_id = (SELECT message_id FROM alarms WHERE project_id = $1 AND aggregate_key = $2 \
         AND alarm_time >= $3 AND alarm_time <= $4 ORDER BY alarm_time DESC, created_at DESC LIMIT 1)",
    )
    .bind(project_id)
    .bind(key)
    .bind(alarm_time.saturating_sub(window_s))
    .bind(alarm_time)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n > 0)
}

fn record(r: &impl ReadRow) -> Result<AlarmRecord, StoreError> {
    let envelope: Alarm =
        serde_json::from_str(&s(r, "envelope")?).map_err(|e| StoreError::Corrupt(format!("alarm envelope: {e}")))?;
    Ok(AlarmRecord {
        project_id: s(r, "project_id")?,
        video_source_id: opt_s(r, "video_source_id")?,
        created_at: i(r, "created_at")?,
        has_image: i(r, "has_image")? != 0,
        alarm_time: i(r, "alarm_time")?,
        envelope,
        review_state: s(r, "review_state")?,
        aggregate_count: i(r, "aggregate_count")?,
        last_alarm_time: i(r, "last_time")?,
    })
}

impl Store {
    /// Records a new alarm: the event-center row when `outputs.event_center` is on and one outbox
    /// row per external output, all in one transaction, so an alarm is either fully queued or not
    /// at all. Delivery happens later, in the dispatcher; this never waits on a receiver.
    ///
    /// The project's event rules apply to the event-center row: with aggregation on, a repeat of
    /// a recent alarm of the same target only bumps that row's count (the external outputs still
    /// get it; aggregation is an event-center feature); with manual review on, the row waits as
    /// `pending`; otherwise it is queued to the project's subscribers at once.
    /// Returns the number of outbox rows written.
    pub async fn enqueue_alarm(
        &self,
        alarm: &Alarm,
        project_id: &str,
        video_source_id: Option<&str>,
        outputs: &AlarmOutputs,
    ) -> Result<usize, StoreError> {
        let now = now_ms();
        // Refused before anything is written, whatever the outputs.
        to_i64("event_type", alarm.event_type)?;
        let alarm_time = to_i64("timestamp", alarm.timestamp)?;
        let targets = outputs.targets();
        let payload = alarm.to_json();
        let mut tx = self.pool.begin().await?;
        let mut pushes = 0;
        let mut counts = CountDeltas::default();
        if outputs.event_center {
            if self.backend == crate::Backend::Sqlite {
                // The rules are read before the first write: take SQLite's write lock first, or a
                // write committed in between (an outbox ack) fails this one at once ("locked").
                sqlx::query("UPDATE event_rules SET updated_at = updated_at WHERE project_id = $1")
                    .bind(project_id)
                    .execute(&mut *tx)
                    .await?;
            }
            let rules = crate::event_center::rules_in(&mut tx, project_id).await?;
            let key = rules.aggregation.then(|| aggregate_key(alarm));
            let folded = match &key {
                Some(k) => fold_into_recent(&mut tx, project_id, k, alarm_time, rules.aggregation_window_s).await?,
                None => false,
            };
            if !folded {
                self.insert_alarm_row(&mut tx, alarm, project_id, video_source_id, &rules, key, now)
                    .await?;
                let review = if rules.manual_review { "pending" } else { "none" };
                counts.add(
                    project_id,
                    &alarm.task_id,
                    video_source_id,
                    to_i64("event_type", alarm.event_type)?,
                    review,
                    alarm_time,
                    1,
                );
                if !rules.manual_review {
                    pushes = crate::event_subscribers::queue_subscriber_pushes(
                        &mut tx,
                        project_id,
                        video_source_id,
                        &alarm.task_id,
                        &alarm.message_id,
                        &payload,
                        now,
                    )
                    .await?;
                }
            }
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
        // Last, so the project's counter rows stay locked only for the commit.
        counts.apply(&mut tx).await?;
        tx.commit().await?;
        Ok(targets.len() + pushes)
    }

    /// The new event-center row of `enqueue_alarm` and its picture (counted by the caller).
    #[allow(clippy::too_many_arguments)]
    async fn insert_alarm_row(
        &self,
        tx: &mut sqlx::Transaction<'_, Any>,
        alarm: &Alarm,
        project_id: &str,
        video_source_id: Option<&str>,
        rules: &crate::event_center::EventRules,
        aggregate_key: Option<String>,
        now: i64,
    ) -> Result<(), StoreError> {
        let event_type = to_i64("event_type", alarm.event_type)?;
        let alarm_time = to_i64("timestamp", alarm.timestamp)?;
        sqlx::query(
            "INSERT INTO alarms (message_id, project_id, task_id, stream_id, video_source_id, event_type, \
                 alarm_time, created_at, envelope, has_image, review_state, aggregate_key, aggregate_count, \
                 last_alarm_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $7)",
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
        .bind(i64::from(alarm.image_base64.is_some()))
        .bind(if rules.manual_review { "pending" } else { "none" })
        .bind(aggregate_key)
        .execute(&mut **tx)
        .await?;
        if let Some(b64) = &alarm.image_base64 {
            insert_pictures(tx, project_id, &[(&alarm.message_id, now, b64)]).await?;
        }
        Ok(())
    }

    /// Event-center alarms of a project, newest first (`alarm_time DESC, created_at DESC,
    /// message_id`), with the total before pagination. A page starts after `f.marker` (a seek on
    /// the index, as cheap deep as shallow), then skips `f.offset` rows.
    pub async fn list_alarms(&self, project_id: &str, f: &AlarmFilter) -> Result<AlarmPage, StoreError> {
        let (mut cond, mut args) = alarm_where(project_id, f)?;
        let total = self.count_alarms(project_id, f, &cond, &args).await?;
        if let Some(m) = &f.marker {
            let n = args.len();
            let (t, c, id) = (n + 1, n + 2, n + 3);
            args.extend([Arg::I(m.alarm_time), Arg::I(m.created_at), Arg::S(m.message_id.clone())]);
            // The leading `alarm_time <= t` is implied by the rest; it lets both planners seek.
            cond += &format!(
                " AND alarm_time <= ${t} AND (alarm_time < ${t} OR (alarm_time = ${t} AND \
                 (created_at < ${c} OR (created_at = ${c} AND message_id > ${id}))))"
            );
        }
        let limit = f.limit.max(0);
        // One row more than the page tells whether another page follows.
        let list_sql = format!(
            "SELECT {RECORD_COLS} FROM alarms WHERE {cond} ORDER BY {LIST_ORDER} LIMIT {} OFFSET {}",
            limit + 1,
            f.offset.max(0)
        );
        let mut alarms: Vec<AlarmRecord> = match &self.list_reads {
            Some(reads) => bind_args(sqlx::query(&list_sql), &args)
                .fetch_all(reads)
                .await?
                .iter()
                .map(record)
                .collect::<Result<_, _>>()?,
            None => bind_args(sqlx::query(&list_sql), &args)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(record)
                .collect::<Result<_, _>>()?,
        };
        let more = alarms.len() as i64 > limit;
        alarms.truncate(limit as usize);
        let next = if more { alarms.last().map(AlarmMarker::of) } else { None };
        Ok(AlarmPage { total, alarms, next })
    }

    /// How many alarms match `f`: the hourly counters for no filter or one id filter, with or
    /// without a time range (plus an exact count of a range's partial end hours), else an exact
    /// COUNT(*) over the index of the filter (its cost grows with the matches).
    async fn count_alarms(
        &self,
        project_id: &str,
        f: &AlarmFilter,
        cond: &str,
        args: &[Arg],
    ) -> Result<i64, StoreError> {
        let ids_only = AlarmFilter {
            start_time: None,
            end_time: None,
            ..f.clone()
        };
        let (id_cond, id_args) = alarm_where(project_id, &ids_only)?;
        let (sql, args) = counted_total(f, &id_cond, &id_args)
            .unwrap_or_else(|| (format!("SELECT COUNT(*) FROM alarms WHERE {cond}"), args.to_vec()));
        Ok(match &self.list_reads {
            Some(reads) => bind_args(sqlx::query(&sql), &args).fetch_one(reads).await?.try_get(0)?,
            None => bind_args(sqlx::query(&sql), &args)
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?,
        })
    }

    /// Bulk-loads event-center alarms of a project (seeding, imports) in one transaction, several
    /// hundred rows per statement; each keeps its own `created_at`. No outbox rows are written.
    pub async fn import_alarms(&self, project_id: &str, alarms: &[ImportedAlarm]) -> Result<(), StoreError> {
        // 10 bind parameters per row, far below SQLite's and PostgreSQL's limits.
        const ROWS: usize = 250;
        let mut counts = CountDeltas::default();
        let mut pictures: Vec<NewPicture> = Vec::new();
        for a in alarms {
            let event_type = to_i64("event_type", a.alarm.event_type)?;
            let source = a.video_source_id.as_deref();
            let alarm_time = to_i64("timestamp", a.alarm.timestamp)?;
            counts.add(project_id, &a.alarm.task_id, source, event_type, "none", alarm_time, 1);
            if let Some(b64) = &a.alarm.image_base64 {
                pictures.push((&a.alarm.message_id, a.created_at, b64));
            }
        }
        let mut tx = self.pool.begin().await?;
        for chunk in alarms.chunks(ROWS) {
            let mut sql = String::from(
                "INSERT INTO alarms (message_id, project_id, task_id, stream_id, video_source_id, event_type, \
                 alarm_time, created_at, envelope, has_image) VALUES ",
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
                    .bind(i64::from(a.alarm.image_base64.is_some()));
            }
            q.execute(&mut *tx).await?;
        }
        insert_pictures(&mut tx, project_id, &pictures).await?;
        counts.apply(&mut tx).await?;
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
            "SELECT {RECORD_COLS} FROM alarms WHERE {cond} ORDER BY created_at, message_id LIMIT {}",
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
        let row = sqlx::query(
            "SELECT p.image_base64 FROM alarms a LEFT JOIN alarm_pictures p ON p.message_id = a.message_id \
             WHERE a.project_id = $1 AND a.message_id = $2",
        )
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
