//! vigil-worker: runs tasks. A [`Worker`] claims runnable tasks through leases in the store,
//! runs one supervised pipeline per task (built by a [`PipelineFactory`]; the real one attaches
//! the task to the [`engine`], which reads each source once for all its tasks), heartbeats, reports
//! task states, follows start/stop/update/delete and weekly schedules, and restarts failed
//! pipelines with backoff.

pub mod analysis;
pub mod engine;
pub mod node;
pub mod packages;
mod pipeline;
pub mod placement;
pub mod scene_recommend;
pub mod source_health;
pub mod source_spec;
pub mod stopping;
mod supervisor;
pub mod task_pipeline;
mod worker;

pub use pipeline::{PipelineEvent, PipelineFactory, PipelineHandle, StartError};
pub use worker::{WallClock, Worker, WorkerConfig};
