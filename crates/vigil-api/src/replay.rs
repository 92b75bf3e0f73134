//! Replay protection for AK/SK requests: a verified signature may be used once while its
//! `X-Sdk-Date` is inside the clock-skew window. After the window the date check refuses it
//! anyway, so an entry lives exactly until then. Bounded: when full, expired entries go first,
//! then the entries closest to expiry.
//!
//! One exception keeps the SDKs working: `X-Sdk-Date` has one-second resolution, so a client
//! that reads the same thing twice within a second (poll, show after an action) sends the same
//! signature twice. Reads (GET, HEAD) may therefore repeat a signature within `grace` of its
//! first use; any later use, and any repeat of a write, is a replay.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

pub struct ReplayCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Clone, Copy)]
struct Seen {
    /// Unix ms after which the date check refuses the signature anyway.
    expires_ms: i64,
    first_ms: i64,
}

#[derive(Default)]
struct Inner {
    seen: HashMap<String, Seen>,
    by_expiry: BTreeSet<(i64, String)>,
}

impl ReplayCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Records `signature` until `expires_ms`; false if it is a replay: seen before, not
    /// expired, and not within `grace_ms` of its first use.
    pub fn first_use(&self, signature: &str, now_ms: i64, expires_ms: i64, grace_ms: i64) -> bool {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let inner = &mut *g;
        if let Some(s) = inner.seen.get(signature).copied() {
            if s.expires_ms > now_ms {
                // Writes (grace 0) never repeat, even within the same millisecond.
                return grace_ms > 0 && now_ms - s.first_ms <= grace_ms;
            }
            inner.by_expiry.remove(&(s.expires_ms, signature.to_string()));
            inner.seen.remove(signature);
        }
        while let Some((exp, sig)) = inner.by_expiry.first().cloned() {
            if exp > now_ms && inner.seen.len() < self.capacity {
                break;
            }
            inner.by_expiry.pop_first();
            inner.seen.remove(&sig);
        }
        inner.seen.insert(
            signature.to_string(),
            Seen {
                expires_ms,
                first_ms: now_ms,
            },
        );
        inner.by_expiry.insert((expires_ms, signature.to_string()));
        true
    }

    #[cfg(test)]
    fn entries(&self) -> usize {
        self.inner.lock().map(|g| g.seen.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::ReplayCache;

    #[test]
    fn refuses_a_second_use_until_expiry_and_stays_bounded() {
        let c = ReplayCache::new(3);
        assert!(c.first_use("a", 100, 200, 0));
        assert!(!c.first_use("a", 150, 250, 0));
        assert!(
            !c.first_use("a", 100, 200, 0),
            "a write repeated within the same millisecond"
        );
        assert!(c.first_use("a", 200, 300, 0), "expired entries may be used again");
        for (i, sig) in ["b", "c", "d", "e"].iter().enumerate() {
            assert!(c.first_use(sig, 200, 400 + i as i64, 0));
        }
        assert_eq!(c.entries(), 3);
        // The entry closest to expiry ("a", then "b") made room.
        assert!(!c.first_use("e", 201, 500, 0));
    }

    #[test]
    fn reads_may_repeat_within_the_grace() {
        let c = ReplayCache::new(10);
        assert!(c.first_use("r", 1_000, 900_000, 2_000));
        assert!(c.first_use("r", 2_500, 900_000, 2_000));
        assert!(!c.first_use("r", 3_001, 900_000, 2_000), "later repeats are replays");
    }
}
