//! Analyzers on hand-made detection sequences (no model): line jitter, interval rollover, size
//! filter, `all_print_sw`, class switches, disappear alerts, loitering, registry and ROI errors.

use serde_json::{json, Value};
use vigil_algorithms::event_type::{FLOW_HEATMAP, FLOW_LINE_COUNT, FLOW_REGION_COUNT, INTRUSION, LOITERING};
use vigil_algorithms::{
    build_analyzer, build_analyzer_seeded, validate_common, validate_roi, Analyzer, Catalog, ConfigErrorKind,
    DetectorModel, Event, FrameInput, Perception, ValidatedCommon,
};
use vigil_vision::{BBox, Detection, ImageBgr};

const W: u32 = 1920;
const H: u32 = 1080;

fn common(service: &str, cfg: Value) -> ValidatedCommon {
    let (spec, _) = Catalog::by_service_name(service).expect("service");
    validate_common(spec, &cfg).expect("valid config")
}

fn analyzer(service: &str, cfg: Value) -> Box<dyn Analyzer> {
    build_analyzer_seeded(service, &common(service, cfg), 7).expect("analyzer")
}

/// A person box of height `h` standing at (x, y) (its anchor).
fn person(x: f32, y: f32, h: f32) -> Detection {
    Detection {
        bbox: BBox::new(x - h / 6.0, y - h, x + h / 6.0, y),
        score: 0.9,
        class_id: 0,
    }
}

fn with_class(mut d: Detection, class_id: u32) -> Detection {
    d.class_id = class_id;
    d
}

/// Runs `frames` (detections per frame) at `fps`; returns the events of each frame.
fn run(a: &mut dyn Analyzer, fps: f64, frames: &[Vec<Detection>]) -> Vec<Vec<Event>> {
    let img = ImageBgr::filled(W, H, [0, 0, 0]).expect("image");
    frames
        .iter()
        .enumerate()
        .map(|(i, dets)| {
            let time = i as f64 / fps;
            let frame = FrameInput {
                image: &img,
                time,
                epoch: 1_700_000_000 + time as i64,
                rate: fps,
            };
            a.process(&frame, &Perception::with_detections(DetectorModel::Coco, dets.clone()))
                .expect("process")
        })
        .collect()
}

fn all(events: &[Vec<Event>], event_type: u64) -> Vec<&Event> {
    events.iter().flatten().filter(|e| e.event_type == event_type).collect()
}

/// A vertical line at x = 960 (side1 = left).
const VLINE: &str =
    r#"{"lines":[{"data":[[960,100],[960,1000]],"properties":{"side1_name":"west","side2_name":"east"}}]}"#;

/// One person walking left to right across x = 960 at `speed` px per frame from x = `x0`.
fn walk(x0: f32, speed: f32, n: usize, y: f32) -> Vec<Vec<Detection>> {
    (0..n).map(|i| vec![person(x0 + speed * i as f32, y, 200.0)]).collect()
}

#[test]
fn flow_line_jitter_on_the_line_counts_once() {
    let mut a = analyzer(
        "c-flowcount-edge",
        json!({"target_roi": VLINE, "line_count_interval": 100}),
    );
    // Walk up to the line, jitter +-10 px around it for 40 frames, then walk on to the east.
    let mut frames = walk(800.0, 10.0, 16, 600.0);
    for i in 0..40 {
        let x = if i % 2 == 0 { 950.0 } else { 972.0 };
        frames.push(vec![person(x, 600.0, 200.0)]);
    }
    frames.extend(walk(975.0, 10.0, 20, 600.0));
    frames.extend(vec![Vec::new(); 1000]); // 110 s at 10 fps: the period ends.
    let events = run(a.as_mut(), 10.0, &frames);
    let lines = all(&events, FLOW_LINE_COUNT);
    assert_eq!(lines.len(), 1, "one period of 100 s passed");
    let item = &lines[0].data["event_set"][0];
    assert_eq!(item["side2_count"], 1, "{item}");
    assert_eq!(item["side1_count"], 0, "{item}");
    assert_eq!(item["side1_name"], "west");
    assert_eq!(item["side2_name"], "east");
    assert_eq!(item["line"], json!([[960, 100], [960, 1000]]));
    assert_eq!(item["line_id"], 0);
    assert_eq!(lines[0].data["interval"], 100);
    assert!(!lines[0].with_image, "flow messages carry no picture by default");
    assert_eq!(lines[0].alarm_type, None);
}

#[test]
fn flow_line_counts_roll_over_per_interval() {
    let mut a = analyzer(
        "c-flowcount-edge",
        json!({"target_roi": VLINE, "line_count_interval": 2}),
    );
    // 10 fps. Person A crosses west->east around t = 1.6 s (frame 16), person B east->west
    // around t = 4.5 s.
    let mut frames: Vec<Vec<Detection>> = Vec::new();
    for i in 0..80 {
        let t = i as f32;
        let mut dets = Vec::new();
        if i < 40 {
            dets.push(person(800.0 + 10.0 * t, 600.0, 200.0));
        }
        if (20..70).contains(&i) {
            dets.push(person(1200.0 - 10.0 * (t - 20.0), 300.0, 200.0));
        }
        frames.push(dets);
    }
    let events = run(a.as_mut(), 10.0, &frames);
    let lines = all(&events, FLOW_LINE_COUNT);
    // Periods end at 2, 4 and 6 s (frames 20, 40, 60), nothing else in 8 s.
    assert_eq!(lines.len(), 3);
    let counts: Vec<(i64, i64)> = lines
        .iter()
        .map(|e| {
            let it = &e.data["event_set"][0];
            (
                it["side1_count"].as_i64().unwrap_or(-1),
                it["side2_count"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(counts, vec![(0, 1), (0, 0), (1, 0)]);
    // The message of a period goes out with the first frame at or past its end.
    let at: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.iter().any(|e| e.event_type == FLOW_LINE_COUNT))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at, vec![20, 40, 60]);
}

#[test]
fn flow_region_counts_and_heatmap() {
    let roi = r#"{"polygons":[{"data":[[0,0],[960,0],[960,1080],[0,1080]],"name":"west"}]}"#;
    let mut a = analyzer(
        "c-flowcount-edge",
        json!({"target_roi": roi, "region_count_interval": 1, "heatmap_detection_sw": 1,
               "heatmap_detection_interval": 10, "heatmap_point_interval": 2, "line_detection_sw": 0}),
    );
    let frames: Vec<Vec<Detection>> = (0..101)
        .map(|_| {
            vec![
                person(300.0, 500.0, 200.0),
                person(500.0, 900.0, 200.0),
                person(1500.0, 900.0, 200.0),
            ]
        })
        .collect();
    let events = run(a.as_mut(), 10.0, &frames);
    assert!(all(&events, FLOW_LINE_COUNT).is_empty(), "line counting is off");
    let regions = all(&events, FLOW_REGION_COUNT);
    assert_eq!(regions.len(), 10);
    for r in &regions {
        assert_eq!(r.data["interval"], 1);
        let it = &r.data["event_set"][0];
        assert_eq!(it["crowd_count"], 2, "{it}");
        assert_eq!(it["polygon_name"], "west");
        assert_eq!(it["polygon"], json!([[0, 0], [960, 0], [960, 1080], [0, 1080]]));
        assert_eq!(r.boxes.len(), 2);
    }
    let heat = all(&events, FLOW_HEATMAP);
    assert_eq!(heat.len(), 1, "one 10 s heat-map period in 10 s");
    let h = &heat[0].data;
    assert_eq!(h["frame_size"], json!([1920, 1080]));
    assert_eq!(h["grid"], json!({"cell": 60, "cols": 32, "rows": 18}));
    assert_eq!(h["samples"], 50, "every 2nd frame of 100");
    let counts = h["counts"].as_array().expect("rows");
    assert_eq!(counts.len(), 18);
    assert_eq!(counts[8][5], 50, "anchor (300,500) is in cell (5,8)");
    assert_eq!(counts[15][8], 50);
    assert_eq!(counts[15][25], 50);
    let total: i64 = counts
        .iter()
        .flat_map(|r| r.as_array().into_iter().flatten())
        .filter_map(Value::as_i64)
        .sum();
    assert_eq!(total, 150);
}

#[test]
fn flow_region_without_polygon_is_whole_frame() {
    let mut a = analyzer(
        "c-flowcount-cloud",
        json!({"region_count_interval": 1, "output_image_sw": 1}),
    );
    let frames: Vec<Vec<Detection>> = (0..11).map(|_| vec![person(300.0, 500.0, 200.0)]).collect();
    let events = run(a.as_mut(), 10.0, &frames);
    let r = all(&events, FLOW_REGION_COUNT);
    assert_eq!(r.len(), 1);
    assert_eq!(
        r[0].data["event_set"][0]["polygon"],
        json!([[0, 0], [1920, 0], [1920, 1080], [0, 1080]])
    );
    assert_eq!(r[0].data["event_set"][0]["crowd_count"], 1);
    assert!(r[0].data["event_set"][0].get("polygon_name").is_none());
    assert!(r[0].with_image, "output_image_sw 1");
}

const AREA: &str = r#"{"polygons":[{"data":[[1000,0],[1920,0],[1920,1080],[1000,1080]],"name":"zone"}]}"#;

#[test]
fn intrusion_alarms_once_per_entry_with_spec_payload() {
    let mut a = analyzer("c-intrusiondetection-edge", json!({"target_roi": AREA}));
    // Walks into the zone (x >= 1000), jitters on its border for 3 s, walks out, stays out for
    // 2 s and walks back in.
    let mut frames = walk(800.0, 20.0, 11, 600.0); // reaches x = 1000 at frame 10
    for i in 0..30 {
        frames.push(vec![person(if i % 2 == 0 { 990.0 } else { 1010.0 }, 600.0, 200.0)]);
    }
    frames.extend(walk(990.0, -20.0, 10, 600.0));
    frames.extend((0..20).map(|_| vec![person(810.0, 600.0, 200.0)]));
    frames.extend(walk(810.0, 20.0, 15, 600.0));
    let events = run(a.as_mut(), 10.0, &frames);
    let alarms = all(&events, INTRUSION);
    let per_frame: Vec<usize> = events
        .iter()
        .map(|e| e.iter().filter(|e| e.event_type == INTRUSION).count())
        .collect();
    assert!(per_frame.iter().all(|&n| n <= 1));
    assert_eq!(
        alarms.len(),
        2,
        "entry, border jitter ignored, re-entry after leaving: {alarms:?}"
    );
    let item = &alarms[0].data["event_set"][0];
    assert_eq!(item["category"], 0);
    assert_eq!(item["start_position"], "out");
    assert_eq!(item["end_position"], "in");
    assert_eq!(item["polygon_name"], "zone");
    let bb = &item["bounding_box"];
    for k in ["x", "y", "w", "h"] {
        assert!(bb[k].is_i64(), "{bb}");
    }
    let id = item["detection_id"].as_str().expect("id");
    assert_eq!(id.len(), 36);
    assert_eq!(id, id.to_uppercase());
    assert_eq!(id.matches('-').count(), 4);
    assert_eq!(
        alarms[1].data["event_set"][0]["detection_id"], id,
        "same track, same id"
    );
    assert_eq!(
        alarms[0].alarm_type, None,
        "alarm_type only with event_disappear_alert_sw"
    );
    assert!(alarms[0].with_image);
    assert_eq!(alarms[0].boxes.len(), 1);
}

#[test]
fn intrusion_disappear_alert_when_target_leaves_or_is_lost() {
    let mut a = analyzer(
        "c-intrusiondetection-edge",
        json!({"target_roi": AREA, "event_disappear_alert_sw": 1}),
    );
    let mut frames: Vec<Vec<Detection>> = (0..10).map(|_| vec![person(1500.0, 600.0, 200.0)]).collect();
    frames.extend((0..20).map(|_| vec![person(500.0, 600.0, 200.0)])); // teleports out: leaves
    frames.extend((0..10).map(|_| vec![person(500.0, 600.0, 200.0), person(1500.0, 900.0, 200.0)]));
    frames.extend(vec![Vec::new(); 60]); // both lost, dropped after 3 s
    let events = run(a.as_mut(), 10.0, &frames);
    let alarms: Vec<&Event> = all(&events, INTRUSION)
        .into_iter()
        .filter(|e| e.alarm_type == Some(0))
        .collect();
    let gone: Vec<&Event> = all(&events, INTRUSION)
        .into_iter()
        .filter(|e| e.alarm_type == Some(1))
        .collect();
    let n_alarm: usize = alarms
        .iter()
        .map(|e| e.data["event_set"].as_array().map_or(0, Vec::len))
        .sum();
    let n_gone: usize = gone
        .iter()
        .map(|e| e.data["event_set"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(n_alarm >= 2, "{n_alarm}");
    assert_eq!(n_gone, n_alarm, "every alarmed target's disappearance is reported");
    for g in &gone {
        assert_eq!(g.data["event_set"][0]["end_position"], "out");
    }
}

#[test]
fn intrusion_size_filter_scales_with_frame_height() {
    // 1080p frame: 60..=300 px kept.
    let mut a = analyzer(
        "c-intrusiondetection-edge",
        json!({"detection_min_size": 60, "detection_max_size": 300}),
    );
    let frames: Vec<Vec<Detection>> = (0..5)
        .map(|_| {
            vec![
                person(200.0, 500.0, 40.0),
                person(800.0, 500.0, 150.0),
                person(1500.0, 900.0, 500.0),
            ]
        })
        .collect();
    let events = run(a.as_mut(), 10.0, &frames);
    let items: Vec<&Value> = all(&events, INTRUSION)
        .iter()
        .flat_map(|e| e.data["event_set"].as_array().into_iter().flatten())
        .collect();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["bounding_box"]["h"], 150);
    // On a 540p frame the same 1080p limits mean 30..=150 px: a 40 px box is kept.
    let mut b = build_analyzer(
        "c-intrusiondetection-edge",
        &common(
            "c-intrusiondetection-edge",
            json!({"detection_min_size": 60, "detection_max_size": 300}),
        ),
    )
    .expect("analyzer");
    let img = ImageBgr::filled(960, 540, [0, 0, 0]).expect("image");
    let mut n = 0;
    for i in 0..3 {
        let f = FrameInput {
            image: &img,
            time: i as f64 * 0.1,
            epoch: 0,
            rate: 10.0,
        };
        let dets = vec![person(200.0, 300.0, 40.0), person(600.0, 500.0, 200.0)];
        for e in b
            .process(&f, &Perception::with_detections(DetectorModel::Coco, dets))
            .expect("process")
        {
            n += e.data["event_set"].as_array().map_or(0, Vec::len);
        }
    }
    assert_eq!(n, 1);
}

#[test]
fn intrusion_all_print_lists_everyone_inside() {
    // Person A is inside from the start; B enters at frame 20.
    let frames: Vec<Vec<Detection>> = (0..30)
        .map(|i| {
            let mut d = vec![person(1500.0, 600.0, 200.0)];
            if i >= 20 {
                d.push(person(1200.0, 1000.0, 200.0));
            }
            d
        })
        .collect();
    let mut sizes = Vec::new();
    for sw in [0, 1] {
        let mut a = analyzer(
            "c-intrusiondetection-edge",
            json!({"target_roi": AREA, "all_print_sw": sw}),
        );
        let events = run(a.as_mut(), 10.0, &frames);
        let alarms = all(&events, INTRUSION);
        assert_eq!(alarms.len(), 2, "one message per new intruder");
        sizes.push(
            alarms
                .iter()
                .map(|e| e.data["event_set"].as_array().map_or(0, Vec::len))
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(sizes[0], vec![1, 1], "all_print_sw 0: only the new one");
    assert_eq!(
        sizes[1],
        vec![1, 2],
        "all_print_sw 1: the new one and the one already inside"
    );
}

#[test]
fn intrusion_class_switches() {
    let frames: Vec<Vec<Detection>> = (0..5)
        .map(|_| {
            vec![
                person(300.0, 500.0, 200.0),
                with_class(person(1200.0, 900.0, 300.0), 2),
                with_class(person(1700.0, 900.0, 300.0), 16),
            ]
        })
        .collect();
    let categories = |cfg: Value| {
        let mut a = analyzer("c-intrusiondetection-edge", cfg);
        let events = run(a.as_mut(), 10.0, &frames);
        let mut c: Vec<i64> = all(&events, INTRUSION)
            .iter()
            .flat_map(|e| e.data["event_set"].as_array().into_iter().flatten())
            .filter_map(|i| i["category"].as_i64())
            .collect();
        c.sort();
        (c, a.needs().detectors[0].classes.clone())
    };
    assert_eq!(categories(json!({})), (vec![0], vec![0]));
    assert_eq!(
        categories(json!({"car_detection_sw": 1})),
        (vec![0, 1], vec![0, 2, 3, 5, 7])
    );
    assert_eq!(
        categories(json!({"car_detection_sw": 1, "person_detection_sw": 0})),
        (vec![1], vec![2, 3, 5, 7])
    );
}

#[test]
fn intrusion_line_crossing_names_sides() {
    let mut a = analyzer(
        "c-intrusiondetection-edge",
        json!({"target_roi": VLINE, "region_detection_sw": 0}),
    );
    let events = run(a.as_mut(), 10.0, &walk(1200.0, -20.0, 30, 600.0));
    let alarms = all(&events, INTRUSION);
    assert_eq!(alarms.len(), 1);
    let it = &alarms[0].data["event_set"][0];
    assert_eq!(
        (it["start_position"].as_str(), it["end_position"].as_str()),
        (Some("east"), Some("west"))
    );
}

#[test]
fn intrusion_loitering_once_per_stay() {
    let mut a = analyzer(
        "c-intrusiondetection-edge",
        json!({"target_roi": AREA, "loitering_detection_sw": 1, "loitering_time_threshold": 5, "region_detection_sw": 0}),
    );
    // 8 s inside, 3 s outside, 3 s inside again (too short).
    let mut frames: Vec<Vec<Detection>> = (0..80).map(|i| vec![person(1200.0 + i as f32, 600.0, 200.0)]).collect();
    frames.extend((0..30).map(|_| vec![person(700.0, 600.0, 200.0)]));
    frames.extend((0..30).map(|_| vec![person(1200.0, 600.0, 200.0)]));
    let events = run(a.as_mut(), 10.0, &frames);
    assert!(all(&events, INTRUSION).is_empty(), "region detection off");
    let loiter = all(&events, LOITERING);
    assert_eq!(loiter.len(), 1);
    let at = events.iter().position(|e| e.iter().any(|e| e.event_type == LOITERING));
    assert_eq!(at, Some(50), "5 s after the first frame inside");
}

#[test]
fn registry_refuses_unimplemented_and_bad_roi() {
    // Every catalogue algorithm is implemented since issue 12; a model-bound one without its
    // package is refused the same way (param `service_name`).
    let (spec, _) = Catalog::all()
        .iter()
        .find(|s| !s.implemented)
        .and_then(|s| s.edge_service_name)
        .and_then(Catalog::by_service_name)
        .or_else(|| Catalog::by_service_name("c-urban-stacking-edge"))
        .expect("an algorithm that cannot be built as is");
    let name = spec.edge_service_name.or(spec.cloud_service_name).expect("name");
    let c = validate_common(spec, &json!({})).expect("defaults");
    let err = build_analyzer(name, &c).err().expect("refused");
    assert_eq!(err.param, "service_name");
    assert!(build_analyzer("no-such-service", &c).is_err());

    let bad = common(
        "c-flowcount-edge",
        json!({"target_roi": r#"{"lines":[{"data":[[1,2]]}]}"#}),
    );
    let err = build_analyzer("c-flowcount-edge", &bad).err().expect("refused");
    assert!(
        err.param.starts_with("config.common.target_roi.lines[0]"),
        "{}",
        err.param
    );
    assert_eq!(err.kind, ConfigErrorKind::InvalidValue);
    let err = validate_roi(&bad, "service_config.common.target_roi").expect_err("refused");
    assert!(
        err.param.starts_with("service_config.common.target_roi.lines[0]"),
        "{}",
        err.param
    );
    let ok = common("c-flowcount-edge", json!({"target_roi": VLINE}));
    assert!(validate_roi(&ok, "config.common.target_roi").is_ok());
    let roi = build_analyzer("c-flowcount-edge", &ok).expect("ok");
    assert_eq!(roi.roi().map(|r| r.lines.len()), Some(1));
}

#[test]
fn no_panic_on_odd_input() {
    let mut a = analyzer(
        "c-intrusiondetection-edge",
        json!({"loitering_detection_sw": 1, "all_print_sw": 1, "event_disappear_alert_sw": 1}),
    );
    let mut f = analyzer(
        "c-flowcount-edge",
        json!({"target_roi": VLINE, "heatmap_detection_sw": 1, "heatmap_point_interval": 1}),
    );
    let odd = [
        Detection {
            bbox: BBox::new(f32::NAN, 0.0, f32::INFINITY, 5000.0),
            score: 0.9,
            class_id: 0,
        },
        Detection {
            bbox: BBox::new(-500.0, -500.0, 5000.0, 5000.0),
            score: 2.0,
            class_id: 0,
        },
        Detection {
            bbox: BBox::new(10.0, 10.0, 5.0, 5.0),
            score: 0.9,
            class_id: 999,
        },
    ];
    let img = ImageBgr::filled(16, 16, [0, 0, 0]).expect("image");
    for (i, t) in [0.0, 0.0, -1.0, f64::NAN, 5.0, 1e12, 1e12 + 1.0].iter().enumerate() {
        let fr = FrameInput {
            image: &img,
            time: *t,
            epoch: i as i64,
            rate: 5.0,
        };
        let p = Perception::with_detections(DetectorModel::Coco, odd.to_vec());
        let _ = a.process(&fr, &p);
        let _ = f.process(&fr, &p);
    }
}

#[test]
fn registry_matches_catalogue() {
    let flagged: Vec<&str> = Catalog::implemented().map(|s| s.id).collect();
    let registered: Vec<&str> = vigil_algorithms::REGISTRY.iter().map(|(id, _)| *id).collect();
    let mut a = flagged.clone();
    let mut b = registered.clone();
    a.sort();
    b.sort();
    assert_eq!(a, b, "catalogue `.implemented()` flags and REGISTRY lines must agree");
}

#[test]
fn every_registered_analyzer_builds_from_its_defaults() {
    // A config field naming a key the catalogue lacks (a typo) fails here, not silently later.
    for (id, _) in vigil_algorithms::REGISTRY {
        if vigil_algorithms::catalog::roles(id).is_some() {
            // Model-bound: built with a package in tests/model_bound_algorithms.rs.
            continue;
        }
        let spec = Catalog::implemented().find(|s| s.id == *id).expect("in catalogue");
        let service = spec
            .cloud_service_name
            .or(spec.edge_service_name)
            .expect("a service name");
        // Algorithms that cannot run without geometry get the least they need.
        let config = match *id {
            "c-retrograde-detection" => json!({"target_roi": VLINE}),
            "c-highpoint-overspeed" => json!({"calibration": {
                "image_points": [[0, 0], [100, 0], [100, 100], [0, 100]],
                "ground_points_m": [[0, 0], [10, 0], [10, 10], [0, 10]]}}),
            _ => json!({}),
        };
        let a = build_analyzer(service, &common(service, config)).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert!(a.needs().fps > 0.0, "{id} asks for a rate");
    }
}

#[test]
fn crowd_density_alarms_at_the_threshold_with_the_spec_payload() {
    let mut a = analyzer(
        "c-crowdcount-edge",
        json!({"alarm_threshold": "3", "sampling_time_interval": 2,
               "target_roi": r#"{"polygons":[{"data":[[0,0],[960,0],[960,1080],[0,1080]],"name":"west"}]}"#}),
    );
    assert_eq!(a.needs().fps, 0.5);
    let two = vec![
        person(100.0, 500.0, 200.0),
        person(400.0, 500.0, 200.0),
        person(1500.0, 500.0, 200.0),
    ];
    let three = vec![
        person(100.0, 500.0, 200.0),
        person(400.0, 500.0, 200.0),
        person(700.0, 500.0, 200.0),
    ];
    let events = run(a.as_mut(), 0.5, &[two, three]);
    assert!(
        events[0].is_empty(),
        "2 people in the polygon: below the threshold of 3"
    );
    let e = &events[1][0];
    assert_eq!(e.event_type, 524_288);
    assert_eq!(e.data["scene_type"], 1);
    assert_eq!(e.data["alarm_type"], 1);
    assert_eq!(e.data["event_set"][0]["crowd_count"], 3);
    assert_eq!(e.data["event_set"][0]["banner_count"], 0);
    assert_eq!(e.data["event_set"][0]["polygon_name"], "west");
    assert_eq!(e.data["event_set"][0]["polygon"][1], json!([960, 0]));
}
