//! `GET /v2/{pid}/vigil/nodes` (console Nodes page) over HTTP against a real server, on SQLite and
//! PostgreSQL: every registered worker with its state, and the load of the caller's own project
//! only (leased tasks, analysed fps from `task_stats`, stale stats and expired leases not counted).

mod common;

use common::{Backend, TestServer};
use reqwest::Method;
use serde_json::{json, Value};
use vigil_store::nodes::{Accelerator, NodeRecord};

async fn sql(s: &TestServer, q: &str) {
    use sqlx::Executor;
    s.store.pool().execute(q).await.unwrap();
}

async fn register(s: &TestServer, id: &str, pools: &[&str], gpus: Vec<Accelerator>) {
    let n = NodeRecord {
        id: id.into(),
        name: format!("host-{id}"),
        description: String::new(),
        cpu: 8,
        arch: "x86_64".into(),
        memory: 32_000,
        gpu_info: gpus,
        npu_info: vec![],
        version: "0.1.0".into(),
        pools: pools.iter().map(|p| p.to_string()).collect(),
        lease_ttl: 15_000,
        started_at: 0,
        heartbeat_at: 0,
    };
    s.store.upsert_node(&n).await.unwrap();
}

/// A task row of `project` whose lease `owner` holds until `expires` (ms).
async fn leased_task(s: &TestServer, project: &str, id: &str, owner: &str, expires: i64) {
    sql(
        s,
        &format!(
            "INSERT INTO tasks (id, project_id, name, service_name, state, lease_owner, lease_expires_at, created_at, updated_at) \
             VALUES ('{id}', '{project}', 'task-{id}', 'c-intrusion-detection-cloud', 'RUNNING', '{owner}', {expires}, 0, 0)"
        ),
    )
    .await;
}

async fn stats(s: &TestServer, project: &str, task: &str, node: &str, fps: f64, updated_at: i64) {
    sql(
        s,
        &format!(
            "INSERT INTO task_stats (task_id, project_id, node_id, analysed_fps, decode_fps, analysed_frames, dropped_frames, restarts, updated_at) \
             VALUES ('{task}', '{project}', '{node}', {fps}, {fps}, 100, 0, 0, {updated_at})"
        ),
    )
    .await;
}

fn node<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == id)
        .unwrap_or_else(|| panic!("node {id} missing in {v}"))
}

async fn nodes_with_load(b: Backend) {
    let s = TestServer::start(b).await;
    let (a, pb) = (s.a.project_id.clone(), s.b.project_id.clone());
    let now = vigil_store::now_ms();

    // No nodes yet: an empty list, not an error.
    let (st, v) = s.get("/v2/{p}/vigil/nodes").await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v, json!({"nodes": []}));

    let gpu = Accelerator {
        name: "NVIDIA H100".into(),
        driver_version: "550".into(),
        kind: "GPU".into(),
        capacity: 81_559,
    };
    register(&s, "w1", &["site-a"], vec![gpu]).await;
    register(&s, "w2", &[], vec![]).await;
    sql(
        &s,
        "UPDATE nodes SET heartbeat_at = heartbeat_at - 60000 WHERE id = 'w2'",
    )
    .await;

    leased_task(&s, &a, "t1", "w1", now + 60_000).await;
    leased_task(&s, &a, "t2", "w1", now + 60_000).await;
    leased_task(&s, &a, "t3", "w1", now - 1_000).await; // lease expired: not w1's any more
    leased_task(&s, &a, "t4", "w2", now + 60_000).await;
    leased_task(&s, &pb, "t5", "w1", now + 60_000).await; // tenant b's
    stats(&s, &a, "t1", "w1", 12.5, now).await;
    stats(&s, &a, "t2", "w1", 7.5, now - 5_000).await;
    stats(&s, &a, "t3", "w1", 100.0, now - 120_000).await; // stale: counts 0
    stats(&s, &pb, "t5", "w1", 50.0, now).await;

    // Tenant a's pool listing w2 shows on w2 for a only.
    let (st, v) = s
        .post("/v2/{p}/edge-pools", json!({"name": "pool-x", "nodes": ["w2"]}))
        .await;
    assert_eq!(st, 200, "{v}");

    let (st, v) = s.get("/v2/{p}/vigil/nodes").await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["nodes"].as_array().unwrap().len(), 2, "{v}");
    let w1 = node(&v, "w1");
    let mut keys: Vec<&String> = w1.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "analysed_fps",
            "arch",
            "cpu",
            "gpus",
            "heartbeat_at",
            "id",
            "memory",
            "name",
            "pools",
            "started_at",
            "state",
            "tasks",
            "version"
        ]
    );
    assert_eq!(w1["name"], "host-w1");
    assert_eq!(w1["state"], "Running");
    assert_eq!(w1["cpu"], 8);
    assert_eq!(w1["memory"], 32_000);
    assert_eq!(
        w1["tasks"], 2,
        "expired leases and other projects' tasks are not counted: {w1}"
    );
    assert!((w1["analysed_fps"].as_f64().unwrap() - 20.0).abs() < 1e-9, "{w1}");
    assert_eq!(w1["gpus"][0]["name"], "NVIDIA H100");
    assert_eq!(w1["gpus"][0]["type"], "GPU");
    assert_eq!(w1["pools"], json!(["site-a"]));
    assert!(w1["heartbeat_at"].as_i64().unwrap() >= now - 1_000);
    let w2 = node(&v, "w2");
    assert_eq!(w2["state"], "Abnormal");
    assert_eq!(w2["tasks"], 1);
    assert_eq!(w2["analysed_fps"], 0.0);
    assert_eq!(w2["pools"], json!(["pool-x"]));

    // Tenant b sees the same nodes with only its own load and none of a's pools.
    let (st, v) = s.call_as(&s.b, Method::GET, "/v2/{p}/vigil/nodes", None).await;
    assert_eq!(st, 200, "{v}");
    let w1 = node(&v, "w1");
    assert_eq!(w1["tasks"], 1);
    assert!((w1["analysed_fps"].as_f64().unwrap() - 50.0).abs() < 1e-9, "{w1}");
    assert_eq!(node(&v, "w2")["pools"], json!([]));

    // Without a token: the gateway's 401.
    let resp = s
        .http
        .get(format!("{}/v2/{a}/vigil/nodes", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    // Another project's path with a's token is refused.
    let (st, _) = s.get(&format!("/v2/{pb}/vigil/nodes")).await;
    assert!(st == 401 || st == 403, "{st}");
    s.finish().await;
}

both_backends!(nodes_with_load);
