//! The one trait every algorithm implements, and what flows through it: a decoded frame and the
//! shared perception of it in, VIAS events (payload + boxes to draw) out.
//!
//! An analyzer never runs a model: it declares what it needs ([`Needs`]: detectors, faces,
//! poses, motion, its analysis rate) and the engine computes the union of every task's needs
//! on a source once per frame ([`Perception`]).

use serde_json::Value;
use vigil_vision::{BBox, ImageBgr, Roi};

pub use vigil_vision::{DetectorModel, DetectorNeed, Needs, Perception};

/// One analysed frame.
pub struct FrameInput<'a> {
    pub image: &'a ImageBgr,
    /// Seconds since the stream started: media time for files, wall-clock for live streams.
    /// Intervals and dwell times are measured on it, so offline analysis is deterministic.
    pub time: f64,
    /// Epoch seconds of the frame (the alarm `timestamp`).
    pub epoch: i64,
    /// The rate this analyzer is fed at (analysed frames per second): what it asked for in
    /// [`Needs::fps`], capped by the stream's own rate.
    pub rate: f64,
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

impl Event {
    /// The usual alarm message: `{list_key: items}` with the boxes drawn, or no message at all
    /// when `items` is empty (nothing new on this frame).
    pub fn alarm_list(
        event_type: u64,
        list_key: &str,
        items: Vec<Value>,
        boxes: Vec<BBox>,
        with_image: bool,
    ) -> Vec<Event> {
        if items.is_empty() {
            return Vec::new();
        }
        let mut data = serde_json::Map::new();
        data.insert(list_key.to_string(), Value::Array(items));
        vec![Event {
            event_type,
            data: Value::Object(data),
            alarm_type: None,
            boxes,
            with_image,
        }]
    }
}

/// An analyzer could not analyse a frame (the task reports it; nothing is skipped silently).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct AnalyzerError(pub String);

pub trait Analyzer: Send {
    /// What this analyzer needs per frame, and at which rate. Constant for the analyzer's life.
    fn needs(&self) -> Needs;
    /// Analyses one frame given the source's shared perception of it (which may hold more
    /// classes than asked for: keep your own).
    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError>;
    /// End of stream at frame time `time`: flush what is pending (a partial counting period).
    fn finish(&mut self, _time: f64) -> Vec<Event> {
        Vec::new()
    }
    /// The configured ROI, drawn in yellow when `render_roi_sw` is on.
    fn roi(&self) -> Option<&Roi>;
}
