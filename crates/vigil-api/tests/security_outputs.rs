//! Task outputs a tenant could use against the server or other tenants (issue 8, findings 4, 5
//! and 10), refused at the API on SQLite and PostgreSQL with VIAS.00010001 and the field in
//! `params`: webhook headers that change framing, routing or the caller's identity; obs paths
//! with `.`/`..` segments; `dis` stream names that would leave the project's topic prefix. Each
//! is tried on task creation, task update and batch-task creation.

mod common;

use common::{assert_vias, url_source, Backend, TestServer};
use serde_json::{json, Value};

const INTRUSION: &str = "c-intrusiondetection-cloud";

fn body(source: &str, output: Value) -> Value {
    json!({
        "name": "guarded", "service_version": "3.0",
        "input": {"type": "video_source", "data": [{"video_source_id": source}]},
        "output": output,
        "config": {"common": {"person_detection_sw": 1,
            "target_roi": "{\"polygons\":[{\"data\":[[0,0],[0,576],[768,576],[768,0]],\"name\":\"all\"}]}"}}
    })
}

fn webhook(headers: Value) -> Value {
    json!({"webhook": {"url": "http://127.0.0.1:9/alarms", "headers": headers}})
}

/// (output, field expected in `params`).
fn hostile_outputs() -> Vec<(Value, String)> {
    let mut cases = Vec::new();
    for h in [
        "Host",
        "Transfer-Encoding",
        "X-Forwarded-For",
        "host",
        "Connection",
        "Keep-Alive",
        "Proxy-Authorization",
        "TE",
        "Trailer",
        "Upgrade",
        "Content-Length",
        "Forwarded",
        "X-Forwarded-Host",
        "X-Real-IP",
    ] {
        cases.push((
            webhook(json!({"content-type": "application/json", h: "169.254.169.254"})),
            format!("output.webhook.headers.{h}"),
        ));
    }
    for path in ["../other-project/alarms", "a/../../b", "a/./b", "a/..", "/abs", "."] {
        cases.push((
            json!({"obs": {"bucket": "alarms-bucket", "path": path}}),
            "output.obs.path".into(),
        ));
    }
    for stream in ["../x", "a/b", "a/#", "+", "#", "$SYS", "a.b", "..", "x y"] {
        cases.push((json!({"dis": {"stream_name": stream}}), "output.dis.stream_name".into()));
    }
    cases
}

async fn hostile_outputs_are_refused(b: Backend) {
    let s = TestServer::start(b).await;
    let (st, v) = s.post("/v2/{p}/source", url_source("gate cam")).await;
    assert_eq!(st, 200, "{v}");
    let cam = v["video_source_id"].as_str().unwrap().to_string();
    let create = format!("/v2/{{p}}/services/{INTRUSION}/tasks");

    // The allowed forms pass: ordinary headers, a nested relative path, a plain stream name.
    let ok = json!({"webhook": {"url": "http://127.0.0.1:9/alarms",
                                "headers": {"Content-Type": "application/json", "Authorization": "Bearer t"}},
                    "obs": {"bucket": "alarms-bucket", "path": "site/east"},
                    "dis": {"stream_name": "alarms-1_a"}});
    let (st, v) = s.post(&create, body(&cam, ok)).await;
    assert_eq!(st, 200, "{v}");
    let id = v["tasks"][0]["id"].as_str().unwrap().to_string();

    for (output, param) in hostile_outputs() {
        let r = s.post(&create, body(&cam, output.clone())).await;
        assert_vias(&r, 400, "VIAS.00010001", Some(&param));
        let r = s
            .put(&format!("/v2/{{p}}/tasks/{id}"), json!({"output": output.clone()}))
            .await;
        assert_vias(&r, 400, "VIAS.00010001", Some(&param));
    }

    // Batch tasks validate the shared output the same way.
    let (_, g) = s
        .post(
            "/v2/{p}/video-group",
            json!({"video_group_name": "gate", "access_type": "cloud", "video_source_ids": [cam]}),
        )
        .await;
    let g = g["video_group_id"].as_str().unwrap().to_string();
    let mut batch = body(&cam, webhook(json!({"X-Forwarded-For": "10.0.0.1"})));
    batch.as_object_mut().unwrap().remove("input");
    batch["service_name"] = json!(INTRUSION);
    batch["batch_input"] = json!({"video_source_group": [{"video_source_group_id": g,
        "video_source_list": [{"video_source_id": cam}]}]});
    let r = s.post("/v2/{p}/batch-tasks", batch).await;
    assert_vias(&r, 400, "VIAS.00010001", Some("output.webhook.headers.X-Forwarded-For"));

    // Nothing of the refused outputs was stored: the task keeps its first output.
    let (st, d) = s.get(&format!("/v2/{{p}}/tasks/{id}")).await;
    assert_eq!(st, 200, "{d}");
    assert_eq!(d["output"]["obs"]["path"], "site/east");
    assert_eq!(d["output"]["dis"]["stream_name"], "alarms-1_a");
    s.finish().await;
}

both_backends!(hostile_outputs_are_refused);
