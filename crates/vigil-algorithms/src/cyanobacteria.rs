//! Cyanobacteria (`c-cyanobacteria-edge/-cloud`, Vigil's service names: the spec has no creation
//! API for it; event 34078721): green-cyan algal scum on a water ROI.
//!
//! Behaviour (see docs/algorithms.md, "Cyanobacteria"):
//! - Pixel analysis, no model, 1 analysed frame per second; the ROI should cover water only
//!   (shore vegetation is green too).
//! - A 16x16 block is scum when its mean colour is a saturated green to green-cyan (OpenCV hue
//!   50–85, i.e. 100–170°: lawns, even shaded, are below 100°; saturation ≥ 100) with green
//!   clearly above red and blue, and it is not busy (mean grey step ≤ 30: burned-in box lines
//!   over a crowd are): the turbid "pea soup" of a bloom. Clear or muddy water (grey, blue,
//!   brown-green with low saturation) is not.
//! - Regions, persistence and messages as waterlogging ([`crate::surface_cover`]): same
//!   payload (`water_logging_ratio` = largest scum area / image area).

use vigil_vision::{BBox, Roi};

use crate::analyzer::Analyzer;
use crate::colour_regions::{Cell, Grid};
use crate::event_type::CYANOBACTERIA;
use crate::registry::AnalyzerContext;
use crate::surface_cover::{SurfaceConfig, SurfaceCoverAnalyzer, SurfaceRule};
use crate::typed_config::typed;
use crate::validate::{ConfigError, ValidatedCommon};

/// Builds the analyzer of a task (the registry line of `c-cyanobacteria`).
pub fn build(common: &ValidatedCommon, roi: Roi, _ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    let cfg: SurfaceConfig = typed(common)?;
    Ok(Box::new(SurfaceCoverAnalyzer::new(
        cfg,
        CYANOBACTERIA,
        roi,
        Box::new(ScumRule),
    )))
}

/// Saturated green-cyan blocks.
pub(crate) struct ScumRule;

/// Scum blocks are at most this textured (mean grey step): a bloom is a film on water, while
/// crowds behind burned-in green boxes and thin drawn lines measured 37–47.
const MAX_TEXTURE: f32 = 30.0;

pub(crate) fn scum(c: &Cell) -> bool {
    let [h, s, v] = c.hsv;
    let [b, g, r] = c.bgr;
    // Saturation ≥ 100 (0.39): the composite scum measured 0.52–0.58, lawns and shrubs in
    // shade 0.35–0.38; hue ≥ 50 (100°): the scum 106–109°, shaded lawn 95–98°.
    (50..=85).contains(&h) && s >= 100 && v >= 35 && g > r + 12.0 && g > b + 8.0 && c.texture <= MAX_TEXTURE
}

impl SurfaceRule for ScumRule {
    fn mark(&mut self, grid: &Grid, area: &[Option<usize>], _obstacles: &[BBox], _time: f64) -> Vec<bool> {
        grid.cells
            .iter()
            .zip(area)
            .map(|(c, a)| a.is_some() && scum(c))
            .collect()
    }
}
