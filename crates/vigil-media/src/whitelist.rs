//! What libavformat and libavcodec may use for a tenant's address: FFmpeg has protocols that
//! read any local file (`file`, `concat`, `subfile`), talk to arbitrary services (`gopher`,
//! `unix`, `sftp`) or take data from the address itself (`data`, `pipe`, `fd`), and demuxers and
//! decoders that draw text into pictures (`tty`/`ansi`, subtitles). Every open names exactly the
//! protocols its scheme needs, the video containers we support, and video decoders only.

use ffmpeg_next::codec::Id;

/// Protocols for an address of `scheme` (lower case), or `None` when we do not open it through
/// libavformat. Sub-protocols are those the scheme's implementation opens itself.
pub fn protocols_for(scheme: &str) -> Option<&'static str> {
    Some(match scheme {
        "rtsp" | "rtsps" => "rtsp,rtsps,rtp,srtp,udp,tcp,tls",
        "http" | "https" => "http,https,tcp,tls",
        "rtmp" | "rtmps" => "rtmp,rtmps,tcp,tls",
        "file" => "file",
        _ => return None,
    })
}

/// Demuxers (by libavformat's names; `mov` stands for the mov/mp4/m4a/3gp family, `matroska`
/// for matroska/webm): the containers of docs/media.md, raw elementary streams, RTSP, the FLV
/// of RTMP and the multipart JPEG of HTTP cameras. Never `concat`, `tty`, `image2`, `sdp`,
/// `hls`, subtitle or text formats.
pub const FORMATS: &str = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,asf,mpeg,mpegts,mpegvideo,flv,live_flv,\
                           h264,hevc,m4v,mjpeg,mpjpeg,ivf,rtsp";

/// Video decoders (libavcodec's names), as libavformat's `codec_whitelist` and our decoders'.
pub const DECODERS: &str = "h264,hevc,mpeg4,mjpeg,mpeg1video,mpeg2video,vp8,vp9,av1,libdav1d,wmv1,wmv2,wmv3,vc1,\
                            msmpeg4v1,msmpeg4v2,msmpeg4,h263,h263p,flv";

/// Whether we decode codec `id` (the ids behind [`DECODERS`]).
pub fn is_video_codec(id: Id) -> bool {
    matches!(
        id,
        Id::H264
            | Id::HEVC
            | Id::MPEG4
            | Id::MJPEG
            | Id::MPEG1VIDEO
            | Id::MPEG2VIDEO
            | Id::VP8
            | Id::VP9
            | Id::AV1
            | Id::WMV1
            | Id::WMV2
            | Id::WMV3
            | Id::VC1
            | Id::MSMPEG4V1
            | Id::MSMPEG4V2
            | Id::MSMPEG4V3
            | Id::H263
            | Id::H263P
            | Id::FLV1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dangerous_protocols_and_formats_are_never_listed() {
        for scheme in ["rtsp", "rtsps", "http", "https", "rtmp", "rtmps", "file"] {
            let list = protocols_for(scheme).expect("known scheme");
            for bad in [
                "concat", "subfile", "gopher", "unix", "data", "pipe", "fd", "sftp", "crypto", "hls",
            ] {
                assert!(!list.split(',').any(|p| p == bad), "{scheme}: {bad}");
            }
        }
        for scheme in ["concat", "subfile", "gopher", "data", "ftp", "unix", ""] {
            assert!(protocols_for(scheme).is_none(), "{scheme}");
        }
        for bad in ["concat", "tty", "image2", "sdp", "hls", "srt", "ass", "subviewer"] {
            assert!(!FORMATS.split(',').any(|f| f == bad), "{bad}");
        }
        for bad in ["ansi", "text", "subrip", "ass", "png", "bintext", "xbin"] {
            assert!(!DECODERS.split(',').any(|d| d == bad), "{bad}");
        }
        assert!(is_video_codec(Id::H264));
        assert!(!is_video_codec(Id::ANSI));
        assert!(!is_video_codec(Id::TEXT));
        assert!(!is_video_codec(Id::PNG));
    }
}
