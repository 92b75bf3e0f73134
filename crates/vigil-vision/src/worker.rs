//! A bounded pool of dedicated inference threads. Async code submits work here (and awaits a
//! channel fed by the completion callback) instead of running models on the async runtime.

use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Mutex;
use std::thread::JoinHandle;

use crate::error::{Result, VisionError};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Fixed-size thread pool fed by a bounded queue.
pub struct WorkerPool {
    tx: Option<SyncSender<Job>>,
    handles: Vec<JoinHandle<()>>,
}

/// The result of a submitted job.
pub struct Pending<T>(Receiver<T>);

impl<T> Pending<T> {
    /// Blocks until the job finished (do not call on an async runtime thread).
    pub fn wait(self) -> Result<T> {
        self.0
            .recv()
            .map_err(|_| VisionError::Worker("job was dropped (worker panicked?)".into()))
    }
    /// The result if the job already finished.
    pub fn try_get(&self) -> Option<T> {
        self.0.try_recv().ok()
    }
}

impl WorkerPool {
    /// `threads` workers sharing a queue of at most `queue` waiting jobs.
    pub fn new(name: &str, threads: usize, queue: usize) -> Result<Self> {
        let (tx, rx) = mpsc::sync_channel::<Job>(queue);
        let rx = std::sync::Arc::new(Mutex::new(rx));
        let mut handles = Vec::new();
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            let h = std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || loop {
                    let job = match rx.lock() {
                        Ok(r) => r.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(j) => j(),
                        Err(_) => return,
                    }
                })
                .map_err(|e| VisionError::Worker(format!("cannot spawn worker: {e}")))?;
            handles.push(h);
        }
        Ok(Self { tx: Some(tx), handles })
    }

    fn sender(&self) -> Result<&SyncSender<Job>> {
        self.tx
            .as_ref()
            .ok_or_else(|| VisionError::Worker("pool is shut down".into()))
    }

    /// Queues `f`, calling `done` with its result on the worker thread. Fails immediately when
    /// the queue is full (live streams drop the frame and count it), never blocks.
    pub fn try_spawn<T: 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
        done: impl FnOnce(T) + Send + 'static,
    ) -> Result<()> {
        match self.sender()?.try_send(Box::new(move || done(f()))) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(VisionError::Worker("queue full".into())),
            Err(TrySendError::Disconnected(_)) => Err(VisionError::Worker("pool is shut down".into())),
        }
    }

    /// Queues `f`, blocking while the queue is full (files never drop frames).
    pub fn submit<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<Pending<T>> {
        let (tx, rx) = mpsc::channel();
        self.sender()?
            .send(Box::new(move || {
                let _ = tx.send(f());
            }))
            .map_err(|_| VisionError::Worker("pool is shut down".into()))?;
        Ok(Pending(rx))
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        self.tx.take();
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_jobs_and_reports_full_queue() {
        let pool = WorkerPool::new("t", 2, 4).unwrap_or_else(|e| panic!("{e}"));
        let jobs: Vec<_> = (0..8u64)
            .map(|i| pool.submit(move || i * i).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        let sum: u64 = jobs.into_iter().map(|j| j.wait().unwrap_or(0)).sum();
        assert_eq!(sum, 140);

        let blocker = WorkerPool::new("b", 1, 1).unwrap_or_else(|e| panic!("{e}"));
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        blocker
            .try_spawn(move || gate_rx.recv().ok(), |_| {})
            .unwrap_or_else(|e| panic!("{e}"));
        // Fill the single queue slot; the worker may or may not have taken the first job yet.
        let mut full = false;
        for _ in 0..3 {
            if blocker.try_spawn(|| (), |_| {}).is_err() {
                full = true;
                break;
            }
        }
        assert!(full, "a bounded queue must refuse work when full");
        let _ = gate_tx.send(());
    }
}
