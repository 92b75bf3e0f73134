//! Labels that need time: a frozen picture, a shaking view, a view that moved, a scene that
//! was replaced (within the window, or against the previous probe's reference).

use super::motion::{align, match_views};
use super::thumb::{Thumb, View};
use super::{mean_abs_diff_sparse, QualityLabel, QualityThresholds};
use crate::frame::Frame;

/// Largest shift looked for between consecutive frames (fraction of the picture).
const PAIR_MAX_SHIFT: f64 = 0.125;
/// Largest shift looked for after a cut and against the previous probe.
const VIEW_MAX_SHIFT: f64 = 0.3;

fn debug() -> bool {
    std::env::var_os("VIGIL_QUALITY_DEBUG").is_some()
}

/// Window labels. `usable[i]` marks frames whose view can be compared (not uniform, not
/// garbled); the others neither move nor cut.
pub fn window_labels(
    frames: &[Frame],
    thumbs: &[Thumb],
    usable: &[bool],
    uniform_share: f64,
    previous: Option<&View>,
    th: &QualityThresholds,
) -> Vec<QualityLabel> {
    let mut labels = Vec::new();
    if uniform_share < 0.5 && frozen(frames, th) {
        labels.push(QualityLabel::ScreenFreeze);
    }
    let content: Vec<&View> = thumbs
        .iter()
        .zip(usable)
        .filter(|(_, &u)| u)
        .map(|(t, _)| &t.view)
        .collect();
    // Consecutive shifts (fractions), and cuts judged by a wider search.
    let mut steps = Vec::new();
    let mut moved_by_cut = false;
    let mut upheaval = false;
    for p in content.windows(2) {
        let m = align(p[0], p[1], PAIR_MAX_SHIFT);
        if debug() {
            eprintln!("pair {m:?}");
        }
        if m.ncc < th.cut_max_ncc {
            let m = match_views(p[0], p[1], VIEW_MAX_SHIFT);
            if debug() {
                eprintln!("  cut {m:?}");
            }
            if m.ncc >= th.same_view_min_ncc {
                // The same scene: moved if it is best matched shifted or zoomed; otherwise
                // something big moved in front of a still camera.
                moved_by_cut |= m.zoom != 1.0 || m.shift() >= th.move_min_shift;
                steps.push((m.dx, m.dy));
            } else {
                upheaval = true;
                steps.push((0.0, 0.0));
            }
        } else {
            steps.push((m.dx, m.dy));
        }
    }
    let big = |v: &(f64, f64)| v.0.abs().max(v.1.abs()) >= th.jitter_min_shift;
    let moves = steps.iter().filter(|v| big(v)).count() as f64;
    let path: f64 = steps.iter().map(|v| v.0.hypot(v.1)).sum();
    let net = steps.iter().fold((0.0, 0.0), |a, v| (a.0 + v.0, a.1 + v.1));
    // A camera knocked or re-aimed jumps; a slow pan (steps below the jitter size) is not
    // counted as a move.
    let jumps = steps
        .iter()
        .filter(|v| big(v))
        .fold((0.0, 0.0), |a, v| (a.0 + v.0, a.1 + v.1));
    let jitter = moves >= th.jitter_min_moves && path >= 2.5 * net.0.hypot(net.1);
    if jitter {
        labels.push(QualityLabel::ScreenJitter);
    }
    let mut moved = !jitter && (moved_by_cut || jumps.0.abs().max(jumps.1.abs()) >= th.move_min_shift);
    // Against the previous probe: the first usable frame vs the reference.
    if let (Some(reference), Some(first)) = (previous, content.first()) {
        let still = align(reference, first, 0.0);
        let m = if still.ncc >= th.same_view_min_ncc {
            still
        } else {
            match_views(reference, first, VIEW_MAX_SHIFT)
        };
        if debug() {
            eprintln!("ref {m:?}");
        }
        if m.ncc >= th.same_view_min_ncc {
            moved |= m.shift() >= th.move_min_shift || m.zoom != 1.0;
        } else if m.ncc < th.upheaval_max_ncc {
            upheaval = true;
        }
    }
    if moved {
        labels.push(QualityLabel::ScreenMovement);
    }
    if upheaval {
        labels.push(QualityLabel::SceneUpheaval);
    }
    labels
}

/// At least `freeze_min_share` of the consecutive pairs nearly identical (mean absolute
/// difference below `freeze_max_mad`; one key-frame refresh of a frozen picture may differ
/// more), over at least `freeze_min_span_secs`. A frozen picture differs only by the encoder
/// refining it (< 0.003 measured); a still scene encoded live changes more (≥ 0.009 measured).
fn frozen(frames: &[Frame], th: &QualityThresholds) -> bool {
    if frames.len() < 2 {
        return false;
    }
    let span = frames[frames.len() - 1]
        .media_time()
        .saturating_sub(frames[0].media_time())
        .as_secs_f64();
    if span < th.freeze_min_span_secs {
        return false;
    }
    let still = frames
        .windows(2)
        .filter(|p| {
            let d = mean_abs_diff_sparse(&p[0], &p[1]);
            if debug() {
                eprintln!("mad {d:?}");
            }
            d.is_some_and(|d| d < th.freeze_max_mad)
        })
        .count();
    still as f64 >= th.freeze_min_share * (frames.len() - 1) as f64
}
