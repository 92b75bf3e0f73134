//! Decoded frames. A [`Frame`] is a cheap handle (`Arc`) on one decoded picture in planar
//! YUV 4:2:0 (8 bit); every consumer of a stream gets the same picture without a copy.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ffmpeg_next::format::Pixel;
use ffmpeg_next::frame::Video as AvFrame;
use ffmpeg_next::software::scaling;

use crate::error::{ErrorKind, MediaError, Result};

/// One decoded picture and where it sits in time.
#[derive(Clone)]
pub struct Frame(Arc<FrameInner>);

struct FrameInner {
    picture: AvFrame,
    index: u64,
    session: u32,
    media_time: Duration,
    wall_time: Option<SystemTime>,
    key: bool,
    reference: Option<bool>,
}

impl Frame {
    /// Wraps a decoded YUV420P (or YUVJ420P) picture.
    pub(crate) fn new(
        picture: AvFrame,
        index: u64,
        session: u32,
        media_time: Duration,
        wall_time: Option<SystemTime>,
        key: bool,
        reference: Option<bool>,
    ) -> Self {
        Frame(Arc::new(FrameInner {
            picture,
            index,
            session,
            media_time,
            wall_time,
            key,
            reference,
        }))
    }

    /// A frame from tightly packed YUV 4:2:0 planes (`y`: `width*height` bytes, `u`/`v`:
    /// `ceil(width/2)*ceil(height/2)` each), e.g. pictures made or altered by the caller (quality
    /// tests, benchmarks). Index and session are 0.
    pub fn from_yuv420p(width: u32, height: u32, planes: [&[u8]; 3], media_time: Duration) -> Result<Frame> {
        let (w, h) = (width as usize, height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let sizes = [(w, h), (cw, ch), (cw, ch)];
        if w == 0 || h == 0 || planes.iter().zip(sizes).any(|(p, (pw, ph))| p.len() != pw * ph) {
            return Err(MediaError::new(
                ErrorKind::Internal,
                "YUV420P planes do not match the size",
            ));
        }
        let mut pic = AvFrame::new(Pixel::YUV420P, width, height);
        for (i, (src, (pw, ph))) in planes.iter().zip(sizes).enumerate() {
            let stride = pic.stride(i);
            let dst = pic.data_mut(i);
            for r in 0..ph {
                dst[r * stride..r * stride + pw].copy_from_slice(&src[r * pw..(r + 1) * pw]);
            }
        }
        Ok(Frame::new(pic, 0, 0, media_time, None, false, None))
    }

    pub fn width(&self) -> u32 {
        self.0.picture.width()
    }

    pub fn height(&self) -> u32 {
        self.0.picture.height()
    }

    /// 0-based index of this frame among all frames decoded by the reader (across reconnects).
    pub fn index(&self) -> u64 {
        self.0.index
    }

    /// Connection number: 0 for the first session, incremented on every reconnect. Media time
    /// restarts with each session.
    pub fn session(&self) -> u32 {
        self.0.session
    }

    /// Presentation time relative to the start of the stream (files: media time from the
    /// container; live: RTP time since the session's first frame).
    pub fn media_time(&self) -> Duration {
        self.0.media_time
    }

    /// Wall-clock capture time for live sources (arrival time of the session's first frame plus
    /// the RTP time offset); `None` for files.
    pub fn wall_time(&self) -> Option<SystemTime> {
        self.0.wall_time
    }

    /// Whether the picture was a key frame (IDR / intra).
    pub fn is_key(&self) -> bool {
        self.0.key
    }

    /// Whether other pictures are predicted from this one (H.264/H.265, read from the packet);
    /// `None` when unknown.
    pub fn reference(&self) -> Option<bool> {
        self.0.reference
    }

    /// Plane `i` (0 = Y, 1 = U, 2 = V) including row padding; see [`Frame::stride`].
    pub fn plane(&self, i: usize) -> &[u8] {
        if i >= 3 {
            return &[];
        }
        self.0.picture.data(i)
    }

    /// Bytes per row of plane `i`.
    pub fn stride(&self, i: usize) -> usize {
        if i >= 3 {
            return 0;
        }
        self.0.picture.stride(i)
    }

    /// Iterates the luma rows (exactly `width` bytes each).
    pub fn luma_rows(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let w = self.width() as usize;
        let stride = self.stride(0).max(1);
        self.plane(0)
            .chunks(stride)
            .take(self.height() as usize)
            .map(move |r| &r[..w.min(r.len())])
    }

    /// The underlying libav picture (YUV420P/YUVJ420P), for callers that feed other libav code.
    pub fn av_frame(&self) -> &AvFrame {
        &self.0.picture
    }

    /// Converts to packed RGB24 (`width * height * 3` bytes). This copies; do it once per
    /// analysed frame, not per consumer. Use an [`RgbConverter`] to convert many frames.
    pub fn to_rgb24(&self) -> Result<Vec<u8>> {
        RgbConverter::default().convert(self, self.width(), self.height())
    }

    /// Converts to packed BGR24 (`width * height * 3` bytes, B first), the layout of
    /// `vigil_vision::ImageBgr`. Use [`RgbConverter::bgr`] to convert many frames.
    pub fn to_bgr24(&self) -> Result<Vec<u8>> {
        RgbConverter::bgr().convert(self, self.width(), self.height())
    }
}

/// Converts frames to packed RGB24 (or BGR24 with [`RgbConverter::bgr`]), optionally resized,
/// reusing one swscale context while the input and output sizes stay the same.
#[derive(Default)]
pub struct RgbConverter {
    ctx: Option<(Pixel, u32, u32, u32, u32, scaling::Context)>,
    bgr: bool,
}

impl RgbConverter {
    /// A converter to packed RGB24 (the default).
    pub fn rgb() -> Self {
        Self::default()
    }

    /// A converter to packed BGR24 (byte order B, G, R), what `vigil_vision::ImageBgr` holds.
    pub fn bgr() -> Self {
        Self { ctx: None, bgr: true }
    }

    /// `out_w * out_h * 3` bytes, rows without padding (bilinear resize if the size differs),
    /// in RGB order, or BGR for a converter made with [`RgbConverter::bgr`].
    pub fn convert(&mut self, frame: &Frame, out_w: u32, out_h: u32) -> Result<Vec<u8>> {
        let (w, h, fmt) = (frame.width(), frame.height(), frame.0.picture.format());
        if w == 0 || h == 0 || out_w == 0 || out_h == 0 {
            return Err(MediaError::new(ErrorKind::Internal, "RGB conversion of an empty size"));
        }
        let reuse = matches!(&self.ctx, Some((f, a, b, c, d, _)) if (*f, *a, *b, *c, *d) == (fmt, w, h, out_w, out_h));
        if !reuse {
            let ctx = scaling::Context::get(
                fmt,
                w,
                h,
                if self.bgr { Pixel::BGR24 } else { Pixel::RGB24 },
                out_w,
                out_h,
                scaling::Flags::BILINEAR,
            )
            .map_err(|e| MediaError::new(ErrorKind::Internal, format!("swscale: {e}")))?;
            self.ctx = Some((fmt, w, h, out_w, out_h, ctx));
        }
        let mut out = AvFrame::empty();
        if let Some((.., ctx)) = self.ctx.as_mut() {
            ctx.run(&frame.0.picture, &mut out)
                .map_err(|e| MediaError::new(ErrorKind::Internal, format!("swscale: {e}")))?;
        }
        let stride = out.stride(0);
        let data = out.data(0);
        let row = out_w as usize * 3;
        let mut rgb = Vec::with_capacity(row * out_h as usize);
        for y in 0..out_h as usize {
            let line = data
                .get(y * stride..y * stride + row)
                .ok_or_else(|| MediaError::new(ErrorKind::Internal, "swscale: short output"))?;
            rgb.extend_from_slice(line);
        }
        Ok(rgb)
    }
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("index", &self.0.index)
            .field("session", &self.0.session)
            .field("size", &(self.width(), self.height()))
            .field("media_time", &self.0.media_time)
            .field("key", &self.0.key)
            .finish()
    }
}
