//! Floating debris (`floating-edge/-cloud`, event 33685505): objects drifting on a water ROI.
//!
//! Behaviour (see docs/algorithms.md, "Floating debris"):
//! - Pixel analysis at 2 analysed frames per second on the frame at half resolution, plus the
//!   shared COCO detector: a blob whose centre is on a detected person, vehicle, boat or bag
//!   is none.
//! - Background: per pixel a running mean of the gray level and of its absolute deviation, so
//!   water that ripples (large usual deviation) needs a larger difference to count as
//!   foreground than calm water: foreground where `|g - mean| > max(18, 3.5 * deviation)`.
//!   The usual deviation is a plain average over the first frames, so it is known early.
//! - A frame where over 3 % of the picture changed (camera moving, lights) is skipped.
//! - Foreground blobs not cut by the frame border, whose centre lies in an ROI polygon (the
//!   whole frame without ROI), and whose surroundings are live water (the ring around the blob:
//!   median usual deviation ≥ 2.5 grey levels, 90th percentile ≤ 3x the median: ripples all
//!   over, not one walker on a still floor) are followed by nearest centre. A blob seen on at
//!   least 85 % of the analysed frames for `alert_time_threshold` seconds (Vigil's key), whose
//!   net drift over that time is slow
//!   (0.1 %–2 % of the frame width per second: carried by the current, not a boat or a
//!   swimmer; not a fixed post), raises one message `{suspect_tag: true, bounding_box}` (one
//!   object per message, as the spec's sample). `suspect_tag` is always true: no classifier
//!   confirms what the object is.

use serde_json::json;
use vigil_vision::pixel::{bgr_to_gray, connected_components, Plane};
use vigil_vision::{BBox, Point, Roi};

use crate::analyzer::{Analyzer, AnalyzerError, Event, FrameInput, Needs, Perception};
use crate::colour_regions::{obstacle_boxes, obstacle_needs};
use crate::common::{bbox_json, Area};
use crate::event_type::FLOATING_DEBRIS;
use crate::registry::AnalyzerContext;
use crate::typed_config::{secs, typed};
use crate::validate::{ConfigError, ValidatedCommon};

const FPS: f64 = 2.0;
const MIN_DIFF: f32 = 18.0;
const DEV_FACTOR: f32 = 3.5;
const LEARN: f32 = 0.05;
/// Net drift speed bounds, fraction of the frame width per second.
const DRIFT_MIN: f64 = 0.001;
const DRIFT_MAX: f64 = 0.02;

/// Effective settings: `config.common` keys, typed (defaults and ranges: the catalogue).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct FloatingConfig {
    /// Seconds an object must be followed before it is reported (Vigil's key).
    #[serde(rename = "alert_time_threshold", deserialize_with = "secs")]
    pub threshold: f64,
}

/// Builds the analyzer of a task (the registry line of `floating`).
pub fn build(common: &ValidatedCommon, roi: Roi, _ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    Ok(Box::new(FloatingAnalyzer::new(typed(common)?, roi)))
}

/// Least mean usual deviation (grey levels) of the ring around an object for its surroundings
/// to count as live water (ripples, glints, waves); a floor, a road or a wall is still.
const MIN_RING_DEV: f32 = 2.5;
/// Live water moves all over: the ring's 90th-percentile deviation is at most this multiple of
/// its median. Around a walker on a still floor a few pixels move a lot and most not at all.
const RING_SPREAD: f32 = 3.0;

/// Largest share of changed pixels of a usable frame (the rippling lake composite measured at
/// most 0.9 %; a panning or shaking camera 4.6–9 %).
const MAX_MOVED: f64 = 0.03;

/// Mean and mean absolute deviation per pixel.
struct RippleBackground {
    mean: Vec<f32>,
    dev: Vec<f32>,
    size: (u32, u32),
    /// Frames learnt since the size was set: the deviation is a plain average over the first
    /// frames, so that the usual ripple of the scene is known after a few frames.
    frames: u32,
}

impl RippleBackground {
    /// Foreground mask of `g`, then learns it (foreground pixels learn 20x slower).
    fn apply(&mut self, g: &Plane) -> Plane {
        let mut fg = Plane::new(g.width, g.height);
        if self.size != (g.width, g.height) {
            self.mean = g.data.iter().map(|&v| v as f32).collect();
            self.dev = vec![0.0; g.data.len()];
            self.size = (g.width, g.height);
            self.frames = 0;
            return fg;
        }
        self.frames += 1;
        let warm = LEARN.max(1.0 / self.frames as f32);
        for (((m, d), &v), o) in self
            .mean
            .iter_mut()
            .zip(self.dev.iter_mut())
            .zip(&g.data)
            .zip(fg.data.iter_mut())
        {
            let diff = v as f32 - *m;
            let is_fg = diff.abs() > MIN_DIFF.max(DEV_FACTOR * *d);
            let a = if is_fg { LEARN * 0.05 } else { LEARN };
            if is_fg {
                *o = 255;
            }
            *m += a * diff;
            *d += if is_fg { a } else { warm } * (diff.abs() - *d);
        }
        fg
    }

    /// Median and 90th percentile of the usual deviation over the ring of `b` (half-res pixels)
    /// grown by its own size on each side, the box itself left out.
    fn ring_dev(&self, b: &BBox) -> (f32, f32) {
        let (w, h) = (self.size.0 as f32, self.size.1 as f32);
        let (bw, bh) = (b.width().max(2.0), b.height().max(2.0));
        let (x0, y0) = ((b.x1 - bw).max(0.0) as u32, (b.y1 - bh).max(0.0) as u32);
        let (x1, y1) = ((b.x2 + bw).min(w) as u32, (b.y2 + bh).min(h) as u32);
        let mut ring = Vec::new();
        for y in y0..y1 {
            for x in x0..x1 {
                let (fx, fy) = (x as f32, y as f32);
                if fx >= b.x1 && fx < b.x2 && fy >= b.y1 && fy < b.y2 {
                    continue;
                }
                if let Some(&d) = self.dev.get((y * self.size.0 + x) as usize) {
                    ring.push(d);
                }
            }
        }
        if ring.is_empty() {
            return (0.0, 0.0);
        }
        ring.sort_by(f32::total_cmp);
        (ring[ring.len() / 2], ring[ring.len() * 9 / 10])
    }
}

/// Gray at half resolution (2x2 means).
fn half_gray(img: &vigil_vision::ImageBgr) -> Plane {
    let (w, h) = (img.width() / 2, img.height() / 2);
    let mut p = Plane::new(w, h);
    for y in 0..h {
        let (r0, r1) = (img.row(2 * y), img.row(2 * y + 1));
        for x in 0..w as usize {
            let mut s = 0u32;
            for row in [r0, r1] {
                for k in [2 * x, 2 * x + 1] {
                    s += bgr_to_gray(row[k * 3], row[k * 3 + 1], row[k * 3 + 2]) as u32;
                }
            }
            p.data[y as usize * w as usize + x] = (s / 4) as u8;
        }
    }
    p
}

struct Drifter {
    first: (f64, Point),
    last: (f64, Point),
    bbox: BBox,
    hits: u32,
    reported: bool,
}

pub struct FloatingAnalyzer {
    cfg: FloatingConfig,
    roi: Roi,
    areas: Vec<Area>,
    bg: RippleBackground,
    objects: Vec<Drifter>,
}

impl FloatingAnalyzer {
    pub fn new(cfg: FloatingConfig, roi: Roi) -> Self {
        Self {
            cfg,
            areas: Area::polygons_or_frame(&roi),
            roi,
            bg: RippleBackground {
                mean: Vec::new(),
                dev: Vec::new(),
                size: (0, 0),
                frames: 0,
            },
            objects: Vec::new(),
        }
    }

    pub fn config(&self) -> &FloatingConfig {
        &self.cfg
    }
}

impl Analyzer for FloatingAnalyzer {
    fn needs(&self) -> Needs {
        obstacle_needs(FPS)
    }

    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        let size = (frame.image.width(), frame.image.height());
        let g = half_gray(frame.image);
        let fg = self.bg.apply(&g);
        let half_area = (g.width as usize * g.height as usize).max(1);
        let obstacles = obstacle_boxes(perception);
        // A frame where much of the picture changed at once (exposure, lights, a camera
        // shake) says nothing about small objects: it is skipped.
        let moved = fg.data.iter().filter(|&&v| v > 0).count() as f64 / half_area as f64;
        if moved > MAX_MOVED {
            return Ok(Vec::new());
        }
        // Debris is small: at least 12 half-res pixels, at most 5 % of the frame; it floats on
        // live water (rippling surroundings), and it is no detected person, vehicle or boat.
        let bg = &self.bg;
        let blobs: Vec<(Point, BBox)> = connected_components(&fg, true, 12)
            .into_iter()
            .filter(|c| c.area * 20 <= half_area)
            // Cut by the frame border: only part of something bigger is seen (a car's bonnet).
            .filter(|c| c.bbox.x1 > 0.0 && c.bbox.y1 > 0.0 && c.bbox.x2 < g.width as f32 && c.bbox.y2 < g.height as f32)
            .filter(|c| {
                let (med, p90) = bg.ring_dev(&c.bbox);
                med >= MIN_RING_DEV && p90 <= RING_SPREAD * med
            })
            .filter(|c| {
                let p = Point::new(c.centroid.0 * 2.0, c.centroid.1 * 2.0);
                !obstacles
                    .iter()
                    .any(|o| p.x >= o.x1 && p.x <= o.x2 && p.y >= o.y1 && p.y <= o.y2)
            })
            .map(|c| {
                let b = BBox::new(c.bbox.x1 * 2.0, c.bbox.y1 * 2.0, c.bbox.x2 * 2.0, c.bbox.y2 * 2.0);
                (Point::new(c.centroid.0 * 2.0, c.centroid.1 * 2.0), b)
            })
            .filter(|(p, _)| self.areas.iter().any(|a| a.contains(*p, size)))
            .collect();
        let width = size.0.max(1) as f64;
        let reach = (width * DRIFT_MAX / FPS.min(frame.rate.max(0.1))) as f32 + 8.0;
        let mut used = vec![false; blobs.len()];
        for o in &mut self.objects {
            let near = blobs
                .iter()
                .enumerate()
                .filter(|(i, _)| !used[*i])
                .map(|(i, (p, _))| (i, ((p.x - o.last.1.x).powi(2) + (p.y - o.last.1.y).powi(2)).sqrt()))
                .filter(|(_, d)| *d <= reach)
                .min_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((i, _)) = near {
                used[i] = true;
                o.last = (frame.time, blobs[i].0);
                o.bbox = blobs[i].1;
                o.hits += 1;
            }
        }
        // Gone for 2 s: dropped.
        self.objects.retain(|o| frame.time - o.last.0 <= 2.0);
        for (i, (p, b)) in blobs.into_iter().enumerate() {
            if !used[i] {
                self.objects.push(Drifter {
                    first: (frame.time, p),
                    last: (frame.time, p),
                    bbox: b,
                    hits: 1,
                    reported: false,
                });
            }
        }
        let mut out = Vec::new();
        let rate = frame.rate.clamp(0.1, FPS);
        for o in &mut self.objects {
            let age = o.last.0 - o.first.0;
            if o.reported || o.last.0 != frame.time || age < self.cfg.threshold.max(1.0) {
                continue;
            }
            let steady = o.hits as f64 >= 0.85 * (age * rate + 1.0);
            let drift = ((o.last.1.x - o.first.1.x).powi(2) + (o.last.1.y - o.first.1.y).powi(2)).sqrt() as f64;
            let speed = drift / age / width;
            if steady && (DRIFT_MIN..=DRIFT_MAX).contains(&speed) {
                o.reported = true;
                out.push(Event {
                    event_type: FLOATING_DEBRIS,
                    data: json!({ "suspect_tag": true, "bounding_box": bbox_json(&o.bbox) }),
                    alarm_type: None,
                    boxes: vec![o.bbox],
                    with_image: true,
                });
            }
        }
        Ok(out)
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}
