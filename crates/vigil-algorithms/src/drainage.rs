//! Drainage outlet monitoring (`drainage-recognition-edge/-cloud`): is the outlet discharging?
//! Pixel analysis, no model.
//!
//! Behaviour (see docs/algorithms.md, "Drainage outlet monitoring"):
//! - Area: the ROI polygons (the outlet and the water just below it); the whole frame without.
//! - Frames are analysed at 4 fps ([`RATE`]) on the frame box-averaged to at most 240 columns,
//!   in 8x8 blocks. Each frame pair has a *floor*: the median block change outside the area
//!   (of all blocks without an ROI). A pair whose floor reaches 5 grey levels changed globally
//!   (camera motion or exposure, a scene filmed through moving glass, a time-lapse) and is not
//!   judged; in the others a block is busy when its mean luma change reaches 3 grey levels and
//!   twice the floor (sensor noise of small noisy clips does not count).
//! - A block is *churning* when it was busy in at least 80 % of the judged pairs of the last
//!   3 s and also at the previous decision (1 s earlier): falling or flowing water changes the
//!   same blocks all the time, while a person walking through (or a crowd moving about) changes
//!   each block for a second or two.
//! - Once a second the churning share of the area's blocks is measured: >= 30 % reads as
//!   discharging, <= 15 % as not (hysteresis in between keeps the last reading). A window with
//!   fewer than half its pairs judged keeps the last reading.
//! - Messages: the state starts `false` (not sent); each change of the reading that holds for
//!   `drainage_state_duration` seconds (Vigil's key) is sent as `drainage_state` true/false;
//!   `drainage_report_interval` (Vigil's key, 0 = never) re-sends the current state that often.
//! - Spec §6.4 #38 has no `data`: the event's data is exactly `{"drainage_state": bool}`, which
//!   the alarm envelope lifts to the top level.

use serde_json::json;
use vigil_vision::Roi;

use crate::analyzer::{Analyzer, AnalyzerError, Event, FrameInput, Needs, Perception};
use crate::event_type::DRAINAGE;
use crate::frame_history::{pair_activity, Blocks, Ring, RoiMask, Small};
use crate::registry::AnalyzerContext;
use crate::typed_config::{secs, typed};
use crate::validate::{ConfigError, ValidatedCommon};

/// Analysed frames per second.
pub const RATE: f64 = 4.0;
/// Seconds of frames judged at each decision.
pub const WINDOW_S: f64 = 3.0;
const WORK_WIDTH: u32 = 240;
/// Mean luma change (grey levels) that makes a block busy in a frame pair.
const CHURN_LEVEL: f32 = 3.0;
/// Share of pairs a churning block is busy in.
const CHURN_SHARE: f32 = 0.8;
/// A busy block changes at least this many times the pair's floor.
const FLOOR_FACTOR: f32 = 2.0;
/// Floor (grey levels) from which a pair counts as a global change and is not judged.
const GLOBAL_FLOOR: f32 = 5.0;
/// Churning share of the area that reads as discharging, and the one that reads as not.
const ON_SHARE: f32 = 0.30;
const OFF_SHARE: f32 = 0.15;

/// Effective settings: `config.common` keys, typed (defaults and ranges: the catalogue).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct DrainageConfig {
    /// Seconds a new state must hold before it is sent (Vigil's key).
    #[serde(rename = "drainage_state_duration", deserialize_with = "secs")]
    pub hold: f64,
    /// Seconds between repeats of the current state; 0 = only changes (Vigil's key).
    #[serde(rename = "drainage_report_interval", deserialize_with = "secs")]
    pub repeat: f64,
}

/// Builds the analyzer of a task (the registry line of `drainage-recognition`).
pub fn build(common: &ValidatedCommon, roi: Roi, _ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    Ok(Box::new(DrainageAnalyzer::new(typed(common)?, roi)))
}

pub struct DrainageAnalyzer {
    cfg: DrainageConfig,
    roi: Roi,
    roi_mask: RoiMask,
    frames: Option<Ring<Small>>,
    next_decision: Option<f64>,
    /// The last reading (with hysteresis) and since when it holds.
    reading: (bool, f64),
    /// The state last sent (initially `false`, not sent) and when.
    state: bool,
    sent_at: Option<f64>,
    /// Blocks churning at the previous decision (churn must persist across two).
    prev_churning: Vec<bool>,
    /// The churning share of the last decision (for tests and logs).
    pub last_share: f32,
}

impl DrainageAnalyzer {
    pub fn new(cfg: DrainageConfig, roi: Roi) -> Self {
        Self {
            cfg,
            roi,
            roi_mask: RoiMask::default(),
            frames: None,
            next_decision: None,
            reading: (false, 0.0),
            state: false,
            sent_at: None,
            prev_churning: Vec::new(),
            last_share: 0.0,
        }
    }

    pub fn config(&self) -> &DrainageConfig {
        &self.cfg
    }

    /// Per block: busy in most of the window's judged pairs; `None` when too few pairs could
    /// be judged (global change).
    fn churning(frames: &Ring<Small>, blocks: &Blocks, inside: &[bool]) -> Option<Vec<bool>> {
        let pairs = pair_activity(frames, blocks);
        let has_outside = inside.iter().any(|&i| !i);
        let mut busy = vec![0u32; blocks.count()];
        let mut judged = 0u32;
        for act in &pairs {
            let mut rest: Vec<f32> = act
                .iter()
                .zip(inside)
                .filter(|(_, &i)| !i || !has_outside)
                .map(|(&a, _)| a)
                .collect();
            let floor = median(&mut rest);
            if floor >= GLOBAL_FLOOR {
                continue;
            }
            judged += 1;
            let level = CHURN_LEVEL.max(FLOOR_FACTOR * floor);
            for (b, &a) in busy.iter_mut().zip(act) {
                if a >= level {
                    *b += 1;
                }
            }
        }
        if judged == 0 || (judged as usize) * 2 < pairs.len() {
            return None;
        }
        Some(busy.iter().map(|&b| b as f32 >= CHURN_SHARE * judged as f32).collect())
    }

    /// Share of the area's blocks churning now and at the previous decision; `None` when the
    /// window cannot be judged.
    fn churning_share(&mut self, frames: &Ring<Small>, small: &Small, roi: &[bool]) -> Option<f32> {
        let blocks = Blocks::over(small, 8);
        let inside = blocks.inside(small.width, roi);
        let area = inside.iter().filter(|&&v| v).count();
        if area == 0 {
            return Some(0.0);
        }
        let now = Self::churning(frames, &blocks, &inside)?;
        let prev = std::mem::replace(&mut self.prev_churning, now);
        if prev.len() != self.prev_churning.len() {
            return Some(0.0);
        }
        let churning = (0..inside.len())
            .filter(|&k| inside[k] && prev[k] && self.prev_churning[k])
            .count();
        Some(churning as f32 / area as f32)
    }

    fn message(&mut self, time: f64) -> Vec<Event> {
        self.sent_at = Some(time);
        vec![Event {
            event_type: DRAINAGE,
            data: json!({"drainage_state": self.state}),
            alarm_type: None,
            boxes: Vec::new(),
            with_image: true,
        }]
    }
}

impl Analyzer for DrainageAnalyzer {
    fn needs(&self) -> Needs {
        Needs::none(RATE)
    }

    fn process(&mut self, frame: &FrameInput, _perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        let small = Small::shrink(frame.image, WORK_WIDTH);
        let size = (frame.image.width(), frame.image.height());
        let rate = if frame.rate.is_finite() && frame.rate > 0.0 {
            frame.rate
        } else {
            RATE
        };
        let len = (WINDOW_S * rate).round().clamp(3.0, 24.0) as usize;
        let frames = self.frames.get_or_insert_with(|| Ring::new(len));
        frames.push(small);
        let next = *self.next_decision.get_or_insert(frame.time);
        if frame.time + 1e-6 < next || !frames.full() {
            return Ok(Vec::new());
        }
        self.next_decision = Some(next.max(frame.time - 1.0) + 1.0);

        let Some(small) = self.frames.as_ref().and_then(|f| f.last()).cloned() else {
            return Ok(Vec::new());
        };
        let roi = self.roi_mask.get(&self.roi, &small, size).to_vec();
        let Some(frames) = self.frames.take() else {
            return Ok(Vec::new());
        };
        let share = self.churning_share(&frames, &small, &roi);
        self.frames = Some(frames);
        let share = share.unwrap_or(self.last_share);
        self.last_share = share;
        let now = if share >= ON_SHARE {
            true
        } else if share <= OFF_SHARE {
            false
        } else {
            self.reading.0
        };
        if now != self.reading.0 {
            self.reading = (now, frame.time);
        }
        if self.reading.0 != self.state && frame.time - self.reading.1 >= self.cfg.hold {
            self.state = self.reading.0;
            return Ok(self.message(frame.time));
        }
        let repeat_due = self.cfg.repeat > 0.0 && self.sent_at.is_none_or(|t| frame.time - t >= self.cfg.repeat);
        if repeat_due {
            return Ok(self.message(frame.time));
        }
        Ok(Vec::new())
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}

/// Median of `v` (reordered); 0 when empty.
fn median(v: &mut [f32]) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, f32::total_cmp);
    *m
}
