//! Background jobs that die are restarted: a job (the dispatcher, the prober, the retention
//! cleanup, the task worker) is only meant to end on shutdown, so a return or a panic before it
//! is logged as an error naming the job and the job is started again after a backoff.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Backoff between restarts: `first`, doubling per consecutive death, at most `max`; a job that
/// ran for `healthy_after` before dying starts over from `first`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
    pub healthy_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            first: Duration::from_secs(1),
            max: Duration::from_secs(60),
            healthy_after: Duration::from_secs(300),
        }
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> &str {
    p.downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| p.downcast_ref::<&str>().copied())
        .unwrap_or("?")
}

/// Runs `make()` as a task, again and again until `stop` is raised. The returned handle ends
/// once the job has ended after shutdown.
pub fn supervise<F, Fut>(
    name: &'static str,
    stop: watch::Receiver<bool>,
    backoff: Backoff,
    mut make: F,
) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut delay = backoff.first;
        loop {
            let started = tokio::time::Instant::now();
            // Its own task, so that a panic ends the job and not this loop.
            let outcome = tokio::spawn(make()).await;
            if *stop.borrow() {
                return;
            }
            match outcome {
                Ok(()) => tracing::error!(job = name, "background job ended before shutdown; restarting it"),
                Err(e) if e.is_panic() => {
                    let panic = e.into_panic();
                    tracing::error!(
                        job = name,
                        panic = panic_message(panic.as_ref()),
                        "background job panicked; restarting it"
                    );
                }
                Err(_) => tracing::error!(job = name, "background job was cancelled; restarting it"),
            }
            if started.elapsed() >= backoff.healthy_after {
                delay = backoff.first;
            }
            tracing::warn!(
                job = name,
                retry_in_s = delay.as_secs_f32(),
                "background job restarts after a pause"
            );
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = crate::jobs::stopped(stop.clone()) => return,
            }
            delay = (delay * 2).min(backoff.max);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A job that panics twice, then runs until shutdown, is started three times and stops
    /// with the shutdown flag.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_that_panics_twice_is_restarted_twice() {
        let (stop_tx, stop_rx) = watch::channel(false);
        let starts = Arc::new(AtomicUsize::new(0));
        let backoff = Backoff {
            first: Duration::from_millis(10),
            max: Duration::from_millis(40),
            healthy_after: Duration::from_secs(60),
        };
        let job = {
            let (starts, stop_rx) = (starts.clone(), stop_rx.clone());
            supervise("test", stop_rx.clone(), backoff, move || {
                let n = starts.fetch_add(1, Ordering::SeqCst);
                let stop = stop_rx.clone();
                async move {
                    if n < 2 {
                        panic!("job died {n}");
                    }
                    crate::jobs::stopped(stop).await;
                }
            })
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while starts.load(Ordering::SeqCst) < 3 {
            assert!(std::time::Instant::now() < deadline, "not restarted: {starts:?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Running healthily now: no further restart.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(starts.load(Ordering::SeqCst), 3);
        stop_tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), job)
            .await
            .expect("the supervisor ends on shutdown")
            .unwrap();
        assert_eq!(starts.load(Ordering::SeqCst), 3);
    }

    /// A job that returns early is restarted too; one that returns on shutdown is not.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_that_returns_early_is_restarted() {
        let (stop_tx, stop_rx) = watch::channel(false);
        let starts = Arc::new(AtomicUsize::new(0));
        let backoff = Backoff {
            first: Duration::from_millis(10),
            ..Backoff::default()
        };
        let job = {
            let starts = starts.clone();
            supervise("early", stop_rx, backoff, move || {
                starts.fetch_add(1, Ordering::SeqCst);
                async {}
            })
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while starts.load(Ordering::SeqCst) < 2 {
            assert!(std::time::Instant::now() < deadline, "not restarted");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stop_tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), job)
            .await
            .unwrap()
            .unwrap();
    }
}
