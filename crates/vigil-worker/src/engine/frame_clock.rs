//! Frame time for analyzers: media time for files, wall-clock for live streams, both relative
//! to the source's first frame; and the epoch seconds of alarms.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use vigil_media::Frame;

#[derive(Debug, Clone)]
pub struct FrameClock {
    /// Wall time of the first live frame.
    first_wall: Option<SystemTime>,
    /// Epoch at which a file's media time 0 is placed (when it started being analysed).
    file_epoch: f64,
}

impl Default for FrameClock {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameClock {
    pub fn new() -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs_f64();
        FrameClock {
            first_wall: None,
            file_epoch: now,
        }
    }

    /// `(seconds since the stream started, epoch seconds)` of a frame.
    pub fn times(&mut self, frame: &Frame) -> (f64, i64) {
        match frame.wall_time() {
            Some(wall) => {
                let first = *self.first_wall.get_or_insert(wall);
                let rel = wall.duration_since(first).unwrap_or(Duration::ZERO).as_secs_f64();
                let epoch = wall.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs() as i64;
                (rel, epoch)
            }
            None => {
                let t = frame.media_time().as_secs_f64();
                (t, (self.file_epoch + t) as i64)
            }
        }
    }
}
