//! The one trait every algorithm implements, and what flows through it: a decoded frame and the
//! detector's output in, VIAS events (payload + boxes to draw) out.

use serde_json::Value;
use vigil_vision::{BBox, Detection, ImageBgr, Roi};

/// One analysed frame.
pub struct FrameInput<'a> {
    pub image: &'a ImageBgr,
    /// Seconds since the stream started: media time for files, wall-clock for live streams.
    /// Intervals and dwell times are measured on it, so offline analysis is deterministic.
    pub time: f64,
    /// Epoch seconds of the frame (the alarm `timestamp`).
    pub epoch: i64,
}

/// What an analyzer needs from the shared detector.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorNeeds {
    /// COCO class ids to keep (e.g. person, car); empty = the analyzer needs no detector.
    pub classes: Vec<usize>,
    /// Confidence floor of the detections handed in (trackers want low-score boxes too).
    pub conf_threshold: f32,
}

/// One message to deliver: the VIAS `event_type`, `data` payload and optional `alarm_type`.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub event_type: u64,
    pub data: Value,
    pub alarm_type: Option<i64>,
    /// Target boxes to draw in red on the picture (`render_result_sw`).
    pub boxes: Vec<BBox>,
    /// Whether the message carries a picture (`output_image_sw`; statistics usually none).
    pub with_image: bool,
}

pub trait Analyzer: Send {
    fn needs(&self) -> DetectorNeeds;
    /// Analyses one frame given the detections on it (already filtered to `needs().classes`).
    fn process(&mut self, frame: &FrameInput, detections: &[Detection]) -> Vec<Event>;
    /// The configured ROI, drawn in yellow when `render_roi_sw` is on.
    fn roi(&self) -> Option<&Roi>;
}
