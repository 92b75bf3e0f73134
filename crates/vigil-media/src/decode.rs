//! libavcodec video decoding into [`Frame`]s.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use ffmpeg_next::codec::{self, threading, Parameters};
use ffmpeg_next::format::Pixel;
use ffmpeg_next::frame::Video as AvFrame;
use ffmpeg_next::software::scaling;
use ffmpeg_next::{Discard, Rational};

use crate::decode_slots::DecodeSlots;
use crate::error::{ErrorKind, MediaError, Result};
use crate::frame::Frame;
use crate::reference_picture::NalLayout;
use crate::source::EncodedPacket;

/// Decoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Decode only key frames: other packets never reach the decoder and the decoder itself
    /// discards non-key pictures (`AVDISCARD_NONKEY`).
    pub keyframes_only: bool,
    /// libavcodec threads for this stream (1 = single-threaded; many streams share the cores).
    pub threads: usize,
    /// Consecutive undecodable packets tolerated before the stream is declared corrupt.
    pub max_consecutive_errors: u32,
    /// The reader skips the deblocking filter of reference pictures no subscriber will sample
    /// (see [`Decoder::set_skip_deblocking`]); default true.
    pub skip_unsampled_deblocking: bool,
    /// A reference picture one picture before a sample's due time takes the sample, so the
    /// non-reference picture at the due time is not decoded (see [`Decoder::sample_lead`]);
    /// default true. False: samples at the due times exactly.
    pub sample_reference_pictures: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            keyframes_only: false,
            threads: 1,
            max_consecutive_errors: 100,
            skip_unsampled_deblocking: true,
            sample_reference_pictures: true,
        }
    }
}

/// `when_skipping` while skipping, else libavcodec's default (skip nothing that matters).
fn discard(skip: bool, when_skipping: ffmpeg_next::ffi::AVDiscard) -> ffmpeg_next::ffi::AVDiscard {
    if skip {
        when_skipping
    } else {
        ffmpeg_next::ffi::AVDiscard::AVDISCARD_DEFAULT
    }
}

/// Timing attached to a decoded picture.
struct PendingTime {
    wall_base: Option<SystemTime>,
}

/// One stream's decoder.
pub struct Decoder {
    inner: ffmpeg_next::decoder::Video,
    opts: DecodeOptions,
    time_base: Rational,
    start_pts: Option<i64>,
    /// Media time of the previous picture and the step before it.
    last_time: Option<(Duration, Duration)>,
    /// The shortest time seen between two decoded pictures: the stream's picture step, even
    /// while non-reference pictures are skipped (then decoded pictures are further apart).
    min_step: Option<Duration>,
    timing: PendingTime,
    scaler: Option<(Pixel, u32, u32, scaling::Context)>,
    /// Largest picture accepted (width, height); larger ones end the stream.
    max_size: Option<(u32, u32)>,
    consecutive_errors: u32,
    /// Pictures produced so far.
    pub decoded: u64,
    /// Packets given to libavcodec so far.
    pub packets_sent: u64,
    /// Packets rejected by libavcodec (corrupt or undecodable).
    pub packet_errors: u64,
    /// Non-reference pictures are being discarded (see [`Decoder::set_skip_nonref`]).
    skipping_nonref: bool,
    /// The deblocking filter is being skipped (see [`Decoder::set_skip_deblocking`]).
    skipping_deblocking: bool,
    /// How packets carry NAL units (H.264/H.265), to tell reference pictures before decoding.
    nal: Option<NalLayout>,
    /// Packet timestamps of the pictures sent lately and whether each is a reference picture,
    /// for the decoded frames (a short window: pictures come out a few packets later).
    references: VecDeque<(i64, bool)>,
    /// The stream has shown a non-reference picture.
    has_nonref: bool,
}

/// Pictures remembered in [`Decoder::references`]: far more than any reorder delay.
const REFERENCE_WINDOW: usize = 32;

impl Decoder {
    /// Opens a decoder for a stream with codec `params`, whose packet timestamps are in
    /// `time_base`.
    pub fn new(params: &Parameters, time_base: Rational, opts: DecodeOptions) -> Result<Self> {
        Self::with_limit(params, time_base, opts, None)
    }

    /// [`Decoder::new`] refusing pictures larger than `max_size` (width, height): libavcodec
    /// itself refuses to allocate more pixels than that (`max_pixels`), and decoded pictures
    /// wider or taller than the limit (a mid-stream size change) end the stream.
    pub fn with_limit(
        params: &Parameters,
        time_base: Rational,
        opts: DecodeOptions,
        max_size: Option<(u32, u32)>,
    ) -> Result<Self> {
        crate::init();
        if !crate::whitelist::is_video_codec(params.id()) {
            return Err(MediaError::new(
                ErrorKind::UnsupportedCodec,
                format!("{:?} is not a video codec we decode", params.id()),
            ));
        }
        let id = params.id();
        let nal = NalLayout::of(params);
        let mut ctx = codec::Context::from_parameters(params.clone())
            .map_err(|e| MediaError::from_ffmpeg("decoder parameters", e))?;
        let mut threads = threading::Config::default();
        threads.kind = if opts.threads > 1 {
            threading::Type::Frame
        } else {
            threading::Type::None
        };
        threads.count = opts.threads.max(1);
        ctx.set_threading(threads);
        // SAFETY: av_opt_set on the codec context we own, before it is opened; the strings
        // are NUL-terminated literals or a CString that outlives the call.
        unsafe {
            let raw = ctx.as_mut_ptr() as *mut std::ffi::c_void;
            let list = std::ffi::CString::new(crate::whitelist::DECODERS).unwrap_or_default();
            ffmpeg_next::ffi::av_opt_set(raw, c"codec_whitelist".as_ptr(), list.as_ptr(), 0);
            if let Some((w, h)) = max_size {
                let pixels = i64::from(w) * i64::from(h);
                ffmpeg_next::ffi::av_opt_set_int(raw, c"max_pixels".as_ptr(), pixels, 0);
            }
        }
        let mut dec = ctx.decoder();
        dec.set_packet_time_base(time_base);
        if opts.keyframes_only {
            dec.skip_frame(Discard::NonKey);
        }
        if ffmpeg_next::decoder::find(id).is_none() {
            return Err(MediaError::new(
                ErrorKind::UnsupportedCodec,
                format!("no decoder for codec {id:?}"),
            ));
        }
        let inner = dec.video().map_err(|e| {
            let mut err = MediaError::from_ffmpeg("opening decoder", e);
            if err.kind() != ErrorKind::UnsupportedCodec {
                err = MediaError::new(ErrorKind::UnsupportedCodec, err.message().to_string());
            }
            err
        })?;
        Ok(Decoder {
            inner,
            opts,
            time_base,
            start_pts: None,
            last_time: None,
            min_step: None,
            timing: PendingTime { wall_base: None },
            scaler: None,
            max_size,
            consecutive_errors: 0,
            decoded: 0,
            packets_sent: 0,
            packet_errors: 0,
            skipping_nonref: false,
            skipping_deblocking: false,
            nal,
            references: VecDeque::with_capacity(REFERENCE_WINDOW),
            has_nonref: false,
        })
    }

    /// Codec name (e.g. `h264`).
    pub fn codec_name(&self) -> String {
        self.inner.codec().map(|c| c.name().to_string()).unwrap_or_default()
    }

    /// Swaps in a decoder for new codec parameters (mid-stream change), keeping the time origin
    /// and counters of this one.
    pub fn replace_with(self, mut next: Decoder) -> Decoder {
        next.start_pts = self.start_pts;
        next.last_time = self.last_time;
        next.min_step = self.min_step;
        next.timing.wall_base = self.timing.wall_base;
        next.decoded = self.decoded;
        next.packets_sent = self.packets_sent;
        next.packet_errors = self.packet_errors;
        next.max_size = next.max_size.or(self.max_size);
        next.has_nonref = self.has_nonref;
        next
    }

    /// Sets the wall-clock time of media time zero (live sources).
    pub fn set_wall_base(&mut self, wall: Option<SystemTime>) {
        self.timing.wall_base = wall;
    }

    /// Feeds one packet. Returns `Ok(false)` if the packet was skipped (key-frames-only mode).
    /// Undecodable packets are counted; too many in a row is a `CorruptData` error.
    pub fn send(&mut self, pkt: &EncodedPacket) -> Result<bool> {
        if self.opts.keyframes_only && !pkt.key {
            return Ok(false);
        }
        self.packets_sent += 1;
        let sent = {
            let _slot = DecodeSlots::global().acquire();
            self.inner.send_packet(&pkt.packet)
        };
        match sent {
            Ok(()) => {
                self.consecutive_errors = 0;
                Ok(true)
            }
            Err(ffmpeg_next::Error::Other { errno }) if errno == ffmpeg_next::error::EAGAIN => {
                // Output must be drained first; the caller always drains after each send, so
                // this only happens with frame threading. Treat as accepted after draining.
                Ok(true)
            }
            Err(e) => {
                // libavcodec refused a picture over `max_pixels`: the stream changed to a size
                // we do not accept, which no later packet will fix.
                self.check_size()?;
                self.packet_errors += 1;
                self.consecutive_errors += 1;
                if self.consecutive_errors > self.opts.max_consecutive_errors {
                    return Err(MediaError::from_ffmpeg("decoding", e).with_kind_if_internal());
                }
                Ok(true)
            }
        }
    }

    /// Refuses the picture size the decoder has seen in the bitstream when it exceeds the limit.
    fn check_size(&self) -> Result<()> {
        let Some((mw, mh)) = self.max_size else {
            return Ok(());
        };
        // SAFETY: reading two plain fields of the codec context we own.
        let (w, h) = unsafe {
            let raw = self.inner.as_ptr();
            ((*raw).width, (*raw).height)
        };
        let (w, h) = (u32::try_from(w).unwrap_or(0), u32::try_from(h).unwrap_or(0));
        if w > mw || h > mh {
            return Err(MediaError::new(
                ErrorKind::UnsupportedCodec,
                format!("picture {w}x{h} exceeds the limit {mw}x{mh}"),
            ));
        }
        Ok(())
    }

    /// Media time of a packet's picture (its presentation timestamp), once the time origin is
    /// known (after the first decoded picture).
    pub fn packet_time(&self, pkt: &EncodedPacket) -> Option<Duration> {
        let pts = pkt.packet.pts()?;
        let start = self.start_pts?;
        Some(ticks_to_duration(pts.saturating_sub(start), self.time_base))
    }

    /// Whether `pkt`'s picture is a reference picture (read from its NAL headers; `None` for
    /// codecs other than H.264/H.265 or packets without a slice). The answer is kept for the
    /// decoded frame ([`Frame::reference`]).
    pub fn note_reference(&mut self, pkt: &EncodedPacket) -> Option<bool> {
        let reference = self.nal.and_then(|nal| nal.is_reference(pkt.packet.data()?))?;
        self.has_nonref |= !reference;
        if let Some(pts) = pkt.packet.pts() {
            if self.references.len() == REFERENCE_WINDOW {
                self.references.pop_front();
            }
            self.references.push_back((pts, reference));
        }
        Some(reference)
    }

    /// How long before its due time a picture may be sampled (see
    /// [`Sampler::accept_early`](crate::Sampler::accept_early)): one picture step for a
    /// reference picture of a stream that has non-reference pictures (decoding it costs
    /// nothing extra, and the non-reference picture at the due time is then not decoded at
    /// all), zero otherwise or when [`DecodeOptions::sample_reference_pictures`] is off.
    pub fn sample_lead(&self, reference: Option<bool>) -> Duration {
        match (reference, self.frame_step()) {
            (Some(true), Some(step)) if self.has_nonref && self.opts.sample_reference_pictures => step,
            _ => Duration::ZERO,
        }
    }

    /// The time between two pictures of the stream (the shortest seen between two decoded ones).
    pub fn frame_step(&self) -> Option<Duration> {
        self.min_step
    }

    /// Lets libavcodec discard non-reference pictures (no other picture is predicted from
    /// them, so skipping one changes nothing else) for the packets sent until switched back.
    /// The reader sets it for pictures no subscriber will sample.
    pub fn set_skip_nonref(&mut self, skip: bool) {
        if self.opts.keyframes_only || skip == self.skipping_nonref {
            return;
        }
        self.skipping_nonref = skip;
        let mode = discard(skip, ffmpeg_next::ffi::AVDiscard::AVDISCARD_NONREF);
        // SAFETY: a plain field of the codec context we own; libavcodec reads it per picture.
        unsafe {
            (*self.inner.as_mut_ptr()).skip_frame = mode;
        }
    }

    /// Lets libavcodec skip the in-loop deblocking filter (`skip_loop_filter`) of the pictures
    /// sent until switched back. The reader sets it for reference pictures no subscriber will
    /// sample: deblocking is about a third of H.264 decoding, and the pictures predicted from an
    /// unfiltered reference differ from the encoder's by faint block edges until the next key
    /// frame (mean |Δluma| 0.55 on the pedestrian clip, `tests/files.rs`), far below what a
    /// detector working on a downscaled frame sees. Sampled pictures are filtered as usual.
    pub fn set_skip_deblocking(&mut self, skip: bool) {
        if self.opts.keyframes_only || skip == self.skipping_deblocking {
            return;
        }
        self.skipping_deblocking = skip;
        let mode = discard(skip, ffmpeg_next::ffi::AVDiscard::AVDISCARD_ALL);
        // SAFETY: a plain field of the codec context we own; libavcodec reads it per slice.
        unsafe {
            (*self.inner.as_mut_ptr()).skip_loop_filter = mode;
        }
    }

    /// Signals end of stream; then drain with [`Decoder::receive`].
    pub fn send_eof(&mut self) {
        // Errors here only mean "already flushed".
        let _ = self.inner.send_eof();
    }

    /// Takes the next decoded picture, if any, as a [`Frame`] with the given index/session.
    pub fn receive(&mut self, index: u64, session: u32) -> Result<Option<Frame>> {
        // Flushing decodes here, and pixel-format conversion is CPU work too.
        let _slot = DecodeSlots::global().acquire();
        let mut pic = AvFrame::empty();
        match self.inner.receive_frame(&mut pic) {
            Ok(()) => {}
            Err(ffmpeg_next::Error::Eof) => return Ok(None),
            Err(ffmpeg_next::Error::Other { errno }) if errno == ffmpeg_next::error::EAGAIN => return Ok(None),
            Err(e) => return Err(MediaError::from_ffmpeg("decoding", e).with_kind_if_internal()),
        }
        self.decoded += 1;
        if let Some((mw, mh)) = self.max_size {
            if pic.width() > mw || pic.height() > mh {
                return Err(MediaError::new(
                    ErrorKind::UnsupportedCodec,
                    format!("picture {}x{} exceeds the limit {mw}x{mh}", pic.width(), pic.height()),
                ));
            }
        }
        let key = pic.is_key() || matches!(pic.kind(), ffmpeg_next::picture::Type::I);
        let pts = pic.timestamp().or(pic.pts());
        // Media time counts from the first picture (containers may start at an offset, and
        // AVI's decode-order timestamps put the first picture after the reorder delay).
        if self.start_pts.is_none() {
            self.start_pts = match pts {
                Some(p) => Some(p),
                // libavformat's RTP demuxer (rtsps://) leaves the very first picture untimed;
                // its timestamps count from that first packet, so it is time zero.
                None if self.timing.wall_base.is_some() => Some(0),
                None => None,
            };
        }
        let media_time = match (pts, self.start_pts) {
            (Some(p), Some(s)) => ticks_to_duration(p.saturating_sub(s), self.time_base),
            // No timestamp (e.g. pictures flushed at the end of an AVI): continue the cadence.
            _ => match self.last_time {
                Some((t, step)) => t + step,
                None => Duration::ZERO,
            },
        };
        let step = self
            .last_time
            .map(|(t, step)| media_time.checked_sub(t).unwrap_or(step))
            .unwrap_or_default();
        self.last_time = Some((media_time, step));
        if !step.is_zero() {
            self.min_step = Some(self.min_step.map_or(step, |m| m.min(step)));
        }
        let wall = self.timing.wall_base.map(|w| w + media_time);
        let reference = pic.pts().and_then(|p| {
            let at = self.references.iter().position(|(pts, _)| *pts == p)?;
            self.references.remove(at).map(|(_, r)| r)
        });
        let pic = self.convert_to_yuv420(pic)?;
        Ok(Some(Frame::new(pic, index, session, media_time, wall, key, reference)))
    }

    fn convert_to_yuv420(&mut self, pic: AvFrame) -> Result<AvFrame> {
        let fmt = pic.format();
        if matches!(fmt, Pixel::YUV420P | Pixel::YUVJ420P) {
            return Ok(pic);
        }
        let (w, h) = (pic.width(), pic.height());
        let rebuild = !matches!(&self.scaler, Some((f, sw, sh, _)) if *f == fmt && *sw == w && *sh == h);
        if rebuild {
            let ctx =
                scaling::Context::get(fmt, w, h, Pixel::YUV420P, w, h, scaling::Flags::BILINEAR).map_err(|e| {
                    MediaError::new(
                        ErrorKind::UnsupportedCodec,
                        format!("cannot convert pixel format {fmt:?}: {e}"),
                    )
                })?;
            self.scaler = Some((fmt, w, h, ctx));
        }
        let mut out = AvFrame::empty();
        if let Some((_, _, _, ctx)) = self.scaler.as_mut() {
            ctx.run(&pic, &mut out)
                .map_err(|e| MediaError::new(ErrorKind::Internal, format!("swscale: {e}")))?;
        }
        out.set_pts(pic.pts());
        Ok(out)
    }
}

pub(crate) fn ticks_to_duration(ticks: i64, tb: Rational) -> Duration {
    if ticks <= 0 || tb.denominator() == 0 {
        return Duration::ZERO;
    }
    let num = i128::from(ticks) * i128::from(tb.numerator()) * 1_000_000_000;
    let nanos = num / i128::from(tb.denominator());
    Duration::from_nanos(u64::try_from(nanos.max(0)).unwrap_or(u64::MAX))
}

impl MediaError {
    /// Decoding errors that libav reports as generic are bitstream trouble.
    fn with_kind_if_internal(self) -> Self {
        if self.kind() == ErrorKind::Internal {
            MediaError::new(ErrorKind::CorruptData, self.message().to_string())
        } else {
            self
        }
    }
}
