//! One task's pipeline under supervision: started, restarted with backoff after failures,
//! stopped on request. Owned by the worker loop; stopping never blocks it (the join happens on
//! a joiner thread, see [`crate::stopping`]).

use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::mpsc;
use vigil_store::tasks::TaskRecord;

use crate::pipeline::{PipelineEvent, PipelineFactory, PipelineHandle};

pub struct Supervised {
    task_id: String,
    pub project_id: String,
    /// Restarts after failures since this worker took the task (reported in `task_stats`).
    pub restarts: u64,
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
            task_id: task.id.clone(),
            project_id: task.project_id.clone(),
            restarts: 0,
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

    /// Whether an earlier pipeline of this task (in this process) is still being stopped; a new
    /// one must not start before it is gone.
    pub fn is_stopping(&self) -> bool {
        crate::stopping::is_stopping(&self.task_id)
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

    /// Raises the pipeline's stop flag and returns at once; the pipeline's thread is joined in
    /// the background while [`Self::is_stopping`] says so.
    pub fn stop(&mut self) {
        if let Some(h) = self.handle.take() {
            crate::stopping::stop_in_background(&self.task_id, h);
        }
    }

    /// A failure: stop what is left and schedule a restart.
    pub fn failed(&mut self) -> Duration {
        self.stop();
        let delay = restart_delay(self.failures);
        self.failures = self.failures.saturating_add(1);
        self.restarts = self.restarts.saturating_add(1);
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
