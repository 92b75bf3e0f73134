//! Exposed bare soil (`c-urban-soil-exposure-edge/-cloud`, event 2555904): uncovered brown
//! ground (construction sites, cleared verges) inside the ROI.
//!
//! Behaviour (see docs/algorithms.md, "Exposed bare soil"):
//! - Pixel analysis, no model, 1 analysed frame per second.
//! - A 16x16 block is soil when its mean colour is brown/ochre (OpenCV hue 5–22, i.e. 10–44°,
//!   saturation 70–230, value 35–180: not green vegetation, not grey paving, not a green or
//!   blue dust net), finely textured (mean grey step 2.5–10: clods and grain; smooth painted
//!   surfaces and busy brickwork are not) and without a dominant direction (gradient coherence
//!   ≤ 0.62: wood grain, planks and straight edges have one).
//! - Soil blocks form regions per ROI polygon; a region of at least `min_area_ratio` % of its
//!   polygon (the whole frame without ROI) that persists `alert_time_threshold` seconds raises
//!   one `event_set` item (`bounding_box`, `polygon_name`, `detection_id`), once per region; a
//!   region gone for 3 s and back is a new one.

use serde_json::{json, Value};
use vigil_vision::Roi;

use crate::analyzer::{Analyzer, AnalyzerError, Event, FrameInput, Needs, Perception};
use crate::colour_regions::{areas_of, block_areas, large_regions, Cell, Grid, Layout, RegionTracker};
use crate::common::{bbox_json, detection_id, Area};
use crate::event_type::BARE_SOIL;
use crate::registry::AnalyzerContext;
use crate::surface_cover::SURFACE_FPS;
use crate::typed_config::{secs, typed};
use crate::validate::{ConfigError, ValidatedCommon};

/// Effective settings: `config.common` keys, typed (defaults and ranges: the catalogue).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct SoilConfig {
    /// Seconds a soil region must persist (Vigil's key).
    #[serde(rename = "alert_time_threshold", deserialize_with = "secs")]
    pub threshold: f64,
    /// Smallest region, percent of its polygon (Vigil's key).
    #[serde(rename = "min_area_ratio")]
    pub min_area_percent: i64,
}

/// Builds the analyzer of a task (the registry line of `c-urban-soil-exposure`).
pub fn build(common: &ValidatedCommon, roi: Roi, ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    Ok(Box::new(SoilAnalyzer::new(typed(common)?, roi, ctx.seed)))
}

/// Soil grain: textured (clods), but finer than brickwork and window frames (mean grey step:
/// the composite soil measured 5–7, the brick building 8–23).
const TEXTURE: std::ops::RangeInclusive<f32> = 2.5..=10.0;
/// Most gradient coherence of natural ground: soil and grass have no dominant direction
/// (measured 0.4–0.6), wood grain, planks and straight edges do (desk and floor 0.8–0.9).
const MAX_COHERENCE: f32 = 0.62;

/// Brown/ochre, finely textured, no dominant straight structure.
pub(crate) fn soil(c: &Cell) -> bool {
    let [h, s, v] = c.hsv;
    (5..=22).contains(&h)
        && (70..=230).contains(&s)
        && (35..=180).contains(&v)
        && TEXTURE.contains(&c.texture)
        && c.coherence <= MAX_COHERENCE
}

pub struct SoilAnalyzer {
    cfg: SoilConfig,
    roi: Roi,
    areas: Vec<Area>,
    tracker: RegionTracker,
    seed: u64,
    layout: Option<Layout>,
}

impl SoilAnalyzer {
    pub fn new(cfg: SoilConfig, roi: Roi, seed: u64) -> Self {
        Self {
            cfg,
            areas: areas_of(&roi),
            roi,
            tracker: RegionTracker::new(3.0),
            seed,
            layout: None,
        }
    }

    pub fn config(&self) -> &SoilConfig {
        &self.cfg
    }
}

impl Analyzer for SoilAnalyzer {
    fn needs(&self) -> Needs {
        Needs::none(SURFACE_FPS)
    }

    fn process(&mut self, frame: &FrameInput, _p: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        let size = (frame.image.width(), frame.image.height());
        let grid = Grid::of(frame.image);
        if self.layout.as_ref().map(|l| l.0) != Some(size) {
            self.layout = Some((size, block_areas(&grid, &self.areas, size)));
        }
        let Some((_, block_area)) = self.layout.as_ref() else {
            return Ok(Vec::new());
        };
        let marked: Vec<bool> = grid
            .cells
            .iter()
            .zip(block_area)
            .map(|(c, a)| a.is_some() && soil(c))
            .collect();
        let found = large_regions(
            &grid,
            &marked,
            block_area,
            self.areas.len(),
            self.cfg.min_area_percent as f64,
        );
        self.tracker.update(frame.time, found);
        let (mut items, mut boxes) = (Vec::new(), Vec::new());
        for t in self.tracker.persistent(frame.time, self.cfg.threshold) {
            if t.reported {
                continue;
            }
            t.reported = true;
            let mut item = serde_json::Map::new();
            item.insert("bounding_box".into(), bbox_json(&t.region.bbox));
            item.insert("detection_id".into(), json!(detection_id(self.seed, t.id)));
            if let Some(name) = self.areas.get(t.region.area).and_then(Area::name) {
                item.insert("polygon_name".into(), json!(name));
            }
            items.push(Value::Object(item));
            boxes.push(t.region.bbox);
        }
        Ok(Event::alarm_list(BARE_SOIL, "event_set", items, boxes, true))
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}
