//! `GET /v2/{pid}/vigil/task-stats` and the store-backed gauges of `GET /metrics`, over HTTP
//! against a real server on SQLite and PostgreSQL: rows as workers write them, project
//! isolation, stale rows at 0 fps, rows of deleted tasks hidden, a worker deleting only its own
//! row; the outbox backlog per sink kind and the leases per node at scrape time.

mod common;

use common::{url_source, Backend, TestServer};
use reqwest::Method;
use serde_json::{json, Value};
use vigil_core::alarm::{Alarm, AlarmOutputs, WebhookOutput};
use vigil_store::task_stats::TaskStats;

const INTRUSION: &str = "c-intrusiondetection-cloud";

async fn task(s: &TestServer, t: &common::Tenant, name: &str) -> String {
    let (st, src) = s
        .call_as(t, Method::POST, "/v2/{p}/source", Some(url_source(name)))
        .await;
    assert_eq!(st, 200, "{src}");
    let body = json!({
        "name": name,
        "input": {"type": "video_source", "data": [{"video_source_id": src["video_source_id"]}]},
        "output": {"event_center": true},
        "config": {"common": {"target_roi": "{\"polygons\":[{\"data\":[[0,0],[0,100],[100,100],[100,0]],\"name\":\"a\"}]}"}}
    });
    let (st, v) = s
        .call_as(
            t,
            Method::POST,
            &format!("/v2/{{p}}/services/{INTRUSION}/tasks"),
            Some(body),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    v["tasks"][0]["id"].as_str().unwrap().to_string()
}

fn row(task_id: &str, project_id: &str, node: &str, fps: f64, updated_at: i64) -> TaskStats {
    TaskStats {
        task_id: task_id.into(),
        project_id: project_id.into(),
        node_id: node.into(),
        analysed_fps: fps,
        decode_fps: 2.0 * fps,
        analysed_frames: 120,
        dropped_frames: 3,
        restarts: 1,
        updated_at,
    }
}

async fn task_stats(b: Backend) {
    let s = TestServer::start(b).await;
    let (a1, a2) = (task(&s, &s.a, "cam_one").await, task(&s, &s.a, "cam_two").await);
    let b1 = task(&s, &s.b, "cam_three").await;
    let now = vigil_store::now_ms();

    let (st, v) = s.get("/v2/{p}/vigil/task-stats").await;
    assert_eq!((st.as_u16(), v.clone()), (200, json!({"stats": []})));

    s.store
        .upsert_task_stats(&row(&a1, &s.a.project_id, "node-1", 4.5, now))
        .await
        .unwrap();
    // A worker that died a while ago: its last numbers, at 0 fps.
    s.store
        .upsert_task_stats(&row(&a2, &s.a.project_id, "node-2", 3.0, now - 120_000))
        .await
        .unwrap();
    s.store
        .upsert_task_stats(&row(&b1, &s.b.project_id, "node-1", 5.0, now))
        .await
        .unwrap();
    // The next report replaces the row.
    let mut newer = row(&a1, &s.a.project_id, "node-1", 5.0, now + 5_000);
    newer.analysed_frames = 145;
    s.store.upsert_task_stats(&newer).await.unwrap();

    let (st, v) = s.get("/v2/{p}/vigil/task-stats").await;
    assert_eq!(st, 200, "{v}");
    let stats = v["stats"].as_array().unwrap();
    assert_eq!(stats.len(), 2, "only the caller's project: {v}");
    let by_id = |id: &str| -> &Value { stats.iter().find(|x| x["task_id"] == id).unwrap() };
    assert_eq!(
        by_id(&a1),
        &json!({"task_id": a1, "node_id": "node-1", "analysed_fps": 5.0, "decode_fps": 10.0,
                "analysed_frames": 145, "dropped_frames": 3, "restarts": 1, "updated_at": now + 5_000})
    );
    let stale = by_id(&a2);
    assert_eq!(
        (stale["analysed_fps"].as_f64(), stale["decode_fps"].as_f64()),
        (Some(0.0), Some(0.0))
    );
    assert_eq!(stale["analysed_frames"], 120);

    let (st, v) = s.call_as(&s.b, Method::GET, "/v2/{p}/vigil/task-stats", None).await;
    assert_eq!(st, 200);
    assert_eq!(v["stats"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["stats"][0]["task_id"], b1.as_str());

    // Another node cannot delete the row; its owner can. A deleted task's row is not shown.
    s.store.delete_task_stats(&a1, "node-2").await.unwrap();
    let (_, v) = s.get("/v2/{p}/vigil/task-stats").await;
    assert_eq!(v["stats"].as_array().unwrap().len(), 2);
    s.store.delete_task_stats(&a1, "node-1").await.unwrap();
    let (st, d) = s.delete(&format!("/v2/{{p}}/tasks/{a2}")).await;
    assert!(st.is_success(), "{d}");
    let (_, v) = s.get("/v2/{p}/vigil/task-stats").await;
    assert_eq!(v, json!({"stats": []}));

    // Tokens are required, as on every project route.
    let r = s
        .http
        .get(format!("{}/v2/{}/vigil/task-stats", s.base, s.a.project_id))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "authentication required");
    s.finish().await;
}

/// The sample value of `line_start` (`name{labels}`) in a scrape.
fn sample(text: &str, line_start: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start)?.trim().parse().ok())
}

async fn scrape_gauges(b: Backend) {
    let s = TestServer::start(b).await;
    let a1 = task(&s, &s.a, "cam_one").await;
    let outputs = AlarmOutputs {
        webhook: Some(WebhookOutput {
            url: "http://127.0.0.1:9/alarms".into(),
            headers: Default::default(),
        }),
        event_center: true,
        ..Default::default()
    };
    let alarm = Alarm {
        event_type: 196609,
        task_id: a1.clone(),
        stream_id: "cam".into(),
        timestamp: 1_700_000_000,
        message_id: Alarm::new_message_id(),
        image_base64: None,
        alarm_type: None,
        data: json!({"event_set": []}),
        extra: Default::default(),
    };
    for _ in 0..2 {
        let mut a = alarm.clone();
        a.message_id = Alarm::new_message_id();
        s.store
            .enqueue_alarm(&a, &s.a.project_id, None, &outputs)
            .await
            .unwrap();
    }
    // A worker holding the task's lease.
    assert!(s.store.claim_task(&a1, "node-metrics", 60_000).await.unwrap());

    let text = s.http.get(format!("{}/metrics", s.base)).send().await.unwrap();
    assert_eq!(text.status(), 200);
    assert!(text.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = text.text().await.unwrap();
    assert_eq!(
        sample(&text, "vigil_outbox_depth{sink=\"webhook\"}"),
        Some(2.0),
        "{text}"
    );
    assert_eq!(sample(&text, "vigil_outbox_depth{sink=\"obs\"}"), Some(0.0), "{text}");
    let age = sample(&text, "vigil_outbox_oldest_age_seconds{sink=\"webhook\"}").unwrap();
    assert!((0.0..60.0).contains(&age), "{age}");
    assert_eq!(
        sample(&text, "vigil_worker_leased_tasks{node_id=\"node-metrics\"}"),
        Some(1.0),
        "{text}"
    );
    s.finish().await;
}

both_backends!(task_stats, scrape_gauges);
