//! Fight detection (`c-fightdetect-edge/-cloud`, event 917504): two or more people close
//! together whose arms move fast and erratically for a while, from MultiPose tracks
//! ([`crate::pose_track`]). The spec gives this service no keys of its own.
//!
//! Behaviour (lengths in torso lengths `L`, times in seconds of frame time):
//! - Arm speed of a person: the fastest wrist or elbow between two consecutive poses, relative
//!   to the body centre (walking moves the whole body, not the arms against it), in `L`/s.
//! - Two people are *close* when their body centres are within [`REACH`] `L` (the larger of
//!   the two sizes): within arm's reach.
//! - A close pair is *active* on a frame when one of them moves an arm at least
//!   [`STRIKE_SPEED`] `L`/s and the other at least [`BUSY_SPEED`] `L`/s; it is *erratic* when
//!   the arm motion changes direction (consecutive motions more than 90° apart) on at least a
//!   third of the active frames.
//! - Alarm when a pair was active on at least 60 % of its frames over the last [`MIN_FIGHT`] s,
//!   and erratic; one alarm per pair, the next after [`QUIET_S`] s without activity.
//! - Message (spec §6.4 #8): `{"event_set": [{"bounding_box", "confidence"}]}`: the box around
//!   the pair and a confidence growing with the arm speed (0.5 at the threshold, 1.0 at twice).
//! - Known limit: people smaller than [`MIN_TORSO_PX`] px of torso are ignored (their wrists
//!   are too noisy); sports, dancing or horseplay at arm's reach look like a fight.

use std::collections::HashMap;

use serde_json::json;
use vigil_vision::{BBox, Roi};

use crate::analyzer::{Analyzer, AnalyzerError, Event, FrameInput, Needs, Perception};
use crate::common::{anchor, bbox_json, Area};
use crate::event_type::FIGHT;
use crate::pose_track::{kp, pose_needs, PoseTrack, PoseTracker, P, POSE_FPS};
use crate::registry::AnalyzerContext;
use crate::validate::{ConfigError, ValidatedCommon};

/// Body-centre distance (torso lengths) within which two people can hit each other.
pub const REACH: f32 = 3.0;
/// Arm speed (torso lengths per second) of a strike.
pub const STRIKE_SPEED: f32 = 6.0;
/// Arm speed of the other person of an active pair.
pub const BUSY_SPEED: f32 = 2.5;
/// Seconds over which a pair must stay active.
pub const MIN_FIGHT: f64 = 1.5;
/// Seconds without activity before a pair can raise another alarm.
pub const QUIET_S: f64 = 10.0;
/// People with a smaller torso (pixels) are ignored.
pub const MIN_TORSO_PX: f32 = 12.0;

const LIMBS: [usize; 4] = [kp::LEFT_WRIST, kp::RIGHT_WRIST, kp::LEFT_ELBOW, kp::RIGHT_ELBOW];

/// Builds the analyzer of a task (the registry line of `c-fightdetect`).
pub fn build(_common: &ValidatedCommon, roi: Roi, _ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    Ok(Box::new(FightAnalyzer::new(roi)))
}

/// One frame of a pair.
#[derive(Debug, Clone, Copy)]
struct PairFrame {
    t: f64,
    active: bool,
    erratic: bool,
    speed: f32,
}

#[derive(Debug, Default)]
struct PairState {
    frames: Vec<PairFrame>,
    last_active: Option<f64>,
    alarmed: bool,
}

pub struct FightAnalyzer {
    roi: Roi,
    areas: Vec<Area>,
    tracker: PoseTracker,
    pairs: HashMap<(u64, u64), PairState>,
}

/// Arm motion of a track between its last two poses: (fastest limb speed in L/s, that limb's
/// motion vector relative to the body, per second), None without two recent poses.
fn arm_motion(tr: &PoseTrack) -> Option<(f32, P)> {
    let n = tr.history.len();
    if n < 2 {
        return None;
    }
    let (a, b) = (&tr.history[n - 2], &tr.history[n - 1]);
    let dt = (b.t - a.t) as f32;
    if !(0.01..=0.6).contains(&dt) {
        return None;
    }
    let l = tr.scale();
    let (ca, cb) = (a.body.centre(), b.body.centre());
    LIMBS
        .iter()
        .filter_map(|&i| {
            let (pa, pb) = (a.body.at(i)?, b.body.at(i)?);
            let v = P {
                x: ((pb.x - cb.x) - (pa.x - ca.x)) / dt,
                y: ((pb.y - cb.y) - (pa.y - ca.y)) / dt,
            };
            Some((v.x.hypot(v.y) / l, v))
        })
        .max_by(|x, y| x.0.total_cmp(&y.0))
}

/// The arm motion of the previous frame pair (for direction changes).
fn previous_motion(tr: &PoseTrack) -> Option<P> {
    let n = tr.history.len();
    if n < 3 {
        return None;
    }
    let mut t = tr.clone();
    t.history.pop_back();
    arm_motion(&t).map(|m| m.1)
}

/// Direction changed by more than 90°.
fn turned(a: Option<P>, b: P) -> bool {
    a.is_some_and(|a| a.x * b.x + a.y * b.y < 0.0)
}

impl FightAnalyzer {
    pub fn new(roi: Roi) -> Self {
        Self {
            areas: Area::polygons_or_frame(&roi),
            roi,
            tracker: PoseTracker::new(3.0),
            pairs: HashMap::new(),
        }
    }
}

impl Analyzer for FightAnalyzer {
    fn needs(&self) -> Needs {
        pose_needs(POSE_FPS)
    }

    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        let t = frame.time;
        let size = (frame.image.width(), frame.image.height());
        let seen = self.tracker.update(frame, perception);
        let areas = &self.areas;
        let people: Vec<&PoseTrack> = seen
            .iter()
            .filter_map(|id| self.tracker.get(*id))
            .filter(|tr| tr.scale() >= MIN_TORSO_PX)
            .filter(|tr| areas.iter().any(|a| a.contains(anchor(&tr.bbox(size)), size)))
            .collect();
        let motion: Vec<Option<(f32, P)>> = people.iter().map(|tr| arm_motion(tr)).collect();
        let mut out_items = Vec::new();
        let mut boxes = Vec::new();
        for i in 0..people.len() {
            for j in i + 1..people.len() {
                let (a, b) = (people[i], people[j]);
                let l = a.scale().max(b.scale());
                if a.last().body.centre().dist(b.last().body.centre()) > REACH * l {
                    continue;
                }
                let key = (a.id.min(b.id), a.id.max(b.id));
                let (sa, sb) = (motion[i].map_or(0.0, |m| m.0), motion[j].map_or(0.0, |m| m.0));
                let active = sa.max(sb) >= STRIKE_SPEED && sa.min(sb) >= BUSY_SPEED;
                let erratic = [(a, motion[i]), (b, motion[j])]
                    .iter()
                    .any(|(tr, m)| m.is_some_and(|m| m.0 >= BUSY_SPEED && turned(previous_motion(tr), m.1)));
                let st = self.pairs.entry(key).or_default();
                st.frames.push(PairFrame {
                    t,
                    active,
                    erratic,
                    speed: sa.max(sb),
                });
                st.frames.retain(|f| f.t >= t - MIN_FIGHT - 1e-6);
                if active {
                    st.last_active = Some(t);
                }
                if st.alarmed {
                    continue;
                }
                let span = st.frames.last().map_or(0.0, |f| f.t) - st.frames.first().map_or(0.0, |f| f.t);
                let n = st.frames.len() as f32;
                let act: Vec<&PairFrame> = st.frames.iter().filter(|f| f.active).collect();
                let erratic_n = act.iter().filter(|f| f.erratic).count() as f32;
                if span >= MIN_FIGHT - 0.25 && act.len() as f32 >= 0.6 * n && erratic_n * 3.0 >= act.len() as f32 {
                    st.alarmed = true;
                    let speed = act.iter().map(|f| f.speed).sum::<f32>() / act.len().max(1) as f32;
                    let conf = (0.5 * speed / STRIKE_SPEED).clamp(0.5, 1.0);
                    let (ba, bb) = (a.bbox(size), b.bbox(size));
                    let pair = BBox::new(ba.x1.min(bb.x1), ba.y1.min(bb.y1), ba.x2.max(bb.x2), ba.y2.max(bb.y2));
                    out_items.push(json!({
                        "bounding_box": bbox_json(&pair),
                        "confidence": (conf as f64 * 100.0).round() / 100.0,
                    }));
                    boxes.push(pair);
                }
            }
        }
        // Pairs apart or quiet for QUIET_S may alarm again; pairs of lost people are dropped.
        let tracker = &self.tracker;
        self.pairs.retain(|(a, b), st| {
            tracker.get(*a).is_some() && tracker.get(*b).is_some() && st.last_active.is_none_or(|l| t - l < QUIET_S)
        });
        Ok(Event::alarm_list(FIGHT, "event_set", out_items, boxes, true))
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}
