//! Computes the merged [`Needs`] of one source's tasks on a frame, each once: detectors (shared
//! sessions from the [`SessionCache`](crate::SessionCache), tiled when a task asks for it),
//! faces, poses, text and motion, with motion gating of the detectors. One `Perceiver` per source, used from that source's thread.

use std::sync::Arc;

use crate::backend::BackendConfig;
use crate::detect::{
    tiling, BBox, Detection, Detector, DetectorConfig, FaceDetector, FaceDetectorConfig, PackagedDetector,
    YoloxDetector,
};
use crate::error::{Result, VisionError};
use crate::image::ImageBgr;
use crate::models::ModelDir;
use crate::motion::{BlockGrid, LumaView, MotionConfig, MotionGate};
use crate::packages::PackageRegistry;
use crate::perception::{DetectorModel, Needs, Perception};
use crate::pose::MultiPoseEstimator;
use crate::textdet::TextReader;

/// Counters of one perceiver (the benchmark and tests read them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PerceiverStats {
    pub frames: u64,
    /// Frames on which the detectors ran.
    pub detector_runs: u64,
    /// Frames on which motion gating skipped the detectors.
    pub gated: u64,
}

pub struct Perceiver {
    models: ModelDir,
    backend: BackendConfig,
    detectors: Vec<(DetectorModel, LoadedDetector)>,
    faces: Option<FaceDetector>,
    poses: Option<MultiPoseEstimator>,
    text: Option<TextReader>,
    gate: MotionGate,
    last: Vec<(DetectorModel, Arc<Vec<Detection>>)>,
    pub stats: PerceiverStats,
}

/// One frame as the perceiver sees it.
pub struct PerceiverFrame<'a> {
    pub image: &'a ImageBgr,
    /// The decoded luma plane, for motion (computed from `image` when absent).
    pub luma: Option<LumaView<'a>>,
    /// Seconds since the stream started.
    pub time: f64,
    /// Where gated tasks look (frame pixels); empty = the whole frame.
    pub gate_regions: &'a [BBox],
}

impl Perceiver {
    pub fn new(models: ModelDir, backend: BackendConfig) -> Self {
        Perceiver {
            models,
            backend,
            detectors: Vec::new(),
            faces: None,
            poses: None,
            text: None,
            gate: MotionGate::new(MotionConfig::default()),
            last: Vec::new(),
            stats: PerceiverStats::default(),
        }
    }

    /// Loads what `needs` asks for (models are shared process-wide); call when the needs change
    /// so that a missing model is reported before the first frame.
    pub fn prepare(&mut self, needs: &Needs) -> Result<()> {
        for need in &needs.detectors {
            match self.detectors.iter_mut().find(|(m, _)| *m == need.model) {
                // Called per frame: only a change of the source's tasks changes the config.
                Some((_, d)) => {
                    let c = d.config_mut();
                    if c.conf_threshold != need.min_score || c.classes.as_deref() != Some(need.classes.as_slice()) {
                        c.conf_threshold = need.min_score;
                        c.classes = Some(need.classes.clone());
                    }
                }
                None => {
                    let mut d = match need.model {
                        DetectorModel::Coco => LoadedDetector::Yolox(YoloxDetector::coco(
                            &self.models,
                            &self.backend,
                            DetectorConfig::default(),
                        )?),
                        DetectorModel::Person => LoadedDetector::Yolox(YoloxDetector::person(
                            &self.models,
                            &self.backend,
                            DetectorConfig::default(),
                        )?),
                        DetectorModel::Package(key) => {
                            let package = PackageRegistry::global()
                                .get(key)
                                .ok_or(VisionError::PackageNotInstalled(key.0))?;
                            LoadedDetector::Package(Box::new(PackagedDetector::load(&package, &self.backend)?))
                        }
                    };
                    // NMS IoU stays the model's own (a package's manifest `nms_iou`).
                    let c = d.config_mut();
                    c.conf_threshold = need.min_score;
                    c.classes = Some(need.classes.clone());
                    self.detectors.push((need.model, d));
                }
            }
        }
        if needs.faces && self.faces.is_none() {
            self.faces = Some(FaceDetector::from_model_dir(
                &self.models,
                &self.backend,
                FaceDetectorConfig::default(),
            )?);
        }
        if needs.poses && self.poses.is_none() {
            self.poses = Some(MultiPoseEstimator::from_model_dir(&self.models, &self.backend)?);
        }
        if needs.text.is_some() && self.text.is_none() {
            self.text = Some(TextReader::from_model_dir(&self.models, &self.backend)?);
        }
        Ok(())
    }

    /// Computes `needs` (the union over the tasks due on this frame) once.
    pub fn perceive(&mut self, needs: &Needs, frame: &PerceiverFrame) -> Result<Perception> {
        self.prepare(needs)?;
        self.stats.frames += 1;
        let image = frame.image;
        let size = (image.width(), image.height());
        let mut out = Perception {
            fresh: true,
            ..Default::default()
        };
        let grid = if needs.motion || needs.motion_gated {
            Some(match &frame.luma {
                Some(l) => BlockGrid::from_luma(l),
                None => {
                    let grey = crate::pixel::to_gray(image);
                    BlockGrid::from_luma(&LumaView {
                        data: &grey.data,
                        stride: grey.width as usize,
                        width: grey.width,
                        height: grey.height,
                    })
                }
            })
        } else {
            None
        };
        let mut run_detectors = !needs.detectors.is_empty();
        if let Some(g) = &grid {
            let reading = self.gate.observe(g, frame.gate_regions, size);
            out.motion = Some(reading.since_previous);
            if needs.motion_gated && run_detectors {
                let alive = self.last.iter().any(|(_, d)| !d.is_empty());
                let same_models = needs
                    .detectors
                    .iter()
                    .all(|n| self.last.iter().any(|(m, _)| *m == n.model));
                run_detectors = !same_models || self.gate.must_detect(&reading, frame.time, alive);
            }
        }
        if run_detectors {
            self.stats.detector_runs += 1;
            let mut fresh = Vec::with_capacity(needs.detectors.len());
            for need in &needs.detectors {
                if let Some((m, d)) = self.detectors.iter().find(|(m, _)| *m == need.model) {
                    let dets = tiling::detect_tiled(d.detector(), image, need.tiles, d.config().nms_iou)?;
                    fresh.push((*m, Arc::new(dets)));
                }
            }
            self.last = fresh;
            if let Some(g) = grid {
                self.gate.detected(g, frame.time);
            }
        } else if !needs.detectors.is_empty() {
            self.stats.gated += 1;
            out.fresh = false;
        }
        out.detections = needs
            .detectors
            .iter()
            .filter_map(|n| self.last.iter().find(|(m, _)| *m == n.model).cloned())
            .collect();
        if needs.faces {
            if let Some(f) = &self.faces {
                out.faces = Some(Arc::new(f.detect(image)?));
            }
        }
        if needs.poses {
            if let Some(p) = &self.poses {
                out.poses = Some(Arc::new(p.estimate(image)?));
            }
        }
        if let (Some(regions), Some(reader)) = (&needs.text, &self.text) {
            out.texts = Some(Arc::new(reader.read(image, regions)?));
        }
        Ok(out)
    }
}

/// A loaded detector: a built-in YOLOX model or an operator's package.
enum LoadedDetector {
    Yolox(YoloxDetector),
    Package(Box<PackagedDetector>),
}

impl LoadedDetector {
    fn config(&self) -> &DetectorConfig {
        match self {
            LoadedDetector::Yolox(d) => &d.config,
            LoadedDetector::Package(d) => &d.config,
        }
    }
    fn config_mut(&mut self) -> &mut DetectorConfig {
        match self {
            LoadedDetector::Yolox(d) => &mut d.config,
            LoadedDetector::Package(d) => &mut d.config,
        }
    }
    fn detector(&self) -> &dyn Detector {
        match self {
            LoadedDetector::Yolox(d) => d,
            LoadedDetector::Package(d) => d.as_ref(),
        }
    }
}
