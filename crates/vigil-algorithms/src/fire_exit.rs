//! Fire passage obstruction (`c-fire-exit-occupation-edge/-cloud`): a vehicle (event 1179649)
//! or objects (event 1179648) staying in the passage.
//!
//! Behaviour (see docs/algorithms.md, "Fire passage obstruction"):
//! - The passage is every ROI polygon (the whole frame without one).
//! - `vehicle_occupation_sw`: a COCO car, motorcycle, bus or truck that stands still with its
//!   anchor (bottom centre) in the passage for `vehicle_residence_time` seconds raises one
//!   1179649 item per vehicle stay (`plate_id` "" — Vigil reads no plates).
//! - `stacking_occupation_sw`: an object that stays in the passage for
//!   `stacking_residence_time` seconds raises one 1179648 item per object stay. Objects are
//!   static foreground regions ([`crate::stationary::StaticForeground`]: appeared after the
//!   analysis started, then unchanged; never a person, whose pixels never count as still;
//!   regions on a detected vehicle are left to the vehicle alarm) at least
//!   [`STACK_MIN_SIZE`] px (1080p reference) large, and still COCO bicycles, backpacks,
//!   handbags and suitcases.
//! - A stay ends when the target moves or leaves for [`LEAVE_S`], or is
//!   gone (a region unseen for 5 s, a track unseen for its lost buffer plus 5 s). With
//!   `event_disappear_alert_sw` 1 an alarmed stay's end sends the same item again with
//!   `alarm_type` 1. `data.alarm_type` is always there (0 normal, 1 disappeared, spec §6.4 #15);
//!   the envelope's `alarm_type` only with the switch on.
//! - At most one message per event type and `alarm_type` per frame.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};
use vigil_vision::detect::coco;
use vigil_vision::{BBox, Roi};

use crate::analyzer::{Analyzer, AnalyzerError, DetectorModel, Event, FrameInput, Needs, Perception};
use crate::common::{anchor, bbox_json, coco_of, detection_id, people, Area};
use crate::event_type::{FIRE_PASSAGE_OBJECTS, FIRE_PASSAGE_VEHICLE};
use crate::intrusion::VEHICLE_CLASSES;
use crate::registry::AnalyzerContext;
use crate::stationary::{
    blob_at_least, covers, StaticForeground, Stay, StayBook, StillObject, StillObjects, LEAVE_S, MIN_STILL_S,
    PERSON_SCORE, REGION_KEY_BASE,
};
use crate::typed_config::{secs, switch, typed};
use crate::validate::{ConfigError, ValidatedCommon};

/// COCO objects that block a passage when left there.
pub const STACK_CLASSES: [u32; 4] = [coco::BICYCLE, coco::BACKPACK, coco::HANDBAG, coco::SUITCASE];
/// Smallest object region (larger side, px at 1080p).
pub const STACK_MIN_SIZE: f32 = 80.0;

/// Effective settings (`config.common`, typed; defaults and ranges from the catalogue).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct FireExitConfig {
    #[serde(rename = "stacking_occupation_sw", deserialize_with = "switch")]
    pub stacking: bool,
    #[serde(rename = "vehicle_occupation_sw", deserialize_with = "switch")]
    pub vehicle: bool,
    /// Seconds.
    #[serde(rename = "stacking_residence_time", deserialize_with = "secs")]
    pub stacking_time: f64,
    /// Seconds.
    #[serde(rename = "vehicle_residence_time", deserialize_with = "secs")]
    pub vehicle_time: f64,
    #[serde(rename = "event_disappear_alert_sw", deserialize_with = "switch")]
    pub disappear_alert: bool,
    #[serde(rename = "output_image_sw", deserialize_with = "switch")]
    pub output_image: bool,
}

/// Builds the analyzer of a task (the registry line of `c-fire-exit-occupation`).
pub fn build(common: &ValidatedCommon, roi: Roi, ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    Ok(Box::new(FireExitAnalyzer::new(typed(common)?, roi, ctx)))
}

/// One target found in the passage this frame.
struct Found {
    key: u64,
    since: f64,
    bbox: BBox,
}

impl Found {
    /// The objects that have been still for at least [`MIN_STILL_S`] at `time`.
    fn settled(objects: &[StillObject], time: f64) -> Vec<Found> {
        objects
            .iter()
            .filter(|o| time - o.still.since >= MIN_STILL_S)
            .map(|o| Found {
                key: o.still.key,
                since: o.still.since,
                bbox: o.bbox,
            })
            .collect()
    }
}

pub struct FireExitAnalyzer {
    cfg: FireExitConfig,
    roi: Roi,
    areas: Vec<Area>,
    vehicles: StillObjects,
    objects: StillObjects,
    regions: StaticForeground,
    /// Stays of vehicles, of objects.
    vehicle_stays: StayBook,
    object_stays: StayBook,
    seed: u64,
    fps: f64,
}

impl FireExitAnalyzer {
    pub fn new(cfg: FireExitConfig, roi: Roi, ctx: &AnalyzerContext) -> Self {
        let areas = Area::polygons_or_frame(&roi);
        Self {
            cfg,
            roi,
            areas,
            vehicles: StillObjects::vehicles(),
            objects: StillObjects::small(),
            regions: StaticForeground::new(),
            vehicle_stays: StayBook::new(LEAVE_S),
            object_stays: StayBook::new(LEAVE_S),
            seed: ctx.seed,
            fps: ctx.analysis_fps,
        }
    }

    fn item(&self, key: u64, area: usize, bbox: &BBox, vehicle: bool) -> (Value, BBox) {
        let mut m = Map::new();
        m.insert("detection_id".into(), json!(detection_id(self.seed, key)));
        if vehicle {
            m.insert("plate_id".into(), json!(""));
        }
        if let Some(name) = self.areas.get(area).and_then(Area::name) {
            m.insert("polygon_name".into(), json!(name));
        }
        m.insert("bounding_box".into(), bbox_json(bbox));
        (Value::Object(m), *bbox)
    }

    fn event(&self, event_type: u64, items: Vec<(Value, BBox)>, alarm_type: i64) -> Event {
        let (set, boxes): (Vec<Value>, Vec<BBox>) = items.into_iter().unzip();
        Event {
            event_type,
            data: json!({ "alarm_type": alarm_type, "event_set": set }),
            alarm_type: self.cfg.disappear_alert.then_some(alarm_type),
            boxes,
            with_image: self.cfg.output_image,
        }
    }

    /// Confirms the stays of `found` in the areas; returns (key, area, box) of the new alarms.
    fn stays_of(
        areas: &[Area],
        book: &mut StayBook,
        found: &[Found],
        threshold: f64,
        time: f64,
        size: (u32, u32),
    ) -> Vec<(u64, usize, BBox)> {
        let mut out = Vec::new();
        for f in found {
            let a = anchor(&f.bbox);
            for (k, area) in areas.iter().enumerate() {
                if !area.contains(a, size) {
                    continue;
                }
                let stay = book.confirm(f.key, k, f.since, f.bbox, time);
                if !stay.alarmed && time - stay.since >= threshold {
                    stay.alarmed = true;
                    out.push((f.key, k, f.bbox));
                }
            }
        }
        out
    }

    /// The new and the disappeared items of one event type as messages.
    fn messages(
        &self,
        event_type: u64,
        new: Vec<(u64, usize, BBox)>,
        ended: Vec<((u64, usize), Stay)>,
        events: &mut Vec<Event>,
    ) {
        let vehicle = event_type == FIRE_PASSAGE_VEHICLE;
        if !new.is_empty() {
            let items = new.iter().map(|(key, k, b)| self.item(*key, *k, b, vehicle)).collect();
            events.push(self.event(event_type, items, 0));
        }
        if self.cfg.disappear_alert && !ended.is_empty() {
            let items = ended
                .iter()
                .map(|((key, k), s)| self.item(*key, *k, &s.bbox, vehicle))
                .collect();
            events.push(self.event(event_type, items, 1));
        }
    }
}

impl Analyzer for FireExitAnalyzer {
    fn needs(&self) -> Needs {
        let mut classes = vec![coco::PERSON];
        classes.extend(VEHICLE_CLASSES);
        if self.cfg.stacking {
            classes.extend(STACK_CLASSES);
        }
        Needs::detector(DetectorModel::Coco, classes, 0.1, self.fps)
    }

    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        let size = (frame.image.width(), frame.image.height());
        let time = frame.time;
        let of = |classes: &[u32]| coco_of(perception, classes);
        let vehicles = self.vehicles.update(frame, of(&VEHICLE_CLASSES));
        let mut events = Vec::new();

        if self.cfg.vehicle {
            let observed: BTreeSet<u64> = vehicles.objects.iter().map(|o| o.still.key).collect();
            let found = Found::settled(&vehicles.objects, time);
            let new = Self::stays_of(
                &self.areas,
                &mut self.vehicle_stays,
                &found,
                self.cfg.vehicle_time,
                time,
                size,
            );
            let ended = self.vehicle_stays.sweep(time, &vehicles.gone, &observed);
            self.messages(FIRE_PASSAGE_VEHICLE, new, ended, &mut events);
        }

        if self.cfg.stacking {
            let objects = self.objects.update(frame, of(&STACK_CLASSES));
            let regions = self
                .regions
                .update(frame.image, time, &people(perception, size, PERSON_SCORE));
            let taken: Vec<BBox> = vehicles
                .objects
                .iter()
                .chain(&objects.objects)
                .map(|o| o.bbox)
                .collect();
            let mut observed: BTreeSet<u64> = objects.objects.iter().map(|o| o.still.key).collect();
            let mut found = Found::settled(&objects.objects, time);
            for r in &regions.present {
                // A region on a detected vehicle or object is theirs: neither confirmed nor
                // ended while covered.
                if !blob_at_least(&r.bbox, STACK_MIN_SIZE, size.1) || taken.iter().any(|t| covers(t, &r.bbox)) {
                    continue;
                }
                let key = REGION_KEY_BASE + r.id;
                observed.insert(key);
                found.push(Found {
                    key,
                    since: r.since,
                    bbox: r.bbox,
                });
            }
            let mut gone = objects.gone;
            gone.extend(regions.gone.iter().map(|id| REGION_KEY_BASE + id));
            let new = Self::stays_of(
                &self.areas,
                &mut self.object_stays,
                &found,
                self.cfg.stacking_time,
                time,
                size,
            );
            let ended = self.object_stays.sweep(time, &gone, &observed);
            self.messages(FIRE_PASSAGE_OBJECTS, new, ended, &mut events);
        }
        Ok(events)
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}
