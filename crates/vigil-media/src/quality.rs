//! Video source quality (VIAS `video_source_quality`, all 13 labels) from a short window of
//! frames of one source (the prober samples 2 s at 5 fps), compared with what the previous probe
//! saw ([`SceneReference`]).
//!
//! Each frame is reduced once to a box-averaged thumbnail (longest side ≤ 320 px, libswscale's
//! area filter) and a fixed 128x96 view image; noise and macroblock damage are read on a sparse
//! grid of native pixels. Per-frame labels need `min_frame_share` (½) of the frames; the names
//! in brackets are [`QualityThresholds`] fields (defaults in `Default`).
//!
//! | label | rule |
//! |---|---|
//! | `BlackScreen` | uniform (luma std < `uniform_max_std` 3) and mean luma < `black_max_mean` 32 |
//! | `GrayScreen` | uniform, mean ≥ 32, mean \|U−128\|,\|V−128\| < `gray_max_chroma_dev` 12 |
//! | `AbnormalLight` | ≥ `over_min_clipped` 30 % of pixels ≥ 230, or mean < `dark_max_mean` 60 with 99th percentile < `dark_max_p99` 110 |
//! | `SnowNoise` | native noise σ (Immerkær, edge-robust) ≥ `noise_min_sigma` 8 |
//! | `Blurry` | edge sharpness 16·Σd1²/Σd4² < `blur_max_sharpness` 1.8 (≈1 when every edge is a ramp ≥ 4 thumbnail px, 2–4 sharp) on frames with content, not noisy/veiled/garbled |
//! | `ColorDistortion` | mean chroma vector ≥ `cast_min_offset` 35 and ≥ `cast_min_ratio` 1.2 × the scene's chroma spread |
//! | `ScreenSplash` | ≥ `splash_min_blocks` 6 % of 16x16 macroblocks with a hard top/left border step (≥ 20 levels on average, ≥ 3× the mean step just inside and outside) |
//! | `Occlude` | one 4-connected region of 8x8 thumbnail cells darker than `occlude_max_luma` 60 and flatter than `occlude_max_cell_std` 3 covering ≥ `occlude_min_area` 12 % |
//! | `ScreenSmudge` | dark channel (10th percentile of 4x4-patch min RGB) ≥ `smudge_min_dark_channel` 110 and luma 2–98 % range < `smudge_max_range` 110 |
//! | `ScreenFreeze` | ≥ `freeze_min_share` 80 % of consecutive pairs with mean absolute luma difference < `freeze_max_mad` 0.005, over ≥ `freeze_min_span_secs` 1 s |
//! | `ScreenJitter` | ≥ `jitter_min_moves` 3 consecutive shifts ≥ `jitter_min_shift` 1.2 % of the picture, back and forth (path ≥ 2.5 × net) |
//! | `ScreenMovement` | shifts ≥ 1.2 % adding up to ≥ `move_min_shift` 4 %, or a cut best matched shifted/zoomed, or vs the reference: match ≥ `same_view_min_ncc` 0.25 shifted ≥ 4 % or zoomed |
//! | `SceneUpheaval` | a cut (detail similarity < `cut_max_ncc` 0.5) whose best shifted/zoomed match is < 0.25, or vs the reference: best match < `upheaval_max_ncc` 0.2 |
//!
//! Black bars (letterbox/pillarbox) are cut off before the per-frame statistics. Views are
//! compared only on frames without per-frame damage, by normalised cross-correlation of their
//! detail (the image minus its local mean: structure without lighting), over shifts found coarse
//! to fine and, for cuts and the reference, zooms of 10–40 % either way.
//! [`degrade`] holds the synthetic degradations the tests and the `quality_table` example use.

pub mod degrade;
mod features;
mod motion;
mod temporal;
mod thumb;

pub use features::FrameFeatures;

use crate::frame::Frame;
use thumb::Thumb;

/// VIAS `video_source_quality` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QualityLabel {
    Blurry,
    ColorDistortion,
    AbnormalLight,
    ScreenSplash,
    ScreenJitter,
    ScreenMovement,
    SceneUpheaval,
    ScreenFreeze,
    BlackScreen,
    SnowNoise,
    Occlude,
    GrayScreen,
    ScreenSmudge,
}

impl QualityLabel {
    /// The VIAS spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            QualityLabel::Blurry => "Blurry",
            QualityLabel::ColorDistortion => "ColorDistortion",
            QualityLabel::AbnormalLight => "AbnormalLight",
            QualityLabel::ScreenSplash => "ScreenSplash",
            QualityLabel::ScreenJitter => "ScreenJitter",
            QualityLabel::ScreenMovement => "ScreenMovement",
            QualityLabel::SceneUpheaval => "SceneUpheaval",
            QualityLabel::ScreenFreeze => "ScreenFreeze",
            QualityLabel::BlackScreen => "BlackScreen",
            QualityLabel::SnowNoise => "SnowNoise",
            QualityLabel::Occlude => "Occlude",
            QualityLabel::GrayScreen => "GrayScreen",
            QualityLabel::ScreenSmudge => "ScreenSmudge",
        }
    }

    /// Every label, in the order of spec §2.1.
    pub const ALL: [QualityLabel; 13] = [
        QualityLabel::Blurry,
        QualityLabel::ColorDistortion,
        QualityLabel::AbnormalLight,
        QualityLabel::ScreenSplash,
        QualityLabel::ScreenJitter,
        QualityLabel::ScreenMovement,
        QualityLabel::SceneUpheaval,
        QualityLabel::ScreenFreeze,
        QualityLabel::BlackScreen,
        QualityLabel::SnowNoise,
        QualityLabel::Occlude,
        QualityLabel::GrayScreen,
        QualityLabel::ScreenSmudge,
    ];
}

/// Thresholds of the quality rules (see the module docs). Each field is also a settings name
/// (`--quality-threshold name=value`, see [`QualityThresholds::set`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityThresholds {
    /// BlackScreen: mean luma below this (and the picture uniform).
    pub black_max_mean: f64,
    /// Black/GrayScreen: luma standard deviation below this = a uniform picture.
    pub uniform_max_std: f64,
    /// GrayScreen: mean |U-128|,|V-128| below this.
    pub gray_max_chroma_dev: f64,
    /// ScreenFreeze: consecutive frames whose mean absolute luma difference is below this are
    /// the same picture ...
    pub freeze_max_mad: f64,
    /// ... and at least this share of the consecutive pairs must be ...
    pub freeze_min_share: f64,
    /// ScreenFreeze: ... over at least this much stream time (s).
    pub freeze_min_span_secs: f64,
    /// Blurry: edge sharpness (1 = every edge a wide ramp, 4 = step edges) below this.
    pub blur_max_sharpness: f64,
    /// SnowNoise: native-resolution noise σ at or above this.
    pub noise_min_sigma: f64,
    /// ColorDistortion: mean chroma offset at or above this ...
    pub cast_min_offset: f64,
    /// ... and at least this many times the scene's own chroma spread.
    pub cast_min_ratio: f64,
    /// AbnormalLight (over-exposed): share of clipped (≥ 230) pixels at or above this.
    pub over_min_clipped: f64,
    /// AbnormalLight (under-exposed): mean luma below this ...
    pub dark_max_mean: f64,
    /// ... and 99th percentile below this (no lit part at all).
    pub dark_max_p99: f64,
    /// ScreenSplash: share of macroblocks with a concealment-like hard border at or above this.
    pub splash_min_blocks: f64,
    /// Occlude: largest dark featureless region at or above this share of the picture ...
    pub occlude_min_area: f64,
    /// ... made of 8x8 thumbnail cells darker than this ...
    pub occlude_max_luma: f64,
    /// ... and flatter than this (luma std).
    pub occlude_max_cell_std: f64,
    /// ScreenSmudge: dark channel (10th percentile) at or above this ...
    pub smudge_min_dark_channel: f64,
    /// ... and luma 2–98 % range below this.
    pub smudge_max_range: f64,
    /// ScreenJitter: a consecutive-frame shift of at least this fraction of the picture ...
    pub jitter_min_shift: f64,
    /// ... in at least this many pairs, going back and forth.
    pub jitter_min_moves: f64,
    /// ScreenMovement: net shift of the view (fraction of the picture) at or above this.
    pub move_min_shift: f64,
    /// Similarity (normalised cross-correlation) below which consecutive frames are a cut.
    pub cut_max_ncc: f64,
    /// After a cut or vs the previous probe: a shifted/zoomed match at or above this is the
    /// same scene seen differently (ScreenMovement) ...
    pub same_view_min_ncc: f64,
    /// ... and a best match below this is another scene (SceneUpheaval).
    pub upheaval_max_ncc: f64,
    /// Per-frame labels need at least this share of the window's frames.
    pub min_frame_share: f64,
}

impl Default for QualityThresholds {
    fn default() -> Self {
        QualityThresholds {
            black_max_mean: 32.0,
            uniform_max_std: 3.0,
            gray_max_chroma_dev: 12.0,
            freeze_max_mad: 0.005,
            freeze_min_share: 0.8,
            freeze_min_span_secs: 1.0,
            blur_max_sharpness: 1.8,
            noise_min_sigma: 8.0,
            cast_min_offset: 35.0,
            cast_min_ratio: 1.2,
            over_min_clipped: 0.3,
            dark_max_mean: 60.0,
            dark_max_p99: 110.0,
            splash_min_blocks: 0.06,
            occlude_min_area: 0.12,
            occlude_max_luma: 60.0,
            occlude_max_cell_std: 3.0,
            smudge_min_dark_channel: 110.0,
            smudge_max_range: 110.0,
            jitter_min_shift: 0.012,
            jitter_min_moves: 3.0,
            move_min_shift: 0.04,
            cut_max_ncc: 0.5,
            same_view_min_ncc: 0.25,
            upheaval_max_ncc: 0.2,
            min_frame_share: 0.5,
        }
    }
}

macro_rules! threshold_names {
    ($($f:ident),* $(,)?) => {
        impl QualityThresholds {
            /// Every threshold's name, as accepted by [`QualityThresholds::set`].
            pub const NAMES: &'static [&'static str] = &[$(stringify!($f)),*];

            /// Sets the threshold `name` (one of [`QualityThresholds::NAMES`]); the value must be
            /// finite and not negative.
            pub fn set(&mut self, name: &str, value: f64) -> Result<(), String> {
                if !value.is_finite() || value < 0.0 {
                    return Err(format!("quality threshold {name}: {value} is not a finite value >= 0"));
                }
                match name {
                    $(stringify!($f) => self.$f = value,)*
                    _ => {
                        return Err(format!(
                            "unknown quality threshold {name:?} (known: {})",
                            Self::NAMES.join(", ")
                        ))
                    }
                }
                Ok(())
            }

            /// The value of threshold `name`.
            pub fn get(&self, name: &str) -> Option<f64> {
                match name {
                    $(stringify!($f) => Some(self.$f),)*
                    _ => None,
                }
            }
        }
    };
}

threshold_names!(
    black_max_mean,
    uniform_max_std,
    gray_max_chroma_dev,
    freeze_max_mad,
    freeze_min_share,
    freeze_min_span_secs,
    blur_max_sharpness,
    noise_min_sigma,
    cast_min_offset,
    cast_min_ratio,
    over_min_clipped,
    dark_max_mean,
    dark_max_p99,
    splash_min_blocks,
    occlude_min_area,
    occlude_max_luma,
    occlude_max_cell_std,
    smudge_min_dark_channel,
    smudge_max_range,
    jitter_min_shift,
    jitter_min_moves,
    move_min_shift,
    cut_max_ncc,
    same_view_min_ncc,
    upheaval_max_ncc,
    min_frame_share,
);

/// Per-frame statistics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameStats {
    pub mean_luma: f64,
    pub std_luma: f64,
    /// Mean |U-128| and |V-128| averaged.
    pub chroma_dev: f64,
    pub laplacian_var: f64,
}

/// Computes [`FrameStats`] on a 2-pixel grid (enough for these statistics, 4x cheaper).
pub fn frame_stats(f: &Frame) -> FrameStats {
    let (w, h) = (f.width() as usize, f.height() as usize);
    let (y, ys) = (f.plane(0), f.stride(0));
    let px = |x: usize, r: usize| -> f64 { y.get(r * ys + x).copied().unwrap_or(0) as f64 };
    let (mut n, mut sum, mut sum2) = (0f64, 0f64, 0f64);
    let (mut ln, mut lsum, mut lsum2) = (0f64, 0f64, 0f64);
    for r in (0..h).step_by(2) {
        for x in (0..w).step_by(2) {
            let v = px(x, r);
            n += 1.0;
            sum += v;
            sum2 += v * v;
            if r >= 1 && r + 1 < h && x >= 1 && x + 1 < w {
                let lap = px(x - 1, r) + px(x + 1, r) + px(x, r - 1) + px(x, r + 1) - 4.0 * v;
                ln += 1.0;
                lsum += lap;
                lsum2 += lap * lap;
            }
        }
    }
    let mean = if n > 0.0 { sum / n } else { 0.0 };
    let var = if n > 0.0 {
        (sum2 / n - mean * mean).max(0.0)
    } else {
        0.0
    };
    let lmean = if ln > 0.0 { lsum / ln } else { 0.0 };
    let lvar = if ln > 0.0 {
        (lsum2 / ln - lmean * lmean).max(0.0)
    } else {
        0.0
    };
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let mut cdev = 0f64;
    let mut cn = 0f64;
    for plane in 1..3 {
        let (c, cs) = (f.plane(plane), f.stride(plane));
        for r in (0..ch).step_by(2) {
            for x in (0..cw).step_by(2) {
                cdev += (c.get(r * cs + x).copied().unwrap_or(128) as f64 - 128.0).abs();
                cn += 1.0;
            }
        }
    }
    FrameStats {
        mean_luma: mean,
        std_luma: var.sqrt(),
        chroma_dev: if cn > 0.0 { cdev / cn } else { 0.0 },
        laplacian_var: lvar,
    }
}

/// Mean absolute luma difference between two frames of the same size (2-pixel grid);
/// `None` if the sizes differ.
pub fn mean_abs_diff(a: &Frame, b: &Frame) -> Option<f64> {
    if a.width() != b.width() || a.height() != b.height() {
        return None;
    }
    let (w, h) = (a.width() as usize, a.height() as usize);
    let (pa, sa, pb, sb) = (a.plane(0), a.stride(0), b.plane(0), b.stride(0));
    let (mut n, mut sum) = (0u64, 0u64);
    for r in (0..h).step_by(2) {
        for x in (0..w).step_by(2) {
            let va = pa.get(r * sa + x).copied().unwrap_or(0);
            let vb = pb.get(r * sb + x).copied().unwrap_or(0);
            sum += u64::from(va.abs_diff(vb));
            n += 1;
        }
    }
    Some(if n == 0 { 0.0 } else { sum as f64 / n as f64 })
}

/// What the previous probe of a source saw, kept by the prober between rounds so that a camera
/// turned away or a scene replaced between two probes is noticed (`ScreenMovement`,
/// `SceneUpheaval`): a 128x96 luma image of the window's last usable frame and its detail image (24 KiB).
#[derive(Debug, Clone, PartialEq)]
pub struct SceneReference {
    view: thumb::View,
}

/// The result of [`assess`].
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub labels: Vec<QualityLabel>,
    /// What to compare the next probe of this source with (`None`: nothing usable was seen).
    pub reference: Option<SceneReference>,
    /// The per-frame measurements, in frame order (for tuning and diagnostics).
    pub features: Vec<FrameFeatures>,
}

/// Quality labels for a run of consecutive frames of one source (the prober's window, ~10
/// frames), compared with what its previous probe saw.
pub fn assess(frames: &[Frame], previous: Option<&SceneReference>, th: &QualityThresholds) -> Assessment {
    let thumbs: Vec<Thumb> = frames.iter().map(Thumb::of).collect();
    let features: Vec<FrameFeatures> = frames
        .iter()
        .zip(&thumbs)
        .map(|(f, t)| features::measure(f, t, th))
        .collect();
    let mut labels = per_frame_labels(&features, th);
    let uniform: Vec<bool> = features.iter().map(|f| f.std < th.uniform_max_std).collect();
    // Views are compared on frames whose picture is sound: not uniform, garbled, noisy or
    // badly exposed (those have their own labels, and their detail says little).
    let usable: Vec<bool> = features.iter().map(|f| !damaged(f, th)).collect();
    let uniform_share = uniform.iter().filter(|&&u| u).count() as f64 / frames.len().max(1) as f64;
    labels.extend(temporal::window_labels(
        frames,
        &thumbs,
        &usable,
        uniform_share,
        previous.map(|r| &r.view),
        th,
    ));
    labels.sort();
    labels.dedup();
    let reference = thumbs
        .iter()
        .zip(&usable)
        .rev()
        .find(|(_, &u)| u)
        .map(|(t, _)| SceneReference { view: t.view.clone() });
    Assessment {
        labels,
        reference,
        features,
    }
}

/// A frame whose picture is uniform, garbled, noisy or badly exposed.
fn damaged(f: &FrameFeatures, th: &QualityThresholds) -> bool {
    f.std < th.uniform_max_std
        || f.blocky >= th.splash_min_blocks
        || f.noise >= th.noise_min_sigma
        || f.clipped >= th.over_min_clipped
        || (f.mean < th.dark_max_mean && f.p99 < th.dark_max_p99)
}

/// A per-frame rule.
type FrameRule<'a> = dyn Fn(&FrameFeatures) -> bool + 'a;

/// Labels from single frames, each given when at least `min_frame_share` of the frames show it.
fn per_frame_labels(fs: &[FrameFeatures], th: &QualityThresholds) -> Vec<QualityLabel> {
    use QualityLabel::*;
    let mut labels = Vec::new();
    if fs.is_empty() {
        return labels;
    }
    let enough = |rule: &dyn Fn(&FrameFeatures) -> bool| {
        let n = fs.iter().filter(|f| rule(f)).count() as f64;
        n > 0.0 && n >= th.min_frame_share * fs.len() as f64
    };
    let uniform = |f: &FrameFeatures| f.std < th.uniform_max_std;
    let black = |f: &FrameFeatures| uniform(f) && f.mean < th.black_max_mean;
    let gray = |f: &FrameFeatures| uniform(f) && f.mean >= th.black_max_mean && f.chroma_dev < th.gray_max_chroma_dev;
    let noisy = |f: &FrameFeatures| f.noise >= th.noise_min_sigma;
    let over = |f: &FrameFeatures| f.clipped >= th.over_min_clipped;
    let dark = |f: &FrameFeatures| !black(f) && f.mean < th.dark_max_mean && f.p99 < th.dark_max_p99;
    let content = |f: &FrameFeatures| !uniform(f) && !over(f) && !dark(f);
    // A veiled picture is soft too; the veil is the cause to report.
    let smudged = |f: &FrameFeatures| f.dark_channel >= th.smudge_min_dark_channel && f.range < th.smudge_max_range;
    let rules: [(QualityLabel, &FrameRule); 9] = [
        (BlackScreen, &black),
        (GrayScreen, &gray),
        (AbnormalLight, &|f| over(f) || dark(f)),
        (SnowNoise, &|f| !uniform(f) && noisy(f)),
        (Blurry, &|f| {
            content(f)
                && !noisy(f)
                && !smudged(f)
                && f.sharpness < th.blur_max_sharpness
                && f.blocky < th.splash_min_blocks
        }),
        (ColorDistortion, &|f| {
            !uniform(f) && f.cast >= th.cast_min_offset && f.cast >= th.cast_min_ratio * f.chroma_spread
        }),
        (ScreenSplash, &|f| !uniform(f) && f.blocky >= th.splash_min_blocks),
        (Occlude, &|f| content(f) && f.covered >= th.occlude_min_area),
        (ScreenSmudge, &|f| content(f) && smudged(f)),
    ];
    for (label, rule) in rules {
        if enough(rule) {
            labels.push(label);
        }
    }
    labels
}

/// [`mean_abs_diff`] on every 4th row and every 2nd column: enough to tell a frozen picture
/// from a live one at an eighth of the reads.
fn mean_abs_diff_sparse(a: &Frame, b: &Frame) -> Option<f64> {
    if a.width() != b.width() || a.height() != b.height() {
        return None;
    }
    let (w, h) = (a.width() as usize, a.height() as usize);
    let (pa, sa, pb, sb) = (a.plane(0), a.stride(0), b.plane(0), b.stride(0));
    let (mut n, mut sum) = (0u64, 0u64);
    for r in (0..h).step_by(4) {
        let (Some(ra), Some(rb)) = (pa.get(r * sa..r * sa + w), pb.get(r * sb..r * sb + w)) else {
            continue;
        };
        for (va, vb) in ra.iter().step_by(2).zip(rb.iter().step_by(2)) {
            sum += u64::from(va.abs_diff(*vb));
            n += 1;
        }
    }
    Some(if n == 0 { 0.0 } else { sum as f64 / n as f64 })
}
