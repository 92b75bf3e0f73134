//! The event center's rules per project (manual review, duplicate aggregation, retention), the
//! review of pending alarms, and deleting stored alarms. `alarms.rs` applies the rules when an
//! alarm is recorded.

use sqlx::{Any, Row};
use vigil_core::alarm::Alarm;
use vigil_core::FieldError;

use crate::alarm_counts::{CountDeltas, COUNTED_COLS};
use crate::alarms::{alarm_where, AlarmFilter};
use crate::rows::{i, opt_s, s};
use crate::sql_filter::{bind_args, Arg};
use crate::{now_ms, Store, StoreError};

/// Accepted `aggregation_window_s`.
pub const AGGREGATION_WINDOW_S: std::ops::RangeInclusive<i64> = 1..=86_400;
/// Accepted `retention_days` (0: the server's `--alarm-retention-days`).
pub const RETENTION_DAYS: std::ops::RangeInclusive<i64> = 0..=3650;
/// Alarms deleted per statement (and per transaction) by the bulk deletes.
const DELETE_BATCH: i64 = 500;

/// A project's event rules; a project without a row has [`EventRules::default`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRules {
    /// New alarms wait as `pending` and reach subscribers only once approved.
    pub manual_review: bool,
    /// Repeated alarms of one target (or region) fold into the first one's row with a count.
    pub aggregation: bool,
    /// How long after a row's first alarm repeats still fold into it, seconds.
    pub aggregation_window_s: i64,
    /// Days alarms of this project are kept; 0: the server default.
    pub retention_days: i64,
}

impl Default for EventRules {
    fn default() -> Self {
        Self {
            manual_review: false,
            aggregation: false,
            aggregation_window_s: 60,
            retention_days: 0,
        }
    }
}

/// A partial update of [`EventRules`]; `None` keeps the stored value.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventRulesPatch {
    pub manual_review: Option<bool>,
    pub aggregation: Option<bool>,
    pub aggregation_window_s: Option<i64>,
    pub retention_days: Option<i64>,
}

impl EventRulesPatch {
    pub fn validate(&self) -> Result<(), FieldError> {
        if self
            .aggregation_window_s
            .is_some_and(|w| !AGGREGATION_WINDOW_S.contains(&w))
        {
            return Err(FieldError::invalid(
                "aggregation_window_s",
                "must be 1 to 86400 seconds",
            ));
        }
        if self.retention_days.is_some_and(|d| !RETENTION_DAYS.contains(&d)) {
            return Err(FieldError::invalid(
                "retention_days",
                "must be 0 (the server default) to 3650 days",
            ));
        }
        Ok(())
    }
}

/// What a review did: ids reviewed, and the ids skipped (unknown, another project's, or not
/// pending any more).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewOutcome {
    pub reviewed: usize,
    pub skipped: Vec<String>,
}

/// Which alarms a bulk delete removes.
#[derive(Debug, Clone)]
pub enum AlarmSelection {
    Ids(Vec<String>),
    /// Only the filter fields apply (offset and limit are ignored).
    Matching(AlarmFilter),
}

fn rules_of(row: Option<sqlx::any::AnyRow>) -> Result<EventRules, StoreError> {
    let Some(r) = row else {
        return Ok(EventRules::default());
    };
    Ok(EventRules {
        manual_review: i(&r, "manual_review")? != 0,
        aggregation: i(&r, "aggregation")? != 0,
        aggregation_window_s: i(&r, "aggregation_window_s")?,
        retention_days: i(&r, "retention_days")?,
    })
}

const RULES_SQL: &str =
    "SELECT manual_review, aggregation, aggregation_window_s, retention_days FROM event_rules WHERE project_id = $1";

/// The rules as read inside a transaction (`enqueue_alarm` applies them to the alarm it writes).
pub(crate) async fn rules_in(tx: &mut sqlx::Transaction<'_, Any>, project_id: &str) -> Result<EventRules, StoreError> {
    rules_of(
        sqlx::query(RULES_SQL)
            .bind(project_id)
            .fetch_optional(&mut **tx)
            .await?,
    )
}

/// Deletes these alarms of the project with their pictures and undelivered subscriber pushes
/// (pushes to webhook/OBS/DIS are left alone: they are the task's outputs, not the event
/// center's), and takes them off the counters.
async fn delete_ids(
    tx: &mut sqlx::Transaction<'_, Any>,
    project_id: Option<&str>,
    ids: &[String],
) -> Result<u64, StoreError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let first = usize::from(project_id.is_some()) + 1;
    let list = (0..ids.len())
        .map(|k| format!("${}", k + first))
        .collect::<Vec<_>>()
        .join(",");
    // `project_id || ''` keeps the planner off the project indexes: without statistics SQLite
    // took `(project_id, …)` and scanned the project's million alarms instead of the ids' keys.
    let project = if project_id.is_some() {
        "project_id || '' = $1 AND "
    } else {
        ""
    };
    let outbox =
        format!("DELETE FROM outbox WHERE {project}sink IN ('subscriber', 'subscriber_ws') AND message_id IN ({list})");
    let pictures = format!("DELETE FROM alarm_pictures WHERE {project}message_id IN ({list})");
    let alarms = format!("DELETE FROM alarms WHERE {project}message_id IN ({list}) RETURNING {COUNTED_COLS}");
    let args: Vec<Arg> = project_id
        .map(|p| Arg::S(p.to_string()))
        .into_iter()
        .chain(ids.iter().map(|id| Arg::S(id.clone())))
        .collect();
    bind_args(sqlx::query(&outbox), &args).execute(&mut **tx).await?;
    bind_args(sqlx::query(&pictures), &args).execute(&mut **tx).await?;
    // RETURNING gives each deleted row as it was when deleted (after a concurrent review).
    let gone = bind_args(sqlx::query(&alarms), &args).fetch_all(&mut **tx).await?;
    let mut counts = CountDeltas::default();
    for r in &gone {
        counts.add_row(r, -1)?;
    }
    counts.apply(tx).await?;
    Ok(gone.len() as u64)
}

impl Store {
    /// The project's rules (the defaults when it never set any).
    pub async fn event_rules(&self, project_id: &str) -> Result<EventRules, StoreError> {
        rules_of(
            sqlx::query(RULES_SQL)
                .bind(project_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Applies a partial update and returns the full rules. Two concurrent updates of different
    /// fields both take effect (each field is merged in the statement, not read-modify-write).
    pub async fn update_event_rules(
        &self,
        project_id: &str,
        patch: &EventRulesPatch,
    ) -> Result<EventRules, StoreError> {
        patch.validate().map_err(StoreError::Invalid)?;
        let d = EventRules::default();
        let flag = |b: Option<bool>| b.map(i64::from);
        sqlx::query(
            "INSERT INTO event_rules (project_id, manual_review, aggregation, aggregation_window_s, retention_days, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (project_id) DO UPDATE SET \
             manual_review = COALESCE($7, event_rules.manual_review), \
             aggregation = COALESCE($8, event_rules.aggregation), \
             aggregation_window_s = COALESCE($9, event_rules.aggregation_window_s), \
             retention_days = COALESCE($10, event_rules.retention_days), updated_at = $6",
        )
        .bind(project_id)
        .bind(i64::from(patch.manual_review.unwrap_or(d.manual_review)))
        .bind(i64::from(patch.aggregation.unwrap_or(d.aggregation)))
        .bind(patch.aggregation_window_s.unwrap_or(d.aggregation_window_s))
        .bind(patch.retention_days.unwrap_or(d.retention_days))
        .bind(now_ms())
        .bind(flag(patch.manual_review))
        .bind(flag(patch.aggregation))
        .bind(patch.aggregation_window_s)
        .bind(patch.retention_days)
        .execute(&self.pool)
        .await?;
        self.event_rules(project_id).await
    }

    /// Approves or rejects pending alarms of the project, in one transaction. An approved alarm is
    /// queued to the project's subscribers (its envelope with the picture) in the same transaction.
    pub async fn review_alarms(
        &self,
        project_id: &str,
        message_ids: &[String],
        approve: bool,
    ) -> Result<ReviewOutcome, StoreError> {
        let now = now_ms();
        let mut out = ReviewOutcome::default();
        let to = if approve { "approved" } else { "rejected" };
        let mut counts = CountDeltas::default();
        let mut tx = self.pool.begin().await?;
        for id in message_ids {
            // The state test in the WHERE makes a concurrent second review of the same alarm skip it.
            let row = sqlx::query(
                "UPDATE alarms SET review_state = $3 WHERE project_id = $1 AND message_id = $2 \
                 AND review_state = 'pending' RETURNING task_id, video_source_id, envelope, has_image, alarm_time",
            )
            .bind(project_id)
            .bind(id)
            .bind(to)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else {
                out.skipped.push(id.clone());
                continue;
            };
            out.reviewed += 1;
            counts.review_moved(project_id, i(&row, "alarm_time")?, "pending", to);
            if approve {
                let mut alarm: Alarm = serde_json::from_str(&s(&row, "envelope")?)
                    .map_err(|e| StoreError::Corrupt(format!("alarm envelope: {e}")))?;
                if i(&row, "has_image")? != 0 {
                    alarm.image_base64 = crate::alarm_pictures::picture_base64(&mut *tx, id).await?;
                }
                crate::event_subscribers::queue_subscriber_pushes(
                    &mut tx,
                    project_id,
                    opt_s(&row, "video_source_id")?.as_deref(),
                    &s(&row, "task_id")?,
                    id,
                    &alarm.to_json(),
                    now,
                )
                .await?;
            }
        }
        counts.apply(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Deletes one alarm of the project (and its undelivered subscriber pushes);
    /// `NotFound("alarm")` when the project has no such alarm.
    pub async fn delete_alarm(&self, project_id: &str, message_id: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let n = delete_ids(&mut tx, Some(project_id), &[message_id.to_string()]).await?;
        if n == 0 {
            return Err(StoreError::NotFound("alarm"));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the selected alarms of the project (and their undelivered subscriber pushes);
    /// returns how many went. Runs in short transactions of a few hundred alarms, so a huge
    /// selection neither holds SQLite's write lock nor builds one giant PostgreSQL transaction.
    pub async fn delete_alarms(&self, project_id: &str, sel: &AlarmSelection) -> Result<u64, StoreError> {
        match sel {
            AlarmSelection::Ids(ids) => {
                let mut total = 0;
                for chunk in ids.chunks(DELETE_BATCH as usize) {
                    let mut tx = self.pool.begin().await?;
                    total += delete_ids(&mut tx, Some(project_id), chunk).await?;
                    tx.commit().await?;
                }
                Ok(total)
            }
            AlarmSelection::Matching(f) => {
                let (cond, args) = alarm_where(project_id, f)?;
                self.delete_matching(Some(project_id), &cond, &args).await
            }
        }
    }

    /// Repeats "take a batch of matching ids, delete them" until nothing matches.
    pub(crate) async fn delete_matching(
        &self,
        project_id: Option<&str>,
        cond: &str,
        args: &[Arg],
    ) -> Result<u64, StoreError> {
        let sql = format!("SELECT message_id FROM alarms WHERE {cond} LIMIT {DELETE_BATCH}");
        let mut total = 0;
        loop {
            let mut tx = self.pool.begin().await?;
            let ids: Vec<String> = bind_args(sqlx::query(&sql), args)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get::<String, _>(0))
                .collect::<Result<_, _>>()?;
            let n = delete_ids(&mut tx, project_id, &ids).await?;
            tx.commit().await?;
            total += n;
            if (ids.len() as i64) < DELETE_BATCH {
                return Ok(total);
            }
        }
    }
}
