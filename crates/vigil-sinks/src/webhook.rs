//! `output.webhook`: one HTTP POST of the alarm JSON per alarm, with the task's headers. Any 2xx
//! is an acknowledgement; timeouts, connection errors, 408, 429 and 5xx are worth retrying soon.
//!
//! The receiver is chosen by a tenant, so the request goes through the egress policy: a literal
//! address is checked before sending, every resolved address by the client's resolver, and
//! redirects (off unless `--webhook-max-redirects` says otherwise) each against the policy. The
//! error kept on the outbox row is one generic text; the details go to the log.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use vigil_core::alarm::WebhookOutput;
use vigil_core::egress::http::{check_url, client_builder, is_denied};
use vigil_core::egress::{EgressDenied, EgressPolicy, GENERIC_CONNECT_ERROR};
use vigil_core::secret_box::SecretBox;

use crate::{AlarmPayload, DeliverFuture, Sink, SinkError};

pub struct WebhookSink {
    http: reqwest::Client,
    egress: Arc<EgressPolicy>,
    secrets: Option<SecretBox>,
}

/// The policy's reason inside a request error (for the log), if the policy refused it.
fn denial(e: &reqwest::Error) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(d) = err.downcast_ref::<EgressDenied>() {
            return Some(d.to_string());
        }
        cur = err.source();
    }
    None
}

/// `host:port` of a URL, for log lines (never the path or query, which may carry tokens).
fn destination(url: &reqwest::Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or("?"),
        url.port_or_known_default().unwrap_or(0)
    )
}

impl WebhookSink {
    /// `timeout` bounds one whole request (connect, send, answer); `max_redirects` 0 follows none.
    pub fn new(timeout: Duration, egress: Arc<EgressPolicy>, max_redirects: usize) -> Result<Self, SinkError> {
        let http = client_builder(egress.clone(), max_redirects)
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("vigil/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SinkError::Permanent(format!("cannot build the webhook HTTP client: {e}")))?;
        Ok(Self {
            http,
            egress,
            secrets: None,
        })
    }

    /// Opens header values sealed at rest (the outbox carries them sealed) right before sending.
    pub fn with_secrets(mut self, secrets: Option<SecretBox>) -> Self {
        self.secrets = secrets;
        self
    }

    /// The task's headers, minus the ones a tenant may not set (refused at task creation too;
    /// dropped here for rows written before that rule).
    fn headers(&self, p: &AlarmPayload, out: &WebhookOutput) -> Result<HeaderMap, SinkError> {
        let mut task_headers = out.headers.clone();
        if let Some(secrets) = &self.secrets {
            vigil_core::secret_fields::open_headers(secrets, &mut task_headers);
        }
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (k, v) in &task_headers {
            if vigil_core::outbound_headers::is_forbidden(k) {
                tracing::warn!(task_id = %p.alarm.task_id, header = %k, "webhook header dropped: tasks may not set it");
                continue;
            }
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| SinkError::Permanent(format!("webhook header name {k:?} is not valid")))?;
            let value = HeaderValue::from_str(v)
                .map_err(|_| SinkError::Permanent(format!("webhook header {k:?} has an invalid value")))?;
            headers.insert(name, value);
        }
        Ok(headers)
    }

    async fn post(&self, p: &AlarmPayload) -> Result<(), SinkError> {
        let out: WebhookOutput = p.settings()?;
        let task = &p.alarm.task_id;
        let url = reqwest::Url::parse(&out.url).map_err(|e| {
            tracing::warn!(task_id = %task, error = %e, "webhook URL does not parse");
            SinkError::Permanent(GENERIC_CONNECT_ERROR.into())
        })?;
        let dest = destination(&url);
        // Literal addresses never reach the resolver: checked here, before any connection.
        if let Err(denied) = check_url(&self.egress, &url) {
            tracing::warn!(task_id = %task, destination = %dest, reason = %denied, "webhook refused by the egress policy");
            return Err(SinkError::Denied(GENERIC_CONNECT_ERROR.into()));
        }
        let headers = self.headers(p, &out)?;
        let resp = self
            .http
            .post(url)
            .headers(headers)
            .body(p.json.clone())
            .send()
            .await
            .map_err(|e| {
                if is_denied(&e) {
                    let reason = denial(&e).unwrap_or_default();
                    tracing::warn!(task_id = %task, destination = %dest, reason = %reason, error = %e,
                        "webhook refused by the egress policy (resolved address or redirect)");
                    SinkError::Denied(GENERIC_CONNECT_ERROR.into())
                } else if e.is_builder() || e.is_redirect() {
                    tracing::warn!(task_id = %task, destination = %dest, error = %e, "webhook request refused");
                    SinkError::Permanent(GENERIC_CONNECT_ERROR.into())
                } else {
                    tracing::warn!(task_id = %task, destination = %dest, timeout = e.is_timeout(), error = %e,
                        "webhook receiver unreachable");
                    SinkError::Retryable(GENERIC_CONNECT_ERROR.into())
                }
            })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        tracing::warn!(task_id = %task, destination = %dest, status = status.as_u16(), "webhook receiver did not accept the alarm");
        if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
            Err(SinkError::Retryable(GENERIC_CONNECT_ERROR.into()))
        } else {
            Err(SinkError::Permanent(GENERIC_CONNECT_ERROR.into()))
        }
    }
}

impl Sink for WebhookSink {
    fn deliver<'a>(&'a self, payload: &'a AlarmPayload) -> DeliverFuture<'a> {
        Box::pin(self.post(payload))
    }
}
