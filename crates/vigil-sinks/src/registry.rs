//! The sinks this server can deliver to, built once from the server configuration.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use vigil_core::alarm::SinkKind;

use crate::kafka::{KafkaConfig, KafkaSink};
use crate::mqtt::{MqttConfig, MqttSink};
use crate::obs::ObsSink;
use crate::subscriber::SubscriberSink;
use crate::webhook::WebhookSink;
use crate::{AlarmPayload, Sink, SinkError};

/// Where `output.obs` buckets live (the same backend as `obs` inputs).
pub use vigil_core::object_storage::ObsBackend as ObsConfig;

/// Server-side delivery settings (the binary fills these from its configuration).
#[derive(Debug, Clone)]
pub struct SinksConfig {
    /// Whole-request timeout of a webhook POST.
    pub webhook_timeout: Duration,
    /// Redirects a webhook POST follows, each checked by the egress policy (0: none).
    pub webhook_max_redirects: usize,
    pub obs: ObsConfig,
    /// The broker behind `dis` outputs: MQTT or Kafka (not both). With neither, `dis`
    /// deliveries fail permanently with a message naming the missing setting.
    pub mqtt: Option<MqttConfig>,
    pub kafka: Option<KafkaConfig>,
    /// Outbound policy for webhook receivers (tenant-chosen addresses).
    pub egress: std::sync::Arc<vigil_core::egress::EgressPolicy>,
    /// Opens webhook header values sealed at rest (`None`: stored as plain text, tests).
    pub secrets: Option<vigil_core::secret_box::SecretBox>,
}

impl SinksConfig {
    /// Defaults for a data directory: 10 s webhooks without redirects, buckets under
    /// `<data_dir>/obs`, no MQTT, the built-in egress policy.
    pub fn with_data_dir(data_dir: &std::path::Path) -> Self {
        Self {
            webhook_timeout: Duration::from_secs(10),
            webhook_max_redirects: 0,
            obs: ObsConfig::Local {
                root: crate::obs::default_root(data_dir),
            },
            mqtt: None,
            kafka: None,
            egress: Default::default(),
            secrets: None,
        }
    }
}

/// Sinks by kind.
#[derive(Clone, Default)]
pub struct Sinks(HashMap<SinkKind, Arc<dyn Sink>>);

impl Sinks {
    pub fn from_config(c: &SinksConfig) -> Result<Self, SinkError> {
        let mut s = Sinks::default();
        s.insert(
            SinkKind::Webhook,
            Arc::new(
                WebhookSink::new(c.webhook_timeout, c.egress.clone(), c.webhook_max_redirects)?
                    .with_secrets(c.secrets.clone()),
            ),
        );
        s.insert(SinkKind::Obs, Arc::new(ObsSink::new(c.obs.clone())));
        // Subscribers' socket servers are tenant-chosen addresses too: same timeout and policy.
        s.insert(
            SinkKind::Subscriber,
            Arc::new(SubscriberSink::new(c.webhook_timeout, c.egress.clone())),
        );
        match (&c.mqtt, &c.kafka) {
            (Some(_), Some(_)) => {
                return Err(SinkError::Permanent(
                    "dis outputs go to MQTT or to Kafka: configure one broker, not both".into(),
                ))
            }
            (Some(m), None) => s.insert(SinkKind::Dis, Arc::new(MqttSink::new(m.clone())?)),
            (None, Some(k)) => s.insert(SinkKind::Dis, Arc::new(KafkaSink::new(k.clone())?)),
            (None, None) => {}
        }
        Ok(s)
    }

    pub fn insert(&mut self, kind: SinkKind, sink: Arc<dyn Sink>) {
        self.0.insert(kind, sink);
    }

    pub async fn deliver(&self, p: &AlarmPayload) -> Result<(), SinkError> {
        match self.0.get(&p.kind) {
            Some(sink) => sink.deliver(p).await,
            None => {
                let hint = match p.kind {
                    SinkKind::Dis => " (start it with --mqtt-url or --kafka-brokers)",
                    _ => "",
                };
                Err(SinkError::Permanent(format!(
                    "no {} sink is configured on this server{hint}",
                    p.kind.as_str()
                )))
            }
        }
    }
}
