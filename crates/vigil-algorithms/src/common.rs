//! Pieces the tracking analyzers share: a tracker created at the analysis rate, the
//! size filter, stable detection ids, and JSON helpers.

use serde_json::{json, Value};

use crate::analyzer::{DetectorModel, FrameInput, Perception};
use vigil_vision::detect::coco;
use vigil_vision::roi::RoiPolygon;
use vigil_vision::{
    BBox, ByteTracker, CrossingConfig, Detection, LineCrossingCounter, Point, Roi, Track, TrackerConfig,
};

/// A ByteTrack tracker running at the rate the analyzer is fed (`FrameInput::rate`, given by
/// the engine, not guessed from timestamps): its lost buffer and motion gates follow that rate.
pub(crate) struct RateTracker {
    tracker: Option<ByteTracker>,
    /// Changes to the rate's default configuration (see [`RateTracker::tuned`]).
    tune: Option<fn(TrackerConfig) -> TrackerConfig>,
}

impl RateTracker {
    pub(crate) fn new() -> Self {
        Self {
            tracker: None,
            tune: None,
        }
    }

    /// A tracker whose configuration (the rate's default) is passed through `tune` once, when
    /// it is created: e.g. lower score thresholds for weakly detected static objects.
    pub(crate) fn tuned(tune: fn(TrackerConfig) -> TrackerConfig) -> Self {
        Self {
            tracker: None,
            tune: Some(tune),
        }
    }

    /// Feeds one frame; returns the confirmed tracks matched in it and the ids dropped from the
    /// lost buffer in this call.
    pub(crate) fn update(&mut self, frame: &FrameInput, dets: &[Detection]) -> (Vec<Track>, Vec<u64>) {
        let size = (frame.image.width() as f32, frame.image.height() as f32);
        let fps = if frame.rate.is_finite() && frame.rate > 0.0 {
            frame.rate as f32
        } else {
            5.0
        };
        let tune = self.tune;
        let t = self.tracker.get_or_insert_with(|| {
            let cfg = TrackerConfig {
                frame_size: (size.0 > 0.0 && size.1 > 0.0).then_some(size),
                ..TrackerConfig::for_fps(fps.clamp(0.2, 120.0))
            };
            ByteTracker::new(match tune {
                Some(f) => f(cfg),
                None => cfg,
            })
        });
        let tracks = t.update(dets);
        (tracks, t.removed_ids().to_vec())
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

/// The COCO person boxes of a frame of `size` with a score of at least `min_score`, clipped to
/// the frame (the counting analyzers' people).
pub(crate) fn people(perception: &Perception, size: (u32, u32), min_score: f32) -> Vec<BBox> {
    perception
        .detections(DetectorModel::Coco)
        .iter()
        .filter(|d| sane(d) && d.class_id == coco::PERSON && d.score >= min_score)
        .map(|d| clip(&d.bbox, size))
        .collect()
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

/// Polygon names of no-parking areas (`illegal01`, … in Huawei's samples).
pub const ILLEGAL_PREFIX: &str = "illegal";

impl Area {
    /// One area per ROI polygon; the whole frame when the ROI has none.
    pub(crate) fn polygons_or_frame(roi: &Roi) -> Vec<Area> {
        if roi.polygons.is_empty() {
            vec![Area::WholeFrame]
        } else {
            roi.polygons.iter().cloned().map(Area::Polygon).collect()
        }
    }

    /// The areas of a parking analyzer: the `illegal…` polygons, else every polygon, else the
    /// whole frame (Huawei's cloud sample sends one unnamed polygon).
    pub(crate) fn no_parking(roi: &Roi) -> Vec<Area> {
        let illegal: Vec<Area> = roi
            .polygons
            .iter()
            .filter(|p| p.name.as_deref().is_some_and(|n| n.starts_with(ILLEGAL_PREFIX)))
            .cloned()
            .map(Area::Polygon)
            .collect();
        if illegal.is_empty() {
            Area::polygons_or_frame(roi)
        } else {
            illegal
        }
    }

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

/// One crossing counter per ROI line, with the default hysteresis (6 px band, 2 frames);
/// `config` says whether a track counts once per direction (alarms) or every time (counts).
pub(crate) fn line_counters(roi: &Roi, config: CrossingConfig) -> Vec<LineCrossingCounter> {
    roi.lines
        .iter()
        .cloned()
        .map(|l| LineCrossingCounter::new(l, config.clone()))
        .collect()
}

/// A reporting period on frame time (people flow, vehicle counting). It starts at the first
/// frame; when frames stop for longer than a period (a stall), the elapsed periods fold into one
/// and the next starts at the interval boundary before the frame that ended it.
#[derive(Debug, Clone)]
pub(crate) struct Period {
    secs: f64,
    start: Option<f64>,
}

impl Period {
    pub(crate) fn new(secs: i64) -> Self {
        Self {
            secs: secs.max(1) as f64,
            start: None,
        }
    }

    /// True when the current period ended at `time` (then the next one starts).
    pub(crate) fn roll(&mut self, time: f64) -> bool {
        let Some(start) = self.start else {
            self.start = Some(time);
            return false;
        };
        if !time.is_finite() || time < start + self.secs {
            return false;
        }
        let periods = ((time - start) / self.secs).floor().max(1.0);
        self.start = Some(start + periods * self.secs);
        true
    }

    /// True once a frame started the first period.
    pub(crate) fn started(&self) -> bool {
        self.start.is_some()
    }
}

/// The COCO detections of `classes` in this frame's shared perception.
pub(crate) fn coco_of(perception: &crate::analyzer::Perception, classes: &[u32]) -> Vec<Detection> {
    perception
        .detections(crate::analyzer::DetectorModel::Coco)
        .iter()
        .filter(|d| classes.contains(&d.class_id))
        .copied()
        .collect()
}
