//! Persistence for Vigil on SQLite (embedded default) or PostgreSQL, through one sqlx `Any` pool
//! and one schema. Repositories: identity (`iam`), video sources and groups.

mod alarm_counts;
mod alarm_pictures;
pub mod alarms;
pub mod algorithm_deployments;
pub mod batch_tasks;
pub mod edge_pools;
mod error;
pub mod event_center;
pub mod event_subscribers;
pub mod group_list;
pub mod iam;
mod migrations;
pub mod model_packages;
pub mod nodes;
pub mod outbox;
mod quota;
pub mod retention;
mod rows;
pub mod scrape_gauges;
pub mod source_list;
mod sql_filter;
pub mod task_list;
pub mod task_stats;
pub mod tasks;
pub mod video_groups;
pub mod video_sources;

use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnectionMetadata;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};

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
    /// PostgreSQL only: the pool of the hot list reads (source and alarm pages), decoded as
    /// native rows; the `Any` driver's conversion of every row cost a fifth of the server's CPU
    /// on a page.
    list_reads: Option<PgPool>,
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

/// Pool size and statement logging; `StoreOptions::default()` is what [`Store::connect`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// Connections in the pool; `None` takes the backend's default
    /// ([`DEFAULT_SQLITE_CONNECTIONS`], [`DEFAULT_POSTGRES_CONNECTIONS`]).
    pub max_connections: Option<u32>,
    /// Statements that run longer are logged at WARN with their duration and SQL (target
    /// `sqlx::query`); `Duration::ZERO` turns the log off.
    pub slow_query: Duration,
}

/// SQLite in WAL mode runs readers in parallel with the one writer: a few connections keep both
/// cores busy with reads while a write waits its turn (busy timeout below).
pub const DEFAULT_SQLITE_CONNECTIONS: u32 = 8;
/// Per pool; a PostgreSQL store keeps two (every statement, and the source and alarm pages), so
/// a process opens up to twice this. Every API server and worker keeps its own, so their sum must
/// stay under the server's `max_connections` (100 by default), with a few left for
/// administration. A request holds a connection only while its statement runs, so 8 serve 200 concurrent clients; more
/// backends than that on a small server only lengthen the tail (p99 of a source page at 50
/// clients on 2 cores: 23 ms with 8, 28 ms with 16).
pub const DEFAULT_POSTGRES_CONNECTIONS: u32 = 8;
/// A pooled connection idle longer than this is pinged before use; one used more recently is not
/// (sqlx pings by default on every acquire, a round trip per statement), since the pool also
/// pings it when it comes back.
const PING_WHEN_IDLE: Duration = Duration::from_secs(5);
/// `application_name` of the PostgreSQL connections of the page reads.
pub const LIST_READS_NAME: &str = "vigil page reads";
/// Default slow-statement threshold of the log.
pub const DEFAULT_SLOW_QUERY: Duration = Duration::from_millis(200);
/// How long a SQLite statement waits for the write lock before failing with "database is locked".
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: None,
            slow_query: DEFAULT_SLOW_QUERY,
        }
    }
}

impl Store {
    /// Opens `sqlite://PATH` (created if missing) or `postgres://…` with the default options.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, StoreOptions::default()).await
    }

    /// Opens `sqlite://PATH` (created if missing) or `postgres://…`.
    pub async fn connect_with(url: &str, options: StoreOptions) -> Result<Self, StoreError> {
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
        let opts = log_slow(opts, options.slow_query);
        let max_connections = options.max_connections.unwrap_or(match backend {
            Backend::Sqlite => DEFAULT_SQLITE_CONNECTIONS,
            Backend::Postgres => DEFAULT_POSTGRES_CONNECTIONS,
        });
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(15))
            .test_before_acquire(false)
            .before_acquire(|conn, meta| Box::pin(ping_when_idle(conn, meta)))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA journal_mode=WAL").await?;
                        conn.execute(format!("PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}").as_str())
                            .await?;
                        conn.execute("PRAGMA synchronous=NORMAL").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await?;
        let list_reads = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let opts: PgConnectOptions = url.parse().map_err(|_| StoreError::BadUrl(redact(&url)))?;
                let opts = log_slow(opts, options.slow_query);
                // Named in `pg_stat_activity`, unless the URL names its connections.
                let opts = match opts.get_application_name() {
                    Some(_) => opts,
                    None => opts.application_name(LIST_READS_NAME),
                };
                Some(
                    PgPoolOptions::new()
                        .max_connections(max_connections.max(1))
                        .acquire_timeout(Duration::from_secs(15))
                        .test_before_acquire(false)
                        .before_acquire(|conn, meta| Box::pin(ping_when_idle(conn, meta)))
                        .connect_lazy_with(opts),
                )
            }
        };
        Ok(Self {
            pool,
            list_reads,
            backend,
        })
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
        if let Some(reads) = &self.list_reads {
            reads.close().await;
        }
    }
}

/// Statements slower than `threshold` logged at WARN; `Duration::ZERO` turns the log off.
fn log_slow<O: ConnectOptions>(opts: O, threshold: Duration) -> O {
    if threshold.is_zero() {
        opts.log_slow_statements(log::LevelFilter::Off, Duration::MAX)
    } else {
        opts.log_slow_statements(log::LevelFilter::Warn, threshold)
    }
}

/// The pools' check before handing out a connection: a ping only after [`PING_WHEN_IDLE`].
async fn ping_when_idle<C: Connection>(conn: &mut C, meta: PoolConnectionMetadata) -> Result<bool, sqlx::Error> {
    if meta.idle_for > PING_WHEN_IDLE {
        conn.ping().await?;
    }
    Ok(true)
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
