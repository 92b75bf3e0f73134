//! `output.webhook`: one HTTP POST of the alarm JSON per alarm, with the task's headers. Any 2xx
//! is an acknowledgement; timeouts, connection errors, 408, 429 and 5xx are worth retrying soon.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use vigil_core::alarm::WebhookOutput;

use crate::{AlarmPayload, DeliverFuture, Sink, SinkError};

pub struct WebhookSink {
    http: reqwest::Client,
}

impl WebhookSink {
    /// `timeout` bounds one whole request (connect, send, answer).
    pub fn new(timeout: Duration) -> Result<Self, SinkError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("vigil/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SinkError::Permanent(format!("cannot build the webhook HTTP client: {e}")))?;
        Ok(Self { http })
    }

    async fn post(&self, p: &AlarmPayload) -> Result<(), SinkError> {
        let out: WebhookOutput = p.settings()?;
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (k, v) in &out.headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| SinkError::Permanent(format!("webhook header name {k:?} is not valid")))?;
            let value = HeaderValue::from_str(v)
                .map_err(|_| SinkError::Permanent(format!("webhook header {k:?} has an invalid value")))?;
            headers.insert(name, value);
        }
        let resp = self
            .http
            .post(&out.url)
            .headers(headers)
            .body(p.json.clone())
            .send()
            .await
            .map_err(|e| {
                if e.is_builder() {
                    SinkError::Permanent(format!("webhook URL {:?} is not usable: {e}", out.url))
                } else if e.is_timeout() {
                    SinkError::Retryable(format!("webhook {} timed out", out.url))
                } else {
                    SinkError::Retryable(format!("webhook {} unreachable: {e}", out.url))
                }
            })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let msg = format!("webhook {} answered {status}", out.url);
        if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
            Err(SinkError::Retryable(msg))
        } else {
            Err(SinkError::Permanent(msg))
        }
    }
}

impl Sink for WebhookSink {
    fn deliver<'a>(&'a self, payload: &'a AlarmPayload) -> DeliverFuture<'a> {
        Box::pin(self.post(payload))
    }
}
