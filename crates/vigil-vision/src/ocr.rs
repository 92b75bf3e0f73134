//! PP-OCR text recognizer (digits + English, CTC, 97 classes) on a cropped text line.

use std::sync::Arc;

use crate::backend::{BackendConfig, InferenceSession, SessionCache, Tensor};
use crate::error::{Result, VisionError};
use crate::image::{resize_bilinear_into, ImageBgr};
use crate::models::ModelDir;

/// Recognised text with the mean probability of its characters.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TextLine {
    pub text: String,
    pub confidence: f32,
}

/// PP-OCR CTC recognizer.
pub struct TextRecognizer {
    session: Arc<dyn InferenceSession>,
    /// Class index -> character; index 0 is the CTC blank.
    charset: Vec<String>,
    /// Maximum input width (the crop is resized to height 32 keeping its aspect). Default 320.
    pub max_width: u32,
}

impl TextRecognizer {
    /// `dict` are the lines of `en_dict.txt`; a space is appended as the last class.
    pub fn new(session: Arc<dyn InferenceSession>, dict: Vec<String>) -> Self {
        let mut charset = Vec::with_capacity(dict.len() + 2);
        charset.push(String::new());
        charset.extend(dict);
        charset.push(" ".into());
        Self {
            session,
            charset,
            max_width: 320,
        }
    }

    pub fn from_model_dir(models: &ModelDir, backend: &BackendConfig) -> Result<Self> {
        let p = models.model_path("ppocr_rec")?;
        let dict = models.read_lines("ppocr_dict")?;
        Ok(Self::new(SessionCache::global().get(&p, backend)?, dict))
    }

    /// Reads the text in `crop` (a tight crop of one text line, BGR).
    pub fn recognize(&self, crop: &ImageBgr) -> Result<TextLine> {
        let h = 32u32;
        let w = ((crop.width() as f32 * h as f32 / crop.height() as f32).ceil() as u32).clamp(8, self.max_width);
        let plane = (h * w) as usize;
        let mut data = vec![0f32; plane * 3];
        resize_bilinear_into(crop, w, h, |x, y, bgr| {
            let i = (y * w + x) as usize;
            for c in 0..3 {
                data[c * plane + i] = (bgr[c] as f32 / 255.0 - 0.5) / 0.5;
            }
        });
        let outs = self
            .session
            .run(vec![Tensor::f32(vec![1, 3, h as usize, w as usize], data)])?;
        let o = outs.first().ok_or_else(|| VisionError::ModelOutput {
            model: self.session.model_path().display().to_string(),
            message: "no output".into(),
        })?;
        let nc = *o.shape.last().unwrap_or(&0);
        if nc != self.charset.len() || o.data.len() % nc != 0 {
            return Err(VisionError::ModelOutput {
                model: self.session.model_path().display().to_string(),
                message: format!("output {:?} does not match {} classes", o.shape, self.charset.len()),
            });
        }
        Ok(ctc_greedy(&o.data, nc, &self.charset))
    }
}

/// Greedy CTC decode of `[T, classes]` probabilities: best class per step, repeats collapsed,
/// blanks (class 0) dropped.
pub fn ctc_greedy(probs: &[f32], classes: usize, charset: &[String]) -> TextLine {
    let mut text = String::new();
    let mut confs = Vec::new();
    let mut prev = usize::MAX;
    for step in probs.chunks_exact(classes) {
        let (best, p) = step
            .iter()
            .enumerate()
            .fold((0, f32::MIN), |acc, (i, &v)| if v > acc.1 { (i, v) } else { acc });
        if best != 0 && best != prev {
            if let Some(c) = charset.get(best) {
                text.push_str(c);
                confs.push(p);
            }
        }
        prev = best;
    }
    let confidence = if confs.is_empty() {
        0.0
    } else {
        confs.iter().sum::<f32>() / confs.len() as f32
    };
    TextLine { text, confidence }
}
