//! The sinks this server can deliver to, built once from the server configuration.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use vigil_core::alarm::SinkKind;

use crate::mqtt::{MqttConfig, MqttSink};
use crate::obs::ObsSink;
use crate::webhook::WebhookSink;
use crate::{AlarmPayload, Sink, SinkError};

/// Where `output.obs` buckets live (the same backend as `obs` inputs).
pub use vigil_core::object_storage::ObsBackend as ObsConfig;

/// Server-side delivery settings (the binary fills these from its configuration).
#[derive(Debug, Clone)]
pub struct SinksConfig {
    /// Whole-request timeout of a webhook POST.
    pub webhook_timeout: Duration,
    pub obs: ObsConfig,
    /// `None`: `dis` outputs are kept in the outbox (and logged) until a broker is configured.
    pub mqtt: Option<MqttConfig>,
}

impl SinksConfig {
    /// Defaults for a data directory: 10 s webhooks, buckets under `<data_dir>/obs`, no MQTT.
    pub fn with_data_dir(data_dir: &std::path::Path) -> Self {
        Self {
            webhook_timeout: Duration::from_secs(10),
            obs: ObsConfig::Local {
                root: crate::obs::default_root(data_dir),
            },
            mqtt: None,
        }
    }
}

/// Sinks by kind.
#[derive(Clone, Default)]
pub struct Sinks(HashMap<SinkKind, Arc<dyn Sink>>);

impl Sinks {
    pub fn from_config(c: &SinksConfig) -> Result<Self, SinkError> {
        let mut s = Sinks::default();
        s.insert(SinkKind::Webhook, Arc::new(WebhookSink::new(c.webhook_timeout)?));
        s.insert(SinkKind::Obs, Arc::new(ObsSink::new(c.obs.clone())));
        if let Some(m) = &c.mqtt {
            s.insert(SinkKind::Dis, Arc::new(MqttSink::new(m.clone())?));
        }
        Ok(s)
    }

    pub fn insert(&mut self, kind: SinkKind, sink: Arc<dyn Sink>) {
        self.0.insert(kind, sink);
    }

    pub async fn deliver(&self, p: &AlarmPayload) -> Result<(), SinkError> {
        match self.0.get(&p.kind) {
            Some(sink) => sink.deliver(p).await,
            None => Err(SinkError::Permanent(format!(
                "no {} sink is configured on this server",
                p.kind.as_str()
            ))),
        }
    }
}
