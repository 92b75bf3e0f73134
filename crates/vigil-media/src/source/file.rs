//! Files and URLs through libavformat: local paths, `file://`, `http(s)://`, `rtmp://`,
//! `rtsps://`. Containers: mp4, mov, m4v, mkv, avi, wmv/asf, mpg/mpeg (PS/TS), flv; video
//! codecs of [`crate::whitelist`]. Every open names its protocols, demuxers and decoders.

use std::ffi::{c_int, c_void, CString};
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use ffmpeg_next::ffi;
use ffmpeg_next::format::context::Input;
use ffmpeg_next::{media, Dictionary, Packet};

use super::{check_size, EncodedPacket, Source, StreamInfo};
use crate::address::Target;
use crate::clock::CancelToken;
use crate::error::{ErrorKind, MediaError, Result};
use crate::spec::{invalid, is_live_url, redact_url, MediaConfig};
use crate::whitelist;

/// State read by libavformat's interrupt callback: a deadline for the current blocking call
/// and the reader's cancellation flag.
struct Interrupt {
    origin: Instant,
    deadline_ms: AtomicU64,
    cancel: CancelToken,
}

impl Interrupt {
    fn arm(&self, d: Duration) {
        let at = self.origin.elapsed() + d;
        self.deadline_ms
            .store(u64::try_from(at.as_millis()).unwrap_or(u64::MAX), Ordering::SeqCst);
    }

    fn expired(&self) -> bool {
        let now = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        now > self.deadline_ms.load(Ordering::SeqCst)
    }

    /// Turns an error from a blocking libav call into ours, telling stall from cancellation.
    fn map(&self, context: &str, err: ffmpeg_next::Error) -> MediaError {
        if self.cancel.is_cancelled() {
            return MediaError::cancelled();
        }
        if matches!(err, ffmpeg_next::Error::Exit) || self.expired() {
            return MediaError::new(
                ErrorKind::Stalled,
                format!("{context}: no data within the time limit ({err})"),
            );
        }
        MediaError::from_ffmpeg(context, err)
    }
}

unsafe extern "C" fn interrupt_cb(opaque: *mut c_void) -> c_int {
    if opaque.is_null() {
        return 0;
    }
    // SAFETY: `opaque` points to the `Interrupt` boxed in `AvSource`, which outlives the
    // format context (the context is closed first, see the field order of `AvSource`).
    let st = unsafe { &*(opaque as *const Interrupt) };
    c_int::from(st.cancel.is_cancelled() || st.expired())
}

/// A libavformat input.
pub struct AvSource {
    // Field order matters: `input` must be dropped (closed) before `interrupt`.
    input: Input,
    interrupt: Box<Interrupt>,
    stream_index: usize,
    info: StreamInfo,
    stall_timeout: Duration,
    /// Packets the container declares (0 = unknown), to tell a truncated file from a complete
    /// one (MP4/MOV only, whose sample tables are exact).
    declared_frames: i64,
    packets_read: i64,
    eof: bool,
}

impl AvSource {
    /// Opens a stream address (a path or a URL) after [`crate::address::check`]: only the
    /// stream schemes, local files inside the media roots, hosts the egress policy allows.
    pub fn open(url: &str, config: &MediaConfig, cancel: &CancelToken) -> Result<Self> {
        crate::init();
        let display = redact_url(url.trim());
        match crate::address::check(url, config)? {
            Target::Local(path) => Self::open_local(&path, display, config, cancel),
            Target::Network { scheme, .. } => {
                let protocols = whitelist::protocols_for(&scheme).ok_or_else(|| {
                    MediaError::new(
                        ErrorKind::Refused,
                        format!("{display}: no libavformat protocol for {scheme}"),
                    )
                })?;
                let live = is_live_url(url.trim());
                Self::open_with(url.trim(), protocols, display, live, config, cancel)
            }
        }
    }

    /// Opens a local file chosen by us (a checked tenant path, a local `obs` object): only the
    /// `file` protocol, and never anything but a regular file.
    pub(crate) fn open_local(path: &Path, display: String, config: &MediaConfig, cancel: &CancelToken) -> Result<Self> {
        crate::media_roots::regular_file(path)?;
        let location = format!("file:{}", path.to_string_lossy());
        Self::open_with(&location, "file", display, false, config, cancel)
    }

    /// Opens `location` with libavformat restricted to `protocols`, our container demuxers and
    /// video decoders. `display` is what logs and `stream_path` show.
    pub(crate) fn open_with(
        location: &str,
        protocols: &str,
        display: String,
        live: bool,
        config: &MediaConfig,
        cancel: &CancelToken,
    ) -> Result<Self> {
        crate::init();
        if location.trim().is_empty() {
            return Err(invalid("empty URL"));
        }
        let c_location = CString::new(location).map_err(|_| invalid("URL contains a NUL byte"))?;
        let interrupt = Box::new(Interrupt {
            origin: Instant::now(),
            deadline_ms: AtomicU64::new(0),
            cancel: cancel.clone(),
        });
        interrupt.arm(config.open_timeout);

        let mut opts = Dictionary::new();
        // Socket-level timeouts for network protocols (microseconds); the interrupt callback
        // covers everything else.
        let rw = config.stall_timeout.as_micros().to_string();
        opts.set("rw_timeout", &rw);
        opts.set("protocol_whitelist", protocols);
        opts.set("format_whitelist", whitelist::FORMATS);
        opts.set("codec_whitelist", whitelist::DECODERS);
        // libavformat's HTTP client would follow redirects to hosts we never checked.
        opts.set("max_redirects", "0");

        // SAFETY: plain libavformat calls; `ps` is either null after a failed open (libav frees
        // it) or owned by `Input` below. The interrupt opaque outlives the context.
        let input = unsafe {
            let mut ps = ffi::avformat_alloc_context();
            if ps.is_null() {
                return Err(MediaError::new(ErrorKind::Internal, "out of memory"));
            }
            (*ps).interrupt_callback = ffi::AVIOInterruptCB {
                callback: Some(interrupt_cb),
                opaque: &*interrupt as *const Interrupt as *mut c_void,
            };
            let mut raw_opts = opts.disown();
            let r = ffi::avformat_open_input(&mut ps, c_location.as_ptr(), ptr::null(), &mut raw_opts);
            drop(Dictionary::own(raw_opts));
            if r < 0 {
                return Err(interrupt.map(&format!("opening {display}"), ffmpeg_next::Error::from(r)));
            }
            let r = ffi::avformat_find_stream_info(ps, ptr::null_mut());
            if r < 0 {
                ffi::avformat_close_input(&mut ps);
                return Err(interrupt.map(&format!("probing {display}"), ffmpeg_next::Error::from(r)));
            }
            Input::wrap(ps)
        };

        let stream = input
            .streams()
            .best(media::Type::Video)
            .ok_or_else(|| MediaError::new(ErrorKind::UnsupportedCodec, format!("{display}: no video stream")))?;
        let params = stream.parameters().clone();
        if !whitelist::is_video_codec(params.id()) || ffmpeg_next::decoder::find(params.id()).is_none() {
            return Err(MediaError::new(
                ErrorKind::UnsupportedCodec,
                format!("{display}: no decoder for {:?}", params.id()),
            ));
        }
        check_size(&params, config.max_video_size, &display)?;
        let info = StreamInfo {
            params,
            time_base: stream.time_base(),
            live,
            stream_path: display,
            wall_base: live.then(SystemTime::now),
            max_size: config.max_video_size,
        };
        let stream_index = stream.index();
        // Only ISO BMFF sample tables give an exact packet count (AVI/MKV headers may not).
        let exact_count = input.format().name().contains("mp4");
        let declared_frames = if exact_count { stream.frames() } else { 0 };
        Ok(AvSource {
            input,
            interrupt,
            stream_index,
            info,
            stall_timeout: config.stall_timeout,
            declared_frames,
            packets_read: 0,
            eof: false,
        })
    }

    /// Overrides the reported stream path (e.g. `obs://bucket/key` instead of a presigned URL).
    pub fn set_stream_path(&mut self, path: String) {
        self.info.stream_path = path;
    }
}

impl Source for AvSource {
    fn info(&self) -> &StreamInfo {
        &self.info
    }

    fn read(&mut self) -> Result<Option<EncodedPacket>> {
        if self.eof {
            return Ok(None);
        }
        loop {
            self.interrupt.arm(self.stall_timeout);
            let mut pkt = Packet::empty();
            match pkt.read(&mut self.input) {
                Ok(()) => {}
                Err(ffmpeg_next::Error::Eof) => {
                    self.eof = true;
                    // A container that declares more packets than it holds was cut short.
                    if !self.info.live && self.declared_frames > 0 && self.packets_read < self.declared_frames {
                        return Err(MediaError::new(
                            ErrorKind::CorruptData,
                            format!(
                                "{}: truncated, {} of {} packets present",
                                self.info.stream_path, self.packets_read, self.declared_frames
                            ),
                        ));
                    }
                    return Ok(None);
                }
                Err(e) => return Err(self.interrupt.map("reading", e)),
            }
            if pkt.stream() != self.stream_index {
                continue;
            }
            self.packets_read += 1;
            let key = pkt.is_key();
            return Ok(Some(EncodedPacket {
                packet: pkt,
                key,
                new_params: None,
            }));
        }
    }
}
