//! Small pictures the quality rules work on: a box-averaged luma/chroma thumbnail (longest side
//! ≤ [`THUMB_MAX_SIDE`]) and a fixed-size luma "mid" image for comparing views. Building them is
//! the only full pass over a frame; everything else reads these or a sparse set of native pixels.

use std::cell::RefCell;

use ffmpeg_next::format::Pixel;
use ffmpeg_next::frame::Video as AvFrame;
use ffmpeg_next::software::scaling;

use crate::frame::Frame;

/// Longest side of the thumbnail.
pub const THUMB_MAX_SIDE: usize = 320;
/// Size of the view-comparison image (fixed, whatever the aspect ratio: shifts are then in
/// fractions of the picture).
pub const MID_W: usize = 128;
pub const MID_H: usize = 96;

/// A plain 8-bit plane.
#[derive(Debug, Clone, PartialEq)]
pub struct Plane {
    pub w: usize,
    pub h: usize,
    pub px: Vec<u8>,
}

impl Plane {
    #[inline]
    pub fn at(&self, x: usize, y: usize) -> u8 {
        self.px[y * self.w + x]
    }
}

/// The frame reduced for the quality rules.
#[derive(Debug, Clone)]
pub struct Thumb {
    pub y: Plane,
    pub u: Plane,
    pub v: Plane,
    pub view: View,
}

/// What two frames' views are compared on.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    /// `MID_W` x `MID_H` luma (global shifts are measured on its projections).
    pub mid: Plane,
    /// `mid` minus its 7x7 local mean (x2, around 128): the scene's structure without its
    /// lighting, which is what tells one view from another; then the same at half and quarter
    /// size for a coarse-to-fine shift search.
    pub detail: [Plane; 3],
}

impl View {
    pub fn of(mid: Plane) -> View {
        let d0 = detail(&mid);
        let d1 = halve(&d0);
        let d2 = halve(&d1);
        View {
            mid,
            detail: [d0, d1, d2],
        }
    }
}

/// 2x2 box average.
fn halve(p: &Plane) -> Plane {
    let (w, h) = (p.w / 2, p.h / 2);
    let mut px = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let s = u32::from(p.at(2 * x, 2 * y))
                + u32::from(p.at(2 * x + 1, 2 * y))
                + u32::from(p.at(2 * x, 2 * y + 1))
                + u32::from(p.at(2 * x + 1, 2 * y + 1));
            px.push(((s + 2) / 4) as u8);
        }
    }
    Plane { w, h, px }
}

/// `p` minus its 7x7 box mean, doubled, around 128 (edges clamped).
pub fn detail(p: &Plane) -> Plane {
    const R: i32 = 3;
    let (w, h) = (p.w as i32, p.h as i32);
    // Integral image for the box means.
    let mut ii = vec![0u32; ((w + 1) * (h + 1)) as usize];
    for y in 0..h {
        let mut row = 0u32;
        for x in 0..w {
            row += u32::from(p.at(x as usize, y as usize));
            ii[((y + 1) * (w + 1) + x + 1) as usize] = ii[(y * (w + 1) + x + 1) as usize] + row;
        }
    }
    let mut px = Vec::with_capacity(p.px.len());
    for y in 0..h {
        let (y0, y1) = ((y - R).max(0), (y + R + 1).min(h));
        for x in 0..w {
            let (x0, x1) = ((x - R).max(0), (x + R + 1).min(w));
            let at = |xx: i32, yy: i32| i64::from(ii[(yy * (w + 1) + xx) as usize]);
            let sum = at(x1, y1) - at(x0, y1) - at(x1, y0) + at(x0, y0);
            let n = i64::from((x1 - x0) * (y1 - y0));
            let v = i64::from(p.at(x as usize, y as usize));
            px.push((128 + 2 * (v - sum / n)).clamp(0, 255) as u8);
        }
    }
    Plane { w: p.w, h: p.h, px }
}

/// Box average of `w` x `h` plane `src` (row stride `stride`) by the integer factor `k`. Large
/// factors read every other pixel of each box: the average barely changes, the cost quarters.
fn box_down(src: &[u8], stride: usize, w: usize, h: usize, k: usize) -> Plane {
    let (ow, oh) = ((w / k).max(1), (h / k).max(1));
    let step = if k >= 4 { 2 } else { 1 };
    let mut px = Vec::with_capacity(ow * oh);
    let mut acc = vec![0u32; ow];
    for oy in 0..oh {
        acc.iter_mut().for_each(|a| *a = 0);
        let mut rows = 0u32;
        for r in (oy * k..((oy + 1) * k).min(h)).step_by(step) {
            let row = src.get(r * stride..r * stride + w).unwrap_or(&[]);
            if row.len() < w {
                continue;
            }
            rows += 1;
            for (ox, a) in acc.iter_mut().enumerate() {
                let cells = &row[ox * k..((ox + 1) * k).min(w)];
                *a += cells.iter().step_by(step).map(|&v| u32::from(v)).sum::<u32>();
            }
        }
        let per_row = k.min(w).div_ceil(step) as u32;
        let n = (rows * per_row).max(1);
        px.extend(acc.iter().map(|&a| ((a + n / 2) / n) as u8));
    }
    Plane { w: ow, h: oh, px }
}

/// Area resampling of `src` to exactly `ow` x `oh` (each output pixel averages the source
/// pixels whose centre falls in it; used from the thumbnail, so always a reduction or close).
fn resample(src: &Plane, ow: usize, oh: usize) -> Plane {
    let mut sum = vec![0u32; ow * oh];
    let mut cnt = vec![0u32; ow * oh];
    let xs: Vec<usize> = (0..src.w)
        .map(|x| ((2 * x + 1) * ow / (2 * src.w)).min(ow - 1))
        .collect();
    for y in 0..src.h {
        let oy = ((2 * y + 1) * oh / (2 * src.h)).min(oh - 1);
        let row = &src.px[y * src.w..(y + 1) * src.w];
        for (x, &v) in row.iter().enumerate() {
            let i = oy * ow + xs[x];
            sum[i] += u32::from(v);
            cnt[i] += 1;
        }
    }
    // Upscaled inputs (thumbnails smaller than the mid image) leave holes: fill from the left
    // or above.
    let mut px = vec![0u8; ow * oh];
    for i in 0..ow * oh {
        px[i] = if let Some(avg) = (sum[i] + cnt[i] / 2).checked_div(cnt[i]) {
            avg as u8
        } else if i % ow > 0 {
            px[i - 1]
        } else if i >= ow {
            px[i - ow]
        } else {
            0
        };
    }
    Plane { w: ow, h: oh, px }
}

/// Cached swscale contexts (one per input format and size) for the thumbnails: libswscale's
/// area filter is much faster than a plain loop, in debug builds too.
type Scalers = Vec<(Pixel, u32, u32, scaling::Context)>;

thread_local! {
    static SCALERS: RefCell<Scalers> = const { RefCell::new(Vec::new()) };
}

/// The thumbnail by libswscale (`None` if it cannot be set up; the caller falls back to
/// [`box_down`]).
fn scaled(f: &Frame, tw: u32, th: u32) -> Option<(Plane, Plane, Plane)> {
    let src = f.av_frame();
    let (fmt, w, h) = (src.format(), f.width(), f.height());
    SCALERS.with(|cell| {
        let mut list = cell.borrow_mut();
        let pos = match list.iter().position(|(pf, pw, ph, _)| (*pf, *pw, *ph) == (fmt, w, h)) {
            Some(i) => i,
            None => {
                let ctx = scaling::Context::get(fmt, w, h, Pixel::YUV420P, tw, th, scaling::Flags::AREA).ok()?;
                if list.len() >= 4 {
                    list.remove(0);
                }
                list.push((fmt, w, h, ctx));
                list.len() - 1
            }
        };
        let mut out = AvFrame::empty();
        list[pos].3.run(src, &mut out).ok()?;
        let plane = |i: usize, pw: usize, ph: usize| -> Option<Plane> {
            let (data, stride) = (out.data(i), out.stride(i));
            let mut px = Vec::with_capacity(pw * ph);
            for r in 0..ph {
                px.extend_from_slice(data.get(r * stride..r * stride + pw)?);
            }
            Some(Plane { w: pw, h: ph, px })
        };
        let (tw, th) = (tw as usize, th as usize);
        let (cw, ch) = (tw.div_ceil(2), th.div_ceil(2));
        Some((plane(0, tw, th)?, plane(1, cw, ch)?, plane(2, cw, ch)?))
    })
}

impl Thumb {
    pub fn of(f: &Frame) -> Thumb {
        let (w, h) = (f.width() as usize, f.height() as usize);
        let k = w.max(h).div_ceil(THUMB_MAX_SIDE).max(1);
        let (tw, th) = ((w / k).max(1), (h / k).max(1));
        let (y, u, v) = match scaled(f, tw as u32, th as u32) {
            Some(p) if k > 1 => p,
            _ => {
                let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
                (
                    box_down(f.plane(0), f.stride(0), w, h, k),
                    box_down(f.plane(1), f.stride(1), cw, ch, k),
                    box_down(f.plane(2), f.stride(2), cw, ch, k),
                )
            }
        };
        let view = View::of(resample(&y, MID_W, MID_H));
        Thumb { y, u, v, view }
    }
}
