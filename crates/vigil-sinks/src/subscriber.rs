//! Event center subscribers with a socket server of their own (`tcp://host:port`): one TCP
//! connection per alarm, the alarm JSON (spec §6, picture included) written as one line, and one
//! line `{"ack":"<message_id>"}` expected back within the timeout. Anything else (no answer,
//! another line, a closed connection) is a failure the dispatcher retries with its backoff, so
//! delivery is at-least-once and receivers deduplicate on `message_id`.
//!
//! The address is the tenant's choice, so it goes through the egress policy like a webhook: a
//! literal address or denied name before resolving, then every resolved address.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};
use vigil_core::egress::{EgressPolicy, GENERIC_CONNECT_ERROR};
use vigil_store::event_subscribers::parse_tcp_address;

use crate::{AlarmPayload, DeliverFuture, Sink, SinkError};

/// The longest acknowledgement line read; a receiver sending more is not speaking the protocol.
const MAX_ACK_LINE: u64 = 4096;

/// `sink_config` of a `subscriber` row.
#[derive(Debug, Deserialize)]
struct PushConfig {
    subscriber_id: String,
    address: String,
}

#[derive(Debug, Deserialize)]
struct Ack {
    ack: String,
}

pub struct SubscriberSink {
    /// Bounds one whole delivery: resolve, connect, write and the acknowledgement.
    timeout: Duration,
    egress: Arc<EgressPolicy>,
}

impl SubscriberSink {
    pub fn new(timeout: Duration, egress: Arc<EgressPolicy>) -> Self {
        Self { timeout, egress }
    }

    async fn push(&self, p: &AlarmPayload) -> Result<(), SinkError> {
        let cfg: PushConfig = p.settings()?;
        let sub = cfg.subscriber_id.as_str();
        let (host, port) = parse_tcp_address(&cfg.address).map_err(|e| {
            tracing::warn!(subscriber_id = %sub, error = e, "subscriber address does not parse");
            SinkError::Permanent(GENERIC_CONNECT_ERROR.into())
        })?;
        let denied = |reason: String| {
            tracing::warn!(subscriber_id = %sub, destination = %format!("{host}:{port}"), reason = %reason,
                "subscriber push refused by the egress policy");
            SinkError::Denied(GENERIC_CONNECT_ERROR.into())
        };
        self.egress.check(&host, None).map_err(|d| denied(d.to_string()))?;
        let retry = |what: &str, detail: String| {
            tracing::warn!(subscriber_id = %sub, destination = %format!("{host}:{port}"), error = %detail, "{what}");
            SinkError::Retryable(GENERIC_CONNECT_ERROR.into())
        };
        let deadline = Instant::now() + self.timeout;
        let addrs: Vec<SocketAddr> = timeout_at(deadline, tokio::net::lookup_host((host.as_str(), port)))
            .await
            .map_err(|_| retry("subscriber address did not resolve in time", "timeout".into()))?
            .map_err(|e| retry("subscriber address does not resolve", e.to_string()))?
            .collect();
        let ips: Vec<_> = addrs.iter().map(SocketAddr::ip).collect();
        self.egress
            .check_resolved(&host, &ips)
            .map_err(|d| denied(d.to_string()))?;
        let mut stream = timeout_at(deadline, TcpStream::connect(&addrs[..]))
            .await
            .map_err(|_| retry("subscriber connect timed out", "timeout".into()))?
            .map_err(|e| retry("subscriber unreachable", e.to_string()))?;
        // One line per alarm: compact JSON has no raw newline, but a stored payload with one
        // would split the frame, so such a payload is re-encoded.
        let mut line = if p.json.contains('\n') {
            p.alarm.to_json()
        } else {
            p.json.clone()
        };
        line.push('\n');
        timeout_at(deadline, async {
            stream.write_all(line.as_bytes()).await?;
            stream.flush().await
        })
        .await
        .map_err(|_| retry("subscriber did not take the alarm in time", "timeout".into()))?
        .map_err(|e| retry("subscriber connection failed while sending", e.to_string()))?;
        let mut reply = Vec::new();
        let mut reader = BufReader::new(stream.take(MAX_ACK_LINE));
        let n = timeout_at(deadline, reader.read_until(b'\n', &mut reply))
            .await
            .map_err(|_| retry("subscriber did not acknowledge in time", "timeout".into()))?
            .map_err(|e| retry("subscriber connection failed while waiting for the ack", e.to_string()))?;
        if n == 0 || reply.last() != Some(&b'\n') {
            return Err(retry(
                "subscriber closed the connection without a full ack line",
                format!("{n} bytes"),
            ));
        }
        match serde_json::from_slice::<Ack>(&reply) {
            Ok(a) if a.ack == p.alarm.message_id => Ok(()),
            Ok(a) => Err(retry(
                "subscriber acknowledged another message",
                format!("ack {:?}", a.ack),
            )),
            Err(e) => Err(retry(
                "subscriber answered something other than {\"ack\":\"<message_id>\"}",
                e.to_string(),
            )),
        }
    }
}

impl Sink for SubscriberSink {
    fn deliver<'a>(&'a self, payload: &'a AlarmPayload) -> DeliverFuture<'a> {
        Box::pin(self.push(payload))
    }
}
