//! The durable alarm outbox: rows written by `enqueue_alarm`, claimed by dispatchers under a
//! lease, deleted on acknowledgement, rescheduled on failure. Delivery is at-least-once.
//!
//! Claiming is one `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING …` statement on both
//! backends. On SQLite a statement holds the database's single write lock, so two claimers are
//! serialised. On PostgreSQL the inner SELECT takes `FOR UPDATE SKIP LOCKED`, so concurrent
//! claimers skip each other's rows instead of waiting; the outer WHERE repeats the "not leased"
//! test, so even a row re-read after a concurrent commit is never handed out twice.
//!
//! Claims are fair between projects: due rows are ranked within their project and sink kind and
//! handed out round robin (every project's first row, then every project's second, …), and a
//! project never holds more than `per_project` leases of one sink kind at once across all
//! dispatchers, so one tenant's backlog (a dead receiver with thousands of alarms) cannot take
//! every delivery slot.

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
    /// `webhook` | `obs` | `dis` | `subscriber` (| `subscriber_ws`, never claimed by dispatchers).
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

/// The row lock of a claiming subquery: PostgreSQL skips rows another claimer holds; SQLite's
/// single write lock already serialises claimers.
pub(crate) fn skip_locked(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    }
}

pub(crate) fn item(r: &AnyRow) -> Result<OutboxItem, StoreError> {
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
    /// Leases up to `limit` due rows to `worker_id` until `now_ms + lease`, round robin between
    /// projects and without a cap per project. A row whose lease ran out (its worker died) is due
    /// again.
    pub async fn claim_due(
        &self,
        worker_id: &str,
        limit: usize,
        lease: Duration,
        now_ms: i64,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        const UNCAPPED: usize = 1 << 40;
        self.claim_due_fair(worker_id, limit, UNCAPPED, lease, now_ms).await
    }

    /// [`Store::claim_due`] where a project gets rows of a sink kind only while it holds fewer
    /// than `per_project` unexpired leases of that kind (all workers counted): a tenant's hung
    /// webhook neither takes other tenants' slots nor its own obs/dis deliveries'.
    pub async fn claim_due_fair(
        &self,
        worker_id: &str,
        limit: usize,
        per_project: usize,
        lease: Duration,
        now_ms: i64,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        // PostgreSQL refuses FOR UPDATE next to window functions, so the ranking runs in an
        // inner query and the locking select around it only filters ids.
        // `subscriber_ws` rows are read by their subscriber's WebSocket connection, never here.
        let lock = skip_locked(self.backend);
        let sql = format!(
            "UPDATE outbox SET claimed_by = $1, claimed_until = $2 \
             WHERE (claimed_until IS NULL OR claimed_until < $3) AND id IN (\
               SELECT id FROM outbox WHERE id IN (\
                 SELECT c.id FROM (\
                   SELECT id, project_id, sink, next_attempt_at, created_at, \
                     ROW_NUMBER() OVER (PARTITION BY project_id, sink ORDER BY next_attempt_at, created_at, id) AS rn \
                   FROM outbox WHERE next_attempt_at <= $3 AND (claimed_until IS NULL OR claimed_until < $3) \
                   AND sink <> 'subscriber_ws') c \
                 LEFT JOIN (SELECT project_id, sink, COUNT(*) AS busy FROM outbox WHERE claimed_until >= $3 \
                   GROUP BY project_id, sink) b ON b.project_id = c.project_id AND b.sink = c.sink \
                 WHERE c.rn + COALESCE(b.busy, 0) <= $5 \
                 ORDER BY c.rn, c.next_attempt_at, c.created_at LIMIT $4) {lock}) \
             RETURNING id, message_id, project_id, task_id, sink, sink_config, payload, attempts, created_at"
        );
        let until = now_ms.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        let rows = sqlx::query(&sql)
            .bind(worker_id)
            .bind(until)
            .bind(now_ms)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .bind(i64::try_from(per_project.max(1)).unwrap_or(i64::MAX))
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

    /// Not tried: releases the lease and makes the row due at `next_at_ms`, without counting an
    /// attempt (its destination is backing off).
    pub async fn defer(&self, id: &str, next_at_ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET next_attempt_at = $1, claimed_by = NULL, claimed_until = NULL WHERE id = $2")
            .bind(next_at_ms)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Makes every unleased row of one task output (`project_id`, `sink`, `sink_config`) due no
    /// earlier than `next_at_ms`: its destination failed, and its other alarms wait with it
    /// instead of taking delivery slots. Returns how many rows moved.
    pub async fn defer_output(
        &self,
        project_id: &str,
        sink: &str,
        sink_config: &str,
        next_at_ms: i64,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let r = sqlx::query(
            "UPDATE outbox SET next_attempt_at = $1 WHERE project_id = $2 AND sink = $3 AND sink_config = $4 \
             AND next_attempt_at < $1 AND (claimed_until IS NULL OR claimed_until < $5)",
        )
        .bind(next_at_ms)
        .bind(project_id)
        .bind(sink)
        .bind(sink_config)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    /// Pending rows, age of the oldest and the most attempts any row has had; rows waiting for a
    /// WebSocket subscriber to connect are not a delivery backlog and are left out.
    pub async fn outbox_stats(&self, now_ms: i64) -> Result<OutboxStats, StoreError> {
        let r = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(created_at) AS oldest, MAX(attempts) AS worst FROM outbox \
             WHERE sink <> 'subscriber_ws'",
        )
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
