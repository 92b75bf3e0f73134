//! Work gear (`c-safetysuitedetection-*`, 589824) and e-bike riders without a helmet
//! (`c-helmet-elec-recog-*`, 1179664), on the operator's detector bound to the algorithm
//! (roles in `catalog::model_roles`; docs/algorithm-center.md).
//!
//! Behaviour (see docs/algorithm-center.md, "Work gear and e-bike helmets"):
//! - People (role `person`; e-bike: `rider`) are tracked (ByteTrack). Gear boxes are not: each
//!   frame, each gear box is given to the one person it fits best (its centre in the person's
//!   head region — the top 30 % of the box, widened by 10 % each side and 15 % upwards — for
//!   `helmet`/`head`; in the torso band, 15–70 % of the height, for `workwear`/`no_workwear`;
//!   the person whose top centre (head) or box centre (torso) is nearest wins).
//! - No helmet: a bare `head` box on the person, or no `helmet` box when a `helmet` class is
//!   bound (with only `head` bound, a person with neither box counts as wearing one: the model
//!   cannot tell). No work clothes: likewise with `no_workwear` / `workwear`.
//! - A person without the gear the switches ask for (`hat_detection_sw`,
//!   `cloth_detection_sw`; always the helmet for e-bike riders), in an ROI polygon (whole frame
//!   without), for `alert_time_threshold` seconds (a compliant sighting resets the clock)
//!   raises one item, once per tracked person. Work gear: `type_hat` / `type_cloth` 1 for the
//!   missing gear, 0 otherwise (spec §6.4 #6 codes `[INF]`); e-bike: `detection_id`.
//! - A switched-on check whose roles the package does not bind refuses the task (param of the
//!   switch); the person role is always needed.

use std::collections::BTreeMap;

use serde_json::json;
use vigil_vision::{BBox, Detection, Roi};

use crate::analyzer::{Analyzer, AnalyzerError, DetectorModel, Event, FrameInput, Needs, Perception};
use crate::common::{anchor, bbox_json, clip, detection_id, sane, Area, RateTracker};
use crate::event_type::{EBIKE_NO_HELMET, WORK_CLOTHES_HELMET};
use crate::model_binding::{bound, classes_for};
use crate::registry::AnalyzerContext;
use crate::validate::{ConfigError, ValidatedCommon, COMMON_PATH};

const WORK_GEAR: &str = "c-safetysuitedetection";
const EBIKE: &str = "c-helmet-elec-recog";

/// Which algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    WorkGear,
    Ebike,
}

/// The classes of one piece of gear: seen worn, and seen missing.
#[derive(Debug, Clone, Default)]
struct GearClasses {
    worn: Vec<u32>,
    missing: Vec<u32>,
}

/// Builds the work-gear analyzer (the registry line of `c-safetysuitedetection`).
pub fn build_work_gear(
    common: &ValidatedCommon,
    roi: Roi,
    ctx: &AnalyzerContext,
) -> Result<Box<dyn Analyzer>, ConfigError> {
    let b = bound(ctx, WORK_GEAR)?;
    let people = classes_for(b, WORK_GEAR, &["person"], "service_name")?;
    let hat = common.get_switch("hat_detection_sw").unwrap_or(false);
    let cloth = common.get_switch("cloth_detection_sw").unwrap_or(false);
    let mut helmet = GearClasses::default();
    if hat {
        classes_for(
            b,
            WORK_GEAR,
            &["helmet", "head"],
            &format!("{COMMON_PATH}.hat_detection_sw"),
        )?;
        helmet = GearClasses {
            worn: b.classes_of("helmet"),
            missing: b.classes_of("head"),
        };
    }
    let mut clothes = GearClasses::default();
    if cloth {
        classes_for(
            b,
            WORK_GEAR,
            &["workwear", "no_workwear"],
            &format!("{COMMON_PATH}.cloth_detection_sw"),
        )?;
        clothes = GearClasses {
            worn: b.classes_of("workwear"),
            missing: b.classes_of("no_workwear"),
        };
    }
    Ok(Box::new(SafetyGearAnalyzer::new(
        Kind::WorkGear,
        people,
        hat.then_some(helmet),
        cloth.then_some(clothes),
        common,
        roi,
        ctx,
    )))
}

/// Builds the e-bike helmet analyzer (the registry line of `c-helmet-elec-recog`).
pub fn build_ebike_helmet(
    common: &ValidatedCommon,
    roi: Roi,
    ctx: &AnalyzerContext,
) -> Result<Box<dyn Analyzer>, ConfigError> {
    let b = bound(ctx, EBIKE)?;
    let riders = classes_for(b, EBIKE, &["rider"], "service_name")?;
    classes_for(b, EBIKE, &["helmet", "head"], "service_name")?;
    let helmet = GearClasses {
        worn: b.classes_of("helmet"),
        missing: b.classes_of("head"),
    };
    Ok(Box::new(SafetyGearAnalyzer::new(
        Kind::Ebike,
        riders,
        Some(helmet),
        None,
        common,
        roi,
        ctx,
    )))
}

/// What one tracked person has shown so far.
#[derive(Debug, Clone, Default)]
struct PersonState {
    /// Frame time since which the person has been seen without the gear.
    lacking_since: Option<f64>,
    alarmed: bool,
}

pub struct SafetyGearAnalyzer {
    kind: Kind,
    people: Vec<u32>,
    helmet: Option<GearClasses>,
    clothes: Option<GearClasses>,
    threshold: f64,
    output_image: bool,
    areas: Vec<Area>,
    roi: Roi,
    tracker: RateTracker,
    states: BTreeMap<u64, PersonState>,
    detector: DetectorModel,
    min_score: f32,
    fps: f64,
    seed: u64,
}

impl SafetyGearAnalyzer {
    fn new(
        kind: Kind,
        people: Vec<u32>,
        helmet: Option<GearClasses>,
        clothes: Option<GearClasses>,
        common: &ValidatedCommon,
        roi: Roi,
        ctx: &AnalyzerContext,
    ) -> Self {
        let b = ctx.model.as_ref();
        Self {
            kind,
            people,
            helmet,
            clothes,
            threshold: common.get_i64("alert_time_threshold").unwrap_or(1) as f64,
            output_image: common.get_switch("output_image_sw").unwrap_or(true),
            areas: Area::polygons_or_frame(&roi),
            roi,
            tracker: RateTracker::new(),
            states: BTreeMap::new(),
            detector: b.map_or(DetectorModel::Coco, |b| b.detector),
            min_score: b.map_or(0.3, |b| b.min_score),
            fps: ctx.analysis_fps,
            seed: ctx.seed,
        }
    }
}

/// Where a helmet or bare head of `person` is: the top 30 %, 10 % wider each side, from 15 %
/// above (a helmet sticks out over a tight person box).
pub(crate) fn head_region(p: &BBox) -> BBox {
    let (w, h) = (p.width(), p.height());
    BBox::new(p.x1 - 0.1 * w, p.y1 - 0.15 * h, p.x2 + 0.1 * w, p.y1 + 0.3 * h)
}

/// Where work clothes of `person` are: the band from 15 % to 70 % of the height.
pub(crate) fn torso_region(p: &BBox) -> BBox {
    let h = p.height();
    BBox::new(p.x1, p.y1 + 0.15 * h, p.x2, p.y1 + 0.7 * h)
}

fn inside(point: (f32, f32), r: &BBox) -> bool {
    point.0 >= r.x1 && point.0 <= r.x2 && point.1 >= r.y1 && point.1 <= r.y2
}

/// For each gear box, the index of the person it belongs to: its centre in the person's
/// `region`, nearest to the person's `reference` point.
pub(crate) fn assign(
    gear: &[BBox],
    people: &[BBox],
    region: fn(&BBox) -> BBox,
    reference: fn(&BBox) -> (f32, f32),
) -> Vec<Option<usize>> {
    gear.iter()
        .map(|g| {
            let c = g.center();
            people
                .iter()
                .enumerate()
                .filter(|(_, p)| inside(c, &region(p)))
                .map(|(i, p)| {
                    let r = reference(p);
                    (i, (r.0 - c.0).powi(2) + (r.1 - c.1).powi(2))
                })
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(i, _)| i)
        })
        .collect()
}

fn head_point(p: &BBox) -> (f32, f32) {
    ((p.x1 + p.x2) / 2.0, p.y1)
}

fn body_centre(p: &BBox) -> (f32, f32) {
    p.center()
}

/// Per person: whether the gear is missing. `worn` / `missing` are the gear boxes of the two
/// roles; `worn_bound` says whether the model can see the gear worn at all.
pub(crate) fn lacking(
    people: &[BBox],
    worn: &[BBox],
    missing: &[BBox],
    worn_bound: bool,
    region: fn(&BBox) -> BBox,
    reference: fn(&BBox) -> (f32, f32),
) -> Vec<bool> {
    let mut has = vec![false; people.len()];
    let mut bare = vec![false; people.len()];
    for i in assign(worn, people, region, reference).into_iter().flatten() {
        has[i] = true;
    }
    for i in assign(missing, people, region, reference).into_iter().flatten() {
        bare[i] = true;
    }
    (0..people.len()).map(|i| !has[i] && (bare[i] || worn_bound)).collect()
}

impl Analyzer for SafetyGearAnalyzer {
    fn needs(&self) -> Needs {
        let mut classes = self.people.clone();
        for g in [&self.helmet, &self.clothes].into_iter().flatten() {
            classes.extend(&g.worn);
            classes.extend(&g.missing);
        }
        classes.sort_unstable();
        classes.dedup();
        Needs::detector(self.detector, classes, self.min_score, self.fps)
    }

    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        let size = (frame.image.width(), frame.image.height());
        let dets: Vec<Detection> = perception
            .detections(self.detector)
            .iter()
            .filter(|d| sane(d) && d.score >= self.min_score)
            .copied()
            .collect();
        let of = |classes: &[u32]| -> Vec<BBox> {
            dets.iter()
                .filter(|d| classes.contains(&d.class_id))
                .map(|d| clip(&d.bbox, size))
                .collect()
        };
        let persons: Vec<Detection> = dets
            .iter()
            .filter(|d| self.people.contains(&d.class_id))
            .copied()
            .collect();
        let (tracks, removed) = self.tracker.update(frame, &persons);
        for id in removed {
            self.states.remove(&id);
        }
        let boxes: Vec<BBox> = tracks.iter().map(|t| clip(&t.det_bbox, size)).collect();
        let no_hat = match &self.helmet {
            Some(g) => lacking(
                &boxes,
                &of(&g.worn),
                &of(&g.missing),
                !g.worn.is_empty(),
                head_region,
                head_point,
            ),
            None => vec![false; boxes.len()],
        };
        let no_cloth = match &self.clothes {
            Some(g) => lacking(
                &boxes,
                &of(&g.worn),
                &of(&g.missing),
                !g.worn.is_empty(),
                torso_region,
                body_centre,
            ),
            None => vec![false; boxes.len()],
        };
        let (mut items, mut drawn) = (Vec::new(), Vec::new());
        for (i, t) in tracks.iter().enumerate() {
            let b = boxes[i];
            if !self.areas.iter().any(|a| a.contains(anchor(&b), size)) {
                continue;
            }
            let state = self.states.entry(t.id).or_default();
            if !(no_hat[i] || no_cloth[i]) {
                state.lacking_since = None;
                continue;
            }
            let since = *state.lacking_since.get_or_insert(frame.time);
            if state.alarmed || frame.time - since < self.threshold {
                continue;
            }
            state.alarmed = true;
            items.push(match self.kind {
                Kind::WorkGear => json!({
                    "bounding_box": bbox_json(&b),
                    "type_cloth": i64::from(no_cloth[i]),
                    "type_hat": i64::from(no_hat[i]),
                }),
                Kind::Ebike => json!({
                    "bounding_box": bbox_json(&b),
                    "detection_id": detection_id(self.seed, t.id),
                }),
            });
            drawn.push(b);
        }
        let event_type = match self.kind {
            Kind::WorkGear => WORK_CLOTHES_HELMET,
            Kind::Ebike => EBIKE_NO_HELMET,
        };
        Ok(Event::alarm_list(
            event_type,
            "event_set",
            items,
            drawn,
            self.output_image,
        ))
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(x: f32) -> BBox {
        BBox::new(x, 100.0, x + 60.0, 280.0)
    }

    /// A helmet box on top of the head (sticking out above the person box a little).
    fn helmet_on(p: &BBox) -> BBox {
        BBox::new(p.x1 + 15.0, p.y1 - 10.0, p.x1 + 45.0, p.y1 + 15.0)
    }

    #[test]
    fn a_helmet_on_the_head_counts_and_one_elsewhere_does_not() {
        let (a, b) = (person(100.0), person(300.0));
        let on_a = helmet_on(&a);
        let in_hand = BBox::new(310.0, 200.0, 340.0, 225.0); // held at b's hip
        let got = lacking(&[a, b], &[on_a, in_hand], &[], true, head_region, head_point);
        assert_eq!(got, vec![false, true]);
        // With only `head` bound, a person with neither box is not judged.
        assert_eq!(
            lacking(&[a, b], &[], &[], false, head_region, head_point),
            vec![false, false]
        );
        // A bare head box is a violation either way.
        let bare_b = BBox::new(315.0, 95.0, 345.0, 125.0);
        assert_eq!(
            lacking(&[a, b], &[], &[bare_b], false, head_region, head_point),
            vec![false, true]
        );
        assert_eq!(
            lacking(&[a, b], &[on_a], &[bare_b], true, head_region, head_point),
            vec![false, true]
        );
    }

    #[test]
    fn a_helmet_between_two_people_goes_to_the_nearer_head() {
        // Overlapping people: the helmet over b's head is in both head regions.
        let a = BBox::new(100.0, 100.0, 160.0, 280.0);
        let b = BBox::new(140.0, 110.0, 200.0, 290.0);
        let on_b = BBox::new(155.0, 100.0, 185.0, 125.0);
        assert_eq!(assign(&[on_b], &[a, b], head_region, head_point), vec![Some(1)]);
        assert_eq!(
            lacking(&[a, b], &[on_b], &[], true, head_region, head_point),
            vec![true, false]
        );
    }

    #[test]
    fn work_clothes_must_cover_the_torso() {
        let p = person(100.0);
        let vest = BBox::new(105.0, 140.0, 155.0, 200.0);
        let shoes = BBox::new(105.0, 265.0, 155.0, 280.0);
        assert_eq!(
            lacking(&[p], &[vest], &[], true, torso_region, body_centre),
            vec![false]
        );
        assert_eq!(
            lacking(&[p], &[shoes], &[], true, torso_region, body_centre),
            vec![true]
        );
        assert_eq!(
            lacking(&[p], &[], &[vest], false, torso_region, body_centre),
            vec![true]
        );
        assert_eq!(lacking(&[p], &[], &[], false, torso_region, body_centre), vec![false]);
    }
}
