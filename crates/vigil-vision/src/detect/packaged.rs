//! A detector from an operator's model package (bring-your-own model): preprocessing from the
//! manifest's [`InputSpec`], the output decoded by its [`DecoderSpec`] family (YOLOX, YOLOv5,
//! YOLOv8, NanoDet), then the score threshold, class filter and class-aware NMS shared with the
//! built-in detectors. Formats: `docs/algorithm-center.md`.

use std::sync::Arc;
use std::time::Instant;

use vigil_core::model_package::{ChannelOrder, DecoderSpec, InputSpec, Layout, PackageManifest, Resize};

use super::{nanodet, nms_class_aware, yolov5, yolov8, yolox, BBox, Detection, Detector, DetectorConfig, StageTimings};
use crate::backend::{BackendConfig, InferenceSession, Output, SessionCache, Tensor};
use crate::error::{Result, VisionError};
use crate::image::{resize_bilinear_into, ImageBgr};
use crate::models::sha256_file;
use crate::packages::RegisteredPackage;

/// How a frame was placed into the network input: `input = frame × s + d`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    pub sx: f32,
    pub sy: f32,
    pub dx: f32,
    pub dy: f32,
}

impl Fit {
    /// An input-pixel box in frame pixels, clamped to the frame.
    pub fn to_frame(&self, b: &BBox, frame_w: f32, frame_h: f32) -> BBox {
        BBox::new(
            (b.x1 - self.dx) / self.sx,
            (b.y1 - self.dy) / self.sy,
            (b.x2 - self.dx) / self.sx,
            (b.y2 - self.dy) / self.sy,
        )
        .clamp(frame_w, frame_h)
    }
}

/// The network input of `frame` as the manifest describes it: resized (letterbox top-left,
/// letterbox centred or stretched; OpenCV-style bilinear), channels in `spec.channels` order,
/// `(pixel - mean) / std` per channel, NCHW or NHWC f32.
pub fn preprocess(frame: &ImageBgr, spec: &InputSpec) -> (Tensor, Fit) {
    let (w, h) = (frame.width(), frame.height());
    let (iw, ih) = (spec.width, spec.height);
    let (rw, rh, fit) = match spec.resize {
        Resize::Stretch => (
            iw,
            ih,
            Fit {
                sx: iw as f32 / w as f32,
                sy: ih as f32 / h as f32,
                dx: 0.0,
                dy: 0.0,
            },
        ),
        Resize::Letterbox | Resize::LetterboxCenter => {
            // Same rounding as `letterbox_nchw` (the built-in YOLOX path).
            let ratio = (iw as f32 / w as f32).min(ih as f32 / h as f32);
            let rw = ((w as f32 * ratio) as u32).clamp(1, iw);
            let rh = ((h as f32 * ratio) as u32).clamp(1, ih);
            let (dx, dy) = if spec.resize == Resize::LetterboxCenter {
                ((iw - rw) / 2, (ih - rh) / 2)
            } else {
                (0, 0)
            };
            (
                rw,
                rh,
                Fit {
                    sx: ratio,
                    sy: ratio,
                    dx: dx as f32,
                    dy: dy as f32,
                },
            )
        }
    };
    // Tensor channel k takes BGR byte `order[k]`.
    let order = match spec.channels {
        ChannelOrder::Bgr => [0, 1, 2],
        ChannelOrder::Rgb => [2, 1, 0],
    };
    let scale = [1.0 / spec.std[0], 1.0 / spec.std[1], 1.0 / spec.std[2]];
    let norm = |k: usize, v: f32| (v - spec.mean[k]) * scale[k];
    let (iwu, ihu) = (iw as usize, ih as usize);
    let plane = iwu * ihu;
    let mut data = vec![0f32; plane * 3];
    let index = |k: usize, x: usize, y: usize| match spec.layout {
        Layout::Nchw => k * plane + y * iwu + x,
        Layout::Nhwc => (y * iwu + x) * 3 + k,
    };
    if rw < iw || rh < ih {
        let pad = [
            norm(0, spec.pad_value),
            norm(1, spec.pad_value),
            norm(2, spec.pad_value),
        ];
        for y in 0..ihu {
            for x in 0..iwu {
                for (k, p) in pad.iter().enumerate() {
                    data[index(k, x, y)] = *p;
                }
            }
        }
    }
    let (ox, oy) = (fit.dx as usize, fit.dy as usize);
    resize_bilinear_into(frame, rw, rh, |x, y, bgr| {
        let (x, y) = (x as usize + ox, y as usize + oy);
        for k in 0..3 {
            data[index(k, x, y)] = norm(k, bgr[order[k]] as f32);
        }
    });
    let shape = match spec.layout {
        Layout::Nchw => vec![1, 3, ihu, iwu],
        Layout::Nhwc => vec![1, ihu, iwu, 3],
    };
    (Tensor::f32(shape, data), fit)
}

/// A packaged detector bound to a shared session.
pub struct PackagedDetector {
    session: Arc<dyn InferenceSession>,
    manifest: PackageManifest,
    /// YOLOX anchor grid (empty for the other families).
    grid: Vec<(f32, f32, f32)>,
    /// Defaults from the manifest (`score_threshold`, `nms_iou`); the perceiver sets the score
    /// floor and classes per need.
    pub config: DetectorConfig,
}

impl PackagedDetector {
    /// Verifies the model file against the manifest's SHA-256 and loads it through the
    /// process-wide [`SessionCache`] (tasks of one package share one session).
    pub fn load(package: &RegisteredPackage, backend: &BackendConfig) -> Result<Self> {
        let m = &package.manifest;
        let actual = sha256_file(&package.model_path)?;
        if actual != m.sha256 {
            return Err(VisionError::ModelChecksum {
                path: package.model_path.clone(),
                expected: m.sha256.clone(),
                actual,
                source_url: format!("package {}@{}", m.name, m.version),
            });
        }
        let session = SessionCache::global().get(&package.model_path, backend)?;
        Self::new(session, m.clone())
    }

    /// Wraps a loaded session (the model must take one image input).
    pub fn new(session: Arc<dyn InferenceSession>, manifest: PackageManifest) -> Result<Self> {
        if session.input_names().len() != 1 {
            return Err(VisionError::ModelOutput {
                model: session.model_path().display().to_string(),
                message: format!(
                    "a packaged detector takes exactly one image input, this model has {:?}",
                    session.input_names()
                ),
            });
        }
        let grid = match &manifest.decoder {
            DecoderSpec::Yolox { strides } => yolox::grid(strides, manifest.input.width, manifest.input.height),
            _ => Vec::new(),
        };
        let config = DetectorConfig {
            conf_threshold: manifest.score_threshold,
            nms_iou: manifest.nms_iou,
            ..Default::default()
        };
        Ok(Self {
            session,
            manifest,
            grid,
            config,
        })
    }

    pub fn manifest(&self) -> &PackageManifest {
        &self.manifest
    }

    pub fn session(&self) -> &Arc<dyn InferenceSession> {
        &self.session
    }

    /// Detects and reports the time spent in each stage.
    pub fn detect_timed(&self, frame: &ImageBgr) -> Result<(Vec<Detection>, StageTimings)> {
        let t0 = Instant::now();
        let (tensor, fit) = preprocess(frame, &self.manifest.input);
        let t1 = Instant::now();
        let outs = self.session.run(vec![tensor])?;
        let t2 = Instant::now();
        let dets = self.decode(&outs, &fit, frame.width() as f32, frame.height() as f32)?;
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

    /// Decodes the raw outputs into frame-pixel detections, best first.
    pub fn decode(&self, outs: &[Output], fit: &Fit, frame_w: f32, frame_h: f32) -> Result<Vec<Detection>> {
        let nc = self.manifest.classes.len();
        let thr = self.config.conf_threshold;
        let classes = self.config.classes.as_deref();
        let (iw, ih) = (self.manifest.input.width, self.manifest.input.height);
        let cands = match &self.manifest.decoder {
            DecoderSpec::Yolox { .. } => {
                let out = outs.first().ok_or_else(|| self.bad("no output".into()))?;
                if out.data.len() != self.grid.len() * (5 + nc) {
                    return Err(self.bad(format!(
                        "output shape {:?}, expected [1, {}, {}] for YOLOX with {nc} classes",
                        out.shape,
                        self.grid.len(),
                        5 + nc
                    )));
                }
                yolox::decode_rows(&out.data, &self.grid, nc, thr, classes)
            }
            DecoderSpec::Yolov5 => yolov5::decode(outs, nc, thr, classes).map_err(|m| self.bad(m))?,
            DecoderSpec::Yolov8 => yolov8::decode(outs, nc, thr, classes).map_err(|m| self.bad(m))?,
            DecoderSpec::Nanodet {
                strides,
                reg_max,
                center_offset,
            } => {
                let geo = nanodet::Geometry {
                    width: iw,
                    height: ih,
                    strides,
                    reg_max: *reg_max as usize,
                    center_offset: *center_offset,
                };
                nanodet::decode(outs, &geo, nc, thr, classes).map_err(|m| self.bad(m))?
            }
        };
        let cands = cands
            .into_iter()
            .map(|d| Detection {
                bbox: fit.to_frame(&d.bbox, frame_w, frame_h),
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
        Ok(dets)
    }

    fn bad(&self, message: String) -> VisionError {
        VisionError::ModelOutput {
            model: format!(
                "{} (package {}@{}, decoder {})",
                self.session.model_path().display(),
                self.manifest.name,
                self.manifest.version,
                self.manifest.decoder.family()
            ),
            message,
        }
    }
}

impl Detector for PackagedDetector {
    fn detect(&self, frame: &ImageBgr) -> Result<Vec<Detection>> {
        self.detect_timed(frame).map(|(d, _)| d)
    }
    fn labels(&self) -> &[String] {
        &self.manifest.classes
    }
}

/// Row `i`, column `j` of a `[1, N, W]` output, or of a `[1, W, N]` one (`transposed`).
pub(crate) struct Rows<'a> {
    data: &'a [f32],
    pub n: usize,
    width: usize,
    transposed: bool,
}

impl<'a> Rows<'a> {
    /// Views `out` as `N` rows of `width` values; a `[1, width, N]` output is read transposed
    /// (when both dims equal `width`, rows are taken as `[1, width, N]`, the YOLOv8 export).
    pub fn new(out: &'a Output, width: usize, prefer_transposed: bool) -> std::result::Result<Self, String> {
        let dims: Vec<usize> = match out.shape.as_slice() {
            [1, a, b] | [a, b] => vec![*a, *b],
            s => {
                return Err(format!(
                    "output `{}` has shape {s:?}, expected rank 3 with batch 1",
                    out.name
                ))
            }
        };
        let (a, b) = (dims[0], dims[1]);
        let transposed = match (a == width, b == width) {
            (true, true) => prefer_transposed,
            (true, false) => true,
            (false, true) => false,
            (false, false) => {
                return Err(format!(
                    "output `{}` has shape {:?}, expected [1, N, {width}] or [1, {width}, N]",
                    out.name, out.shape
                ))
            }
        };
        let n = if transposed { b } else { a };
        if out.data.len() != n * width {
            return Err(format!(
                "output `{}` holds {} values, shape says {}",
                out.name,
                out.data.len(),
                n * width
            ));
        }
        Ok(Rows {
            data: &out.data,
            n,
            width,
            transposed,
        })
    }

    #[inline]
    pub fn get(&self, i: usize, j: usize) -> f32 {
        if self.transposed {
            self.data[j * self.n + i]
        } else {
            self.data[i * self.width + j]
        }
    }
}

/// Pushes one candidate per allowed class of row `i` whose `score(c)` is above `thr`.
pub(crate) fn push_classes(
    cands: &mut Vec<Detection>,
    nc: usize,
    thr: f32,
    classes: Option<&[u32]>,
    score: impl Fn(usize) -> f32,
    bbox: impl Fn() -> BBox,
) {
    let mut b: Option<BBox> = None;
    for c in 0..nc {
        let s = score(c);
        if s <= thr || classes.is_some_and(|allow| !allow.contains(&(c as u32))) {
            continue;
        }
        cands.push(Detection {
            bbox: *b.get_or_insert_with(&bbox),
            score: s,
            class_id: c as u32,
        });
    }
}

/// A box from centre and size.
pub(crate) fn cxcywh(cx: f32, cy: f32, w: f32, h: f32) -> BBox {
    BBox::new(cx - w * 0.5, cy - h * 0.5, cx + w * 0.5, cy + h * 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(resize: Resize, channels: ChannelOrder, layout: Layout) -> InputSpec {
        InputSpec {
            width: 8,
            height: 8,
            layout,
            channels,
            resize,
            pad_value: 114.0,
            mean: [10.0, 20.0, 30.0],
            std: [2.0, 4.0, 5.0],
        }
    }

    #[test]
    fn preprocessing_follows_the_input_spec() {
        // 16×8 frame, BGR (40, 80, 130): letterboxed into 8×8 it fills rows 0..4.
        let frame = ImageBgr::filled(16, 8, [40, 80, 130]).unwrap();
        let (t, fit) = preprocess(&frame, &spec(Resize::Letterbox, ChannelOrder::Bgr, Layout::Nchw));
        assert_eq!(t.shape, vec![1, 3, 8, 8]);
        assert_eq!(
            fit,
            Fit {
                sx: 0.5,
                sy: 0.5,
                dx: 0.0,
                dy: 0.0
            }
        );
        let crate::backend::TensorData::F32(d) = &t.data else {
            panic!("f32")
        };
        // Channel 0 = B: (40 - 10) / 2; padding (114 - 10) / 2.
        assert_eq!(d[0], 15.0);
        assert_eq!(d[3 * 8 + 7], 15.0);
        assert_eq!(d[4 * 8], 52.0);
        // Channel 2 = R: (130 - 30) / 5.
        assert_eq!(d[128], 20.0);

        let (t, fit) = preprocess(&frame, &spec(Resize::LetterboxCenter, ChannelOrder::Rgb, Layout::Nhwc));
        assert_eq!(t.shape, vec![1, 8, 8, 3]);
        assert_eq!(fit.dy, 2.0);
        let crate::backend::TensorData::F32(d) = &t.data else {
            panic!("f32")
        };
        // Row 0 is padding, row 2 is image; NHWC channel 0 = R: (130 - 10) / 2.
        assert_eq!(d[0], 52.0);
        assert_eq!(&d[2 * 24..2 * 24 + 3], &[60.0, 15.0, 2.0]);
        // A box in input pixels maps back through the offset.
        let b = fit.to_frame(&BBox::new(1.0, 3.0, 5.0, 5.0), 16.0, 8.0);
        assert_eq!(b, BBox::new(2.0, 2.0, 10.0, 6.0));

        let (t, fit) = preprocess(&frame, &spec(Resize::Stretch, ChannelOrder::Bgr, Layout::Nchw));
        assert_eq!((fit.sx, fit.sy), (0.5, 1.0));
        let crate::backend::TensorData::F32(d) = &t.data else {
            panic!("f32")
        };
        assert!(d[..64].iter().all(|&v| v == 15.0), "no padding when stretched");
    }

    #[test]
    fn rows_read_both_layouts() {
        let out = Output {
            name: "o".into(),
            shape: vec![1, 2, 3],
            data: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        };
        let r = Rows::new(&out, 3, true).unwrap();
        assert_eq!((r.n, r.get(1, 0)), (2, 4.0));
        let r = Rows::new(&out, 2, true).unwrap();
        assert_eq!((r.n, r.get(1, 0), r.get(2, 1)), (3, 2.0, 6.0));
        assert!(Rows::new(&out, 5, true).is_err());
    }
}
