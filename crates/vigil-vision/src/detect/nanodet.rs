//! NanoDet (GFL head) decoder. Per stride `s` (feature map `⌈W/s⌉ × ⌈H/s⌉`, cells row by row):
//! class scores `[1, N_s, C]` (sigmoid applied in the graph) and a distance distribution
//! `[1, N_s, 4 × (R + 1)]` — for each side (left, top, right, bottom) `R + 1` logits over the
//! distances `0..=R` in strides. Distance = `Σ softmax(logits)_k × k × s`; cell centre
//! `((gx + o) × s, (gy + o) × s)` with `o` = `center_offset` (0.5 for NanoDet v0.x such as
//! `nanodet_m`, measured on real frames; 0 for NanoDet-Plus); box = centre ∓ distances.
//! Either `2 × strides` outputs (the official v0.x export: `cls_pred_stride_8`, … then
//! `dis_pred_stride_8`, …) or one `[1, ΣN_s, C + 4 × (R + 1)]` output (NanoDet-Plus export).

use super::packaged::push_classes;
use super::{BBox, Detection};
use crate::backend::Output;

/// Network geometry of a NanoDet model.
pub(crate) struct Geometry<'a> {
    pub width: u32,
    pub height: u32,
    pub strides: &'a [u32],
    pub reg_max: usize,
    pub center_offset: f32,
}

impl Geometry<'_> {
    fn cells(&self, s: u32) -> (usize, usize) {
        (self.width.div_ceil(s) as usize, self.height.div_ceil(s) as usize)
    }
}

/// One stride's class scores and distance logits, row-major `[N, C]` and `[N, 4 (R + 1)]`
/// (`cls_w`/`dis_w` = row lengths, `cls_off`/`dis_off` = first column, for the merged output).
struct Level<'a> {
    stride: u32,
    cls: &'a [f32],
    dis: &'a [f32],
    row_cls: usize,
    row_dis: usize,
    cls_off: usize,
    dis_off: usize,
}

/// Candidates in input pixels (before NMS).
pub(crate) fn decode(
    outs: &[Output],
    geo: &Geometry,
    nc: usize,
    thr: f32,
    classes: Option<&[u32]>,
) -> Result<Vec<Detection>, String> {
    let bins = geo.reg_max + 1;
    let levels = match_outputs(outs, geo, nc)?;
    let mut cands = Vec::new();
    let mut probs = vec![0f32; bins];
    for l in &levels {
        let (gw, gh) = geo.cells(l.stride);
        let s = l.stride as f32;
        for i in 0..gw * gh {
            let cls = &l.cls[i * l.row_cls + l.cls_off..i * l.row_cls + l.cls_off + nc];
            if !cls.iter().any(|&v| v > thr) {
                continue;
            }
            let dis = &l.dis[i * l.row_dis + l.dis_off..i * l.row_dis + l.dis_off + 4 * bins];
            let cx = ((i % gw) as f32 + geo.center_offset) * s;
            let cy = ((i / gw) as f32 + geo.center_offset) * s;
            let mut d = [0f32; 4];
            for (side, logits) in dis.chunks_exact(bins).enumerate() {
                d[side] = expected_bin(logits, &mut probs) * s;
            }
            let b = BBox::new(cx - d[0], cy - d[1], cx + d[2], cy + d[3]);
            push_classes(&mut cands, nc, thr, classes, |c| cls[c], || b);
        }
    }
    Ok(cands)
}

/// `Σ softmax(logits)_k × k` (numerically stable).
fn expected_bin(logits: &[f32], probs: &mut [f32]) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for (p, &v) in probs.iter_mut().zip(logits) {
        *p = (v - max).exp();
        sum += *p;
    }
    probs.iter().enumerate().map(|(k, p)| k as f32 * p).sum::<f32>() / sum
}

/// Finds each stride's score and distance tensors among the outputs (by name, then by row
/// length, then by graph order; strides by their cell count).
fn match_outputs<'a>(outs: &'a [Output], geo: &Geometry, nc: usize) -> Result<Vec<Level<'a>>, String> {
    let dw = 4 * (geo.reg_max + 1);
    let shapes: Vec<String> = outs.iter().map(|o| format!("{} {:?}", o.name, o.shape)).collect();
    let expect = || {
        format!(
            "expected per stride {:?} a [1, N, {nc}] score and a [1, N, {dw}] distance output, or one \
             [1, ΣN, {}] output; the model has {}",
            geo.strides,
            nc + dw,
            shapes.join(", ")
        )
    };
    let rows_of = |o: &Output| match o.shape.as_slice() {
        [1, n, w] | [n, w] if o.data.len() == n * w => Some((*n, *w)),
        _ => None,
    };
    let total: usize = geo.strides.iter().map(|&s| geo.cells(s).0 * geo.cells(s).1).sum();
    if outs.len() == 1 {
        let o = &outs[0];
        if rows_of(o) != Some((total, nc + dw)) {
            return Err(expect());
        }
        let mut start = 0;
        let mut levels = Vec::new();
        for &s in geo.strides {
            let n = geo.cells(s).0 * geo.cells(s).1;
            let part = &o.data[start * (nc + dw)..(start + n) * (nc + dw)];
            levels.push(Level {
                stride: s,
                cls: part,
                dis: part,
                row_cls: nc + dw,
                row_dis: nc + dw,
                cls_off: 0,
                dis_off: nc,
            });
            start += n;
        }
        return Ok(levels);
    }
    if outs.len() != 2 * geo.strides.len() {
        return Err(expect());
    }
    // Which outputs hold scores: by name, else by row length, else the first half.
    let by_name = |o: &Output| {
        let n = o.name.to_ascii_lowercase();
        if n.contains("cls") || n.contains("score") {
            Some(true)
        } else if n.contains("dis") || n.contains("reg") || n.contains("box") {
            Some(false)
        } else {
            None
        }
    };
    let half = geo.strides.len();
    let is_cls: Vec<bool> = outs
        .iter()
        .enumerate()
        .map(|(k, o)| {
            by_name(o).unwrap_or_else(|| match rows_of(o) {
                Some((_, w)) if w == nc && w != dw => true,
                Some((_, w)) if w == dw && w != nc => false,
                _ => k < half,
            })
        })
        .collect();
    let mut levels = Vec::new();
    for &s in geo.strides {
        let n = geo.cells(s).0 * geo.cells(s).1;
        let find = |cls: bool, w: usize| {
            outs.iter()
                .zip(&is_cls)
                .find(|(o, c)| **c == cls && rows_of(o) == Some((n, w)))
                .map(|(o, _)| o)
        };
        let (Some(c), Some(d)) = (find(true, nc), find(false, dw)) else {
            return Err(expect());
        };
        levels.push(Level {
            stride: s,
            cls: &c.data,
            dis: &d.data,
            row_cls: nc,
            row_dis: dw,
            cls_off: 0,
            dis_off: 0,
        });
    }
    Ok(levels)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One-hot logits (a peaked softmax) putting each side at `k` bins.
    fn sides(ks: [usize; 4], bins: usize) -> Vec<f32> {
        let mut v = vec![-30.0; 4 * bins];
        for (side, k) in ks.iter().enumerate() {
            v[side * bins + k] = 30.0;
        }
        v
    }

    #[test]
    fn distances_and_centres_decode_per_stride() {
        // 32×32 input, strides 16 (2×2 cells) and 32 (1 cell), reg_max 3, 2 classes.
        let geo = Geometry {
            width: 32,
            height: 32,
            strides: &[16, 32],
            reg_max: 3,
            center_offset: 0.5,
        };
        let mut cls16 = vec![0.0; 4 * 2];
        cls16[3 * 2 + 1] = 0.8; // cell (1, 1), class 1
        let mut dis16 = vec![0.0; 4 * 16];
        dis16[3 * 16..4 * 16].copy_from_slice(&sides([1, 0, 2, 3], 4));
        let cls32 = vec![0.6, 0.0];
        // Uniform logits: expected bin 1.5 on every side.
        let dis32 = vec![0.0; 16];
        let o = |name: &str, n: usize, w: usize, data: Vec<f32>| Output {
            name: name.into(),
            shape: vec![1, n, w],
            data,
        };
        let outs = vec![
            o("cls_pred_stride_16", 4, 2, cls16.clone()),
            o("cls_pred_stride_32", 1, 2, cls32.clone()),
            o("dis_pred_stride_16", 4, 16, dis16.clone()),
            o("dis_pred_stride_32", 1, 16, dis32.clone()),
        ];
        let d = decode(&outs, &geo, 2, 0.35, None).unwrap();
        assert_eq!(d.len(), 2, "{d:?}");
        // Cell (1, 1) of stride 16: centre (24, 24); left 16, top 0, right 32, bottom 48.
        let a = d.iter().find(|x| x.class_id == 1).unwrap();
        assert_eq!(a.score, 0.8);
        let close = |b: BBox, e: [f32; 4]| {
            assert!(
                (b.x1 - e[0]).abs() < 1e-3
                    && (b.y1 - e[1]).abs() < 1e-3
                    && (b.x2 - e[2]).abs() < 1e-3
                    && (b.y2 - e[3]).abs() < 1e-3,
                "{b:?} vs {e:?}"
            )
        };
        close(a.bbox, [8.0, 24.0, 56.0, 72.0]);
        // Stride 32 cell: centre (16, 16), 1.5 × 32 = 48 each side.
        let b = d.iter().find(|x| x.class_id == 0).unwrap();
        close(b.bbox, [-32.0, -32.0, 64.0, 64.0]);

        // The same as one merged output (NanoDet-Plus layout) and with anonymous names.
        let mut merged = Vec::new();
        for i in 0..4 {
            merged.extend_from_slice(&cls16[i * 2..i * 2 + 2]);
            merged.extend_from_slice(&dis16[i * 16..i * 16 + 16]);
        }
        merged.extend_from_slice(&cls32);
        merged.extend_from_slice(&dis32);
        let m = decode(&[o("output", 5, 18, merged)], &geo, 2, 0.35, None).unwrap();
        assert_eq!(m, d);
        let anon = vec![
            o("a", 4, 2, cls16),
            o("b", 1, 2, cls32),
            o("c", 4, 16, dis16),
            o("d", 1, 16, dis32),
        ];
        assert_eq!(decode(&anon, &geo, 2, 0.35, None).unwrap(), d);
        let err = decode(&anon[..3], &geo, 2, 0.35, None).unwrap_err();
        assert!(err.contains("[1, N, 16]"), "{err}");
    }
}
