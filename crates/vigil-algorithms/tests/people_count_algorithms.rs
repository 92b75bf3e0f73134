//! People-counting algorithms on real clips through the real perceiver (YOLOX-Nano COCO):
//! high-altitude crowd counting (`c-highpoint-crowdcount`) on a high-corner gym camera, with
//! and without detector tiling, and on-duty inspection (`c-staffonduty`) at a standing table.
//!
//! Expected numbers were counted by hand from frames, not from the analyzers:
//! `tools/labels/highpoint_crowd.md` and `tools/labels/staff_on_duty.md`.

mod support;

use std::time::Instant;

use serde_json::{json, Value};
use vigil_algorithms::event_type::{HIGHPOINT_CROWD, OFF_DUTY};

const GYM: &str = "gym_crowd_high_corner.mp4";
const DESK: &str = "standing_desk_people.mp4";

/// The three counted areas of the gym (see the labels file), in `target_roi` order.
const GYM_ROI: &str = r#"{"polygons":[
  {"name":"floor","data":[[240,225],[480,225],[480,360],[240,360]]},
  {"name":"tables","data":[[60,140],[170,140],[170,215],[235,215],[235,360],[60,360]]},
  {"name":"seating","data":[[170,120],[385,120],[385,205],[170,205]]}]}"#;
const AREAS: [&str; 3] = ["floor", "tables", "seating"];
/// Alarm thresholds per area (`alarm_threshold` "3 5 15").
const THRESHOLDS: [i64; 3] = [3, 5, 15];

/// Hand counts per frame (clip second): (low, high) for floor, tables, seating.
const HAND: [(f64, [(i64, i64); 3]); 6] = [
    (5.0, [(3, 3), (6, 6), (9, 12)]),
    (17.0, [(2, 2), (6, 7), (13, 16)]),
    (29.0, [(2, 2), (5, 6), (17, 23)]),
    (41.0, [(1, 1), (3, 5), (19, 25)]),
    (53.0, [(0, 0), (5, 7), (20, 28)]),
    (65.0, [(3, 3), (5, 7), (22, 30)]),
];

/// Counts per area of one classic-mode message.
fn area_counts(data: &Value) -> [i64; 3] {
    let mut out = [0; 3];
    for item in data["event_set"].as_array().expect("event_set") {
        let name = item["polygon_name"].as_str().expect("polygon_name");
        let i = AREAS.iter().position(|a| *a == name).expect("known area");
        out[i] = item["crowd_count"].as_i64().expect("crowd_count");
    }
    out
}

fn classic_config(tiles: u8) -> Value {
    json!({
        "target_roi": GYM_ROI,
        "alarm_threshold": THRESHOLDS.map(|t| t.to_string()).join(" "),
        "sampling_time_interval": 1,
        "detector_tiles": tiles,
    })
}

/// What one gym run produced at the hand-counted frames.
struct CrowdRun {
    /// (second, counts per area) at the hand-counted frames.
    counts: Vec<(f64, [i64; 3])>,
    /// Wall time per analysed frame (decode + perception + analysis), ms.
    ms_per_frame: f64,
    /// Grid-mode messages of the same frames (tiled run only).
    grid: Vec<(f64, Value)>,
    classic: Vec<(f64, Value)>,
}

fn crowd_run(tiles: u8, with_grid: bool) -> CrowdRun {
    let mut analyzers = vec![support::analyzer("c-highpoint-crowdcount-edge", &classic_config(tiles))];
    if with_grid {
        // Grid mode on the same frames: 2x2 cells, counting only inside the same polygons.
        analyzers.push(support::analyzer(
            "c-highpoint-crowdcount-edge",
            &json!({"target_roi": GYM_ROI, "grid_x_number": 2, "grid_y_number": 2, "alarm_threshold": "12",
                    "sampling_time_interval": 1, "detector_tiles": tiles}),
        ));
    }
    let start = Instant::now();
    let mut timelines = support::run(&support::media(GYM), 1.0, &mut analyzers);
    let frames = 75.0;
    let ms_per_frame = start.elapsed().as_secs_f64() * 1000.0 / frames;
    assert!(timelines.iter().flatten().all(|(_, e)| e.event_type == HIGHPOINT_CROWD));
    let classic: Vec<(f64, Value)> = timelines.remove(0).into_iter().map(|(t, e)| (t, e.data)).collect();
    let grid = if with_grid {
        timelines.remove(0).into_iter().map(|(t, e)| (t, e.data)).collect()
    } else {
        Vec::new()
    };
    assert!(classic.len() >= 74, "one message per analysed frame: {}", classic.len());
    let at = |t: f64| {
        classic
            .iter()
            .find(|(s, _)| (s - t).abs() < 0.01)
            .map(|(_, d)| area_counts(d))
            .expect("a message at every frame")
    };
    CrowdRun {
        counts: HAND.iter().map(|(t, _)| (*t, at(*t))).collect(),
        ms_per_frame,
        grid,
        classic,
    }
}

/// (mean absolute count error per area-frame, count recall) against the hand counts.
fn score_counts(run: &CrowdRun, areas: &[usize]) -> (f64, f64) {
    let (mut err, mut found, mut truth, mut n) = (0.0, 0.0, 0.0, 0.0);
    for ((_, hand), (_, got)) in HAND.iter().zip(&run.counts) {
        for &a in areas {
            let (lo, hi) = hand[a];
            let g = got[a];
            err += if g < lo {
                (lo - g) as f64
            } else {
                (g - hi).max(0) as f64
            };
            let mid = (lo + hi) as f64 / 2.0;
            found += (g as f64).min(mid);
            truth += mid;
            n += 1.0;
        }
    }
    (err / n, if truth > 0.0 { found / truth } else { 1.0 })
}

/// Per area-frame alarm decisions (count ≥ threshold) where the hand range decides them
/// (entirely above or below the threshold): (precision, recall, decided cases).
fn alarm_scores(run: &CrowdRun) -> (f64, f64, usize) {
    let (mut tp, mut fp, mut fneg, mut cases) = (0, 0, 0, 0);
    for ((_, hand), (_, got)) in HAND.iter().zip(&run.counts) {
        for a in 0..3 {
            let (lo, hi) = hand[a];
            let thr = THRESHOLDS[a];
            let truth = if lo >= thr {
                true
            } else if hi < thr {
                false
            } else {
                continue;
            };
            cases += 1;
            match (truth, got[a] >= thr) {
                (true, true) => tp += 1,
                (false, true) => fp += 1,
                (true, false) => fneg += 1,
                (false, false) => {}
            }
        }
    }
    let p = if tp + fp == 0 {
        1.0
    } else {
        tp as f64 / (tp + fp) as f64
    };
    let r = if tp + fneg == 0 {
        1.0
    } else {
        tp as f64 / (tp + fneg) as f64
    };
    (p, r, cases)
}

#[test]
fn highpoint_crowd_counts_with_and_without_tiling() {
    let plain = crowd_run(0, false);
    let tiled2 = crowd_run(2, false);
    // The default (3 tiles per side), with a grid-mode task on the same frames.
    let tiled = crowd_run(3, true);
    for (name, run) in [("tiles 0", &plain), ("tiles 2", &tiled2), ("tiles 3", &tiled)] {
        let (err_all, recall_all) = score_counts(run, &[0, 1, 2]);
        let per_area: Vec<String> = (0..3)
            .map(|a| {
                let (e, r) = score_counts(run, &[a]);
                format!("{} err {e:.2} recall {r:.2}", AREAS[a])
            })
            .collect();
        let (p, r, cases) = alarm_scores(run);
        eprintln!(
            "{name}: {:.0} ms/frame; counts {:?}; all areas: mean error {err_all:.2}, count recall {recall_all:.2}; \
             {}; alarms P {p:.2} R {r:.2} over {cases} decided cases",
            run.ms_per_frame,
            run.counts,
            per_area.join(", ")
        );
    }
    let (err0, rec0) = score_counts(&plain, &[0, 1, 2]);
    let (_, rec2) = score_counts(&tiled2, &[0, 1, 2]);
    let (err3, rec3) = score_counts(&tiled, &[0, 1, 2]);
    // Tiling finds small seated people the whole-frame pass misses; finer tiles find more.
    assert!(
        rec2 >= rec0 + 0.05,
        "2x2 tiles should raise count recall: {rec0:.2} -> {rec2:.2}"
    );
    assert!(
        rec3 >= rec0 + 0.12,
        "3x3 tiles should raise count recall: {rec0:.2} -> {rec3:.2}"
    );
    assert!(
        err3 < err0,
        "tiling should lower the count error: {err0:.2} -> {err3:.2}"
    );
    // The floor people are large: every run finds them, and none invents people there.
    for run in [&plain, &tiled2, &tiled] {
        let (err_floor, _) = score_counts(run, &[0]);
        assert!(err_floor <= 0.5, "floor count error {err_floor:.2}");
    }
    // Alarms (count ≥ threshold) are never raised where the hand count is below the threshold;
    // they are missed where the detector under-counts (see the docs' accuracy row).
    let (p, r, cases) = alarm_scores(&tiled);
    let (_, r0, _) = alarm_scores(&plain);
    assert!(cases >= 12, "decided alarm cases: {cases}");
    assert!(p >= 0.9, "tiled alarm precision {p:.2}");
    assert!(r >= r0, "tiling must not lose alarms: {r0:.2} -> {r:.2}");

    // Grid mode on the same frames: cells follow the spec arithmetic (480x360 in 2x2: 240 and
    // 180 px) and, counting only inside the same polygons, the total equals the classic total.
    let mut compared = 0;
    for (t, grid) in &tiled.grid {
        let classic = &tiled
            .classic
            .iter()
            .find(|(s, _)| (s - t).abs() < 0.01)
            .expect("same frame")
            .1;
        assert_eq!(
            grid["total_crowd_count"], classic["total_crowd_count"],
            "at {t} s: {grid}\n{classic}"
        );
        let mut sum = 0;
        for cell in grid["event_set"].as_array().expect("cells") {
            let name = cell["polygon_name"].as_str().expect("cell name");
            let expected = match name {
                "grid_0_0" => json!([[0, 0], [240, 0], [240, 180], [0, 180]]),
                "grid_0_1" => json!([[240, 0], [480, 0], [480, 180], [240, 180]]),
                "grid_1_0" => json!([[0, 180], [240, 180], [240, 360], [0, 360]]),
                "grid_1_1" => json!([[240, 180], [480, 180], [480, 360], [240, 360]]),
                other => panic!("unexpected cell {other}"),
            };
            assert_eq!(cell["polygon"], expected);
            sum += cell["crowd_count"].as_i64().expect("count");
        }
        assert_eq!(Some(sum), grid["total_crowd_count"].as_i64());
        compared += 1;
    }
    assert!(compared >= 74, "grid messages compared: {compared}");
}

/// Alarm times of an on-duty timeline.
fn alarm_times(timeline: &support::Timeline) -> Vec<f64> {
    timeline
        .iter()
        .filter(|(_, e)| e.event_type == OFF_DUTY)
        .map(|(t, _)| *t)
        .collect()
}

#[test]
fn staff_on_duty_alarms_once_per_absence_at_two_placements() {
    let desk = r#"{"polygons":[{"name":"desk","data":[[330,280],[600,280],[600,432],[330,432]]}]}"#;
    let aisle = r#"{"polygons":[{"name":"desk_and_aisle","data":[[250,250],[767,250],[767,431],[250,431]]}]}"#;
    // Placement 1 with the default check period and threshold (2 s, 2 s); one person is enough.
    let a1 = support::analyzer(
        "c-staffonduty-edge",
        &json!({"target_roi": desk, "key_region_person_count": 1}),
    );
    let a2 = support::analyzer(
        "c-staffonduty-edge",
        &json!({"target_roi": aisle, "key_region_person_count": 1, "key_region_detect_interval": 1,
                "key_region_detect_threshold": 2}),
    );
    let timelines = support::run(&support::media(DESK), 2.0, &mut [a1, a2]);
    // Due times and tolerances from tools/labels/staff_on_duty.md.
    let cases: [(&str, [f64; 7], f64); 2] = [
        ("desk", [3.0, 22.0, 47.0, 72.0, 88.9, 121.8, 138.1], 2.0),
        ("desk_and_aisle", [2.5, 21.9, 46.9, 71.9, 88.9, 121.8, 138.0], 1.5),
    ];
    for ((name, due, tol), timeline) in cases.iter().zip(&timelines) {
        let got = alarm_times(timeline);
        let (tp, precision, recall, errors) = support::score(&got, due, *tol);
        eprintln!("{name}: alarms at {got:?}; {tp} matched, precision {precision:.2}, recall {recall:.2}, time errors {errors:.1?}");
        assert!(
            precision >= 0.9 && recall >= 0.9,
            "{name}: precision {precision:.2} recall {recall:.2}"
        );
        for (_, e) in timeline {
            let items = e.data["event_set"].as_array().expect("event_set");
            assert_eq!(items.len(), 1);
            assert_eq!(items[0]["polygon_name"], *name);
            assert_eq!(items[0]["counter"], 0, "the post is empty when it alarms: {}", e.data);
            assert!(e.with_image);
        }
    }
}

#[test]
fn staff_on_duty_off_switch_and_unreachable_count() {
    let desk = r#"{"polygons":[{"name":"desk","data":[[330,280],[600,280],[600,432],[330,432]]}]}"#;
    let off = support::analyzer(
        "c-staffonduty-edge",
        &json!({"target_roi": desk, "key_region_detection_sw": 0}),
    );
    // The default minimum of 2 people is never met by one person at a time: one alarm for the
    // whole clip (the post is never staffed), listing who is there.
    let two = support::analyzer("c-staffonduty-edge", &json!({"target_roi": desk}));
    let timelines = support::run(&support::media(DESK), 1.0, &mut [off, two]);
    assert!(
        timelines[0].is_empty(),
        "switched off: {:?}",
        alarm_times(&timelines[0])
    );
    let got = alarm_times(&timelines[1]);
    assert_eq!(got.len(), 1, "{got:?}");
    let counter = timelines[1][0].1.data["event_set"][0]["counter"].as_i64();
    assert!(matches!(counter, Some(0..=1)), "{counter:?}");
}
