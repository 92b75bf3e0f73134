//! YuNet face detector (2023mar, 640x640) with 5 landmarks: right eye, left eye, nose tip,
//! right mouth corner, left mouth corner (as seen in the image: first point is the subject's right).

use std::sync::Arc;

use super::{letterbox_nchw, BBox};
use crate::backend::{BackendConfig, InferenceSession, Output, SessionCache};
use crate::error::{Result, VisionError};
use crate::image::ImageBgr;
use crate::models::ModelDir;

/// One face in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Face {
    pub bbox: BBox,
    /// `sqrt(cls * obj)`.
    pub score: f32,
    /// Eyes, nose tip, mouth corners, `(x, y)` in frame pixels.
    pub landmarks: [(f32, f32); 5],
}

/// Thresholds for [`FaceDetector`].
#[derive(Debug, Clone, PartialEq)]
pub struct FaceDetectorConfig {
    /// Default 0.6.
    pub conf_threshold: f32,
    /// Default 0.3 (as OpenCV's FaceDetectorYN).
    pub nms_iou: f32,
    /// Faces smaller than this (longer side, pixels) are dropped. Default 0.
    pub min_size: f32,
}

impl Default for FaceDetectorConfig {
    fn default() -> Self {
        Self {
            conf_threshold: 0.6,
            nms_iou: 0.3,
            min_size: 0.0,
        }
    }
}

/// YuNet wrapper. The frame is letterboxed (top-left, black padding) into 640x640.
pub struct FaceDetector {
    session: Arc<dyn InferenceSession>,
    pub config: FaceDetectorConfig,
}

const SIZE: u32 = 640;

impl FaceDetector {
    pub fn new(session: Arc<dyn InferenceSession>, config: FaceDetectorConfig) -> Self {
        Self { session, config }
    }

    pub fn from_model_dir(models: &ModelDir, backend: &BackendConfig, config: FaceDetectorConfig) -> Result<Self> {
        let path = models.model_path("yunet")?;
        Ok(Self::new(SessionCache::global().get(&path, backend)?, config))
    }

    fn output<'a>(&self, outs: &'a [Output], name: &str) -> Result<&'a [f32]> {
        outs.iter()
            .find(|o| o.name == name)
            .map(|o| o.data.as_slice())
            .ok_or_else(|| VisionError::ModelOutput {
                model: self.session.model_path().display().to_string(),
                message: format!("missing output {name}"),
            })
    }

    /// Faces, best first.
    pub fn detect(&self, frame: &ImageBgr) -> Result<Vec<Face>> {
        let (tensor, lb) = letterbox_nchw(frame, SIZE, SIZE, 0.0);
        let outs = self.session.run(vec![tensor])?;
        let (fw, fh) = (frame.width() as f32, frame.height() as f32);
        let mut faces = Vec::new();
        for s in [8u32, 16, 32] {
            let cls = self.output(&outs, &format!("cls_{s}"))?;
            let obj = self.output(&outs, &format!("obj_{s}"))?;
            let bbox = self.output(&outs, &format!("bbox_{s}"))?;
            let kps = self.output(&outs, &format!("kps_{s}"))?;
            let cols = (SIZE / s) as usize;
            let n = cols * cols;
            if cls.len() != n || obj.len() != n || bbox.len() != n * 4 || kps.len() != n * 10 {
                return Err(VisionError::ModelOutput {
                    model: self.session.model_path().display().to_string(),
                    message: format!("unexpected output sizes at stride {s}"),
                });
            }
            let sf = s as f32;
            for i in 0..n {
                let score = (cls[i].clamp(0.0, 1.0) * obj[i].clamp(0.0, 1.0)).sqrt();
                if score < self.config.conf_threshold {
                    continue;
                }
                let (col, row) = ((i % cols) as f32, (i / cols) as f32);
                let b = &bbox[i * 4..i * 4 + 4];
                let cx = (col + b[0]) * sf;
                let cy = (row + b[1]) * sf;
                let w = b[2].exp() * sf;
                let h = b[3].exp() * sf;
                let r = lb.ratio;
                let bb = BBox::new(
                    (cx - w / 2.0) / r,
                    (cy - h / 2.0) / r,
                    (cx + w / 2.0) / r,
                    (cy + h / 2.0) / r,
                )
                .clamp(fw, fh);
                let k = &kps[i * 10..i * 10 + 10];
                let mut landmarks = [(0f32, 0f32); 5];
                for (j, lm) in landmarks.iter_mut().enumerate() {
                    *lm = ((col + k[2 * j]) * sf / r, (row + k[2 * j + 1]) * sf / r);
                }
                if bb.width().max(bb.height()) < self.config.min_size {
                    continue;
                }
                faces.push(Face {
                    bbox: bb,
                    score,
                    landmarks,
                });
            }
        }
        faces.sort_by(|a, b| b.score.total_cmp(&a.score));
        let mut keep: Vec<Face> = Vec::new();
        for f in faces {
            if keep.iter().all(|k| k.bbox.iou(&f.bbox) <= self.config.nms_iou) {
                keep.push(f);
            }
        }
        Ok(keep)
    }
}
