//! The analyzer shared by waterlogging (`w-ponding-detection`) and cyanobacteria
//! (`c-cyanobacteria`): a per-block surface rule ([`SurfaceRule`]) marks blocks of the ROI,
//! marked blocks form regions ([`crate::colour_regions`]), and a region that persists for
//! `alert_time_threshold` seconds is a finding. Spec §6.4 #40/#41 messages:
//! - `alert_mode` `single`: one message per newly confirmed region, `event_set[]` of
//!   `{bounding_box}` (all regions confirmed on one frame share a message);
//! - `periodic`: every `alert_detection_interval` seconds `water_logging_ratio` (largest
//!   confirmed region / image area), `water_logging_flag` and `event_set[]` (empty when none).

use serde_json::{json, Value};
use vigil_vision::{BBox, Roi};

use crate::analyzer::{Analyzer, AnalyzerError, Event, FrameInput, Needs, Perception};
use crate::colour_regions::{
    areas_of, block_areas, large_regions, obstacle_boxes, obstacle_needs, Grid, Layout, RegionTracker,
};
use crate::common::{bbox_json, Area, Period};
use crate::typed_config::secs;

/// Analysed frames per second: surfaces change over seconds to minutes (Vigil's rate).
pub(crate) const SURFACE_FPS: f64 = 1.0;

/// Effective settings shared by waterlogging and cyanobacteria.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct SurfaceConfig {
    /// `single` or `periodic`.
    pub alert_mode: String,
    /// Seconds between `periodic` reports.
    #[serde(rename = "alert_detection_interval", deserialize_with = "secs")]
    pub interval: f64,
    /// Seconds a region must persist before it counts (Vigil's key).
    #[serde(rename = "alert_time_threshold", deserialize_with = "secs")]
    pub threshold: f64,
    /// Smallest region, percent of the ROI area (Vigil's key).
    #[serde(rename = "min_area_ratio")]
    pub min_area_percent: i64,
}

/// Marks the blocks of one frame that show the surface.
pub(crate) trait SurfaceRule: Send {
    /// Whether the rule looks at the detector's people, vehicles and bags ([`SurfaceRule::mark`]'s
    /// `obstacles`; the analyzer then asks for the detector).
    fn uses_obstacles(&self) -> bool {
        false
    }

    /// One flag per block of `grid`; `area` holds each block's area (None = outside the ROI);
    /// `obstacles` the detected people/vehicles/bags of the frame at `time` (empty unless
    /// [`SurfaceRule::uses_obstacles`]).
    fn mark(&mut self, grid: &Grid, area: &[Option<usize>], obstacles: &[BBox], time: f64) -> Vec<bool>;
}

pub struct SurfaceCoverAnalyzer {
    cfg: SurfaceConfig,
    event_type: u64,
    roi: Roi,
    areas: Vec<Area>,
    rule: Box<dyn SurfaceRule>,
    tracker: RegionTracker,
    period: Period,
    /// Block-to-area map, cached per frame size.
    layout: Option<Layout>,
}

impl SurfaceCoverAnalyzer {
    pub(crate) fn new(cfg: SurfaceConfig, event_type: u64, roi: Roi, rule: Box<dyn SurfaceRule>) -> Self {
        let period = Period::new(cfg.interval as i64);
        Self {
            areas: areas_of(&roi),
            // A region missed for a few analysed frames (a car or a person over it) keeps its age.
            tracker: RegionTracker::new(3.0 / SURFACE_FPS),
            cfg,
            event_type,
            roi,
            rule,
            period,
            layout: None,
        }
    }

    fn periodic(&self) -> bool {
        self.cfg.alert_mode == "periodic"
    }
}

impl Analyzer for SurfaceCoverAnalyzer {
    fn needs(&self) -> Needs {
        if self.rule.uses_obstacles() {
            obstacle_needs(SURFACE_FPS)
        } else {
            Needs::none(SURFACE_FPS)
        }
    }

    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        let img = frame.image;
        let size = (img.width(), img.height());
        let grid = Grid::of(img);
        if self.layout.as_ref().map(|l| l.0) != Some(size) {
            self.layout = Some((size, block_areas(&grid, &self.areas, size)));
        }
        let Some((_, block_area)) = self.layout.as_ref() else {
            return Ok(Vec::new());
        };
        let obstacles = if self.rule.uses_obstacles() {
            obstacle_boxes(perception)
        } else {
            Vec::new()
        };
        let marked = self.rule.mark(&grid, block_area, &obstacles, frame.time);
        let found = large_regions(
            &grid,
            &marked,
            block_area,
            self.areas.len(),
            self.cfg.min_area_percent as f64,
        );
        self.tracker.update(frame.time, found);

        let image_px = (size.0 as f64 * size.1 as f64).max(1.0);
        let mut fresh = Vec::new();
        let mut confirmed = Vec::new();
        for t in self.tracker.persistent(frame.time, self.cfg.threshold) {
            if !t.reported {
                t.reported = true;
                fresh.push(t.region.clone());
            }
            confirmed.push(t.region.clone());
        }
        if !self.periodic() {
            let items = fresh
                .iter()
                .map(|r| json!({ "bounding_box": bbox_json(&r.bbox) }))
                .collect();
            let boxes = fresh.iter().map(|r| r.bbox).collect();
            return Ok(Event::alarm_list(self.event_type, "event_set", items, boxes, true));
        }
        if !self.period.roll(frame.time) {
            return Ok(Vec::new());
        }
        let largest = confirmed.iter().map(|r| r.pixels).max().unwrap_or(0) as f64;
        let items: Vec<Value> = confirmed
            .iter()
            .map(|r| json!({ "bounding_box": bbox_json(&r.bbox) }))
            .collect();
        let data = json!({
            "water_logging_ratio": (largest / image_px).clamp(0.0, 1.0),
            "water_logging_flag": !confirmed.is_empty(),
            "event_set": items,
        });
        Ok(vec![Event {
            event_type: self.event_type,
            data,
            alarm_type: None,
            boxes: confirmed.iter().map(|r| r.bbox).collect(),
            with_image: true,
        }])
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}
