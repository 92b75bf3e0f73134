//! Ordered, idempotent schema migrations for both backends (one SQL dialect subset).

use sqlx::{Acquire, Executor, Row};

use crate::{now_ms, Backend, Store, StoreError};

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
    let result = apply(&mut conn).await;
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
