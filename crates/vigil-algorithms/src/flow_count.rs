//! People flow counting (`c-flowcount-edge/-cloud`): line crossings, region head counts and a
//! heat map of tracked people, reported periodically on frame time.
//!
//! Messages (see docs/algorithms.md, "People flow"):
//! - 131073 line counts, every `line_count_interval` s, one item per ROI line with the number of
//!   people who crossed into side 1 / side 2 during that interval (spec sample shape):
//!   `{"interval": n, "event_set": [{"line": [[x1,y1],[x2,y2]], "line_id": i, "side1_count",
//!   "side2_count", "side1_name"?, "side2_name"?}]}`. Side names are present when configured.
//! - 131074 region counts (a Vigil extension: the spec lists the event type without a payload),
//!   every `region_count_interval` s, the number of tracked people whose anchor is in each ROI
//!   polygon on that frame (no polygon: the whole frame), named like the crowd-density payload
//!   (spec §6.4): `{"interval": n, "event_set": [{"polygon": [[x,y],…], "polygon_name"?,
//!   "crowd_count"}]}`.
//! - 131075 heat map (Vigil's payload), every `heatmap_detection_interval` s:
//!   `{"interval": n, "frame_size": [w, h], "grid": {"cell": c, "cols": k, "rows": r},
//!   "samples": s, "counts": [[…cols…], …rows…]}` where the cell is square, `c = ceil(max(w,h) /
//!   32)` pixels, and `counts[row][col]` is how many track anchors fell in that cell over the
//!   `s` sampled frames (every `heatmap_point_interval`-th analysed frame).
//!
//! Periods start at the first frame's time. A period's message goes out with the first frame at
//! or past its end; when frames stop for longer than a period (a stall), the elapsed periods are
//! folded into one message and the next period starts at the interval boundary before that frame.
//! At the end of a stream the partial line-count and heat-map periods are reported (`finish`).
//! Messages carry a picture only when `output_image_sw` is 1.

use serde_json::{json, Map, Value};
use vigil_vision::detect::coco;
use vigil_vision::{BBox, CrossingConfig, Detection, LineCrossingCounter, Roi, Side};

use crate::analyzer::{Analyzer, AnalyzerError, DetectorModel, Event, FrameInput, Needs, Perception};
use crate::common::{anchor, clip, line_counters, point_json, sane, Area, Period, RateTracker};
use crate::event_type::{FLOW_HEATMAP, FLOW_LINE_COUNT, FLOW_REGION_COUNT};
use crate::registry::AnalyzerContext;
use crate::typed_config::{switch, typed};
use crate::validate::{ConfigError, ValidatedCommon};

/// Heat-map grid: the longer image side is divided into this many cells.
pub const HEATMAP_CELLS_LONG_SIDE: u32 = 32;

/// Effective settings of a flow-count analyzer: `config.common` keys, typed (defaults and
/// ranges from the catalogue).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct FlowConfig {
    #[serde(rename = "line_detection_sw", deserialize_with = "switch")]
    pub line: bool,
    /// Seconds.
    #[serde(rename = "line_count_interval")]
    pub line_interval: i64,
    #[serde(rename = "region_detection_sw", deserialize_with = "switch")]
    pub region: bool,
    #[serde(rename = "region_count_interval")]
    pub region_interval: i64,
    #[serde(rename = "heatmap_detection_sw", deserialize_with = "switch")]
    pub heatmap: bool,
    #[serde(rename = "heatmap_detection_interval")]
    pub heatmap_interval: i64,
    /// Analysed frames between heat-map samples.
    #[serde(rename = "heatmap_point_interval")]
    pub heatmap_point_interval: i64,
    #[serde(rename = "output_image_sw", deserialize_with = "switch")]
    pub output_image: bool,
    /// Vigil extension: skip the detector on frames without motion in the ROI.
    #[serde(rename = "motion_gating_sw", deserialize_with = "switch")]
    pub motion_gating: bool,
}

/// Builds the analyzer of a task (the registry line of `c-flowcount`).
pub fn build(common: &ValidatedCommon, roi: Roi, ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    Ok(Box::new(FlowCountAnalyzer::new(typed(common)?, roi, ctx)))
}

struct HeatMap {
    period: Period,
    frames: u64,
    samples: u64,
    size: (u32, u32),
    cell: u32,
    cols: u32,
    rows: u32,
    counts: Vec<u32>,
}

impl HeatMap {
    fn resize(&mut self, size: (u32, u32)) {
        if self.size == size {
            return;
        }
        self.size = size;
        self.cell = size.0.max(size.1).div_ceil(HEATMAP_CELLS_LONG_SIDE).max(1);
        self.cols = size.0.div_ceil(self.cell).max(1);
        self.rows = size.1.div_ceil(self.cell).max(1);
        self.counts = vec![0; (self.cols * self.rows) as usize];
        self.samples = 0;
    }
}

pub struct FlowCountAnalyzer {
    cfg: FlowConfig,
    roi: Roi,
    lines: Vec<LineCrossingCounter>,
    /// Crossings of the current line period: [to side1, to side2] per line.
    line_counts: Vec<[u64; 2]>,
    line_period: Period,
    areas: Vec<Area>,
    region_period: Period,
    heat: HeatMap,
    tracker: RateTracker,
    fps: f64,
    /// Time of the last analysed frame (`None` before the first).
    last_time: Option<f64>,
}

impl FlowCountAnalyzer {
    pub fn new(cfg: FlowConfig, roi: Roi, ctx: &AnalyzerContext) -> Self {
        let areas = Area::polygons_or_frame(&roi);
        let lines = line_counters(&roi, CrossingConfig::every_crossing());
        // The server's rate: on the hand-counted lines, 5 fps finds 64 of 65 crossings and 10 fps
        // 65 of 65, at twice the detector cost.
        let fps = ctx.analysis_fps;
        Self {
            fps,
            last_time: None,
            line_counts: vec![[0, 0]; lines.len()],
            line_period: Period::new(cfg.line_interval),
            region_period: Period::new(cfg.region_interval),
            heat: HeatMap {
                period: Period::new(cfg.heatmap_interval),
                frames: 0,
                samples: 0,
                size: (0, 0),
                cell: 1,
                cols: 0,
                rows: 0,
                counts: Vec::new(),
            },
            cfg,
            roi,
            lines,
            areas,
            tracker: RateTracker::new(),
        }
    }

    pub fn config(&self) -> &FlowConfig {
        &self.cfg
    }

    fn event(&self, event_type: u64, data: Value, boxes: Vec<BBox>) -> Event {
        Event {
            event_type,
            data,
            alarm_type: None,
            boxes,
            with_image: self.cfg.output_image,
        }
    }

    fn line_message(&mut self) -> Option<Event> {
        if self.lines.is_empty() {
            return None;
        }
        let mut set = Vec::new();
        for (i, (counter, counts)) in self.lines.iter().zip(self.line_counts.iter_mut()).enumerate() {
            let l = &counter.line;
            let mut m = Map::new();
            m.insert("line".into(), json!([point_json(l.start), point_json(l.end)]));
            m.insert("line_id".into(), json!(i));
            m.insert("side1_count".into(), json!(counts[0]));
            m.insert("side2_count".into(), json!(counts[1]));
            if let Some(n) = &l.side1_name {
                m.insert("side1_name".into(), json!(n));
            }
            if let Some(n) = &l.side2_name {
                m.insert("side2_name".into(), json!(n));
            }
            *counts = [0, 0];
            set.push(Value::Object(m));
        }
        let data = json!({ "interval": self.cfg.line_interval, "event_set": set });
        Some(self.event(FLOW_LINE_COUNT, data, Vec::new()))
    }

    fn heat_message(&mut self) -> Event {
        let h = &self.heat;
        let rows: Vec<Value> = h.counts.chunks(h.cols.max(1) as usize).map(|r| json!(r)).collect();
        let data = json!({
            "interval": self.cfg.heatmap_interval,
            "frame_size": [h.size.0, h.size.1],
            "grid": {"cell": h.cell, "cols": h.cols, "rows": h.rows},
            "samples": h.samples,
            "counts": rows,
        });
        self.heat.counts.iter_mut().for_each(|c| *c = 0);
        self.heat.samples = 0;
        self.event(FLOW_HEATMAP, data, Vec::new())
    }
}

impl Analyzer for FlowCountAnalyzer {
    fn needs(&self) -> Needs {
        let mut needs = Needs::detector(DetectorModel::Coco, vec![coco::PERSON], 0.1, self.fps);
        needs.motion_gated = self.cfg.motion_gating;
        needs
    }

    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        let detections = perception.detections(DetectorModel::Coco);
        let size = (frame.image.width(), frame.image.height());
        let time = frame.time;
        let dets: Vec<Detection> = detections
            .iter()
            .filter(|d| sane(d) && d.class_id == coco::PERSON)
            .copied()
            .collect();
        let (tracks, removed) = self.tracker.update(frame, &dets);
        for id in &removed {
            for l in &mut self.lines {
                l.remove(*id);
            }
        }
        let mut events = Vec::new();

        // Line counts: the period that ended before this frame is reported first.
        if self.cfg.line && self.line_period.roll(time) {
            events.extend(self.line_message());
        }
        if self.cfg.line {
            for t in &tracks {
                let a = anchor(&clip(&t.det_bbox, size));
                for (counter, counts) in self.lines.iter_mut().zip(self.line_counts.iter_mut()) {
                    if let Some(c) = counter.update(t.id, a) {
                        match c.to {
                            Side::Side1 => counts[0] += 1,
                            Side::Side2 => counts[1] += 1,
                        }
                    }
                }
            }
        }

        if self.cfg.region && self.region_period.roll(time) {
            let mut set = Vec::new();
            let mut boxes = Vec::new();
            for area in &self.areas {
                let inside: Vec<BBox> = tracks
                    .iter()
                    .map(|t| clip(&t.det_bbox, size))
                    .filter(|b| area.contains(anchor(b), size))
                    .collect();
                let mut m = Map::new();
                m.insert("polygon".into(), area.polygon_json(size));
                if let Some(n) = area.name() {
                    m.insert("polygon_name".into(), json!(n));
                }
                m.insert("crowd_count".into(), json!(inside.len()));
                set.push(Value::Object(m));
                boxes.extend(inside);
            }
            let data = json!({ "interval": self.cfg.region_interval, "event_set": set });
            events.push(self.event(FLOW_REGION_COUNT, data, boxes));
        }

        if self.cfg.heatmap {
            self.heat.resize(size);
            if self.heat.period.roll(time) {
                events.push(self.heat_message());
            }
            let every = self.cfg.heatmap_point_interval.max(1) as u64;
            if self.heat.frames.is_multiple_of(every) {
                self.heat.samples += 1;
                let h = &mut self.heat;
                for t in &tracks {
                    let a = anchor(&clip(&t.det_bbox, size));
                    let col = ((a.x.max(0.0) as u32) / h.cell).min(h.cols - 1);
                    let row = ((a.y.max(0.0) as u32) / h.cell).min(h.rows - 1);
                    if let Some(c) = h.counts.get_mut((row * h.cols + col) as usize) {
                        *c += 1;
                    }
                }
            }
            self.heat.frames += 1;
        }
        self.last_time = Some(time);
        Ok(events)
    }

    /// End of stream: the partial line-count and heat-map periods are reported (a file's last
    /// seconds would otherwise never be counted). Region counts are snapshots: nothing pending.
    fn finish(&mut self, _time: f64) -> Vec<Event> {
        let mut events = Vec::new();
        if self.last_time.is_none() {
            return events;
        }
        if self.cfg.line {
            events.extend(self.line_message());
        }
        if self.cfg.heatmap && self.heat.samples > 0 {
            events.push(self.heat_message());
        }
        events
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}
