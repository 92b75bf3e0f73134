//! Issue 8, sink findings, against a running `vigil serve` analysing the real pedestrian clip:
//! its webhook receiver answers `302 Location: http://169.254.169.254/…` and the server, run with
//! `--webhook-max-redirects 3`, refuses the hop by the egress policy (never dialling the metadata
//! address); its obs objects land under the project's prefix; its `dis` alarms are published on
//! the project's MQTT topic (`vigil/{project_id}/{stream_name}` after `--mqtt-topic-prefix`); and
//! the API refuses forbidden webhook headers and escaping stream names.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::api::Api;
use common::{shared, Server};
use serde_json::{json, Value};

const INTRUSION_ROI: &str = r#"{"polygons":[{"data":[[0,0],[768,0],[768,576],[0,576]],"name":"all"}]}"#;
const METADATA: &str = "http://169.254.169.254/latest/meta-data/";

/// A loopback HTTP server answering every request, body read, with `302 Location: target`.
struct Redirector {
    port: u16,
    hits: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Redirector {
    fn start(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (hits, stop) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
        let (h, s, target) = (hits.clone(), stop.clone(), target.to_string());
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                let Ok((mut sock, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let _ = sock.set_nonblocking(false);
                let _ = sock.set_read_timeout(Some(Duration::from_secs(5)));
                // Headers, then as much body as Content-Length says.
                let mut buf = Vec::new();
                let mut b = [0u8; 8192];
                let head_end = loop {
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break Some(i + 4);
                    }
                    match sock.read(&mut b) {
                        Ok(0) | Err(_) => break None,
                        Ok(n) => buf.extend_from_slice(&b[..n]),
                    }
                };
                let Some(head_end) = head_end else { continue };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while buf.len() < head_end + len {
                    match sock.read(&mut b) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&b[..n]),
                    }
                }
                h.fetch_add(1, Ordering::SeqCst);
                let resp = format!(
                    "HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = sock.write_all(resp.as_bytes());
            }
        });
        Self { port, hits, stop }
    }
}

impl Drop for Redirector {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Forwards the payloads published on `topic` of the local Mosquitto.
fn subscribe(topic: &str) -> std::sync::mpsc::Receiver<(String, Vec<u8>)> {
    let mut opts = rumqttc::MqttOptions::new(format!("vigil-test-{}", std::process::id()), "127.0.0.1", 1883);
    opts.set_max_packet_size(64 << 20, 64 << 20);
    let (client, mut conn) = rumqttc::Client::new(opts, 16);
    client.subscribe(topic, rumqttc::QoS::AtLeastOnce).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let (ready_tx, ready) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _keep = client;
        for ev in conn.iter() {
            match ev {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_))) => {
                    let _ = ready_tx.send(());
                }
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                    if tx.send((p.topic.clone(), p.payload.to_vec())).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    ready
        .recv_timeout(Duration::from_secs(10))
        .expect("SUBACK from Mosquitto on 127.0.0.1:1883");
    rx
}

impl Api {
    fn create(&self, input: Value, output: Value) -> (u16, Value) {
        self.request(
            reqwest::Method::POST,
            "/services/c-intrusiondetection-cloud/tasks",
            Some(json!({"name": "gate", "input": input, "output": output,
                        "config": {"common": {"target_roi": INTRUSION_ROI}}})),
        )
    }
}

fn json_files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn sinks_stay_inside_the_policy_and_the_project() {
    let clip = shared().join("media/pedestrians_vtest.mp4");
    let redirector = Redirector::start(METADATA);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let topic_prefix = format!("vigil-e2e-{}/", std::process::id());
    let roots = clip.parent().unwrap().to_str().unwrap().to_string();
    let server = Server::start_with(
        &data,
        &[("VIGIL_ADMIN_PASSWORD", "pw")],
        &[
            "--probe-interval",
            "0",
            "--analysis-fps",
            "2",
            "--rate-limit",
            "0",
            "--media-roots",
            &roots,
            "--webhook-max-redirects",
            "3",
            "--webhook-timeout",
            "5",
            "--mqtt-url",
            "mqtt://127.0.0.1:1883",
            "--mqtt-topic-prefix",
            &topic_prefix,
        ],
    );
    let api = Api::login(&server, "admin", "pw", "default");
    let p = api.project.clone();
    let input = json!({"type": "url", "data": [{"url": format!("file://{}", clip.display())}]});

    // The API refuses what a tenant may not send or name.
    for (output, param) in [
        (
            json!({"webhook": {"url": "http://127.0.0.1:9/x", "headers": {"X-Forwarded-For": "10.0.0.1"}}}),
            "output.webhook.headers.X-Forwarded-For",
        ),
        (
            json!({"webhook": {"url": "http://127.0.0.1:9/x", "headers": {"Host": "metadata"}}}),
            "output.webhook.headers.Host",
        ),
        (
            json!({"dis": {"stream_name": "../other/alarms"}}),
            "output.dis.stream_name",
        ),
        (
            json!({"obs": {"bucket": "alarms-bucket", "path": "../other"}}),
            "output.obs.path",
        ),
    ] {
        let (st, v) = api.create(input.clone(), output);
        assert_eq!((st, v["error_code"].as_str()), (400, Some("VIAS.00010001")), "{v}");
        assert_eq!(v["params"], json!([param]), "{v}");
    }

    let mqtt = subscribe(&format!("{topic_prefix}#"));
    let (st, v) = api.create(
        input,
        json!({"webhook": {"url": format!("http://127.0.0.1:{}/alarms", redirector.port),
                           "headers": {"content-type": "application/json"}},
               "obs": {"bucket": "alarms-bucket", "path": "site"},
               "dis": {"stream_name": "gate"}}),
    );
    assert_eq!(st, 200, "{v}");
    let task = v["tasks"][0]["id"].as_str().unwrap().to_string();

    // An alarm reaches each output; the webhook's redirect is refused by the policy.
    let deadline = Instant::now() + Duration::from_secs(180);
    let obs_dir = data.join("obs/alarms-bucket").join(&p).join("site").join(&task);
    let mut topics = Vec::new();
    let mut logs = Vec::new();
    let refused = |logs: &[String]| {
        logs.iter()
            .any(|l| l.contains("webhook refused by the egress policy") && l.contains("169.254.169.254"))
    };
    loop {
        while let Ok((t, _)) = mqtt.try_recv() {
            topics.push(t);
        }
        logs.extend(server.drain_logs());
        if !topics.is_empty() && !json_files_under(&obs_dir).is_empty() && refused(&logs) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "outputs after 180 s: topics {topics:?}, obs {:?}, redirector hits {}, refusal logged {}",
            json_files_under(&data.join("obs")),
            redirector.hits.load(Ordering::SeqCst),
            refused(&logs)
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(redirector.hits.load(Ordering::SeqCst) >= 1);
    assert!(
        topics.iter().all(|t| *t == format!("{topic_prefix}vigil/{p}/gate")),
        "{topics:?}"
    );
    // Nothing outside the project's prefix in the bucket.
    let top: Vec<String> = std::fs::read_dir(data.join("obs/alarms-bucket"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(top, vec![p.clone()]);
    drop(mqtt);
    assert!(server.stop().success());
}

/// Topic patterns that would not keep projects apart, and unreadable CA files, stop the server
/// at start with a message naming the rule.
#[test]
fn bad_topic_settings_stop_the_server() {
    let dir = tempfile::tempdir().unwrap();
    for (flags, want) in [
        (
            vec![
                "--mqtt-url",
                "mqtt://127.0.0.1:9",
                "--mqtt-topic-pattern",
                "alarms/{stream_name}",
            ],
            "{project_id}",
        ),
        (
            vec![
                "--mqtt-url",
                "mqtt://127.0.0.1:9",
                "--mqtt-topic-pattern",
                "v/{project_id}/#",
            ],
            "'#'",
        ),
        (
            vec![
                "--kafka-brokers",
                "127.0.0.1:9",
                "--kafka-topic-pattern",
                "a/{project_id}",
            ],
            "only letters",
        ),
        (
            vec![
                "--mqtt-url",
                "mqtts://127.0.0.1:9",
                "--mqtt-ca-file",
                "/nonexistent/ca.pem",
            ],
            "/nonexistent/ca.pem",
        ),
    ] {
        let out = common::vigil()
            .args(["--data-dir", dir.path().join("d").to_str().unwrap(), "serve"])
            .args(["--listen", &format!("127.0.0.1:{}", common::free_port())])
            .args(["--probe-interval", "0"])
            .args(&flags)
            .env("VIGIL_ADMIN_PASSWORD", "pw")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(want), "{flags:?}: {err}");
    }
}
