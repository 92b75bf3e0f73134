//! Mask wearing (`c-wear-mask-recog-edge/-cloud`, event 1048576): an alarm for a face seen
//! without a mask.
//!
//! Behaviour (see docs/algorithms.md, "Mask wearing"):
//! - Faces: YuNet on the whole frame (`Needs.faces`), tracked with the IoU tracker so that one
//!   person gives one alarm, not one per frame.
//! - Faces whose box's longer side is under `face_min_size` (frame pixels, Vigil's key) are
//!   skipped and counted ([`WearMaskAnalyzer::counts`]; not part of the payload). Faces that
//!   give no reading (profiles, landmarks out of order) are counted too.
//! - Each readable face gets a mask reading ([`crate::face_mask`]): lower-face skin share
//!   against the forehead's. A track alarms once it has [`MIN_READINGS`] readings and at least
//!   two thirds of them say "no mask"; it alarms again every `mask_alert_interval` s (Vigil's
//!   key; 0 = once per track) while it still reads as bare.
//! - Only faces whose centre is in an ROI polygon (or anywhere without polygons).
//! - Message (spec §6.4 #12): `{"event_set": [{"bounding_box"}]}` with the face boxes.

use std::collections::HashMap;

use serde_json::json;
use vigil_vision::detect::Face;
use vigil_vision::{Detection, Point, Roi};

use crate::analyzer::{Analyzer, AnalyzerError, Event, FrameInput, Needs, Perception};
use crate::common::{bbox_json, clip, Area, RateTracker};
use crate::event_type::NO_MASK;
use crate::face_mask;
use crate::registry::AnalyzerContext;
use crate::typed_config::{secs, typed};
use crate::validate::{ConfigError, ValidatedCommon};

/// Most frames analysed per second (faces need a few readings; more only costs inference).
pub const MAX_FPS: f64 = 5.0;
/// Readings a face track needs before it may alarm.
pub const MIN_READINGS: u32 = 2;

/// `config.common` of mask wearing, typed (defaults and ranges: the catalogue).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct WearMaskConfig {
    /// Smallest face read, longer side of its box in frame pixels (Vigil's key).
    #[serde(rename = "face_min_size")]
    pub face_min_size: i64,
    /// Seconds before a still-bare face track alarms again; 0 = once per track (Vigil's key).
    #[serde(rename = "mask_alert_interval", deserialize_with = "secs")]
    pub realarm: f64,
}

/// Builds the analyzer of a task (the registry line of `c-wear-mask-recog`).
pub fn build(common: &ValidatedCommon, roi: Roi, ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    Ok(Box::new(WearMaskAnalyzer::new(typed(common)?, roi, ctx)))
}

/// Faces read and not read, since the analyzer started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaceCounts {
    /// Face detections under `face_min_size`.
    pub too_small: u64,
    /// Face detections of sufficient size without a reading (profile, landmarks out of order).
    pub unreadable: u64,
    /// Mask readings taken, and how many of them read "no mask".
    pub readings: u64,
    pub bare: u64,
}

#[derive(Debug, Default)]
struct FaceTrack {
    readings: u32,
    bare: u32,
    last_alarm: Option<f64>,
}

pub struct WearMaskAnalyzer {
    cfg: WearMaskConfig,
    roi: Roi,
    areas: Vec<Area>,
    fps: f64,
    tracker: RateTracker,
    tracks: HashMap<u64, FaceTrack>,
    counts: FaceCounts,
}

impl WearMaskAnalyzer {
    pub fn new(cfg: WearMaskConfig, roi: Roi, ctx: &AnalyzerContext) -> Self {
        Self {
            cfg,
            areas: Area::polygons_or_frame(&roi),
            roi,
            fps: ctx.analysis_fps.min(MAX_FPS),
            tracker: RateTracker::new(),
            tracks: HashMap::new(),
            counts: FaceCounts::default(),
        }
    }

    /// Faces skipped and read so far (documented counters; not in the payload).
    pub fn counts(&self) -> FaceCounts {
        self.counts
    }

    fn due(&self, t: &FaceTrack, now: f64) -> bool {
        if t.readings < MIN_READINGS || 3 * t.bare < 2 * t.readings {
            return false;
        }
        match t.last_alarm {
            None => true,
            Some(last) => self.cfg.realarm > 0.0 && now - last >= self.cfg.realarm,
        }
    }
}

impl Analyzer for WearMaskAnalyzer {
    fn needs(&self) -> Needs {
        Needs {
            faces: true,
            ..Needs::none(self.fps)
        }
    }

    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        let size = (frame.image.width(), frame.image.height());
        let faces: &[Face] = perception.faces.as_deref().map_or(&[], |f| f.as_slice());
        let min = self.cfg.face_min_size as f32;
        let mut kept: Vec<(Face, Option<face_mask::MaskReading>)> = Vec::new();
        for f in faces {
            let b = clip(&f.bbox, size);
            let (cx, cy) = b.center();
            if b.width() <= 0.0 || !self.areas.iter().any(|a| a.contains(Point::new(cx, cy), size)) {
                continue;
            }
            if b.width().max(b.height()) < min {
                self.counts.too_small += 1;
                continue;
            }
            let reading = face_mask::read(frame.image, f);
            match reading {
                None => self.counts.unreadable += 1,
                Some(r) => {
                    self.counts.readings += 1;
                    self.counts.bare += u64::from(!r.masked());
                }
            }
            kept.push((Face { bbox: b, ..*f }, reading));
        }
        let dets: Vec<Detection> = kept
            .iter()
            .map(|(f, _)| Detection {
                bbox: f.bbox,
                score: f.score,
                class_id: 0,
            })
            .collect();
        let (tracks, removed) = self.tracker.update(frame, &dets);
        for id in removed {
            self.tracks.remove(&id);
        }
        let (mut items, mut boxes) = (Vec::new(), Vec::new());
        for t in tracks {
            // The tracker hands back the matched detection's box: find its face.
            let Some((face, reading)) = kept.iter().find(|(f, _)| f.bbox == t.det_bbox) else {
                continue;
            };
            let state = self.tracks.entry(t.id).or_default();
            if let Some(r) = reading {
                state.readings += 1;
                state.bare += u32::from(!r.masked());
            }
            let state = &self.tracks[&t.id];
            if self.due(state, frame.time) {
                if let Some(s) = self.tracks.get_mut(&t.id) {
                    s.last_alarm = Some(frame.time);
                }
                items.push(json!({ "bounding_box": bbox_json(&face.bbox) }));
                boxes.push(face.bbox);
            }
        }
        Ok(Event::alarm_list(NO_MASK, "event_set", items, boxes, true))
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}
