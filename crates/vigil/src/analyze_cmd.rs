//! `vigil analyze`: run one algorithm over a file or URL offline and print alarm JSON lines —
//! the quickest way to tune an ROI before creating a task.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use vigil_algorithms::{Analyzer, AnalyzerError, Event, FrameInput, Needs, Perception};
use vigil_vision::Roi;
use vigil_worker::analysis::{build_task_analyzer, AnalysisSettings};
use vigil_worker::engine::{AlarmSink, EngineSettings, Produced, StreamHub, TaskSlot};
use vigil_worker::PipelineEvent;

use crate::settings::Storage;

#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// Algorithm service name, e.g. c-intrusiondetection-cloud or c-flowcount-cloud.
    #[arg(long)]
    pub service: String,
    /// Video file path, file:// / http(s):// / rtsp:// / rtmp:// URL.
    #[arg(long)]
    pub input: String,
    /// The task's config: `{"common": {…}}` or just the common object; `@FILE` reads a file.
    /// (Named apart from the global `--config`, which is the server's TOML file.)
    #[arg(long, default_value = "{}")]
    pub task_config: String,
    /// Write each alarm's picture as <message_id>.jpg into this folder (pictures are then left out of the JSON).
    #[arg(long)]
    pub snapshots: Option<PathBuf>,
    /// Frames per second analysed.
    #[arg(long, default_value_t = 5.0)]
    pub fps: f64,
    /// Stop after this many seconds of video. [default: the whole input]
    #[arg(long)]
    pub max_seconds: Option<f64>,
    /// Deblock every decoded picture, as `serve --deblock-unsampled` (compares events with the
    /// default, which skips the filter on reference pictures that are not analysed).
    #[arg(long)]
    pub deblock_unsampled: bool,
    /// Analyse the picture at each sampling time exactly, as `serve --exact-sample-times`
    /// (compares events with the default, which lets a reference picture one picture earlier
    /// take the sample).
    #[arg(long)]
    pub exact_sample_times: bool,
}

fn load_config(raw: &str) -> anyhow::Result<Value> {
    let text = match raw.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?,
        None => raw.to_string(),
    };
    let v: Value = serde_json::from_str(&text).context("--config is not valid JSON")?;
    Ok(if v.get("common").is_some() {
        v
    } else {
        json!({ "common": v })
    })
}

/// Prints each alarm as a JSON line (pictures to `--snapshots` when given).
struct PrintSink {
    stream_id: String,
    snapshots: Option<PathBuf>,
    bar: ProgressBar,
    alarms: Arc<AtomicU64>,
}

impl AlarmSink for PrintSink {
    fn deliver(&mut self, p: &Produced) -> Result<(), String> {
        let mut alarm = p.to_alarm("analyze", &self.stream_id);
        if let (Some(dir), Some(jpeg)) = (&self.snapshots, &p.jpeg) {
            let path = dir.join(format!("{}.jpg", alarm.message_id));
            std::fs::write(&path, jpeg).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            alarm.image_base64 = None;
        }
        self.alarms.fetch_add(1, Ordering::Relaxed);
        self.bar.suspend(|| println!("{}", alarm.to_json()));
        Ok(())
    }
}

/// Forwards to the task's analyzer and records how far into the video it got.
struct Progress {
    inner: Box<dyn Analyzer>,
    time_ms: Arc<AtomicU64>,
    frames: Arc<AtomicU64>,
}

impl Analyzer for Progress {
    fn needs(&self) -> Needs {
        self.inner.needs()
    }
    fn process(&mut self, frame: &FrameInput, p: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        self.time_ms.store((frame.time * 1000.0) as u64, Ordering::Relaxed);
        self.frames.fetch_add(1, Ordering::Relaxed);
        self.inner.process(frame, p)
    }
    fn finish(&mut self, time: f64) -> Vec<Event> {
        self.inner.finish(time)
    }
    fn roi(&self) -> Option<&Roi> {
        self.inner.roi()
    }
}

pub fn run(storage: &Storage, args: AnalyzeArgs) -> anyhow::Result<()> {
    if !(0.1..=60.0).contains(&args.fps) {
        bail!("--fps must be between 0.1 and 60");
    }
    let config = load_config(&args.task_config)?;
    let models = vigil_vision::ModelDir::resolve(storage.model_dir.as_deref(), Some(&storage.data_dir))
        .context("resolving the model directory (see `vigil models list`)")?;
    let settings = AnalysisSettings {
        models,
        backend: vigil_vision::BackendConfig::default(),
        fps: args.fps,
    };
    let (analyzer, render) = build_task_analyzer(&args.service, &config, &settings).map_err(anyhow::Error::msg)?;
    if let Some(dir) = &args.snapshots {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let (alarms, time_ms, frames) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    // The same engine as the server's tasks; the operator's own files are not confined to
    // media roots.
    let hub = StreamHub::new(EngineSettings {
        models: settings.models.clone(),
        backend: settings.backend.clone(),
        media: vigil_media::MediaConfig {
            deblock_unsampled: args.deblock_unsampled,
            exact_sample_times: args.exact_sample_times,
            ..Default::default()
        },
        replay_files_realtime: false,
        stall_restart: Duration::from_secs(60),
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let slot = TaskSlot {
        task_id: "analyze".into(),
        video_source_id: None,
        analyzer: Box::new(Progress {
            inner: analyzer,
            time_ms: time_ms.clone(),
            frames: frames.clone(),
        }),
        render,
        sink: Box::new(PrintSink {
            stream_id: args.input.rsplit('/').next().unwrap_or(&args.input).to_string(),
            snapshots: args.snapshots.clone(),
            bar: bar.clone(),
            alarms: alarms.clone(),
        }),
        status: Box::new(move |ev| {
            let _ = tx.send(ev);
        }),
    };
    let spec = vigil_worker::source_spec::from_url(&args.input);
    let attachment = hub
        .attach(spec, slot)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {}", args.input, e.message()))?;
    let outcome = loop {
        let t = time_ms.load(Ordering::Relaxed) as f64 / 1000.0;
        bar.set_message(format!(
            "{t:.1} s of video, {} frames analysed, {} alarms",
            frames.load(Ordering::Relaxed),
            alarms.load(Ordering::Relaxed)
        ));
        if args.max_seconds.is_some_and(|m| t > m) {
            break Ok(());
        }
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(PipelineEvent::Finished) => break Ok(()),
            Ok(PipelineEvent::Failed { code, message, .. }) => break Err((code, message)),
            Ok(PipelineEvent::Abnormal { code, message }) => {
                bar.suspend(|| eprintln!("input unavailable: {message} ({code})"));
                break Err((code, message));
            }
            Ok(PipelineEvent::Running) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break Ok(()),
        }
    };
    attachment.detach(Duration::from_secs(10));
    bar.finish_and_clear();
    if let Err((code, message)) = outcome {
        bail!("reading {} failed: {message} ({code})", args.input);
    }
    eprintln!(
        "analysed {} frames, {} alarms",
        frames.load(Ordering::Relaxed),
        alarms.load(Ordering::Relaxed)
    );
    Ok(())
}
