//! Persistence for Vigil on SQLite (embedded default) or PostgreSQL, through one sqlx `Any` pool
//! and one schema. Repositories: identity (`iam`), video sources and groups.

pub mod alarms;
pub mod algorithm_deployments;
pub mod batch_tasks;
pub mod edge_pools;
mod error;
pub mod event_center;
pub mod event_subscribers;
pub mod iam;
mod migrations;
pub mod model_packages;
pub mod nodes;
pub mod outbox;
mod quota;
pub mod retention;
mod rows;
pub mod scrape_gauges;
pub mod task_stats;
pub mod tasks;
pub mod video_groups;
pub mod video_sources;

use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use error::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// Milliseconds since the Unix epoch (VIAS `Long` timestamps), strictly increasing within the
/// process so that "sort by create time" follows creation order even within one millisecond.
pub fn now_ms() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(0);
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let prev = LAST
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(wall.max(last + 1)))
        .unwrap_or(0);
    wall.max(prev + 1)
}

impl Store {
    /// Opens `sqlite://PATH` (created if missing) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(StoreError::BadUrl(url.to_string()));
        };
        let url = match backend {
            Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_string(),
        };
        let opts: AnyConnectOptions = url.parse().map_err(|_| StoreError::BadUrl(redact(&url)))?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 16 })
            .acquire_timeout(Duration::from_secs(15))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA journal_mode=WAL").await?;
                        conn.execute("PRAGMA busy_timeout=10000").await?;
                        conn.execute("PRAGMA synchronous=NORMAL").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await?;
        Ok(Self { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Applies every migration not applied yet. Safe to call from several processes at once.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        migrations::run(self).await
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A database URL with any password removed, for logs and errors.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}://{}:***@{}", &url[..s], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

impl Store {
    /// Whether another row of `table` (a fixed table name) in the project has this name.
    pub(crate) async fn name_taken(
        &self,
        table: &str,
        project_id: &str,
        name: &str,
        except_id: &str,
    ) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM {table} WHERE project_id = $1 AND name = $2 AND id <> $3"
        ))
        .bind(project_id)
        .bind(name)
        .bind(except_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// Runs one SQL statement without results (administration in tests and tools).
    pub async fn execute_raw(&self, sql: &str) -> Result<(), StoreError> {
        self.pool.execute(sql).await?;
        Ok(())
    }
}
