//! Bring-your-own models end to end: the real NanoDet-m ONNX model
//! (`shared/models/nanodet_m_320.onnx`, Apache-2.0) uploaded as a package through the API (and
//! installed with `vigil models install DIR --project NAME`), bound to `c-urban-stacking`, and
//! used by tasks run by the worker inside `vigil serve` on a real clip. Ground truth:
//! `tools/labels/packages.md`.

mod common;
#[allow(dead_code)] // the accuracy tests use the rest
#[path = "../../vigil-algorithms/tests/support/composites.rs"]
mod composites;
#[path = "../../vigil-algorithms/tests/support/paths.rs"]
mod paths;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use common::api::Api;
use common::{run_ok, shared, vigil, Server};
use serde_json::{json, Value};

/// Messy piles (spec §6.3).
const MESSY_PILES: u64 = 2_228_224;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn model_path() -> PathBuf {
    shared().join("models/nanodet_m_320.onnx")
}

/// The shipped example manifest (`tools/packages/nanodet-piles`: COCO backpack and suitcase as
/// `pile`).
fn shipped_manifest() -> Value {
    let text = std::fs::read_to_string(repo().join("tools/packages/nanodet-piles/manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The shipped manifest with COCO `umbrella` bound as `pile` too, at the score NanoDet-m gives
/// the umbrellas of the composite (0.2–0.43, `tools/labels/packages.md`): the only licensed
/// footage of objects left standing is that composite (the suitcase drawing of `abandon.md`
/// scores at most 0.17 for any bag class).
fn umbrella_manifest() -> Value {
    let mut m = shipped_manifest();
    m["name"] = json!("nanodet-umbrella-piles");
    m["score_threshold"] = json!(0.2);
    m["binding"]["class_map"]["umbrella"] = json!("pile");
    m
}

fn now_s() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

fn start_server(data: &Path) -> Server {
    let (media, composed) = (shared().join("media"), composites::composite_dir());
    Server::start_for_video(data, &[&media, &composed], &[], 0, &[])
}

fn roi(name: &str, pts: [[i64; 2]; 4]) -> Value {
    json!({"polygons": [{"name": name, "data": pts}]})
}

fn task_body(name: &str, clip: &Path, roi: &Value, threshold: i64) -> Value {
    json!({"name": name, "input": {"type": "url", "data": [{"url": format!("file://{}", clip.display())}]},
           "output": {"event_center": true},
           "config": {"common": {"target_roi": roi.to_string(), "alert_time_threshold": threshold}}})
}

/// Creates a task; its id.
fn create_task(api: &Api, service: &str, body: Value) -> String {
    let v = api.post(&format!("/services/{service}/tasks"), body);
    v["tasks"][0]["id"].as_str().expect("task id").to_string()
}

/// Waits for the task to succeed. Returns the epoch-seconds window in which the worker placed
/// media time 0 of the clip (its frame clock starts between the claim and the stream going
/// online): from the last poll that still saw the task PENDING to the first that saw it RUNNING
/// or later.
fn wait_done(api: &Api, id: &str) -> (f64, f64) {
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut last_pending = now_s();
    let mut running = None;
    loop {
        let polled = now_s();
        let t = api.get(&format!("/tasks/{id}"));
        let s = t["state"].as_str().unwrap_or("").to_string();
        match s.as_str() {
            "PENDING" | "" => last_pending = polled,
            "STARTING" => {}
            _ if running.is_none() => running = Some(now_s()),
            _ => {}
        }
        match s.as_str() {
            "SUCCEEDED" => return (last_pending, running.unwrap_or_else(now_s)),
            "FAILED" | "ABNORMAL" | "START_FAILED" => panic!("task {id} ended {s}: {}", t["error"]),
            _ => {}
        }
        assert!(Instant::now() < deadline, "task {id} still {s} after 5 min");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn alarms(api: &Api, task: &str) -> Vec<Value> {
    let v = api.get(&format!("/vigil/alarms?task_id={task}&limit=1000"));
    v["alarms"].as_array().expect("alarms").clone()
}

fn upload(api: &Api, manifest: Value) -> (u16, Value) {
    let model = std::fs::read(model_path()).expect("shared/models/nanodet_m_320.onnx");
    let b64 = base64::engine::general_purpose::STANDARD.encode(model);
    api.request(
        reqwest::Method::POST,
        "/algorithm/packages",
        Some(json!({"manifest": manifest, "model": b64})),
    )
}

/// `alg_status` of the service `name` in the project's Algorithm Center.
fn service_status(api: &Api, name: &str) -> String {
    let v = api.get(&format!("/algorithm/services/user?name_like={name}"));
    let list = v["service_list"].as_array().expect("service_list");
    let s = list
        .iter()
        .find(|s| s["service_name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {v}"));
    s["alg_status"].as_str().unwrap().to_string()
}

#[test]
fn nanodet_package_uploaded_through_the_api_raises_messy_pile_alarms_where_the_hand_count_says() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path());
    let api = Api::login(&server, "admin", "pw", "default");
    let clip = composites::umbrella_clip().canonicalize().unwrap();
    let stall_a = roi("stall_a", [[200, 300], [430, 300], [430, 460], [200, 460]]);

    // No package bound yet: refused, naming the role the package must provide.
    let (status, v) = api.request(
        reqwest::Method::POST,
        "/services/c-urban-stacking-cloud/tasks",
        Some(task_body("early", &clip, &stall_a, 3)),
    );
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error_code"], "VIAS.00010002", "{v}");
    assert_eq!(v["params"], json!(["service_name"]), "{v}");
    assert!(v["detail"].as_str().unwrap_or("").contains("mapped to: pile"), "{v}");
    assert_eq!(service_status(&api, "c-urban-stacking-cloud"), "not_deployed");

    // A manifest whose sha256 is not the model's is refused on `model`.
    let mut wrong = umbrella_manifest();
    wrong["sha256"] = json!("0".repeat(64));
    let (status, v) = upload(&api, wrong);
    assert_eq!(
        (status, v["error_code"].as_str(), v["params"].clone()),
        (400, Some("VIAS.00010001"), json!(["model"])),
        "{v}"
    );

    let (status, up) = upload(&api, umbrella_manifest());
    assert_eq!(status, 200, "{up}");
    let package_id = up["package_id"].as_str().expect("package_id").to_string();
    let stacking = api.get("/algorithm/services/user?name_like=c-urban-stacking");
    let svc = &stacking["service_list"][0];
    assert_eq!(
        up["alg_id"], svc["alg_id"],
        "bound package reports the built-in's alg_id: {stacking}"
    );
    assert_eq!(svc["alg_status"], "service_running", "{stacking}");
    let listed = api.get("/algorithm/packages");
    assert_eq!(listed["count"], 1, "{listed}");
    assert_eq!(listed["packages"][0]["package_id"], package_id.as_str());
    assert_eq!(
        listed["packages"][0]["sha256"],
        "88e9fb97a54bb0030127ad323a10f88b4531b6aa82617e7ef79e35ffcc9bb3e1"
    );

    // Hand truth (tools/labels/packages.md): umbrella U1 stands in stall_a from 3.4 s → one
    // alarm at 6.4 s with a 3 s threshold; nothing ever stands in `corner`.
    let corner = roi("corner", [[0, 0], [150, 0], [150, 120], [0, 120]]);
    let a = create_task(&api, "c-urban-stacking-cloud", task_body("stall_a", &clip, &stall_a, 3));
    let (zero_lo, zero_hi) = wait_done(&api, &a);
    let b = create_task(&api, "c-urban-stacking-edge", {
        // Edge names route to the same service; the clip goes in as a registered source.
        let src = api.post(
            "/source",
            json!({"video_source_name": "umbrellas", "access_type": "edge", "type": "url",
                   "type_config": format!("<type_config><url_address>file://{}</url_address></type_config>", clip.display())}),
        );
        json!({"name": "corner", "input": {"type": "video_source", "data": [{"video_source_id": src["video_source_id"]}]},
               "output": {"event_center": true},
               "config": {"common": {"target_roi": corner.to_string(), "alert_time_threshold": 1}}})
    });
    wait_done(&api, &b);

    let got = alarms(&api, &a);
    // Clip time of each alarm: its whole epoch second (+0–1 s) minus media time 0 (in the window).
    let times: Vec<(f64, f64)> = got
        .iter()
        .map(|x| x["timestamp"].as_f64().unwrap_or(0.0))
        .map(|ts| (ts - zero_hi, ts + 1.0 - zero_lo))
        .collect();
    eprintln!("stall_a alarms at clip times within {times:?}: {got:?}");
    assert_eq!(got.len(), 1, "one pile alarm in stall_a: {got:?}");
    let alarm = &got[0];
    assert_eq!(alarm["event_type"], MESSY_PILES);
    let item = &alarm["data"]["event_set"][0];
    assert_eq!(item["polygon_name"], "stall_a", "{alarm}");
    let bx = &item["bounding_box"];
    let cx = bx["x"].as_i64().unwrap() + bx["w"].as_i64().unwrap() / 2;
    assert!((250..=360).contains(&cx), "U1's box (x 250-360): {item}");
    // The hand count's 6.4 s ± 1.5 s must be possible given what the test can know.
    let (earliest, latest) = times[0];
    assert!(
        zero_hi - zero_lo < 10.0,
        "media time 0 known to {:.1} s only",
        zero_hi - zero_lo
    );
    assert!(
        earliest <= 7.9 && latest >= 4.9,
        "alarm at clip time {earliest:.1}–{latest:.1} s, hand count 6.4 s"
    );
    if let Err(why) = vigil_algorithms::payload_schema::check(MESSY_PILES, None, &alarm["data"]) {
        panic!("alarm breaks spec §6.4: {why}\n{alarm}");
    }
    let silent = alarms(&api, &b);
    assert!(silent.is_empty(), "nothing stands in `corner`: {silent:?}");

    // With its tasks done the package can go, and the service needs one again.
    let (status, v) = api.request(
        reqwest::Method::DELETE,
        &format!("/algorithm/packages/{package_id}"),
        None,
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(service_status(&api, "c-urban-stacking-cloud"), "not_deployed");
    assert!(server.stop().success());
}

/// `vigil models install DIR --project NAME` with the shipped example manifest and the model
/// copied into a package directory: the project's stacking service becomes usable and a task of
/// it runs and is listed.
#[test]
fn models_install_puts_a_package_directory_into_a_project() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let d = data.to_str().unwrap();
    let server = start_server(&data);
    run_ok(vigil().args(["--data-dir", d, "iam", "project", "create", "--name", "site"]));
    let user: Value = serde_json::from_str(&run_ok(vigil().args([
        "--data-dir",
        d,
        "iam",
        "user",
        "create",
        "--name",
        "ops",
        "--project",
        "site",
    ])))
    .unwrap();
    let api = Api::login(&server, "ops", user["password"].as_str().unwrap(), "site");
    let clip = composites::umbrella_clip().canonicalize().unwrap();
    let whole = roi("lawn", [[0, 250], [768, 250], [768, 576], [0, 576]]);
    let (status, v) = api.request(
        reqwest::Method::POST,
        "/services/c-urban-stacking-cloud/tasks",
        Some(task_body("before", &clip, &whole, 3)),
    );
    assert_eq!((status, v["error_code"].as_str()), (400, Some("VIAS.00010002")), "{v}");

    // A package directory: manifest.json + model.onnx.
    let pkg = dir.path().join("nanodet-piles");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::copy(
        repo().join("tools/packages/nanodet-piles/manifest.json"),
        pkg.join("manifest.json"),
    )
    .unwrap();
    std::fs::copy(model_path(), pkg.join("model.onnx")).unwrap();
    // Errors first: an unknown project, then a model that is not the manifest's.
    let out = vigil()
        .args([
            "--data-dir",
            d,
            "models",
            "install",
            pkg.to_str().unwrap(),
            "--project",
            "nope",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"), "{out:?}");
    let bad = dir.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::copy(pkg.join("manifest.json"), bad.join("manifest.json")).unwrap();
    std::fs::write(bad.join("model.onnx"), b"not the model").unwrap();
    let out = vigil()
        .args([
            "--data-dir",
            d,
            "models",
            "install",
            bad.to_str().unwrap(),
            "--project",
            "site",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("VIAS.00010001") && err.contains("model"),
        "{err}"
    );

    let said = run_ok(vigil().args([
        "--data-dir",
        d,
        "models",
        "install",
        pkg.to_str().unwrap(),
        "--project",
        "site",
    ]));
    assert!(
        said.contains("installed package") && said.contains("c-urban-stacking"),
        "{said}"
    );
    let listed = api.get("/algorithm/packages");
    assert_eq!(listed["count"], 1, "{listed}");
    assert_eq!(listed["packages"][0]["name"], "nanodet-piles");
    assert_eq!(service_status(&api, "c-urban-stacking-cloud"), "service_running");
    // Installing the same name and version again is refused.
    let out = vigil()
        .args([
            "--data-dir",
            d,
            "models",
            "install",
            pkg.to_str().unwrap(),
            "--project",
            "site",
        ])
        .output()
        .unwrap();
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("VIAS.00010003"),
        "{out:?}"
    );

    let id = create_task(&api, "c-urban-stacking-cloud", task_body("after", &clip, &whole, 3));
    let tasks = api.get("/tasks?limit=100");
    assert!(
        tasks["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id.as_str()),
        "task listed: {tasks}"
    );
    wait_done(&api, &id);
    // The shipped manifest maps only backpacks and suitcases; the clip has neither.
    let got = alarms(&api, &id);
    assert!(got.is_empty(), "no backpack or suitcase in the clip: {got:?}");
    assert!(server.stop().success());
}
