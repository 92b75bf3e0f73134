//! Decode throughput on one core: vigil-media (libavformat demux + libavcodec decode, one
//! thread, frames wrapped and handed to a consumer through the reader) against
//! `ffmpeg -threads 1 -i FILE -f null -` on the same file, in the same run.
//!
//! Run: `cargo bench -p vigil-media --bench decode` (clips are generated from the pedestrian
//! video with libx264, High profile, GOP 50, into a temp dir). `VIGIL_BENCH_FRAMES` sets the
//! clip length (default 400), `VIGIL_BENCH_ROUNDS` the repetitions (default 3, best kept).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use vigil_media::{
    DecodeOptions, Frame, ReaderConfig, Recv, SourceSpec, StreamReader, SubscriberConfig,
};

fn shared_dir() -> PathBuf {
    std::env::var("VIGIL_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

fn make_clip(dir: &Path, w: u32, h: u32, frames: u32) -> PathBuf {
    let out = dir.join(format!("bench_{h}p.mp4"));
    let src = shared_dir().join("media/pedestrians_vtest.mp4");
    let status = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-stream_loop",
            "-1",
            "-i",
        ])
        .arg(&src)
        .args([
            "-vf",
            &format!("scale={w}:{h}:flags=bicubic,setpts=N/25/TB"),
            "-r",
            "25",
            "-frames:v",
            &frames.to_string(),
            "-c:v",
            "libx264",
            "-profile:v",
            "high",
            "-preset",
            "medium",
            "-crf",
            "23",
            "-g",
            "50",
            "-keyint_min",
            "50",
            "-sc_threshold",
            "0",
            "-pix_fmt",
            "yuv420p",
            "-an",
        ])
        .arg(&out)
        .status();
    match status {
        Ok(s) if s.success() => out,
        other => {
            eprintln!("cannot generate {}: {other:?}", out.display());
            std::process::exit(1);
        }
    }
}

/// Decodes the whole file through a StreamReader with one decoder thread; returns
/// (frames, seconds).
fn ours(path: &Path, keyframes_only: bool) -> (u64, f64) {
    let cfg = ReaderConfig {
        decode: DecodeOptions {
            keyframes_only,
            threads: 1,
            ..DecodeOptions::default()
        },
        ..ReaderConfig::default()
    };
    let start = Instant::now();
    let reader = match StreamReader::start(SourceSpec::url(path.to_string_lossy()), cfg) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("reader: {e}");
            std::process::exit(1);
        }
    };
    let rx = reader.subscribe(SubscriberConfig {
        capacity: 16,
        fps: None,
    });
    let mut n = 0u64;
    let mut checksum = 0u64;
    while let Recv::Frame(f) = rx.recv_timeout(Duration::from_secs(60)) {
        n += 1;
        checksum = checksum.wrapping_add(touch(&f));
    }
    let secs = start.elapsed().as_secs_f64();
    std::hint::black_box(checksum);
    (n, secs)
}

/// Reads one byte per row so the frame is really there (cheap).
fn touch(f: &Frame) -> u64 {
    f.luma_rows().map(|r| u64::from(r[0])).sum()
}

fn ffmpeg(path: &Path) -> (u64, f64) {
    let start = Instant::now();
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-threads", "1", "-i"])
        .arg(path)
        .args(["-an", "-f", "null", "-"])
        .output();
    let secs = start.elapsed().as_secs_f64();
    let frames = out
        .ok()
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stderr).into_owned();
            text.rsplit("frame=")
                .next()
                .and_then(|s| s.split_whitespace().next())
                .and_then(|s| s.parse().ok())
        })
        .unwrap_or(0);
    (frames, secs)
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let frames: u32 = std::env::var("VIGIL_BENCH_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let rounds: u32 = std::env::var("VIGIL_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("tempdir: {e}");
            std::process::exit(1);
        }
    };
    println!("vigil-media decode benchmark: H.264 High, GOP 50, {frames} frames, best of {rounds}, one thread each");
    println!(
        "{:<6} {:>14} {:>14} {:>7} {:>16} {:>16}",
        "clip", "vigil fps", "ffmpeg fps", "ratio", "key-only frames", "key-only fps"
    );
    for (w, h) in [(1280u32, 720u32), (1920, 1080)] {
        let clip = make_clip(dir.path(), w, h, frames);
        let (mut best_ours, mut best_ff, mut best_key) = (0f64, 0f64, 0f64);
        let (mut n_ours, mut n_key) = (0u64, 0u64);
        for _ in 0..rounds {
            let (n, s) = ffmpeg(&clip);
            if n > 0 {
                best_ff = best_ff.max(n as f64 / s);
            }
            let (n, s) = ours(&clip, false);
            n_ours = n;
            best_ours = best_ours.max(n as f64 / s);
            let (n, s) = ours(&clip, true);
            n_key = n;
            best_key = best_key.max(n as f64 / s);
        }
        let ratio = if best_ff > 0.0 {
            best_ours / best_ff
        } else {
            0.0
        };
        println!(
            "{:<6} {:>14.1} {:>14.1} {:>7.3} {:>9} of {:<4} {:>16.1}",
            format!("{h}p"),
            best_ours,
            best_ff,
            ratio,
            n_key,
            n_ours,
            best_key
        );
        if n_ours != u64::from(frames) {
            eprintln!("warning: decoded {n_ours} frames, expected {frames}");
        }
    }
}
