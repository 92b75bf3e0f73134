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

    let doc: Value = s
        .http
        .get(format!("{}/openapi.json", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
