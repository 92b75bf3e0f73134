//! vigil-media: everything between a camera or file and a decoded frame in memory.
//!
//! * [`SourceSpec`] describes a source (RTSP, file/URL, RESTful, object storage);
//!   [`DefaultOpener`] opens it as a [`Source`] of compressed packets.
//! * [`StreamReader`] runs one supervised reader thread per stream: decode with libavcodec,
//!   sample, fan out [`Frame`]s (shared, never copied) to bounded queues, reconnect with
//!   backoff, publish [`StreamStatus`].
//! * [`probe`] / [`Prober`] check source health for the Video Center: status, snapshot,
//!   quality labels.
//! * Tenants are not trusted: every address passes [`address::check`] (stream schemes, media
//!   roots, egress policy) and every libav open uses the [`whitelist`]s.
//!   `rtsps://` certificates are checked by [`tls_check`] unless the source opts out.
//!
//! See `docs/media.md` for URL forms, error kinds, backoff parameters and quality thresholds.

pub mod address;
pub mod clock;
pub mod decode;
pub mod decode_slots;
pub mod error;
pub mod frame;
pub mod media_roots;
pub mod prober;
pub mod quality;
pub mod queue;
pub mod reader;
pub mod reference_picture;
pub mod sampler;
pub mod snapshot;
pub mod source;
pub mod spec;
pub mod tls_check;
pub mod whitelist;

pub use clock::{Backoff, CancelToken, Clock, SimulatedClock, SystemClock};
pub use decode::{DecodeOptions, Decoder};
pub use decode_slots::DecodeSlots;
pub use error::{ErrorKind, MediaError, Result};
pub use frame::{Frame, RgbConverter};
pub use prober::{
    probe, probe_async, probe_async_with, probe_with, ProbeOptions, ProbeReport, ProbeSamples, ProbeTarget,
    ProbeTargets, Prober, SceneMemory, SourceStatus, DEFAULT_PROBE_INTERVAL,
};
pub use quality::{QualityLabel, QualityThresholds};
pub use queue::{FrameReceiver, Overflow, Recv, SubscriberConfig};
pub use reader::{active_reader_threads, Pace, ReaderConfig, ReaderDeps, ReaderStats, StreamReader, StreamStatus};
pub use sampler::Sampler;
pub use snapshot::{encode_jpeg, encode_jpeg_fit};
pub use source::{DefaultOpener, EncodedPacket, Opener, Source, StreamInfo};
pub use spec::{redact_url, MediaConfig, ObsBackend, RtspTransport, SourceSpec};

/// Initialises libav once (log level: errors only, so corrupt input does not flood logs).
pub fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Only fails on FFmpeg < 4 (no-op registrations); nothing to do about it.
        let _ = ffmpeg_next::init();
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Fatal);
    });
}

#[cfg(test)]
mod tests {
    fn send_sync<T: Send + Sync>() {}

    /// The handles the worker and the Video Center move between threads and tasks.
    #[test]
    fn public_handles_are_send_and_sync() {
        send_sync::<crate::StreamReader>();
        send_sync::<crate::Frame>();
        send_sync::<crate::FrameReceiver>();
        send_sync::<crate::MediaError>();
        send_sync::<crate::ProbeReport>();
        send_sync::<crate::Prober>();
        send_sync::<crate::SourceSpec>();
        send_sync::<crate::DefaultOpener>();
    }
}
