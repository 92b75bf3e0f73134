//! Composited test clips: real clips (or a real still) with a real photo of an object that no
//! clip in `shared/media` shows (umbrellas, boats, a left suitcase or box) pasted in at known
//! places and times by ffmpeg, built at test time (never committed) from the cutouts in
//! `tools/labels/assets/` (sources and licences: `SOURCE.md`, `dwell_SOURCES.md` there).
//! Used by the accuracy tests of `vigil-algorithms` and by the end-to-end tests of `vigil`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::paths::{asset, media};

/// Where composited clips are written: `$VIGIL_COMPOSITE_DIR`, or the test target's temp dir.
pub fn composite_dir() -> PathBuf {
    let dir = std::env::var_os("VIGIL_COMPOSITE_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("composites"));
    std::fs::create_dir_all(&dir).expect("composite dir");
    dir
}

/// Runs ffmpeg with `args` to write `out` (MJPEG AVI, 10 fps), through a file of this process
/// renamed into place.
fn ffmpeg(args: &[&str], out: &Path) {
    let part = out.with_extension(format!("{}.avi", std::process::id()));
    let status = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y"])
        .args(args)
        .args(["-r", "10", "-c:v", "mjpeg", "-q:v", "3"])
        .arg(&part)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg failed building {out:?}");
    std::fs::rename(&part, out).expect("composite clip in place");
}

/// The first 24 s of the pedestrian clip with the CC0 umbrella (110 px wide) composited:
/// U1 slides in from the left at 2 s (180 px/s), stands at (250, 330) from 4 s to 14 s and
/// leaves to the right (300 px/s, gone at 16 s); U3 stands at (520, 170) from 6 s to 20 s;
/// U2 is carried through from left to right at 17-21 s (250 px/s). Positions are top-left
/// corners; the umbrella is 110x81.
pub fn umbrella_clip() -> PathBuf {
    static CLIP: OnceLock<PathBuf> = OnceLock::new();
    CLIP.get_or_init(|| {
        let out = composite_dir().join("umbrella_pedestrians.avi");
        let ped = media("pedestrians_vtest.mp4");
        let umb = asset("umbrella_cc0.png");
        let graph = "[1:v]scale=110:-1,split=3[u1][u2][u3];\
            [0:v][u1]overlay=x='if(lt(t,4),-110+180*(t-2),if(lt(t,14),250,250+300*(t-14)))':y=330:enable='between(t,2,16)'[v1];\
            [v1][u3]overlay=x=520:y=170:enable='between(t,6,20)'[v2];\
            [v2][u2]overlay=x='-110+250*(t-17)':y=330:enable='between(t,17,21)'[out]";
        let (ped, umb) = (ped.to_string_lossy(), umb.to_string_lossy());
        ffmpeg(
            &["-t", "24", "-i", &ped, "-loop", "1", "-i", &umb, "-filter_complex", graph, "-map", "[out]", "-t", "24"],
            &out,
        );
        out
    })
    .clone()
}

/// 22 s on the still lake of kodim16 (with temporal noise) and the boat of kodim06: B1
/// (160 px wide, 160x122) sails left to right at y 330 from 1 s (x = -160 + 60 (t - 1)); B2
/// (120x91) right to left at y 250 from 8 s (x = 768 - 50 (t - 8)).
pub fn boat_clip() -> PathBuf {
    static CLIP: OnceLock<PathBuf> = OnceLock::new();
    CLIP.get_or_init(|| {
        let out = composite_dir().join("boats_lake.avi");
        let lake = asset("lake_kodim16.jpg");
        let boat = asset("boat_kodim06.png");
        let graph = "[0:v]noise=alls=4:allf=t[bg];[1:v]split=2[a][b];[a]scale=160:-1[b1];[b]scale=120:-1[b2];\
            [bg][b1]overlay=x='-160+60*(t-1)':y=330:enable='between(t,1,17.5)'[v1];\
            [v1][b2]overlay=x='768-50*(t-8)':y=250:enable='gte(t,8)'[out]";
        let (lake, boat) = (lake.to_string_lossy(), boat.to_string_lossy());
        ffmpeg(
            &[
                "-loop",
                "1",
                "-framerate",
                "10",
                "-t",
                "22",
                "-i",
                &lake,
                "-loop",
                "1",
                "-i",
                &boat,
                "-filter_complex",
                graph,
                "-map",
                "[out]",
                "-t",
                "22",
            ],
            &out,
        );
        out
    })
    .clone()
}

/// `clip` with the picture `overlay` composited at `(x, y)` from `from` to `to` seconds, written
/// to [`composite_dir`] (H.264, near lossless).
pub fn overlay_still(clip: &str, overlay: &str, (x, y): (u32, u32), (from, to): (f64, f64), out_name: &str) -> PathBuf {
    // Tests of one process run in parallel threads: one builds, the others wait and reuse it.
    static BUILT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let out = composite_dir().join(out_name);
    if built.iter().any(|b| b == out_name) {
        return out;
    }
    let part = out.with_extension(format!("{}.mp4", std::process::id()));
    let status = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-i"])
        .arg(media(clip))
        .arg("-i")
        .arg(asset(overlay))
        .args([
            "-filter_complex",
            &format!("[0][1]overlay=x={x}:y={y}:enable='between(t,{from},{to})'"),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-crf",
            "14",
            "-an",
        ])
        .arg(&part)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg overlay failed");
    std::fs::rename(&part, &out).expect("composite clip in place");
    built.push(out_name.to_string());
    out
}
