//! Video source quality from pixel statistics on the luma (and chroma) planes.
//!
//! | label | rule (defaults in [`QualityThresholds`]) |
//! |---|---|
//! | `BlackScreen` | mean luma < 32 and luma std-dev < 12 |
//! | `GrayScreen` | luma std-dev < 12, mean luma >= 32, chroma within ±12 of neutral (128) |
//! | `ScreenFreeze` | ≥ 2 frames spanning ≥ 1 s of stream time whose consecutive mean absolute luma difference is < 0.5 everywhere |
//! | `Blurry` | variance of the 4-neighbour Laplacian of luma < 10, on frames that are not uniform (not black/gray) |
//!
//! A label is given when at least half of the sampled frames meet the per-frame rule.

use crate::frame::Frame;

/// VIAS `video_source_quality` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QualityLabel {
    BlackScreen,
    GrayScreen,
    ScreenFreeze,
    Blurry,
}

impl QualityLabel {
    /// The VIAS spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            QualityLabel::BlackScreen => "BlackScreen",
            QualityLabel::GrayScreen => "GrayScreen",
            QualityLabel::ScreenFreeze => "ScreenFreeze",
            QualityLabel::Blurry => "Blurry",
        }
    }
}

/// Thresholds of the quality rules (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityThresholds {
    pub black_max_mean: f64,
    pub uniform_max_std: f64,
    pub gray_max_chroma_dev: f64,
    pub freeze_max_mad: f64,
    pub freeze_min_span_secs: f64,
    pub blur_max_laplacian_var: f64,
}

impl Default for QualityThresholds {
    fn default() -> Self {
        QualityThresholds {
            black_max_mean: 32.0,
            uniform_max_std: 12.0,
            gray_max_chroma_dev: 12.0,
            freeze_max_mad: 0.5,
            freeze_min_span_secs: 1.0,
            blur_max_laplacian_var: 10.0,
        }
    }
}

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

/// Quality labels for a run of consecutive frames of one source.
pub fn assess(frames: &[Frame], th: &QualityThresholds) -> Vec<QualityLabel> {
    let mut labels = Vec::new();
    if frames.is_empty() {
        return labels;
    }
    let stats: Vec<FrameStats> = frames.iter().map(frame_stats).collect();
    let half = |count: usize| count * 2 >= stats.len();
    let black = |s: &FrameStats| s.mean_luma < th.black_max_mean && s.std_luma < th.uniform_max_std;
    let gray = |s: &FrameStats| {
        s.mean_luma >= th.black_max_mean && s.std_luma < th.uniform_max_std && s.chroma_dev < th.gray_max_chroma_dev
    };
    let uniform = |s: &FrameStats| s.std_luma < th.uniform_max_std;
    if half(stats.iter().filter(|s| black(s)).count()) {
        labels.push(QualityLabel::BlackScreen);
    }
    if half(stats.iter().filter(|s| gray(s)).count()) {
        labels.push(QualityLabel::GrayScreen);
    }
    if frames.len() >= 2 {
        let span = frames[frames.len() - 1]
            .media_time()
            .saturating_sub(frames[0].media_time())
            .as_secs_f64();
        let frozen = frames
            .windows(2)
            .all(|p| mean_abs_diff(&p[0], &p[1]).is_some_and(|d| d < th.freeze_max_mad));
        if frozen && span >= th.freeze_min_span_secs {
            labels.push(QualityLabel::ScreenFreeze);
        }
    }
    let blurry = stats
        .iter()
        .filter(|s| !uniform(s) && s.laplacian_var < th.blur_max_laplacian_var)
        .count();
    if half(blurry) {
        labels.push(QualityLabel::Blurry);
    }
    labels
}
