//! What the rest of the system hands us: a typed description of a video source, plus the
//! process-wide media settings (timeouts, object storage backend).

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{ErrorKind, MediaError, Result};

/// RTP transport for RTSP sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RtspTransport {
    /// RTP interleaved in the RTSP TCP connection (default: works through NAT and firewalls).
    #[default]
    Tcp,
    /// RTP over UDP (lower latency on a LAN; loss shows up as corrupt frames).
    Udp,
}

/// A video source, as validated by the API layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// An RTSP or RTSPS camera. Credentials may be in the URL (`rtsp://user:pass@host/path`)
    /// or given separately (the separate ones win). Basic and Digest auth are both supported.
    Rtsp {
        url: String,
        user: Option<String>,
        password: Option<String>,
        transport: RtspTransport,
        /// For `rtsps://`: verify the camera's certificate chain and host name before opening
        /// (default true; false accepts self-signed cameras). See [`crate::tls_check`].
        tls_verify: bool,
    },
    /// A file or URL read through libavformat: a local path, `file://`, `http(s)://`,
    /// `rtmp://`. An `rtsp(s)://` URL here is routed to the RTSP source with TCP transport, and
    /// an `rtsps://` camera's certificate is always verified.
    Url { url: String },
    /// A RESTful source (VIAS §2.2/§5.3): GET `url` with `headers`, follow the slash-separated
    /// `path` in the JSON answer to the real stream address, and open that. Re-resolved on
    /// every (re)connect.
    Restful {
        url: String,
        headers: Vec<(String, String)>,
        /// Verify the server's TLS certificate (default true; false accepts self-signed).
        cert_check: bool,
        path: String,
    },
    /// An object in object storage (`obs` input): `bucket` + object `path`, read under the
    /// prefix of project `project` (the tenant's own objects only).
    Obs {
        project: String,
        bucket: String,
        path: String,
    },
}

impl SourceSpec {
    /// A plain URL source.
    pub fn url(url: impl Into<String>) -> Self {
        SourceSpec::Url { url: url.into() }
    }

    /// An RTSP source with credentials in the URL (if any) and TCP transport.
    pub fn rtsp(url: impl Into<String>) -> Self {
        SourceSpec::Rtsp {
            url: url.into(),
            user: None,
            password: None,
            transport: RtspTransport::Tcp,
            tls_verify: true,
        }
    }

    /// Whether the source is live (a camera or a live stream): live sources drop the oldest
    /// frame under overload and reconnect forever; files are never dropped and end at EOF.
    pub fn is_live(&self) -> bool {
        match self {
            SourceSpec::Rtsp { .. } => true,
            SourceSpec::Url { url } => is_live_url(url),
            // The resolved address decides; RESTful sources are cameras in practice.
            SourceSpec::Restful { .. } => true,
            SourceSpec::Obs { .. } => false,
        }
    }

    /// A display form without credentials, safe for logs and status reasons.
    pub fn redacted(&self) -> String {
        match self {
            SourceSpec::Rtsp { url, .. } | SourceSpec::Url { url } => redact_url(url),
            SourceSpec::Restful { url, path, .. } => format!("{} -> {path}", redact_url(url)),
            SourceSpec::Obs { bucket, path, .. } => format!("obs://{bucket}/{path}"),
        }
    }
}

pub(crate) fn is_live_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    [
        "rtsp://", "rtsps://", "rtmp://", "rtmps://", "rtp://", "udp://", "srt://",
    ]
    .iter()
    .any(|p| lower.starts_with(p))
}

/// Removes `user:password@` from a URL (or anything that looks like one).
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            // Both setters only fail for cannot-be-a-base URLs, which have no credentials.
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => url.to_string(),
    }
}

pub use vigil_core::object_storage::{ObsBackend, S3Endpoint};

/// Process-wide media settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaConfig {
    /// Limit for connecting and receiving the first frame (RTSP DESCRIBE..first frame, HTTP
    /// header, container probing).
    pub open_timeout: Duration,
    /// A source that delivers no packet for this long is `Stalled`.
    pub stall_timeout: Duration,
    /// Object storage backend for `Obs` sources.
    pub obs: ObsBackend,
    /// Outbound policy for every address a source connects to (RESTful answers included).
    pub egress: std::sync::Arc<vigil_core::egress::EgressPolicy>,
    /// Directories `file://` addresses and local paths must resolve inside. `None` leaves local
    /// files unrestricted: only the operator's own `vigil analyze` uses that.
    pub media_roots: Option<Vec<PathBuf>>,
    /// Largest decoded picture accepted (width, height).
    pub max_video_size: (u32, u32),
    /// PEM file of extra CAs trusted for `rtsps://` cameras, on top of the system roots
    /// (`--rtsps-ca-file`). `None`: the system roots only.
    pub rtsps_ca_file: Option<PathBuf>,
    /// Deblock every decoded picture, even reference pictures no task samples
    /// (`--deblock-unsampled`; default false: skipped, see `Decoder::set_skip_deblocking`).
    pub deblock_unsampled: bool,
    /// Sample the picture at each due time even when a reference picture one picture earlier
    /// could stand in for it (`--exact-sample-times`; default false, see
    /// `DecodeOptions::sample_reference_pictures`).
    pub exact_sample_times: bool,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            open_timeout: Duration::from_secs(10),
            stall_timeout: Duration::from_secs(10),
            obs: ObsBackend::Local {
                root: PathBuf::from("data/obs"),
            },
            egress: Default::default(),
            media_roots: None,
            max_video_size: (4096, 4096),
            rtsps_ca_file: None,
            deblock_unsampled: false,
            exact_sample_times: false,
        }
    }
}

pub(crate) fn invalid(msg: impl Into<String>) -> MediaError {
    MediaError::new(ErrorKind::InvalidSource, msg)
}

/// Parses a URL, mapping failures to `InvalidSource`.
pub(crate) fn parse_url(url: &str) -> Result<url::Url> {
    url::Url::parse(url).map_err(|e| invalid(format!("bad URL {}: {e}", redact_url(url))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_credentials() {
        assert_eq!(
            redact_url("rtsp://admin:secret@10.0.0.1:554/live"),
            "rtsp://10.0.0.1:554/live"
        );
        assert_eq!(redact_url("/tmp/a.mp4"), "/tmp/a.mp4");
        let spec = SourceSpec::rtsp("rtsp://u:p@cam/x");
        assert_eq!(spec.redacted(), "rtsp://cam/x");
        assert!(spec.is_live());
        assert!(!SourceSpec::url("/tmp/a.mp4").is_live());
        assert!(SourceSpec::url("rtmp://host/app/key").is_live());
    }
}
