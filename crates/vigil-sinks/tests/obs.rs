//! `obs` outputs written to a local bucket directory through the outbox and dispatcher.

#[path = "../../vigil-api/tests/common/mod.rs"]
mod common;
mod support;

use std::time::Duration;

use common::{Backend, TestServer};
use support::*;
use vigil_core::alarm::{Alarm, AlarmOutputs, ObsOutput};

async fn objects_follow_the_layout(b: Backend) {
    let s = TestServer::start(b).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dispatcher(&s.store, test_sinks(dir.path(), Duration::from_secs(2)), "w1");
    let outputs = AlarmOutputs {
        obs: Some(ObsOutput {
            bucket: "alarms-bucket".into(),
            path: "site/east".into(),
        }),
        ..Default::default()
    };
    let with = alarm("task-obs", 1_618_299_313, true);
    let without = alarm("task-obs", 1_618_385_713, false);
    for a in [&with, &without] {
        s.store.enqueue_alarm(a, &s.a.project_id, None, &outputs).await.unwrap();
    }
    assert_eq!(d.run_once().await.unwrap(), 2);
    assert_eq!(pending(&s.store).await, 0);

    let day1 = dir.path().join("obs/alarms-bucket/site/east/task-obs/2021-04-13");
    let json: Alarm =
        serde_json::from_slice(&std::fs::read(day1.join(format!("{}.json", with.message_id))).unwrap()).unwrap();
    assert_eq!(json, with.without_image());
    assert_eq!(
        std::fs::read(day1.join(format!("{}.jpg", with.message_id))).unwrap(),
        JPEG
    );

    let day2 = dir.path().join("obs/alarms-bucket/site/east/task-obs/2021-04-14");
    let files: Vec<String> = std::fs::read_dir(&day2)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        files,
        vec![format!("{}.json", without.message_id)],
        "no picture, no .jpg"
    );
    s.finish().await;
}

both_backends!(objects_follow_the_layout);
