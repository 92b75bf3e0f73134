//! The eleven model-bound "object in an area" algorithms (urban management: signs, piles,
//! clothes airing, construction waste, manholes, trash, trash cans, roadside stalls): one
//! analyzer, parameterised by a per-algorithm table ([`RULES`]), on the operator's detector
//! bound to the algorithm ([`crate::ModelBinding`], docs/algorithm-center.md).
//!
//! Behaviour (see docs/algorithm-center.md, "Model-bound algorithms"):
//! - Targets: the detections of the model classes bound to the event's role (e.g. `pile`),
//!   with at least the package's score. Without a bound package the task is refused.
//! - Areas: every ROI polygon (its name echoed as `polygon_name` where the payload has it);
//!   with no polygon, the whole frame.
//! - An object whose anchor (bottom centre) stays in an area for `alert_time_threshold`
//!   seconds raises one item, once per tracked object and stay ([`crate::dwell`]: ByteTrack,
//!   detector dropouts bridged, one `detection_id` per object); `alert_mode` `periodic` repeats
//!   it every `alert_detection_interval` seconds while the object stays.
//! - Roadside stall: two events, 1114112 (role `stall`, `roadside_stall_detect_sw`) and
//!   1245184 (role `outstore_stall`, `outstore_stall_detect_sw`); with
//!   `event_disappear_alert_sw` 1 the end of an alarmed stay sends the item again with
//!   `alarm_type` 1 (alarms then carry `alarm_type` 0).
//! - Urban trash (1310720): `person_box` is the box of the bound `person` nearest to the trash
//!   (its feet within 1.5 of its height of the trash's centre), when a `person` class is bound.
//! - Items of one frame and event go in one message.

use serde_json::{json, Map, Value};
use vigil_vision::{BBox, Detection, Roi};

use crate::analyzer::{Analyzer, AnalyzerError, DetectorModel, Event, FrameInput, Needs, Perception};
use crate::common::{bbox_json, clip, sane};
use crate::dwell::{polygon_zones, AlertMode, Dwell, Notice, NoticeKind, StayRule};
use crate::event_type as ev;
use crate::model_binding::{bound, classes_for};
use crate::registry::AnalyzerContext;
use crate::validate::{ConfigError, ConfigErrorKind, ValidatedCommon, COMMON_PATH};

/// The `event_set` item of an algorithm (spec §6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemStyle {
    /// `{bounding_box}` (#17 trash-can anomaly, #18 overflow).
    BoxOnly,
    /// `{bounding_box, detection_id}` (#28, #30 dynamic perspective).
    BoxAndId,
    /// `{bounding_box, detection_id, polygon_name}` (#23–#27, #31).
    InPolygon,
    /// As `InPolygon` plus `person_box` (#29 urban trash).
    Trash,
}

/// One event of an algorithm: its type, the role whose objects raise it and its switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectEvent {
    pub event_type: u64,
    pub role: &'static str,
    /// `config.common` switch of the event (`None`: always on).
    pub switch: Option<&'static str>,
}

/// One model-bound object algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectRule {
    pub alg_id: &'static str,
    pub events: &'static [ObjectEvent],
    pub style: ItemStyle,
}

const fn on(event_type: u64, role: &'static str) -> ObjectEvent {
    ObjectEvent {
        event_type,
        role,
        switch: None,
    }
}

/// A single-event rule.
macro_rules! one {
    ($id:literal, $ev:expr, $role:literal, $style:ident) => {
        ObjectRule {
            alg_id: $id,
            events: &[on($ev, $role)],
            style: ItemStyle::$style,
        }
    };
}

static ROADSIDE_EVENTS: &[ObjectEvent] = &[
    ObjectEvent {
        event_type: ev::ROADSIDE_STALL,
        role: "stall",
        switch: Some("roadside_stall_detect_sw"),
    },
    ObjectEvent {
        event_type: ev::OUT_OF_STORE_STALL,
        role: "outstore_stall",
        switch: Some("outstore_stall_detect_sw"),
    },
];

/// The algorithms this analyzer serves.
pub static RULES: &[ObjectRule] = &[
    one!(
        "c-trash-abnormal-detect",
        ev::TRASH_CAN_ANOMALY,
        "abnormal_bin",
        BoxOnly
    ),
    one!("c-urban-trash-overflow", ev::TRASH_CAN_OVERFLOW, "overflow", BoxOnly),
    one!("c-urban-sign-detect", ev::ILLEGAL_SIGN, "sign", InPolygon),
    one!("c-urban-stacking", ev::MESSY_PILES, "pile", InPolygon),
    one!("c-urban-drying", ev::CLOTHES_AIRING, "clothes", InPolygon),
    one!("c-urban-dregs", ev::CONSTRUCTION_WASTE, "dregs", InPolygon),
    one!(
        "c-urban-manholecover-miss",
        ev::MANHOLE_COVER_MISSING,
        "open_manhole",
        InPolygon
    ),
    one!(
        "c-mobile-manholecover",
        ev::MOBILE_MANHOLE_COVER_MISSING,
        "open_manhole",
        BoxAndId
    ),
    one!("c-urban-trash-detect", ev::URBAN_TRASH, "trash", Trash),
    one!("c-mobile-trash-detect", ev::MOBILE_TRASH, "trash", BoxAndId),
    ObjectRule {
        alg_id: "c-urban-roadside-stall",
        events: ROADSIDE_EVENTS,
        style: ItemStyle::InPolygon,
    },
];

/// The rule of `alg_id`.
pub fn rule(alg_id: &str) -> Option<&'static ObjectRule> {
    RULES.iter().find(|r| r.alg_id == alg_id)
}

/// Registry build functions, one per algorithm id.
macro_rules! builders {
    ($($name:ident => $id:literal),* $(,)?) => {$(
        #[doc = concat!("Builds the analyzer of a `", $id, "` task (its registry line).")]
        pub fn $name(common: &ValidatedCommon, roi: Roi, ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
            build($id, common, roi, ctx)
        }
    )*};
}

builders! {
    build_trash_abnormal => "c-trash-abnormal-detect",
    build_trash_overflow => "c-urban-trash-overflow",
    build_sign => "c-urban-sign-detect",
    build_stacking => "c-urban-stacking",
    build_drying => "c-urban-drying",
    build_dregs => "c-urban-dregs",
    build_manhole => "c-urban-manholecover-miss",
    build_mobile_manhole => "c-mobile-manholecover",
    build_urban_trash => "c-urban-trash-detect",
    build_mobile_trash => "c-mobile-trash-detect",
    build_roadside_stall => "c-urban-roadside-stall",
}

/// An integer key the catalogue gives every one of these algorithms (default filled in).
fn int_key(common: &ValidatedCommon, key: &str) -> Result<i64, ConfigError> {
    common.get_i64(key).ok_or_else(|| ConfigError {
        param: format!("{COMMON_PATH}.{key}"),
        message: format!("config.common has no {key}"),
        kind: ConfigErrorKind::InvalidValue,
    })
}

/// Builds the analyzer of model-bound algorithm `alg_id`.
pub fn build(
    alg_id: &str,
    common: &ValidatedCommon,
    roi: Roi,
    ctx: &AnalyzerContext,
) -> Result<Box<dyn Analyzer>, ConfigError> {
    let rule = rule(alg_id).ok_or_else(|| ConfigError {
        param: "service_name".into(),
        message: format!("{alg_id} is not an object algorithm"),
        kind: ConfigErrorKind::InvalidValue,
    })?;
    let binding = bound(ctx, alg_id)?;
    let threshold = int_key(common, "alert_time_threshold")? as f64;
    let interval = int_key(common, "alert_detection_interval")? as f64;
    let mode = AlertMode::from_keys(common.get_str("alert_mode").unwrap_or("single"), interval);
    let stay = StayRule {
        threshold,
        mode,
        still: false,
    };
    let mut watches = Vec::new();
    for (i, e) in rule.events.iter().enumerate() {
        let param = match e.switch {
            Some(key) if common.get_switch(key) == Some(false) => continue,
            Some(key) => format!("{COMMON_PATH}.{key}"),
            None => "service_name".to_string(),
        };
        let classes = classes_for(binding, alg_id, &[e.role], &param)?;
        watches.push(Watch {
            event_type: e.event_type,
            classes,
            dwell: Dwell::new(polygon_zones(&roi, stay), ctx.seed.wrapping_add(i as u64)),
        });
    }
    let person_classes = if rule.style == ItemStyle::Trash {
        binding.classes_of("person")
    } else {
        Vec::new()
    };
    Ok(Box::new(ModelObjectsAnalyzer {
        rule,
        roi,
        watches,
        person_classes,
        detector: binding.detector,
        min_score: binding.min_score,
        fps: ctx.analysis_fps,
        disappear: common.get_switch("event_disappear_alert_sw").unwrap_or(false),
        output_image: common.get_switch("output_image_sw").unwrap_or(true),
    }))
}

/// One event's objects and their stays.
struct Watch {
    event_type: u64,
    classes: Vec<u32>,
    dwell: Dwell,
}

pub struct ModelObjectsAnalyzer {
    rule: &'static ObjectRule,
    roi: Roi,
    watches: Vec<Watch>,
    /// Bound `person` classes (urban trash's `person_box`).
    person_classes: Vec<u32>,
    detector: DetectorModel,
    min_score: f32,
    fps: f64,
    disappear: bool,
    output_image: bool,
}

impl ModelObjectsAnalyzer {
    fn item(&self, w: &Watch, n: &Notice, people: &[BBox]) -> Value {
        let mut m = match self.rule.style {
            ItemStyle::BoxOnly => {
                let mut m = Map::new();
                m.insert("bounding_box".into(), bbox_json(&n.bbox));
                m
            }
            ItemStyle::BoxAndId => {
                let mut m = Map::new();
                m.insert("bounding_box".into(), bbox_json(&n.bbox));
                m.insert("detection_id".into(), json!(n.detection_id));
                m
            }
            ItemStyle::InPolygon | ItemStyle::Trash => w.dwell.item(n),
        };
        if self.rule.style == ItemStyle::Trash {
            if let Some(p) = nearest_person(&n.bbox, people) {
                m.insert("person_box".into(), bbox_json(&p));
            }
        }
        Value::Object(m)
    }
}

/// The person whose feet are nearest the centre of `trash`, within 1.5 of the person's height.
pub(crate) fn nearest_person(trash: &BBox, people: &[BBox]) -> Option<BBox> {
    let (cx, cy) = trash.center();
    people
        .iter()
        .map(|p| {
            let (ax, ay) = p.anchor();
            (p, ((ax - cx).powi(2) + (ay - cy).powi(2)).sqrt())
        })
        .filter(|(p, d)| *d <= 1.5 * p.height())
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(p, _)| *p)
}

impl Analyzer for ModelObjectsAnalyzer {
    fn needs(&self) -> Needs {
        let mut classes: Vec<u32> = self.watches.iter().flat_map(|w| w.classes.iter().copied()).collect();
        classes.extend(&self.person_classes);
        classes.sort_unstable();
        classes.dedup();
        if classes.is_empty() {
            // Every event switched off: nothing to detect.
            return Needs::none(self.fps);
        }
        Needs::detector(self.detector, classes, self.min_score, self.fps)
    }

    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        let size = (frame.image.width(), frame.image.height());
        let all: Vec<Detection> = perception
            .detections(self.detector)
            .iter()
            .filter(|d| sane(d) && d.score >= self.min_score)
            .copied()
            .collect();
        let people: Vec<BBox> = all
            .iter()
            .filter(|d| self.person_classes.contains(&d.class_id))
            .map(|d| clip(&d.bbox, size))
            .collect();
        let mut events = Vec::new();
        let mut watches = std::mem::take(&mut self.watches);
        for w in &mut watches {
            let mine: Vec<Detection> = all
                .iter()
                .filter(|d| w.classes.contains(&d.class_id))
                .copied()
                .collect();
            let (mut items, mut boxes, mut gone, mut gone_boxes) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for n in w.dwell.update(frame, &mine) {
                match n.kind {
                    NoticeKind::Alarm | NoticeKind::Repeat => {
                        items.push(self.item(w, &n, &people));
                        boxes.push(n.bbox);
                    }
                    NoticeKind::Disappear if self.disappear => {
                        gone.push(self.item(w, &n, &people));
                        gone_boxes.push(n.bbox);
                    }
                    NoticeKind::Disappear => {}
                }
            }
            for mut e in Event::alarm_list(w.event_type, "event_set", items, boxes, self.output_image) {
                e.alarm_type = self.disappear.then_some(0);
                events.push(e);
            }
            for mut e in Event::alarm_list(w.event_type, "event_set", gone, gone_boxes, self.output_image) {
                e.alarm_type = Some(1);
                events.push(e);
            }
        }
        self.watches = watches;
        Ok(events)
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_is_a_model_bound_algorithm_whose_roles_it_uses() {
        for r in RULES {
            let roles = vigil_core::catalog::roles(r.alg_id).expect("model-bound");
            for e in r.events {
                assert!(roles.iter().any(|s| s.role == e.role), "{} {}", r.alg_id, e.role);
            }
        }
        assert_eq!(RULES.len(), 11);
        assert_eq!(rule("c-urban-stacking").unwrap().events[0].event_type, 2_228_224);
        assert_eq!(rule("c-mobile-manholecover").unwrap().events[0].event_type, 2_621_440);
    }

    #[test]
    fn the_person_nearest_the_trash_is_its_person_box() {
        let trash = BBox::new(100.0, 200.0, 120.0, 210.0);
        let near = BBox::new(120.0, 60.0, 160.0, 205.0);
        let far = BBox::new(500.0, 60.0, 540.0, 205.0);
        assert_eq!(nearest_person(&trash, &[far, near]), Some(near));
        assert_eq!(nearest_person(&trash, &[far]), None);
    }
}
