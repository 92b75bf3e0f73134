//! `obs` outputs written through the outbox and dispatcher to a local bucket directory and to a
//! real S3-compatible server, each project under its own prefix (`<project_id>/…` in the bucket),
//! and a project's attempts to write into another's prefix refused.

#[path = "../../vigil-api/tests/common/mod.rs"]
mod common;
#[allow(dead_code)]
#[path = "../../vigil-media/tests/common/s3_server.rs"]
mod s3_server;
mod support;

use std::time::Duration;

use common::{Backend, TestServer};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::ObjectStore;
use s3_server::S3Server;
use support::*;
use vigil_core::alarm::{Alarm, AlarmOutputs, ObsOutput};
use vigil_sinks::{ObsConfig, Sinks, SinksConfig};

/// Two alarms of one task, a day apart, the first with a picture, delivered to bucket
/// `alarms-bucket` under `site/east`.
async fn deliver_two(s: &TestServer, sinks: Sinks) -> (Alarm, Alarm) {
    let d = dispatcher(&s.store, sinks, "w1");
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
    (with, without)
}

async fn objects_follow_the_layout(b: Backend) {
    let s = TestServer::start(b).await;
    let dir = tempfile::tempdir().unwrap();
    let (with, without) = deliver_two(&s, test_sinks(dir.path(), Duration::from_secs(2))).await;

    let base = dir.path().join("obs/alarms-bucket").join(&s.a.project_id);
    let day1 = base.join("site/east/task-obs/2021-04-13");
    let json: Alarm =
        serde_json::from_slice(&std::fs::read(day1.join(format!("{}.json", with.message_id))).unwrap()).unwrap();
    assert_eq!(json, with.without_image());
    assert_eq!(
        std::fs::read(day1.join(format!("{}.jpg", with.message_id))).unwrap(),
        JPEG
    );

    let day2 = base.join("site/east/task-obs/2021-04-14");
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

async fn objects_reach_an_s3_endpoint(b: Backend) {
    let s = TestServer::start(b).await;
    let s3 = tokio::task::spawn_blocking(|| {
        let s3 = S3Server::start();
        s3.create_bucket("alarms-bucket");
        s3
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = SinksConfig::with_data_dir(dir.path());
    config.obs = ObsConfig::S3(s3.endpoint());
    let (with, without) = deliver_two(&s, Sinks::from_config(&config).unwrap()).await;

    // Read back through the S3 API, signed, as any S3 client would.
    let e = s3.endpoint();
    let bucket = AmazonS3Builder::new()
        .with_endpoint(&e.endpoint)
        .with_region(&e.region)
        .with_bucket_name("alarms-bucket")
        .with_access_key_id(&e.access_key_id)
        .with_secret_access_key(&e.secret_access_key)
        .with_allow_http(true)
        .build()
        .unwrap();
    let p = &s.a.project_id;
    let day1 = format!("{p}/site/east/task-obs/2021-04-13/{}", with.message_id);
    let json = bucket.get(&Path::from(format!("{day1}.json"))).await.unwrap();
    let json: Alarm = serde_json::from_slice(&json.bytes().await.unwrap()).unwrap();
    assert_eq!(json, with.without_image());
    let jpg = bucket.get(&Path::from(format!("{day1}.jpg"))).await.unwrap();
    assert_eq!(jpg.bytes().await.unwrap().as_ref(), JPEG);
    let day2 = bucket
        .list_with_delimiter(Some(&Path::from(format!("{p}/site/east/task-obs/2021-04-14"))))
        .await
        .unwrap();
    let names: Vec<String> = day2
        .objects
        .iter()
        .map(|o| o.location.filename().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        vec![format!("{}.json", without.message_id)],
        "no picture, no .jpg"
    );
    tokio::task::spawn_blocking(move || drop(s3)).await.unwrap();
    s.finish().await;
}

both_backends!(objects_reach_an_s3_endpoint);

/// Every file under `dir`, as paths relative to it.
fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

/// Two projects write to the same bucket and path: each lands under its own prefix. Project A
/// naming B's id as its path stays inside A's prefix; `..` paths (refused by the API, injected
/// here straight into the outbox as an old or forged row would be) are refused by the sink and
/// write nothing anywhere.
async fn projects_write_only_under_their_prefix(b: Backend) {
    let s = TestServer::start(b).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dispatcher(&s.store, test_sinks(dir.path(), Duration::from_secs(2)), "w1");
    let (pa, pb) = (s.a.project_id.clone(), s.b.project_id.clone());
    let out = |path: &str| AlarmOutputs {
        obs: Some(ObsOutput {
            bucket: "shared-bucket".into(),
            path: path.into(),
        }),
        ..Default::default()
    };
    let a1 = alarm("task-a", 1_618_299_313, true);
    let b1 = alarm("task-b", 1_618_299_313, false);
    let a_into_b = alarm("task-a", 1_618_299_313, false);
    s.store.enqueue_alarm(&a1, &pa, None, &out("alarms")).await.unwrap();
    s.store.enqueue_alarm(&b1, &pb, None, &out("alarms")).await.unwrap();
    s.store
        .enqueue_alarm(&a_into_b, &pa, None, &out(&format!("{pb}/alarms")))
        .await
        .unwrap();
    let mut hostile = Vec::new();
    for path in [format!("../{pb}/alarms"), format!("x/../../{pb}"), format!("/{pb}")] {
        let h = alarm("task-a", 1_618_299_313, false);
        s.store.enqueue_alarm(&h, &pa, None, &out(&path)).await.unwrap();
        hostile.push(h);
    }
    // At most four deliveries of one project and sink kind per claim: two rounds.
    let first = d.run_once().await.unwrap();
    assert_eq!(first + d.run_once().await.unwrap(), 6);

    let bucket = dir.path().join("obs/shared-bucket");
    let day = "2021-04-13";
    let a_files = files_under(&bucket.join(&pa));
    assert_eq!(
        a_files,
        vec![
            format!("{pb}/alarms/task-a/{day}/{}.json", a_into_b.message_id),
            format!("alarms/task-a/{day}/{}.jpg", a1.message_id),
            format!("alarms/task-a/{day}/{}.json", a1.message_id),
        ]
        .into_iter()
        .map(|p| p.to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>(),
        "A's objects, all under A's prefix"
    );
    assert_eq!(
        files_under(&bucket.join(&pb)),
        vec![format!("alarms/task-b/{day}/{}.json", b1.message_id)],
        "B's prefix holds only B's alarm"
    );
    let top: Vec<String> = std::fs::read_dir(&bucket)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(top.len(), 2, "nothing outside the two project prefixes: {top:?}");
    for h in &hostile {
        let rows = s.store.outbox_rows_of(&h.message_id).await.unwrap();
        assert_eq!(rows.len(), 1, "refused, kept for the retention job");
        assert_eq!(rows[0].1, 1);
    }
    assert_eq!(pending(&s.store).await, 3);
    s.finish().await;
}

both_backends!(projects_write_only_under_their_prefix);
