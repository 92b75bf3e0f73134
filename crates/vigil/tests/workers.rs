//! Several `vigil worker` processes on one PostgreSQL database share the tasks; when one is
//! killed (SIGKILL), the other takes its tasks over once their leases expire.

mod common;

use std::collections::HashSet;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::pg::PgDatabase;
use common::{vigil, Server};
use serde_json::{json, Value};

/// The shared pedestrian clip (canonical: the media roots compare resolved paths).
fn clip() -> std::path::PathBuf {
    let clip = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/media/pedestrians_vtest.mp4");
    let clip = std::env::var_os("VIGIL_SHARED_DIR")
        .map(|d| std::path::PathBuf::from(d).join("media/pedestrians_vtest.mp4"))
        .unwrap_or(clip);
    clip.canonicalize().unwrap_or(clip)
}

fn worker(db: &str, data: &std::path::Path, id: &str) -> Child {
    vigil()
        .args([
            "--data-dir",
            data.to_str().unwrap(),
            "--database",
            db,
            "worker",
            "--worker-id",
            id,
            "--lease-ttl",
            "5",
        ])
        .args(["--analysis-fps", "1", "--replay-realtime", "true"])
        // The tasks read the shared clip as a file: its directory is a media root.
        .env("VIGIL_MEDIA_ROOTS", clip().parent().unwrap())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn two_workers_share_tasks_and_take_over_after_a_kill() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pg = PgDatabase::create("w");
    let db = pg.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start_with(
        &data,
        &[("VIGIL_ADMIN_PASSWORD", "pw"), ("VIGIL_DATABASE", &db)],
        &["--no-worker", "true", "--probe-interval", "0"],
    );
    let http = reqwest::blocking::Client::new();
    let login = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "password": "pw"}}}, "scope": {"project": {"name": "default"}}}});
    let r = http.post(server.url("/v3/auth/tokens")).json(&login).send().unwrap();
    let token = r.headers()["x-subject-token"].to_str().unwrap().to_string();
    let project = r.json::<Value>().unwrap()["token"]["project"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let clip = clip();
    // Four file tasks replayed at real-time pace (80 s each): long enough to watch the handover.
    for i in 0..4 {
        let body = json!({"name": format!("t{i}"), "input": {"type": "url", "data": [{"url": format!("file://{}", clip.display())}]},
                          "output": {"event_center": true},
                          "config": {"common": {"target_roi": "{\"lines\":[{\"data\":[[150,150],[150,330]]}]}"}}});
        let r = http
            .post(server.url(&format!("/v2/{project}/services/c-flowcount-cloud/tasks")))
            .header("X-Auth-Token", &token)
            .json(&body)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{:?}", r.text());
    }
    // Both start together; each claims one new task per 2 s tick, so they share the four.
    let mut a = worker(&db, &data, "worker-a");
    let mut b = worker(&db, &data, "worker-b");
    let owners = |rt: &tokio::runtime::Runtime| -> Vec<(String, String)> {
        rt.block_on(async {
            let s = vigil_store::Store::connect(&db).await.unwrap();
            let t = s.all_tasks().await.unwrap();
            s.close().await;
            t.into_iter()
                .map(|t| (t.lease_owner.unwrap_or_default(), t.state))
                .collect()
        })
    };
    // Both workers get tasks, every task runs.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let o = owners(&rt);
        let holders: HashSet<&str> = o.iter().map(|(w, _)| w.as_str()).collect();
        if holders == HashSet::from(["worker-a", "worker-b"]) && o.iter().all(|(_, s)| s == "RUNNING") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "tasks not shared between both workers: {o:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // Kill worker A without warning: B takes every task within the lease timeout (5 s) plus a tick.
    a.kill().unwrap();
    let _ = a.wait();
    let killed = Instant::now();
    loop {
        let o = owners(&rt);
        if o.iter().all(|(w, s)| w == "worker-b" && s == "RUNNING") {
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(20),
            "no takeover after 20 s: {o:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let took = killed.elapsed();
    assert!(took < Duration::from_secs(15), "takeover took {took:?}");
    let _ = b.kill();
    let _ = b.wait();
    drop(server);
    drop(pg);
}
