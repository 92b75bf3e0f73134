//! Non-motorized vehicle detection (`c-non-motor-detection-edge/-cloud`): bicycles and e-bikes
//! parked outside the legal parking areas, or entering a prohibited area.
//!
//! Behaviour (see docs/algorithms.md, "Non-motorized vehicle"):
//! - Targets: COCO bicycle (`type` `bicycle`, when `bicycle_detect_sw` is 1) and COCO
//!   motorcycle (`type` `electromobile`, when `electromobile_detect_sw` is 1). COCO has no
//!   e-bike class and YOLOX-Nano cannot tell an e-bike or scooter from a motorcycle, so every
//!   motorcycle is reported as an electromobile.
//! - Illegal parking (`illegal_park_detection_sw`, event 1376256): a vehicle that stands still
//!   (its anchor within half a box of where it stopped) outside every polygon named
//!   `legal_area…` for `illegal_park_alert_threshold` seconds. Without any `legal_area`
//!   polygon, parking anywhere in the frame counts. Riding through never alarms.
//! - Intrusion (`intrusion_detection_sw`, event 1376257): a vehicle whose anchor enters a
//!   polygon named `prohibit_entering_area…`, on entry, once per stay.
//! - `data.alarm_type` (and the envelope's) is 0 for an alarm. With `event_disappear_alert_sw`
//!   1, an alarmed vehicle that leaves (rides off, leaves the area, or is lost) sends one
//!   message of the same event type with `alarm_type` 1.
//! - Stays, dropouts and `detection_id`: [`crate::dwell`]. Items of one frame and event type
//!   go in one message.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use vigil_vision::detect::coco;
use vigil_vision::{BBox, Detection, Roi};

use crate::analyzer::{Analyzer, AnalyzerError, DetectorModel, Event, FrameInput, Needs, Perception};
use crate::common::{bbox_json, sane, Area};
use crate::dwell::{AlertMode, Dwell, NoticeKind, StayRule, Zone, ZoneShape};
use crate::event_type::{NON_MOTOR_INTRUSION, NON_MOTOR_PARKING};
use crate::registry::AnalyzerContext;
use crate::typed_config::{secs, switch, typed};
use crate::validate::{ConfigError, ValidatedCommon};

/// `event_set` items of one message, with the boxes to draw.
type Items = Vec<(Value, BBox)>;

/// Name prefix of the polygons where parking is allowed.
pub const LEGAL_PREFIX: &str = "legal_area";
/// Name prefix of the polygons no non-motor vehicle may enter.
pub const PROHIBIT_PREFIX: &str = "prohibit_entering_area";

/// Effective settings: `config.common` keys, typed (defaults and ranges: the catalogue).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct NonMotorConfig {
    #[serde(rename = "illegal_park_detection_sw", deserialize_with = "switch")]
    pub parking: bool,
    /// Seconds a vehicle must stand outside the legal areas.
    #[serde(rename = "illegal_park_alert_threshold", deserialize_with = "secs")]
    pub park_threshold: f64,
    #[serde(rename = "intrusion_detection_sw", deserialize_with = "switch")]
    pub intrusion: bool,
    #[serde(rename = "electromobile_detect_sw", deserialize_with = "switch")]
    pub electromobile: bool,
    #[serde(rename = "bicycle_detect_sw", deserialize_with = "switch")]
    pub bicycle: bool,
    #[serde(rename = "event_disappear_alert_sw", deserialize_with = "switch")]
    pub disappear_alert: bool,
}

/// Builds the analyzer of a task (the registry line of `c-non-motor-detection`).
pub fn build(common: &ValidatedCommon, roi: Roi, ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    Ok(Box::new(NonMotorAnalyzer::new(typed(common)?, roi, ctx)))
}

pub struct NonMotorAnalyzer {
    cfg: NonMotorConfig,
    roi: Roi,
    dwell: Dwell,
    /// Event type of each dwell zone.
    zone_events: Vec<u64>,
    fps: f64,
}

impl NonMotorAnalyzer {
    pub fn new(cfg: NonMotorConfig, roi: Roi, ctx: &AnalyzerContext) -> Self {
        let named = |prefix: &str| -> Vec<Area> {
            roi.polygons
                .iter()
                .filter(|p| p.name.as_deref().is_some_and(|n| n.starts_with(prefix)))
                .cloned()
                .map(Area::Polygon)
                .collect()
        };
        let mut zones = Vec::new();
        let mut zone_events = Vec::new();
        if cfg.parking {
            zones.push(Zone {
                shape: ZoneShape::OutsideAll(named(LEGAL_PREFIX)),
                rule: StayRule {
                    threshold: cfg.park_threshold,
                    mode: AlertMode::Single,
                    still: true,
                },
            });
            zone_events.push(NON_MOTOR_PARKING);
        }
        if cfg.intrusion {
            for area in named(PROHIBIT_PREFIX) {
                zones.push(Zone {
                    shape: ZoneShape::Inside(area),
                    rule: StayRule {
                        threshold: 0.0,
                        mode: AlertMode::Single,
                        still: false,
                    },
                });
                zone_events.push(NON_MOTOR_INTRUSION);
            }
        }
        Self {
            cfg,
            roi,
            // YOLOX-Nano swaps bicycle and motorcycle on one large object (the bicycle
            // leaning on the wall of the street clip, 7.6 s then 9.4 s): still one object.
            dwell: Dwell::new(zones, ctx.seed).with_interchangeable(&[coco::BICYCLE, coco::MOTORCYCLE]),
            zone_events,
            fps: ctx.analysis_fps,
        }
    }

    pub fn config(&self) -> &NonMotorConfig {
        &self.cfg
    }

    fn classes(&self) -> Vec<u32> {
        let mut c = Vec::new();
        if self.cfg.bicycle {
            c.push(coco::BICYCLE);
        }
        if self.cfg.electromobile {
            c.push(coco::MOTORCYCLE);
        }
        c
    }

    fn event(&self, event_type: u64, alarm_type: i64, items: Items) -> Event {
        let (set, boxes): (Vec<Value>, Vec<BBox>) = items.into_iter().unzip();
        Event {
            event_type,
            data: json!({ "alarm_type": alarm_type, "event_set": set }),
            alarm_type: Some(alarm_type),
            boxes,
            with_image: true,
        }
    }
}

/// `type` of a COCO class.
fn vehicle_type(class_id: u32) -> &'static str {
    if class_id == coco::MOTORCYCLE {
        "electromobile"
    } else {
        "bicycle"
    }
}

impl Analyzer for NonMotorAnalyzer {
    fn needs(&self) -> Needs {
        Needs::detector(DetectorModel::Coco, self.classes(), 0.1, self.fps)
    }

    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        let classes = self.classes();
        let dets: Vec<Detection> = perception
            .detections(DetectorModel::Coco)
            .iter()
            .filter(|d| sane(d) && classes.contains(&d.class_id))
            .copied()
            .collect();
        // (event type, alarm type) → items.
        let mut groups: BTreeMap<(u64, i64), Items> = BTreeMap::new();
        for n in self.dwell.update(frame, &dets) {
            let alarm_type = match n.kind {
                NoticeKind::Alarm | NoticeKind::Repeat => 0,
                NoticeKind::Disappear if self.cfg.disappear_alert => 1,
                NoticeKind::Disappear => continue,
            };
            let Some(&event_type) = self.zone_events.get(n.zone) else {
                continue;
            };
            let item = json!({
                "bounding_box": bbox_json(&n.bbox),
                "detection_id": n.detection_id,
                "type": vehicle_type(n.class_id),
            });
            groups.entry((event_type, alarm_type)).or_default().push((item, n.bbox));
        }
        Ok(groups
            .into_iter()
            .map(|((event_type, alarm_type), items)| self.event(event_type, alarm_type, items))
            .collect())
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_vision::ImageBgr;

    fn analyzer(roi: &str, disappear: bool) -> NonMotorAnalyzer {
        let cfg = NonMotorConfig {
            parking: true,
            park_threshold: 2.0,
            intrusion: true,
            electromobile: true,
            bicycle: true,
            disappear_alert: disappear,
        };
        let ctx = AnalyzerContext {
            analysis_fps: 5.0,
            seed: 3,
            model: None,
        };
        NonMotorAnalyzer::new(cfg, Roi::parse(roi).expect("roi"), &ctx)
    }

    fn det(x: f32, y: f32, class_id: u32) -> Detection {
        Detection {
            bbox: BBox::new(x, y, x + 40.0, y + 60.0),
            score: 0.8,
            class_id,
        }
    }

    /// Feeds frames at 5 fps; returns (time, event type, data).
    fn run(a: &mut NonMotorAnalyzer, frames: &[Vec<Detection>]) -> Vec<(f64, u64, Value)> {
        let img = ImageBgr::filled(320, 240, [0, 0, 0]).expect("image");
        let mut out = Vec::new();
        for (i, dets) in frames.iter().enumerate() {
            let frame = FrameInput {
                image: &img,
                time: i as f64 / 5.0,
                epoch: 0,
                rate: 5.0,
            };
            let p = Perception::with_detections(DetectorModel::Coco, dets.clone());
            for e in a.process(&frame, &p).expect("process") {
                assert_eq!(e.alarm_type, e.data["alarm_type"].as_i64());
                crate::payload_schema::check(e.event_type, e.alarm_type, &e.data).expect("§6.4 payload");
                out.push((frame.time, e.event_type, e.data));
            }
        }
        out
    }

    const ROI: &str = r#"{"polygons":[
        {"data":[[0,0],[100,0],[100,240],[0,240]],"name":"legal_area"},
        {"data":[[220,0],[320,0],[320,240],[220,240]],"name":"prohibit_entering_area1"}]}"#;

    #[test]
    fn parked_outside_legal_area_alarms_inside_does_not() {
        let mut a = analyzer(ROI, false);
        // A bicycle parked in the legal area, a motorcycle parked outside it, 3 s.
        let frames: Vec<Vec<Detection>> = (0..15)
            .map(|_| vec![det(20.0, 100.0, coco::BICYCLE), det(130.0, 100.0, coco::MOTORCYCLE)])
            .collect();
        let out = run(&mut a, &frames);
        assert_eq!(out.len(), 1, "{out:?}");
        let (t, event_type, data) = &out[0];
        assert_eq!((*t, *event_type), (2.0, NON_MOTOR_PARKING));
        assert_eq!(data["alarm_type"], 0);
        assert_eq!(data["event_set"][0]["type"], "electromobile");
    }

    #[test]
    fn entering_prohibited_area_alarms_once_and_disappear_follows() {
        let mut a = analyzer(ROI, true);
        // A cyclist rides right at 20 px a frame from x 100 into the prohibited area (anchor
        // enters at x 220) and out of the picture.
        let frames: Vec<Vec<Detection>> = (0..30)
            .map(|i| {
                let x = 100.0 + 20.0 * i as f32;
                if x < 300.0 {
                    vec![det(x, 100.0, coco::BICYCLE)]
                } else {
                    vec![]
                }
            })
            .collect();
        let out = run(&mut a, &frames);
        let kinds: Vec<(u64, i64)> = out
            .iter()
            .map(|(_, e, d)| (*e, d["alarm_type"].as_i64().unwrap_or(-1)))
            .collect();
        assert_eq!(
            kinds,
            vec![(NON_MOTOR_INTRUSION, 0), (NON_MOTOR_INTRUSION, 1)],
            "{out:?}"
        );
        assert_eq!(out[0].0, 1.0, "anchor x 220 at frame 5");
        assert_eq!(
            out[0].2["event_set"][0]["detection_id"],
            out[1].2["event_set"][0]["detection_id"]
        );
        assert_eq!(out[0].2["event_set"][0]["type"], "bicycle");
    }

    #[test]
    fn switched_off_classes_are_not_asked_for() {
        let mut a = analyzer(ROI, false);
        a.cfg.electromobile = false;
        assert_eq!(a.needs().detectors[0].classes, vec![coco::BICYCLE]);
    }
}
