//! A short-lived, in-process memory of resolved bearer tokens. The bearer
//! check runs on every request of the platform; without it each request pays
//! a store round trip (on SQLite, two thread hand-offs), which the benchmark
//! measured at a third of the no-store ceiling.
//!
//! Correctness rules:
//! - Expiry is checked on every hit against the service clock, so a session
//!   never outlives `expires_at` by a millisecond.
//! - A revocation through this process drops the entries it affects (the
//!   session, or all of the user's), so logout and revoke take effect here at
//!   once, and nobody can empty the cache for everyone else.
//! - A revocation made by *another* replica is seen once the entry is older
//!   than the TTL (default 2 s; `HARMONT_AUTH_CACHE_TTL`, `0s` turns it off).
//!   An entry's age counts from when it was read from the store: recording
//!   `last_used_at` on a hit updates the entry but never makes it younger.
//! - Only successful look-ups are kept; unknown tokens always reach the store.
//!
//! Ages are measured on the service clock, like expiry; an entry whose fetch
//! time lies in the future (the clock stepped back) counts as stale.

use harmont_store::{Authenticated, Millis};
use harmont_wire::token::TokenHash;
use std::collections::HashMap;
use std::sync::{RwLock, RwLockWriteGuard};
use std::time::Duration;
use uuid::Uuid;

/// Past this many entries the cache starts over, bounding its memory.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug)]
pub struct AuthCache {
    ttl: Millis,
    entries: RwLock<HashMap<TokenHash, Entry>>,
}

#[derive(Debug, Clone)]
struct Entry {
    auth: Authenticated,
    /// When the store was read, on the service clock.
    fetched: Millis,
}

impl Entry {
    fn fresh(&self, ttl: Millis, now: Millis) -> bool {
        (0..ttl).contains(&(now - self.fetched))
    }
}

impl AuthCache {
    pub fn new(ttl: Duration) -> Self {
        Self { ttl: Millis::try_from(ttl.as_millis()).unwrap_or(Millis::MAX), entries: RwLock::new(HashMap::new()) }
    }

    /// The cached session, if fresh and not expired at `now`.
    pub fn get(&self, hash: &TokenHash, now: Millis) -> Option<Authenticated> {
        if self.ttl == 0 {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = entries.get(hash)?;
        (entry.fresh(self.ttl, now) && entry.auth.session.expires_at > now).then(|| entry.auth.clone())
    }

    /// Remembers what the store answered at `fetched`.
    pub fn put(&self, hash: TokenHash, auth: Authenticated, fetched: Millis) {
        if self.ttl == 0 {
            return;
        }
        let mut entries = self.write();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(hash, Entry { auth, fetched });
    }

    /// Records a `last_used_at` written on a cache hit, keeping the entry's
    /// fetch time: a busy token must still be re-read once the TTL is up.
    pub fn touched(&self, hash: &TokenHash, last_used_at: Millis) {
        if let Some(entry) = self.write().get_mut(hash) {
            entry.auth.session.last_used_at = Some(last_used_at);
        }
    }

    /// Forgets one session (after it was revoked here).
    pub fn forget_session(&self, session_id: Uuid) {
        self.write().retain(|_, e| e.auth.session.id != session_id);
    }

    /// Forgets every session of one user (after several were revoked here).
    pub fn forget_user(&self, user_id: Uuid) {
        self.write().retain(|_, e| e.auth.user.id != user_id);
    }

    /// Drops stale entries, from the periodic sweep.
    pub fn forget_stale(&self, now: Millis) {
        let ttl = self.ttl;
        self.write().retain(|_, e| e.fresh(ttl, now));
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<TokenHash, Entry>> {
        self.entries.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|poisoned| poisoned.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harmont_store::{Session, SignInMethod, User};

    const T0: Millis = 1_767_225_600_000;

    fn auth(user_id: Uuid) -> (TokenHash, Authenticated) {
        let mut hash = [0u8; 32];
        hash[..16].copy_from_slice(Uuid::new_v4().as_bytes());
        let user = User {
            id: user_id,
            email: format!("{}@example.com", user_id.simple()),
            name: None,
            personal_org_slug: None,
            created_at: T0,
        };
        let session = Session {
            id: Uuid::new_v4(),
            user_id,
            created_at: T0,
            expires_at: T0 + 3_600_000,
            last_used_at: None,
            user_agent: None,
            ip: None,
            method: SignInMethod::Cli,
            passkey_id: None,
        };
        (TokenHash(hash), Authenticated { session, user })
    }

    #[test]
    fn forget_session_drops_only_that_session() {
        let cache = AuthCache::new(Duration::from_secs(60));
        let ada = Uuid::new_v4();
        let (first, first_auth) = auth(ada);
        let (second, second_auth) = auth(ada);
        let (theirs, their_auth) = auth(Uuid::new_v4());
        let first_id = first_auth.session.id;
        for (hash, auth) in [(first, first_auth), (second, second_auth), (theirs, their_auth)] {
            cache.put(hash, auth, T0);
        }
        cache.forget_session(first_id);
        assert_eq!(cache.get(&first, T0 + 1), None);
        assert!(cache.get(&second, T0 + 1).is_some(), "the user's other session stays");
        assert!(cache.get(&theirs, T0 + 1).is_some(), "other users stay");
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn forget_user_drops_only_that_users_sessions() {
        let cache = AuthCache::new(Duration::from_secs(60));
        let ada = Uuid::new_v4();
        let (first, first_auth) = auth(ada);
        let (second, second_auth) = auth(ada);
        let (theirs, their_auth) = auth(Uuid::new_v4());
        for (hash, auth) in [(first, first_auth), (second, second_auth), (theirs, their_auth)] {
            cache.put(hash, auth, T0);
        }
        cache.forget_user(ada);
        assert_eq!(cache.get(&first, T0 + 1), None);
        assert_eq!(cache.get(&second, T0 + 1), None);
        assert!(cache.get(&theirs, T0 + 1).is_some(), "other users stay");
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_touch_keeps_the_fetch_time() {
        let ttl = 120_000;
        let cache = AuthCache::new(Duration::from_millis(120_000));
        let (hash, auth) = auth(Uuid::new_v4());
        cache.put(hash, auth, T0);
        cache.touched(&hash, T0 + 61_000);
        let hit = cache.get(&hash, T0 + ttl - 1).expect("fresh until the TTL");
        assert_eq!(hit.session.last_used_at, Some(T0 + 61_000), "the touch is recorded");
        assert_eq!(cache.get(&hash, T0 + ttl), None, "stale at the TTL after the fetch, touched or not");
    }

    #[test]
    fn entries_go_stale_after_the_ttl_or_when_the_clock_steps_back() {
        let cache = AuthCache::new(Duration::from_secs(2));
        let (hash, auth) = auth(Uuid::new_v4());
        cache.put(hash, auth, T0);
        assert!(cache.get(&hash, T0 + 1_999).is_some());
        assert_eq!(cache.get(&hash, T0 + 2_000), None);
        assert_eq!(cache.get(&hash, T0 - 1), None, "a clock stepped back does not extend an entry");
        cache.forget_stale(T0 + 2_000);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let cache = AuthCache::new(Duration::ZERO);
        let (hash, auth) = auth(Uuid::new_v4());
        cache.put(hash, auth, T0);
        assert_eq!(cache.get(&hash, T0), None);
        assert_eq!(cache.len(), 0);
    }
}
