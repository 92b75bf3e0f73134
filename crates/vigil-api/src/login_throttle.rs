//! Brute-force protection of password checks (`/v3/auth/tokens`, password change): failures are
//! counted per user name and per client address. After the n-th failure the next attempt for
//! that name/address must wait `base_delay · 2^(n-3)` (capped at one minute); after
//! `max_failures` the name (or address) is locked for `lockout`. A success clears the name's
//! record. Records are forgotten `lockout` after their last failure. In memory, per server.
//! The first two failures of a name cost nothing (typos); delays start with the third. An
//! address gets half of `max_failures_per_address` before its delays start.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Login throttling settings (`vigil serve --login-…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginPolicy {
    /// Failures of one user name before it is locked.
    pub max_failures_per_user: u32,
    /// Failures from one client address (any user names) before it is locked.
    pub max_failures_per_address: u32,
    pub lockout: Duration,
    /// Wait imposed after the first failure; doubles with each further failure.
    pub base_delay: Duration,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        Self {
            max_failures_per_user: 5,
            max_failures_per_address: 20,
            lockout: Duration::from_secs(900),
            base_delay: Duration::from_secs(1),
        }
    }
}

const MAX_DELAY: Duration = Duration::from_secs(60);
/// Failures that cost nothing yet (typos happen); the delays start after them.
const FREE_FAILURES: u32 = 2;
/// Bound on remembered names/addresses; beyond it the stalest records are dropped.
const MAX_RECORDS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    last_failure: Instant,
}

/// Why an attempt is refused before the password is even checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Locked after too many failures: Huawei IAM's "The account is locked." (401).
    Locked { retry_after: Duration },
    /// Too soon after a failure (429).
    TooSoon { retry_after: Duration },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    Address(IpAddr),
}

pub struct LoginThrottle {
    policy: LoginPolicy,
    records: Mutex<HashMap<Key, Record>>,
}

impl LoginThrottle {
    pub fn new(policy: LoginPolicy) -> Self {
        Self {
            policy,
            records: Mutex::new(HashMap::new()),
        }
    }

    /// `free`: failures before delays start.
    fn verdict(&self, rec: &Record, limit: u32, free: u32, now: Instant) -> Option<Refusal> {
        let since = now.saturating_duration_since(rec.last_failure);
        if rec.failures >= limit.max(1) {
            let left = self.policy.lockout.saturating_sub(since);
            return (!left.is_zero()).then_some(Refusal::Locked { retry_after: left });
        }
        if rec.failures <= free {
            return None;
        }
        let shift = (rec.failures - free - 1).min(16);
        let delay = self.policy.base_delay.saturating_mul(1u32 << shift).min(MAX_DELAY);
        let left = delay.saturating_sub(since);
        (!left.is_zero()).then_some(Refusal::TooSoon { retry_after: left })
    }

    /// Whether an attempt for `user` from `addr` may check a password now.
    pub fn check(&self, user: &str, addr: Option<IpAddr>) -> Result<(), Refusal> {
        let now = Instant::now();
        let map = self.records.lock().unwrap_or_else(|p| p.into_inner());
        let by_user = map
            .get(&Key::User(user.to_string()))
            .and_then(|r| self.verdict(r, self.policy.max_failures_per_user, FREE_FAILURES, now));
        // An address (perhaps a NAT of many users) gets half its allowance before delays start.
        let per_addr = self.policy.max_failures_per_address;
        let by_addr = addr
            .and_then(|a| map.get(&Key::Address(a)))
            .and_then(|r| self.verdict(r, per_addr, (per_addr / 2).max(FREE_FAILURES), now));
        // A lock wins over a delay; of two of a kind, the longer wait.
        match (by_user, by_addr) {
            (None, None) => Ok(()),
            (Some(r), None) | (None, Some(r)) => Err(r),
            (Some(a), Some(b)) => Err(match (a, b) {
                (Refusal::Locked { .. }, Refusal::TooSoon { .. }) => a,
                (Refusal::TooSoon { .. }, Refusal::Locked { .. }) => b,
                _ if wait(a) >= wait(b) => a,
                _ => b,
            }),
        }
    }

    pub fn failure(&self, user: &str, addr: Option<IpAddr>) {
        let now = Instant::now();
        let lockout = self.policy.lockout;
        let mut map = self.records.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_RECORDS {
            map.retain(|_, r| now.saturating_duration_since(r.last_failure) < lockout);
        }
        if map.len() >= MAX_RECORDS {
            map.clear();
        }
        let keys = std::iter::once(Key::User(user.to_string())).chain(addr.map(Key::Address));
        for key in keys {
            let rec = map.entry(key).or_insert(Record {
                failures: 0,
                last_failure: now,
            });
            // A record older than the lockout starts over.
            if now.saturating_duration_since(rec.last_failure) >= lockout {
                rec.failures = 0;
            }
            rec.failures = rec.failures.saturating_add(1);
            rec.last_failure = now;
        }
    }

    pub fn success(&self, user: &str) {
        let mut map = self.records.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&Key::User(user.to_string()));
    }
}

pub fn wait(r: Refusal) -> Duration {
    match r {
        Refusal::Locked { retry_after } | Refusal::TooSoon { retry_after } => retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_then_lock() {
        let t = LoginThrottle::new(LoginPolicy {
            max_failures_per_user: 5,
            max_failures_per_address: 100,
            lockout: Duration::from_secs(600),
            base_delay: Duration::from_secs(10),
        });
        assert_eq!(t.check("u", None), Ok(()));
        t.failure("u", None);
        t.failure("u", None);
        assert_eq!(t.check("u", None), Ok(()), "two free failures");
        t.failure("u", None);
        let Err(Refusal::TooSoon { retry_after }) = t.check("u", None) else {
            panic!("delay expected")
        };
        assert!(retry_after > Duration::from_secs(9));
        t.failure("u", None);
        let Err(Refusal::TooSoon { retry_after }) = t.check("u", None) else {
            panic!("delay expected")
        };
        assert!(retry_after > Duration::from_secs(19), "doubled: {retry_after:?}");
        t.failure("u", None);
        assert!(matches!(t.check("u", None), Err(Refusal::Locked { .. })));
        assert_eq!(t.check("other", None), Ok(()));
        t.success("u");
        assert_eq!(t.check("u", None), Ok(()));
    }

    #[test]
    fn addresses_are_counted_across_names() {
        let t = LoginThrottle::new(LoginPolicy {
            max_failures_per_user: 100,
            max_failures_per_address: 2,
            lockout: Duration::from_secs(600),
            base_delay: Duration::ZERO,
        });
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        t.failure("x", Some(a));
        t.failure("y", Some(a));
        assert!(matches!(t.check("z", Some(a)), Err(Refusal::Locked { .. })));
        assert_eq!(t.check("z", Some("192.0.2.2".parse().unwrap())), Ok(()));
    }
}
