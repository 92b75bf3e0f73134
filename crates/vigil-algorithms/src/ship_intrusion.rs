//! Vessel intrusion (`ship-intrusion-edge/-cloud`): boats entering a watched water area.
//!
//! Behaviour (see docs/algorithms.md, "Vessel intrusion"):
//! - Targets: COCO boat (any vessel: YOLOX-Nano has one boat class, so `category` is always
//!   [`CATEGORY_BOAT`]; Vigil cannot tell ship types apart).
//! - Areas: every ROI polygon (a named one is echoed as `polygon_name`, a documented Vigil
//!   extension); with no polygon, the whole frame. Huawei's `ShipIntrusionCommon` has only the
//!   shared keys.
//! - A confirmed boat track whose anchor (bottom-centre, about the waterline) is in an area
//!   raises one 33882113 item on entry, once per track and stay ([`crate::dwell`]; a boat that
//!   leaves for 1 s and comes back alarms again). Items of one frame go in one message.

use serde_json::{json, Value};
use vigil_vision::detect::coco;
use vigil_vision::{Detection, Roi};

use crate::analyzer::{Analyzer, AnalyzerError, DetectorModel, Event, FrameInput, Needs, Perception};
use crate::common::sane;
use crate::dwell::{polygon_zones, AlertMode, Dwell, NoticeKind, StayRule};
use crate::event_type::VESSEL_INTRUSION;
use crate::registry::AnalyzerContext;
use crate::validate::{ConfigError, ValidatedCommon};

/// `category` of every vessel (Vigil's code: COCO has a single boat class).
pub const CATEGORY_BOAT: i64 = 0;

/// Builds the analyzer of a task (the registry line of `ship-intrusion`). Only shared keys:
/// the ROI is all it takes.
pub fn build(_common: &ValidatedCommon, roi: Roi, ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    Ok(Box::new(ShipIntrusionAnalyzer::new(roi, ctx)))
}

pub struct ShipIntrusionAnalyzer {
    roi: Roi,
    dwell: Dwell,
    fps: f64,
}

impl ShipIntrusionAnalyzer {
    pub fn new(roi: Roi, ctx: &AnalyzerContext) -> Self {
        let rule = StayRule {
            threshold: 0.0,
            mode: AlertMode::Single,
            still: false,
        };
        let dwell = Dwell::new(polygon_zones(&roi, rule), ctx.seed);
        Self {
            roi,
            dwell,
            fps: ctx.analysis_fps,
        }
    }
}

impl Analyzer for ShipIntrusionAnalyzer {
    fn needs(&self) -> Needs {
        Needs::detector(DetectorModel::Coco, vec![coco::BOAT], 0.1, self.fps)
    }

    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        let dets: Vec<Detection> = perception
            .detections(DetectorModel::Coco)
            .iter()
            .filter(|d| sane(d) && d.class_id == coco::BOAT)
            .copied()
            .collect();
        let (mut items, mut boxes) = (Vec::new(), Vec::new());
        for n in self.dwell.update(frame, &dets) {
            if n.kind == NoticeKind::Alarm {
                let mut item = self.dwell.item(&n);
                item.insert("category".into(), json!(CATEGORY_BOAT));
                items.push(Value::Object(item));
                boxes.push(n.bbox);
            }
        }
        Ok(Event::alarm_list(VESSEL_INTRUSION, "event_set", items, boxes, true))
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}
