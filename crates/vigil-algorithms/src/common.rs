//! Pieces the tracking analyzers share: a tracker created at the stream's frame rate, the
//! size filter, stable detection ids, and JSON helpers.

use serde_json::{json, Value};
use vigil_vision::roi::RoiPolygon;
use vigil_vision::{
    BBox, ByteTracker, CrossingConfig, Detection, LineCrossingCounter, Point, Roi, Track, TrackerConfig,
};

/// Frame rate assumed until two frames have been seen.
const DEFAULT_FPS: f32 = 10.0;

/// A ByteTrack tracker whose lost buffer is set from the measured frame rate: the first frame's
/// detections are kept, and when the second frame arrives the tracker is created at
/// `1 / (t2 - t1)` fps and both frames are fed in order. Deterministic.
pub(crate) struct LazyTracker {
    tracker: Option<ByteTracker>,
    first: Option<(f64, Vec<Detection>)>,
    frame_size: (f32, f32),
}

impl LazyTracker {
    pub(crate) fn new() -> Self {
        Self {
            tracker: None,
            first: None,
            frame_size: (0.0, 0.0),
        }
    }

    fn make(&self, fps: f32) -> ByteTracker {
        let size = (self.frame_size.0 > 0.0 && self.frame_size.1 > 0.0).then_some(self.frame_size);
        ByteTracker::new(TrackerConfig {
            frame_size: size,
            ..TrackerConfig::for_fps(fps)
        })
    }

    /// Feeds one frame; returns the confirmed tracks matched in it and the ids dropped from the
    /// lost buffer in this call.
    pub(crate) fn update(&mut self, time: f64, size: (u32, u32), dets: &[Detection]) -> (Vec<Track>, Vec<u64>) {
        self.frame_size = (size.0 as f32, size.1 as f32);
        if let Some(t) = self.tracker.as_mut() {
            let tracks = t.update(dets);
            return (tracks, t.removed_ids().to_vec());
        }
        match self.first.take() {
            None => {
                self.first = Some((time, dets.to_vec()));
                // Report the first frame's targets as the tracker would (ByteTrack activates
                // tracks of the very first frame immediately) with a provisional tracker.
                let mut probe = self.make(DEFAULT_FPS);
                (probe.update(dets), Vec::new())
            }
            Some((t1, first)) => {
                let dt = time - t1;
                let fps = if dt.is_finite() && dt > 0.0 {
                    (1.0 / dt) as f32
                } else {
                    DEFAULT_FPS
                };
                let mut tracker = self.make(fps.clamp(0.2, 120.0));
                tracker.update(&first);
                let tracks = tracker.update(dets);
                let removed = tracker.removed_ids().to_vec();
                self.tracker = Some(tracker);
                (tracks, removed)
            }
        }
    }
}

/// A detection with a finite, non-empty box (others never reach the tracker).
pub(crate) fn sane(d: &Detection) -> bool {
    let b = &d.bbox;
    [b.x1, b.y1, b.x2, b.y2, d.score].iter().all(|v| v.is_finite()) && b.x2 > b.x1 && b.y2 > b.y1
}

/// `detection_min_size` / `detection_max_size`: pixels at 1080p, compared with the larger side
/// of a box after scaling by `frame height / 1080`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SizeFilter {
    pub min: f32,
    pub max: f32,
}

impl SizeFilter {
    pub(crate) fn keeps(&self, b: &BBox, frame_height: u32) -> bool {
        let scale = frame_height.max(1) as f32 / 1080.0;
        let side = b.width().max(b.height());
        side >= self.min * scale && side <= self.max * scale
    }
}

/// Stable upper-case UUID-shaped id of a track, derived from the analyzer's seed and the id.
pub(crate) fn detection_id(seed: u64, track_id: u64) -> String {
    let a = splitmix(seed ^ splitmix(track_id));
    let b = splitmix(a ^ track_id.rotate_left(17));
    format!(
        "{:08X}-{:04X}-{:04X}-{:04X}-{:012X}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        (a & 0x0FFF) | 0x4000,
        ((b >> 48) & 0x3FFF) | 0x8000,
        b & 0xFFFF_FFFF_FFFF
    )
}

pub(crate) fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seed that differs between analyzers of one process and between processes.
pub(crate) fn fresh_seed() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    splitmix(t ^ splitmix(n) ^ u64::from(std::process::id()))
}

/// A box clipped to the frame, as VIAS `{x, y, w, h}` integers.
pub(crate) fn clip(b: &BBox, size: (u32, u32)) -> BBox {
    let (w, h) = (size.0 as f32, size.1 as f32);
    let c = |v: f32, hi: f32| if v.is_finite() { v.clamp(0.0, hi) } else { 0.0 };
    BBox::new(c(b.x1, w), c(b.y1, h), c(b.x2, w), c(b.y2, h))
}

pub(crate) fn bbox_json(b: &BBox) -> Value {
    let x = b.x1.round();
    let y = b.y1.round();
    json!({
        "x": x as i64,
        "y": y as i64,
        "w": (b.x2.round() - x).max(0.0) as i64,
        "h": (b.y2.round() - y).max(0.0) as i64,
    })
}

pub(crate) fn point_json(p: Point) -> Value {
    json!([p.x.round() as i64, p.y.round() as i64])
}

pub(crate) fn anchor(b: &BBox) -> Point {
    let (x, y) = b.anchor();
    Point::new(x, y)
}

/// An area targets can be in: a polygon of the ROI, or the whole frame when there is no ROI.
#[derive(Debug, Clone)]
pub(crate) enum Area {
    Polygon(RoiPolygon),
    WholeFrame,
}

impl Area {
    pub(crate) fn contains(&self, p: Point, size: (u32, u32)) -> bool {
        match self {
            Area::Polygon(poly) => poly.contains(p),
            Area::WholeFrame => p.x >= 0.0 && p.y >= 0.0 && p.x <= size.0 as f32 && p.y <= size.1 as f32,
        }
    }

    pub(crate) fn name(&self) -> Option<&str> {
        match self {
            Area::Polygon(poly) => poly.name.as_deref(),
            Area::WholeFrame => None,
        }
    }

    pub(crate) fn polygon_json(&self, size: (u32, u32)) -> Value {
        match self {
            Area::Polygon(poly) => Value::Array(poly.points.iter().map(|p| point_json(*p)).collect()),
            Area::WholeFrame => json!([[0, 0], [size.0, 0], [size.0, size.1], [0, size.1]]),
        }
    }
}

/// One crossing counter per ROI line, with the default hysteresis (6 px band, 2 frames, once
/// per direction per track).
pub(crate) fn line_counters(roi: &Roi) -> Vec<LineCrossingCounter> {
    roi.lines
        .iter()
        .cloned()
        .map(|l| LineCrossingCounter::new(l, CrossingConfig::default()))
        .collect()
}
