//! Sources: one trait, one file per kind ([`rtsp`], [`file`], [`restful`], [`obs`]), and the
//! [`DefaultOpener`] that turns a [`SourceSpec`] into an open [`Source`].

pub mod file;
pub mod obs;
pub mod restful;
pub mod rtsp;

use std::time::SystemTime;

use ffmpeg_next::codec::Parameters;
use ffmpeg_next::{Packet, Rational};

use crate::address::Target;
use crate::clock::CancelToken;
use crate::error::Result;
use crate::spec::{invalid, parse_url, redact_url, MediaConfig, RtspTransport, SourceSpec};

/// Static facts about an opened video stream.
pub struct StreamInfo {
    /// Codec parameters (codec id, size, extradata) to open a decoder with.
    pub params: Parameters,
    /// Unit of packet timestamps.
    pub time_base: Rational,
    /// Live source (drop-oldest, wall-clock times) or file (never dropped).
    pub live: bool,
    /// The address actually opened, without credentials (for RESTful sources: the resolved
    /// stream address). This is VIAS `stream_path`.
    pub stream_path: String,
    /// Wall-clock time of media time zero, for live sources.
    pub wall_base: Option<SystemTime>,
    /// Largest picture (width, height) the decoders of this stream may produce
    /// ([`MediaConfig::max_video_size`]).
    pub max_size: (u32, u32),
}

impl StreamInfo {
    pub fn codec_name(&self) -> String {
        ffmpeg_next::decoder::find(self.params.id())
            .map(|c| c.name().to_string())
            .unwrap_or_else(|| format!("{:?}", self.params.id()).to_lowercase())
    }
}

/// Refuses a stream whose declared picture is larger than `max` (width, height).
pub(crate) fn check_size(params: &Parameters, max: (u32, u32), display: &str) -> Result<()> {
    // SAFETY: reading two plain fields of codec parameters we hold.
    let (w, h) = unsafe {
        let raw = params.as_ptr();
        ((*raw).width, (*raw).height)
    };
    let (w, h) = (u32::try_from(w).unwrap_or(0), u32::try_from(h).unwrap_or(0));
    if w > max.0 || h > max.1 {
        return Err(crate::error::MediaError::new(
            crate::error::ErrorKind::UnsupportedCodec,
            format!("{display}: picture {w}x{h} exceeds the limit {}x{}", max.0, max.1),
        ));
    }
    Ok(())
}

/// One compressed video access unit.
pub struct EncodedPacket {
    /// The packet, timestamps in [`StreamInfo::time_base`].
    pub packet: Packet,
    /// Key frame (IDR / random access point).
    pub key: bool,
    /// New codec parameters that apply from this packet on (mid-stream SPS change).
    pub new_params: Option<Parameters>,
}

/// An open video source: a blocking reader of compressed video packets. Runs on a reader
/// thread, never on an async runtime. `read` returns within the configured stall timeout.
pub trait Source {
    fn info(&self) -> &StreamInfo;
    /// The next video packet; `Ok(None)` at the end of the stream.
    fn read(&mut self) -> Result<Option<EncodedPacket>>;
}

/// Opens sources. The reader's retry loop calls it on every (re)connect; tests substitute
/// their own to drive the loop with simulated time.
pub trait Opener: Send + Sync {
    fn open(&self, spec: &SourceSpec, cancel: &CancelToken) -> Result<Box<dyn Source>>;
}

/// The real opener: RTSP via retina, files/URLs via libavformat, RESTful resolution via HTTP,
/// object storage via `object_store`.
#[derive(Debug, Clone, Default)]
pub struct DefaultOpener {
    pub config: MediaConfig,
}

impl DefaultOpener {
    pub fn new(config: MediaConfig) -> Self {
        DefaultOpener { config }
    }

    /// Opens a stream address, configured or answered by a RESTful endpoint alike: checked by
    /// [`crate::address::check`] (schemes, media roots, egress policy) before anything is
    /// opened; `rtsp://` through retina, the rest through libavformat. With `tls_verify`, an
    /// `rtsps://` camera's certificate is checked first ([`crate::tls_check`]).
    fn open_url(
        &self,
        url: &str,
        user: Option<&str>,
        password: Option<&str>,
        transport: RtspTransport,
        tls_verify: bool,
        cancel: &CancelToken,
    ) -> Result<Box<dyn Source>> {
        match crate::address::check(url, &self.config)? {
            Target::Network { url: parsed, scheme } if scheme == "rtsp" => {
                let src = rtsp::RtspSource::open(parsed, user, password, transport, &self.config, cancel)?;
                Ok(Box::new(src))
            }
            Target::Network { url: parsed, scheme } if scheme == "rtsps" => {
                // retina has no TLS transport: RTSP over TLS goes through libavformat, which always
                // interleaves it over the TLS connection but cannot be told to verify the
                // certificate; Vigil checks it on a connection of its own first.
                if tls_verify {
                    crate::tls_check::verify(&parsed, &self.config, cancel)?;
                } else {
                    tracing::debug!(url = %redact_url(url), "rtsps certificate check turned off for this source");
                }
                let url = with_credentials(url, user, password)?;
                Ok(Box::new(file::AvSource::open(&url, &self.config, cancel)?))
            }
            _ => Ok(Box::new(file::AvSource::open(url, &self.config, cancel)?)),
        }
    }
}

impl Opener for DefaultOpener {
    fn open(&self, spec: &SourceSpec, cancel: &CancelToken) -> Result<Box<dyn Source>> {
        crate::init();
        match spec {
            SourceSpec::Rtsp {
                url,
                user,
                password,
                transport,
                tls_verify,
            } => self.open_url(
                url,
                user.as_deref(),
                password.as_deref(),
                *transport,
                *tls_verify,
                cancel,
            ),
            // Task inputs name no options: an `rtsps://` camera is always verified.
            SourceSpec::Url { url } => self.open_url(url, None, None, RtspTransport::Tcp, true, cancel),
            SourceSpec::Restful {
                url,
                headers,
                cert_check,
                path,
            } => {
                let resolved = restful::resolve(url, headers, *cert_check, path, &self.config, cancel)?;
                // The source's one certificate switch covers the endpoint and the camera alike.
                self.open_url(&resolved, None, None, RtspTransport::Tcp, *cert_check, cancel)
            }
            SourceSpec::Obs { project, bucket, path } => {
                // The object store is the administrator's: not subject to media roots or egress.
                let display = format!("obs://{bucket}/{path}");
                let src = match obs::locate(project, bucket, path, &self.config)? {
                    obs::Location::File(file) => file::AvSource::open_local(&file, display, &self.config, cancel)?,
                    obs::Location::Presigned(url) => {
                        let protocols = crate::whitelist::protocols_for("https").unwrap_or("http,https,tcp,tls");
                        file::AvSource::open_with(&url, protocols, display, false, &self.config, cancel)?
                    }
                };
                Ok(Box::new(src))
            }
        }
    }
}

/// `url` with `user`/`password` (when given) put in its authority, percent-encoded.
fn with_credentials(url: &str, user: Option<&str>, password: Option<&str>) -> Result<String> {
    let mut parsed = parse_url(url)?;
    if let Some(user) = user.filter(|u| !u.is_empty()) {
        parsed
            .set_username(user)
            .map_err(|_| invalid(format!("cannot put a user name into {}", redact_url(url))))?;
    }
    if let Some(password) = password.filter(|p| !p.is_empty()) {
        parsed
            .set_password(Some(password))
            .map_err(|_| invalid(format!("cannot put a password into {}", redact_url(url))))?;
    }
    Ok(parsed.to_string())
}

/// A single-threaded tokio runtime for the async parts of opening (HTTP, object store) and for
/// RTSP sessions. It lives on the reader thread and spawns no threads of its own.
pub(crate) fn local_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| crate::error::MediaError::new(crate::error::ErrorKind::Internal, format!("tokio runtime: {e}")))
}
