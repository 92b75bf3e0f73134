//! Time, cancellation and backoff, behind small types so the retry loop runs on simulated time
//! in tests.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rand::{Rng, RngCore};

/// A cancellation flag that sleeping threads can wait on.
#[derive(Clone, Default)]
pub struct CancelToken(Arc<CancelInner>);

#[derive(Default)]
struct CancelInner {
    flag: AtomicBool,
    lock: Mutex<()>,
    cv: Condvar,
}

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.flag.store(true, Ordering::SeqCst);
        let _guard = self.0.lock.lock();
        self.0.cv.notify_all();
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.flag.load(Ordering::SeqCst)
    }

    /// Waits up to `d`; returns `true` if cancelled (before or during the wait).
    pub fn wait_timeout(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        let mut guard = match self.0.lock.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        loop {
            if self.is_cancelled() {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            guard = match self.0.cv.wait_timeout(guard, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }
}

impl std::fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CancelToken({})", self.is_cancelled())
    }
}

/// Monotonic time, wall-clock time and sleeping.
pub trait Clock: Send + Sync {
    /// Monotonic time since an arbitrary origin.
    fn now(&self) -> Duration;
    /// Wall-clock time.
    fn wall(&self) -> SystemTime;
    /// Sleeps for `d` unless cancelled first; returns `false` if cancelled.
    fn sleep(&self, d: Duration, cancel: &CancelToken) -> bool;
}

/// The real clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock { origin: Instant::now() }
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }
    fn sleep(&self, d: Duration, cancel: &CancelToken) -> bool {
        !cancel.wait_timeout(d)
    }
}

/// Simulated time: `sleep` returns at once and advances the clock; every sleep is recorded.
#[derive(Debug, Default)]
pub struct SimulatedClock {
    state: Mutex<SimState>,
}

#[derive(Debug, Default)]
struct SimState {
    now: Duration,
    sleeps: Vec<Duration>,
}

impl SimulatedClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves time forward without a sleep (e.g. time spent "inside" an opener).
    pub fn advance(&self, d: Duration) {
        if let Ok(mut s) = self.state.lock() {
            s.now += d;
        }
    }

    /// All sleeps so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.state.lock().map(|s| s.sleeps.clone()).unwrap_or_default()
    }
}

impl Clock for SimulatedClock {
    fn now(&self) -> Duration {
        self.state.lock().map(|s| s.now).unwrap_or_default()
    }
    fn wall(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000) + self.now()
    }
    fn sleep(&self, d: Duration, cancel: &CancelToken) -> bool {
        if cancel.is_cancelled() {
            return false;
        }
        if let Ok(mut s) = self.state.lock() {
            s.now += d;
            s.sleeps.push(d);
        }
        !cancel.is_cancelled()
    }
}

/// Exponential backoff with proportional jitter and a cap.
///
/// Attempt `n` (0-based) waits `min(max, initial * multiplier^n)` scaled by a uniform factor in
/// `[1 - jitter, 1 + jitter]`, and never more than `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    pub multiplier: f64,
    /// Fraction in `[0, 1)`.
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
            multiplier: 2.0,
            jitter: 0.2,
        }
    }
}

impl Backoff {
    /// The delay before retry number `attempt` (0 = first retry).
    pub fn delay(&self, attempt: u32, rng: &mut dyn RngCore) -> Duration {
        let base = self.initial.as_secs_f64() * self.multiplier.powi(attempt.min(64) as i32);
        let capped = base.min(self.max.as_secs_f64());
        let j = self.jitter.clamp(0.0, 0.99);
        let factor = if j > 0.0 {
            rng.gen_range((1.0 - j)..=(1.0 + j))
        } else {
            1.0
        };
        Duration::from_secs_f64((capped * factor).min(self.max.as_secs_f64()).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn backoff_grows_with_jitter_and_cap() {
        let b = Backoff::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut prev_mid = 0.0;
        for n in 0..12 {
            let d = b.delay(n, &mut rng).as_secs_f64();
            let mid = (0.5 * 2f64.powi(n as i32)).min(30.0);
            assert!(d >= mid * 0.8 - 1e-9 && d <= (mid * 1.2).min(30.0) + 1e-9, "{n}: {d}");
            assert!(d <= 30.0);
            assert!(mid >= prev_mid);
            prev_mid = mid;
        }
        // Jitter actually varies the delays.
        let a: Vec<_> = (0..8).map(|_| b.delay(3, &mut rng)).collect();
        assert!(a.iter().any(|d| *d != a[0]));
    }

    #[test]
    fn cancel_wakes_sleeper() {
        let c = CancelToken::new();
        let c2 = c.clone();
        let t = std::thread::spawn(move || SystemClock::default().sleep(Duration::from_secs(30), &c2));
        std::thread::sleep(Duration::from_millis(50));
        let start = Instant::now();
        c.cancel();
        let completed = t.join().unwrap_or(true);
        assert!(!completed);
        assert!(start.elapsed() < Duration::from_secs(5));
    }
}
