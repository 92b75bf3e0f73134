//! Pose estimation: MoveNet Lightning on person crops and MoveNet MultiPose on whole frames.
//! Keypoints are the 17 COCO keypoints in order (nose, eyes, ears, shoulders, elbows, wrists,
//! hips, knees, ankles; left before right).

use std::sync::Arc;

use crate::backend::{BackendConfig, InferenceSession, SessionCache, Tensor};
use crate::detect::BBox;
use crate::error::{Result, VisionError};
use crate::image::{resize_bilinear_into, ImageBgr};
use crate::models::ModelDir;

/// COCO keypoint names in model order.
pub const KEYPOINT_NAMES: [&str; 17] = [
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
];

/// One keypoint in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Keypoint {
    pub x: f32,
    pub y: f32,
    pub score: f32,
}

/// A person's pose.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Pose {
    pub keypoints: [Keypoint; 17],
    /// Person box (MultiPose's own box; for Lightning the crop's input box).
    pub bbox: BBox,
    /// Mean keypoint score (Lightning) or the MultiPose instance score.
    pub score: f32,
}

/// RGB int32 NHWC tensor of `img` resized to `w x h`.
fn rgb_i32_tensor(img: &ImageBgr, w: u32, h: u32) -> Tensor {
    let mut data = vec![0i32; w as usize * h as usize * 3];
    resize_bilinear_into(img, w, h, |x, y, bgr| {
        let i = (y as usize * w as usize + x as usize) * 3;
        data[i] = bgr[2] as i32;
        data[i + 1] = bgr[1] as i32;
        data[i + 2] = bgr[0] as i32;
    });
    Tensor::i32(vec![1, h as usize, w as usize, 3], data)
}

fn bad(s: &Arc<dyn InferenceSession>, m: String) -> VisionError {
    VisionError::ModelOutput {
        model: s.model_path().display().to_string(),
        message: m,
    }
}

/// MoveNet Lightning: single person, on a square crop around a person box.
pub struct SinglePoseEstimator {
    session: Arc<dyn InferenceSession>,
    /// The crop is a square of `max(w, h) * crop_scale` centred on the box. Default 1.25.
    pub crop_scale: f32,
}

impl SinglePoseEstimator {
    pub fn new(session: Arc<dyn InferenceSession>) -> Self {
        Self {
            session,
            crop_scale: 1.25,
        }
    }
    pub fn from_model_dir(models: &ModelDir, backend: &BackendConfig) -> Result<Self> {
        let p = models.model_path("movenet_lightning")?;
        Ok(Self::new(SessionCache::global().get(&p, backend)?))
    }

    /// Pose of the person in `person` (frame pixels). Parts of the square crop outside the
    /// frame are black.
    pub fn estimate(&self, frame: &ImageBgr, person: &BBox) -> Result<Pose> {
        let (cx, cy) = person.center();
        let side = (person.width().max(person.height()) * self.crop_scale).max(8.0);
        let x0 = (cx - side / 2.0).round() as i64;
        let y0 = (cy - side / 2.0).round() as i64;
        let n = side.round() as usize;
        // Build the square crop with black outside the frame.
        let mut sq = vec![0u8; n * n * 3];
        for yy in 0..n {
            let fy = y0 + yy as i64;
            if fy < 0 || fy >= frame.height() as i64 {
                continue;
            }
            let row = frame.row(fy as u32);
            for xx in 0..n {
                let fx = x0 + xx as i64;
                if fx < 0 || fx >= frame.width() as i64 {
                    continue;
                }
                let s = fx as usize * 3;
                sq[(yy * n + xx) * 3..(yy * n + xx) * 3 + 3].copy_from_slice(&row[s..s + 3]);
            }
        }
        let crop = ImageBgr::from_packed(n as u32, n as u32, sq)?;
        let outs = self.session.run(vec![rgb_i32_tensor(&crop, 192, 192)])?;
        let o = outs
            .first()
            .filter(|o| o.data.len() == 51)
            .ok_or_else(|| bad(&self.session, "expected [1,1,17,3]".into()))?;
        let mut kps = [Keypoint {
            x: 0.0,
            y: 0.0,
            score: 0.0,
        }; 17];
        let mut sum = 0.0;
        for (k, kp) in kps.iter_mut().enumerate() {
            let (y, x, s) = (o.data[k * 3], o.data[k * 3 + 1], o.data[k * 3 + 2]);
            *kp = Keypoint {
                x: x0 as f32 + x * n as f32,
                y: y0 as f32 + y * n as f32,
                score: s,
            };
            sum += s;
        }
        Ok(Pose {
            keypoints: kps,
            bbox: *person,
            score: sum / 17.0,
        })
    }
}

/// MoveNet MultiPose: up to 6 people on the whole frame.
pub struct MultiPoseEstimator {
    session: Arc<dyn InferenceSession>,
    /// The frame's longer side is resized to this (rounded to multiples of 32). Default 256.
    pub input_long_side: u32,
    /// Instances below this score are dropped. Default 0.2.
    pub min_score: f32,
}

impl MultiPoseEstimator {
    pub fn new(session: Arc<dyn InferenceSession>) -> Self {
        Self {
            session,
            input_long_side: 256,
            min_score: 0.2,
        }
    }
    pub fn from_model_dir(models: &ModelDir, backend: &BackendConfig) -> Result<Self> {
        let p = models.model_path("movenet_multipose")?;
        Ok(Self::new(SessionCache::global().get(&p, backend)?))
    }

    pub fn estimate(&self, frame: &ImageBgr) -> Result<Vec<Pose>> {
        let (fw, fh) = (frame.width() as f32, frame.height() as f32);
        let s = self.input_long_side as f32 / fw.max(fh);
        let r32 = |v: f32| (((v / 32.0).round() as u32).max(1)) * 32;
        let (w, h) = (r32(fw * s), r32(fh * s));
        let outs = self.session.run(vec![rgb_i32_tensor(frame, w, h)])?;
        let o = outs
            .first()
            .filter(|o| o.data.len() == 6 * 56)
            .ok_or_else(|| bad(&self.session, "expected [1,6,56]".into()))?;
        let mut poses = Vec::new();
        for p in 0..6 {
            let r = &o.data[p * 56..(p + 1) * 56];
            let score = r[55];
            if score < self.min_score {
                continue;
            }
            let mut kps = [Keypoint {
                x: 0.0,
                y: 0.0,
                score: 0.0,
            }; 17];
            for (k, kp) in kps.iter_mut().enumerate() {
                *kp = Keypoint {
                    x: r[k * 3 + 1] * fw,
                    y: r[k * 3] * fh,
                    score: r[k * 3 + 2],
                };
            }
            poses.push(Pose {
                keypoints: kps,
                bbox: BBox::new(r[52] * fw, r[51] * fh, r[54] * fw, r[53] * fh),
                score,
            });
        }
        poses.sort_by(|a, b| b.score.total_cmp(&a.score));
        Ok(poses)
    }
}
