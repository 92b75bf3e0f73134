//! Per-task throughput of this process, as the engine measures it: cumulative frame counts and
//! the latest rates. The engine adds to it every few seconds; the worker reads it for the
//! `task_stats` rows and forgets a task when it stops running here. Counts survive pipeline
//! restarts of the task (a restart is a new engine attachment of the same task id).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// One task's numbers since this process took it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TaskThroughput {
    pub analysed_frames: u64,
    /// Frames of its live source dropped while the task was on it.
    pub dropped_frames: u64,
    /// Stall restarts of its source while the task was on it.
    pub stall_restarts: u64,
    pub analysed_fps: f64,
    pub decode_fps: f64,
}

/// What one measurement adds (counts) and replaces (rates; `None` keeps the previous ones).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sample {
    pub analysed: u64,
    pub dropped: u64,
    pub stall_restarts: u64,
    pub rates: Option<(f64, f64)>,
}

fn registry() -> &'static Mutex<HashMap<String, TaskThroughput>> {
    static REGISTRY: OnceLock<Mutex<HashMap<String, TaskThroughput>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

fn lock() -> std::sync::MutexGuard<'static, HashMap<String, TaskThroughput>> {
    registry().lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn add(task_id: &str, s: Sample) {
    let mut map = lock();
    let t = map.entry(task_id.to_string()).or_default();
    t.analysed_frames += s.analysed;
    t.dropped_frames += s.dropped;
    t.stall_restarts += s.stall_restarts;
    if let Some((analysed_fps, decode_fps)) = s.rates {
        t.analysed_fps = analysed_fps;
        t.decode_fps = decode_fps;
    }
}

/// The task's numbers, if the engine measured it in this process.
pub fn get(task_id: &str) -> Option<TaskThroughput> {
    lock().get(task_id).copied()
}

/// The task stopped running here.
pub fn forget(task_id: &str) {
    lock().remove(task_id);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_and_rates_are_replaced() {
        let id = "throughput-unit-test";
        add(
            id,
            Sample {
                analysed: 10,
                dropped: 1,
                stall_restarts: 0,
                rates: Some((5.0, 10.0)),
            },
        );
        add(
            id,
            Sample {
                analysed: 5,
                rates: None,
                ..Default::default()
            },
        );
        let t = get(id).unwrap();
        assert_eq!((t.analysed_frames, t.dropped_frames), (15, 1));
        assert_eq!((t.analysed_fps, t.decode_fps), (5.0, 10.0));
        forget(id);
        assert!(get(id).is_none());
    }
}
