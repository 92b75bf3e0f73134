//! Atomic per-project quotas: the count and the insert happen in one transaction that holds a
//! per-project write lock, so parallel creates can never push a project past its quota.

use sqlx::{Any, Transaction};

use crate::{Backend, Store, StoreError};

impl Store {
    /// Opens a transaction that holds the project's quota lock until it commits or rolls back.
    ///
    /// PostgreSQL: a transaction-scoped advisory lock on the project id (it needs no row and
    /// blocks nothing else). SQLite: a no-op write as the first statement takes the database's
    /// single write lock at once, so the counts that follow read the latest committed rows
    /// (a deferred read first would fail to upgrade under contention instead of waiting).
    pub(crate) async fn quota_tx(&self, project_id: &str) -> Result<Transaction<'static, Any>, StoreError> {
        let mut tx = self.pool.begin().await?;
        match self.backend {
            Backend::Postgres => {
                sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7151))::TEXT")
                    .bind(format!("vigil-quota:{project_id}"))
                    .execute(&mut *tx)
                    .await?;
            }
            Backend::Sqlite => {
                sqlx::query("UPDATE projects SET name = name WHERE id = $1")
                    .bind(project_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        Ok(tx)
    }
}

/// Fails with `Quota` when `table` (a fixed table name) already holds `quota - adding + 1` or
/// more rows of the project; call inside [`Store::quota_tx`].
pub(crate) async fn check(
    tx: &mut Transaction<'static, Any>,
    table: &str,
    project_id: &str,
    adding: i64,
    what: &'static str,
    quota: i64,
) -> Result<(), StoreError> {
    let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table} WHERE project_id = $1"))
        .bind(project_id)
        .fetch_one(&mut **tx)
        .await?;
    if n + adding > quota {
        return Err(StoreError::Quota { what, limit: quota });
    }
    Ok(())
}
