//! Retention: how long event-center alarms and undeliverable outbox rows are kept. The cleanup
//! job of `vigil serve`/`vigil worker` calls these every hour. Deletes run in batches, so that
//! neither backend holds its write lock (SQLite) or a huge transaction (PostgreSQL) for long.

use crate::rows::{i, s};
use crate::sql_filter::Arg;
use crate::{Store, StoreError};

/// Rows deleted per statement.
const BATCH: i64 = 1000;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

impl Store {
    /// The retention cleanup: deletes alarms past their project's `retention_days`, and those of
    /// projects without one (no rule row, or 0) past `default_days` (0: kept forever). Their
    /// undelivered subscriber pushes go with them. Returns how many alarms went.
    pub async fn delete_alarms_past_retention(&self, now_ms: i64, default_days: u64) -> Result<u64, StoreError> {
        let cutoff = |days: i64| now_ms.saturating_sub(days.saturating_mul(DAY_MS));
        let own: Vec<(String, i64)> =
            sqlx::query("SELECT project_id, retention_days FROM event_rules WHERE retention_days > 0")
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| Ok((s(r, "project_id")?, i(r, "retention_days")?)))
                .collect::<Result<_, StoreError>>()?;
        let mut total = 0;
        for (project, days) in &own {
            let args = [Arg::S(project.clone()), Arg::I(cutoff(*days))];
            total += self
                .delete_matching(Some(project), "project_id = $1 AND created_at < $2", &args)
                .await?;
        }
        if default_days > 0 {
            let days = i64::try_from(default_days).unwrap_or(i64::MAX);
            let args = [Arg::I(cutoff(days))];
            total += self
                .delete_matching(
                    None,
                    "created_at < $1 AND project_id NOT IN \
                     (SELECT project_id FROM event_rules WHERE retention_days > 0)",
                    &args,
                )
                .await?;
        }
        Ok(total)
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
