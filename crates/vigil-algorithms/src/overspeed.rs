//! Speeding at high altitude (`c-highpoint-overspeed-edge`, event 75012): vehicle speeds measured
//! on the road plane through a four-point calibration.
//!
//! Behaviour (see docs/algorithms.md, "Speeding"):
//! - `calibration` (Vigil's key, required): `{"image_points": [[x, y] ×4], "ground_points_m":
//!   [[X, Y] ×4]}`, four points on the road in the picture and the same points on the road in
//!   metres (e.g. the corners of a lane marking of known size), no three on one line. They
//!   define the homography picture → road ([`Homography`]); a degenerate set is refused at build.
//! - Vehicles are tracked as in `vehicle_common`. A vehicle's road position is its anchor
//!   (bottom-centre of the box: where it meets the road) mapped through the homography; frames
//!   where the box is cut by the bottom, left or right border are left out (the anchor is then on
//!   the border, not under the vehicle).
//! - Speed: least-squares velocity of the road positions over the last [`SPEED_WINDOW_S`] s,
//!   needing at least [`MIN_SAMPLES`] positions spanning [`MIN_SPAN`] of the window (one noisy
//!   box cannot make a speed).
//! - A vehicle faster than `speed_limit` km/h (Vigil's key, default 60) raises one 75012 alarm
//!   per track: `vehicles[]` of `bounding_box`, `speed` (km/h, one decimal), `direction`,
//!   `detection_id`. ROI polygons, when given, restrict where speeds are judged.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use vigil_vision::{BBox, Roi};

use crate::analyzer::{Analyzer, AnalyzerError, Event, FrameInput, Needs, Perception};
use crate::common::{bbox_json, detection_id};
use crate::event_type::HIGHPOINT_SPEEDING;
use crate::homography::Homography;
use crate::registry::AnalyzerContext;
use crate::typed_config::{switch, typed};
use crate::validate::{ConfigError, ConfigErrorKind, ValidatedCommon, COMMON_PATH};
use crate::vehicle_common::{vehicle_needs, VehicleTrack, VehicleTracker, VEHICLE_FPS};

/// Seconds of track over which a speed is measured.
pub const SPEED_WINDOW_S: f64 = 1.0;
/// Fewest positions a speed is measured from.
pub const MIN_SAMPLES: usize = 4;
/// Fraction of the window the positions must span.
pub const MIN_SPAN: f64 = 0.6;

/// `calibration`: picture points and the same points on the road, in metres.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct Calibration {
    pub image_points: [[f64; 2]; 4],
    pub ground_points_m: [[f64; 2]; 4],
}

/// Effective settings: `config.common` keys, typed (defaults and ranges from the catalogue).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct OverspeedConfig {
    pub calibration: Calibration,
    /// km/h.
    pub speed_limit: i64,
    #[serde(rename = "output_image_sw", deserialize_with = "switch")]
    pub output_image: bool,
}

/// Builds the analyzer of a task (the registry line of `c-highpoint-overspeed`); refuses a
/// calibration that defines no picture-to-road map.
pub fn build(common: &ValidatedCommon, roi: Roi, ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    let cfg: OverspeedConfig = typed(common)?;
    let c = &cfg.calibration;
    let map = Homography::from_points(&c.image_points, &c.ground_points_m).map_err(|e| ConfigError {
        param: format!("{COMMON_PATH}.calibration"),
        message: e.to_string(),
        kind: ConfigErrorKind::InvalidValue,
    })?;
    Ok(Box::new(OverspeedAnalyzer {
        cfg,
        roi,
        map,
        tracks: VehicleTracker::new(),
        alarmed: BTreeSet::new(),
        seed: ctx.seed,
    }))
}

pub struct OverspeedAnalyzer {
    cfg: OverspeedConfig,
    roi: Roi,
    map: Homography,
    tracks: VehicleTracker,
    alarmed: BTreeSet<u64>,
    seed: u64,
}

impl OverspeedAnalyzer {
    pub fn config(&self) -> &OverspeedConfig {
        &self.cfg
    }

    /// Road speed of a vehicle in km/h over the last window, `None` when it has too few whole
    /// positions there.
    fn speed_kmh(&self, v: &VehicleTrack, now: f64) -> Option<f64> {
        let pts: Vec<(f64, [f64; 2])> = v
            .history
            .iter()
            .filter(|s| s.whole && now - s.time <= SPEED_WINDOW_S + 1e-6)
            .filter_map(|s| Some((s.time, self.map.apply(s.anchor.x as f64, s.anchor.y as f64)?)))
            .collect();
        let (first, last) = (pts.first()?.0, pts.last()?.0);
        if pts.len() < MIN_SAMPLES || last - first < MIN_SPAN * SPEED_WINDOW_S {
            return None;
        }
        let n = pts.len() as f64;
        let tm = pts.iter().map(|p| p.0).sum::<f64>() / n;
        let xm = pts.iter().map(|p| p.1[0]).sum::<f64>() / n;
        let ym = pts.iter().map(|p| p.1[1]).sum::<f64>() / n;
        let stt: f64 = pts.iter().map(|p| (p.0 - tm).powi(2)).sum();
        let vx = pts.iter().map(|p| (p.0 - tm) * (p.1[0] - xm)).sum::<f64>() / stt;
        let vy = pts.iter().map(|p| (p.0 - tm) * (p.1[1] - ym)).sum::<f64>() / stt;
        let kmh = vx.hypot(vy) * 3.6;
        kmh.is_finite().then_some(kmh)
    }
}

impl Analyzer for OverspeedAnalyzer {
    fn needs(&self) -> Needs {
        vehicle_needs(VEHICLE_FPS)
    }

    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        let (ids, removed) = self.tracks.update(frame, perception);
        for id in &removed {
            self.alarmed.remove(id);
        }
        let limit = self.cfg.speed_limit as f64;
        let mut items: Vec<(Value, BBox)> = Vec::new();
        for id in ids {
            let Some(v) = self.tracks.get(id) else { continue };
            if self.alarmed.contains(&id) || !self.roi.contains(v.anchor()) {
                continue;
            }
            let Some(speed) = self.speed_kmh(v, frame.time) else {
                continue;
            };
            if speed > limit {
                self.alarmed.insert(id);
                let item = json!({
                    "bounding_box": bbox_json(&v.bbox),
                    "speed": (speed * 10.0).round() / 10.0,
                    "direction": v.direction(),
                    "detection_id": detection_id(self.seed, id),
                });
                items.push((item, v.bbox));
            }
        }
        let (vehicles, boxes): (Vec<Value>, Vec<BBox>) = items.into_iter().unzip();
        Ok(Event::alarm_list(
            HIGHPOINT_SPEEDING,
            "vehicles",
            vehicles,
            boxes,
            self.cfg.output_image,
        ))
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}
