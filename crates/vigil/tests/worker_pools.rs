//! Operation Center end to end on PostgreSQL with real processes: three `vigil worker` nodes in
//! two edge pools (w1, w2 `--pool pool-a`; w3 `--pool pool-b`). Tasks pinned to a pool by the
//! legacy `edge_pool_id` and by an algorithm deployed to a pool run only on that pool's nodes;
//! killing w1 (SIGKILL) turns pool-a `Abnormal` and moves its tasks to w2, never to w3.

mod common;

use std::collections::{HashMap, HashSet};
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

fn worker(db: &str, data: &std::path::Path, id: &str, pools: &[&str]) -> Child {
    let mut cmd = vigil();
    cmd.args([
        "--data-dir",
        data.to_str().unwrap(),
        "--database",
        db,
        "worker",
        "--worker-id",
        id,
        "--node-name",
        &format!("node-{id}"),
        "--lease-ttl",
        "5",
    ]);
    for p in pools {
        cmd.args(["--pool", p]);
    }
    cmd.args(["--analysis-fps", "1", "--replay-realtime", "true"])
        .env("VIGIL_MEDIA_ROOTS", clip().parent().unwrap())
        .env_remove("VIGIL_POOLS")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

struct Api {
    http: reqwest::blocking::Client,
    server: Server,
    token: String,
    project: String,
}

impl Api {
    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, self.server.url(&path.replace("{p}", &self.project)))
            .header("X-Auth-Token", &self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().unwrap();
        let status = r.status().as_u16();
        let text = r.text().unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    fn post(&self, path: &str, body: Value) -> Value {
        let (st, v) = self.call(reqwest::Method::POST, path, Some(body));
        assert_eq!(st, 200, "POST {path}: {v}");
        v
    }

    fn get(&self, path: &str) -> Value {
        let (st, v) = self.call(reqwest::Method::GET, path, None);
        assert_eq!(st, 200, "GET {path}: {v}");
        v
    }

    /// Creates one task on the clip; `legacy_pool` sends the legacy VAS body with `edge_pool_id`.
    fn task(&self, service: &str, name: &str, common: Value, legacy_pool: Option<&str>) -> String {
        let input = json!({"type": "url", "data": [{"url": format!("file://{}", clip().display())}]});
        let body = match legacy_pool {
            Some(pool) => json!({"name": name, "input": input, "output": {"event_center": true},
                                 "service_config": {"common": common}, "edge_pool_id": pool, "service_version": "3.0"}),
            None => json!({"name": name, "input": input, "output": {"event_center": true},
                           "config": {"common": common}}),
        };
        let v = self.post(&format!("/v2/{{p}}/services/{service}/tasks"), body);
        // Current body: {"tasks": [{"id"}]}; legacy body: [{"id"}].
        let id = v["tasks"][0]["id"].as_str().or(v[0]["id"].as_str());
        id.unwrap_or_else(|| panic!("no task id in {v}")).to_string()
    }

    fn pool_states(&self, filter: &str) -> Vec<(String, String)> {
        let v = self.get(&format!("/v2/{{p}}/edge-pools?order_by=asc{filter}"));
        v["edge_pools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap().to_string(),
                    p["state"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
}

/// task id → (lease owner, state).
fn snapshot(rt: &tokio::runtime::Runtime, db: &str) -> HashMap<String, (String, String)> {
    rt.block_on(async {
        let s = vigil_store::Store::connect(db).await.unwrap();
        let t = s.all_tasks().await.unwrap();
        s.close().await;
        t.into_iter()
            .map(|t| (t.id, (t.lease_owner.unwrap_or_default(), t.state)))
            .collect()
    })
}

fn node_registered(rt: &tokio::runtime::Runtime, db: &str, id: &str) -> Option<Vec<String>> {
    rt.block_on(async {
        let s = vigil_store::Store::connect(db).await.unwrap();
        let n = s.get_node(id).await.unwrap();
        s.close().await;
        n.map(|n| n.pools)
    })
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
    t0.elapsed()
}

#[test]
fn pools_pin_tasks_and_a_dead_node_hands_over_within_its_pool() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pg = PgDatabase::create("wpools");
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
    let api = Api {
        http,
        server,
        token,
        project,
    };

    // Nodes join their pools by `--pool`; the pools list no node.
    let mut w1 = worker(&db, &data, "w1", &["pool-a"]);
    let mut w3 = worker(&db, &data, "w3", &["pool-b"]);
    wait_until("w1 and w3 register", Duration::from_secs(30), || {
        node_registered(&rt, &db, "w1").is_some() && node_registered(&rt, &db, "w3").is_some()
    });
    assert_eq!(node_registered(&rt, &db, "w1").unwrap(), ["pool-a"]);
    let pool_a = api.post("/v2/{p}/edge-pools", json!({"name": "pool-a"}))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let pool_b = api.post("/v2/{p}/edge-pools", json!({"name": "pool-b"}))["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Intrusion detection deployed to pool-a through the Algorithm Center route.
    let intrusion = vigil_core::catalog::Catalog::by_service_name("c-intrusiondetection-cloud")
        .unwrap()
        .0
        .alg_id();
    api.post(
        &format!("/v2/{{p}}/algorithm/{intrusion}/deploy"),
        json!({"pool_id": pool_a, "stream_count": 10}),
    );

    let lines = json!({"target_roi": "{\"lines\":[{\"data\":[[150,150],[150,330]]}]}"});
    let area = json!({"target_roi": "{\"polygons\":[{\"data\":[[0,0],[0,576],[768,576],[768,0]],\"name\":\"all\"}]}"});
    let mut pool_of: HashMap<String, &str> = HashMap::new();
    for i in 0..2 {
        let id = api.task(
            "c-flowcount-cloud",
            &format!("legacy-a{i}"),
            lines.clone(),
            Some(&pool_a),
        );
        pool_of.insert(id, "a");
        let id = api.task(
            "c-intrusiondetection-cloud",
            &format!("deployed-a{i}"),
            area.clone(),
            None,
        );
        pool_of.insert(id, "a");
    }
    let id = api.task("c-flowcount-cloud", "legacy-b", lines.clone(), Some(&pool_b));
    pool_of.insert(id, "b");

    // Every snapshot: no task ever held by a node outside its pool.
    let check = |snap: &HashMap<String, (String, String)>| {
        for (id, (owner, _)) in snap {
            let allowed: &[&str] = if pool_of[id] == "a" {
                &["w1", "w2", ""]
            } else {
                &["w3", ""]
            };
            assert!(
                allowed.contains(&owner.as_str()),
                "task {id} of pool-{} held by {owner}: {snap:?}",
                pool_of[id]
            );
        }
    };
    // w2 joins once w1 runs something, so that killing w1 has tasks to move.
    wait_until("w1 claims a pool-a task", Duration::from_secs(60), || {
        let snap = snapshot(&rt, &db);
        check(&snap);
        snap.values().any(|(o, _)| o == "w1")
    });
    let mut w2 = worker(&db, &data, "w2", &["pool-a", "pool-z"]);
    wait_until("every task runs", Duration::from_secs(90), || {
        let snap = snapshot(&rt, &db);
        check(&snap);
        snap.len() == 5 && snap.values().all(|(o, s)| !o.is_empty() && s == "RUNNING")
    });
    assert_eq!(node_registered(&rt, &db, "w2").unwrap(), ["pool-a", "pool-z"]);
    assert_eq!(
        api.pool_states("&state=Running"),
        [("pool-a".into(), "Running".into()), ("pool-b".into(), "Running".into())]
    );
    let show_a = api.get(&format!("/v2/{{p}}/edge-pools/{pool_a}"));
    let members: HashSet<&str> = show_a["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(members, HashSet::from(["w1", "w2"]));
    assert_eq!(show_a["nodes"][0]["name"], "node-w1");

    // Kill w1 without warning.
    let before = snapshot(&rt, &db);
    let moved: Vec<String> = before
        .iter()
        .filter(|(_, (o, _))| o == "w1")
        .map(|(id, _)| id.clone())
        .collect();
    assert!(!moved.is_empty());
    w1.kill().unwrap();
    let _ = w1.wait();
    let killed = Instant::now();
    let abnormal_after = wait_until("pool-a turns Abnormal", Duration::from_secs(20), || {
        check(&snapshot(&rt, &db));
        api.get(&format!("/v2/{{p}}/edge-pools/{pool_a}"))["state"] == "Abnormal"
    });
    assert_eq!(
        api.pool_states("&state=Abnormal"),
        [("pool-a".into(), "Abnormal".into())]
    );
    assert_eq!(api.pool_states("&state=Running"), [("pool-b".into(), "Running".into())]);
    let show_a = api.get(&format!("/v2/{{p}}/edge-pools/{pool_a}"));
    for n in show_a["nodes"].as_array().unwrap() {
        let expected = if n["id"] == "w1" { "Abnormal" } else { "Running" };
        assert_eq!(n["state"], expected, "{n}");
    }
    wait_until("w1's tasks run on w2", Duration::from_secs(30), || {
        let snap = snapshot(&rt, &db);
        check(&snap);
        moved
            .iter()
            .all(|id| snap[id] == ("w2".to_string(), "RUNNING".to_string()))
    });
    let took = killed.elapsed();
    let after = snapshot(&rt, &db);
    for (id, (owner, state)) in &after {
        let expected = if pool_of[id] == "a" { "w2" } else { "w3" };
        assert_eq!((owner.as_str(), state.as_str()), (expected, "RUNNING"), "{id}");
    }
    assert_eq!(api.get(&format!("/v2/{{p}}/edge-pools/{pool_b}"))["state"], "Running");
    // Lease TTL 5 s, then one claim per 2 s tick for each task that moves.
    let limit = Duration::from_secs(5 + 2 * moved.len() as u64 + 4);
    eprintln!(
        "pool-a Abnormal {:.1} s after the kill; {} task(s) moved to w2 in {:.1} s (limit {limit:?})",
        abnormal_after.as_secs_f32(),
        moved.len(),
        took.as_secs_f32()
    );
    assert!(took < limit, "handover took {took:?}");
    let _ = w2.kill();
    let _ = w2.wait();
    let _ = w3.kill();
    let _ = w3.wait();
    drop(api);
    drop(pg);
}
