//! `vigil analyze`: run one algorithm over a file or URL offline and print alarm JSON lines —
//! the quickest way to tune an ROI before creating a task.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use vigil_media::{ReaderConfig, Recv, StreamReader, StreamStatus, SubscriberConfig};
use vigil_worker::analysis::{Analysis, AnalysisSettings};

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
    let mut analysis = Analysis::new(&args.service, &config, &settings).map_err(anyhow::Error::msg)?;
    if let Some(dir) = &args.snapshots {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let spec = vigil_worker::source_spec::from_url(&args.input);
    let reader = StreamReader::start(
        spec,
        ReaderConfig {
            reconnect: false,
            ..Default::default()
        },
    )
    .map_err(|e| anyhow::anyhow!("cannot open {}: {}", args.input, e.message()))?;
    let frames = reader.subscribe(SubscriberConfig {
        capacity: 8,
        fps: Some(args.fps),
    });
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let stream_id = args.input.rsplit('/').next().unwrap_or(&args.input).to_string();
    let (mut analysed, mut alarms) = (0u64, 0u64);
    let mut converter = vigil_media::RgbConverter::bgr();
    loop {
        let frame = match frames.recv_timeout(Duration::from_millis(500)) {
            Recv::Frame(f) => f,
            Recv::Timeout => continue,
            Recv::Closed => break,
        };
        let t = frame.media_time().as_secs_f64();
        if args.max_seconds.is_some_and(|m| t > m) {
            break;
        }
        analysed += 1;
        for p in analysis.on_frame(&mut converter, &frame).map_err(anyhow::Error::msg)? {
            let mut alarm = p.to_alarm("analyze", &stream_id);
            if let (Some(dir), Some(jpeg)) = (&args.snapshots, &p.jpeg) {
                let path = dir.join(format!("{}.jpg", alarm.message_id));
                std::fs::write(&path, jpeg).with_context(|| format!("cannot write {}", path.display()))?;
                alarm.image_base64 = None;
            }
            alarms += 1;
            bar.suspend(|| println!("{}", alarm.to_json()));
        }
        bar.set_message(format!(
            "{t:.1} s of video, {analysed} frames analysed, {alarms} alarms"
        ));
    }
    let status = reader.status();
    reader.stop();
    bar.finish_and_clear();
    if let StreamStatus::Ended(Some(e)) = status {
        bail!("reading {} failed: {} ({})", args.input, e.message(), e.kind().as_str());
    }
    eprintln!("analysed {analysed} frames, {alarms} alarms");
    Ok(())
}
