//! The "something stays too long" algorithms on real clips through the real perceiver
//! (YOLOX-Nano COCO): abnormal parking (74240), fire passage obstruction (1179648/1179649) and
//! abandoned object (327680).
//!
//! Expected numbers and times were counted by hand from the frames: see
//! `tools/labels/abnormal_park.md`, `tools/labels/fire_exit.md` and `tools/labels/abandon.md`.
//! No clip with a clear licence shows an object being left, so two clips get one composited in
//! at a known time at test time (`ffmpeg overlay` into a temporary directory): public-domain
//! clip art of suitcases and of a cardboard box (`tools/labels/assets/SOURCE.md`).

mod support;

use serde_json::{json, Value};
use support::{analyzer, composites, items, media, run, score, Timeline};
use vigil_algorithms::event_type::{ABANDONED_OBJECT, ABNORMAL_PARKING, FIRE_PASSAGE_OBJECTS, FIRE_PASSAGE_VEHICLE};
use vigil_algorithms::{Analyzer, DetectorModel, FrameInput, Perception};
use vigil_vision::{BBox, Detection, ImageBgr};

const PARK: &str = "c-traffic-abnormal-park-edge";
const FIRE: &str = "c-fire-exit-occupation-edge";
const ABANDON: &str = "c-abandon-detection-edge";

/// `target_roi` text of named rectangles `(name, x1, y1, x2, y2)`.
fn rects(list: &[(&str, i32, i32, i32, i32)]) -> String {
    let polygons: Vec<Value> = list
        .iter()
        .map(|(name, x1, y1, x2, y2)| json!({"name": name, "data": [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]}))
        .collect();
    json!({ "polygons": polygons }).to_string()
}

/// Clip times of the items of type `t` and envelope `alarm_type`.
fn times(tl: &Timeline, t: u64, alarm_type: Option<i64>) -> Vec<f64> {
    items(tl, t, alarm_type).into_iter().map(|(time, _)| time).collect()
}

/// Checks produced alarm times against the hand count; prints the accuracy row.
fn check(label: &str, produced: &[f64], truth: &[f64], tolerance: f64) {
    let (tp, precision, recall, errors) = score(produced, truth, tolerance);
    eprintln!(
        "ACCURACY {label}: hand {} produced {} tp {tp} precision {precision:.2} recall {recall:.2} time errors {errors:?}",
        truth.len(),
        produced.len()
    );
    assert_eq!(
        (produced.len(), tp),
        (truth.len(), truth.len()),
        "{label}: produced {produced:?}, hand count {truth:?} (±{tolerance} s)"
    );
}

// --- pedestrians_vtest.mp4: a parked van and a parked car the whole clip ---------------------

/// Around the parked van (detected at (651,42)-(725,99)); the car's anchor is outside.
const VAN: (&str, i32, i32, i32, i32) = ("illegal_van", 640, 30, 740, 110);
/// The kerb with the van and the car cut by the right border ((732,51)-(767,94)).
const KERB: (&str, i32, i32, i32, i32) = ("illegal_kerb", 630, 25, 768, 115);
/// The campus road, where only pedestrians pass.
const ROAD: (&str, i32, i32, i32, i32) = ("illegal_road", 100, 130, 600, 320);

#[test]
fn pedestrian_clip_parked_vehicles_alarm_and_passers_by_do_not() {
    let mut list: Vec<Box<dyn Analyzer>> = vec![
        analyzer(
            PARK,
            &json!({"target_roi": rects(&[VAN]), "illegal_park_alert_threshold": 30, "event_disappear_alert_sw": 1}),
        ),
        analyzer(
            PARK,
            &json!({"target_roi": rects(&[KERB]), "illegal_park_alert_threshold": 30}),
        ),
        analyzer(
            PARK,
            &json!({"target_roi": rects(&[ROAD]), "illegal_park_alert_threshold": 5}),
        ),
        analyzer(
            FIRE,
            &json!({"target_roi": rects(&[VAN]), "vehicle_residence_time": 20, "stacking_residence_time": 10}),
        ),
        analyzer(
            FIRE,
            &json!({"target_roi": rects(&[ROAD]), "vehicle_residence_time": 5, "stacking_residence_time": 10}),
        ),
        analyzer(ABANDON, &json!({"alert_time_threshold": 10})),
    ];
    let tl = run(&media("pedestrians_vtest.mp4"), 2.0, &mut list);

    let van = items(&tl[0], ABNORMAL_PARKING, Some(0));
    check(
        "abnormal_park vtest illegal_van",
        &times(&tl[0], ABNORMAL_PARKING, Some(0)),
        &[30.0],
        3.0,
    );
    assert_eq!(van[0].1["polygon_name"], "illegal_van");
    assert_eq!(van[0].1["license_plate_id"], "");
    assert!(
        times(&tl[0], ABNORMAL_PARKING, Some(1)).is_empty(),
        "the van never leaves"
    );
    check(
        "abnormal_park vtest illegal_kerb",
        &times(&tl[1], ABNORMAL_PARKING, None),
        &[30.0, 30.0],
        3.0,
    );
    let kerb = items(&tl[1], ABNORMAL_PARKING, None);
    assert_ne!(
        kerb[0].1["detection_id"], kerb[1].1["detection_id"],
        "two vehicles, two ids"
    );
    check(
        "abnormal_park vtest illegal_road",
        &times(&tl[2], ABNORMAL_PARKING, None),
        &[],
        3.0,
    );

    check(
        "fire_exit vtest van vehicle",
        &times(&tl[3], FIRE_PASSAGE_VEHICLE, None),
        &[20.0],
        3.0,
    );
    check(
        "fire_exit vtest van objects",
        &times(&tl[3], FIRE_PASSAGE_OBJECTS, None),
        &[],
        3.0,
    );
    check(
        "fire_exit vtest road vehicle",
        &times(&tl[4], FIRE_PASSAGE_VEHICLE, None),
        &[],
        3.0,
    );
    check(
        "fire_exit vtest road objects",
        &times(&tl[4], FIRE_PASSAGE_OBJECTS, None),
        &[],
        3.0,
    );
    check(
        "abandon vtest whole frame",
        &times(&tl[5], ABANDONED_OBJECT, None),
        &[],
        3.0,
    );
}

// --- carpark_cars.mp4: cars drive through; a box composited in from 6 to 22 s -----------------

/// Where the box is put (top right, away from the cars' path).
const BOX_AT: (u32, u32) = (600, 60);
const BOX_FROM_TO: (f64, f64) = (6.0, 22.0);
/// A passage around the box, and one at the bottom left where cars pass.
const PASSAGE_BOX: (&str, i32, i32, i32, i32) = ("passage_top", 520, 20, 740, 170);
const PASSAGE_CARS: (&str, i32, i32, i32, i32) = ("passage_left", 150, 150, 500, 432);

#[test]
fn car_park_clip_no_car_stops() {
    let mut list: Vec<Box<dyn Analyzer>> = vec![
        analyzer(PARK, &json!({"illegal_park_alert_threshold": 5})),
        analyzer(
            FIRE,
            &json!({"target_roi": rects(&[PASSAGE_CARS]), "vehicle_residence_time": 5, "stacking_residence_time": 5}),
        ),
    ];
    let tl = run(&media("carpark_cars.mp4"), 5.0, &mut list);
    check(
        "abnormal_park carpark whole frame",
        &times(&tl[0], ABNORMAL_PARKING, None),
        &[],
        3.0,
    );
    check(
        "fire_exit carpark left vehicle",
        &times(&tl[1], FIRE_PASSAGE_VEHICLE, None),
        &[],
        3.0,
    );
    check(
        "fire_exit carpark left objects",
        &times(&tl[1], FIRE_PASSAGE_OBJECTS, None),
        &[],
        3.0,
    );
}

#[test]
fn car_park_with_a_box_left_raises_stacking_and_abandoned_object_alarms() {
    let clip = composites::overlay_still(
        "carpark_cars.mp4",
        "cardboard_box.png",
        BOX_AT,
        BOX_FROM_TO,
        "carpark_box.mp4",
    );
    let mut list: Vec<Box<dyn Analyzer>> = vec![
        analyzer(
            FIRE,
            &json!({"target_roi": rects(&[PASSAGE_BOX]), "stacking_residence_time": 10, "event_disappear_alert_sw": 1}),
        ),
        analyzer(
            FIRE,
            &json!({"target_roi": rects(&[PASSAGE_CARS]), "stacking_residence_time": 10}),
        ),
        analyzer(ABANDON, &json!({"alert_time_threshold": 10})),
    ];
    let tl = run(&clip, 5.0, &mut list);
    std::fs::remove_file(&clip).ok();
    let (from, to) = BOX_FROM_TO;
    check(
        "fire_exit carpark+box top objects",
        &times(&tl[0], FIRE_PASSAGE_OBJECTS, Some(0)),
        &[from + 10.0],
        3.0,
    );
    // The box goes at 22 s; the region is kept 5 s for occlusions, so the message comes ~5 s later.
    check(
        "fire_exit carpark+box top disappear",
        &times(&tl[0], FIRE_PASSAGE_OBJECTS, Some(1)),
        &[to + 5.0],
        3.0,
    );
    let gone = items(&tl[0], FIRE_PASSAGE_OBJECTS, Some(1));
    assert_eq!(gone[0].1["polygon_name"], "passage_top");
    assert_eq!(
        gone[0].1["detection_id"],
        items(&tl[0], FIRE_PASSAGE_OBJECTS, Some(0))[0].1["detection_id"]
    );
    let data = &tl[0]
        .iter()
        .find(|(_, e)| e.alarm_type == Some(1))
        .expect("disappear")
        .1
        .data;
    assert_eq!(data["alarm_type"], 1);
    check(
        "fire_exit carpark+box left objects",
        &times(&tl[1], FIRE_PASSAGE_OBJECTS, None),
        &[],
        3.0,
    );
    check(
        "abandon carpark+box whole frame",
        &times(&tl[2], ABANDONED_OBJECT, None),
        &[from + 10.0],
        3.0,
    );
}

// --- standing_desk_people.mp4: people stand at a table 10-25 s each ---------------------------

/// The standing table and the floor in front of it where people stand.
const TABLE: (&str, i32, i32, i32, i32) = ("passage_table", 330, 60, 640, 432);
/// Suitcases composited on the left floor from 88 s (the room is empty; the man in black left
/// at 87 s) to 130 s.
const BAG_AT: (u32, u32) = (80, 315);
const BAG_FROM_TO: (f64, f64) = (88.0, 130.0);
const FLOOR_LEFT: (&str, i32, i32, i32, i32) = ("floor_left", 0, 250, 300, 432);
const FLOOR_RIGHT: (&str, i32, i32, i32, i32) = ("floor_right", 560, 250, 768, 432);

#[test]
fn standing_people_raise_no_object_alarm() {
    let mut list: Vec<Box<dyn Analyzer>> = vec![
        analyzer(ABANDON, &json!({"alert_time_threshold": 10})),
        analyzer(
            FIRE,
            &json!({"target_roi": rects(&[TABLE]), "stacking_residence_time": 10}),
        ),
    ];
    let tl = run(&media("standing_desk_people.mp4"), 2.0, &mut list);
    check(
        "abandon desk whole frame",
        &times(&tl[0], ABANDONED_OBJECT, None),
        &[],
        3.0,
    );
    check(
        "fire_exit desk table objects",
        &times(&tl[1], FIRE_PASSAGE_OBJECTS, None),
        &[],
        3.0,
    );
}

#[test]
fn suitcases_left_on_the_floor_are_an_abandoned_object() {
    let clip = composites::overlay_still(
        "standing_desk_people.mp4",
        "suitcases.png",
        BAG_AT,
        BAG_FROM_TO,
        "desk_bag.mp4",
    );
    let mut list: Vec<Box<dyn Analyzer>> = vec![
        analyzer(ABANDON, &json!({"alert_time_threshold": 10})),
        analyzer(
            ABANDON,
            &json!({"target_roi": rects(&[FLOOR_LEFT]), "alert_time_threshold": 20}),
        ),
        analyzer(
            ABANDON,
            &json!({"target_roi": rects(&[FLOOR_RIGHT]), "alert_time_threshold": 10}),
        ),
        analyzer(
            FIRE,
            &json!({"target_roi": rects(&[FLOOR_LEFT]), "stacking_residence_time": 15}),
        ),
    ];
    let tl = run(&clip, 2.0, &mut list);
    std::fs::remove_file(&clip).ok();
    let from = BAG_FROM_TO.0;
    check(
        "abandon desk+bag whole frame",
        &times(&tl[0], ABANDONED_OBJECT, None),
        &[from + 10.0],
        3.0,
    );
    let item = &items(&tl[0], ABANDONED_OBJECT, None)[0].1;
    let stayed: f64 = item["target_remaining_time"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(-1.0);
    assert!((9.0..=13.0).contains(&stayed), "target_remaining_time {item}");
    check(
        "abandon desk+bag floor_left",
        &times(&tl[1], ABANDONED_OBJECT, None),
        &[from + 20.0],
        3.0,
    );
    check(
        "abandon desk+bag floor_right",
        &times(&tl[2], ABANDONED_OBJECT, None),
        &[],
        3.0,
    );
    check(
        "fire_exit desk+bag floor_left objects",
        &times(&tl[3], FIRE_PASSAGE_OBJECTS, None),
        &[from + 15.0],
        3.0,
    );
}

// --- street_parked_bicycle.mp4: a bicycle parked the whole clip ------------------------------

#[test]
fn a_parked_bicycle_blocks_the_passage_and_riders_do_not() {
    let bike = ("passage_railing", 40, 50, 160, 160);
    let road = ("passage_road", 150, 100, 320, 240);
    let mut list: Vec<Box<dyn Analyzer>> = vec![
        analyzer(
            FIRE,
            &json!({"target_roi": rects(&[bike]), "stacking_residence_time": 5}),
        ),
        analyzer(
            FIRE,
            &json!({"target_roi": rects(&[road]), "stacking_residence_time": 2}),
        ),
    ];
    let tl = run(&media("street_parked_bicycle.mp4"), 5.0, &mut list);
    check(
        "fire_exit bicycle railing objects",
        &times(&tl[0], FIRE_PASSAGE_OBJECTS, None),
        &[5.0],
        3.0,
    );
    check(
        "fire_exit bicycle road objects",
        &times(&tl[1], FIRE_PASSAGE_OBJECTS, None),
        &[],
        3.0,
    );
}

// --- the disappear message when a parked car drives off (no real clip shows it) --------------

#[test]
fn a_car_that_drives_off_sends_the_disappear_message() {
    let mut a = analyzer(
        PARK,
        &json!({"target_roi": rects(&[("illegal_a", 0, 0, 400, 300)]), "illegal_park_alert_threshold": 10, "event_disappear_alert_sw": 1}),
    );
    let img = ImageBgr::filled(640, 360, [60, 60, 60]).expect("image");
    let mut tl: Timeline = Vec::new();
    for k in 0..150 {
        let time = k as f64 / 5.0;
        // Parked at (100,100) until 20 s, then drives right at 60 px/s.
        let x = 100.0 + (time - 20.0).max(0.0) as f32 * 60.0;
        let det = Detection {
            bbox: BBox::new(x, 100.0, x + 120.0, 170.0),
            score: 0.8 + 0.1 * ((k % 3) as f32 - 1.0),
            class_id: if k % 4 == 0 { 7 } else { 2 },
        };
        let frame = FrameInput {
            image: &img,
            time,
            epoch: 0,
            rate: 5.0,
        };
        let p = Perception::with_detections(DetectorModel::Coco, vec![det]);
        tl.extend(a.process(&frame, &p).expect("process").into_iter().map(|e| (time, e)));
    }
    let parked = times(&tl, ABNORMAL_PARKING, Some(0));
    assert!(
        parked.len() == 1 && (10.0..=11.0).contains(&parked[0]),
        "one alarm, class flips and all: {parked:?}"
    );
    let gone = times(&tl, ABNORMAL_PARKING, Some(1));
    assert!(
        gone.len() == 1 && gone[0] > 20.0 && gone[0] < 29.0,
        "one disappear message: {gone:?}"
    );
    for (_, e) in &tl {
        vigil_algorithms::payload_schema::check(e.event_type, e.alarm_type, &e.data).expect("§6.4");
    }
}
