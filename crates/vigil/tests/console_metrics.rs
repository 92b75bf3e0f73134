//! `GET /metrics` and `GET /v2/{pid}/vigil/task-stats` on a real server running a real video
//! task: the pedestrian clip (registered as a file video source, replayed at its own speed) under
//! an intrusion task whose alarms go to the event center and to a webhook that refuses its first
//! delivery. Each scrape is parsed by the official Prometheus text-format parser
//! (`prometheus_client.parser` in the test Python); the families must exist with their types,
//! and the frame and inference counters must grow between two scrapes. A metrics token makes
//! the server refuse scrapes without it. Then `vigil worker --metrics-listen` is scraped.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::api::Api;
use common::{free_port, python, shared, Server};
use serde_json::{json, Value};

const TOKEN: &str = "scrape-secret-7f3a";
const INTRUSION_ROI: &str = r#"{"polygons":[{"data":[[0,150],[150,150],[150,280],[0,280]],"name":"road_west"}]}"#;
const SOURCE_NAME: &str = "campus-gate-camera";

/// One metric family as the parser returns it.
#[derive(Debug)]
struct Family {
    kind: String,
    /// (sample name, labels, value)
    samples: Vec<(String, HashMap<String, String>, f64)>,
}

/// A parsed scrape, by family name (the parser names counter families without `_total`).
struct Scrape(HashMap<String, Family>);

const PARSER: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for f in text_string_to_metric_families(sys.stdin.read()):
    out[f.name] = {"type": f.type,
                   "samples": [[s.name, s.labels, repr(float(s.value))] for s in f.samples]}
print(json.dumps(out))
"#;

impl Scrape {
    fn parse(text: &str) -> Self {
        let mut child = Command::new(python())
            .args(["-c", PARSER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("test Python");
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "the Prometheus parser refused the scrape: {}\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let families = v
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, f)| {
                let samples = f["samples"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| {
                        let labels = s[1]
                            .as_object()
                            .unwrap()
                            .iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                            .collect();
                        let value: f64 = s[2].as_str().unwrap().parse().unwrap();
                        (s[0].as_str().unwrap().to_string(), labels, value)
                    })
                    .collect();
                let kind = f["type"].as_str().unwrap().to_string();
                (name.clone(), Family { kind, samples })
            })
            .collect();
        Scrape(families)
    }

    /// The family, asserting its type.
    fn family(&self, name: &str, kind: &str) -> &Family {
        let f = self.0.get(name).unwrap_or_else(|| {
            let mut names: Vec<_> = self.0.keys().collect();
            names.sort();
            panic!("no metric family {name}; families: {names:?}")
        });
        assert_eq!(f.kind, kind, "type of {name}");
        f
    }

    /// Sum of the samples named `sample` whose labels include `labels`.
    fn value(&self, family: &str, kind: &str, sample: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let f = self.family(family, kind);
        let matching: Vec<f64> = f
            .samples
            .iter()
            .filter(|(n, l, _)| n == sample && labels.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v)))
            .map(|(_, _, v)| *v)
            .collect();
        (!matching.is_empty()).then(|| matching.iter().sum())
    }

    /// Like [`Scrape::value`], which must exist.
    fn must(&self, family: &str, kind: &str, sample: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(family, kind, sample, labels)
            .unwrap_or_else(|| panic!("no sample {sample}{labels:?} in {family}: {:?}", self.0[family].samples))
    }
}

fn get(url: &str, bearer: Option<&str>) -> (u16, String) {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut req = http.get(url);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let r = req.send().unwrap();
    let status = r.status().as_u16();
    (status, r.text().unwrap())
}

fn scrape(url: &str) -> (String, Scrape) {
    let (status, text) = get(url, Some(TOKEN));
    assert_eq!(status, 200, "{text}");
    let parsed = Scrape::parse(&text);
    (text, parsed)
}

/// A webhook receiver that answers 503 to its first request and 200 afterwards.
struct Receiver {
    port: u16,
    calls: Arc<AtomicUsize>,
    _rt: tokio::runtime::Runtime,
}

impl Receiver {
    fn start() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = axum::Router::new().route(
            "/alarms",
            axum::routing::post(move |_body: axum::body::Bytes| {
                let c = c.clone();
                async move {
                    if c.fetch_add(1, Ordering::SeqCst) == 0 {
                        axum::http::StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        axum::http::StatusCode::OK
                    }
                }
            }),
        );
        rt.spawn(async move {
            let _ = axum::serve(listener, app.layer(axum::extract::DefaultBodyLimit::max(32 << 20))).await;
        });
        Receiver { port, calls, _rt: rt }
    }
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The `vigil_…` metric names in a PromQL expression.
fn metric_names(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(i) = rest.find("vigil_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        out.push(tail[..end].to_string());
        rest = &tail[end..];
    }
    out
}

/// The task's row of `GET /vigil/task-stats`, if any.
fn task_stats(api: &Api, task: &str) -> Option<Value> {
    api.get("/vigil/task-stats")["stats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["task_id"] == task)
        .cloned()
}

#[test]
fn metrics_move_while_a_real_task_runs() {
    let clip = shared().join("media/pedestrians_vtest.mp4");
    let receiver = Receiver::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The 80 s clip plays at its own speed, like a camera: the task runs long enough.
    let extra = ["--replay-realtime", "true", "--metrics-token", TOKEN];
    let server = Server::start_for_video(&data, &[clip.parent().unwrap()], &[], 0, &extra);
    let metrics_url = server.url("/metrics");

    // The token is required: none, a wrong one and another scheme are refused.
    assert_eq!(get(&metrics_url, None).0, 401);
    assert_eq!(get(&metrics_url, Some("wrong")).0, 401);
    let basic = reqwest::blocking::Client::new()
        .get(&metrics_url)
        .header("Authorization", format!("Basic {TOKEN}"))
        .send()
        .unwrap();
    assert_eq!(basic.status().as_u16(), 401);

    let api = Api::login(&server, "admin", "pw", "default");
    let src = api.post(
        "/source",
        json!({"video_source_name": SOURCE_NAME, "access_type": "cloud", "type": "url",
               "type_config": format!("<type_config><url_address>file://{}</url_address></type_config>", clip.display())}),
    )["video_source_id"]
        .as_str()
        .unwrap()
        .to_string();
    let output = json!({"webhook": {"url": format!("http://127.0.0.1:{}/alarms", receiver.port),
                                     "headers": {"content-type": "application/json"}},
                        "event_center": true});
    let task = api.post(
        "/services/c-intrusiondetection-cloud/tasks",
        json!({"name": "gate", "input": {"type": "video_source", "data": [{"video_source_id": src}]},
               "output": output, "config": {"common": {"target_roi": INTRUSION_ROI}}}),
    )["tasks"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // The console's throughput: the task with frames analysed at a positive rate.
    wait_for("task-stats with fps > 0", Duration::from_secs(60), || {
        task_stats(&api, &task).is_some_and(|s| s["analysed_fps"].as_f64().unwrap_or(0.0) > 0.0)
    });
    let st = task_stats(&api, &task).unwrap();
    assert!(st["decode_fps"].as_f64().unwrap() > 0.0, "{st}");
    assert!(st["analysed_frames"].as_i64().unwrap() > 0, "{st}");
    assert!(!st["node_id"].as_str().unwrap().is_empty(), "{st}");
    assert!(st["updated_at"].as_i64().unwrap() > 0, "{st}");
    // The analysis runs at the requested 5 fps at most.
    assert!(st["analysed_fps"].as_f64().unwrap() <= 6.0, "{st}");
    // An unknown route, to see it labelled as one value.
    let _ = get(&server.url(&format!("/no/such/{task}")), None);

    let t = task.as_str();
    let s = src.as_str();
    let (text1, first) = scrape(&metrics_url);
    std::thread::sleep(Duration::from_secs(7));
    // The console polls its throughput meanwhile.
    assert!(task_stats(&api, &task).is_some());
    let (_, second) = scrape(&metrics_url);

    // Types, and counters that grow while the task runs.
    let grows = |family: &str, kind: &str, sample: &str, labels: &[(&str, &str)]| {
        let (a, b) = (
            first.must(family, kind, sample, labels),
            second.must(family, kind, sample, labels),
        );
        assert!(b > a, "{sample}{labels:?} did not grow between scrapes: {a} → {b}");
    };
    grows(
        "vigil_task_analysed_frames",
        "counter",
        "vigil_task_analysed_frames_total",
        &[("task_id", t)],
    );
    grows(
        "vigil_source_decoded_frames",
        "counter",
        "vigil_source_decoded_frames_total",
        &[("video_source_id", s)],
    );
    grows(
        "vigil_inference_duration_seconds",
        "histogram",
        "vigil_inference_duration_seconds_count",
        &[],
    );
    grows(
        "vigil_http_request_duration_seconds",
        "histogram",
        "vigil_http_request_duration_seconds_count",
        &[
            ("route", "/v2/{project_id}/vigil/task-stats"),
            ("method", "GET"),
            ("status", "2xx"),
        ],
    );
    // Every model is labelled by its file name, and its histogram has buckets.
    let inference = second.family("vigil_inference_duration_seconds", "histogram");
    assert!(inference
        .samples
        .iter()
        .all(|(_, l, _)| l.get("model").is_some_and(|m| !m.is_empty() && !m.contains('/'))));
    assert!(inference
        .samples
        .iter()
        .any(|(n, l, _)| n.ends_with("_bucket") && l.get("le").is_some_and(|le| le == "+Inf")));

    for (family, sample, labels) in [
        ("vigil_task_analysed_fps", "vigil_task_analysed_fps", ("task_id", t)),
        ("vigil_task_decode_fps", "vigil_task_decode_fps", ("task_id", t)),
        (
            "vigil_source_decode_fps",
            "vigil_source_decode_fps",
            ("video_source_id", s),
        ),
    ] {
        let v = second.must(family, "gauge", sample, &[labels]);
        assert!(v > 0.0 && v < 100.0, "{sample} = {v}");
    }
    assert!(
        second.must(
            "vigil_task_analysed_fps",
            "gauge",
            "vigil_task_analysed_fps",
            &[("task_id", t)]
        ) <= 6.0
    );
    assert_eq!(
        second.must(
            "vigil_source_tasks",
            "gauge",
            "vigil_source_tasks",
            &[("video_source_id", s)]
        ),
        1.0
    );
    // Drops and stall restarts exist (a file replayed in real time drops nothing).
    second.must(
        "vigil_task_dropped_frames",
        "counter",
        "vigil_task_dropped_frames_total",
        &[("task_id", t)],
    );
    second.must(
        "vigil_source_dropped_frames",
        "counter",
        "vigil_source_dropped_frames_total",
        &[("video_source_id", s)],
    );
    second.must(
        "vigil_source_stall_restarts",
        "counter",
        "vigil_source_stall_restarts_total",
        &[("video_source_id", s)],
    );
    // Leases: this server's worker holds the task.
    assert!(second.must("vigil_worker_leased_tasks", "gauge", "vigil_worker_leased_tasks", &[]) >= 1.0);
    assert_eq!(
        second.must("vigil_worker_running_tasks", "gauge", "vigil_worker_running_tasks", &[]),
        1.0
    );
    let node = st["node_id"].as_str().unwrap();
    assert_eq!(
        second.must(
            "vigil_worker_leased_tasks",
            "gauge",
            "vigil_worker_leased_tasks",
            &[("node_id", node)]
        ),
        1.0
    );
    // The outbox gauges read per sink kind, 0 included.
    for sink in ["webhook", "obs", "dis"] {
        second.must("vigil_outbox_depth", "gauge", "vigil_outbox_depth", &[("sink", sink)]);
        let age = second.must(
            "vigil_outbox_oldest_age_seconds",
            "gauge",
            "vigil_outbox_oldest_age_seconds",
            &[("sink", sink)],
        );
        assert!(age >= 0.0);
    }
    // API latency: route templates, never raw paths; unmatched paths as one value.
    let http = second.family("vigil_http_request_duration_seconds", "histogram");
    assert!(http
        .samples
        .iter()
        .any(|(_, l, _)| l.get("route").map(String::as_str) == Some("/v2/{project_id}/services/{service_name}/tasks")));
    assert!(http
        .samples
        .iter()
        .any(|(_, l, _)| l.get("route").map(String::as_str) == Some("unmatched")
            && l.get("status").map(String::as_str) == Some("4xx")));
    assert!(http.samples.iter().all(|(_, l, _)| !l["route"].contains(t)));
    // Labels carry ids only: no source name, path, URL or token anywhere.
    for secret in [SOURCE_NAME, "pedestrians", "file://", "127.0.0.1", TOKEN] {
        assert!(!text1.contains(secret), "{secret:?} leaked into /metrics");
    }

    // Sinks: the first webhook delivery fails, a later one succeeds.
    wait_for("two webhook attempts", Duration::from_secs(70), || {
        receiver.calls.load(Ordering::SeqCst) >= 2
    });
    wait_for("the delivery metrics", Duration::from_secs(20), || {
        let (_, m) = scrape(&metrics_url);
        m.0.contains_key("vigil_deliveries")
            && m.value(
                "vigil_deliveries",
                "counter",
                "vigil_deliveries_total",
                &[("sink", "webhook")],
            )
            .unwrap_or(0.0)
                >= 1.0
    });
    let (text3, third) = scrape(&metrics_url);
    assert!(
        third.must(
            "vigil_delivery_failures",
            "counter",
            "vigil_delivery_failures_total",
            &[("sink", "webhook")]
        ) >= 1.0
    );
    assert!(
        third.must(
            "vigil_delivery_duration_seconds",
            "histogram",
            "vigil_delivery_duration_seconds_count",
            &[("sink", "webhook"), ("result", "ok")]
        ) >= 1.0
    );
    third.must(
        "vigil_delivery_duration_seconds",
        "histogram",
        "vigil_delivery_duration_seconds_count",
        &[("sink", "webhook"), ("result", "error")],
    );
    third.must(
        "vigil_alarm_delivery_lag_seconds",
        "histogram",
        "vigil_alarm_delivery_lag_seconds_count",
        &[("sink", "webhook")],
    );
    assert!(
        third.must(
            "vigil_task_alarms",
            "counter",
            "vigil_task_alarms_total",
            &[("task_id", t)]
        ) >= 1.0
    );
    assert!(
        !text3.contains(&format!("127.0.0.1:{}", receiver.port)),
        "webhook URL leaked"
    );

    // The Grafana dashboard reads only families the server exports (the two counted only on
    // failures aside).
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/grafana/vigil-dashboard.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let on_failure_only = ["vigil_pipeline_restarts_total", "vigil_inference_failures_total"];
    let mut read = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap();
            for name in metric_names(expr) {
                read += 1;
                let family = ["_bucket", "_count", "_sum", "_total"]
                    .iter()
                    .find_map(|sfx| name.strip_suffix(sfx))
                    .unwrap_or(&name);
                assert!(
                    on_failure_only.contains(&name.as_str())
                        || second.0.contains_key(family)
                        || third.0.contains_key(family),
                    "the dashboard reads {name}, which /metrics does not export"
                );
            }
        }
    }
    assert!(read >= 20, "{read} metric references in the dashboard");

    // Stopped: the task's throughput row goes away.
    api.call(reqwest::Method::PUT, &format!("/tasks/{task}/action/stop"), None);
    wait_for("the task-stats row to go", Duration::from_secs(30), || {
        task_stats(&api, &task).is_none()
    });
    assert!(server.stop().success());

    // A standalone worker serves its own /metrics (same database, same token rules).
    let port = free_port();
    let mut worker = common::vigil()
        .args([
            "--data-dir",
            data.to_str().unwrap(),
            "worker",
            "--probe-interval",
            "0",
            "--metrics-listen",
            &format!("127.0.0.1:{port}"),
            "--metrics-token",
            TOKEN,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/metrics");
    let deadline = Instant::now() + Duration::from_secs(30);
    let parsed = loop {
        if let Ok(r) = reqwest::blocking::Client::new().get(&url).bearer_auth(TOKEN).send() {
            if r.status() == 200 {
                let text = r.text().unwrap();
                let m = Scrape::parse(&text);
                // The worker's loop sets its gauge on its first tick.
                if m.0.contains_key("vigil_worker_running_tasks") {
                    break m;
                }
            }
        }
        assert!(Instant::now() < deadline, "the worker's /metrics did not answer");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(get(&url, None).0, 401);
    parsed.must(
        "vigil_outbox_depth",
        "gauge",
        "vigil_outbox_depth",
        &[("sink", "webhook")],
    );
    parsed.family("vigil_worker_leased_tasks", "gauge");
    let _ = Command::new("kill").args(["-TERM", &worker.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(st) = worker.try_wait().unwrap() {
            assert!(st.success(), "vigil worker exit: {st}");
            break;
        }
        assert!(Instant::now() < deadline, "vigil worker did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}
