//! Shared bicycle illegal parking (`c-sharedbicycledetection-edge/-cloud`): bicycles staying in
//! a no-parking area.
//!
//! Behaviour (see docs/algorithms.md, "Shared bicycle"):
//! - Targets: COCO bicycle (YOLOX-Nano cannot tell a shared bicycle from a private one).
//! - No-parking areas: the ROI polygons whose name starts with `illegal` (spec §5.5). When no
//!   polygon is named so, every polygon is one (Huawei's own cloud sample sends one unnamed
//!   polygon); with no polygon at all, the whole frame.
//! - A bicycle whose anchor stays in an area for `illegal_park_alert_threshold` seconds raises
//!   one 655360 item ([`crate::dwell`]: detector dropouts under the tracker's lost buffer keep
//!   the stay; leaving for 1 s ends it). `alert_mode` `single`: once per stay; `periodic`: again
//!   every `alert_detection_interval` seconds while the bicycle stays (the interval is not used
//!   in `single` mode).
//! - Items of one frame go in one message; `polygon_name` is the area's name when it has one.

use serde_json::Value;
use vigil_vision::detect::coco;
use vigil_vision::{Detection, Roi};

use crate::analyzer::{Analyzer, AnalyzerError, DetectorModel, Event, FrameInput, Needs, Perception};
use crate::common::{sane, Area};
use crate::dwell::{AlertMode, Dwell, NoticeKind, StayRule, Zone, ZoneShape};
use crate::event_type::SHARED_BICYCLE_PARKING;
use crate::registry::AnalyzerContext;
use crate::typed_config::{secs, typed};
use crate::validate::{ConfigError, ValidatedCommon};

/// Effective settings: `config.common` keys, typed (defaults and ranges: the catalogue).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct SharedBicycleConfig {
    /// `single` | `periodic`.
    pub alert_mode: String,
    /// Seconds between reports of one stay in `periodic` mode.
    #[serde(rename = "alert_detection_interval", deserialize_with = "secs")]
    pub interval: f64,
    /// Seconds a bicycle must stay in a no-parking area.
    #[serde(rename = "illegal_park_alert_threshold", deserialize_with = "secs")]
    pub threshold: f64,
}

/// Builds the analyzer of a task (the registry line of `c-sharedbicycledetection`).
pub fn build(common: &ValidatedCommon, roi: Roi, ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    Ok(Box::new(SharedBicycleAnalyzer::new(typed(common)?, roi, ctx)))
}

pub struct SharedBicycleAnalyzer {
    cfg: SharedBicycleConfig,
    roi: Roi,
    dwell: Dwell,
    fps: f64,
}

impl SharedBicycleAnalyzer {
    pub fn new(cfg: SharedBicycleConfig, roi: Roi, ctx: &AnalyzerContext) -> Self {
        let rule = StayRule {
            threshold: cfg.threshold,
            mode: AlertMode::from_keys(&cfg.alert_mode, cfg.interval),
            still: false,
        };
        let zones = Area::no_parking(&roi)
            .into_iter()
            .map(|a| Zone {
                shape: ZoneShape::Inside(a),
                rule,
            })
            .collect();
        Self {
            cfg,
            roi,
            dwell: Dwell::new(zones, ctx.seed),
            fps: ctx.analysis_fps,
        }
    }

    pub fn config(&self) -> &SharedBicycleConfig {
        &self.cfg
    }
}

impl Analyzer for SharedBicycleAnalyzer {
    fn needs(&self) -> Needs {
        Needs::detector(DetectorModel::Coco, vec![coco::BICYCLE], 0.1, self.fps)
    }

    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        let dets: Vec<Detection> = perception
            .detections(DetectorModel::Coco)
            .iter()
            .filter(|d| sane(d) && d.class_id == coco::BICYCLE)
            .copied()
            .collect();
        let mut items = Vec::new();
        let mut boxes = Vec::new();
        for n in self.dwell.update(frame, &dets) {
            if n.kind == NoticeKind::Disappear {
                continue;
            }
            items.push(Value::Object(self.dwell.item(&n)));
            boxes.push(n.bbox);
        }
        Ok(Event::alarm_list(
            SHARED_BICYCLE_PARKING,
            "event_set",
            items,
            boxes,
            true,
        ))
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn illegal_polygons_win_over_others_and_no_polygon_means_whole_frame() {
        let roi = Roi::parse(
            r#"{"polygons":[{"data":[[0,0],[10,0],[10,10]],"name":"illegal01"},{"data":[[0,0],[20,0],[20,20]],"name":"a"}]}"#,
        )
        .expect("roi");
        let areas = Area::no_parking(&roi);
        assert_eq!(areas.len(), 1);
        assert_eq!(areas[0].name(), Some("illegal01"));
        let unnamed = Roi::parse(r#"{"polygons":[{"data":[[0,0],[10,0],[10,10]]}]}"#).expect("roi");
        assert_eq!(Area::no_parking(&unnamed).len(), 1);
        assert!(matches!(Area::no_parking(&Roi::default())[..], [Area::WholeFrame]));
    }
}
