//! Intrusion detection (`c-intrusiondetection-edge/-cloud`): region intrusion, line crossing
//! and loitering of tracked people and vehicles.
//!
//! Behaviour (see docs/algorithms.md, "Intrusion"):
//! - Targets: COCO person when `person_detection_sw` is 1; car, motorcycle, bus and truck when
//!   `car_detection_sw` is 1. `category` is 0 for a person, 1 for a vehicle.
//! - Boxes whose larger side is outside `[detection_min_size, detection_max_size]` (pixels at
//!   1080p, scaled by `frame height / 1080`) are dropped before tracking.
//! - Areas are the ROI polygons; without any ROI the whole frame is the area. A confirmed track
//!   whose anchor (bottom-centre) enters an area raises one 196609 item (`start_position` `out`
//!   when it was seen outside first, `in` when it appeared inside; `end_position` `in`). It
//!   counts as having left after [`LEAVE_SECS`] outside (jitter on the border raises nothing),
//!   or when its track is dropped; a later entry alarms again.
//! - Lines (`line_detection_sw`): a crossing counted by [`LineCrossingCounter`] (hysteresis band,
//!   once per direction per track) raises an item naming the start and end sides.
//! - Loitering (`loitering_detection_sw`): `loitering_time_threshold` seconds of continuous
//!   presence in an area raise one 196610 item per stay.
//! - `all_print_sw` 1: a 196609 message lists every target currently in an area (and the new
//!   crossings), 0: only the new intruders/crossings. A message is sent only when something new
//!   happened.
//! - `event_disappear_alert_sw` 1: when a target that raised an area or loitering alarm leaves
//!   (or its track is lost), a message of the same event type with `alarm_type` 1 and
//!   `end_position` `out`; normal messages then carry `alarm_type` 0. Line crossings are
//!   instantaneous and have no disappear message.
//! - At most one message per event type and `alarm_type` per frame.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};
use vigil_vision::detect::coco;
use vigil_vision::{BBox, CrossingConfig, Detection, LineCrossingCounter, Roi, Side};

use crate::analyzer::{Analyzer, AnalyzerError, DetectorModel, Event, FrameInput, Needs, Perception};
use crate::common::{anchor, bbox_json, clip, detection_id, line_counters, sane, Area, RateTracker, SizeFilter};
use crate::event_type::{INTRUSION, LOITERING};
use crate::registry::AnalyzerContext;
use crate::typed_config::{secs, switch, typed};
use crate::validate::{ConfigError, ValidatedCommon};

/// Seconds a target must be outside an area before it counts as having left it.
pub const LEAVE_SECS: f64 = 1.0;

/// COCO classes reported as vehicles (`category` 1).
pub const VEHICLE_CLASSES: [u32; 4] = [coco::CAR, coco::MOTORCYCLE, coco::BUS, coco::TRUCK];

/// Effective settings of an intrusion analyzer: `config.common` keys, typed. Defaults and
/// ranges are the catalogue's (`vigil_core::catalog`), filled in by validation.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct IntrusionConfig {
    #[serde(rename = "person_detection_sw", deserialize_with = "switch")]
    pub person: bool,
    #[serde(rename = "car_detection_sw", deserialize_with = "switch")]
    pub vehicle: bool,
    /// Pixels at 1080p.
    #[serde(rename = "detection_min_size")]
    pub min_size: i64,
    #[serde(rename = "detection_max_size")]
    pub max_size: i64,
    #[serde(rename = "line_detection_sw", deserialize_with = "switch")]
    pub line: bool,
    #[serde(rename = "region_detection_sw", deserialize_with = "switch")]
    pub region: bool,
    #[serde(rename = "loitering_detection_sw", deserialize_with = "switch")]
    pub loitering: bool,
    /// Seconds.
    #[serde(rename = "loitering_time_threshold", deserialize_with = "secs")]
    pub loitering_time: f64,
    #[serde(rename = "all_print_sw", deserialize_with = "switch")]
    pub all_print: bool,
    #[serde(rename = "event_disappear_alert_sw", deserialize_with = "switch")]
    pub disappear_alert: bool,
    #[serde(rename = "output_image_sw", deserialize_with = "switch")]
    pub output_image: bool,
    /// Vigil extension: skip the detector on frames without motion in the ROI.
    #[serde(rename = "motion_gating_sw", deserialize_with = "switch")]
    pub motion_gating: bool,
}

/// Builds the analyzer of a task (the registry line of `c-intrusiondetection`).
pub fn build(common: &ValidatedCommon, roi: Roi, ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    Ok(Box::new(IntrusionAnalyzer::new(typed(common)?, roi, ctx)))
}

/// Presence of one track in one area.
#[derive(Debug, Clone)]
struct Presence {
    /// Frame time the current stay began.
    since: f64,
    /// Frame time the target was last seen inside.
    last_inside: f64,
    /// The target was seen outside the area before this stay.
    came_from_outside: bool,
    intrusion_alarmed: bool,
    loiter_alarmed: bool,
}

#[derive(Debug, Clone)]
struct TrackInfo {
    class_id: u32,
    bbox: BBox,
    /// Areas the track was seen outside of (for `start_position`).
    seen_outside: BTreeSet<usize>,
}

pub struct IntrusionAnalyzer {
    cfg: IntrusionConfig,
    roi: Roi,
    areas: Vec<Area>,
    lines: Vec<LineCrossingCounter>,
    tracker: RateTracker,
    seed: u64,
    fps: f64,
    tracks: BTreeMap<u64, TrackInfo>,
    /// (track id, area index) -> presence.
    presence: BTreeMap<(u64, usize), Presence>,
}

impl IntrusionAnalyzer {
    /// `ctx.seed` makes the `detection_id`s of this analyzer (task) differ from other tasks'.
    pub fn new(cfg: IntrusionConfig, roi: Roi, ctx: &AnalyzerContext) -> Self {
        let areas = if !roi.polygons.is_empty() {
            roi.polygons.iter().cloned().map(Area::Polygon).collect()
        } else if roi.lines.is_empty() {
            vec![Area::WholeFrame]
        } else {
            Vec::new()
        };
        let lines = line_counters(&roi, CrossingConfig::default());
        Self {
            cfg,
            roi,
            areas,
            lines,
            tracker: RateTracker::new(),
            seed: ctx.seed,
            fps: ctx.analysis_fps,
            tracks: BTreeMap::new(),
            presence: BTreeMap::new(),
        }
    }

    pub fn config(&self) -> &IntrusionConfig {
        &self.cfg
    }

    fn wanted(&self, class_id: u32) -> bool {
        (self.cfg.person && class_id == coco::PERSON) || (self.cfg.vehicle && VEHICLE_CLASSES.contains(&class_id))
    }

    fn category(class_id: u32) -> i64 {
        if class_id == coco::PERSON {
            0
        } else {
            1
        }
    }

    fn item(&self, track_id: u64, start: &str, end: &str, polygon_name: Option<&str>) -> Option<(Value, BBox)> {
        let info = self.tracks.get(&track_id)?;
        let mut m = Map::new();
        m.insert("bounding_box".into(), bbox_json(&info.bbox));
        m.insert("detection_id".into(), json!(detection_id(self.seed, track_id)));
        m.insert("category".into(), json!(Self::category(info.class_id)));
        m.insert("start_position".into(), json!(start));
        m.insert("end_position".into(), json!(end));
        if let Some(name) = polygon_name {
            m.insert("polygon_name".into(), json!(name));
        }
        Some((Value::Object(m), info.bbox))
    }

    fn event(&self, event_type: u64, items: Vec<(Value, BBox)>, alarm_type: i64) -> Event {
        let (set, boxes): (Vec<Value>, Vec<BBox>) = items.into_iter().unzip();
        Event {
            event_type,
            data: json!({ "event_set": set }),
            alarm_type: self.cfg.disappear_alert.then_some(alarm_type),
            boxes,
            with_image: self.cfg.output_image,
        }
    }

    /// Ends a stay; returns the disappear items (intrusion, loitering) it causes.
    fn leave(&self, key: (u64, usize), p: &Presence, out: &mut [Vec<(Value, BBox)>; 2]) {
        if !self.cfg.disappear_alert {
            return;
        }
        let name = self.areas.get(key.1).and_then(Area::name);
        if p.intrusion_alarmed {
            out[0].extend(self.item(key.0, "in", "out", name));
        }
        if p.loiter_alarmed {
            out[1].extend(self.item(key.0, "in", "out", name));
        }
    }
}

impl Analyzer for IntrusionAnalyzer {
    fn needs(&self) -> Needs {
        let mut classes = Vec::new();
        if self.cfg.person {
            classes.push(coco::PERSON);
        }
        if self.cfg.vehicle {
            classes.extend(VEHICLE_CLASSES);
        }
        let mut needs = Needs::detector(DetectorModel::Coco, classes, 0.1, self.fps);
        needs.motion_gated = self.cfg.motion_gating;
        needs
    }

    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        let detections = perception.detections(DetectorModel::Coco);
        let size = (frame.image.width(), frame.image.height());
        let time = frame.time;
        let filter = SizeFilter {
            min: self.cfg.min_size as f32,
            max: self.cfg.max_size as f32,
        };
        let dets: Vec<Detection> = detections
            .iter()
            .filter(|d| sane(d) && self.wanted(d.class_id) && filter.keeps(&d.bbox, size.1))
            .copied()
            .collect();
        let (tracks, removed) = self.tracker.update(frame, &dets);

        // [intrusion, loitering] disappear items.
        let mut gone: [Vec<(Value, BBox)>; 2] = [Vec::new(), Vec::new()];
        for id in &removed {
            let keys: Vec<(u64, usize)> = self
                .presence
                .range((*id, 0)..=(*id, usize::MAX))
                .map(|(k, _)| *k)
                .collect();
            for k in keys {
                if let Some(p) = self.presence.remove(&k) {
                    self.leave(k, &p, &mut gone);
                }
            }
            for l in &mut self.lines {
                l.remove(*id);
            }
        }
        for id in &removed {
            self.tracks.remove(id);
        }

        let mut new_items: Vec<(Value, BBox)> = Vec::new();
        let mut loiter_items: Vec<(Value, BBox)> = Vec::new();
        let track_areas = self.cfg.region || self.cfg.loitering;
        for t in &tracks {
            let b = clip(&t.det_bbox, size);
            let entry = self.tracks.entry(t.id).or_insert(TrackInfo {
                class_id: t.class_id,
                bbox: b,
                seen_outside: BTreeSet::new(),
            });
            entry.bbox = b;
            entry.class_id = t.class_id;
            let a = anchor(&b);

            if self.cfg.line {
                for i in 0..self.lines.len() {
                    if let Some(c) = self.lines[i].update(t.id, a) {
                        let line = &self.lines[i].line;
                        let (from, to) = (side_name(line, c.from), side_name(line, c.to));
                        new_items.extend(self.item(t.id, &from, &to, None));
                    }
                }
            }
            if !track_areas {
                continue;
            }
            for k in 0..self.areas.len() {
                let inside = self.areas[k].contains(a, size);
                let key = (t.id, k);
                if inside {
                    let came_from_outside = self.tracks.get(&t.id).is_some_and(|i| i.seen_outside.contains(&k));
                    let p = self.presence.entry(key).or_insert(Presence {
                        since: time,
                        last_inside: time,
                        came_from_outside,
                        intrusion_alarmed: false,
                        loiter_alarmed: false,
                    });
                    p.last_inside = time;
                    let new_intrusion = self.cfg.region && !p.intrusion_alarmed;
                    let new_loiter =
                        self.cfg.loitering && !p.loiter_alarmed && time - p.since >= self.cfg.loitering_time;
                    p.intrusion_alarmed |= new_intrusion;
                    p.loiter_alarmed |= new_loiter;
                    let start = if p.came_from_outside { "out" } else { "in" };
                    let name = self.areas[k].name();
                    if new_intrusion {
                        new_items.extend(self.item(t.id, start, "in", name));
                    }
                    if new_loiter {
                        loiter_items.extend(self.item(t.id, "in", "in", name));
                    }
                } else {
                    if let Some(info) = self.tracks.get_mut(&t.id) {
                        info.seen_outside.insert(k);
                    }
                    let left = self
                        .presence
                        .get(&key)
                        .is_some_and(|p| time - p.last_inside >= LEAVE_SECS);
                    if left {
                        if let Some(p) = self.presence.remove(&key) {
                            self.leave(key, &p, &mut gone);
                        }
                    }
                }
            }
        }

        let mut events = Vec::new();
        if !new_items.is_empty() {
            let mut items = new_items;
            if self.cfg.all_print && self.cfg.region {
                // Every target currently in an area, besides the new ones.
                let listed: BTreeSet<String> = items
                    .iter()
                    .filter_map(|(v, _)| v.get("detection_id").and_then(Value::as_str).map(str::to_string))
                    .collect();
                let current: BTreeSet<u64> = tracks.iter().map(|t| t.id).collect();
                let mut extra = Vec::new();
                for (&(id, k), p) in &self.presence {
                    if p.intrusion_alarmed
                        && current.contains(&id)
                        && p.last_inside == time
                        && !listed.contains(&detection_id(self.seed, id))
                    {
                        extra.extend(self.item(id, "in", "in", self.areas.get(k).and_then(Area::name)));
                    }
                }
                items.extend(extra);
            }
            events.push(self.event(INTRUSION, items, 0));
        }
        if !loiter_items.is_empty() {
            events.push(self.event(LOITERING, loiter_items, 0));
        }
        let [gone_intrusion, gone_loiter] = gone;
        if !gone_intrusion.is_empty() {
            events.push(self.event(INTRUSION, gone_intrusion, 1));
        }
        if !gone_loiter.is_empty() {
            events.push(self.event(LOITERING, gone_loiter, 1));
        }
        Ok(events)
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}

fn side_name(line: &vigil_vision::roi::RoiLine, side: Side) -> String {
    line.side_name(side).to_string()
}
