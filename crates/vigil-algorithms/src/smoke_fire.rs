//! Smoke and fire (`c-smoke-and-fire-edge/-cloud`): pixel analysis, no model.
//!
//! Behaviour (see docs/algorithms.md, "Smoke and fire"):
//! - Frames are analysed at 4 fps ([`RATE`]): flames flicker at a few Hz, which a frame a
//!   second cannot see. Every `video_sampling_interval` seconds the last 2 s ([`WINDOW_S`]) are
//!   judged; the key sets how often a decision is taken, not the pixel rate.
//! - Work is done on the frame box-averaged to at most 240 columns, inside the ROI polygons
//!   (the whole frame without polygons).
//! - Fire: flame-coloured pixels (bright, red-orange: R >= 210, R - B >= 80, R - G >= 30,
//!   G > B; a pixel stays on with hysteresis while R >= 185, R - B >= 55) whose state flips at
//!   least 3 times in the window (flicker; a moving orange object flips a pixel at most twice,
//!   compression noise is absorbed by the hysteresis). A region of the window's flame pixels with
//!   enough flickering pixels is a candidate; one found at the same place (IoU >= 0.2) in 3
//!   decisions in a row is a fire.
//! - Smoke: 8x8 blocks (at the working size) that are grey (channel spread < 25, luma 90–245),
//!   soft (mean gradient < 12 grey levels: smoke blurs what is behind it) and churning (mean
//!   luma change >= 2.5 in all but one frame pair of the window); 3 or more connected blocks
//!   at the same place in 5 decisions in a row are smoke.
//! - Alarms: one message with every confirmed region of a kind (`state` 1 fire, 2 smoke) when
//!   the kind is first confirmed, then again every `alarm_resend_interval` seconds (Vigil's key)
//!   while it is still confirmed; a kind that ends and comes back within that time is not
//!   re-sent before it elapses.

use serde_json::json;
use vigil_vision::pixel::{connected_components, Plane};
use vigil_vision::{BBox, Roi};

use crate::analyzer::{Analyzer, AnalyzerError, Event, FrameInput, Needs, Perception};
use crate::common::bbox_json;
use crate::event_type::SMOKE_AND_FIRE;
use crate::frame_history::{busy_pairs, Blocks, Ring, RoiMask, Small};
use crate::registry::AnalyzerContext;
use crate::typed_config::{secs, switch, typed};
use crate::validate::{ConfigError, ValidatedCommon};

/// Analysed frames per second (flicker needs several per second).
pub const RATE: f64 = 4.0;
/// Seconds of frames judged at each decision.
pub const WINDOW_S: f64 = 2.0;
/// Working width in pixels.
const WORK_WIDTH: u32 = 240;
/// `state` of a fire item.
pub const FIRE: i64 = 1;
/// `state` of a smoke item.
pub const SMOKE: i64 = 2;

/// Effective settings: `config.common` keys, typed (defaults and ranges: the catalogue).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct SmokeFireConfig {
    #[serde(rename = "fire_detection_sw", deserialize_with = "switch")]
    pub fire: bool,
    #[serde(rename = "smoke_detection_sw", deserialize_with = "switch")]
    pub smoke: bool,
    /// Seconds between decisions.
    #[serde(rename = "video_sampling_interval", deserialize_with = "secs")]
    pub interval: f64,
    /// Seconds before a still-confirmed kind is reported again (Vigil's key).
    #[serde(rename = "alarm_resend_interval", deserialize_with = "secs")]
    pub resend: f64,
}

/// Builds the analyzer of a task (the registry line of `c-smoke-and-fire`).
pub fn build(common: &ValidatedCommon, roi: Roi, _ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    Ok(Box::new(SmokeFireAnalyzer::new(typed(common)?, roi)))
}

/// Candidate regions seen at the same place in consecutive decisions.
#[derive(Debug, Clone, Default)]
struct Persistence {
    /// (box in small pixels, decisions in a row).
    regions: Vec<((f32, f32, f32, f32), u32)>,
}

impl Persistence {
    /// Replaces the regions by `found`, each with its run length; returns those whose run
    /// reached `needed`.
    fn update(&mut self, found: Vec<(f32, f32, f32, f32)>, needed: u32) -> Vec<(f32, f32, f32, f32)> {
        let next: Vec<_> = found
            .into_iter()
            .map(|b| {
                let run = self
                    .regions
                    .iter()
                    .filter(|(p, _)| iou(p, &b) >= 0.2)
                    .map(|(_, r)| *r)
                    .max()
                    .unwrap_or(0);
                (b, run + 1)
            })
            .collect();
        self.regions = next;
        self.regions
            .iter()
            .filter(|(_, r)| *r >= needed)
            .map(|(b, _)| *b)
            .collect()
    }
}

fn iou(a: &(f32, f32, f32, f32), b: &(f32, f32, f32, f32)) -> f32 {
    let ix = (a.2.min(b.2) - a.0.max(b.0)).max(0.0);
    let iy = (a.3.min(b.3) - a.1.max(b.1)).max(0.0);
    let i = ix * iy;
    let u = (a.2 - a.0) * (a.3 - a.1) + (b.2 - b.0) * (b.3 - b.1) - i;
    if u > 0.0 {
        i / u
    } else {
        0.0
    }
}

pub struct SmokeFireAnalyzer {
    cfg: SmokeFireConfig,
    roi: Roi,
    roi_mask: RoiMask,
    frames: Option<Ring<Small>>,
    flames: Option<Ring<Vec<bool>>>,
    next_decision: Option<f64>,
    fire: Persistence,
    smoke: Persistence,
    last_sent: [Option<f64>; 2],
}

impl SmokeFireAnalyzer {
    pub fn new(cfg: SmokeFireConfig, roi: Roi) -> Self {
        Self {
            cfg,
            roi,
            roi_mask: RoiMask::default(),
            frames: None,
            flames: None,
            next_decision: None,
            fire: Persistence::default(),
            smoke: Persistence::default(),
            last_sent: [None, None],
        }
    }

    pub fn config(&self) -> &SmokeFireConfig {
        &self.cfg
    }

    /// Fire candidates of the window: regions of flame pixels with flickering pixels.
    fn fire_candidates(flames: &Ring<Vec<bool>>, small: &Small) -> Vec<(f32, f32, f32, f32)> {
        let n = small.bgr.len();
        let mut any = Plane::new(small.width, small.height);
        let mut flips = vec![0u8; n];
        let mut prev: Option<&Vec<bool>> = None;
        for m in flames.iter().filter(|m| m.len() == n) {
            for i in 0..n {
                if m[i] {
                    any.data[i] = 255;
                }
                if prev.is_some_and(|p| p[i] != m[i]) {
                    flips[i] = flips[i].saturating_add(1);
                }
            }
            prev = Some(m);
        }
        let w = small.width as usize;
        connected_components(&any, true, 4)
            .into_iter()
            .filter_map(|c| {
                let (x0, y0, x1, y1) = (
                    c.bbox.x1 as usize,
                    c.bbox.y1 as usize,
                    c.bbox.x2 as usize,
                    c.bbox.y2 as usize,
                );
                let flicker = (y0..y1)
                    .flat_map(|y| (x0..x1).map(move |x| y * w + x))
                    .filter(|&i| any.data[i] != 0 && flips[i] >= 3)
                    .count();
                (flicker >= 4 && flicker as f32 >= 0.1 * c.area as f32)
                    .then_some((c.bbox.x1, c.bbox.y1, c.bbox.x2, c.bbox.y2))
            })
            .collect()
    }

    /// Smoke candidates of the window: groups of grey, soft, churning blocks.
    fn smoke_candidates(frames: &Ring<Small>, small: &Small, roi: &[bool]) -> Vec<(f32, f32, f32, f32)> {
        let blocks = Blocks::over(small, 8);
        if blocks.count() == 0 {
            return Vec::new();
        }
        let pairs = frames.iter().count().saturating_sub(1) as u32;
        let busy = busy_pairs(frames, &blocks, 2.5);
        let w = small.width as usize;
        let spread = blocks.means(small.width, |i| {
            let p = small.bgr[i];
            (p[0].max(p[1]).max(p[2]) - p[0].min(p[1]).min(p[2])) as f32
        });
        let luma = blocks.means(small.width, |i| small.luma[i] as f32);
        let grad = blocks.means(small.width, |i| {
            let l = &small.luma;
            let gx = if (i + 1) % w != 0 { l[i].abs_diff(l[i + 1]) } else { 0 };
            let gy = if i + w < l.len() { l[i].abs_diff(l[i + w]) } else { 0 };
            (gx as u32 + gy as u32) as f32
        });
        let inside = blocks.inside(small.width, roi);
        let on: Vec<bool> = (0..blocks.count())
            .map(|k| {
                inside[k]
                    && spread[k] < 25.0
                    && (90.0..=245.0).contains(&luma[k])
                    && grad[k] < 12.0
                    && pairs >= 2
                    && busy[k] + 1 >= pairs
            })
            .collect();
        let b = blocks.block as f32;
        connected_components(&blocks.plane(&on), true, 3)
            .into_iter()
            .map(|c| (c.bbox.x1 * b, c.bbox.y1 * b, c.bbox.x2 * b, c.bbox.y2 * b))
            .collect()
    }

    /// The alarm items of one kind, when it is due.
    fn due(&mut self, kind: i64, regions: &[(f32, f32, f32, f32)], small: &Small, time: f64) -> Vec<BBox> {
        let slot = &mut self.last_sent[(kind - 1) as usize];
        if regions.is_empty() || slot.is_some_and(|t| time - t < self.cfg.resend) {
            return Vec::new();
        }
        *slot = Some(time);
        regions.iter().map(|r| small.to_frame(*r)).collect()
    }
}

/// Flame colour with hysteresis: on when strongly flame-coloured, kept on while loosely so.
fn flame(p: [u8; 3], was: bool) -> bool {
    let (b, g, r) = (p[0] as i32, p[1] as i32, p[2] as i32);
    let strong = r >= 210 && r - b >= 80 && r - g >= 30 && g > b;
    let loose = r >= 185 && r - b >= 55 && r - g >= 15 && g >= b - 5;
    strong || (was && loose)
}

impl Analyzer for SmokeFireAnalyzer {
    fn needs(&self) -> Needs {
        Needs::none(RATE)
    }

    fn process(&mut self, frame: &FrameInput, _perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        let small = Small::shrink(frame.image, WORK_WIDTH);
        let size = (frame.image.width(), frame.image.height());
        let roi = self.roi_mask.get(&self.roi, &small, size).to_vec();
        // The window holds WINDOW_S of frames at the rate actually fed.
        let rate = if frame.rate.is_finite() && frame.rate > 0.0 {
            frame.rate
        } else {
            RATE
        };
        let len = (WINDOW_S * rate).round().clamp(3.0, 16.0) as usize;
        let flames = self.flames.get_or_insert_with(|| Ring::new(len));
        let was = flames.last().filter(|m| m.len() == small.bgr.len());
        let mask: Vec<bool> = (0..small.bgr.len())
            .map(|i| roi[i] && flame(small.bgr[i], was.is_some_and(|m| m[i])))
            .collect();
        flames.push(mask);
        let frames = self.frames.get_or_insert_with(|| Ring::new(len));
        frames.push(small.clone());

        let next = *self.next_decision.get_or_insert(frame.time);
        if frame.time + 1e-6 < next || !frames.full() {
            return Ok(Vec::new());
        }
        self.next_decision = Some(next.max(frame.time - self.cfg.interval) + self.cfg.interval);

        let (mut items, mut boxes) = (Vec::new(), Vec::new());
        if self.cfg.fire {
            let found = self
                .flames
                .as_ref()
                .map(|f| Self::fire_candidates(f, &small))
                .unwrap_or_default();
            let fires = self.fire.update(found, 3);
            for b in self.due(FIRE, &fires, &small, frame.time) {
                items.push(json!({"state": FIRE, "bounding_box": bbox_json(&b)}));
                boxes.push(b);
            }
        }
        if self.cfg.smoke {
            let found = self
                .frames
                .as_ref()
                .map(|f| Self::smoke_candidates(f, &small, &roi))
                .unwrap_or_default();
            let smokes = self.smoke.update(found, 5);
            for b in self.due(SMOKE, &smokes, &small, frame.time) {
                items.push(json!({"state": SMOKE, "bounding_box": bbox_json(&b)}));
                boxes.push(b);
            }
        }
        Ok(Event::alarm_list(SMOKE_AND_FIRE, "event_set", items, boxes, true))
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flame_colour_has_hysteresis() {
        // BGR order.
        assert!(flame([40, 140, 250], false)); // orange flame
        assert!(!flame([130, 150, 200], false)); // salmon wall
        assert!(!flame([60, 120, 200], false)); // dim orange: not switched on...
        assert!(flame([60, 120, 200], true)); // ...but kept on
        assert!(!flame([200, 200, 200], true)); // grey
    }

    #[test]
    fn persistence_needs_consecutive_overlapping_regions() {
        let mut p = Persistence::default();
        let a = (10.0, 10.0, 20.0, 20.0);
        assert!(p.update(vec![a], 3).is_empty());
        assert!(p.update(vec![(11.0, 10.0, 21.0, 20.0)], 3).is_empty());
        assert_eq!(p.update(vec![a], 3), vec![a]);
        // A gap restarts the run; a region elsewhere does not continue it.
        assert!(p.update(vec![(100.0, 100.0, 110.0, 110.0)], 3).is_empty());
        assert!(p.update(vec![a], 3).is_empty());
    }
}
