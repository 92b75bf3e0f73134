//! What stays still: the shared logic of the "something stays too long" algorithms (abnormal
//! parking, fire-passage obstruction, abandoned objects).
//!
//! - [`StillTracker`]: whether a tracked object stands still, and since when. Its box centre
//!   must stay within [`STILL_TOLERANCE`] × its size of an anchor point, judged on the median
//!   of the last [`STILL_WINDOW_S`] seconds (so detector jitter and a one-frame bad box do not
//!   restart the stay). A track the tracker drops (occlusion longer than its lost buffer) is
//!   remembered for [`MEMORY_S`]; a new track at the same place takes its stay over, so a parked
//!   car keeps one stay, one alarm and one `detection_id`.
//! - [`StaticForeground`]: regions that became foreground and then stopped changing (objects put
//!   down, goods piled up), found without a detector class. A slow background model
//!   ([`BackgroundModel`]) on a downscaled gray frame ([`WORK_WIDTH`] px wide, exposure
//!   compensated) and on two colour-opponent planes (a bag of the floor's gray but another
//!   colour) gives the foreground; per pixel, the time since it became foreground with its
//!   present values gives how long it has been still. Pixels inside people's boxes never count as still (a person
//!   standing is not an object). Regions are followed from frame to frame (their stay survives a
//!   passer-by hiding them for a few seconds). A region is an object only when its outline has
//!   clearly stronger edges in the frame than in the background; otherwise it is a ghost
//!   (something that was there at the start and left) or a change of light, and is absorbed
//!   into the background.
//! - [`StayBook`]: one object's stay in one area, and which stays alarmed (for the
//!   event-disappear messages).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use vigil_vision::pixel::{connected_components, to_gray, BackgroundModel, Plane};
use vigil_vision::{BBox, Detection, ImageBgr, TrackerConfig};

use crate::analyzer::FrameInput;
use crate::common::{clip, sane, RateTracker};
use crate::dwell::weak_static;

/// Seconds of box centres whose median decides whether a track moved.
pub const STILL_WINDOW_S: f64 = 2.0;
/// A track is still while its median centre stays within this fraction of its size (larger
/// box side) of the anchor.
pub const STILL_TOLERANCE: f32 = 0.25;
/// Seconds a dropped still track, or the place a still object moved away from, is remembered
/// for a new track at the same place.
pub const MEMORY_S: f64 = 5.0;
/// Seconds an object must have been still for the place it leaves to be remembered (another
/// target's track may have taken its id: the tracker follows a passer-by off the parked one).
pub const VACATE_MIN_S: f64 = 2.0;
/// IoU at which a new track takes over a remembered stay.
const MEMORY_IOU: f32 = 0.5;

/// Seconds an object must be seen moving or outside its area before its stay ends.
pub const LEAVE_S: f64 = 2.0;
/// Seconds an object must have been still before it counts as staying at all.
pub const MIN_STILL_S: f64 = 1.0;
/// Score above which a person box keeps its pixels from counting as still.
pub const PERSON_SCORE: f32 = 0.25;
/// Stay keys of static regions start here (far above the keys of tracked objects).
pub const REGION_KEY_BASE: u64 = 1 << 40;

/// Whether a region belongs to a detected object: its centre lies in the object's box.
pub fn covers(object: &BBox, region: &BBox) -> bool {
    let (x, y) = region.center();
    x >= object.x1 && x <= object.x2 && y >= object.y1 && y <= object.y2
}

/// A tracked object's stillness as of the latest observation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Still {
    /// Stable key of the object's stay (from 1, never reused; not a track id).
    pub key: u64,
    /// Frame time since when the object has not moved.
    pub since: f64,
}

#[derive(Debug, Clone)]
struct TrackStill {
    key: u64,
    /// Centre the object is still around.
    anchor: (f32, f32),
    since: f64,
    /// (time, centre x, centre y, larger box side) of the last [`STILL_WINDOW_S`] seconds.
    recent: VecDeque<(f64, f32, f32, f32)>,
    bbox: BBox,
}

impl TrackStill {
    fn new(key: u64, bbox: &BBox, time: f64) -> Self {
        Self {
            key,
            anchor: bbox.center(),
            since: time,
            recent: VecDeque::new(),
            bbox: *bbox,
        }
    }
}

#[derive(Debug, Clone)]
struct Remembered {
    state: TrackStill,
    lost_at: f64,
}

/// Stillness of tracked objects (see the module doc).
#[derive(Debug, Clone, Default)]
pub struct StillTracker {
    tracks: BTreeMap<u64, TrackStill>,
    memory: Vec<Remembered>,
    /// Last stay key given out.
    last_key: u64,
}

fn median(mut v: Vec<f32>) -> f32 {
    v.sort_by(f32::total_cmp);
    let n = v.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) * 0.5
    }
}

impl StillTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Observes track `id` with box `bbox` at frame `time`; returns its stay key and since when
    /// it has been still (`since == time` while it moves).
    pub fn observe(&mut self, time: f64, id: u64, bbox: &BBox) -> Still {
        let (cx, cy) = bbox.center();
        let size = bbox.width().max(bbox.height());
        if !self.tracks.contains_key(&id) {
            let found = self
                .memory
                .iter()
                .enumerate()
                .filter(|(_, m)| m.state.bbox.iou(bbox) >= MEMORY_IOU)
                .max_by(|a, b| a.1.state.bbox.iou(bbox).total_cmp(&b.1.state.bbox.iou(bbox)))
                .map(|(i, _)| i);
            let state = match found {
                Some(i) => self.memory.swap_remove(i).state,
                None => {
                    self.last_key += 1;
                    TrackStill::new(self.last_key, bbox, time)
                }
            };
            self.tracks.insert(id, state);
        }
        let Some(t) = self.tracks.get_mut(&id) else {
            return Still { key: 0, since: time };
        };
        t.recent.push_back((time, cx, cy, size));
        while t.recent.len() > 1 && t.recent.front().is_some_and(|r| r.0 < time - STILL_WINDOW_S) {
            t.recent.pop_front();
        }
        let mx = median(t.recent.iter().map(|r| r.1).collect());
        let my = median(t.recent.iter().map(|r| r.2).collect());
        let ms = median(t.recent.iter().map(|r| r.3).collect());
        let reach = STILL_TOLERANCE * ms.max(1.0);
        // The box kept for the place is one seen at the place (not a one-frame outlier).
        if ((cx - t.anchor.0).powi(2) + (cy - t.anchor.1).powi(2)).sqrt() <= reach {
            t.bbox = *bbox;
        }
        let moved = ((mx - t.anchor.0).powi(2) + (my - t.anchor.1).powi(2)).sqrt();
        if moved > reach {
            if time - t.since >= VACATE_MIN_S {
                // The still object may still be there under another id: its place keeps the
                // stay, the moving track starts a new one.
                self.memory.push(Remembered {
                    state: t.clone(),
                    lost_at: time,
                });
                self.last_key += 1;
                t.key = self.last_key;
            }
            t.anchor = (mx, my);
            t.since = time;
            t.bbox = *bbox;
        }
        Still {
            key: t.key,
            since: t.since,
        }
    }

    /// The tracker dropped track `id` at `time`: its stay is remembered for [`MEMORY_S`].
    pub fn lost(&mut self, id: u64, time: f64) {
        if let Some(state) = self.tracks.remove(&id) {
            self.memory.push(Remembered { state, lost_at: time });
        }
    }

    /// Keys of the stays that ended by now: dropped tracks not re-found within [`MEMORY_S`].
    pub fn expired(&mut self, time: f64) -> Vec<u64> {
        let mut gone = Vec::new();
        self.memory.retain(|m| {
            let keep = time - m.lost_at <= MEMORY_S;
            if !keep {
                gone.push(m.state.key);
            }
            keep
        });
        gone
    }
}

/// Detections of different classes that cover one object (a van seen as car and truck) reduced
/// to the highest-scoring one: a parked object must be one track, not one per class.
pub fn one_box_per_object(mut dets: Vec<Detection>, iou: f32) -> Vec<Detection> {
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::with_capacity(dets.len());
    for d in dets {
        if kept.iter().all(|k| k.bbox.iou(&d.bbox) < iou) {
            kept.push(d);
        }
    }
    kept
}

/// A still-tracked object of one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StillObject {
    pub still: Still,
    pub class_id: u32,
    /// Detected box, clipped to the frame.
    pub bbox: BBox,
}

/// What [`StillObjects::update`] saw in one frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StillFrame {
    pub objects: Vec<StillObject>,
    /// Stay keys that ended (object gone for good).
    pub gone: Vec<u64>,
}

/// Detections of some classes, tracked class-agnostically (a van flickering between car and
/// truck stays one track), with their stillness.
pub struct StillObjects {
    tracker: RateTracker,
    still: StillTracker,
}

impl StillObjects {
    /// Vehicles: well detected, the rate's default tracker without class matching.
    pub fn vehicles() -> Self {
        Self {
            tracker: RateTracker::tuned(still_matching),
            still: StillTracker::new(),
        }
    }

    /// Small objects (bags, a parked bicycle) that YOLOX-Nano scores low: the weak-static
    /// tracker of [`crate::dwell::weak_static`], without class matching.
    pub fn small() -> Self {
        Self {
            tracker: RateTracker::tuned(|c| still_matching(weak_static(c))),
            still: StillTracker::new(),
        }
    }

    /// Feeds the frame's detections of the wanted classes (already filtered).
    pub fn update(&mut self, frame: &FrameInput, dets: Vec<Detection>) -> StillFrame {
        let size = (frame.image.width(), frame.image.height());
        let dets = one_box_per_object(dets.into_iter().filter(sane).collect(), SAME_OBJECT_IOU);
        let (tracks, removed) = self.tracker.update(frame, &dets);
        for id in removed {
            self.still.lost(id, frame.time);
        }
        let objects = tracks
            .iter()
            .map(|t| {
                let bbox = clip(&t.det_bbox, size);
                StillObject {
                    still: self.still.observe(frame.time, t.id, &bbox),
                    class_id: t.class_id,
                    bbox,
                }
            })
            .collect();
        StillFrame {
            objects,
            gone: self.still.expired(frame.time),
        }
    }
}

/// Matching for objects whose stillness matters: any class (a van flickering between car and
/// truck), and plain IoU of at least 0.5 (a box that overlaps a hidden parked object by a
/// quarter, a passer-by's, never takes its track).
fn still_matching(cfg: TrackerConfig) -> TrackerConfig {
    TrackerConfig {
        per_class: false,
        fuse_score: false,
        match_threshold: 0.5,
        ..cfg
    }
}

/// IoU above which two boxes of different classes are one object.
const SAME_OBJECT_IOU: f32 = 0.6;

// --- static foreground ----------------------------------------------------------------------

/// Width of the gray frame the static-foreground logic works on (cheap: ~80 k pixels).
pub const WORK_WIDTH: u32 = 320;
/// Time constant (s) of the background's adaptation to slow light changes (background pixels
/// only: foreground never learns, so a still object stays foreground).
const BG_TAU_S: f64 = 20.0;
/// Gray difference to the background that makes a pixel foreground...
const FG_THRESHOLD: f32 = 22.0;
/// ...or this difference in one of the two colour-opponent planes (a green bag on an orange
/// floor has the floor's gray).
const CHROMA_THRESHOLD: f32 = 14.0;
/// Colour-opponent change that restarts a pixel's stillness.
const CHROMA_STILL_DIFF: u8 = 12;
/// Gray change that restarts a pixel's stillness: this many levels, or [`STILL_REL`] of its
/// value for bright pixels (exposure compensation is not exact on them).
const STILL_DIFF: u8 = 18;
const STILL_REL: f32 = 0.12;
/// Seconds a foreground pixel must be unchanged before it counts as static.
const STATIC_MIN_S: f64 = 2.0;
/// Smallest static region, in work pixels.
const MIN_REGION_PX: usize = 20;
/// Smallest share of a region's box covered by still pixels: objects are blobs; a wind-blown
/// tape or a shifted edge is a thin line.
const MIN_FILL: f32 = 0.35;
/// Regions larger than this fraction of the frame are a scene change (light, camera moved),
/// not an object: absorbed.
const MAX_REGION_FRACTION: f32 = 0.25;
/// An object brings its own outline: the region's outline must have edges in the frame at least
/// this many times stronger than the background's there (weaker: a ghost, something that was
/// in the first frame and left, or a change of light or shadow)...
const OBJECT_EDGE_RATIO: f32 = 1.2;
/// ...and at least this mean gradient (gray levels, central difference).
const OBJECT_MIN_EDGE: f32 = 24.0;
/// Outline edges weaker than this fraction of the background's: a ghost (absorbed).
const GHOST_EDGE_RATIO: f32 = 0.8;
/// A region whose picture is the background's up to gain and offset (normalised
/// cross-correlation at least this) is a change of light or exposure (absorbed).
const LIGHT_NCC: f32 = 0.8;
/// Seconds a region is kept without being seen (hidden by a passer-by, re-forming after it).
pub const REGION_GRACE_S: f64 = 5.0;
/// IoU at which a region found in a frame continues a known one.
const REGION_IOU: f32 = 0.3;
/// Person boxes are grown by this fraction of their size before their pixels are reset.
const PERSON_MARGIN: f32 = 0.1;

/// A static foreground region.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StaticRegion {
    /// Stable id of the region (from 1).
    pub id: u64,
    /// Box in frame pixels.
    pub bbox: BBox,
    /// Frame time since when the region has been there and still.
    pub since: f64,
    /// Frame time it was last found (earlier than now while hidden).
    pub last_seen: f64,
}

/// What one frame changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StaticUpdate {
    /// Regions present (including ones hidden for less than [`REGION_GRACE_S`]).
    pub present: Vec<StaticRegion>,
    /// Ids of the regions that ended in this frame.
    pub gone: Vec<u64>,
}

/// Static foreground regions of a stream (see the module doc).
pub struct StaticForeground {
    bg: BackgroundModel,
    /// Background models of the colour-opponent planes ([`opponent_planes`]).
    chroma: [BackgroundModel; 2],
    /// Per work pixel: the gray and opponent values it has held, and since when.
    held: Vec<u8>,
    held_c: Vec<[u8; 2]>,
    since: Vec<f64>,
    size: (u32, u32),
    last_time: Option<f64>,
    regions: Vec<StaticRegion>,
    next_id: u64,
    /// People boxes of the last [`PEOPLE_MEMORY_S`] (a person the detector misses for a frame
    /// is still a person).
    people: VecDeque<(f64, Vec<BBox>)>,
}

/// Seconds a person box keeps resetting the pixels it covered.
const PEOPLE_MEMORY_S: f64 = 1.5;

impl Default for StaticForeground {
    fn default() -> Self {
        Self::new()
    }
}

impl StaticForeground {
    pub fn new() -> Self {
        Self {
            bg: BackgroundModel::new(0.05, FG_THRESHOLD),
            chroma: Self::chroma_models(),
            held: Vec::new(),
            held_c: Vec::new(),
            since: Vec::new(),
            size: (0, 0),
            last_time: None,
            regions: Vec::new(),
            next_id: 1,
            people: VecDeque::new(),
        }
    }

    fn chroma_models() -> [BackgroundModel; 2] {
        [
            BackgroundModel::new(0.05, CHROMA_THRESHOLD),
            BackgroundModel::new(0.05, CHROMA_THRESHOLD),
        ]
    }

    /// Feeds one frame at `time`; pixels inside `people` (frame pixels) never count as still.
    pub fn update(&mut self, image: &ImageBgr, time: f64, people: &[BBox]) -> StaticUpdate {
        let (fw, fh) = (image.width(), image.height());
        if fw == 0 || fh == 0 {
            return StaticUpdate::default();
        }
        let ww = WORK_WIDTH.min(fw);
        let wh = ((fh as f64 * ww as f64 / fw as f64).round() as u32).max(1);
        let Ok(small) = image.resize(ww, wh) else {
            return StaticUpdate::default();
        };
        let mut gray = to_gray(&small);
        let opp = opponent_planes(&small);
        let scale = fw as f32 / ww as f32;
        let n = (ww * wh) as usize;
        if self.size != (ww, wh) || self.held.len() != n {
            self.size = (ww, wh);
            self.held = gray.data.clone();
            self.held_c = vec![[0, 0]; n];
            self.since = vec![time; n];
            self.regions.clear();
            self.bg = BackgroundModel::new(0.05, FG_THRESHOLD);
            self.chroma = Self::chroma_models();
        }
        let dt = self.last_time.map_or(0.2, |t| (time - t).clamp(0.0, 10.0));
        self.last_time = Some(time);
        let alpha = (1.0 - (-dt / BG_TAU_S).exp()) as f32;
        self.bg.alpha = alpha;
        let background = self.bg.background();
        if background.data.len() == n {
            compensate_exposure(&mut gray, &background);
        }
        let mut fg = self.bg.apply_gray(&gray);
        let mut opp_bg = Vec::with_capacity(2);
        for (model, plane) in self.chroma.iter_mut().zip(&opp) {
            model.alpha = alpha;
            opp_bg.push(model.background());
            let m = model.apply_gray(plane);
            for (f, &c) in fg.data.iter_mut().zip(&m.data) {
                *f |= c;
            }
        }

        // Per-pixel stillness: since when the pixel has been foreground with unchanged values
        // (background pixels and changing ones restart); people reset theirs.
        for i in 0..n {
            let (v, c) = (gray.data[i], [opp[0].data[i], opp[1].data[i]]);
            let h = self.held[i];
            let hc = self.held_c[i];
            let changed = h.abs_diff(v) as f32 > (STILL_DIFF as f32).max(STILL_REL * h as f32)
                || hc[0].abs_diff(c[0]) > CHROMA_STILL_DIFF
                || hc[1].abs_diff(c[1]) > CHROMA_STILL_DIFF;
            if fg.data[i] == 0 || changed {
                self.held[i] = v;
                self.held_c[i] = c;
                self.since[i] = time;
            }
        }
        self.people.push_back((time, people.to_vec()));
        while self.people.front().is_some_and(|(t, _)| *t < time - PEOPLE_MEMORY_S) {
            self.people.pop_front();
        }
        for p in self.people.iter().flat_map(|(_, b)| b) {
            let (x0, y0, x1, y1) = work_rect(p, PERSON_MARGIN, scale, (ww, wh));
            for y in y0..y1 {
                for x in x0..x1 {
                    let i = (y * ww + x) as usize;
                    self.held[i] = gray.data[i];
                    self.held_c[i] = [opp[0].data[i], opp[1].data[i]];
                    self.since[i] = time;
                }
            }
        }
        let mut still = Plane::new(ww, wh);
        for (i, o) in still.data.iter_mut().enumerate() {
            if fg.data[i] != 0 && time - self.since[i] >= STATIC_MIN_S {
                *o = 255;
            }
        }
        let frame_planes = [&gray, &opp[0], &opp[1]];
        let bg_planes = [&background, &opp_bg[0], &opp_bg[1]];
        let found = self.regions_of(&still, frame_planes, bg_planes, time, scale);
        self.track_regions(found, time)
    }

    /// Components of the still mask that are objects: (frame box, seconds still); ghosts and
    /// scene changes are absorbed into the background.
    fn regions_of(
        &mut self,
        still: &Plane,
        frame: [&Plane; 3],
        bg: [&Plane; 3],
        time: f64,
        scale: f32,
    ) -> Vec<(BBox, f64)> {
        let gray = frame[0];
        let (ww, wh) = (still.width, still.height);
        let joined = dilate(&dilate(still));
        let mut out = Vec::new();
        let mut absorb = Plane::new(ww, wh);
        for c in connected_components(&joined, true, MIN_REGION_PX) {
            let (x0, y0) = (c.bbox.x1 as u32, c.bbox.y1 as u32);
            let (x1, y1) = ((c.bbox.x2 as u32).min(ww), (c.bbox.y2 as u32).min(wh));
            let mut ages = Vec::new();
            let (mut edge_now, mut edge_bg, mut outline) = (0.0f32, 0.0f32, 0usize);
            for y in y0..y1 {
                for x in x0..x1 {
                    let i = (y * ww + x) as usize;
                    if still.data[i] == 0 {
                        continue;
                    }
                    ages.push((time - self.since[i]) as f32);
                    let inner = |dx: i32, dy: i32| {
                        let (nx, ny) = (x as i32 + dx, y as i32 + dy);
                        nx >= 0
                            && ny >= 0
                            && (nx as u32) < ww
                            && (ny as u32) < wh
                            && still.data[(ny as u32 * ww + nx as u32) as usize] != 0
                    };
                    if !(inner(-1, 0) && inner(1, 0) && inner(0, -1) && inner(0, 1)) {
                        outline += 1;
                        edge_now += frame.iter().map(|p| gradient(p, x, y)).sum::<f32>();
                        edge_bg += bg.iter().map(|p| gradient(p, x, y)).sum::<f32>();
                    }
                }
            }
            let too_big = c.area as f32 > MAX_REGION_FRACTION * (ww * wh) as f32;
            let ghost = edge_now < GHOST_EDGE_RATIO * edge_bg;
            let light = ncc(gray, bg[0], (x0, y0, x1, y1)) >= LIGHT_NCC;
            let object =
                outline > 0 && edge_now >= OBJECT_EDGE_RATIO * edge_bg && edge_now >= OBJECT_MIN_EDGE * outline as f32;
            if too_big || ghost || light {
                for y in y0..y1 {
                    for x in x0..x1 {
                        let i = (y * ww + x) as usize;
                        if still.data[i] != 0 {
                            absorb.data[i] = 255;
                        }
                    }
                }
                continue;
            }
            if !object {
                // Not clearly anything: neither reported nor forgotten.
                continue;
            }
            let fill = ages.len() as f32 / ((x1 - x0) * (y1 - y0)).max(1) as f32;
            if ages.is_empty() || fill < MIN_FILL {
                continue;
            }
            let b = BBox::new(
                c.bbox.x1 * scale,
                c.bbox.y1 * scale,
                c.bbox.x2 * scale,
                c.bbox.y2 * scale,
            );
            out.push((b, median(ages) as f64));
        }
        if absorb.data.iter().any(|&v| v != 0) {
            self.bg.absorb(gray, &absorb);
            for (model, plane) in self.chroma.iter_mut().zip(&frame[1..]) {
                model.absorb(plane, &absorb);
            }
        }
        out
    }

    /// Continues known regions with the ones found now; starts new ones; ends those unseen for
    /// [`REGION_GRACE_S`].
    fn track_regions(&mut self, found: Vec<(BBox, f64)>, time: f64) -> StaticUpdate {
        let mut taken = vec![false; self.regions.len()];
        let mut fresh = Vec::new();
        for (b, age) in found {
            let best = self
                .regions
                .iter()
                .enumerate()
                .filter(|(_, r)| overlaps(&r.bbox, &b))
                .max_by(|a, c| a.1.bbox.iou(&b).total_cmp(&c.1.bbox.iou(&b)))
                .map(|(i, _)| i);
            match best {
                // A second piece of a region found in this frame widens it.
                Some(i) if taken[i] => self.regions[i].bbox = union(&self.regions[i].bbox, &b),
                Some(i) => {
                    taken[i] = true;
                    self.regions[i].bbox = b;
                    self.regions[i].last_seen = time;
                }
                None => {
                    fresh.push(StaticRegion {
                        id: self.next_id,
                        bbox: b,
                        since: time - age,
                        last_seen: time,
                    });
                    self.next_id += 1;
                }
            }
        }
        let mut gone = Vec::new();
        self.regions.retain(|r| {
            let keep = time - r.last_seen <= REGION_GRACE_S;
            if !keep {
                gone.push(r.id);
            }
            keep
        });
        self.regions.extend(fresh);
        StaticUpdate {
            present: self.regions.clone(),
            gone,
        }
    }
}

/// Whether a region is large enough to be an object of at least `min_1080` px (1080p
/// reference, scaled by `frame_height / 1080`): its larger side at least that, its smaller side
/// at least half of it (a thin line is no object).
pub fn blob_at_least(b: &BBox, min_1080: f32, frame_height: u32) -> bool {
    let min = min_1080 * frame_height as f32 / 1080.0;
    b.width().max(b.height()) >= min && b.width().min(b.height()) >= min / 2.0
}

/// Two boxes of one region in consecutive frames: enough IoU, or one's centre inside the other.
fn overlaps(a: &BBox, b: &BBox) -> bool {
    let inside = |p: (f32, f32), r: &BBox| p.0 >= r.x1 && p.0 <= r.x2 && p.1 >= r.y1 && p.1 <= r.y2;
    a.iou(b) >= REGION_IOU || inside(a.center(), b) || inside(b.center(), a)
}

/// Two colour-opponent planes, 128-centred: (R − G) / 2 and (B − (R + G) / 2) / 2.
fn opponent_planes(img: &ImageBgr) -> [Plane; 2] {
    let (w, h) = (img.width(), img.height());
    let (mut rg, mut by) = (Plane::new(w, h), Plane::new(w, h));
    let mut i = 0;
    for y in 0..h {
        for px in img.row(y).chunks_exact(3) {
            let (b, g, r) = (px[0] as i32, px[1] as i32, px[2] as i32);
            rg.data[i] = (128 + (r - g) / 2).clamp(0, 255) as u8;
            by.data[i] = (128 + (2 * b - r - g) / 4).clamp(0, 255) as u8;
            i += 1;
        }
    }
    [rg, by]
}

fn union(a: &BBox, b: &BBox) -> BBox {
    BBox::new(a.x1.min(b.x1), a.y1.min(b.y1), a.x2.max(b.x2), a.y2.max(b.y2))
}

/// Normalised cross-correlation of two planes over a rectangle (0 when either is flat).
fn ncc(a: &Plane, b: &Plane, (x0, y0, x1, y1): (u32, u32, u32, u32)) -> f32 {
    if a.data.len() != b.data.len() || x1 <= x0 || y1 <= y0 {
        return 0.0;
    }
    let n = ((x1 - x0) * (y1 - y0)) as f64;
    let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for y in y0..y1 {
        for x in x0..x1 {
            let (va, vb) = (a.get(x, y) as f64, b.get(x, y) as f64);
            sa += va;
            sb += vb;
            saa += va * va;
            sbb += vb * vb;
            sab += va * vb;
        }
    }
    let cov = sab / n - (sa / n) * (sb / n);
    let (var_a, var_b) = (saa / n - (sa / n).powi(2), sbb / n - (sb / n).powi(2));
    if var_a < 4.0 || var_b < 4.0 {
        return 0.0;
    }
    (cov / (var_a * var_b).sqrt()) as f32
}

/// Divides the frame by its exposure gain relative to the background (median ratio over a
/// sample of pixels), so an auto-exposure change does not turn the whole scene foreground.
fn compensate_exposure(gray: &mut Plane, bg: &Plane) {
    let ratios: Vec<f32> = gray
        .data
        .iter()
        .zip(&bg.data)
        .step_by(7)
        .filter(|(_, &b)| b >= 24)
        .map(|(&g, &b)| g as f32 / b as f32)
        .collect();
    if ratios.len() < 16 {
        return;
    }
    let gain = median(ratios);
    if !(gain.is_finite() && gain > 0.2) || (gain - 1.0).abs() < 0.02 {
        return;
    }
    for v in &mut gray.data {
        *v = (*v as f32 / gain).round().clamp(0.0, 255.0) as u8;
    }
}

/// Central-difference gradient magnitude (L1) at an inner pixel; 0 on the border.
fn gradient(p: &Plane, x: u32, y: u32) -> f32 {
    if x == 0 || y == 0 || x + 1 >= p.width || y + 1 >= p.height {
        return 0.0;
    }
    let dx = p.get(x + 1, y) as f32 - p.get(x - 1, y) as f32;
    let dy = p.get(x, y + 1) as f32 - p.get(x, y - 1) as f32;
    dx.abs() + dy.abs()
}

/// 3×3 dilation (joins the fragments of one object).
fn dilate(m: &Plane) -> Plane {
    let (w, h) = (m.width as usize, m.height as usize);
    let mut out = Plane::new(m.width, m.height);
    for y in 0..h {
        for x in 0..w {
            if m.data[y * w + x] == 0 {
                continue;
            }
            for ny in y.saturating_sub(1)..(y + 2).min(h) {
                for nx in x.saturating_sub(1)..(x + 2).min(w) {
                    out.data[ny * w + nx] = 255;
                }
            }
        }
    }
    out
}

/// A frame box grown by `margin` of its size, in work pixels clamped to the work frame.
fn work_rect(b: &BBox, margin: f32, scale: f32, (ww, wh): (u32, u32)) -> (u32, u32, u32, u32) {
    let (mx, my) = (b.width() * margin, b.height() * margin);
    let c = |v: f32, hi: u32| {
        if v.is_finite() {
            (v / scale).clamp(0.0, hi as f32) as u32
        } else {
            0
        }
    };
    (
        c(b.x1 - mx, ww),
        c(b.y1 - my, wh),
        c((b.x2 + mx).ceil(), ww),
        c((b.y2 + my).ceil(), wh),
    )
}

// --- stays in areas -------------------------------------------------------------------------

/// One object's stay in one area.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stay {
    /// Frame time the stay began (the object was there and still).
    pub since: f64,
    /// Frame time the stay was last confirmed.
    pub last_ok: f64,
    /// Latest box of the object (frame pixels).
    pub bbox: BBox,
    pub alarmed: bool,
}

/// Stays of objects (by stay key) in areas (by index), with a grace of `leave_s` seconds before
/// an unconfirmed stay ends.
#[derive(Debug, Clone)]
pub struct StayBook {
    stays: BTreeMap<(u64, usize), Stay>,
    leave_s: f64,
}

impl StayBook {
    pub fn new(leave_s: f64) -> Self {
        Self {
            stays: BTreeMap::new(),
            leave_s,
        }
    }

    /// Object `key` is in area `area`, still since `since`, at `time`: its stay (started now if
    /// new; a stay's start never moves later).
    pub fn confirm(&mut self, key: u64, area: usize, since: f64, bbox: BBox, time: f64) -> &mut Stay {
        let s = self.stays.entry((key, area)).or_insert(Stay {
            since,
            last_ok: time,
            bbox,
            alarmed: false,
        });
        s.last_ok = time;
        s.bbox = bbox;
        s
    }

    /// Ends every stay of the keys in `gone`, and the stays of the keys `observed` in this frame
    /// that were not confirmed for `leave_s` (moving, or out of the area; an object not seen at
    /// all, e.g. hidden, keeps its stay until its key is gone); returns the ended stays that
    /// had alarmed.
    pub fn sweep(&mut self, time: f64, gone: &[u64], observed: &BTreeSet<u64>) -> Vec<((u64, usize), Stay)> {
        let leave_s = self.leave_s;
        let ended: Vec<(u64, usize)> = self
            .stays
            .iter()
            .filter(|(k, s)| gone.contains(&k.0) || (observed.contains(&k.0) && time - s.last_ok > leave_s))
            .map(|(k, _)| *k)
            .collect();
        ended
            .into_iter()
            .filter_map(|k| self.stays.remove(&k).map(|s| (k, s)))
            .filter(|(_, s)| s.alarmed)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(cx: f32, cy: f32, w: f32, h: f32) -> BBox {
        BBox::new(cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0)
    }

    #[test]
    fn jitter_keeps_an_object_still_and_driving_restarts_it() {
        let mut st = StillTracker::new();
        // A parked car (100 px) whose detected box jitters by up to 8 px, one frame off by 40 px.
        let jitter = [0.0, 5.0, -8.0, 3.0, 40.0, -2.0, 6.0, -5.0, 0.0, 7.0];
        let mut last = None;
        for (k, j) in jitter.iter().cycle().take(50).enumerate() {
            let t = k as f64 * 0.5;
            let s = st.observe(t, 1, &bx(300.0 + j, 200.0 - j / 2.0, 100.0, 60.0));
            last = Some(s);
        }
        assert_eq!(
            last,
            Some(Still { key: 1, since: 0.0 }),
            "jitter never restarts the stay"
        );
        // It drives off at 10 px per half second: the stay restarts and keeps restarting.
        for k in 0..20 {
            let t = 25.0 + k as f64 * 0.5;
            last = Some(st.observe(t, 1, &bx(300.0 + 10.0 * k as f32, 200.0, 100.0, 60.0)));
        }
        let s = last.unwrap_or(Still { key: 0, since: 0.0 });
        assert!(s.since > 30.0, "a moving car is not still: since {}", s.since);
    }

    #[test]
    fn a_new_track_at_a_remembered_place_continues_the_stay() {
        let mut st = StillTracker::new();
        for k in 0..10 {
            st.observe(k as f64, 3, &bx(100.0, 100.0, 50.0, 50.0));
        }
        st.lost(3, 10.0);
        assert!(st.expired(12.0).is_empty());
        // Re-detected as track 7 at the same place: same key, same start.
        assert_eq!(
            st.observe(13.0, 7, &bx(102.0, 99.0, 50.0, 50.0)),
            Still { key: 1, since: 0.0 }
        );
        // Elsewhere, a new track is a new stay.
        assert_eq!(
            st.observe(13.0, 8, &bx(400.0, 100.0, 50.0, 50.0)),
            Still { key: 2, since: 13.0 }
        );
        st.lost(8, 14.0);
        assert!(st.expired(14.0 + MEMORY_S).is_empty());
        assert_eq!(st.expired(14.1 + MEMORY_S), vec![2]);
    }

    #[test]
    fn a_track_stolen_by_a_passer_by_leaves_the_stay_at_the_place() {
        let mut st = StillTracker::new();
        for k in 0..10 {
            st.observe(k as f64 * 0.5, 1, &bx(100.0, 100.0, 60.0, 60.0));
        }
        // Track 1 follows a cyclist off to the right: a new stay for it...
        let mut s = Still { key: 0, since: 0.0 };
        for k in 0..8 {
            s = st.observe(5.0 + k as f64 * 0.5, 1, &bx(130.0 + 30.0 * k as f32, 110.0, 60.0, 60.0));
        }
        assert_ne!(s.key, 1);
        // ...and the parked bicycle, found again as track 2, keeps its stay.
        assert_eq!(
            st.observe(9.0, 2, &bx(101.0, 100.0, 58.0, 60.0)),
            Still { key: 1, since: 0.0 }
        );
    }

    #[test]
    fn overlapping_boxes_of_two_classes_are_one_object() {
        let d = |x: f32, score: f32, class_id: u32| Detection {
            bbox: BBox::new(x, 0.0, x + 70.0, 50.0),
            score,
            class_id,
        };
        let kept = one_box_per_object(vec![d(651.0, 0.66, 2), d(652.0, 0.75, 7), d(732.0, 0.8, 2)], 0.6);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[1].class_id, 7);
    }

    fn scene(obj: Option<(u32, u32, u8)>, person: Option<(u32, u32)>) -> ImageBgr {
        let (w, h) = (320u32, 180u32);
        let mut v = Vec::with_capacity((w * h * 3) as usize);
        for y in 0..h {
            for x in 0..w {
                // Floor with a mild texture.
                let mut g = 90u8 + ((x / 8 + y / 8) % 2) as u8 * 6;
                if let Some((ox, oy, c)) = obj {
                    if x >= ox && x < ox + 24 && y >= oy && y < oy + 18 {
                        g = c;
                    }
                }
                if let Some((px, py)) = person {
                    if x >= px && x < px + 16 && y >= py && y < py + 48 {
                        g = 30;
                    }
                }
                v.extend_from_slice(&[g, g, g]);
            }
        }
        ImageBgr::from_packed(w, h, v).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn an_object_put_down_becomes_a_static_region_and_a_standing_person_does_not() {
        let mut sf = StaticForeground::new();
        let mut t = 0.0;
        for _ in 0..10 {
            assert!(sf.update(&scene(None, None), t, &[]).present.is_empty());
            t += 0.5;
        }
        // A bag is put down at t = 5 and a person stands still (detected) elsewhere.
        let person = BBox::new(200.0, 60.0, 216.0, 108.0);
        let mut up = StaticUpdate::default();
        for _ in 0..20 {
            up = sf.update(&scene(Some((60, 100, 200)), Some((200, 60))), t, &[person]);
            t += 0.5;
        }
        assert_eq!(up.present.len(), 1, "{up:?}");
        let r = up.present[0];
        assert!(r.bbox.x1 <= 61.0 && r.bbox.x2 >= 83.0 && r.bbox.y1 <= 101.0, "{r:?}");
        assert!((r.since - 5.0).abs() <= 1.0, "still since {}", r.since);
        // The bag is taken away: the region ends after the grace period.
        let mut ended = Vec::new();
        for _ in 0..20 {
            ended.extend(sf.update(&scene(None, None), t, &[]).gone);
            t += 0.5;
        }
        assert_eq!(ended, vec![r.id]);
    }

    #[test]
    fn an_exposure_change_and_a_ghost_raise_no_region() {
        let mut sf = StaticForeground::new();
        // An object is there from the first frame, then taken away: its ghost is absorbed.
        let mut t = 0.0;
        for _ in 0..4 {
            sf.update(&scene(Some((60, 100, 200)), None), t, &[]);
            t += 0.5;
        }
        let mut seen = 0;
        for _ in 0..30 {
            seen += sf.update(&scene(None, None), t, &[]).present.len();
            t += 0.5;
        }
        assert_eq!(seen, 0, "the ghost became a region");
        // The whole picture darkens by 30 % (auto exposure).
        let dark = {
            let img = scene(None, None);
            let v: Vec<u8> = img.to_packed_vec().iter().map(|&p| (p as f32 * 0.7) as u8).collect();
            ImageBgr::from_packed(img.width(), img.height(), v).unwrap_or_else(|e| panic!("{e}"))
        };
        for _ in 0..20 {
            seen += sf.update(&dark, t, &[]).present.len();
            t += 0.5;
        }
        assert_eq!(seen, 0, "an exposure change became a region");
    }

    #[test]
    fn stays_end_after_the_grace_and_report_only_alarmed_ones() {
        let mut book = StayBook::new(1.0);
        let b = BBox::new(0.0, 0.0, 10.0, 10.0);
        let seen: BTreeSet<u64> = [1, 2].into();
        book.confirm(1, 0, 0.0, b, 0.0).alarmed = true;
        book.confirm(2, 0, 0.0, b, 0.0);
        book.confirm(3, 0, 0.0, b, 0.0).alarmed = true;
        assert!(book.sweep(0.5, &[], &seen).is_empty());
        assert_eq!(book.confirm(1, 0, 3.0, b, 0.6).since, 0.0, "a stay's start never moves");
        let ended = book.sweep(1.2, &[], &seen);
        assert!(
            ended.is_empty(),
            "stay 2 ended but never alarmed; 3 is not seen (hidden)"
        );
        let ended = book.sweep(1.2, &[1, 3], &seen);
        assert_eq!(ended.iter().map(|e| e.0).collect::<Vec<_>>(), vec![(1, 0), (3, 0)]);
    }
}
