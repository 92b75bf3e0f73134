//! Crowd counting at high altitude (`c-highpoint-crowdcount-edge/-cloud`, event 1769472):
//! people per ROI polygon (classic mode) or per grid cell (grid mode), seen from a high camera
//! where people are small, so the detector runs tiled by default.
//!
//! Behaviour (see docs/algorithms.md, "Crowd counting at high altitude"):
//! - One frame every `sampling_time_interval` s (Vigil key). People are COCO person detections
//!   (score ≥ [`MIN_SCORE`]) counted where they stand (box bottom-centre).
//! - Classic mode (`grid_x_number` or `grid_y_number` 0): one area per ROI polygon (the whole
//!   frame without one); `alarm_threshold` holds one number per polygon, in order; missing ones
//!   take [`DEFAULT_THRESHOLD`], extra ones are ignored (Huawei's documented rule).
//! - Grid mode (both > 0): the frame is cut into `grid_x_number` × `grid_y_number` cells (spec
//!   §5.7: each column ⌊W/N⌋ wide, the last one takes the remainder; rows alike); only the first
//!   `alarm_threshold` value is used, for every cell. ROI polygons, when given, limit where people
//!   are counted. A grid the frame cannot hold (a cell under 10 px: N > min(⌊W/10⌋, 500)) is a
//!   task error naming the frame size, raised on the first frame.
//! - Every analysed frame gives one message (the spec's `alarm_type` 0 means "nothing over the
//!   threshold"): `{"scene_type": 1, "alarm_type": 0|1, "total_crowd_count": n, "event_set":
//!   [{"crowd_count", "polygon", "polygon_name"?}]}`; `alarm_type` 1 when an area holds at least
//!   its threshold. Only alarm messages (1) carry the picture.
//! - Grid-mode payload (not captured in the spec; a Vigil decision): `event_set` lists the
//!   non-empty cells, each as its rectangle `polygon` with `polygon_name` `"grid_<row>_<col>"`
//!   (0-based, row 0 at the top).
//! - `detector_tiles` (Vigil key): the detector also runs on an N×N grid of overlapping tiles
//!   (`vigil_vision::detect::tiling`), which finds the small people of a high camera.

use serde_json::{json, Map, Value};
use vigil_vision::detect::coco;
use vigil_vision::{BBox, Point, Roi};

use crate::analyzer::{Analyzer, AnalyzerError, DetectorModel, Event, FrameInput, Needs, Perception};
use crate::common::{anchor, people, Area};
use crate::event_type::HIGHPOINT_CROWD;
use crate::registry::AnalyzerContext;
use crate::typed_config::{int_list, typed};
use crate::validate::{ConfigError, ValidatedCommon};

/// Person detections below this score are not counted. Lower than the other counters' 0.35:
/// small, partly hidden people from a high camera score low even when magnified by tiling, and
/// on the gym clip the 0.25–0.35 detections were people (checked by eye, tools/labels).
pub const MIN_SCORE: f32 = 0.25;
/// Threshold of a polygon that `alarm_threshold` lists no value for (Huawei's default).
pub const DEFAULT_THRESHOLD: i64 = 50;
/// Most grid cells per side (spec §5.7).
pub const MAX_GRID: i64 = 500;
/// Narrowest cell side (px) the frame must allow (spec §5.7: N ≤ ⌊W/10⌋).
pub const MIN_CELL_PX: u32 = 10;

/// `config.common` of high-altitude crowd counting, typed.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct HighpointConfig {
    /// People per area that raise an alarm: one per ROI polygon (classic), the first (grid).
    #[serde(default, deserialize_with = "int_list")]
    pub alarm_threshold: Option<Vec<i64>>,
    pub grid_x_number: i64,
    pub grid_y_number: i64,
    /// Vigil key: seconds between analysed frames (one message each).
    pub sampling_time_interval: i64,
    /// Vigil key: detector tiles per side (0/1 = whole frame only).
    pub detector_tiles: u8,
}

/// Builds the analyzer of a task (the registry line of `c-highpoint-crowdcount`).
pub fn build(common: &ValidatedCommon, roi: Roi, _ctx: &AnalyzerContext) -> Result<Box<dyn Analyzer>, ConfigError> {
    Ok(Box::new(HighpointCrowdAnalyzer::new(typed(common)?, roi)))
}

/// One counted area: where, and its threshold.
struct Counted {
    area: Area,
    name: Option<String>,
    threshold: i64,
}

pub struct HighpointCrowdAnalyzer {
    cfg: HighpointConfig,
    roi: Roi,
    /// The areas, built on the first frame (grid cells depend on the frame size).
    areas: Option<(u32, u32, Vec<Counted>)>,
}

impl HighpointCrowdAnalyzer {
    pub fn new(cfg: HighpointConfig, roi: Roi) -> Self {
        Self { cfg, roi, areas: None }
    }

    fn grid_mode(&self) -> bool {
        self.cfg.grid_x_number > 0 && self.cfg.grid_y_number > 0
    }

    fn threshold(&self, i: usize) -> i64 {
        self.cfg
            .alarm_threshold
            .as_ref()
            .and_then(|t| t.get(i).copied())
            .unwrap_or(DEFAULT_THRESHOLD)
    }

    /// The areas of a frame of `size`: ROI polygons, or the grid cells.
    fn build_areas(&self, size: (u32, u32)) -> Result<Vec<Counted>, AnalyzerError> {
        if !self.grid_mode() {
            let areas = if self.roi.polygons.is_empty() {
                vec![Area::WholeFrame]
            } else {
                self.roi.polygons.iter().cloned().map(Area::Polygon).collect()
            };
            return Ok(areas
                .into_iter()
                .enumerate()
                .map(|(i, area)| Counted {
                    name: area.name().map(str::to_string),
                    area,
                    threshold: self.threshold(i),
                })
                .collect());
        }
        let xs = grid_edges(size.0, self.cfg.grid_x_number, "grid_x_number", "wide")?;
        let ys = grid_edges(size.1, self.cfg.grid_y_number, "grid_y_number", "high")?;
        let mut out = Vec::with_capacity((xs.len() - 1) * (ys.len() - 1));
        for (r, y) in ys.windows(2).enumerate() {
            for (c, x) in xs.windows(2).enumerate() {
                let (x0, x1, y0, y1) = (x[0] as f32, x[1] as f32, y[0] as f32, y[1] as f32);
                let poly = vigil_vision::roi::RoiPolygon {
                    points: vec![
                        Point::new(x0, y0),
                        Point::new(x1, y0),
                        Point::new(x1, y1),
                        Point::new(x0, y1),
                    ],
                    name: Some(format!("grid_{r}_{c}")),
                    properties: Map::new(),
                };
                out.push(Counted {
                    name: poly.name.clone(),
                    area: Area::Polygon(poly),
                    threshold: self.threshold(0),
                });
            }
        }
        Ok(out)
    }

    /// The person boxes counted in each area of a frame of `size` (grid mode: only inside the
    /// ROI polygons when there are any; a person on a shared cell edge counts in one cell).
    fn count(&self, areas: &[Counted], perception: &Perception, size: (u32, u32)) -> Vec<Vec<BBox>> {
        let all = people(perception, size, MIN_SCORE);
        let mut out = vec![Vec::new(); areas.len()];
        for b in all {
            let p = anchor(&b);
            if self.grid_mode() {
                if !self.roi.contains(p) {
                    continue;
                }
                if let Some(i) = self.cell_of(p, size) {
                    out[i].push(b);
                }
            } else {
                for (i, a) in areas.iter().enumerate() {
                    if a.area.contains(p, size) {
                        out[i].push(b);
                    }
                }
            }
        }
        out
    }

    /// Index of the grid cell holding `p` (row-major), by the spec's cell arithmetic.
    fn cell_of(&self, p: Point, size: (u32, u32)) -> Option<usize> {
        let (nx, ny) = (
            self.cfg.grid_x_number.max(1) as u32,
            self.cfg.grid_y_number.max(1) as u32,
        );
        let axis = |v: f32, len: u32, n: u32| {
            let step = (len / n).max(1);
            let i = (v.max(0.0) as u32 / step).min(n - 1);
            (v >= 0.0 && v <= len as f32).then_some(i)
        };
        let c = axis(p.x, size.0, nx)?;
        let r = axis(p.y, size.1, ny)?;
        Some((r * nx + c) as usize)
    }
}

/// Cell edges along one axis of `len` px cut into `n` (spec §5.7): `n` ≤ min(⌊len/10⌋, 500),
/// each cell ⌊len/n⌋ px, the last one up to `len`.
fn grid_edges(len: u32, n: i64, key: &str, dim: &str) -> Result<Vec<u32>, AnalyzerError> {
    let most = i64::from(len / MIN_CELL_PX).min(MAX_GRID);
    if n < 1 || n > most {
        return Err(AnalyzerError(format!(
            "{key} {n} does not fit the {len}-px {dim} frame: at most {most} (every grid cell must be at least {MIN_CELL_PX} px)"
        )));
    }
    let n = n as u32;
    let step = len / n;
    Ok((0..=n).map(|i| if i == n { len } else { i * step }).collect())
}

impl Analyzer for HighpointCrowdAnalyzer {
    fn needs(&self) -> Needs {
        let fps = 1.0 / self.cfg.sampling_time_interval.max(1) as f64;
        Needs::tiled_detector(
            DetectorModel::Coco,
            vec![coco::PERSON],
            MIN_SCORE,
            fps,
            self.cfg.detector_tiles,
        )
    }

    fn process(&mut self, frame: &FrameInput, perception: &Perception) -> Result<Vec<Event>, AnalyzerError> {
        let size = (frame.image.width(), frame.image.height());
        if !matches!(&self.areas, Some((w, h, _)) if (*w, *h) == size) {
            self.areas = Some((size.0, size.1, self.build_areas(size)?));
        }
        let Some((_, _, areas)) = &self.areas else {
            return Ok(Vec::new());
        };
        let counts = self.count(areas, perception, size);
        let alarm = areas.iter().zip(&counts).any(|(a, c)| c.len() as i64 >= a.threshold);
        let total: usize = counts.iter().map(Vec::len).sum();
        let mut set = Vec::new();
        let mut boxes = Vec::new();
        for (a, people) in areas.iter().zip(counts) {
            if self.grid_mode() && people.is_empty() {
                continue;
            }
            let mut m = Map::new();
            m.insert("crowd_count".into(), json!(people.len()));
            m.insert("polygon".into(), a.area.polygon_json(size));
            if let Some(n) = &a.name {
                m.insert("polygon_name".into(), json!(n));
            }
            set.push(Value::Object(m));
            boxes.extend(people);
        }
        Ok(vec![Event {
            event_type: HIGHPOINT_CROWD,
            data: json!({
                "scene_type": 1,
                "alarm_type": i64::from(alarm),
                "total_crowd_count": total,
                "event_set": set,
            }),
            alarm_type: None,
            boxes,
            with_image: alarm,
        }])
    }

    fn roi(&self) -> Option<&Roi> {
        (!self.roi.is_whole_frame()).then_some(&self.roi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_vision::{Detection, ImageBgr};

    fn cfg(thresholds: &[i64], gx: i64, gy: i64) -> HighpointConfig {
        HighpointConfig {
            alarm_threshold: Some(thresholds.to_vec()),
            grid_x_number: gx,
            grid_y_number: gy,
            sampling_time_interval: 1,
            detector_tiles: 0,
        }
    }

    fn person(x: f32, y: f32) -> Detection {
        Detection {
            bbox: BBox::new(x - 5.0, y - 30.0, x + 5.0, y),
            score: 0.8,
            class_id: coco::PERSON,
        }
    }

    fn run(a: &mut HighpointCrowdAnalyzer, w: u32, h: u32, dets: Vec<Detection>) -> Result<Vec<Event>, AnalyzerError> {
        let img = ImageBgr::filled(w, h, [0, 0, 0]).unwrap();
        let frame = FrameInput {
            image: &img,
            time: 0.0,
            epoch: 0,
            rate: 1.0,
        };
        a.process(&frame, &Perception::with_detections(DetectorModel::Coco, dets))
    }

    #[test]
    fn grid_cells_follow_the_spec_arithmetic() {
        // 107 px in 3 columns: 35, 35 and 37 px.
        assert_eq!(
            grid_edges(107, 3, "grid_x_number", "wide").unwrap(),
            vec![0, 35, 70, 107]
        );
        assert_eq!(grid_edges(480, 48, "grid_x_number", "wide").unwrap().len(), 49);
        let err = grid_edges(480, 49, "grid_x_number", "wide").unwrap_err();
        assert!(err.0.contains("at most 48") && err.0.contains("480-px"), "{err}");
        assert!(grid_edges(6000, 600, "k", "wide")
            .unwrap_err()
            .0
            .contains("at most 500"));
    }

    #[test]
    fn grid_mode_counts_per_cell_with_the_first_threshold() {
        let mut a = HighpointCrowdAnalyzer::new(cfg(&[2, 100], 2, 2), Roi::default());
        // 107x100, 2x2: columns 0..53, 53..107; rows 0..50, 50..100.
        let dets = vec![
            person(10.0, 40.0),
            person(52.0, 45.0),
            person(60.0, 90.0),
            person(106.0, 99.0),
        ];
        let ev = run(&mut a, 107, 100, dets).unwrap();
        let d = &ev[0].data;
        assert_eq!(d["alarm_type"], 1, "{d}");
        assert_eq!(d["total_crowd_count"], 4);
        let set = d["event_set"].as_array().unwrap();
        assert_eq!(set.len(), 2, "empty cells are left out: {d}");
        assert_eq!(set[0]["polygon_name"], "grid_0_0");
        assert_eq!(set[0]["crowd_count"], 2);
        assert_eq!(set[0]["polygon"], json!([[0, 0], [53, 0], [53, 50], [0, 50]]));
        assert_eq!(set[1]["polygon_name"], "grid_1_1");
        assert_eq!(set[1]["polygon"], json!([[53, 50], [107, 50], [107, 100], [53, 100]]));
        assert!(ev[0].with_image);
    }

    #[test]
    fn classic_mode_pads_missing_thresholds_and_reports_below_threshold() {
        let roi = Roi::parse(
            r#"{"polygons":[{"data":[[0,0],[50,0],[50,100],[0,100]]},{"data":[[50,0],[100,0],[100,100],[50,100]]}]}"#,
        )
        .unwrap();
        let mut a = HighpointCrowdAnalyzer::new(cfg(&[3], 0, 0), roi);
        assert_eq!(a.threshold(1), DEFAULT_THRESHOLD);
        let ev = run(
            &mut a,
            100,
            100,
            vec![person(10.0, 50.0), person(20.0, 50.0), person(70.0, 50.0)],
        )
        .unwrap();
        let d = &ev[0].data;
        assert_eq!(d["alarm_type"], 0);
        assert_eq!(d["total_crowd_count"], 3);
        assert_eq!(d["event_set"][0]["crowd_count"], 2);
        assert_eq!(d["event_set"][1]["crowd_count"], 1);
        assert!(!ev[0].with_image, "no picture below threshold");
        let ev = run(
            &mut a,
            100,
            100,
            vec![person(10.0, 50.0), person(20.0, 50.0), person(30.0, 50.0)],
        )
        .unwrap();
        assert_eq!(ev[0].data["alarm_type"], 1);
    }

    #[test]
    fn a_grid_too_fine_for_the_frame_is_a_clear_error() {
        let mut a = HighpointCrowdAnalyzer::new(cfg(&[5], 60, 2), Roi::default());
        let err = run(&mut a, 480, 360, vec![]).unwrap_err();
        assert!(
            err.0.contains("grid_x_number 60") && err.0.contains("at most 48"),
            "{err}"
        );
    }
}
