//! Vehicle counting at high altitude (`c-vehicle-statistics-edge`, event 75010): tracked
//! vehicles counted per ROI line and per ROI polygon, reported every `count_interval` seconds.
//!
//! Behaviour (see docs/algorithms.md, "Vehicle counting"):
//! - Vehicles are tracked as in vehicle detection (`vehicle_common`).
//! - Each ROI line counts the vehicles that cross it in either direction during the period (once
//!   per vehicle per line, [`LineCrossingCounter`] hysteresis); each ROI polygon counts the
//!   vehicles whose anchor entered it during the period (once per vehicle per polygon). Without
//!   any ROI the whole frame is one area.
//! - Every `count_interval` s (periods start at the first frame, [`Period`]), one 75010 message:
//!   `{"interval": n, "event_set": [{"count", "vehicles": [{"bounding_box"}], "line",
//!   "line_id"} | {"count", "vehicles", "polygon", "polygon_name"?}]}`, lines first, one item per
//!   line and polygon, zero counts included; boxes are where each vehicle was counted. `line`,
//!   `line_id`, `polygon`, `polygon_name` are Vigil's additions saying what was counted.
//! - At the end of a stream the partial period is reported (`finish`).

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};
use vigil_vision::{BBox, CrossingConfig, LineCrossingCounter, Roi};

use crate::analyzer::{Analyzer, AnalyzerError, Event, FrameInput, Needs, Perception};
use crate::common::{bbox_json, line_counters, point_json, Area, Period};
use crate::event_type::HIGHPOINT_VEHICLE_COUNT;
use crate::registry::AnalyzerContext;
use crate::typed_config::{switch, typed};
use crate::validate::{ConfigError, ValidatedCommon};
use crate::vehicle_common::{vehicle_needs, VehicleTracker, VEHICLE_FPS};

/// Effective settings: `config.common` keys, typed (defaults and ranges from the catalogue).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct VehicleStatisticsConfig {
    /// Seconds.
    #[serde(rename = "count_interval")]
    pub interval: i64,
    #[serde(rename = "output_image_sw", deserialize_with = "switch")]
    pub output_image: bool,
}

/// Builds the analyzer of a task (the registry line of `c-vehicle-statistics`).
pub fn build(common: &ValidatedCommon, roi: Roi, _ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    Ok(Box::new(VehicleStatisticsAnalyzer::new(typed(common)?, roi)))
}

pub struct VehicleStatisticsAnalyzer {
    cfg: VehicleStatisticsConfig,
    roi: Roi,
    lines: Vec<LineCrossingCounter>,
    areas: Vec<Area>,
    /// Boxes of the vehicles counted in the current period, per line, then per area.
    counts: Vec<Vec<BBox>>,
    /// (track, counter index) pairs already counted.
    done: BTreeSet<(u64, usize)>,
    period: Period,
    tracks: VehicleTracker,
    size: (u32, u32),
}

impl VehicleStatisticsAnalyzer {
    pub fn new(cfg: VehicleStatisticsConfig, roi: Roi) -> Self {
        let areas: Vec<Area> = if roi.is_whole_frame() {
            vec![Area::WholeFrame]
        } else {
            roi.polygons.iter().cloned().map(Area::Polygon).collect()
        };
        let lines = line_counters(&roi, CrossingConfig::default());
        let counts = vec![Vec::new(); lines.len() + areas.len()];
        Self {
            period: Period::new(cfg.interval),
            cfg,
            roi,
            lines,
            areas,
            counts,
            done: BTreeSet::new(),
            tracks: VehicleTracker::new(),
            size: (0, 0),
        }
    }

    pub fn config(&self) -> &VehicleStatisticsConfig {
        &self.cfg
    }

    /// The message of the period that just ended; resets the counts.
    fn message(&mut self) -> Event {
        let mut set = Vec::new();
        let mut all_boxes = Vec::new();
        for (k, c) in self.counts.iter_mut().enumerate() {
            let mut m = Map::new();
            m.insert("count".into(), json!(c.len()));
            let vehicles: Vec<Value> = c.iter().map(|b| json!({ "bounding_box": bbox_json(b) })).collect();
            m.insert("vehicles".into(), Value::Array(vehicles));
            if let Some(l) = self.lines.get(k) {
                m.insert("line".into(), json!([point_json(l.line.start), point_json(l.line.end)]));
                m.insert("line_id".into(), json!(k));
            } else if let Some(area) = self.areas.get(k - self.lines.len()) {
                m.insert("polygon".into(), area.polygon_json(self.size));
                if let Some(n) = area.name() {
                    m.insert("polygon_name".into(), json!(n));
                }
            }
            all_boxes.append(c);
            set.push(Value::Object(m));
        }
        Event {
            event_type: HIGHPOINT_VEHICLE_COUNT,
            data: json!({ "interval": self.cfg.interval, "event_set": set }),
            alarm_type: None,
            boxes: all_boxes,
            with_image: self.cfg.output_image,
        }
    }
}

impl Analyzer for VehicleStatisticsAnalyzer {
    fn needs(&self) -> Needs {
        vehicle_needs(VEHICLE_FPS)
    }

    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        self.size = (frame.image.width(), frame.image.height());
        let (ids, removed) = self.tracks.update(frame, perception);
        for id in &removed {
            for l in &mut self.lines {
                l.remove(*id);
            }
            self.done.retain(|(t, _)| t != id);
        }
        // The period that ended before this frame is reported first.
        let mut events = Vec::new();
        if self.period.roll(frame.time) {
            events.push(self.message());
        }
        let n_lines = self.lines.len();
        for id in ids {
            let Some(v) = self.tracks.get(id) else { continue };
            let a = v.anchor();
            for (k, counter) in self.lines.iter_mut().enumerate() {
                if let Some(first) = v.started_at {
                    counter.update(id, first);
                }
                if counter.update(id, a).is_some() && self.done.insert((id, k)) {
                    self.counts[k].push(v.bbox);
                }
            }
            for (k, area) in self.areas.iter().enumerate() {
                if area.contains(a, self.size) && self.done.insert((id, n_lines + k)) {
                    self.counts[n_lines + k].push(v.bbox);
                }
            }
        }
        Ok(events)
    }

    /// End of stream: the partial period is reported (a file's last seconds would otherwise
    /// never be counted).
    fn finish(&mut self, _time: f64) -> Vec<Event> {
        if !self.period.started() {
            return Vec::new();
        }
        vec![self.message()]
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}
