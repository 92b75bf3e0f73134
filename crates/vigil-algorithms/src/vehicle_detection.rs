//! Vehicle detection (`c-vehicle-detection-edge/-cloud`, event 75008): tracked vehicles that
//! cross an ROI line or are in an ROI polygon.
//!
//! Behaviour (see docs/algorithms.md, "Vehicle detection"):
//! - Vehicles are COCO car, bus, truck and motorcycle, tracked at [`VEHICLE_FPS`]
//!   (`vehicle_common`: one track through label flips, `vehicle_type` mapping, `direction`).
//! - Lines: a crossing counted by [`LineCrossingCounter`] (hysteresis band, 2 frames beyond it)
//!   raises one item per vehicle per line. A line's `properties.type` 0 ("approach") takes only
//!   vehicles driving down the picture (`direction` 0), type 1 ("leave") only those driving up
//!   (`direction` 1), so an approach line and a leave line on one road picture each vehicle once
//!   with the side of it that carries the plate (Huawei: 0 = front seen, 1 = rear seen). A line
//!   without a type takes both directions.
//! - Polygons: a vehicle whose anchor (bottom-centre) is inside raises one item per polygon,
//!   once its track has `DIRECTION_SAMPLES` (3) positions: 0.2 s at 10 fps, since a track's
//!   first position has no direction yet. Without any ROI, every vehicle raises one item (the
//!   whole frame is the area).
//! - `output_vehicle_type` ("0 7 9"): only vehicles of the listed codes are reported; absent =
//!   all. The type is the track's vote at the moment it is reported.
//! - One 75008 message per frame lists the new items: `vehicles[]` of `bounding_box`,
//!   `vehicle_type`, `tarpaulin_type` −1, `license_plate_id` "", `license_plate_type` 0,
//!   `direction`, `detection_id` (stable per track). `license_plate` is accepted and unused:
//!   Vigil reads no plates.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use vigil_vision::{BBox, CrossingConfig, LineCrossingCounter, Roi};

use crate::analyzer::{Analyzer, AnalyzerError, Event, FrameInput, Needs, Perception};
use crate::common::{line_counters, Area};
use crate::event_type::VEHICLE_DETECTION;
use crate::registry::AnalyzerContext;
use crate::typed_config::{int_list, switch, typed};
use crate::validate::{ConfigError, ValidatedCommon};
use crate::vehicle_common::{vehicle_needs, VehicleTrack, VehicleTracker, VEHICLE_FPS};

/// Effective settings: `config.common` keys, typed (defaults and ranges from the catalogue).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct VehicleDetectionConfig {
    #[serde(rename = "output_image_sw", deserialize_with = "switch")]
    pub output_image: bool,
    /// VIAS `vehicle_type` codes to report; `None` = all.
    #[serde(rename = "output_vehicle_type", default, deserialize_with = "int_list")]
    pub types: Option<Vec<i64>>,
}

/// Builds the analyzer of a task (the registry line of `c-vehicle-detection`).
pub fn build(common: &ValidatedCommon, roi: Roi, ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    Ok(Box::new(VehicleDetectionAnalyzer::new(typed(common)?, roi, ctx)))
}

pub struct VehicleDetectionAnalyzer {
    cfg: VehicleDetectionConfig,
    roi: Roi,
    lines: Vec<LineCrossingCounter>,
    areas: Vec<Area>,
    tracks: VehicleTracker,
    seed: u64,
    /// (track, line) pairs already reported.
    line_done: BTreeSet<(u64, usize)>,
    /// (track, area) pairs already reported.
    area_done: BTreeSet<(u64, usize)>,
}

impl VehicleDetectionAnalyzer {
    pub fn new(cfg: VehicleDetectionConfig, roi: Roi, ctx: &AnalyzerContext) -> Self {
        let areas = if !roi.polygons.is_empty() {
            roi.polygons.iter().cloned().map(Area::Polygon).collect()
        } else if roi.lines.is_empty() {
            vec![Area::WholeFrame]
        } else {
            Vec::new()
        };
        Self {
            lines: line_counters(&roi, CrossingConfig::default()),
            areas,
            cfg,
            roi,
            tracks: VehicleTracker::new(),
            seed: ctx.seed,
            line_done: BTreeSet::new(),
            area_done: BTreeSet::new(),
        }
    }

    pub fn config(&self) -> &VehicleDetectionConfig {
        &self.cfg
    }

    fn wanted(&self, v: &VehicleTrack) -> bool {
        self.cfg.types.as_ref().is_none_or(|t| t.contains(&v.vehicle_type()))
    }

    fn item(&self, v: &VehicleTrack) -> (Value, BBox) {
        let mut m = v.plate_item(self.seed);
        m.insert("vehicle_type".into(), json!(v.vehicle_type()));
        m.insert("tarpaulin_type".into(), json!(-1));
        (Value::Object(m), v.bbox)
    }
}

impl Analyzer for VehicleDetectionAnalyzer {
    fn needs(&self) -> Needs {
        vehicle_needs(VEHICLE_FPS)
    }

    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        let size = (frame.image.width(), frame.image.height());
        let (ids, removed) = self.tracks.update(frame, perception);
        for id in &removed {
            for l in &mut self.lines {
                l.remove(*id);
            }
            self.line_done.retain(|(t, _)| t != id);
            self.area_done.retain(|(t, _)| t != id);
        }
        let mut reported: BTreeSet<u64> = BTreeSet::new();
        for id in ids {
            let Some(v) = self.tracks.get(id) else { continue };
            let a = v.anchor();
            let direction = v.direction();
            for (k, counter) in self.lines.iter_mut().enumerate() {
                if let Some(first) = v.started_at {
                    counter.update(id, first);
                }
                if counter.update(id, a).is_none() || self.line_done.contains(&(id, k)) {
                    continue;
                }
                let takes = counter.line.line_type.is_none_or(|t| i64::from(t) == direction);
                if takes {
                    self.line_done.insert((id, k));
                    reported.insert(id);
                }
            }
            for (k, area) in self.areas.iter().enumerate() {
                if v.settled() && area.contains(a, size) && self.area_done.insert((id, k)) {
                    reported.insert(id);
                }
            }
        }
        let (items, boxes): (Vec<Value>, Vec<BBox>) = reported
            .iter()
            .filter_map(|id| self.tracks.get(*id))
            .filter(|v| self.wanted(v))
            .map(|v| self.item(v))
            .unzip();
        Ok(Event::alarm_list(
            VEHICLE_DETECTION,
            "vehicles",
            items,
            boxes,
            self.cfg.output_image,
        ))
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}
