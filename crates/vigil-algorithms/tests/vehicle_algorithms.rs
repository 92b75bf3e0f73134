//! The vehicle analyzers (vehicle detection, vehicle counting, wrong-way driving, speeding) on
//! real clips through the real perceiver (YOLOX-Nano COCO), at the rate they ask for (10 fps).
//!
//! Ground truth was counted by hand from the frames (tools/labels/vehicle_detection.md): in
//! `carpark_cars.mp4` (768x432, seen steeply from above) four cars drive through, one at a time
//! or side by side:
//! - A, white Prius, drives up the picture (x ≈ 290–440) from 4.5 s to 8.3 s;
//! - B, silver Prius, drives down (x ≈ 100–250) from 14.4 s to 18.3 s;
//! - C, red saloon, drives up (x ≈ 320–480) from 14.9 s to 18.8 s, passing B;
//! - D, white sports car, drives down (x ≈ 130–300) from 25.2 s to 27.7 s.
//!
//! Measured limitation: YOLOX-Nano (COCO) hardly sees cars from straight above. Over the whole
//! clip it scores A, B and D at most 0.42, mostly as `airplane`, and not at all while they cross
//! the middle of the picture; only C is detected steadily (as `bus`, 0.6–0.83) from 17.0 s. The
//! car-park tests therefore check that every alarm is right (precision 1, right car, direction,
//! speed) and that C is found; recall against the four hand-counted cars is printed, and is what
//! the detector allows (tools/labels/vehicle_detection.md). `pedestrians_vtest.mp4` (parked van
//! and car, seen from a first floor, detected at 0.65–0.8) checks presence and the type votes.
//!
//! Every carpark analyzer of this file runs in one pass over the clip (one detector run per
//! frame, as on one camera); the tests read their own timelines.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde_json::{json, Value};
use support::Timeline;
use vigil_algorithms::event_type::{HIGHPOINT_SPEEDING, HIGHPOINT_VEHICLE_COUNT, VEHICLE_DETECTION, WRONG_WAY};
use vigil_algorithms::{validate_common, Catalog, ConfigErrorKind};

const FPS: f64 = 5.0;
/// Matching tolerance between an alarm and a hand-counted event (s).
const TOLERANCE: f64 = 1.0;
/// Index of car C in [`CARS`], the one car YOLOX-Nano detects from above.
const C: usize = 2;

/// One hand-labelled car: direction (0 down, 1 up), when its anchor (the bottom edge of the car
/// in the picture) crosses y = 216 and y = 120, and when it enters the band 150 ≤ y ≤ 300.
struct Car {
    name: &'static str,
    direction: i64,
    cross_216: f64,
    cross_120: f64,
    enters_band: f64,
    /// Bottom edge of the car in the picture (px) over time (s), read off the frames.
    anchor_y: &'static [(f64, f64)],
}

const CARS: [Car; 4] = [
    Car {
        name: "A",
        direction: 1,
        cross_216: 7.00,
        cross_120: 7.63,
        enters_band: 6.55,
        anchor_y: &[
            (6.08, 420.0),
            (6.32, 352.0),
            (6.56, 298.0),
            (6.80, 250.0),
            (7.04, 212.0),
            (7.28, 172.0),
            (7.52, 136.0),
            (7.76, 100.0),
            (8.00, 68.0),
            (8.24, 42.0),
        ],
    },
    Car {
        name: "B",
        direction: 0,
        cross_216: 15.83,
        cross_120: 15.28,
        enters_band: 15.46,
        anchor_y: &[
            (14.56, 12.0),
            (14.72, 38.0),
            (14.88, 60.0),
            (15.04, 83.0),
            (15.20, 107.0),
            (15.36, 132.0),
            (15.52, 160.0),
            (15.68, 188.0),
            (15.84, 217.0),
            (16.00, 251.0),
            (16.16, 283.0),
            (16.32, 320.0),
            (16.48, 358.0),
            (16.64, 405.0),
        ],
    },
    Car {
        name: "C",
        direction: 1,
        cross_216: 17.52,
        cross_120: 18.17,
        enters_band: 17.07,
        anchor_y: &[
            (16.64, 388.0),
            (16.88, 340.0),
            (17.12, 290.0),
            (17.36, 246.0),
            (17.60, 200.0),
            (17.84, 166.0),
            (18.08, 132.0),
            (18.32, 100.0),
            (18.56, 70.0),
            (18.80, 40.0),
        ],
    },
    Car {
        name: "D",
        direction: 0,
        cross_216: 26.11,
        cross_120: 25.75,
        enters_band: 25.88,
        anchor_y: &[
            (25.36, 35.0),
            (25.52, 68.0),
            (25.68, 105.0),
            (25.84, 140.0),
            (26.00, 183.0),
            (26.16, 230.0),
            (26.32, 280.0),
            (26.48, 340.0),
            (26.64, 392.0),
        ],
    },
];

/// The car-park calibration (tools/labels/overspeed.md): a pitched-camera map fitted to the
/// cars' known widths and lengths, written as four picture points and their road positions.
const CALIBRATION: &str = r#"{"image_points": [[84, 30], [684, 30], [684, 400], [84, 400]],
    "ground_points_m": [[-4.63, 0.70], [4.63, 0.70], [3.39, 6.79], [-3.39, 6.79]]}"#;

/// Road position along the picture's y axis (m) of picture row `y` under [`CALIBRATION`]
/// (the same map in closed form: `Y = 0.0239 y / (1 + 0.00102 y)`).
fn road_y(y: f64) -> f64 {
    0.0239 * y / (1.0 + 0.00102 * y)
}

fn line(y: i64) -> String {
    format!(r#"{{"data":[[0,{y}],[768,{y}]]}}"#)
}

fn typed_line(y: i64, t: i64) -> String {
    format!(r#"{{"data":[[0,{y}],[768,{y}]],"properties":{{"type":{t}}}}}"#)
}

fn roi(lines: &[String], polygons: &[&str]) -> String {
    format!(
        r#"{{"lines":[{}],"polygons":[{}]}}"#,
        lines.join(","),
        polygons.join(",")
    )
}

fn arrow(x1: i64, y1: i64, x2: i64, y2: i64) -> String {
    format!(r#"{{"data":[[{x1},{y1}],[{x2},{y2}]]}}"#)
}

/// The carpark tasks: name, service, config.
fn carpark_tasks() -> Vec<(&'static str, &'static str, Value)> {
    let band = r#"{"data":[[0,150],[768,150],[768,300],[0,300]],"name":"band"}"#;
    let cal: Value = serde_json::from_str(CALIBRATION).expect("calibration");
    vec![
        (
            "det_216",
            "c-vehicle-detection-edge",
            json!({"target_roi": roi(&[line(216)], &[])}),
        ),
        (
            "det_120",
            "c-vehicle-detection-edge",
            json!({"target_roi": roi(&[line(120)], &[])}),
        ),
        (
            "det_typed",
            "c-vehicle-detection-edge",
            json!({"target_roi": roi(&[typed_line(216, 0), typed_line(120, 1)], &[])}),
        ),
        (
            "det_bus_only",
            "c-vehicle-detection-edge",
            json!({"target_roi": roi(&[line(216)], &[]), "output_vehicle_type": "7"}),
        ),
        (
            "det_car_only",
            "c-vehicle-detection-edge",
            json!({"target_roi": roi(&[line(216)], &[]), "output_vehicle_type": "0"}),
        ),
        (
            "det_band",
            "c-vehicle-detection-edge",
            json!({"target_roi": roi(&[], &[band])}),
        ),
        (
            "count_216_10s",
            "c-vehicle-statistics-edge",
            json!({"target_roi": roi(&[line(216)], &[]), "count_interval": 10}),
        ),
        (
            "count_120_5s",
            "c-vehicle-statistics-edge",
            json!({"target_roi": roi(&[line(120)], &[]), "count_interval": 5}),
        ),
        (
            "count_frame_10s",
            "c-vehicle-statistics-edge",
            json!({"count_interval": 10}),
        ),
        (
            "wrong_down",
            "c-retrograde-detection-edge",
            json!({"target_roi": roi(&[arrow(384, 50, 384, 380)], &[])}),
        ),
        (
            "wrong_up",
            "c-retrograde-detection-edge",
            json!({"target_roi": roi(&[arrow(384, 380, 384, 50)], &[])}),
        ),
        (
            "wrong_two_lanes_ok",
            "c-retrograde-detection-edge",
            json!({"target_roi": roi(&[arrow(200, 50, 200, 380), arrow(440, 380, 440, 50)], &[])}),
        ),
        (
            "wrong_two_lanes_swapped",
            "c-retrograde-detection-edge",
            json!({"target_roi": roi(&[arrow(200, 380, 200, 50), arrow(440, 50, 440, 380)], &[])}),
        ),
        (
            "speed_5",
            "c-highpoint-overspeed-edge",
            json!({"calibration": cal, "speed_limit": 5}),
        ),
        (
            "speed_14",
            "c-highpoint-overspeed-edge",
            json!({"calibration": cal, "speed_limit": 14}),
        ),
    ]
}

/// Runs every carpark task over the clip at `fps`.
fn run_carpark(fps: f64) -> BTreeMap<&'static str, Timeline> {
    let tasks = carpark_tasks();
    let mut analyzers: Vec<_> = tasks.iter().map(|(_, s, c)| support::analyzer(s, c)).collect();
    let timelines = support::run(&support::media("carpark_cars.mp4"), fps, &mut analyzers);
    tasks.iter().map(|(n, _, _)| *n).zip(timelines).collect()
}

fn carpark() -> &'static BTreeMap<&'static str, Timeline> {
    static RUN: OnceLock<BTreeMap<&'static str, Timeline>> = OnceLock::new();
    RUN.get_or_init(|| run_carpark(FPS))
}

fn timeline(name: &str) -> &'static Timeline {
    &carpark()[name]
}

/// (time, item) of every `vehicles[]` item of `event_type`.
fn vehicles(tl: &Timeline, event_type: u64) -> Vec<(f64, Value)> {
    support::items(tl, event_type, None)
}

/// Scores alarms against hand-counted (car, time) events and prints the row. Returns precision,
/// recall, and for each alarm the index of the car it matched (nearest hand time within
/// [`TOLERANCE`]).
fn score(what: &str, items: &[(f64, Value)], truth: &[(usize, f64)]) -> (f64, f64, Vec<Option<usize>>) {
    let produced: Vec<f64> = items.iter().map(|(t, _)| *t).collect();
    let hand: Vec<f64> = truth.iter().map(|(_, t)| *t).collect();
    let (tp, p, r, errors) = support::score(&produced, &hand, TOLERANCE);
    eprintln!(
        "{what}: hand {} produced {} matched {tp} P {p:.2} R {r:.2} time errors {errors:.2?} (at {produced:.2?})",
        hand.len(),
        produced.len()
    );
    let cars = produced
        .iter()
        .map(|t| {
            truth
                .iter()
                .filter(|(_, h)| (h - t).abs() <= TOLERANCE)
                .min_by(|a, b| (a.1 - t).abs().total_cmp(&(b.1 - t).abs()))
                .map(|(c, _)| *c)
        })
        .collect();
    (p, r, cars)
}

/// The common assertions of a car-park alarm row: no false alarm, C found, each alarm's
/// `direction` that of its car, one alarm per track.
fn check_row(what: &str, items: &[(f64, Value)], truth: &[(usize, f64)], must_find_c: bool) {
    let (p, _, cars) = score(what, items, truth);
    assert!(p >= 0.999, "{what}: every alarm is a hand-counted event");
    if must_find_c {
        assert!(
            cars.contains(&Some(C)),
            "{what}: car C, which the detector sees, is found"
        );
    }
    for ((_, v), car) in items.iter().zip(&cars) {
        let car = car.expect("matched");
        assert_eq!(
            v["direction"], CARS[car].direction,
            "{what}: direction of car {}",
            CARS[car].name
        );
    }
    let ids: BTreeSet<&str> = items.iter().filter_map(|(_, v)| v["detection_id"].as_str()).collect();
    assert_eq!(ids.len(), items.len(), "{what}: one alarm per track");
}

fn all_cars(f: impl Fn(&Car) -> f64) -> Vec<(usize, f64)> {
    CARS.iter().enumerate().map(|(i, c)| (i, f(c))).collect()
}

#[test]
fn vehicle_detection_reports_crossing_cars_once_with_their_direction() {
    for (name, truth) in [
        ("det_216", all_cars(|c| c.cross_216)),
        ("det_120", all_cars(|c| c.cross_120)),
        ("det_band", all_cars(|c| c.enters_band)),
    ] {
        let items = vehicles(timeline(name), VEHICLE_DETECTION);
        check_row(name, &items, &truth, true);
        for (_, v) in &items {
            // The red saloon C is labelled `bus` by YOLOX-Nano from above: 7, not 0.
            assert!([0, 7, 9].contains(&v["vehicle_type"].as_i64().unwrap_or(-2)), "{v}");
            assert_eq!(v["tarpaulin_type"], -1);
            assert_eq!(v["license_plate_id"], "");
            assert_eq!(v["license_plate_type"], 0);
        }
    }
}

#[test]
fn approach_and_leave_lines_take_only_their_direction() {
    // Type 0 (approach) at y = 216 takes the cars driving down (B, D); type 1 (leave) at
    // y = 120 the cars driving up (A, C).
    let truth = all_cars(|c| if c.direction == 0 { c.cross_216 } else { c.cross_120 });
    check_row(
        "det_typed",
        &vehicles(timeline("det_typed"), VEHICLE_DETECTION),
        &truth,
        true,
    );
}

#[test]
fn output_vehicle_type_keeps_only_the_listed_codes() {
    let all = vehicles(timeline("det_216"), VEHICLE_DETECTION);
    for (name, code) in [("det_bus_only", 7), ("det_car_only", 0)] {
        let kept = vehicles(timeline(name), VEHICLE_DETECTION);
        let expected: Vec<&(f64, Value)> = all.iter().filter(|(_, v)| v["vehicle_type"] == code).collect();
        assert_eq!(kept.len(), expected.len(), "{name}");
        assert!(kept.iter().zip(expected).all(|(a, b)| a == b), "{name}: the same items");
    }
}

/// Counts of the periods of a 75010 timeline (first item of each message), with times.
fn counts(tl: &Timeline) -> Vec<(f64, u64)> {
    tl.iter()
        .filter(|(_, e)| e.event_type == HIGHPOINT_VEHICLE_COUNT)
        .map(|(t, e)| (*t, e.data["event_set"][0]["count"].as_u64().expect("count")))
        .collect()
}

#[test]
fn vehicle_counts_per_period_never_exceed_the_hand_count() {
    // Hand: 10 s periods [0,10) [10,20) [20,30) and the partial [30,30.1] flushed at the end:
    // 1 2 1 0 crossings of either line, 1 2 1 0 cars entering the frame; 5 s periods on y = 120:
    // 0 1 0 2 0 1 0. C, the car the detector sees, is in [10,20) / [15,20).
    for (name, hand, c_period) in [
        ("count_216_10s", vec![1, 2, 1, 0], 1),
        ("count_120_5s", vec![0, 1, 0, 2, 0, 1, 0], 3),
        ("count_frame_10s", vec![1, 2, 1, 0], 1),
    ] {
        let c = counts(timeline(name));
        let produced: Vec<u64> = c.iter().map(|x| x.1).collect();
        eprintln!(
            "{name}: hand {hand:?} produced {produced:?} (message times {:?})",
            c.iter().map(|x| x.0).collect::<Vec<_>>()
        );
        assert_eq!(
            produced.len(),
            hand.len(),
            "{name}: one message per period, the last one partial"
        );
        assert!(
            produced.iter().zip(&hand).all(|(p, h)| p <= h),
            "{name}: no vehicle counted that was not there"
        );
        assert!(produced[c_period] >= 1, "{name}: C counted in its period");
    }
    let first = &timeline("count_216_10s")[0].1.data;
    assert_eq!(first["interval"], 10);
    assert_eq!(first["event_set"][0]["line"], json!([[0, 216], [768, 216]]));
    assert_eq!(first["event_set"][0]["line_id"], 0);
}

/// When a car has moved `px` picture pixels from row `from_y` (hand table, linear in time).
fn moved(c: &Car, from_y: f64, px: f64) -> f64 {
    let target = if c.direction == 0 { from_y + px } else { from_y - px };
    let pts = c.anchor_y;
    for w in pts.windows(2) {
        let ((t0, y0), (t1, y1)) = (w[0], w[1]);
        if (y0 - target) * (y1 - target) <= 0.0 && y0 != y1 {
            return t0 + (t1 - t0) * (target - y0) / (y1 - y0);
        }
    }
    pts[0].0
}

#[test]
fn wrong_way_alarms_only_cars_against_the_arrow() {
    // 150 px at 1080p = 60 px on this 432-line clip, counted from where the anchor entered the
    // picture: the bottom border (432) for cars driving up, the first visible bumper (~10 px)
    // for cars driving down.
    let wrong = |c: &Car| {
        if c.direction == 1 {
            moved(c, 432.0, 60.0)
        } else {
            moved(c, 10.0, 60.0)
        }
    };
    let against = |dir: i64| -> Vec<(usize, f64)> {
        CARS.iter()
            .enumerate()
            .filter(|(_, c)| c.direction == dir)
            .map(|(i, c)| (i, wrong(c)))
            .collect()
    };
    for (name, truth, finds_c) in [
        ("wrong_down", against(1), true),
        ("wrong_up", against(0), false),
        ("wrong_two_lanes_ok", vec![], false),
        ("wrong_two_lanes_swapped", all_cars(wrong), true),
    ] {
        let items = vehicles(timeline(name), WRONG_WAY);
        check_row(name, &items, &truth, finds_c);
        if truth.is_empty() {
            assert!(items.is_empty(), "{name}: every car drives with its lane");
        }
    }
}

/// Hand speed (km/h) of a car over `[from, to]`: its anchor's road displacement from the hand
/// table, linearly interpolated, clipped to the table's span.
fn hand_speed(c: &Car, from: f64, to: f64) -> f64 {
    let pts = c.anchor_y;
    let (t0, t1) = (from.max(pts[0].0), to.min(pts[pts.len() - 1].0));
    let at = |t: f64| {
        let w = pts.windows(2).find(|w| t >= w[0].0 && t <= w[1].0).expect("in span");
        let f = (t - w[0].0) / (w[1].0 - w[0].0);
        road_y(w[0].1 + f * (w[1].1 - w[0].1))
    };
    (at(t1) - at(t0)).abs() / (t1 - t0) * 3.6
}

#[test]
fn speeds_match_hand_measured_displacement() {
    // Every car drives faster than 5 km/h (hand: A ~10, B ~11, C ~9.5, D ~16.5 km/h).
    let items = vehicles(timeline("speed_5"), HIGHPOINT_SPEEDING);
    let truth = all_cars(|c| c.anchor_y[c.anchor_y.len() / 2].0);
    let (p, _, cars) = score("speed_5", &items, &truth);
    assert!(p >= 0.999);
    assert!(cars.contains(&Some(C)), "C's speed is measured");
    for ((t, v), car) in items.iter().zip(&cars) {
        let c = &CARS[car.expect("matched")];
        let speed = v["speed"].as_f64().expect("speed");
        let hand = hand_speed(c, t - 1.0, *t);
        let err = (speed - hand) / hand;
        eprintln!(
            "speed of car {} at {t:.1} s: reported {speed:.1} km/h, hand {hand:.1} km/h, error {:+.0}%",
            c.name,
            err * 100.0
        );
        assert_eq!(v["direction"], c.direction);
        assert!(err.abs() <= 0.2, "car {}: within 20% of the hand measurement", c.name);
    }
    // Only D is faster than 14 km/h.
    let fast = vehicles(timeline("speed_14"), HIGHPOINT_SPEEDING);
    let (p, _, _) = score("speed_14", &fast, &[(3, CARS[3].anchor_y[3].0)]);
    assert!(p >= 0.999, "no car slower than 14 km/h alarms");
}

/// pedestrians_vtest: a white van and a small car stay parked at the top right for the whole
/// clip (someone opens the car's tailgate at the end); only people move.
fn parked(fps: f64) -> Vec<Timeline> {
    let cal = json!({"image_points": [[0, 100], [768, 100], [768, 576], [0, 576]],
                     "ground_points_m": [[0, 30], [20, 30], [20, 0], [0, 0]]});
    let spot = r#"{"data":[[630,30],[768,30],[768,115],[630,115]],"name":"kerb"}"#;
    let configs = [
        ("c-vehicle-detection-edge", json!({"target_roi": roi(&[], &[spot])})),
        (
            "c-vehicle-detection-edge",
            json!({"target_roi": roi(&[line(120), line(230)], &[])}),
        ),
        (
            "c-vehicle-statistics-edge",
            json!({"target_roi": roi(&[line(120)], &[]), "count_interval": 30}),
        ),
        (
            "c-retrograde-detection-edge",
            json!({"target_roi": roi(&[arrow(760, 60, 560, 140)], &[])}),
        ),
        (
            "c-highpoint-overspeed-edge",
            json!({"calibration": cal, "speed_limit": 5}),
        ),
    ];
    let mut analyzers: Vec<_> = configs.iter().map(|(s, c)| support::analyzer(s, c)).collect();
    support::run(&support::media("pedestrians_vtest.mp4"), fps, &mut analyzers)
}

#[test]
fn parked_vehicles_are_present_once_and_raise_nothing_else() {
    let timelines = parked(FPS);
    // The parking spot: the van (YOLOX: truck 0.75 and car 0.65 on one box, merged; truck by
    // vote: 9) and the car (0.8: 0), each reported once, on the first frames.
    let spot = vehicles(&timelines[0], VEHICLE_DETECTION);
    eprintln!(
        "parked spot: {:?}",
        spot.iter()
            .map(|(t, v)| (t, v["vehicle_type"].clone()))
            .collect::<Vec<_>>()
    );
    let mut types: Vec<i64> = spot.iter().filter_map(|(_, v)| v["vehicle_type"].as_i64()).collect();
    types.sort_unstable();
    assert_eq!(types, vec![0, 9], "the car and the van, once each");
    assert!(spot.iter().all(|(t, _)| *t < 1.0), "present from the start");
    for tl in &timelines[1..] {
        let alarms: Vec<_> = tl
            .iter()
            .filter(|(_, e)| e.event_type != HIGHPOINT_VEHICLE_COUNT)
            .collect();
        assert!(
            alarms.is_empty(),
            "{:?}",
            alarms.iter().map(|(t, e)| (t, &e.data)).collect::<Vec<_>>()
        );
        let counted: u64 = counts(tl).iter().map(|c| c.1).sum();
        assert_eq!(counted, 0, "nothing crosses");
    }
}

/// The rate measurement behind `VEHICLE_FPS` (run by hand: `--ignored --nocapture`): the car-park
/// rows at 10 and 12.5 fps (the clip's own rate), to compare with the 5 fps rows of the tests.
#[test]
#[ignore]
fn rate_comparison() {
    for fps in [10.0, 12.5] {
        eprintln!("--- {fps} fps");
        let run = run_carpark(fps);
        for name in ["det_216", "det_120", "det_band", "wrong_down", "speed_5"] {
            let t = if name.starts_with("wrong") {
                WRONG_WAY
            } else if name.starts_with("speed") {
                HIGHPOINT_SPEEDING
            } else {
                VEHICLE_DETECTION
            };
            let items = vehicles(&run[name], t);
            eprintln!(
                "{name}: {:?}",
                items
                    .iter()
                    .map(|(t, v)| (t, v.get("speed").cloned()))
                    .collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn configuration_errors_name_the_key() {
    let spec = |s: &str| Catalog::by_service_name(s).expect("service").0;
    // Wrong-way needs a lane line.
    let c = validate_common(spec("c-retrograde-detection-edge"), &json!({})).expect("valid");
    let err = vigil_algorithms::build_analyzer("c-retrograde-detection-edge", &c)
        .err()
        .expect("refused");
    assert_eq!(err.param, "config.common.target_roi");
    // Speeding needs a calibration, of four points each, not on one line.
    let s = spec("c-highpoint-overspeed-edge");
    let err = validate_common(s, &json!({})).expect_err("calibration is required");
    assert_eq!(
        (err.param.as_str(), err.kind),
        ("config.common.calibration", ConfigErrorKind::Missing)
    );
    let three = json!({"calibration": {"image_points": [[0, 0], [1, 0], [1, 1]], "ground_points_m": [[0, 0], [1, 0], [1, 1], [0, 1]]}});
    let err = validate_common(s, &three).expect_err("three points");
    assert_eq!(err.param, "config.common.calibration.image_points");
    let text = json!({"calibration": {"image_points": [[0, 0], [1, 0], [1, "1"], [0, 1]], "ground_points_m": [[0, 0], [1, 0], [1, 1], [0, 1]]}});
    let err = validate_common(s, &text).expect_err("a string coordinate");
    assert_eq!(err.param, "config.common.calibration.image_points[2]");
    let line = json!({"calibration": {"image_points": [[0, 0], [1, 1], [2, 2], [0, 1]], "ground_points_m": [[0, 0], [1, 0], [1, 1], [0, 1]]}});
    let c = validate_common(s, &line).expect("well-formed");
    let err = vigil_algorithms::build_analyzer("c-highpoint-overspeed-edge", &c)
        .err()
        .expect("degenerate");
    assert_eq!(err.param, "config.common.calibration");
    // The vehicle-type filter takes VIAS codes 0-9.
    let err = validate_common(
        spec("c-vehicle-detection-edge"),
        &json!({"output_vehicle_type": "0 10"}),
    )
    .expect_err("code 10");
    assert_eq!(err.param, "config.common.output_vehicle_type");
}

// --- hand-made detection sequences (no model) ------------------------------------------------

mod synthetic {
    use serde_json::{json, Value};
    use vigil_algorithms::event_type::{HIGHPOINT_SPEEDING, HIGHPOINT_VEHICLE_COUNT, VEHICLE_DETECTION, WRONG_WAY};
    use vigil_algorithms::{
        build_analyzer_seeded, validate_common, Analyzer, Catalog, DetectorModel, Event, FrameInput, Perception,
    };
    use vigil_vision::detect::coco;
    use vigil_vision::{BBox, Detection, ImageBgr};

    fn analyzer(service: &str, cfg: Value) -> Box<dyn Analyzer> {
        let (spec, _) = Catalog::by_service_name(service).expect("service");
        build_analyzer_seeded(service, &validate_common(spec, &cfg).expect("valid"), 3).expect("analyzer")
    }

    /// A 100x200 vehicle box whose bottom-centre is at (x, y).
    fn vehicle(x: f32, y: f32, class_id: u32) -> Detection {
        Detection {
            bbox: BBox::new(x - 50.0, y - 200.0, x + 50.0, y),
            score: 0.9,
            class_id,
        }
    }

    /// Runs `frames` on a 1920x1080 picture at `fps`; the events of each frame.
    fn run(a: &mut dyn Analyzer, fps: f64, frames: &[Vec<Detection>]) -> Vec<Vec<Event>> {
        let img = ImageBgr::filled(1920, 1080, [0, 0, 0]).expect("image");
        frames
            .iter()
            .enumerate()
            .map(|(i, dets)| {
                let time = i as f64 / fps;
                let frame = FrameInput {
                    image: &img,
                    time,
                    epoch: 1_700_000_000,
                    rate: fps,
                };
                a.process(&frame, &Perception::with_detections(DetectorModel::Coco, dets.clone()))
                    .expect("process")
            })
            .collect()
    }

    fn items(events: &[Vec<Event>], t: u64) -> Vec<(usize, Value)> {
        events
            .iter()
            .enumerate()
            .flat_map(|(i, es)| {
                es.iter().filter(move |e| e.event_type == t).flat_map(move |e| {
                    e.data["vehicles"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .map(move |v| (i, v))
                })
            })
            .collect()
    }

    #[test]
    fn a_label_flip_keeps_one_track_and_the_majority_type() {
        // A van labelled car, truck, car, truck, truck… drives down across y = 540.
        let mut a = analyzer(
            "c-vehicle-detection-edge",
            json!({"target_roi": r#"{"lines":[{"data":[[0,540],[1920,540]]}]}"#}),
        );
        let frames: Vec<Vec<Detection>> = (0..40)
            .map(|i| {
                let class = if i % 3 == 0 { coco::CAR } else { coco::TRUCK };
                vec![vehicle(900.0, 300.0 + 15.0 * i as f32, class)]
            })
            .collect();
        let out = items(&run(a.as_mut(), 10.0, &frames), VEHICLE_DETECTION);
        assert_eq!(out.len(), 1, "one vehicle, one alarm: {out:?}");
        assert_eq!(out[0].1["vehicle_type"], 9, "truck by majority: other");
        assert_eq!(out[0].1["direction"], 0, "driving down the picture");
    }

    #[test]
    fn a_line_crossed_before_the_track_is_confirmed_counts() {
        // At 5 fps a car is first seen 20 px above y = 540 and, when its track is confirmed one
        // frame later, is already 40 px past it: the opening position counts.
        let line = r#"{"lines":[{"data":[[0,540],[1920,540]]}]}"#;
        let frames: Vec<Vec<Detection>> = (0..20)
            .map(|i| match i {
                0..10 => Vec::new(),
                _ => vec![vehicle(900.0, 520.0 + 60.0 * (i - 10) as f32, coco::CAR)],
            })
            .collect();
        let mut a = analyzer("c-vehicle-detection-edge", json!({ "target_roi": line }));
        let out = items(&run(a.as_mut(), 5.0, &frames), VEHICLE_DETECTION);
        assert_eq!(out.len(), 1, "one crossing: {out:?}");
        assert_eq!(out[0].1["direction"], 0, "driving down the picture");
        let mut a = analyzer(
            "c-vehicle-statistics-edge",
            json!({"target_roi": line, "count_interval": 1}),
        );
        let counted: u64 = run(a.as_mut(), 5.0, &frames)
            .iter()
            .flatten()
            .filter(|e| e.event_type == HIGHPOINT_VEHICLE_COUNT)
            .map(|e| e.data["event_set"][0]["count"].as_u64().expect("count"))
            .sum();
        assert_eq!(counted, 1, "counted once");
    }

    #[test]
    fn a_bus_is_seven_and_the_filter_keeps_it() {
        let roi = r#"{"lines":[{"data":[[0,540],[1920,540]]}]}"#;
        let frames: Vec<Vec<Detection>> = (0..40)
            .map(|i| vec![vehicle(900.0, 900.0 - 15.0 * i as f32, coco::BUS)])
            .collect();
        let mut a = analyzer(
            "c-vehicle-detection-edge",
            json!({"target_roi": roi, "output_vehicle_type": "7"}),
        );
        let out = items(&run(a.as_mut(), 10.0, &frames), VEHICLE_DETECTION);
        assert_eq!(out.len(), 1);
        assert_eq!(
            (out[0].1["vehicle_type"].clone(), out[0].1["direction"].clone()),
            (json!(7), json!(1))
        );
        let mut a = analyzer(
            "c-vehicle-detection-edge",
            json!({"target_roi": roi, "output_vehicle_type": "0 9"}),
        );
        assert!(items(&run(a.as_mut(), 10.0, &frames), VEHICLE_DETECTION).is_empty());
    }

    #[test]
    fn speed_through_the_calibration_is_exact_for_steady_motion() {
        // 1 px = 5 cm; 20 px per frame at 10 fps = 10 m/s = 36 km/h.
        let cal = json!({"image_points": [[0, 0], [1920, 0], [1920, 1080], [0, 1080]],
                         "ground_points_m": [[0, 0], [96, 0], [96, 54], [0, 54]]});
        let frames: Vec<Vec<Detection>> = (0..30)
            .map(|i| vec![vehicle(200.0 + 20.0 * i as f32, 600.0, coco::CAR)])
            .collect();
        let mut a = analyzer(
            "c-highpoint-overspeed-edge",
            json!({"calibration": cal, "speed_limit": 35}),
        );
        let out = items(&run(a.as_mut(), 10.0, &frames), HIGHPOINT_SPEEDING);
        assert_eq!(out.len(), 1, "once per vehicle");
        assert_eq!(out[0].1["speed"], 36.0);
        let mut a = analyzer(
            "c-highpoint-overspeed-edge",
            json!({"calibration": cal, "speed_limit": 37}),
        );
        assert!(items(&run(a.as_mut(), 10.0, &frames), HIGHPOINT_SPEEDING).is_empty());
    }

    #[test]
    fn jitter_of_a_parked_vehicle_is_not_wrong_way() {
        let mut a = analyzer(
            "c-retrograde-detection-edge",
            json!({"target_roi": r#"{"lines":[{"data":[[960,100],[960,1000]]}]}"#}),
        );
        // ±20 px of box jitter for 60 s; 150 px (1080p) is needed.
        let frames: Vec<Vec<Detection>> = (0..600)
            .map(|i| {
                vec![vehicle(
                    960.0 + (i % 5) as f32 * 5.0,
                    700.0 + ((i * 7) % 41) as f32 - 20.0,
                    coco::CAR,
                )]
            })
            .collect();
        assert!(items(&run(a.as_mut(), 10.0, &frames), WRONG_WAY).is_empty());
        // Then it backs up the lane by 300 px: one alarm.
        let back: Vec<Vec<Detection>> = (0..30)
            .map(|i| vec![vehicle(960.0, 700.0 - 10.0 * i as f32, coco::CAR)])
            .collect();
        let all: Vec<Vec<Detection>> = frames.into_iter().chain(back).collect();
        let mut a = analyzer(
            "c-retrograde-detection-edge",
            json!({"target_roi": r#"{"lines":[{"data":[[960,100],[960,1000]]}]}"#}),
        );
        let out = items(&run(a.as_mut(), 10.0, &all), WRONG_WAY);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].1["direction"], 1);
        assert!(
            out[0].0 >= 600 + 12,
            "after 150 px of backing up, at frame {}",
            out[0].0
        );
    }
}
