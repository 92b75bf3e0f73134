//! Object detectors: shared types, letterbox preprocessing, class-aware NMS and filters.

use std::time::Duration;

use crate::backend::Tensor;
use crate::error::Result;
use crate::image::{axis_map, bilerp, ImageBgr};

mod nanodet;
pub mod packaged;
pub mod tiling;
mod yolov5;
mod yolov8;
pub mod yolox;
pub mod yunet;

pub use packaged::PackagedDetector;
pub use yolox::{YoloxDetector, YoloxSpec};
pub use yunet::{Face, FaceDetector, FaceDetectorConfig};

/// Axis-aligned box in frame pixels, corners `(x1, y1)` top-left and `(x2, y2)` bottom-right.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct BBox {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

impl BBox {
    pub fn new(x1: f32, y1: f32, x2: f32, y2: f32) -> Self {
        Self { x1, y1, x2, y2 }
    }
    /// From top-left corner and size.
    pub fn from_xywh(x: f32, y: f32, w: f32, h: f32) -> Self {
        Self::new(x, y, x + w, y + h)
    }
    pub fn width(&self) -> f32 {
        (self.x2 - self.x1).max(0.0)
    }
    pub fn height(&self) -> f32 {
        (self.y2 - self.y1).max(0.0)
    }
    pub fn area(&self) -> f32 {
        self.width() * self.height()
    }
    pub fn center(&self) -> (f32, f32) {
        ((self.x1 + self.x2) * 0.5, (self.y1 + self.y2) * 0.5)
    }
    /// The ROI anchor point of a target: bottom-centre of its box (where it stands).
    pub fn anchor(&self) -> (f32, f32) {
        ((self.x1 + self.x2) * 0.5, self.y2)
    }
    /// Intersection over union (continuous coordinates).
    pub fn iou(&self, o: &BBox) -> f32 {
        let iw = (self.x2.min(o.x2) - self.x1.max(o.x1)).max(0.0);
        let ih = (self.y2.min(o.y2) - self.y1.max(o.y1)).max(0.0);
        let inter = iw * ih;
        let union = self.area() + o.area() - inter;
        if union <= 0.0 {
            0.0
        } else {
            inter / union
        }
    }
    /// Clamped to `[0, w] x [0, h]`.
    pub fn clamp(&self, w: f32, h: f32) -> BBox {
        BBox::new(
            self.x1.clamp(0.0, w),
            self.y1.clamp(0.0, h),
            self.x2.clamp(0.0, w),
            self.y2.clamp(0.0, h),
        )
    }
    /// Integer `(x, y, w, h)` as in the VIAS `bounding_box` object.
    pub fn to_xywh_i32(&self) -> (i32, i32, i32, i32) {
        let x = self.x1.round() as i32;
        let y = self.y1.round() as i32;
        (
            x,
            y,
            (self.x2.round() as i32 - x).max(0),
            (self.y2.round() as i32 - y).max(0),
        )
    }
    /// Scaled by `(sx, sy)`.
    pub fn scale(&self, sx: f32, sy: f32) -> BBox {
        BBox::new(self.x1 * sx, self.y1 * sy, self.x2 * sx, self.y2 * sy)
    }
}

/// One detected object in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Detection {
    pub bbox: BBox,
    /// Objectness x class probability, in `[0, 1]`.
    pub score: f32,
    /// Class index in the model's label list (COCO order for YOLOX; 0 = person).
    pub class_id: u32,
}

/// COCO class ids used by the analyzers.
pub mod coco {
    pub const PERSON: u32 = 0;
    pub const BICYCLE: u32 = 1;
    pub const CAR: u32 = 2;
    pub const MOTORCYCLE: u32 = 3;
    pub const BUS: u32 = 5;
    pub const TRUCK: u32 = 7;
    pub const BOAT: u32 = 8;
    pub const UMBRELLA: u32 = 25;
    pub const BACKPACK: u32 = 24;
    pub const HANDBAG: u32 = 26;
    pub const SUITCASE: u32 = 28;
}

/// Filters applied after decoding.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorConfig {
    /// Minimum score (objectness x class). Default 0.35.
    pub conf_threshold: f32,
    /// IoU above which a lower-scored box of the same class is suppressed. Default 0.45.
    pub nms_iou: f32,
    /// Only these class ids are reported (`None` = all).
    pub classes: Option<Vec<u32>>,
    /// Boxes whose longer side is below this many pixels are dropped (0 = off).
    pub min_size: f32,
    /// Boxes whose longer side is above this many pixels are dropped (0 = off).
    pub max_size: f32,
    /// At most this many detections, best first (0 = unlimited).
    pub max_detections: usize,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            conf_threshold: 0.35,
            nms_iou: 0.45,
            classes: None,
            min_size: 0.0,
            max_size: 0.0,
            max_detections: 0,
        }
    }
}

impl DetectorConfig {
    pub(crate) fn keeps(&self, d: &Detection) -> bool {
        if let Some(c) = &self.classes {
            if !c.contains(&d.class_id) {
                return false;
            }
        }
        let side = d.bbox.width().max(d.bbox.height());
        if self.min_size > 0.0 && side < self.min_size {
            return false;
        }
        if self.max_size > 0.0 && side > self.max_size {
            return false;
        }
        true
    }
}

/// Time spent in each stage of one `detect` call.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageTimings {
    pub preprocess: Duration,
    pub inference: Duration,
    pub postprocess: Duration,
}

impl StageTimings {
    pub fn total(&self) -> Duration {
        self.preprocess + self.inference + self.postprocess
    }
}

/// Anything that turns a frame into detections.
pub trait Detector: Send + Sync {
    /// Detections in frame pixels, best first.
    fn detect(&self, frame: &ImageBgr) -> Result<Vec<Detection>>;
    /// Class names in class-id order.
    fn labels(&self) -> &[String];
}

/// Greedy non-maximum suppression per class. Input in any order; output best first.
/// Ties in score keep input order.
pub fn nms_class_aware(mut dets: Vec<Detection>, iou: f32) -> Vec<Detection> {
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut keep: Vec<Detection> = Vec::with_capacity(dets.len());
    'outer: for d in dets {
        for k in &keep {
            if k.class_id == d.class_id && k.bbox.iou(&d.bbox) > iou {
                continue 'outer;
            }
        }
        keep.push(d);
    }
    keep
}

/// How a frame was fitted into the network input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    /// Network pixels per frame pixel.
    pub ratio: f32,
    /// Size of the resized image inside the input (top-left aligned).
    pub resized_w: u32,
    pub resized_h: u32,
}

/// Letterboxes `frame` into an `[1, 3, size_h, size_w]` f32 NCHW tensor of 0..255 BGR values,
/// image at the top-left, padding `pad`. Resize is OpenCV-style bilinear with 11-bit fixed-point
/// weights (mirrored exactly by `tools/vision/yolox_reference.py`).
pub fn letterbox_nchw(frame: &ImageBgr, size_w: u32, size_h: u32, pad: f32) -> (Tensor, Letterbox) {
    let (w, h) = (frame.width(), frame.height());
    let ratio = (size_w as f32 / w as f32).min(size_h as f32 / h as f32);
    let rw = ((w as f32 * ratio) as u32).clamp(1, size_w);
    let rh = ((h as f32 * ratio) as u32).clamp(1, size_h);
    let (sw, sh) = (size_w as usize, size_h as usize);
    let (rwu, rhu) = (rw as usize, rh as usize);
    let plane = sw * sh;
    let mut data = vec![0f32; plane * 3];
    let xm = axis_map(w, rw);
    let ym = axis_map(h, rh);
    // Byte offsets of the two source pixels and the weight of the second, per output column.
    let cols: Vec<(usize, usize, i32)> = (0..rwu).map(|x| (xm.i0[x] * 3, xm.i1[x] * 3, xm.w1[x])).collect();
    let (d0, rest) = data.split_at_mut(plane);
    let (d1, d2) = rest.split_at_mut(plane);
    for dst in [&mut *d0, &mut *d1, &mut *d2] {
        for y in 0..sh {
            let from = if y < rhu { y * sw + rwu } else { y * sw };
            dst[from..(y + 1) * sw].fill(pad);
        }
    }
    for y in 0..rhu {
        let r0 = frame.row(ym.i0[y] as u32);
        let r1 = frame.row(ym.i1[y] as u32);
        let wy = ym.w1[y];
        let o = y * sw;
        let rows = d0[o..o + rwu]
            .iter_mut()
            .zip(d1[o..o + rwu].iter_mut())
            .zip(d2[o..o + rwu].iter_mut());
        for (((o0, o1), o2), &(a, b, wx)) in rows.zip(cols.iter()) {
            let (p0, p1) = (&r0[a..a + 3], &r0[b..b + 3]);
            let (q0, q1) = (&r1[a..a + 3], &r1[b..b + 3]);
            *o0 = bilerp(p0[0], p1[0], q0[0], q1[0], wx, wy) as f32;
            *o1 = bilerp(p0[1], p1[1], q0[1], q1[1], wx, wy) as f32;
            *o2 = bilerp(p0[2], p1[2], q0[2], q1[2], wx, wy) as f32;
        }
    }
    (
        Tensor::f32(vec![1, 3, size_h as usize, size_w as usize], data),
        Letterbox {
            ratio,
            resized_w: rw,
            resized_h: rh,
        },
    )
}
