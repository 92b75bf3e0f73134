//! River water-level gauge reading (`cali-water-ruler-river-edge/-cloud`, event 33816579): the
//! water level read off a painted gauge (staff gauge, "E" ruler) every `sampling_time_interval`.
//!
//! Behaviour (see docs/algorithms.md, "Water gauge"):
//! - Each ROI polygon is one gauge (without polygons the whole frame is searched). The engine
//!   reads the text in the polygons' boxes (`Needs::text`, PP-OCR detection + recognition).
//! - The gauge's numbers: texts that are plain numbers (or an "E" mark and a number, read as one
//!   line) read with at least `ocr_min_confidence`
//!   percent. At least [`MIN_NUMBERS`] of them must lie on one straight, evenly graduated
//!   column: the bottom of the number's glyphs (the last row of ink in its text box; a number is
//!   painted just above its mark, as on the common E gauge) against its value fits one line, values growing upwards, each number
//!   within [`FIT_TOLERANCE`] of a unit step of the line; others are dropped. The line gives the
//!   pixels per unit (from the spacing of consecutive numbers) and the mark of every value.
//! - The water line: scanning down the numbers' column from the lowest number, the first rows
//!   that are no longer gauge paint (at least 0.8 of the brightness of the board around the
//!   lowest number, or saturated marks). It must come within [`MAX_GAP_STEPS`] graduation steps
//!   below the lowest number (else a number below should have been read, and nothing is said).
//! - Level = the line's value at the water line, in the numbers' units, times `number_unit_cm`,
//!   reported in metres with 2 decimals.
//! - Slow-change check: a reading more than `max_level_jump_cm` away from the last reported one
//!   is held back and reported only when the next reading confirms it (within the same bound);
//!   the first reading of a gauge also waits for a confirming one. A sample without a sane
//!   reading reports nothing for that gauge.
//! - One message per sample with every gauge read: `{"water_level_list": [{"water_level": 1.23,
//!   "polygon": [{x,y}×4]}]}`, the polygon being the gauge seen (numbers' column from the top
//!   number to the water line).

use serde_json::{json, Value};
use vigil_vision::textdet::TextBox;
use vigil_vision::{BBox, ImageBgr, Roi};

use crate::analyzer::{Analyzer, AnalyzerError, Event, FrameInput, Needs, Perception};
use crate::common::Area;
use crate::event_type::WATER_GAUGE;
use crate::registry::AnalyzerContext;
use crate::typed_config::typed;
use crate::validate::{ConfigError, ValidatedCommon};

/// Fewest numbers on one graduated column for a reading (two points always fit a line; three
/// evenly spaced numbers do not happen by chance).
pub const MIN_NUMBERS: usize = 3;
/// A number is on the column when its box bottom is within this fraction of a unit step of the
/// fitted line.
pub const FIT_TOLERANCE: f32 = 0.2;
/// The water line must be found within this many graduation steps below the lowest number.
pub const MAX_GAP_STEPS: f32 = 1.6;

/// `config.common` of the water gauge, typed (defaults and ranges from the catalogue).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct WaterRulerConfig {
    /// Seconds between readings.
    pub sampling_time_interval: i64,
    /// Centimetres of water per unit of the painted numbers.
    pub number_unit_cm: i64,
    /// Least recognition confidence of a number, percent.
    pub ocr_min_confidence: i64,
    /// Largest change between two reported readings before confirmation, centimetres.
    pub max_level_jump_cm: i64,
}

/// Builds the analyzer of a task (the registry line of `cali-water-ruler-river`).
pub fn build(common: &ValidatedCommon, roi: Roi, _ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    Ok(Box::new(WaterRulerAnalyzer::new(typed(common)?, roi)))
}

/// One gauge read on one frame (frame pixels, the numbers' units).
#[derive(Debug, Clone, PartialEq)]
pub struct GaugeReading {
    /// Value at the water line, in the numbers' units.
    pub value: f64,
    /// Pixels per unit of the numbers.
    pub px_per_unit: f32,
    pub water_line_y: f32,
    /// The gauge seen: numbers' column from the top number to the water line.
    pub gauge: BBox,
    /// The numbers used.
    pub numbers: Vec<BBox>,
}

/// A plain number (`"27"`, `"1.5"`), or one read together with the "E" mark painted beside it
/// (`"E27"`, `"E 27"`: the detector sees the mark and the number as one text line).
fn number(text: &str) -> Option<f64> {
    let t = text.trim();
    let t = t.strip_prefix(['E', 'e']).unwrap_or(t).trim_start();
    let ok = !t.is_empty()
        && t.chars().all(|c| c.is_ascii_digit() || c == '.')
        && t.chars().next().is_some_and(|c| c.is_ascii_digit())
        && t.matches('.').count() <= 1;
    ok.then(|| t.parse().ok()).flatten()
}

/// Least-squares `y = a + b v`.
fn fit(pts: &[(f64, f32)]) -> (f32, f32) {
    let n = pts.len() as f64;
    let mv = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1 as f64).sum::<f64>() / n;
    let sxy: f64 = pts.iter().map(|p| (p.0 - mv) * (p.1 as f64 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mv).powi(2)).sum();
    let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    ((my - b * mv) as f32, b as f32)
}

/// Reads one gauge from the `numbers` (box, value) found in its area of `image`.
pub fn read_gauge(image: &ImageBgr, numbers: &[(BBox, f64)]) -> Option<GaugeReading> {
    if numbers.len() < MIN_NUMBERS {
        return None;
    }
    // The DB box is a margin larger than the glyphs: a number's mark is its glyphs' bottom.
    let numbers: Vec<(BBox, f64)> = numbers
        .iter()
        .map(|(b, v)| {
            (
                BBox {
                    y2: glyph_bottom(image, b),
                    ..*b
                },
                *v,
            )
        })
        .collect();
    // The smallest value step between the numbers (a gauge numbered every unit: 1).
    let mut values: Vec<f64> = numbers.iter().map(|n| n.1).collect();
    values.sort_by(|a, b| a.total_cmp(b));
    values.dedup();
    let step = values.windows(2).map(|w| w[1] - w[0]).fold(f64::MAX, f64::min);
    if !(step.is_finite() && step > 0.0) {
        return None;
    }
    // Every pair of numbers proposes a line; the one most numbers agree with wins.
    let mut best: Vec<usize> = Vec::new();
    for i in 0..numbers.len() {
        for j in i + 1..numbers.len() {
            let (a, b) = (&numbers[i], &numbers[j]);
            if a.1 == b.1 {
                continue;
            }
            let slope = (b.0.y2 - a.0.y2) / (b.1 - a.1) as f32;
            // Values grow upwards, and consecutive numbers do not overlap.
            let h = (a.0.height() + b.0.height()) / 2.0;
            if slope >= 0.0 || -slope * (step as f32) < 0.8 * h {
                continue;
            }
            let tol = FIT_TOLERANCE * -slope * step as f32;
            let inliers: Vec<usize> = (0..numbers.len())
                .filter(|&k| {
                    let (bb, v) = &numbers[k];
                    let dx = (bb.center().0 - a.0.center().0).abs();
                    (a.0.y2 + slope * (*v - a.1) as f32 - bb.y2).abs() <= tol && dx <= 2.0 * h
                })
                .collect();
            if inliers.len() > best.len() {
                best = inliers;
            }
        }
    }
    // One value once (a number read twice is not two graduations).
    let mut seen = Vec::new();
    best.retain(|&k| {
        let fresh = !seen.contains(&numbers[k].1.to_bits());
        seen.push(numbers[k].1.to_bits());
        fresh
    });
    if best.len() < MIN_NUMBERS {
        return None;
    }
    let pts: Vec<(f64, f32)> = best.iter().map(|&k| (numbers[k].1, numbers[k].0.y2)).collect();
    let (a, b) = fit(&pts);
    let px_per_unit = -b;
    let used: Vec<BBox> = best.iter().map(|&k| numbers[k].0).collect();
    let lowest = used.iter().copied().max_by(|p, q| p.y2.total_cmp(&q.y2))?;
    let top = used.iter().map(|b| b.y1).fold(f32::MAX, f32::min);
    let (x1, x2) = (
        used.iter().map(|b| b.x1).fold(f32::MAX, f32::min),
        used.iter().map(|b| b.x2).fold(f32::MIN, f32::max),
    );
    let limit = lowest.y2 + MAX_GAP_STEPS * px_per_unit * step as f32;
    let water = water_line(image, &lowest, lowest.center().1, limit)?;
    let value = ((water - a) / b) as f64;
    Some(GaugeReading {
        value,
        px_per_unit,
        water_line_y: water,
        gauge: BBox::new(x1, top, x2, water),
        numbers: used,
    })
}

/// HSV of the pixels of row `y` between `x1` and `x2` (clamped to the image).
fn hsv_row(image: &ImageBgr, y: i64, x1: f32, x2: f32) -> Vec<[u8; 3]> {
    let (w, h) = (image.width() as i64, image.height() as i64);
    let y = y.clamp(0, h - 1) as u32;
    ((x1.max(0.0) as i64)..(x2 as i64).min(w))
        .map(|x| {
            let [b, g, r] = image.pixel(x as u32, y);
            vigil_vision::pixel::bgr_to_hsv(b, g, r)
        })
        .collect()
}

/// The brightness of the board in `b`: the bright quarter of its pixels.
fn board_brightness(image: &ImageBgr, b: &BBox) -> Option<f32> {
    let mut vs: Vec<u8> = (b.y1 as i64..b.y2 as i64)
        .flat_map(|y| hsv_row(image, y, b.x1, b.x2).into_iter().map(|p| p[2]))
        .collect();
    if vs.len() < 16 {
        return None;
    }
    vs.sort_unstable();
    Some(vs[vs.len() * 3 / 4] as f32)
}

/// Paint of a gauge: the board (bright) or a painted mark or number (saturated).
fn is_paint(p: &[u8; 3], board_v: f32) -> bool {
    p[2] as f32 >= 0.8 * board_v || (p[1] >= 100 && p[2] >= 80)
}

/// The last row (from the bottom of `b` up to its middle) with ink: pixels darker than the
/// board or saturated; the box bottom when there is none.
fn glyph_bottom(image: &ImageBgr, b: &BBox) -> f32 {
    let Some(board_v) = board_brightness(image, b) else {
        return b.y2;
    };
    let ink = |p: &[u8; 3]| (p[2] as f32) < 0.8 * board_v || p[1] >= 100;
    let (top, bottom) = (b.center().1 as i64, b.y2.ceil() as i64 - 1);
    (top..=bottom)
        .rev()
        .find(|&y| {
            let row = hsv_row(image, y, b.x1, b.x2);
            row.iter().filter(|p| ink(p)).count() as f32 >= 0.08 * row.len().max(1) as f32
        })
        .map_or(b.y2, |y| (y + 1) as f32)
}

/// The first row below `from` (scanning down the column of `number`, up to `limit`) where the
/// gauge's paint ends: for a few rows, most pixels are not [`is_paint`].
fn water_line(image: &ImageBgr, number: &BBox, from: f32, limit: f32) -> Option<f32> {
    let inset = number.width() * 0.1;
    let (x1, x2) = (number.x1 + inset, number.x2 - inset);
    let board_v = board_brightness(image, number)?;
    let score = |y: i64| {
        let row = hsv_row(image, y, x1, x2);
        row.iter().filter(|p| is_paint(p, board_v)).count() as f32 / row.len().max(1) as f32
    };
    let h = image.height() as i64;
    let window = ((number.height() / 6.0).round() as i64).max(3);
    let (start, end) = (from.round() as i64, (limit.round() as i64).min(h - window));
    let scores: Vec<f32> = (start..end + window).map(score).collect();
    (0..(end - start).max(0) as usize)
        .find(|&i| scores[i..i + window as usize].iter().all(|&s| s < 0.5))
        .map(|i| (start + i as i64) as f32)
}

/// The last reported reading of one gauge and a reading waiting for confirmation.
#[derive(Debug, Clone, Default)]
struct Steady {
    last: Option<f64>,
    pending: Option<f64>,
}

impl Steady {
    /// The reading to report, if `cm` is plausible after the previous ones.
    fn accept(&mut self, cm: f64, jump: f64) -> Option<f64> {
        let near = |v: Option<f64>| v.is_some_and(|v| (cm - v).abs() <= jump);
        if near(self.last) || near(self.pending) {
            self.last = Some(cm);
            self.pending = None;
            Some(cm)
        } else {
            self.pending = Some(cm);
            None
        }
    }
}

pub struct WaterRulerAnalyzer {
    cfg: WaterRulerConfig,
    roi: Roi,
    areas: Vec<Area>,
    steady: Vec<Steady>,
}

impl WaterRulerAnalyzer {
    pub fn new(cfg: WaterRulerConfig, roi: Roi) -> Self {
        let areas = Area::polygons_or_frame(&roi);
        let steady = vec![Steady::default(); areas.len()];
        Self {
            cfg,
            roi,
            areas,
            steady,
        }
    }

    /// The text regions to read: the polygons' boxes, or the whole frame.
    fn regions(&self) -> Vec<BBox> {
        self.roi
            .polygons
            .iter()
            .filter(|p| !p.points.is_empty())
            .map(|p| {
                let (xs, ys) = (p.points.iter().map(|q| q.x), p.points.iter().map(|q| q.y));
                BBox::new(
                    xs.clone().fold(f32::MAX, f32::min),
                    ys.clone().fold(f32::MAX, f32::min),
                    xs.fold(f32::MIN, f32::max),
                    ys.fold(f32::MIN, f32::max),
                )
            })
            .collect()
    }

    /// This frame's sane reading of every area (None where there is none).
    pub fn read(&self, image: &ImageBgr, texts: &[TextBox]) -> Vec<Option<GaugeReading>> {
        let size = (image.width(), image.height());
        let min_conf = self.cfg.ocr_min_confidence as f32 / 100.0;
        self.areas
            .iter()
            .map(|area| {
                let numbers: Vec<(BBox, f64)> = texts
                    .iter()
                    .filter(|t| t.confidence >= min_conf)
                    .filter_map(|t| Some((t.bbox, number(&t.text)?)))
                    .filter(|(b, _)| {
                        let (x, y) = b.center();
                        area.contains(vigil_vision::Point::new(x, y), size)
                    })
                    .collect();
                read_gauge(image, &numbers)
            })
            .collect()
    }
}

fn corners(b: &BBox) -> Value {
    let (x1, y1, x2, y2) = (
        b.x1.round() as i64,
        b.y1.round() as i64,
        b.x2.round() as i64,
        b.y2.round() as i64,
    );
    json!([{"x": x1, "y": y1}, {"x": x2, "y": y1}, {"x": x2, "y": y2}, {"x": x1, "y": y2}])
}

impl Analyzer for WaterRulerAnalyzer {
    fn needs(&self) -> Needs {
        Needs {
            text: Some(self.regions()),
            ..Needs::none(1.0 / self.cfg.sampling_time_interval.max(1) as f64)
        }
    }

    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        let texts = perception.texts.as_deref().map(Vec::as_slice).unwrap_or(&[]);
        let readings = self.read(frame.image, texts);
        let (unit, jump) = (self.cfg.number_unit_cm as f64, self.cfg.max_level_jump_cm as f64);
        let (mut list, mut boxes) = (Vec::new(), Vec::new());
        for (reading, steady) in readings.into_iter().zip(&mut self.steady) {
            let Some(r) = reading else { continue };
            let Some(cm) = steady.accept(r.value * unit, jump) else {
                continue;
            };
            let metres = cm.round() / 100.0;
            list.push(json!({"water_level": metres, "polygon": corners(&r.gauge)}));
            boxes.push(r.gauge);
            boxes.extend(r.numbers);
        }
        Ok(Event::alarm_list(WATER_GAUGE, "water_level_list", list, boxes, true))
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_plain_numbers() {
        assert_eq!(number("27"), Some(27.0));
        assert_eq!(number(" 1.5"), Some(1.5));
        assert_eq!(number("E27"), Some(27.0));
        assert_eq!(number("E 27"), Some(27.0));
        assert_eq!(number("EE27"), None);
        assert_eq!(number("B27"), None);
        assert_eq!(number("1.2.3"), None);
        assert_eq!(number(""), None);
    }

    /// A white board 40 px per unit, numbers 20 px high painted above their marks, water
    /// (dark) below y = 300.
    fn gauge(water_y: u32) -> (ImageBgr, Vec<(BBox, f64)>) {
        let (w, h) = (200u32, 400u32);
        let mut px = vec![0u8; (w * h * 3) as usize];
        for y in 0..h {
            for x in 0..w {
                let i = ((y * w + x) * 3) as usize;
                let c = if y >= water_y {
                    [70, 90, 60]
                } else if (60..140).contains(&x) {
                    [235, 235, 235]
                } else {
                    [150, 120, 90]
                };
                px[i..i + 3].copy_from_slice(&c);
            }
        }
        let numbers = (3..=9).map(|v| {
            let mark = 380.0 - 40.0 * (v as f32 - 2.0);
            (BBox::new(80.0, mark - 22.0, 120.0, mark), v as f64)
        });
        let visible = numbers.filter(|(b, _)| (b.y2 as u32) < water_y).collect();
        (ImageBgr::from_packed(w, h, px).unwrap(), visible)
    }

    #[test]
    fn reads_the_value_at_the_water_line() {
        let (img, nums) = gauge(310);
        let r = read_gauge(&img, &nums).expect("a reading");
        // Mark of v is at 380 - 40 (v - 2): y 310 is v = 3.75.
        assert!((r.value - 3.75).abs() < 0.05, "{r:?}");
        assert!((r.px_per_unit - 40.0).abs() < 0.5);
    }

    #[test]
    fn refuses_inconsistent_numbers() {
        let (img, mut nums) = gauge(310);
        // Values growing downwards (a mirrored or misread column): no line.
        for n in nums.iter_mut() {
            n.1 = 20.0 - n.1;
        }
        assert!(read_gauge(&img, &nums).is_none());
        // Values that are not evenly spaced: no three on one line.
        for (n, v) in nums.iter_mut().zip([4.0, 5.0, 7.0, 11.0, 12.0, 19.0]) {
            n.1 = v;
        }
        assert!(read_gauge(&img, &nums).is_none());
        let (img, nums) = gauge(310);
        assert!(read_gauge(&img, &nums[..2]).is_none(), "two numbers are not enough");
    }

    #[test]
    fn jumps_wait_for_confirmation() {
        let mut s = Steady::default();
        assert_eq!(s.accept(100.0, 20.0), None, "the first reading waits");
        assert_eq!(s.accept(103.0, 20.0), Some(103.0));
        assert_eq!(s.accept(180.0, 20.0), None, "a jump is held back");
        assert_eq!(s.accept(105.0, 20.0), Some(105.0));
        assert_eq!(s.accept(180.0, 20.0), None);
        assert_eq!(s.accept(182.0, 20.0), Some(182.0), "confirmed twice, it is real");
    }
}
