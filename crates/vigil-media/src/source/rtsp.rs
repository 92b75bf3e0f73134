//! RTSP cameras through `retina` (pure Rust): TCP interleaved by default, UDP on request,
//! Basic and Digest authentication, H.264 and H.265 (and Motion JPEG). The address has passed
//! [`crate::address::check`] (egress policy on every resolved address) before we get here.
//!
//! The session runs on a single-threaded tokio runtime owned by the source, driven only while
//! the reader thread waits in [`Source::read`]; so there is no thread per session besides the
//! reader's own.

use std::future::Future;
use std::time::{Duration, SystemTime};

use ffmpeg_next::codec::{Id, Parameters};
use ffmpeg_next::{ffi, Packet, Rational};
use futures::StreamExt;
use retina::client::{Credentials, Demuxed, PlayOptions, SessionOptions, SetupOptions, TeardownPolicy, Transport};
use retina::codec::{CodecItem, FrameFormat, VideoFrame, VideoParameters, VideoParametersCodec};

use super::{local_runtime, EncodedPacket, Source, StreamInfo};
use crate::clock::CancelToken;
use crate::error::{ErrorKind, MediaError, Result};
use crate::spec::{invalid, redact_url, MediaConfig, RtspTransport};

/// An RTSP session delivering one video stream.
pub struct RtspSource {
    // Dropped explicitly (inside the runtime) in `Drop`.
    demuxed: Option<Demuxed>,
    rt: tokio::runtime::Runtime,
    info: StreamInfo,
    stream_id: usize,
    pending: Option<VideoFrame>,
    stall_timeout: Duration,
    cancel: CancelToken,
    transport: RtspTransport,
}

impl RtspSource {
    /// Connects, sets up the first video stream, plays, and waits for the first video frame
    /// (so an open source is known to deliver). Credentials: `user`/`password` if given, else
    /// those in the URL.
    pub fn open(
        mut url: url::Url,
        user: Option<&str>,
        password: Option<&str>,
        transport: RtspTransport,
        config: &MediaConfig,
        cancel: &CancelToken,
    ) -> Result<Self> {
        let display = redact_url(url.as_str());
        let url_user = percent_decode(url.username());
        let url_pass = url.password().map(percent_decode);
        let creds = match (user, password) {
            (Some(u), p) if !u.is_empty() => Some(Credentials {
                username: u.to_string(),
                password: p.unwrap_or_default().to_string(),
            }),
            _ if !url_user.is_empty() => Some(Credentials {
                username: url_user,
                password: url_pass.unwrap_or_default(),
            }),
            _ => None,
        };
        // retina wants credentials out of band.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        // retina speaks `rtsp`; RTSPS is RTSP over TLS which retina does not do yet.
        if url.scheme() != "rtsp" {
            return Err(invalid(format!(
                "{display}: only rtsp:// is supported by the RTSP client"
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid(format!("{display}: no host")));
        }

        let rt = local_runtime()?;
        let session_opts = SessionOptions::default()
            .creds(creds)
            .user_agent("vigil-media".to_string())
            .teardown(match transport {
                RtspTransport::Tcp => TeardownPolicy::Never,
                RtspTransport::Udp => TeardownPolicy::Auto,
            });
        let setup_transport = match transport {
            RtspTransport::Tcp => Transport::Tcp(Default::default()),
            RtspTransport::Udp => Transport::Udp(Default::default()),
        };
        let open_timeout = config.open_timeout;
        let fut = async move {
            let mut session = retina::client::Session::describe(url, session_opts)
                .await
                .map_err(|e| map_retina("DESCRIBE", e))?;
            let video: Vec<(usize, String)> = session
                .streams()
                .iter()
                .enumerate()
                .filter(|(_, s)| s.media() == "video")
                .map(|(i, s)| (i, s.encoding_name().to_ascii_lowercase()))
                .collect();
            let (stream_id, _) = video
                .iter()
                .find(|(_, enc)| matches!(enc.as_str(), "h264" | "h265" | "jpeg"))
                .cloned()
                .ok_or_else(|| {
                    MediaError::new(
                        ErrorKind::UnsupportedCodec,
                        format!(
                            "no H.264/H.265/JPEG video stream (video encodings: {:?})",
                            video.iter().map(|(_, e)| e.as_str()).collect::<Vec<_>>()
                        ),
                    )
                })?;
            session
                .setup(
                    stream_id,
                    SetupOptions::default()
                        .transport(setup_transport)
                        .frame_format(FrameFormat::MP4),
                )
                .await
                .map_err(|e| map_retina("SETUP", e))?;
            let playing = session
                .play(PlayOptions::default())
                .await
                .map_err(|e| map_retina("PLAY", e))?;
            let mut demuxed = playing.demuxed().map_err(|e| map_retina("PLAY", e))?;
            let first = loop {
                match demuxed.next().await {
                    Some(Ok(CodecItem::VideoFrame(f))) if f.stream_id() == stream_id => break f,
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(map_retina("reading", e)),
                    None => {
                        return Err(MediaError::new(
                            ErrorKind::Unreachable,
                            "server closed the session before the first frame",
                        ))
                    }
                }
            };
            Ok((demuxed, stream_id, first))
        };
        let res = rt.block_on(with_limits(cancel, open_timeout, "opening", fut));
        let (demuxed, stream_id, first) = match res {
            Ok(v) => v,
            Err(e) => return Err(prefix(e, &display)),
        };
        let stream = demuxed
            .streams()
            .get(stream_id)
            .ok_or_else(|| MediaError::new(ErrorKind::Internal, format!("{display}: stream {stream_id} vanished")))?;
        let params = stream
            .parameters()
            .and_then(|p| match p {
                retina::codec::ParametersRef::Video(v) => Some(v.clone()),
                _ => None,
            })
            .ok_or_else(|| {
                MediaError::new(
                    ErrorKind::CorruptData,
                    format!("{display}: no codec parameters after the first frame"),
                )
            })?;
        let av_params = to_av_params(&params)?;
        super::check_size(&av_params, config.max_video_size, &display)?;
        let clock_rate = stream.clock_rate_hz();
        let info = StreamInfo {
            params: av_params,
            time_base: Rational::new(1, i32::try_from(clock_rate).unwrap_or(90_000)),
            live: true,
            stream_path: display,
            wall_base: Some(SystemTime::now()),
            max_size: config.max_video_size,
        };
        Ok(RtspSource {
            demuxed: Some(demuxed),
            rt,
            info,
            stream_id,
            pending: Some(first),
            stall_timeout: config.stall_timeout,
            cancel: cancel.clone(),
            transport,
        })
    }

    fn to_packet(&self, f: VideoFrame) -> Result<EncodedPacket> {
        let new_params = if f.has_new_parameters() {
            match self
                .demuxed
                .as_ref()
                .and_then(|d| d.streams().get(self.stream_id))
                .and_then(|s| s.parameters())
            {
                Some(retina::codec::ParametersRef::Video(v)) => {
                    let p = to_av_params(v)?;
                    super::check_size(&p, self.info.max_size, &self.info.stream_path)?;
                    Some(p)
                }
                _ => None,
            }
        } else {
            None
        };
        let key = f.is_random_access_point();
        let pts = f.timestamp().elapsed();
        let mut packet = Packet::copy(f.data());
        packet.set_pts(Some(pts));
        packet.set_dts(None);
        if key {
            packet.set_flags(ffmpeg_next::packet::Flags::KEY);
        }
        Ok(EncodedPacket {
            packet,
            key,
            new_params,
        })
    }
}

impl Source for RtspSource {
    fn info(&self) -> &StreamInfo {
        &self.info
    }

    fn read(&mut self) -> Result<Option<EncodedPacket>> {
        if let Some(f) = self.pending.take() {
            // `info.params` already describe the first frame.
            return self.to_packet(f).map(|mut p| {
                p.new_params = None;
                Some(p)
            });
        }
        let stream_id = self.stream_id;
        let Some(demuxed) = self.demuxed.as_mut() else {
            return Ok(None);
        };
        let fut = async {
            loop {
                match demuxed.next().await {
                    Some(Ok(CodecItem::VideoFrame(f))) if f.stream_id() == stream_id => return Ok(Some(f)),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(map_retina("reading", e)),
                    None => return Ok(None),
                }
            }
        };
        let res = self
            .rt
            .block_on(with_limits(&self.cancel, self.stall_timeout, "reading", fut));
        match res {
            Ok(Some(f)) => self.to_packet(f).map(Some),
            // A live stream that ends was cut by the server: report it as lost.
            Ok(None) => Err(MediaError::new(
                ErrorKind::Unreachable,
                format!("{}: server ended the session", self.info.stream_path),
            )),
            Err(e) => Err(prefix(e, &self.info.stream_path)),
        }
    }
}

impl Drop for RtspSource {
    fn drop(&mut self) {
        // retina spawns its TEARDOWN task from Drop, which needs a runtime context.
        let _guard = self.rt.enter();
        self.demuxed.take();
        if self.transport == RtspTransport::Udp {
            // Give the TEARDOWN a moment so the server stops sending UDP to us.
            self.rt.block_on(tokio::time::sleep(Duration::from_millis(200)));
        }
    }
}

/// Runs `fut` unless it takes longer than `limit` (→ `Stalled`) or the reader is cancelled.
async fn with_limits<T>(
    cancel: &CancelToken,
    limit: Duration,
    what: &str,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    let cancelled = async {
        while !cancel.is_cancelled() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::select! {
        r = tokio::time::timeout(limit, fut) => match r {
            Ok(r) => r,
            Err(_) => Err(MediaError::new(
                ErrorKind::Stalled,
                format!("{what}: nothing received for {:.1} s", limit.as_secs_f64()),
            )),
        },
        _ = cancelled => Err(MediaError::cancelled()),
    }
}

fn prefix(e: MediaError, display: &str) -> MediaError {
    if e.kind() == ErrorKind::Cancelled {
        return e;
    }
    MediaError::new(e.kind(), format!("{display}: {}", e.message()))
}

fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Classifies a retina error. retina exposes the RTSP status code; the rest is told apart by
/// the error's category text.
fn map_retina(stage: &str, e: retina::Error) -> MediaError {
    let text = e.to_string();
    let first_line = text.lines().next().unwrap_or_default().to_string();
    let kind = match e.status_code() {
        Some(401) | Some(403) => ErrorKind::AuthFailed,
        Some(404) | Some(410) => ErrorKind::NotFound,
        Some(415) | Some(461) => ErrorKind::UnsupportedCodec,
        Some(_) => ErrorKind::Unreachable,
        None => {
            if text.starts_with("Unable to connect")
                || text.starts_with("Error reading from RTSP peer")
                || text.starts_with("Error writing to RTSP peer")
                || text.starts_with("Failed precondition")
                || text.starts_with("Timeout")
            {
                ErrorKind::Unreachable
            } else if text.starts_with("Unsupported") {
                ErrorKind::UnsupportedCodec
            } else if text.starts_with("Invalid argument") {
                ErrorKind::InvalidSource
            } else {
                // RTP/RTSP framing errors, bad packets, depacketization failures.
                ErrorKind::CorruptData
            }
        }
    };
    MediaError::new(kind, format!("{stage}: {first_line}"))
}

/// Codec parameters for libavcodec from retina's: codec id, size and the avcC/hvcC record
/// as extradata (packets are length-prefixed, `FrameFormat::MP4`).
fn to_av_params(v: &VideoParameters) -> Result<Parameters> {
    let id = match v.codec_params() {
        VideoParametersCodec::H264 { .. } => Id::H264,
        VideoParametersCodec::H265 { .. } => Id::HEVC,
        VideoParametersCodec::Jpeg => Id::MJPEG,
        _ => {
            return Err(MediaError::new(
                ErrorKind::UnsupportedCodec,
                "unsupported RTSP video codec",
            ))
        }
    };
    let (w, h) = v.pixel_dimensions();
    let extra = v.extra_data();
    let mut p = Parameters::new();
    // SAFETY: `p` owns a freshly allocated AVCodecParameters; extradata is allocated with
    // av_mallocz (as libav requires, padded) and freed by avcodec_parameters_free on drop.
    unsafe {
        let raw = p.as_mut_ptr();
        (*raw).codec_type = ffi::AVMediaType::AVMEDIA_TYPE_VIDEO;
        (*raw).codec_id = id.into();
        (*raw).width = i32::try_from(w).unwrap_or(0);
        (*raw).height = i32::try_from(h).unwrap_or(0);
        if !extra.is_empty() {
            let size = extra.len();
            let buf = ffi::av_mallocz(size + ffi::AV_INPUT_BUFFER_PADDING_SIZE as usize) as *mut u8;
            if buf.is_null() {
                return Err(MediaError::new(ErrorKind::Internal, "out of memory"));
            }
            std::ptr::copy_nonoverlapping(extra.as_ptr(), buf, size);
            (*raw).extradata = buf;
            (*raw).extradata_size = i32::try_from(size).unwrap_or(0);
        }
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("p%40ss%3Aw"), "p@ss:w");
        assert_eq!(percent_decode("plain"), "plain");
        assert_eq!(percent_decode("bad%zz%4"), "bad%zz%4");
    }
}
