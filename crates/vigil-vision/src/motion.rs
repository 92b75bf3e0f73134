//! Motion gating: a cheap per-frame test of whether anything moved in the regions of interest
//! since the last detector run, on an 8x8-block average of the luma plane (compression noise
//! averages out; a 720p frame becomes 160x90 cells).

use crate::detect::BBox;

/// A luma (grey) plane borrowed from a decoded frame.
#[derive(Debug, Clone, Copy)]
pub struct LumaView<'a> {
    pub data: &'a [u8],
    pub stride: usize,
    pub width: u32,
    pub height: u32,
}

/// Block size of the motion grid, in pixels.
pub const BLOCK: u32 = 8;

/// Settings of [`MotionGate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MotionConfig {
    /// A block changed when its mean luma moved by more than this.
    pub block_threshold: u8,
    /// Motion when more than this fraction of the blocks in the regions changed.
    pub min_fraction: f32,
    /// While the last detections had targets, detect at least this often (seconds).
    pub alive_interval: f64,
}

impl Default for MotionConfig {
    fn default() -> Self {
        MotionConfig {
            block_threshold: 12,
            min_fraction: 0.001,
            alive_interval: 1.0,
        }
    }
}

/// Block means of one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockGrid {
    pub cols: u32,
    pub rows: u32,
    pub means: Vec<u8>,
}

impl BlockGrid {
    pub fn from_luma(l: &LumaView) -> BlockGrid {
        let cols = (l.width / BLOCK).max(1);
        let rows = (l.height / BLOCK).max(1);
        let mut sums = vec![0u32; (cols * rows) as usize];
        for y in 0..(rows * BLOCK).min(l.height) {
            let Some(row) = l
                .data
                .get(y as usize * l.stride..y as usize * l.stride + (cols * BLOCK) as usize)
            else {
                break;
            };
            let base = (y / BLOCK * cols) as usize;
            for (c, chunk) in row.chunks_exact(BLOCK as usize).enumerate() {
                sums[base + c] += chunk.iter().map(|&v| u32::from(v)).sum::<u32>();
            }
        }
        let n = BLOCK * BLOCK;
        BlockGrid {
            cols,
            rows,
            means: sums.into_iter().map(|s| (s / n) as u8).collect(),
        }
    }

    /// Fraction of the blocks inside `regions` (frame pixels of a `size` frame; empty = whole
    /// frame) whose mean differs from `other`'s by more than `threshold`.
    pub fn changed_fraction(&self, other: &BlockGrid, threshold: u8, regions: &[BBox], size: (u32, u32)) -> f32 {
        if self.cols != other.cols || self.rows != other.rows {
            return 1.0;
        }
        let (sx, sy) = (
            self.cols as f32 / size.0.max(1) as f32,
            self.rows as f32 / size.1.max(1) as f32,
        );
        let whole = [BBox::new(0.0, 0.0, size.0 as f32, size.1 as f32)];
        let regions = if regions.is_empty() { &whole[..] } else { regions };
        let (mut total, mut changed) = (0u32, 0u32);
        let mut seen = vec![false; self.means.len()];
        for r in regions {
            let c0 = ((r.x1 * sx).floor().max(0.0) as u32).min(self.cols);
            let c1 = ((r.x2 * sx).ceil().max(0.0) as u32).min(self.cols);
            let r0 = ((r.y1 * sy).floor().max(0.0) as u32).min(self.rows);
            let r1 = ((r.y2 * sy).ceil().max(0.0) as u32).min(self.rows);
            for row in r0..r1 {
                for col in c0..c1 {
                    let i = (row * self.cols + col) as usize;
                    if std::mem::replace(&mut seen[i], true) {
                        continue;
                    }
                    total += 1;
                    if self.means[i].abs_diff(other.means[i]) > threshold {
                        changed += 1;
                    }
                }
            }
        }
        if total == 0 {
            0.0
        } else {
            changed as f32 / total as f32
        }
    }
}

/// Decides per frame whether the detectors must run.
#[derive(Debug, Clone, Default)]
pub struct MotionGate {
    pub config: MotionConfig,
    /// The grid at the last detector run.
    reference: Option<BlockGrid>,
    /// The grid of the previous analysed frame (for the motion figure).
    previous: Option<BlockGrid>,
    last_detection: Option<f64>,
}

/// What [`MotionGate::observe`] found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MotionReading {
    /// Changed fraction since the previous analysed frame (whole frame).
    pub since_previous: f32,
    /// Changed fraction in the regions since the last detector run.
    pub since_detection: f32,
}

impl MotionGate {
    pub fn new(config: MotionConfig) -> Self {
        MotionGate {
            config,
            ..Default::default()
        }
    }

    /// Measures motion on the current frame's grid.
    pub fn observe(&mut self, grid: &BlockGrid, regions: &[BBox], size: (u32, u32)) -> MotionReading {
        let th = self.config.block_threshold;
        let since_previous = self
            .previous
            .as_ref()
            .map_or(1.0, |p| grid.changed_fraction(p, th, &[], size));
        let since_detection = self
            .reference
            .as_ref()
            .map_or(1.0, |r| grid.changed_fraction(r, th, regions, size));
        self.previous = Some(grid.clone());
        MotionReading {
            since_previous,
            since_detection,
        }
    }

    /// Whether the detectors must run at `time`: on motion in the regions since the last run,
    /// when targets were alive and `alive_interval` passed, and on the first frame.
    pub fn must_detect(&self, reading: &MotionReading, time: f64, targets_alive: bool) -> bool {
        let Some(last) = self.last_detection else {
            return true;
        };
        reading.since_detection > self.config.min_fraction
            || (targets_alive && time - last >= self.config.alive_interval)
            || time < last
    }

    /// Records a detector run on the frame whose grid is `grid`.
    pub fn detected(&mut self, grid: BlockGrid, time: f64) {
        self.reference = Some(grid);
        self.last_detection = Some(time);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn luma(w: u32, h: u32, f: impl Fn(u32, u32) -> u8) -> Vec<u8> {
        (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .map(|(x, y)| f(x, y))
            .collect()
    }

    #[test]
    fn still_scene_skips_and_moving_square_detects() {
        let (w, h) = (160, 96);
        let bg = luma(w, h, |x, y| ((x * 3 + y) % 200) as u8);
        let view = |d: &[u8]| {
            BlockGrid::from_luma(&LumaView {
                data: d,
                stride: w as usize,
                width: w,
                height: h,
            })
        };
        let mut gate = MotionGate::new(MotionConfig::default());
        let g0 = view(&bg);
        let r = gate.observe(&g0, &[], (w, h));
        assert!(gate.must_detect(&r, 0.0, false));
        gate.detected(g0, 0.0);
        let r = gate.observe(&view(&bg), &[], (w, h));
        assert_eq!(r.since_detection, 0.0);
        assert!(!gate.must_detect(&r, 0.2, false), "nothing moved");
        assert!(gate.must_detect(&r, 1.2, true), "targets alive: once a second");
        // A bright square appears in the lower right: motion there, not in the upper left.
        let moved = luma(w, h, |x, y| {
            if x >= 120 && y >= 64 {
                255
            } else {
                ((x * 3 + y) % 200) as u8
            }
        });
        let g = view(&moved);
        let r = gate.observe(&g, &[], (w, h));
        assert!(gate.must_detect(&r, 0.4, false));
        let upper_left = [BBox::new(0.0, 0.0, 64.0, 40.0)];
        let r = gate.observe(&g, &upper_left, (w, h));
        assert!(
            !gate.must_detect(&r, 0.4, false),
            "motion outside the region is ignored"
        );
    }
}
