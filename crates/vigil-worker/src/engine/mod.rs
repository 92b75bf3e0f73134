//! The analysis engine: one reader per distinct source, perception computed once per frame for
//! every task on it, each task's analyzer fed the shared result (docs/engine.md).
//!
//! ```text
//! StreamHub ── source key ──► SourceRunner (one thread per source)
//!                               reader (decode, sampled at the fastest task's rate)
//!                               └► BGR once ─► Perceiver (union of the due tasks' Needs)
//!                                    └► Arc<Perception> ─► each due task: Analyzer::process
//!                                         └► render ─► AlarmSink (outbox / stdout)
//! ```

mod frame_clock;
mod meter;
mod source_key;
mod source_runner;
mod stream_hub;
mod task_slot;
pub mod throughput;

pub use frame_clock::FrameClock;
pub use source_key::source_key;
pub use stream_hub::{Attachment, EngineSettings, HubStats, SourceStats, StreamHub};
pub use task_slot::{AlarmSink, Produced, RenderSwitches, TaskSlot, TaskStatusFn};
