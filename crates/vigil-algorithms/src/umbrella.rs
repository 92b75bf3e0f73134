//! Umbrella violation (`c-urban-umbrella-edge/-cloud`): umbrellas (street-vendor and patio
//! umbrellas, or held ones) staying in an area.
//!
//! Behaviour (see docs/algorithms.md, "Umbrella violation"):
//! - Targets: COCO umbrella.
//! - Areas: every ROI polygon (its name is echoed as `polygon_name`); with no polygon, the
//!   whole frame. Huawei's `UmbrellaCommon` has only the shared keys.
//! - An umbrella whose anchor stays in an area for `alert_time_threshold` seconds (a Vigil key:
//!   the dwell filters out umbrellas carried through and one-frame false detections; 0 alarms
//!   on first sight) raises one 2293760 item, once per track and stay ([`crate::dwell`]).
//! - Items of one frame go in one message.

use serde_json::Value;
use vigil_vision::detect::coco;
use vigil_vision::{Detection, Roi};

use crate::analyzer::{Analyzer, AnalyzerError, DetectorModel, Event, FrameInput, Needs, Perception};
use crate::common::sane;
use crate::dwell::{polygon_zones, AlertMode, Dwell, NoticeKind, StayRule};
use crate::event_type::UMBRELLA;
use crate::registry::AnalyzerContext;
use crate::typed_config::{secs, typed};
use crate::validate::{ConfigError, ValidatedCommon};

/// Effective settings: `config.common` keys, typed (defaults and ranges: the catalogue).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct UmbrellaConfig {
    /// Seconds an umbrella must stay in an area (Vigil's key).
    #[serde(rename = "alert_time_threshold", deserialize_with = "secs")]
    pub threshold: f64,
}

/// Builds the analyzer of a task (the registry line of `c-urban-umbrella`).
pub fn build(common: &ValidatedCommon, roi: Roi, ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    Ok(Box::new(UmbrellaAnalyzer::new(typed(common)?, roi, ctx)))
}

pub struct UmbrellaAnalyzer {
    cfg: UmbrellaConfig,
    roi: Roi,
    dwell: Dwell,
    fps: f64,
}

impl UmbrellaAnalyzer {
    pub fn new(cfg: UmbrellaConfig, roi: Roi, ctx: &AnalyzerContext) -> Self {
        let rule = StayRule {
            threshold: cfg.threshold,
            mode: AlertMode::Single,
            still: false,
        };
        let dwell = Dwell::new(polygon_zones(&roi, rule), ctx.seed);
        Self {
            cfg,
            roi,
            dwell,
            fps: ctx.analysis_fps,
        }
    }

    pub fn config(&self) -> &UmbrellaConfig {
        &self.cfg
    }
}

impl Analyzer for UmbrellaAnalyzer {
    fn needs(&self) -> Needs {
        Needs::detector(DetectorModel::Coco, vec![coco::UMBRELLA], 0.1, self.fps)
    }

    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        let dets: Vec<Detection> = perception
            .detections(DetectorModel::Coco)
            .iter()
            .filter(|d| sane(d) && d.class_id == coco::UMBRELLA)
            .copied()
            .collect();
        let (mut items, mut boxes) = (Vec::new(), Vec::new());
        for n in self.dwell.update(frame, &dets) {
            if n.kind == NoticeKind::Alarm {
                items.push(Value::Object(self.dwell.item(&n)));
                boxes.push(n.bbox);
            }
        }
        Ok(Event::alarm_list(UMBRELLA, "event_set", items, boxes, true))
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}
