//! The durable alarm outbox: rows written by `enqueue_alarm`, claimed by dispatchers under a
//! lease, deleted on acknowledgement, rescheduled on failure. Delivery is at-least-once.
//!
//! Claiming is one `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING …` statement on both
//! backends. On SQLite a statement holds the database's single write lock, so two claimers are
//! serialised. On PostgreSQL the inner SELECT takes `FOR UPDATE SKIP LOCKED`, so concurrent
//! claimers skip each other's rows instead of waiting; the outer WHERE repeats the "not leased"
//! test, so even a row re-read after a concurrent commit is never handed out twice.

use std::time::Duration;

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::rows::{i, s};
use crate::{Backend, Store, StoreError};

/// One claimed delivery: an alarm for one sink.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    pub id: String,
    pub message_id: String,
    pub project_id: String,
    pub task_id: String,
    /// `webhook` | `obs` | `dis`.
    pub sink: String,
    /// The task's output settings for this sink (JSON).
    pub sink_config: String,
    /// The alarm envelope (JSON text, picture included).
    pub payload: String,
    /// Failed attempts so far.
    pub attempts: i64,
    pub created_at: i64,
}

/// Backlog figures for logs and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxStats {
    pub pending: i64,
    /// Age of the oldest undelivered row, milliseconds (0 when empty).
    pub oldest_age_ms: i64,
    pub max_attempts: i64,
}

fn item(r: &AnyRow) -> Result<OutboxItem, StoreError> {
    Ok(OutboxItem {
        id: s(r, "id")?,
        message_id: s(r, "message_id")?,
        project_id: s(r, "project_id")?,
        task_id: s(r, "task_id")?,
        sink: s(r, "sink")?,
        sink_config: s(r, "sink_config")?,
        payload: s(r, "payload")?,
        attempts: i(r, "attempts")?,
        created_at: i(r, "created_at")?,
    })
}

impl Store {
    /// Leases up to `limit` due rows to `worker_id` until `now_ms + lease`. A row whose lease ran
    /// out (its worker died) is due again.
    pub async fn claim_due(
        &self,
        worker_id: &str,
        limit: usize,
        lease: Duration,
        now_ms: i64,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE outbox SET claimed_by = $1, claimed_until = $2 \
             WHERE (claimed_until IS NULL OR claimed_until < $3) AND id IN (\
               SELECT id FROM outbox WHERE next_attempt_at <= $3 AND (claimed_until IS NULL OR claimed_until < $3) \
               ORDER BY next_attempt_at, created_at LIMIT $4 {lock}) \
             RETURNING id, message_id, project_id, task_id, sink, sink_config, payload, attempts, created_at"
        );
        let until = now_ms.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        let rows = sqlx::query(&sql)
            .bind(worker_id)
            .bind(until)
            .bind(now_ms)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        let mut items = rows.iter().map(item).collect::<Result<Vec<_>, _>>()?;
        items.sort_by_key(|it| it.created_at);
        Ok(items)
    }

    /// Delivered: the row is gone.
    pub async fn ack(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM outbox WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Failed: counts the attempt, keeps the error and releases the lease until `next_at_ms`.
    pub async fn retry_later(&self, id: &str, error: &str, next_at_ms: i64) -> Result<(), StoreError> {
        let error: String = error.chars().take(2000).collect();
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2, claimed_by = NULL, \
             claimed_until = NULL WHERE id = $3",
        )
        .bind(error)
        .bind(next_at_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Pending rows, age of the oldest and the most attempts any row has had.
    pub async fn outbox_stats(&self, now_ms: i64) -> Result<OutboxStats, StoreError> {
        let r = sqlx::query("SELECT COUNT(*) AS n, MIN(created_at) AS oldest, MAX(attempts) AS worst FROM outbox")
            .fetch_one(&self.pool)
            .await?;
        let oldest: Option<i64> = r.try_get("oldest")?;
        Ok(OutboxStats {
            pending: i(&r, "n")?,
            oldest_age_ms: oldest.map(|o| (now_ms - o).max(0)).unwrap_or(0),
            max_attempts: r.try_get::<Option<i64>, _>("worst")?.unwrap_or(0),
        })
    }

    /// The last error and attempt count of each pending row of an alarm (for diagnostics and tests).
    pub async fn outbox_rows_of(&self, message_id: &str) -> Result<Vec<(String, i64, Option<String>)>, StoreError> {
        let rows = sqlx::query("SELECT sink, attempts, last_error FROM outbox WHERE message_id = $1 ORDER BY sink")
            .bind(message_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    s(r, "sink")?,
                    i(r, "attempts")?,
                    r.try_get::<Option<String>, _>("last_error")?,
                ))
            })
            .collect()
    }
}
