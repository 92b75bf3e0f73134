//! The VIAS alarm envelope (spec §6.2) and the task outputs it is delivered to (spec §5.4).

use std::collections::BTreeMap;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One alarm message exactly as receivers get it. Field order does not matter to VIAS consumers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alarm {
    /// Per-algorithm constant of spec §6.3 (e.g. 196609 intrusion).
    pub event_type: u64,
    pub task_id: String,
    /// Camera / stream id; for video sources the source id.
    pub stream_id: String,
    /// Alarm time, epoch seconds.
    pub timestamp: u64,
    /// Upper-case UUID; receivers deduplicate on it (delivery is at-least-once).
    pub message_id: String,
    /// JPEG of the frame, base64; statistics messages have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_base64: Option<String>,
    /// `0` alarm, `1` the alarmed event disappeared (algorithms with event-disappear support).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_type: Option<i64>,
    /// Algorithm-specific payload (spec §6.4); absent only for the few algorithms without one.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub data: Value,
    /// Top-level algorithm fields outside `data` (e.g. drainage's `drainage_state`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Alarm {
    /// A fresh `message_id`: an upper-case UUID such as `C8F67CE2-9C2A-11EB-BBF6-0242AC110002`.
    pub fn new_message_id() -> String {
        uuid::Uuid::new_v4().hyphenated().to_string().to_uppercase()
    }

    /// The envelope as it goes on the wire.
    pub fn to_json(&self) -> String {
        // Serializing plain strings, numbers and JSON values cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Spreads an analyzer's payload over the envelope: `data` for every algorithm, except the
    /// drainage outlet (spec §6.4 #38), whose only field `drainage_state` sits at the top level
    /// and which has no `data` at all.
    pub fn payload_fields(event_type: u64, data: Value) -> (Value, Map<String, Value>) {
        match data {
            Value::Object(m) if event_type == crate::catalog::event_type::DRAINAGE => (Value::Null, m),
            other => (other, Map::new()),
        }
    }

    /// The same alarm without its picture (what the event center lists).
    pub fn without_image(&self) -> Alarm {
        Alarm {
            image_base64: None,
            ..self.clone()
        }
    }

    /// The picture as JPEG bytes, if there is one and it is valid base64.
    pub fn image_jpeg(&self) -> Option<Result<Vec<u8>, base64::DecodeError>> {
        self.image_base64.as_deref().map(decode_image)
    }
}

/// Decodes an `image_base64` value (standard alphabet, padding optional).
pub fn decode_image(b64: &str) -> Result<Vec<u8>, base64::DecodeError> {
    base64::engine::general_purpose::STANDARD_NO_PAD.decode(b64.trim_end_matches('='))
}

/// Encodes JPEG bytes for `image_base64`.
pub fn encode_image(jpeg: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(jpeg)
}

/// `output.obs`: objects under `bucket/path`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObsOutput {
    pub bucket: String,
    #[serde(default)]
    pub path: String,
}

/// `output.dis`: one record per alarm in a stream (Vigil maps it to an MQTT topic).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisOutput {
    pub stream_name: String,
}

/// `output.webhook`: an HTTP POST of each alarm with these headers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookOutput {
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// The already validated outputs of a task, as the alarm path needs them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlarmOutputs {
    pub obs: Option<ObsOutput>,
    pub dis: Option<DisOutput>,
    pub webhook: Option<WebhookOutput>,
    pub event_center: bool,
}

/// Kinds of external delivery; the event center is a table, not a sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SinkKind {
    Webhook,
    Obs,
    Dis,
    /// An event center subscriber's own socket server (`tcp://host:port`, NDJSON with acks).
    /// WebSocket subscribers (`subscriber_ws` rows) are no sink: their connection reads the outbox.
    Subscriber,
}

impl SinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SinkKind::Webhook => "webhook",
            SinkKind::Obs => "obs",
            SinkKind::Dis => "dis",
            SinkKind::Subscriber => "subscriber",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "webhook" => Some(SinkKind::Webhook),
            "obs" => Some(SinkKind::Obs),
            "dis" => Some(SinkKind::Dis),
            "subscriber" => Some(SinkKind::Subscriber),
            _ => None,
        }
    }
}

impl AlarmOutputs {
    /// One (kind, config JSON) per external output, in a fixed order.
    pub fn targets(&self) -> Vec<(SinkKind, Value)> {
        let mut out = Vec::new();
        let mut push = |kind, v: Result<Value, serde_json::Error>| {
            if let Ok(v) = v {
                out.push((kind, v));
            }
        };
        if let Some(w) = &self.webhook {
            push(SinkKind::Webhook, serde_json::to_value(w));
        }
        if let Some(o) = &self.obs {
            push(SinkKind::Obs, serde_json::to_value(o));
        }
        if let Some(d) = &self.dis {
            push(SinkKind::Dis, serde_json::to_value(d));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The canonical intrusion example of spec §6.2.
    const SPEC_INTRUSION: &str = r#"{"event_type":196609,"task_id":"a52a4de502664128a92ee914f54e5b9d",
 "stream_id":"00167440000000000101#1f1934154a774374a278ec3d32dbd468",
 "message_id":"C8F67CE2-9C2A-11EB-BBF6-0242AC110002","timestamp":1618299313,"image_base64":"/9j/4AAQ",
 "data":{"event_set":[{"bounding_box":{"x":853,"y":450,"w":101,"h":161},
   "detection_id":"C8B3D3A6-9C2A-11EB-BBF6-0242AC110002","category":0,"start_position":"in","end_position":"in"}]}}"#;

    #[test]
    fn serializes_like_the_spec_intrusion_example() {
        let spec: Value = serde_json::from_str(SPEC_INTRUSION).unwrap();
        let alarm = Alarm {
            event_type: 196609,
            task_id: "a52a4de502664128a92ee914f54e5b9d".into(),
            stream_id: "00167440000000000101#1f1934154a774374a278ec3d32dbd468".into(),
            timestamp: 1618299313,
            message_id: "C8F67CE2-9C2A-11EB-BBF6-0242AC110002".into(),
            image_base64: Some("/9j/4AAQ".into()),
            alarm_type: None,
            data: spec["data"].clone(),
            extra: Map::new(),
        };
        let ours: Value = serde_json::from_str(&alarm.to_json()).unwrap();
        assert_eq!(ours, spec);
        let back: Alarm = serde_json::from_str(SPEC_INTRUSION).unwrap();
        assert_eq!(back, alarm);
    }

    #[test]
    fn drainage_state_goes_to_the_top_level_and_other_payloads_stay_in_data() {
        let (data, extra) = Alarm::payload_fields(34013185, json!({"drainage_state": true}));
        assert_eq!(data, Value::Null);
        assert_eq!(extra["drainage_state"], true);
        let (data, extra) = Alarm::payload_fields(196609, json!({"event_set": []}));
        assert_eq!(data, json!({"event_set": []}));
        assert!(extra.is_empty());
    }

    #[test]
    fn optional_fields_are_omitted_and_extra_fields_kept() {
        let raw = json!({"event_type": 34013185u64, "task_id": "t", "stream_id": "s", "timestamp": 1,
            "message_id": "M", "drainage_state": false, "alarm_type": 1});
        let a: Alarm = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(a.alarm_type, Some(1));
        assert_eq!(a.extra["drainage_state"], false);
        let out: Value = serde_json::from_str(&a.to_json()).unwrap();
        assert_eq!(out, raw);
        let no_image = a.without_image();
        assert!(!no_image.to_json().contains("image_base64"));
    }

    #[test]
    fn message_ids_are_upper_case_uuids() {
        let id = Alarm::new_message_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id, id.to_uppercase());
        assert!(uuid::Uuid::parse_str(&id).is_ok());
    }

    #[test]
    fn images_round_trip() {
        let jpeg = [0xffu8, 0xd8, 0xff, 0xe0, 1, 2, 3];
        assert_eq!(decode_image(&encode_image(&jpeg)).unwrap(), jpeg);
        assert!(decode_image("not base64!").is_err());
    }

    #[test]
    fn outputs_become_targets() {
        let o = AlarmOutputs {
            webhook: Some(WebhookOutput {
                url: "http://127.0.0.1:1/x".into(),
                headers: BTreeMap::from([("content-type".into(), "application/json".into())]),
            }),
            dis: Some(DisOutput {
                stream_name: "alarms".into(),
            }),
            ..Default::default()
        };
        let t = o.targets();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].0, SinkKind::Webhook);
        assert_eq!(t[1].1, json!({"stream_name": "alarms"}));
        assert_eq!(SinkKind::parse("dis"), Some(SinkKind::Dis));
    }
}
