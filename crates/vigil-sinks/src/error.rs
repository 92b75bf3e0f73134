/// Why a delivery failed, and whether trying again can help. The message is what the outbox
/// keeps (tenants may see it), so sinks put generic text here and log the details.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// Receiver down, timeout, 5xx, 429, broker gone: retried with backoff.
    #[error("{0}")]
    Retryable(String),
    /// The receiver refused this alarm (4xx) or the output settings cannot work (bad URL, sink
    /// not configured on this server). Still retried, at the slowest pace, so that fixing the
    /// receiver or the configuration lets the alarm through.
    #[error("{0}")]
    Permanent(String),
    /// The egress policy refused the destination before any connection was made (a denied
    /// address, or a redirect to one). Retried at the slowest pace, like `Permanent`.
    #[error("{0}")]
    Denied(String),
}

impl SinkError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, SinkError::Retryable(_))
    }
}
