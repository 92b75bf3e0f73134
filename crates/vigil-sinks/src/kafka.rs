//! `output.dis` mapped to Kafka: VIAS pushes each alarm as one record into a DIS stream; Vigil
//! produces the same JSON as one record (key: `message_id`, headers: `event_type`, `task_id`) to
//! the project's topic (`{topic_prefix}` + the topic pattern, by default
//! `vigil.{project_id}.{stream_name}`, see `dis_topic`) on the Kafka-compatible cluster the server
//! names. The produce response (acks from all in-sync replicas) is the acknowledgement.
//!
//! A missing topic is created (one partition), and only when it lies under the alarm's project
//! prefix; an existing one keeps its partitions and a task's
//! alarms always go to the same partition (the outbox delivers concurrently, so consumers order by
//! the alarm `timestamp`, as with every output). Any failure drops the cached connection and the
//! next delivery reconnects; the outbox retries with backoff.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use rskafka::client::partition::{Compression, PartitionClient, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use rskafka::record::Record;
use rskafka::BackoffConfig;
use tokio::sync::Mutex;

use crate::dis_topic::{dis_topic, TopicPattern, TopicSyntax};
use crate::{AlarmPayload, DeliverFuture, Sink, SinkError};

/// Server-side Kafka settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaConfig {
    /// Bootstrap brokers, `host:port` each.
    pub brokers: Vec<String>,
    /// Put before every topic, e.g. `site1.`.
    pub topic_prefix: String,
    /// The per-project topic, e.g. `vigil.{project_id}.{stream_name}` (must name `{project_id}`).
    pub topic_pattern: String,
    /// How long one delivery (connect, metadata, produce) may take.
    pub ack_timeout: Duration,
}

/// Largest record accepted (pictures make alarms large).
const MAX_MESSAGE: usize = 64 * 1024 * 1024;

pub struct KafkaSink {
    config: KafkaConfig,
    topic_names: TopicPattern,
    client: Mutex<Option<Arc<Client>>>,
    /// Partition clients by topic, in partition order.
    topics: Mutex<HashMap<String, Arc<Vec<PartitionClient>>>>,
}

impl KafkaSink {
    pub fn new(config: KafkaConfig) -> Result<Self, SinkError> {
        let bad = |why: String| SinkError::Permanent(format!("Kafka settings: {why}"));
        if config.brokers.is_empty() {
            return Err(bad("no bootstrap broker".into()));
        }
        for b in &config.brokers {
            let ok = b
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if !ok {
                return Err(bad(format!("broker {b:?} is not host:port")));
            }
        }
        let topic_names =
            TopicPattern::new(&config.topic_prefix, &config.topic_pattern, TopicSyntax::Kafka).map_err(bad)?;
        Ok(Self {
            config,
            topic_names,
            client: Mutex::new(None),
            topics: Mutex::new(HashMap::new()),
        })
    }

    async fn client(&self) -> Result<Arc<Client>, rskafka::client::error::Error> {
        let mut guard = self.client.lock().await;
        if let Some(c) = guard.as_ref() {
            return Ok(c.clone());
        }
        let client = ClientBuilder::new(self.config.brokers.clone())
            .client_id("vigil")
            .max_message_size(MAX_MESSAGE)
            .backoff_config(BackoffConfig {
                deadline: Some(self.config.ack_timeout),
                ..Default::default()
            })
            .build()
            .await?;
        let client = Arc::new(client);
        *guard = Some(client.clone());
        Ok(client)
    }

    /// The partitions of `topic`, created when missing and owned by `project_id`.
    async fn partitions(
        &self,
        project_id: &str,
        topic: &str,
    ) -> Result<Arc<Vec<PartitionClient>>, rskafka::client::error::Error> {
        if let Some(p) = self.topics.lock().await.get(topic) {
            return Ok(p.clone());
        }
        let client = self.client().await?;
        let known = client.list_topics().await?.into_iter().find(|t| t.name == topic);
        let numbers: Vec<i32> = match known {
            Some(t) if !t.partitions.is_empty() => t.partitions.into_iter().collect(),
            // Never create a topic outside the alarm's project prefix (the name rules already
            // make that impossible; this keeps it so if they change).
            _ if !self.topic_names.owns(project_id, topic) => {
                tracing::error!(
                    project_id,
                    topic,
                    "refusing to create a Kafka topic outside the project's prefix"
                );
                return Err(rskafka::client::error::Error::InvalidResponse(format!(
                    "topic {topic} is outside the project's prefix"
                )));
            }
            _ => {
                let timeout_ms = i32::try_from(self.config.ack_timeout.as_millis()).unwrap_or(i32::MAX);
                // Another producer may create it at the same moment; producing tells.
                if let Err(e) = client.controller_client()?.create_topic(topic, 1, 1, timeout_ms).await {
                    tracing::debug!(topic, error = %e, "creating the Kafka topic failed; it may exist");
                }
                vec![0]
            }
        };
        let mut parts = Vec::with_capacity(numbers.len());
        for n in numbers {
            parts.push(client.partition_client(topic, n, UnknownTopicHandling::Retry).await?);
        }
        let parts = Arc::new(parts);
        self.topics.lock().await.insert(topic.to_string(), parts.clone());
        Ok(parts)
    }

    async fn produce(&self, p: &AlarmPayload) -> Result<(), SinkError> {
        let topic = dis_topic(p, &self.topic_names)?;
        let exchange = async {
            let parts = self.partitions(&p.project_id, &topic).await?;
            let part = &parts[partition_of(&p.alarm.task_id, parts.len())];
            let record = Record {
                key: Some(p.alarm.message_id.clone().into_bytes()),
                value: Some(p.json.clone().into_bytes()),
                headers: BTreeMap::from([
                    ("event_type".to_string(), p.alarm.event_type.to_string().into_bytes()),
                    ("task_id".to_string(), p.alarm.task_id.clone().into_bytes()),
                ]),
                timestamp: chrono::DateTime::from_timestamp(i64::try_from(p.alarm.timestamp).unwrap_or(0), 0)
                    .unwrap_or_default(),
            };
            part.produce(vec![record], Compression::NoCompression).await.map(|_| ())
        };
        let result = match tokio::time::timeout(self.config.ack_timeout, exchange).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(SinkError::Retryable(format!(
                "Kafka produce to {topic} on {} failed: {e}",
                self.config.brokers.join(",")
            ))),
            Err(_) => Err(SinkError::Retryable(format!(
                "no answer from Kafka ({}) within {:?} for {topic}",
                self.config.brokers.join(","),
                self.config.ack_timeout
            ))),
        };
        if result.is_err() {
            *self.client.lock().await = None;
            self.topics.lock().await.clear();
        }
        result
    }
}

/// A stable partition for a task (FNV-1a): one task's alarms land together.
fn partition_of(task_id: &str, partitions: usize) -> usize {
    let hash = task_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % partitions.max(1) as u64) as usize
}

impl Sink for KafkaSink {
    fn deliver<'a>(&'a self, payload: &'a AlarmPayload) -> DeliverFuture<'a> {
        Box::pin(self.produce(payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(brokers: &[&str], prefix: &str) -> KafkaConfig {
        KafkaConfig {
            brokers: brokers.iter().map(|b| b.to_string()).collect(),
            topic_prefix: prefix.into(),
            topic_pattern: crate::dis_topic::DEFAULT_KAFKA_PATTERN.into(),
            ack_timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn settings_are_checked() {
        assert!(KafkaSink::new(config(&["127.0.0.1:9092", "kafka:19092"], "vigil.alarms-")).is_ok());
        assert!(KafkaSink::new(config(&[], "")).is_err());
        assert!(KafkaSink::new(config(&["kafka"], "")).is_err());
        assert!(KafkaSink::new(config(&["kafka:x"], "")).is_err());
        assert!(KafkaSink::new(config(&["kafka:9092"], "a/b")).is_err());
    }

    #[test]
    fn a_task_keeps_its_partition() {
        assert_eq!(partition_of("task-1", 1), 0);
        let p = partition_of("task-1", 6);
        assert!(p < 6);
        assert_eq!(partition_of("task-1", 6), p);
        let spread: std::collections::HashSet<usize> = (0..50).map(|i| partition_of(&format!("t{i}"), 6)).collect();
        assert!(spread.len() > 3, "{spread:?}");
    }
}
