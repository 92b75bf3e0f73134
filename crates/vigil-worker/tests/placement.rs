//! Pool-aware scheduling and deployment capacity, worker by worker: tasks created through the
//! real API, real worker loops over the real store (SQLite and PostgreSQL), edge pools created
//! through the API, deployments written with the store repository, and a pipeline factory that
//! records which worker started what.

#[path = "../../vigil-api/tests/common/mod.rs"]
mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{url_source, Backend, TestServer};
use serde_json::json;
use tokio::sync::mpsc::UnboundedSender;
use vigil_core::catalog::Catalog;
use vigil_store::algorithm_deployments::{Deployment, CLOUD_POOL, SERVICE_RUNNING, SERVICE_STOPPED};
use vigil_store::tasks::TaskRecord;
use vigil_worker::{PipelineEvent, PipelineFactory, PipelineHandle, StartError, Worker, WorkerConfig};

/// Records the tasks whose pipeline runs now.
#[derive(Default)]
struct Recorder {
    running: Arc<Mutex<Vec<String>>>,
}

struct Handle {
    task_id: String,
    running: Arc<Mutex<Vec<String>>>,
}

impl PipelineHandle for Handle {
    fn stop(self: Box<Self>) {
        self.running.lock().unwrap().retain(|t| *t != self.task_id);
    }
}

impl PipelineFactory for Recorder {
    fn start(
        &self,
        task: &TaskRecord,
        events: UnboundedSender<PipelineEvent>,
    ) -> Result<Box<dyn PipelineHandle>, StartError> {
        self.running.lock().unwrap().push(task.id.clone());
        let _ = events.send(PipelineEvent::Running);
        Ok(Box::new(Handle {
            task_id: task.id.clone(),
            running: self.running.clone(),
        }))
    }
}

fn worker(s: &TestServer, id: &str, pools: &[&str]) -> (Worker, Arc<Recorder>) {
    let rec = Arc::new(Recorder::default());
    let w = Worker::new(
        s.store.clone(),
        rec.clone(),
        WorkerConfig {
            id: id.into(),
            claims_per_tick: 10,
            pools: pools.iter().map(|p| p.to_string()).collect(),
            ..Default::default()
        },
    );
    (w, rec)
}

async fn create_task(s: &TestServer, name: &str, service: &str) -> String {
    let mut src = url_source(name);
    if service.ends_with("-edge") {
        src["access_type"] = json!("edge");
    }
    let (st, v) = s.post("/v2/{p}/source", src).await;
    assert_eq!(st, 200, "{v}");
    let source = v["video_source_id"].as_str().unwrap();
    let body = json!({
        "name": name,
        "input": {"type": "video_source", "data": [{"video_source_id": source}]},
        "output": {"event_center": true},
        "config": {"common": {"target_roi": "{\"polygons\":[{\"data\":[[0,0],[0,576],[768,576],[768,0]],\"name\":\"all\"}]}"}},
    });
    let (st, v) = s.post(&format!("/v2/{{p}}/services/{service}/tasks"), body).await;
    assert_eq!(st, 200, "{v}");
    v["tasks"][0]["id"].as_str().unwrap().to_string()
}

fn intrusion_alg() -> String {
    Catalog::by_service_name("c-intrusiondetection-cloud")
        .unwrap()
        .0
        .alg_id()
}

async fn deploy(s: &TestServer, alg_id: &str, pool_id: &str, stream_count: i64, status: &str) {
    s.store
        .upsert_deployment(&Deployment {
            project_id: s.a.project_id.clone(),
            alg_id: alg_id.into(),
            pool_id: pool_id.into(),
            stream_count,
            deploy_config: "{}".into(),
            envs: "{}".into(),
            status: status.into(),
            created_at: 0,
            updated_at: 0,
        })
        .await
        .unwrap();
}

async fn ticks(workers: &mut [&mut Worker], n: usize) {
    for _ in 0..n {
        for w in workers.iter_mut() {
            w.tick().await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn task(s: &TestServer, id: &str) -> TaskRecord {
    s.store.get_task(&s.a.project_id, id).await.unwrap()
}

async fn tasks_stay_in_their_pool(b: Backend) {
    let s = TestServer::start(b).await;
    let (mut wa, ra) = worker(&s, "wa", &["pool-a"]);
    let (mut wx, rx) = worker(&s, "wx", &[]);
    // Both nodes register on their first tick.
    ticks(&mut [&mut wa, &mut wx], 1).await;
    let node = s.store.get_node("wa").await.unwrap().unwrap();
    assert_eq!(node.pools, ["pool-a"]);
    assert!(node.cpu >= 1 && node.memory > 0, "{node:?}");
    assert_eq!(node.arch, std::env::consts::ARCH);
    let (st, v) = s.post("/v2/{p}/edge-pools", json!({"name": "pool-a"})).await;
    assert_eq!(st, 200, "{v}");
    let pool_a = v["id"].as_str().unwrap().to_string();
    let (st, v) = s
        .post("/v2/{p}/edge-pools", json!({"name": "pool-b", "nodes": ["wx"]}))
        .await;
    assert_eq!(st, 200, "{v}");
    let pool_b = v["id"].as_str().unwrap().to_string();

    // Intrusion is deployed to pool-a; a legacy task pins itself to pool-b by edge_pool_id;
    // line crossing has no deployment: any node.
    deploy(&s, &intrusion_alg(), &pool_a, 100, SERVICE_RUNNING).await;
    let mut deployed = Vec::new();
    for i in 0..3 {
        deployed.push(create_task(&s, &format!("dep{i}"), "c-intrusiondetection-cloud").await);
    }
    let legacy = create_task(&s, "legacy", "c-intrusiondetection-cloud").await;
    s.store
        .execute_raw(&format!(
            "UPDATE tasks SET edge_pool_id = '{pool_b}' WHERE id = '{legacy}'"
        ))
        .await
        .unwrap();
    let free = create_task(&s, "free", "c-abandon-detection-cloud").await;
    // wx ticks first each round, so it would take everything it is allowed to.
    ticks(&mut [&mut wx, &mut wa], 3).await;
    let on_a = ra.running.lock().unwrap().clone();
    let on_x = rx.running.lock().unwrap().clone();
    for t in &deployed {
        assert!(on_a.contains(t), "deployed task {t} not on pool-a's node: {on_a:?}");
        assert_eq!(task(&s, t).await.lease_owner.as_deref(), Some("wa"));
    }
    assert!(on_x.contains(&legacy), "legacy task not on pool-b's node: {on_x:?}");
    assert!(
        on_x.contains(&free),
        "wx ticks first and may run the free task: {on_x:?}"
    );
    assert_eq!(on_a.len() + on_x.len(), 5);

    // The deployment moves to pool-b: wa hands its tasks over, wx takes them.
    deploy(&s, &intrusion_alg(), &pool_b, 100, SERVICE_RUNNING).await;
    ticks(&mut [&mut wa, &mut wx], 3).await;
    assert!(ra.running.lock().unwrap().is_empty());
    for t in &deployed {
        assert_eq!(task(&s, t).await.lease_owner.as_deref(), Some("wx"), "{t}");
    }
    // `cloud`: any node; a stopped service: no node.
    deploy(&s, &intrusion_alg(), CLOUD_POOL, 100, SERVICE_RUNNING).await;
    let late = create_task(&s, "late", "c-intrusiondetection-cloud").await;
    deploy(&s, &intrusion_alg(), CLOUD_POOL, 100, SERVICE_STOPPED).await;
    let (mut wn, rn) = worker(&s, "wn", &[]);
    ticks(&mut [&mut wn], 3).await;
    assert!(
        !rn.running.lock().unwrap().contains(&late),
        "a stopped service's task ran"
    );
    deploy(&s, &intrusion_alg(), CLOUD_POOL, 100, SERVICE_RUNNING).await;
    ticks(&mut [&mut wn], 2).await;
    assert!(rn.running.lock().unwrap().contains(&late), "cloud deployment: any node");
    s.finish().await;
}

async fn stream_count_caps_running_tasks(b: Backend) {
    let s = TestServer::start(b).await;
    deploy(&s, &intrusion_alg(), CLOUD_POOL, 1, SERVICE_RUNNING).await;
    let first = create_task(&s, "first", "c-intrusiondetection-cloud").await;
    let second = create_task(&s, "second", "c-intrusiondetection-edge").await;
    let other = create_task(&s, "other", "c-abandon-detection-cloud").await;
    let (mut w1, r1) = worker(&s, "w1", &[]);
    let (mut w2, r2) = worker(&s, "w2", &[]);
    ticks(&mut [&mut w1, &mut w2], 4).await;
    let running = |r: &Recorder| r.running.lock().unwrap().clone();
    let all: Vec<String> = running(&r1).into_iter().chain(running(&r2)).collect();
    assert!(all.contains(&first), "{all:?}");
    assert!(all.contains(&other), "an algorithm without a deployment is not limited");
    assert!(!all.contains(&second), "stream_count 1 let a second task run: {all:?}");
    let waiting = task(&s, &second).await;
    assert_eq!(waiting.state, "PENDING");
    assert_eq!(waiting.status, "waiting for deployment capacity (stream_count 1)");
    assert_eq!(waiting.lease_owner, None);
    let (_, shown) = s.get(&format!("/v2/{{p}}/tasks/{second}")).await;
    assert_eq!(shown["status"], "waiting for deployment capacity (stream_count 1)");

    // Stopping the first frees the slot: the second starts on the next ticks.
    let (st, v) = s.put(&format!("/v2/{{p}}/tasks/{first}/action/stop"), json!({})).await;
    assert_eq!(st, 200, "{v}");
    ticks(&mut [&mut w1, &mut w2], 4).await;
    let all: Vec<String> = running(&r1).into_iter().chain(running(&r2)).collect();
    assert!(!all.contains(&first));
    assert!(all.contains(&second), "{all:?}");
    let started = task(&s, &second).await;
    assert_eq!((started.state.as_str(), started.status.as_str()), ("RUNNING", ""));
    assert_eq!(task(&s, &first).await.state, "STOPPED");
    // Starting the first again: it waits while the second holds the one slot.
    let (st, v) = s.put(&format!("/v2/{{p}}/tasks/{first}/action/start"), json!({})).await;
    assert_eq!(st, 200, "{v}");
    ticks(&mut [&mut w2, &mut w1], 3).await;
    let all: Vec<String> = running(&r1).into_iter().chain(running(&r2)).collect();
    assert!(!all.contains(&first), "{all:?}");
    assert_eq!(
        task(&s, &first).await.status,
        "waiting for deployment capacity (stream_count 1)"
    );
    // A larger stream_count lets it run.
    deploy(&s, &intrusion_alg(), CLOUD_POOL, 2, SERVICE_RUNNING).await;
    ticks(&mut [&mut w1, &mut w2], 3).await;
    let all: Vec<String> = running(&r1).into_iter().chain(running(&r2)).collect();
    assert!(all.contains(&first) && all.contains(&second), "{all:?}");
    s.finish().await;
}

/// A legacy task pinned to a pool that does not exist runs nowhere, even on a server without
/// any pool, and says why; it starts once a pool with that id exists and has this node.
async fn a_task_pinned_to_a_missing_pool_waits(b: Backend) {
    let s = TestServer::start(b).await;
    let (mut w, r) = worker(&s, "wm", &["pool-m"]);
    let t = create_task(&s, "pinned", "c-intrusiondetection-cloud").await;
    s.store
        .execute_raw(&format!(
            "UPDATE tasks SET edge_pool_id = 'no-such-pool' WHERE id = '{t}'"
        ))
        .await
        .unwrap();
    ticks(&mut [&mut w], 3).await;
    assert!(r.running.lock().unwrap().is_empty());
    let rec = task(&s, &t).await;
    assert_eq!(rec.state, "PENDING");
    assert_eq!(
        rec.status,
        "waiting for edge pool no-such-pool, which does not exist in this project"
    );
    let (st, v) = s.post("/v2/{p}/edge-pools", json!({"name": "pool-m"})).await;
    assert_eq!(st, 200, "{v}");
    let pool = v["id"].as_str().unwrap().to_string();
    s.store
        .execute_raw(&format!("UPDATE tasks SET edge_pool_id = '{pool}' WHERE id = '{t}'"))
        .await
        .unwrap();
    ticks(&mut [&mut w], 2).await;
    assert!(
        r.running.lock().unwrap().contains(&t),
        "pinned task did not start on its pool's node"
    );
    s.finish().await;
}

both_backends!(
    tasks_stay_in_their_pool,
    stream_count_caps_running_tasks,
    a_task_pinned_to_a_missing_pool_waits
);
