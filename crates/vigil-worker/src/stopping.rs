//! Pipelines being stopped, off the async runtime. Stopping a pipeline joins its thread, which
//! can take as long as the frame it is analysing or the source call it is blocked in; the worker
//! loop runs on the async runtime and must not wait for that. So a stop is handed to a detached
//! joiner thread that calls [`PipelineHandle::stop`] (the stop flag is raised at once, the join
//! happens there), and the task id is counted as "stopping" until the join returns.
//!
//! The guarantee that two pipelines of one task never run at once in this process: the worker
//! starts a task's pipeline only when [`is_stopping`] says no earlier pipeline of that task is
//! still winding down (it tries again on a later tick), and on shutdown it releases a task's
//! lease only after its pipeline was joined ([`wait_idle`]). The registry is process-wide, not
//! per `Worker`, so a worker restarted after a panic also waits for its predecessor's pipelines.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::pipeline::PipelineHandle;

fn registry() -> &'static Mutex<HashMap<String, usize>> {
    static STOPPING: OnceLock<Mutex<HashMap<String, usize>>> = OnceLock::new();
    STOPPING.get_or_init(Default::default)
}

fn change(task_id: &str, up: bool) {
    let mut m = registry().lock().unwrap_or_else(|e| e.into_inner());
    if up {
        *m.entry(task_id.to_string()).or_default() += 1;
    } else if let Some(n) = m.get_mut(task_id) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            m.remove(task_id);
        }
    }
}

/// Counts the task as stopping until the joiner has stopped `handle`; never blocks the caller.
pub fn stop_in_background(task_id: &str, handle: Box<dyn PipelineHandle>) {
    change(task_id, true);
    let id = task_id.to_string();
    // The handle travels to the joiner; it comes back in the error if the thread cannot start.
    let slot = std::sync::Arc::new(Mutex::new(Some(handle)));
    let theirs = slot.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("stop-{}", &id[..8.min(id.len())]))
        .spawn(move || {
            let h = theirs.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(h) = h {
                h.stop();
            }
            change(&id, false);
        });
    if let Err(e) = spawned {
        // No thread to spare: stop here rather than leave the pipeline running.
        tracing::warn!(task_id, error = %e, "cannot start a joiner thread; stopping the pipeline in place");
        let h = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = h {
            h.stop();
        }
        change(task_id, false);
    }
}

/// Whether a pipeline of `task_id` is still being stopped.
pub fn is_stopping(task_id: &str) -> bool {
    registry()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains_key(task_id)
}

/// Waits (asynchronously) until none of `task_ids` is stopping, at most `limit`; returns those
/// still stopping then.
pub async fn wait_idle(task_ids: &[String], limit: Duration) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let busy: Vec<String> = task_ids.iter().filter(|id| is_stopping(id)).cloned().collect();
        if busy.is_empty() || tokio::time::Instant::now() >= deadline {
            return busy;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
