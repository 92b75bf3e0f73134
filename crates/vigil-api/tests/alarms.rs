//! Vigil's alarm extension API (`/v2/{project_id}/vigil/alarms…`) over HTTP against a real
//! server, on SQLite and PostgreSQL: filters, pagination, pictures, validation and isolation.

mod common;

use common::{assert_vias, Backend, TestServer};
use serde_json::{json, Value};
use vigil_core::alarm::{encode_image, Alarm, AlarmOutputs};

const JPEG: &[u8] = &[0xff, 0xd8, 0xff, 0xe0, 0, 16, b'J', b'F', b'I', b'F', 0, 0xff, 0xd9];

fn alarm(task_id: &str, timestamp: u64, event_type: u64, image: bool) -> Alarm {
    Alarm {
        event_type,
        task_id: task_id.into(),
        stream_id: "cam".into(),
        timestamp,
        message_id: Alarm::new_message_id(),
        image_base64: image.then(|| encode_image(JPEG)),
        alarm_type: (event_type == 1179648).then_some(1),
        data: json!({"event_set": [{"bounding_box": {"x": 1, "y": 2, "w": 3, "h": 4}}]}),
        extra: Default::default(),
    }
}

async fn seed(s: &TestServer, project: &str, a: &Alarm, source: Option<&str>) {
    let outputs = AlarmOutputs {
        event_center: true,
        ..Default::default()
    };
    s.store.enqueue_alarm(a, project, source, &outputs).await.unwrap();
}

fn stamps(v: &Value) -> Vec<i64> {
    v["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["timestamp"].as_i64().unwrap() - 1_700_000_000)
        .collect()
}

async fn list_filter_paginate(b: Backend) {
    let s = TestServer::start(b).await;
    let p = s.a.project_id.clone();
    let mut all = Vec::new();
    for i in 0..7u64 {
        let a = alarm(
            if i < 5 { "task1" } else { "task2" },
            1_700_000_000 + i,
            if i == 6 { 1179648 } else { 196609 },
            i % 2 == 0,
        );
        seed(&s, &p, &a, Some(if i < 2 { "src-a" } else { "src-b" })).await;
        all.push(a);
    }
    seed(
        &s,
        &s.b.project_id.clone(),
        &alarm("task1", 1_700_000_100, 196609, true),
        None,
    )
    .await;

    let (st, v) = s.get("/v2/{p}/vigil/alarms").await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        (v["count"].as_i64(), v["total"].as_i64()),
        (Some(7), Some(7)),
        "other projects invisible"
    );
    assert_eq!(stamps(&v), vec![6, 5, 4, 3, 2, 1, 0]);
    let newest = &v["alarms"][0];
    assert_eq!(newest["message_id"], all[6].message_id.as_str());
    assert_eq!(newest["event_type"], 1179648);
    assert_eq!(newest["alarm_type"], 1);
    assert_eq!(newest["task_id"], "task2");
    assert_eq!(newest["data"], all[6].data);
    assert!(newest.get("image_base64").is_none());
    let url = newest["image_url"].as_str().unwrap();
    assert!(
        url.ends_with(&format!("/v2/{p}/vigil/alarms/{}/image", all[6].message_id)),
        "{url}"
    );
    assert!(v["alarms"][1].get("image_url").is_none(), "no picture, no image_url");

    for (q, total, want) in [
        ("offset=2&limit=3", 7, vec![4, 3, 2]),
        ("offset=6&limit=3", 7, vec![0]),
        ("task_id=task2", 2, vec![6, 5]),
        ("video_source_id=src-a", 2, vec![1, 0]),
        ("event_type=196609&limit=2", 6, vec![5, 4]),
        ("start_time=1700000002&end_time=1700000004", 3, vec![4, 3, 2]),
        ("start_time=1700000005", 2, vec![6, 5]),
        ("task_id=nope", 0, vec![]),
    ] {
        let (st, v) = s.get(&format!("/v2/{{p}}/vigil/alarms?{q}")).await;
        assert_eq!(st, 200, "{q}: {v}");
        assert_eq!(v["total"].as_i64(), Some(total), "{q}");
        assert_eq!(v["count"].as_i64(), Some(want.len() as i64), "{q}");
        assert_eq!(stamps(&v), want, "{q}");
    }

    for (q, param) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
        ("start_time=abc", "start_time"),
        ("end_time=-5", "end_time"),
        ("start_time=1700000005&end_time=1700000001", "end_time"),
        ("event_type=1.5", "event_type"),
        ("task_id=a%2Fb", "task_id"),
        ("video_source_id=%27%20OR%201%3D1", "video_source_id"),
        ("review_state=maybe", "review_state"),
    ] {
        let r = s.get(&format!("/v2/{{p}}/vigil/alarms?{q}")).await;
        assert_vias(&r, 400, "VIAS.00010001", Some(param));
    }
    s.finish().await;
}

async fn pictures(b: Backend) {
    let s = TestServer::start(b).await;
    let p = s.a.project_id.clone();
    let with = alarm("task1", 1_700_000_000, 196609, true);
    let without = alarm("task1", 1_700_000_001, 131073, false);
    seed(&s, &p, &with, None).await;
    seed(&s, &p, &without, None).await;
    let theirs = alarm("task9", 1_700_000_000, 196609, true);
    seed(&s, &s.b.project_id.clone(), &theirs, None).await;

    let resp = s
        .http
        .get(format!("{}/v2/{p}/vigil/alarms/{}/image", s.base, with.message_id))
        .header("X-Auth-Token", &s.a.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), JPEG);

    let img = |id: &str| format!("/v2/{{p}}/vigil/alarms/{id}/image");
    assert_vias(
        &s.get(&img(&without.message_id)).await,
        400,
        "VIAS.00010002",
        Some("message_id"),
    );
    assert_vias(
        &s.get(&img(&theirs.message_id)).await,
        400,
        "VIAS.00010002",
        Some("message_id"),
    );
    assert_vias(
        &s.get(&img(&Alarm::new_message_id())).await,
        400,
        "VIAS.00010002",
        Some("message_id"),
    );
    assert_vias(
        &s.get(&img("not-a-uuid!")).await,
        400,
        "VIAS.00010001",
        Some("message_id"),
    );
    let (st, _) = s
        .call_as(&s.b, reqwest::Method::GET, &img(&theirs.message_id), None)
        .await;
    assert_eq!(st, 200, "the owner sees it");

    let resp = s
        .http
        .get(format!("{}/v2/{p}/vigil/alarms", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "authentication required");

    let doc = s.openapi().await;
    let paths = &doc["paths"];
    assert_eq!(
        paths["/v2/{project_id}/vigil/alarms"]["get"]["operationId"],
        "ListAlarms"
    );
    assert!(
        paths["/v2/{project_id}/vigil/alarms/{message_id}/image"]["get"]["responses"]["200"]["content"]
            .get("image/jpeg")
            .is_some()
    );
    s.finish().await;
}

both_backends!(list_filter_paginate, pictures);

// ---- Event center: rules, review, aggregation, deletes, retention (issue 14) ----

/// An alarm of one tracked target (`detection_id`) or region (`polygon_name`).
fn tracked(task_id: &str, timestamp: u64, track: Option<i64>, region: Option<&str>) -> Alarm {
    let mut event = json!({"bounding_box": {"x": 1, "y": 2, "w": 3, "h": 4}});
    if let Some(t) = track {
        event["detection_id"] = json!(t);
    }
    if let Some(r) = region {
        event["polygon_name"] = json!(r);
    }
    Alarm {
        data: json!({ "event_set": [event] }),
        ..alarm(task_id, timestamp, 196609, true)
    }
}

/// A WebSocket subscriber of every source of the project (its rows show what subscribers get).
async fn subscriber(s: &TestServer, project: &str) -> String {
    let new = vigil_store::event_subscribers::NewSubscriber {
        project_id: project.into(),
        name: "sub".into(),
        description: String::new(),
        video_source_ids: vec![],
        address: None,
    };
    s.store.create_subscriber(new, 100).await.unwrap().id
}

/// Sinks of the outbox rows of an alarm, sorted.
async fn sinks(s: &TestServer, message_id: &str) -> Vec<String> {
    let rows = s.store.outbox_rows_of(message_id).await.unwrap();
    rows.into_iter().map(|r| r.0).collect()
}

async fn subscriber_payload(s: &TestServer, message_id: &str) -> Value {
    use sqlx::Row;
    let row = sqlx::query("SELECT payload FROM outbox WHERE message_id = $1 AND sink = 'subscriber_ws'")
        .bind(message_id)
        .fetch_one(s.store.pool())
        .await
        .unwrap();
    serde_json::from_str(&row.try_get::<String, _>(0).unwrap()).unwrap()
}

/// Alarms the project of tenant `a` holds.
async fn total(s: &TestServer) -> i64 {
    s.get("/v2/{p}/vigil/alarms").await.1["total"].as_i64().unwrap()
}

async fn rules_and_review(b: Backend) {
    let s = TestServer::start(b).await;
    let p = s.a.project_id.clone();
    let rules = "/v2/{p}/vigil/event-center/rules";
    let defaults =
        json!({"manual_review": false, "aggregation": false, "aggregation_window_s": 60, "retention_days": 0});
    assert_eq!(s.get(rules).await, (reqwest::StatusCode::OK, defaults.clone()));
    let (st, v) = s.put(rules, json!({"manual_review": true})).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["manual_review"], true);
    let (_, v) = s
        .put(rules, json!({"aggregation_window_s": 120, "retention_days": 7}))
        .await;
    assert_eq!(
        v,
        json!({"manual_review": true, "aggregation": false, "aggregation_window_s": 120, "retention_days": 7}),
        "a partial update keeps the other fields"
    );
    assert_eq!(s.get(rules).await.1, v);
    let (_, theirs) = s.call_as(&s.b, reqwest::Method::GET, rules, None).await;
    assert_eq!(theirs, defaults, "rules are per project");
    for (body, param) in [
        (json!({"aggregation_window_s": 0}), "aggregation_window_s"),
        (json!({"aggregation_window_s": 86401}), "aggregation_window_s"),
        (json!({"aggregation_window_s": "60"}), "aggregation_window_s"),
        (json!({"retention_days": -1}), "retention_days"),
        (json!({"retention_days": 3651}), "retention_days"),
        (json!({"manual_review": "yes"}), "manual_review"),
        (json!({"manual_reveiw": true}), "manual_reveiw"),
    ] {
        assert_vias(&s.put(rules, body.clone()).await, 400, "VIAS.00010001", Some(param));
    }
    assert_eq!(s.get(rules).await.1, v, "refused updates change nothing");

    // Review on: alarms wait, and reach the subscriber only once approved.
    subscriber(&s, &p).await;
    let a: Vec<Alarm> = (0..3)
        .map(|i| alarm("task1", 1_700_000_000 + i, 196609, true))
        .collect();
    for x in &a {
        seed(&s, &p, x, Some("src-a")).await;
    }
    let (_, v) = s.get("/v2/{p}/vigil/alarms?review_state=pending").await;
    assert_eq!(v["total"], 3, "{v}");
    assert_eq!(v["alarms"][0]["review_state"], "pending");
    for x in &a {
        assert!(
            sinks(&s, &x.message_id).await.is_empty(),
            "nothing pushed before review"
        );
    }
    let review = "/v2/{p}/vigil/alarms/review";
    let unknown = Alarm::new_message_id();
    let (st, v) = s
        .post(
            review,
            json!({"message_ids": [a[0].message_id, unknown, a[1].message_id], "decision": "approve"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v, json!({"reviewed": 2, "skipped": [unknown]}));
    for x in &a[..2] {
        assert_eq!(sinks(&s, &x.message_id).await, ["subscriber_ws"], "approved: pushed");
        let pushed = subscriber_payload(&s, &x.message_id).await;
        assert_eq!(pushed["message_id"], x.message_id.as_str());
        assert_eq!(
            pushed["image_base64"],
            encode_image(JPEG),
            "the alarm JSON with its picture"
        );
    }
    assert!(sinks(&s, &a[2].message_id).await.is_empty());
    // Another project cannot review it; rejecting does not push; a second review is skipped.
    let (_, v) = s
        .call_as(
            &s.b,
            reqwest::Method::POST,
            review,
            Some(json!({"message_ids": [a[2].message_id], "decision": "approve"})),
        )
        .await;
    assert_eq!(v["reviewed"], 0, "{v}");
    let (_, v) = s
        .post(review, json!({"message_ids": [a[2].message_id], "decision": "reject"}))
        .await;
    assert_eq!(v["reviewed"], 1, "{v}");
    let (_, v) = s
        .post(
            review,
            json!({"message_ids": [a[2].message_id, a[0].message_id], "decision": "approve"}),
        )
        .await;
    assert_eq!(v["reviewed"], 0, "{v}");
    assert!(sinks(&s, &a[2].message_id).await.is_empty(), "rejected: never pushed");
    assert_eq!(sinks(&s, &a[0].message_id).await, ["subscriber_ws"], "pushed once");
    let states = |v: &Value| -> Vec<String> {
        v["alarms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["review_state"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        states(&s.get("/v2/{p}/vigil/alarms").await.1),
        ["rejected", "approved", "approved"]
    );
    assert_eq!(s.get("/v2/{p}/vigil/alarms?review_state=approved").await.1["total"], 2);

    // Review off again: new alarms go straight to subscribers.
    s.put(rules, json!({"manual_review": false})).await;
    let d = alarm("task1", 1_700_000_010, 196609, true);
    seed(&s, &p, &d, None).await;
    assert_eq!(sinks(&s, &d.message_id).await, ["subscriber_ws"]);
    let (_, v) = s.get("/v2/{p}/vigil/alarms?limit=1").await;
    assert_eq!(
        (
            &v["alarms"][0]["review_state"],
            &v["alarms"][0]["aggregate_count"],
            &v["alarms"][0]["last_timestamp"]
        ),
        (&json!("none"), &json!(1), &json!(1_700_000_010))
    );

    let ids = |n: usize| (0..n).map(|_| Alarm::new_message_id()).collect::<Vec<_>>();
    for (body, param) in [
        (json!({"message_ids": [], "decision": "approve"}), "message_ids"),
        (json!({"message_ids": ids(101), "decision": "approve"}), "message_ids"),
        (
            json!({"message_ids": ["bad id"], "decision": "approve"}),
            "message_ids[0]",
        ),
        (
            json!({"message_ids": [d.message_id, d.message_id], "decision": "approve"}),
            "message_ids[1]",
        ),
        (json!({"message_ids": [d.message_id], "decision": "maybe"}), "decision"),
        (json!({"message_ids": [d.message_id]}), "decision"),
        (
            json!({"message_ids": [d.message_id], "decision": "approve", "x": 1}),
            "x",
        ),
    ] {
        assert_vias(&s.post(review, body.clone()).await, 400, "VIAS.00010001", Some(param));
    }

    let doc = s.openapi().await;
    for (path, method, op) in [
        ("/v2/{project_id}/vigil/event-center/rules", "get", "ShowEventRules"),
        ("/v2/{project_id}/vigil/event-center/rules", "put", "UpdateEventRules"),
        ("/v2/{project_id}/vigil/alarms/review", "post", "ReviewAlarms"),
        ("/v2/{project_id}/vigil/alarms/{message_id}", "delete", "DeleteAlarm"),
        (
            "/v2/{project_id}/vigil/alarms/batch-delete",
            "post",
            "BatchDeleteAlarms",
        ),
    ] {
        assert_eq!(doc["paths"][path][method]["operationId"], op, "{path} {method}");
    }
    s.finish().await;
}

async fn aggregation(b: Backend) {
    let s = TestServer::start(b).await;
    let p = s.a.project_id.clone();
    subscriber(&s, &p).await;
    let (st, v) = s
        .put(
            "/v2/{p}/vigil/event-center/rules",
            json!({"aggregation": true, "aggregation_window_s": 60}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let outputs = AlarmOutputs {
        event_center: true,
        webhook: Some(vigil_core::alarm::WebhookOutput {
            url: "http://127.0.0.1:9/hook".into(),
            headers: Default::default(),
        }),
        ..Default::default()
    };
    let t = 1_700_000_000u64;
    // (alarm, whether it starts a new row)
    let burst = [
        (tracked("task1", t, Some(7), None), true),
        (tracked("task1", t + 5, Some(7), None), false),
        (tracked("task1", t + 10, Some(8), None), true),
        (tracked("task1", t + 30, Some(7), None), false),
        (tracked("task2", t + 31, Some(7), None), true),
        (tracked("task1", t + 59, Some(7), None), false),
        (tracked("task1", t + 61, Some(7), None), true),
        (tracked("task1", t + 70, Some(7), None), false),
        (tracked("task1", t + 80, None, Some("gate")), true),
        (tracked("task1", t + 81, None, Some("gate")), false),
        (tracked("task1", t + 82, None, Some("yard")), true),
    ];
    for (a, new_row) in &burst {
        s.store.enqueue_alarm(a, &p, Some("src-a"), &outputs).await.unwrap();
        let want: &[&str] = if *new_row {
            &["subscriber_ws", "webhook"]
        } else {
            &["webhook"]
        };
        assert_eq!(sinks(&s, &a.message_id).await, want, "t+{}", a.timestamp - t);
    }
    let (_, v) = s.get("/v2/{p}/vigil/alarms").await;
    assert_eq!(v["total"], 6, "{v}");
    let rows: Vec<(i64, i64, i64)> = v["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let ts = |k: &str| a[k].as_i64().unwrap() - t as i64;
            (
                ts("timestamp"),
                a["aggregate_count"].as_i64().unwrap(),
                ts("last_timestamp"),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (82, 1, 82),
            (80, 2, 81),
            (61, 2, 70),
            (31, 1, 31),
            (10, 1, 10),
            (0, 4, 59)
        ],
        "track 7 folds for 60 s after its first alarm, then starts a new row"
    );
    assert_eq!(
        v["alarms"][5]["message_id"],
        burst[0].0.message_id.as_str(),
        "the first alarm's row"
    );
    s.finish().await;
}

async fn deletes(b: Backend) {
    let s = TestServer::start(b).await;
    let p = s.a.project_id.clone();
    subscriber(&s, &p).await;
    let mut a = Vec::new();
    for i in 0..8u64 {
        let x = alarm(if i < 5 { "task1" } else { "task2" }, 1_700_000_000 + i, 196609, true);
        seed(&s, &p, &x, Some("src-a")).await;
        a.push(x);
    }
    let theirs = alarm("task1", 1_700_000_000, 196609, true);
    seed(&s, &s.b.project_id.clone(), &theirs, None).await;

    let one = |id: &str| format!("/v2/{{p}}/vigil/alarms/{id}");
    assert_eq!(sinks(&s, &a[0].message_id).await, ["subscriber_ws"]);
    let (st, _) = s.delete(&one(&a[0].message_id)).await;
    assert_eq!(st, 204);
    assert_eq!(total(&s).await, 7);
    assert!(
        sinks(&s, &a[0].message_id).await.is_empty(),
        "its pending push went with it"
    );
    assert_vias(
        &s.delete(&one(&a[0].message_id)).await,
        400,
        "VIAS.00010002",
        Some("message_id"),
    );
    assert_vias(
        &s.delete(&one(&theirs.message_id)).await,
        400,
        "VIAS.00010002",
        Some("message_id"),
    );
    assert_vias(&s.delete(&one("x!")).await, 400, "VIAS.00010001", Some("message_id"));

    let batch = "/v2/{p}/vigil/alarms/batch-delete";
    let (st, v) = s
        .post(
            batch,
            json!({"message_ids": [a[1].message_id, a[2].message_id, theirs.message_id, Alarm::new_message_id()]}),
        )
        .await;
    assert_eq!((st.as_u16(), v), (200, json!({"deleted": 2})));
    assert!(sinks(&s, &a[1].message_id).await.is_empty());
    let (_, v) = s
        .post(batch, json!({"task_id": "task2", "start_time": 1_700_000_006}))
        .await;
    assert_eq!(v, json!({"deleted": 2}), "task2 at +6 and +7");
    let (_, v) = s.post(batch, json!({"review_state": "pending"})).await;
    assert_eq!(v, json!({"deleted": 0}));
    assert_eq!(total(&s).await, 3, "+3, +4, +5 remain");
    let (_, v) = s
        .post(batch, json!({"end_time": 1_700_000_004, "event_type": 196609}))
        .await;
    assert_eq!(v, json!({"deleted": 2}));
    let (_, v) = s.get("/v2/{p}/vigil/alarms").await;
    assert_eq!(stamps(&v), vec![5]);
    let (_, v) = s
        .call_as(&s.b, reqwest::Method::GET, "/v2/{p}/vigil/alarms", None)
        .await;
    assert_eq!(v["total"], 1, "the other project's alarm is untouched");

    for (body, param) in [
        (json!({}), "message_ids"),
        (json!({"message_ids": []}), "message_ids"),
        (json!({"message_ids": ["nope!"]}), "message_ids[0]"),
        (
            json!({"message_ids": [a[5].message_id], "task_id": "task1"}),
            "message_ids",
        ),
        (json!({"task_id": "a/b"}), "task_id"),
        (json!({"video_source_id": ""}), "video_source_id"),
        (json!({"event_type": -1}), "event_type"),
        (json!({"start_time": 5, "end_time": 4}), "end_time"),
        (json!({"review_state": "maybe"}), "review_state"),
        (json!({"taskid": "task1"}), "taskid"),
    ] {
        assert_vias(&s.post(batch, body.clone()).await, 400, "VIAS.00010001", Some(param));
    }
    assert_eq!(total(&s).await, 1, "refused deletes delete nothing");
    s.finish().await;
}

async fn retention_per_project(b: Backend) {
    let s = TestServer::start(b).await;
    let (pa, pb) = (s.a.project_id.clone(), s.b.project_id.clone());
    subscriber(&s, &pa).await;
    let (st, _) = s
        .put("/v2/{p}/vigil/event-center/rules", json!({"retention_days": 2}))
        .await;
    assert_eq!(st, 200);
    let mine = alarm("task1", 1_700_000_000, 196609, true);
    let theirs = alarm("task1", 1_700_000_000, 196609, true);
    seed(&s, &pa, &mine, None).await;
    seed(&s, &pb, &theirs, None).await;
    assert_eq!(sinks(&s, &mine.message_id).await, ["subscriber_ws"]);
    let day = 24 * 3600 * 1000i64;
    let now = vigil_store::now_ms();
    let run = |at: i64, default_days: u64| s.store.delete_alarms_past_retention(at, default_days);
    assert_eq!(run(now + day, 30).await.unwrap(), 0);
    assert_eq!(run(now + 3 * day, 30).await.unwrap(), 1, "project a keeps 2 days");
    assert!(
        sinks(&s, &mine.message_id).await.is_empty(),
        "its pending push went with it"
    );
    let all = vigil_store::alarms::AlarmFilter {
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        s.store.list_alarms(&pb, &all).await.unwrap().total,
        1,
        "project b: server default"
    );
    assert_eq!(run(now + 20 * day, 0).await.unwrap(), 0, "default 0 keeps forever");
    assert_eq!(run(now + 31 * day, 30).await.unwrap(), 1);
    assert_eq!(s.store.list_alarms(&pb, &all).await.unwrap().total, 0);
    s.finish().await;
}

both_backends!(rules_and_review, aggregation, deletes, retention_per_project);
