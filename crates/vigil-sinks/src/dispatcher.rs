//! The delivery loop: claims due outbox rows, delivers them with bounded concurrency, deletes a
//! row once its sink acknowledged it and reschedules it with exponential backoff and jitter when
//! not. It never gives up (at-least-once, until the outbox retention removes a row that failed
//! for days); receivers deduplicate on `message_id`. Alarm production only ever writes the
//! outbox, so a slow or dead receiver cannot hold it up.
//!
//! Fairness between tenants: claims are round robin between projects with at most
//! `per_project` deliveries of one project in flight (`Store::claim_due_fair`), and a failing
//! destination is paused with a growing delay while its alarms wait (`destinations`), so one
//! tenant's dead webhook neither takes every slot nor costs a timeout per queued alarm.

use std::future::Future;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};
use vigil_store::outbox::OutboxItem;
use vigil_store::{Store, StoreError};

use crate::destinations::{DestinationKey, Destinations};
use crate::{AlarmPayload, Backoff, Clock, SinkError, Sinks, SystemClock};

#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    /// Names this process's leases (`claimed_by`); unique per process.
    pub worker_id: String,
    /// Rows claimed per query at most.
    pub batch: usize,
    /// Deliveries in flight at most.
    pub concurrency: usize,
    /// Deliveries of one project and sink kind in flight at most, across every dispatcher
    /// sharing the database (fairness between tenants).
    pub per_project: usize,
    /// How long a claimed row stays ours; longer than the slowest sink timeout, so that only a
    /// dead worker's rows are taken over.
    pub lease: Duration,
    /// Pause between polls when nothing is due (a `wake()` cuts it short).
    pub poll_interval: Duration,
    pub backoff: Backoff,
    /// How often the backlog is logged.
    pub stats_interval: Duration,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        Self {
            worker_id: format!("dispatcher-{}", uuid::Uuid::new_v4().simple()),
            batch: 32,
            concurrency: 16,
            per_project: 4,
            lease: Duration::from_secs(120),
            poll_interval: Duration::from_millis(500),
            backoff: Backoff::default(),
            stats_interval: Duration::from_secs(60),
        }
    }
}

/// Running totals of this dispatcher, for logs and metrics.
#[derive(Debug, Default)]
pub struct Counters {
    delivered: AtomicU64,
    retried: AtomicU64,
    deferred: AtomicU64,
    pending: AtomicI64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountersSnapshot {
    /// Deliveries acknowledged by a sink.
    pub delivered: u64,
    /// Failed attempts that were rescheduled.
    pub retried: u64,
    /// Rows put back untried because their destination was paused.
    pub deferred: u64,
    /// Outbox rows (all workers) at the last backlog check.
    pub pending: i64,
}

impl Counters {
    pub fn snapshot(&self) -> CountersSnapshot {
        CountersSnapshot {
            delivered: self.delivered.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            deferred: self.deferred.load(Ordering::Relaxed),
            pending: self.pending.load(Ordering::Relaxed),
        }
    }
}

struct Inner {
    store: Store,
    sinks: Sinks,
    config: DispatcherConfig,
    clock: Arc<dyn Clock>,
    counters: Arc<Counters>,
    destinations: Destinations,
    wake: Notify,
}

/// Cheap to clone; clones share counters and the wake-up signal.
#[derive(Clone)]
pub struct Dispatcher(Arc<Inner>);

impl Dispatcher {
    pub fn new(store: Store, sinks: Sinks, config: DispatcherConfig) -> Self {
        Self::with_clock(store, sinks, config, Arc::new(SystemClock))
    }

    pub fn with_clock(store: Store, sinks: Sinks, config: DispatcherConfig, clock: Arc<dyn Clock>) -> Self {
        Self(Arc::new(Inner {
            store,
            sinks,
            destinations: Destinations::new(config.backoff),
            config,
            clock,
            counters: Arc::default(),
            wake: Notify::new(),
        }))
    }

    pub fn counters(&self) -> Arc<Counters> {
        self.0.counters.clone()
    }

    /// Tells the loop that alarms were just enqueued, so it does not wait for its next poll.
    pub fn wake(&self) {
        self.0.wake.notify_one();
    }

    /// Claims one batch, delivers it and waits for every attempt; returns how many were claimed.
    /// The loop of `run` is made of the same steps; tests drive this one with a manual clock.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let inner = &self.0;
        let items = inner
            .store
            .claim_due_fair(
                &inner.config.worker_id,
                inner.config.batch,
                inner.config.per_project,
                inner.config.lease,
                inner.clock.now_ms(),
            )
            .await?;
        let n = items.len();
        let mut tasks = JoinSet::new();
        for item in items {
            while tasks.len() >= inner.config.concurrency.max(1) {
                tasks.join_next().await;
            }
            let me = self.clone();
            tasks.spawn(async move { me.deliver_one(item).await });
        }
        while tasks.join_next().await.is_some() {}
        Ok(n)
    }

    /// Delivers until `shutdown` completes, then waits for the deliveries in flight.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        let inner = self.0.clone();
        let cfg = &inner.config;
        tracing::info!(worker = %cfg.worker_id, concurrency = cfg.concurrency, "alarm dispatcher started");
        let mut tasks: JoinSet<()> = JoinSet::new();
        let mut shutdown = std::pin::pin!(shutdown);
        let mut stats_due = tokio::time::Instant::now();
        loop {
            while tasks.try_join_next().is_some() {}
            let free = cfg.concurrency.max(1).saturating_sub(tasks.len());
            let asked = free.min(cfg.batch.max(1));
            let mut claimed = 0;
            if asked > 0 {
                match inner
                    .store
                    .claim_due_fair(&cfg.worker_id, asked, cfg.per_project, cfg.lease, inner.clock.now_ms())
                    .await
                {
                    Ok(items) => {
                        claimed = items.len();
                        for item in items {
                            let me = self.clone();
                            tasks.spawn(async move { me.deliver_one(item).await });
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "cannot read the alarm outbox; retrying"),
                }
            }
            if tokio::time::Instant::now() >= stats_due {
                stats_due = tokio::time::Instant::now() + cfg.stats_interval;
                self.log_backlog().await;
            }
            if claimed > 0 && claimed == asked {
                continue;
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(cfg.poll_interval) => {}
                _ = inner.wake.notified() => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        while tasks.join_next().await.is_some() {}
        tracing::info!(worker = %cfg.worker_id, "alarm dispatcher stopped");
    }

    /// Runs `run` on the current runtime.
    pub fn spawn(self, shutdown: impl Future<Output = ()> + Send + 'static) -> JoinHandle<()> {
        tokio::spawn(self.run(shutdown))
    }

    async fn log_backlog(&self) {
        let inner = &self.0;
        match inner.store.outbox_stats(inner.clock.now_ms()).await {
            Ok(s) => {
                inner.counters.pending.store(s.pending, Ordering::Relaxed);
                let c = inner.counters.snapshot();
                if s.pending > 0 {
                    tracing::info!(
                        pending = s.pending,
                        oldest_age_s = s.oldest_age_ms / 1000,
                        max_attempts = s.max_attempts,
                        delivered = c.delivered,
                        retried = c.retried,
                        "alarm outbox backlog"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the alarm outbox statistics"),
        }
    }

    /// One attempt for one row; the row is acknowledged or rescheduled, never dropped. A row of
    /// a paused destination goes back untried.
    async fn deliver_one(&self, item: OutboxItem) {
        let inner = &self.0;
        let key = DestinationKey::of(&item);
        if let Some(until) = inner.destinations.paused_until(&key, inner.clock.now_ms()) {
            inner.counters.deferred.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = inner.store.defer(&item.id, until).await {
                tracing::error!(message_id = %item.message_id, error = %e, "cannot defer an alarm; its lease will expire and it is retried then");
            }
            return;
        }
        let started = std::time::Instant::now();
        let result = match AlarmPayload::from_item(&item) {
            Ok(p) => inner.sinks.deliver(&p).await,
            Err(e) => Err(e),
        };
        record_attempt(&item, result.is_ok(), started.elapsed(), inner.clock.now_ms());
        match result {
            Ok(()) => {
                inner.destinations.succeeded(&key);
                inner.counters.delivered.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(message_id = %item.message_id, sink = %item.sink, attempts = item.attempts + 1, "alarm delivered");
                if let Err(e) = inner.store.ack(&item.id).await {
                    // The lease runs out and the alarm is sent again: a duplicate, not a loss.
                    tracing::error!(message_id = %item.message_id, error = %e, "delivered alarm could not be removed from the outbox");
                }
            }
            Err(e) => self.reschedule(&item, &key, e).await,
        }
    }

    async fn reschedule(&self, item: &OutboxItem, key: &DestinationKey, e: SinkError) {
        let inner = &self.0;
        let failures = u32::try_from(item.attempts + 1).unwrap_or(u32::MAX);
        let backoff = &inner.config.backoff;
        let delay = if e.is_retryable() {
            backoff.next_delay(failures)
        } else {
            backoff.cap
        };
        let now = inner.clock.now_ms();
        let mut next = now.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
        if e.is_retryable() {
            // The destination itself may be down: pause it, and its queued alarms with it.
            let until = inner.destinations.failed(key, now);
            next = next.max(until);
            match inner
                .store
                .defer_output(&key.project_id, &key.sink, &key.sink_config, until, now)
                .await
            {
                Ok(n) if n > 0 => {
                    tracing::debug!(project_id = %key.project_id, sink = %key.sink, deferred = n, "destination paused")
                }
                Ok(_) => {}
                Err(se) => tracing::warn!(error = %se, "cannot pause a failing destination's queued alarms"),
            }
        }
        let delay = std::time::Duration::from_millis(u64::try_from(next - now).unwrap_or(0));
        inner.counters.retried.fetch_add(1, Ordering::Relaxed);
        if e.is_retryable() {
            tracing::warn!(message_id = %item.message_id, task_id = %item.task_id, sink = %item.sink,
                attempt = failures, retry_in_ms = delay.as_millis() as u64, error = %e,
                "alarm delivery failed; will retry (check that the receiver is up)");
        } else {
            tracing::error!(message_id = %item.message_id, task_id = %item.task_id, sink = %item.sink,
                attempt = failures, retry_in_ms = delay.as_millis() as u64, error = %e,
                "alarm refused; fix the receiver or the task's output settings, it is retried at the slowest pace");
        }
        if let Err(se) = inner.store.retry_later(&item.id, &e.to_string(), next).await {
            tracing::error!(message_id = %item.message_id, error = %se, "cannot reschedule an alarm; its lease will expire and it is retried then");
        }
    }
}

/// `/metrics`: attempt duration and outcome per sink kind (`webhook`, `obs`, `dis`; never the
/// destination), and for acknowledged alarms the time they spent in the outbox.
fn record_attempt(item: &OutboxItem, ok: bool, took: Duration, now_ms: i64) {
    let sink = item.sink.clone();
    let result = if ok { "ok" } else { "error" };
    metrics::histogram!("vigil_delivery_duration_seconds", "sink" => sink.clone(), "result" => result)
        .record(took.as_secs_f64());
    if ok {
        metrics::counter!("vigil_deliveries_total", "sink" => sink.clone()).increment(1);
        let lag_ms = now_ms.saturating_sub(item.created_at).max(0);
        metrics::histogram!("vigil_alarm_delivery_lag_seconds", "sink" => sink).record(lag_ms as f64 / 1000.0);
    } else {
        metrics::counter!("vigil_delivery_failures_total", "sink" => sink).increment(1);
    }
}
