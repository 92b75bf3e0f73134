//! Webhooks under the egress policy (issue 8, finding 5), against real loopback receivers, the
//! real outbox and dispatcher on SQLite and PostgreSQL, and tasks created through the API:
//! redirects to the metadata address are not followed (default) or refused by the policy
//! (`--webhook-max-redirects 3`), metadata URLs are refused before any connection, names that
//! resolve to denied addresses are refused, forbidden headers never leave the server, and the
//! outbox keeps only the generic error. 169.254.169.254 is never dialled: every refusal here is
//! the policy's, decided before a connection (a dial would hang for the connect timeout).

#[path = "../../vigil-api/tests/common/mod.rs"]
mod common;
mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{header::LOCATION, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use common::{url_source, Backend, TestServer};
use serde_json::{json, Value};
use support::*;
use vigil_core::alarm::SinkKind;
use vigil_core::egress::{EgressPolicy, GENERIC_CONNECT_ERROR};
use vigil_sinks::webhook::WebhookSink;
use vigil_sinks::{AlarmPayload, Sink, SinkError, Sinks, SinksConfig};

const METADATA: &str = "http://169.254.169.254/latest/meta-data/";

/// A receiver that answers every POST with `302 Location: target` and counts the requests.
struct Redirector {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    server: tokio::task::JoinHandle<()>,
}

impl Redirector {
    async fn start(target: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let (h, target) = (hits.clone(), target.to_string());
        let app = Router::new().route(
            "/hook",
            post(move || {
                let (h, target) = (h.clone(), target.clone());
                async move {
                    h.fetch_add(1, Ordering::SeqCst);
                    (StatusCode::FOUND, [(LOCATION, target)]).into_response()
                }
            }),
        );
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, hits, server }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for Redirector {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn payload(url: &str, headers: Value) -> AlarmPayload {
    let a = alarm("task-egress", 1_700_000_000, false);
    AlarmPayload {
        kind: SinkKind::Webhook,
        project_id: "p".into(),
        json: a.to_json(),
        alarm: a,
        config: json!({"url": url, "headers": headers}),
    }
}

fn sink(policy: EgressPolicy, max_redirects: usize) -> WebhookSink {
    WebhookSink::new(Duration::from_secs(5), Arc::new(policy), max_redirects).unwrap()
}

fn sinks(dir: &std::path::Path, max_redirects: usize) -> Sinks {
    let mut c = SinksConfig::with_data_dir(dir);
    c.webhook_timeout = Duration::from_secs(5);
    c.webhook_max_redirects = max_redirects;
    Sinks::from_config(&c).unwrap()
}

/// Creates an intrusion task whose webhook is `url` through the API and returns its id and the
/// output exactly as the worker parses it.
async fn webhook_task(s: &TestServer, url: &str) -> (String, vigil_core::alarm::AlarmOutputs) {
    let (st, v) = s.post("/v2/{p}/source", url_source("gate cam")).await;
    assert_eq!(st, 200, "{v}");
    let source = v["video_source_id"].as_str().unwrap().to_string();
    let output = json!({"webhook": {"url": url, "headers": {"X-Receiver-Token": "s3cret"}}, "event_center": false});
    let body = json!({
        "name": "egress_watch", "service_version": "3.0",
        "input": {"type": "video_source", "data": [{"video_source_id": source}]},
        "output": output,
        "config": {"common": {"person_detection_sw": 1,
            "target_roi": "{\"polygons\":[{\"data\":[[0,0],[0,576],[768,576],[768,0]],\"name\":\"all\"}]}"}}
    });
    let (st, v) = s.post("/v2/{p}/services/c-intrusiondetection-cloud/tasks", body).await;
    assert_eq!(st, 200, "{v}");
    let id = v["tasks"][0]["id"].as_str().unwrap().to_string();
    (id, vigil_core::task_io::parse_output(&output).unwrap().0)
}

/// The 302-to-metadata receiver behind a task created through the API: not followed by
/// default, refused by the policy with redirects on; the outbox keeps the generic error only.
async fn redirect_to_metadata(b: Backend) {
    let s = TestServer::start(b).await;
    let rx = Redirector::start(METADATA).await;
    let (task, outputs) = webhook_task(&s, &rx.url()).await;
    let dir = tempfile::tempdir().unwrap();
    let a = alarm(&task, 1_700_000_000, true);
    s.store
        .enqueue_alarm(&a, &s.a.project_id, None, &outputs)
        .await
        .unwrap();

    // Default: redirects off; the 302 is the receiver's answer and is not followed.
    let d = dispatcher(&s.store, sinks(dir.path(), 0), "w1");
    assert_eq!(d.run_once().await.unwrap(), 1);
    let rows = s.store.outbox_rows_of(&a.message_id).await.unwrap();
    assert_eq!((rows[0].1, rows[0].2.as_deref()), (1, Some(GENERIC_CONNECT_ERROR)));
    assert_eq!(rx.hits(), 1);

    // Redirects on: the policy refuses the metadata hop before connecting. (The refused row
    // waits the test backoff's cap, 300 ms.)
    tokio::time::sleep(Duration::from_millis(350)).await;
    let d3 = dispatcher(&s.store, sinks(dir.path(), 3), "w2");
    let started = Instant::now();
    assert_eq!(d3.run_once().await.unwrap(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "no connect attempt to wait for"
    );
    let rows = s.store.outbox_rows_of(&a.message_id).await.unwrap();
    assert_eq!((rows[0].1, rows[0].2.as_deref()), (2, Some(GENERIC_CONNECT_ERROR)));
    assert_eq!(rx.hits(), 2);

    // The same two cases on the sink itself, to see whose refusal it is.
    let p = payload(&rx.url(), json!({}));
    assert_eq!(
        sink(EgressPolicy::default(), 0).deliver(&p).await,
        Err(SinkError::Permanent(GENERIC_CONNECT_ERROR.into())),
        "302 not followed"
    );
    assert_eq!(
        sink(EgressPolicy::default(), 3).deliver(&p).await,
        Err(SinkError::Denied(GENERIC_CONNECT_ERROR.into())),
        "the redirect hop refused by the egress policy"
    );
    s.finish().await;
}

both_backends!(redirect_to_metadata);

/// A receiver answering 204 to any method, counting requests.
async fn counting_target() -> (SocketAddr, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let app = Router::new().route(
        "/final",
        axum::routing::any(move || {
            let h = h.clone();
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                StatusCode::NO_CONTENT
            }
        }),
    );
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, hits, server)
}

/// Control: a redirect to an allowed receiver is followed only when redirects are on, and a hop
/// to a denied name is refused, so the refusals above are the policy's and not a redirect
/// machinery that never runs.
#[tokio::test]
async fn allowed_redirects_follow_the_setting() {
    let (addr, hits, server) = counting_target().await;
    let rx = Redirector::start(&format!("http://{addr}/final")).await;
    let p = payload(&rx.url(), json!({}));
    assert_eq!(
        sink(EgressPolicy::default(), 0).deliver(&p).await,
        Err(SinkError::Permanent(GENERIC_CONNECT_ERROR.into()))
    );
    assert_eq!(
        (rx.hits(), hits.load(Ordering::SeqCst)),
        (1, 0),
        "not followed by default"
    );
    sink(EgressPolicy::default(), 3).deliver(&p).await.unwrap();
    assert_eq!(
        (rx.hits(), hits.load(Ordering::SeqCst)),
        (2, 1),
        "followed with redirects on"
    );

    // The hop to a denied name is refused by the resolver, the first URL (a literal) is fine.
    let by_name = Redirector::start(&format!("http://localhost:{}/final", addr.port())).await;
    let deny_name = EgressPolicy::from_lists("", "localhost").unwrap();
    assert_eq!(
        sink(deny_name, 3).deliver(&payload(&by_name.url(), json!({}))).await,
        Err(SinkError::Denied(GENERIC_CONNECT_ERROR.into()))
    );
    assert_eq!(
        (by_name.hits(), hits.load(Ordering::SeqCst)),
        (1, 1),
        "the denied hop was not made"
    );
    server.abort();
}

/// Metadata addresses in the URL itself, literal or IPv4-mapped, and names resolving to denied
/// addresses: refused at once, with the generic error in the outbox.
async fn denied_urls(b: Backend) {
    let s = TestServer::start(b).await;
    let dir = tempfile::tempdir().unwrap();
    for url in [
        METADATA.to_string(),
        "http://[::ffff:169.254.169.254]/latest/meta-data/".to_string(),
        "http://[fd00:ec2::254]/latest/meta-data/".to_string(),
    ] {
        let started = Instant::now();
        assert_eq!(
            sink(EgressPolicy::default(), 0)
                .deliver(&payload(&url, json!({})))
                .await,
            Err(SinkError::Denied(GENERIC_CONNECT_ERROR.into())),
            "{url}"
        );
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{url}: refused before connecting"
        );
    }
    let a = alarm("task-meta", 1_700_000_000, false);
    s.store
        .enqueue_alarm(&a, &s.a.project_id, None, &webhook_outputs(METADATA, false))
        .await
        .unwrap();
    let d = dispatcher(&s.store, sinks(dir.path(), 3), "w1");
    assert_eq!(d.run_once().await.unwrap(), 1);
    let rows = s.store.outbox_rows_of(&a.message_id).await.unwrap();
    assert_eq!(rows[0].2.as_deref(), Some(GENERIC_CONNECT_ERROR));

    // A name: checked on every address it resolves to.
    let rx = Receiver::start(Mode::Ok).await;
    let by_name = format!("http://localhost:{}/hook", rx.addr.port());
    let deny_loopback = EgressPolicy::from_lists("", "127.0.0.0/8,::1").unwrap();
    assert_eq!(
        sink(deny_loopback, 0).deliver(&payload(&by_name, json!({}))).await,
        Err(SinkError::Denied(GENERIC_CONNECT_ERROR.into()))
    );
    assert!(rx.accepted().is_empty(), "nothing reached the denied receiver");
    sink(EgressPolicy::default(), 0)
        .deliver(&payload(&by_name, json!({})))
        .await
        .expect("allowed by default");
    assert_eq!(rx.accepted().len(), 1);
    rx.stop();
    s.finish().await;
}

both_backends!(denied_urls);

/// Headers a task may not set (an outbox row from before the API rule, or forged) are dropped;
/// the others arrive.
#[tokio::test]
async fn forbidden_headers_never_leave() {
    let rx = Receiver::start(Mode::Ok).await;
    let p = payload(
        &rx.url(),
        json!({"Host": "metadata.google.internal", "X-Forwarded-For": "10.0.0.1", "Transfer-Encoding": "chunked",
               "Connection": "close", "Proxy-Authorization": "Basic eA==", "X-Real-IP": "10.0.0.2",
               "Content-Length": "1", "X-Receiver-Token": "s3cret"}),
    );
    sink(EgressPolicy::default(), 0).deliver(&p).await.unwrap();
    let got = rx.accepted();
    assert_eq!(got.len(), 1);
    let h = &got[0].headers;
    assert_eq!(h["host"], rx.addr.to_string().as_str());
    assert_eq!(h["x-receiver-token"], "s3cret");
    for gone in [
        "x-forwarded-for",
        "transfer-encoding",
        "proxy-authorization",
        "x-real-ip",
    ] {
        assert!(h.get(gone).is_none(), "{gone} was sent: {h:?}");
    }
    assert_eq!(got[0].alarm, p.alarm, "the body arrived intact");
    rx.stop();
}

/// Header values sealed at rest (as the API stores them and the outbox carries them) are opened
/// right before sending; a forbidden name stays dropped whatever its value.
#[tokio::test]
async fn sealed_headers_are_opened() {
    use vigil_core::secret_box::SecretBox;
    let secrets = SecretBox::from_hex(&SecretBox::generate_hex_key()).unwrap();
    let rx = Receiver::start(Mode::Ok).await;
    let p = payload(
        &rx.url(),
        json!({"X-Receiver-Token": secrets.seal_compact("s3cret"),
               "X-Forwarded-For": secrets.seal_compact("10.0.0.1")}),
    );
    sink(EgressPolicy::default(), 0)
        .with_secrets(Some(secrets))
        .deliver(&p)
        .await
        .unwrap();
    let got = rx.accepted();
    assert_eq!(got[0].headers["x-receiver-token"], "s3cret");
    assert!(got[0].headers.get("x-forwarded-for").is_none());
    rx.stop();
}
