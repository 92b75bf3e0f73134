//! One task's pipeline under supervision: started, restarted with backoff after failures,
//! stopped on request. Owned by the worker loop; no threads of its own.

use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::mpsc;
use vigil_store::tasks::TaskRecord;

use crate::pipeline::{PipelineEvent, PipelineFactory, PipelineHandle};

pub struct Supervised {
    /// The task revision the running pipeline was built from.
    pub revision: i64,
    handle: Option<Box<dyn PipelineHandle>>,
    pub events: mpsc::UnboundedReceiver<PipelineEvent>,
    events_tx: mpsc::UnboundedSender<PipelineEvent>,
    failures: u32,
    /// When the next restart may happen (after a failure).
    pub retry_at: Option<Instant>,
}

/// Exponential backoff with ±20 % jitter: 1 s, 2 s, 4 s … capped at 60 s.
pub fn restart_delay(failures: u32) -> Duration {
    let base = 1000u64.saturating_mul(1 << failures.min(6)).min(60_000);
    let jitter = rand::thread_rng().gen_range(0.8..1.2);
    Duration::from_millis((base as f64 * jitter) as u64)
}

impl Supervised {
    pub fn new(task: &TaskRecord) -> Self {
        let (events_tx, events) = mpsc::unbounded_channel();
        Self {
            revision: task.revision,
            handle: None,
            events,
            events_tx,
            failures: 0,
            retry_at: None,
        }
    }

    pub fn is_running(&self) -> bool {
        self.handle.is_some()
    }

    /// Starts the pipeline; on failure returns the error for the caller to report.
    pub fn start(&mut self, factory: &dyn PipelineFactory, task: &TaskRecord) -> Result<(), crate::StartError> {
        self.stop();
        self.revision = task.revision;
        self.retry_at = None;
        let handle = factory.start(task, self.events_tx.clone())?;
        self.handle = Some(handle);
        Ok(())
    }

    pub fn stop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.stop();
        }
    }

    /// A failure: stop what is left and schedule a restart.
    pub fn failed(&mut self) -> Duration {
        self.stop();
        let delay = restart_delay(self.failures);
        self.failures = self.failures.saturating_add(1);
        self.retry_at = Some(Instant::now() + delay);
        delay
    }

    /// Frames flow again: forget past failures.
    pub fn healthy(&mut self) {
        self.failures = 0;
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.stop();
    }
}
