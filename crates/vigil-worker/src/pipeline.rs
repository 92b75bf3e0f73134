//! The boundary between the worker and what analyses a task: a factory that starts a pipeline
//! for a task row, and the events a pipeline reports.

use tokio::sync::mpsc::UnboundedSender;
use vigil_store::tasks::TaskRecord;

/// What a running pipeline tells its supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineEvent {
    /// Frames flow and are analysed.
    Running,
    /// The pipeline is alive but its input is not (camera down, stalled stream): `ABNORMAL`.
    Abnormal { code: String, message: String },
    /// A finite input (file) was analysed to its end: `SUCCEEDED`.
    Finished,
    /// The pipeline stopped on an error it cannot recover from by itself; it will be restarted
    /// with backoff, or the task ends `FAILED` when `fatal`.
    Failed { code: String, message: String, fatal: bool },
}

/// Why a pipeline could not start (`START_FAILED` when not retryable).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct StartError {
    pub code: String,
    pub message: String,
    pub retryable: bool,
}

/// A running pipeline. Dropping it must not block; `stop` raises the stop flag and waits for
/// the pipeline's threads (the worker calls it on a joiner thread, never on the runtime).
pub trait PipelineHandle: Send {
    fn stop(self: Box<Self>);
}

pub trait PipelineFactory: Send + Sync + 'static {
    /// Starts the pipeline of `task`; events go to `events` tagged by the caller.
    fn start(
        &self,
        task: &TaskRecord,
        events: UnboundedSender<PipelineEvent>,
    ) -> Result<Box<dyn PipelineHandle>, StartError>;
}
