//! `dis` outputs published to the real MQTT broker (Mosquitto on 127.0.0.1:1883, or
//! `VIGIL_TEST_MQTT_URL`), received by a rumqttc subscriber in the test.

#[path = "../../vigil-api/tests/common/mod.rs"]
mod common;
mod support;

use std::time::Duration;

use common::{Backend, TestServer};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use support::*;
use vigil_core::alarm::{Alarm, SinkKind};
use vigil_sinks::mqtt::{parse_broker_url, MqttConfig, MqttSink};
use vigil_sinks::{Sink, SinkError, Sinks};

fn broker_url() -> String {
    std::env::var("VIGIL_TEST_MQTT_URL").unwrap_or_else(|_| "mqtt://127.0.0.1:1883".into())
}

fn config(url: &str, prefix: &str) -> MqttConfig {
    MqttConfig {
        url: url.into(),
        topic_prefix: prefix.into(),
        ack_timeout: Duration::from_secs(5),
    }
}

/// Subscribes to `topic` and forwards every received payload.
async fn subscribe(topic: &str) -> tokio::sync::mpsc::UnboundedReceiver<Vec<u8>> {
    let b = parse_broker_url(&broker_url()).unwrap();
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
                    let _ = tx.send(p.payload.to_vec());
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
    let mut rx = subscribe(&format!("{prefix}alarms-1")).await;
    let dir = tempfile::tempdir().unwrap();
    let mut sinks = test_sinks(dir.path(), Duration::from_secs(2));
    sinks.insert(
        SinkKind::Dis,
        std::sync::Arc::new(MqttSink::new(config(&broker_url(), &prefix)).unwrap()),
    );
    let (d, sent) = deliver_five_dis(&s.store, &s.a.project_id, sinks, "task-mqtt").await;
    let mut got = Vec::new();
    while got.len() < sent.len() {
        let raw = tokio::time::timeout(Duration::from_secs(10), rx.recv())
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
