//! Synthetic degradations of real frames, each as its quality label describes (blur kernel,
//! noise, colour cast, frozen repeats, black/grey frames, exposure, a shifted or zoomed view,
//! jitter, a spliced-in scene, an occluding patch, a haze veil, macroblock garbage). The quality
//! tests and the `quality_table` example apply them to the clips in `shared/media`.

use super::QualityLabel;
use crate::error::Result;
use crate::frame::Frame;

/// One way to spoil a window of frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Degradation {
    /// Blur with a tent kernel (two box passes of radius 1/120 of the width, at least 3 px):
    /// σ ≈ 1/150 of the width.
    Blur,
    /// Gaussian noise σ 20 plus 3 % salt-and-pepper on luma, σ 8 on chroma.
    Noise,
    /// A green colour cast (U and V both pulled 35 levels down).
    ColorCast,
    /// The first frame repeated for the whole window (timestamps keep running).
    Freeze,
    /// Black frames.
    Black,
    /// Flat mid-grey frames.
    Gray,
    /// Over-exposure: luma gain 1.8 plus 60, clipped at 235; colours washed out.
    OverExposure,
    /// Under-exposure: a third of the light.
    UnderExposure,
    /// From the middle of the window on, the view shifted by 10 % x and 6 % y.
    Shift,
    /// From the middle of the window on, a 78 % crop (off-centre) scaled back up: zoomed/re-aimed.
    Zoom,
    /// Each frame shifted by ±3 % back and forth.
    Jitter,
    /// From the middle of the window on, frames of another clip.
    Splice,
    /// A dark, out-of-focus object covering the lower-left corner (~20 % of the view).
    Occlude,
    /// A bright haze veil (55 % of a 210 grey) over a slightly blurred picture.
    Smudge,
    /// Runs of macroblocks replaced by decoder-concealment garbage: flat wrong colours,
    /// vertical smears, blocks copied from elsewhere.
    Splash,
}

impl Degradation {
    pub const ALL: [Degradation; 15] = [
        Degradation::Blur,
        Degradation::Noise,
        Degradation::ColorCast,
        Degradation::Freeze,
        Degradation::Black,
        Degradation::Gray,
        Degradation::OverExposure,
        Degradation::UnderExposure,
        Degradation::Shift,
        Degradation::Zoom,
        Degradation::Jitter,
        Degradation::Splice,
        Degradation::Occlude,
        Degradation::Smudge,
        Degradation::Splash,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Degradation::Blur => "blur",
            Degradation::Noise => "noise",
            Degradation::ColorCast => "cast",
            Degradation::Freeze => "freeze",
            Degradation::Black => "black",
            Degradation::Gray => "gray",
            Degradation::OverExposure => "over-exp",
            Degradation::UnderExposure => "under-exp",
            Degradation::Shift => "shift",
            Degradation::Zoom => "zoom",
            Degradation::Jitter => "jitter",
            Degradation::Splice => "splice",
            Degradation::Occlude => "occlude",
            Degradation::Smudge => "smudge",
            Degradation::Splash => "splash",
        }
    }

    /// The label this degradation must get.
    pub fn label(self) -> QualityLabel {
        use QualityLabel::*;
        match self {
            Degradation::Blur => Blurry,
            Degradation::Noise => SnowNoise,
            Degradation::ColorCast => ColorDistortion,
            Degradation::Freeze => ScreenFreeze,
            Degradation::Black => BlackScreen,
            Degradation::Gray => GrayScreen,
            Degradation::OverExposure | Degradation::UnderExposure => AbnormalLight,
            Degradation::Shift | Degradation::Zoom => ScreenMovement,
            Degradation::Jitter => ScreenJitter,
            Degradation::Splice => SceneUpheaval,
            Degradation::Occlude => Occlude,
            Degradation::Smudge => ScreenSmudge,
            Degradation::Splash => ScreenSplash,
        }
    }
}

/// A frame's three planes, tightly packed.
#[derive(Debug, Clone)]
pub struct Yuv {
    pub w: usize,
    pub h: usize,
    pub y: Vec<u8>,
    pub u: Vec<u8>,
    pub v: Vec<u8>,
}

impl Yuv {
    pub fn of(f: &Frame) -> Yuv {
        let (w, h) = (f.width() as usize, f.height() as usize);
        let copy = |i: usize, pw: usize, ph: usize| {
            let (p, s) = (f.plane(i), f.stride(i));
            let mut out = Vec::with_capacity(pw * ph);
            for r in 0..ph {
                out.extend_from_slice(p.get(r * s..r * s + pw).unwrap_or(&vec![0; pw]));
            }
            out
        };
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        Yuv {
            w,
            h,
            y: copy(0, w, h),
            u: copy(1, cw, ch),
            v: copy(2, cw, ch),
        }
    }

    pub fn cw(&self) -> usize {
        self.w.div_ceil(2)
    }

    pub fn ch(&self) -> usize {
        self.h.div_ceil(2)
    }

    pub fn frame(&self, like: &Frame) -> Result<Frame> {
        Frame::from_yuv420p(
            self.w as u32,
            self.h as u32,
            [&self.y, &self.u, &self.v],
            like.media_time(),
        )
    }

    /// Every plane through `f(plane, width, height, is_chroma)`.
    fn each(&mut self, mut f: impl FnMut(&mut Vec<u8>, usize, usize, bool)) {
        let (w, h, cw, ch) = (self.w, self.h, self.cw(), self.ch());
        f(&mut self.y, w, h, false);
        f(&mut self.u, cw, ch, true);
        f(&mut self.v, cw, ch, true);
    }
}

/// Running-sum box filter of radius `r` over `line` (edges repeated), in place.
fn box_line(line: &mut [u8], r: usize, padded: &mut Vec<u32>) {
    let n = line.len();
    if n == 0 {
        return;
    }
    padded.clear();
    padded.extend(std::iter::repeat_n(u32::from(line[0]), r));
    padded.extend(line.iter().map(|&v| u32::from(v)));
    padded.extend(std::iter::repeat_n(u32::from(line[n - 1]), r + 1));
    let d = (2 * r + 1) as u32;
    let mut acc: u32 = padded[..2 * r + 1].iter().sum();
    for i in 0..n {
        line[i] = ((acc + d / 2) / d) as u8;
        acc = acc + padded[i + 2 * r + 1] - padded[i];
    }
}

/// One horizontal then one vertical box pass of radius `r`.
fn box_pass(p: &mut [u8], w: usize, h: usize, r: usize) {
    let mut padded = Vec::with_capacity(w.max(h) + 2 * r + 1);
    for row in p.chunks_mut(w) {
        box_line(row, r, &mut padded);
    }
    let mut col = vec![0u8; h];
    for x in 0..w {
        for (y, c) in col.iter_mut().enumerate() {
            *c = p[y * w + x];
        }
        box_line(&mut col, r, &mut padded);
        for (y, c) in col.iter().enumerate() {
            p[y * w + x] = *c;
        }
    }
}

fn blur(img: &mut Yuv, r: usize) {
    img.each(|p, w, h, chroma| {
        let r = if chroma { (r / 2).max(1) } else { r };
        for _ in 0..2 {
            box_pass(p, w, h, r);
        }
    });
}

/// Bilinear sample of plane `p` at (x, y), clamped to the edges.
fn sample(p: &[u8], w: usize, h: usize, x: f64, y: f64) -> u8 {
    let x = x.clamp(0.0, (w - 1) as f64);
    let y = y.clamp(0.0, (h - 1) as f64);
    let (x0, y0) = (x as usize, y as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (x - x0 as f64, y - y0 as f64);
    let v = |xx: usize, yy: usize| f64::from(p[yy * w + xx]);
    let top = v(x0, y0) * (1.0 - fx) + v(x1, y0) * fx;
    let bot = v(x0, y1) * (1.0 - fx) + v(x1, y1) * fx;
    (top * (1.0 - fy) + bot * fy).round() as u8
}

/// The picture seen through `map(x, y) -> source (x, y)` in fractions of the picture.
fn remap(img: &Yuv, map: impl Fn(f64, f64) -> (f64, f64), out_w: usize, out_h: usize) -> Yuv {
    let plane = |p: &[u8], w: usize, h: usize, ow: usize, oh: usize| {
        let mut out = Vec::with_capacity(ow * oh);
        for y in 0..oh {
            for x in 0..ow {
                let (sx, sy) = map((x as f64 + 0.5) / ow as f64, (y as f64 + 0.5) / oh as f64);
                out.push(sample(p, w, h, sx * w as f64 - 0.5, sy * h as f64 - 0.5));
            }
        }
        out
    };
    let (cw, ch, ocw, och) = (img.cw(), img.ch(), out_w.div_ceil(2), out_h.div_ceil(2));
    Yuv {
        w: out_w,
        h: out_h,
        y: plane(&img.y, img.w, img.h, out_w, out_h),
        u: plane(&img.u, cw, ch, ocw, och),
        v: plane(&img.v, cw, ch, ocw, och),
    }
}

/// The view moved by (fx, fy) fractions of the picture (content moves right/down for positive
/// values; the uncovered border repeats the edge, as a stabiliser would). Whole pixels.
fn shifted(img: &Yuv, fx: f64, fy: f64) -> Yuv {
    let plane = |p: &[u8], w: usize, h: usize| {
        let (dx, dy) = ((fx * w as f64).round() as isize, (fy * h as f64).round() as isize);
        let mut out = Vec::with_capacity(w * h);
        for y in 0..h as isize {
            let sy = (y - dy).clamp(0, h as isize - 1) as usize;
            let row = &p[sy * w..(sy + 1) * w];
            for x in 0..w as isize {
                out.push(row[(x - dx).clamp(0, w as isize - 1) as usize]);
            }
        }
        out
    };
    let (cw, ch) = (img.cw(), img.ch());
    Yuv {
        w: img.w,
        h: img.h,
        y: plane(&img.y, img.w, img.h),
        u: plane(&img.u, cw, ch),
        v: plane(&img.v, cw, ch),
    }
}

/// Every frame's view moved by (fx, fy) fractions of the picture: a camera that was knocked
/// or re-aimed before the window started.
pub fn shift_all(frames: &[Frame], fx: f64, fy: f64) -> Result<Vec<Frame>> {
    frames.iter().map(|f| shifted(&Yuv::of(f), fx, fy).frame(f)).collect()
}

fn macroblock_garbage(img: &mut Yuv, rng: &mut Rng) {
    let (bw, bh) = (img.w / 16, img.h / 16);
    let blocks = bw * bh;
    if blocks < 4 {
        return;
    }
    let (w, cw) = (img.w, img.cw());
    for _ in 0..3 {
        let start = bw + rng.below(blocks - bw);
        let len = (blocks / 12).max(2);
        // One concealment mode per run, as a decoder conceals a lost slice one way.
        let mode = rng.below(3);
        let (fy, fu, fv) = (
            16 + rng.below(220) as u8,
            16 + rng.below(224) as u8,
            16 + rng.below(224) as u8,
        );
        for b in start..(start + len).min(blocks) {
            let (bx, by) = (b % bw * 16, b / bw * 16);
            let src = rng.below(blocks);
            let (sx, sy) = (src % bw * 16, src / bw * 16);
            for r in 0..16 {
                for c in 0..16 {
                    let (x, y) = (bx + c, by + r);
                    let (yy, uu, vv) = match mode {
                        0 => (fy, fu, fv),
                        1 => {
                            let ys = by.saturating_sub(1);
                            (
                                img.y[ys * w + x],
                                img.u[(ys / 2) * cw + x / 2],
                                img.v[(ys / 2) * cw + x / 2],
                            )
                        }
                        _ => {
                            let (x2, y2) = (sx + c, sy + r);
                            (
                                img.y[y2 * w + x2],
                                img.u[(y2 / 2) * cw + x2 / 2],
                                img.v[(y2 / 2) * cw + x2 / 2],
                            )
                        }
                    };
                    img.y[y * w + x] = yy;
                    img.u[(y / 2) * cw + x / 2] = uu;
                    img.v[(y / 2) * cw + x / 2] = vv;
                }
            }
        }
    }
}

/// A small deterministic generator (xorshift64*): the degradations need repeatable noise,
/// fast even in debug builds.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// Approximately standard normal (sum of four uniforms, scaled).
    fn gauss(&mut self) -> f64 {
        let r = self.next();
        let sum: u64 = (0..4).map(|i| (r >> (16 * i)) & 0xFFFF).sum();
        (sum as f64 / 65535.0 - 2.0) * 3f64.sqrt()
    }
}

fn clamp_u8(v: f64) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

/// `frames` degraded by `d`; `other` supplies the spliced-in scene for [`Degradation::Splice`]
/// (scaled to this size). Deterministic (fixed seed).
pub fn degrade(frames: &[Frame], d: Degradation, other: &[Frame]) -> Result<Vec<Frame>> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mid = frames.len() / 2;
    let first = frames.first().map(Yuv::of);
    let mut out = Vec::with_capacity(frames.len());
    for (i, f) in frames.iter().enumerate() {
        let mut img = Yuv::of(f);
        let (w, h) = (img.w, img.h);
        match d {
            Degradation::Blur => blur(&mut img, (w / 120).max(3)),
            Degradation::Noise => img.each(|p, _, _, chroma| {
                for v in p.iter_mut() {
                    let n = if chroma { 8.0 } else { 20.0 } * rng.gauss();
                    *v = clamp_u8(f64::from(*v) + n);
                    if !chroma && rng.below(100) < 3 {
                        *v = if rng.below(2) == 0 { 16 } else { 235 };
                    }
                }
            }),
            Degradation::ColorCast => {
                img.u.iter_mut().for_each(|v| *v = v.saturating_sub(35));
                img.v.iter_mut().for_each(|v| *v = v.saturating_sub(35));
            }
            Degradation::Freeze => {
                if let Some(f0) = &first {
                    img = f0.clone();
                }
            }
            Degradation::Black | Degradation::Gray => {
                let base = if d == Degradation::Black { 16 } else { 128 };
                img.y.iter_mut().for_each(|v| *v = base + rng.below(2) as u8);
                img.u.iter_mut().for_each(|v| *v = 128);
                img.v.iter_mut().for_each(|v| *v = 128);
            }
            Degradation::OverExposure => {
                img.y
                    .iter_mut()
                    .for_each(|v| *v = clamp_u8((16.0 + (f64::from(*v) - 16.0) * 1.8 + 60.0).min(235.0)));
                img.each(|p, _, _, chroma| {
                    if chroma {
                        p.iter_mut()
                            .for_each(|v| *v = clamp_u8(128.0 + (f64::from(*v) - 128.0) * 0.6));
                    }
                });
            }
            Degradation::UnderExposure => img.each(|p, _, _, chroma| {
                let (base, gain) = if chroma { (128.0, 0.5) } else { (16.0, 0.35) };
                p.iter_mut()
                    .for_each(|v| *v = clamp_u8(base + (f64::from(*v) - base) * gain));
            }),
            Degradation::Shift if i >= mid => img = shifted(&img, 0.10, 0.06),
            Degradation::Zoom if i >= mid => {
                img = remap(&img, |x, y| (0.12 + x * 0.78, 0.10 + y * 0.78), w, h);
            }
            Degradation::Jitter => {
                let fx = if i % 2 == 0 { 0.03 } else { -0.03 };
                let fy = if i % 3 == 0 { 0.02 } else { -0.02 };
                img = shifted(&img, fx, fy);
            }
            Degradation::Splice if i >= mid => {
                if let Some(o) = other.get(i).or(other.last()) {
                    img = remap(&Yuv::of(o), |x, y| (x, y), w, h);
                }
            }
            Degradation::Occlude => {
                let (cw, ch) = (img.cw(), img.ch());
                // An ellipse around the lower-left corner, darker towards its middle.
                let inside = |x: f64, y: f64| (x / 0.5).powi(2) + ((1.0 - y) / 0.6).powi(2);
                for y in 0..h {
                    for x in 0..w {
                        let e = inside(x as f64 / w as f64, y as f64 / h as f64);
                        if e < 1.0 {
                            img.y[y * w + x] = clamp_u8(28.0 + 14.0 * e);
                        }
                    }
                }
                for y in 0..ch {
                    for x in 0..cw {
                        if inside(x as f64 / cw as f64, y as f64 / ch as f64) < 1.0 {
                            img.u[y * cw + x] = 126;
                            img.v[y * cw + x] = 131;
                        }
                    }
                }
            }
            Degradation::Smudge => {
                blur(&mut img, (w / 640).max(1));
                img.each(|p, _, _, chroma| {
                    let veil = if chroma { 128.0 } else { 210.0 };
                    p.iter_mut()
                        .for_each(|v| *v = clamp_u8(f64::from(*v) * 0.45 + veil * 0.55));
                });
            }
            Degradation::Splash => macroblock_garbage(&mut img, &mut rng),
            Degradation::Shift | Degradation::Zoom | Degradation::Splice => {}
        }
        out.push(img.frame(f)?);
    }
    Ok(out)
}
