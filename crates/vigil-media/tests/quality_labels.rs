//! The 13 quality labels on real video: every clip in `shared/media`, decoded through the
//! crate's own path and sampled at 5 fps like the prober, clean and degraded as each label
//! describes (`quality::degrade`). Every degradation must get its label on every clip, and no
//! clean clip any label; the cross-probe reference must tell a moved camera and a replaced
//! scene from the same scene later.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use vigil_media::quality::degrade::{degrade, shift_all, Degradation};
use vigil_media::quality::{assess, QualityLabel, QualityThresholds, SceneReference};
use vigil_media::*;

/// Frames per window: 1 s at 5 fps (the prober's 2 s window has the same rules; half keeps
/// this test quick in debug builds).
const WINDOW: usize = 6;

/// street_bikes is an edited hand-held montage (cuts at 1.2, 5.48, 7.48 and 9.68 s): its
/// window is taken inside the steadiest shot. The other clips are fixed cameras from the start.
fn start_of(name: &str) -> f64 {
    if name == "street_bikes" {
        7.5
    } else {
        0.0
    }
}

/// Frames of `path` from `start` s for `secs` s, sampled at 5 fps.
fn decode(path: &std::path::Path, start: f64, secs: f64) -> Vec<Frame> {
    let spec = SourceSpec::url(path.to_str().expect("utf8 path"));
    let mut src = DefaultOpener::default()
        .open(&spec, &CancelToken::new())
        .expect("open clip");
    let info = src.info();
    let mut dec = Decoder::new(&info.params, info.time_base, DecodeOptions::default()).expect("decoder");
    let mut sampler = Sampler::new(Some(5.0));
    let (mut frames, mut index) = (Vec::new(), 0);
    let (from, to) = (Duration::from_secs_f64(start), Duration::from_secs_f64(start + secs));
    loop {
        let eof = match src.read().expect("read") {
            Some(p) => {
                dec.send(&p).expect("send");
                false
            }
            None => {
                dec.send_eof();
                true
            }
        };
        while let Some(f) = dec.receive(index, 0).expect("decode") {
            index += 1;
            if f.media_time() >= to {
                return frames;
            }
            if f.media_time() >= from && sampler.accept(0, f.media_time()) {
                frames.push(f);
            }
        }
        if eof {
            return frames;
        }
    }
}

struct Clip {
    name: String,
    /// 2.2 s of frames: the window is the first `WINDOW`, "later" the last `WINDOW`.
    frames: Vec<Frame>,
}

impl Clip {
    fn window(&self) -> &[Frame] {
        &self.frames[..WINDOW]
    }
    fn later(&self) -> &[Frame] {
        &self.frames[self.frames.len() - WINDOW..]
    }
}

/// The clips, decoded once for every test of this binary.
fn clips() -> &'static [Clip] {
    static CLIPS: std::sync::OnceLock<Vec<Clip>> = std::sync::OnceLock::new();
    CLIPS.get_or_init(decode_clips)
}

fn decode_clips() -> Vec<Clip> {
    let dir = shared_dir().join("media");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mp4"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 10, "expected the shared clips in {}", dir.display());
    std::thread::scope(|s| {
        let handles: Vec<_> = paths
            .iter()
            .map(|p| {
                s.spawn(move || {
                    let name = p.file_stem().and_then(|n| n.to_str()).expect("name").to_string();
                    let frames = decode(p, start_of(&name), 2.1);
                    assert!(frames.len() >= 2 * WINDOW - 1, "{name}: {} frames", frames.len());
                    Clip { name, frames }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("decode thread")).collect()
    })
}

/// Runs `f` for every clip on a few threads; returns the failures it reports.
fn each_clip(clips: &[Clip], f: impl Fn(usize, &Clip) -> Vec<String> + Sync) -> Vec<String> {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(clips.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(c) = clips.get(i) else { break };
                        out.extend(f(i, c));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("clip thread"))
            .collect()
    })
}

fn labels(l: &[QualityLabel]) -> Vec<&'static str> {
    l.iter().map(|l| l.as_str()).collect()
}

#[test]
fn every_degradation_gets_its_label_and_clean_clips_none() {
    let clips = clips();
    let th = QualityThresholds::default();
    let failures = each_clip(clips, |i, clip| {
        let mut fails = Vec::new();
        let window = clip.window();
        let clean = assess(window, None, &th);
        if !clean.labels.is_empty() {
            fails.push(format!("{} clean: {:?}", clip.name, labels(&clean.labels)));
        }
        assert!(
            clean.reference.is_some(),
            "{}: a clean window gives a reference",
            clip.name
        );
        let other = clips[(i + 1) % clips.len()].window();
        for d in Degradation::ALL {
            let bad = degrade(window, d, other).expect("degrade");
            assert_eq!(bad.len(), window.len());
            let a = assess(&bad, None, &th);
            if !a.labels.contains(&d.label()) {
                fails.push(format!(
                    "{} {}: want {}, got {:?}",
                    clip.name,
                    d.name(),
                    d.label().as_str(),
                    labels(&a.labels)
                ));
            }
        }
        fails
    });
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn cross_probe_reference_tells_moved_and_replaced_views_from_the_same_scene() {
    let clips = clips();
    let th = QualityThresholds::default();
    let failures = each_clip(clips, |i, clip| {
        let mut fails = Vec::new();
        let reference: SceneReference = assess(clip.window(), None, &th).reference.expect("reference");
        // The same camera a second later: nothing (street_bikes pans slowly, ~0.8 % of the
        // picture per frame, so a later probe rightly sees it moved).
        let same = assess(clip.later(), Some(&reference), &th);
        if clip.name != "street_bikes" && !same.labels.is_empty() {
            fails.push(format!("{} later: {:?}", clip.name, labels(&same.labels)));
        }
        // Knocked between the probes: every frame of the new window shifted.
        let moved = shift_all(clip.later(), 0.10, 0.06).expect("shift");
        let moved = assess(&moved, Some(&reference), &th);
        if !moved.labels.contains(&QualityLabel::ScreenMovement) {
            fails.push(format!("{} moved: {:?}", clip.name, labels(&moved.labels)));
        }
        // Another scene on this source.
        let other = clips[(i + 1) % clips.len()].later();
        let replaced = assess(other, Some(&reference), &th);
        if !replaced.labels.contains(&QualityLabel::SceneUpheaval) {
            fails.push(format!("{} replaced: {:?}", clip.name, labels(&replaced.labels)));
        }
        // Without a reference the same windows carry no cross-probe label.
        let alone = assess(&shift_all(clip.later(), 0.10, 0.06).expect("shift"), None, &th);
        if !alone.labels.is_empty() {
            fails.push(format!(
                "{} moved, no reference: {:?}",
                clip.name,
                labels(&alone.labels)
            ));
        }
        fails
    });
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn thresholds_are_named_settable_and_used() {
    let mut th = QualityThresholds::default();
    assert_eq!(QualityThresholds::NAMES.len(), 26);
    for name in QualityThresholds::NAMES {
        let v = th.get(name).expect("every name has a value");
        th.set(name, v + 1.0).expect("set");
        assert_eq!(th.get(name), Some(v + 1.0), "{name}");
    }
    let err = th.set("no_such_threshold", 1.0).expect_err("unknown name");
    assert!(
        err.contains("no_such_threshold") && err.contains("blur_max_sharpness"),
        "{err}"
    );
    assert!(th.set("blur_max_sharpness", -1.0).is_err());
    assert!(th.set("blur_max_sharpness", f64::NAN).is_err());

    // A threshold changes the verdict: the sharp pedestrian clip is Blurry when every picture
    // must be sharper than a perfect step edge.
    let frames = decode(&pedestrians(), 0.0, 1.2);
    let mut strict = QualityThresholds::default();
    assert!(assess(&frames, None, &strict).labels.is_empty());
    strict.set("blur_max_sharpness", 10.0).expect("set");
    assert_eq!(assess(&frames, None, &strict).labels, vec![QualityLabel::Blurry]);
}

#[test]
fn frames_of_any_size_and_odd_windows_do_not_panic() {
    let th = QualityThresholds::default();
    assert!(assess(&[], None, &th).labels.is_empty());
    assert!(assess(&[], None, &th).reference.is_none());
    for (w, h) in [(1, 1), (2, 2), (7, 5), (17, 33), (4000, 16)] {
        let (cw, ch) = ((w as usize).div_ceil(2), (h as usize).div_ceil(2));
        let y: Vec<u8> = (0..w * h).map(|i| (i * 37 % 251) as u8).collect();
        let c = vec![128u8; cw * ch];
        let f = Frame::from_yuv420p(w, h, [&y, &c, &c], Duration::ZERO).expect("frame");
        let g = Frame::from_yuv420p(w, h, [&y, &c, &c], Duration::from_secs(2)).expect("frame");
        let a = assess(&[f.clone(), g], None, &th);
        let _ = assess(&[f], a.reference.as_ref(), &th);
    }
    assert!(Frame::from_yuv420p(4, 4, [&[0; 15], &[0; 4], &[0; 4]], Duration::ZERO).is_err());
}
