//! The supervised reader: one thread per stream that opens the source, decodes, samples and
//! fans frames out, and reconnects with backoff when a live source fails. Its status is a
//! stream of [`StreamStatus`] values that anyone can subscribe to.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use tokio::sync::broadcast;

use crate::clock::{Backoff, CancelToken, Clock, SystemClock};
use crate::decode::{DecodeOptions, Decoder};
use crate::error::{ErrorKind, MediaError, Result};
use crate::queue::{FrameReceiver, Hub, Overflow, SubscriberConfig};
use crate::source::{DefaultOpener, Opener, Source};
use crate::spec::SourceSpec;

static ACTIVE_READERS: AtomicUsize = AtomicUsize::new(0);

/// Reader threads currently alive in this process (for leak checks and metrics).
pub fn active_reader_threads() -> usize {
    ACTIVE_READERS.load(Ordering::SeqCst)
}

/// Where a stream stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamStatus {
    /// First connection attempt in progress.
    Connecting,
    /// Frames are flowing.
    Online,
    /// Lost or cannot reach the source (network trouble, stall); retrying.
    Offline(MediaError),
    /// The source answers but is unusable (auth, not found, codec, corrupt data); retrying for
    /// live sources, since cameras get fixed.
    Abnormal(MediaError),
    /// The reader stopped for good: end of a file (`None`), or a file/exhausted retries error.
    Ended(Option<MediaError>),
}

impl StreamStatus {
    fn from_error(e: MediaError) -> Self {
        if e.kind().is_transient() {
            StreamStatus::Offline(e)
        } else {
            StreamStatus::Abnormal(e)
        }
    }

    /// Same state and error kind (messages may differ between retries).
    fn same_as(&self, other: &StreamStatus) -> bool {
        use StreamStatus::*;
        match (self, other) {
            (Connecting, Connecting) | (Online, Online) => true,
            (Offline(a), Offline(b)) | (Abnormal(a), Abnormal(b)) => a.kind() == b.kind(),
            _ => false,
        }
    }

    pub fn is_online(&self) -> bool {
        matches!(self, StreamStatus::Online)
    }
}

/// File pacing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pace {
    /// As fast as the consumers take frames.
    #[default]
    AsFastAsConsumed,
    /// At the file's own speed, as if it were a camera.
    RealTime,
}

/// Reader settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReaderConfig {
    pub decode: DecodeOptions,
    pub pace: Pace,
    pub backoff: Backoff,
    /// Reconnect live sources after failures (default true). Files never reconnect: they end
    /// with their error.
    pub reconnect: bool,
    /// Give up after this many consecutive failed attempts (`None` = never, the default).
    pub max_attempts: Option<u32>,
}

impl Default for ReaderConfig {
    fn default() -> Self {
        ReaderConfig {
            decode: DecodeOptions::default(),
            pace: Pace::AsFastAsConsumed,
            backoff: Backoff::default(),
            reconnect: true,
            max_attempts: None,
        }
    }
}

/// Counters of one reader.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReaderStats {
    pub packets: u64,
    pub decoded: u64,
    /// Frames dropped for slow consumers (live sources), summed over subscribers.
    pub dropped: u64,
    /// Successful opens after the first.
    pub reconnects: u64,
    /// Failed open attempts and lost sessions.
    pub failures: u64,
}

struct StatusState {
    current: StreamStatus,
    history: Vec<(Duration, StreamStatus)>,
    stream_path: Option<String>,
}

struct Shared {
    hub: Hub,
    status: Mutex<StatusState>,
    status_cv: Condvar,
    events: broadcast::Sender<StreamStatus>,
    packets: AtomicU64,
    decoded: AtomicU64,
    dropped: AtomicU64,
    reconnects: AtomicU64,
    failures: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl Shared {
    fn set_status(&self, s: StreamStatus, clock: &dyn Clock) {
        let mut st = lock(&self.status);
        if st.current.same_as(&s) {
            return;
        }
        tracing::info!(status = ?s, "stream status");
        st.current = s.clone();
        if st.history.len() >= 256 {
            st.history.remove(0);
        }
        st.history.push((clock.now(), s.clone()));
        // No subscriber is fine.
        let _ = self.events.send(s);
        self.status_cv.notify_all();
    }
}

/// Things the reader uses that tests replace.
pub struct ReaderDeps {
    pub opener: Arc<dyn Opener>,
    pub clock: Arc<dyn Clock>,
    pub rng: Box<dyn RngCore + Send>,
}

impl Default for ReaderDeps {
    fn default() -> Self {
        ReaderDeps {
            opener: Arc::new(DefaultOpener::default()),
            clock: Arc::new(SystemClock::default()),
            rng: Box::new(StdRng::from_entropy()),
        }
    }
}

/// A running reader. Dropping it stops the thread and waits for it.
pub struct StreamReader {
    shared: Arc<Shared>,
    cancel: CancelToken,
    thread: Option<JoinHandle<()>>,
}

impl StreamReader {
    /// Starts reading `spec` with the real opener and clock.
    pub fn start(spec: SourceSpec, config: ReaderConfig) -> Result<Self> {
        Self::start_with(spec, config, ReaderDeps::default())
    }

    /// Starts reading with the given opener/clock/randomness.
    pub fn start_with(spec: SourceSpec, config: ReaderConfig, deps: ReaderDeps) -> Result<Self> {
        crate::init();
        let (events, _) = broadcast::channel(64);
        let shared = Arc::new(Shared {
            hub: Hub::new(),
            status: Mutex::new(StatusState {
                current: StreamStatus::Connecting,
                history: vec![(deps.clock.now(), StreamStatus::Connecting)],
                stream_path: None,
            }),
            status_cv: Condvar::new(),
            events,
            packets: AtomicU64::new(0),
            decoded: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        });
        let cancel = CancelToken::new();
        let (s2, c2) = (shared.clone(), cancel.clone());
        ACTIVE_READERS.fetch_add(1, Ordering::SeqCst);
        let thread = std::thread::Builder::new()
            .name("vigil-media-reader".into())
            .spawn(move || {
                struct Guard;
                impl Drop for Guard {
                    fn drop(&mut self) {
                        ACTIVE_READERS.fetch_sub(1, Ordering::SeqCst);
                    }
                }
                let _g = Guard;
                let mut run = Run {
                    spec,
                    cfg: config,
                    deps,
                    shared: s2.clone(),
                    cancel: c2,
                    index: 0,
                    session: 0,
                };
                run.run();
                s2.hub.close();
            })
            .map_err(|e| {
                ACTIVE_READERS.fetch_sub(1, Ordering::SeqCst);
                MediaError::new(ErrorKind::Internal, format!("spawning reader thread: {e}"))
            })?;
        Ok(StreamReader {
            shared,
            cancel,
            thread: Some(thread),
        })
    }

    /// A new consumer. Frames decoded before subscribing are not replayed; a file waits for
    /// its first subscriber before reading.
    pub fn subscribe(&self, cfg: SubscriberConfig) -> FrameReceiver {
        self.shared.hub.subscribe(cfg)
    }

    pub fn status(&self) -> StreamStatus {
        lock(&self.shared.status).current.clone()
    }

    /// Every status change from now on.
    pub fn status_events(&self) -> broadcast::Receiver<StreamStatus> {
        self.shared.events.subscribe()
    }

    /// All status changes so far with the clock time they happened at (last 256).
    pub fn status_history(&self) -> Vec<(Duration, StreamStatus)> {
        lock(&self.shared.status).history.clone()
    }

    /// The address actually opened last (VIAS `stream_path`).
    pub fn stream_path(&self) -> Option<String> {
        lock(&self.shared.status).stream_path.clone()
    }

    /// Blocks until the status satisfies `pred` or `timeout` passes; returns the status then.
    pub fn wait_status(&self, timeout: Duration, pred: impl Fn(&StreamStatus) -> bool) -> Option<StreamStatus> {
        let deadline = Instant::now() + timeout;
        let mut st = lock(&self.shared.status);
        loop {
            if pred(&st.current) {
                return Some(st.current.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            st = match self.shared.status_cv.wait_timeout(st, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }

    pub fn stats(&self) -> ReaderStats {
        let s = &self.shared;
        ReaderStats {
            packets: s.packets.load(Ordering::Relaxed),
            decoded: s.decoded.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            reconnects: s.reconnects.load(Ordering::Relaxed),
            failures: s.failures.load(Ordering::Relaxed),
        }
    }

    /// Whether the reader thread has finished.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Stops the reader and waits for its thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.cancel.cancel();
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                tracing::error!("reader thread panicked");
            }
        }
        self.shared.hub.close();
    }
}

impl Drop for StreamReader {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Run {
    spec: SourceSpec,
    cfg: ReaderConfig,
    deps: ReaderDeps,
    shared: Arc<Shared>,
    cancel: CancelToken,
    index: u64,
    session: u32,
}

impl Run {
    fn run(&mut self) {
        let live = self.spec.is_live();
        let clock = self.deps.clock.clone();
        let mut failures: u32 = 0;
        let mut opened_before = false;
        loop {
            if self.cancel.is_cancelled() {
                return;
            }
            let err = match self.deps.opener.open(&self.spec, &self.cancel) {
                Err(e) => e,
                Ok(mut src) => {
                    if opened_before {
                        self.shared.reconnects.fetch_add(1, Ordering::Relaxed);
                    }
                    opened_before = true;
                    lock(&self.shared.status).stream_path = Some(src.info().stream_path.clone());
                    self.shared.set_status(StreamStatus::Online, &*clock);
                    let before = self.index;
                    let res = self.pump(&mut *src, live);
                    drop(src);
                    if self.index > before {
                        failures = 0;
                    }
                    self.session += 1;
                    match res {
                        Ok(()) if !live => {
                            self.shared.set_status(StreamStatus::Ended(None), &*clock);
                            return;
                        }
                        Ok(()) => MediaError::new(ErrorKind::Unreachable, "stream ended"),
                        Err(e) => e,
                    }
                }
            };
            if err.kind() == ErrorKind::Cancelled || self.cancel.is_cancelled() {
                return;
            }
            self.shared.failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(source = %self.spec.redacted(), error = %err, "source failed");
            let give_up = !live || !self.cfg.reconnect || self.cfg.max_attempts.is_some_and(|m| failures + 1 >= m);
            if give_up {
                self.shared.set_status(StreamStatus::Ended(Some(err)), &*clock);
                return;
            }
            self.shared.set_status(StreamStatus::from_error(err), &*clock);
            let delay = self.cfg.backoff.delay(failures, &mut *self.deps.rng);
            failures = failures.saturating_add(1);
            if !clock.sleep(delay, &self.cancel) {
                return;
            }
        }
    }

    /// Decodes one session until end of stream (`Ok`) or an error.
    fn pump(&mut self, src: &mut dyn Source, live: bool) -> Result<()> {
        let info = src.info();
        let time_base = info.time_base;
        let max_size = Some(info.max_size);
        let mut dec = Decoder::with_limit(&info.params, time_base, self.cfg.decode, max_size)?;
        dec.set_wall_base(info.wall_base);
        let mode = if live { Overflow::DropOldest } else { Overflow::Block };
        let mut pace_origin: Option<(Duration, Duration)> = None;
        loop {
            if self.cancel.is_cancelled() {
                return Err(MediaError::cancelled());
            }
            let pkt = match src.read() {
                Ok(Some(p)) => p,
                Ok(None) => {
                    dec.send_eof();
                    self.drain(&mut dec, mode, &mut pace_origin)?;
                    return Ok(());
                }
                Err(e) => {
                    // Deliver the pictures the decoder still holds (reorder delay) before
                    // reporting the failure.
                    if e.kind() != ErrorKind::Cancelled {
                        dec.send_eof();
                        // The session already failed; a decode error here adds nothing.
                        let _ = self.drain(&mut dec, mode, &mut pace_origin);
                    }
                    return Err(e);
                }
            };
            if let Some(p) = &pkt.new_params {
                let next = Decoder::with_limit(p, time_base, self.cfg.decode, max_size)?;
                dec = dec.replace_with(next);
            }
            self.shared.packets.fetch_add(1, Ordering::Relaxed);
            // Pictures no subscriber will sample need not be decoded when nothing refers to them.
            let reference = dec.note_reference(&pkt);
            let lead = dec.sample_lead(reference);
            let unwanted = match (dec.packet_time(&pkt), dec.frame_step()) {
                (Some(t), Some(step)) => !self.shared.hub.wants(self.session, t, step, lead),
                _ => false,
            };
            dec.set_skip_nonref(unwanted);
            dec.set_skip_deblocking(unwanted && self.cfg.decode.skip_unsampled_deblocking);
            dec.send(&pkt)?;
            self.drain(&mut dec, mode, &mut pace_origin)?;
        }
    }

    fn drain(
        &mut self,
        dec: &mut Decoder,
        mode: Overflow,
        pace_origin: &mut Option<(Duration, Duration)>,
    ) -> Result<()> {
        while let Some(frame) = dec.receive(self.index, self.session)? {
            self.index += 1;
            self.shared.decoded.fetch_add(1, Ordering::Relaxed);
            if self.cfg.pace == Pace::RealTime && mode == Overflow::Block {
                let clock = &self.deps.clock;
                let (c0, m0) = *pace_origin.get_or_insert((clock.now(), frame.media_time()));
                let target = c0 + frame.media_time().saturating_sub(m0);
                let now = clock.now();
                if target > now && !clock.sleep(target - now, &self.cancel) {
                    return Err(MediaError::cancelled());
                }
            }
            let lead = dec.sample_lead(frame.reference());
            let dropped = self.shared.hub.publish(&frame, lead, mode, &self.cancel);
            self.shared.dropped.fetch_add(dropped, Ordering::Relaxed);
        }
        Ok(())
    }
}
