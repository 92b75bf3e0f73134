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

/// An elliptical cut (alpha outside the ellipse) of the filter-graph stream `input`, as `out`.
fn ellipse(input: &str, out: &str) -> String {
    format!(
        "[{input}]format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':\
         a='if(lte(pow((X-W/2)/(W/2),2)+pow((Y-H/2)/(H/2),2),1),255,0)'[{out}]"
    )
}

/// 30 s of the wet car park with two puddles cut from the real lake photo kodim16: W1, rippled
/// lake water (crop 300x140 at (120, 340), scaled to a 220x100 ellipse) at (420, 260) from 8 s;
/// W2, the blue sky mirrored (crop 300x130 at (20, 20), flipped, darkened, 200x90 ellipse) at
/// (80, 120) from 16 s. Both stay to the end.
pub fn ponding_clip() -> PathBuf {
    static CLIP: OnceLock<PathBuf> = OnceLock::new();
    CLIP.get_or_init(|| {
        let out = composite_dir().join("ponding_carpark.avi");
        let (park, lake) = (media("carpark_cars.mp4"), asset("lake_kodim16.jpg"));
        let graph = format!(
            "[1:v]split=2[w][s];[w]crop=300:140:120:340,scale=220:100[w1];\
             [s]crop=300:130:20:20,vflip,scale=200:90,eq=brightness=-0.08[s1];{};{};\
             [0:v][p1]overlay=x=420:y=260:enable='gte(t,8)'[v1];[v1][p2]overlay=x=80:y=120:enable='gte(t,16)'[out]",
            ellipse("w1", "p1"),
            ellipse("s1", "p2")
        );
        let (park, lake) = (park.to_string_lossy(), lake.to_string_lossy());
        ffmpeg(
            &[
                "-t",
                "30",
                "-i",
                &park,
                "-i",
                &lake,
                "-filter_complex",
                &graph,
                "-map",
                "[out]",
                "-t",
                "30",
            ],
            &out,
        );
        out
    })
    .clone()
}

/// 36 s of the pedestrian clip with two lawn patches turned to bare soil in the live frames
/// (hue -60°, saturation x0.75, darker: the grass texture stays): S1 = (30, 330) 240x150
/// from 6 s, S2 = (540, 470) 200x90 from 20 s; both stay to the end.
pub fn soil_clip() -> PathBuf {
    static CLIP: OnceLock<PathBuf> = OnceLock::new();
    CLIP.get_or_init(|| {
        let out = composite_dir().join("soil_pedestrians.avi");
        let ped = media("pedestrians_vtest.mp4");
        let graph = "[0:v]split=3[bg][a][b];\
            [a]crop=240:150:30:330,hue=h=-60:s=0.75,eq=brightness=-0.06[pa];\
            [b]crop=200:90:540:470,hue=h=-60:s=0.75,eq=brightness=-0.06[pb];\
            [bg][pa]overlay=x=30:y=330:enable='gte(t,6)'[v1];[v1][pb]overlay=x=540:y=470:enable='gte(t,20)'[out]";
        let ped = ped.to_string_lossy();
        ffmpeg(
            &[
                "-t",
                "36",
                "-i",
                &ped,
                "-filter_complex",
                graph,
                "-map",
                "[out]",
                "-t",
                "36",
            ],
            &out,
        );
        out
    })
    .clone()
}

/// 24 s on the lake of kodim16 (temporal noise) with two patches of its own water tinted to a
/// green algal scum (channel mix: red x0.55, green x1.25, blue x0.45): C1 = ellipse (60, 380)
/// 260x90 from 6 s, C2 = ellipse (480, 300) 200x70 from 14 s; both stay.
pub fn cyanobacteria_clip() -> PathBuf {
    static CLIP: OnceLock<PathBuf> = OnceLock::new();
    CLIP.get_or_init(|| {
        let out = composite_dir().join("cyanobacteria_lake.avi");
        let lake = asset("lake_kodim16.jpg");
        let mix = "colorchannelmixer=rr=0.55:rg=0.1:gg=1.25:gb=0.1:bb=0.45:br=0.1";
        let graph = format!(
            "[0:v]noise=alls=4:allf=t,split=3[bg][a][b];[a]crop=260:90:60:380,{mix}[a1];\
             [b]crop=200:70:480:300,{mix}[b1];{};{};\
             [bg][pa]overlay=x=60:y=380:enable='gte(t,6)'[v1];[v1][pb]overlay=x=480:y=300:enable='gte(t,14)'[out]",
            ellipse("a1", "pa"),
            ellipse("b1", "pb")
        );
        let lake = lake.to_string_lossy();
        ffmpeg(
            &[
                "-loop",
                "1",
                "-framerate",
                "10",
                "-t",
                "24",
                "-i",
                &lake,
                "-filter_complex",
                &graph,
                "-map",
                "[out]",
                "-t",
                "24",
            ],
            &out,
        );
        out
    })
    .clone()
}

/// 26 s on the lake of kodim16 whose water (rows 262–511) ripples: a half-transparent copy of it
/// sways ±4 px sideways (0.6 Hz) and ±2 px up and down (0.4 Hz). F1, the cardboard box (40 px
/// wide), drifts right from 3 s at x = 120 + 9 (t - 3), y = 400; F2, the umbrella upside down
/// (64 px wide), drifts left from 10 s at x = 640 - 7 (t - 10), y = 320 (top-left corners).
pub fn floating_clip() -> PathBuf {
    static CLIP: OnceLock<PathBuf> = OnceLock::new();
    CLIP.get_or_init(|| {
        let out = composite_dir().join("floating_lake.avi");
        let (lake, bx, umb) = (
            asset("lake_kodim16.jpg"),
            asset("cardboard_box.png"),
            asset("umbrella_cc0.png"),
        );
        let graph =
            "[0:v]noise=alls=4:allf=t,split=2[bg][w];[w]crop=768:250:0:262,format=rgba,colorchannelmixer=aa=0.5[wr];\
            [bg][wr]overlay=x='4*sin(2*PI*0.6*t)':y='262+2*sin(2*PI*0.4*t)'[rip];\
            [1:v]scale=40:-1[box];[2:v]scale=64:-1,vflip[umb];\
            [rip][box]overlay=x='120+9*(t-3)':y=400:enable='gte(t,3)'[v1];\
            [v1][umb]overlay=x='640-7*(t-10)':y=320:enable='gte(t,10)'[out]";
        let (lake, bx, umb) = (lake.to_string_lossy(), bx.to_string_lossy(), umb.to_string_lossy());
        ffmpeg(
            &[
                "-loop",
                "1",
                "-framerate",
                "10",
                "-t",
                "26",
                "-i",
                &lake,
                "-i",
                &bx,
                "-i",
                &umb,
                "-filter_complex",
                graph,
                "-map",
                "[out]",
                "-t",
                "26",
            ],
            &out,
        );
        out
    })
    .clone()
}

/// A painted water gauge drawn into a clip by [`gauge_clip`]: a white board with red and blue
/// "E" marks (one per unit, 5/10 of a unit high, bars 1/10 thick) and the numbers `low..=high`
/// (DejaVu Sans Bold, 0.7 unit high, painted just above their marks), and a real water texture
/// (a crop of the lake photo kodim16) covering the gauge below the level, which moves linearly.
#[derive(Debug, Clone, Copy)]
pub struct GaugePlacement {
    /// Clip in `shared/media`, or `None` for the still lake photo (with temporal noise).
    pub clip: Option<&'static str>,
    pub seconds: u32,
    /// Left edge of the board, pixels.
    pub x: u32,
    /// Pixels per unit (per number step).
    pub unit_px: u32,
    pub low: u32,
    pub high: u32,
    /// Frame row of the mark of `low`.
    pub low_mark_y: u32,
    /// Water level (in the numbers' units) at 0 s and its change per second.
    pub level0: f64,
    pub level_per_s: f64,
}

impl GaugePlacement {
    /// The true level at `t` seconds, in the numbers' units.
    pub fn level(&self, t: f64) -> f64 {
        self.level0 + self.level_per_s * t
    }
}

/// Check placement of the gauge tests (also the end-to-end case): the real car-park clip,
/// 28 px per decimetre, water falling 1 cm/s from 1.95 m; no ROI (the whole frame is searched).
pub const GAUGE_CARPARK: GaugePlacement = GaugePlacement {
    clip: Some("carpark_cars.mp4"),
    seconds: 30,
    x: 60,
    unit_px: 28,
    low: 10,
    high: 23,
    low_mark_y: 420,
    level0: 19.5,
    level_per_s: -0.1,
};

/// The clip of [`GAUGE_CARPARK`].
pub fn gauge_carpark_clip() -> PathBuf {
    gauge_clip(&GAUGE_CARPARK, "gauge_carpark.avi")
}

/// Builds the clip of `g` (MJPEG AVI, 10 fps) named `name` in [`composite_dir`].
pub fn gauge_clip(g: &GaugePlacement, name: &str) -> PathBuf {
    static BUILT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let out = composite_dir().join(name);
    if built.iter().any(|b| b == name) {
        return out;
    }
    let font = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf";
    assert!(
        Path::new(font).exists(),
        "{font} missing (Debian package fonts-dejavu-core)"
    );
    let unit = g.unit_px as f64;
    let mark = |v: u32| g.low_mark_y as f64 - (v - g.low) as f64 * unit;
    let cm = unit / 10.0;
    let (board_w, top) = (2 * g.unit_px, mark(g.high + 1));
    let mut f = vec![format!(
        "drawbox=x={}:y={top}:w={board_w}:h={}:color=0xF2F2EE:t=fill",
        g.x,
        g.low_mark_y as f64 - top + unit
    )];
    for v in g.low..=g.high {
        let colour = if v % 2 == 0 { "0xD02020" } else { "0x2040C0" };
        let y = mark(v);
        let (ex, bar) = (g.x as f64 + cm, cm.round());
        f.push(format!(
            "drawbox=x={ex}:y={}:w={bar}:h={}:color={colour}:t=fill",
            (y - 5.0 * cm).round(),
            (5.0 * cm).round()
        ));
        for k in [0.0, 2.0, 4.0] {
            let by = (y - (k + 1.0) * cm).round();
            f.push(format!(
                "drawbox=x={ex}:y={by}:w={}:h={bar}:color={colour}:t=fill",
                (4.0 * cm).round()
            ));
        }
        f.push(format!(
            "drawtext=fontfile={font}:text={v}:fontsize={}:fontcolor={colour}:x={}:y={}-th",
            (unit * 0.7).round(),
            g.x as f64 + (7.5 * cm).round(),
            y.round()
        ));
    }
    let water_w = board_w + 40;
    let graph = format!(
        "[0:v]noise=alls=4:allf=t,{}[g];[1:v]crop=140:200:80:300,scale={water_w}:{}[w];\
         [g][w]overlay=x={}:y='{}-({}+{}*t-{})*{unit}':eval=frame[out]",
        f.join(","),
        g.low_mark_y + 40,
        g.x as i64 - 20,
        g.low_mark_y,
        g.level0,
        g.level_per_s,
        g.low
    );
    let lake = asset("lake_kodim16.jpg");
    let (lake, secs) = (lake.to_string_lossy().to_string(), g.seconds.to_string());
    let mut args: Vec<String> = match g.clip {
        Some(c) => vec![
            "-t".into(),
            secs.clone(),
            "-i".into(),
            media(c).to_string_lossy().to_string(),
        ],
        None => ["-loop", "1", "-framerate", "10", "-t", &secs, "-i", &lake]
            .map(String::from)
            .to_vec(),
    };
    args.extend(
        [
            "-loop",
            "1",
            "-i",
            &lake,
            "-filter_complex",
            &graph,
            "-map",
            "[out]",
            "-t",
            &secs,
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ffmpeg(&args, &out);
    built.push(name.to_string());
    out
}

/// Drainage outlet (no licensed water-outlet clip exists here): the first 30 s of the real
/// `carpark_cars.mp4` (768x432, cars drive through) with the real churning white smoke of
/// `fire_dollhouse.mp4` (crop 120x40 at (125, 0) of the 426x240 clip, scaled to 240x80) pasted
/// at (60, 330) from 6 s to 20 s, standing in for water pouring from an outlet.
pub fn drainage_clip() -> PathBuf {
    static CLIP: OnceLock<PathBuf> = OnceLock::new();
    CLIP.get_or_init(|| {
        let out = composite_dir().join("drainage_carpark.avi");
        let (car, fire) = (media("carpark_cars.mp4"), media("fire_dollhouse.mp4"));
        let graph = "[1:v]crop=120:40:125:0,scale=240:80,setpts=PTS-STARTPTS+6/TB[s];\
            [0:v][s]overlay=x=60:y=330:enable='between(t,6,20)':eof_action=pass[out]";
        let (car, fire) = (car.to_string_lossy(), fire.to_string_lossy());
        ffmpeg(
            &[
                "-t",
                "30",
                "-i",
                &car,
                "-i",
                &fire,
                "-filter_complex",
                graph,
                "-map",
                "[out]",
                "-t",
                "30",
            ],
            &out,
        );
        out
    })
    .clone()
}
