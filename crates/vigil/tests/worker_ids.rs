//! Worker ids are unique per process: a `serve` and two `worker`s on one host and one data dir
//! (one SQLite database) get three different ids, and a killed worker restarted on the same data
//! dir gets its old id back (so it resumes its leases at once). The ids come from their logs.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{vigil, Server};
use serde_json::Value;

/// The `worker` field of a JSON log line saying "worker id", if it is one.
fn id_in(line: &str) -> Option<String> {
    let v: Value = serde_json::from_str(line).ok()?;
    (v["fields"]["message"] == "worker id").then(|| v["fields"]["worker"].as_str().map(String::from))?
}

/// A `vigil worker` on `data` and its id, read from its log.
fn start_worker(data: &std::path::Path) -> (Child, String) {
    let mut child = vigil()
        .args([
            "--data-dir",
            data.to_str().unwrap(),
            "--log-json",
            "true",
            "--log",
            "info",
        ])
        .args(["worker", "--analysis-fps", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(id) = id_in(&line) {
                let _ = tx.send(id);
            }
        }
    });
    let id = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the worker logs its id at startup");
    (child, id)
}

#[test]
fn processes_on_one_data_dir_get_distinct_ids_and_a_restart_keeps_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // `serve` runs the task worker too.
    let server = Server::start_with(&data, &[("VIGIL_ADMIN_PASSWORD", "pw")], &["--probe-interval", "0"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let serve_id = loop {
        if let Some(id) = server.drain_logs().iter().find_map(|l| id_in(l)) {
            break id;
        }
        assert!(Instant::now() < deadline, "serve logged no worker id");
        std::thread::sleep(Duration::from_millis(100));
    };
    let (mut a, a_id) = start_worker(&data);
    let (mut b, b_id) = start_worker(&data);
    assert_ne!(serve_id, a_id);
    assert_ne!(serve_id, b_id);
    assert_ne!(a_id, b_id);
    // Host name first, then the per-data-dir part.
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let host = host.trim();
    if !host.is_empty() {
        for id in [&serve_id, &a_id, &b_id] {
            assert!(id.starts_with(&format!("{host}-")), "{id}");
        }
    }
    // SIGKILL: the lock on its slot dies with the process; the restarted worker gets its id back.
    a.kill().unwrap();
    let _ = a.wait();
    let (mut a2, a2_id) = start_worker(&data);
    assert_eq!(a2_id, a_id, "a restarted worker resumes its id");
    // One slot per process ever run at once, persisted in the data dir.
    let slots = std::fs::read_dir(data.join("worker-ids")).unwrap().count();
    assert_eq!(slots, 3);
    for c in [&mut a2, &mut b] {
        let _ = c.kill();
        let _ = c.wait();
    }
    drop(server);
}
