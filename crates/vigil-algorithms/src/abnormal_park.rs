//! Abnormal parking (`c-traffic-abnormal-park-edge/-cloud`, event 74240): a vehicle that stands
//! still in a no-parking area for longer than its threshold.
//!
//! Behaviour (see docs/algorithms.md, "Abnormal parking"):
//! - Vehicles: COCO car, motorcycle, bus and truck, tracked class-agnostically (one track per
//!   vehicle even when the detector flips between car and truck).
//! - No-parking areas: the ROI polygons whose name starts with `illegal` (spec §5.5); when no
//!   polygon is named so, every polygon; without polygons, the whole frame.
//! - A vehicle parks when its box stops moving ([`crate::stationary::StillTracker`]: the median
//!   centre of the last 2 s stays within a quarter of its size) with its anchor (bottom centre)
//!   in an area. After `illegal_park_alert_threshold` seconds (Vigil's key, default 60) one
//!   alarm per vehicle, area and stay: `vehicles[]` of `bounding_box`, `license_plate_id` (""
//!   — Vigil reads no plates), `detection_id` (stable for the stay, also when the track is lost
//!   behind a passer-by and found again at the same place), `polygon_name`.
//! - The stay ends when the vehicle moves or leaves the area for [`LEAVE_S`], or is not seen for
//!   the tracker's lost buffer plus [`crate::stationary::MEMORY_S`]. With
//!   `event_disappear_alert_sw` 1 an alarmed stay's end sends the same payload with
//!   `alarm_type` 1 (normal messages then carry `alarm_type` 0).

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};
use vigil_vision::{BBox, Roi};

use crate::analyzer::{Analyzer, AnalyzerError, DetectorModel, Event, FrameInput, Needs, Perception};
use crate::common::{anchor, bbox_json, detection_id, Area};
use crate::event_type::ABNORMAL_PARKING;
use crate::intrusion::VEHICLE_CLASSES;
use crate::registry::AnalyzerContext;
use crate::stationary::{StayBook, StillObjects, LEAVE_S, MIN_STILL_S};
use crate::typed_config::{secs, switch, typed};
use crate::validate::{ConfigError, ValidatedCommon};

/// Effective settings (`config.common`, typed; defaults and ranges from the catalogue).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct AbnormalParkConfig {
    /// Seconds (Vigil's key; the spec names none).
    #[serde(rename = "illegal_park_alert_threshold", deserialize_with = "secs")]
    pub park_time: f64,
    #[serde(rename = "event_disappear_alert_sw", deserialize_with = "switch")]
    pub disappear_alert: bool,
    #[serde(rename = "output_image_sw", deserialize_with = "switch")]
    pub output_image: bool,
}

/// Builds the analyzer of a task (the registry line of `c-traffic-abnormal-park`).
pub fn build(common: &ValidatedCommon, roi: Roi, ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    Ok(Box::new(AbnormalParkAnalyzer::new(typed(common)?, roi, ctx)))
}

pub struct AbnormalParkAnalyzer {
    cfg: AbnormalParkConfig,
    roi: Roi,
    areas: Vec<Area>,
    objects: StillObjects,
    stays: StayBook,
    seed: u64,
    fps: f64,
}

impl AbnormalParkAnalyzer {
    pub fn new(cfg: AbnormalParkConfig, roi: Roi, ctx: &AnalyzerContext) -> Self {
        Self {
            cfg,
            areas: Area::no_parking(&roi),
            roi,
            objects: StillObjects::vehicles(),
            stays: StayBook::new(LEAVE_S),
            seed: ctx.seed,
            fps: ctx.analysis_fps,
        }
    }

    fn item(&self, key: u64, area: usize, bbox: &BBox) -> (Value, BBox) {
        let mut m = Map::new();
        m.insert("bounding_box".into(), bbox_json(bbox));
        m.insert("license_plate_id".into(), json!(""));
        m.insert("detection_id".into(), json!(detection_id(self.seed, key)));
        if let Some(name) = self.areas.get(area).and_then(Area::name) {
            m.insert("polygon_name".into(), json!(name));
        }
        (Value::Object(m), *bbox)
    }

    fn event(&self, items: Vec<(Value, BBox)>, alarm_type: i64) -> Event {
        let (vehicles, boxes): (Vec<Value>, Vec<BBox>) = items.into_iter().unzip();
        Event {
            event_type: ABNORMAL_PARKING,
            data: json!({ "vehicles": vehicles }),
            alarm_type: self.cfg.disappear_alert.then_some(alarm_type),
            boxes,
            with_image: self.cfg.output_image,
        }
    }
}

impl Analyzer for AbnormalParkAnalyzer {
    fn needs(&self) -> Needs {
        Needs::detector(DetectorModel::Coco, VEHICLE_CLASSES.to_vec(), 0.1, self.fps)
    }

    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        let size = (frame.image.width(), frame.image.height());
        let time = frame.time;
        let dets = perception
            .detections(DetectorModel::Coco)
            .iter()
            .filter(|d| VEHICLE_CLASSES.contains(&d.class_id))
            .copied()
            .collect();
        let seen = self.objects.update(frame, dets);
        let mut observed = BTreeSet::new();
        let mut new_items = Vec::new();
        for o in &seen.objects {
            observed.insert(o.still.key);
            if time - o.still.since < MIN_STILL_S {
                continue;
            }
            let a = anchor(&o.bbox);
            for k in 0..self.areas.len() {
                if !self.areas[k].contains(a, size) {
                    continue;
                }
                let stay = self.stays.confirm(o.still.key, k, o.still.since, o.bbox, time);
                if !stay.alarmed && time - stay.since >= self.cfg.park_time {
                    stay.alarmed = true;
                    new_items.push((o.still.key, k, o.bbox));
                }
            }
        }
        let ended = self.stays.sweep(time, &seen.gone, &observed);
        let mut events = Vec::new();
        if !new_items.is_empty() {
            let items = new_items.iter().map(|(key, k, b)| self.item(*key, *k, b)).collect();
            events.push(self.event(items, 0));
        }
        if self.cfg.disappear_alert && !ended.is_empty() {
            let items = ended.iter().map(|((key, k), s)| self.item(*key, *k, &s.bbox)).collect();
            events.push(self.event(items, 1));
        }
        Ok(events)
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}
