//! The pipeline of one task: its source read by a supervised `StreamReader`, sampled frames
//! analysed on this pipeline's own thread, events written as alarms into the durable outbox.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;
use tokio::runtime::Handle;
use tokio::sync::mpsc::UnboundedSender;
use vigil_core::secret_box::SecretBox;
use vigil_core::task_io::{parse_input, parse_output, TaskSource};
use vigil_media::{
    DefaultOpener, MediaConfig, MediaError, Pace, ReaderConfig, ReaderDeps, Recv, SourceSpec, StreamReader,
    StreamStatus, SubscriberConfig,
};
use vigil_store::tasks::TaskRecord;
use vigil_store::Store;

use crate::analysis::{Analysis, AnalysisSettings};
use crate::pipeline::{PipelineEvent, PipelineFactory, PipelineHandle, StartError};

/// Builds real pipelines. `wake` nudges the alarm dispatcher after each alarm.
pub struct TaskPipelines {
    pub store: Store,
    pub runtime: Handle,
    pub media: MediaConfig,
    pub analysis: AnalysisSettings,
    pub wake: Option<Arc<dyn Fn() + Send + Sync>>,
    /// Replay files at their own speed (as if they were cameras) instead of as fast as possible.
    pub replay_files_realtime: bool,
    /// Opens the secrets sealed in stored inputs and sources (URL passwords, RESTful header
    /// values) right before connecting; `None` when they are stored as plain text (tests).
    pub secrets: Option<SecretBox>,
}

struct Running {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl PipelineHandle for Running {
    fn stop(mut self: Box<Self>) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// A media failure as tenants see it: the kind's fixed code and text; the message (addresses,
/// paths, RESTful answers) goes to the log with the task id.
fn failed(task_id: &str, e: &MediaError, fatal: bool) -> PipelineEvent {
    tracing::warn!(task_id, kind = e.kind().as_str(), error = %e, "task input failed");
    PipelineEvent::Failed {
        code: e.kind().public_code().into(),
        message: e.kind().public_message().into(),
        fatal,
    }
}

fn start_err(code: &str, message: impl Into<String>, retryable: bool) -> StartError {
    StartError {
        code: code.into(),
        message: message.into(),
        retryable,
    }
}

impl PipelineFactory for Arc<TaskPipelines> {
    fn start(
        &self,
        task: &TaskRecord,
        events: UnboundedSender<PipelineEvent>,
    ) -> Result<Box<dyn PipelineHandle>, StartError> {
        // Model paths and parser details go to the log, not to the tenant.
        let setup = |code: &str, detail: String| {
            tracing::warn!(task_id = %task.id, code, detail, "pipeline cannot start");
            start_err(code, "the analysis could not be set up (configuration or model)", false)
        };
        let config: Value = serde_json::from_str(&task.config).map_err(|e| setup("VIGIL.CONFIG", e.to_string()))?;
        let analysis =
            Analysis::new(&task.service_name, &config, &self.analysis).map_err(|e| setup("VIGIL.ANALYZER", e))?;
        let outputs = serde_json::from_str::<Value>(&task.output)
            .ok()
            .and_then(|v| parse_output(&v).ok())
            .map(|(o, _)| o)
            .ok_or_else(|| start_err("VIGIL.OUTPUT", "stored output is invalid", false))?;
        let stop = Arc::new(AtomicBool::new(false));
        let ctx = Arc::clone(self);
        let (task, flag) = (task.clone(), Arc::clone(&stop));
        let task_id = task.id.clone();
        let thread = std::thread::Builder::new()
            .name(format!("task-{}", &task.id[..8.min(task.id.len())]))
            .spawn(move || {
                let run = std::panic::AssertUnwindSafe(|| ctx.run(&task, analysis, outputs, &flag, &events));
                if let Err(p) = std::panic::catch_unwind(run) {
                    let message = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
                    tracing::error!(task_id = %task_id, panic = message.as_deref().unwrap_or("?"), "pipeline panicked");
                    let _ = events.send(PipelineEvent::Failed {
                        code: "VIGIL.PANIC".into(),
                        message: "internal error; the pipeline is restarted".into(),
                        fatal: false,
                    });
                }
            })
            .map_err(|e| start_err("VIGIL.THREAD", e.to_string(), true))?;
        Ok(Box::new(Running {
            stop,
            thread: Some(thread),
        }))
    }
}

impl TaskPipelines {
    /// The stream to open and the alarm `stream_id`.
    fn source(&self, task: &TaskRecord) -> Result<(SourceSpec, String), PipelineEvent> {
        // Tenants see fixed texts; the details go to the log.
        let fail = |code: &str, public: &str, detail: String| {
            tracing::warn!(task_id = %task.id, code, detail, "task input unusable");
            PipelineEvent::Failed {
                code: code.into(),
                message: public.into(),
                fatal: true,
            }
        };
        let bad_input = "the task input is not valid";
        let mut input: Value =
            serde_json::from_str(&task.input).map_err(|e| fail("VIGIL.INPUT", bad_input, e.to_string()))?;
        if let Some(secrets) = &self.secrets {
            input = vigil_core::secret_fields::open_json(secrets, &input);
        }
        let edge = task.placement == "edge";
        let mut inputs =
            parse_input(&input, edge, false, true).map_err(|e| fail("VIGIL.INPUT", bad_input, e.message))?;
        if inputs.is_empty() {
            return Err(fail("VIGIL.INPUT", bad_input, "no input".into()));
        }
        let src = inputs.remove(0).source;
        match &src {
            TaskSource::VideoSource { id } => {
                let rec = self
                    .runtime
                    .block_on(self.store.get_source(&task.project_id, id))
                    .map_err(|e| {
                        fail(
                            "VIAS.00010002",
                            "the video source does not exist or cannot be read",
                            format!("video source {id}: {e}"),
                        )
                    })?;
                let spec = crate::source_spec::from_source(&rec.source, self.secrets.as_ref())
                    .map_err(|m| fail("VIGIL.SOURCE", "Vigil cannot pull this kind of video source", m))?;
                Ok((spec, id.clone()))
            }
            other => {
                let spec = crate::source_spec::from_task_source(other, &task.project_id)
                    .ok_or_else(|| fail("VIGIL.INPUT", bad_input, "no stream".into()))?;
                let stream_id = match other {
                    TaskSource::Url { url } => url.rsplit('/').next().unwrap_or(url).to_string(),
                    TaskSource::Obs { path, .. } => path.rsplit('/').next().unwrap_or(path).to_string(),
                    _ => task.id.clone(),
                };
                Ok((spec, stream_id))
            }
        }
    }

    fn run(
        &self,
        task: &TaskRecord,
        mut analysis: Analysis,
        outputs: vigil_core::alarm::AlarmOutputs,
        stop: &AtomicBool,
        events: &UnboundedSender<PipelineEvent>,
    ) {
        let (spec, stream_id) = match self.source(task) {
            Ok(s) => s,
            Err(e) => {
                let _ = events.send(e);
                return;
            }
        };
        let live = spec.is_live();
        let pace = if !live && self.replay_files_realtime {
            Pace::RealTime
        } else {
            Pace::AsFastAsConsumed
        };
        // The server's media settings: media roots, egress policy, picture size limit.
        let deps = ReaderDeps {
            opener: Arc::new(DefaultOpener::new(self.media.clone())),
            ..ReaderDeps::default()
        };
        let config = ReaderConfig {
            pace,
            ..Default::default()
        };
        let reader = match StreamReader::start_with(spec, config, deps) {
            Ok(r) => r,
            Err(e) => {
                let _ = events.send(failed(&task.id, &e, false));
                return;
            }
        };
        let frames = reader.subscribe(SubscriberConfig {
            capacity: 4,
            fps: Some(self.analysis.fps),
        });
        let mut converter = vigil_media::RgbConverter::bgr();
        let mut last_online = None;
        // Analysis throughput and drops, logged every 10 s (scripts/bench_streams.sh reads them).
        let (mut analysed, mut window) = (0u64, std::time::Instant::now());
        let video_source_id = task.video_source_id.clone();
        while !stop.load(Ordering::SeqCst) {
            // Report the stream's health when it changes.
            let status = reader.status();
            let online = status.is_online();
            if last_online != Some(online) {
                let ev = match &status {
                    StreamStatus::Online => Some(PipelineEvent::Running),
                    StreamStatus::Offline(e) | StreamStatus::Abnormal(e) => {
                        tracing::warn!(task_id = %task.id, kind = e.kind().as_str(), error = %e, "task input unavailable");
                        Some(PipelineEvent::Abnormal {
                            code: e.kind().public_code().into(),
                            message: e.kind().public_message().into(),
                        })
                    }
                    _ => None,
                };
                if let Some(ev) = ev {
                    let _ = events.send(ev);
                    last_online = Some(online);
                }
            }
            let frame = match frames.recv_timeout(Duration::from_millis(250)) {
                Recv::Frame(f) => f,
                Recv::Timeout => continue,
                Recv::Closed => break,
            };
            analysed += 1;
            if window.elapsed() >= Duration::from_secs(10) {
                tracing::info!(
                    task_id = %task.id, analysed, delivered = frames.delivered(), dropped = frames.dropped(),
                    "pipeline stats"
                );
                window = std::time::Instant::now();
            }
            let produced = match analysis.on_frame(&mut converter, &frame) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(task_id = %task.id, error = %e, "frame analysis failed; frame skipped");
                    continue;
                }
            };
            for p in produced {
                let alarm = p.to_alarm(&task.id, &stream_id);
                // Written before anything is sent; the dispatcher delivers from the outbox.
                match self.runtime.block_on(self.store.enqueue_alarm(
                    &alarm,
                    &task.project_id,
                    video_source_id.as_deref(),
                    &outputs,
                )) {
                    Ok(_) => {
                        if let Some(w) = &self.wake {
                            w();
                        }
                    }
                    Err(e) => tracing::error!(task_id = %task.id, error = %e, "cannot store alarm"),
                }
            }
        }
        let ended = reader.status();
        reader.stop();
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let _ = events.send(match ended {
            StreamStatus::Ended(None) => PipelineEvent::Finished,
            StreamStatus::Ended(Some(e)) | StreamStatus::Offline(e) | StreamStatus::Abnormal(e) => {
                failed(&task.id, &e, !live)
            }
            _ => PipelineEvent::Finished,
        });
    }
}
