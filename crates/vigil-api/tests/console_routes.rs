//! The console's two extension routes over HTTP against a real server, on SQLite and PostgreSQL:
//! the live alarm stream (SSE: no backlog, cursors, filters, late commits, isolation, the per
//! project limit, disconnects) and the source snapshot JPEG.

mod common;

use std::time::{Duration, Instant};

use common::{assert_vias, url_source, Backend, TestServer};
use serde_json::{json, Value};
use vigil_core::alarm::{encode_image, Alarm, AlarmOutputs};
use vigil_store::video_sources::SourceHealth;

const JPEG: &[u8] = &[0xff, 0xd8, 0xff, 0xe0, 0, 16, b'J', b'F', b'I', b'F', 0, 0xff, 0xd9];

fn alarm(task_id: &str, event_type: u64) -> Alarm {
    Alarm {
        event_type,
        task_id: task_id.into(),
        stream_id: "cam".into(),
        timestamp: 1_700_000_000,
        message_id: Alarm::new_message_id(),
        image_base64: Some(encode_image(JPEG)),
        alarm_type: None,
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

/// One parsed Server-Sent Event.
#[derive(Debug)]
struct Sse {
    event: String,
    id: String,
    data: Value,
}

/// An open `text/event-stream` response, read event by event.
struct Stream {
    resp: reqwest::Response,
    buf: String,
    /// `: keepalive` and other comment lines seen so far.
    comments: usize,
}

impl Stream {
    async fn open(s: &TestServer, query: &str, last_event_id: Option<&str>) -> Result<Stream, (u16, Value)> {
        let mut req = s
            .http
            .get(format!("{}/v2/{}/vigil/alarms/stream{query}", s.base, s.a.project_id))
            .header("X-Auth-Token", &s.a.token);
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        // The client's 30 s timeout would cut a long-lived stream; events are awaited below.
        let resp = req.timeout(Duration::from_secs(3600)).send().await.unwrap();
        if resp.status() != 200 {
            let st = resp.status().as_u16();
            return Err((st, resp.json().await.unwrap_or(Value::Null)));
        }
        assert_eq!(resp.headers()["content-type"], "text/event-stream");
        Ok(Stream {
            resp,
            buf: String::new(),
            comments: 0,
        })
    }

    /// The next event within `timeout`, or `None`.
    async fn next(&mut self, timeout: Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut event, mut id, mut data) = (String::new(), String::new(), String::new());
                for line in block.lines() {
                    if line.starts_with(':') {
                        self.comments += 1;
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().into();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().into();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data += v.trim_start();
                    }
                }
                if !event.is_empty() {
                    return Some(Sse {
                        event,
                        id,
                        data: serde_json::from_str(&data).expect("event data is JSON"),
                    });
                }
            }
            match tokio::time::timeout_at(deadline, self.resp.chunk()).await {
                Ok(Ok(Some(c))) => self.buf.push_str(&String::from_utf8_lossy(&c)),
                Ok(Ok(None)) => return None,
                Ok(Err(e)) => panic!("stream broke: {e}"),
                Err(_) => return None,
            }
        }
    }

    async fn ids(&mut self, n: usize) -> Vec<String> {
        let mut out = Vec::new();
        while out.len() < n {
            let ev = self
                .next(Duration::from_secs(10))
                .await
                .unwrap_or_else(|| panic!("only {} of {n} events arrived: {out:?}", out.len()));
            out.push(ev.data["message_id"].as_str().unwrap().to_string());
        }
        out
    }
}

async fn live_feed(b: Backend) {
    let s = TestServer::start(b).await;
    let p = s.a.project_id.clone();
    let before = alarm("task1", 196609);
    seed(&s, &p, &before, Some("src-a")).await;

    let mut all = Stream::open(&s, "", None).await.unwrap();
    let mut only_task2 = Stream::open(&s, "?task_id=task2&event_type=196609", None)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let a1 = alarm("task1", 196609);
    seed(&s, &p, &a1, Some("src-a")).await;
    // Later alarms get later created_at values, so the "late" row below is really older.
    tokio::time::sleep(Duration::from_millis(20)).await;
    seed(&s, &s.b.project_id.clone(), &alarm("task1", 196609), None).await;
    let a2 = alarm("task2", 196609);
    seed(&s, &p, &a2, Some("src-b")).await;
    let a3 = alarm("task2", 131073);
    seed(&s, &p, &a3, None).await;

    // No backlog, other projects invisible, in the order stored.
    let ev = all.next(Duration::from_secs(10)).await.expect("the first alarm");
    assert_eq!(ev.event, "alarm");
    assert_eq!(
        ev.data["message_id"],
        a1.message_id.as_str(),
        "no backlog before the stream"
    );
    let created = ev.data["created_at"].as_i64().expect("created_at (ms)");
    assert_eq!(ev.id, format!("{created}-{}", a1.message_id));
    assert_eq!(ev.data["task_id"], "task1");
    assert_eq!(ev.data["data"], a1.data);
    assert!(ev.data.get("image_base64").is_none());
    assert!(ev.data["image_url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/v2/{p}/vigil/alarms/{}/image", a1.message_id)));
    // The same item as the list route, plus created_at.
    let (_, listed) = s.get("/v2/{p}/vigil/alarms?task_id=task1").await;
    let mut item = listed["alarms"][0].clone();
    item["created_at"] = json!(created);
    assert_eq!(ev.data, item);
    let first_id = ev.id.clone();
    assert_eq!(all.ids(2).await, vec![a2.message_id.clone(), a3.message_id.clone()]);
    assert_eq!(only_task2.ids(1).await, vec![a2.message_id.clone()], "filters apply");
    assert!(
        only_task2.next(Duration::from_millis(1500)).await.is_none(),
        "a3 is another event type"
    );

    // A row committed after a newer one (its created_at is older) is still delivered, once.
    let late = alarm("task1", 196609);
    sqlx::query(
        "INSERT INTO alarms (message_id, project_id, task_id, stream_id, video_source_id, event_type, alarm_time, \
         created_at, envelope, image_base64) VALUES ($1, $2, 'task1', 'cam', NULL, 196609, 1700000000, $3, $4, NULL)",
    )
    .bind(&late.message_id)
    .bind(&p)
    .bind(created + 1)
    .bind(late.without_image().to_json())
    .execute(s.store.pool())
    .await
    .unwrap();
    assert_eq!(all.ids(1).await, vec![late.message_id.clone()]);
    assert!(all.next(Duration::from_millis(1500)).await.is_none(), "nothing twice");

    // Resuming after the first event: Last-Event-ID wins over since.
    let mut resumed = Stream::open(&s, "?since=0", Some(&first_id)).await.unwrap();
    let mut got = resumed.ids(3).await;
    got.sort();
    let mut want = vec![a2.message_id.clone(), a3.message_id.clone(), late.message_id.clone()];
    want.sort();
    assert_eq!(got, want);
    // `since` (ms): everything stored after it, oldest first, including the pre-stream alarm.
    let mut since = Stream::open(&s, "?since=0&task_id=task1", None).await.unwrap();
    let got = since.ids(3).await;
    assert_eq!(got[0], before.message_id);
    assert!(
        got.contains(&a1.message_id) && got.contains(&late.message_id),
        "{got:?}"
    );

    for (q, param) in [
        ("?since=-1", "since"),
        ("?since=abc", "since"),
        ("?task_id=a%2Fb", "task_id"),
        ("?video_source_id=%27%20OR%201%3D1", "video_source_id"),
        ("?event_type=1.5", "event_type"),
    ] {
        let (st, v) = Stream::open(&s, q, None).await.err().expect(q);
        assert_vias(
            &(reqwest::StatusCode::from_u16(st).unwrap(), v),
            400,
            "VIAS.00010001",
            Some(param),
        );
    }
    for bad in ["yesterday", "12-not/hex", "-1-ABC"] {
        let (st, v) = Stream::open(&s, "", Some(bad)).await.err().expect(bad);
        assert_vias(
            &(reqwest::StatusCode::from_u16(st).unwrap(), v),
            400,
            "VIAS.00010001",
            Some("Last-Event-ID"),
        );
    }
    let resp = s
        .http
        .get(format!("{}/v2/{p}/vigil/alarms/stream", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "authentication required");
    drop((all, only_task2, resumed, since));
    s.finish().await;
}

/// At most 16 open streams per project; a closed one frees its slot, and other projects are
/// not affected.
async fn stream_limit(b: Backend) {
    let s = TestServer::start(b).await;
    let p = s.a.project_id.clone();
    let max = vigil_api::alarm_stream::MAX_STREAMS_PER_PROJECT;
    let mut open = Vec::new();
    for _ in 0..max {
        open.push(Stream::open(&s, "", None).await.unwrap());
    }
    assert_eq!(vigil_api::alarm_stream::open_streams(&p), max);
    let (st, v) = Stream::open(&s, "", None).await.err().expect("one too many");
    assert_vias(&(reqwest::StatusCode::from_u16(st).unwrap(), v), 429, "APIG.0308", None);

    let other = s
        .http
        .get(format!("{}/v2/{}/vigil/alarms/stream", s.base, s.b.project_id))
        .header("X-Auth-Token", &s.b.token)
        .timeout(Duration::from_secs(3600))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200, "another project has its own limit");

    // The client goes away: the server notices and frees the slot.
    drop(open.pop());
    let deadline = Instant::now() + Duration::from_secs(20);
    while vigil_api::alarm_stream::open_streams(&p) == max {
        assert!(Instant::now() < deadline, "a closed stream still holds its slot");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut again = Stream::open(&s, "", None).await.expect("a slot is free again");
    let a = alarm("task1", 196609);
    seed(&s, &p, &a, None).await;
    assert_eq!(again.ids(1).await, vec![a.message_id.clone()]);
    drop((open, again, other));
    s.finish().await;
}

async fn snapshot(b: Backend) {
    let s = TestServer::start(b).await;
    let (st, v) = s.post("/v2/{p}/source", url_source("gate")).await;
    assert_eq!(st, 200, "{v}");
    let id = v["video_source_id"].as_str().unwrap().to_string();
    let path = format!("/v2/{{p}}/vigil/sources/{id}/snapshot");

    let r = s.get(&path).await;
    assert_eq!(r.0, 404, "no snapshot yet: {}", r.1);
    assert_eq!(r.1["error_code"], "VIAS.00010002");
    assert_eq!(r.1["params"], json!(["video_source_id"]));

    s.store
        .set_source_health(
            &id,
            SourceHealth {
                status: 1,
                stream_path: None,
                image: Some(encode_image(JPEG)),
                quality: vec![],
                scene_recommend: None,
            },
        )
        .await
        .unwrap();
    let resp = s
        .http
        .get(format!("{}/v2/{}/vigil/sources/{id}/snapshot", s.base, s.a.project_id))
        .header("X-Auth-Token", &s.a.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    assert_eq!(resp.headers()["cache-control"], "no-cache");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), JPEG);

    let (st, v) = s.call_as(&s.b, reqwest::Method::GET, &path, None).await;
    assert_eq!(
        (st.as_u16(), &v["error_code"]),
        (404, &json!("VIAS.00010002")),
        "another project's source"
    );
    let (st, v) = s.get("/v2/{p}/vigil/sources/nosuchsource/snapshot").await;
    assert_eq!((st.as_u16(), &v["error_code"]), (404, &json!("VIAS.00010002")), "{v}");
    assert_vias(
        &s.get("/v2/{p}/vigil/sources/BAD%20ID!/snapshot").await,
        400,
        "VIAS.00010001",
        Some("video_source_id"),
    );
    let resp = s
        .http
        .get(format!("{}/v2/{}/vigil/sources/{id}/snapshot", s.base, s.a.project_id))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "authentication required");

    let doc = s.openapi().await;
    let paths = &doc["paths"];
    assert_eq!(
        paths["/v2/{project_id}/vigil/alarms/stream"]["get"]["operationId"],
        "StreamAlarms"
    );
    assert!(
        paths["/v2/{project_id}/vigil/sources/{video_source_id}/snapshot"]["get"]["responses"]["200"]["content"]
            .get("image/jpeg")
            .is_some()
    );
    s.finish().await;
}

both_backends!(live_feed, stream_limit, snapshot);
