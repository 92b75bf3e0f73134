//! Per-frame measurements behind the per-frame labels. Most are taken on the thumbnail's
//! active area (black letterbox/pillarbox bars cut off); noise and macroblock damage are
//! resolution-bound, so they read a sparse grid of native pixels.

use super::thumb::{Plane, Thumb};
use crate::frame::Frame;

/// What the per-frame rules look at (see `docs`/the module table in `quality.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FrameFeatures {
    /// Luma mean and standard deviation over the active area.
    pub mean: f64,
    pub std: f64,
    /// Mean |U-128| and |V-128| averaged (neutral-grey test).
    pub chroma_dev: f64,
    /// Length of the mean chroma vector (U-128, V-128): a colour cast moves it away from 0.
    pub cast: f64,
    /// Length of the chroma standard deviations: how colourful the scene itself is.
    pub chroma_spread: f64,
    /// Share of active-area pixels at or above 230 (clipped highlights).
    pub clipped: f64,
    /// 99th percentile of luma.
    pub p99: f64,
    /// Luma range between the 2nd and 98th percentile.
    pub range: f64,
    /// 10th percentile over 4x4 patches of the patch minimum of min(R,G,B): the "dark channel";
    /// a veil of haze or a smudged lens lifts it.
    pub dark_channel: f64,
    /// Edge sharpness `16·Σd1² / Σd4²` on the thumbnail: ~1 for blurred edges (ramps wider than 4
    /// thumbnail pixels), 2–4 for sharp ones.
    pub sharpness: f64,
    /// Noise standard deviation (Immerkær estimator, robust to edges) at native resolution.
    pub noise: f64,
    /// Share of 16x16 macroblocks whose top or left border is a hard step between flat insides
    /// (decoder garbage, smeared slices).
    pub blocky: f64,
    /// Largest 4-connected dark and featureless region of the active area, as a share of it.
    pub covered: f64,
    /// Share of the picture left once black bars are cut off.
    pub active: f64,
}

/// The active area (x0, y0, x1, y1) of the thumbnail luma: black bars at the edges cut off
/// unless that leaves less than 40 % (then the whole picture is the content, e.g. all black).
fn active_area(y: &Plane) -> (usize, usize, usize, usize) {
    let line_black = |vals: &mut dyn Iterator<Item = u8>| {
        let (mut n, mut s, mut s2) = (0f64, 0f64, 0f64);
        for v in vals {
            let v = f64::from(v);
            n += 1.0;
            s += v;
            s2 += v * v;
        }
        let m = s / n.max(1.0);
        m < 28.0 && (s2 / n.max(1.0) - m * m).max(0.0).sqrt() < 4.0
    };
    let row_black = |r: usize| line_black(&mut y.px[r * y.w..(r + 1) * y.w].iter().copied());
    let col_black = |c: usize, y0: usize, y1: usize| line_black(&mut (y0..y1).map(|r| y.at(c, r)));
    let (mut y0, mut y1) = (0, y.h);
    while y0 < y1 && row_black(y0) {
        y0 += 1;
    }
    while y1 > y0 && row_black(y1 - 1) {
        y1 -= 1;
    }
    let (mut x0, mut x1) = (0, y.w);
    while x0 < x1 && col_black(x0, y0, y1) {
        x0 += 1;
    }
    while x1 > x0 && col_black(x1 - 1, y0, y1) {
        x1 -= 1;
    }
    if ((x1 - x0) * (y1 - y0)) * 10 < y.w * y.h * 4 {
        return (0, 0, y.w, y.h);
    }
    (x0, y0, x1, y1)
}

fn percentile(hist: &[u32; 256], total: u32, p: f64) -> f64 {
    let target = (f64::from(total) * p).ceil() as u32;
    let mut acc = 0;
    for (v, &c) in hist.iter().enumerate() {
        acc += c;
        if acc >= target.max(1) {
            return v as f64;
        }
    }
    255.0
}

/// Edge sharpness on the luma region: `16·Σd1² / Σd4²` over horizontal and vertical steps,
/// where d1 is the 1-pixel difference and d4 the 4-pixel one. A step edge gives 4, a ramp of
/// 4+ pixels ~1 (by Cauchy–Schwarz the ratio is never below 1).
fn sharpness(y: &Plane, (x0, y0, x1, y1): (usize, usize, usize, usize)) -> f64 {
    let (mut s1, mut s4) = (0f64, 0f64);
    for r in y0..y1 {
        let row = &y.px[r * y.w..(r + 1) * y.w];
        for x in x0..x1.saturating_sub(4) {
            let d1 = f64::from(row[x + 1]) - f64::from(row[x]);
            let d4 = f64::from(row[x + 4]) - f64::from(row[x]);
            s1 += d1 * d1;
            s4 += d4 * d4;
        }
    }
    for r in y0..y1.saturating_sub(4) {
        for x in x0..x1 {
            let a = f64::from(y.at(x, r));
            let d1 = f64::from(y.at(x, r + 1)) - a;
            let d4 = f64::from(y.at(x, r + 4)) - a;
            s1 += d1 * d1;
            s4 += d4 * d4;
        }
    }
    if s4 <= 0.0 {
        return 4.0;
    }
    16.0 * s1 / s4
}

/// Noise σ at native resolution: Immerkær's mask `[1 -2 1; -2 4 -2; 1 -2 1]` on ~40 rows
/// (~640 points each), averaged per run of 16 points; the 30th percentile of the runs keeps
/// edges and texture out of the estimate.
fn noise(f: &Frame) -> f64 {
    let (w, h, p, s) = (f.width() as usize, f.height() as usize, f.plane(0), f.stride(0));
    let at = |x: usize, r: usize| i32::from(p.get(r * s + x).copied().unwrap_or(0));
    let mut runs = Vec::new();
    // About 40 rows of up to ~640 points, whatever the resolution.
    let (row_step, col_step) = ((h / 40).max(16), (w / 640).max(2));
    for r in (1..h.saturating_sub(1)).step_by(row_step) {
        let mut acc = 0i64;
        let mut n = 0;
        for x in (1..w.saturating_sub(1)).step_by(col_step) {
            let m = at(x - 1, r - 1) - 2 * at(x, r - 1) + at(x + 1, r - 1) - 2 * at(x - 1, r) + 4 * at(x, r)
                - 2 * at(x + 1, r)
                + at(x - 1, r + 1)
                - 2 * at(x, r + 1)
                + at(x + 1, r + 1);
            acc += i64::from(m.abs());
            n += 1;
            if n == 16 {
                runs.push(acc as f64 / 16.0);
                acc = 0;
                n = 0;
            }
        }
    }
    if runs.is_empty() {
        return 0.0;
    }
    runs.sort_by(f64::total_cmp);
    // σ = sqrt(π/2) · mean|mask| / 6 for Gaussian noise.
    runs[runs.len() * 3 / 10] * (std::f64::consts::PI / 2.0).sqrt() / 6.0
}

/// Share of macroblocks whose top or left border is a hard step (≥ 20 levels on average)
/// at least 3x the differences just inside the block and just outside it: decoders conceal
/// lost slices with flat blocks and vertical smears, which natural edges rarely line up with.
fn blocky(f: &Frame) -> f64 {
    let (w, h, p, s) = (f.width() as usize, f.height() as usize, f.plane(0), f.stride(0));
    let at = |x: usize, r: usize| i32::from(p.get(r * s + x).copied().unwrap_or(0));
    let (bw, bh) = (w / 16, h / 16);
    let (mut hits, mut total) = (0usize, 0usize);
    // Large pictures: every other macroblock (checkerboard) is plenty for a share.
    let sparse = bw * bh > 2000;
    for by in 0..bh {
        for bx in 0..bw {
            if sparse && (bx + by) % 2 == 1 {
                continue;
            }
            let (x0, y0) = (bx * 16, by * 16);
            total += 1;
            let mut hit = false;
            if by > 0 {
                let (mut jump, mut inside) = (0, 0);
                for x in (x0..x0 + 16).step_by(2) {
                    jump += (at(x, y0) - at(x, y0 - 1)).abs();
                    inside += (at(x, y0 + 1) - at(x, y0)).abs() + (at(x, y0 - 1) - at(x, y0 - 2)).abs();
                }
                hit |= jump >= 20 * 8 && jump * 2 >= 3 * (inside + 16);
            }
            if bx > 0 && !hit {
                let (mut jump, mut inside) = (0, 0);
                for r in (y0..y0 + 16).step_by(2) {
                    jump += (at(x0, r) - at(x0 - 1, r)).abs();
                    inside += (at(x0 + 1, r) - at(x0, r)).abs() + (at(x0 - 1, r) - at(x0 - 2, r)).abs();
                }
                hit |= jump >= 20 * 8 && jump * 2 >= 3 * (inside + 16);
            }
            hits += usize::from(hit);
        }
    }
    if total == 0 {
        0.0
    } else {
        hits as f64 / total as f64
    }
}

/// Largest 4-connected region of 8x8 thumbnail cells that are dark (mean < `max_luma`) and
/// featureless (std < `max_std`), as a share of the active area's cells.
fn covered(y: &Plane, (x0, y0, x1, y1): (usize, usize, usize, usize), max_luma: f64, max_std: f64) -> f64 {
    const C: usize = 8;
    let (cw, ch) = ((x1 - x0) / C, (y1 - y0) / C);
    if cw == 0 || ch == 0 {
        return 0.0;
    }
    let mut dead = vec![false; cw * ch];
    for cy in 0..ch {
        for cx in 0..cw {
            let (mut s, mut s2) = (0f64, 0f64);
            for r in y0 + cy * C..y0 + (cy + 1) * C {
                for x in x0 + cx * C..x0 + (cx + 1) * C {
                    let v = f64::from(y.at(x, r));
                    s += v;
                    s2 += v * v;
                }
            }
            let n = (C * C) as f64;
            let m = s / n;
            let sd = (s2 / n - m * m).max(0.0).sqrt();
            dead[cy * cw + cx] = m < max_luma && sd < max_std;
        }
    }
    let mut seen = vec![false; cw * ch];
    let mut best = 0usize;
    let mut stack = Vec::new();
    for start in 0..cw * ch {
        if !dead[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let mut size = 0;
        while let Some(i) = stack.pop() {
            size += 1;
            let (cx, cy) = (i % cw, i / cw);
            let mut visit = |j: usize| {
                if dead[j] && !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            };
            if cx > 0 {
                visit(i - 1);
            }
            if cx + 1 < cw {
                visit(i + 1);
            }
            if cy > 0 {
                visit(i - cw);
            }
            if cy + 1 < ch {
                visit(i + cw);
            }
        }
        best = best.max(size);
    }
    best as f64 / (cw * ch) as f64
}

/// Dark channel: min(R,G,B) per chroma sample of the active area, minimum over 4x4 patches,
/// 10th percentile of the patches.
fn dark_channel(t: &Thumb, (x0, y0, x1, y1): (usize, usize, usize, usize)) -> f64 {
    let (cx0, cy0) = (x0 / 2, y0 / 2);
    let cx1 = (x1 / 2).min(t.u.w).min(t.y.w / 2);
    let cy1 = (y1 / 2).min(t.u.h).min(t.y.h / 2);
    let mut patches = Vec::new();
    for py in (cy0..cy1).step_by(4) {
        for px in (cx0..cx1).step_by(4) {
            let mut lo = 255f64;
            for r in py..(py + 4).min(cy1) {
                for c in px..(px + 4).min(cx1) {
                    let yv = f64::from(t.y.at(2 * c, 2 * r));
                    let (u, v) = (f64::from(t.u.at(c, r)) - 128.0, f64::from(t.v.at(c, r)) - 128.0);
                    let rr = yv + 1.402 * v;
                    let gg = yv - 0.344 * u - 0.714 * v;
                    let bb = yv + 1.772 * u;
                    lo = lo.min(rr.min(gg).min(bb));
                }
            }
            patches.push(lo.max(0.0));
        }
    }
    if patches.is_empty() {
        return 0.0;
    }
    patches.sort_by(f64::total_cmp);
    patches[patches.len() / 10]
}

/// Every measurement of one frame.
pub fn measure(f: &Frame, t: &Thumb, th: &super::QualityThresholds) -> FrameFeatures {
    let area = active_area(&t.y);
    let (x0, y0, x1, y1) = area;
    let mut hist = [0u32; 256];
    let (mut s, mut s2) = (0f64, 0f64);
    for r in y0..y1 {
        for &v in &t.y.px[r * t.y.w + x0..r * t.y.w + x1] {
            hist[usize::from(v)] += 1;
            let v = f64::from(v);
            s += v;
            s2 += v * v;
        }
    }
    let n = ((x1 - x0) * (y1 - y0)).max(1) as u32;
    let mean = s / f64::from(n);
    let std = (s2 / f64::from(n) - mean * mean).max(0.0).sqrt();
    let clipped = hist[230..].iter().sum::<u32>() as f64 / f64::from(n);
    // Chroma over the active area (chroma is half the thumbnail's resolution).
    let (cx0, cy0, cx1, cy1) = (x0 / 2, y0 / 2, (x1 / 2).min(t.u.w), (y1 / 2).min(t.u.h));
    let (mut cn, mut dev, mut su, mut sv, mut su2, mut sv2) = (0f64, 0f64, 0f64, 0f64, 0f64, 0f64);
    for r in cy0..cy1 {
        for c in cx0..cx1 {
            let (u, v) = (f64::from(t.u.at(c, r)) - 128.0, f64::from(t.v.at(c, r)) - 128.0);
            cn += 1.0;
            dev += (u.abs() + v.abs()) / 2.0;
            su += u;
            sv += v;
            su2 += u * u;
            sv2 += v * v;
        }
    }
    let cn = cn.max(1.0);
    let (mu, mv) = (su / cn, sv / cn);
    let spread = ((su2 / cn - mu * mu).max(0.0) + (sv2 / cn - mv * mv).max(0.0)).sqrt();
    FrameFeatures {
        mean,
        std,
        chroma_dev: dev / cn,
        cast: mu.hypot(mv),
        chroma_spread: spread,
        clipped,
        p99: percentile(&hist, n, 0.99),
        range: percentile(&hist, n, 0.98) - percentile(&hist, n, 0.02),
        dark_channel: dark_channel(t, area),
        sharpness: sharpness(&t.y, area),
        noise: noise(f),
        blocky: blocky(f),
        covered: covered(&t.y, area, th.occlude_max_luma, th.occlude_max_cell_std),
        active: f64::from(n) / (t.y.w * t.y.h).max(1) as f64,
    }
}
