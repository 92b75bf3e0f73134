//! Vigil end to end on real video: the pedestrian clip served over RTSP by a real RTSP server →
//! a registered video source (probed online with a snapshot) → an intrusion task → alarms POSTed
//! to a real HTTP receiver that is down for the first 30 s; and a people-flow task on the clip
//! file whose line counts match counts established by watching the clip.
//!
//! The ROI strings and expected numbers come from `crates/vigil-algorithms/tests/real_video.rs`,
//! where they were established by looking at the clip (see its ground-truth notes).

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::api::Api;
use common::{free_port, shared, Server};
use serde_json::{json, Value};

const FLOW_ROI: &str =
    r#"{"lines":[{"data":[[150,150],[150,330]],"properties":{"side1_name":"west","side2_name":"east"}}]}"#;
const CROSSINGS_TO_WEST: i64 = 6;
const CROSSINGS_TO_EAST: i64 = 4;
const INTRUSION_ROI: &str = r#"{"polygons":[{"data":[[0,150],[150,150],[150,280],[0,280]],"name":"road_west"}]}"#;
const INTRUSION_ENTRIES: i64 = 7;
const INTRUSION_TOLERANCE: i64 = 2;
const CLIP_SECONDS: u64 = 80;

struct Rtsp(Child);

impl Rtsp {
    fn start(port: u16, name: &str, file: &Path) -> Self {
        let child = Command::new("/usr/bin/python3")
            .arg(shared().join("tools/gst_rtsp_server.py"))
            .arg(port.to_string())
            .arg(format!("{name}={}", file.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("GStreamer RTSP server (scripts/setup.sh installs it)");
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "RTSP server did not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
        Rtsp(child)
    }
}

impl Drop for Rtsp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A webhook receiver that answers 503 while `accept` is false.
struct Receiver {
    port: u16,
    bodies: Arc<Mutex<Vec<Value>>>,
    accept: Arc<AtomicBool>,
    _rt: tokio::runtime::Runtime,
}

impl Receiver {
    fn start() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let accept = Arc::new(AtomicBool::new(false));
        let (b, a) = (bodies.clone(), accept.clone());
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = axum::Router::new().route(
            "/alarms",
            axum::routing::post(move |body: axum::Json<Value>| {
                let (b, a) = (b.clone(), a.clone());
                async move {
                    if !a.load(Ordering::SeqCst) {
                        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                    }
                    b.lock().unwrap().push(body.0);
                    axum::http::StatusCode::OK
                }
            }),
        );
        rt.spawn(async move {
            let _ = axum::serve(listener, app.layer(axum::extract::DefaultBodyLimit::max(32 << 20))).await;
        });
        Self {
            port,
            bodies,
            accept,
            _rt: rt,
        }
    }
}

impl Api {
    fn wait_for(&self, what: &str, timeout: Duration, mut ok: impl FnMut(&Api) -> bool) {
        let deadline = Instant::now() + timeout;
        while !ok(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn state(&self, task: &str) -> String {
        self.get(&format!("/tasks/{task}"))["state"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
}

fn create_task(api: &Api, service: &str, name: &str, input: Value, output: Value, common: Value) -> String {
    let v = api.post(
        &format!("/services/{service}/tasks"),
        json!({"name": name, "input": input, "output": output, "config": {"common": common}}),
    );
    v["tasks"][0]["id"].as_str().unwrap().to_string()
}

#[test]
fn rtsp_intrusion_to_webhook_and_flow_counts_on_file() {
    let clip = shared().join("media/pedestrians_vtest.mp4");
    let rtsp_port = free_port();
    let _rtsp = Rtsp::start(rtsp_port, "ped", &clip);
    let receiver = Receiver::start();
    let dir = tempfile::tempdir().unwrap();
    // The flow task reads the clip as a file: its directory is a media root.
    let server = Server::start_for_video(&dir.path().join("data"), &[clip.parent().unwrap()], &[], 3, &[]);
    let api = Api::login(&server, "admin", "pw", "default");

    // The source: probed online, with a snapshot and a stream path.
    let url = format!("rtsp://127.0.0.1:{rtsp_port}/ped");
    let src = api.post(
        "/source",
        json!({"video_source_name": "campus", "access_type": "cloud", "type": "url",
               "type_config": format!("<type_config><url_address>{url}</url_address></type_config>")}),
    )["video_source_id"]
        .as_str()
        .unwrap()
        .to_string();
    api.wait_for("the source to be probed online", Duration::from_secs(60), |a| {
        let d = a.get(&format!("/source/sources/{src}"));
        d["status"]["level"] == "1" && d["image"].as_str().is_some_and(|i| i.len() > 1000)
    });

    // Intrusion over RTSP, alarms to the receiver (down for the first 30 s) and the event center.
    let webhook = json!({"webhook": {"url": format!("http://127.0.0.1:{}/alarms", receiver.port),
                                      "headers": {"content-type": "application/json"}}, "event_center": true});
    let intrusion = create_task(
        &api,
        "c-intrusiondetection-cloud",
        "gate",
        json!({"type": "video_source", "data": [{"video_source_id": src}]}),
        webhook.clone(),
        json!({"target_roi": INTRUSION_ROI, "render_result_sw": 1, "render_roi_sw": 1}),
    );
    // People flow on the clip file: a finite input, ends SUCCEEDED.
    let flow = create_task(
        &api,
        "c-flowcount-cloud",
        "flow",
        json!({"type": "url", "data": [{"url": format!("file://{}", clip.display())}]}),
        json!({"event_center": true}),
        json!({"target_roi": FLOW_ROI, "line_count_interval": 1, "region_detection_sw": 0}),
    );
    let started = Instant::now();
    api.wait_for("the intrusion task to run", Duration::from_secs(60), |a| {
        a.state(&intrusion) == "RUNNING"
    });
    let running_at = Instant::now();

    api.wait_for("the flow task to succeed", Duration::from_secs(240), |a| {
        a.state(&flow) == "SUCCEEDED"
    });
    let flow_alarms = api.get(&format!("/vigil/alarms?task_id={flow}&limit=1000"));
    let (mut west, mut east) = (0, 0);
    for a in flow_alarms["alarms"].as_array().unwrap() {
        assert_eq!(a["event_type"], 131073);
        for e in a["data"]["event_set"].as_array().unwrap() {
            west += e["side1_count"].as_i64().unwrap();
            east += e["side2_count"].as_i64().unwrap();
        }
    }
    assert!(
        (west - CROSSINGS_TO_WEST).abs() <= 1,
        "westward crossings {west}, by eye {CROSSINGS_TO_WEST}"
    );
    assert!(
        (east - CROSSINGS_TO_EAST).abs() <= 1,
        "eastward crossings {east}, by eye {CROSSINGS_TO_EAST}"
    );

    // The receiver comes back 30 s after the start; the clip plays for 80 s.
    std::thread::sleep(Duration::from_secs(30).saturating_sub(started.elapsed()));
    receiver.accept.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(CLIP_SECONDS).saturating_sub(running_at.elapsed()));
    api.call(reqwest::Method::PUT, &format!("/tasks/{intrusion}/action/stop"), None);
    api.wait_for("the intrusion task to stop", Duration::from_secs(30), |a| {
        a.state(&intrusion) == "STOPPED"
    });

    let stored = api.get(&format!("/vigil/alarms?task_id={intrusion}&limit=1000"));
    let total = stored["total"].as_i64().unwrap();
    api.wait_for(
        "every stored alarm to reach the receiver",
        Duration::from_secs(120),
        |_| receiver.bodies.lock().unwrap().len() as i64 >= total,
    );
    let bodies = receiver.bodies.lock().unwrap().clone();
    let ids: HashSet<&str> = bodies.iter().map(|b| b["message_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), bodies.len(), "no alarm delivered twice");
    assert_eq!(bodies.len() as i64, total, "receiver count equals the event center's");

    // Alarms: new targets entering the area, as many as people seen entering by eye.
    let new_targets: i64 = bodies
        .iter()
        .filter(|b| b["event_type"] == 196609 && b.get("alarm_type").is_none_or(|t| t == 0))
        .map(|b| b["data"]["event_set"].as_array().map(|s| s.len() as i64).unwrap_or(0))
        .sum();
    assert!(
        (new_targets - INTRUSION_ENTRIES).abs() <= INTRUSION_TOLERANCE,
        "{new_targets} intrusion targets, {INTRUSION_ENTRIES} people entering by eye"
    );
    // The envelope and the picture: red boxes drawn where the payload says.
    let first = bodies
        .iter()
        .find(|b| b["event_type"] == 196609)
        .expect("an intrusion alarm");
    assert_eq!(first["task_id"], intrusion.as_str());
    assert_eq!(first["stream_id"], src.as_str());
    let msg = first["message_id"].as_str().unwrap();
    assert!(uuid_upper(msg), "{msg}");
    let ts = first["timestamp"].as_i64().unwrap();
    assert!((ts - chrono_now()).abs() < 600, "timestamp in seconds: {ts}");
    let jpeg = base64_decode(first["image_base64"].as_str().unwrap());
    let mut dec = jpeg_decoder::Decoder::new(&jpeg[..]);
    let pixels = dec.decode().unwrap();
    let info = dec.info().unwrap();
    assert_eq!((info.width, info.height), (768, 576));
    let bx = &first["data"]["event_set"][0]["bounding_box"];
    let (x, y, w) = (
        bx["x"].as_i64().unwrap(),
        bx["y"].as_i64().unwrap(),
        bx["w"].as_i64().unwrap(),
    );
    assert!(x >= 0 && y >= 0 && x + w <= 768, "{bx}");
    let px = |px: i64, py: i64| {
        let i = ((py.clamp(0, 575) * 768 + px.clamp(0, 767)) * 3) as usize;
        (pixels[i], pixels[i + 1], pixels[i + 2])
    };
    let (r, g, b) = px(x + w / 2, y);
    assert!(
        r > 150 && g < 110 && b < 110,
        "red box edge at the box's top: rgb({r},{g},{b})"
    );
    assert!(server.stop().success());
}

fn uuid_upper(s: &str) -> bool {
    s.len() == 36
        && s.chars()
            .all(|c| c == '-' || c.is_ascii_digit() || c.is_ascii_uppercase())
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn base64_decode(s: &str) -> Vec<u8> {
    vigil_core::alarm::decode_image(s).expect("base64 JPEG")
}

/// The RTSP server stops: the task turns ABNORMAL with a reason, then RUNNING again by itself
/// once the server is back. Then the Vigil server is killed with SIGKILL and restarted: the task
/// resumes and every alarm stored before the kill is still there.
#[test]
fn camera_outage_and_server_kill_are_survived() {
    let clip = shared().join("media/pedestrians_vtest.mp4");
    let rtsp_port = free_port();
    let mut rtsp = Some(Rtsp::start(rtsp_port, "ped", &clip));
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = [
        "--probe-interval",
        "0",
        "--analysis-fps",
        "5",
        "--rate-limit",
        "0",
        "--lease-ttl",
        "5",
    ];
    let mut server = Server::start_with(&data, &[("VIGIL_ADMIN_PASSWORD", "pw")], &args);
    let api = Api::login(&server, "admin", "pw", "default");
    let url = format!("rtsp://127.0.0.1:{rtsp_port}/ped");
    let src = api.post(
        "/source",
        json!({"video_source_name": "cam", "access_type": "cloud", "type": "url",
               "type_config": format!("<type_config><url_address>{url}</url_address></type_config>")}),
    )["video_source_id"]
        .as_str()
        .unwrap()
        .to_string();
    let task = create_task(
        &api,
        "c-intrusiondetection-cloud",
        "watch",
        json!({"type": "video_source", "data": [{"video_source_id": src}]}),
        json!({"event_center": true}),
        json!({"target_roi": INTRUSION_ROI}),
    );
    api.wait_for("the task to run", Duration::from_secs(60), |a| {
        a.state(&task) == "RUNNING"
    });

    // Camera gone: ABNORMAL with error.code and error.message.
    rtsp.take();
    api.wait_for("the task to turn ABNORMAL", Duration::from_secs(60), |a| {
        a.state(&task) == "ABNORMAL"
    });
    let d = api.get(&format!("/tasks/{task}"));
    assert!(
        !d["error"]["code"].as_str().unwrap().is_empty() && !d["error"]["message"].as_str().unwrap().is_empty(),
        "{d}"
    );
    // Camera back: RUNNING again without any call.
    let _rtsp = Rtsp::start(rtsp_port, "ped", &clip);
    api.wait_for("the task to run again", Duration::from_secs(90), |a| {
        a.state(&task) == "RUNNING"
    });
    api.wait_for("an alarm", Duration::from_secs(90), |a| {
        a.get(&format!("/vigil/alarms?task_id={task}"))["total"]
            .as_i64()
            .unwrap_or(0)
            > 0
    });
    let before: HashSet<String> = api.get(&format!("/vigil/alarms?task_id={task}&limit=1000"))["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["message_id"].as_str().unwrap().to_string())
        .collect();

    // SIGKILL, restart on the same data: the task resumes and no stored alarm is lost.
    server.child.kill().unwrap();
    let _ = server.child.wait();
    server = Server::start_with(&data, &[], &args);
    let api = Api::login(&server, "admin", "pw", "default");
    api.wait_for("the task to resume", Duration::from_secs(60), |a| {
        a.state(&task) == "RUNNING"
    });
    let after: HashSet<String> = api.get(&format!("/vigil/alarms?task_id={task}&limit=1000"))["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["message_id"].as_str().unwrap().to_string())
        .collect();
    assert!(before.is_subset(&after), "alarms lost across the kill");
    assert!(server.stop().success());
}
