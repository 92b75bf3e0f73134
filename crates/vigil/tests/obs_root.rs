//! `obs` task inputs are read from the configured object store (`--obs-root`), not from a fixed
//! `./data/obs`: a real clip placed only under the configured root is analysed to its end.

mod common;

use std::time::{Duration, Instant};

use common::api::Api;
use common::{shared, Server};
use serde_json::{json, Value};

#[test]
fn obs_inputs_read_the_configured_root() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let root = dir.path().join("elsewhere");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start_with(
        &data,
        &[("VIGIL_ADMIN_PASSWORD", "pw")],
        &[
            "--probe-interval",
            "0",
            "--analysis-fps",
            "1",
            "--rate-limit",
            "0",
            "--obs-root",
            root.to_str().unwrap(),
        ],
    );
    let api = Api::login(&server, "admin", "pw", "default");
    // The object exists only under the configured root, inside the project's prefix.
    let object = root.join("videos").join(&api.project).join("cams/street.mp4");
    std::fs::create_dir_all(object.parent().unwrap()).unwrap();
    std::fs::copy(shared().join("media/street_bikes.mp4"), &object).unwrap();
    let roi = r#"{"polygons":[{"data":[[0,0],[300,0],[300,200],[0,200]],"name":"all"}]}"#;
    let task = |name: &str, path: &str| -> String {
        let v = api.post(
            "/services/c-intrusiondetection-cloud/tasks",
            json!({"name": name, "input": {"type": "obs", "data": [{"bucket": "videos", "path": path}]},
                   "output": {"event_center": true}, "config": {"common": {"target_roi": roi}}}),
        );
        v["tasks"][0]["id"].as_str().unwrap().to_string()
    };
    let wait = |id: &str| -> Value {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let d = api.get(&format!("/tasks/{id}"));
            if d["state"] == "SUCCEEDED" || d["state"] == "FAILED" || d["state"] == "START_FAILED" {
                return d;
            }
            assert!(Instant::now() < deadline, "task {id} did not end: {d}");
            std::thread::sleep(Duration::from_millis(300));
        }
    };
    let present = task("present", "cams/street.mp4");
    let missing = task("missing", "cams/none.mp4");
    let d = wait(&present);
    assert_eq!(d["state"], "SUCCEEDED", "the object under --obs-root: {d}");
    let d = wait(&missing);
    assert_eq!(d["state"], "FAILED", "{d}");
    assert_eq!(
        d["error"]["message"], "the stream, file or object does not exist",
        "{d}"
    );
    // Nothing was looked up under the default root.
    assert!(!data.join("obs").join("videos").exists());
    assert!(!std::path::Path::new("data/obs/videos").exists());
    drop(server);
}
