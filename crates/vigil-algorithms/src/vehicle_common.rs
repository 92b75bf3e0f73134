//! What the vehicle analyzers share (vehicle detection, vehicle counting, wrong-way driving,
//! speeding): which COCO classes are vehicles and their VIAS `vehicle_type`, a tracker that keeps
//! one track through car/truck/bus label flips, each track's recent positions, and the VIAS
//! `direction`.
//!
//! - `vehicle_type` (spec §6.4 #14): car → 0, bus → 7; truck and motorcycle → 9 (other). COCO's
//!   `truck` covers pickups, vans, lorries, dump trucks, mixers and tankers alike, so none of the
//!   specific VIAS truck codes (1–6, 8) can be told; "other" is the one code that is never wrong.
//!   VIAS has no two-wheeler code. `tarpaulin_type` is always −1 (no muck-truck recognition),
//!   plates are `""` / 0 (no plate reader).
//! - `direction` (Huawei's vehicle page): 0 = the vehicle drives down the picture (towards a
//!   camera that looks along the road: its front is seen), 1 = it drives up the picture.
//! - The detector's labels of one vehicle flip between car, truck and bus from frame to frame,
//!   and its NMS is per class (a van may get a car box and a truck box). Vehicle boxes are
//!   therefore merged across classes and tracked as one class; each track's class is the
//!   score-weighted vote of its detections.

use std::collections::{BTreeMap, VecDeque};

use serde_json::{json, Value};
use vigil_vision::detect::coco;
use vigil_vision::{BBox, Detection, Point, TrackerConfig};

use crate::analyzer::{DetectorModel, FrameInput, Needs, Perception};
use crate::common::{anchor, bbox_json, clip, detection_id, sane, RateTracker};
pub(crate) use crate::intrusion::VEHICLE_CLASSES;

/// Tracking rate of the vehicle analyzers (analysed frames per second), the rate of the people
/// analyzers, so that a camera with both runs the detector once per analysed frame. Vehicles
/// cross a view in 2–3 s; on the car-park clip (tools/labels/vehicle_detection.md) the one car
/// the detector sees there is found on every line and area at 5, 10 and 12.5 fps, because a track
/// starts at its first detection, one analysed frame before it is confirmed
/// ([`VehicleTrack::started_at`]); without that, 5 fps found it on 1 of 3.
pub const VEHICLE_FPS: f64 = 5.0;

/// Seconds of positions kept per track (the longest window any vehicle analyzer looks back).
pub const HISTORY_S: f64 = 3.0;

/// Two vehicle boxes of different classes overlapping this much are one vehicle.
const SAME_VEHICLE_IOU: f32 = 0.6;

/// Seconds of positions a track needs before its `direction` is known (the first position has
/// no movement): two analysed frames at 5 fps, three at 10.
pub const DIRECTION_SPAN_S: f64 = 0.2;

/// A box edge within this many pixels of the frame border is cut by the border.
const BORDER_PX: f32 = 2.0;

/// The VIAS `vehicle_type` of a COCO class (module doc).
pub fn vehicle_type(class_id: u32) -> i64 {
    match class_id {
        coco::CAR => 0,
        coco::BUS => 7,
        _ => 9,
    }
}

/// The VIAS `direction` of a movement `dy` pixels down the picture (module doc).
pub fn direction_of(dy: f32) -> i64 {
    if dy >= 0.0 {
        0
    } else {
        1
    }
}

/// The COCO vehicle detector at `fps` (low score floor: the tracker wants weak boxes too).
pub(crate) fn vehicle_needs(fps: f64) -> Needs {
    Needs::detector(DetectorModel::Coco, VEHICLE_CLASSES.to_vec(), 0.1, fps)
}

/// One position of a track.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub time: f64,
    /// Bottom-centre of the box: where the vehicle meets the road.
    pub anchor: Point,
    /// False when the bottom, left or right edge of the box is cut by the frame border: the
    /// anchor then sits on the border, not under the vehicle.
    pub whole: bool,
}

/// A tracked vehicle.
#[derive(Debug, Clone)]
pub(crate) struct VehicleTrack {
    pub id: u64,
    /// The box of the latest matched detection, clipped to the frame.
    pub bbox: BBox,
    /// Score-weighted votes per [`VEHICLE_CLASSES`] entry.
    votes: [f32; 4],
    /// Positions of the last [`HISTORY_S`] seconds, oldest first.
    pub history: VecDeque<Sample>,
    /// In the frame the track is first reported only: the anchor of the detection that started
    /// it one analysed frame earlier (also the first `history` sample). Line counters take it
    /// first, so that a crossing between those two frames counts (0.2 s at 5 fps).
    pub started_at: Option<Point>,
}

impl VehicleTrack {
    /// The COCO class most of its detections had.
    pub fn class_id(&self) -> u32 {
        let best = (0..self.votes.len())
            .max_by(|&a, &b| self.votes[a].total_cmp(&self.votes[b]).then(b.cmp(&a)))
            .unwrap_or(0);
        VEHICLE_CLASSES[best]
    }

    pub fn vehicle_type(&self) -> i64 {
        vehicle_type(self.class_id())
    }

    pub fn anchor(&self) -> Point {
        anchor(&self.bbox)
    }

    /// True once its positions span [`DIRECTION_SPAN_S`] (its `direction` means something).
    pub fn settled(&self) -> bool {
        match (self.history.front(), self.history.back()) {
            (Some(a), Some(b)) => b.time - a.time >= DIRECTION_SPAN_S - 1e-6,
            _ => false,
        }
    }

    /// Direction of its movement over the kept history (0 when it has not moved).
    pub fn direction(&self) -> i64 {
        match (self.history.front(), self.history.back()) {
            (Some(a), Some(b)) => direction_of(b.anchor.y - a.anchor.y),
            _ => 0,
        }
    }

    /// The VIAS vehicle item: box, plate fields (none read), direction, `detection_id`.
    pub fn plate_item(&self, seed: u64) -> serde_json::Map<String, Value> {
        let mut m = serde_json::Map::new();
        m.insert("bounding_box".into(), bbox_json(&self.bbox));
        m.insert("license_plate_id".into(), json!(""));
        m.insert("license_plate_type".into(), json!(0));
        m.insert("direction".into(), json!(self.direction()));
        m.insert("detection_id".into(), json!(detection_id(seed, self.id)));
        m
    }
}

/// The vehicle tracks of one analyzer.
pub(crate) struct VehicleTracker {
    tracker: RateTracker,
    tracks: BTreeMap<u64, VehicleTrack>,
    /// Time of the previous analysed frame (when a track reported now was started).
    prev_time: Option<f64>,
}

impl VehicleTracker {
    pub fn new() -> Self {
        Self {
            tracker: RateTracker::tuned(|c| TrackerConfig {
                new_track_threshold: 0.5,
                ..c
            }),
            tracks: BTreeMap::new(),
            prev_time: None,
        }
    }

    /// Feeds one frame; returns the ids of the vehicles matched in it (ascending) and the ids
    /// dropped from the tracker's lost buffer.
    pub fn update(&mut self, frame: &FrameInput, perception: &Perception) -> (Vec<u64>, Vec<u64>) {
        let size = (frame.image.width(), frame.image.height());
        let dets = merged(perception.detections(DetectorModel::Coco));
        // One tracking class: a label flip must not end the track.
        let one_class: Vec<Detection> = dets
            .iter()
            .map(|d| Detection {
                class_id: coco::CAR,
                ..*d
            })
            .collect();
        let (tracks, removed) = self.tracker.update(frame, &one_class);
        for id in &removed {
            self.tracks.remove(id);
        }
        let mut ids = Vec::with_capacity(tracks.len());
        for t in &tracks {
            let class_id = dets
                .iter()
                .find(|d| d.bbox == t.det_bbox)
                .map_or(coco::CAR, |d| d.class_id);
            let b = clip(&t.det_bbox, size);
            let (w, h) = (size.0 as f32, size.1 as f32);
            let whole = |b: &BBox| b.y2 < h - BORDER_PX && b.x1 > BORDER_PX && b.x2 < w - BORDER_PX;
            let prev_time = self.prev_time;
            let mut started_at = None;
            let entry = self.tracks.entry(t.id).or_insert_with(|| {
                let mut history = VecDeque::new();
                // Confirmed on its second frame: the first one is the previous analysed frame.
                if let Some(time) = prev_time.filter(|_| t.start_frame + 1 == t.last_frame) {
                    let first = clip(&t.first_det_bbox, size);
                    started_at = Some(anchor(&first));
                    history.push_back(Sample {
                        time,
                        anchor: anchor(&first),
                        whole: whole(&first),
                    });
                }
                VehicleTrack {
                    id: t.id,
                    bbox: b,
                    votes: [0.0; 4],
                    history,
                    started_at: None,
                }
            });
            entry.started_at = started_at;
            entry.bbox = b;
            if let Some(k) = VEHICLE_CLASSES.iter().position(|c| *c == class_id) {
                entry.votes[k] += t.score.clamp(0.0, 1.0);
            }
            entry.history.push_back(Sample {
                time: frame.time,
                anchor: anchor(&b),
                whole: whole(&b),
            });
            // Also drops positions of a non-finite time (the newest one stays).
            let stale = |s: &Sample| s.time.is_nan() || frame.time.is_nan() || frame.time - s.time > HISTORY_S;
            while entry.history.len() > 1 && entry.history.front().is_some_and(stale) {
                entry.history.pop_front();
            }
            ids.push(t.id);
        }
        ids.sort_unstable();
        self.prev_time = Some(frame.time);
        (ids, removed)
    }

    pub fn get(&self, id: u64) -> Option<&VehicleTrack> {
        self.tracks.get(&id)
    }
}

/// Sane vehicle detections, one per vehicle: of boxes of different classes that overlap by
/// [`SAME_VEHICLE_IOU`], the best scored stays.
fn merged(all: &[Detection]) -> Vec<Detection> {
    let mut dets: Vec<Detection> = all
        .iter()
        .filter(|d| sane(d) && VEHICLE_CLASSES.contains(&d.class_id))
        .copied()
        .collect();
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::with_capacity(dets.len());
    for d in dets {
        if kept.iter().all(|k| k.bbox.iou(&d.bbox) < SAME_VEHICLE_IOU) {
            kept.push(d);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(x: f32, class_id: u32, score: f32) -> Detection {
        Detection {
            bbox: BBox::new(x, 100.0, x + 100.0, 300.0),
            score,
            class_id,
        }
    }

    #[test]
    fn codes_and_directions() {
        assert_eq!(vehicle_type(coco::CAR), 0);
        assert_eq!(vehicle_type(coco::BUS), 7);
        assert_eq!(vehicle_type(coco::TRUCK), 9);
        assert_eq!(vehicle_type(coco::MOTORCYCLE), 9);
        assert_eq!(direction_of(5.0), 0);
        assert_eq!(direction_of(-5.0), 1);
    }

    #[test]
    fn a_car_box_and_a_truck_box_of_one_van_are_one_vehicle() {
        let out = merged(&[
            det(0.0, coco::CAR, 0.6),
            det(5.0, coco::TRUCK, 0.8),
            det(400.0, coco::BUS, 0.7),
            det(0.0, coco::PERSON, 0.9),
        ]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].class_id, coco::TRUCK);
        assert_eq!(out[1].class_id, coco::BUS);
    }
}
