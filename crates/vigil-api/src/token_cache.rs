//! Validated `X-Auth-Token`s, remembered for a few seconds so that a read does not look its token
//! up in the database (one round trip of the two a list page costs), as Keystone's own middleware
//! does (`token_cache_time`).
//!
//! - Only reads (GET, HEAD) are answered from the cache; every write looks its token up.
//! - Revocations through this server (`DELETE /v3/auth/tokens`, `…/tokens/mine`, a password
//!   change) forget the tokens at once.
//! - Every revocation and every user or project deletion, by any process, bumps the database's
//!   `auth_changes` counter in its own transaction. The cache re-reads it at most every
//!   [`RECHECK_MS`] and forgets everything when it moved, so a change made elsewhere (another
//!   API server, `vigil iam`) stops reads within about 0.2 s.
//! - An entry lives `--token-cache-secs` (default 5; 0 turns the cache off), never past the
//!   token's expiry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::auth::Caller;

/// Most tokens remembered; beyond, the expired ones are dropped, then all.
const MAX_ENTRIES: usize = 10_000;

/// How stale the cache's view of the database's `auth_changes` counter may get.
pub const RECHECK_MS: i64 = 200;

struct Entry {
    caller: Caller,
    /// Epoch ms after which the entry is not used: the cache lifetime or the token's expiry,
    /// whichever comes first.
    until_ms: i64,
}

pub struct TokenCache {
    ttl_ms: i64,
    /// By token hash (never the token itself).
    entries: Mutex<HashMap<String, Entry>>,
    /// Bumped by every revocation: a lookup that started before one is not remembered, since
    /// it may have read the token before it was revoked.
    revocations: AtomicU64,
    /// The database's `auth_changes` counter when last read (-1: not read yet), and when.
    db_changes: AtomicI64,
    db_checked_ms: AtomicI64,
}

impl TokenCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl_ms: i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX),
            entries: Mutex::new(HashMap::new()),
            revocations: AtomicU64::new(0),
            db_changes: AtomicI64::new(-1),
            db_checked_ms: AtomicI64::new(i64::MIN),
        }
    }

    /// Whether the caller should read the database's `auth_changes` now (and hand it to
    /// [`TokenCache::observe_changes`]): true for one caller once [`RECHECK_MS`] have passed.
    pub fn claim_recheck(&self, now_ms: i64) -> bool {
        if self.ttl_ms == 0 {
            return false;
        }
        let last = self.db_checked_ms.load(Ordering::SeqCst);
        now_ms.saturating_sub(last) >= RECHECK_MS
            && self
                .db_checked_ms
                .compare_exchange(last, now_ms, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
    }

    /// The database's `auth_changes` counter as just read: when it moved, a credential changed
    /// somewhere, and every entry is forgotten.
    pub fn observe_changes(&self, changes: i64) {
        if self.db_changes.swap(changes, Ordering::SeqCst) != changes {
            self.revocations.fetch_add(1, Ordering::SeqCst);
            self.entries().clear();
        }
    }

    /// Read before a database lookup, handed back to [`TokenCache::put`].
    pub fn revocations(&self) -> u64 {
        self.revocations.load(Ordering::SeqCst)
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock leaves a map that is still valid.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The caller of a token validated less than the cache's lifetime ago and not expired since.
    pub fn get(&self, hash: &str, now_ms: i64) -> Option<Caller> {
        if self.ttl_ms == 0 {
            return None;
        }
        let entries = self.entries();
        entries
            .get(hash)
            .filter(|e| now_ms < e.until_ms)
            .map(|e| e.caller.clone())
    }

    /// Remembers a token just validated against the database, unless a revocation came while
    /// it was looked up (`revocations`: [`TokenCache::revocations`] before the lookup).
    pub fn put(&self, hash: &str, caller: &Caller, expires_at_ms: i64, now_ms: i64, revocations: u64) {
        if self.ttl_ms == 0 {
            return;
        }
        let until_ms = now_ms.saturating_add(self.ttl_ms).min(expires_at_ms);
        let mut entries = self.entries();
        // Under the lock, which every revocation takes after bumping the counter.
        if self.revocations() != revocations {
            return;
        }
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(hash) {
            entries.retain(|_, e| now_ms < e.until_ms);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            hash.to_string(),
            Entry {
                caller: caller.clone(),
                until_ms,
            },
        );
    }

    /// Forgets one token (revoked through this server). Call it once the revocation is stored.
    pub fn forget(&self, hash: &str) {
        self.revocations.fetch_add(1, Ordering::SeqCst);
        self.entries().remove(hash);
    }

    /// Forgets every token of a user (all revoked, or all but one: that one is looked up again).
    /// Call it once the revocation is stored.
    pub fn forget_user(&self, user_id: &str) {
        self.revocations.fetch_add(1, Ordering::SeqCst);
        self.entries().retain(|_, e| e.caller.user_id != user_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(user: &str) -> Caller {
        Caller {
            user_id: user.into(),
            user_name: format!("{user}-name"),
            project_id: "p1".into(),
        }
    }

    #[test]
    fn entries_last_the_cache_lifetime_or_until_the_token_expires() {
        let c = TokenCache::new(Duration::from_secs(5));
        c.put("a", &caller("u1"), 1_000_000, 0, 0);
        assert_eq!(c.get("a", 4_999).map(|c| c.user_id), Some("u1".into()));
        assert!(c.get("a", 5_000).is_none());
        // A token expiring in 2 s is not served from the cache after 2 s.
        c.put("b", &caller("u1"), 2_000, 0, 0);
        assert!(c.get("b", 1_999).is_some());
        assert!(c.get("b", 2_000).is_none());
        assert!(c.get("unknown", 0).is_none());
    }

    #[test]
    fn revocations_forget_the_token_or_every_token_of_the_user() {
        let c = TokenCache::new(Duration::from_secs(5));
        c.put("a", &caller("u1"), i64::MAX, 0, 0);
        c.put("b", &caller("u1"), i64::MAX, 0, 0);
        c.put("c", &caller("u2"), i64::MAX, 0, 0);
        c.forget("a");
        assert!(c.get("a", 1).is_none());
        assert!(c.get("b", 1).is_some());
        c.forget_user("u1");
        assert!(c.get("b", 1).is_none());
        assert!(c.get("c", 1).is_some());
    }

    #[test]
    fn a_lookup_overtaken_by_a_revocation_is_not_remembered() {
        let c = TokenCache::new(Duration::from_secs(5));
        let before = c.revocations();
        // The token is revoked while its lookup (which saw it valid) is under way.
        c.forget("a");
        c.put("a", &caller("u1"), i64::MAX, 0, before);
        assert!(c.get("a", 1).is_none());
        c.put("a", &caller("u1"), i64::MAX, 0, c.revocations());
        assert!(c.get("a", 1).is_some());
    }

    #[test]
    fn a_change_elsewhere_forgets_everything_and_rechecks_are_paced() {
        let c = TokenCache::new(Duration::from_secs(5));
        assert!(c.claim_recheck(1_000));
        // One caller per interval reads the counter.
        assert!(!c.claim_recheck(1_000));
        assert!(!c.claim_recheck(1_000 + RECHECK_MS - 1));
        c.observe_changes(7);
        c.put("a", &caller("u1"), i64::MAX, 0, c.revocations());
        let before = c.revocations();
        c.observe_changes(7);
        assert!(c.get("a", 1).is_some(), "no change: entries kept");
        assert!(c.claim_recheck(1_000 + RECHECK_MS));
        c.observe_changes(8);
        assert!(c.get("a", 1).is_none(), "a change elsewhere: entries forgotten");
        // A lookup under way when the change was seen is not remembered.
        c.put("a", &caller("u1"), i64::MAX, 0, before);
        assert!(c.get("a", 1).is_none());
    }

    #[test]
    fn a_zero_lifetime_turns_the_cache_off() {
        let c = TokenCache::new(Duration::ZERO);
        c.put("a", &caller("u1"), i64::MAX, 0, 0);
        assert!(c.get("a", 0).is_none());
    }

    #[test]
    fn the_cache_stays_bounded() {
        let c = TokenCache::new(Duration::from_secs(5));
        for k in 0..MAX_ENTRIES + 10 {
            c.put(&k.to_string(), &caller("u"), i64::MAX, 0, 0);
        }
        assert!(c.entries().len() <= MAX_ENTRIES);
        assert!(c.get(&(MAX_ENTRIES + 9).to_string(), 1).is_some());
    }
}
