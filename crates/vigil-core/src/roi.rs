//! VIAS `target_roi` (spec 5.5): parsing with exact validation errors, geometry, line crossing
//! with hysteresis, and scaling between resolutions.
//!
//! Conventions:
//! - A target's position is the **anchor**: bottom-centre of its box (`vigil_vision::detect::BBox::anchor`).
//! - Side names: `side1` is the left side of a (mostly) vertical line, or the upper side of a
//!   (mostly) horizontal line; `side2` the other one. "Mostly vertical" means `|dy| >= |dx|`.
//!   This does not depend on the order of the two points.
//! - A point on a polygon's border is inside.
//! - Empty `target_roi` (or `{}`) means the whole frame.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// Invalid `target_roi`; `field` is the offending path, e.g. `target_roi.lines[0].data`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {reason}")]
pub struct RoiError {
    pub field: String,
    pub reason: String,
}

impl RoiError {
    /// The offending field path (for VIAS `params`); always present, an `Option` for callers
    /// that also handle other error types the same way.
    pub fn field(&self) -> Option<&str> {
        Some(&self.field)
    }
}

type Result<T> = std::result::Result<T, RoiError>;

/// Most points one polygon may have. Hand-drawn areas have a handful; the self-intersection
/// check is quadratic, so an unbounded polygon in a 1 MB request body (~50,000 points, ~10^9 segment
/// tests) would hold a runtime thread for seconds per request.
pub const MAX_POLYGON_POINTS: usize = 256;

/// A point in stream pixels.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

impl Point {
    pub fn new(x: f32, y: f32) -> Self {
        Self { x, y }
    }
}

impl From<(f32, f32)> for Point {
    fn from(p: (f32, f32)) -> Self {
        Point::new(p.0, p.1)
    }
}

/// Side of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Side {
    Side1,
    Side2,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Side1 => Side::Side2,
            Side::Side2 => Side::Side1,
        }
    }
}

/// A counting / intrusion line.
#[derive(Debug, Clone, PartialEq)]
pub struct RoiLine {
    pub start: Point,
    pub end: Point,
    pub name: Option<String>,
    pub side1_name: Option<String>,
    pub side2_name: Option<String>,
    /// Vehicle detection: 0 = approach/enter line, 1 = leave line.
    pub line_type: Option<u8>,
    /// All properties as given (unknown keys kept).
    pub properties: Map<String, Value>,
}

/// A named area.
#[derive(Debug, Clone, PartialEq)]
pub struct RoiPolygon {
    pub points: Vec<Point>,
    pub name: Option<String>,
    pub properties: Map<String, Value>,
}

/// A parsed `target_roi`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Roi {
    pub lines: Vec<RoiLine>,
    pub polygons: Vec<RoiPolygon>,
}

fn roi_err(field: impl Into<String>, reason: impl Into<String>) -> RoiError {
    RoiError {
        field: field.into(),
        reason: reason.into(),
    }
}

fn parse_point(v: &Value, field: &str) -> Result<Point> {
    let arr = v
        .as_array()
        .filter(|a| a.len() == 2)
        .ok_or_else(|| roi_err(field, "must be a point [x, y]"))?;
    let mut xy = [0f32; 2];
    for (k, c) in arr.iter().enumerate() {
        let n = c
            .as_f64()
            .ok_or_else(|| roi_err(field, "coordinates must be numbers"))?;
        if !n.is_finite() || n < 0.0 {
            return Err(roi_err(field, "coordinates must be non-negative"));
        }
        if n > 100_000.0 {
            return Err(roi_err(field, "coordinate is larger than 100000"));
        }
        xy[k] = n as f32;
    }
    Ok(Point::new(xy[0], xy[1]))
}

fn parse_points(obj: &Map<String, Value>, field: &str) -> Result<Vec<Point>> {
    let f = format!("{field}.data");
    let data = obj.get("data").ok_or_else(|| roi_err(&f, "is required"))?;
    let arr = data
        .as_array()
        .ok_or_else(|| roi_err(&f, "must be an array of points"))?;
    arr.iter()
        .enumerate()
        .map(|(j, p)| parse_point(p, &format!("{f}[{j}]")))
        .collect()
}

fn opt_string(obj: &Map<String, Value>, key: &str, field: &str) -> Result<Option<String>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(roi_err(format!("{field}.{key}"), "must be a string")),
    }
}

fn properties(obj: &Map<String, Value>, field: &str) -> Result<Map<String, Value>> {
    match obj.get("properties") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(roi_err(format!("{field}.properties"), "must be an object")),
    }
}

fn segments_intersect(a: Point, b: Point, c: Point, d: Point) -> bool {
    let o = |p: Point, q: Point, r: Point| (q.x - p.x) * (r.y - p.y) - (q.y - p.y) * (r.x - p.x);
    let on = |p: Point, q: Point, r: Point| {
        r.x >= p.x.min(q.x) && r.x <= p.x.max(q.x) && r.y >= p.y.min(q.y) && r.y <= p.y.max(q.y)
    };
    let (d1, d2, d3, d4) = (o(c, d, a), o(c, d, b), o(a, b, c), o(a, b, d));
    if ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0)) && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0)) {
        return true;
    }
    (d1 == 0.0 && on(c, d, a)) || (d2 == 0.0 && on(c, d, b)) || (d3 == 0.0 && on(a, b, c)) || (d4 == 0.0 && on(a, b, d))
}

impl Roi {
    /// Parses and validates a `target_roi` string. Errors carry the offending field path,
    /// e.g. `target_roi.lines[0].data`.
    pub fn parse(text: &str) -> Result<Roi> {
        if text.trim().is_empty() {
            return Ok(Roi::default());
        }
        let v: Value =
            serde_json::from_str(text).map_err(|e| roi_err("target_roi", format!("is not valid JSON: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| roi_err("target_roi", "must be a JSON object"))?;
        let mut roi = Roi::default();
        if let Some(lines) = obj.get("lines").filter(|v| !v.is_null()) {
            let arr = lines
                .as_array()
                .ok_or_else(|| roi_err("target_roi.lines", "must be an array"))?;
            for (i, l) in arr.iter().enumerate() {
                let field = format!("target_roi.lines[{i}]");
                let lo = l.as_object().ok_or_else(|| roi_err(&field, "must be an object"))?;
                let pts = parse_points(lo, &field)?;
                if pts.len() != 2 {
                    return Err(roi_err(
                        format!("{field}.data"),
                        format!("a line needs exactly 2 points, got {}", pts.len()),
                    ));
                }
                if pts[0] == pts[1] {
                    return Err(roi_err(format!("{field}.data"), "the two points are identical"));
                }
                let name = opt_string(lo, "name", &field)?;
                let props = properties(lo, &field)?;
                let pf = format!("{field}.properties");
                let side1_name = opt_string(&props, "side1_name", &pf)?;
                let side2_name = opt_string(&props, "side2_name", &pf)?;
                let line_type = match props.get("type") {
                    None | Some(Value::Null) => None,
                    Some(t) => match t.as_u64() {
                        Some(0) => Some(0),
                        Some(1) => Some(1),
                        _ => return Err(roi_err(format!("{pf}.type"), "must be 0 or 1")),
                    },
                };
                roi.lines.push(RoiLine {
                    start: pts[0],
                    end: pts[1],
                    name,
                    side1_name,
                    side2_name,
                    line_type,
                    properties: props,
                });
            }
        }
        if let Some(polys) = obj.get("polygons").filter(|v| !v.is_null()) {
            let arr = polys
                .as_array()
                .ok_or_else(|| roi_err("target_roi.polygons", "must be an array"))?;
            let mut names: HashMap<String, usize> = HashMap::new();
            for (i, p) in arr.iter().enumerate() {
                let field = format!("target_roi.polygons[{i}]");
                let po = p.as_object().ok_or_else(|| roi_err(&field, "must be an object"))?;
                let pts = parse_points(po, &field)?;
                if pts.len() > MAX_POLYGON_POINTS {
                    return Err(roi_err(
                        format!("{field}.data"),
                        format!("a polygon has at most {MAX_POLYGON_POINTS} points, got {}", pts.len()),
                    ));
                }
                if pts.len() < 3 {
                    return Err(roi_err(
                        format!("{field}.data"),
                        format!("a polygon needs at least 3 points, got {}", pts.len()),
                    ));
                }
                let poly = RoiPolygon {
                    points: pts,
                    name: opt_string(po, "name", &field)?,
                    properties: properties(po, &field)?,
                };
                if poly.self_intersects() {
                    return Err(roi_err(format!("{field}.data"), "the polygon's edges cross each other"));
                }
                if poly.area() <= 0.0 {
                    return Err(roi_err(format!("{field}.data"), "the polygon has zero area"));
                }
                if let Some(n) = &poly.name {
                    if let Some(k) = names.insert(n.clone(), i) {
                        return Err(roi_err(
                            format!("{field}.name"),
                            format!("duplicates target_roi.polygons[{k}].name `{n}`"),
                        ));
                    }
                }
                roi.polygons.push(poly);
            }
        }
        Ok(roi)
    }

    /// True when the ROI restricts nothing (no lines, no polygons).
    pub fn is_whole_frame(&self) -> bool {
        self.lines.is_empty() && self.polygons.is_empty()
    }

    /// Checks every coordinate lies within a `width x height` stream.
    pub fn validate_within(&self, width: u32, height: u32) -> Result<()> {
        let check = |p: &Point, f: String| {
            if p.x > width as f32 || p.y > height as f32 {
                Err(roi_err(
                    f,
                    format!("point ({}, {}) is outside the {width}x{height} frame", p.x, p.y),
                ))
            } else {
                Ok(())
            }
        };
        for (i, l) in self.lines.iter().enumerate() {
            check(&l.start, format!("target_roi.lines[{i}].data[0]"))?;
            check(&l.end, format!("target_roi.lines[{i}].data[1]"))?;
        }
        for (i, p) in self.polygons.iter().enumerate() {
            for (j, q) in p.points.iter().enumerate() {
                check(q, format!("target_roi.polygons[{i}].data[{j}]"))?;
            }
        }
        Ok(())
    }

    /// The ROI drawn on a `from` resolution mapped onto a `to` resolution.
    pub fn scaled(&self, from: (u32, u32), to: (u32, u32)) -> Roi {
        let sx = to.0 as f32 / from.0.max(1) as f32;
        let sy = to.1 as f32 / from.1.max(1) as f32;
        let s = |p: Point| Point::new(p.x * sx, p.y * sy);
        Roi {
            lines: self
                .lines
                .iter()
                .map(|l| RoiLine {
                    start: s(l.start),
                    end: s(l.end),
                    ..l.clone()
                })
                .collect(),
            polygons: self
                .polygons
                .iter()
                .map(|p| RoiPolygon {
                    points: p.points.iter().map(|&q| s(q)).collect(),
                    ..p.clone()
                })
                .collect(),
        }
    }

    /// True if the point is inside some polygon, or there are no polygons (whole frame).
    pub fn contains(&self, p: Point) -> bool {
        self.polygons.is_empty() || self.polygons.iter().any(|q| q.contains(p))
    }

    /// Index of the first polygon containing the point.
    pub fn polygon_at(&self, p: Point) -> Option<usize> {
        self.polygons.iter().position(|q| q.contains(p))
    }
}

impl RoiPolygon {
    /// Absolute area (shoelace).
    pub fn area(&self) -> f32 {
        let n = self.points.len();
        let mut a = 0.0f64;
        for i in 0..n {
            let (p, q) = (self.points[i], self.points[(i + 1) % n]);
            a += p.x as f64 * q.y as f64 - q.x as f64 * p.y as f64;
        }
        (a / 2.0).abs() as f32
    }

    /// True if two non-adjacent edges cross.
    pub fn self_intersects(&self) -> bool {
        let n = self.points.len();
        if n < 4 {
            return false;
        }
        for i in 0..n {
            for j in i + 1..n {
                if j == i + 1 || (i == 0 && j == n - 1) {
                    continue;
                }
                let (a, b) = (self.points[i], self.points[(i + 1) % n]);
                let (c, d) = (self.points[j], self.points[(j + 1) % n]);
                if segments_intersect(a, b, c, d) {
                    return true;
                }
            }
        }
        false
    }

    /// Point in polygon (even-odd rule); points on an edge are inside.
    pub fn contains(&self, p: Point) -> bool {
        let n = self.points.len();
        let mut inside = false;
        for i in 0..n {
            let (a, b) = (self.points[i], self.points[(i + 1) % n]);
            // On the edge?
            let cross = (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x);
            if cross.abs() <= 1e-4 * ((b.x - a.x).abs() + (b.y - a.y).abs()).max(1.0)
                && p.x >= a.x.min(b.x)
                && p.x <= a.x.max(b.x)
                && p.y >= a.y.min(b.y)
                && p.y <= a.y.max(b.y)
            {
                return true;
            }
            if (a.y > p.y) != (b.y > p.y) {
                let xi = a.x + (p.y - a.y) * (b.x - a.x) / (b.y - a.y);
                if p.x < xi {
                    inside = !inside;
                }
            }
        }
        inside
    }
}

impl RoiLine {
    /// Direction normalised so that positive signed distance is side1.
    fn oriented(&self) -> (Point, Point) {
        let (dx, dy) = (self.end.x - self.start.x, self.end.y - self.start.y);
        let flip = if dy.abs() >= dx.abs() { dy < 0.0 } else { dx > 0.0 };
        if flip {
            (self.end, self.start)
        } else {
            (self.start, self.end)
        }
    }

    pub fn length(&self) -> f32 {
        (self.end.x - self.start.x).hypot(self.end.y - self.start.y)
    }

    /// Signed distance in pixels from the (infinite) line: positive on side1, negative on side2.
    pub fn signed_distance(&self, p: Point) -> f32 {
        let (a, b) = self.oriented();
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        (dx * (p.y - a.y) - dy * (p.x - a.x)) / dx.hypot(dy)
    }

    /// The side a point is on; `None` exactly on the line.
    pub fn side_of(&self, p: Point) -> Option<Side> {
        let d = self.signed_distance(p);
        if d > 0.0 {
            Some(Side::Side1)
        } else if d < 0.0 {
            Some(Side::Side2)
        } else {
            None
        }
    }

    /// True if the path `p -> q` crosses or touches the line segment.
    pub fn crossed_by(&self, p: Point, q: Point) -> bool {
        segments_intersect(p, q, self.start, self.end)
    }

    /// Name of a side: the configured one, or `Side1` / `Side2`.
    pub fn side_name(&self, s: Side) -> &str {
        match s {
            Side::Side1 => self.side1_name.as_deref().unwrap_or("Side1"),
            Side::Side2 => self.side2_name.as_deref().unwrap_or("Side2"),
        }
    }
}

/// Hysteresis settings for [`LineCrossingCounter`].
#[derive(Debug, Clone, PartialEq)]
pub struct CrossingConfig {
    /// Band of +- this many pixels around the line in which a point keeps its previous side.
    /// Default 6.
    pub margin_px: f32,
    /// Frames the target must be seen beyond the band on the new side before the crossing counts.
    /// Default 2.
    pub min_frames: u32,
    /// Count each track at most once per direction (alarms: one per person and direction).
    /// Default true; counting uses [`CrossingConfig::every_crossing`].
    pub once_per_direction: bool,
}

impl CrossingConfig {
    /// For counts: every crossing counts, also a track's second one in the same direction
    /// (someone who walks back and forth is counted each time, as a person counting by hand
    /// does; the band and `min_frames` keep jitter on the line from counting). On the
    /// hand-counted lines of the pedestrian clip, once per direction missed 14 of 65 crossings,
    /// all of them people crossing a second time while still tracked.
    pub fn every_crossing() -> Self {
        Self {
            once_per_direction: false,
            ..Self::default()
        }
    }
}

impl Default for CrossingConfig {
    fn default() -> Self {
        Self {
            margin_px: 6.0,
            min_frames: 2,
            once_per_direction: true,
        }
    }
}

/// One counted crossing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Crossing {
    pub track_id: u64,
    pub from: Side,
    pub to: Side,
}

#[derive(Debug, Clone)]
struct TrackSide {
    side: Side,
    last_pos: Point,
    pending: Option<(Side, u32)>,
    counted: [bool; 2],
}

/// Counts tracks crossing one line, robust to jitter: a target must leave the band around the
/// line and stay on the other side for `min_frames` frames, and its path from the last position
/// on the old side must cross the segment itself (walking around the end does not count).
#[derive(Debug, Clone)]
pub struct LineCrossingCounter {
    pub line: RoiLine,
    pub config: CrossingConfig,
    states: HashMap<u64, TrackSide>,
    /// Crossings that ended on side1 / side2.
    pub to_side1: u64,
    pub to_side2: u64,
}

impl LineCrossingCounter {
    pub fn new(line: RoiLine, config: CrossingConfig) -> Self {
        Self {
            line,
            config,
            states: HashMap::new(),
            to_side1: 0,
            to_side2: 0,
        }
    }

    /// Feeds the anchor of `track_id` in the current frame; returns a crossing when one is counted.
    pub fn update(&mut self, track_id: u64, anchor: Point) -> Option<Crossing> {
        let d = self.line.signed_distance(anchor);
        let zone = if d > self.config.margin_px {
            Some(Side::Side1)
        } else if d < -self.config.margin_px {
            Some(Side::Side2)
        } else {
            None
        };
        let zone = zone?;
        let Some(st) = self.states.get_mut(&track_id) else {
            self.states.insert(
                track_id,
                TrackSide {
                    side: zone,
                    last_pos: anchor,
                    pending: None,
                    counted: [false; 2],
                },
            );
            return None;
        };
        if zone == st.side {
            st.pending = None;
            st.last_pos = anchor;
            return None;
        }
        let n = match st.pending {
            Some((s, k)) if s == zone => k + 1,
            _ => 1,
        };
        if n < self.config.min_frames.max(1) {
            st.pending = Some((zone, n));
            return None;
        }
        let crossed = self.line.crossed_by(st.last_pos, anchor);
        let from = st.side;
        st.side = zone;
        st.last_pos = anchor;
        st.pending = None;
        if !crossed {
            return None;
        }
        let di = match zone {
            Side::Side1 => 0,
            Side::Side2 => 1,
        };
        if self.config.once_per_direction && st.counted[di] {
            return None;
        }
        st.counted[di] = true;
        match zone {
            Side::Side1 => self.to_side1 += 1,
            Side::Side2 => self.to_side2 += 1,
        }
        Some(Crossing {
            track_id,
            from,
            to: zone,
        })
    }

    /// Forgets a track (call with the tracker's removed ids).
    pub fn remove(&mut self, track_id: u64) {
        self.states.remove(&track_id);
    }

    /// The side a track is currently considered to be on.
    pub fn side_of_track(&self, track_id: u64) -> Option<Side> {
        self.states.get(&track_id).map(|s| s.side)
    }
}
