//! Detector tiling: small targets seen from a high camera shrink below what a 416-px detector
//! resolves once the whole frame is letterboxed into it. Running the detector also on an N×N
//! grid of overlapping tiles (each letterboxed, i.e. magnified, on its own) and merging with the
//! whole-frame pass finds them; the cost is `N² + 1` inferences per frame.
//!
//! Merging: tile boxes are shifted back to frame pixels; a box cut by an inner tile border is
//! dropped when another box (a neighbouring tile's or the whole frame's) holds most of it, since
//! that one saw the object whole; then class-aware NMS removes the remaining duplicates.

use super::{nms_class_aware, BBox, Detection, Detector};
use crate::error::Result;
use crate::image::ImageBgr;

/// Fraction of a tile shared with its neighbour (a person cut by one tile's border is whole in
/// the next one when narrower than this).
pub const TILE_OVERLAP: f32 = 0.15;
/// Most tiles per side (17 inferences per frame at 4).
pub const MAX_TILES: u8 = 4;
/// Tiles are never smaller than this (px): below it they only magnify noise.
const MIN_TILE_SIDE: u32 = 96;
/// A box edge this close (px) to an inner tile border was cut by it.
const CUT_EPS: f32 = 1.5;
/// A cut box whose area lies at least this much inside another box of its class is a duplicate.
const CONTAINED: f32 = 0.6;

/// One tile in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tile {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// The tiles per side actually used for a `width`×`height` frame when `n` are asked for
/// (bounded by [`MAX_TILES`] and by [`MIN_TILE_SIDE`]); 1 means no tiling.
pub fn effective_grid(width: u32, height: u32, n: u8) -> u32 {
    let n = u32::from(n.min(MAX_TILES));
    (1..=n.max(1))
        .rev()
        .find(|&k| k == 1 || side(width, k) >= MIN_TILE_SIDE && side(height, k) >= MIN_TILE_SIDE)
        .unwrap_or(1)
}

/// Length of one of `n` tiles covering `len` pixels with [`TILE_OVERLAP`] between neighbours.
fn side(len: u32, n: u32) -> u32 {
    if n <= 1 {
        return len;
    }
    let s = len as f32 / (n as f32 - (n - 1) as f32 * TILE_OVERLAP);
    (s.ceil() as u32).min(len)
}

/// Start of tile `i` of `n` of length `s` over `len` pixels (first at 0, last flush with the end).
fn start(len: u32, s: u32, i: u32, n: u32) -> u32 {
    if n <= 1 {
        return 0;
    }
    ((len - s) as f32 * i as f32 / (n - 1) as f32).round() as u32
}

/// The `n`×`n` overlapping tiles of a `width`×`height` frame, row by row (empty for `n` ≤ 1).
pub fn tiles(width: u32, height: u32, n: u32) -> Vec<Tile> {
    if n <= 1 {
        return Vec::new();
    }
    let (tw, th) = (side(width, n), side(height, n));
    let mut out = Vec::with_capacity((n * n) as usize);
    for r in 0..n {
        for c in 0..n {
            out.push(Tile {
                x: start(width, tw, c, n),
                y: start(height, th, r, n),
                w: tw,
                h: th,
            });
        }
    }
    out
}

/// Detections on the whole frame plus, when `grid` ≥ 2, on `grid`×`grid` overlapping tiles,
/// merged (see the module doc). `nms_iou` is the detector's own NMS threshold. With `grid` ≤ 1
/// this is exactly `detector.detect(frame)`.
pub fn detect_tiled(detector: &dyn Detector, frame: &ImageBgr, grid: u8, nms_iou: f32) -> Result<Vec<Detection>> {
    let (w, h) = (frame.width(), frame.height());
    let n = effective_grid(w, h, grid);
    let whole = detector.detect(frame)?;
    if n <= 1 {
        return Ok(whole);
    }
    let mut all: Vec<(Detection, bool)> = whole.into_iter().map(|d| (d, false)).collect();
    for t in tiles(w, h, n) {
        let crop = frame.crop(t.x as i32, t.y as i32, t.w, t.h)?;
        for d in detector.detect(&crop)? {
            let b = BBox::new(
                d.bbox.x1 + t.x as f32,
                d.bbox.y1 + t.y as f32,
                d.bbox.x2 + t.x as f32,
                d.bbox.y2 + t.y as f32,
            );
            all.push((Detection { bbox: b, ..d }, cut_by_inner_border(&b, &t, w, h)));
        }
    }
    Ok(merge(all, nms_iou))
}

/// Whether `b` (frame pixels) touches a border of tile `t` that is not a frame border.
fn cut_by_inner_border(b: &BBox, t: &Tile, w: u32, h: u32) -> bool {
    let (l, r) = (t.x as f32, (t.x + t.w) as f32);
    let (top, bottom) = (t.y as f32, (t.y + t.h) as f32);
    (t.x > 0 && b.x1 <= l + CUT_EPS)
        || (t.x + t.w < w && b.x2 >= r - CUT_EPS)
        || (t.y > 0 && b.y1 <= top + CUT_EPS)
        || (t.y + t.h < h && b.y2 >= bottom - CUT_EPS)
}

/// Fraction of `a`'s area inside `b`.
fn inside(a: &BBox, b: &BBox) -> f32 {
    let iw = (a.x2.min(b.x2) - a.x1.max(b.x1)).max(0.0);
    let ih = (a.y2.min(b.y2) - a.y1.max(b.y1)).max(0.0);
    let area = a.area();
    if area <= 0.0 {
        0.0
    } else {
        iw * ih / area
    }
}

/// Drops cut boxes another box of their class mostly holds, then class-aware NMS.
fn merge(all: Vec<(Detection, bool)>, nms_iou: f32) -> Vec<Detection> {
    let kept: Vec<Detection> = all
        .iter()
        .enumerate()
        .filter(|(i, (d, cut))| {
            !*cut
                || !all.iter().enumerate().any(|(j, (o, _))| {
                    j != *i
                        && o.class_id == d.class_id
                        && o.bbox.area() > d.bbox.area()
                        && inside(&d.bbox, &o.bbox) >= CONTAINED
                })
        })
        .map(|(_, (d, _))| *d)
        .collect();
    nms_class_aware(kept, nms_iou)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in detector that "sees" red rectangles painted on the image, but only those at
    /// least `min_frac` of the image width wide (small targets vanish on a big frame, as with a
    /// real letterboxed detector); rectangles touching the image border are reported clipped.
    struct PaintDetector {
        min_frac: f32,
    }

    impl Detector for PaintDetector {
        fn detect(&self, img: &ImageBgr) -> Result<Vec<Detection>> {
            let (w, h) = (img.width(), img.height());
            let mut seen = vec![false; (w * h) as usize];
            let mut out = Vec::new();
            for y in 0..h {
                for x in 0..w {
                    if seen[(y * w + x) as usize] || img.pixel(x, y) != [0, 0, 255] {
                        continue;
                    }
                    // Rectangles: extend right and down.
                    let mut x2 = x;
                    while x2 + 1 < w && img.pixel(x2 + 1, y) == [0, 0, 255] {
                        x2 += 1;
                    }
                    let mut y2 = y;
                    while y2 + 1 < h && img.pixel(x, y2 + 1) == [0, 0, 255] {
                        y2 += 1;
                    }
                    for yy in y..=y2 {
                        for xx in x..=x2 {
                            seen[(yy * w + xx) as usize] = true;
                        }
                    }
                    let b = BBox::new(x as f32, y as f32, (x2 + 1) as f32, (y2 + 1) as f32);
                    if b.width() >= self.min_frac * w as f32 {
                        out.push(Detection {
                            bbox: b,
                            score: 0.9,
                            class_id: 0,
                        });
                    }
                }
            }
            Ok(out)
        }
        fn labels(&self) -> &[String] {
            &[]
        }
    }

    fn paint(w: u32, h: u32, rects: &[(u32, u32, u32, u32)]) -> ImageBgr {
        let mut data = vec![128u8; (w * h * 3) as usize];
        for &(x, y, rw, rh) in rects {
            for yy in y..y + rh {
                for xx in x..x + rw {
                    let i = ((yy * w + xx) * 3) as usize;
                    data[i..i + 3].copy_from_slice(&[0, 0, 255]);
                }
            }
        }
        ImageBgr::from_packed(w, h, data).unwrap()
    }

    #[test]
    fn tiles_cover_the_frame_with_overlap() {
        let t = tiles(480, 360, 2);
        assert_eq!(t.len(), 4);
        assert_eq!(
            t[0],
            Tile {
                x: 0,
                y: 0,
                w: 260,
                h: 195
            }
        );
        assert_eq!(
            t[3],
            Tile {
                x: 220,
                y: 165,
                w: 260,
                h: 195
            }
        );
        // 40 px shared horizontally (15 % of a tile), 30 px vertically.
        assert_eq!(t[0].x + t[0].w - t[1].x, 40);
        for n in 2..=4 {
            for t in tiles(1920, 1080, n) {
                assert!(t.x + t.w <= 1920 && t.y + t.h <= 1080);
            }
        }
        assert!(tiles(480, 360, 1).is_empty());
        assert_eq!(effective_grid(480, 360, 9), 4, "capped by MAX_TILES");
        assert_eq!(effective_grid(300, 300, 4), 3, "capped by the smallest tile side");
        assert_eq!(effective_grid(100, 100, 2), 1, "too small to tile");
        assert_eq!(effective_grid(1920, 1080, 0), 1);
    }

    #[test]
    fn tiling_finds_small_targets_once_each() {
        // Four 20-px targets (4 % of the width: missed on the whole frame), one of them across
        // the vertical tile border (x 220..280 is shared), one large target seen everywhere.
        let img = paint(
            480,
            360,
            &[
                (40, 40, 20, 30),
                (235, 60, 20, 30),
                (400, 300, 20, 30),
                (100, 250, 20, 30),
                (300, 100, 120, 150),
            ],
        );
        let det = PaintDetector { min_frac: 0.06 };
        let plain = detect_tiled(&det, &img, 1, 0.45).unwrap();
        assert_eq!(plain.len(), 1, "only the large target without tiling");
        let tiled = detect_tiled(&det, &img, 2, 0.45).unwrap();
        assert_eq!(tiled.len(), 5, "{tiled:?}");
        // Boxes are back in frame pixels.
        assert!(tiled.iter().any(|d| d.bbox == BBox::new(235.0, 60.0, 255.0, 90.0)));
        assert!(tiled.iter().any(|d| d.bbox == BBox::new(400.0, 300.0, 420.0, 330.0)));
    }

    #[test]
    fn a_target_cut_by_a_tile_border_is_not_counted_twice() {
        // 100 px wide, across the border at x 220..260: both left tiles see it cut, the whole
        // frame sees it whole.
        let img = paint(480, 360, &[(190, 20, 100, 60)]);
        let det = PaintDetector { min_frac: 0.05 };
        let tiled = detect_tiled(&det, &img, 2, 0.45).unwrap();
        assert_eq!(tiled.len(), 1, "{tiled:?}");
        assert_eq!(tiled[0].bbox, BBox::new(190.0, 20.0, 290.0, 80.0));
    }
}
