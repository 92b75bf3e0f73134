//! Exponential backoff with jitter for failed deliveries.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Delay after the first failure.
    pub base: Duration,
    /// Largest delay; permanent failures wait this long.
    pub cap: Duration,
    /// Fraction of the delay that is randomised (0 = exact, 0.5 = "equal jitter").
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(300),
            jitter: 0.5,
        }
    }
}

impl Backoff {
    /// Delay before the next try after `failures` failed attempts (≥ 1), with `sample` in [0, 1)
    /// drawing the jitter: `min(cap, base·2^(failures-1))`, of which the jitter fraction is random.
    pub fn delay(&self, failures: u32, sample: f64) -> Duration {
        let exp = failures.saturating_sub(1).min(30);
        let full = self.base.saturating_mul(1u32 << exp).min(self.cap);
        let jitter = self.jitter.clamp(0.0, 1.0);
        full.mul_f64(1.0 - jitter + jitter * sample.clamp(0.0, 1.0))
    }

    /// `delay` with a random sample.
    pub fn next_delay(&self, failures: u32) -> Duration {
        self.delay(failures, rand::random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap() {
        let b = Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(300),
            jitter: 0.0,
        };
        let secs: Vec<u64> = (1..=11).map(|n| b.delay(n, 0.7).as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(b.delay(u32::MAX, 0.0), Duration::from_secs(300));
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        let b = Backoff::default();
        assert_eq!(b.delay(4, 0.0), Duration::from_secs(4));
        assert_eq!(b.delay(4, 1.0), Duration::from_secs(8));
        for _ in 0..100 {
            let d = b.next_delay(4);
            assert!(d >= Duration::from_secs(4) && d <= Duration::from_secs(8), "{d:?}");
        }
    }
}
