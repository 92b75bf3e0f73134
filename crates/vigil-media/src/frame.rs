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
    ) -> Self {
        Frame(Arc::new(FrameInner {
            picture,
            index,
            session,
            media_time,
            wall_time,
            key,
        }))
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
    /// analysed frame, not per consumer.
    pub fn to_rgb24(&self) -> Result<Vec<u8>> {
        let (w, h) = (self.width(), self.height());
        let mut ctx = scaling::Context::get(
            self.0.picture.format(),
            w,
            h,
            Pixel::RGB24,
            w,
            h,
            scaling::Flags::BILINEAR,
        )
        .map_err(|e| MediaError::new(ErrorKind::Internal, format!("swscale: {e}")))?;
        let mut out = AvFrame::empty();
        ctx.run(&self.0.picture, &mut out)
            .map_err(|e| MediaError::new(ErrorKind::Internal, format!("swscale: {e}")))?;
        let stride = out.stride(0);
        let data = out.data(0);
        let row = w as usize * 3;
        let mut rgb = Vec::with_capacity(row * h as usize);
        for y in 0..h as usize {
            rgb.extend_from_slice(&data[y * stride..y * stride + row]);
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
