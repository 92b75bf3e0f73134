//! Individual behaviour (`c-event-action-recog-edge/-cloud`): smoking (720896) and phoning
//! (786432) from MultiPose tracks ([`crate::pose_track`]) — from the hand's path alone: no
//! cigarette or phone detector exists here, so these are pose heuristics.
//!
//! Behaviour (lengths in torso lengths `L`, times in seconds of frame time):
//! - **Phoning**: a wrist held at an ear (within [`EAR_DIST`] `L` of it, nearer the ear than
//!   the nose, above the shoulders) for [`PHONE_MIN`] s, with gaps of at most [`EAR_GAP`] s.
//!   One alarm per call: the next needs the hand away for more than [`EAR_GAP`] s.
//! - **Smoking**: a wrist brought to the mouth (within [`MOUTH_DIST`] `L` of the nose, nearer
//!   the nose than the ears) and taken away again (beyond [`AWAY_DIST`] `L`) at least
//!   [`PUFFS`] times within [`PUFF_WINDOW`] s, each visit shorter than [`PHONE_MIN`] s. At most
//!   one alarm per person per [`PUFF_WINDOW`] s.
//! - Message (spec §6.4 #10): `{"event_set": [{"bounding_box"}]}`, one item per person.
//! - Known limits: eating or drinking with the hand repeatedly at the mouth reads as smoking;
//!   a hand resting on the cheek reads as phoning; a face turned away hides the ears.

use std::collections::{HashMap, VecDeque};

use serde_json::json;
use vigil_vision::{BBox, Roi};

use crate::analyzer::{Analyzer, AnalyzerError, Event, FrameInput, Needs, Perception};
use crate::common::bbox_json;
use crate::event_type::{PHONING, SMOKING};
use crate::pose_track::{kp, pose_needs, retain_live, Body, PoseTrack, PoseTracker, P, POSE_FPS};
use crate::registry::AnalyzerContext;
use crate::typed_config::{switch, typed};
use crate::validate::{ConfigError, ValidatedCommon};

/// Wrist-to-ear distance (torso lengths) of a hand holding a phone.
pub const EAR_DIST: f32 = 0.4;
/// Wrist-to-nose distance of a hand at the mouth.
pub const MOUTH_DIST: f32 = 0.35;
/// Wrist-to-nose distance of a hand taken away from the mouth.
pub const AWAY_DIST: f32 = 0.8;
/// Seconds a hand must stay at the ear.
pub const PHONE_MIN: f64 = 3.0;
/// Seconds the hand may leave the ear (or its keypoint be missed) within one call.
pub const EAR_GAP: f64 = 1.0;
/// Hand-to-mouth visits that make smoking.
pub const PUFFS: usize = 3;
/// Seconds within which the visits must fall.
pub const PUFF_WINDOW: f64 = 60.0;

/// `config.common` of individual behaviour, typed.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct EventActionConfig {
    #[serde(rename = "smoking_detection_sw", deserialize_with = "switch")]
    pub smoking: bool,
    #[serde(rename = "phoning_detection_sw", deserialize_with = "switch")]
    pub phoning: bool,
}

/// Builds the analyzer of a task (the registry line of `c-event-action-recog`).
pub fn build(common: &ValidatedCommon, roi: Roi, _ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    Ok(Box::new(EventActionAnalyzer::new(typed(common)?, roi)))
}

/// Where a wrist is relative to the face.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Hand {
    Ear,
    Mouth,
    Away,
    /// In between (hysteresis), or the face unseen.
    Unknown,
}

/// The hand closest to the face, classified.
fn hand(b: &Body, l: f32) -> Hand {
    let Some(nose) = b.at(kp::NOSE) else {
        return Hand::Unknown;
    };
    let ears: Vec<P> = [kp::LEFT_EAR, kp::RIGHT_EAR].iter().filter_map(|&i| b.at(i)).collect();
    let shoulders_y = b.shoulders().map_or(f32::MAX, |s| s.y);
    let mut best = Hand::Unknown;
    let mut away = 0;
    let wrists = b.wrists();
    for w in &wrists {
        let dn = w.dist(nose) / l;
        let de = ears.iter().map(|e| w.dist(*e) / l).fold(f32::MAX, f32::min);
        if w.y < shoulders_y && de <= EAR_DIST && de < dn {
            best = Hand::Ear;
        } else if w.y < shoulders_y + 0.2 * l && dn <= MOUTH_DIST && dn <= de && best != Hand::Ear {
            best = Hand::Mouth;
        } else if dn >= AWAY_DIST {
            away += 1;
        }
    }
    if best == Hand::Unknown && away > 0 && away == wrists.len() {
        Hand::Away
    } else {
        best
    }
}

#[derive(Debug, Default)]
struct State {
    /// Start of the current hand-at-ear run, and the last frame of it.
    ear_since: Option<f64>,
    last_ear: f64,
    phone_alarmed: bool,
    /// Start of the current hand-at-mouth visit (None when the hand is away).
    visit: Option<f64>,
    /// Start times of the completed visits of the last PUFF_WINDOW s.
    puffs: VecDeque<f64>,
    last_smoke: Option<f64>,
}

pub struct EventActionAnalyzer {
    cfg: EventActionConfig,
    roi: Roi,
    tracker: PoseTracker,
    states: HashMap<u64, State>,
}

impl EventActionAnalyzer {
    pub fn new(cfg: EventActionConfig, roi: Roi) -> Self {
        Self {
            cfg,
            roi,
            tracker: PoseTracker::new(2.0),
            states: HashMap::new(),
        }
    }
}

/// Feeds one frame of a track; returns (phoning alarm due, smoking alarm due).
fn step(tr: &PoseTrack, st: &mut State, t: f64) -> (bool, bool) {
    let h = hand(&tr.last().body, tr.scale());
    // A call: the hand at the ear, with gaps of up to EAR_GAP s (missed keypoints).
    if h == Hand::Ear {
        st.ear_since.get_or_insert(t);
        st.last_ear = t;
    } else if t - st.last_ear > EAR_GAP {
        st.ear_since = None;
        st.phone_alarmed = false;
    }
    let phone = !st.phone_alarmed && st.ear_since.is_some_and(|s| t - s >= PHONE_MIN - 1e-6);
    if phone {
        st.phone_alarmed = true;
    }
    match h {
        Hand::Mouth => {
            st.visit.get_or_insert(t);
        }
        Hand::Away => {
            if let Some(s) = st.visit.take() {
                if t - s < PHONE_MIN {
                    st.puffs.push_back(s);
                }
            }
        }
        Hand::Ear => st.visit = None,
        Hand::Unknown => {}
    }
    while st.puffs.front().is_some_and(|s| *s < t - PUFF_WINDOW) {
        st.puffs.pop_front();
    }
    let smoke = st.puffs.len() >= PUFFS && st.last_smoke.is_none_or(|l| t - l >= PUFF_WINDOW);
    if smoke {
        st.last_smoke = Some(t);
        st.puffs.clear();
    }
    (phone, smoke)
}

impl Analyzer for EventActionAnalyzer {
    fn needs(&self) -> Needs {
        if !self.cfg.smoking && !self.cfg.phoning {
            return Needs::none(1.0);
        }
        pose_needs(POSE_FPS)
    }

    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        if !self.cfg.smoking && !self.cfg.phoning {
            return Ok(Vec::new());
        }
        let size = (frame.image.width(), frame.image.height());
        let seen = self.tracker.update(frame, perception);
        retain_live(&mut self.states, &self.tracker);
        let (mut phones, mut smokes): (Vec<BBox>, Vec<BBox>) = Default::default();
        for id in seen {
            let Some(tr) = self.tracker.get(id) else {
                continue;
            };
            if !self.roi.polygons.is_empty() && !self.roi.contains(crate::common::anchor(&tr.bbox(size))) {
                continue;
            }
            let (phone, smoke) = step(tr, self.states.entry(id).or_default(), frame.time);
            if phone && self.cfg.phoning {
                phones.push(tr.bbox(size));
            }
            if smoke && self.cfg.smoking {
                smokes.push(tr.bbox(size));
            }
        }
        let mut out = Vec::new();
        for (code, boxes) in [(SMOKING, smokes), (PHONING, phones)] {
            let items = boxes.iter().map(|b| json!({"bounding_box": bbox_json(b)})).collect();
            out.extend(Event::alarm_list(code, "event_set", items, boxes, true));
        }
        Ok(out)
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}
