//! Region segmentation shared by the surface analyzers (waterlogging, cyanobacteria, bare soil):
//! the frame is cut into square blocks, each block gets its mean colour (HSV of the mean BGR)
//! and a texture measure, an analyzer-specific rule marks blocks inside the ROI, and the
//! 8-connected groups of marked blocks become regions with a box in frame pixels. A region
//! tracker gives regions that persist a stable id and their first-seen time.
//!
//! Blocks rather than pixels: surfaces are large, a block mean is robust to compression noise
//! and sensor grain, and 16x16 blocks make a 1080p frame ~8000 cells (cheap at 1 fps).

use vigil_vision::detect::coco;
use vigil_vision::pixel::{bgr_to_gray, bgr_to_hsv, connected_components, Plane};
use vigil_vision::{BBox, DetectorModel, ImageBgr, Point, Roi};

use crate::analyzer::{Needs, Perception};
use crate::common::Area;

/// Side of a block in pixels.
pub(crate) const BLOCK: u32 = 16;

/// Appearance of one block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Cell {
    /// Mean B, G, R.
    pub bgr: [f32; 3],
    /// HSV (OpenCV 8-bit convention) of the mean colour.
    pub hsv: [u8; 3],
    /// Mean absolute gray difference to the right and lower neighbour pixel (0 = flat).
    pub texture: f32,
    /// Gradient coherence (structure tensor, 0 = no dominant direction, 1 = parallel lines):
    /// brick courses, wood grain and edges of man-made things are coherent, grass and clods not.
    pub coherence: f32,
}

/// The block grid of one frame.
#[derive(Debug, Clone)]
pub(crate) struct Grid {
    pub cols: u32,
    pub rows: u32,
    pub cells: Vec<Cell>,
}

impl Grid {
    /// Block statistics of `img` (a partial last row/column of blocks is left out).
    pub(crate) fn of(img: &ImageBgr) -> Grid {
        let (cols, rows) = (img.width() / BLOCK, img.height() / BLOCK);
        // Sums per block: B, G, R, |dx| + |dy|, dx², dy², dx·dy.
        let mut sums = vec![[0f32; 7]; (cols * rows) as usize];
        let mut prev: Vec<u8> = Vec::new();
        let mut gray = Vec::with_capacity(img.width() as usize);
        for y in 0..rows * BLOCK {
            let row = img.row(y);
            gray.clear();
            gray.extend(row.chunks_exact(3).map(|p| bgr_to_gray(p[0], p[1], p[2])));
            let by = y / BLOCK;
            for bx in 0..cols {
                let s = &mut sums[(by * cols + bx) as usize];
                for x in bx * BLOCK..(bx + 1) * BLOCK {
                    let i = x as usize;
                    s[0] += row[i * 3] as f32;
                    s[1] += row[i * 3 + 1] as f32;
                    s[2] += row[i * 3 + 2] as f32;
                    let g = gray[i] as f32;
                    let dx = gray.get(i + 1).map_or(0.0, |&n| n as f32 - g);
                    // The previous row counts for this block only inside the block.
                    let dy = if y % BLOCK == 0 {
                        0.0
                    } else {
                        prev.get(i).map_or(0.0, |&p| g - p as f32)
                    };
                    s[3] += dx.abs() + dy.abs();
                    s[4] += dx * dx;
                    s[5] += dy * dy;
                    s[6] += dx * dy;
                }
            }
            std::mem::swap(&mut prev, &mut gray);
        }
        let n = (BLOCK * BLOCK) as f32;
        let cells = sums
            .into_iter()
            .map(|s| {
                let bgr = [s[0] / n, s[1] / n, s[2] / n];
                Cell {
                    bgr,
                    hsv: bgr_to_hsv(bgr[0] as u8, bgr[1] as u8, bgr[2] as u8),
                    texture: s[3] / n,
                    coherence: coherence([s[4], s[5], s[6]]),
                }
            })
            .collect();
        Grid { cols, rows, cells }
    }

    /// Centre of block `i` in frame pixels.
    pub(crate) fn centre(&self, i: usize) -> Point {
        let (c, r) = (i as u32 % self.cols.max(1), i as u32 / self.cols.max(1));
        Point::new(((c * BLOCK) + BLOCK / 2) as f32, ((r * BLOCK) + BLOCK / 2) as f32)
    }
}

/// Coherence of a structure tensor (dx², dy², dx·dy sums): 0 = no direction, 1 = one.
fn coherence([xx, yy, xy]: [f32; 3]) -> f32 {
    ((xx - yy).powi(2) + 4.0 * xy * xy).sqrt() / (xx + yy + 1e-3)
}

/// For every block, the index of the area (ROI polygon, or the whole frame) holding its centre.
pub(crate) fn block_areas(grid: &Grid, areas: &[Area], size: (u32, u32)) -> Vec<Option<usize>> {
    (0..grid.cells.len())
        .map(|i| {
            let c = grid.centre(i);
            areas.iter().position(|a| a.contains(c, size))
        })
        .collect()
}

/// The block-to-area map of one frame size: (frame size, area index per block).
pub(crate) type Layout = ((u32, u32), Vec<Option<usize>>);

/// One connected group of marked blocks.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Region {
    /// Box in frame pixels.
    pub bbox: BBox,
    /// Area in frame pixels (blocks x block area).
    pub pixels: usize,
    /// The area (index into the analyzer's areas) holding most of it.
    pub area: usize,
}

/// Regions of the blocks in `marked` (one flag per block), split by area, of at least
/// `min_blocks` blocks each.
pub(crate) fn regions(
    grid: &Grid,
    marked: &[bool],
    block_area: &[Option<usize>],
    n_areas: usize,
    min_blocks: usize,
) -> Vec<Region> {
    let mut out = Vec::new();
    for a in 0..n_areas {
        let mut mask = Plane::new(grid.cols, grid.rows);
        for (i, m) in mask.data.iter_mut().enumerate() {
            if marked.get(i).copied().unwrap_or(false) && block_area.get(i).copied().flatten() == Some(a) {
                *m = 255;
            }
        }
        for c in connected_components(&mask, true, min_blocks.max(1)) {
            let b = c.bbox;
            let s = BLOCK as f32;
            out.push(Region {
                bbox: BBox::new(b.x1 * s, b.y1 * s, b.x2 * s, b.y2 * s),
                pixels: c.area * (BLOCK * BLOCK) as usize,
                area: a,
            });
        }
    }
    out
}

/// The [`regions`] of `marked` covering at least `min_area_percent` % of the smallest area
/// (and at least 2 blocks): what waterlogging, cyanobacteria and soil report.
pub(crate) fn large_regions(
    grid: &Grid,
    marked: &[bool],
    block_area: &[Option<usize>],
    n_areas: usize,
    min_area_percent: f64,
) -> Vec<Region> {
    let per_area = blocks_per_area(block_area, n_areas);
    let smallest = per_area.iter().copied().filter(|&n| n > 0).min().unwrap_or(0) as f64;
    let min_blocks = (smallest * min_area_percent / 100.0).ceil().max(2.0) as usize;
    regions(grid, marked, block_area, n_areas, min_blocks)
}

/// Number of blocks in each area (the denominator of per-area ratios).
pub(crate) fn blocks_per_area(block_area: &[Option<usize>], n_areas: usize) -> Vec<usize> {
    let mut n = vec![0usize; n_areas];
    for a in block_area.iter().flatten() {
        if let Some(v) = n.get_mut(*a) {
            *v += 1;
        }
    }
    n
}

/// The analyzer's areas: the ROI polygons, or the whole frame.
pub(crate) fn areas_of(roi: &Roi) -> Vec<Area> {
    Area::polygons_or_frame(roi)
}

/// A region followed over frames: matched by box overlap, it keeps its id and first-seen time.
#[derive(Debug, Clone)]
pub(crate) struct TrackedRegion {
    pub id: u64,
    pub region: Region,
    pub first_seen: f64,
    pub last_seen: f64,
    /// Set once the region was reported.
    pub reported: bool,
}

/// Follows regions between analysed frames. A region unseen for `grace` seconds is dropped
/// (a person walking over a patch of soil must not restart its clock).
#[derive(Debug, Clone)]
pub(crate) struct RegionTracker {
    grace: f64,
    next_id: u64,
    pub tracks: Vec<TrackedRegion>,
}

impl RegionTracker {
    pub(crate) fn new(grace: f64) -> Self {
        Self {
            grace,
            next_id: 1,
            tracks: Vec::new(),
        }
    }

    /// Matches this frame's regions (greedy, largest overlap first, same area only).
    pub(crate) fn update(&mut self, time: f64, regions: Vec<Region>) {
        let grace = self.grace;
        self.tracks.retain(|t| time - t.last_seen <= grace);
        let mut taken = vec![false; self.tracks.len()];
        for r in regions {
            let best = self
                .tracks
                .iter()
                .enumerate()
                .filter(|(i, t)| !taken[*i] && t.region.area == r.area)
                .map(|(i, t)| (i, overlap(&t.region.bbox, &r.bbox)))
                .filter(|(_, o)| *o > 0.3)
                .max_by(|a, b| a.1.total_cmp(&b.1));
            match best {
                Some((i, _)) => {
                    taken[i] = true;
                    self.tracks[i].region = r;
                    self.tracks[i].last_seen = time;
                }
                None => {
                    self.tracks.push(TrackedRegion {
                        id: self.next_id,
                        region: r,
                        first_seen: time,
                        last_seen: time,
                        reported: false,
                    });
                    taken.push(true);
                    self.next_id += 1;
                }
            }
        }
    }

    /// Regions seen on this frame (`time`) that have persisted for at least `min_age` seconds.
    pub(crate) fn persistent(&mut self, time: f64, min_age: f64) -> impl Iterator<Item = &mut TrackedRegion> {
        self.tracks
            .iter_mut()
            .filter(move |t| t.last_seen == time && time - t.first_seen >= min_age)
    }
}

/// Intersection over the smaller box: a region that grows or shrinks still matches itself.
fn overlap(a: &BBox, b: &BBox) -> f32 {
    let iw = (a.x2.min(b.x2) - a.x1.max(b.x1)).max(0.0);
    let ih = (a.y2.min(b.y2) - a.y1.max(b.y1)).max(0.0);
    let small = (a.width() * a.height()).min(b.width() * b.height());
    if small <= 0.0 {
        0.0
    } else {
        iw * ih / small
    }
}

/// COCO classes that stand or move on a surface without being it: people, vehicles, bags.
/// A still person in grey clothes changes the ground like a puddle does.
const OBSTACLES: [u32; 10] = [
    coco::PERSON,
    coco::BICYCLE,
    coco::CAR,
    coco::MOTORCYCLE,
    coco::BUS,
    coco::TRUCK,
    coco::BOAT,
    coco::BACKPACK,
    coco::HANDBAG,
    coco::SUITCASE,
];

/// The detector need of an analyzer that ignores [`OBSTACLES`] (the engine shares the
/// detector with the camera's other tasks).
pub(crate) fn obstacle_needs(fps: f64) -> Needs {
    Needs::detector(DetectorModel::Coco, OBSTACLES.to_vec(), 0.3, fps)
}

/// Boxes of the detected obstacles of this frame, grown by a quarter of their size on each
/// side (a box is often tighter than the person's shadow and loose clothes).
pub(crate) fn obstacle_boxes(perception: &Perception) -> Vec<BBox> {
    perception
        .detections(DetectorModel::Coco)
        .iter()
        .filter(|d| OBSTACLES.contains(&d.class_id))
        .map(|d| {
            let (mx, my) = (d.bbox.width() / 4.0, d.bbox.height() / 4.0);
            BBox::new(d.bbox.x1 - mx, d.bbox.y1 - my, d.bbox.x2 + mx, d.bbox.y2 + my)
        })
        .collect()
}

/// Blocks covered by an obstacle now or within the last `hold` seconds: a person who stood
/// there a moment ago (and whom the detector misses on some frames) is not a puddle.
#[derive(Debug, Clone)]
pub(crate) struct Occupancy {
    hold: f64,
    until: Vec<f64>,
}

impl Occupancy {
    pub(crate) fn new(hold: f64) -> Self {
        Self {
            hold,
            until: Vec::new(),
        }
    }

    /// Records this frame's `boxes` and returns one flag per block (true = occupied lately).
    pub(crate) fn update(&mut self, grid: &Grid, boxes: &[BBox], time: f64) -> Vec<bool> {
        if self.until.len() != grid.cells.len() {
            self.until = vec![f64::NEG_INFINITY; grid.cells.len()];
        }
        let s = BLOCK as f32;
        for b in boxes {
            let c0 = (b.x1 / s).floor().max(0.0) as u32;
            let r0 = (b.y1 / s).floor().max(0.0) as u32;
            let c1 = ((b.x2 / s).ceil().max(0.0) as u32).min(grid.cols);
            let r1 = ((b.y2 / s).ceil().max(0.0) as u32).min(grid.rows);
            for r in r0..r1 {
                for c in c0..c1 {
                    self.until[(r * grid.cols + c) as usize] = time + self.hold;
                }
            }
        }
        self.until.iter().map(|&u| u >= time).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) -> ImageBgr {
        let mut v = Vec::new();
        for y in 0..h {
            for x in 0..w {
                v.extend_from_slice(&f(x, y));
            }
        }
        ImageBgr::from_packed(w, h, v).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn blocks_segment_a_coloured_patch_and_tracks_keep_its_id() {
        // A 64x48 flat patch of green at (32, 16) on checkered gray.
        let img = image(128, 96, |x, y| {
            if (32..96).contains(&x) && (16..64).contains(&y) {
                [20, 200, 20]
            } else if (x + y) % 2 == 0 {
                [90, 90, 90]
            } else {
                [130, 130, 130]
            }
        });
        let g = Grid::of(&img);
        assert_eq!((g.cols, g.rows), (8, 6));
        assert!(g.cells[0].texture > 30.0, "checker is textured");
        let inside = &g.cells[(2 * g.cols + 3) as usize];
        assert_eq!(inside.hsv[0], 60);
        assert_eq!(inside.texture, 0.0);
        let marked: Vec<bool> = g.cells.iter().map(|c| c.hsv[1] > 100).collect();
        let areas = block_areas(&g, &[Area::WholeFrame], (128, 96));
        let rs = regions(&g, &marked, &areas, 1, 2);
        assert_eq!(rs.len(), 1);
        assert_eq!(rs[0].bbox, BBox::new(32.0, 16.0, 96.0, 64.0));
        assert_eq!(rs[0].pixels, 64 * 48);

        let mut t = RegionTracker::new(2.0);
        t.update(0.0, rs.clone());
        t.update(1.0, Vec::new());
        t.update(2.0, rs.clone());
        let ids: Vec<u64> = t.persistent(2.0, 2.0).map(|r| r.id).collect();
        assert_eq!(ids, [1], "a region missed for a frame keeps its id and age");
        t.update(5.0, rs);
        assert_eq!(
            t.persistent(5.0, 0.0).map(|r| r.id).collect::<Vec<_>>(),
            [2],
            "gone longer than the grace"
        );
    }
}
