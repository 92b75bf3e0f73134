//! Scene recommendations (`scene_recommend`): what the COCO detector sees on a few of a probe's
//! frames, turned into free-text tags — scene words (`people`, `vehicles`, `crowd`, …) and the
//! catalogue service names of the algorithms that fit such a scene. Runs rarely (see
//! `source_health`), on the caller's blocking thread.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use vigil_core::catalog::{Catalog, Placement};
use vigil_media::{Frame, RgbConverter};
use vigil_vision::detect::coco;
use vigil_vision::{BackendConfig, Detection, DetectorConfig, ImageBgr, ModelDir, YoloxDetector};

/// Pictures are shrunk to at most this width before detection (the detector's input is
/// 416 px; converting full 1080p frames would only cost time).
const MAX_WIDTH: u32 = 640;
/// At least this many people detected in one frame make a crowd (the small detector finds 9 of
/// the 20–30 people of the gym clip, 5 of the campus's 4–10 walkers).
pub const CROWD_PEOPLE: usize = 8;
/// At least this many vehicles in one frame make a road or car park worth counting.
pub const MANY_VEHICLES: usize = 4;
/// People whose box is at least this share of the frame height are close enough for pose and
/// behaviour analysis; a crowd whose median person is below `HIGH_POINT_HEIGHT` is seen from
/// high above.
const CLOSE_PERSON_HEIGHT: f32 = 0.2;
const HIGH_POINT_HEIGHT: f32 = 0.08;

/// What the detector saw over the sampled frames: per COCO class, the most objects in any one
/// frame, and the person boxes' heights relative to the frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SceneCounts {
    pub max_per_class: BTreeMap<u32, usize>,
    pub person_heights: Vec<f32>,
}

impl SceneCounts {
    /// Adds one frame's detections (`frame_h`: its height in pixels).
    pub fn add_frame(&mut self, dets: &[Detection], frame_h: f32) {
        let mut here: BTreeMap<u32, usize> = BTreeMap::new();
        for d in dets {
            *here.entry(d.class_id).or_default() += 1;
            if d.class_id == coco::PERSON && frame_h > 0.0 {
                self.person_heights.push(d.bbox.height() / frame_h);
            }
        }
        for (c, n) in here {
            let m = self.max_per_class.entry(c).or_default();
            *m = (*m).max(n);
        }
    }

    fn count(&self, classes: &[u32]) -> usize {
        classes
            .iter()
            .map(|c| self.max_per_class.get(c).copied().unwrap_or(0))
            .sum()
    }
}

/// The tags for what was seen: scene words first, then service names (of `placement`, else
/// the other placement's when the algorithm has only that one), without duplicates.
pub fn tags(c: &SceneCounts, placement: Placement) -> Vec<String> {
    let mut scene: Vec<&str> = Vec::new();
    let mut algs: Vec<&str> = Vec::new();
    let people = c.count(&[coco::PERSON]);
    let vehicles = c.count(&[coco::CAR, coco::BUS, coco::TRUCK]);
    let bicycles = c.count(&[coco::BICYCLE]);
    let motorcycles = c.count(&[coco::MOTORCYCLE]);
    let boats = c.count(&[coco::BOAT]);
    let bags = c.count(&[coco::BACKPACK, coco::HANDBAG, coco::SUITCASE]);
    let umbrellas = c.count(&[coco::UMBRELLA]);
    if people > 0 {
        scene.push("people");
        algs.extend(["c-intrusiondetection", "c-flowcount"]);
        let close = c.person_heights.iter().any(|h| *h >= CLOSE_PERSON_HEIGHT);
        if close {
            algs.extend(["c-pose-action-recog", "c-event-action-recog", "c-wear-mask-recog"]);
        }
        if people >= 2 && close {
            algs.push("c-fightdetect");
        }
    }
    if people >= CROWD_PEOPLE {
        scene.push("crowd");
        algs.push("c-crowdcount");
        let mut h = c.person_heights.clone();
        h.sort_by(f32::total_cmp);
        if h.get(h.len() / 2).is_some_and(|m| *m < HIGH_POINT_HEIGHT) {
            algs.push("c-highpoint-crowdcount");
        }
    }
    if vehicles > 0 {
        scene.push("vehicles");
        algs.extend([
            "c-vehicle-detection",
            "c-traffic-abnormal-park",
            "c-retrograde-detection",
            "c-fire-exit-occupation",
        ]);
    }
    if vehicles >= MANY_VEHICLES {
        scene.push("road");
        algs.extend(["c-vehicle-statistics", "c-highpoint-overspeed"]);
    }
    if bicycles + motorcycles > 0 {
        scene.push("non-motor vehicles");
        algs.push("c-non-motor-detection");
    }
    if bicycles > 0 {
        scene.push("bicycles");
        algs.push("c-sharedbicycledetection");
    }
    if motorcycles > 0 {
        algs.push("c-helmet-elec-recog");
    }
    if boats > 0 {
        scene.push("water");
        algs.extend(["ship-intrusion", "floating"]);
    }
    if bags > 0 {
        algs.push("c-abandon-detection");
    }
    if umbrellas > 0 {
        algs.push("c-urban-umbrella");
    }
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: &str| {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    };
    for s in scene {
        push(s);
    }
    for id in algs {
        if let Some(name) = Catalog::by_id(id).and_then(|a| {
            let other = match placement {
                Placement::Edge => Placement::Cloud,
                Placement::Cloud => Placement::Edge,
            };
            a.service_name(placement).or(a.service_name(other))
        }) {
            push(name);
        }
    }
    out
}

/// The COCO detector, loaded on first use; a missing or broken model disables recommendations
/// with one log line.
pub struct SceneRecommender {
    models: ModelDir,
    backend: BackendConfig,
    detector: OnceLock<Option<Arc<YoloxDetector>>>,
}

impl SceneRecommender {
    pub fn new(models: ModelDir, backend: BackendConfig) -> Self {
        SceneRecommender {
            models,
            backend,
            detector: OnceLock::new(),
        }
    }

    fn detector(&self) -> Option<Arc<YoloxDetector>> {
        self.detector
            .get_or_init(|| {
                let config = DetectorConfig {
                    conf_threshold: 0.4,
                    ..DetectorConfig::default()
                };
                match YoloxDetector::coco(&self.models, &self.backend, config) {
                    Ok(d) => Some(Arc::new(d)),
                    Err(e) => {
                        tracing::warn!(error = %e, "scene recommendations are off: the COCO detector cannot be loaded");
                        None
                    }
                }
            })
            .clone()
    }

    /// Whether the detector is usable (loads it).
    pub fn available(&self) -> bool {
        self.detector().is_some()
    }

    /// What the detector sees on `frames`; `None` when the model is unavailable or no frame
    /// could be analysed (blocking: call from a blocking thread).
    pub fn count(&self, frames: &[Frame]) -> Option<SceneCounts> {
        let det = self.detector()?;
        let mut counts = SceneCounts::default();
        let mut analysed = 0;
        let mut conv = RgbConverter::bgr();
        for f in frames {
            let (w, h) = (f.width(), f.height());
            if w == 0 || h == 0 {
                continue;
            }
            let (ow, oh) = if w > MAX_WIDTH {
                (MAX_WIDTH, ((h as u64 * MAX_WIDTH as u64 / w as u64) as u32).max(2) & !1)
            } else {
                (w, h)
            };
            let image = match conv
                .convert(f, ow, oh)
                .map_err(|e| e.to_string())
                .and_then(|bgr| ImageBgr::from_packed(ow, oh, bgr).map_err(|e| e.to_string()))
            {
                Ok(i) => i,
                Err(e) => {
                    tracing::debug!(error = %e, "scene frame conversion failed");
                    continue;
                }
            };
            match det.detect_timed(&image) {
                Ok((dets, _)) => {
                    counts.add_frame(&dets, oh as f32);
                    analysed += 1;
                }
                Err(e) => tracing::debug!(error = %e, "scene detection failed"),
            }
        }
        (analysed > 0).then_some(counts)
    }

    /// The tags for `frames` (see [`tags`]); `None` as for [`SceneRecommender::count`].
    pub fn recommend(&self, frames: &[Frame], placement: Placement) -> Option<Vec<String>> {
        self.count(frames).map(|c| tags(&c, placement))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_vision::BBox;

    fn det(class_id: u32, h: f32) -> Detection {
        Detection {
            bbox: BBox::new(0.0, 0.0, 10.0, h),
            score: 0.9,
            class_id,
        }
    }

    #[test]
    fn maps_classes_to_scene_words_and_services() {
        let mut c = SceneCounts::default();
        c.add_frame(&[det(coco::PERSON, 50.0), det(coco::BOAT, 20.0)], 100.0);
        let t = tags(&c, Placement::Cloud);
        assert_eq!(&t[..2], &["people".to_string(), "water".to_string()]);
        assert!(t.contains(&"c-intrusiondetection-cloud".to_string()), "{t:?}");
        assert!(t.contains(&"c-pose-action-recog-cloud".to_string()), "{t:?}");
        assert!(t.iter().any(|s| s.starts_with("ship-intrusion")), "{t:?}");
        assert!(!t.contains(&"crowd".to_string()));
        // Many small people: a crowd seen from high above.
        let mut c = SceneCounts::default();
        c.add_frame(&vec![det(coco::PERSON, 5.0); 12], 100.0);
        let t = tags(&c, Placement::Edge);
        assert!(t.contains(&"crowd".to_string()), "{t:?}");
        assert!(t.iter().any(|s| s.starts_with("c-highpoint-crowdcount")), "{t:?}");
        assert!(!t.iter().any(|s| s.starts_with("c-pose-action-recog")), "{t:?}");
        // Nothing seen: no tags.
        assert!(tags(&SceneCounts::default(), Placement::Cloud).is_empty());
    }

    #[test]
    fn counts_take_the_busiest_frame() {
        let mut c = SceneCounts::default();
        c.add_frame(&[det(coco::CAR, 10.0)], 100.0);
        c.add_frame(&[det(coco::CAR, 10.0), det(coco::CAR, 10.0)], 100.0);
        c.add_frame(&[], 100.0);
        assert_eq!(c.max_per_class.get(&coco::CAR), Some(&2));
    }
}
