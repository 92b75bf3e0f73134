//! Frame type: packed BGR24 with a row stride, cheaply clonable (shared buffer).

use std::sync::Arc;

use crate::error::{Result, VisionError};

/// A BGR24 frame: `height` rows of `stride` bytes, each row starting with `width * 3` bytes
/// of B, G, R samples. This is the layout produced by the media crate's BGR24 output and by
/// `ffmpeg -pix_fmt bgr24`. The buffer is shared (`Arc`), so clones are cheap and a frame can be
/// handed to several analyzers and worker threads.
#[derive(Clone)]
pub struct ImageBgr {
    width: u32,
    height: u32,
    stride: usize,
    data: Arc<[u8]>,
}

impl std::fmt::Debug for ImageBgr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageBgr")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("stride", &self.stride)
            .finish()
    }
}

impl ImageBgr {
    /// Wraps a BGR24 buffer with the given row stride (bytes). Fails when the buffer is too small
    /// or the stride is shorter than a row.
    pub fn new(width: u32, height: u32, stride: usize, data: impl Into<Arc<[u8]>>) -> Result<Self> {
        let data = data.into();
        if width == 0 || height == 0 {
            return Err(VisionError::Image(format!("empty image {width}x{height}")));
        }
        let row = width as usize * 3;
        if stride < row {
            return Err(VisionError::Image(format!(
                "stride {stride} is shorter than a row of {row} bytes"
            )));
        }
        let need = stride * (height as usize - 1) + row;
        if data.len() < need {
            return Err(VisionError::Image(format!(
                "buffer of {} bytes is too small for {width}x{height} BGR24 with stride {stride} ({need} needed)",
                data.len()
            )));
        }
        Ok(Self {
            width,
            height,
            stride,
            data,
        })
    }

    /// Wraps a tightly packed BGR24 buffer (`stride == width * 3`).
    pub fn from_packed(width: u32, height: u32, data: impl Into<Arc<[u8]>>) -> Result<Self> {
        Self::new(width, height, width as usize * 3, data)
    }

    /// A frame filled with one BGR colour.
    pub fn filled(width: u32, height: u32, bgr: [u8; 3]) -> Result<Self> {
        let mut v = Vec::with_capacity(width as usize * height as usize * 3);
        for _ in 0..(width as usize * height as usize) {
            v.extend_from_slice(&bgr);
        }
        Self::from_packed(width, height, v)
    }

    pub fn width(&self) -> u32 {
        self.width
    }
    pub fn height(&self) -> u32 {
        self.height
    }
    pub fn stride(&self) -> usize {
        self.stride
    }
    /// The whole underlying buffer (rows of `stride` bytes).
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The `width * 3` bytes of row `y`.
    #[inline]
    pub fn row(&self, y: u32) -> &[u8] {
        let start = y as usize * self.stride;
        &self.data[start..start + self.width as usize * 3]
    }

    /// The B, G, R samples at `(x, y)`.
    #[inline]
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = y as usize * self.stride + x as usize * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }

    /// A tightly packed copy of the pixels.
    pub fn to_packed_vec(&self) -> Vec<u8> {
        let row = self.width as usize * 3;
        if self.stride == row {
            return self.data[..row * self.height as usize].to_vec();
        }
        let mut out = Vec::with_capacity(row * self.height as usize);
        for y in 0..self.height {
            out.extend_from_slice(self.row(y));
        }
        out
    }

    /// Copy of the pixels inside `rect` (clamped to the frame). Fails if the clamped rect is empty.
    pub fn crop(&self, x: i32, y: i32, w: u32, h: u32) -> Result<ImageBgr> {
        let x0 = x.clamp(0, self.width as i32) as u32;
        let y0 = y.clamp(0, self.height as i32) as u32;
        let x1 = (x as i64 + w as i64).clamp(0, self.width as i64) as u32;
        let y1 = (y as i64 + h as i64).clamp(0, self.height as i64) as u32;
        if x1 <= x0 || y1 <= y0 {
            return Err(VisionError::Image(format!(
                "crop {x},{y} {w}x{h} is outside the {}x{} frame",
                self.width, self.height
            )));
        }
        let mut out = Vec::with_capacity(((x1 - x0) * (y1 - y0) * 3) as usize);
        for yy in y0..y1 {
            let r = self.row(yy);
            out.extend_from_slice(&r[x0 as usize * 3..x1 as usize * 3]);
        }
        ImageBgr::from_packed(x1 - x0, y1 - y0, out)
    }

    /// Bilinear resize (OpenCV `INTER_LINEAR` convention: half-pixel centres, edge clamp,
    /// 11-bit fixed-point weights).
    pub fn resize(&self, new_w: u32, new_h: u32) -> Result<ImageBgr> {
        if new_w == 0 || new_h == 0 {
            return Err(VisionError::Image("resize to an empty size".into()));
        }
        let mut out = vec![0u8; new_w as usize * new_h as usize * 3];
        resize_bilinear_into(self, new_w, new_h, |x, y, bgr| {
            let i = (y as usize * new_w as usize + x as usize) * 3;
            out[i..i + 3].copy_from_slice(&bgr);
        });
        ImageBgr::from_packed(new_w, new_h, out)
    }
}

/// Fixed-point scale of the bilinear weights (11 bits, as OpenCV's `INTER_RESIZE_COEF_BITS`).
pub(crate) const COEF_ONE: i32 = 1 << 11;

/// Sampling table for one axis of a bilinear resize: source indices and the weight of the
/// second one in 1/2048 units.
pub(crate) struct AxisMap {
    pub i0: Vec<usize>,
    pub i1: Vec<usize>,
    pub w1: Vec<i32>,
}

pub(crate) fn axis_map(src: u32, dst: u32) -> AxisMap {
    let scale = src as f64 / dst as f64;
    let n = dst as usize;
    let mut m = AxisMap {
        i0: Vec::with_capacity(n),
        i1: Vec::with_capacity(n),
        w1: Vec::with_capacity(n),
    };
    for d in 0..dst {
        let s = ((d as f64 + 0.5) * scale - 0.5).max(0.0);
        let mut i0 = s.floor() as usize;
        let mut f = s - i0 as f64;
        if i0 >= src as usize - 1 {
            i0 = src as usize - 1;
            f = 0.0;
        }
        let i1 = (i0 + 1).min(src as usize - 1);
        let w0 = ((1.0 - f) * COEF_ONE as f64 + 0.5).floor() as i32;
        m.i0.push(i0);
        m.i1.push(i1);
        m.w1.push(COEF_ONE - w0);
    }
    m
}

/// One output sample of the fixed-point bilinear kernel: horizontal pass on the two source
/// rows (`p*` top, `q*` bottom), then vertical with rounding. Exact integer arithmetic,
/// mirrored by `tools/vision/yolox_reference.py` (the parity tests depend on it).
#[inline(always)]
pub(crate) fn bilerp(p0: u8, p1: u8, q0: u8, q1: u8, wx: i32, wy: i32) -> u8 {
    let t = p0 as i32 * (COEF_ONE - wx) + p1 as i32 * wx;
    let b = q0 as i32 * (COEF_ONE - wx) + q1 as i32 * wx;
    ((t * (COEF_ONE - wy) + b * wy + (1 << 21)) >> 22) as u8
}

/// Bilinear resize (half-pixel centres, edge clamp, 11-bit fixed-point weights) calling
/// `put(x, y, bgr)` for every destination pixel in row-major order.
pub(crate) fn resize_bilinear_into(src: &ImageBgr, new_w: u32, new_h: u32, mut put: impl FnMut(u32, u32, [u8; 3])) {
    let xm = axis_map(src.width(), new_w);
    let ym = axis_map(src.height(), new_h);
    for y in 0..new_h as usize {
        let r0 = src.row(ym.i0[y] as u32);
        let r1 = src.row(ym.i1[y] as u32);
        let wy = ym.w1[y];
        for x in 0..new_w as usize {
            let (a, b, wx) = (xm.i0[x] * 3, xm.i1[x] * 3, xm.w1[x]);
            let mut px = [0u8; 3];
            for (c, v) in px.iter_mut().enumerate() {
                *v = bilerp(r0[a + c], r0[b + c], r1[a + c], r1[b + c], wx, wy);
            }
            put(x as u32, y as u32, px);
        }
    }
}
