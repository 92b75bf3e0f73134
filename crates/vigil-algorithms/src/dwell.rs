//! Dwell: how long tracked objects have stayed in zones, and when that raises an alarm. Shared
//! by the analyzers whose rule is "an object of these classes stays in this area" (shared
//! bicycle, non-motor vehicle, umbrella, vessel intrusion).
//!
//! An analyzer filters its detections and calls [`Dwell::update`] once per analysed frame; it
//! gets back [`Notice`]s (alarm, periodic repeat, disappearance) and turns them into payloads.
//!
//! Rules, per (track, zone) stay, all on frame time:
//! - A stay starts when a confirmed track's anchor (bottom-centre of its box) is first seen in
//!   the zone. It raises [`NoticeKind::Alarm`] once it has lasted [`StayRule::threshold`]
//!   seconds (0: on entry), then, in [`AlertMode::Periodic`], [`NoticeKind::Repeat`] every
//!   `interval` seconds while it lasts. One alarm per stay: a track never alarms twice for one
//!   stay, whatever the detector does.
//! - Detector dropouts do not end a stay. An object last seen standing still ([`Seen`]), for
//!   [`STILL_WINDOW`] and away from the frame border ([`BORDER_MARGIN`]), is believed to be
//!   where it was last seen: its stay goes on for as long as the tracker keeps the track
//!   ([`weak_static`]: 6 s), and may alarm if it was watched in the zone for [`STILL_WINDOW`].
//!   Parked objects are the ones a detector misses most (the parked bicycle of the test clip
//!   is missed for up to 3.4 s at a time). An object last seen moving that is not seen for
//!   [`LEAVE_SECS`] has gone; any other unseen stay waits, without alarming, until its object
//!   is seen again or dropped.
//! - A stay also ends when the object is seen outside the zone for [`LEAVE_SECS`], or (for
//!   [`StayRule::still`]) when it moves away from where it settled.
//! - An alarmed stay that ends raises one [`NoticeKind::Disappear`] (the analyzer decides
//!   whether to report it: `event_disappear_alert_sw`).
//! - `detection_id` is stable per object: [`detection_id`] of the analyzer's seed and the id of
//!   the track that began the stay. When the tracker loses an object and another track turns
//!   up at the same place ([`near`] the unseen track's last box), that track takes the stay
//!   over: no second alarm, same `detection_id`. A track found again elsewhere after
//!   [`LEAVE_SECS`] unseen has jumped to another object (the tracker's prediction carried it
//!   there): its stays end and it starts afresh.
//! - Two boxes of one class that are one object seen twice are merged before tracking
//!   ([`NESTED_SHARE`]), so one object is one track.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde_json::{json, Map, Value};
use vigil_vision::{BBox, Detection, Point, Roi, TrackerConfig};

use crate::analyzer::FrameInput;
use crate::common::{anchor, bbox_json, clip, detection_id, Area, RateTracker};

/// Seconds a track must be seen outside a zone (or, moving, not be seen) before its stay ends:
/// jitter on the border and one missed frame end nothing.
pub(crate) const LEAVE_SECS: f64 = 1.0;

/// An object stands still while its anchor stays within this fraction of its box's larger side
/// of where it was [`STILL_WINDOW`] earlier (for [`StayRule::still`]: of where its stay began).
/// Three quarters of a box absorbs the jitter of the weak, partial boxes of a parked bicycle
/// (measured: anchors 31 px apart on 61 px boxes) and is crossed within a second by a cyclist.
pub(crate) const STILL_RADIUS: f32 = 0.75;

/// Seconds over which stillness is judged.
pub(crate) const STILL_WINDOW: f64 = 1.0;

/// A box within this fraction of the frame's larger side of the left, right or bottom edge
/// touches the border: an object last seen there may be leaving the picture (cut by the
/// frame edge, its anchor hardly moves), so it is not believed to stay while unseen. The top
/// edge is left out: tall objects close to the camera reach it.
pub(crate) const BORDER_MARGIN: f32 = 0.02;

/// Two boxes of one class are one object seen twice when this share of the smaller box lies
/// inside the larger, or of the narrower box's width lies over the other's and their bottoms
/// are within [`SAME_BOTTOM`] of the taller box's height (YOLOX-Nano boxes a boat's hull and the
/// whole boat with its mast, a bicycle and its rear half): the lower-scored box is dropped
/// before tracking. Two real objects one behind the other stand on different ground lines.
pub(crate) const NESTED_SHARE: f32 = 0.8;

/// See [`NESTED_SHARE`].
pub(crate) const SAME_BOTTOM: f32 = 0.1;

/// `alert_mode`: report a stay once, or again every period while it lasts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum AlertMode {
    Single,
    /// Seconds between reports of one stay (`alert_detection_interval`).
    Periodic {
        interval: f64,
    },
}

impl AlertMode {
    /// From the `alert_mode` key (`single` | `periodic`, validated by the catalogue) and
    /// `alert_detection_interval` in seconds.
    pub(crate) fn from_keys(mode: &str, interval: f64) -> Self {
        if mode == "periodic" {
            AlertMode::Periodic {
                interval: interval.max(1.0),
            }
        } else {
            AlertMode::Single
        }
    }
}

/// When a stay in a zone alarms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct StayRule {
    /// Seconds of stay before the alarm; 0 alarms on entry.
    pub threshold: f64,
    pub mode: AlertMode,
    /// Only time spent without moving counts (parking): see [`STILL_RADIUS`].
    pub still: bool,
}

/// Where a zone is.
#[derive(Debug, Clone)]
pub(crate) enum ZoneShape {
    /// Inside an area (an ROI polygon or the whole frame).
    Inside(Area),
    /// Everywhere outside all these areas (non-motor vehicles: outside `legal_area`); with no
    /// area at all, the whole frame.
    OutsideAll(Vec<Area>),
}

impl ZoneShape {
    pub(crate) fn contains(&self, p: Point, size: (u32, u32)) -> bool {
        match self {
            ZoneShape::Inside(area) => area.contains(p, size),
            ZoneShape::OutsideAll(areas) => {
                Area::WholeFrame.contains(p, size) && !areas.iter().any(|a| a.contains(p, size))
            }
        }
    }

    /// The polygon name echoed as `polygon_name` (`None` for unnamed and outside zones).
    pub(crate) fn name(&self) -> Option<&str> {
        match self {
            ZoneShape::Inside(area) => area.name(),
            ZoneShape::OutsideAll(_) => None,
        }
    }
}

/// One zone and its rule.
#[derive(Debug, Clone)]
pub(crate) struct Zone {
    pub shape: ZoneShape,
    pub rule: StayRule,
}

/// What happened to a stay in this frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoticeKind {
    /// The stay reached its threshold (once per stay).
    Alarm,
    /// Periodic mode: the alarmed stay is still there after another interval.
    Repeat,
    /// An alarmed stay ended (the object left, moved off, or was lost).
    Disappear,
}

/// One alarm-worthy change of one stay.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Notice {
    pub kind: NoticeKind,
    /// Index of the zone in the list given to [`Dwell::new`].
    pub zone: usize,
    pub track_id: u64,
    pub class_id: u32,
    /// The object's latest box, clipped to the frame.
    pub bbox: BBox,
    pub detection_id: String,
    /// Seconds the stay has lasted.
    pub stayed: f64,
}

#[derive(Debug, Clone)]
struct Stay {
    since: f64,
    last_inside: f64,
    /// Frame time of the first of the sightings outside the zone since the last one inside.
    outside_since: Option<f64>,
    /// Anchor where the stay began (for `still`).
    settled: Point,
    /// Frame time of the latest alarm or repeat; `None` until the stay alarms.
    reported: Option<f64>,
    /// Track id the stay's `detection_id` is derived from: the track that began it, kept when
    /// another track takes the stay over.
    identity: u64,
}

/// The latest sighting of a live track, and whether it stood still then.
#[derive(Debug, Clone)]
struct Seen {
    class_id: u32,
    bbox: BBox,
    /// Frame time of the latest sighting.
    time: f64,
    /// Anchors of the sightings of the last two [`STILL_WINDOW`]s.
    history: VecDeque<(f64, Point)>,
    /// Frame time of the first sighting.
    first: f64,
    still: bool,
    at_border: bool,
    /// Frame size of the latest sighting.
    size: (u32, u32),
}

impl Seen {
    fn new(class_id: u32, bbox: BBox) -> Self {
        Seen {
            class_id,
            bbox,
            time: f64::NEG_INFINITY,
            history: VecDeque::new(),
            first: f64::NAN,
            still: true,
            at_border: false,
            size: (0, 0),
        }
    }

    /// Records a sighting: the object stands still when it is within [`STILL_RADIUS`] of where
    /// it was [`STILL_WINDOW`] ago (of its first sighting while the track is younger).
    fn saw(&mut self, time: f64, bbox: BBox, size: (u32, u32)) {
        let a = anchor(&bbox);
        if self.first.is_nan() {
            self.first = time;
        }
        while self
            .history
            .front()
            .is_some_and(|(t, _)| *t < time - 2.0 * STILL_WINDOW)
        {
            self.history.pop_front();
        }
        let reference = self
            .history
            .iter()
            .rev()
            .find(|(t, _)| *t <= time - STILL_WINDOW)
            .or(self.history.front())
            .map(|(_, p)| *p);
        self.still = reference.is_none_or(|p| distance(p, a) <= STILL_RADIUS * side(&bbox));
        self.history.push_back((time, a));
        let m = BORDER_MARGIN * size.0.max(size.1) as f32;
        self.at_border = bbox.x1 <= m || bbox.x2 >= size.0 as f32 - m || bbox.y2 >= size.1 as f32 - m;
        self.bbox = bbox;
        self.time = time;
        self.size = size;
    }

    /// Takes over the past of `older` (a track lost at the same place), then judges stillness
    /// again on the joint history: a fragment of a cyclist is still moving, a re-found parked
    /// bicycle has stood for long.
    fn inherit(&mut self, older: &Seen) {
        if older.first >= self.first {
            return;
        }
        self.first = older.first;
        let (time, bbox) = (self.time, self.bbox);
        let own = std::mem::replace(&mut self.history, older.history.clone());
        self.history.extend(own.into_iter().filter(|(t, _)| *t < time));
        self.time = f64::NEG_INFINITY;
        self.saw(time, bbox, self.size);
    }

    /// Believed to be where it was last seen although not seen now: it had stood still for
    /// [`STILL_WINDOW`] (a younger track may be an object entering the picture, its anchor
    /// hardly moving while more of it comes into view, or a fragment of a fast one), away from
    /// the border.
    fn stays_unseen(&self) -> bool {
        self.still && !self.at_border && self.time - self.first >= STILL_WINDOW
    }
}

/// Tracks objects and their stays in zones (see the module docs).
pub(crate) struct Dwell {
    tracker: RateTracker,
    zones: Vec<Zone>,
    seed: u64,
    /// Latest class and box of every live track.
    seen: BTreeMap<u64, Seen>,
    /// (track id, zone index) → stay.
    stays: BTreeMap<(u64, usize), Stay>,
    /// Classes the detector swaps on one object (a bicycle seen as a motorcycle a second later):
    /// a new track of one may carry on the stay of an unseen track of another.
    interchangeable: Vec<u32>,
}

impl Dwell {
    /// `seed` makes the `detection_id`s differ between tasks. The tracker is tuned for weakly
    /// detected static objects ([`weak_static`]).
    pub(crate) fn new(zones: Vec<Zone>, seed: u64) -> Self {
        Self {
            tracker: RateTracker::tuned(weak_static),
            zones,
            seed,
            seen: BTreeMap::new(),
            stays: BTreeMap::new(),
            interchangeable: Vec::new(),
        }
    }

    /// Lets a new track of any of `classes` inherit the stay of an unseen track of another of
    /// them (one object whose class the detector changed: one alarm, one `detection_id`).
    pub(crate) fn with_interchangeable(mut self, classes: &[u32]) -> Self {
        self.interchangeable = classes.to_vec();
        self
    }

    fn same_kind(&self, a: u32, b: u32) -> bool {
        a == b || self.interchangeable.contains(&a) && self.interchangeable.contains(&b)
    }

    /// Feeds one frame's detections (already filtered to the analyzer's classes, sizes and
    /// [`crate::common::sane`] boxes); returns this frame's notices, in zone then track order.
    pub(crate) fn update(&mut self, frame: &FrameInput, dets: &[Detection]) -> Vec<Notice> {
        let size = (frame.image.width(), frame.image.height());
        let time = frame.time;
        let (tracks, removed) = self.tracker.update(frame, &merge_duplicates(dets));
        let mut out = Vec::new();

        for id in removed {
            for key in self.keys_of(id) {
                self.end(key, time, &mut out);
            }
            self.seen.remove(&id);
        }

        let matched: BTreeSet<u64> = tracks.iter().map(|t| t.id).collect();
        for t in &tracks {
            let bbox = clip(&t.det_bbox, size);
            let jumped = self
                .seen
                .get(&t.id)
                .is_some_and(|s| time - s.time >= LEAVE_SECS && !near(&s.bbox, &bbox));
            if jumped {
                // Found again somewhere else after a while: the tracker's prediction carried the
                // track onto another object. What it had is over; it starts afresh.
                for key in self.keys_of(t.id) {
                    self.end(key, time, &mut out);
                }
                self.seen.remove(&t.id);
            }
            self.seen
                .entry(t.id)
                .or_insert_with(|| Seen::new(t.class_id, bbox))
                .saw(time, bbox, size);
            let a = anchor(&bbox);
            let reach = STILL_RADIUS * side(&bbox);
            for k in 0..self.zones.len() {
                let key = (t.id, k);
                if !self.zones[k].shape.contains(a, size) {
                    let left = self.stays.get_mut(&key).is_some_and(|s| {
                        let since = *s.outside_since.get_or_insert(time);
                        time - since >= LEAVE_SECS
                    });
                    if left {
                        self.end(key, time, &mut out);
                    }
                    continue;
                }
                if !self.stays.contains_key(&key) {
                    if let Some(heir) = self.orphan_stay(k, t.class_id, &bbox, &matched) {
                        // The tracker lost the object and started a new track on it: the new
                        // track carries its stay on (one object, one alarm, one detection_id).
                        if let Some(stay) = self.stays.remove(&heir) {
                            self.stays.insert(key, stay);
                        }
                        if let Some(older) = self.seen.get(&heir.0).cloned() {
                            if let Some(s) = self.seen.get_mut(&t.id) {
                                s.inherit(&older);
                            }
                        }
                    }
                }
                if self.zones[k].rule.still && self.stays.get(&key).is_some_and(|s| distance(s.settled, a) > reach) {
                    // It moved: a new stay begins where it is now.
                    self.end(key, time, &mut out);
                }
                self.stays
                    .entry(key)
                    .and_modify(|s| {
                        s.last_inside = time;
                        s.outside_since = None;
                    })
                    .or_insert_with(|| Stay {
                        since: time,
                        last_inside: time,
                        outside_since: None,
                        settled: a,
                        reported: None,
                        identity: t.id,
                    });
            }
        }

        // Unseen objects last seen moving or at the border have gone after LEAVE_SECS.
        let gone: Vec<(u64, usize)> = self
            .stays
            .keys()
            .filter(|(id, _)| {
                !matched.contains(id)
                    && self
                        .seen
                        .get(id)
                        .is_none_or(|s| !s.still && time - s.time >= LEAVE_SECS)
            })
            .copied()
            .collect();
        for key in gone {
            self.end(key, time, &mut out);
        }

        // Alarms and repeats of the stays whose object is there: seen in the zone now, or last
        // seen in it standing still.
        let mut due = Vec::new();
        for (&key, stay) in self.stays.iter_mut() {
            let Some(seen) = self.seen.get(&key.0) else {
                continue;
            };
            // Unseen, it alarms only after being watched standing in the zone for STILL_WINDOW.
            let here = stay.last_inside == seen.time
                && (matched.contains(&key.0) || (seen.stays_unseen() && stay.last_inside - stay.since >= STILL_WINDOW));
            if !here {
                continue;
            }
            let rule = self.zones[key.1].rule;
            let stayed = time - stay.since;
            let kind = match (stay.reported, rule.mode) {
                (None, _) if stayed >= rule.threshold => Some(NoticeKind::Alarm),
                (Some(last), AlertMode::Periodic { interval }) if time - last >= interval => Some(NoticeKind::Repeat),
                _ => None,
            };
            if let Some(kind) = kind {
                stay.reported = Some(time);
                due.push((kind, key, stayed, stay.identity));
            }
        }
        out.extend(
            due.into_iter()
                .map(|(kind, key, stayed, identity)| self.notice(kind, key, stayed, identity)),
        );
        out.sort_by_key(|n| (n.zone, n.track_id));
        out
    }

    /// The stay in zone `zone` of an unseen track of class `class_id` last seen [`near`]
    /// `bbox` (the nearest one).
    fn orphan_stay(&self, zone: usize, class_id: u32, bbox: &BBox, matched: &BTreeSet<u64>) -> Option<(u64, usize)> {
        self.stays
            .keys()
            .filter(|(id, z)| *z == zone && !matched.contains(id))
            .filter_map(|key| {
                let seen = self.seen.get(&key.0)?;
                (self.same_kind(seen.class_id, class_id) && near(&seen.bbox, bbox))
                    .then(|| (*key, distance(anchor(&seen.bbox), anchor(bbox))))
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(key, _)| key)
    }

    fn keys_of(&self, id: u64) -> Vec<(u64, usize)> {
        self.stays.range((id, 0)..=(id, usize::MAX)).map(|(k, _)| *k).collect()
    }

    /// The §6.4 item of a tracked object in a polygon: `bounding_box`, `detection_id`, and
    /// `polygon_name` when the notice's zone has a name (shared bicycle, umbrella, vessel).
    pub(crate) fn item(&self, n: &Notice) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("bounding_box".into(), bbox_json(&n.bbox));
        m.insert("detection_id".into(), json!(n.detection_id));
        if let Some(name) = self.zones.get(n.zone).and_then(|z| z.shape.name()) {
            m.insert("polygon_name".into(), json!(name));
        }
        m
    }

    /// Ends a stay; an alarmed one leaves a disappear notice.
    fn end(&mut self, key: (u64, usize), time: f64, out: &mut Vec<Notice>) {
        if let Some(stay) = self.stays.remove(&key) {
            if stay.reported.is_some() {
                out.push(self.notice(NoticeKind::Disappear, key, time - stay.since, stay.identity));
            }
        }
    }

    fn notice(&self, kind: NoticeKind, (track_id, zone): (u64, usize), stayed: f64, identity: u64) -> Notice {
        let (class_id, bbox) = self
            .seen
            .get(&track_id)
            .map_or((0, BBox::new(0.0, 0.0, 0.0, 0.0)), |s| (s.class_id, s.bbox));
        Notice {
            kind,
            zone,
            track_id,
            class_id,
            bbox,
            detection_id: detection_id(self.seed, identity),
            stayed,
        }
    }
}

/// One zone per ROI polygon with `rule`, or the whole frame when the ROI has no polygon.
pub(crate) fn polygon_zones(roi: &Roi, rule: StayRule) -> Vec<Zone> {
    let areas: Vec<Area> = if roi.polygons.is_empty() {
        vec![Area::WholeFrame]
    } else {
        roi.polygons.iter().cloned().map(Area::Polygon).collect()
    };
    areas
        .into_iter()
        .map(|a| Zone {
            shape: ZoneShape::Inside(a),
            rule,
        })
        .collect()
}

/// Tracker settings for small, partly hidden or parked objects that YOLOX-Nano scores low
/// (the parked bicycle of `street_parked_bicycle.mp4` scores 0.1–0.45 and is missed on one
/// frame in three, up to 3.4 s in a row): detections from 0.2 count as confident, a track
/// starts from 0.25, matching uses plain IoU (score-fused IoU never matches a 0.2 box), and a
/// lost track is kept twice as long (6 s instead of 3 s).
pub(crate) fn weak_static(cfg: TrackerConfig) -> TrackerConfig {
    TrackerConfig {
        high_threshold: 0.2,
        new_track_threshold: 0.25,
        fuse_score: false,
        match_threshold: 0.65,
        refind_radius: 0.5,
        max_lost_frames: cfg.max_lost_frames.saturating_mul(2),
        ..cfg
    }
}

/// `dets` without the boxes that duplicate a better-scored box of the same class
/// ([`NESTED_SHARE`]).
fn merge_duplicates(dets: &[Detection]) -> Vec<Detection> {
    let mut order: Vec<&Detection> = dets.iter().collect();
    order.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::with_capacity(dets.len());
    for d in order {
        if !kept
            .iter()
            .any(|k| k.class_id == d.class_id && same_object(&k.bbox, &d.bbox))
        {
            kept.push(*d);
        }
    }
    kept
}

fn same_object(a: &BBox, b: &BBox) -> bool {
    let w = (a.x2.min(b.x2) - a.x1.max(b.x1)).max(0.0);
    let h = (a.y2.min(b.y2) - a.y1.max(b.y1)).max(0.0);
    let smaller = a.area().min(b.area());
    let nested = smaller > 0.0 && w * h >= NESTED_SHARE * smaller;
    let narrower = a.width().min(b.width());
    let same_ground = narrower > 0.0
        && w >= NESTED_SHARE * narrower
        && (a.y2 - b.y2).abs() <= SAME_BOTTOM * a.height().max(b.height());
    nested || same_ground
}

/// The larger side of a box.
fn side(b: &BBox) -> f32 {
    b.width().max(b.height())
}

/// Two boxes are about the same place: anchors within [`STILL_RADIUS`] of the smaller box's
/// larger side. Judged on anchors, not overlap: the weak boxes of one parked bicycle (whole,
/// rear half, with the railing) overlap by as little as 0.28 IoU; the smaller box keeps a
/// cyclist riding past from being taken for the bicycle parked there.
fn near(a: &BBox, b: &BBox) -> bool {
    distance(anchor(a), anchor(b)) <= STILL_RADIUS * side(a).min(side(b))
}

fn distance(a: Point, b: Point) -> f32 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_vision::ImageBgr;

    const RATE: f64 = 5.0;

    fn zone(x1: f32, y1: f32, x2: f32, y2: f32, rule: StayRule) -> Zone {
        let roi = vigil_vision::Roi::parse(&format!(
            r#"{{"polygons":[{{"data":[[{x1},{y1}],[{x2},{y1}],[{x2},{y2}],[{x1},{y2}]],"name":"illegal01"}}]}}"#
        ))
        .expect("roi");
        Zone {
            shape: ZoneShape::Inside(Area::Polygon(roi.polygons[0].clone())),
            rule,
        }
    }

    fn rule(threshold: f64, mode: AlertMode, still: bool) -> StayRule {
        StayRule { threshold, mode, still }
    }

    fn det(x: f32, y: f32) -> Detection {
        Detection {
            bbox: BBox::new(x, y, x + 40.0, y + 60.0),
            score: 0.8,
            class_id: 1,
        }
    }

    /// Runs `frames` (detections per frame) at 5 fps; returns (time, notice) pairs.
    fn run(dwell: &mut Dwell, frames: &[Vec<Detection>]) -> Vec<(f64, Notice)> {
        let img = ImageBgr::filled(320, 240, [0, 0, 0]).expect("image");
        let mut out = Vec::new();
        for (i, dets) in frames.iter().enumerate() {
            let frame = FrameInput {
                image: &img,
                time: i as f64 / RATE,
                epoch: 0,
                rate: RATE,
            };
            out.extend(dwell.update(&frame, dets).into_iter().map(|n| (frame.time, n)));
        }
        out
    }

    fn kinds(notices: &[(f64, Notice)]) -> Vec<(f64, NoticeKind)> {
        notices
            .iter()
            .map(|(t, n)| ((t * 10.0).round() / 10.0, n.kind))
            .collect()
    }

    #[test]
    fn single_alarms_once_after_threshold_and_survives_dropouts() {
        let mut d = Dwell::new(
            vec![zone(50.0, 50.0, 200.0, 200.0, rule(2.0, AlertMode::Single, false))],
            7,
        );
        // Parked at (80,100) for 6 s, missed on frames 5-9 (a 1 s dropout) and 20-24.
        let frames: Vec<Vec<Detection>> = (0..30)
            .map(|i| {
                if (5..10).contains(&i) || (20..25).contains(&i) {
                    vec![]
                } else {
                    vec![det(80.0, 100.0)]
                }
            })
            .collect();
        let n = run(&mut d, &frames);
        assert_eq!(kinds(&n), vec![(2.0, NoticeKind::Alarm)]);
        assert!((n[0].1.stayed - 2.0).abs() < 1e-9);
        assert_eq!(n[0].1.detection_id, detection_id(7, n[0].1.track_id));
        assert_eq!(n[0].1.bbox, BBox::new(80.0, 100.0, 120.0, 160.0));
    }

    #[test]
    fn periodic_repeats_every_interval_while_it_stays() {
        let mut d = Dwell::new(
            vec![zone(
                50.0,
                50.0,
                200.0,
                200.0,
                rule(1.0, AlertMode::Periodic { interval: 2.0 }, false),
            )],
            7,
        );
        let frames: Vec<Vec<Detection>> = (0..36).map(|_| vec![det(80.0, 100.0)]).collect();
        let n = run(&mut d, &frames);
        assert_eq!(
            kinds(&n),
            vec![
                (1.0, NoticeKind::Alarm),
                (3.0, NoticeKind::Repeat),
                (5.0, NoticeKind::Repeat),
                (7.0, NoticeKind::Repeat)
            ]
        );
        let ids: Vec<&str> = n.iter().map(|(_, x)| x.detection_id.as_str()).collect();
        assert!(ids.windows(2).all(|w| w[0] == w[1]), "one detection_id per track");
    }

    #[test]
    fn leaving_ends_an_alarmed_stay_once_and_a_new_entry_is_a_new_stay() {
        let mut d = Dwell::new(
            vec![zone(50.0, 50.0, 200.0, 200.0, rule(1.0, AlertMode::Single, false))],
            7,
        );
        // In the zone 0-2.8 s, walks out (anchor outside from 3.0 s: gone at 4.0 s), turns back
        // at 3.8 s and is inside again from 4.4 s; it moves 20 px a frame, so the tracker keeps
        // its id.
        let frames: Vec<Vec<Detection>> = (0..30)
            .map(|i: i32| {
                let x = match i {
                    0..=9 => 80.0,
                    10..=19 => 80.0 + 20.0 * (i - 9).min(8) as f32,
                    _ => 240.0 - 20.0 * (i - 19).min(8) as f32,
                };
                vec![det(x, 100.0)]
            })
            .collect();
        let n = run(&mut d, &frames);
        let k: Vec<NoticeKind> = n.iter().map(|(_, x)| x.kind).collect();
        assert_eq!(k, vec![NoticeKind::Alarm, NoticeKind::Disappear, NoticeKind::Alarm]);
        assert_eq!(
            kinds(&n),
            vec![
                (1.0, NoticeKind::Alarm),
                (4.0, NoticeKind::Disappear),
                (5.4, NoticeKind::Alarm)
            ]
        );
        assert_ne!(n[0].1.track_id, 0);
    }

    #[test]
    fn an_unseen_parked_object_stays_and_alarms_until_the_tracker_drops_it() {
        let mut d = Dwell::new(
            vec![zone(50.0, 50.0, 200.0, 200.0, rule(4.0, AlertMode::Single, false))],
            7,
        );
        // Parked, seen 0-2.8 s, then never again: it stays (and alarms at 4 s where it was last
        // seen); the tracker drops it 6 s after the last sighting (frame 45, 9.0 s).
        let frames: Vec<Vec<Detection>> = (0..50)
            .map(|i| if i < 15 { vec![det(80.0, 100.0)] } else { vec![] })
            .collect();
        let n = run(&mut d, &frames);
        assert_eq!(kinds(&n), vec![(4.0, NoticeKind::Alarm), (9.0, NoticeKind::Disappear)]);
        assert_eq!(n[0].1.track_id, n[1].1.track_id);
        assert_eq!(n[0].1.bbox, BBox::new(80.0, 100.0, 120.0, 160.0), "the last box seen");
    }

    #[test]
    fn an_unseen_moving_object_is_gone_after_leave_secs() {
        let mut d = Dwell::new(
            vec![zone(0.0, 0.0, 320.0, 240.0, rule(1.0, AlertMode::Single, false))],
            7,
        );
        // Rides right at 20 px a frame from 0 to 2 s, then is not seen any more.
        let frames: Vec<Vec<Detection>> = (0..25)
            .map(|i| {
                if i <= 10 {
                    vec![det(20.0 + 20.0 * i as f32, 100.0)]
                } else {
                    vec![]
                }
            })
            .collect();
        let n = run(&mut d, &frames);
        assert_eq!(kinds(&n), vec![(1.0, NoticeKind::Alarm), (3.0, NoticeKind::Disappear)]);
    }

    #[test]
    fn still_rule_counts_only_stationary_time() {
        let mut d = Dwell::new(
            vec![zone(0.0, 0.0, 320.0, 240.0, rule(2.0, AlertMode::Single, true))],
            7,
        );
        // Rides slowly across for 3 s (12 px a frame: it leaves the 45 px reach of where it
        // settled every 4 frames), then stops at 3 s: the stay that began at 2.4 s (x 154, 36 px
        // from where it stops) alarms at 4.4 s.
        let frames: Vec<Vec<Detection>> = (0..30)
            .map(|i| vec![det(10.0 + 12.0 * i.min(15) as f32, 100.0)])
            .collect();
        let n = run(&mut d, &frames);
        assert_eq!(kinds(&n), vec![(4.4, NoticeKind::Alarm)]);
    }

    #[test]
    fn outside_all_zone_is_the_complement_of_its_areas() {
        let roi = vigil_vision::Roi::parse(
            r#"{"polygons":[{"data":[[0,0],[100,0],[100,240],[0,240]],"name":"legal_area"}]}"#,
        )
        .expect("roi");
        let shape = ZoneShape::OutsideAll(vec![Area::Polygon(roi.polygons[0].clone())]);
        assert!(!shape.contains(Point::new(50.0, 100.0), (320, 240)));
        assert!(shape.contains(Point::new(150.0, 100.0), (320, 240)));
        assert!(!shape.contains(Point::new(400.0, 100.0), (320, 240)));
        assert!(ZoneShape::OutsideAll(vec![]).contains(Point::new(50.0, 100.0), (320, 240)));
        assert_eq!(shape.name(), None);
    }

    #[test]
    fn nested_boxes_of_one_class_are_one_object() {
        let d = |x1: f32, y1: f32, x2: f32, y2: f32, score: f32, class_id: u32| Detection {
            bbox: BBox::new(x1, y1, x2, y2),
            score,
            class_id,
        };
        // Hull (0.7) inside the whole boat (0.5): the hull stays; another class and a box
        // beside it stay too.
        let kept = merge_duplicates(&[
            d(0.0, 0.0, 100.0, 100.0, 0.5, 8),
            d(10.0, 70.0, 95.0, 100.0, 0.7, 8),
            d(10.0, 70.0, 95.0, 100.0, 0.6, 1),
            d(90.0, 0.0, 190.0, 100.0, 0.4, 8),
        ]);
        let scores: Vec<f32> = kept.iter().map(|k| k.score).collect();
        assert_eq!(scores, vec![0.7, 0.6, 0.4]);
        // Measured on the boat clip: hull and whole boat share the waterline (76% nested).
        let kept = merge_duplicates(&[
            d(239.0, 311.0, 354.0, 336.0, 0.55, 8),
            d(241.0, 234.0, 350.0, 331.0, 0.23, 8),
        ]);
        assert_eq!(kept.len(), 1);
        // One object behind another stands higher: both stay.
        let kept = merge_duplicates(&[d(0.0, 50.0, 100.0, 150.0, 0.5, 1), d(10.0, 20.0, 90.0, 100.0, 0.4, 1)]);
        assert_eq!(kept.len(), 2);
    }

    #[test]
    fn alert_mode_from_keys() {
        assert_eq!(AlertMode::from_keys("single", 60.0), AlertMode::Single);
        assert_eq!(
            AlertMode::from_keys("periodic", 60.0),
            AlertMode::Periodic { interval: 60.0 }
        );
    }
}
