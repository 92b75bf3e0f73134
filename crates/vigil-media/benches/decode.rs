//! Decode throughput on one core: vigil-media (libavformat demux + libavcodec decode, one
//! thread, frames wrapped and handed to a consumer through the reader) against
//! `ffmpeg -threads 1 -i FILE -f null -` on the same file, in the same run.
//!
//! Run: `cargo bench -p vigil-media --bench decode` (clips are generated from the pedestrian
//! video with libx264, High profile, GOP 50, into a temp dir). `VIGIL_BENCH_FRAMES` sets the
//! clip length (default 1000), `VIGIL_BENCH_ROUNDS` the repetitions (default 3, best kept).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use vigil_media::{DecodeOptions, Frame, ReaderConfig, Recv, SourceSpec, StreamReader, SubscriberConfig};

fn shared_dir() -> PathBuf {
    std::env::var("VIGIL_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

fn make_clip(dir: &Path, w: u32, h: u32, frames: u32) -> PathBuf {
    let out = dir.join(format!("bench_{h}p.mp4"));
    let src = shared_dir().join("media/pedestrians_vtest.mp4");
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-stream_loop", "-1", "-i"])
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

/// CPU seconds (user + system) of this process or of its waited-for children.
fn cpu_seconds(who: libc::c_int) -> f64 {
    // SAFETY: getrusage fills the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(who, &mut ru) } != 0 {
        return 0.0;
    }
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

struct Run {
    frames: u64,
    wall: f64,
    cpu: f64,
}

/// Decodes the whole file through a StreamReader with one decoder thread.
fn ours(path: &Path, keyframes_only: bool) -> Run {
    let cfg = ReaderConfig {
        decode: DecodeOptions {
            keyframes_only,
            threads: 1,
            ..DecodeOptions::default()
        },
        ..ReaderConfig::default()
    };
    let cpu0 = cpu_seconds(libc::RUSAGE_SELF);
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
    let wall = start.elapsed().as_secs_f64();
    drop(reader);
    let cpu = cpu_seconds(libc::RUSAGE_SELF) - cpu0;
    std::hint::black_box(checksum);
    Run { frames: n, wall, cpu }
}

/// Reads one byte per row so the frame is really there (cheap).
fn touch(f: &Frame) -> u64 {
    f.luma_rows().map(|r| u64::from(r[0])).sum()
}

fn ffmpeg(path: &Path) -> Run {
    let cpu0 = cpu_seconds(libc::RUSAGE_CHILDREN);
    let start = Instant::now();
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-threads", "1", "-i"])
        .arg(path)
        .args(["-an", "-f", "null", "-"])
        .output();
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds(libc::RUSAGE_CHILDREN) - cpu0;
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
    Run { frames, wall, cpu }
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let frames: u32 = std::env::var("VIGIL_BENCH_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
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
        "{:<6} {:>10} {:>11} {:>7} {:>14} {:>15} {:>9} {:>17} {:>21}",
        "clip",
        "vigil fps",
        "ffmpeg fps",
        "ratio",
        "vigil fps/cpu",
        "ffmpeg fps/cpu",
        "cpu ratio",
        "key-only decoded",
        "key-only stream fps"
    );
    for (w, h) in [(1280u32, 720u32), (1920, 1080)] {
        let clip = make_clip(dir.path(), w, h, frames);
        let best = |runs: &[Run], per: fn(&Run) -> f64| {
            runs.iter()
                .filter(|r| r.frames > 0)
                .map(|r| r.frames as f64 / per(r).max(1e-9))
                .fold(0.0, f64::max)
        };
        let (mut mine, mut theirs, mut keys) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            theirs.push(ffmpeg(&clip));
            mine.push(ours(&clip, false));
            keys.push(ours(&clip, true));
        }
        let wall = |r: &Run| r.wall;
        let cpu = |r: &Run| r.cpu;
        let (ow, fw) = (best(&mine, wall), best(&theirs, wall));
        let (oc, fc) = (best(&mine, cpu), best(&theirs, cpu));
        let key_stream_fps = keys
            .iter()
            .map(|r| f64::from(frames) / r.wall.max(1e-9))
            .fold(0.0, f64::max);
        let n_ours = mine.last().map_or(0, |r| r.frames);
        let n_key = keys.last().map_or(0, |r| r.frames);
        println!(
            "{:<6} {:>10.1} {:>11.1} {:>7.3} {:>14.1} {:>15.1} {:>9.3} {:>8} of {:<5} {:>21.1}",
            format!("{h}p"),
            ow,
            fw,
            ow / fw.max(1e-9),
            oc,
            fc,
            oc / fc.max(1e-9),
            n_key,
            n_ours,
            key_stream_fps
        );
        if n_ours != u64::from(frames) {
            eprintln!("warning: decoded {n_ours} frames, expected {frames}");
        }
    }
}
