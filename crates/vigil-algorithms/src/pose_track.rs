//! Multi-person pose over time, shared by the pose analyzers (`c-pose-action-recog`,
//! `c-fightdetect`, `c-event-action-recog`): MoveNet MultiPose poses associated across frames
//! into tracks (box IoU, else keypoint distance relative to body size), each with a short
//! history of timestamped poses, and the body measures the analyzers reason on.
//!
//! Every distance an analyzer compares is divided by the person's torso length (shoulder
//! centre to hip centre), so thresholds hold at any resolution and camera distance; every time
//! is frame time in seconds (clips with a variable frame rate stay correct).

use std::collections::VecDeque;

use vigil_vision::pose::{Keypoint, Pose};
use vigil_vision::BBox;

use crate::analyzer::{FrameInput, Needs, Perception};
use crate::common::clip;

/// COCO keypoint indices (MoveNet order).
pub(crate) mod kp {
    pub const NOSE: usize = 0;
    pub const LEFT_EAR: usize = 3;
    pub const RIGHT_EAR: usize = 4;
    pub const LEFT_SHOULDER: usize = 5;
    pub const RIGHT_SHOULDER: usize = 6;
    pub const LEFT_ELBOW: usize = 7;
    pub const RIGHT_ELBOW: usize = 8;
    pub const LEFT_WRIST: usize = 9;
    pub const RIGHT_WRIST: usize = 10;
    pub const LEFT_HIP: usize = 11;
    pub const RIGHT_HIP: usize = 12;
    pub const LEFT_ANKLE: usize = 15;
    pub const RIGHT_ANKLE: usize = 16;
}

/// Keypoints below this score are treated as unseen.
pub(crate) const MIN_KP_SCORE: f32 = 0.2;
/// Poses below this MultiPose instance score are ignored (MoveNet's own floor is 0.2; lying
/// people score 0.25–0.4, so the floor stays low).
pub(crate) const MIN_POSE_SCORE: f32 = 0.22;
/// Analysis rate of the pose analyzers: MultiPose costs about 90 ms a frame on one core, and
/// a fall or a punch still spans several frames at this rate.
pub(crate) const POSE_FPS: f64 = 6.0;
/// A track not seen for this long is dropped.
const MAX_GAP_S: f64 = 1.5;

/// What the pose analyzers ask of the perceiver: MultiPose at `fps`.
pub(crate) fn pose_needs(fps: f64) -> Needs {
    Needs {
        poses: true,
        ..Needs::none(fps)
    }
}

/// A 2-D point in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct P {
    pub x: f32,
    pub y: f32,
}

impl P {
    pub(crate) fn dist(self, o: P) -> f32 {
        (self.x - o.x).hypot(self.y - o.y)
    }
}

/// Body measures of one pose.
#[derive(Debug, Clone)]
pub(crate) struct Body {
    pub pose: Pose,
}

impl Body {
    /// Keypoint `i` when seen.
    pub(crate) fn at(&self, i: usize) -> Option<P> {
        let k: &Keypoint = &self.pose.keypoints[i];
        (k.score >= MIN_KP_SCORE && k.x.is_finite() && k.y.is_finite()).then_some(P { x: k.x, y: k.y })
    }

    /// Mean of the seen keypoints among `ids`.
    fn mean(&self, ids: &[usize]) -> Option<P> {
        let seen: Vec<P> = ids.iter().filter_map(|&i| self.at(i)).collect();
        (!seen.is_empty()).then(|| P {
            x: seen.iter().map(|p| p.x).sum::<f32>() / seen.len() as f32,
            y: seen.iter().map(|p| p.y).sum::<f32>() / seen.len() as f32,
        })
    }

    pub(crate) fn shoulders(&self) -> Option<P> {
        self.mean(&[kp::LEFT_SHOULDER, kp::RIGHT_SHOULDER])
    }

    pub(crate) fn hips(&self) -> Option<P> {
        self.mean(&[kp::LEFT_HIP, kp::RIGHT_HIP])
    }

    /// The body centre: shoulders and hips.
    pub(crate) fn centre(&self) -> P {
        match (self.shoulders(), self.hips()) {
            (Some(s), Some(h)) => P {
                x: (s.x + h.x) / 2.0,
                y: (s.y + h.y) / 2.0,
            },
            (Some(p), None) | (None, Some(p)) => p,
            (None, None) => {
                let (x, y) = self.pose.bbox.center();
                P { x, y }
            }
        }
    }

    /// Torso length in pixels (shoulder centre to hip centre); a third of the box height when
    /// either is unseen. Never below 4 px.
    pub(crate) fn torso(&self) -> f32 {
        let t = match (self.shoulders(), self.hips()) {
            (Some(s), Some(h)) => s.dist(h),
            _ => self.pose.bbox.height() / 3.0,
        };
        if t.is_finite() {
            t.max(4.0)
        } else {
            4.0
        }
    }

    /// Angle of the torso from the vertical in degrees (0 upright, 90 horizontal, 180 head
    /// down); None when shoulders or hips are unseen.
    pub(crate) fn torso_angle(&self) -> Option<f32> {
        let (s, h) = (self.shoulders()?, self.hips()?);
        Some((s.x - h.x).abs().atan2(h.y - s.y).to_degrees())
    }

    /// The lowest seen foot (largest y), else the box bottom.
    pub(crate) fn feet_y(&self) -> f32 {
        [kp::LEFT_ANKLE, kp::RIGHT_ANKLE]
            .iter()
            .filter_map(|&i| self.at(i))
            .map(|p| p.y)
            .fold(None, |m: Option<f32>, y| Some(m.map_or(y, |m| m.max(y))))
            .unwrap_or(self.pose.bbox.y2)
    }

    /// The head: nose, else the mean of the ears.
    pub(crate) fn head(&self) -> Option<P> {
        self.at(kp::NOSE).or_else(|| self.mean(&[kp::LEFT_EAR, kp::RIGHT_EAR]))
    }

    /// The seen wrists.
    pub(crate) fn wrists(&self) -> Vec<P> {
        [kp::LEFT_WRIST, kp::RIGHT_WRIST]
            .iter()
            .filter_map(|&i| self.at(i))
            .collect()
    }

    pub(crate) fn bbox(&self) -> BBox {
        self.pose.bbox
    }
}

/// One timestamped pose of a track.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    pub t: f64,
    pub body: Body,
}

/// One person followed over frames.
#[derive(Debug, Clone)]
pub(crate) struct PoseTrack {
    pub id: u64,
    /// Oldest first, at most [`PoseTracker`]'s history span.
    pub history: VecDeque<Sample>,
}

impl PoseTrack {
    pub(crate) fn last(&self) -> &Sample {
        // A track is created with one sample and never emptied (trimming keeps the newest).
        &self.history[self.history.len() - 1]
    }

    /// The samples of the last `secs` seconds (up to the newest).
    pub(crate) fn since(&self, secs: f64) -> impl Iterator<Item = &Sample> {
        let from = self.last().t - secs;
        self.history.iter().filter(move |s| s.t >= from - 1e-6)
    }

    /// The person's size: the largest torso length of the last 3 s (a lying or bent torso is
    /// foreshortened, the standing one is the body's real scale).
    pub(crate) fn scale(&self) -> f32 {
        self.since(3.0).map(|s| s.body.torso()).fold(4.0, f32::max)
    }

    /// The person box now, clipped to a frame of `size`.
    pub(crate) fn bbox(&self, size: (u32, u32)) -> BBox {
        clip(&self.last().body.bbox(), size)
    }
}

/// Associates the poses of each frame with the tracks of the previous ones.
#[derive(Debug, Clone)]
pub(crate) struct PoseTracker {
    tracks: Vec<PoseTrack>,
    next_id: u64,
    /// Seconds of history kept per track.
    span: f64,
}

impl PoseTracker {
    pub(crate) fn new(span: f64) -> Self {
        Self {
            tracks: Vec::new(),
            next_id: 1,
            span,
        }
    }

    /// Feeds the poses of `frame`: returns the ids of the tracks seen in it. Tracks unseen for
    /// [`MAX_GAP_S`] are dropped.
    pub(crate) fn update(&mut self, frame: &FrameInput, perception: &Perception) -> Vec<u64> {
        let t = frame.time;
        let poses: Vec<Body> = perception
            .poses
            .as_deref()
            .map(|v| v.as_slice())
            .unwrap_or(&[])
            .iter()
            .filter(|p| p.score >= MIN_POSE_SCORE && sane(&p.bbox))
            .map(|p| Body { pose: p.clone() })
            .collect();
        // Greedy matching on a cost in [0, 1): 1 - IoU, or the centre distance in body sizes
        // when the boxes barely overlap (a falling body changes its box fast).
        let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
        for (ti, tr) in self.tracks.iter().enumerate() {
            let prev = &tr.last().body;
            for (pi, b) in poses.iter().enumerate() {
                let iou = prev.bbox().iou(&b.bbox());
                let d = prev.centre().dist(b.centre()) / (tr.scale().max(b.torso()) * 2.0);
                let cost = if iou >= 0.2 { 1.0 - iou } else { d.min(1.0) };
                if cost < 0.9 {
                    pairs.push((cost, ti, pi));
                }
            }
        }
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut track_used = vec![false; self.tracks.len()];
        let mut pose_track: Vec<Option<usize>> = vec![None; poses.len()];
        for (_, ti, pi) in pairs {
            if !track_used[ti] && pose_track[pi].is_none() {
                track_used[ti] = true;
                pose_track[pi] = Some(ti);
            }
        }
        let mut seen = Vec::with_capacity(poses.len());
        for (body, ti) in poses.into_iter().zip(pose_track) {
            let sample = Sample { t, body };
            match ti {
                Some(ti) => {
                    let tr = &mut self.tracks[ti];
                    tr.history.push_back(sample);
                    while tr.history.len() > 1 && tr.history[0].t < t - self.span {
                        tr.history.pop_front();
                    }
                    seen.push(tr.id);
                }
                None => {
                    let id = self.next_id;
                    self.next_id += 1;
                    self.tracks.push(PoseTrack {
                        id,
                        history: VecDeque::from([sample]),
                    });
                    seen.push(id);
                }
            }
        }
        self.tracks.retain(|tr| t - tr.last().t <= MAX_GAP_S);
        seen
    }

    /// The live tracks (seen in the last [`MAX_GAP_S`]).
    #[cfg(test)]
    pub(crate) fn tracks(&self) -> &[PoseTrack] {
        &self.tracks
    }

    pub(crate) fn get(&self, id: u64) -> Option<&PoseTrack> {
        self.tracks.iter().find(|t| t.id == id)
    }
}

fn sane(b: &BBox) -> bool {
    [b.x1, b.y1, b.x2, b.y2].iter().all(|v| v.is_finite()) && b.x2 > b.x1 && b.y2 > b.y1
}

/// Per-track state an analyzer keeps, dropped with the track.
pub(crate) fn retain_live<T>(states: &mut std::collections::HashMap<u64, T>, tracker: &PoseTracker) {
    states.retain(|id, _| tracker.get(*id).is_some());
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Arc;
    use vigil_vision::ImageBgr;

    /// An upright stick figure 100 px tall with its box top-left at (x, y).
    pub(crate) fn figure(x: f32, y: f32) -> Pose {
        let k = |dx: f32, dy: f32| Keypoint {
            x: x + dx,
            y: y + dy,
            score: 0.9,
        };
        let mut kps = [k(20.0, 5.0); 17];
        kps[kp::LEFT_SHOULDER] = k(12.0, 20.0);
        kps[kp::RIGHT_SHOULDER] = k(28.0, 20.0);
        kps[kp::LEFT_HIP] = k(14.0, 50.0);
        kps[kp::RIGHT_HIP] = k(26.0, 50.0);
        kps[kp::LEFT_ANKLE] = k(14.0, 98.0);
        kps[kp::RIGHT_ANKLE] = k(26.0, 98.0);
        Pose {
            keypoints: kps,
            bbox: BBox::new(x, y, x + 40.0, y + 100.0),
            score: 0.8,
        }
    }

    fn feed(tr: &mut PoseTracker, t: f64, poses: Vec<Pose>) -> Vec<u64> {
        let img = ImageBgr::filled(400, 300, [0, 0, 0]).unwrap();
        let frame = FrameInput {
            image: &img,
            time: t,
            epoch: 0,
            rate: 6.0,
        };
        let p = Perception {
            poses: Some(Arc::new(poses)),
            ..Default::default()
        };
        tr.update(&frame, &p)
    }

    #[test]
    fn follows_two_walkers_and_drops_the_lost() {
        let mut tr = PoseTracker::new(2.0);
        let a = feed(&mut tr, 0.0, vec![figure(10.0, 10.0), figure(200.0, 10.0)]);
        assert_eq!(a, vec![1, 2]);
        // Both move 8 px a frame; given in the other order.
        let b = feed(&mut tr, 0.2, vec![figure(208.0, 10.0), figure(18.0, 10.0)]);
        assert_eq!(b, vec![2, 1]);
        assert!((tr.get(1).unwrap().scale() - 30.0).abs() < 0.1);
        feed(&mut tr, 2.0, vec![]);
        assert!(tr.tracks().is_empty());
    }
}
