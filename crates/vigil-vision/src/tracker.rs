//! ByteTrack multi-object tracker: constant-velocity Kalman filter on `(cx, cy, aspect, h)`,
//! two-stage association (high-score detections first, then low-score ones to keep tracks alive
//! through occlusion), confirmation before an id is given out, and a lost buffer so a target that
//! disappears for a few frames comes back with the same id. Deterministic: the same detections
//! always give the same ids.
//!
//! Ids are handed out only when a track is confirmed, so they are dense (1, 2, 3, ...) and a
//! one-frame false positive never consumes an id. Counting logic keyed on the id therefore does
//! not double count on box flicker (flicker is absorbed by the low-score stage) or on short losses
//! (the lost buffer re-activates the same id).

use crate::detect::{BBox, Detection};

/// Tracker parameters (ByteTrack defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerConfig {
    /// Detections at or above this score are "high" (first association). Default 0.5.
    pub high_threshold: f32,
    /// Detections between this and `high_threshold` are used in the second stage. Default 0.1.
    pub low_threshold: f32,
    /// An unmatched high detection starts a new track at or above this score. Default 0.6.
    pub new_track_threshold: f32,
    /// First-stage maximum cost (1 - IoU x score). Default 0.8.
    pub match_threshold: f32,
    /// Second-stage maximum cost (1 - IoU). Default 0.5.
    pub low_match_threshold: f32,
    /// Unconfirmed tracks' maximum cost. Default 0.7.
    pub unconfirmed_match_threshold: f32,
    /// Frames a lost track is kept for re-identification. Default 30 (ByteTrack's value; use
    /// [`TrackerConfig::for_fps`] to express it in seconds).
    pub max_lost_frames: u32,
    /// Multiply IoU by the detection score in the first stage. Default true.
    pub fuse_score: bool,
    /// Only associate detections and tracks of the same class. Default true.
    pub per_class: bool,
    /// Re-find stage (an addition to ByteTrack): a lost track may take an unmatched high
    /// detection whose centre is within `refind_radius x track height` of where the track was
    /// last seen or is predicted to be, with a similar height (ratio within 1.5). Joins the
    /// fragments that plain IoU association leaves when a target walks behind an occluder.
    /// 0 disables. Default 1.0.
    pub refind_radius: f32,
    /// Stream size in pixels. When set, a track last seen touching the frame border (it left
    /// the view) is never re-found, so a newcomer entering there gets a new id. Default None.
    pub frame_size: Option<(f32, f32)>,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            high_threshold: 0.5,
            low_threshold: 0.1,
            new_track_threshold: 0.6,
            match_threshold: 0.8,
            low_match_threshold: 0.5,
            unconfirmed_match_threshold: 0.7,
            max_lost_frames: 30,
            fuse_score: true,
            per_class: true,
            refind_radius: 1.0,
            frame_size: None,
        }
    }
}

impl TrackerConfig {
    /// Defaults with a lost buffer of 3 seconds at `fps` (occlusions behind street furniture
    /// last 1-2 s at walking speed; validated on the pedestrian clip at 10 fps = 30 frames).
    pub fn for_fps(fps: f32) -> Self {
        Self {
            max_lost_frames: (3.0 * fps.max(1.0)).round() as u32,
            ..Self::default()
        }
    }
}

/// Life-cycle state of a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum TrackState {
    /// Seen once, not yet confirmed (no id given out yet).
    Tentative,
    /// Matched in the latest frame.
    Tracked,
    /// Not matched recently; kept for re-identification.
    Lost,
}

/// A confirmed target as reported to analyzers.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Track {
    /// Stable id, dense from 1, never reused within one tracker.
    pub id: u64,
    pub class_id: u32,
    /// Kalman-filtered box.
    pub bbox: BBox,
    /// Box of the detection matched in the latest frame (equal to the last one while lost).
    pub det_bbox: BBox,
    /// Box of the detection that started the track, in frame `start_frame`: a track is reported
    /// from its second frame on, and at a low analysed rate the first position matters (a car
    /// may cross a line between the two).
    pub first_det_bbox: BBox,
    pub score: f32,
    pub state: TrackState,
    /// Frames in which the track was matched.
    pub hits: u32,
    /// Frame index (from 1) when the track started / was last matched.
    pub start_frame: u64,
    pub last_frame: u64,
}

#[derive(Debug, Clone, Copy)]
struct Kf1 {
    x: f32,
    v: f32,
    p00: f32,
    p01: f32,
    p11: f32,
}

#[derive(Debug, Clone)]
struct Kalman {
    d: [Kf1; 4], // cx, cy, aspect (w/h), h
}

const W_POS: f32 = 1.0 / 20.0;
const W_VEL: f32 = 1.0 / 160.0;

impl Kalman {
    fn new(b: &BBox) -> Self {
        let z = measure(b);
        let h = z[3];
        let sp = [2.0 * W_POS * h, 2.0 * W_POS * h, 1e-2, 2.0 * W_POS * h];
        let sv = [10.0 * W_VEL * h, 10.0 * W_VEL * h, 1e-5, 10.0 * W_VEL * h];
        let mut d = [Kf1 {
            x: 0.0,
            v: 0.0,
            p00: 0.0,
            p01: 0.0,
            p11: 0.0,
        }; 4];
        for i in 0..4 {
            d[i] = Kf1 {
                x: z[i],
                v: 0.0,
                p00: sp[i] * sp[i],
                p01: 0.0,
                p11: sv[i] * sv[i],
            };
        }
        Self { d }
    }

    fn predict(&mut self, freeze_h_velocity: bool) {
        if freeze_h_velocity {
            self.d[3].v = 0.0;
        }
        let h = self.d[3].x;
        let qp = [W_POS * h, W_POS * h, 1e-2, W_POS * h];
        let qv = [W_VEL * h, W_VEL * h, 1e-5, W_VEL * h];
        for i in 0..4 {
            let k = &mut self.d[i];
            k.x += k.v;
            k.p00 += 2.0 * k.p01 + k.p11 + qp[i] * qp[i];
            k.p01 += k.p11;
            k.p11 += qv[i] * qv[i];
        }
    }

    fn update(&mut self, b: &BBox) {
        let z = measure(b);
        let h = self.d[3].x;
        let r = [W_POS * h, W_POS * h, 1e-1, W_POS * h];
        for i in 0..4 {
            let k = &mut self.d[i];
            let s = k.p00 + r[i] * r[i];
            let k0 = k.p00 / s;
            let k1 = k.p01 / s;
            let y = z[i] - k.x;
            k.x += k0 * y;
            k.v += k1 * y;
            let (p00, p01, p11) = (k.p00, k.p01, k.p11);
            k.p00 = (1.0 - k0) * p00;
            k.p01 = (1.0 - k0) * p01;
            k.p11 = p11 - k1 * p01;
        }
    }

    fn bbox(&self) -> BBox {
        let (cx, cy, a, h) = (self.d[0].x, self.d[1].x, self.d[2].x, self.d[3].x.max(1e-3));
        let w = a * h;
        BBox::new(cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0)
    }
}

fn measure(b: &BBox) -> [f32; 4] {
    let (cx, cy) = b.center();
    let h = b.height().max(1e-3);
    [cx, cy, b.width() / h, h]
}

#[derive(Debug, Clone)]
struct STrack {
    id: u64, // 0 while tentative
    class_id: u32,
    kf: Kalman,
    det_bbox: BBox,
    first_det_bbox: BBox,
    score: f32,
    state: TrackState,
    hits: u32,
    start_frame: u64,
    last_frame: u64,
}

impl STrack {
    fn to_track(&self) -> Track {
        Track {
            id: self.id,
            class_id: self.class_id,
            bbox: self.kf.bbox(),
            det_bbox: self.det_bbox,
            first_det_bbox: self.first_det_bbox,
            score: self.score,
            state: self.state,
            hits: self.hits,
            start_frame: self.start_frame,
            last_frame: self.last_frame,
        }
    }
}

/// The ByteTrack tracker for one stream.
pub struct ByteTracker {
    cfg: TrackerConfig,
    frame: u64,
    next_id: u64,
    tracks: Vec<STrack>,
    removed: Vec<u64>,
}

impl ByteTracker {
    pub fn new(cfg: TrackerConfig) -> Self {
        Self {
            cfg,
            frame: 0,
            next_id: 1,
            tracks: Vec::new(),
            removed: Vec::new(),
        }
    }

    pub fn config(&self) -> &TrackerConfig {
        &self.cfg
    }

    /// Frames processed so far.
    pub fn frame_count(&self) -> u64 {
        self.frame
    }

    /// Number of distinct ids handed out so far.
    pub fn ids_issued(&self) -> u64 {
        self.next_id - 1
    }

    /// Ids of confirmed tracks dropped during the latest `update` (after being lost too long).
    pub fn removed_ids(&self) -> &[u64] {
        &self.removed
    }

    /// All confirmed tracks, including lost ones still in the buffer.
    pub fn tracks(&self) -> Vec<Track> {
        self.tracks.iter().filter(|t| t.id != 0).map(STrack::to_track).collect()
    }

    /// Feeds one frame's detections (all scores, ideally from a detector run at
    /// `low_threshold`) and returns the confirmed tracks matched in this frame, by id.
    pub fn update(&mut self, dets: &[Detection]) -> Vec<Track> {
        self.frame += 1;
        self.removed.clear();
        let cfg = self.cfg.clone();
        let frame = self.frame;

        let high: Vec<usize> = (0..dets.len())
            .filter(|&i| dets[i].score >= cfg.high_threshold)
            .collect();
        let low: Vec<usize> = (0..dets.len())
            .filter(|&i| dets[i].score >= cfg.low_threshold && dets[i].score < cfg.high_threshold)
            .collect();

        for t in &mut self.tracks {
            t.kf.predict(t.state != TrackState::Tracked);
        }
        // Pool = confirmed tracks (tracked or lost); unconfirmed = tentative.
        let pool: Vec<usize> = (0..self.tracks.len()).filter(|&i| self.tracks[i].id != 0).collect();
        let unconfirmed: Vec<usize> = (0..self.tracks.len()).filter(|&i| self.tracks[i].id == 0).collect();
        let mut matched_track = vec![false; self.tracks.len()];

        // Stage 1: pool x high.
        let (m1, um_tracks, um_high) = self.associate(&pool, &high, dets, cfg.match_threshold, cfg.fuse_score);
        for (ti, di) in m1 {
            self.apply_match(ti, &dets[di], frame);
            matched_track[ti] = true;
        }
        // Stage 2: remaining tracked (not lost) x low.
        let r_tracked: Vec<usize> = um_tracks
            .iter()
            .copied()
            .filter(|&t| self.tracks[t].state == TrackState::Tracked)
            .collect();
        let (m2, um2, _) = self.associate(&r_tracked, &low, dets, cfg.low_match_threshold, false);
        for (ti, di) in m2 {
            self.apply_match(ti, &dets[di], frame);
            matched_track[ti] = true;
        }
        for t in um2 {
            self.tracks[t].state = TrackState::Lost;
        }
        // Stage 3: unconfirmed x remaining high.
        let (m3, um_unconf, um_high2) = self.associate(
            &unconfirmed,
            &um_high,
            dets,
            cfg.unconfirmed_match_threshold,
            cfg.fuse_score,
        );
        for (ti, di) in m3 {
            self.apply_match(ti, &dets[di], frame);
            matched_track[ti] = true;
            // Confirmation: second consecutive match hands out the id.
            let t = &mut self.tracks[ti];
            if t.id == 0 {
                t.id = self.next_id;
                self.next_id += 1;
            }
            t.state = TrackState::Tracked;
        }
        let mut dead = vec![false; self.tracks.len()];
        for t in um_unconf {
            dead[t] = true;
        }
        // Lost too long -> removed.
        for (i, t) in self.tracks.iter().enumerate() {
            if t.id != 0 && t.state == TrackState::Lost && frame - t.last_frame > cfg.max_lost_frames as u64 {
                dead[i] = true;
            }
        }
        let mut kept = Vec::with_capacity(self.tracks.len());
        for (i, t) in std::mem::take(&mut self.tracks).into_iter().enumerate() {
            if dead[i] {
                if t.id != 0 {
                    self.removed.push(t.id);
                }
            } else {
                kept.push(t);
            }
        }
        self.tracks = kept;
        // Stage 4: re-find lost tracks by distance.
        let um_high2 = self.refind(&um_high2, dets, frame);
        // New tracks from unmatched confident detections.
        for di in um_high2 {
            let d = &dets[di];
            if d.score < cfg.new_track_threshold {
                continue;
            }
            let mut t = STrack {
                id: 0,
                class_id: d.class_id,
                kf: Kalman::new(&d.bbox),
                det_bbox: d.bbox,
                first_det_bbox: d.bbox,
                score: d.score,
                state: TrackState::Tentative,
                hits: 1,
                start_frame: frame,
                last_frame: frame,
            };
            if frame == 1 {
                t.id = self.next_id;
                self.next_id += 1;
                t.state = TrackState::Tracked;
            }
            self.tracks.push(t);
        }
        self.remove_duplicates();
        let mut out: Vec<Track> = self
            .tracks
            .iter()
            .filter(|t| t.id != 0 && t.state == TrackState::Tracked && t.last_frame == frame)
            .map(STrack::to_track)
            .collect();
        out.sort_by_key(|t| t.id);
        out
    }

    /// Matches lost tracks to unmatched high detections by normalised centre distance;
    /// returns the detections still unmatched.
    fn refind(&mut self, dets_idx: &[usize], dets: &[Detection], frame: u64) -> Vec<usize> {
        let r = self.cfg.refind_radius;
        if r <= 0.0 || dets_idx.is_empty() {
            return dets_idx.to_vec();
        }
        let at_border = |b: &BBox| match self.cfg.frame_size {
            Some((w, h)) => {
                let m = 0.01 * w.max(h);
                b.x1 <= m || b.y1 <= m || b.x2 >= w - m || b.y2 >= h - m
            }
            None => false,
        };
        let lost: Vec<usize> = (0..self.tracks.len())
            .filter(|&i| {
                let t = &self.tracks[i];
                t.id != 0 && t.state == TrackState::Lost && !at_border(&t.det_bbox)
            })
            .collect();
        let mut edges = Vec::new();
        for (a, &ti) in lost.iter().enumerate() {
            let t = &self.tracks[ti];
            let h = t.det_bbox.height().max(1.0);
            let (lx, ly) = t.det_bbox.center();
            let (px, py) = t.kf.bbox().center();
            for (b, &di) in dets_idx.iter().enumerate() {
                let d = &dets[di];
                if self.cfg.per_class && d.class_id != t.class_id {
                    continue;
                }
                let ratio = d.bbox.height().max(1.0) / h;
                if !(1.0 / 1.5..=1.5).contains(&ratio) {
                    continue;
                }
                let (cx, cy) = d.bbox.center();
                let dist = ((cx - lx).hypot(cy - ly)).min((cx - px).hypot(cy - py)) / h;
                if dist < r {
                    edges.push((a, b, dist as f64));
                }
            }
        }
        let pairs = solve_sparse_assignment(lost.len(), dets_idx.len(), &edges, r as f64);
        let mut used = vec![false; dets_idx.len()];
        for (a, b) in pairs {
            let ti = lost[a];
            let d = &dets[dets_idx[b]];
            let t = &mut self.tracks[ti];
            t.kf = Kalman::new(&d.bbox);
            t.det_bbox = d.bbox;
            t.score = d.score;
            t.hits += 1;
            t.last_frame = frame;
            t.state = TrackState::Tracked;
            used[b] = true;
        }
        dets_idx
            .iter()
            .enumerate()
            .filter(|(b, _)| !used[*b])
            .map(|(_, &d)| d)
            .collect()
    }

    fn apply_match(&mut self, ti: usize, d: &Detection, frame: u64) {
        let t = &mut self.tracks[ti];
        t.kf.update(&d.bbox);
        t.det_bbox = d.bbox;
        t.score = d.score;
        t.hits += 1;
        t.last_frame = frame;
        t.state = if t.id == 0 {
            TrackState::Tentative
        } else {
            TrackState::Tracked
        };
    }

    /// Tracked and lost tracks that overlap almost completely: keep the older one.
    fn remove_duplicates(&mut self) {
        let n = self.tracks.len();
        let mut dead = vec![false; n];
        for i in 0..n {
            for j in 0..n {
                let (a, b) = (&self.tracks[i], &self.tracks[j]);
                if i == j || a.id == 0 || b.id == 0 || dead[i] || dead[j] {
                    continue;
                }
                if a.state == TrackState::Tracked
                    && b.state == TrackState::Lost
                    && a.class_id == b.class_id
                    && 1.0 - a.kf.bbox().iou(&b.kf.bbox()) < 0.15
                {
                    let age_a = a.last_frame - a.start_frame;
                    let age_b = b.last_frame - b.start_frame;
                    if age_a > age_b {
                        dead[j] = true;
                    } else {
                        dead[i] = true;
                    }
                }
            }
        }
        let mut kept = Vec::with_capacity(n);
        for (i, t) in std::mem::take(&mut self.tracks).into_iter().enumerate() {
            if dead[i] {
                self.removed.push(t.id);
            } else {
                kept.push(t);
            }
        }
        self.tracks = kept;
    }

    /// Optimal assignment of `tracks` to `dets` with cost `1 - IoU` (x score when `fuse`),
    /// pairs costlier than `thresh` never matched. Returns (matches, unmatched tracks,
    /// unmatched detections), all in ascending index order.
    fn associate(
        &self,
        tracks: &[usize],
        dets_idx: &[usize],
        dets: &[Detection],
        thresh: f32,
        fuse: bool,
    ) -> (Vec<(usize, usize)>, Vec<usize>, Vec<usize>) {
        let boxes: Vec<BBox> = tracks.iter().map(|&t| self.tracks[t].kf.bbox()).collect();
        let mut edges: Vec<(usize, usize, f64)> = Vec::new();
        for (a, &ti) in tracks.iter().enumerate() {
            let tb = &boxes[a];
            for (b, &di) in dets_idx.iter().enumerate() {
                let d = &dets[di];
                if self.cfg.per_class && d.class_id != self.tracks[ti].class_id {
                    continue;
                }
                if d.bbox.x1 >= tb.x2 || d.bbox.x2 <= tb.x1 || d.bbox.y1 >= tb.y2 || d.bbox.y2 <= tb.y1 {
                    continue;
                }
                let mut sim = tb.iou(&d.bbox);
                if fuse {
                    sim *= d.score;
                }
                let cost = 1.0 - sim;
                if cost < thresh {
                    edges.push((a, b, cost as f64));
                }
            }
        }
        let pairs = solve_sparse_assignment(tracks.len(), dets_idx.len(), &edges, thresh as f64);
        let mut t_used = vec![false; tracks.len()];
        let mut d_used = vec![false; dets_idx.len()];
        let mut matches = Vec::new();
        for (a, b) in pairs {
            t_used[a] = true;
            d_used[b] = true;
            matches.push((tracks[a], dets_idx[b]));
        }
        let um_t = (0..tracks.len()).filter(|&a| !t_used[a]).map(|a| tracks[a]).collect();
        let um_d = (0..dets_idx.len())
            .filter(|&b| !d_used[b])
            .map(|b| dets_idx[b])
            .collect();
        (matches, um_t, um_d)
    }
}

/// Minimum-cost assignment over sparse edges `(row, col, cost)`; leaving a row and a column
/// unmatched costs `limit` (as lapjv's `cost_limit`). Solved exactly per connected component
/// with the Hungarian algorithm, so large scenes of separated objects stay fast.
pub fn solve_sparse_assignment(
    rows: usize,
    cols: usize,
    edges: &[(usize, usize, f64)],
    limit: f64,
) -> Vec<(usize, usize)> {
    let edges: Vec<(usize, usize, f64)> = edges.iter().copied().filter(|e| e.2 < limit).collect();
    let edges = &edges[..];
    // Union-find over rows (0..rows) and cols (rows..rows+cols).
    let mut parent: Vec<usize> = (0..rows + cols).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for &(r, c, _) in edges {
        let (a, b) = (find(&mut parent, r), find(&mut parent, rows + c));
        if a != b {
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut comp_edges: std::collections::BTreeMap<usize, Vec<(usize, usize, f64)>> = std::collections::BTreeMap::new();
    for &e in edges {
        let root = find(&mut parent, e.0);
        comp_edges.entry(root).or_default().push(e);
    }
    let mut out = Vec::new();
    for (_, es) in comp_edges {
        let mut rs: Vec<usize> = es.iter().map(|e| e.0).collect();
        rs.sort_unstable();
        rs.dedup();
        let mut cs: Vec<usize> = es.iter().map(|e| e.1).collect();
        cs.sort_unstable();
        cs.dedup();
        if es.len() == 1 {
            out.push((es[0].0, es[0].1));
            continue;
        }
        let (nr, nc) = (rs.len(), cs.len());
        let n = nr + nc;
        let big = 1e6;
        let mut cost = vec![big; n * n];
        for &(r, c, w) in &es {
            let (ri, ci) = (rs.binary_search(&r).unwrap_or(0), cs.binary_search(&c).unwrap_or(0));
            cost[ri * n + ci] = w;
        }
        for i in 0..nr {
            cost[i * n + nc + i] = limit / 2.0;
        }
        for j in 0..nc {
            cost[(nr + j) * n + j] = limit / 2.0;
            for i in 0..nr {
                cost[(nr + j) * n + nc + i] = 0.0;
            }
        }
        let assign = hungarian(n, &cost);
        for (i, &j) in assign.iter().enumerate().take(nr) {
            if j < nc && cost[i * n + j] < big {
                out.push((rs[i], cs[j]));
            }
        }
    }
    out.sort_unstable();
    out
}

/// Hungarian algorithm (potentials, O(n^3)) on a square `n x n` cost matrix; returns the
/// column assigned to each row.
fn hungarian(n: usize, cost: &[f64]) -> Vec<usize> {
    let inf = f64::INFINITY;
    let mut u = vec![0.0; n + 1];
    let mut v = vec![0.0; n + 1];
    let mut p = vec![0usize; n + 1];
    let mut way = vec![0usize; n + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0usize;
        let mut minv = vec![inf; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = inf;
            let mut j1 = 0usize;
            for j in 1..=n {
                if !used[j] {
                    let cur = cost[(i0 - 1) * n + (j - 1)] - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut ans = vec![0usize; n];
    for j in 1..=n {
        if p[j] > 0 {
            ans[p[j] - 1] = j - 1;
        }
    }
    ans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(x: f32, y: f32, s: f32) -> Detection {
        Detection {
            bbox: BBox::from_xywh(x, y, 40.0, 100.0),
            score: s,
            class_id: 0,
        }
    }

    #[test]
    fn hungarian_prefers_global_optimum() {
        // Greedy would take (0,0)=0.1 then (1,1)=0.9; optimum is (0,1)+(1,0)=0.4.
        let edges = [(0, 0, 0.1), (0, 1, 0.2), (1, 0, 0.2), (1, 1, 0.9)];
        assert_eq!(solve_sparse_assignment(2, 2, &edges, 0.95), vec![(0, 1), (1, 0)]);
        // With a limit below 0.9 the pair (1,1) is never used.
        let edges = [(0, 0, 0.1), (1, 1, 0.9)];
        assert_eq!(solve_sparse_assignment(2, 2, &edges, 0.8), vec![(0, 0)]);
    }

    #[test]
    fn ids_are_stable_through_low_scores_and_short_losses() {
        let mut t = ByteTracker::new(TrackerConfig::default());
        let mut seen = std::collections::BTreeSet::new();
        for f in 0..60 {
            let x = 10.0 + f as f32 * 3.0;
            let dets = match f {
                20..=24 => vec![],                  // lost for 5 frames
                30..=35 => vec![det(x, 50.0, 0.3)], // low score: kept by stage 2
                _ => vec![det(x, 50.0, 0.9)],
            };
            for tr in t.update(&dets) {
                seen.insert(tr.id);
            }
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![1]);
        assert_eq!(t.ids_issued(), 1);
    }

    #[test]
    fn one_frame_false_positive_gets_no_id() {
        let mut t = ByteTracker::new(TrackerConfig::default());
        t.update(&[det(10.0, 10.0, 0.9)]);
        t.update(&[det(10.0, 10.0, 0.9), det(300.0, 10.0, 0.95)]);
        t.update(&[det(10.0, 10.0, 0.9)]);
        t.update(&[det(10.0, 10.0, 0.9)]);
        assert_eq!(t.ids_issued(), 1);
    }

    #[test]
    fn two_crossing_targets_keep_their_ids() {
        let mut t = ByteTracker::new(TrackerConfig::default());
        let mut first = None;
        let mut last = None;
        for f in 0..40 {
            let a = det(10.0 + f as f32 * 4.0, 50.0, 0.9);
            let b = det(170.0 - f as f32 * 4.0, 60.0, 0.8);
            let out = t.update(&[a, b]);
            let ids: Vec<(u64, f32)> = out.iter().map(|tr| (tr.id, tr.bbox.x1)).collect();
            if f == 2 {
                first = Some(ids.clone());
            }
            last = Some(ids);
        }
        let (first, last) = (first.unwrap_or_default(), last.unwrap_or_default());
        assert_eq!(first.len(), 2);
        assert_eq!(last.len(), 2);
        // Track 1 started on the left and must now be on the right.
        let id_left = first.iter().min_by(|a, b| a.1.total_cmp(&b.1)).map(|x| x.0);
        let id_right_now = last.iter().max_by(|a, b| a.1.total_cmp(&b.1)).map(|x| x.0);
        assert_eq!(id_left, id_right_now);
        assert_eq!(t.ids_issued(), 2);
    }

    #[test]
    fn per_class_tracks_do_not_swap_classes() {
        let mut t = ByteTracker::new(TrackerConfig::default());
        let mut car = det(100.0, 100.0, 0.9);
        car.class_id = 2;
        for f in 0..10 {
            // A person and a car on the same spot: two tracks, classes kept.
            let mut p = det(100.0 + f as f32, 100.0, 0.9);
            p.class_id = 0;
            let out = t.update(&[p, car]);
            if f > 0 {
                assert_eq!(out.len(), 2);
            }
        }
        let tracks = t.tracks();
        assert_eq!(t.ids_issued(), 2);
        assert!(tracks.iter().any(|x| x.class_id == 0) && tracks.iter().any(|x| x.class_id == 2));
    }

    #[test]
    fn refind_joins_a_track_across_an_occlusion_but_not_at_the_border() {
        // Walks behind an occluder for 8 frames, reappearing 30 px further (no IoU overlap with
        // the frozen prediction of a 20 px wide box).
        let run = |refind: f32, start_x: f32, frame: Option<(f32, f32)>| {
            let mut t = ByteTracker::new(TrackerConfig {
                refind_radius: refind,
                frame_size: frame,
                ..Default::default()
            });
            let mk = |x: f32| Detection {
                bbox: BBox::from_xywh(x, 100.0, 20.0, 60.0),
                score: 0.9,
                class_id: 0,
            };
            for f in 0..5 {
                t.update(&[mk(start_x + f as f32)]);
            }
            for _ in 0..8 {
                t.update(&[]);
            }
            for f in 0..5 {
                t.update(&[mk(start_x + 34.0 + f as f32)]);
            }
            t.ids_issued()
        };
        assert_eq!(run(0.0, 200.0, None), 2, "plain ByteTrack fragments");
        assert_eq!(run(1.0, 200.0, None), 1, "re-find joins");
        // Last seen touching the left border of a 640x480 frame: it left, no re-find.
        assert_eq!(run(1.0, 0.0, Some((640.0, 480.0))), 2);
    }

    #[test]
    fn lost_track_removed_after_buffer() {
        let mut t = ByteTracker::new(TrackerConfig {
            max_lost_frames: 5,
            ..Default::default()
        });
        t.update(&[det(0.0, 0.0, 0.9)]);
        t.update(&[det(0.0, 0.0, 0.9)]);
        let mut removed = Vec::new();
        for _ in 0..10 {
            t.update(&[]);
            removed.extend_from_slice(t.removed_ids());
        }
        assert_eq!(removed, vec![1]);
        assert!(t.tracks().is_empty());
    }
}
