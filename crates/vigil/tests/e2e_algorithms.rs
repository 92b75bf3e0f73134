//! Every implemented algorithm through the task API, end to end: a task on a real clip file
//! (`shared/media`), the worker inside `vigil serve`, alarms stored in the event center, each
//! payload checked against spec §6.4 (`vigil_algorithms::payload_schema`), on SQLite and on
//! PostgreSQL; and three of them created and run through the official `huaweicloudsdkvas` SDK.
//!
//! The clips, ROIs and settings are the ones of the accuracy tests in
//! `crates/vigil-algorithms/tests/` (ground truth in `tools/labels/`); here the point is that the
//! whole path works, so each case asks only for its event types to appear.

mod common;
#[allow(dead_code)] // the accuracy tests use the rest
#[path = "../../vigil-algorithms/tests/support/composites.rs"]
mod composites;
#[path = "../../vigil-algorithms/tests/support/paths.rs"]
mod paths;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::api::Api;
use common::pg::PgDatabase;
use common::{python, run_ok, shared, vigil, Server};
use serde_json::{json, Value};
use vigil_algorithms::{payload_schema, Catalog};

/// Where a case's video comes from.
#[derive(Clone, Copy)]
enum Clip {
    /// A clip of `shared/media`.
    Media(&'static str),
    /// A composited clip (an object no real clip shows), built at test time.
    Composite(fn() -> PathBuf),
}

/// One algorithm on one clip: the event types it must raise there.
struct Case {
    service: &'static str,
    clip: Clip,
    /// `config.common` (JSON).
    common: &'static str,
    events: &'static [u64],
}

const PED: Clip = Clip::Media("pedestrians_vtest.mp4");
const CARPARK: Clip = Clip::Media("carpark_cars.mp4");
const DESK: Clip = Clip::Media("standing_desk_people.mp4");
const BICYCLE: Clip = Clip::Media("street_parked_bicycle.mp4");

/// The standing-desk clip with suitcases left on the floor from 88 s (the abandoned-object test's).
fn desk_with_suitcases() -> PathBuf {
    composites::overlay_still(
        "standing_desk_people.mp4",
        "suitcases.png",
        (80, 315),
        (88.0, 130.0),
        "desk_bag.mp4",
    )
}

/// Every implemented algorithm (the three of issue 9, the thirteen of issue 10, the twelve of
/// issue 11). A case with no event types must raise no alarm at all.
const CASES: &[Case] = &[
    Case {
        service: "c-intrusiondetection-cloud",
        clip: PED,
        common: r#"{"target_roi": "{\"polygons\":[{\"data\":[[0,150],[150,150],[150,280],[0,280]],\"name\":\"road_west\"}]}"}"#,
        events: &[196_609],
    },
    Case {
        service: "c-flowcount-cloud",
        clip: PED,
        common: r#"{"target_roi": "{\"lines\":[{\"data\":[[150,150],[150,330]]}]}", "line_count_interval": 5, "region_detection_sw": 0}"#,
        events: &[131_073],
    },
    Case {
        service: "c-crowdcount-cloud",
        clip: PED,
        common: r#"{"alarm_threshold": "6", "sampling_time_interval": 2}"#,
        events: &[524_288],
    },
    Case {
        service: "c-staffonduty-cloud",
        clip: DESK,
        common: r#"{"target_roi": "{\"polygons\":[{\"name\":\"desk\",\"data\":[[330,280],[600,280],[600,432],[330,432]]}]}", "key_region_person_count": 1}"#,
        events: &[458_752],
    },
    Case {
        service: "c-abandon-detection-cloud",
        clip: Clip::Composite(desk_with_suitcases),
        common: r#"{"alert_time_threshold": 10}"#,
        events: &[327_680],
    },
    Case {
        service: "c-sharedbicycledetection-cloud",
        clip: BICYCLE,
        common: r#"{"illegal_park_alert_threshold": 5, "target_roi": "{\"polygons\":[{\"data\":[[55,60],[150,60],[150,150],[55,150]],\"name\":\"illegal01\"}]}"}"#,
        events: &[655_360],
    },
    Case {
        service: "c-traffic-abnormal-park-cloud",
        clip: PED,
        common: r#"{"illegal_park_alert_threshold": 30, "target_roi": "{\"polygons\":[{\"name\":\"illegal_van\",\"data\":[[640,30],[740,30],[740,110],[640,110]]}]}"}"#,
        events: &[74_240],
    },
    Case {
        service: "c-vehicle-detection-cloud",
        clip: CARPARK,
        common: r#"{"target_roi": "{\"lines\":[{\"data\":[[0,216],[768,216]]}]}"}"#,
        events: &[75_008],
    },
    Case {
        service: "c-fire-exit-occupation-cloud",
        clip: PED,
        common: r#"{"vehicle_residence_time": 20, "target_roi": "{\"polygons\":[{\"name\":\"illegal_van\",\"data\":[[640,30],[740,30],[740,110],[640,110]]}]}"}"#,
        events: &[1_179_649],
    },
    Case {
        service: "c-non-motor-detection-cloud",
        clip: BICYCLE,
        common: r#"{"illegal_park_alert_threshold": 5, "target_roi": "{\"polygons\":[{\"data\":[[180,0],[320,0],[320,240],[180,240]],\"name\":\"legal_area\"}]}"}"#,
        events: &[1_376_256],
    },
    Case {
        service: "c-highpoint-crowdcount-cloud",
        clip: Clip::Media("gym_crowd_high_corner.mp4"),
        common: r#"{"alarm_threshold": "3 5", "target_roi": "{\"polygons\":[{\"name\":\"floor\",\"data\":[[240,225],[480,225],[480,360],[240,360]]},{\"name\":\"tables\",\"data\":[[60,140],[170,140],[170,215],[235,215],[235,360],[60,360]]}]}"}"#,
        events: &[1_769_472],
    },
    Case {
        service: "c-urban-umbrella-cloud",
        clip: Clip::Composite(composites::umbrella_clip),
        common: r#"{"target_roi": "{\"polygons\":[{\"data\":[[200,300],[430,300],[430,460],[200,460]],\"name\":\"stall_a\"}]}"}"#,
        events: &[2_293_760],
    },
    Case {
        service: "c-retrograde-detection-edge",
        clip: CARPARK,
        common: r#"{"target_roi": "{\"lines\":[{\"data\":[[384,50],[384,380]]}]}"}"#,
        events: &[75_009],
    },
    Case {
        service: "c-highpoint-overspeed-edge",
        clip: CARPARK,
        common: r#"{"speed_limit": 5, "calibration": {"image_points": [[84, 30], [684, 30], [684, 400], [84, 400]],
                   "ground_points_m": [[-4.63, 0.70], [4.63, 0.70], [3.39, 6.79], [-3.39, 6.79]]}}"#,
        events: &[75_012],
    },
    Case {
        service: "c-vehicle-statistics-edge",
        clip: CARPARK,
        common: r#"{"target_roi": "{\"lines\":[{\"data\":[[0,216],[768,216]]}]}", "count_interval": 10}"#,
        events: &[75_010],
    },
    // Issue 11: pose, faces, OCR and pixels. Fights, smoking and phoning have no licensed clip
    // where they happen: their cases run on clips where they do not and must stay silent.
    Case {
        service: "c-pose-action-recog-cloud",
        clip: Clip::Media("fall_backward_night.mp4"),
        common: r#"{"fall_detection_sw": 1, "bend_detection_sw": 1}"#,
        events: &[851_969, 851_971],
    },
    Case {
        service: "c-fightdetect-cloud",
        clip: Clip::Media("fall_backward_day.mp4"),
        common: "{}",
        events: &[],
    },
    Case {
        service: "c-event-action-recog-cloud",
        clip: Clip::Media("no_fall_sitting_eating.mp4"),
        common: r#"{"smoking_detection_sw": 1, "phoning_detection_sw": 1}"#,
        events: &[],
    },
    Case {
        service: "c-wear-mask-recog-cloud",
        clip: Clip::Media("no_fall_sitting_eating.mp4"),
        common: "{}",
        events: &[1_048_576],
    },
    Case {
        service: "c-object-attri-recog-cloud",
        clip: Clip::Media("warehouse_worker_helmet.mp4"),
        common: r#"{"car_detection_sw": 0}"#,
        events: &[2_162_688],
    },
    Case {
        service: "c-smoke-and-fire-cloud",
        clip: Clip::Media("fire_dollhouse.mp4"),
        common: "{}",
        events: &[393_216],
    },
    Case {
        service: "drainage-recognition-cloud",
        clip: Clip::Composite(composites::drainage_clip),
        common: r#"{"target_roi": "{\"polygons\":[{\"name\":\"outlet\",\"data\":[[40,310],[320,310],[320,430],[40,430]]}]}"}"#,
        events: &[34_013_185],
    },
    Case {
        service: "cali-water-ruler-river-cloud",
        clip: Clip::Composite(composites::gauge_carpark_clip),
        common: r#"{"sampling_time_interval": 2, "number_unit_cm": 10}"#,
        events: &[33_816_579],
    },
    Case {
        service: "w-ponding-detection-cloud",
        clip: Clip::Composite(composites::ponding_clip),
        common: r#"{"alert_time_threshold": 5}"#,
        events: &[1_900_544],
    },
    Case {
        service: "c-urban-soil-exposure-cloud",
        clip: Clip::Composite(composites::soil_clip),
        common: r#"{"target_roi": "{\"polygons\":[{\"data\":[[0,230],[767,230],[767,575],[0,575]],\"name\":\"verge\"}]}"}"#,
        events: &[2_555_904],
    },
    Case {
        service: "c-cyanobacteria-cloud",
        clip: Clip::Composite(composites::cyanobacteria_clip),
        common: r#"{"alert_time_threshold": 3, "target_roi": "{\"polygons\":[{\"data\":[[0,270],[767,270],[767,511],[0,511]],\"name\":\"lake\"}]}"}"#,
        events: &[34_078_721],
    },
    Case {
        service: "floating-cloud",
        clip: Clip::Composite(composites::floating_clip),
        common: r#"{"target_roi": "{\"polygons\":[{\"data\":[[0,270],[767,270],[767,511],[0,511]],\"name\":\"lake\"}]}"}"#,
        events: &[33_685_505],
    },
    Case {
        service: "ship-intrusion-cloud",
        clip: Clip::Composite(composites::boat_clip),
        common: r#"{"target_roi": "{\"polygons\":[{\"data\":[[300,380],[560,380],[560,512],[300,512]],\"name\":\"harbour\"}]}"}"#,
        events: &[33_882_113],
    },
];

fn clip_path(clip: Clip) -> PathBuf {
    let p = match clip {
        Clip::Media(name) => paths::media(name),
        Clip::Composite(build) => build(),
    };
    p.canonicalize().unwrap_or(p)
}

fn start_server(data: &std::path::Path, database: Option<&str>) -> Server {
    let (media, composed) = (shared().join("media"), composites::composite_dir());
    let env: Vec<(&str, &str)> = database.map(|db| ("VIGIL_DATABASE", db)).into_iter().collect();
    Server::start_for_video(data, &[&media, &composed], &env, 0, &[])
}

fn state(api: &Api, task: &str) -> (String, Value) {
    let t = api.get(&format!("/tasks/{task}"));
    (t["state"].as_str().unwrap_or("").to_string(), t["error"].clone())
}

/// Checks one delivered or stored alarm: its event type is one of the algorithm's and its data
/// is exactly the §6.4 payload.
fn check_alarm(service: &str, alarm: &Value) {
    let (spec, _) = Catalog::by_service_name(service).expect("service");
    let t = alarm["event_type"].as_u64().expect("event_type");
    assert!(
        spec.events.iter().any(|e| e.code == t),
        "{service} raised event type {t}, not one of its own"
    );
    if t == vigil_core::catalog::event_type::DRAINAGE {
        // Spec §6.4 #38: the state sits in the envelope, and there is no `data`.
        assert!(
            alarm["drainage_state"].is_boolean() && alarm.get("data").is_none(),
            "{alarm}"
        );
    }
    let alarm_type = alarm.get("alarm_type").and_then(Value::as_i64);
    if let Err(why) = payload_schema::check(t, alarm_type, &alarm["data"]) {
        panic!("{service}: alarm breaks spec §6.4: {why}\n{alarm}");
    }
}

/// The case's event types each appear among `alarms` (counted into `summary`), or, for a case
/// with none, no alarm was raised.
fn check_events(case: &Case, alarms: &[Value], summary: &mut BTreeMap<String, usize>) {
    if case.events.is_empty() {
        assert!(
            alarms.is_empty(),
            "{} raised alarms on a clip without its events: {alarms:?}",
            case.service
        );
        summary.insert(format!("{} (silent)", case.service), 0);
    }
    for t in case.events {
        let n = alarms.iter().filter(|a| a["event_type"] == *t).count();
        assert!(n > 0, "{} raised no event {t}", case.service);
        summary.insert(format!("{} {t}", case.service), n);
    }
}

/// The task input of a case: the clip file as a `url` input for cloud services; edge services
/// take no `url` input (spec §5.3), so the clip is registered as a video source first.
fn task_input(api: &Api, case: &Case, i: usize) -> Value {
    let url = format!("file://{}", clip_path(case.clip).display());
    if !case.service.ends_with("-edge") {
        return json!({"type": "url", "data": [{"url": url}]});
    }
    let source = api.post(
        "/source",
        json!({"video_source_name": format!("clip{i}"), "access_type": "edge", "type": "url",
               "type_config": format!("<type_config><url_address>{url}</url_address></type_config>")}),
    );
    json!({"type": "video_source", "data": [{"video_source_id": source["video_source_id"]}]})
}

/// Creates every case as a task on its clip, waits for all to end, and checks the alarms.
fn run_cases(api: &Api) {
    let mut tasks = Vec::new();
    for (i, case) in CASES.iter().enumerate() {
        let common: Value = serde_json::from_str(case.common).expect("case config is JSON");
        let v = api.post(
            &format!("/services/{}/tasks", case.service),
            json!({"name": format!("case{i}"), "input": task_input(api, case, i),
                   "output": {"event_center": true}, "config": {"common": common}}),
        );
        tasks.push((case, v["tasks"][0]["id"].as_str().expect("task id").to_string()));
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    for (case, id) in &tasks {
        loop {
            let (s, error) = state(api, id);
            match s.as_str() {
                "SUCCEEDED" => break,
                "FAILED" | "ABNORMAL" => panic!("{} ended {s}: {error}", case.service),
                _ => {}
            }
            assert!(Instant::now() < deadline, "{} still {s} after 10 min", case.service);
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    let mut summary = BTreeMap::new();
    for (case, id) in &tasks {
        let stored = api.get(&format!("/vigil/alarms?task_id={id}&limit=1000"));
        let alarms = stored["alarms"].as_array().expect("alarms");
        for a in alarms {
            check_alarm(case.service, a);
            assert_eq!(a["task_id"], id.as_str());
        }
        check_events(case, alarms, &mut summary);
    }
    eprintln!("alarms per algorithm and event type: {summary:?}");
}

#[test]
fn every_algorithm_alarms_through_the_task_api_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path(), None);
    let api = Api::login(&server, "admin", "pw", "default");
    run_cases(&api);
    assert!(server.stop().success());
}

#[test]
fn every_algorithm_alarms_through_the_task_api_on_postgres() {
    let pg = PgDatabase::create("alg");
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path(), Some(&pg.url));
    let api = Api::login(&server, "admin", "pw", "default");
    run_cases(&api);
    assert!(server.stop().success());
}

/// `vigil analyze` runs every case offline on its clip (two at a time, like the CI machine's
/// cores) and prints the same alarms as JSON lines.
#[test]
fn every_algorithm_alarms_through_vigil_analyze() {
    let next = std::sync::Mutex::new(CASES.iter());
    let summary = std::sync::Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let Some(case) = next.lock().unwrap().next() else { break };
                let dir = tempfile::tempdir().unwrap();
                let out = run_ok(
                    vigil()
                        .args(["--data-dir", dir.path().to_str().unwrap(), "analyze"])
                        .args(["--service", case.service, "--task-config", case.common])
                        .arg("--input")
                        .arg(clip_path(case.clip)),
                );
                let alarms: Vec<Value> = out
                    .lines()
                    .map(|l| serde_json::from_str(l).expect("JSON line"))
                    .collect();
                for a in &alarms {
                    check_alarm(case.service, a);
                }
                check_events(case, &alarms, &mut summary.lock().unwrap());
            });
        }
    });
    eprintln!(
        "vigil analyze, alarms per algorithm and event type: {:?}",
        summary.into_inner().unwrap()
    );
}

/// The services driven through the official SDK (`tests/python/vas_sdk_algorithms.py`).
const SDK_SERVICES: [&str; 3] = ["c-intrusiondetection-cloud", "c-flowcount-cloud", "c-crowdcount-cloud"];

#[test]
fn three_algorithms_run_and_alarm_through_the_official_sdk() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path(), None);
    let key: Value = serde_json::from_str(&run_ok(vigil().args([
        "--data-dir",
        dir.path().to_str().unwrap(),
        "iam",
        "access-key",
        "create",
        "--user",
        "admin",
    ])))
    .unwrap();
    let cases: Vec<Value> = SDK_SERVICES
        .iter()
        .map(|s| {
            let case = CASES.iter().find(|c| c.service == *s).expect("case of an SDK service");
            json!({"service": case.service, "url": format!("file://{}", clip_path(case.clip).display()),
                   "common": serde_json::from_str::<Value>(case.common).unwrap()})
        })
        .collect();
    let out = Command::new(python())
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/vas_sdk_algorithms.py"))
        .args([
            &server.url(""),
            key["access"].as_str().unwrap(),
            key["secret"].as_str().unwrap(),
            key["project_id"].as_str().unwrap(),
            &Value::Array(cases).to_string(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "SDK run failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    for service in SDK_SERVICES {
        let case = CASES.iter().find(|c| c.service == service).unwrap();
        let alarms: Vec<&Value> = lines
            .iter()
            .filter(|l| l["service"] == service && l.get("alarm").is_some())
            .map(|l| &l["alarm"])
            .collect();
        for a in &alarms {
            check_alarm(service, a);
        }
        for t in case.events {
            assert!(
                alarms.iter().any(|a| a["event_type"] == *t),
                "{service}: no event {t} reached the SDK-configured webhook:\n{stdout}"
            );
        }
    }
    assert!(server.stop().success());
}
