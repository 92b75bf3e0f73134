//! Abandoned object (`c-abandon-detection-edge/-cloud`, event 327680): an object left
//! unattended for longer than `alert_time_threshold`.
//!
//! Behaviour (see docs/algorithms.md, "Abandoned object"):
//! - Objects: still COCO backpacks, handbags and suitcases (tracked), and static foreground
//!   regions ([`crate::stationary::StaticForeground`]: appeared after the analysis started, then
//!   unchanged; a person's pixels never count as still; regions on a detected vehicle or bag
//!   are not objects of their own), whose larger side is at least `detection_min_size` px at
//!   1080p (scaled by `frame height / 1080`), with their anchor (bottom centre) in an ROI
//!   polygon (the whole frame without one).
//! - Unattended: no person box grown by [`NEAR_FRACTION`] of its height touches the object.
//!   An object alarms once per stay when it has stayed `alert_time_threshold` seconds and has
//!   been unattended for that long (an object next to a person standing still does not alarm).
//! - `target_remaining_time` is the whole stay so far, in whole seconds, as a string.
//! - `alert_detection_interval`: alarms inside one period are merged: the first alarm is sent at
//!   once, later ones wait until `alert_detection_interval` seconds after the previous message
//!   and go out together (flushed at the end of the stream).

use std::collections::BTreeMap;

use serde_json::{json, Value};
use vigil_vision::detect::coco;
use vigil_vision::{BBox, Roi};

use crate::analyzer::{Analyzer, AnalyzerError, DetectorModel, Event, FrameInput, Needs, Perception};
use crate::common::{anchor, bbox_json, coco_of, detection_id, people, Area, SizeFilter};
use crate::event_type::ABANDONED_OBJECT;
use crate::intrusion::VEHICLE_CLASSES;
use crate::registry::AnalyzerContext;
use crate::stationary::{
    blob_at_least, covers, StaticForeground, StillObjects, MIN_STILL_S, PERSON_SCORE, REGION_KEY_BASE,
};
use crate::typed_config::{secs, typed};
use crate::validate::{ConfigError, ValidatedCommon};

/// COCO classes that are luggage.
pub const BAG_CLASSES: [u32; 3] = [coco::BACKPACK, coco::HANDBAG, coco::SUITCASE];
/// A person is near an object when their box, grown by this fraction of its height on every
/// side, touches the object's box.
pub const NEAR_FRACTION: f32 = 0.5;

/// Effective settings (`config.common`, typed; defaults and ranges from the catalogue).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct AbandonConfig {
    /// Pixels at 1080p.
    #[serde(rename = "detection_min_size")]
    pub min_size: i64,
    /// Seconds.
    #[serde(rename = "alert_time_threshold", deserialize_with = "secs")]
    pub alert_time: f64,
    /// Seconds.
    #[serde(rename = "alert_detection_interval", deserialize_with = "secs")]
    pub interval: f64,
}

/// Builds the analyzer of a task (the registry line of `c-abandon-detection`).
pub fn build(common: &ValidatedCommon, roi: Roi, ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    Ok(Box::new(AbandonAnalyzer::new(typed(common)?, roi, ctx)))
}

/// One object's stay.
#[derive(Debug, Clone, Copy)]
struct Watch {
    /// Last frame time a person was near (or the stay's start).
    attended: f64,
    alarmed: bool,
}

pub struct AbandonAnalyzer {
    cfg: AbandonConfig,
    roi: Roi,
    areas: Vec<Area>,
    bags: StillObjects,
    vehicles: StillObjects,
    regions: StaticForeground,
    watch: BTreeMap<u64, Watch>,
    /// Items waiting for the end of the merge period.
    pending: Vec<(Value, BBox)>,
    last_sent: Option<f64>,
    seed: u64,
    fps: f64,
}

impl AbandonAnalyzer {
    pub fn new(cfg: AbandonConfig, roi: Roi, ctx: &AnalyzerContext) -> Self {
        let areas = Area::polygons_or_frame(&roi);
        Self {
            cfg,
            roi,
            areas,
            bags: StillObjects::small(),
            vehicles: StillObjects::vehicles(),
            regions: StaticForeground::new(),
            watch: BTreeMap::new(),
            pending: Vec::new(),
            last_sent: None,
            seed: ctx.seed,
            fps: ctx.analysis_fps,
        }
    }

    fn flush(&mut self, time: f64) -> Option<Event> {
        if self.pending.is_empty() {
            return None;
        }
        self.last_sent = Some(time);
        let (set, boxes): (Vec<Value>, Vec<BBox>) = std::mem::take(&mut self.pending).into_iter().unzip();
        Some(Event {
            event_type: ABANDONED_OBJECT,
            data: json!({ "event_set": set }),
            alarm_type: None,
            boxes,
            with_image: true,
        })
    }
}

/// Whether a person is near the object (see [`NEAR_FRACTION`]).
fn attended(object: &BBox, people: &[BBox]) -> bool {
    people.iter().any(|p| {
        let m = p.height() * NEAR_FRACTION;
        p.x1 - m <= object.x2 && p.x2 + m >= object.x1 && p.y1 - m <= object.y2 && p.y2 + m >= object.y1
    })
}

impl Analyzer for AbandonAnalyzer {
    fn needs(&self) -> Needs {
        let mut classes = vec![coco::PERSON];
        classes.extend(BAG_CLASSES);
        classes.extend(VEHICLE_CLASSES);
        Needs::detector(DetectorModel::Coco, classes, 0.1, self.fps)
    }

    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        let size = (frame.image.width(), frame.image.height());
        let time = frame.time;
        let of = |classes: &[u32]| coco_of(perception, classes);
        let people = people(perception, size, PERSON_SCORE);
        let bags = self.bags.update(frame, of(&BAG_CLASSES));
        let vehicles = self.vehicles.update(frame, of(&VEHICLE_CLASSES));
        let regions = self.regions.update(frame.image, time, &people);
        let min_size = self.cfg.min_size as f32;
        let filter = SizeFilter {
            min: min_size,
            max: f32::INFINITY,
        };

        // (key, still since, box) of the candidate objects of this frame.
        let mut found: Vec<(u64, f64, BBox)> = bags
            .objects
            .iter()
            .filter(|o| time - o.still.since >= MIN_STILL_S && filter.keeps(&o.bbox, size.1))
            .map(|o| (o.still.key, o.still.since, o.bbox))
            .collect();
        let taken: Vec<BBox> = bags.objects.iter().chain(&vehicles.objects).map(|o| o.bbox).collect();
        for r in &regions.present {
            if blob_at_least(&r.bbox, min_size, size.1) && !taken.iter().any(|t| covers(t, &r.bbox)) {
                found.push((REGION_KEY_BASE + r.id, r.since, r.bbox));
            }
        }

        for (key, since, bbox) in found {
            if !self.areas.iter().any(|a| a.contains(anchor(&bbox), size)) {
                continue;
            }
            let w = self.watch.entry(key).or_insert(Watch {
                attended: since,
                alarmed: false,
            });
            if attended(&bbox, &people) {
                w.attended = time;
            }
            let unattended_for = time - w.attended.max(since);
            if !w.alarmed && unattended_for >= self.cfg.alert_time {
                w.alarmed = true;
                self.pending.push((
                    json!({
                        "bounding_box": bbox_json(&bbox),
                        "target_remaining_time": format!("{}", (time - since).max(0.0).round() as i64),
                        "detection_id": detection_id(self.seed, key),
                    }),
                    bbox,
                ));
            }
        }
        for key in bags
            .gone
            .iter()
            .copied()
            .chain(regions.gone.iter().map(|id| REGION_KEY_BASE + id))
        {
            self.watch.remove(&key);
        }

        let due = self.last_sent.is_none_or(|t| time - t >= self.cfg.interval);
        Ok(if due {
            self.flush(time).into_iter().collect()
        } else {
            Vec::new()
        })
    }

    fn finish(&mut self, time: f64) -> Vec<Event> {
        self.flush(time).into_iter().collect()
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}
