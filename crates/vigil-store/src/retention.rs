//! Retention: how long event-center alarms and undeliverable outbox rows are kept. The cleanup
//! job of `vigil serve`/`vigil worker` calls these every hour. Deletes run in batches, so that
//! neither backend holds its write lock (SQLite) or a huge transaction (PostgreSQL) for long.

use crate::{Store, StoreError};

/// Rows deleted per statement.
const BATCH: i64 = 1000;

impl Store {
    /// Deletes event-center alarms (pictures included) recorded before `before_ms`; returns how
    /// many went.
    pub async fn delete_alarms_before(&self, before_ms: i64) -> Result<u64, StoreError> {
        self.delete_in_batches(
            "DELETE FROM alarms WHERE message_id IN \
             (SELECT message_id FROM alarms WHERE created_at < $1 LIMIT $2)",
            before_ms,
            None,
        )
        .await
    }

    /// Deletes outbox rows created before `before_ms` that failed at least once and are not
    /// leased at `now_ms`: alarms that could not be delivered within the retention time. Rows
    /// never tried (no dispatcher ran) are kept.
    pub async fn delete_failed_outbox_before(&self, before_ms: i64, now_ms: i64) -> Result<u64, StoreError> {
        self.delete_in_batches(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE created_at < $1 AND attempts > 0 \
             AND (claimed_until IS NULL OR claimed_until < $3) LIMIT $2)",
            before_ms,
            Some(now_ms),
        )
        .await
    }

    async fn delete_in_batches(&self, sql: &str, before_ms: i64, now_ms: Option<i64>) -> Result<u64, StoreError> {
        let mut total = 0u64;
        loop {
            let mut q = sqlx::query(sql).bind(before_ms).bind(BATCH);
            if let Some(now) = now_ms {
                q = q.bind(now);
            }
            let n = q.execute(&self.pool).await?.rows_affected();
            total += n;
            if n < BATCH as u64 {
                return Ok(total);
            }
        }
    }
}
