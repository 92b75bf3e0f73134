//! Shared by the real-video tests: a clip from `shared/media` decoded by the ffmpeg CLI at a
//! fixed sampling rate, perceived by the engine's real [`Perceiver`] (the same models and the same
//! needs union as a worker), and fed to one or more analyzers built through the registry.
//!
//! Use from a test file with `mod support;`.
#![allow(dead_code)]

pub mod composites;
pub mod paths;

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;
use vigil_algorithms::{
    build_analyzer_seeded, payload_schema, validate_common, Analyzer, Catalog, Event, FrameInput, Needs,
};
use vigil_vision::{BackendConfig, ImageBgr, ModelDir, Perceiver, PerceiverFrame};

pub use paths::{media, shared_dir};

/// Width and height of a video (ffprobe).
pub fn video_size(path: &Path) -> (u32, u32) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.trim().split(',').map(|v| v.trim().parse::<u32>().expect("size"));
    (it.next().expect("width"), it.next().expect("height"))
}

/// Calls `f(time_s, image)` for every frame of `path` resampled to `fps` (ffmpeg `fps` filter:
/// frame k is at `k / fps` seconds of the clip).
pub fn for_each_frame(path: &Path, fps: f64, mut f: impl FnMut(f64, &ImageBgr)) -> usize {
    let (w, h) = video_size(path);
    let mut child = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-i"])
        .arg(path)
        .args(["-vf", &format!("fps={fps}"), "-f", "rawvideo", "-pix_fmt", "bgr24", "-"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("ffmpeg runs");
    let mut out = child.stdout.take().expect("stdout");
    let size = (w * h * 3) as usize;
    let mut n = 0usize;
    loop {
        let mut buf = vec![0u8; size];
        if std::io::Read::read_exact(&mut out, &mut buf).is_err() {
            break;
        }
        let img = ImageBgr::from_packed(w, h, buf).expect("frame");
        f(n as f64 / fps, &img);
        n += 1;
    }
    assert!(
        child.wait().expect("ffmpeg exits").success(),
        "ffmpeg failed on {path:?}"
    );
    n
}

/// The real perceiver on the shared models (2 threads, like a test machine's cores).
pub fn perceiver() -> Perceiver {
    let models = ModelDir::at(shared_dir().join("models"))
        .or_else(|_| ModelDir::resolve(None, None))
        .expect("model dir");
    Perceiver::new(
        models,
        BackendConfig {
            threads: 2,
            ..BackendConfig::default()
        },
    )
}

/// The analyzer of `service` configured by `config` (validated as the API would; seed 1).
pub fn analyzer(service: &str, config: &Value) -> Box<dyn Analyzer> {
    let (spec, _) = Catalog::by_service_name(service).expect("service");
    let common = validate_common(spec, config).expect("config validates");
    build_analyzer_seeded(service, &common, 1).expect("analyzer builds")
}

/// Events of one analyzer, with the clip time of the frame that produced each.
pub type Timeline = Vec<(f64, Event)>;

/// Runs `analyzers` over `clip` sampled at `fps` (every analyzer sees every sampled frame, with
/// the union of their needs computed once per frame, as on one camera), then `finish`. Every
/// event's payload is checked against spec §6.4 ([`payload_schema::check`]).
pub fn run(clip: &Path, fps: f64, analyzers: &mut [Box<dyn Analyzer>]) -> Vec<Timeline> {
    let needs = Needs::union(analyzers.iter().map(|a| a.needs()).collect::<Vec<_>>().iter());
    let mut perceiver = perceiver();
    let mut timelines: Vec<Timeline> = vec![Vec::new(); analyzers.len()];
    let mut last = 0.0;
    for_each_frame(clip, fps, |time, image| {
        let perception = perceiver
            .perceive(
                &needs,
                &PerceiverFrame {
                    image,
                    luma: None,
                    time,
                    gate_regions: &[],
                },
            )
            .expect("perceive");
        let frame = FrameInput {
            image,
            time,
            epoch: 1_700_000_000 + time as i64,
            rate: fps,
        };
        for (a, tl) in analyzers.iter_mut().zip(timelines.iter_mut()) {
            let out = a.process(&frame, &perception).expect("process");
            tl.extend(out.into_iter().map(|e| (time, e)));
        }
        last = time;
    });
    for (a, tl) in analyzers.iter_mut().zip(timelines.iter_mut()) {
        tl.extend(a.finish(last).into_iter().map(|e| (last, e)));
    }
    for tl in &timelines {
        // Partner rules' event types (Vigil's range) have no §6.4 schema to check.
        for (t, e) in tl
            .iter()
            .filter(|(_, e)| payload_schema::fields(e.event_type).is_some())
        {
            if let Err(why) = payload_schema::check(e.event_type, e.alarm_type, &e.data) {
                panic!("event {} at {t:.1} s breaks spec §6.4: {why}\n{}", e.event_type, e.data);
            }
        }
    }
    timelines
}

/// One analyzer over a clip (see [`run`]).
pub fn run_one(service: &str, config: &Value, clip: &Path, fps: f64) -> Timeline {
    run(clip, fps, &mut [analyzer(service, config)]).remove(0)
}

/// The `event_set` (or `vehicles`) items of the events of type `t` and `alarm_type`, with times.
pub fn items(timeline: &Timeline, t: u64, alarm_type: Option<i64>) -> Vec<(f64, Value)> {
    timeline
        .iter()
        .filter(|(_, e)| e.event_type == t && e.alarm_type == alarm_type)
        .flat_map(|(time, e)| {
            let list = e.data.get("event_set").or_else(|| e.data.get("vehicles"));
            list.and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(move |v| (*time, v.clone()))
        })
        .collect()
}

/// Matches produced alarm times to hand-counted ones (each used once, nearest first within
/// `tolerance` s): returns (true positives, precision, recall, time errors of the matches).
pub fn score(produced: &[f64], truth: &[f64], tolerance: f64) -> (usize, f64, f64, Vec<f64>) {
    let mut used = vec![false; produced.len()];
    let mut errors = Vec::new();
    for &t in truth {
        let best = produced
            .iter()
            .enumerate()
            .filter(|(i, p)| !used[*i] && (**p - t).abs() <= tolerance)
            .min_by(|a, b| (a.1 - t).abs().total_cmp(&(b.1 - t).abs()));
        if let Some((i, p)) = best {
            used[i] = true;
            errors.push(p - t);
        }
    }
    let tp = errors.len();
    let precision = if produced.is_empty() {
        1.0
    } else {
        tp as f64 / produced.len() as f64
    };
    let recall = if truth.is_empty() {
        1.0
    } else {
        tp as f64 / truth.len() as f64
    };
    (tp, precision, recall, errors)
}
