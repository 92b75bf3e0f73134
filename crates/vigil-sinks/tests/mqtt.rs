//! `dis` outputs published to the real MQTT broker (Mosquitto on 127.0.0.1:1883, or
//! `VIGIL_TEST_MQTT_URL`), received by a rumqttc subscriber in the test: topics per project
//! (`vigil/{project_id}/{stream_name}`), stream names that try to leave the project's prefix
//! refused, and `mqtts://` to a Mosquitto with a self-signed certificate started by the test.

#[path = "../../vigil-api/tests/common/mod.rs"]
mod common;
mod support;

use std::time::Duration;

use common::{Backend, TestServer};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use support::*;
use vigil_core::alarm::{Alarm, SinkKind};
use vigil_sinks::dis_topic::DEFAULT_MQTT_PATTERN;
use vigil_sinks::mqtt::{parse_broker_url, MqttConfig, MqttSink};
use vigil_sinks::{Sink, SinkError, Sinks};

fn broker_url() -> String {
    std::env::var("VIGIL_TEST_MQTT_URL").unwrap_or_else(|_| "mqtt://127.0.0.1:1883".into())
}

fn config(url: &str, prefix: &str) -> MqttConfig {
    MqttConfig {
        url: url.into(),
        topic_prefix: prefix.into(),
        topic_pattern: DEFAULT_MQTT_PATTERN.into(),
        ca_file: None,
        ack_timeout: Duration::from_secs(5),
    }
}

/// Subscribes to `topic` and forwards every received (topic, payload).
async fn subscribe(topic: &str) -> tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)> {
    subscribe_at(&broker_url(), topic).await
}

async fn subscribe_at(url: &str, topic: &str) -> tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)> {
    let b = parse_broker_url(url).unwrap();
    let mut opts = MqttOptions::new(format!("test-{}", uuid::Uuid::new_v4().simple()), b.host, b.port);
    opts.set_max_packet_size(16 << 20, 16 << 20);
    let (client, mut events) = AsyncClient::new(opts, 16);
    client.subscribe(topic, QoS::AtLeastOnce).await.unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (ready_tx, ready) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let _keep = client;
        let mut ready_tx = Some(ready_tx);
        while let Ok(ev) = events.poll().await {
            match ev {
                Event::Incoming(Packet::SubAck(_)) => {
                    if let Some(r) = ready_tx.take() {
                        let _ = r.send(());
                    }
                }
                Event::Incoming(Packet::Publish(p)) => {
                    let _ = tx.send((p.topic.clone(), p.payload.to_vec()));
                }
                _ => {}
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(10), ready)
        .await
        .expect("SUBACK from the broker")
        .unwrap();
    rx
}

async fn alarms_reach_the_topic(b: Backend) {
    let s = TestServer::start(b).await;
    let prefix = format!("vigil-test/{}/", uuid::Uuid::new_v4().simple());
    let mut rx = subscribe(&format!("{prefix}vigil/{}/alarms-1", s.a.project_id)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut sinks = test_sinks(dir.path(), Duration::from_secs(2));
    sinks.insert(
        SinkKind::Dis,
        std::sync::Arc::new(MqttSink::new(config(&broker_url(), &prefix)).unwrap()),
    );
    let (d, sent) = deliver_five_dis(&s.store, &s.a.project_id, sinks, "task-mqtt").await;
    let mut got = Vec::new();
    while got.len() < sent.len() {
        let (_, raw) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("a published alarm")
            .unwrap();
        got.push(serde_json::from_slice::<Alarm>(&raw).unwrap());
    }
    for a in &sent {
        assert!(got.contains(a), "{} received as sent", a.message_id);
    }
    assert_eq!(d.counters().snapshot().delivered, 5);
    s.finish().await;
}

#[tokio::test]
async fn broker_down_is_retryable_and_bad_streams_are_refused() {
    let addr = free_port().await;
    let down = MqttSink::new(config(&format!("mqtt://{addr}"), "")).unwrap();
    let err = down.deliver(&dis_payload("s", "t")).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");

    let up = MqttSink::new(config(&broker_url(), "vigil-test/")).unwrap();
    assert!(matches!(
        up.deliver(&dis_payload("a/#", "t")).await,
        Err(SinkError::Permanent(_))
    ));
    up.deliver(&dis_payload("ok", "t")).await.unwrap();
    up.deliver(&dis_payload("ok", "t")).await.unwrap();

    let none = Sinks::default();
    assert!(matches!(
        none.deliver(&dis_payload("s", "t")).await,
        Err(SinkError::Permanent(_))
    ));
}

both_backends!(alarms_reach_the_topic);

/// A `dis` delivery of `project`'s alarm to `stream`.
fn dis_of(project: &str, stream: &str) -> vigil_sinks::AlarmPayload {
    let mut p = dis_payload(stream, "t");
    p.project_id = project.into();
    p
}

/// Stream names that would leave the project's topic prefix (levels, wildcards, `..`, `$`) are
/// refused by the sink; nothing is published anywhere but under `vigil/<project>/`.
#[tokio::test]
async fn escaping_stream_names_are_refused() {
    let prefix = format!("vigil-test/{}/", uuid::Uuid::new_v4().simple());
    let mut everything = subscribe(&format!("{prefix}#")).await;
    let sink = MqttSink::new(config(&broker_url(), &prefix)).unwrap();
    for bad in ["../p2/alarms", "a/b", "#", "+", "a/+/b", "$SYS", "x/../../p2", ".."] {
        assert!(
            matches!(sink.deliver(&dis_of("p1", bad)).await, Err(SinkError::Permanent(_))),
            "{bad}"
        );
    }
    assert!(
        matches!(
            sink.deliver(&dis_of("../p2", "alarms")).await,
            Err(SinkError::Permanent(_))
        ),
        "a project id outside the rule"
    );
    sink.deliver(&dis_of("p1", "alarms")).await.unwrap();
    let (topic, _) = tokio::time::timeout(Duration::from_secs(10), everything.recv())
        .await
        .expect("the good alarm")
        .unwrap();
    assert_eq!(topic, format!("{prefix}vigil/p1/alarms"));
    assert!(
        tokio::time::timeout(Duration::from_millis(300), everything.recv())
            .await
            .is_err(),
        "nothing else was published"
    );
}

/// Mosquitto with a TLS listener (a certificate for 127.0.0.1 from a test CA made with `openssl`)
/// and a plain one for the test's subscriber, on free loopback ports; killed on drop.
struct TlsBroker {
    tls_port: u16,
    plain_port: u16,
    child: std::process::Child,
    dir: tempfile::TempDir,
}

impl TlsBroker {
    fn start(tls_port: u16, plain_port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        // A test CA and a server certificate for 127.0.0.1 signed by it (rustls, rightly, does
        // not accept a CA certificate as the server's own).
        let openssl = |args: &[&str]| {
            let ok = std::process::Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .stderr(std::process::Stdio::null())
                .status()
                .expect("running openssl (scripts/setup.sh installs it)")
                .success();
            assert!(ok, "openssl {args:?} failed");
        };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        openssl(
            &[
                &["req", "-x509"][..],
                &ec,
                &[
                    "-days",
                    "2",
                    "-subj",
                    "/CN=vigil-test-ca",
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                ],
            ]
            .concat(),
        );
        openssl(
            &[
                &["req"][..],
                &ec,
                &["-subj", "/CN=127.0.0.1", "-keyout", "key.pem", "-out", "leaf.csr"],
            ]
            .concat(),
        );
        std::fs::write(
            dir.path().join("leaf.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "leaf.ext",
            "-out",
            "cert.pem",
        ]);
        let conf = dir.path().join("mosquitto.conf");
        // `user root` keeps a root test run from switching to a user that cannot read the key.
        let user = if is_root() { "user root\n" } else { "" };
        std::fs::write(
            &conf,
            format!(
                "{user}allow_anonymous true\nlistener {tls_port} 127.0.0.1\ncertfile {}\nkeyfile {}\n\
                 listener {plain_port} 127.0.0.1\n",
                cert.display(),
                key.display()
            ),
        )
        .unwrap();
        let child = std::process::Command::new("mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("mosquitto (scripts/setup.sh installs it)");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        for port in [tls_port, plain_port] {
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "mosquitto did not listen on {port}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        TlsBroker {
            tls_port,
            plain_port,
            child,
            dir,
        }
    }

    fn ca(&self) -> std::path::PathBuf {
        self.dir.path().join("ca.pem")
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Drop for TlsBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `mqtts://`: delivered when the broker's certificate verifies against `ca_file`; refused (and
/// retried) against the system roots, which do not know the test CA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtts_verifies_the_broker() {
    let (tls_port, plain_port) = (free_port().await.port(), free_port().await.port());
    let broker = TlsBroker::start(tls_port, plain_port);
    let mut rx = subscribe_at(&format!("mqtt://127.0.0.1:{}", broker.plain_port), "vigil/#").await;
    let url = format!("mqtts://127.0.0.1:{}", broker.tls_port);

    let mut verified = config(&url, "");
    verified.ca_file = Some(broker.ca());
    let sink = MqttSink::new(verified).unwrap();
    sink.deliver(&dis_of("p1", "alarms")).await.unwrap();
    let (topic, raw) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the alarm, over TLS")
        .unwrap();
    assert_eq!(topic, "vigil/p1/alarms");
    assert!(serde_json::from_slice::<Alarm>(&raw).is_ok());

    match MqttSink::new(config(&url, "")) {
        // No system roots on this machine: refused at configuration.
        Err(e) => assert!(e.to_string().contains("CA"), "{e}"),
        Ok(untrusted) => {
            let err = untrusted.deliver(&dis_of("p1", "alarms")).await.unwrap_err();
            assert!(err.is_retryable(), "{err}");
        }
    }
    let mut wrong_ca = config(&url, "");
    wrong_ca.ca_file = Some(broker.dir.path().join("missing.pem"));
    assert!(matches!(MqttSink::new(wrong_ca), Err(SinkError::Permanent(_))));
}
