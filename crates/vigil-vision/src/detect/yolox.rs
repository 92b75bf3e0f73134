//! YOLOX decoder, used by YOLOX-Nano (COCO 80 classes, 416 px) and the light person detector
//! (1 class, 192 px). Output rows `[cx, cy, w, h, obj, cls...]`, strides 8/16/32 with stride 8
//! first; `xy = (p + grid) * stride`, `wh = exp(p) * stride`, score = obj x cls.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::{letterbox_nchw, nms_class_aware, BBox, Detection, Detector, DetectorConfig, StageTimings};
use crate::backend::{BackendConfig, InferenceSession, SessionCache};
use crate::error::{Result, VisionError};
use crate::image::ImageBgr;
use crate::models::ModelDir;

/// Network geometry of a YOLOX-style model.
#[derive(Debug, Clone, PartialEq)]
pub struct YoloxSpec {
    pub input_size: u32,
    pub num_classes: usize,
    pub labels: Vec<String>,
    pub strides: Vec<u32>,
}

/// Anchor cells `(gx, gy, stride)` of one input size, in output order.
type Grid = Arc<Vec<(f32, f32, f32)>>;

/// A YOLOX-style detector bound to a shared session.
pub struct YoloxDetector {
    session: Arc<dyn InferenceSession>,
    spec: YoloxSpec,
    /// The anchor grid of the last input size used (one size per camera, so it rarely changes).
    grid: Mutex<((u32, u32), Grid)>,
    pub config: DetectorConfig,
}

impl YoloxDetector {
    /// Wraps a loaded session.
    pub fn new(session: Arc<dyn InferenceSession>, spec: YoloxSpec, config: DetectorConfig) -> Self {
        let s = spec.input_size;
        let grid = Mutex::new(((s, s), Arc::new(grid(&spec.strides, s, s))));
        Self {
            session,
            spec,
            grid,
            config,
        }
    }

    /// YOLOX-Nano (COCO) from a model directory, session shared through the global cache.
    pub fn coco(models: &ModelDir, backend: &BackendConfig, config: DetectorConfig) -> Result<Self> {
        let path = models.model_path("yolox_nano")?;
        let labels = models.read_lines("coco_labels")?;
        if labels.len() != 80 {
            return Err(VisionError::Manifest(format!(
                "coco_labels.txt has {} names, expected 80",
                labels.len()
            )));
        }
        let session = SessionCache::global().get_flexible(&path, backend)?;
        Ok(Self::new(
            session,
            YoloxSpec {
                input_size: 416,
                num_classes: 80,
                labels,
                strides: vec![8, 16, 32],
            },
            config,
        ))
    }

    /// The light person-only detector (192 px): the fast path for person counting.
    pub fn person(models: &ModelDir, backend: &BackendConfig, config: DetectorConfig) -> Result<Self> {
        let path = models.model_path("light_person_detector")?;
        let session = SessionCache::global().get_flexible(&path, backend)?;
        Ok(Self::new(
            session,
            YoloxSpec {
                input_size: 192,
                num_classes: 1,
                labels: vec!["person".into()],
                strides: vec![8, 16, 32],
            },
            config,
        ))
    }

    pub fn session(&self) -> &Arc<dyn InferenceSession> {
        &self.session
    }

    /// Detects and reports the time spent in each stage.
    pub fn detect_timed(&self, frame: &ImageBgr) -> Result<(Vec<Detection>, StageTimings)> {
        let t0 = Instant::now();
        let (in_w, in_h) = self.input_shape(frame.width(), frame.height());
        let (tensor, lb) = letterbox_nchw(frame, in_w, in_h, 114.0);
        let t1 = Instant::now();
        let outs = self.session.run(vec![tensor])?;
        let t2 = Instant::now();
        let out = outs.first().ok_or_else(|| self.bad("no output"))?;
        let row = 5 + self.spec.num_classes;
        let grid = self.grid_for(in_w, in_h);
        if out.data.len() != grid.len() * row {
            return Err(self.bad(&format!(
                "output shape {:?}, expected [1, {}, {row}]",
                out.shape,
                grid.len()
            )));
        }
        let dets = self.decode_on(&grid, &out.data, lb.ratio, frame.width() as f32, frame.height() as f32);
        let t3 = Instant::now();
        Ok((
            dets,
            StageTimings {
                preprocess: t1 - t0,
                inference: t2 - t1,
                postprocess: t3 - t2,
            },
        ))
    }

    fn bad(&self, m: &str) -> VisionError {
        VisionError::ModelOutput {
            model: self.session.model_path().display().to_string(),
            message: m.to_string(),
        }
    }

    /// The network input (width, height) for a `width`×`height` frame. The frame is scaled as
    /// into the exported square; on a session that takes any size, the short side of the input
    /// is then cut to the scaled frame plus one cell of the largest stride, rounded up to that
    /// stride, instead of padding the rest of the square: 416×288 rather than 416×416 for 16:9,
    /// 69 % of the work. The extra cell keeps padding below the image as the network saw in
    /// training: without it, objects cut by the frame's lower edge scored lower (on the street
    /// clip one car of 13 was lost at 416×192; it is found at 416×224 as in the square).
    pub fn input_shape(&self, width: u32, height: u32) -> (u32, u32) {
        let s = self.spec.input_size;
        let step = self.spec.strides.iter().copied().max().unwrap_or(32).max(1);
        if !self.session.flexible_input() || width == 0 || height == 0 || !s.is_multiple_of(step) {
            return (s, s);
        }
        let ratio = (s as f32 / width as f32).min(s as f32 / height as f32);
        let fit = |side: u32| {
            let scaled = ((side as f32 * ratio) as u32).max(1);
            if scaled >= s {
                s
            } else {
                ((scaled + step).div_ceil(step) * step).min(s)
            }
        };
        (fit(width), fit(height))
    }

    /// The anchor grid of an input size (cached for the last size).
    fn grid_for(&self, width: u32, height: u32) -> Grid {
        let mut last = self.grid.lock().unwrap_or_else(|p| p.into_inner());
        if last.0 != (width, height) {
            *last = ((width, height), Arc::new(grid(&self.spec.strides, width, height)));
        }
        last.1.clone()
    }

    /// Decodes raw network output (`[N, 5 + classes]`) of the exported square input into
    /// frame-pixel detections.
    pub fn decode(&self, data: &[f32], ratio: f32, frame_w: f32, frame_h: f32) -> Vec<Detection> {
        let s = self.spec.input_size;
        self.decode_on(&self.grid_for(s, s), data, ratio, frame_w, frame_h)
    }

    fn decode_on(
        &self,
        grid: &[(f32, f32, f32)],
        data: &[f32],
        ratio: f32,
        frame_w: f32,
        frame_h: f32,
    ) -> Vec<Detection> {
        let cands = decode_rows(
            data,
            grid,
            self.spec.num_classes,
            self.config.conf_threshold,
            self.config.classes.as_deref(),
        )
        .into_iter()
        .map(|d| Detection {
            bbox: BBox::new(
                d.bbox.x1 / ratio,
                d.bbox.y1 / ratio,
                d.bbox.x2 / ratio,
                d.bbox.y2 / ratio,
            )
            .clamp(frame_w, frame_h),
            ..d
        })
        .collect();
        let mut dets: Vec<Detection> = nms_class_aware(cands, self.config.nms_iou)
            .into_iter()
            .filter(|d| self.config.keeps(d))
            .collect();
        if self.config.max_detections > 0 {
            dets.truncate(self.config.max_detections);
        }
        dets
    }
}

/// The YOLOX anchor grid `(gx, gy, stride)` of a `width`×`height` input, strides in output order
/// (a partial last cell counts, as the network's feature maps round up).
pub(crate) fn grid(strides: &[u32], width: u32, height: u32) -> Vec<(f32, f32, f32)> {
    let mut grid = Vec::new();
    for &s in strides {
        for gy in 0..height.div_ceil(s) {
            for gx in 0..width.div_ceil(s) {
                grid.push((gx as f32, gy as f32, s as f32));
            }
        }
    }
    grid
}

/// Decodes YOLOX rows `[cx, cy, w, h, obj, cls...]` (one per `grid` cell) into candidate
/// detections in network-input pixels, before NMS: `score = obj × cls` above `thr`, only the
/// `classes` allowed (`None` = all). Shared by [`YoloxDetector`] and packaged YOLOX models.
pub(crate) fn decode_rows(
    data: &[f32],
    grid: &[(f32, f32, f32)],
    nc: usize,
    thr: f32,
    classes: Option<&[u32]>,
) -> Vec<Detection> {
    let row = 5 + nc;
    let mut cands = Vec::new();
    for (r, &(gx, gy, s)) in data.chunks_exact(row).zip(grid) {
        let obj = r[4];
        if obj <= thr {
            continue;
        }
        let mut bbox: Option<BBox> = None;
        for c in 0..nc {
            let score = obj * r[5 + c];
            if score <= thr || classes.is_some_and(|allow| !allow.contains(&(c as u32))) {
                continue;
            }
            let b = *bbox.get_or_insert_with(|| {
                let cx = (r[0] + gx) * s;
                let cy = (r[1] + gy) * s;
                let w = r[2].exp() * s;
                let h = r[3].exp() * s;
                BBox::new(cx - w * 0.5, cy - h * 0.5, cx + w * 0.5, cy + h * 0.5)
            });
            cands.push(Detection {
                bbox: b,
                score,
                class_id: c as u32,
            });
        }
    }
    cands
}

impl Detector for YoloxDetector {
    fn detect(&self, frame: &ImageBgr) -> Result<Vec<Detection>> {
        self.detect_timed(frame).map(|(d, _)| d)
    }
    fn labels(&self) -> &[String] {
        &self.spec.labels
    }
}
