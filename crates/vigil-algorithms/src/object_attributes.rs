//! Target attribute recognition (`c-object-attri-recog-edge/-cloud`, event 2162688): each
//! tracked person or vehicle is reported once, with the attributes that can be measured from
//! the COCO detector, YuNet faces and pixel colours.
//!
//! Behaviour (see docs/algorithms.md, "Target attribute recognition"):
//! - Targets: COCO person (`type` `pedestrian`, `person_detection_sw`) and car, bus, truck,
//!   motorcycle (`type` `vehicle`, `car_detection_sw`), tracked; only those whose box
//!   bottom-centre is in an ROI polygon (its name is echoed as `polygon_name`) or anywhere
//!   without polygons.
//! - A target is reported once, after [`MIN_GOOD_FRAMES`] good frames (box clear of the frame
//!   border, tall enough, detector score ≥ [`GOOD_SCORE`]); the attributes are votes over those
//!   frames.
//! - People: `upper_color` / `lower_color` (colour naming of fixed fractions of the person box:
//!   torso and legs; MoveNet poses were not used: they cost a second network per frame and the
//!   fixed fractions already score well on the hand labels), `backbag` / `handbag` and Vigil's
//!   `suitcase` (yes/no: a COCO backpack/handbag/suitcase overlapping the person in ≥ 2 good
//!   frames), `mask` (yes/no, only when YuNet found the person's face: [`crate::face_mask`];
//!   `mask_attribute_sw` 0 turns faces off), `hat` (`helmet` when the top of the head is a
//!   strongly saturated colour, else `none`).
//! - Vehicles: `vehicle_type` (car, bus, truck, motorcycle) and `color` (Vigil's attribute
//!   names; grey bodies are named `silver`).
//! - Not measured, so never sent: gender, age, hair, glasses, single_shoulder_bag,
//!   upper_style, upper_texture, lower_style, orientation.

use std::collections::HashMap;

use serde_json::{json, Map, Value};
use vigil_vision::detect::{coco, Face};
use vigil_vision::pixel::bgr_to_hsv;
use vigil_vision::{BBox, Detection, ImageBgr, Roi, Track};

use crate::analyzer::{Analyzer, AnalyzerError, DetectorModel, Event, FrameInput, Needs, Perception};
use crate::colour_name::ColourVotes;
use crate::common::{anchor, bbox_json, clip, detection_id, sane, Area, RateTracker};
use crate::event_type::TARGET_ATTRIBUTES;
use crate::face_mask;
use crate::registry::AnalyzerContext;
use crate::typed_config::{switch, typed};
use crate::validate::{ConfigError, ValidatedCommon};

/// Most frames analysed per second.
pub const MAX_FPS: f64 = 5.0;
/// Good frames a target needs before it is reported.
pub const MIN_GOOD_FRAMES: u32 = 5;
/// Detector score of a good frame.
pub const GOOD_SCORE: f32 = 0.4;
/// Smallest person box height (px) worth reading colours from.
pub const MIN_PERSON_HEIGHT: f32 = 48.0;
/// Smallest vehicle box side (px).
pub const MIN_VEHICLE_SIDE: f32 = 32.0;
/// YuNet score of a face read for the `mask` attribute (weaker "faces" on the back of a head
/// were seen on the labelled clips).
pub const MIN_FACE_SCORE: f32 = 0.8;
/// Share of saturated pixels on top of the head that reads as a helmet.
pub const HELMET_SHARE: f32 = 0.3;

const VEHICLES: [u32; 4] = [coco::CAR, coco::MOTORCYCLE, coco::BUS, coco::TRUCK];
const BAGS: [(u32, &str); 3] = [
    (coco::BACKPACK, "backbag"),
    (coco::HANDBAG, "handbag"),
    (coco::SUITCASE, "suitcase"),
];

/// `config.common` of attribute recognition, typed (defaults and ranges: the catalogue).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct AttributeConfig {
    #[serde(rename = "person_detection_sw", deserialize_with = "switch")]
    pub persons: bool,
    #[serde(rename = "car_detection_sw", deserialize_with = "switch")]
    pub vehicles: bool,
    /// Face detection for the `mask` attribute (Vigil's key).
    #[serde(rename = "mask_attribute_sw", deserialize_with = "switch")]
    pub masks: bool,
}

/// Builds the analyzer of a task (the registry line of `c-object-attri-recog`).
pub fn build(common: &ValidatedCommon, roi: Roi, ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    Ok(Box::new(AttributeAnalyzer::new(typed(common)?, roi, ctx)))
}

/// Votes gathered over a target's good frames.
#[derive(Debug, Default)]
struct Target {
    good: u32,
    upper: ColourVotes,
    lower: ColourVotes,
    body: ColourVotes,
    bags: [u32; BAGS.len()],
    masked: u32,
    bare: u32,
    helmet_frames: u32,
    reported: bool,
}

pub struct AttributeAnalyzer {
    cfg: AttributeConfig,
    roi: Roi,
    areas: Vec<Area>,
    fps: f64,
    seed: u64,
    tracker: RateTracker,
    targets: HashMap<u64, Target>,
}

/// A sub-box of `b` given as fractions of its width and height.
fn part(b: &BBox, x0: f32, y0: f32, x1: f32, y1: f32) -> BBox {
    let (w, h) = (b.width(), b.height());
    BBox::new(b.x1 + x0 * w, b.y1 + y0 * h, b.x1 + x1 * w, b.y1 + y1 * h)
}

fn intersection(a: &BBox, b: &BBox) -> f32 {
    let w = (a.x2.min(b.x2) - a.x1.max(b.x1)).max(0.0);
    let h = (a.y2.min(b.y2) - a.y1.max(b.y1)).max(0.0);
    w * h
}

/// Share of strongly saturated, bright pixels (a hard hat's plastic) in `region`.
fn helmet_share(img: &ImageBgr, region: &BBox) -> f32 {
    let r = region.clamp(img.width() as f32, img.height() as f32);
    let (mut hit, mut n) = (0u32, 0u32);
    for y in r.y1 as u32..r.y2 as u32 {
        let row = img.row(y);
        for x in r.x1 as u32..r.x2 as u32 {
            let i = x as usize * 3;
            if let Some(px) = row.get(i..i + 3) {
                let [_, s, v] = bgr_to_hsv(px[0], px[1], px[2]);
                hit += u32::from(s >= 150 && v >= 110);
                n += 1;
            }
        }
    }
    if n == 0 {
        0.0
    } else {
        hit as f32 / n as f32
    }
}

fn vehicle_type(class_id: u32) -> &'static str {
    match class_id {
        coco::BUS => "bus",
        coco::TRUCK => "truck",
        coco::MOTORCYCLE => "motorcycle",
        _ => "car",
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

impl AttributeAnalyzer {
    pub fn new(cfg: AttributeConfig, roi: Roi, ctx: &AnalyzerContext) -> Self {
        Self {
            cfg,
            areas: Area::polygons_or_frame(&roi),
            roi,
            fps: ctx.analysis_fps.min(MAX_FPS),
            seed: ctx.seed,
            tracker: RateTracker::new(),
            targets: HashMap::new(),
        }
    }

    fn classes(&self) -> Vec<u32> {
        let mut c = Vec::new();
        if self.cfg.persons {
            c.push(coco::PERSON);
            c.extend(BAGS.iter().map(|(id, _)| *id));
        }
        if self.cfg.vehicles {
            c.extend(VEHICLES);
        }
        c
    }

    /// Whether `b` is a box worth reading this frame.
    fn good(&self, t: &Track, b: &BBox, size: (u32, u32)) -> bool {
        // Clear of the left and right border (a target entering or leaving); a head or feet
        // touching the top or bottom of the picture (a camera close to a standing person)
        // still leave torso and legs readable.
        let m = 2.0;
        let clear = b.x1 > m && b.x2 < size.0 as f32 - m;
        let big = if t.class_id == coco::PERSON {
            b.height() >= MIN_PERSON_HEIGHT
        } else {
            b.width().max(b.height()) >= MIN_VEHICLE_SIDE
        };
        clear && big && t.score >= GOOD_SCORE
    }

    /// Adds this frame's evidence about person `b` to `target`.
    fn observe_person(img: &ImageBgr, b: &BBox, bags: &[Detection], faces: &[Face], target: &mut Target) {
        target
            .upper
            .add(&ColourVotes::of_region(img, &part(b, 0.25, 0.2, 0.75, 0.45), 2));
        target
            .lower
            .add(&ColourVotes::of_region(img, &part(b, 0.3, 0.64, 0.7, 0.92), 2));
        for (k, (class, _)) in BAGS.iter().enumerate() {
            let carried = bags
                .iter()
                .any(|d| d.class_id == *class && intersection(&d.bbox, b) >= 0.5 * d.bbox.area().max(1.0));
            target.bags[k] += u32::from(carried);
        }
        let head = part(b, 0.0, 0.0, 1.0, 0.35);
        let face = faces.iter().filter(|f| f.score >= MIN_FACE_SCORE).find(|f| {
            let (cx, cy) = f.bbox.center();
            cx >= head.x1 && cx <= head.x2 && cy >= head.y1 && cy <= head.y2
        });
        if let Some(r) = face.and_then(|f| face_mask::read(img, f)) {
            target.masked += u32::from(r.masked());
            target.bare += u32::from(!r.masked());
        }
        if helmet_share(img, &part(b, 0.3, 0.0, 0.7, 0.1)) >= HELMET_SHARE {
            target.helmet_frames += 1;
        }
    }

    fn attributes(class_id: u32, t: &Target) -> (&'static str, Map<String, Value>) {
        let mut a = Map::new();
        if class_id != coco::PERSON {
            a.insert("vehicle_type".into(), json!(vehicle_type(class_id)));
            if let Some(c) = vehicle_colour(&t.body) {
                a.insert("color".into(), json!(c));
            }
            return ("vehicle", a);
        }
        if let Some(c) = t.upper.dominant() {
            a.insert("upper_color".into(), json!(c));
        }
        if let Some(c) = t.lower.dominant() {
            a.insert("lower_color".into(), json!(c));
        }
        for (k, (_, name)) in BAGS.iter().enumerate() {
            a.insert((*name).into(), json!(yes_no(t.bags[k] >= 2)));
        }
        if t.masked + t.bare > 0 {
            a.insert("mask".into(), json!(yes_no(t.masked > t.bare)));
        }
        let helmet = 2 * t.helmet_frames >= t.good;
        a.insert("hat".into(), json!(if helmet { "helmet" } else { "none" }));
        ("pedestrian", a)
    }
}

/// A vehicle body's colour: the windows and shadows are black, so black wins only when no
/// other colour covers a quarter of the pixels; grey bodies are `silver`.
fn vehicle_colour(v: &ColourVotes) -> Option<&'static str> {
    let mut rest = v.clone();
    rest.0[0] = 0;
    let name = match rest.dominant() {
        Some(c) if rest.share(c) * rest.total() as f32 >= 0.25 * v.total() as f32 => c,
        _ => v.dominant()?,
    };
    Some(if name == "gray" { "silver" } else { name })
}

/// COCO often boxes one van as both car and truck: of overlapping vehicle boxes (IoU ≥ 0.6,
/// any class) only the best-scored is kept, so one vehicle is one track and one report.
fn one_box_per_vehicle(mut dets: Vec<Detection>) -> Vec<Detection> {
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut keep: Vec<Detection> = Vec::with_capacity(dets.len());
    for d in dets {
        let vehicle = d.class_id != coco::PERSON;
        let dup = vehicle
            && keep
                .iter()
                .any(|k| k.class_id != coco::PERSON && k.bbox.iou(&d.bbox) >= 0.6);
        if !dup {
            keep.push(d);
        }
    }
    keep
}

impl Analyzer for AttributeAnalyzer {
    fn needs(&self) -> Needs {
        let mut n = Needs::detector(DetectorModel::Coco, self.classes(), 0.1, self.fps);
        n.faces = self.cfg.persons && self.cfg.masks;
        n
    }

    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        let size = (frame.image.width(), frame.image.height());
        let classes = self.classes();
        let all: Vec<Detection> = perception
            .detections(DetectorModel::Coco)
            .iter()
            .filter(|d| sane(d) && classes.contains(&d.class_id))
            .copied()
            .collect();
        let (targets, bags): (Vec<Detection>, Vec<Detection>) = all
            .into_iter()
            .partition(|d| d.class_id == coco::PERSON || VEHICLES.contains(&d.class_id));
        let bags: Vec<Detection> = bags.into_iter().filter(|d| d.score >= 0.3).collect();
        let faces: &[Face] = perception.faces.as_deref().map_or(&[], |f| f.as_slice());
        let targets = one_box_per_vehicle(targets);
        let (tracks, removed) = self.tracker.update(frame, &targets);
        for id in removed {
            self.targets.remove(&id);
        }
        let (mut items, mut boxes) = (Vec::new(), Vec::new());
        for t in tracks {
            let b = clip(&t.det_bbox, size);
            let Some(area) = self.areas.iter().find(|a| a.contains(anchor(&b), size)) else {
                continue;
            };
            let name = area.name().map(str::to_string);
            let good = self.good(&t, &b, size);
            let target = self.targets.entry(t.id).or_default();
            if target.reported || !good {
                continue;
            }
            target.good += 1;
            if t.class_id == coco::PERSON {
                Self::observe_person(frame.image, &b, &bags, faces, target);
            } else {
                target
                    .body
                    .add(&ColourVotes::of_region(frame.image, &part(&b, 0.2, 0.2, 0.8, 0.8), 2));
            }
            if target.good < MIN_GOOD_FRAMES {
                continue;
            }
            target.reported = true;
            let (kind, attrs) = Self::attributes(t.class_id, target);
            let mut item = Map::new();
            item.insert("bounding_box".into(), bbox_json(&b));
            item.insert("type".into(), json!(kind));
            if let Some(n) = name {
                item.insert("polygon_name".into(), json!(n));
            }
            item.insert("attribute".into(), Value::Object(attrs));
            item.insert("detection_id".into(), json!(detection_id(self.seed, t.id)));
            items.push(Value::Object(item));
            boxes.push(b);
        }
        Ok(Event::alarm_list(TARGET_ATTRIBUTES, "event_set", items, boxes, true))
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vehicle_windows_do_not_make_a_white_car_black() {
        let mut v = ColourVotes::default();
        v.0[0] = 50; // windows
        v.0[1] = 40; // white body
        assert_eq!(vehicle_colour(&v), Some("white"));
        v.0 = [0; 11];
        v.0[2] = 10;
        assert_eq!(vehicle_colour(&v), Some("silver"));
    }
}
