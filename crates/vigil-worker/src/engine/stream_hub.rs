//! The registry of running sources: a task attaches to the source of its input, and tasks
//! with the same source share one reader, one decode and one perception per frame.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use vigil_media::{MediaConfig, MediaError, SourceSpec};
use vigil_vision::{BackendConfig, ModelDir, PerceiverStats};

use super::source_key::source_key;
use super::source_runner;
use super::task_slot::{TaskEntry, TaskSlot};

/// Process-wide engine settings.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    pub models: ModelDir,
    pub backend: BackendConfig,
    pub media: MediaConfig,
    /// Replay files at their own speed (as if they were cameras) instead of as fast as possible.
    pub replay_files_realtime: bool,
    /// A live source that is online but delivers no frame for this long is reopened, and its
    /// tasks say so (`--stall-restart-secs`).
    pub stall_restart: Duration,
}

/// Counters of one running source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceStats {
    /// Frames taken from the reader (at the fastest task's rate).
    pub frames: u64,
    /// Frames dropped because analysis fell behind a live source.
    pub dropped: u64,
    pub perceiver: PerceiverStats,
    /// Reader restarts by the stall watchdog.
    pub stall_restarts: u64,
    pub tasks: usize,
}

/// Counters of the hub.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HubStats {
    /// Readers (demux + decode) opened since the hub started.
    pub readers_opened: u64,
    /// Sources running now.
    pub sources: usize,
}

pub(crate) enum Command {
    Attach(Box<TaskEntry>),
    Detach(u64, std::sync::mpsc::SyncSender<()>),
}

pub(crate) struct Commands {
    pub pending: Vec<Command>,
    /// The runner has ended; attach elsewhere.
    pub closed: bool,
    /// A file started reading: later tasks get their own reader (they must see it from the start).
    pub started: bool,
}

/// State shared between a source's runner thread and the tasks attached to it.
pub(crate) struct SourceShared {
    pub key: String,
    pub spec: SourceSpec,
    pub commands: Mutex<Commands>,
    pub wake: Condvar,
    pub stats: Mutex<SourceStats>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SourceShared {
    fn accepts(&self) -> bool {
        let c = lock(&self.commands);
        !c.closed && (self.spec.is_live() || !c.started)
    }

    pub(crate) fn push(&self, cmd: Command) {
        lock(&self.commands).pending.push(cmd);
        self.wake.notify_all();
    }

    /// Whether task `id` asked to leave (a runner blocked on a failing sink checks this).
    pub(crate) fn detach_requested(&self, id: u64) -> bool {
        lock(&self.commands)
            .pending
            .iter()
            .any(|c| matches!(c, Command::Detach(i, _) if *i == id))
    }
}

pub(crate) struct HubInner {
    pub settings: EngineSettings,
    pub sources: Mutex<HashMap<String, Arc<SourceShared>>>,
    pub readers_opened: AtomicU64,
    next_task: AtomicU64,
}

/// Runs sources for tasks. Cheap to clone (shared).
#[derive(Clone)]
pub struct StreamHub {
    inner: Arc<HubInner>,
}

/// A task's place on a source. `detach` (or drop) takes it off; the source stops when its last
/// task leaves.
pub struct Attachment {
    source: Arc<SourceShared>,
    id: u64,
    detached: bool,
}

impl Attachment {
    /// Takes the task off its source and waits (at most `timeout`) until the runner let go of
    /// it, so that no alarm of this attachment is written afterwards.
    pub fn detach(mut self, timeout: Duration) {
        self.detached = true;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.source.push(Command::Detach(self.id, tx));
        let _ = rx.recv_timeout(timeout);
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        if !self.detached {
            let (tx, _rx) = std::sync::mpsc::sync_channel(1);
            self.source.push(Command::Detach(self.id, tx));
        }
    }
}

impl StreamHub {
    pub fn new(settings: EngineSettings) -> Self {
        StreamHub {
            inner: Arc::new(HubInner {
                settings,
                sources: Mutex::new(HashMap::new()),
                readers_opened: AtomicU64::new(0),
                next_task: AtomicU64::new(1),
            }),
        }
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.inner.settings
    }

    /// Attaches a task to the source `spec`, starting the source when no running one can take
    /// it (a file that already started reading cannot: the task must see it from the start).
    pub fn attach(&self, spec: SourceSpec, slot: TaskSlot) -> Result<Attachment, MediaError> {
        let key = source_key(&spec);
        let id = self.inner.next_task.fetch_add(1, Ordering::Relaxed);
        let entry = Box::new(TaskEntry::new(id, slot));
        let mut sources = lock(&self.inner.sources);
        let source = match sources.get(&key) {
            Some(s) if s.accepts() => s.clone(),
            _ => {
                let s = Arc::new(SourceShared {
                    key: key.clone(),
                    spec,
                    commands: Mutex::new(Commands {
                        pending: Vec::new(),
                        closed: false,
                        started: false,
                    }),
                    wake: Condvar::new(),
                    stats: Mutex::new(SourceStats::default()),
                });
                source_runner::spawn(self.inner.clone(), s.clone())?;
                sources.insert(key, s.clone());
                s
            }
        };
        source.push(Command::Attach(entry));
        Ok(Attachment {
            source,
            id,
            detached: false,
        })
    }

    pub fn stats(&self) -> HubStats {
        HubStats {
            readers_opened: self.inner.readers_opened.load(Ordering::Relaxed),
            sources: lock(&self.inner.sources).len(),
        }
    }

    /// Counters of every running source.
    pub fn source_stats(&self) -> Vec<SourceStats> {
        lock(&self.inner.sources)
            .values()
            .map(|s| lock(&s.stats).clone())
            .collect()
    }
}
