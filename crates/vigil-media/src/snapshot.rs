//! JPEG snapshots of decoded frames (libavcodec's MJPEG encoder), e.g. VIAS `image`.

use base64::Engine;
use ffmpeg_next::codec::{self, Id};
use ffmpeg_next::format::Pixel;
use ffmpeg_next::frame::Video as AvFrame;
use ffmpeg_next::software::scaling;
use ffmpeg_next::{Packet, Rational};

use crate::error::{ErrorKind, MediaError, Result};
use crate::frame::Frame;

/// Encodes `frame` as a baseline JPEG. `quality` is libav's qscale (2 = best … 31 = worst);
/// 5 gives photos of about 1 bit per pixel.
pub fn encode_jpeg(frame: &Frame, quality: u8) -> Result<Vec<u8>> {
    encode_jpeg_fit(frame, quality, u32::MAX)
}

/// The size of a `w`x`h` picture scaled down (never up) so its longest side is at most
/// `max_side`, keeping the aspect ratio; sides stay even (4:2:0) and at least 2.
pub fn fit_size(w: u32, h: u32, max_side: u32) -> (u32, u32) {
    let longest = w.max(h);
    if longest <= max_side || longest == 0 {
        return (w, h);
    }
    let scale = |side: u32| {
        let s = (u64::from(side) * u64::from(max_side) / u64::from(longest)) as u32;
        (s & !1).max(2)
    };
    (scale(w), scale(h))
}

/// [`encode_jpeg`] of the frame scaled down to fit `max_side` (stored snapshots stay small
/// whatever the camera's resolution).
pub fn encode_jpeg_fit(frame: &Frame, quality: u8, max_side: u32) -> Result<Vec<u8>> {
    crate::init();
    let err = |what: &str, e: ffmpeg_next::Error| MediaError::new(ErrorKind::Internal, format!("JPEG {what}: {e}"));
    let (sw, sh) = (frame.width(), frame.height());
    if sw == 0 || sh == 0 {
        return Err(MediaError::new(ErrorKind::Internal, "JPEG: empty frame"));
    }
    let (w, h) = fit_size(sw, sh, max_side);
    let codec = ffmpeg_next::encoder::find(Id::MJPEG)
        .ok_or_else(|| MediaError::new(ErrorKind::Internal, "libavcodec has no MJPEG encoder"))?;
    let mut enc = codec::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(|e| err("encoder", e))?;
    enc.set_width(w);
    enc.set_height(h);
    enc.set_format(Pixel::YUVJ420P);
    enc.set_time_base(Rational::new(1, 25));
    enc.set_flags(codec::Flags::QSCALE);
    let q = i32::from(quality.clamp(2, 31)) * ffmpeg_next::ffi::FF_QP2LAMBDA;
    enc.set_global_quality(q);
    let mut enc = enc.open_as(codec).map_err(|e| err("encoder", e))?;

    // Full-range 4:2:0 as JPEG wants it.
    let mut pic = AvFrame::empty();
    let mut sws = scaling::Context::get(
        frame.av_frame().format(),
        sw,
        sh,
        Pixel::YUVJ420P,
        w,
        h,
        scaling::Flags::BILINEAR,
    )
    .map_err(|e| err("conversion", e))?;
    sws.run(frame.av_frame(), &mut pic).map_err(|e| err("conversion", e))?;
    pic.set_pts(Some(0));
    // SAFETY: plain field write on a frame we own.
    unsafe {
        (*pic.as_mut_ptr()).quality = q;
    }
    enc.send_frame(&pic).map_err(|e| err("encoding", e))?;
    enc.send_eof().map_err(|e| err("encoding", e))?;
    let mut pkt = Packet::empty();
    enc.receive_packet(&mut pkt).map_err(|e| err("encoding", e))?;
    Ok(pkt.data().map(<[u8]>::to_vec).unwrap_or_default())
}

/// Base64 (standard alphabet, padded) of bytes, as VIAS `image` fields carry them.
pub fn to_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::fit_size;

    #[test]
    fn snapshots_fit_the_longest_side() {
        assert_eq!(fit_size(768, 576, 1280), (768, 576));
        assert_eq!(fit_size(3840, 2160, 1280), (1280, 720));
        assert_eq!(fit_size(2160, 3840, 1280), (720, 1280));
        assert_eq!(fit_size(4096, 3, 1280), (1280, 2));
    }
}
