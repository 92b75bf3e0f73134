//! Prints the quality-label table of the docs: for every clip in `shared/media` (or the
//! directory given as first argument), the labels of its clean first 2 s (sampled at 5 fps, as
//! the prober does) and of each synthetic degradation, plus the cross-probe cases, and the cost
//! of `quality::assess` per frame. `--features` also prints the per-frame measurements.
//!
//! `cargo run --release -p vigil-media --example quality_table [-- DIR] [--features]`

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use vigil_media::quality::degrade::{degrade, shift_all, Degradation};
use vigil_media::quality::{assess, Assessment, QualityLabel, QualityThresholds, SceneReference};
use vigil_media::{CancelToken, DecodeOptions, Decoder, DefaultOpener, Frame, Opener, Sampler, SourceSpec};

/// Frames of the first `secs` of `path`, sampled at `fps`.
fn decode(path: &Path, secs: f64, fps: f64) -> Result<Vec<Frame>, String> {
    let spec = SourceSpec::url(path.to_str().ok_or("path is not UTF-8")?);
    let mut src = DefaultOpener::default()
        .open(&spec, &CancelToken::new())
        .map_err(|e| e.to_string())?;
    let info = src.info();
    let mut dec = Decoder::new(&info.params, info.time_base, DecodeOptions::default()).map_err(|e| e.to_string())?;
    let mut sampler = Sampler::new(Some(fps));
    let (mut frames, mut index) = (Vec::new(), 0);
    let limit = Duration::from_secs_f64(secs);
    loop {
        let eof = match src.read().map_err(|e| e.to_string())? {
            Some(p) => {
                dec.send(&p).map_err(|e| e.to_string())?;
                false
            }
            None => {
                dec.send_eof();
                true
            }
        };
        while let Some(f) = dec.receive(index, 0).map_err(|e| e.to_string())? {
            index += 1;
            if f.media_time() > limit {
                return Ok(frames);
            }
            if sampler.accept(0, f.media_time()) {
                frames.push(f);
            }
        }
        if eof {
            return Ok(frames);
        }
    }
}

/// Where a clip's window starts (s): street_bikes is an edited hand-held montage (cuts at 1.2,
/// 5.48, 7.48 and 9.68 s); its steadiest shot starts at 7.5 s.
fn start_of(name: &str) -> f64 {
    if let Ok(v) = std::env::var(format!("QT_START_{name}")) {
        return v.parse().unwrap_or(0.0);
    }
    if name == "street_bikes" {
        7.5
    } else {
        0.0
    }
}

/// How much of a clip is decoded (s): 3.2 s, or street_bikes' steady shot up to its next cut.
fn span_of(name: &str) -> f64 {
    if name == "street_bikes" {
        2.1
    } else {
        3.2
    }
}

fn short(l: QualityLabel) -> &'static str {
    l.as_str()
}

fn cell(a: &Assessment, want: Option<QualityLabel>) -> String {
    let extra: Vec<&str> = a
        .labels
        .iter()
        .filter(|&&l| Some(l) != want)
        .map(|&l| short(l))
        .collect();
    let hit = match want {
        Some(l) if a.labels.contains(&l) => "✓",
        Some(_) => "✗",
        None if a.labels.is_empty() => "✓",
        None => "✗",
    };
    if extra.is_empty() {
        hit.to_string()
    } else {
        format!("{hit} +{}", extra.join(","))
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let show = args.iter().any(|a| a == "--features");
    let dir = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/media"));
    let mut clips: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mp4"))
        .filter(|p| std::env::var("QT_ONLY").map_or(true, |o| p.to_string_lossy().contains(&o)))
        .collect();
    clips.sort();
    let th = QualityThresholds::default();
    let decoded: Vec<(String, Vec<Frame>)> = clips
        .iter()
        .map(|p| {
            let name = p.file_stem().and_then(|s| s.to_str()).unwrap_or("?").to_string();
            // street_bikes is an edited montage: start inside its second shot (cut at 1.2 s).
            let start = start_of(&name);
            let frames = decode(p, start + span_of(&name), 5.0).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let frames: Vec<Frame> = frames
                .into_iter()
                .filter(|f| f.media_time().as_secs_f64() >= start)
                .collect();
            (name, frames)
        })
        .collect();
    let mut header = String::from("| clip | clean |");
    let mut rule = String::from("|---|---|");
    for d in Degradation::ALL {
        header += &format!(" {} |", d.name());
        rule += "---|";
    }
    header += " later vs ref | shifted vs ref | other clip vs ref |";
    rule += "---|---|---|";
    println!("{header}\n{rule}");
    let (mut cost, mut counted) = (Duration::ZERO, 0usize);
    let mut timed = |frames: &[Frame], prev: Option<&SceneReference>| {
        let t = Instant::now();
        let a = assess(frames, prev, &th);
        cost += t.elapsed();
        counted += frames.len();
        a
    };
    let (mut hits, mut cases, mut false_clean) = (0, 0, 0);
    let mut usual = Vec::new();
    for (ci, (name, frames)) in decoded.iter().enumerate() {
        let window = &frames[..frames.len().min(11)];
        let later = &frames[frames.len().saturating_sub(11)..];
        let other = &decoded[(ci + 1) % decoded.len()].1;
        let mark = |case: &str| {
            if std::env::var_os("VIGIL_QUALITY_DEBUG").is_some() {
                eprintln!("== {name} {case}");
            }
        };
        mark("clean");
        let clean = timed(window, None);
        if show {
            for f in &clean.features {
                println!("  {name} {f:?}");
            }
        }
        false_clean += usize::from(!clean.labels.is_empty());
        let mut row = format!(
            "| {name} ({}x{}) | {} |",
            window[0].width(),
            window[0].height(),
            cell(&clean, None)
        );
        for d in Degradation::ALL {
            let bad = degrade(window, d, other).expect("degrade");
            mark(d.name());
            let a = timed(&bad, None);
            if show && !a.labels.contains(&d.label()) {
                for f in &a.features {
                    println!("  {name} {} {f:?}", d.name());
                }
            }
            cases += 1;
            hits += usize::from(a.labels.contains(&d.label()));
            row += &format!(" {} |", cell(&a, Some(d.label())));
        }
        let reference = clean.reference.clone();
        mark("later");
        // The prober's usual case: a clean window compared with the previous probe's reference.
        let t = Instant::now();
        let same = timed(later, reference.as_ref());
        usual.push((
            name.clone(),
            window[0].width(),
            window[0].height(),
            t.elapsed() / later.len() as u32,
        ));
        // The whole later window shifted: the camera moved between the probes.
        let moved = shift_all(later, 0.10, 0.06).expect("shift");
        mark("moved");
        let moved = timed(&moved, reference.as_ref());
        mark("other");
        let replaced = timed(&other[..other.len().min(11)], reference.as_ref());
        false_clean += usize::from(!same.labels.is_empty());
        row += &format!(
            " {} | {} | {} |",
            cell(&same, None),
            cell(&moved, Some(QualityLabel::ScreenMovement)),
            cell(&replaced, Some(QualityLabel::SceneUpheaval))
        );
        println!("{row}");
    }
    println!("\n| clip | size | assess per frame, clean window + reference |\n|---|---|---|");
    for (name, w, h, d) in &usual {
        println!("| {name} | {w}x{h} | {:.2} ms |", d.as_secs_f64() * 1000.0);
    }
    println!(
        "\n{hits}/{cases} degradations labelled; {false_clean} clean windows with a label; \
         assess: {:.2} ms per frame over {counted} frames ({} build)",
        cost.as_secs_f64() * 1000.0 / counted.max(1) as f64,
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
}
