//! Frame sampling at a target analysis rate.

use std::time::Duration;

/// Lets through at most `fps` frames per second of stream time, evenly spaced. Sampling is by
/// media time, so it is exact for files read faster than real time; it restarts on every new
/// session (reconnect), whose media time starts again at zero.
///
/// A picture may be taken up to a `lead` before its due time (the reader gives one picture step
/// for reference pictures of streams that have non-reference ones): the grid stays where it is,
/// each sample lies within one picture of it, and the non-reference picture at the due time then
/// need not be decoded.
#[derive(Debug, Clone)]
pub struct Sampler {
    interval: Option<Duration>,
    next_due: Option<Duration>,
    session: u32,
    /// The due time a picture has already been wanted for ([`Sampler::wants`]): later pictures
    /// need not stand in for it.
    promised: Option<Duration>,
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
            promised: None,
        }
    }

    /// Whether a picture at `t` may be the next one [`Sampler::accept`]s, asked once per picture
    /// before it is decoded, in decode order (`step` = time between pictures): false for
    /// pictures before the next due time, for those after a picture already wanted for it, and
    /// for those after the picture at the due time (unless well past it: a missing picture
    /// restarts the grid). Pictures it says no to may be left undecoded. `lead` as for
    /// [`Sampler::accept_early`].
    pub fn wants(&mut self, session: u32, t: Duration, step: Duration, lead: Duration) -> bool {
        let (Some(_), Some(due)) = (self.interval, self.next_due) else {
            return true;
        };
        if session != self.session {
            return true;
        }
        let slack = Duration::from_micros(500);
        if t + self.lead(lead) + slack < due {
            return false;
        }
        // Decode order runs ahead of presentation by a few pictures (B-frames): a picture
        // more than 4 steps past the due time means the due one never came.
        let overdue = t >= due + step * 4;
        if self.promised == Some(due) && !overdue {
            return false;
        }
        if t <= due + slack {
            self.promised = Some(due);
            return true;
        }
        t < due + step + slack || overdue
    }

    /// Whether the frame at `t` (of connection `session`) should be delivered.
    pub fn accept(&mut self, session: u32, t: Duration) -> bool {
        self.accept_early(session, t, Duration::ZERO)
    }

    /// [`Sampler::accept`] for a picture that may be taken up to `lead` before its due time
    /// (ignored unless the sampling interval is at least twice the lead).
    pub fn accept_early(&mut self, session: u32, t: Duration, lead: Duration) -> bool {
        let lead = self.lead(lead);
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
            Some(due) if t + lead + slack < due => false,
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

impl Sampler {
    /// The lead that applies: none when samples are so close that it would bunch them.
    fn lead(&self, lead: Duration) -> Duration {
        match self.interval {
            Some(interval) if lead * 2 <= interval => lead,
            _ => Duration::ZERO,
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

    /// 25 fps with x264's B-pyramid (P every 4th picture, a reference B between): every sample
    /// falls on a reference picture within one picture of the 5 fps grid, so no non-reference
    /// picture is wanted, and the grid does not drift.
    #[test]
    fn reference_pictures_one_step_early_take_the_sample() {
        let step = Duration::from_millis(40);
        let mut s = Sampler::new(Some(5.0));
        let mut taken = Vec::new();
        for i in 0..100u64 {
            let t = step * i as u32;
            let reference = i % 2 == 0;
            let lead = if reference { step } else { Duration::ZERO };
            if !reference {
                assert!(!s.wants(0, t, step, lead), "non-reference picture {i}");
            }
            if s.accept_early(0, t, lead) {
                taken.push(i);
            }
        }
        assert_eq!(taken[..8], [0, 4, 10, 14, 20, 24, 30, 34]);
        assert_eq!(taken.len(), 20);
        assert!(taken
            .iter()
            .enumerate()
            .all(|(k, &i)| (k as i64 * 5 - i as i64).abs() <= 1));
        // At 25 of 25 fps the lead would bunch samples: it is ignored.
        let mut all = Sampler::new(Some(25.0));
        assert!((0..10u32).all(|i| all.accept_early(0, step * i, step)));
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
