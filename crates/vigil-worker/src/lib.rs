//! vigil-worker: runs tasks. A [`Worker`] claims runnable tasks through leases in the store,
//! runs one supervised pipeline per task (built by a [`PipelineFactory`]), heartbeats, reports
//! task states, follows start/stop/update/delete and weekly schedules, and restarts failed
//! pipelines with backoff.

pub mod analysis;
mod pipeline;
pub mod source_health;
pub mod source_spec;
mod supervisor;
pub mod task_pipeline;
mod worker;

pub use pipeline::{PipelineEvent, PipelineFactory, PipelineHandle, StartError};
pub use worker::{WallClock, Worker, WorkerConfig};
