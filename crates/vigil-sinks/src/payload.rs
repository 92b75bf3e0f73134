use serde::de::DeserializeOwned;
use vigil_core::alarm::{Alarm, SinkKind};
use vigil_store::outbox::OutboxItem;

use crate::SinkError;

/// What a sink delivers: the alarm (parsed and as wire JSON) and this task's settings for the sink.
#[derive(Debug, Clone)]
pub struct AlarmPayload {
    pub kind: SinkKind,
    pub project_id: String,
    pub alarm: Alarm,
    /// The envelope exactly as stored at enqueue time; webhook bodies and MQTT payloads.
    pub json: String,
    /// The task's output object for this sink (`{"url":…,"headers":…}`, `{"bucket":…}`, …).
    pub config: serde_json::Value,
}

impl AlarmPayload {
    pub fn from_item(item: &OutboxItem) -> Result<Self, SinkError> {
        let kind = SinkKind::parse(&item.sink)
            .ok_or_else(|| SinkError::Permanent(format!("unknown sink kind {:?} in the outbox", item.sink)))?;
        let alarm: Alarm = serde_json::from_str(&item.payload)
            .map_err(|e| SinkError::Permanent(format!("stored alarm is not a valid envelope: {e}")))?;
        let config = serde_json::from_str(&item.sink_config)
            .map_err(|e| SinkError::Permanent(format!("stored {} settings are not JSON: {e}", item.sink)))?;
        Ok(Self {
            kind,
            project_id: item.project_id.clone(),
            alarm,
            json: item.payload.clone(),
            config,
        })
    }

    /// The task's settings for this sink, typed.
    pub fn settings<T: DeserializeOwned>(&self) -> Result<T, SinkError> {
        serde_json::from_value(self.config.clone())
            .map_err(|e| SinkError::Permanent(format!("invalid {} output settings: {e}", self.kind.as_str())))
    }
}
