//! Bounded frame queues and the fan-out hub between one reader and its consumers.
//!
//! Live sources use [`Overflow::DropOldest`]: when a consumer falls behind, the oldest
//! undelivered frame is discarded and counted. Files use [`Overflow::Block`]: the reader waits
//! for the slowest consumer, nothing is dropped.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::clock::CancelToken;
use crate::frame::Frame;
use crate::sampler::Sampler;

/// What a full queue does with a new frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Discard the oldest queued frame (live sources).
    DropOldest,
    /// Wait until the consumer takes one (files).
    Block,
}

/// How a consumer wants its frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SubscriberConfig {
    /// Queue length (at least 1).
    pub capacity: usize,
    /// Target analysis rate; `None` = every decoded frame.
    pub fps: Option<f64>,
}

impl Default for SubscriberConfig {
    fn default() -> Self {
        SubscriberConfig { capacity: 8, fps: None }
    }
}

struct QueueState {
    frames: VecDeque<Frame>,
    closed: bool,
    receiver_gone: bool,
}

struct Queue {
    state: Mutex<QueueState>,
    not_empty: Condvar,
    not_full: Condvar,
    capacity: usize,
    dropped: AtomicU64,
    delivered: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// The consuming end of one subscription. Dropping it unsubscribes.
pub struct FrameReceiver {
    queue: Arc<Queue>,
}

/// Result of a receive with timeout.
#[derive(Debug)]
pub enum Recv {
    Frame(Frame),
    /// Nothing arrived within the timeout; the stream is still open.
    Timeout,
    /// The reader has stopped (end of file, stopped, gave up) and the queue is drained.
    Closed,
}

impl FrameReceiver {
    /// Blocks until a frame arrives; `None` once the reader has stopped and the queue is empty.
    pub fn recv(&self) -> Option<Frame> {
        loop {
            match self.recv_timeout(Duration::from_secs(3600)) {
                Recv::Frame(f) => return Some(f),
                Recv::Closed => return None,
                Recv::Timeout => continue,
            }
        }
    }

    pub fn recv_timeout(&self, timeout: Duration) -> Recv {
        let deadline = Instant::now() + timeout;
        let mut st = lock(&self.queue.state);
        loop {
            if let Some(f) = st.frames.pop_front() {
                self.queue.delivered.fetch_add(1, Ordering::Relaxed);
                self.queue.not_full.notify_all();
                return Recv::Frame(f);
            }
            if st.closed {
                return Recv::Closed;
            }
            let now = Instant::now();
            if now >= deadline {
                return Recv::Timeout;
            }
            st = match self.queue.not_empty.wait_timeout(st, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// Frames discarded for this consumer because it was slower than the live source.
    pub fn dropped(&self) -> u64 {
        self.queue.dropped.load(Ordering::Relaxed)
    }

    /// Frames handed to this consumer so far.
    pub fn delivered(&self) -> u64 {
        self.queue.delivered.load(Ordering::Relaxed)
    }
}

impl Drop for FrameReceiver {
    fn drop(&mut self) {
        let mut st = lock(&self.queue.state);
        st.receiver_gone = true;
        st.frames.clear();
        self.queue.not_full.notify_all();
    }
}

struct Subscriber {
    queue: Arc<Queue>,
    sampler: Sampler,
}

/// Fan-out from one reader to its subscribers.
pub(crate) struct Hub {
    subs: Mutex<Vec<Subscriber>>,
    sub_added: Condvar,
    closed: Mutex<bool>,
}

impl Hub {
    pub(crate) fn new() -> Self {
        Hub {
            subs: Mutex::new(Vec::new()),
            sub_added: Condvar::new(),
            closed: Mutex::new(false),
        }
    }

    pub(crate) fn subscribe(&self, cfg: SubscriberConfig) -> FrameReceiver {
        let queue = Arc::new(Queue {
            state: Mutex::new(QueueState {
                frames: VecDeque::with_capacity(cfg.capacity.max(1)),
                closed: *lock(&self.closed),
                receiver_gone: false,
            }),
            not_empty: Condvar::new(),
            not_full: Condvar::new(),
            capacity: cfg.capacity.max(1),
            dropped: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
        });
        let mut subs = lock(&self.subs);
        subs.push(Subscriber {
            queue: queue.clone(),
            sampler: Sampler::new(cfg.fps),
        });
        self.sub_added.notify_all();
        FrameReceiver { queue }
    }

    /// Offers a frame to every subscriber (its sampler decides; `lead` as for
    /// [`Sampler::accept_early`](crate::Sampler::accept_early)). With `Overflow::Block` this
    /// waits for room, and with no subscriber at all waits for the first one, so that a file is
    /// never read into the void. Returns the number of frames dropped by this call.
    pub(crate) fn publish(&self, frame: &Frame, lead: Duration, mode: Overflow, cancel: &CancelToken) -> u64 {
        let mut subs = lock(&self.subs);
        subs.retain(|s| !lock(&s.queue.state).receiver_gone);
        if mode == Overflow::Block {
            while subs.is_empty() && !cancel.is_cancelled() {
                subs = match self.sub_added.wait_timeout(subs, Duration::from_millis(50)) {
                    Ok((g, _)) => g,
                    Err(p) => p.into_inner().0,
                };
                subs.retain(|s| !lock(&s.queue.state).receiver_gone);
            }
        }
        let mut dropped = 0;
        for s in subs.iter_mut() {
            if !s.sampler.accept_early(frame.session(), frame.media_time(), lead) {
                continue;
            }
            let q = &s.queue;
            let mut st = lock(&q.state);
            match mode {
                Overflow::DropOldest => {
                    while st.frames.len() >= q.capacity {
                        st.frames.pop_front();
                        q.dropped.fetch_add(1, Ordering::Relaxed);
                        dropped += 1;
                    }
                }
                Overflow::Block => {
                    while st.frames.len() >= q.capacity && !st.receiver_gone && !cancel.is_cancelled() {
                        st = match q.not_full.wait_timeout(st, Duration::from_millis(50)) {
                            Ok((g, _)) => g,
                            Err(p) => p.into_inner().0,
                        };
                    }
                    if st.receiver_gone || cancel.is_cancelled() {
                        continue;
                    }
                }
            }
            st.frames.push_back(frame.clone());
            q.not_empty.notify_one();
        }
        dropped
    }

    /// Whether any subscriber may sample a picture at `t` (see [`Sampler::wants`]); true with
    /// no subscriber (a file waits for one).
    pub(crate) fn wants(&self, session: u32, t: Duration, step: Duration, lead: Duration) -> bool {
        let mut subs = lock(&self.subs);
        // Every sampler hears of the picture (no short cut): each remembers what it was offered.
        subs.is_empty()
            || subs
                .iter_mut()
                .filter(|s| !lock(&s.queue.state).receiver_gone)
                .fold(false, |any, s| s.sampler.wants(session, t, step, lead) | any)
    }

    /// Ends every subscription: receivers drain what is queued, then see `Closed`.
    pub(crate) fn close(&self) {
        *lock(&self.closed) = true;
        let subs = lock(&self.subs);
        for s in subs.iter() {
            lock(&s.queue.state).closed = true;
            s.queue.not_empty.notify_all();
        }
        self.sub_added.notify_all();
    }
}
