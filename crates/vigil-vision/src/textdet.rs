//! PP-OCRv3 text detection (DB, differentiable binarisation) and the detect-then-read pipeline
//! ([`TextReader`]) the perceiver runs for analyzers that need text (`Needs::text`).
//!
//! Pre-processing as PaddleOCR's `NormalizeImage`: the frame in its decoded (BGR) channel order,
//! 0..1, minus the ImageNet mean, over the ImageNet std, NCHW, padded to multiples of 32.
//! Checked on a frame of the water-gauge composite against onnxruntime in Python: the
//! probability map covers the painted numbers and nothing else. Post-processing (PaddleOCR's
//! `DBPostProcess`, axis-aligned): probability > [`DbConfig::threshold`], connected components,
//! box score (mean probability in the box) >= [`DbConfig::box_score`], the box grown by
//! `area * unclip_ratio / perimeter` on every side (the text kernel the model marks is shrunk).

use std::sync::Arc;

use crate::backend::{BackendConfig, InferenceSession, SessionCache, Tensor};
use crate::detect::BBox;
use crate::error::{Result, VisionError};
use crate::image::{resize_bilinear_into, ImageBgr};
use crate::models::ModelDir;
use crate::ocr::TextRecognizer;
use crate::pixel::{connected_components, Plane};

const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const STD: [f32; 3] = [0.229, 0.224, 0.225];

/// DB post-processing settings (PaddleOCR's defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DbConfig {
    pub threshold: f32,
    pub box_score: f32,
    pub unclip_ratio: f32,
    /// Longest input side; larger images are scaled down.
    pub max_side: u32,
    /// Boxes whose shorter side (before unclipping) is below this many input pixels are dropped.
    pub min_size: f32,
}

impl Default for DbConfig {
    fn default() -> Self {
        DbConfig {
            threshold: 0.3,
            box_score: 0.6,
            unclip_ratio: 1.5,
            max_side: 960,
            min_size: 3.0,
        }
    }
}

/// One detected text region (image pixels) with its DB score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextRegion {
    pub bbox: BBox,
    pub score: f32,
}

/// Text found in a frame: where, what, and how sure.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TextBox {
    /// Frame pixels (the unclipped DB box: the whole text line).
    #[serde(skip)]
    pub bbox: BBox,
    pub text: String,
    /// Mean probability of the recognised characters.
    pub confidence: f32,
    /// DB box score.
    pub det_score: f32,
}

/// The PP-OCRv3 DB text detector.
pub struct TextDetector {
    session: Arc<dyn InferenceSession>,
    pub config: DbConfig,
}

impl TextDetector {
    pub fn new(session: Arc<dyn InferenceSession>, config: DbConfig) -> Self {
        Self { session, config }
    }

    pub fn from_model_dir(models: &ModelDir, backend: &BackendConfig) -> Result<Self> {
        let p = models.model_path("ppocr_det")?;
        Ok(Self::new(SessionCache::global().get(&p, backend)?, DbConfig::default()))
    }

    /// Text regions of `image`, in its pixels.
    pub fn detect(&self, image: &ImageBgr) -> Result<Vec<TextRegion>> {
        let (iw, ih) = (image.width(), image.height());
        let scale = (self.config.max_side as f32 / iw.max(ih) as f32).min(1.0);
        let (rw, rh) = (
            ((iw as f32 * scale).round() as u32).max(1),
            ((ih as f32 * scale).round() as u32).max(1),
        );
        // Padding (value 0 after normalisation) rather than stretching keeps one scale for x and y.
        let (pw, ph) = (rw.div_ceil(32) * 32, rh.div_ceil(32) * 32);
        let plane = (pw * ph) as usize;
        let mut data = vec![0f32; plane * 3];
        resize_bilinear_into(image, rw, rh, |x, y, bgr| {
            let i = (y * pw + x) as usize;
            for c in 0..3 {
                data[c * plane + i] = (bgr[c] as f32 / 255.0 - MEAN[c]) / STD[c];
            }
        });
        let outs = self
            .session
            .run(vec![Tensor::f32(vec![1, 3, ph as usize, pw as usize], data)])?;
        let o = outs.first().ok_or_else(|| self.bad("no output"))?;
        if o.data.len() != plane {
            return Err(self.bad(&format!("output {:?} for input {pw}x{ph}", o.shape)));
        }
        Ok(db_boxes(&o.data, pw, ph, &self.config)
            .into_iter()
            .map(|r| TextRegion {
                bbox: BBox::new(
                    r.bbox.x1 / scale,
                    r.bbox.y1 / scale,
                    r.bbox.x2 / scale,
                    r.bbox.y2 / scale,
                )
                .clamp(iw as f32, ih as f32),
                score: r.score,
            })
            .filter(|r| r.bbox.width() >= 1.0 && r.bbox.height() >= 1.0)
            .collect())
    }

    fn bad(&self, message: &str) -> VisionError {
        VisionError::ModelOutput {
            model: self.session.model_path().display().to_string(),
            message: message.into(),
        }
    }
}

/// DB post-processing of a `w`×`h` probability map into unclipped boxes (map pixels).
pub fn db_boxes(prob: &[f32], w: u32, h: u32, cfg: &DbConfig) -> Vec<TextRegion> {
    let mut mask = Plane::new(w, h);
    for (m, &p) in mask.data.iter_mut().zip(prob) {
        *m = if p > cfg.threshold { 255 } else { 0 };
    }
    let mut out = Vec::new();
    for c in connected_components(&mask, false, 4) {
        let b = c.bbox;
        if b.width().min(b.height()) < cfg.min_size {
            continue;
        }
        let (x1, y1, x2, y2) = (b.x1 as u32, b.y1 as u32, (b.x2 as u32).min(w), (b.y2 as u32).min(h));
        let mut sum = 0f64;
        for y in y1..y2 {
            let row = &prob[(y * w) as usize..(y * w + w) as usize];
            sum += row[x1 as usize..x2 as usize].iter().map(|&v| v as f64).sum::<f64>();
        }
        let score = (sum / ((x2 - x1) * (y2 - y1)).max(1) as f64) as f32;
        if score < cfg.box_score {
            continue;
        }
        let d = b.area() * cfg.unclip_ratio / (2.0 * (b.width() + b.height()));
        out.push(TextRegion {
            bbox: BBox::new(b.x1 - d, b.y1 - d, b.x2 + d, b.y2 + d),
            score,
        });
    }
    out
}

/// Detects and reads text, in the whole frame or in given regions.
pub struct TextReader {
    pub detector: TextDetector,
    pub recognizer: TextRecognizer,
}

impl TextReader {
    pub fn from_model_dir(models: &ModelDir, backend: &BackendConfig) -> Result<Self> {
        Ok(Self {
            detector: TextDetector::from_model_dir(models, backend)?,
            recognizer: TextRecognizer::from_model_dir(models, backend)?,
        })
    }

    /// Text boxes inside `regions` (frame pixels; empty = the whole frame). Each region is read
    /// on its own crop (text in it is seen at full resolution); a box found twice by
    /// overlapping regions is kept once.
    pub fn read(&self, image: &ImageBgr, regions: &[BBox]) -> Result<Vec<TextBox>> {
        let (w, h) = (image.width() as f32, image.height() as f32);
        let whole = [BBox::new(0.0, 0.0, w, h)];
        let regions = if regions.is_empty() { &whole[..] } else { regions };
        let mut out: Vec<TextBox> = Vec::new();
        for r in regions {
            let r = r.clamp(w, h);
            if r.width() < 8.0 || r.height() < 8.0 {
                continue;
            }
            let (x0, y0) = (r.x1.floor(), r.y1.floor());
            let crop = image.crop(
                x0 as i32,
                y0 as i32,
                (r.x2.ceil() - x0) as u32,
                (r.y2.ceil() - y0) as u32,
            )?;
            for t in self.detector.detect(&crop)? {
                let b = BBox::new(t.bbox.x1 + x0, t.bbox.y1 + y0, t.bbox.x2 + x0, t.bbox.y2 + y0);
                if out.iter().any(|o| o.bbox.iou(&b) > 0.5) {
                    continue;
                }
                let (bx, by) = (b.x1.floor(), b.y1.floor());
                let line = image.crop(
                    bx as i32,
                    by as i32,
                    (b.x2.ceil() - bx) as u32,
                    (b.y2.ceil() - by) as u32,
                )?;
                let read = self.recognizer.recognize(&line)?;
                out.push(TextBox {
                    bbox: b,
                    text: read.text,
                    confidence: read.confidence,
                    det_score: t.score,
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_boxes_unclip_the_kernel_and_drop_weak_blobs() {
        let (w, h) = (40u32, 20u32);
        let mut p = vec![0f32; (w * h) as usize];
        // A 20x6 kernel at (10, 7) with probability 0.9, and a weak blob (0.4) at (2, 2).
        for y in 7..13 {
            for x in 10..30 {
                p[(y * w + x) as usize] = 0.9;
            }
        }
        for y in 2..6 {
            for x in 2..6 {
                p[(y * w + x) as usize] = 0.4;
            }
        }
        let b = db_boxes(&p, w, h, &DbConfig::default());
        assert_eq!(b.len(), 1);
        let d = 20.0 * 6.0 * 1.5 / 52.0;
        assert!((b[0].bbox.x1 - (10.0 - d)).abs() < 1e-3 && (b[0].bbox.y2 - (13.0 + d)).abs() < 1e-3);
        assert!((b[0].score - 0.9).abs() < 1e-3);
    }
}
