//! The crate's one error type: a [`MediaError`] carries an [`ErrorKind`] that callers branch on
//! (the reader maps it to `Offline` or `Abnormal`, the Video Center to a status code) and a
//! human-readable message (never containing credentials).

use std::fmt;

/// What went wrong, coarse enough to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The server rejected the credentials (RTSP/HTTP 401 or 403).
    AuthFailed,
    /// The server is up but the stream, file, object or path does not exist (404, ENOENT).
    NotFound,
    /// Nothing answered: connection refused, host unreachable, timeout while connecting,
    /// or an established connection was lost.
    Unreachable,
    /// No packet arrived for longer than the stall timeout.
    Stalled,
    /// The stream uses a codec (or has no video stream) we cannot decode.
    UnsupportedCodec,
    /// The bytes are not what they claim to be: unparseable container, broken bitstream,
    /// a RESTful answer that is not the JSON we expect.
    CorruptData,
    /// The source description itself is invalid (bad URL, empty field).
    InvalidSource,
    /// The address is not allowed: a scheme outside the stream schemes, a local file outside
    /// the media roots (or not a regular file), a host the egress policy denies. Nothing was
    /// opened or dialled.
    Refused,
    /// The operation was cancelled by the caller (reader stopped).
    Cancelled,
    /// A local failure that is none of the above (out of memory, encoder unavailable…).
    Internal,
}

impl ErrorKind {
    /// Stable snake_case name, used in logs, status reasons and the docs.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::AuthFailed => "auth_failed",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::Stalled => "stalled",
            ErrorKind::UnsupportedCodec => "unsupported_codec",
            ErrorKind::CorruptData => "corrupt_data",
            ErrorKind::InvalidSource => "invalid_source",
            ErrorKind::Refused => "refused",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Internal => "internal",
        }
    }

    /// Whether the condition is expected to heal by itself (network trouble): such sources are
    /// reported `Offline`; the others are `Abnormal` (someone has to fix a configuration or the
    /// camera).
    /// A refused address reads like an unreachable one (Offline): a RESTful endpoint may answer
    /// differently next time, and tenants must not tell a refusal from a dead host.
    pub fn is_transient(self) -> bool {
        matches!(self, ErrorKind::Unreachable | ErrorKind::Stalled | ErrorKind::Refused)
    }

    /// The code tenants see (task `error.code`): the kind, except that a policy refusal reads
    /// as `unreachable`, so refusals cannot be told from hosts that do not answer.
    pub fn public_code(self) -> &'static str {
        match self {
            ErrorKind::Refused => ErrorKind::Unreachable.as_str(),
            other => other.as_str(),
        }
    }

    /// The fixed text tenants see for this kind (task `error.message`). Details such as
    /// addresses, paths, HTTP bodies or RESTful answers go to the log only.
    pub fn public_message(self) -> &'static str {
        match self {
            ErrorKind::AuthFailed => "the stream rejected the credentials",
            ErrorKind::NotFound => "the stream, file or object does not exist",
            ErrorKind::Unreachable | ErrorKind::Refused => vigil_core::egress::GENERIC_CONNECT_ERROR,
            ErrorKind::Stalled => "the stream delivered no data in time",
            ErrorKind::UnsupportedCodec => "the stream has no supported video (codec, container or picture size)",
            ErrorKind::CorruptData => "the stream could not be read as video",
            ErrorKind::InvalidSource => "the stream address is not valid",
            ErrorKind::Cancelled => "the stream was stopped",
            ErrorKind::Internal => "internal error while reading the stream",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error type of `vigil-media`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct MediaError {
    kind: ErrorKind,
    message: String,
}

impl MediaError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        MediaError {
            kind,
            message: message.into(),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn cancelled() -> Self {
        MediaError::new(ErrorKind::Cancelled, "cancelled")
    }

    /// Maps a libav* error (from opening, demuxing or decoding) to a kind. `stalled` tells
    /// whether our interrupt callback fired because of the stall deadline (as opposed to a
    /// cancellation).
    pub(crate) fn from_ffmpeg(context: &str, err: ffmpeg_next::Error) -> Self {
        use ffmpeg_next::Error as E;
        let kind = match err {
            E::HttpUnauthorized | E::HttpForbidden => ErrorKind::AuthFailed,
            E::HttpNotFound | E::StreamNotFound => ErrorKind::NotFound,
            E::HttpBadRequest | E::HttpOther4xx | E::HttpServerError => ErrorKind::Unreachable,
            E::DecoderNotFound | E::DemuxerNotFound | E::PatchWelcome => ErrorKind::UnsupportedCodec,
            E::ProtocolNotFound => ErrorKind::InvalidSource,
            E::InvalidData | E::Eof => ErrorKind::CorruptData,
            E::Exit => ErrorKind::Stalled,
            E::Other { errno } => errno_kind(errno),
            _ => ErrorKind::Internal,
        };
        MediaError::new(kind, format!("{context}: {err}"))
    }
}

fn errno_kind(errno: i32) -> ErrorKind {
    use ffmpeg_next::util::error::*;
    match errno {
        ENOENT | ENOTDIR => ErrorKind::NotFound,
        EACCES | EPERM => ErrorKind::AuthFailed,
        ECONNREFUSED | ECONNRESET | ECONNABORTED | EHOSTUNREACH | ENETUNREACH | ENETDOWN | ETIMEDOUT | EPIPE
        | ENOTCONN | EIO => ErrorKind::Unreachable,
        ENOSYS | ENOTSUP => ErrorKind::UnsupportedCodec,
        EINVAL => ErrorKind::CorruptData,
        _ => ErrorKind::Internal,
    }
}

/// `Result` with [`MediaError`].
pub type Result<T, E = MediaError> = std::result::Result<T, E>;
