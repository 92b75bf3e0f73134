//! Individual action (`c-pose-action-recog-edge/-cloud`): climbing (851968), falling (851969),
//! and Vigil's waving (851970) and bending (851971), from MultiPose tracks
//! ([`crate::pose_track`]). Each switch turns one action on.
//!
//! Behaviour (lengths in torso lengths `L` of the person, times in seconds of frame time):
//! - **Fall**: within [`FALL_WINDOW`] s the hips drop by at least [`FALL_DROP`] `L` below where
//!   they were while the person stood upright (torso within 40° of vertical, hips well above
//!   the feet), into a *down* posture (torso over 55° from vertical, or hips at most 0.6 `L`
//!   above the feet); the alarm comes when the person has stayed down and nearly still (hips
//!   within 0.35 `L`) for [`FALL_STILL`] s. One alarm per fall; the next needs the person
//!   upright again.
//! - **Climb**: a hand above the head while the feet are raised, for [`CLIMB_MIN`] s. "Raised"
//!   (Vigil's reading of the ROI): with ROI lines, a foot above a line (smaller y at the foot's
//!   x, within the line's horizontal extent): draw the line along the top of the wall or fence;
//!   with ROI polygons, a foot inside a polygon (draw it over the climbable face, above the
//!   ground); without ROI, the lowest foot 0.5 `L` above the lowest point it stood on in the
//!   last 5 s.
//! - **Wave**: a wrist above its shoulder swinging sideways, at least 3 reversals of 0.25 `L`
//!   within 3 s. At most one alarm per person per [`REPEAT_S`] s.
//! - **Bend**: torso over 50° from vertical with the hips still over the feet (standing, bent
//!   at the waist) for [`BEND_MIN`] s; the next needs the person upright again.
//! - Message (spec §6.4 #11): `{"event_set": [{"bounding_box"}]}`, one item per person, with
//!   the picture; the same for waving and bending.

use std::collections::HashMap;

use serde_json::json;
use vigil_vision::{BBox, Roi};

use crate::analyzer::{Analyzer, AnalyzerError, Event, FrameInput, Needs, Perception};
use crate::common::bbox_json;
use crate::event_type::{BENDING, CLIMBING, FALLING, WAVING};
use crate::pose_track::{kp, pose_needs, retain_live, Body, PoseTrack, PoseTracker, P, POSE_FPS};
use crate::registry::AnalyzerContext;
use crate::typed_config::{switch, typed};
use crate::validate::{ConfigError, ValidatedCommon};

/// Seconds within which the hips must fall from standing height.
pub const FALL_WINDOW: f64 = 2.5;
/// Hip drop (torso lengths) that starts a fall.
pub const FALL_DROP: f32 = 1.0;
/// Seconds down and still before the fall alarm.
pub const FALL_STILL: f64 = 1.0;
/// Seconds of raised feet and raised hands before the climbing alarm.
pub const CLIMB_MIN: f64 = 1.0;
/// Seconds bent before the bending alarm.
pub const BEND_MIN: f64 = 0.5;
/// Seconds between two waving alarms of one person.
pub const REPEAT_S: f64 = 10.0;

/// `config.common` of individual action, typed.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct PoseActionConfig {
    #[serde(rename = "climb_detection_sw", deserialize_with = "switch")]
    pub climb: bool,
    #[serde(rename = "fall_detection_sw", deserialize_with = "switch")]
    pub fall: bool,
    #[serde(rename = "wave_detection_sw", deserialize_with = "switch")]
    pub wave: bool,
    #[serde(rename = "bend_detection_sw", deserialize_with = "switch")]
    pub bend: bool,
}

/// Builds the analyzer of a task (the registry line of `c-pose-action-recog`).
pub fn build(common: &ValidatedCommon, roi: Roi, _ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    Ok(Box::new(PoseActionAnalyzer::new(typed(common)?, roi)))
}

/// A fall in progress: the standing hip height and body size it started from.
#[derive(Debug, Clone, Copy)]
struct Fall {
    hip_y: f32,
    scale: f32,
}

/// Per-person state.
#[derive(Debug, Default)]
struct State {
    fall: Option<Fall>,
    fall_alarmed: bool,
    climb_since: Option<f64>,
    climb_alarmed: bool,
    bend_since: Option<f64>,
    bend_alarmed: bool,
    last_wave: Option<f64>,
}

pub struct PoseActionAnalyzer {
    cfg: PoseActionConfig,
    roi: Roi,
    tracker: PoseTracker,
    states: HashMap<u64, State>,
}

impl PoseActionAnalyzer {
    pub fn new(cfg: PoseActionConfig, roi: Roi) -> Self {
        Self {
            cfg,
            roi,
            tracker: PoseTracker::new(5.0),
            states: HashMap::new(),
        }
    }

    fn any(&self) -> bool {
        self.cfg.climb || self.cfg.fall || self.cfg.wave || self.cfg.bend
    }

    /// Climbing posture now: a hand above the head and the feet raised (see the module doc).
    fn climbing_now(&self, tr: &PoseTrack) -> bool {
        let b = &tr.last().body;
        let l = tr.scale();
        let top = match (b.head(), b.shoulders()) {
            (Some(h), _) => h.y,
            (None, Some(s)) => s.y - 0.5 * l,
            (None, None) => return false,
        };
        if !b.wrists().iter().any(|w| w.y < top) {
            return false;
        }
        let feet: Vec<P> = [kp::LEFT_ANKLE, kp::RIGHT_ANKLE]
            .iter()
            .filter_map(|&i| b.at(i))
            .collect();
        if !self.roi.lines.is_empty() {
            return feet.iter().any(|f| {
                self.roi.lines.iter().any(|line| {
                    let (a, c) = (line.start, line.end);
                    let (lo, hi) = (a.x.min(c.x), a.x.max(c.x));
                    if f.x < lo || f.x > hi || hi - lo < 1.0 {
                        return false;
                    }
                    let y = a.y + (c.y - a.y) * (f.x - a.x) / (c.x - a.x);
                    f.y < y
                })
            });
        }
        if !self.roi.polygons.is_empty() {
            return feet
                .iter()
                .any(|f| self.roi.contains(vigil_vision::Point::new(f.x, f.y)));
        }
        let ground = tr.since(5.0).map(|s| s.body.feet_y()).fold(f32::MIN, f32::max);
        !feet.is_empty() && ground - b.feet_y() >= 0.5 * l
    }
}

/// Standing upright: torso near vertical and the hips well above the feet.
fn upright(b: &Body, scale: f32) -> bool {
    b.torso_angle().is_some_and(|a| a < 40.0) && b.hips().is_some_and(|h| b.feet_y() - h.y >= 1.0 * scale)
}

/// Down: torso near horizontal, or the hips at the feet.
fn down(b: &Body, scale: f32) -> bool {
    b.torso_angle().is_some_and(|a| a > 55.0) || b.hips().is_some_and(|h| b.feet_y() - h.y < 0.6 * scale)
}

/// Fall state machine of one track at its newest sample; true when the alarm is due.
fn step_fall(tr: &PoseTrack, st: &mut State) -> bool {
    let now = tr.last();
    let l = tr.scale();
    if upright(&now.body, l) {
        st.fall = None;
        st.fall_alarmed = false;
        return false;
    }
    if st.fall_alarmed {
        return false;
    }
    let Some(hip) = now.body.hips() else {
        return false;
    };
    if st.fall.is_none() {
        // The highest standing hips of the window are the fall's start.
        let start = tr
            .since(FALL_WINDOW)
            .filter_map(|s| {
                let sl = s.body.torso();
                let h = s.body.hips()?;
                upright(&s.body, sl).then_some(Fall { hip_y: h.y, scale: sl })
            })
            .min_by(|a, b| a.hip_y.total_cmp(&b.hip_y));
        if let Some(f) = start {
            if hip.y - f.hip_y >= FALL_DROP * f.scale && down(&now.body, f.scale) {
                st.fall = Some(f);
            }
        }
        return false;
    }
    let Some(f) = st.fall else {
        return false;
    };
    // Down and low since at least FALL_STILL s, and still over that time.
    let recent: Vec<(f64, Option<P>, bool)> = tr
        .since(FALL_STILL)
        .map(|s| {
            let h = s.body.hips();
            let low = h.is_some_and(|h| h.y - f.hip_y >= 0.7 * f.scale);
            (s.t, h, low && down(&s.body, f.scale))
        })
        .collect();
    if !recent.iter().all(|r| r.2) {
        if !down(&now.body, f.scale) {
            st.fall = None;
        }
        return false;
    }
    let span = recent.last().map_or(0.0, |r| r.0) - recent.first().map_or(0.0, |r| r.0);
    let hips: Vec<P> = recent.iter().filter_map(|r| r.1).collect();
    let n = hips.len().max(1) as f32;
    let mean = P {
        x: hips.iter().map(|p| p.x).sum::<f32>() / n,
        y: hips.iter().map(|p| p.y).sum::<f32>() / n,
    };
    let still = hips.iter().all(|p| p.dist(mean) <= 0.35 * f.scale);
    if span >= FALL_STILL - 0.2 && still {
        st.fall_alarmed = true;
        return true;
    }
    false
}

/// Sideways swings of a raised wrist: reversals of at least 0.25 L in the last 3 s.
fn waving(tr: &PoseTrack) -> bool {
    let l = tr.scale();
    for (w, s) in [
        (kp::LEFT_WRIST, kp::LEFT_SHOULDER),
        (kp::RIGHT_WRIST, kp::RIGHT_SHOULDER),
    ] {
        let xs: Vec<f32> = tr
            .since(3.0)
            .filter_map(|smp| {
                let (wp, sp) = (smp.body.at(w)?, smp.body.at(s)?);
                (wp.y < sp.y).then_some(wp.x - smp.body.centre().x)
            })
            .collect();
        if reversals(&xs, 0.25 * l) >= 3 {
            return true;
        }
    }
    false
}

/// Direction reversals of `xs` with a hysteresis of `min` (a swing must travel `min`).
pub(crate) fn reversals(xs: &[f32], min: f32) -> usize {
    let Some(&first) = xs.first() else {
        return 0;
    };
    let (mut lo, mut hi) = (first, first);
    let mut dir = 0i8;
    let mut n = 0;
    for &x in &xs[1..] {
        match dir {
            0 => {
                lo = lo.min(x);
                hi = hi.max(x);
                if hi - lo >= min {
                    dir = if x >= hi { 1 } else { -1 };
                    (lo, hi) = (x, x);
                }
            }
            1 => {
                hi = hi.max(x);
                if hi - x >= min {
                    n += 1;
                    dir = -1;
                    lo = x;
                }
            }
            _ => {
                lo = lo.min(x);
                if x - lo >= min {
                    n += 1;
                    dir = 1;
                    hi = x;
                }
            }
        }
    }
    n
}

/// Bent at the waist while standing.
fn bent(b: &Body, scale: f32) -> bool {
    b.torso_angle().is_some_and(|a| a > 50.0) && b.hips().is_some_and(|h| b.feet_y() - h.y >= 0.9 * scale)
}

/// Starts `since` while `cond` holds; true once, when it has held for `min` s.
fn held(cond: bool, t: f64, since: &mut Option<f64>, alarmed: &mut bool, min: f64) -> bool {
    if !cond {
        *since = None;
        return false;
    }
    let s = *since.get_or_insert(t);
    if !*alarmed && t - s >= min - 1e-6 {
        *alarmed = true;
        return true;
    }
    false
}

impl Analyzer for PoseActionAnalyzer {
    fn needs(&self) -> Needs {
        if !self.any() {
            return Needs::none(1.0);
        }
        pose_needs(POSE_FPS)
    }

    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        if !self.any() {
            return Ok(Vec::new());
        }
        let size = (frame.image.width(), frame.image.height());
        let seen = self.tracker.update(frame, perception);
        retain_live(&mut self.states, &self.tracker);
        let mut found: [Vec<BBox>; 4] = Default::default();
        for id in seen {
            let Some(tr) = self.tracker.get(id) else {
                continue;
            };
            let climbing = self.cfg.climb && self.climbing_now(tr);
            let st = self.states.entry(id).or_default();
            let t = frame.time;
            let l = tr.scale();
            if self.cfg.fall && step_fall(tr, st) {
                found[1].push(tr.bbox(size));
            }
            if self.cfg.climb {
                if climbing && held(true, t, &mut st.climb_since, &mut st.climb_alarmed, CLIMB_MIN) {
                    found[0].push(tr.bbox(size));
                }
                if !climbing {
                    st.climb_since = None;
                    st.climb_alarmed = false;
                }
            }
            if self.cfg.wave && st.last_wave.is_none_or(|w| t - w >= REPEAT_S) && waving(tr) {
                st.last_wave = Some(t);
                found[2].push(tr.bbox(size));
            }
            if self.cfg.bend {
                let b = &tr.last().body;
                if upright(b, l) {
                    st.bend_alarmed = false;
                }
                if held(bent(b, l), t, &mut st.bend_since, &mut st.bend_alarmed, BEND_MIN) {
                    found[3].push(tr.bbox(size));
                }
            }
        }
        let mut out = Vec::new();
        for (code, boxes) in [CLIMBING, FALLING, WAVING, BENDING].into_iter().zip(found) {
            let items = boxes.iter().map(|b| json!({"bounding_box": bbox_json(b)})).collect();
            out.extend(Event::alarm_list(code, "event_set", items, boxes, true));
        }
        Ok(out)
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reversals_need_a_full_swing() {
        assert_eq!(reversals(&[0.0, 1.0, 0.0, 1.0, 0.0], 0.5), 3);
        assert_eq!(reversals(&[0.0, 0.2, 0.0, 0.2, 0.0], 0.5), 0);
        assert_eq!(reversals(&[0.0, 1.0, 2.0, 3.0], 0.5), 0);
    }
}
