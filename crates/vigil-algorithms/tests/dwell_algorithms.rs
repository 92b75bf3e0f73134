//! The dwell algorithms (shared bicycle, non-motor vehicle, umbrella, vessel intrusion) on real
//! video through the real perceiver (YOLOX-Nano COCO) at 5 fps, scored against hand-counted
//! alarm times. How each time was counted (frames looked at, ROI drawn on them):
//! `tools/labels/{shared_bicycle,non_motor,umbrella,ship_intrusion}.md`.
//!
//! No clip with a clear licence shows umbrellas or boats: those two are tested on composites
//! built here with ffmpeg (a CC0 umbrella photo moved over the real pedestrian clip; the boat of
//! Kodak image kodim06 moved over the lake of kodim16), from the small cutouts in
//! `tools/labels/assets/` (sources: `dwell_SOURCES.md`), into `target/tmp/dwell-composites`
//! (or `$VIGIL_COMPOSITE_DIR`).

mod support;

use serde_json::{json, Value};
use support::{composites, Timeline};
use vigil_algorithms::event_type::{
    NON_MOTOR_INTRUSION, NON_MOTOR_PARKING, SHARED_BICYCLE_PARKING, UMBRELLA, VESSEL_INTRUSION,
};

/// Analysis rate of every run (a task's default).
const FPS: f64 = 5.0;
/// A produced alarm matches a hand-counted one within this many seconds.
const TOLERANCE: f64 = 1.5;

const PARKED: &str = "street_parked_bicycle.mp4";
const STREET: &str = "street_bikes.mp4";

/// Clip times of the alarms of type `t` (and envelope `alarm_type`), one per item.
fn times(tl: &Timeline, t: u64, alarm_type: Option<i64>) -> Vec<f64> {
    support::items(tl, t, alarm_type)
        .into_iter()
        .map(|(time, _)| time)
        .collect()
}

/// Scores `produced` against `truth`, prints the row, and checks precision and recall.
fn check(name: &str, produced: &[f64], truth: &[f64], min_precision: f64, min_recall: f64) {
    let (tp, precision, recall, errors) = support::score(produced, truth, TOLERANCE);
    let errors: Vec<String> = errors.iter().map(|e| format!("{e:+.1}")).collect();
    eprintln!(
        "{name}: hand {} produced {} matched {tp} precision {precision:.2} recall {recall:.2} time errors [{}] (produced at {produced:?})",
        truth.len(),
        produced.len(),
        errors.join(", ")
    );
    assert!(
        precision >= min_precision && recall >= min_recall,
        "{name}: precision {precision:.2} recall {recall:.2} (produced {produced:?}, truth {truth:?})"
    );
}

fn roi(polygons: Value) -> String {
    json!({ "polygons": polygons }).to_string()
}

// --- shared bicycle -----------------------------------------------------------------------

/// Around the bicycle parked against the railing (anchor about (100, 140)); the cyclists ride
/// below it (anchors y >= 187).
const AROUND_PARKED: &str = r#"[{"data":[[55,60],[150,60],[150,150],[55,150]],"name":"illegal01"}]"#;
/// The left half down to the bottom: the parked bicycle, and each cyclist for under 2 s.
const LEFT_HALF: &str = r#"[{"data":[[0,60],[170,60],[170,240],[0,240]],"name":"illegal02"}]"#;

#[test]
fn shared_bicycle_parked_bicycle_single() {
    let cfg = json!({"alert_mode": "single", "illegal_park_alert_threshold": 5,
        "target_roi": roi(serde_json::from_str(AROUND_PARKED).unwrap())});
    let tl = support::run_one("c-sharedbicycledetection-edge", &cfg, &support::media(PARKED), FPS);
    for (_, item) in support::items(&tl, SHARED_BICYCLE_PARKING, None) {
        assert_eq!(item["polygon_name"], "illegal01");
    }
    // Parked from the first frame: due at 5.0 s.
    check(
        "shared bicycle / parked / around it",
        &times(&tl, SHARED_BICYCLE_PARKING, None),
        &[5.0],
        1.0,
        1.0,
    );
}

#[test]
fn shared_bicycle_left_half_periodic() {
    let cfg = json!({"alert_mode": "periodic", "alert_detection_interval": 3, "illegal_park_alert_threshold": 3,
        "target_roi": roi(serde_json::from_str(LEFT_HALF).unwrap())});
    let tl = support::run_one("c-sharedbicycledetection-cloud", &cfg, &support::media(PARKED), FPS);
    let items = support::items(&tl, SHARED_BICYCLE_PARKING, None);
    // The parked bicycle at 3 s, then every 3 s while it stays (to the end of the clip, 11.4 s);
    // each cyclist is in the area for under 3 s (1.0-2.8 s, 2.1-4.2 s) and never alarms.
    let produced: Vec<f64> = items.iter().map(|(t, _)| *t).collect();
    check(
        "shared bicycle / parked / left half, periodic 3 s",
        &produced,
        &[3.0, 6.0, 9.0],
        0.9,
        0.9,
    );
    let ids: Vec<&Value> = items.iter().map(|(_, i)| &i["detection_id"]).collect();
    assert!(
        ids.windows(2).all(|w| w[0] == w[1]),
        "repeats keep the detection_id: {ids:?}"
    );
}

/// Street montage: under the bicycle leaning on the wall (shot from 7.5 s, anchor about
/// (450, 215)); the stopped cyclist of 4.1-5.4 s (anchor y 271) stays below it.
const WALL_BAND: &str = r#"[{"data":[[250,185],[640,185],[640,245],[250,245]],"name":"illegal01"}]"#;
/// Street montage: the foot of the fence where a bicycle is locked (shot 5.5-7.4 s).
const FENCE_FOOT: &str = r#"[{"data":[[100,230],[400,230],[400,272],[100,272]],"name":"illegal02"}]"#;

#[test]
fn shared_bicycle_street_montage_two_placements() {
    for (name, polygons, truth) in [("wall", WALL_BAND, 8.5), ("fence", FENCE_FOOT, 6.5)] {
        let cfg =
            json!({"illegal_park_alert_threshold": 1, "target_roi": roi(serde_json::from_str(polygons).unwrap())});
        let tl = support::run_one("c-sharedbicycledetection-edge", &cfg, &support::media(STREET), FPS);
        check(
            &format!("shared bicycle / street / {name}"),
            &times(&tl, SHARED_BICYCLE_PARKING, None),
            &[truth],
            1.0,
            1.0,
        );
    }
}

// --- non-motor vehicle ----------------------------------------------------------------------

#[test]
fn non_motor_parked_outside_legal_area() {
    // Parking allowed only at the bench (right part): the parked bicycle is outside it.
    let cfg = json!({"illegal_park_alert_threshold": 5,
        "target_roi": roi(json!([{"data": [[180,0],[320,0],[320,240],[180,240]], "name": "legal_area"}]))});
    let tl = support::run_one("c-non-motor-detection-edge", &cfg, &support::media(PARKED), FPS);
    for (_, item) in support::items(&tl, NON_MOTOR_PARKING, Some(0)) {
        assert_eq!(item["type"], "bicycle");
    }
    check(
        "non-motor / parked / legal area = bench",
        &times(&tl, NON_MOTOR_PARKING, Some(0)),
        &[5.0],
        1.0,
        1.0,
    );
    assert!(
        times(&tl, NON_MOTOR_INTRUSION, Some(0)).is_empty(),
        "intrusion is off by default"
    );
}

#[test]
fn non_motor_prohibited_road_and_legal_parking() {
    // The parked bicycle stands in a legal area; the road strip is prohibited: both cyclists
    // enter it (1.0 s, 2.1 s) and ride out of the picture (5.5 s, 6.5 s).
    let cfg = json!({"illegal_park_alert_threshold": 5, "intrusion_detection_sw": 1, "event_disappear_alert_sw": 1,
        "target_roi": roi(json!([
            {"data": [[40,50],[160,50],[160,160],[40,160]], "name": "legal_area"},
            {"data": [[0,170],[320,170],[320,240],[0,240]], "name": "prohibit_entering_area"}]))});
    let tl = support::run_one("c-non-motor-detection-cloud", &cfg, &support::media(PARKED), FPS);
    // Hand count 0 (the parked bicycle is in the legal area). Measured: 1 false alarm at 8.0 s,
    // the man riding towards the camera at the right edge (3.0-5.4 s): his anchor moves less
    // than his growing box, so he looks stopped, and after he has left he is believed parked
    // where he was last seen (docs: known limitation).
    let parked: Vec<f64> = times(&tl, NON_MOTOR_PARKING, Some(0));
    eprintln!("non-motor / prohibited road / parking: hand 0 produced {parked:?}");
    assert!(parked.len() <= 1, "parking alarms {parked:?}");
    // Measured precision 0.67: at 2.8 s YOLOX boxes the woman's bicycle as two halves side by
    // side, and the second box starts a track of its own (one extra entry).
    let entries = times(&tl, NON_MOTOR_INTRUSION, Some(0));
    check("non-motor / prohibited road / entries", &entries, &[1.0, 2.1], 0.6, 0.9);
    // Every alarmed vehicle rides out of the picture (the woman at 5.5 s, the man at 6.5 s). A
    // vehicle last seen moving is gone 1 s later; one last seen looking stopped (the man, cut
    // by the right edge) is believed to stay until the tracker drops it 6 s later, after the
    // clip's end. Measured: 1 of 2 disappear messages within the clip, none before leaving.
    let gone = times(&tl, NON_MOTOR_INTRUSION, Some(1));
    eprintln!("non-motor / prohibited road / disappear: produced at {gone:?} (hand: left at 5.5 s, 6.5 s)");
    assert!(
        !gone.is_empty() && gone.len() <= entries.len(),
        "disappear messages {gone:?}"
    );
    assert!(
        gone.iter().all(|t| *t >= 5.5),
        "a disappear message before the vehicle left: {gone:?}"
    );
    for (_, e) in tl.iter().filter(|(_, e)| e.event_type == NON_MOTOR_INTRUSION) {
        assert_eq!(e.data["alarm_type"].as_i64(), e.alarm_type);
    }
}

#[test]
fn non_motor_street_montage() {
    // Legal parking left of x = 400 (where the fence bicycle is locked). Outside it: the scooter
    // parked at the right edge (shot 4.1-5.4 s) and the bicycle leaning on the wall (7.5 s-).
    // The cyclist stopped astride his bicycle at 4.1-5.4 s is not parked (counted as wrong if
    // reported).
    let cfg = json!({"illegal_park_alert_threshold": 1,
        "target_roi": roi(json!([{"data": [[0,0],[400,0],[400,272],[0,272]], "name": "legal_area"}]))});
    let tl = support::run_one("c-non-motor-detection-edge", &cfg, &support::media(STREET), FPS);
    let items = support::items(&tl, NON_MOTOR_PARKING, Some(0));
    eprintln!(
        "non-motor / street: {:?}",
        items
            .iter()
            .map(|(t, i)| (t, i["type"].clone(), i["bounding_box"].clone()))
            .collect::<Vec<_>>()
    );
    // Measured recall 1.0 with the detector input cut to the frame (416x224); 0.5 with the
    // square input, where the scooter, visible for 1.3 s at the right border, was tracked only
    // from 4.4 s and its shot ended (5.4 s) before the 1 s threshold. The wall bicycle, called a
    // motorcycle from about 8.4 s, stays one object (one alarm): precision 1.0.
    check(
        "non-motor / street / legal area = left",
        &times(&tl, NON_MOTOR_PARKING, Some(0)),
        &[5.1, 8.5],
        0.9,
        0.5,
    );
}

// --- composites: umbrella and vessel ----------------------------------------------------------

#[test]
fn umbrella_composite_two_placements() {
    // stall_a holds U1 from 3.4 s (anchor enters) to 14.4 s: due at 6.4 s with the default 3 s;
    // U2 crosses it in 0.9 s. stall_b holds U3 from 6.0 s: due at 9.0 s.
    let cases = [
        ("stall_a", json!([[200, 300], [430, 300], [430, 460], [200, 460]]), 6.4),
        ("stall_b", json!([[480, 150], [700, 150], [700, 280], [480, 280]]), 9.0),
    ];
    for (name, poly, truth) in cases {
        let cfg = json!({"target_roi": roi(json!([{"data": poly, "name": name}]))});
        let tl = support::run_one("c-urban-umbrella-edge", &cfg, &composites::umbrella_clip(), FPS);
        for (_, item) in support::items(&tl, UMBRELLA, None) {
            assert_eq!(item["polygon_name"], name);
        }
        check(
            &format!("umbrella / composite / {name}"),
            &times(&tl, UMBRELLA, None),
            &[truth],
            1.0,
            1.0,
        );
    }
}

#[test]
fn vessel_intrusion_composite_two_placements() {
    // harbour: B1's anchor (waterline) enters at 7.3 s; B2 sails above it. channel: B2 enters
    // at 18.6 s; B1 sails below it.
    let cases = [
        ("harbour", json!([[300, 380], [560, 380], [560, 512], [300, 512]]), 7.3),
        ("channel", json!([[0, 300], [300, 300], [300, 420], [0, 420]]), 18.6),
    ];
    for (name, poly, truth) in cases {
        let cfg = json!({"target_roi": roi(json!([{"data": poly, "name": name}]))});
        let tl = support::run_one("ship-intrusion-cloud", &cfg, &composites::boat_clip(), FPS);
        for (_, item) in support::items(&tl, VESSEL_INTRUSION, None) {
            assert_eq!(item["category"], 0);
            assert_eq!(item["polygon_name"], name);
        }
        check(
            &format!("vessel / composite / {name}"),
            &times(&tl, VESSEL_INTRUSION, None),
            &[truth],
            1.0,
            1.0,
        );
    }
}
