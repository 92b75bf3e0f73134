//! Generic rule packages (`alg_class` `partner`): an operator's detector served under the
//! package's own name with one of three rules and its own event type (in
//! `model_package::PARTNER_EVENT_TYPES`). `config.common` is checked against
//! `catalog::PARTNER_RULE`.
//!
//! Behaviour (see docs/algorithm-center.md, "Generic rules"):
//! - Objects: detections of the rule's `classes` (all the model's classes when empty) with at
//!   least the package's score.
//! - `objects_in_region`: the objects whose anchor (bottom centre) is in an ROI polygon (the
//!   whole frame without polygons), one message listing them as soon as there are any, then at
//!   most one every `alert_detection_interval` seconds while there are. Not tracked.
//! - `line_crossing`: tracked objects (ByteTrack) whose anchor crosses an ROI line (at least
//!   one line needed), one item per crossing (6 px hysteresis band, once per direction per
//!   track: [`vigil_vision::LineCrossingCounter`]).
//! - `dwell`: a tracked object staying in an ROI polygon for `alert_time_threshold` seconds,
//!   one item per object and stay ([`crate::dwell`]).
//! - Payload `{"objects": [item, …]}`, one message per frame with items. Every item has
//!   `type` (class name), `bounding_box`; `confidence` (detector score; for a dwell alarm the
//!   score of its detection in the alarm frame, absent when the object was bridged over a
//!   detector dropout); `region` (the polygon's name, when named) for the region rules;
//!   `detection_id` for the tracked rules; line crossings add `line_id` (index in
//!   `target_roi.lines`), `line_name` (when named), `start_position` / `end_position` (side
//!   names, `Side1`/`Side2` by default); dwell adds `stay_time` (whole seconds).

use serde_json::{json, Map, Value};
use vigil_core::model_package::{RuleBinding, RuleKind};
use vigil_vision::{BBox, CrossingConfig, Detection, LineCrossingCounter, Roi};

use crate::analyzer::{Analyzer, AnalyzerError, DetectorModel, Event, FrameInput, Needs, Perception};
use crate::common::{anchor, bbox_json, clip, detection_id, line_counters, sane, Area, RateTracker};
use crate::dwell::{polygon_zones, AlertMode, Dwell, NoticeKind, StayRule};
use crate::model_binding::ModelBinding;
use crate::registry::AnalyzerContext;
use crate::validate::{ConfigError, ConfigErrorKind, ValidatedCommon, COMMON_PATH};

/// The list key of the payload.
pub const OBJECTS: &str = "objects";

fn refuse(param: &str, message: String) -> ConfigError {
    ConfigError {
        param: param.to_string(),
        message,
        kind: ConfigErrorKind::InvalidValue,
    }
}

/// Builds the analyzer of a partner rule service from its validated `config.common` (schema
/// `catalog::PARTNER_RULE`) and the package bound in `ctx.model` (with its `rule`).
pub fn build(common: &ValidatedCommon, roi: Roi, ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    let binding = ctx.model.as_ref().ok_or_else(|| {
        refuse(
            "service_name",
            "a partner rule service needs its model package installed; see docs/algorithm-center.md".into(),
        )
    })?;
    let rule = binding.rule.as_ref().ok_or_else(|| {
        refuse(
            "service_name",
            format!("package {} has no generic rule binding", binding.package),
        )
    })?;
    let classes = rule_classes(binding, rule)?;
    let threshold = common.get_i64("alert_time_threshold").unwrap_or(10) as f64;
    let interval = common.get_i64("alert_detection_interval").unwrap_or(5).max(1) as f64;
    let mode = match rule.rule {
        RuleKind::ObjectsInRegion => Mode::InRegion {
            areas: Area::polygons_or_frame(&roi),
            interval,
            last: None,
        },
        RuleKind::LineCrossing => {
            if roi.lines.is_empty() {
                return Err(refuse(
                    &format!("{COMMON_PATH}.target_roi"),
                    "a line_crossing rule needs at least one line in target_roi".into(),
                ));
            }
            Mode::Lines {
                counters: line_counters(&roi, CrossingConfig::default()),
                tracker: RateTracker::new(),
            }
        }
        RuleKind::Dwell => Mode::Dwell(Box::new(Dwell::new(
            polygon_zones(
                &roi,
                StayRule {
                    threshold,
                    mode: AlertMode::Single,
                    still: false,
                },
            ),
            ctx.seed,
        ))),
    };
    Ok(Box::new(PartnerRuleAnalyzer {
        event_type: rule.event_type,
        names: binding.class_names.clone(),
        classes,
        mode,
        roi,
        detector: binding.detector,
        min_score: binding.min_score,
        fps: ctx.analysis_fps,
        seed: ctx.seed,
        output_image: common.get_switch("output_image_sw").unwrap_or(true),
    }))
}

/// The class ids a rule watches: its `classes` by name, or every class of the model.
fn rule_classes(binding: &ModelBinding, rule: &RuleBinding) -> Result<Vec<u32>, ConfigError> {
    if rule.classes.is_empty() {
        return Ok((0..binding.class_names.len() as u32).collect());
    }
    rule.classes
        .iter()
        .map(|name| {
            binding
                .class_names
                .iter()
                .position(|n| n == name)
                .map(|i| i as u32)
                .ok_or_else(|| {
                    refuse(
                        "service_name",
                        format!("package {}: rule class {name:?} is not a model class", binding.package),
                    )
                })
        })
        .collect()
}

enum Mode {
    InRegion {
        areas: Vec<Area>,
        interval: f64,
        /// Frame time of the latest message.
        last: Option<f64>,
    },
    Lines {
        counters: Vec<LineCrossingCounter>,
        tracker: RateTracker,
    },
    Dwell(Box<Dwell>),
}

pub struct PartnerRuleAnalyzer {
    event_type: u64,
    names: Vec<String>,
    classes: Vec<u32>,
    mode: Mode,
    roi: Roi,
    detector: DetectorModel,
    min_score: f32,
    fps: f64,
    seed: u64,
    output_image: bool,
}

impl PartnerRuleAnalyzer {
    fn base(&self, class_id: u32, bbox: &BBox, score: Option<f32>) -> Map<String, Value> {
        let mut m = Map::new();
        let name = self
            .names
            .get(class_id as usize)
            .cloned()
            .unwrap_or_else(|| class_id.to_string());
        m.insert("type".into(), json!(name));
        if let Some(s) = score {
            m.insert("confidence".into(), json!((f64::from(s) * 1000.0).round() / 1000.0));
        }
        m.insert("bounding_box".into(), bbox_json(bbox));
        m
    }
}

impl Analyzer for PartnerRuleAnalyzer {
    fn needs(&self) -> Needs {
        Needs::detector(self.detector, self.classes.clone(), self.min_score, self.fps)
    }

    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        let size = (frame.image.width(), frame.image.height());
        let dets: Vec<Detection> = perception
            .detections(self.detector)
            .iter()
            .filter(|d| sane(d) && d.score >= self.min_score && self.classes.contains(&d.class_id))
            .copied()
            .collect();
        let (mut items, mut boxes) = (Vec::new(), Vec::new());
        let mut mode = std::mem::replace(
            &mut self.mode,
            Mode::InRegion {
                areas: Vec::new(),
                interval: 1.0,
                last: None,
            },
        );
        match &mut mode {
            Mode::InRegion { areas, interval, last } => {
                let due = last.is_none_or(|l| frame.time - l >= *interval);
                if due {
                    for d in &dets {
                        let b = clip(&d.bbox, size);
                        for area in areas.iter().filter(|a| a.contains(anchor(&b), size)) {
                            let mut m = self.base(d.class_id, &b, Some(d.score));
                            if let Some(n) = area.name() {
                                m.insert("region".into(), json!(n));
                            }
                            items.push(Value::Object(m));
                            boxes.push(b);
                        }
                    }
                    if !items.is_empty() {
                        *last = Some(frame.time);
                    }
                }
            }
            Mode::Lines { counters, tracker } => {
                let (tracks, removed) = tracker.update(frame, &dets);
                for id in removed {
                    for c in counters.iter_mut() {
                        c.remove(id);
                    }
                }
                for t in &tracks {
                    let b = clip(&t.det_bbox, size);
                    for (i, c) in counters.iter_mut().enumerate() {
                        let Some(x) = c.update(t.id, anchor(&b)) else {
                            continue;
                        };
                        let mut m = self.base(t.class_id, &b, Some(t.score));
                        m.insert("detection_id".into(), json!(detection_id(self.seed, t.id)));
                        m.insert("line_id".into(), json!(i));
                        if let Some(n) = &c.line.name {
                            m.insert("line_name".into(), json!(n));
                        }
                        m.insert("start_position".into(), json!(c.line.side_name(x.from)));
                        m.insert("end_position".into(), json!(c.line.side_name(x.to)));
                        items.push(Value::Object(m));
                        boxes.push(b);
                    }
                }
            }
            Mode::Dwell(dwell) => {
                for n in dwell.update(frame, &dets) {
                    if n.kind != NoticeKind::Alarm {
                        continue;
                    }
                    let score = dets
                        .iter()
                        .filter(|d| d.class_id == n.class_id)
                        .map(|d| (d.score, clip(&d.bbox, size).iou(&n.bbox)))
                        .filter(|(_, iou)| *iou >= 0.5)
                        .max_by(|a, b| a.1.total_cmp(&b.1))
                        .map(|(s, _)| s);
                    let mut m = self.base(n.class_id, &n.bbox, score);
                    m.insert("detection_id".into(), json!(n.detection_id));
                    if let Some(name) = dwell.item(&n).get("polygon_name") {
                        m.insert("region".into(), name.clone());
                    }
                    m.insert("stay_time".into(), json!(n.stayed.floor() as i64));
                    items.push(Value::Object(m));
                    boxes.push(n.bbox);
                }
            }
        }
        self.mode = mode;
        Ok(Event::alarm_list(
            self.event_type,
            OBJECTS,
            items,
            boxes,
            self.output_image,
        ))
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}
