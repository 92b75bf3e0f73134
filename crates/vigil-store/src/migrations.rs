//! Ordered, idempotent schema migrations for both backends (one SQL dialect subset).

use sqlx::{Acquire, Executor, Row};

use crate::{now_ms, Backend, Store, StoreError};

/// PostgreSQL's trigram indexes of the name searches need an extension it may not let Vigil
/// create: they are made at start-up when possible (`ensure_pg_name_search`), not here.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_initial.sql")),
    (2, include_str!("../migrations/0002_tasks.sql")),
    (3, include_str!("../migrations/0003_alarms.sql")),
    (4, include_str!("../migrations/0004_retention.sql")),
    (5, include_str!("../migrations/0005_algorithm_center.sql")),
    (6, include_str!("../migrations/0006_console.sql")),
    (7, include_str!("../migrations/0007_event_center.sql")),
    (8, include_str!("../migrations/0008_list_sources.sql")),
    (9, include_str!("../migrations/0009_list_tasks.sql")),
    (10, include_str!("../migrations/0010_alarm_volume.sql")),
    (11, include_str!("../migrations/0011_auth_changes.sql")),
    (12, include_str!("../migrations/0012_alarm_minutes.sql")),
    (13, include_str!("../migrations/0013_source_count_slots.sql")),
];

/// Arbitrary constant naming Vigil's advisory lock on PostgreSQL.
const PG_LOCK_KEY: i64 = 0x0056_6967_696c;

fn statements(sql: &str) -> impl Iterator<Item = String> + '_ {
    let without_comments: Vec<&str> = sql.lines().filter(|l| !l.trim_start().starts_with("--")).collect();
    without_comments
        .join("\n")
        .split(';')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .into_iter()
}

pub async fn run(store: &Store) -> Result<usize, StoreError> {
    let mut conn = store.pool.acquire().await?;
    if store.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(PG_LOCK_KEY)
            .execute(&mut *conn)
            .await?;
    }
    let mut result = apply(&mut conn).await;
    if store.backend == Backend::Postgres && result.is_ok() {
        if let Err(e) = ensure_pg_name_search(&mut conn).await {
            result = Err(e);
        }
    }
    if store.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(PG_LOCK_KEY)
            .execute(&mut *conn)
            .await?;
    }
    result
}

async fn apply(conn: &mut sqlx::AnyConnection) -> Result<usize, StoreError> {
    conn.execute(
        "CREATE TABLE IF NOT EXISTS vigil_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .await?;
    let done: Vec<i64> = sqlx::query("SELECT version FROM vigil_migrations")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()?;
    let mut applied = 0;
    for (version, sql) in MIGRATIONS {
        if done.contains(version) {
            continue;
        }
        let mut tx = conn.begin().await?;
        for stmt in statements(sql) {
            tx.execute(stmt.as_str()).await?;
        }
        sqlx::query("INSERT INTO vigil_migrations (version, applied_at) VALUES ($1, $2)")
            .bind(*version)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(version, "applied database migration");
        applied += 1;
    }
    Ok(applied)
}

/// The trigram indexes of the name searches on PostgreSQL (`pg_trgm` GIN on `LOWER(name)`,
/// used by [`crate::sql_filter::Where::name_contains_ci`]). `pg_trgm` is a trusted extension
/// that a database owner may create; where Vigil may not, the searches still answer exactly,
/// reading the project's rows, and a warning says how to add it. Checked at every start, so
/// an extension added later gets its indexes then.
async fn ensure_pg_name_search(conn: &mut sqlx::AnyConnection) -> Result<(), StoreError> {
    let missing: i64 = sqlx::query(&format!(
        "SELECT COUNT(*) FROM (VALUES {}) AS want(name) \
         WHERE NOT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = want.name AND schemaname = current_schema())",
        crate::sql_filter::NAME_INDEXES
            .iter()
            .map(|i| format!("('{}')", i.pg_index))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)?;
    if missing == 0 {
        return Ok(());
    }
    if let Err(e) = conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm").await {
        tracing::warn!(
            error = %e,
            "name searches read every row of the project: PostgreSQL refused CREATE EXTENSION pg_trgm; \
             run it as a superuser in this database and restart Vigil to index them"
        );
        return Ok(());
    }
    for i in crate::sql_filter::NAME_INDEXES {
        conn.execute(
            format!(
                "CREATE INDEX IF NOT EXISTS {} ON {} USING gin (LOWER(name) gin_trgm_ops) WITH (fastupdate = off)",
                i.pg_index, i.table
            )
            .as_str(),
        )
        .await?;
        tracing::info!(index = i.pg_index, "created trigram index for name searches");
    }
    Ok(())
}
