//! Pieces of the pixel-analysis algorithms (smoke and fire, drainage): frames shrunk to a small
//! working size by box averaging (so textures do not alias), the ROI as a mask at that size, a
//! short ring of recent frames, and per-block temporal activity.

use std::collections::VecDeque;

use vigil_vision::pixel::Plane;
use vigil_vision::{BBox, ImageBgr, Point, Roi};

/// A frame shrunk to at most `max_width` columns: packed BGR and luma, plus the scale back to
/// frame pixels.
#[derive(Debug, Clone)]
pub(crate) struct Small {
    pub width: u32,
    pub height: u32,
    pub bgr: Vec<[u8; 3]>,
    pub luma: Vec<u8>,
    /// Frame pixels per small pixel (x, y).
    pub scale: (f32, f32),
}

impl Small {
    /// Box-averages `img` down to at most `max_width` columns (aspect kept; never enlarged).
    pub(crate) fn shrink(img: &ImageBgr, max_width: u32) -> Small {
        let (w, h) = (img.width().max(1), img.height().max(1));
        let sw = w.min(max_width.max(1));
        let sh = ((h as u64 * sw as u64 + w as u64 / 2) / w as u64).max(1) as u32;
        let mut sum = vec![[0u32; 4]; sw as usize * sh as usize];
        for y in 0..img.height() {
            let row = img.row(y);
            let sy = (y as u64 * sh as u64 / h as u64) as usize;
            for (x, px) in row.chunks_exact(3).take(w as usize).enumerate() {
                let sx = (x as u64 * sw as u64 / w as u64) as usize;
                let s = &mut sum[sy * sw as usize + sx];
                s[0] += px[0] as u32;
                s[1] += px[1] as u32;
                s[2] += px[2] as u32;
                s[3] += 1;
            }
        }
        let bgr: Vec<[u8; 3]> = sum
            .iter()
            .map(|s| {
                let n = s[3].max(1);
                [(s[0] / n) as u8, (s[1] / n) as u8, (s[2] / n) as u8]
            })
            .collect();
        let luma = bgr
            .iter()
            .map(|p| ((p[2] as u32 * 299 + p[1] as u32 * 587 + p[0] as u32 * 114) / 1000) as u8)
            .collect();
        Small {
            width: sw,
            height: sh,
            bgr,
            luma,
            scale: (w as f32 / sw as f32, h as f32 / sh as f32),
        }
    }

    /// A box in small pixels `[x0, x1) x [y0, y1)` as a frame box.
    pub(crate) fn to_frame(&self, (x0, y0, x1, y1): (f32, f32, f32, f32)) -> BBox {
        BBox::new(
            x0 * self.scale.0,
            y0 * self.scale.1,
            x1 * self.scale.0,
            y1 * self.scale.1,
        )
    }
}

/// The ROI polygons as a mask of small pixels (a pixel counts when its centre is inside a
/// polygon); every pixel when the ROI has no polygon. Rebuilt only when the size changes.
#[derive(Debug, Clone, Default)]
pub(crate) struct RoiMask {
    key: (u32, u32, u32, u32),
    mask: Vec<bool>,
}

impl RoiMask {
    pub(crate) fn get(&mut self, roi: &Roi, small: &Small, frame: (u32, u32)) -> &[bool] {
        let key = (small.width, small.height, frame.0, frame.1);
        if self.key != key || self.mask.is_empty() {
            self.key = key;
            self.mask = (0..small.height)
                .flat_map(|y| (0..small.width).map(move |x| (x, y)))
                .map(|(x, y)| {
                    let p = Point::new((x as f32 + 0.5) * small.scale.0, (y as f32 + 0.5) * small.scale.1);
                    roi.polygons.is_empty() || roi.polygons.iter().any(|poly| poly.contains(p))
                })
                .collect();
        }
        &self.mask
    }
}

/// The last `len` items (shrunk frames or masks), oldest first.
#[derive(Debug, Clone)]
pub(crate) struct Ring<T> {
    items: VecDeque<T>,
    len: usize,
}

impl<T> Ring<T> {
    pub(crate) fn new(len: usize) -> Self {
        Self {
            items: VecDeque::with_capacity(len.max(1)),
            len: len.max(1),
        }
    }

    pub(crate) fn push(&mut self, item: T) {
        if self.items.len() == self.len {
            self.items.pop_front();
        }
        self.items.push_back(item);
    }

    pub(crate) fn full(&self) -> bool {
        self.items.len() == self.len
    }

    pub(crate) fn last(&self) -> Option<&T> {
        self.items.back()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }
}

/// A grid of `block`-pixel squares over a small frame (the partial last row/column dropped).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Blocks {
    pub block: u32,
    pub cols: u32,
    pub rows: u32,
}

impl Blocks {
    pub(crate) fn over(small: &Small, block: u32) -> Blocks {
        let block = block.max(1);
        Blocks {
            block,
            cols: small.width / block,
            rows: small.height / block,
        }
    }

    pub(crate) fn count(&self) -> usize {
        self.cols as usize * self.rows as usize
    }

    /// Mean of `value(pixel index)` over each block.
    pub(crate) fn means(&self, width: u32, value: impl Fn(usize) -> f32) -> Vec<f32> {
        let b = self.block as usize;
        let mut out = vec![0f32; self.count()];
        for by in 0..self.rows as usize {
            for bx in 0..self.cols as usize {
                let mut s = 0f32;
                for y in by * b..(by + 1) * b {
                    for x in bx * b..(bx + 1) * b {
                        s += value(y * width as usize + x);
                    }
                }
                out[by * self.cols as usize + bx] = s / (b * b) as f32;
            }
        }
        out
    }

    /// Blocks whose centre pixel is inside the ROI mask.
    pub(crate) fn inside(&self, width: u32, roi: &[bool]) -> Vec<bool> {
        let b = self.block as usize;
        (0..self.rows as usize)
            .flat_map(|by| (0..self.cols as usize).map(move |bx| (bx, by)))
            .map(|(bx, by)| {
                roi.get((by * b + b / 2) * width as usize + bx * b + b / 2)
                    .copied()
                    .unwrap_or(false)
            })
            .collect()
    }

    /// A set of blocks as a 0/255 plane of `cols x rows` (for connected components).
    pub(crate) fn plane(&self, on: &[bool]) -> Plane {
        let mut p = Plane::new(self.cols, self.rows);
        for (o, &v) in p.data.iter_mut().zip(on) {
            *o = if v { 255 } else { 0 };
        }
        p
    }
}

/// Per block: in how many consecutive pairs of `frames` (same size, oldest first) the block's
/// mean absolute luma difference reached `threshold` grey levels. Sustained churn (smoke,
/// flowing water) keeps a block busy in nearly every pair; a passing object only in a few.
pub(crate) fn busy_pairs(frames: &Ring<Small>, blocks: &Blocks, threshold: f32) -> Vec<u32> {
    let mut busy = vec![0u32; blocks.count()];
    for act in pair_activity(frames, blocks) {
        for (b, a) in busy.iter_mut().zip(act) {
            if a >= threshold {
                *b += 1;
            }
        }
    }
    busy
}

/// Per consecutive pair of `frames` (oldest first; pairs of different sizes skipped): each
/// block's mean absolute luma difference in grey levels.
pub(crate) fn pair_activity(frames: &Ring<Small>, blocks: &Blocks) -> Vec<Vec<f32>> {
    let mut out = Vec::new();
    let mut prev: Option<&Small> = None;
    for f in frames.iter() {
        if let Some(p) = prev.filter(|p| p.width == f.width && p.height == f.height) {
            out.push(blocks.means(f.width, |i| f.luma[i].abs_diff(p.luma[i]) as f32));
        }
        prev = Some(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrink_averages_boxes_and_keeps_the_aspect() {
        // 8x4 image: left half black, right half white -> 4x2 with a sharp middle edge.
        let mut data = vec![0u8; 8 * 4 * 3];
        for y in 0..4 {
            for x in 4..8 {
                let i = (y * 8 + x) * 3;
                data[i..i + 3].copy_from_slice(&[255, 255, 255]);
            }
        }
        let img = ImageBgr::from_packed(8, 4, data).expect("image");
        let s = Small::shrink(&img, 4);
        assert_eq!((s.width, s.height), (4, 2));
        assert_eq!(s.luma, vec![0, 0, 255, 255, 0, 0, 255, 255]);
        let b = s.to_frame((2.0, 0.0, 4.0, 1.0));
        assert_eq!((b.x1, b.y1, b.x2, b.y2), (4.0, 0.0, 8.0, 2.0));
    }

    #[test]
    fn busy_pairs_counts_changing_blocks_only() {
        let mut ring = Ring::new(4);
        for k in 0..4u8 {
            let mut data = vec![100u8; 8 * 4 * 3];
            // Left 4x4 block alternates 0/200; right block stays.
            for y in 0..4 {
                for x in 0..4 {
                    let i = (y * 8 + x) * 3;
                    data[i..i + 3].fill(if k % 2 == 0 { 0 } else { 200 });
                }
            }
            ring.push(Small::shrink(&ImageBgr::from_packed(8, 4, data).expect("image"), 8));
        }
        let small = ring.last().expect("frame").clone();
        let blocks = Blocks::over(&small, 4);
        assert_eq!(busy_pairs(&ring, &blocks, 10.0), vec![3, 0]);
    }
}
