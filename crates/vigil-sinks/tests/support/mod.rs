//! Shared pieces of the sink tests: alarms, a real HTTP receiver on a loopback port whose
//! behaviour can be switched, waiting helpers and dispatchers with short test timings.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::json;
use vigil_core::alarm::{Alarm, AlarmOutputs, DisOutput, WebhookOutput};
use vigil_sinks::{Backoff, Dispatcher, DispatcherConfig, Sinks, SinksConfig};
use vigil_store::Store;

pub const JPEG: &[u8] = &[0xff, 0xd8, 0xff, 0xe0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 0xff, 0xd9];

pub fn alarm(task_id: &str, timestamp: u64, with_image: bool) -> Alarm {
    Alarm {
        event_type: 196609,
        task_id: task_id.into(),
        stream_id: "cam-1".into(),
        timestamp,
        message_id: Alarm::new_message_id(),
        image_base64: with_image.then(|| vigil_core::alarm::encode_image(JPEG)),
        alarm_type: None,
        data: json!({"event_set": [{"bounding_box": {"x": 1, "y": 2, "w": 3, "h": 4}, "category": 0,
            "detection_id": Alarm::new_message_id(), "start_position": "in", "end_position": "in"}]}),
        extra: Default::default(),
    }
}

pub fn webhook_outputs(url: &str, event_center: bool) -> AlarmOutputs {
    AlarmOutputs {
        webhook: Some(WebhookOutput {
            url: url.into(),
            headers: BTreeMap::from([("X-Receiver-Token".to_string(), "s3cret".to_string())]),
        }),
        event_center,
        ..Default::default()
    }
}

/// Short timings so that retries happen within a test's patience.
pub fn test_config(worker: &str) -> DispatcherConfig {
    DispatcherConfig {
        worker_id: worker.into(),
        batch: 16,
        concurrency: 8,
        per_project: 4,
        lease: Duration::from_secs(30),
        poll_interval: Duration::from_millis(20),
        backoff: Backoff {
            base: Duration::from_millis(40),
            cap: Duration::from_millis(300),
            jitter: 0.5,
        },
        stats_interval: Duration::from_millis(200),
    }
}

pub fn test_sinks(dir: &std::path::Path, webhook_timeout: Duration) -> Sinks {
    let mut c = SinksConfig::with_data_dir(dir);
    c.webhook_timeout = webhook_timeout;
    Sinks::from_config(&c).expect("sinks")
}

pub fn dispatcher(store: &Store, sinks: Sinks, worker: &str) -> Dispatcher {
    Dispatcher::new(store.clone(), sinks, test_config(worker))
}

/// Polls `cond` every 20 ms for at most `limit`.
pub async fn wait_for<F, Fut>(what: &str, limit: Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !cond().await {
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn pending(store: &Store) -> i64 {
    store.outbox_stats(vigil_store::now_ms()).await.unwrap().pending
}

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    Ok = 0,
    Unavailable = 1,
    /// Answers 200 only after 2 s (longer than the test webhook timeout).
    Slow = 2,
    BadRequest = 3,
    /// Answers like `Ok`, 25 ms late: a burst takes long enough for several dispatchers to share it.
    Paced = 4,
}

/// One POST the receiver accepted with 2xx.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub alarm: Alarm,
}

#[derive(Default)]
struct ReceiverState {
    mode: AtomicU8,
    accepted: Mutex<Vec<Received>>,
    refused: Mutex<usize>,
}

/// A real webhook receiver (axum) on a loopback port.
pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<ReceiverState>,
    server: tokio::task::JoinHandle<()>,
}

async fn hook(State(st): State<Arc<ReceiverState>>, headers: HeaderMap, body: String) -> StatusCode {
    let mode = st.mode.load(Ordering::SeqCst);
    if mode == Mode::Slow as u8 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        *st.refused.lock().unwrap() += 1;
        return StatusCode::OK;
    }
    if mode == Mode::Paced as u8 {
        tokio::time::sleep(Duration::from_millis(25)).await;
    } else if mode != Mode::Ok as u8 {
        *st.refused.lock().unwrap() += 1;
        return if mode == Mode::BadRequest as u8 {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
    }
    match serde_json::from_str::<Alarm>(&body) {
        Ok(alarm) => {
            st.accepted.lock().unwrap().push(Received { headers, alarm });
            StatusCode::NO_CONTENT
        }
        Err(_) => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// A loopback port with nothing listening on it (for now).
pub async fn free_port() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

impl Receiver {
    pub async fn start(mode: Mode) -> Self {
        Self::start_on(free_port().await, mode).await
    }

    /// Listens on `addr` (retrying briefly in case the port is still being released).
    pub async fn start_on(addr: SocketAddr, mode: Mode) -> Self {
        let mut tries = 0;
        let listener = loop {
            match tokio::net::TcpListener::bind(addr).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("cannot listen on {addr}: {e}"),
            }
        };
        let state = Arc::new(ReceiverState::default());
        state.mode.store(mode as u8, Ordering::SeqCst);
        let app = Router::new().route("/hook", post(hook)).with_state(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, state, server }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.mode.store(mode as u8, Ordering::SeqCst);
    }

    pub fn accepted(&self) -> Vec<Received> {
        self.state.accepted.lock().unwrap().clone()
    }

    pub fn refused(&self) -> usize {
        *self.state.refused.lock().unwrap()
    }

    pub fn stop(self) {
        self.server.abort();
    }
}

/// Five alarms of `task` for the `dis` stream `alarms-1` (and the event center), the last with a
/// 300 KiB picture (over some clients' default packet limits), delivered through `sinks` until
/// the outbox is empty. Returns the dispatcher (for its counters) and the alarms.
pub async fn deliver_five_dis(store: &Store, project_id: &str, sinks: Sinks, task: &str) -> (Dispatcher, Vec<Alarm>) {
    let d = dispatcher(store, sinks, "w1");
    let outputs = AlarmOutputs {
        dis: Some(DisOutput {
            stream_name: "alarms-1".into(),
        }),
        event_center: true,
        ..Default::default()
    };
    let mut sent = Vec::new();
    for i in 0..5u64 {
        let mut a = alarm(task, 1_700_000_000 + i, true);
        if i == 4 {
            a.image_base64 = Some(vigil_core::alarm::encode_image(&vec![7u8; 300 * 1024]));
        }
        store.enqueue_alarm(&a, project_id, None, &outputs).await.unwrap();
        sent.push(a);
    }
    wait_for("the outbox to drain", Duration::from_secs(30), || async {
        d.run_once().await.unwrap();
        pending(store).await == 0
    })
    .await;
    (d, sent)
}

/// A `dis` delivery of one picture-less alarm of `task` to `stream`.
pub fn dis_payload(stream: &str, task: &str) -> vigil_sinks::AlarmPayload {
    let a = alarm(task, 1_700_000_000, false);
    vigil_sinks::AlarmPayload {
        kind: vigil_core::alarm::SinkKind::Dis,
        project_id: "p".into(),
        json: a.to_json(),
        alarm: a,
        config: json!({"stream_name": stream}),
    }
}
