//! The worker loop: every tick it renews its leases, follows what the API changed (stop, delete,
//! update, schedules), claims free runnable tasks, starts their pipelines and reports states.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use vigil_core::schedule;
use vigil_core::task_state::TaskState;
use vigil_store::task_stats::TaskStats;
use vigil_store::tasks::TaskRecord;
use vigil_store::Store;

use crate::engine::throughput;

use crate::node::NodeBeat;
use crate::pipeline::{PipelineEvent, PipelineFactory};
use crate::placement::{capacity_status, missing_pool_status, Placement, Verdict};
use crate::supervisor::Supervised;

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Identifies this worker in task leases; a restarted worker with the same id resumes its
    /// tasks at once, another worker takes them over when the lease expires.
    pub id: String,
    /// How long a lease lasts without renewal.
    pub lease_ttl: Duration,
    /// How often the loop runs (heartbeat, claims, state sync).
    pub tick: Duration,
    /// Most pipelines this worker runs at once.
    pub max_tasks: usize,
    /// New tasks claimed per tick at most.
    pub claims_per_tick: usize,
    /// The clock schedules are checked against.
    pub clock: WallClock,
    /// The node's display name (`--node-name`; empty = the host name).
    pub node_name: String,
    /// Edge pools this node joins by name (`--pool`).
    pub pools: Vec<String>,
}

/// Wall-clock time for schedules; tests set it by hand instead of waiting for a window.
#[derive(Clone)]
pub struct WallClock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl WallClock {
    pub fn system() -> Self {
        WallClock(Arc::new(Utc::now))
    }

    pub fn new(now: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        WallClock(Arc::new(now))
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

impl std::fmt::Debug for WallClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WallClock({})", self.now())
    }
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            id: "worker".into(),
            lease_ttl: Duration::from_secs(15),
            tick: Duration::from_secs(2),
            max_tasks: 64,
            claims_per_tick: 1,
            clock: WallClock::system(),
            node_name: String::new(),
            pools: Vec::new(),
        }
    }
}

pub struct Worker {
    store: Store,
    factory: Arc<dyn PipelineFactory>,
    config: WorkerConfig,
    running: HashMap<String, Supervised>,
    /// Tasks whose stored schedule cannot be read, by the revision already reported (warned
    /// about once per revision, not every tick).
    unreadable_schedules: HashMap<String, i64>,
    /// This worker's node row (Operation Center).
    node: NodeBeat,
    /// When the `task_stats` rows were last written, and the tasks that have one.
    stats_at: Option<Instant>,
    stats_rows: HashSet<String>,
}

/// How often each running task's `task_stats` row is refreshed.
const STATS_EVERY: Duration = Duration::from_secs(5);

/// Whether a task may run now by its schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Window {
    Open,
    Closed,
    /// The stored schedule cannot be parsed: treated as closed (never runs), since running a
    /// task outside the hours its owner set is worse than not running it.
    Unreadable,
}

/// What a stopped task shows when its schedule cannot be read.
const UNREADABLE_STATUS: &str = "the task's schedule cannot be read; update the task with a valid schedule";

/// The state of a task's schedule (if any) at `now`.
fn schedule_window(task: &TaskRecord, now: DateTime<Utc>) -> Window {
    let Some(raw) = &task.schedule else { return Window::Open };
    let field = if task.legacy { "timing" } else { "schedule" };
    match serde_json::from_str(raw)
        .ok()
        .and_then(|v| schedule::parse(field, &v).ok())
    {
        Some(s) if s.is_active_at(now) => Window::Open,
        Some(_) => Window::Closed,
        None => Window::Unreadable,
    }
}

impl Worker {
    pub fn new(store: Store, factory: Arc<dyn PipelineFactory>, config: WorkerConfig) -> Self {
        Self {
            store,
            factory,
            config,
            running: HashMap::new(),
            unreadable_schedules: HashMap::new(),
            node: NodeBeat::default(),
            stats_at: None,
            stats_rows: HashSet::new(),
        }
    }

    /// Runs until `shutdown` turns true; then stops every pipeline and releases its leases so
    /// another worker can take the tasks over at once.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(worker = %self.config.id, "worker started");
        loop {
            if let Err(e) = self.tick().await {
                tracing::warn!(worker = %self.config.id, error = %e, "worker tick failed; retrying");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.tick) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                break;
            }
        }
        let ids: Vec<String> = self.running.keys().cloned().collect();
        for id in &ids {
            if let Some(mut s) = self.running.remove(id) {
                s.stop();
            }
        }
        // A lease is released only once its pipeline has ended, so that another worker taking
        // the task over at once never runs it side by side with ours; a pipeline that does not
        // end keeps its lease until it expires.
        let busy = crate::stopping::wait_idle(&ids, Duration::from_secs(10)).await;
        for id in ids.iter().filter(|id| !busy.contains(id)) {
            let _ = self.store.release_task(id, &self.config.id, None).await;
        }
        for id in &busy {
            tracing::warn!(task_id = %id, "pipeline still stopping at shutdown; its lease is left to expire");
        }
        self.report_throughput().await;
        tracing::info!(worker = %self.config.id, "worker stopped");
    }

    /// One pass of the loop; public so tests can drive the worker step by step.
    pub async fn tick(&mut self) -> Result<(), vigil_store::StoreError> {
        let me = self.config.id.clone();
        let ttl = self.config.lease_ttl.as_millis() as i64;
        let now = self.config.clock.now();
        let window = |t: &TaskRecord| schedule_window(t, now);
        let scheduled = |t: &TaskRecord| window(t) == Window::Open;
        // 0. Heartbeat this node (registers it on the first tick), then read where tasks may run.
        self.node
            .beat(
                &self.store,
                &me,
                &self.config.node_name,
                &self.config.pools,
                self.config.lease_ttl,
            )
            .await?;
        let mut placement = Placement::load(&self.store, &me, &self.config.pools).await?;
        // 1. Follow the API for the tasks we run.
        let owned: HashMap<String, TaskRecord> = self
            .store
            .owned_tasks(&me)
            .await?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        let ids: Vec<String> = self.running.keys().cloned().collect();
        for id in ids {
            let task = owned.get(&id);
            let state = task.and_then(|t| TaskState::parse(&t.state));
            // A re-deploy to another pool moves the task: released for a member to claim.
            let placed = match task {
                Some(t) if !placement.is_open() => {
                    let alg = placement.alg_id(&self.store, &t.project_id, &t.service_name).await?;
                    placement.verdict(t, alg.as_deref())
                }
                _ => Verdict::Allowed,
            };
            if let (Some(t), Verdict::OtherPool(pool)) = (task, &placed) {
                if matches!(state, Some(s) if s.wants_pipeline()) {
                    if let Some(mut s) = self.running.remove(&id) {
                        s.stop();
                    }
                    let status = format!("waiting for a node of edge pool {pool}");
                    self.store
                        .report_task_state(&t.id, &me, "PENDING", &status, ("", ""))
                        .await?;
                    self.store.release_task(&t.id, &me, None).await?;
                    tracing::info!(task_id = %id, pool = %pool, "task now pinned to a pool this node is not in; released");
                    continue;
                }
            }
            let keep = matches!(state, Some(s) if s.wants_pipeline()) && task.is_some_and(scheduled);
            if !keep {
                if let Some(mut s) = self.running.remove(&id) {
                    s.stop();
                }
                match (task, state) {
                    (None, _) => tracing::info!(task_id = %id, "task deleted or taken over; pipeline stopped"),
                    (Some(_), Some(TaskState::Stopping | TaskState::Stopped)) => {
                        self.store.release_task(&id, &me, Some("STOPPED")).await?;
                        tracing::info!(task_id = %id, "task stopped");
                    }
                    (Some(t), Some(s)) if s.wants_pipeline() && window(t) == Window::Unreadable => {
                        self.unreadable_schedule(t).await?;
                    }
                    (Some(t), Some(s)) if s.wants_pipeline() => {
                        self.store.set_schedule_status(&t.id, "INACTIVATED").await?;
                        self.store
                            .report_task_state(&id, &me, "PENDING", "outside the schedule's time windows", ("", ""))
                            .await?;
                        self.store.release_task(&id, &me, None).await?;
                        tracing::info!(task_id = %id, "schedule window closed; pipeline stopped");
                    }
                    _ => self.store.release_task(&id, &me, None).await?,
                }
                continue;
            }
            if let (Some(t), Some(sup)) = (task, self.running.get_mut(&id)) {
                if t.revision != sup.revision {
                    tracing::info!(task_id = %id, revision = t.revision, "task changed; restarting its pipeline");
                    sup.stop();
                    sup.revision = t.revision;
                    sup.retry_at = Some(Instant::now());
                }
            }
        }
        // Released STOPPING tasks no pipeline of ours runs any more.
        for t in owned.values() {
            if !self.running.contains_key(&t.id) && (t.state == "STOPPING" || t.state == "STOPPED") {
                self.store.release_task(&t.id, &me, Some("STOPPED")).await?;
            }
        }
        // 2. Renew leases; a lease lost to another worker stops our pipeline.
        let ids: Vec<String> = self.running.keys().cloned().collect();
        for id in ids {
            if !self.store.claim_task(&id, &me, ttl).await? {
                tracing::warn!(task_id = %id, "lease lost to another worker; stopping pipeline");
                self.running.remove(&id);
            }
        }
        // 3. Claim free runnable tasks within capacity and schedule, a few per tick so that
        //    workers starting together share the work instead of the first taking everything.
        let mut claimed = 0;
        for t in self.store.claimable_tasks(&me).await? {
            if self.running.len() >= self.config.max_tasks || self.running.contains_key(&t.id) {
                continue;
            }
            if claimed >= self.config.claims_per_tick {
                break;
            }
            if window(&t) == Window::Unreadable {
                if self.unreadable_schedules.get(&t.id) != Some(&t.revision)
                    && self.store.claim_task(&t.id, &me, ttl).await?
                {
                    self.unreadable_schedule(&t).await?;
                }
                continue;
            }
            self.unreadable_schedules.remove(&t.id);
            if !scheduled(&t) {
                if t.schedule_status != "INACTIVATED" {
                    self.store.set_schedule_status(&t.id, "INACTIVATED").await?;
                }
                continue;
            }
            // Pool placement and deployment capacity (`placement.rs`).
            let mut limit = None;
            if !placement.is_open() || !t.edge_pool_id.is_empty() {
                let alg = placement.alg_id(&self.store, &t.project_id, &t.service_name).await?;
                match placement.verdict(&t, alg.as_deref()) {
                    Verdict::Allowed => {}
                    Verdict::OtherPool(pool) if !placement.pool_exists(&t.project_id, &pool) => {
                        self.store.note_waiting(&t.id, &missing_pool_status(&pool)).await?;
                        continue;
                    }
                    _ => continue,
                }
                if let (Some(n), Some(alg)) = (placement.capacity(&t, alg.as_deref()), alg) {
                    let live = placement.live_of_alg(&self.store, &t.project_id, &alg).await?;
                    if live.iter().filter(|id| **id != t.id).count() as i64 >= n {
                        self.store.note_waiting(&t.id, &capacity_status(n)).await?;
                        continue;
                    }
                    limit = Some((n, alg));
                }
            }
            if !self.store.claim_task(&t.id, &me, ttl).await? {
                continue;
            }
            // Two workers may pass the check above at once: the oldest tasks keep their leases.
            if let Some((n, alg)) = limit {
                let live = placement.live_of_alg(&self.store, &t.project_id, &alg).await?;
                if live.iter().position(|id| *id == t.id).is_none_or(|pos| pos as i64 >= n) {
                    self.store.release_task(&t.id, &me, None).await?;
                    self.store.note_waiting(&t.id, &capacity_status(n)).await?;
                    continue;
                }
            }
            if t.schedule.is_some() && t.schedule_status != "ACTIVATED" {
                self.store.set_schedule_status(&t.id, "ACTIVATED").await?;
            }
            claimed += 1;
            tracing::info!(task_id = %t.id, service = %t.service_name, worker = %me, "claimed task");
            let mut sup = Supervised::new(&t);
            sup.retry_at = Some(Instant::now());
            self.running.insert(t.id.clone(), sup);
        }
        // 4. Start due pipelines and handle their events.
        let ids: Vec<String> = self.running.keys().cloned().collect();
        for id in ids {
            self.service(&id, owned.get(&id)).await?;
        }
        self.report_throughput().await;
        Ok(())
    }

    /// Every few seconds, each running task's throughput into `task_stats`; rows of tasks that
    /// left this worker are deleted. Failures are logged, not fatal: the numbers are advisory.
    async fn report_throughput(&mut self) {
        let me = self.config.id.clone();
        metrics::gauge!("vigil_worker_running_tasks", "node_id" => me.clone()).set(self.running.len() as f64);
        let gone: Vec<String> = self
            .stats_rows
            .iter()
            .filter(|id| !self.running.contains_key(*id))
            .cloned()
            .collect();
        for id in gone {
            throughput::forget(&id);
            match self.store.delete_task_stats(&id, &me).await {
                Ok(()) => {
                    self.stats_rows.remove(&id);
                }
                Err(e) => tracing::warn!(task_id = %id, error = %e, "cannot delete the task's throughput row"),
            }
        }
        if self.stats_at.is_some_and(|at| at.elapsed() < STATS_EVERY) {
            return;
        }
        self.stats_at = Some(Instant::now());
        let now = vigil_store::now_ms();
        // Built first: the pipelines' handles must not be held across the writes' awaits.
        let rows: Vec<TaskStats> = self
            .running
            .iter()
            .map(|(id, sup)| {
                let t = throughput::get(id).unwrap_or_default();
                TaskStats {
                    task_id: id.clone(),
                    project_id: sup.project_id.clone(),
                    node_id: me.clone(),
                    analysed_fps: t.analysed_fps,
                    decode_fps: t.decode_fps,
                    analysed_frames: i64::try_from(t.analysed_frames).unwrap_or(i64::MAX),
                    dropped_frames: i64::try_from(t.dropped_frames).unwrap_or(i64::MAX),
                    restarts: i64::try_from(sup.restarts.saturating_add(t.stall_restarts)).unwrap_or(i64::MAX),
                    updated_at: now,
                }
            })
            .collect();
        for row in rows {
            match self.store.upsert_task_stats(&row).await {
                Ok(()) => {
                    self.stats_rows.insert(row.task_id);
                }
                Err(e) => {
                    tracing::warn!(task_id = %row.task_id, error = %e, "cannot write the task's throughput row");
                    return;
                }
            }
        }
    }

    /// A task (whose lease we hold) has a schedule that cannot be read: it does not run, shows
    /// why (`PENDING`, `VIGIL.SCHEDULE`) and its lease is released; warned once per revision.
    async fn unreadable_schedule(&mut self, t: &TaskRecord) -> Result<(), vigil_store::StoreError> {
        let me = self.config.id.clone();
        tracing::warn!(task_id = %t.id, revision = t.revision, "the task's stored schedule cannot be read; the task does not run until it is updated");
        self.unreadable_schedules.insert(t.id.clone(), t.revision);
        self.store.set_schedule_status(&t.id, "INACTIVATED").await?;
        self.store
            .report_task_state(
                &t.id,
                &me,
                "PENDING",
                UNREADABLE_STATUS,
                ("VIGIL.SCHEDULE", "the stored schedule cannot be read"),
            )
            .await?;
        self.store.release_task(&t.id, &me, None).await
    }

    async fn service(&mut self, id: &str, known: Option<&TaskRecord>) -> Result<(), vigil_store::StoreError> {
        let me = self.config.id.clone();
        let Some(sup) = self.running.get_mut(id) else {
            return Ok(());
        };
        // An earlier pipeline of the task still being joined: start on a later tick, never
        // side by side with it.
        if !sup.is_running() && !sup.is_stopping() && sup.retry_at.is_some_and(|at| at <= Instant::now()) {
            let task = match known {
                Some(t) if t.revision == sup.revision => t.clone(),
                _ => match self.store.all_tasks().await?.into_iter().find(|t| t.id == id) {
                    Some(t) => t,
                    None => return Ok(()),
                },
            };
            self.store.report_task_state(id, &me, "STARTING", "", ("", "")).await?;
            match sup.start(self.factory.as_ref(), &task) {
                Ok(()) => tracing::info!(task_id = %id, "pipeline started"),
                Err(e) if e.retryable => {
                    restarted(id, &e.code);
                    let delay = sup.failed();
                    self.store
                        .report_task_state(id, &me, "ABNORMAL", "restarting", (&e.code, &e.message))
                        .await?;
                    tracing::warn!(task_id = %id, error = %e, retry_in_s = delay.as_secs_f32(), "pipeline failed to start; will retry");
                }
                Err(e) => {
                    tracing::warn!(task_id = %id, error = %e, "pipeline cannot start");
                    self.running.remove(id);
                    self.store
                        .report_task_state(id, &me, "START_FAILED", "", (&e.code, &e.message))
                        .await?;
                    self.store.release_task(id, &me, None).await?;
                    return Ok(());
                }
            }
        }
        let Some(sup) = self.running.get_mut(id) else {
            return Ok(());
        };
        while let Ok(ev) = sup.events.try_recv() {
            match ev {
                PipelineEvent::Running => {
                    sup.healthy();
                    self.store.report_task_state(id, &me, "RUNNING", "", ("", "")).await?;
                }
                PipelineEvent::Abnormal { code, message } => {
                    tracing::warn!(task_id = %id, code, message, "task abnormal");
                    self.store
                        .report_task_state(id, &me, "ABNORMAL", "input unavailable", (&code, &message))
                        .await?;
                }
                PipelineEvent::Finished => {
                    sup.stop();
                    self.running.remove(id);
                    self.store.report_task_state(id, &me, "SUCCEEDED", "", ("", "")).await?;
                    self.store.release_task(id, &me, None).await?;
                    tracing::info!(task_id = %id, "task finished its input");
                    return Ok(());
                }
                PipelineEvent::Failed {
                    code,
                    message,
                    fatal: true,
                } => {
                    sup.stop();
                    self.running.remove(id);
                    self.store
                        .report_task_state(id, &me, "FAILED", "", (&code, &message))
                        .await?;
                    self.store.release_task(id, &me, None).await?;
                    tracing::warn!(task_id = %id, code, message, "task failed");
                    return Ok(());
                }
                PipelineEvent::Failed { code, message, .. } => {
                    restarted(id, &code);
                    let delay = sup.failed();
                    tracing::warn!(task_id = %id, code, message, retry_in_s = delay.as_secs_f32(), "pipeline failed; restarting with backoff");
                    self.store
                        .report_task_state(id, &me, "ABNORMAL", "restarting", (&code, &message))
                        .await?;
                }
            }
        }
        Ok(())
    }
}

/// A pipeline restart after a failure, by the failure's public code (a fixed set).
fn restarted(task_id: &str, code: &str) {
    metrics::counter!("vigil_pipeline_restarts_total", "task_id" => task_id.to_string(), "code" => code.to_string())
        .increment(1);
}
