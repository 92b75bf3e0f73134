//! The cleanup job: deletes event-center alarms older than the alarm retention and outbox rows
//! that kept failing for longer than the outbox retention (`--alarm-retention-days`,
//! `--outbox-retention-days`). A project whose event rules set `retention_days` keeps its alarms
//! that long instead of the server default. It runs in every `vigil serve`/`vigil worker` process, hourly;
//! several processes deleting the same old rows is harmless.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use vigil_store::{Store, StoreError};

use crate::{Clock, SystemClock};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionConfig {
    /// Days event-center alarms are kept where the project sets no retention of its own; 0 keeps
    /// them forever.
    pub alarm_days: u64,
    /// Days an undeliverable outbox row is kept; 0 keeps it forever.
    pub outbox_days: u64,
    /// Time between runs.
    pub interval: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            alarm_days: 30,
            outbox_days: 7,
            interval: Duration::from_secs(3600),
        }
    }
}

/// What one run deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    pub alarms: u64,
    pub outbox: u64,
}

pub struct Retention {
    store: Store,
    config: RetentionConfig,
    clock: Arc<dyn Clock>,
}

fn cutoff(now_ms: i64, days: u64) -> i64 {
    now_ms.saturating_sub(i64::try_from(days).unwrap_or(i64::MAX / DAY_MS).saturating_mul(DAY_MS))
}

impl Retention {
    pub fn new(store: Store, config: RetentionConfig) -> Self {
        Self::with_clock(store, config, Arc::new(SystemClock))
    }

    pub fn with_clock(store: Store, config: RetentionConfig, clock: Arc<dyn Clock>) -> Self {
        Self { store, config, clock }
    }

    /// One cleanup pass.
    pub async fn run_once(&self) -> Result<Removed, StoreError> {
        let now = self.clock.now_ms();
        // Runs even with a default of 0: projects with their own retention are cleaned anyway.
        let mut removed = Removed {
            alarms: self
                .store
                .delete_alarms_past_retention(now, self.config.alarm_days)
                .await?,
            outbox: 0,
        };
        if self.config.outbox_days > 0 {
            removed.outbox = self
                .store
                .delete_failed_outbox_before(cutoff(now, self.config.outbox_days), now)
                .await?;
        }
        if removed.alarms > 0 {
            tracing::info!(
                alarms = removed.alarms,
                default_days = self.config.alarm_days,
                "deleted event-center alarms past their retention"
            );
        }
        if removed.outbox > 0 {
            tracing::warn!(
                alarms = removed.outbox,
                days = self.config.outbox_days,
                "gave up delivering alarms that kept failing past the outbox retention"
            );
        }
        Ok(removed)
    }

    /// Runs a pass at start and then every `interval`, until `shutdown` completes.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            if let Err(e) = self.run_once().await {
                tracing::warn!(error = %e, "alarm retention cleanup failed; trying again at the next run");
            }
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(self.config.interval) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoffs() {
        assert_eq!(cutoff(10 * DAY_MS, 3), 7 * DAY_MS);
        assert!(
            cutoff(0, u64::MAX) < 0,
            "huge retention: nothing is old enough, no overflow"
        );
    }
}
