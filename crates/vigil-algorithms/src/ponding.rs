//! Waterlogging (`w-ponding-detection-edge/-cloud`, event 1900544): standing water appearing on
//! ground inside the ROI.
//!
//! Behaviour (see docs/algorithms.md, "Waterlogging"):
//! - Pixel analysis at 1 analysed frame per second, plus the shared COCO detector (people,
//!   vehicles, bags): blocks covered by one now or in the last 20 s are not water.
//! - The dry ground is learnt: every 16x16 block keeps a reference of its mean colour, taken
//!   from the first frame and updated slowly (time constant ~100 s) wherever it looks unchanged.
//! - A block is water when it differs from its reference (after the frame's global brightness
//!   change is compensated: clouds, dusk) and its new colour is water-like: grey, bluish,
//!   greenish or dark (sky reflections and muddy water), not a saturated warm colour; it is not
//!   busy (mean grey step ≤ 20: crowds and clutter are busier) and steady (colour change since
//!   the previous analysed frame ≤ 20: smoke and flames flicker).
//! - Water blocks form regions; a region of at least `min_area_ratio` % of the ROI that persists
//!   `alert_time_threshold` seconds is reported per `alert_mode` ([`crate::surface_cover`]).
//! - Known limit: water already present when the task starts is learnt as ground.

use vigil_vision::{BBox, Roi};

use crate::analyzer::Analyzer;
use crate::colour_regions::{Grid, Occupancy};
use crate::event_type::WATERLOGGING;
use crate::registry::AnalyzerContext;
use crate::surface_cover::{SurfaceConfig, SurfaceCoverAnalyzer, SurfaceRule};
use crate::typed_config::typed;
use crate::validate::{ConfigError, ValidatedCommon};

/// Colour distance (BGR, after brightness compensation) that makes a block "changed".
const CHANGE: f32 = 28.0;
/// Reference learning rate per analysed frame where the block is unchanged.
const LEARN: f32 = 0.01;
/// Water blocks are at most this textured (mean grey step): a rippled puddle measured 9–14,
/// crowds, seated groups and clutter 17–45.
const MAX_TEXTURE: f32 = 20.0;
/// Most colour change of a water block since the previous analysed frame, where it already
/// differed from the ground then (a puddle appears once, then stays steady; smoke and flames
/// keep flickering).
const MAX_FLICKER: f32 = 20.0;
/// Seconds a block stays blocked after a person, vehicle or bag was detected on it.
const OCCUPIED_HOLD: f64 = 20.0;

/// Builds the analyzer of a task (the registry line of `w-ponding-detection`).
pub fn build(common: &ValidatedCommon, roi: Roi, _ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    let cfg: SurfaceConfig = typed(common)?;
    Ok(Box::new(SurfaceCoverAnalyzer::new(
        cfg,
        WATERLOGGING,
        roi,
        Box::new(WaterRule::default()),
    )))
}

/// Water = changed from the learnt dry ground into a water-like colour, not busy, and not
/// where a person, vehicle or bag is or was lately.
pub(crate) struct WaterRule {
    reference: Vec<[f32; 3]>,
    /// Block colours of the previous analysed frame.
    previous: Vec<[f32; 3]>,
    /// Blocks that differed from the ground on the previous analysed frame.
    was_changed: Vec<bool>,
    occupancy: Occupancy,
}

impl Default for WaterRule {
    fn default() -> Self {
        Self {
            reference: Vec::new(),
            previous: Vec::new(),
            was_changed: Vec::new(),
            occupancy: Occupancy::new(OCCUPIED_HOLD),
        }
    }
}

/// A mean colour water can have: low saturation (grey, reflections), or a cool hue (blue,
/// cyan, green: sky and murky water), or dark. Saturated reds, oranges and yellows are not.
fn water_like(hsv: [u8; 3]) -> bool {
    let [h, s, v] = hsv;
    s < 45 || v < 60 || ((25..=130).contains(&h) && s < 140)
}

fn luma(c: &[f32; 3]) -> f32 {
    0.114 * c[0] + 0.587 * c[1] + 0.299 * c[2]
}

impl SurfaceRule for WaterRule {
    fn uses_obstacles(&self) -> bool {
        true
    }

    fn mark(&mut self, grid: &Grid, area: &[Option<usize>], obstacles: &[BBox], time: f64) -> Vec<bool> {
        let occupied = self.occupancy.update(grid, obstacles, time);
        let previous = std::mem::replace(&mut self.previous, grid.cells.iter().map(|c| c.bgr).collect());
        if self.reference.len() != grid.cells.len() || previous.len() != grid.cells.len() {
            self.reference = grid.cells.iter().map(|c| c.bgr).collect();
            return vec![false; grid.cells.len()];
        }
        // Global gain: median ratio of luma over the ROI (lighting changes move every block).
        let mut ratios: Vec<f32> = grid
            .cells
            .iter()
            .zip(&self.reference)
            .zip(area)
            .filter(|(_, a)| a.is_some())
            .map(|((c, r), _)| (luma(&c.bgr) + 1.0) / (luma(r) + 1.0))
            .collect();
        ratios.sort_by(f32::total_cmp);
        let gain = ratios.get(ratios.len() / 2).copied().unwrap_or(1.0).clamp(0.3, 3.0);
        let mut marked = vec![false; grid.cells.len()];
        self.was_changed.resize(grid.cells.len(), false);
        for (i, (c, r)) in grid.cells.iter().zip(self.reference.iter_mut()).enumerate() {
            let d = (0..3).map(|k| (c.bgr[k] - r[k] * gain).powi(2)).sum::<f32>().sqrt();
            let changed = d > CHANGE;
            let flicker = (0..3).map(|k| (c.bgr[k] - previous[i][k]).powi(2)).sum::<f32>().sqrt();
            let steady = !self.was_changed[i] || flicker <= MAX_FLICKER;
            self.was_changed[i] = changed;
            marked[i] =
                changed && steady && area[i].is_some() && !occupied[i] && c.texture <= MAX_TEXTURE && water_like(c.hsv);
            // Where something stands, the ground is hidden: nothing to learn.
            if !changed && !occupied[i] {
                for (rk, ck) in r.iter_mut().zip(c.bgr) {
                    *rk += LEARN * (ck / gain - *rk);
                }
            }
        }
        marked
    }
}
