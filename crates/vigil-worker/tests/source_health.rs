//! Source health over the real store (SQLite and PostgreSQL) on real video: the prober with its
//! scene memory, the store targets writing labels and scene recommendations (COCO detector), and
//! `VIDEO_QUALITY_CHANGED` alarms in the event center of the live tasks of a source whose
//! labels changed — the camera's file is replaced between rounds (covered by black, then turned
//! to another scene).

#[path = "../../vigil-api/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use common::{Backend, TestServer};
use serde_json::{json, Value};
use vigil_core::catalog::event_type::VIDEO_QUALITY_CHANGED;
use vigil_media::Prober;
use vigil_vision::{BackendConfig, ModelDir};
use vigil_worker::scene_recommend::SceneRecommender;
use vigil_worker::source_health::StoreTargets;

fn shared_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("VIGIL_SHARED_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(d);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn media(name: &str) -> PathBuf {
    let p = shared_dir().join("media").join(name);
    assert!(p.exists(), "test video {} missing", p.display());
    p
}

fn ffmpeg(out: &Path, args: &[&str]) {
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .arg(out)
        .status()
        .expect("running ffmpeg");
    assert!(status.success(), "ffmpeg failed for {}", out.display());
}

/// Puts `clip` where the camera reads (a rename: the prober never sees half a file).
fn show(camera: &Path, clip: &Path) {
    let next = camera.with_extension("next.mp4");
    std::fs::copy(clip, &next).expect("copy clip");
    std::fs::rename(&next, camera).expect("replace camera file");
}

async fn source(s: &TestServer, name: &str, file: &Path) -> String {
    let body = json!({"video_source_name": name, "access_type": "cloud", "type": "url",
        "type_config": format!("<type_config><url_address>file://{}</url_address></type_config>", file.display())});
    let (st, v) = s.post("/v2/{p}/source", body).await;
    assert_eq!(st, 200, "{v}");
    v["video_source_id"].as_str().unwrap().to_string()
}

async fn task(s: &TestServer, name: &str, source: &str) -> String {
    let body = json!({
        "name": name,
        "input": {"type": "video_source", "data": [{"video_source_id": source}]},
        "output": {"event_center": true},
        "config": {"common": {"target_roi": "{\"polygons\":[{\"data\":[[0,0],[0,576],[768,576],[768,0]],\"name\":\"all\"}]}"}},
    });
    let (st, v) = s.post("/v2/{p}/services/c-intrusiondetection-cloud/tasks", body).await;
    assert_eq!(st, 200, "{v}");
    v["tasks"][0]["id"].as_str().unwrap().to_string()
}

/// The task's alarms, oldest first.
async fn alarms(s: &TestServer, task: &str) -> Vec<Value> {
    let (st, v) = s.get(&format!("/v2/{{p}}/vigil/alarms?task_id={task}&limit=100")).await;
    assert_eq!(st, 200, "{v}");
    let mut list = v["alarms"].as_array().cloned().unwrap_or_default();
    list.reverse();
    list
}

async fn detail(s: &TestServer, id: &str) -> Value {
    let (st, v) = s.get(&format!("/v2/{{p}}/source/sources/{id}")).await;
    assert_eq!(st, 200, "{v}");
    v
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

async fn quality_alarms_and_scene_recommendations(b: Backend) {
    let s = TestServer::start(b).await;
    let dir = tempfile::tempdir().unwrap();
    let ped = dir.path().join("ped.mp4");
    let pedestrians = media("pedestrians_vtest.mp4");
    ffmpeg(
        &ped,
        &["-t", "4", "-i", pedestrians.to_str().unwrap(), "-c", "copy", "-an"],
    );
    let black = dir.path().join("black.mp4");
    ffmpeg(
        &black,
        &[
            "-f",
            "lavfi",
            "-i",
            "color=c=black:size=768x576:rate=10:duration=3",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    // A street with a parked bicycle, cyclists riding through (one fixed view, no cuts).
    let street = media("street_parked_bicycle.mp4");
    let camera = dir.path().join("camera.mp4");
    show(&camera, &ped);

    let cam = source(&s, "gate", &camera).await;
    let lot = source(&s, "street", &street).await;
    let cam_task = task(&s, "gate-intrusion", &cam).await;
    let stopped_task = task(&s, "gate-stopped", &cam).await;
    s.store.request_stop(&stopped_task).await.unwrap();
    let lot_task = task(&s, "street-intrusion", &lot).await;

    let models = ModelDir::at(shared_dir().join("models")).expect("model dir");
    let mut targets = StoreTargets::new(s.store.clone(), None);
    targets.scenes = Some(Arc::new(SceneRecommender::new(models, BackendConfig::default())));
    let targets = Arc::new(targets);
    let prober = Prober::default();

    // Rounds 1 and 2: clean real scenes, probed twice: no label, no alarm; scene tags from what
    // the detector sees (people on the campus; bicycles in the street).
    for _ in 0..2 {
        assert_eq!(prober.run_once(&targets).await, 2);
    }
    let d = detail(&s, &cam).await;
    assert_eq!(d["status"]["level"], "1", "{d}");
    assert_eq!(strings(&d["video_source_quality"]), Vec::<String>::new());
    let tags = strings(&d["scene_recommend"]);
    for want in ["people", "c-intrusiondetection-cloud", "c-flowcount-cloud"] {
        assert!(
            tags.contains(&want.to_string()),
            "{want} missing in campus tags {tags:?}"
        );
    }
    assert!(!tags.contains(&"water".to_string()), "{tags:?}");
    let street_tags = strings(&detail(&s, &lot).await["scene_recommend"]);
    for want in [
        "bicycles",
        "c-sharedbicycledetection-cloud",
        "c-non-motor-detection-cloud",
    ] {
        assert!(
            street_tags.contains(&want.to_string()),
            "{want} missing in street tags {street_tags:?}"
        );
    }
    assert_eq!(prober.scenes.len(), 2, "one scene reference per source");
    for t in [&cam_task, &stopped_task, &lot_task] {
        let got = alarms(&s, t).await;
        assert!(got.is_empty(), "no quality change yet: {got:?}");
    }

    // Round 3: the camera goes black: one alarm on its live task, labels added.
    show(&camera, &black);
    prober.run_once(&targets).await;
    let d = detail(&s, &cam).await;
    let labels = strings(&d["video_source_quality"]);
    assert!(labels.contains(&"BlackScreen".to_string()), "{labels:?}");
    assert_eq!(
        strings(&d["scene_recommend"]),
        tags,
        "a black picture keeps the recommendation"
    );
    let got = alarms(&s, &cam_task).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let a = &got[0];
    assert_eq!(a["event_type"], VIDEO_QUALITY_CHANGED);
    assert_eq!(a["event_type"], 91_000_001);
    assert_eq!(a["alarm_type"], 0);
    assert_eq!(a["stream_id"], cam.as_str());
    assert_eq!(a["task_id"], cam_task.as_str());
    assert!(a["image_url"].is_string(), "the probe snapshot is the picture: {a}");
    assert_eq!(a["data"]["video_source_id"], cam.as_str());
    assert_eq!(strings(&a["data"]["video_source_quality"]), labels);
    assert_eq!(strings(&a["data"]["added"]), labels);
    assert_eq!(strings(&a["data"]["removed"]), Vec::<String>::new());
    assert!(
        alarms(&s, &stopped_task).await.is_empty(),
        "a stopped task gets no alarm"
    );
    assert!(
        alarms(&s, &lot_task).await.is_empty(),
        "another source's task gets no alarm"
    );

    // Round 4: the picture comes back showing another place: compared with the campus it saw
    // last, the scene was replaced; black is gone; the recommendation is redone at once.
    show(&camera, &street);
    prober.run_once(&targets).await;
    let d = detail(&s, &cam).await;
    let labels = strings(&d["video_source_quality"]);
    assert!(labels.contains(&"SceneUpheaval".to_string()), "{labels:?}");
    assert!(!labels.contains(&"BlackScreen".to_string()), "{labels:?}");
    let tags = strings(&d["scene_recommend"]);
    assert!(tags.contains(&"bicycles".to_string()), "new scene, new tags: {tags:?}");
    let got = alarms(&s, &cam_task).await;
    assert_eq!(got.len(), 2, "{got:?}");
    let a = &got[1];
    assert_eq!(a["alarm_type"], 0);
    assert!(
        strings(&a["data"]["added"]).contains(&"SceneUpheaval".to_string()),
        "{a}"
    );
    assert_eq!(strings(&a["data"]["removed"]), vec!["BlackScreen".to_string()], "{a}");

    // Round 5: the new scene is now the reference: the upheaval label goes, an alarm with
    // alarm_type 1 (labels only removed) says so.
    prober.run_once(&targets).await;
    let d = detail(&s, &cam).await;
    assert_eq!(strings(&d["video_source_quality"]), Vec::<String>::new());
    let got = alarms(&s, &cam_task).await;
    assert_eq!(got.len(), 3, "{got:?}");
    let a = &got[2];
    assert_eq!(a["alarm_type"], 1);
    assert_eq!(strings(&a["data"]["added"]), Vec::<String>::new());
    assert!(
        strings(&a["data"]["removed"]).contains(&"SceneUpheaval".to_string()),
        "{a}"
    );
    assert!(
        alarms(&s, &lot_task).await.is_empty(),
        "the steady street never alarmed"
    );

    // A deleted source's scene reference is dropped at the next round.
    s.store.delete_task(&s.a.project_id, &lot_task).await.unwrap();
    let (st, v) = s.delete(&format!("/v2/{{p}}/source/{lot}")).await;
    assert!(st.is_success(), "{v}");
    prober.run_once(&targets).await;
    assert_eq!(prober.scenes.len(), 1);
    s.finish().await;
}

both_backends!(quality_alarms_and_scene_recommendations);
