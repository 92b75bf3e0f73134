//! Issue 8, media findings, against a running `vigil serve`: a tenant's RESTful endpoint that
//! answers with FFmpeg addresses that read server files (`concat:`, `subfile`, `file://`) or talk
//! to local services (`gopher://`), `file://` paths outside the media roots, symlinks out of a
//! root and FIFOs, metadata addresses (directly and behind a redirect), a video larger than
//! `--max-video-size`, and one project's `obs` task reading another project's object. Every one
//! is refused with a fixed text; a real clip inside the root still works.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::api::Api;
use common::{run_ok, shared, vigil, Server};
use serde_json::{json, Value};

const GENERIC: &str = "the address could not be reached or is not allowed";
const INTRUSION_ROI: &str = r#"{"polygons":[{"data":[[0,0],[300,0],[300,200],[0,200]],"name":"all"}]}"#;

/// A loopback HTTP server with fixed answers per path, counting requests per path.
struct Routes {
    port: u16,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    /// Every request head received, lower-cased.
    heads: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Routes {
    /// `routes`: path → raw response (status line, headers and body).
    fn start(routes: HashMap<String, String>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let (h, s, hd) = (hits.clone(), stop.clone(), heads.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                let Ok((mut sock, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let _ = sock.set_nonblocking(false);
                let _ = sock.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = Vec::new();
                let mut b = [0u8; 2048];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut b) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&b[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&buf);
                let path = text.split_whitespace().nth(1).unwrap_or("").to_string();
                *h.lock().unwrap().entry(path.clone()).or_default() += 1;
                hd.lock().unwrap().push(text.to_ascii_lowercase());
                let resp = routes.get(&path).cloned().unwrap_or_else(|| {
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into()
                });
                let _ = sock.write_all(resp.as_bytes());
            }
        });
        Routes {
            port,
            hits,
            heads,
            stop,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

impl Drop for Routes {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn json_answer(addr: &str) -> String {
    let body = json!({"data": {"url": addr}}).to_string();
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn redirect_to(location: &str) -> String {
    format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
}

/// A local TCP service that must never be contacted (the `gopher://` target).
struct Tripwire {
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl Tripwire {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        std::thread::spawn(move || {
            for _ in listener.incoming() {
                h.fetch_add(1, Ordering::SeqCst);
            }
        });
        Tripwire { port, hits }
    }
}

impl Api {
    fn source(&self, name: &str, ty: &str, type_config: String) -> String {
        let v = self.call(
            reqwest::Method::POST,
            "/source",
            Some(json!({"video_source_name": name, "access_type": "cloud", "type": ty, "type_config": type_config})),
        );
        v["video_source_id"].as_str().unwrap().to_string()
    }

    fn url_source(&self, name: &str, url: &str) -> String {
        self.source(
            name,
            "url",
            format!("<type_config><url_address>{url}</url_address></type_config>"),
        )
    }

    fn restful_source(&self, name: &str, url: &str) -> String {
        self.source(
            name,
            "restful",
            format!("<type_config><url>{url}</url><rtsp_url>data/url</rtsp_url></type_config>"),
        )
    }

    fn get_source(&self, id: &str) -> Value {
        self.call(reqwest::Method::GET, &format!("/source/sources/{id}"), None)
    }

    fn task(&self, name: &str, input: Value) -> String {
        let v = self.call(
            reqwest::Method::POST,
            "/services/c-intrusiondetection-cloud/tasks",
            Some(json!({"name": name, "input": input, "output": {"event_center": true},
                        "config": {"common": {"target_roi": INTRUSION_ROI}}})),
        );
        v["tasks"][0]["id"].as_str().unwrap().to_string()
    }

    fn get_task(&self, id: &str) -> Value {
        self.call(reqwest::Method::GET, &format!("/tasks/{id}"), None)
    }

    /// Waits until the task reaches one of `states`; returns its detail.
    fn wait_task(&self, id: &str, states: &[&str], timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let d = self.get_task(id);
            if states.iter().any(|s| d["state"] == *s) {
                return d;
            }
            assert!(Instant::now() < deadline, "task {id} never reached {states:?}: {d}");
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

fn mkfifo(path: &Path) {
    let st = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(st.success());
}

/// A 1280x720 clip (larger than the server's --max-video-size 800x600).
fn big_clip(dir: &Path) -> PathBuf {
    let out = dir.join("big.mp4");
    let st = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=1280x720:rate=10:duration=1",
        ])
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p"])
        .arg(&out)
        .status()
        .expect("ffmpeg CLI");
    assert!(st.success());
    out
}

/// Assert a task's error is the fixed text for a refused or unreachable address, without the
/// RESTful answer or the address in it.
fn assert_generic(d: &Value, leaks: &[&str]) {
    let msg = d["error"]["message"].as_str().unwrap_or("");
    assert_eq!(msg, GENERIC, "{d}");
    let text = d["error"].to_string();
    for leak in leaks {
        assert!(!text.contains(leak), "error leaks {leak}: {text}");
    }
}

#[test]
fn tenant_addresses_cannot_read_server_files_or_reach_internal_services() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let root = dir.path().join("media");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    let clip = root.join("street.mp4");
    std::fs::copy(shared().join("media/street_bikes.mp4"), &clip).unwrap();
    let escape = root.join("escape.mp4");
    std::os::unix::fs::symlink(shared().join("media/street_bikes.mp4"), &escape).unwrap();
    let fifo = root.join("fifo.mp4");
    mkfifo(&fifo);
    let big = big_clip(&root);
    let key = data.join("master.key");

    let wire = Tripwire::start();
    let answers = [
        ("/concat", format!("concat:{}|{}", key.display(), key.display())),
        ("/subfile", "subfile,,start,0,end,2,,:/etc/hostname".to_string()),
        ("/gopher", format!("gopher://127.0.0.1:{}/_PING", wire.port)),
        ("/passwd", "file:///etc/passwd".to_string()),
        ("/metadata", "rtsp://169.254.169.254/live".to_string()),
    ];
    let mut routes: HashMap<String, String> = answers.iter().map(|(p, a)| (p.to_string(), json_answer(a))).collect();
    routes.insert(
        "/redirect".into(),
        redirect_to("http://169.254.169.254/latest/meta-data/"),
    );
    let http = Routes::start(routes);

    let server = Server::start_with(
        &data,
        &[("VIGIL_ADMIN_PASSWORD", "pw")],
        &[
            "--probe-interval",
            "1",
            "--analysis-fps",
            "1",
            "--rate-limit",
            "0",
            "--media-roots",
            root.to_str().unwrap(),
            "--max-video-size",
            "800x600",
        ],
    );
    assert!(key.exists(), "the server keeps its master key in the data dir");
    let api = Api::login(&server, "admin", "pw", "default");

    // Sources: RESTful answers, files and addresses that must all be refused.
    let mut refused: Vec<(String, String)> = answers
        .iter()
        .map(|(p, _)| {
            (
                p.to_string(),
                api.restful_source(&format!("r{}", &p[1..]), &http.url(p)),
            )
        })
        .collect();
    refused.push((
        "/redirect".into(),
        api.restful_source("redirect", &http.url("/redirect")),
    ));
    refused.push((
        "meta-restful".into(),
        api.restful_source("meta-restful", "http://169.254.169.254/latest/meta-data/"),
    ));
    refused.push((
        "meta-rtsp".into(),
        api.url_source("meta-rtsp", "rtsp://169.254.169.254/live"),
    ));
    refused.push(("outside".into(), api.url_source("outside", "file:///etc/passwd")));
    refused.push((
        "escape".into(),
        api.url_source("escape", &format!("file://{}", escape.display())),
    ));
    refused.push((
        "fifo".into(),
        api.url_source("fifo", &format!("file://{}", fifo.display())),
    ));
    let too_big = api.url_source("big", &format!("file://{}", big.display()));
    let good = api.url_source("street", &format!("file://{}", clip.display()));

    // The clip inside the root is probed online with a snapshot.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(api.get_source(&good)["status"]["level"] == "1") {
        assert!(
            Instant::now() < deadline,
            "the clip in the media root never came online"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(api.get_source(&good)["image"].as_str().is_some_and(|i| i.len() > 1000));
    // Two rounds of probes (every RESTful endpoint asked twice): every source was probed.
    let deadline = Instant::now() + Duration::from_secs(60);
    while ["/concat", "/subfile", "/gopher", "/passwd", "/metadata", "/redirect"]
        .iter()
        .any(|p| http.hits(p) < 2)
    {
        assert!(Instant::now() < deadline, "the prober did not run twice");
        std::thread::sleep(Duration::from_millis(300));
    }
    for (what, id) in &refused {
        let d = api.get_source(id);
        assert_eq!(d["status"]["level"], "2", "{what}: {d}");
        assert_eq!(d["image"].as_str().unwrap_or(""), "", "{what} has a snapshot");
        let text = d.to_string();
        for leak in ["master.key", "/etc/hostname", "gopher://", "concat:"] {
            assert!(!text.contains(leak), "{what} shows {leak}: {text}");
        }
    }
    let d = api.get_source(&too_big);
    assert_eq!(d["status"]["level"], "9", "larger than --max-video-size: {d}");
    assert_eq!(d["image"].as_str().unwrap_or(""), "");
    assert_eq!(wire.hits.load(Ordering::SeqCst), 0, "the gopher target was contacted");

    // Task inputs: the same refusals, with a fixed error text.
    let restful_task = api.task(
        "restful-concat",
        json!({"type": "restful", "data": [{"url": http.url("/concat"), "rtsp_path_in_response": "data/url",
                                            "certificate_check": true,
                                            "headers": {"Metadata-Flavor": "Google", "X-Api-Key": "k-sealed-123"}}]}),
    );
    let redirect_task = api.task(
        "restful-redirect",
        json!({"type": "restful", "data": [{"url": http.url("/redirect"), "rtsp_path_in_response": "data/url",
                                            "certificate_check": true}]}),
    );
    let url_tasks: Vec<(String, String)> = [
        ("file:///etc/passwd".to_string(), "passwd"),
        (format!("file://{}", escape.display()), "escape"),
        (format!("file://{}", fifo.display()), "fifo"),
    ]
    .into_iter()
    .map(|(url, name)| (api.task(name, json!({"type": "url", "data": [{"url": url}]})), url))
    .collect();
    for (task, url) in &url_tasks {
        let d = api.wait_task(task, &["FAILED"], Duration::from_secs(90));
        assert_generic(&d, &[url.as_str(), &root.display().to_string()]);
    }
    let metadata_task = api.task(
        "rtsp-metadata",
        json!({"type": "url", "data": [{"url": "rtsp://169.254.169.254/live"}]}),
    );
    for task in [&restful_task, &redirect_task, &metadata_task] {
        let d = api.wait_task(task, &["ABNORMAL", "FAILED"], Duration::from_secs(90));
        assert_generic(&d, &["concat", "master.key", "169.254", "data/url", "Metadata"]);
    }
    assert_eq!(wire.hits.load(Ordering::SeqCst), 0);
    // The header value is sealed at rest and opened by the worker right before the call.
    assert!(
        http.heads
            .lock()
            .unwrap()
            .iter()
            .any(|h| h.contains("x-api-key: k-sealed-123")),
        "the RESTful endpoint never got the opened header value"
    );
    // The details are in the server's log, for the administrator.
    let logs = server.drain_logs().join("\n");
    assert!(logs.contains("refused"), "no refusal logged");
    drop(server);
}

#[test]
fn obs_inputs_read_only_the_projects_own_objects() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let d = data.to_str().unwrap();
    // The server's first start creates the admin and project `default`; project `site` and
    // its user `ops` are a second tenant.
    let server = Server::start_with(
        &data,
        &[("VIGIL_ADMIN_PASSWORD", "pw")],
        &["--probe-interval", "0", "--analysis-fps", "1", "--rate-limit", "0"],
    );
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
    let ops_password = user["password"].as_str().unwrap().to_string();
    let a = Api::login(&server, "admin", "pw", "default");
    let b = Api::login(&server, "ops", &ops_password, "site");
    assert_ne!(a.project, b.project);
    // Project a's object, under its prefix in the local obs root.
    let object = data.join("obs/videos").join(&a.project).join("cams/street.mp4");
    std::fs::create_dir_all(object.parent().unwrap()).unwrap();
    std::fs::copy(shared().join("media/street_bikes.mp4"), &object).unwrap();
    let obs = |path: &str| json!({"type": "obs", "data": [{"bucket": "videos", "path": path}]});

    let own = a.task("own", obs("cams/street.mp4"));
    let foreign = b.task("foreign", obs("cams/street.mp4"));
    let climb = b.task("climb", obs(&format!("cams/../../{}/cams/street.mp4", a.project)));
    let d = b.wait_task(&foreign, &["FAILED", "SUCCEEDED"], Duration::from_secs(90));
    assert_eq!(d["state"], "FAILED", "{d}");
    assert_eq!(
        d["error"]["message"], "the stream, file or object does not exist",
        "{d}"
    );
    let d = b.wait_task(&climb, &["FAILED", "SUCCEEDED"], Duration::from_secs(90));
    assert_eq!(d["state"], "FAILED", "{d}");
    assert!(!d["error"].to_string().contains(&a.project), "{d}");
    let d = a.wait_task(&own, &["FAILED", "SUCCEEDED"], Duration::from_secs(180));
    assert_eq!(d["state"], "SUCCEEDED", "the project's own object: {d}");
    drop(server);
}
