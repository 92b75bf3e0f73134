//! The thread of one source: reads it once, computes the perception its due tasks need once per
//! frame, hands it to each task's analyzer and delivers their alarms; reports the stream's
//! health to every task and restarts a stream that stalls.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vigil_media::{
    DefaultOpener, Frame, FrameReceiver, MediaError, Pace, ReaderConfig, ReaderDeps, Recv, RgbConverter, StreamReader,
    StreamStatus, SubscriberConfig,
};
use vigil_vision::{BBox, ImageBgr, LumaView, Needs, Perceiver, PerceiverFrame, Roi};

use super::frame_clock::FrameClock;
use super::meter::Meter;
use super::stream_hub::{lock, Command, HubInner, SourceShared};
use super::task_slot::{Produced, TaskEntry};
use crate::pipeline::PipelineEvent;

/// How often each task logs its `pipeline stats` line (scripts/bench_streams.sh reads them).
const STATS_EVERY: Duration = Duration::from_secs(10);

pub(crate) fn spawn(hub: Arc<HubInner>, shared: Arc<SourceShared>) -> Result<(), MediaError> {
    std::thread::Builder::new()
        .name("vigil-source".into())
        .spawn(move || {
            let mut runner = Runner::new(hub.clone(), shared.clone());
            let run = std::panic::AssertUnwindSafe(|| runner.run());
            if let Err(p) = std::panic::catch_unwind(run) {
                let message = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
                tracing::error!(panic = message.as_deref().unwrap_or("?"), "source pipeline panicked");
                eprintln!("source pipeline panicked: {}", message.as_deref().unwrap_or("?"));
                // Every task on the source is told, and restarted by its supervisor.
                runner.broadcast(PipelineEvent::Failed {
                    code: "VIGIL.PANIC".into(),
                    message: "internal error; the pipeline is restarted".into(),
                    fatal: false,
                });
                if let Some(r) = runner.reader.take() {
                    r.stop();
                }
                close(&hub, &shared, Some("VIGIL.PANIC"));
            }
        })
        .map(|_| ())
        .map_err(|e| MediaError::new(vigil_media::ErrorKind::Internal, format!("spawning source thread: {e}")))
}

/// Ends a source: no more attaches; tasks still attached are told (after a panic).
fn close(hub: &HubInner, shared: &Arc<SourceShared>, failure: Option<&str>) {
    let mut sources = lock(&hub.sources);
    let mut cmds = lock(&shared.commands);
    cmds.closed = true;
    if sources.get(&shared.key).is_some_and(|s| Arc::ptr_eq(s, shared)) {
        sources.remove(&shared.key);
    }
    for c in cmds.pending.drain(..) {
        match c {
            Command::Attach(t) => {
                if let Some(code) = failure {
                    (t.slot.status)(PipelineEvent::Failed {
                        code: code.into(),
                        message: "internal error; the pipeline is restarted".into(),
                        fatal: false,
                    });
                }
            }
            Command::Detach(_, ack) => {
                let _ = ack.try_send(());
            }
        }
    }
}

struct Runner {
    hub: Arc<HubInner>,
    shared: Arc<SourceShared>,
    tasks: Vec<TaskEntry>,
    reader: Option<StreamReader>,
    frames: Option<(FrameReceiver, f64)>,
    perceiver: Perceiver,
    converter: RgbConverter,
    clock: FrameClock,
    last_frame_at: Instant,
    online: Option<bool>,
    last_image: Option<(Arc<ImageBgr>, i64)>,
    stats_at: Instant,
    /// Frame rates and counters for /metrics and the task_stats rows.
    meter: Meter,
}

impl Runner {
    fn new(hub: Arc<HubInner>, shared: Arc<SourceShared>) -> Self {
        let s = &hub.settings;
        let perceiver = Perceiver::new(s.models.clone(), s.backend.clone());
        Runner {
            hub,
            shared,
            tasks: Vec::new(),
            reader: None,
            frames: None,
            perceiver,
            converter: RgbConverter::bgr(),
            clock: FrameClock::new(),
            last_frame_at: Instant::now(),
            online: None,
            last_image: None,
            stats_at: Instant::now(),
            meter: Meter::new(),
        }
    }

    fn live(&self) -> bool {
        self.shared.spec.is_live()
    }

    fn broadcast(&self, ev: PipelineEvent) {
        for t in &self.tasks {
            (t.slot.status)(ev.clone());
        }
    }

    /// Applies attach/detach requests. Returns false when the source should end (no task left
    /// and none coming).
    fn apply_commands(&mut self) -> bool {
        let pending: Vec<Command> = {
            let mut sources = lock(&self.hub.sources);
            let mut cmds = lock(&self.shared.commands);
            if cmds.pending.is_empty() && self.tasks.is_empty() {
                // The last task left: close under the hub's lock so no attach slips in.
                cmds.closed = true;
                if sources
                    .get(&self.shared.key)
                    .is_some_and(|s| Arc::ptr_eq(s, &self.shared))
                {
                    sources.remove(&self.shared.key);
                }
                return false;
            }
            std::mem::take(&mut cmds.pending)
        };
        for c in pending {
            match c {
                Command::Attach(t) => {
                    let t = *t;
                    // A missing or corrupt model is reported before the first frame.
                    if let Err(e) = self.perceiver.prepare(&t.needs) {
                        tracing::warn!(task_id = %t.slot.task_id, error = %e, "the task's models cannot be loaded");
                        (t.slot.status)(PipelineEvent::Failed {
                            code: "VIGIL.MODEL".into(),
                            message: "the analysis could not be set up (configuration or model)".into(),
                            fatal: true,
                        });
                        continue;
                    }
                    if self.online == Some(true) {
                        (t.slot.status)(PipelineEvent::Running);
                    }
                    self.meter.attached(&t);
                    self.tasks.push(t);
                }
                Command::Detach(id, ack) => {
                    if let Some(i) = self.tasks.iter().position(|t| t.id == id) {
                        let t = self.tasks.remove(i);
                        self.meter.left(&t);
                        tracing::debug!(task_id = %t.slot.task_id, "task left its source");
                    }
                    let _ = ack.try_send(());
                }
            }
        }
        lock(&self.shared.stats).tasks = self.tasks.len();
        true
    }

    fn open(&mut self) -> Result<(), MediaError> {
        let s = &self.hub.settings;
        let pace = if !self.live() && s.replay_files_realtime {
            Pace::RealTime
        } else {
            Pace::AsFastAsConsumed
        };
        let deps = ReaderDeps {
            opener: Arc::new(DefaultOpener::new(s.media.clone())),
            ..ReaderDeps::default()
        };
        let config = ReaderConfig {
            pace,
            decode: vigil_media::DecodeOptions {
                skip_unsampled_deblocking: !s.media.deblock_unsampled,
                sample_reference_pictures: !s.media.exact_sample_times,
                ..Default::default()
            },
            ..Default::default()
        };
        let reader = StreamReader::start_with(self.shared.spec.clone(), config, deps)?;
        self.hub.readers_opened.fetch_add(1, Ordering::Relaxed);
        self.reader = Some(reader);
        self.meter.reader_opened();
        self.frames = None;
        self.last_frame_at = Instant::now();
        Ok(())
    }

    /// Subscribes at the fastest rate any task asks for; a faster task re-subscribes, a task
    /// leaving does not (each task samples its own rate from what comes).
    fn subscribe(&mut self) {
        let fps = self.tasks.iter().map(|t| t.needs.fps).fold(0.0, f64::max);
        let fps = if fps > 0.0 { fps } else { 1.0 };
        if self.frames.as_ref().is_some_and(|(_, f)| *f >= fps) {
            return;
        }
        // The old subscription goes first: a file's reader blocks on a full queue while holding
        // its subscriber list, so subscribing before letting go would wait on ourselves.
        self.frames = None;
        if let Some(r) = &self.reader {
            let rx = r.subscribe(SubscriberConfig {
                capacity: 4,
                fps: Some(fps),
            });
            self.frames = Some((rx, fps));
        }
    }

    fn report_status(&mut self) {
        let Some(reader) = &self.reader else { return };
        let status = reader.status();
        let online = status.is_online();
        if self.online == Some(online) {
            return;
        }
        let ev = match &status {
            StreamStatus::Online => Some(PipelineEvent::Running),
            StreamStatus::Offline(e) | StreamStatus::Abnormal(e) => {
                tracing::warn!(source = %self.shared.spec.redacted(), kind = e.kind().as_str(), error = %e, "task input unavailable");
                Some(PipelineEvent::Abnormal {
                    code: e.kind().public_code().into(),
                    message: e.kind().public_message().into(),
                })
            }
            _ => None,
        };
        if let Some(ev) = ev {
            self.broadcast(ev);
            self.online = Some(online);
        }
    }

    fn run(&mut self) {
        loop {
            if !self.apply_commands() {
                break;
            }
            if self.tasks.is_empty() {
                let cmds = lock(&self.shared.commands);
                let _ = self.shared.wake.wait_timeout(cmds, Duration::from_millis(100));
                continue;
            }
            if self.reader.is_none() {
                if let Err(e) = self.open() {
                    tracing::warn!(source = %self.shared.spec.redacted(), error = %e, "cannot start reading");
                    self.broadcast(failed(&e, false));
                    self.wait_until_empty();
                    break;
                }
            }
            self.subscribe();
            self.report_status();
            let Some((rx, _)) = &self.frames else { break };
            match rx.recv_timeout(Duration::from_millis(100)) {
                Recv::Frame(f) => {
                    self.last_frame_at = Instant::now();
                    if !self.live() {
                        lock(&self.shared.commands).started = true;
                    }
                    self.on_frame(&f);
                }
                Recv::Timeout => self.watchdog(),
                Recv::Closed => {
                    self.end_of_stream();
                    self.wait_until_empty();
                    break;
                }
            }
            self.log_stats();
        }
        if let Some(r) = self.reader.take() {
            r.stop();
        }
        self.meter.ended();
        close(&self.hub, &self.shared, None);
    }

    /// A live stream that claims to be online but delivers nothing is reopened.
    fn watchdog(&mut self) {
        let limit = self.hub.settings.stall_restart;
        if !self.live() || self.online != Some(true) || self.last_frame_at.elapsed() < limit {
            return;
        }
        tracing::warn!(source = %self.shared.spec.redacted(), stalled_s = limit.as_secs(), "no frames from an online stream; restarting it");
        self.broadcast(PipelineEvent::Abnormal {
            code: "VIGIL.STALLED".into(),
            message: "the stream delivered no frames; it was restarted".into(),
        });
        lock(&self.shared.stats).stall_restarts += 1;
        // The old reader's last frames are counted before its counts go away with it.
        self.refresh_meter();
        self.meter.stalled();
        if let Some(r) = self.reader.take() {
            r.stop();
        }
        self.frames = None;
        self.online = None;
    }

    fn on_frame(&mut self, frame: &Frame) {
        let (time, epoch) = self.clock.times(frame);
        let (session, media_time) = (frame.session(), frame.media_time());
        let due: Vec<usize> = self
            .tasks
            .iter_mut()
            .enumerate()
            .filter_map(|(i, t)| (!t.failed && t.sampler.accept(session, media_time)).then_some(i))
            .collect();
        {
            let mut st = lock(&self.shared.stats);
            st.frames += 1;
            st.dropped = self.frames.as_ref().map_or(0, |(rx, _)| rx.dropped());
        }
        if due.is_empty() {
            return;
        }
        let (w, h) = (frame.width(), frame.height());
        let image = match self
            .converter
            .convert(frame, w, h)
            .map_err(|e| e.to_string())
            .and_then(|bgr| ImageBgr::from_packed(w, h, bgr).map_err(|e| e.to_string()))
        {
            Ok(i) => Arc::new(i),
            Err(e) => {
                tracing::warn!(source = %self.shared.spec.redacted(), error = %e, "frame conversion failed");
                return;
            }
        };
        let needs = Needs::union(due.iter().map(|&i| &self.tasks[i].needs));
        let regions = gate_regions(due.iter().map(|&i| &self.tasks[i]));
        let luma = LumaView {
            data: frame.plane(0),
            stride: frame.stride(0),
            width: w,
            height: h,
        };
        let pf = PerceiverFrame {
            image: &image,
            luma: Some(luma),
            time,
            gate_regions: &regions,
        };
        let perception = match self.perceiver.perceive(&needs, &pf) {
            Ok(p) => Arc::new(p),
            Err(e) => {
                tracing::error!(source = %self.shared.spec.redacted(), error = %e, "perception failed");
                for &i in &due {
                    let t = &mut self.tasks[i];
                    t.failed = true;
                    (t.slot.status)(PipelineEvent::Failed {
                        code: "VIGIL.PERCEPTION".into(),
                        message: "the analysis of a frame failed; the task is restarted".into(),
                        fatal: false,
                    });
                }
                return;
            }
        };
        lock(&self.shared.stats).perceiver = self.perceiver.stats;
        for i in due {
            let produced = self.tasks[i].analyse(&image, time, epoch, &perception);
            match produced {
                Ok(list) => {
                    for p in list {
                        self.deliver(i, &p);
                    }
                }
                Err(e) => {
                    let t = &mut self.tasks[i];
                    tracing::error!(task_id = %t.slot.task_id, error = %e, "analysis failed; task restarted");
                    t.failed = true;
                    (t.slot.status)(PipelineEvent::Failed {
                        code: "VIGIL.ANALYZER".into(),
                        message: "the analysis of a frame failed; the task is restarted".into(),
                        fatal: false,
                    });
                }
            }
        }
        self.last_image = Some((image, epoch));
    }

    /// Stores one alarm, retrying with backoff while the store fails (the task shows it);
    /// gives up only when the task is stopped.
    fn deliver(&mut self, i: usize, p: &Produced) {
        let mut attempt = 0u32;
        loop {
            let t = &mut self.tasks[i];
            match t.slot.sink.deliver(p) {
                Ok(()) => {
                    metrics::counter!("vigil_task_alarms_total", "task_id" => t.slot.task_id.clone()).increment(1);
                    if attempt > 0 {
                        tracing::info!(task_id = %t.slot.task_id, attempts = attempt + 1, "alarm stored after retries");
                        (t.slot.status)(PipelineEvent::Running);
                    }
                    return;
                }
                Err(e) => {
                    if attempt == 0 {
                        tracing::error!(task_id = %t.slot.task_id, error = %e, "cannot store alarm; retrying");
                        (t.slot.status)(PipelineEvent::Abnormal {
                            code: "VIGIL.ALARM_STORE".into(),
                            message: "alarms cannot be stored; retrying".into(),
                        });
                    }
                    if self.shared.detach_requested(t.id) {
                        tracing::error!(task_id = %t.slot.task_id, error = %e, event_type = p.event.event_type, "task stopped while its alarm could not be stored; alarm lost");
                        return;
                    }
                    attempt = attempt.saturating_add(1);
                    std::thread::sleep(Duration::from_millis((100u64 << attempt.min(6)).min(5_000)));
                }
            }
        }
    }

    /// Files: every task's pending events are flushed, then the tasks finish.
    fn end_of_stream(&mut self) {
        self.refresh_meter();
        let ended = self.reader.as_ref().map(|r| r.status());
        let (image, epoch) = match &self.last_image {
            Some((i, e)) => (Some(i.clone()), *e),
            None => (None, 0),
        };
        for i in 0..self.tasks.len() {
            if self.tasks[i].failed {
                continue;
            }
            match self.tasks[i].finish(image.as_deref(), epoch) {
                Ok(list) => {
                    for p in list {
                        self.deliver(i, &p);
                    }
                }
                Err(e) => {
                    tracing::error!(task_id = %self.tasks[i].slot.task_id, error = %e, "flushing at end of stream failed")
                }
            }
        }
        let live = self.live();
        let ev = match ended {
            Some(StreamStatus::Ended(Some(e)) | StreamStatus::Offline(e) | StreamStatus::Abnormal(e)) => {
                tracing::warn!(source = %self.shared.spec.redacted(), kind = e.kind().as_str(), error = %e, "task input failed");
                failed(&e, !live)
            }
            _ => PipelineEvent::Finished,
        };
        self.broadcast(ev);
    }

    /// After the stream ended, tasks stay attached until their supervisors take them off.
    fn wait_until_empty(&mut self) {
        if let Some(r) = self.reader.take() {
            r.stop();
        }
        while self.apply_commands() {
            let cmds = lock(&self.shared.commands);
            if cmds.pending.is_empty() {
                let _ = self.shared.wake.wait_timeout(cmds, Duration::from_millis(200));
            }
        }
    }

    fn refresh_meter(&mut self) {
        let stats = self.reader.as_ref().map(|r| r.stats());
        self.meter.refresh(stats, &self.tasks);
    }

    fn log_stats(&mut self) {
        if self.meter.due() {
            self.refresh_meter();
        }
        if self.stats_at.elapsed() < STATS_EVERY {
            return;
        }
        self.stats_at = Instant::now();
        let dropped = self.frames.as_ref().map_or(0, |(rx, _)| rx.dropped());
        let p = self.perceiver.stats;
        for t in &self.tasks {
            tracing::info!(
                task_id = %t.slot.task_id, analysed = t.analysed, delivered = t.analysed, dropped,
                detector_runs = p.detector_runs, gated = p.gated, "pipeline stats"
            );
        }
    }
}

/// A media failure as tenants see it: the kind's fixed code and text.
fn failed(e: &MediaError, fatal: bool) -> PipelineEvent {
    PipelineEvent::Failed {
        code: e.kind().public_code().into(),
        message: e.kind().public_message().into(),
        fatal,
    }
}

/// Where the motion-gated tasks due on a frame look: their ROIs' bounding boxes (lines with a
/// margin). Empty (= the whole frame) when one of them has no ROI.
fn gate_regions<'a>(tasks: impl Iterator<Item = &'a TaskEntry>) -> Vec<BBox> {
    let mut out = Vec::new();
    for t in tasks.filter(|t| t.needs.motion_gated) {
        match t.slot.analyzer.roi() {
            Some(roi) => out.extend(roi_boxes(roi)),
            None => return Vec::new(),
        }
    }
    out
}

fn roi_boxes(roi: &Roi) -> Vec<BBox> {
    // People approach a line from up to a body height away: look around it generously.
    const LINE_MARGIN: f32 = 120.0;
    // Feet entering a polygon move the pixels around its border first.
    const POLYGON_MARGIN: f32 = 40.0;
    let bbox = |pts: &mut dyn Iterator<Item = (f32, f32)>, m: f32| {
        let mut b = BBox::new(f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for (x, y) in pts {
            b = BBox::new(b.x1.min(x), b.y1.min(y), b.x2.max(x), b.y2.max(y));
        }
        BBox::new(b.x1 - m, b.y1 - m, b.x2 + m, b.y2 + m)
    };
    let mut out: Vec<BBox> = roi
        .polygons
        .iter()
        .map(|p| bbox(&mut p.points.iter().map(|q| (q.x, q.y)), POLYGON_MARGIN))
        .collect();
    out.extend(roi.lines.iter().map(|l| {
        bbox(
            &mut [(l.start.x, l.start.y), (l.end.x, l.end.y)].into_iter(),
            LINE_MARGIN,
        )
    }));
    out
}
