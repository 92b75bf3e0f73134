//! What an analyzer asks of the perception layer ([`Needs`]) and what it gets back
//! ([`Perception`]). The engine merges the needs of every task on one source
//! ([`Needs::union`]) and computes each once per frame (see [`crate::perceiver`]), so two tasks
//! that need the COCO detector on one camera cost one inference.

use std::sync::Arc;

use crate::detect::{BBox, Detection, Face};
use crate::pose::Pose;
use crate::textdet::TextBox;

/// The detector models an analyzer can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DetectorModel {
    /// YOLOX-Nano, 80 COCO classes, 416 px.
    Coco,
    /// The light person-only detector, 192 px (class 0 = person).
    Person,
    /// An operator's detector package ([`crate::packages`]); class ids in its manifest's order.
    Package(crate::packages::PackageKey),
}

/// One detector an analyzer needs.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorNeed {
    pub model: DetectorModel,
    /// Class ids to keep (in the model's label order).
    pub classes: Vec<u32>,
    /// Score floor of the detections handed in (trackers want low-score boxes too).
    pub min_score: f32,
    /// Detector tiling for small targets (high cameras): 0 or 1 = the whole frame only; N = also
    /// an N×N grid of overlapping tiles, merged with the whole-frame pass
    /// ([`crate::detect::tiling`]; costs N² + 1 inferences).
    pub tiles: u8,
}

/// Everything one analyzer needs per analysed frame, and how often.
#[derive(Debug, Clone, PartialEq)]
pub struct Needs {
    /// Analysed frames per second this analyzer wants (line counting wants more than dwell).
    pub fps: f64,
    pub detectors: Vec<DetectorNeed>,
    /// YuNet faces on the whole frame.
    pub faces: bool,
    /// Multi-person pose (MoveNet multipose).
    pub poses: bool,
    /// The fraction of pixels that changed since the previous analysed frame.
    pub motion: bool,
    /// Motion gating (a Vigil extension, opt-in per task): the detectors may be skipped on a
    /// frame with no motion since the last detection; the last detections are handed in again.
    pub motion_gated: bool,
    /// Text (PP-OCR detection + recognition): `None` = no text; `Some(regions)` = read the text
    /// inside these frame-pixel regions; `Some(vec![])` = the whole frame.
    pub text: Option<Vec<BBox>>,
}

impl Needs {
    /// No perception at all (pure pixel or timer analyzers) at `fps`.
    pub fn none(fps: f64) -> Self {
        Needs {
            fps,
            detectors: Vec::new(),
            faces: false,
            poses: false,
            motion: false,
            motion_gated: false,
            text: None,
        }
    }

    /// One detector at `fps`.
    pub fn detector(model: DetectorModel, classes: Vec<u32>, min_score: f32, fps: f64) -> Self {
        Needs {
            detectors: vec![DetectorNeed {
                model,
                classes,
                min_score,
                tiles: 0,
            }],
            ..Needs::none(fps)
        }
    }

    /// One detector at `fps`, run also on a `tiles`×`tiles` grid (see [`DetectorNeed::tiles`]).
    pub fn tiled_detector(model: DetectorModel, classes: Vec<u32>, min_score: f32, fps: f64, tiles: u8) -> Self {
        let mut n = Self::detector(model, classes, min_score, fps);
        n.detectors[0].tiles = tiles;
        n
    }

    /// The needs of several analyzers merged: one detector per model with the union of classes,
    /// the lowest score floor and the finest tiling, the highest rate, and gating only when every
    /// detector user is gated (an ungated task must see fresh detections on every frame).
    pub fn union<'a>(all: impl IntoIterator<Item = &'a Needs>) -> Needs {
        let mut out = Needs::none(0.0);
        let mut any_detector_user = false;
        let mut all_gated = true;
        for n in all {
            out.fps = out.fps.max(n.fps);
            out.faces |= n.faces;
            out.poses |= n.poses;
            out.motion |= n.motion || n.motion_gated;
            out.text = union_text(out.text.take(), n.text.as_deref());
            if !n.detectors.is_empty() {
                any_detector_user = true;
                all_gated &= n.motion_gated;
            }
            for d in &n.detectors {
                match out.detectors.iter_mut().find(|o| o.model == d.model) {
                    Some(o) => {
                        for c in &d.classes {
                            if !o.classes.contains(c) {
                                o.classes.push(*c);
                            }
                        }
                        o.min_score = o.min_score.min(d.min_score);
                        o.tiles = o.tiles.max(d.tiles);
                    }
                    None => out.detectors.push(d.clone()),
                }
            }
        }
        for d in &mut out.detectors {
            d.classes.sort_unstable();
        }
        out.detectors.sort_by_key(|d| d.model);
        out.motion_gated = any_detector_user && all_gated;
        out
    }
}

/// Text regions merged: the whole frame (empty) wins; otherwise the regions are concatenated
/// (the reader keeps a box found by two overlapping regions once).
fn union_text(acc: Option<Vec<BBox>>, more: Option<&[BBox]>) -> Option<Vec<BBox>> {
    match (acc, more) {
        (acc, None) => acc,
        (None, Some(m)) => Some(m.to_vec()),
        (Some(a), Some(m)) if a.is_empty() || m.is_empty() => Some(Vec::new()),
        (Some(mut a), Some(m)) => {
            a.extend(m.iter().filter(|b| !a.contains(b)).copied().collect::<Vec<_>>());
            Some(a)
        }
    }
}

/// The perception of one frame, shared (`Arc`) by every task on the source.
#[derive(Debug, Clone, Default)]
pub struct Perception {
    /// Detections per model: the union of what the source's tasks asked for; each analyzer
    /// keeps its own classes and score floor.
    pub detections: Vec<(DetectorModel, Arc<Vec<Detection>>)>,
    /// False when motion gating skipped the detectors on this frame and the last detections are
    /// handed in again (nothing moved since).
    pub fresh: bool,
    pub faces: Option<Arc<Vec<Face>>>,
    pub poses: Option<Arc<Vec<Pose>>>,
    /// Fraction of the frame's pixels that changed since the previous analysed frame.
    pub motion: Option<f32>,
    /// Text read in the regions the tasks asked for (`Needs::text`), frame pixels.
    pub texts: Option<Arc<Vec<TextBox>>>,
}

impl Perception {
    /// A perception holding only `detections` of `model` (tests, offline tools).
    pub fn with_detections(model: DetectorModel, detections: Vec<Detection>) -> Self {
        Perception {
            detections: vec![(model, Arc::new(detections))],
            fresh: true,
            ..Default::default()
        }
    }

    /// The detections of `model` (empty when nobody asked for it).
    pub fn detections(&self, model: DetectorModel) -> &[Detection] {
        self.detections
            .iter()
            .find(|(m, _)| *m == model)
            .map(|(_, d)| d.as_slice())
            .unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_merges_detectors_once_per_model() {
        let a = Needs::detector(DetectorModel::Coco, vec![0], 0.3, 5.0);
        let mut b = Needs::detector(DetectorModel::Coco, vec![2, 0], 0.1, 10.0);
        b.motion_gated = true;
        let u = Needs::union([&a, &b]);
        assert_eq!(u.detectors.len(), 1);
        assert_eq!(u.detectors[0].classes, vec![0, 2]);
        assert_eq!(u.detectors[0].min_score, 0.1);
        assert_eq!(u.fps, 10.0);
        assert!(!u.motion_gated, "an ungated task keeps the detector on every frame");
        let mut a2 = a.clone();
        a2.motion_gated = true;
        assert!(Needs::union([&a2, &b]).motion_gated);
        let none = Needs::union([&Needs::none(1.0)]);
        assert!(none.detectors.is_empty() && !none.motion_gated);
    }

    #[test]
    fn union_of_text_regions() {
        let r = |x: f32| BBox::new(x, 0.0, x + 10.0, 10.0);
        let with = |t: Option<Vec<BBox>>| Needs {
            text: t,
            ..Needs::none(1.0)
        };
        let (none, a, b, whole) = (
            with(None),
            with(Some(vec![r(0.0)])),
            with(Some(vec![r(5.0), r(0.0)])),
            with(Some(vec![])),
        );
        assert_eq!(Needs::union([&none, &none]).text, None);
        assert_eq!(Needs::union([&none, &a]).text, Some(vec![r(0.0)]));
        assert_eq!(Needs::union([&a, &b]).text, Some(vec![r(0.0), r(5.0)]));
        assert_eq!(Needs::union([&a, &whole, &b]).text, Some(vec![]));
    }

    #[test]
    fn union_keeps_the_finest_tiling() {
        let a = Needs::detector(DetectorModel::Coco, vec![0], 0.3, 5.0);
        let b = Needs::tiled_detector(DetectorModel::Coco, vec![0], 0.3, 1.0, 2);
        assert_eq!(Needs::union([&a]).detectors[0].tiles, 0);
        assert_eq!(Needs::union([&a, &b]).detectors[0].tiles, 2);
        assert_eq!(Needs::union([&b, &a]).detectors[0].tiles, 2);
    }
}
