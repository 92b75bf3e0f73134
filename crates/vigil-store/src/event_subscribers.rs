//! Event center subscribers: who receives which sources' alarms, and the outbox rows that carry
//! them (at-least-once, resumed after a reconnect).
//!
//! A subscriber with an `address` (`tcp://host:port`) is pushed to by the dispatcher: its rows
//! have sink `subscriber` and carry the address in `sink_config`, like a webhook row carries its
//! URL. A subscriber without one reads its rows over a WebSocket: sink `subscriber_ws`, which the
//! dispatcher never claims; the connection serving the subscriber claims them with a lease,
//! deletes each on the client's ack and releases the rest when it closes.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use sqlx::any::AnyRow;
use sqlx::Any;

use crate::outbox::OutboxItem;
use crate::rows::{i, opt_s, s, string_list, to_json_list};
use crate::{now_ms, Store, StoreError};

/// Outbox sink of pushed subscribers (delivered by the dispatcher).
pub const SINK_PUSH: &str = "subscriber";
/// Outbox sink of WebSocket subscribers (read by their connection, skipped by the dispatcher).
pub const SINK_WS: &str = "subscriber_ws";

/// One subscriber and its undelivered alarms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    /// Sources whose alarms it receives; empty: every source of the project.
    pub video_source_ids: Vec<String>,
    /// `tcp://host:port` for pushed subscribers, `None` for WebSocket ones.
    pub address: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Outbox rows not yet acknowledged.
    pub pending: i64,
}

#[derive(Debug, Clone)]
pub struct NewSubscriber {
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub video_source_ids: Vec<String>,
    pub address: Option<String>,
}

/// A partial update; `address: Some(None)` turns a pushed subscriber into a WebSocket one.
#[derive(Debug, Clone, Default)]
pub struct SubscriberUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub video_source_ids: Option<Vec<String>>,
    pub address: Option<Option<String>>,
}

/// `sink_config` of a WebSocket subscriber's rows.
pub fn ws_config(subscriber_id: &str) -> String {
    format!("{{\"subscriber_id\":{}}}", json_str(subscriber_id))
}

/// `sink_config` of a pushed subscriber's rows. The id comes first, so every row of a subscriber
/// matches `ws_config(id)` or the prefix of [`push_prefix`] whatever its address.
pub fn push_config(subscriber_id: &str, address: &str) -> String {
    format!(
        "{{\"subscriber_id\":{},\"address\":{}}}",
        json_str(subscriber_id),
        json_str(address)
    )
}

/// LIKE pattern of a pushed subscriber's rows (ids are hex: no LIKE wildcards inside).
fn push_prefix(subscriber_id: &str) -> String {
    format!("{{\"subscriber_id\":{},%", json_str(subscriber_id))
}

fn json_str(v: &str) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "\"\"".into())
}

fn sink_of(subscriber_id: &str, address: Option<&str>) -> (&'static str, String) {
    match address {
        Some(a) => (SINK_PUSH, push_config(subscriber_id, a)),
        None => (SINK_WS, ws_config(subscriber_id)),
    }
}

/// Every outbox row of one subscriber: `$1` is its WebSocket config, `$2` its push prefix.
const ROWS_OF: &str = "sink IN ('subscriber', 'subscriber_ws') AND (sink_config = $1 OR sink_config LIKE $2)";

fn subscriber(r: &AnyRow) -> Result<Subscriber, StoreError> {
    Ok(Subscriber {
        id: s(r, "id")?,
        project_id: s(r, "project_id")?,
        name: s(r, "name")?,
        description: s(r, "description")?,
        video_source_ids: string_list(r, "video_source_ids")?,
        address: opt_s(r, "address")?,
        created_at: i(r, "created_at")?,
        updated_at: i(r, "updated_at")?,
        pending: 0,
    })
}

fn follows(sources: &[String], video_source_id: Option<&str>) -> bool {
    sources.is_empty() || video_source_id.is_some_and(|v| sources.iter().any(|s| s == v))
}

/// Queues one outbox row per subscriber of `project_id` that follows `video_source_id`, inside
/// the caller's transaction (the alarm is recorded, or approved, in the same one). Returns the
/// number of rows written. An alarm without a source goes to the subscribers of every source.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn queue_subscriber_pushes(
    tx: &mut sqlx::Transaction<'_, Any>,
    project_id: &str,
    video_source_id: Option<&str>,
    task_id: &str,
    message_id: &str,
    payload: &str,
    now_ms: i64,
) -> Result<usize, StoreError> {
    let rows = sqlx::query("SELECT id, video_source_ids, address FROM event_subscribers WHERE project_id = $1")
        .bind(project_id)
        .fetch_all(&mut **tx)
        .await?;
    let mut n = 0;
    for r in &rows {
        if !follows(&string_list(r, "video_source_ids")?, video_source_id) {
            continue;
        }
        let id = s(r, "id")?;
        let (sink, config) = sink_of(&id, opt_s(r, "address")?.as_deref());
        sqlx::query(
            "INSERT INTO outbox (id, message_id, project_id, task_id, sink, sink_config, payload, attempts, \
             next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $8)",
        )
        .bind(vigil_core::ids::new_hex32_id())
        .bind(message_id)
        .bind(project_id)
        .bind(task_id)
        .bind(sink)
        .bind(config)
        .bind(payload)
        .bind(now_ms)
        .execute(&mut **tx)
        .await?;
        n += 1;
    }
    Ok(n)
}

/// Splits a subscriber address `tcp://host:port` (host: a DNS name, an IPv4 address or a
/// bracketed IPv6 address) into host (brackets removed) and port; the error says what is wrong.
pub fn parse_tcp_address(address: &str) -> Result<(String, u16), &'static str> {
    let rest = address
        .strip_prefix("tcp://")
        .ok_or("must start with tcp:// (tcp://host:port)")?;
    let (host, port) = rest.rsplit_once(':').ok_or("must name a port (tcp://host:port)")?;
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or("the port must be a number from 1 to 65535")?;
    let host = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        v6.parse::<std::net::Ipv6Addr>()
            .map_err(|_| "the bracketed host is not an IPv6 address")?;
        v6
    } else {
        let name_ok = (1..=253).contains(&host.len())
            && host.split('.').all(|label| {
                (1..=63).contains(&label.len()) && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !name_ok {
            return Err("the host must be a DNS name, an IPv4 address or [an IPv6 address]");
        }
        host
    };
    Ok((host.to_string(), port))
}

/// Why a WebSocket connection may no longer serve its subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsOwnership {
    /// Still this connection's.
    Owner,
    /// A newer connection took over.
    Replaced,
    /// The subscriber now has an address: it is pushed to.
    Pushed,
    /// The subscriber was deleted.
    Deleted,
}

impl Store {
    /// Fails with an `Invalid` naming `video_source_ids[i]` for an id that is not a source of
    /// the project (one query for the whole list).
    async fn check_subscriber_sources(&self, project_id: &str, ids: &[String]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let known: HashSet<String> = sqlx::query("SELECT id FROM video_sources WHERE project_id = $1")
            .bind(project_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| s(r, "id"))
            .collect::<Result<_, _>>()?;
        match ids.iter().position(|id| !known.contains(id)) {
            Some(n) => Err(vigil_core::FieldError::invalid(
                format!("video_source_ids[{n}]"),
                "is not a video source of this project",
            )
            .into()),
            None => Ok(()),
        }
    }

    /// Creates a subscriber; names are unique in a project, and a project holds at most `quota`.
    pub async fn create_subscriber(&self, new: NewSubscriber, quota: i64) -> Result<Subscriber, StoreError> {
        if self
            .name_taken("event_subscribers", &new.project_id, &new.name, "")
            .await?
        {
            return Err(StoreError::DuplicateName("subscriber"));
        }
        self.check_subscriber_sources(&new.project_id, &new.video_source_ids)
            .await?;
        let id = vigil_core::ids::new_hex32_id();
        let now = now_ms();
        let mut tx = self.quota_tx(&new.project_id).await?;
        crate::quota::check(&mut tx, "event_subscribers", &new.project_id, 1, "subscribers", quota).await?;
        sqlx::query(
            "INSERT INTO event_subscribers (id, project_id, name, description, video_source_ids, address, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(&id)
        .bind(&new.project_id)
        .bind(&new.name)
        .bind(&new.description)
        .bind(to_json_list(&new.video_source_ids))
        .bind(new.address.clone())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Subscriber {
            id,
            project_id: new.project_id,
            name: new.name,
            description: new.description,
            video_source_ids: new.video_source_ids,
            address: new.address,
            created_at: now,
            updated_at: now,
            pending: 0,
        })
    }

    /// Subscribers of a project, oldest first, with their pending counts.
    pub async fn list_subscribers(&self, project_id: &str) -> Result<Vec<Subscriber>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, project_id, name, description, video_source_ids, address, created_at, updated_at \
             FROM event_subscribers WHERE project_id = $1 ORDER BY created_at, id",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        let mut subs = rows.iter().map(subscriber).collect::<Result<Vec<_>, _>>()?;
        let counts = sqlx::query(
            "SELECT sink_config, COUNT(*) AS n FROM outbox WHERE project_id = $1 \
             AND sink IN ('subscriber', 'subscriber_ws') GROUP BY sink_config",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        let mut pending: HashMap<String, i64> = HashMap::new();
        for r in &counts {
            let config: serde_json::Value = serde_json::from_str(&s(r, "sink_config")?).unwrap_or_default();
            if let Some(id) = config["subscriber_id"].as_str() {
                *pending.entry(id.to_string()).or_default() += i(r, "n")?;
            }
        }
        for sub in &mut subs {
            sub.pending = pending.get(&sub.id).copied().unwrap_or(0);
        }
        Ok(subs)
    }

    /// One subscriber of the project (`NotFound("subscriber")` otherwise).
    pub async fn get_subscriber(&self, project_id: &str, id: &str) -> Result<Subscriber, StoreError> {
        let row = sqlx::query(
            "SELECT id, project_id, name, description, video_source_ids, address, created_at, updated_at \
             FROM event_subscribers WHERE project_id = $1 AND id = $2",
        )
        .bind(project_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound("subscriber"))?;
        let mut sub = subscriber(&row)?;
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM outbox WHERE {ROWS_OF}"))
            .bind(ws_config(id))
            .bind(push_prefix(id))
            .fetch_one(&self.pool)
            .await?;
        sub.pending = n;
        Ok(sub)
    }

    /// Applies a partial update. When the address changes, the pending rows follow it (to the
    /// new address, or from the dispatcher to the WebSocket and back) in the same transaction.
    pub async fn update_subscriber(
        &self,
        project_id: &str,
        id: &str,
        up: SubscriberUpdate,
    ) -> Result<Subscriber, StoreError> {
        let cur = self.get_subscriber(project_id, id).await?;
        if let Some(name) = &up.name {
            if self.name_taken("event_subscribers", project_id, name, id).await? {
                return Err(StoreError::DuplicateName("subscriber"));
            }
        }
        if let Some(ids) = &up.video_source_ids {
            self.check_subscriber_sources(project_id, ids).await?;
        }
        let address = up.address.unwrap_or_else(|| cur.address.clone());
        let sources = up.video_source_ids.unwrap_or_else(|| cur.video_source_ids.clone());
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE event_subscribers SET name = $1, description = $2, video_source_ids = $3, address = $4, \
             updated_at = $5 WHERE project_id = $6 AND id = $7",
        )
        .bind(up.name.unwrap_or(cur.name))
        .bind(up.description.unwrap_or(cur.description))
        .bind(to_json_list(&sources))
        .bind(address.clone())
        .bind(now)
        .bind(project_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if address != cur.address {
            // Leases are dropped: a WebSocket connection or a dispatcher may hold some rows; a
            // row sent twice is a duplicate the subscriber drops by message_id, never a loss.
            let (sink, config) = sink_of(id, address.as_deref());
            sqlx::query(&format!(
                "UPDATE outbox SET sink = $3, sink_config = $4, next_attempt_at = $5, claimed_by = NULL, \
                 claimed_until = NULL WHERE {ROWS_OF}"
            ))
            .bind(ws_config(id))
            .bind(push_prefix(id))
            .bind(sink)
            .bind(config)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.get_subscriber(project_id, id).await
    }

    /// Deletes a subscriber and its undelivered rows.
    pub async fn delete_subscriber(&self, project_id: &str, id: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query("DELETE FROM event_subscribers WHERE project_id = $1 AND id = $2")
            .bind(project_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound("subscriber"));
        }
        sqlx::query(&format!("DELETE FROM outbox WHERE {ROWS_OF}"))
            .bind(ws_config(id))
            .bind(push_prefix(id))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Makes `conn` the subscriber's WebSocket connection, taking over from any other (whose
    /// leases are dropped, so every pending row is sent again on this one). `NotFound` for
    /// another project's or an unknown subscriber; `Ok(false)` when it has an address (pushed).
    pub async fn attach_subscriber_ws(&self, project_id: &str, id: &str, conn: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(
            "UPDATE event_subscribers SET ws_connection = $1 WHERE project_id = $2 AND id = $3 AND address IS NULL",
        )
        .bind(conn)
        .bind(project_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            drop(tx);
            return self.get_subscriber(project_id, id).await.map(|_| false);
        }
        sqlx::query("UPDATE outbox SET claimed_by = NULL, claimed_until = NULL WHERE sink = $1 AND sink_config = $2")
            .bind(SINK_WS)
            .bind(ws_config(id))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Whether `conn` still serves the subscriber (checked by the connection on every poll).
    pub async fn subscriber_ws_ownership(&self, id: &str, conn: &str) -> Result<WsOwnership, StoreError> {
        let row = sqlx::query("SELECT ws_connection, address FROM event_subscribers WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            None => WsOwnership::Deleted,
            Some(r) if opt_s(&r, "address")?.is_some() => WsOwnership::Pushed,
            Some(r) if opt_s(&r, "ws_connection")?.as_deref() != Some(conn) => WsOwnership::Replaced,
            Some(_) => WsOwnership::Owner,
        })
    }

    /// Leases up to `limit` of the subscriber's unleased WebSocket rows to `conn`, oldest first
    /// (`created_at`, then id).
    pub async fn claim_subscriber_ws(
        &self,
        id: &str,
        conn: &str,
        limit: usize,
        lease: Duration,
        now_ms: i64,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let lock = crate::outbox::skip_locked(self.backend);
        let sql = format!(
            "UPDATE outbox SET claimed_by = $1, claimed_until = $2 \
             WHERE (claimed_until IS NULL OR claimed_until < $3) AND id IN (\
               SELECT id FROM outbox WHERE sink = $4 AND sink_config = $5 \
               AND (claimed_until IS NULL OR claimed_until < $3) ORDER BY created_at, id LIMIT $6 {lock}) \
             RETURNING id, message_id, project_id, task_id, sink, sink_config, payload, attempts, created_at"
        );
        let until = now_ms.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        let rows = sqlx::query(&sql)
            .bind(conn)
            .bind(until)
            .bind(now_ms)
            .bind(SINK_WS)
            .bind(ws_config(id))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        let mut items = rows.iter().map(crate::outbox::item).collect::<Result<Vec<_>, _>>()?;
        items.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(items)
    }

    /// Extends the leases `conn` holds until `until_ms` (a live connection keeps its rows).
    pub async fn renew_subscriber_ws(&self, conn: &str, until_ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET claimed_until = $1 WHERE claimed_by = $2 AND sink = $3")
            .bind(until_ms)
            .bind(conn)
            .bind(SINK_WS)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The client acknowledged an alarm: its row for this subscriber is gone, whichever
    /// connection sent it. Returns whether a row was deleted.
    pub async fn ack_subscriber_ws(&self, id: &str, message_id: &str) -> Result<bool, StoreError> {
        let r = sqlx::query("DELETE FROM outbox WHERE sink = $1 AND sink_config = $2 AND message_id = $3")
            .bind(SINK_WS)
            .bind(ws_config(id))
            .bind(message_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// The connection closed: its unacknowledged rows are due again at once (a reconnect gets
    /// them), and it no longer names itself the subscriber's connection.
    pub async fn detach_subscriber_ws(&self, id: &str, conn: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL, attempts = attempts + 1 \
             WHERE claimed_by = $1 AND sink = $2",
        )
        .bind(conn)
        .bind(SINK_WS)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE event_subscribers SET ws_connection = NULL WHERE id = $1 AND ws_connection = $2")
            .bind(id)
            .bind(conn)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_of_one_subscriber_share_the_prefix() {
        let id = "0123456789abcdef0123456789abcdef";
        let ws = ws_config(id);
        let push = push_config(id, "tcp://10.0.0.1:9000");
        assert_eq!(ws, format!("{{\"subscriber_id\":\"{id}\"}}"));
        let v: serde_json::Value = serde_json::from_str(&push).unwrap();
        assert_eq!(v["address"], "tcp://10.0.0.1:9000");
        assert_eq!(v["subscriber_id"], id);
        let prefix = push_prefix(id);
        assert!(push.starts_with(prefix.trim_end_matches('%')));
        assert!(!ws.starts_with(prefix.trim_end_matches('%')));
    }

    #[test]
    fn tcp_addresses_parse_or_explain() {
        assert_eq!(parse_tcp_address("tcp://10.0.0.1:9000"), Ok(("10.0.0.1".into(), 9000)));
        assert_eq!(
            parse_tcp_address("tcp://recv.example.com:1"),
            Ok(("recv.example.com".into(), 1))
        );
        assert_eq!(parse_tcp_address("tcp://[::1]:65535"), Ok(("::1".into(), 65535)));
        for bad in [
            "",
            "10.0.0.1:9000",
            "http://h:1",
            "tcp://h",
            "tcp://h:0",
            "tcp://h:65536",
            "tcp://h:x",
            "tcp://:80",
            "tcp://a b:80",
            "tcp://h/path:80",
            "tcp://user@h:80",
            "tcp://[zz]:80",
            "tcp://::1:80",
            "tcp://a..b:80",
        ] {
            assert!(parse_tcp_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn empty_source_list_follows_every_source() {
        assert!(follows(&[], Some("a")));
        assert!(follows(&[], None));
        let list = vec!["a".to_string(), "b".to_string()];
        assert!(follows(&list, Some("b")));
        assert!(!follows(&list, Some("c")));
        assert!(!follows(&list, None));
    }
}
