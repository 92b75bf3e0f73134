//! Numbers `GET /metrics` reads from the database at scrape time: the outbox backlog per sink
//! kind and the task leases per worker node. Aggregates only: no tenant data leaves here.

use std::collections::BTreeMap;

use crate::rows::{i, s};
use crate::{Store, StoreError};

/// Nodes that heartbeated within this long (ms) are listed with their lease count, 0 included.
const RECENT_NODE_MS: i64 = 10 * 60_000;

/// The outbox rows of one sink kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxBacklog {
    pub depth: i64,
    /// Age of the oldest row in ms (0 when empty).
    pub oldest_age_ms: i64,
}

impl Store {
    /// Pending outbox rows and the age of the oldest, by sink kind (`webhook`, `obs`, `dis`).
    pub async fn outbox_backlog_by_sink(&self, now_ms: i64) -> Result<BTreeMap<String, OutboxBacklog>, StoreError> {
        let rows = sqlx::query("SELECT sink, COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox GROUP BY sink")
            .fetch_all(&self.pool)
            .await?;
        let mut out = BTreeMap::new();
        for r in &rows {
            let oldest = i(r, "oldest")?;
            out.insert(
                s(r, "sink")?,
                OutboxBacklog {
                    depth: i(r, "n")?,
                    oldest_age_ms: (now_ms - oldest).max(0),
                },
            );
        }
        Ok(out)
    }

    /// Unexpired task leases per worker id; every recently heartbeating node appears, with 0
    /// when it holds none.
    pub async fn leases_by_node(&self, now_ms: i64) -> Result<BTreeMap<String, i64>, StoreError> {
        let mut out = BTreeMap::new();
        let nodes = sqlx::query("SELECT id FROM nodes WHERE heartbeat_at > $1")
            .bind(now_ms - RECENT_NODE_MS)
            .fetch_all(&self.pool)
            .await?;
        for r in &nodes {
            out.insert(s(r, "id")?, 0);
        }
        let leases = sqlx::query(
            "SELECT lease_owner, COUNT(*) AS n FROM tasks WHERE lease_owner IS NOT NULL AND lease_expires_at > $1 \
             GROUP BY lease_owner",
        )
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await?;
        for r in &leases {
            out.insert(s(r, "lease_owner")?, i(r, "n")?);
        }
        Ok(out)
    }
}
