//! The real `vigil` binary under attack (issue 8, finding 11): HTTPS with plain HTTP refused,
//! private data-dir files, the first-start admin password in a 0600 file and never in the log,
//! tokens never logged, and `vigil iam project delete` stopping a running task.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::api::Api;
use common::{free_port, run_ok, shared, vigil, Server};
use serde_json::{json, Value};

/// A self-signed certificate for 127.0.0.1 and its key, made by the openssl CLI.
fn self_signed_cert(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
        // rustls (webpki) refuses a CA certificate as a server's own certificate.
        .args([
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "extendedKeyUsage=serverAuth",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .expect("running openssl (scripts/setup.sh installs it)");
    assert!(status.success(), "openssl req failed");
    (cert, key)
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

fn login(base: &str, http: &reqwest::blocking::Client, user: &str, password: &str) -> reqwest::blocking::Response {
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": user, "password": password}}},
                               "scope": {"project": {"name": "default"}}}});
    http.post(format!("{base}/v3/auth/tokens")).json(&body).send().unwrap()
}

#[test]
fn tls_serves_https_and_refuses_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed_cert(dir.path());
    let port = free_port();
    let mut child = vigil()
        .args(["--data-dir", dir.path().join("data").to_str().unwrap(), "serve"])
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--probe-interval",
            "0",
            "--no-worker",
            "true",
        ])
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .env("VIGIL_ADMIN_PASSWORD", "admin-pw")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap();
    let https = reqwest::blocking::Client::builder()
        .add_root_certificate(ca)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let base = format!("https://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = https.get(format!("{base}/health")).send();
        if r.as_ref().map(|r| r.status() == 200).unwrap_or(false) {
            break;
        }
        assert!(Instant::now() < deadline, "no HTTPS /health within 30 s: {r:?}");
        assert!(child.try_wait().unwrap().is_none(), "vigil serve exited");
        std::thread::sleep(Duration::from_millis(100));
    }
    // A client request over HTTPS works end to end.
    let r = login(&base, &https, "admin", "admin-pw");
    assert_eq!(r.status(), 201);
    // Plain HTTP on the same port gets no HTTP answer.
    let plain = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let r = plain.get(format!("http://127.0.0.1:{port}/health")).send();
    assert!(r.is_err(), "plain HTTP must be refused: {:?}", r.map(|r| r.status()));
    // A client that does not trust the certificate is refused too.
    let untrusting = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    assert!(untrusting.get(format!("{base}/health")).send().is_err());
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_missing_tls_key_is_a_startup_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = vigil()
        .args([
            "--data-dir",
            dir.path().to_str().unwrap(),
            "serve",
            "--tls-cert",
            "/nonexistent.pem",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("tls-key"));
}

#[cfg(unix)]
#[test]
fn data_dir_secrets_are_private_and_the_admin_password_is_in_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fresh").join("data");
    let server = Server::start_with(&data, &[], &["--probe-interval", "0", "--no-worker", "true"]);
    std::thread::sleep(Duration::from_millis(300));
    let logs = server.drain_logs().join("\n");
    assert_eq!(mode(&data), 0o700, "data dir");
    for f in [
        "vigil.db",
        "vigil.db-wal",
        "vigil.db-shm",
        "master.key",
        "admin-password",
    ] {
        assert_eq!(mode(&data.join(f)), 0o600, "{f}");
    }
    let password = std::fs::read_to_string(data.join("admin-password"))
        .unwrap()
        .trim()
        .to_string();
    assert!(password.len() >= 20);
    assert!(!logs.contains(&password), "the admin password is never logged");
    assert!(logs.contains("admin-password"), "the log says where it is: {logs}");
    let http = reqwest::blocking::Client::new();
    let r = login(&server.url(""), &http, "admin", &password);
    assert_eq!(r.status(), 201);
    let token = r.headers()["x-subject-token"].to_str().unwrap().to_string();

    // Credentials in URLs and headers never reach the log.
    let project = r.json::<Value>().unwrap()["token"]["project"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = http
        .get(server.url(&format!(
            "/v2/{project}/source/sources?token=QUERYSECRET123&password=QUERYPASS456"
        )))
        .header("X-Auth-Token", &token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .get(server.url("/v3/auth/tokens"))
        .header("X-Auth-Token", "HEADERSECRET789")
        .header("X-Subject-Token", &token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    std::thread::sleep(Duration::from_millis(200));
    let logs = server.drain_logs().join("\n");
    assert!(logs.contains("/source/sources"), "requests are logged: {logs}");
    for secret in [token.as_str(), "QUERYSECRET123", "QUERYPASS456", "HEADERSECRET789"] {
        assert!(!logs.contains(secret), "{secret} logged: {logs}");
    }
    assert!(server.stop().success());
}

#[test]
fn deleting_a_project_stops_and_deletes_its_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap().to_string();
    let media = shared().join("media");
    run_ok(vigil().args(["--data-dir", &d, "migrate"]));
    run_ok(vigil().args(["--data-dir", &d, "iam", "project", "create", "--name", "tenant"]));
    run_ok(
        vigil()
            .args([
                "--data-dir",
                &d,
                "iam",
                "user",
                "create",
                "--name",
                "t1",
                "--project",
                "tenant",
            ])
            .env("VIGIL_USER_PASSWORD", "tenant-password"),
    );
    let server = Server::start_with(
        &data,
        &[("VIGIL_ADMIN_PASSWORD", "pw")],
        &[
            "--probe-interval",
            "0",
            "--replay-realtime",
            "true",
            "--analysis-fps",
            "1",
            "--media-roots",
            media.to_str().unwrap(),
        ],
    );
    let api = Api::login(&server, "t1", "tenant-password", "tenant");
    let (http, token, project) = (&api.http, &api.token, &api.project);
    let post = |path: &str, body: Value| api.post(path, body);
    let src = post(
        "/source",
        json!({"video_source_name": "cam", "access_type": "cloud", "type": "url",
               "type_config": "<type_config><url_address>rtsp://127.0.0.1:9/none</url_address></type_config>"}),
    );
    post(
        "/video-group",
        json!({"video_group_name": "g", "access_type": "cloud", "video_source_ids": [src["video_source_id"]]}),
    );
    let clip = media.join("pedestrians_vtest.mp4");
    let created = post(
        "/services/c-flowcount-cloud/tasks",
        json!({"name": "flow", "input": {"type": "url", "data": [{"url": format!("file://{}", clip.display())}]},
               "output": {"event_center": true},
               "config": {"common": {"target_roi": "{\"lines\":[{\"data\":[[150,150],[150,330]]}]}"}}}),
    );
    let task = created["tasks"][0]["id"].as_str().unwrap().to_string();
    // Wait until the worker runs it.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r: Value = http
            .get(server.url(&format!("/v2/{project}/tasks/{task}")))
            .header("X-Auth-Token", token)
            .send()
            .unwrap()
            .json()
            .unwrap();
        if r["state"] == "RUNNING" {
            break;
        }
        assert!(Instant::now() < deadline, "task never ran: {r}");
        std::thread::sleep(Duration::from_millis(300));
    }
    let _ = server.drain_logs();
    let out: Value = serde_json::from_str(&run_ok(vigil().args([
        "--data-dir",
        &d,
        "iam",
        "project",
        "delete",
        "--project",
        "tenant",
    ])))
    .unwrap();
    assert_eq!(
        (&out["tasks"], &out["video_sources"], &out["video_groups"]),
        (&json!(1), &json!(1), &json!(1)),
        "{out}"
    );
    // The worker stops the pipeline of the deleted task.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = String::new();
    loop {
        seen.push_str(&server.drain_logs().join("\n"));
        if seen
            .lines()
            .any(|l| l.contains(&task) && l.contains("pipeline stopped"))
        {
            break;
        }
        assert!(Instant::now() < deadline, "pipeline of {task} not stopped: {seen}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // The tenant's credentials are gone with it.
    let r = http
        .get(server.url(&format!("/v2/{project}/tasks")))
        .header("X-Auth-Token", token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(server.stop().success());
}
