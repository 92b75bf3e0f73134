//! Issue 8 finding 11: secrets a tenant configures — passwords inside stream URLs and header values
//! of RESTful inputs and webhook outputs — are sealed at rest, read `******` in every response,
//! survive an update that sends `******` back, and open to the original for the worker. On SQLite
//! and PostgreSQL, against a running server.

mod common;

use common::{Backend, TestServer};
use serde_json::{json, Value};
use sqlx::Row;
use vigil_core::secret_fields::{open_json, open_type_config};

const INTRUSION: &str = "c-intrusiondetection-cloud";
const ROI: &str = "{\"polygons\":[{\"data\":[[0,0],[0,576],[768,576],[768,0]],\"name\":\"all\"}]}";

/// Every string the database holds for the project's tasks and sources, as one text.
async fn stored_text(s: &TestServer) -> String {
    let mut text = String::new();
    for (table, cols) in [
        ("tasks", "input, output"),
        ("video_sources", "type_config, stream_path"),
    ] {
        let rows = sqlx::query(&format!("SELECT {cols} FROM {table}"))
            .fetch_all(s.store.pool())
            .await
            .unwrap();
        for r in rows {
            for i in 0..r.len() {
                text.push_str(&r.try_get::<String, _>(i).unwrap_or_default());
                text.push('\n');
            }
        }
    }
    text
}

async fn secrets_sealed(b: Backend) {
    let s = TestServer::start(b).await;
    // A source whose URL carries credentials.
    let xml = "<type_config><url_address>rtsp://viewer:Cam-Pa55@127.0.0.1:8554/cam</url_address></type_config>";
    let (st, v) = s
        .post(
            "/v2/{p}/source",
            json!({"video_source_name": "gate", "access_type": "cloud", "type": "url", "type_config": xml}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let source = v["video_source_id"].as_str().unwrap().to_string();
    let (st, d) = s.get(&format!("/v2/{{p}}/source/sources/{source}")).await;
    assert_eq!(st, 200, "{d}");
    let shown = d.to_string();
    assert!(!shown.contains("Cam-Pa55"), "{shown}");
    assert!(shown.contains("rtsp://viewer:******@127.0.0.1:8554/cam"), "{shown}");
    let (_, list) = s.get("/v2/{p}/source/sources").await;
    assert!(!list.to_string().contains("Cam-Pa55"), "{list}");

    // A task on a RESTful input with an Authorization header, alarms to a webhook with a token.
    let body = json!({
        "name": "secret_task", "service_version": "3.0",
        "input": {"type": "restful", "data": [{"url": "http://api:Api-Pa55@127.0.0.1:9/stream",
            "headers": {"Authorization": "Bearer input-token-123"}, "certificate_check": false, "rtsp_path_in_response": "data/url"}]},
        "output": {"webhook": {"url": "http://127.0.0.1:9/alarms", "headers": {"X-Api-Key": "hook-key-456"}}},
        "config": {"common": {"target_roi": ROI}}
    });
    let (st, v) = s.post(&format!("/v2/{{p}}/services/{INTRUSION}/tasks"), body).await;
    assert_eq!(st, 200, "{v}");
    let task = v["tasks"][0]["id"].as_str().unwrap().to_string();
    let (st, d) = s.get(&format!("/v2/{{p}}/tasks/{task}")).await;
    assert_eq!(st, 200, "{d}");
    for secret in ["Api-Pa55", "input-token-123", "hook-key-456"] {
        assert!(!d.to_string().contains(secret), "{secret} shown in {d}");
    }
    assert_eq!(d["input"]["data"][0]["headers"]["Authorization"], "******");
    assert_eq!(d["output"]["webhook"]["headers"]["X-Api-Key"], "******");
    assert_eq!(d["input"]["data"][0]["url"], "http://api:******@127.0.0.1:9/stream");

    // Nothing in the database in plain text.
    let at_rest = stored_text(&s).await;
    for secret in ["Cam-Pa55", "Api-Pa55", "input-token-123", "hook-key-456"] {
        assert!(!at_rest.contains(secret), "{secret} stored in plain text");
    }

    // An update that sends back what it read keeps every secret; a new value replaces one.
    let mut output = d["output"].clone();
    output["webhook"]["headers"]["X-Extra"] = json!("new-789");
    let (st, v) = s
        .put(
            &format!("/v2/{{p}}/tasks/{task}"),
            json!({"input": d["input"], "output": output}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let rec = s.store.get_task(&s.a.project_id, &task).await.unwrap();
    let input = open_json(&s.secrets, &serde_json::from_str::<Value>(&rec.input).unwrap());
    let output = open_json(&s.secrets, &serde_json::from_str::<Value>(&rec.output).unwrap());
    assert_eq!(input["data"][0]["headers"]["Authorization"], "Bearer input-token-123");
    assert_eq!(input["data"][0]["url"], "http://api:Api-Pa55@127.0.0.1:9/stream");
    assert_eq!(output["webhook"]["headers"]["X-Api-Key"], "hook-key-456");
    assert_eq!(output["webhook"]["headers"]["X-Extra"], "new-789");
    assert!(!rec.output.contains("new-789"));

    // The source: `******` sent back keeps the password; the worker opens the original.
    let (st, v) = s
        .put(
            &format!("/v2/{{p}}/source/{source}"),
            json!({"video_source_name": "gate", "type_config": xml.replace("Cam-Pa55", "******")}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let stored = s.store.get_source(&s.a.project_id, &source).await.unwrap().source;
    assert!(!stored.type_config.contains("Cam-Pa55"));
    assert_eq!(open_type_config(&s.secrets, &stored.type_config), xml);
    s.finish().await;
}

both_backends!(secrets_sealed);
