//! ByteTrack on the real pedestrian clip: the number of distinct track ids must stay close to
//! the number of people who really pass (counted by hand, see tests/data/pedestrians_people.md).

mod common;

use std::collections::BTreeMap;

use common::*;
use vigil_vision::detect::{coco, YoloxDetector};
use vigil_vision::render::Canvas;
use vigil_vision::tracker::{ByteTracker, TrackerConfig};
use vigil_vision::{BBox, BackendConfig, DetectorConfig};

/// Passages of people through the clip (3 visible at frame 0 + 16 who walk into view),
/// counted by looking at it; how is written in tests/data/pedestrians_people.md.
const PEOPLE_IN_CLIP: usize = 19;

/// Per id: first frame, last frame, hits, first box, last box, thumbnails.
type Seen = (usize, usize, u32, BBox, BBox, Vec<vigil_vision::ImageBgr>);

#[test]
fn distinct_ids_close_to_people_count_on_pedestrian_clip() {
    let models = model_dir();
    let det = YoloxDetector::coco(
        &models,
        &BackendConfig::ort(2),
        DetectorConfig {
            conf_threshold: 0.1,
            classes: Some(vec![coco::PERSON]),
            ..Default::default()
        },
    )
    .expect("detector");
    // 10 fps clip: `for_fps` keeps lost tracks 3 s (people walk behind the sign post for ~2 s).
    let cfg = TrackerConfig {
        frame_size: Some((768.0, 576.0)),
        ..TrackerConfig::for_fps(10.0)
    };
    assert_eq!(cfg.max_lost_frames, 30);
    let mut tracker = ByteTracker::new(cfg);
    // Plain ByteTrack (no re-find stage) on the same detections, for comparison.
    let mut plain = ByteTracker::new(TrackerConfig {
        max_lost_frames: 30,
        refind_radius: 0.0,
        ..TrackerConfig::default()
    });
    let dump = std::env::var_os("VIGIL_TRACK_DUMP").map(std::path::PathBuf::from);
    // id -> (first frame, last frame, hits, first box, last box, thumbnail crops)
    let mut seen: BTreeMap<u64, Seen> = BTreeMap::new();
    let mut traj: Vec<String> = Vec::new();
    let n = for_each_frame(&media("pedestrians_vtest.mp4"), |i, frame| {
        let dets = det.detect_timed(&frame).expect("detect").0;
        plain.update(&dets);
        for t in tracker.update(&dets) {
            let e = seen
                .entry(t.id)
                .or_insert((i, i, 0, t.det_bbox, t.det_bbox, Vec::new()));
            e.1 = i;
            e.2 += 1;
            e.4 = t.det_bbox;
            if dump.is_some() && i % 10 == 0 {
                traj.push(format!(
                    "f{i} id{} ({:.0},{:.0})",
                    t.id,
                    t.det_bbox.anchor().0,
                    t.det_bbox.anchor().1
                ));
            }
            if dump.is_some() && (e.2 == 1 || e.2.is_multiple_of(25)) && e.5.len() < 4 {
                let b = t.det_bbox;
                if let Ok(c) = frame.crop(
                    b.x1 as i32,
                    b.y1 as i32,
                    b.width().max(4.0) as u32,
                    b.height().max(4.0) as u32,
                ) {
                    if let Ok(c) = c.resize(40, 96) {
                        e.5.push(c);
                    }
                }
            }
        }
    });
    assert_eq!(n, 795);
    let ids = tracker.ids_issued() as usize;
    let long = seen.values().filter(|v| v.2 >= 10).count();
    eprintln!(
        "{n} frames: {ids} track ids issued ({long} tracked for >= 10 frames); plain ByteTrack without re-find: {} ids; people who pass (hand count): {PEOPLE_IN_CLIP}",
        plain.ids_issued()
    );
    if let Some(dir) = dump {
        // Contact sheet: one row per track id, up to 4 crops, plus a text summary.
        std::fs::create_dir_all(&dir).expect("dump dir");
        let mut summary = String::new();
        let rows: Vec<_> = seen.iter().collect();
        for chunk in rows.chunks(16).enumerate() {
            let (sheet_no, chunk) = chunk;
            let mut c = Canvas {
                width: 16 * 44,
                height: 4 * 100,
                data: vec![255; 16 * 44 * 4 * 100 * 3],
            };
            for (col, (id, v)) in chunk.iter().enumerate() {
                summary.push_str(&format!(
                    "id {id}: frames {}-{} hits {} first {:?} last {:?}\n",
                    v.0, v.1, v.2, v.3, v.4
                ));
                for (row, img) in v.5.iter().enumerate() {
                    for y in 0..96u32 {
                        let src = img.row(y);
                        let off = (((row as u32 * 100 + y) * c.width + col as u32 * 44) * 3) as usize;
                        c.data[off..off + src.len()].copy_from_slice(src);
                    }
                }
            }
            let jpeg = c.encode_jpeg(90).expect("jpeg");
            std::fs::write(dir.join(format!("tracks_{sheet_no:02}.jpg")), jpeg).expect("write sheet");
        }
        std::fs::write(dir.join("tracks.txt"), summary).expect("write summary");
        std::fs::write(dir.join("trajectories.txt"), traj.join("\n")).expect("write trajectories");
    }
    // Ids must not explode (fragmentation / flicker) nor merge people (too few).
    assert!(
        ids as f64 <= PEOPLE_IN_CLIP as f64 * 1.3,
        "{ids} ids for {PEOPLE_IN_CLIP} people: too many id switches / fragments"
    );
    assert!(
        long as f64 >= PEOPLE_IN_CLIP as f64 * 0.85,
        "{long} long tracks for {PEOPLE_IN_CLIP} people: people were missed or merged"
    );
    // The re-find stage must reduce fragmentation compared with plain ByteTrack.
    assert!(
        ids < plain.ids_issued() as usize,
        "re-find did not reduce ids ({ids} vs {})",
        plain.ids_issued()
    );
}
