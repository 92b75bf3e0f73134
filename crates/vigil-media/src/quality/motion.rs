//! Comparing two views (the fixed-size images of two frames): similarity as normalised
//! cross-correlation of their detail, the global shift that maximises it (coarse to fine), and a
//! small zoom search for a camera that was zoomed or re-aimed.

use super::thumb::{Plane, View};

/// Normalised cross-correlation of `a` and `b` shifted by (dx, dy) over their overlap
/// (at least half of each side). 0 when either part is flat.
pub fn ncc(a: &Plane, b: &Plane, dx: i32, dy: i32) -> f64 {
    let (w, h) = (a.w as i32, a.h as i32);
    let (x0, x1) = ((-dx).max(0), (w - dx).min(w));
    let (y0, y1) = ((-dy).max(0), (h - dy).min(h));
    if (x1 - x0) * 2 < w || (y1 - y0) * 2 < h {
        return 0.0;
    }
    let (mut n, mut sa, mut sb, mut saa, mut sbb, mut sab) = (0f64, 0f64, 0f64, 0f64, 0f64, 0f64);
    for y in y0..y1 {
        for x in x0..x1 {
            let va = f64::from(a.at(x as usize, y as usize));
            let vb = f64::from(b.at((x + dx) as usize, (y + dy) as usize));
            n += 1.0;
            sa += va;
            sb += vb;
            saa += va * va;
            sbb += vb * vb;
            sab += va * vb;
        }
    }
    let va = saa - sa * sa / n;
    let vb = sbb - sb * sb / n;
    if va < n || vb < n {
        return 0.0;
    }
    (sab - sa * sb / n) / (va * vb).sqrt()
}

/// `p` magnified by `s` (≥ 1) about its centre (nearest pixel): what a camera zoomed in sees.
fn magnify(p: &Plane, s: f64) -> Plane {
    let (cx, cy) = (p.w as f64 / 2.0, p.h as f64 / 2.0);
    let mut px = Vec::with_capacity(p.w * p.h);
    for y in 0..p.h {
        let sy = ((cy + (y as f64 + 0.5 - cy) / s) as usize).min(p.h - 1);
        for x in 0..p.w {
            let sx = ((cx + (x as f64 + 0.5 - cx) / s) as usize).min(p.w - 1);
            px.push(p.at(sx, sy));
        }
    }
    Plane { w: p.w, h: p.h, px }
}

/// How `b` relates to `a` at best.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewMatch {
    pub ncc: f64,
    /// Shift as a fraction of the width / height.
    pub dx: f64,
    pub dy: f64,
    /// Zoom of `b` relative to `a` (1 = none).
    pub zoom: f64,
}

impl ViewMatch {
    /// The larger of the two shift fractions.
    pub fn shift(&self) -> f64 {
        self.dx.abs().max(self.dy.abs())
    }
}

/// Zooms tried when matching views: none, and 10–40 % either way.
const ZOOMS: [f64; 7] = [1.0, 1.1, 1.15, 1.2, 1.25, 1.3, 1.4];

/// Shift of `b` against `a` up to `max_frac` of the picture that maximises the structure
/// similarity: exhaustive on the quarter-size detail images, refined ±1 pixel on the half and
/// full ones; the unshifted similarity wins ties (a still camera with people moving).
pub fn align(a: &View, b: &View, max_frac: f64) -> ViewMatch {
    let [a0, a1, a2] = &a.detail;
    let [b0, b1, b2] = &b.detail;
    let (mx, my) = ((a2.w as f64 * max_frac) as i32, (a2.h as f64 * max_frac) as i32);
    let mut best = (ncc(a2, b2, 0, 0), 0, 0);
    for dy in -my..=my {
        for dx in -mx..=mx {
            let c = ncc(a2, b2, dx, dy);
            if c > best.0 {
                best = (c, dx, dy);
            }
        }
    }
    for (pa, pb) in [(a1, b1), (a0, b0)] {
        let (cx, cy) = (best.1 * 2, best.2 * 2);
        best = (f64::MIN, cx, cy);
        for dy in cy - 1..=cy + 1 {
            for dx in cx - 1..=cx + 1 {
                let c = ncc(pa, pb, dx, dy);
                if c > best.0 {
                    best = (c, dx, dy);
                }
            }
        }
    }
    let still = ncc(a0, b0, 0, 0);
    let (c, dx, dy) = if still + 0.02 >= best.0 { (still, 0, 0) } else { best };
    ViewMatch {
        ncc: c,
        dx: f64::from(dx) / a0.w as f64,
        dy: f64::from(dy) / a0.h as f64,
        zoom: 1.0,
    }
}

/// The best match of `b` against `a` over shifts up to `max_frac` of the picture and a few
/// zooms either way.
pub fn match_views(a: &View, b: &View, max_frac: f64) -> ViewMatch {
    let mut best = align(a, b, max_frac);
    for &z in &ZOOMS[1..] {
        // b zoomed in relative to a: magnify a; zoomed out: magnify b.
        for (m, zoom) in [
            (align(&View::of(magnify(&a.mid, z)), b, max_frac), z),
            (align(a, &View::of(magnify(&b.mid, z)), max_frac), 1.0 / z),
        ] {
            if m.ncc > best.ncc {
                best = ViewMatch { zoom, ..m };
            }
        }
    }
    best
}
