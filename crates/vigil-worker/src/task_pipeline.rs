//! The pipeline of one task: its source resolved and attached to the engine's [`StreamHub`]
//! (shared with every other task on the same camera), its alarms written into the durable
//! outbox.

use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;
use tokio::runtime::Handle;
use tokio::sync::mpsc::UnboundedSender;
use vigil_core::alarm::AlarmOutputs;
use vigil_core::secret_box::SecretBox;
use vigil_core::task_io::{parse_input, parse_output, TaskSource};
use vigil_media::{MediaConfig, SourceSpec};
use vigil_store::tasks::TaskRecord;
use vigil_store::Store;

use crate::analysis::{build_task_analyzer_with, AnalysisSettings};
use crate::engine::{AlarmSink, Attachment, EngineSettings, Produced, StreamHub, TaskSlot};
use crate::packages::PackageError;
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
    /// A live source that is online but delivers no frame for this long is reopened.
    pub stall_restart: Duration,
    /// The engine, started with the first pipeline.
    pub hub: OnceLock<StreamHub>,
}

/// Writes a task's alarms into the outbox (the dispatcher delivers them from there).
struct OutboxSink {
    store: Store,
    runtime: Handle,
    task_id: String,
    project_id: String,
    stream_id: String,
    video_source_id: Option<String>,
    outputs: AlarmOutputs,
    wake: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl AlarmSink for OutboxSink {
    fn deliver(&mut self, p: &Produced) -> Result<(), String> {
        let alarm = p.to_alarm(&self.task_id, &self.stream_id);
        self.runtime
            .block_on(self.store.enqueue_alarm(
                &alarm,
                &self.project_id,
                self.video_source_id.as_deref(),
                &self.outputs,
            ))
            .map_err(|e| e.to_string())?;
        if let Some(w) = &self.wake {
            w();
        }
        Ok(())
    }
}

struct Running {
    /// Resolves the source (store lookups) off the async runtime, then attaches.
    starter: Option<JoinHandle<()>>,
    attachment: Arc<Mutex<Option<Attachment>>>,
    stopped: Arc<std::sync::atomic::AtomicBool>,
}

impl PipelineHandle for Running {
    fn stop(mut self: Box<Self>) {
        self.stopped.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.starter.take() {
            let _ = t.join();
        }
        let taken = self.attachment.lock().ok().and_then(|mut a| a.take());
        if let Some(a) = taken {
            a.detach(Duration::from_secs(5));
        }
    }
}

/// A media failure as tenants see it: the kind's fixed code and text; the message (addresses,
/// paths, RESTful answers) goes to the log with the task id.
fn failed(task_id: &str, e: &vigil_media::MediaError, fatal: bool) -> PipelineEvent {
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
        // The package (model-bound and partner services) is fetched from the database on a
        // plain thread: `start` runs on the worker's async loop, which must not block_on.
        let binding = if crate::packages::need_of(&task.service_name) == crate::packages::PackageNeed::None {
            None
        } else {
            let (store, rt, t) = (self.store.clone(), self.runtime.clone(), task.clone());
            let fetched = std::thread::scope(|s| {
                s.spawn(move || rt.block_on(crate::packages::binding_for_task(&store, &t)))
                    .join()
                    .unwrap_or_else(|_| Err(PackageError::Load("the package fetch panicked".into())))
            });
            match fetched {
                Ok(b) => b,
                // Names the roles needed; nothing secret in it.
                Err(PackageError::Missing(message)) => {
                    tracing::warn!(task_id = %task.id, message, "task cannot start: no model package");
                    return Err(start_err("VIGIL.MODEL_PACKAGE", message, false));
                }
                Err(PackageError::Load(detail)) => {
                    tracing::warn!(task_id = %task.id, detail, "model package cannot be loaded; will retry");
                    return Err(start_err(
                        "VIGIL.MODEL_PACKAGE",
                        "the model package could not be loaded",
                        true,
                    ));
                }
            }
        };
        let (analyzer, render) = build_task_analyzer_with(&task.service_name, &config, &self.analysis, binding)
            .map_err(|e| setup("VIGIL.ANALYZER", e))?;
        let outputs = serde_json::from_str::<Value>(&task.output)
            .ok()
            .and_then(|v| parse_output(&v).ok())
            .map(|(o, _)| o)
            .ok_or_else(|| start_err("VIGIL.OUTPUT", "stored output is invalid", false))?;
        let ctx = Arc::clone(self);
        let task = task.clone();
        let attachment = Arc::new(Mutex::new(None));
        let stopped = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (slot_cell, stop_flag) = (attachment.clone(), stopped.clone());
        let starter = std::thread::Builder::new()
            .name(format!("start-{}", &task.id[..8.min(task.id.len())]))
            .spawn(move || {
                let (spec, stream_id) = match ctx.source(&task) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = events.send(e);
                        return;
                    }
                };
                let sink = OutboxSink {
                    store: ctx.store.clone(),
                    runtime: ctx.runtime.clone(),
                    task_id: task.id.clone(),
                    project_id: task.project_id.clone(),
                    stream_id,
                    video_source_id: task.video_source_id.clone(),
                    outputs,
                    wake: ctx.wake.clone(),
                };
                let status = events.clone();
                let slot = TaskSlot {
                    task_id: task.id.clone(),
                    video_source_id: task.video_source_id.clone(),
                    analyzer,
                    render,
                    sink: Box::new(sink),
                    status: Box::new(move |ev| {
                        let _ = status.send(ev);
                    }),
                };
                let mut cell = slot_cell.lock().unwrap_or_else(|p| p.into_inner());
                if stop_flag.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                match ctx.hub().attach(spec, slot) {
                    Ok(a) => *cell = Some(a),
                    Err(e) => {
                        let _ = events.send(failed(&task.id, &e, false));
                    }
                }
            })
            .map_err(|e| start_err("VIGIL.THREAD", e.to_string(), true))?;
        Ok(Box::new(Running {
            starter: Some(starter),
            attachment,
            stopped,
        }))
    }
}

impl TaskPipelines {
    /// The engine every pipeline of this process attaches to.
    pub fn hub(&self) -> &StreamHub {
        self.hub.get_or_init(|| {
            StreamHub::new(EngineSettings {
                models: self.analysis.models.clone(),
                backend: self.analysis.backend.clone(),
                media: self.media.clone(),
                replay_files_realtime: self.replay_files_realtime,
                stall_restart: self.stall_restart,
            })
        })
    }

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
}
