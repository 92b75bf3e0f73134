//! Wrong-way driving (`c-retrograde-detection-edge`, event 75009): a tracked vehicle that moves
//! against the lane direction.
//!
//! Behaviour (see docs/algorithms.md, "Wrong-way driving"):
//! - Each ROI line is a lane arrow: traffic goes from its first point to its second. At least one
//!   line is required (a task without one is refused at build: `config.common.target_roi`).
//! - Each frame a vehicle (tracked as in `vehicle_common`) is judged against the arrow nearest to
//!   its anchor (bottom-centre; distance to the segment). Its position along that arrow is the
//!   projection of the anchor on it; the vehicle drives the wrong way once it is
//!   `retrograde_min_distance` pixels (1080p reference, scaled by `frame height / 1080`) behind
//!   the furthest position it reached along that arrow. Sideways movement does not count, and
//!   box jitter of a parked vehicle stays far below the distance.
//! - ROI polygons, when given, restrict where vehicles are judged (anchor inside one).
//! - One 75009 alarm per vehicle track: `vehicles[]` of `bounding_box`, `license_plate_id` "",
//!   `license_plate_type` 0 (no plate reader), `direction`, `detection_id`.

use std::collections::BTreeMap;

use serde_json::Value;
use vigil_vision::{BBox, Point, Roi};

use crate::analyzer::{Analyzer, AnalyzerError, Event, FrameInput, Needs, Perception};
use crate::event_type::WRONG_WAY;
use crate::registry::AnalyzerContext;
use crate::typed_config::{switch, typed};
use crate::validate::{ConfigError, ConfigErrorKind, ValidatedCommon, COMMON_PATH};
use crate::vehicle_common::{vehicle_needs, VehicleTracker, VEHICLE_FPS};

/// Effective settings: `config.common` keys, typed (defaults and ranges from the catalogue).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct RetrogradeConfig {
    /// Pixels at 1080p.
    #[serde(rename = "retrograde_min_distance")]
    pub min_distance: i64,
    #[serde(rename = "output_image_sw", deserialize_with = "switch")]
    pub output_image: bool,
}

/// Builds the analyzer of a task (the registry line of `c-retrograde-detection`); refuses an
/// ROI without a line (there is no lane direction to judge against).
pub fn build(common: &ValidatedCommon, roi: Roi, ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    if roi.lines.is_empty() {
        return Err(ConfigError {
            param: format!("{COMMON_PATH}.target_roi"),
            message: "wrong-way detection needs at least one ROI line: the lane direction, from its first \
                      point to its second"
                .to_string(),
            kind: ConfigErrorKind::InvalidValue,
        });
    }
    Ok(Box::new(RetrogradeAnalyzer::new(typed(common)?, roi, ctx)))
}

/// A lane arrow.
#[derive(Debug, Clone, Copy)]
struct Lane {
    start: Point,
    end: Point,
    /// Unit vector from start to end.
    dir: (f32, f32),
}

impl Lane {
    /// Position of `p` along the arrow (pixels from its start).
    fn along(&self, p: Point) -> f32 {
        (p.x - self.start.x) * self.dir.0 + (p.y - self.start.y) * self.dir.1
    }

    /// Distance from `p` to the segment.
    fn distance(&self, p: Point) -> f32 {
        let len = (self.end.x - self.start.x).hypot(self.end.y - self.start.y);
        let s = self.along(p).clamp(0.0, len);
        let q = (self.start.x + s * self.dir.0, self.start.y + s * self.dir.1);
        (p.x - q.0).hypot(p.y - q.1)
    }
}

#[derive(Debug, Clone, Default)]
struct TrackState {
    /// Furthest position reached along each lane (`None`: never judged against it).
    furthest: Vec<Option<f32>>,
    alarmed: bool,
}

pub struct RetrogradeAnalyzer {
    cfg: RetrogradeConfig,
    roi: Roi,
    lanes: Vec<Lane>,
    tracks: VehicleTracker,
    state: BTreeMap<u64, TrackState>,
    seed: u64,
}

impl RetrogradeAnalyzer {
    pub fn new(cfg: RetrogradeConfig, roi: Roi, ctx: &AnalyzerContext) -> Self {
        let lanes = roi
            .lines
            .iter()
            .filter_map(|l| {
                let (dx, dy) = (l.end.x - l.start.x, l.end.y - l.start.y);
                let len = dx.hypot(dy);
                (len > 0.0 && len.is_finite()).then(|| Lane {
                    start: l.start,
                    end: l.end,
                    dir: (dx / len, dy / len),
                })
            })
            .collect();
        Self {
            cfg,
            roi,
            lanes,
            tracks: VehicleTracker::new(),
            state: BTreeMap::new(),
            seed: ctx.seed,
        }
    }

    pub fn config(&self) -> &RetrogradeConfig {
        &self.cfg
    }

    fn nearest_lane(&self, p: Point) -> Option<usize> {
        (0..self.lanes.len()).min_by(|&a, &b| self.lanes[a].distance(p).total_cmp(&self.lanes[b].distance(p)))
    }
}

impl Analyzer for RetrogradeAnalyzer {
    fn needs(&self) -> Needs {
        vehicle_needs(VEHICLE_FPS)
    }

    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        let min = self.cfg.min_distance as f32 * frame.image.height().max(1) as f32 / 1080.0;
        let (ids, removed) = self.tracks.update(frame, perception);
        for id in &removed {
            self.state.remove(id);
        }
        let mut items: Vec<(Value, BBox)> = Vec::new();
        for id in ids {
            let Some(v) = self.tracks.get(id) else { continue };
            let a = v.anchor();
            if !self.roi.contains(a) {
                continue;
            }
            let Some(k) = self.nearest_lane(a) else { continue };
            let s = self.lanes[k].along(a);
            let n = self.lanes.len();
            let st = self.state.entry(id).or_default();
            st.furthest.resize(n, None);
            // A new track also counts the position it started at, one analysed frame earlier.
            let started = v.started_at.map(|p| self.lanes[k].along(p));
            let furthest = st.furthest[k].into_iter().chain(started).fold(s, f32::max);
            st.furthest[k] = Some(furthest);
            if !st.alarmed && furthest - s >= min {
                st.alarmed = true;
                items.push((Value::Object(v.plate_item(self.seed)), v.bbox));
            }
        }
        let (vehicles, boxes): (Vec<Value>, Vec<BBox>) = items.into_iter().unzip();
        Ok(Event::alarm_list(
            WRONG_WAY,
            "vehicles",
            vehicles,
            boxes,
            self.cfg.output_image,
        ))
    }

    fn roi(&self) -> Option<&Roi> {
        Some(&self.roi)
    }
}
