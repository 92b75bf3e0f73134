//! Crowd density (`c-crowdcount-edge/-cloud`, event 524288): people per ROI polygon, an alarm
//! when a polygon holds `alarm_threshold` people or more.
//!
//! Behaviour (see docs/algorithms.md, "Crowd density"):
//! - One frame is analysed every `sampling_time_interval` seconds. People are COCO person
//!   detections with a score of at least [`MIN_SCORE`] whose anchor (bottom-centre: where they
//!   stand) is inside the polygon; without a polygon the whole frame is the area.
//! - When at least one polygon reaches `alarm_threshold`, one message lists every polygon (spec
//!   §6.4): `{"scene_type": 1, "alarm_type": 1, "event_set": [{"crowd_count": n,
//!   "banner_count": 0, "polygon": [[x,y],…], "polygon_name"?}]}`. No message below threshold.
//! - Banners: Vigil has no banner model, so `banner_count` is 0 and `alarm_type` 2 (people and
//!   banners over threshold) never occurs; `banner_detection_sw`/`banner_threshold` are accepted
//!   and validated. `density_sw` (density map) is accepted and ignored: there is no density
//!   model; counts come from the detector.
//! - `visualization_output_sw` 1: the message carries the frame with the counted people boxed.

use serde_json::{json, Map, Value};
use vigil_vision::detect::coco;
use vigil_vision::{BBox, Roi};

use crate::analyzer::{Analyzer, AnalyzerError, DetectorModel, Event, FrameInput, Needs, Perception};
use crate::common::{anchor, clip, sane, Area};
use crate::event_type::CROWD_DENSITY;
use crate::registry::AnalyzerContext;
use crate::typed_config::{int_text, switch, typed};
use crate::validate::{ConfigError, ValidatedCommon};

/// Person detections below this score are not counted (the detector runs at a lower floor for
/// trackers of other tasks on the same camera).
pub const MIN_SCORE: f32 = 0.35;

/// `config.common` of crowd density, typed (defaults and ranges from the catalogue).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct CrowdConfig {
    /// People per polygon that raise an alarm.
    #[serde(deserialize_with = "int_text")]
    pub alarm_threshold: i64,
    /// Seconds between analysed frames.
    pub sampling_time_interval: i64,
    #[serde(rename = "visualization_output_sw", deserialize_with = "switch")]
    pub with_image: bool,
    #[serde(rename = "banner_detection_sw", deserialize_with = "switch")]
    pub banner_detection: bool,
    #[serde(deserialize_with = "int_text")]
    pub banner_threshold: i64,
    /// Vigil extension: skip the detector on frames without motion in the ROI.
    #[serde(rename = "motion_gating_sw", deserialize_with = "switch")]
    pub motion_gating: bool,
}

/// Builds the analyzer of a task (the registry line of `c-crowdcount`).
pub fn build(common: &ValidatedCommon, roi: Roi, _ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    Ok(Box::new(CrowdCountAnalyzer::new(typed(common)?, roi)))
}

pub struct CrowdCountAnalyzer {
    cfg: CrowdConfig,
    roi: Roi,
    areas: Vec<Area>,
}

impl CrowdCountAnalyzer {
    pub fn new(cfg: CrowdConfig, roi: Roi) -> Self {
        let areas = Area::polygons_or_frame(&roi);
        Self { cfg, roi, areas }
    }

    /// People counted in each area on a frame of `size`, with their boxes.
    pub fn count(&self, perception: &Perception, size: (u32, u32)) -> Vec<Vec<BBox>> {
        let people: Vec<BBox> = perception
            .detections(DetectorModel::Coco)
            .iter()
            .filter(|d| sane(d) && d.class_id == coco::PERSON && d.score >= MIN_SCORE)
            .map(|d| clip(&d.bbox, size))
            .collect();
        self.areas
            .iter()
            .map(|a| people.iter().filter(|b| a.contains(anchor(b), size)).copied().collect())
            .collect()
    }
}

impl Analyzer for CrowdCountAnalyzer {
    fn needs(&self) -> Needs {
        let fps = 1.0 / self.cfg.sampling_time_interval.max(1) as f64;
        let mut needs = Needs::detector(DetectorModel::Coco, vec![coco::PERSON], MIN_SCORE, fps);
        needs.motion_gated = self.cfg.motion_gating;
        needs
    }

    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        let size = (frame.image.width(), frame.image.height());
        let counts = self.count(perception, size);
        if !counts.iter().any(|c| c.len() as i64 >= self.cfg.alarm_threshold) {
            return Ok(Vec::new());
        }
        let mut set = Vec::with_capacity(counts.len());
        let mut boxes = Vec::new();
        for (area, people) in self.areas.iter().zip(counts) {
            let mut m = Map::new();
            m.insert("crowd_count".into(), json!(people.len()));
            m.insert("banner_count".into(), json!(0));
            m.insert("polygon".into(), area.polygon_json(size));
            if let Some(n) = area.name() {
                m.insert("polygon_name".into(), json!(n));
            }
            set.push(Value::Object(m));
            boxes.extend(people);
        }
        Ok(vec![Event {
            event_type: CROWD_DENSITY,
            data: json!({"scene_type": 1, "alarm_type": 1, "event_set": set}),
            alarm_type: None,
            boxes,
            with_image: self.cfg.with_image,
        }])
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}
