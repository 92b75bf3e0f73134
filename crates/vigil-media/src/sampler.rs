//! Frame sampling at a target analysis rate.

use std::time::Duration;

/// Lets through at most `fps` frames per second of stream time, evenly spaced. Sampling is by
/// media time, so it is exact for files read faster than real time; it restarts on every new
/// session (reconnect), whose media time starts again at zero.
#[derive(Debug, Clone)]
pub struct Sampler {
    interval: Option<Duration>,
    next_due: Option<Duration>,
    session: u32,
}

impl Sampler {
    /// `fps = None` (or `<= 0`) passes every frame.
    pub fn new(fps: Option<f64>) -> Self {
        let interval = fps
            .filter(|f| f.is_finite() && *f > 0.0)
            .map(|f| Duration::from_secs_f64(1.0 / f));
        Sampler {
            interval,
            next_due: None,
            session: 0,
        }
    }

    /// Whether a picture at `t` may be the next one [`Sampler::accept`]s, asked before it is
    /// decoded (`step` = time between pictures): false for pictures before the next due time,
    /// and for those after the picture at the due time (unless well past it: a missing picture
    /// restarts the grid). Pictures it says no to may be left undecoded.
    pub fn wants(&self, session: u32, t: Duration, step: Duration) -> bool {
        let (Some(_), Some(due)) = (self.interval, self.next_due) else {
            return true;
        };
        if session != self.session {
            return true;
        }
        let slack = Duration::from_micros(500);
        if t + slack < due {
            return false;
        }
        // Decode order runs ahead of presentation by a few pictures (B-frames): a picture
        // more than 4 steps past the due time means the due one never came.
        t < due + step + slack || t >= due + step * 4
    }

    /// Whether the frame at `t` (of connection `session`) should be delivered.
    pub fn accept(&mut self, session: u32, t: Duration) -> bool {
        let Some(interval) = self.interval else {
            return true;
        };
        if session != self.session {
            self.session = session;
            self.next_due = None;
        }
        // Half a millisecond of slack absorbs timestamp rounding (e.g. 1/30 s in a 90 kHz base).
        let slack = Duration::from_micros(500);
        match self.next_due {
            Some(due) if t + slack < due => false,
            Some(due) => {
                let mut next = due + interval;
                if next + slack <= t {
                    // After a gap (or going backwards), restart the grid at this frame.
                    next = t + interval;
                }
                self.next_due = Some(next);
                true
            }
            None => {
                self.next_due = Some(t + interval);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_25_to_5_fps() {
        let mut s = Sampler::new(Some(5.0));
        let taken: Vec<u64> = (0..50u64)
            .filter(|i| s.accept(0, Duration::from_millis(i * 40)))
            .collect();
        assert_eq!(taken, vec![0, 5, 10, 15, 20, 25, 30, 35, 40, 45]);
    }

    #[test]
    fn passes_all_without_rate_and_restarts_per_session() {
        let mut all = Sampler::new(None);
        assert!((0..10).all(|i| all.accept(0, Duration::from_millis(i))));
        let mut s = Sampler::new(Some(1.0));
        assert!(s.accept(0, Duration::from_millis(0)));
        assert!(!s.accept(0, Duration::from_millis(500)));
        // New session: media time restarts, first frame passes.
        assert!(s.accept(1, Duration::from_millis(0)));
        assert!(!s.accept(1, Duration::from_millis(900)));
        assert!(s.accept(1, Duration::from_millis(1000)));
    }
}
