//! Stopping a pipeline joins its thread, which may take a while; the worker loop runs on the
//! async runtime and must not wait for it, yet a task's restarted pipeline must never run side
//! by side with the one being stopped, and a lease is released at shutdown only once its
//! pipeline has ended. A real worker over the real store, with a factory whose pipelines take
//! 800 ms to stop (as a thread busy with a frame would).

#[path = "../../vigil-api/tests/common/mod.rs"]
mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{url_source, Backend, TestServer};
use serde_json::json;
use tokio::sync::mpsc::UnboundedSender;
use vigil_store::tasks::TaskRecord;
use vigil_worker::{PipelineEvent, PipelineFactory, PipelineHandle, StartError, Worker, WorkerConfig};

const STOP_TAKES: Duration = Duration::from_millis(800);

/// When pipelines started, and when their stops began and ended.
#[derive(Default)]
struct Log {
    starts: Vec<Instant>,
    stops: Vec<(Instant, Instant)>,
}

#[derive(Default)]
struct SlowStop(Arc<Mutex<Log>>);

struct Handle(Arc<Mutex<Log>>);

impl PipelineHandle for Handle {
    fn stop(self: Box<Self>) {
        let begun = Instant::now();
        std::thread::sleep(STOP_TAKES);
        self.0.lock().unwrap().stops.push((begun, Instant::now()));
    }
}

impl PipelineFactory for SlowStop {
    fn start(
        &self,
        _task: &TaskRecord,
        events: UnboundedSender<PipelineEvent>,
    ) -> Result<Box<dyn PipelineHandle>, StartError> {
        self.0.lock().unwrap().starts.push(Instant::now());
        let _ = events.send(PipelineEvent::Running);
        Ok(Box::new(Handle(self.0.clone())))
    }
}

async fn create_task(s: &TestServer) -> String {
    let (st, v) = s.post("/v2/{p}/source", url_source("cam")).await;
    assert_eq!(st, 200, "{v}");
    let body = json!({
        "name": "slow-stop",
        "input": {"type": "video_source", "data": [{"video_source_id": v["video_source_id"]}]},
        "output": {"event_center": true},
        "config": {"common": {"target_roi": "{\"polygons\":[{\"data\":[[0,0],[0,576],[768,576],[768,0]],\"name\":\"all\"}]}"}},
    });
    let (st, v) = s.post("/v2/{p}/services/c-intrusiondetection-cloud/tasks", body).await;
    assert_eq!(st, 200, "{v}");
    v["tasks"][0]["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_never_blocks_the_loop_nor_overlaps_the_restart() {
    let s = TestServer::start(Backend::Sqlite).await;
    let task = create_task(&s).await;
    let factory = Arc::new(SlowStop::default());
    let log = factory.0.clone();
    let config = WorkerConfig {
        id: "w1".into(),
        tick: Duration::from_millis(50),
        ..Default::default()
    };
    let mut worker = Worker::new(s.store.clone(), factory.clone(), config.clone());
    worker.tick().await.unwrap();
    assert_eq!(log.lock().unwrap().starts.len(), 1);

    // The task changes: its pipeline is restarted. The tick that stops it returns at once.
    s.store
        .execute_raw(&format!("UPDATE tasks SET revision = revision + 1 WHERE id = '{task}'"))
        .await
        .unwrap();
    let t0 = Instant::now();
    worker.tick().await.unwrap();
    let took = t0.elapsed();
    assert!(
        took < STOP_TAKES / 2,
        "the tick waited for the pipeline's thread: {took:?}"
    );
    // The new pipeline starts only after the old one has ended.
    let deadline = Instant::now() + Duration::from_secs(10);
    while log.lock().unwrap().starts.len() < 2 {
        assert!(Instant::now() < deadline, "no restart");
        worker.tick().await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    {
        let l = log.lock().unwrap();
        assert_eq!(l.stops.len(), 1);
        assert!(
            l.starts[1] >= l.stops[0].1,
            "the restarted pipeline ran beside the old one"
        );
    }
    drop(worker);
    // The dropped worker's pipeline is stopped in the background too.
    tokio::time::sleep(STOP_TAKES + Duration::from_millis(200)).await;
    assert_eq!(log.lock().unwrap().stops.len(), 2);

    // Shutdown: the lease is released only after the pipeline ended.
    let worker = Worker::new(s.store.clone(), factory.clone(), config);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let run = tokio::spawn(worker.run(stop_rx));
    let deadline = Instant::now() + Duration::from_secs(10);
    while log.lock().unwrap().starts.len() < 3 {
        assert!(Instant::now() < deadline, "not started again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop_tx.send(true).unwrap();
    let lease_of = |s: &TestServer| {
        let store = s.store.clone();
        let task = task.clone();
        async move {
            store
                .all_tasks()
                .await
                .unwrap()
                .into_iter()
                .find(|t| t.id == task)
                .unwrap()
                .lease_owner
        }
    };
    // While it stops, the lease stays ours.
    tokio::time::sleep(STOP_TAKES / 4).await;
    assert_eq!(lease_of(&s).await.as_deref(), Some("w1"));
    tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(log.lock().unwrap().stops.len(), 3);
    assert_eq!(lease_of(&s).await, None);
    s.finish().await;
}
