//! Event center subscribers against a real server, on SQLite and PostgreSQL: CRUD and
//! validation, the WebSocket feed (sources filter, acks, resumption after a reconnect, takeover),
//! manual review gating, and the push to a subscriber's own TCP server through the dispatcher.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{assert_vias, url_source, Backend, TestServer};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use vigil_core::alarm::{encode_image, Alarm, AlarmOutputs};
use vigil_store::event_center::EventRulesPatch;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const JPEG: &[u8] = &[0xff, 0xd8, 0xff, 0xe0, 0, 16, b'J', b'F', b'I', b'F', 0, 0xff, 0xd9];
const SUBS: &str = "/v2/{p}/vigil/event-center/subscribers";

fn alarm(source: &str, n: u64) -> Alarm {
    Alarm {
        event_type: 196609,
        task_id: "task1".into(),
        stream_id: source.into(),
        timestamp: 1_700_000_000 + n,
        message_id: Alarm::new_message_id(),
        image_base64: Some(encode_image(JPEG)),
        alarm_type: None,
        data: json!({"event_set": [{"detection_id": format!("D{n}"), "bounding_box": {"x": 1, "y": 2, "w": 3, "h": 4}}]}),
        extra: Default::default(),
    }
}

/// Records an alarm as a task with the event center on does (the worker's call).
async fn emit(s: &TestServer, source: &str, n: u64) -> Alarm {
    let a = alarm(source, n);
    let outputs = AlarmOutputs {
        event_center: true,
        ..Default::default()
    };
    s.store
        .enqueue_alarm(&a, &s.a.project_id, Some(source), &outputs)
        .await
        .unwrap();
    a
}

async fn source(s: &TestServer, name: &str) -> String {
    let (st, v) = s.post("/v2/{p}/source", url_source(name)).await;
    assert_eq!(st, 200, "{v}");
    v["video_source_id"].as_str().unwrap().to_string()
}

async fn subscriber(s: &TestServer, body: Value) -> String {
    let (st, v) = s.post(SUBS, body).await;
    assert_eq!(st, 201, "{v}");
    v["id"].as_str().unwrap().to_string()
}

async fn connect(s: &TestServer, id: &str) -> Ws {
    let url = format!(
        "{}/v2/{}/vigil/event-center/subscribers/{id}/ws",
        s.base.replace("http://", "ws://"),
        s.a.project_id
    );
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("X-Auth-Token", s.a.token.parse().unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

/// The next alarm frame within `wait` (pings skipped), or `None`.
async fn next_alarm(ws: &mut Ws, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next()).await.ok()??.unwrap();
        match msg {
            Message::Text(t) => return Some(serde_json::from_str(t.as_str()).unwrap()),
            Message::Close(f) => panic!("closed: {f:?}"),
            _ => {}
        }
    }
}

async fn ack(ws: &mut Ws, message_id: &str) {
    ws.send(Message::text(json!({"ack": message_id}).to_string()))
        .await
        .unwrap();
}

/// Frames received within `wait` of each other, until none comes.
async fn drain(ws: &mut Ws, wait: Duration) -> Vec<Value> {
    let mut out = Vec::new();
    while let Some(v) = next_alarm(ws, wait).await {
        out.push(v);
    }
    out
}

fn ids(v: &[Value]) -> Vec<String> {
    v.iter()
        .map(|a| a["message_id"].as_str().unwrap().to_string())
        .collect()
}

async fn pending(s: &TestServer, id: &str) -> i64 {
    let (st, v) = s.get(&format!("{SUBS}/{id}")).await;
    assert_eq!(st, 200, "{v}");
    v["pending"].as_i64().unwrap()
}

async fn crud_and_validation(b: Backend) {
    let s = TestServer::start(b).await;
    let s1 = source(&s, "gate").await;
    let s2 = source(&s, "yard").await;
    let (st, v) = s
        .call_as(
            &s.b,
            reqwest::Method::POST,
            "/v2/{p}/source",
            Some(url_source("theirs")),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let theirs = v["video_source_id"].as_str().unwrap().to_string();

    let (st, v) = s
        .post(
            SUBS,
            json!({"name": "wall", "description": "ops wall", "video_source_ids": [s1],
                   "address": "tcp://127.0.0.1:9100"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!(v["name"], "wall");
    assert_eq!(v["description"], "ops wall");
    assert_eq!(v["video_source_ids"], json!([s1]));
    assert_eq!(v["address"], "tcp://127.0.0.1:9100");
    assert_eq!(v["pending"], 0);
    assert!(v["created_at"].as_i64().unwrap() > 0);
    let ws_id = subscriber(&s, json!({"name": "all"})).await;

    let (st, v) = s.get(SUBS).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["count"], 2);
    assert_eq!(v["subscribers"][0]["id"], id.as_str());
    assert_eq!(v["subscribers"][1]["address"], Value::Null);
    assert_eq!(v["subscribers"][1]["video_source_ids"], json!([]));

    // Partial update; `address: null` makes it a WebSocket subscriber.
    let (st, v) = s
        .put(
            &format!("{SUBS}/{id}"),
            json!({"video_source_ids": [s1, s2], "address": null}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["name"], "wall");
    assert_eq!(v["description"], "ops wall");
    assert_eq!(v["video_source_ids"], json!([s1, s2]));
    assert_eq!(v["address"], Value::Null);
    let (_, v) = s.put(&format!("{SUBS}/{id}"), json!({"description": ""})).await;
    assert_eq!(
        (
            v["description"].as_str(),
            v["video_source_ids"].as_array().map(Vec::len)
        ),
        (Some(""), Some(2))
    );

    let long = "n".repeat(65);
    for (body, param) in [
        (json!({}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"name": long}), "name"),
        (json!({"name": 5}), "name"),
        (json!({"name": "x", "description": "d".repeat(256)}), "description"),
        (json!({"name": "x", "video_source_ids": "all"}), "video_source_ids"),
        (
            json!({"name": "x", "video_source_ids": [s1, s1]}),
            "video_source_ids[1]",
        ),
        (
            json!({"name": "x", "video_source_ids": ["no-such-source"]}),
            "video_source_ids[0]",
        ),
        (
            json!({"name": "x", "video_source_ids": [s2, theirs]}),
            "video_source_ids[1]",
        ),
        (json!({"name": "x", "video_source_ids": ["a/b"]}), "video_source_ids[0]"),
        (json!({"name": "x", "address": "http://127.0.0.1:80"}), "address"),
        (json!({"name": "x", "address": "tcp://127.0.0.1"}), "address"),
        (json!({"name": "x", "address": "tcp://127.0.0.1:0"}), "address"),
        (json!({"name": "x", "address": 9000}), "address"),
    ] {
        let r = s.post(SUBS, body.clone()).await;
        assert_vias(&r, 400, "VIAS.00010001", Some(param));
    }
    let many: Vec<String> = (0..1001).map(|i| format!("s{i}")).collect();
    assert_vias(
        &s.post(SUBS, json!({"name": "x", "video_source_ids": many})).await,
        400,
        "VIAS.00010001",
        Some("video_source_ids"),
    );
    assert_vias(
        &s.post(SUBS, json!({"name": "all"})).await,
        400,
        "VIAS.00010003",
        Some("name"),
    );
    assert_vias(
        &s.put(&format!("{SUBS}/{id}"), json!({"name": "all"})).await,
        400,
        "VIAS.00010003",
        Some("name"),
    );
    assert_vias(
        &s.put(&format!("{SUBS}/{id}"), json!({"address": "tcp://h"})).await,
        400,
        "VIAS.00010001",
        Some("address"),
    );
    assert_vias(
        &s.put(&format!("{SUBS}/{id}"), json!({"video_source_ids": [theirs]}))
            .await,
        400,
        "VIAS.00010001",
        Some("video_source_ids[0]"),
    );
    let unknown = format!("{SUBS}/0123456789abcdef0123456789abcdef");
    assert_vias(&s.get(&unknown).await, 400, "VIAS.00010002", Some("subscriber_id"));
    assert_vias(&s.delete(&unknown).await, 400, "VIAS.00010002", Some("subscriber_id"));
    assert_vias(
        &s.get(&format!("{SUBS}/a%2Fb")).await,
        400,
        "VIAS.00010001",
        Some("subscriber_id"),
    );
    // Another project sees none of them.
    let (st, v) = s.call_as(&s.b, reqwest::Method::GET, SUBS, None).await;
    assert_eq!((st.as_u16(), v["count"].as_i64()), (200, Some(0)));
    let r = s
        .call_as(&s.b, reqwest::Method::GET, &format!("{SUBS}/{id}"), None)
        .await;
    assert_vias(&r, 400, "VIAS.00010002", Some("subscriber_id"));

    // Deleting drops the subscriber's pending alarms.
    emit(&s, &s1, 1).await;
    assert_eq!(pending(&s, &id).await, 1);
    assert_eq!(pending(&s, &ws_id).await, 1);
    let (st, _) = s.delete(&format!("{SUBS}/{id}")).await;
    assert_eq!(st, 204);
    let (_, v) = s.get(SUBS).await;
    assert_eq!(v["count"], 1);
    assert_eq!(
        v["subscribers"][0]["pending"], 1,
        "the other subscriber keeps its alarm"
    );
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(s.store.pool())
        .await
        .unwrap();
    assert_eq!(left, 1);

    let doc = s.openapi().await;
    let p = &doc["paths"]["/v2/{project_id}/vigil/event-center/subscribers/{subscriber_id}/ws"];
    assert_eq!(p["get"]["operationId"], "SubscribeEventSubscriber");
    s.finish().await;
}

async fn websocket_feed(b: Backend) {
    let s = TestServer::start(b).await;
    let s1 = source(&s, "gate").await;
    let s2 = source(&s, "yard").await;
    let id = subscriber(&s, json!({"name": "gate only", "video_source_ids": [s1]})).await;
    let all = subscriber(&s, json!({"name": "everything"})).await;
    let wait = Duration::from_millis(600);

    let mut ws = connect(&s, &id).await;
    let a1 = emit(&s, &s1, 1).await;
    emit(&s, &s2, 2).await;
    let a2 = emit(&s, &s1, 3).await;
    let got = drain(&mut ws, wait).await;
    assert_eq!(
        ids(&got),
        vec![a1.message_id.clone(), a2.message_id.clone()],
        "its sources only, oldest first"
    );
    // The frame is the alarm JSON of spec §6, picture included.
    let want: Value = serde_json::from_str(&a1.to_json()).unwrap();
    assert_eq!(got[0], want);
    ack(&mut ws, &a1.message_id).await;
    // a2 is left unacknowledged.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(pending(&s, &id).await, 1);
    ws.close(None).await.unwrap();
    drop(ws);

    let mut away = Vec::new();
    for n in 10..14 {
        away.push(emit(&s, &s1, n).await.message_id);
    }
    emit(&s, &s2, 20).await;
    let mut ws = connect(&s, &id).await;
    let got = drain(&mut ws, wait).await;
    let mut expect = vec![a2.message_id.clone()];
    expect.extend(away.iter().cloned());
    assert_eq!(ids(&got), expect, "the unacked one again, then the 4 missed, each once");
    for m in &expect {
        ack(&mut ws, m).await;
    }
    assert!(next_alarm(&mut ws, wait).await.is_none(), "acked alarms are not resent");
    assert_eq!(pending(&s, &id).await, 0);
    assert_eq!(pending(&s, &all).await, 8, "the all-sources subscriber got every alarm");

    // A second connection takes over; the first is closed with 4000 and its alarm is resent.
    let a3 = emit(&s, &s1, 30).await;
    assert_eq!(ids(&drain(&mut ws, wait).await), vec![a3.message_id.clone()]);
    let mut second = connect(&s, &id).await;
    assert_eq!(
        ids(&drain(&mut second, wait).await),
        vec![a3.message_id.clone()],
        "an unacked alarm follows the new connection"
    );
    let closed = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(Some(f)))) => return u16::from(f.code),
                Some(Ok(_)) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(closed, 4000);
    ack(&mut second, &a3.message_id).await;
    assert!(next_alarm(&mut second, Duration::from_millis(400)).await.is_none());

    // Refused before the upgrade: another project's subscriber, a pushed one.
    refused(&s, &s.b, &id).await;
    let pushed = subscriber(&s, json!({"name": "pushed", "address": "tcp://127.0.0.1:9"})).await;
    refused(&s, &s.a, &pushed).await;
    s.finish().await;
}

async fn refused(s: &TestServer, t: &common::Tenant, id: &str) {
    let url = format!(
        "{}/v2/{}/vigil/event-center/subscribers/{id}/ws",
        s.base.replace("http://", "ws://"),
        t.project_id
    );
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("X-Auth-Token", t.token.parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 400),
        other => panic!("expected HTTP 400, got {:?}", other.map(|_| ())),
    }
}

async fn review_gates_subscribers(b: Backend) {
    let s = TestServer::start(b).await;
    let s1 = source(&s, "gate").await;
    let id = subscriber(&s, json!({"name": "wall"})).await;
    s.store
        .update_event_rules(
            &s.a.project_id,
            &EventRulesPatch {
                manual_review: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut ws = connect(&s, &id).await;
    let keep = emit(&s, &s1, 1).await;
    let drop_it = emit(&s, &s1, 2).await;
    assert!(
        next_alarm(&mut ws, Duration::from_millis(600)).await.is_none(),
        "nothing reaches a subscriber before review"
    );
    assert_eq!(pending(&s, &id).await, 0);
    let (st, v) = s
        .post(
            "/v2/{p}/vigil/alarms/review",
            json!({"message_ids": [keep.message_id], "decision": "approve"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let (st, v) = s
        .post(
            "/v2/{p}/vigil/alarms/review",
            json!({"message_ids": [drop_it.message_id], "decision": "reject"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let got = drain(&mut ws, Duration::from_millis(600)).await;
    assert_eq!(ids(&got), vec![keep.message_id.clone()], "only the approved alarm");
    assert_eq!(got[0]["image_base64"], encode_image(JPEG), "with its picture");
    s.finish().await;
}

/// A subscriber's socket server: answers the first alarm with a wrong ack, the rest correctly.
async fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = format!("tcp://{}", listener.local_addr().unwrap());
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = lines.clone();
    tokio::spawn(async move {
        let mut first = true;
        while let Ok((sock, _)) = listener.accept().await {
            let (r, mut w) = sock.into_split();
            let mut line = String::new();
            if BufReader::new(r).read_line(&mut line).await.unwrap_or(0) == 0 {
                continue;
            }
            let v: Value = serde_json::from_str(&line).unwrap();
            let id = if first {
                "WRONG"
            } else {
                v["message_id"].as_str().unwrap()
            };
            first = false;
            seen.lock().unwrap().push(line.clone());
            let _ = w.write_all(format!("{{\"ack\":\"{id}\"}}\n").as_bytes()).await;
        }
    });
    (addr, lines)
}

async fn tcp_push(b: Backend) {
    use vigil_sinks::{Backoff, Dispatcher, DispatcherConfig, Sinks, SinksConfig};
    let s = TestServer::start(b).await;
    let s1 = source(&s, "gate").await;
    let (addr, lines) = receiver().await;
    let pushed = subscriber(&s, json!({"name": "push", "address": addr})).await;
    let ws_only = subscriber(&s, json!({"name": "ws"})).await;
    let moved = subscriber(&s, json!({"name": "moved"})).await;
    let a1 = emit(&s, &s1, 1).await;
    // Its pending alarm follows the subscriber from the WebSocket to the TCP address.
    let (st, v) = s.put(&format!("{SUBS}/{moved}"), json!({"address": addr})).await;
    assert_eq!(st, 200, "{v}");

    let dir = tempfile::tempdir().unwrap();
    let config = DispatcherConfig {
        backoff: Backoff {
            base: Duration::from_millis(10),
            cap: Duration::from_millis(10),
            jitter: 0.0,
        },
        ..Default::default()
    };
    let sinks = Sinks::from_config(&SinksConfig::with_data_dir(dir.path())).unwrap();
    let d = Dispatcher::new(s.store.clone(), sinks, config.clone());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while pending(&s, &pushed).await + pending(&s, &moved).await > 0 {
        assert!(tokio::time::Instant::now() < deadline, "pushes not acknowledged");
        d.run_once().await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got = lines.lock().unwrap().clone();
    assert_eq!(
        got.len(),
        3,
        "two subscribers, the first push acked wrongly and retried: {got:?}"
    );
    let want: Value = serde_json::from_str(&a1.to_json()).unwrap();
    for line in &got {
        assert!(
            line.ends_with('\n') && !line[..line.len() - 1].contains('\n'),
            "one JSON line"
        );
        assert_eq!(serde_json::from_str::<Value>(line).unwrap(), want);
    }
    assert_eq!(
        pending(&s, &ws_only).await,
        1,
        "WebSocket rows are never claimed by the dispatcher"
    );
    let attempts: i64 = sqlx::query_scalar("SELECT MAX(attempts) FROM outbox")
        .fetch_one(s.store.pool())
        .await
        .unwrap();
    assert_eq!(attempts, 0);

    // A denied address is refused before connecting; the row stays with the generic error.
    let deny = SinksConfig {
        egress: Arc::new(vigil_core::egress::EgressPolicy::from_lists("", "127.0.0.0/8").unwrap()),
        ..SinksConfig::with_data_dir(dir.path())
    };
    let d = Dispatcher::new(s.store.clone(), Sinks::from_config(&deny).unwrap(), config);
    let a2 = emit(&s, &s1, 2).await;
    d.run_once().await.unwrap();
    let rows = s.store.outbox_rows_of(&a2.message_id).await.unwrap();
    let push_rows: Vec<_> = rows.iter().filter(|r| r.0 == "subscriber").collect();
    assert_eq!(push_rows.len(), 2);
    for r in push_rows {
        assert_eq!(r.1, 1);
        assert_eq!(r.2.as_deref(), Some(vigil_core::egress::GENERIC_CONNECT_ERROR));
    }
    assert_eq!(lines.lock().unwrap().len(), 3, "nothing reached the denied receiver");
    let distinct: HashSet<_> = rows.iter().map(|r| r.0.clone()).collect();
    assert!(distinct.contains("subscriber_ws"));
    s.finish().await;
}

both_backends!(crud_and_validation, websocket_feed, review_gates_subscribers, tcp_push);
