//! Weekly schedules start and stop tasks on their own: tasks created through the real API, a
//! real worker loop over the real store, a wall clock moved by hand and a pipeline factory that
//! records starts and stops (what runs inside a pipeline is tested elsewhere, on real video).

#[path = "../../vigil-api/tests/common/mod.rs"]
mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use common::{url_source, Backend, TestServer};
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedSender;
use vigil_store::tasks::TaskRecord;
use vigil_worker::{PipelineEvent, PipelineFactory, PipelineHandle, StartError, WallClock, Worker, WorkerConfig};

/// Records which tasks' pipelines were started and stopped.
#[derive(Default)]
struct Recorder {
    started: Mutex<Vec<String>>,
    stopped: Arc<Mutex<Vec<String>>>,
}

struct Handle {
    task_id: String,
    stopped: Arc<Mutex<Vec<String>>>,
}

impl PipelineHandle for Handle {
    fn stop(self: Box<Self>) {
        self.stopped.lock().unwrap().push(self.task_id);
    }
}

/// The pipelines stopped so far, once at least `n` have been (or after 10 s): the worker hands a
/// stop to a detached joiner thread, so it lands a little after the tick that decided it.
async fn stopped_after(recorder: &Recorder, n: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let v = recorder.stopped.lock().unwrap().clone();
        if v.len() >= n || std::time::Instant::now() > deadline {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl PipelineFactory for Recorder {
    fn start(
        &self,
        task: &TaskRecord,
        events: UnboundedSender<PipelineEvent>,
    ) -> Result<Box<dyn PipelineHandle>, StartError> {
        self.started.lock().unwrap().push(task.id.clone());
        let _ = events.send(PipelineEvent::Running);
        Ok(Box::new(Handle {
            task_id: task.id.clone(),
            stopped: self.stopped.clone(),
        }))
    }
}

async fn create_task(s: &TestServer, name: &str, schedule: Value) -> String {
    let (st, v) = s.post("/v2/{p}/source", url_source(name)).await;
    assert_eq!(st, 200, "{v}");
    let source = v["video_source_id"].as_str().unwrap();
    let body = json!({
        "name": name,
        "input": {"type": "video_source", "data": [{"video_source_id": source}]},
        "output": {"event_center": true},
        "config": {"common": {"target_roi": "{\"polygons\":[{\"data\":[[0,0],[0,576],[768,576],[768,0]],\"name\":\"all\"}]}"}},
        "schedule": schedule,
    });
    let (st, v) = s.post("/v2/{p}/services/c-intrusiondetection-cloud/tasks", body).await;
    assert_eq!(st, 200, "{v}");
    v["tasks"][0]["id"].as_str().unwrap().to_string()
}

/// (state, schedule_status) as the API shows them.
async fn shown(s: &TestServer, id: &str) -> (String, String) {
    let (st, v) = s.get(&format!("/v2/{{p}}/tasks/{id}")).await;
    assert_eq!(st, 200, "{v}");
    (
        v["state"].as_str().unwrap_or_default().to_string(),
        v["schedule_status"].as_str().unwrap_or_default().to_string(),
    )
}

async fn weekly_windows_start_and_stop_tasks(b: Backend) {
    let s = TestServer::start(b).await;
    // Weekdays 08:00–09:00 UTC; every day 08:00–09:00 at GMT+08:00 (00:00–01:00 UTC).
    let weekdays = create_task(
        &s,
        "weekdays",
        json!({"type": "weekly", "days_of_week": [1, 2, 3, 4, 5], "periods": [["08:00:00", "09:00:00"]]}),
    )
    .await;
    let east = create_task(
        &s,
        "east",
        json!({"type": "weekly", "timezone": "GMT+08:00", "days_of_week": [1, 2, 3, 4, 5, 6, 7],
               "periods": [{"begin_at": "08:00:00", "end_at": "09:00:00"}]}),
    )
    .await;

    let now = Arc::new(Mutex::new(Utc.with_ymd_and_hms(2026, 11, 23, 7, 59, 0).unwrap())); // a Monday
    let clock = {
        let now = now.clone();
        WallClock::new(move || *now.lock().unwrap())
    };
    let recorder = Arc::new(Recorder::default());
    let mut worker = Worker::new(
        s.store.clone(),
        recorder.clone(),
        WorkerConfig {
            id: "w1".into(),
            claims_per_tick: 10,
            clock,
            ..Default::default()
        },
    );
    let set = |t: DateTime<Utc>| *now.lock().unwrap() = t;
    let started = || recorder.started.lock().unwrap().clone();
    async fn ticks(w: &mut Worker) {
        for _ in 0..3 {
            w.tick().await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // Monday 07:59 UTC: both windows closed; nothing runs.
    ticks(&mut worker).await;
    assert!(started().is_empty(), "{:?}", started());
    assert_eq!(shown(&s, &weekdays).await, ("PENDING".into(), "INACTIVATED".into()));
    assert_eq!(shown(&s, &east).await.1, "INACTIVATED");

    // 08:00:30: the weekday window opens; the task runs and says so.
    set(Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 30).unwrap());
    ticks(&mut worker).await;
    assert_eq!(started(), vec![weekdays.clone()]);
    assert_eq!(shown(&s, &weekdays).await, ("RUNNING".into(), "ACTIVATED".into()));

    // 09:00:30: it closes; the pipeline is stopped and the task waits for the next window.
    set(Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 30).unwrap());
    ticks(&mut worker).await;
    assert_eq!(stopped_after(&recorder, 1).await, vec![weekdays.clone()]);
    assert_eq!(shown(&s, &weekdays).await, ("PENDING".into(), "INACTIVATED".into()));

    // Tuesday 00:30 UTC is 08:30 at GMT+08:00: the other task runs, the weekday one does not.
    set(Utc.with_ymd_and_hms(2026, 11, 24, 0, 30, 0).unwrap());
    ticks(&mut worker).await;
    assert_eq!(started(), vec![weekdays.clone(), east.clone()]);
    assert_eq!(shown(&s, &east).await, ("RUNNING".into(), "ACTIVATED".into()));

    // Saturday 08:30 UTC: no weekday window; the east task's window closed at 01:00 UTC.
    set(Utc.with_ymd_and_hms(2026, 11, 28, 8, 30, 0).unwrap());
    ticks(&mut worker).await;
    assert_eq!(started().len(), 2, "{:?}", started());
    assert_eq!(stopped_after(&recorder, 2).await, vec![weekdays.clone(), east.clone()]);

    // Monday 08:30 UTC again: the weekday task starts by itself once more.
    set(Utc.with_ymd_and_hms(2026, 11, 30, 8, 30, 0).unwrap());
    ticks(&mut worker).await;
    assert_eq!(started().last(), Some(&weekdays));
    assert_eq!(shown(&s, &weekdays).await, ("RUNNING".into(), "ACTIVATED".into()));
    s.finish().await;
}

both_backends!(weekly_windows_start_and_stop_tasks);

/// A stored schedule that cannot be read keeps the task from running (it used to count as
/// "always on") and the task says why, once, instead of running outside its owner's hours.
async fn unreadable_schedules_never_run(b: Backend) {
    let s = TestServer::start(b).await;
    let every_day =
        json!({"type": "weekly", "days_of_week": [1, 2, 3, 4, 5, 6, 7], "periods": [["00:00:00", "23:59:59"]]});
    let running = create_task(&s, "running", every_day.clone()).await;
    let broken = create_task(&s, "broken", every_day).await;
    // What an old or damaged row could hold; the API never writes it.
    s.store
        .execute_raw(&format!(
            "UPDATE tasks SET schedule = '{{\"type\": \"weekly\", \"days_of_week\": [9]' WHERE id = '{broken}'"
        ))
        .await
        .unwrap();
    let recorder = Arc::new(Recorder::default());
    let mut worker = Worker::new(
        s.store.clone(),
        recorder.clone(),
        WorkerConfig {
            id: "w1".into(),
            claims_per_tick: 10,
            clock: WallClock::new(|| Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()),
            ..Default::default()
        },
    );
    let started = || recorder.started.lock().unwrap().clone();
    for _ in 0..3 {
        worker.tick().await.unwrap();
    }
    assert_eq!(started(), vec![running.clone()], "only the readable schedule runs");
    let why = |v: &Value| {
        (
            v["state"].as_str().unwrap_or_default().to_string(),
            v["error"]["code"].as_str().unwrap_or_default().to_string(),
            v["status"].as_str().unwrap_or_default().to_string(),
        )
    };
    let (st, v) = s.get(&format!("/v2/{{p}}/tasks/{broken}")).await;
    assert_eq!(st, 200, "{v}");
    let (state, code, status) = why(&v);
    assert_eq!((state.as_str(), code.as_str()), ("PENDING", "VIGIL.SCHEDULE"), "{v}");
    assert!(status.contains("schedule cannot be read"), "{v}");
    assert_eq!(v["schedule_status"], "INACTIVATED", "{v}");
    // Not left leased by us: another worker could try it, and would refuse it the same way.
    let lease = s
        .store
        .all_tasks()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.id == broken)
        .unwrap()
        .lease_owner;
    assert_eq!(lease, None);

    // A running task whose stored schedule becomes unreadable is stopped and says why.
    s.store
        .execute_raw(&format!(
            "UPDATE tasks SET schedule = 'not json' WHERE id = '{running}'"
        ))
        .await
        .unwrap();
    for _ in 0..3 {
        worker.tick().await.unwrap();
    }
    assert_eq!(stopped_after(&recorder, 1).await, vec![running.clone()]);
    assert_eq!(started().len(), 1, "{:?}", started());
    let (_, v) = s.get(&format!("/v2/{{p}}/tasks/{running}")).await;
    let (state, code, _) = why(&v);
    assert_eq!((state.as_str(), code.as_str()), ("PENDING", "VIGIL.SCHEDULE"), "{v}");
    s.finish().await;
}

both_backends!(unreadable_schedules_never_run);
