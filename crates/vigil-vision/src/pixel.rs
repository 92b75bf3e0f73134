//! Pixel operations for appearance-based algorithms: colour conversion, region statistics,
//! colour-range masks, a running background model, frame differencing and connected components.
//! HSV follows OpenCV's 8-bit convention: H in 0..180, S and V in 0..=255.

use crate::detect::BBox;
use crate::error::{Result, VisionError};
use crate::image::ImageBgr;

/// A single-channel 8-bit plane (gray image or 0/255 mask), packed.
#[derive(Debug, Clone, PartialEq)]
pub struct Plane {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl Plane {
    pub fn new(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            data: vec![0; width as usize * height as usize],
        }
    }
    #[inline]
    pub fn get(&self, x: u32, y: u32) -> u8 {
        self.data[y as usize * self.width as usize + x as usize]
    }
    /// Number of non-zero pixels.
    pub fn count_nonzero(&self) -> usize {
        self.data.iter().filter(|&&v| v != 0).count()
    }
}

/// BGR -> HSV (OpenCV 8-bit convention).
#[inline]
pub fn bgr_to_hsv(b: u8, g: u8, r: u8) -> [u8; 3] {
    let (bf, gf, rf) = (b as f32, g as f32, r as f32);
    let v = bf.max(gf).max(rf);
    let mn = bf.min(gf).min(rf);
    let delta = v - mn;
    let s = if v > 0.0 { delta * 255.0 / v } else { 0.0 };
    let mut h = if delta == 0.0 {
        0.0
    } else if v == rf {
        60.0 * (gf - bf) / delta
    } else if v == gf {
        120.0 + 60.0 * (bf - rf) / delta
    } else {
        240.0 + 60.0 * (rf - gf) / delta
    };
    if h < 0.0 {
        h += 360.0;
    }
    [
        ((h / 2.0).round() as u32 % 180) as u8,
        s.round().clamp(0.0, 255.0) as u8,
        v as u8,
    ]
}

/// BGR -> gray (BT.601: 0.299 R + 0.587 G + 0.114 B).
#[inline]
pub fn bgr_to_gray(b: u8, g: u8, r: u8) -> u8 {
    ((r as u32 * 4899 + g as u32 * 9617 + b as u32 * 1868 + 8192) >> 14) as u8
}

/// The frame as gray.
pub fn to_gray(img: &ImageBgr) -> Plane {
    let mut p = Plane::new(img.width(), img.height());
    let w = img.width() as usize;
    for y in 0..img.height() {
        let row = img.row(y);
        let out = &mut p.data[y as usize * w..(y as usize + 1) * w];
        for (x, o) in out.iter_mut().enumerate() {
            *o = bgr_to_gray(row[x * 3], row[x * 3 + 1], row[x * 3 + 2]);
        }
    }
    p
}

/// The frame as packed HSV triplets.
pub fn to_hsv(img: &ImageBgr) -> Vec<[u8; 3]> {
    let mut out = Vec::with_capacity(img.width() as usize * img.height() as usize);
    for y in 0..img.height() {
        for px in img.row(y).chunks_exact(3) {
            out.push(bgr_to_hsv(px[0], px[1], px[2]));
        }
    }
    out
}

/// Integer pixel rectangle clamped to the image; error when empty.
fn clamp_rect(img_w: u32, img_h: u32, r: &BBox) -> Result<(u32, u32, u32, u32)> {
    let x0 = r.x1.floor().clamp(0.0, img_w as f32) as u32;
    let y0 = r.y1.floor().clamp(0.0, img_h as f32) as u32;
    let x1 = r.x2.ceil().clamp(0.0, img_w as f32) as u32;
    let y1 = r.y2.ceil().clamp(0.0, img_h as f32) as u32;
    if x1 <= x0 || y1 <= y0 {
        return Err(VisionError::Image(format!("region {r:?} is empty inside the frame")));
    }
    Ok((x0, y0, x1, y1))
}

/// Mean and variance per channel of a region.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionStats {
    /// Channel means (B, G, R or H, S, V).
    pub mean: [f32; 3],
    pub variance: [f32; 3],
    pub pixels: usize,
}

fn stats_of(iter: impl Iterator<Item = [u8; 3]>) -> RegionStats {
    let mut s = [0f64; 3];
    let mut s2 = [0f64; 3];
    let mut n = 0usize;
    for px in iter {
        for c in 0..3 {
            let v = px[c] as f64;
            s[c] += v;
            s2[c] += v * v;
        }
        n += 1;
    }
    let nf = n.max(1) as f64;
    let mut mean = [0f32; 3];
    let mut variance = [0f32; 3];
    for c in 0..3 {
        let m = s[c] / nf;
        mean[c] = m as f32;
        variance[c] = (s2[c] / nf - m * m).max(0.0) as f32;
    }
    RegionStats {
        mean,
        variance,
        pixels: n,
    }
}

fn region_pixels<'a>(img: &'a ImageBgr, (x0, y0, x1, y1): (u32, u32, u32, u32)) -> impl Iterator<Item = [u8; 3]> + 'a {
    (y0..y1).flat_map(move |y| {
        let row = img.row(y);
        (x0..x1).map(move |x| {
            let i = x as usize * 3;
            [row[i], row[i + 1], row[i + 2]]
        })
    })
}

/// BGR mean/variance of a region.
pub fn region_stats_bgr(img: &ImageBgr, region: &BBox) -> Result<RegionStats> {
    let r = clamp_rect(img.width(), img.height(), region)?;
    Ok(stats_of(region_pixels(img, r)))
}

/// HSV mean/variance of a region (hue as a plain number, not circular).
pub fn region_stats_hsv(img: &ImageBgr, region: &BBox) -> Result<RegionStats> {
    let r = clamp_rect(img.width(), img.height(), region)?;
    Ok(stats_of(region_pixels(img, r).map(|p| bgr_to_hsv(p[0], p[1], p[2]))))
}

/// Normalised HSV histogram of a region: `h_bins x s_bins x v_bins`, summing to 1, index
/// `(h * s_bins + s) * v_bins + v`.
pub fn hsv_histogram(img: &ImageBgr, region: &BBox, h_bins: usize, s_bins: usize, v_bins: usize) -> Result<Vec<f32>> {
    let r = clamp_rect(img.width(), img.height(), region)?;
    let (hb, sb, vb) = (h_bins.max(1), s_bins.max(1), v_bins.max(1));
    let mut hist = vec![0f32; hb * sb * vb];
    let mut n = 0usize;
    for p in region_pixels(img, r) {
        let [h, s, v] = bgr_to_hsv(p[0], p[1], p[2]);
        let hi = (h as usize * hb / 180).min(hb - 1);
        let si = (s as usize * sb / 256).min(sb - 1);
        let vi = (v as usize * vb / 256).min(vb - 1);
        hist[(hi * sb + si) * vb + vi] += 1.0;
        n += 1;
    }
    for v in &mut hist {
        *v /= n.max(1) as f32;
    }
    Ok(hist)
}

/// An inclusive HSV range; when `h_min > h_max` the hue range wraps around 180 (reds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HsvRange {
    pub h_min: u8,
    pub h_max: u8,
    pub s_min: u8,
    pub s_max: u8,
    pub v_min: u8,
    pub v_max: u8,
}

impl HsvRange {
    pub fn contains(&self, [h, s, v]: [u8; 3]) -> bool {
        let h_ok = if self.h_min <= self.h_max {
            h >= self.h_min && h <= self.h_max
        } else {
            h >= self.h_min || h <= self.h_max
        };
        h_ok && s >= self.s_min && s <= self.s_max && v >= self.v_min && v <= self.v_max
    }
}

/// 255 where the pixel's HSV is in any of the ranges.
pub fn hsv_mask(img: &ImageBgr, ranges: &[HsvRange]) -> Plane {
    let mut m = Plane::new(img.width(), img.height());
    let w = img.width() as usize;
    for y in 0..img.height() {
        for (x, px) in img.row(y).chunks_exact(3).enumerate() {
            let hsv = bgr_to_hsv(px[0], px[1], px[2]);
            if ranges.iter().any(|r| r.contains(hsv)) {
                m.data[y as usize * w + x] = 255;
            }
        }
    }
    m
}

/// 255 where `|a - b| > threshold` in gray.
pub fn frame_difference(a: &ImageBgr, b: &ImageBgr, threshold: u8) -> Result<Plane> {
    if a.width() != b.width() || a.height() != b.height() {
        return Err(VisionError::Image(format!(
            "frame sizes differ: {}x{} vs {}x{}",
            a.width(),
            a.height(),
            b.width(),
            b.height()
        )));
    }
    let (ga, gb) = (to_gray(a), to_gray(b));
    let mut m = Plane::new(a.width(), a.height());
    for ((o, &x), &y) in m.data.iter_mut().zip(&ga.data).zip(&gb.data) {
        *o = if x.abs_diff(y) > threshold { 255 } else { 0 };
    }
    Ok(m)
}

/// Running-average background model on gray pixels: `bg += alpha * (frame - bg)`; foreground
/// where `|frame - bg| > threshold`. Pixels classified foreground learn `alpha * fg_factor`
/// (default 0), so a still object is absorbed only slowly.
#[derive(Debug, Clone)]
pub struct BackgroundModel {
    pub alpha: f32,
    pub threshold: f32,
    pub fg_learning_factor: f32,
    bg: Vec<f32>,
    width: u32,
    height: u32,
    frames: u64,
}

impl BackgroundModel {
    pub fn new(alpha: f32, threshold: f32) -> Self {
        Self {
            alpha,
            threshold,
            fg_learning_factor: 0.0,
            bg: Vec::new(),
            width: 0,
            height: 0,
            frames: 0,
        }
    }

    /// Updates the model and returns the foreground mask of this frame (all zero on the first
    /// frame, which initialises the model). A size change restarts the model.
    pub fn apply(&mut self, img: &ImageBgr) -> Plane {
        self.apply_gray(&to_gray(img))
    }

    /// As [`BackgroundModel::apply`], on a gray plane (already downscaled or
    /// exposure-compensated by the caller).
    pub fn apply_gray(&mut self, g: &Plane) -> Plane {
        let mut m = Plane::new(g.width, g.height);
        if self.frames == 0 || self.width != g.width || self.height != g.height {
            self.bg = g.data.iter().map(|&v| v as f32).collect();
            self.width = g.width;
            self.height = g.height;
            self.frames = 1;
            return m;
        }
        self.frames += 1;
        for ((b, &v), o) in self.bg.iter_mut().zip(&g.data).zip(m.data.iter_mut()) {
            let d = v as f32 - *b;
            let fg = d.abs() > self.threshold;
            if fg {
                *o = 255;
            }
            let a = if fg {
                self.alpha * self.fg_learning_factor
            } else {
                self.alpha
            };
            *b += a * d;
        }
        m
    }

    /// Takes `gray` as the background at once wherever `mask` is non-zero: a region accepted
    /// as the new scene (the ghost an object leaves when it was in the first frame and goes).
    /// Ignored when the sizes differ from the model's.
    pub fn absorb(&mut self, gray: &Plane, mask: &Plane) {
        if gray.width != self.width
            || gray.height != self.height
            || mask.width != self.width
            || mask.height != self.height
        {
            return;
        }
        for ((b, &v), &m) in self.bg.iter_mut().zip(&gray.data).zip(&mask.data) {
            if m != 0 {
                *b = v as f32;
            }
        }
    }

    /// The background estimate as a gray plane.
    pub fn background(&self) -> Plane {
        Plane {
            width: self.width,
            height: self.height,
            data: self.bg.iter().map(|&v| v.round().clamp(0.0, 255.0) as u8).collect(),
        }
    }
}

/// One connected component of non-zero pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Component {
    pub area: usize,
    /// Tight box (x2/y2 exclusive).
    pub bbox: BBox,
    pub centroid: (f32, f32),
}

/// Per-component accumulator: area, x0, y0, x1, y1, sum x, sum y.
type Acc = (usize, u32, u32, u32, u32, f64, f64);

/// Connected components of non-zero pixels (8-connectivity when `eight`, else 4), with at
/// least `min_area` pixels, in order of first pixel (row-major).
pub fn connected_components(mask: &Plane, eight: bool, min_area: usize) -> Vec<Component> {
    let (w, h) = (mask.width as usize, mask.height as usize);
    let mut labels = vec![0u32; w * h];
    let mut parent: Vec<u32> = vec![0];
    fn find(p: &mut [u32], mut x: u32) -> u32 {
        while p[x as usize] != x {
            p[x as usize] = p[p[x as usize] as usize];
            x = p[x as usize];
        }
        x
    }
    for y in 0..h {
        for x in 0..w {
            if mask.data[y * w + x] == 0 {
                continue;
            }
            let mut neigh = [0u32; 4];
            let mut k = 0;
            if x > 0 {
                neigh[k] = labels[y * w + x - 1];
                k += 1;
            }
            if y > 0 {
                neigh[k] = labels[(y - 1) * w + x];
                k += 1;
                if eight {
                    if x > 0 {
                        neigh[k] = labels[(y - 1) * w + x - 1];
                        k += 1;
                    }
                    if x + 1 < w {
                        neigh[k] = labels[(y - 1) * w + x + 1];
                        k += 1;
                    }
                }
            }
            let mut l = 0u32;
            for &n in &neigh[..k] {
                if n != 0 {
                    let r = find(&mut parent, n);
                    if l == 0 {
                        l = r;
                    } else if r != l {
                        let (a, b) = (l.min(r), l.max(r));
                        parent[b as usize] = a;
                        l = a;
                    }
                }
            }
            if l == 0 {
                l = parent.len() as u32;
                parent.push(l);
            }
            labels[y * w + x] = l;
        }
    }
    // Accumulate per root.
    let mut acc: Vec<Option<Acc>> = vec![None; parent.len()];
    let mut order = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let l = labels[y * w + x];
            if l == 0 {
                continue;
            }
            let r = find(&mut parent, l) as usize;
            let e = acc[r].get_or_insert_with(|| {
                order.push(r);
                (0, x as u32, y as u32, x as u32, y as u32, 0.0, 0.0)
            });
            e.0 += 1;
            e.1 = e.1.min(x as u32);
            e.2 = e.2.min(y as u32);
            e.3 = e.3.max(x as u32);
            e.4 = e.4.max(y as u32);
            e.5 += x as f64;
            e.6 += y as f64;
        }
    }
    order
        .into_iter()
        .filter_map(|r| acc[r])
        .filter(|e| e.0 >= min_area.max(1))
        .map(|(n, x0, y0, x1, y1, sx, sy)| Component {
            area: n,
            bbox: BBox::new(x0 as f32, y0 as f32, (x1 + 1) as f32, (y1 + 1) as f32),
            centroid: ((sx / n as f64) as f32, (sy / n as f64) as f32),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsv_matches_opencv_reference_values() {
        // Values from cv2.cvtColor(..., COLOR_BGR2HSV) for pure colours.
        assert_eq!(bgr_to_hsv(0, 0, 255), [0, 255, 255]); // red
        assert_eq!(bgr_to_hsv(0, 255, 0), [60, 255, 255]); // green
        assert_eq!(bgr_to_hsv(255, 0, 0), [120, 255, 255]); // blue
        assert_eq!(bgr_to_hsv(0, 255, 255), [30, 255, 255]); // yellow
        assert_eq!(bgr_to_hsv(128, 128, 128), [0, 0, 128]);
        assert_eq!(bgr_to_gray(255, 255, 255), 255);
        assert_eq!(bgr_to_gray(0, 0, 0), 0);
    }

    fn img_with_square(bg: [u8; 3], fg: [u8; 3], x0: u32, y0: u32, s: u32) -> ImageBgr {
        let (w, h) = (64u32, 48u32);
        let mut v = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let inside = x >= x0 && x < x0 + s && y >= y0 && y < y0 + s;
                v.extend_from_slice(if inside { &fg } else { &bg });
            }
        }
        ImageBgr::from_packed(w, h, v).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn masks_components_and_background() {
        let a = img_with_square([20, 20, 20], [0, 0, 250], 10, 10, 8);
        let red = HsvRange {
            h_min: 170,
            h_max: 10,
            s_min: 100,
            s_max: 255,
            v_min: 100,
            v_max: 255,
        };
        let m = hsv_mask(&a, &[red]);
        assert_eq!(m.count_nonzero(), 64);
        let cc = connected_components(&m, true, 1);
        assert_eq!(cc.len(), 1);
        assert_eq!(cc[0].area, 64);
        assert_eq!(cc[0].bbox, BBox::new(10.0, 10.0, 18.0, 18.0));
        assert_eq!(cc[0].centroid, (13.5, 13.5));

        let st = region_stats_bgr(&a, &BBox::new(10.0, 10.0, 18.0, 18.0)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(st.mean, [0.0, 0.0, 250.0]);
        assert_eq!(st.variance, [0.0, 0.0, 0.0]);
        let hist = hsv_histogram(&a, &BBox::new(0.0, 0.0, 64.0, 48.0), 18, 4, 4).unwrap_or_else(|e| panic!("{e}"));
        assert!((hist.iter().sum::<f32>() - 1.0).abs() < 1e-5);

        let b = img_with_square([20, 20, 20], [0, 0, 250], 30, 20, 8);
        let d = frame_difference(&a, &b, 30).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.count_nonzero(), 128);
        assert_eq!(connected_components(&d, false, 1).len(), 2);

        let mut bgm = BackgroundModel::new(0.05, 25.0);
        let empty = img_with_square([20, 20, 20], [20, 20, 20], 0, 0, 1);
        for _ in 0..5 {
            assert_eq!(bgm.apply(&empty).count_nonzero(), 0);
        }
        let fg = bgm.apply(&a);
        assert_eq!(fg.count_nonzero(), 64);
    }

    #[test]
    fn diagonal_pixels_join_only_with_eight_connectivity() {
        let mut m = Plane::new(4, 4);
        m.data[0] = 255;
        m.data[5] = 255;
        assert_eq!(connected_components(&m, true, 1).len(), 1);
        assert_eq!(connected_components(&m, false, 1).len(), 2);
    }
}
