//! A short-lived, in-process memory of resolved bearer tokens. The bearer
//! check runs on every request of the platform; without it each request pays
//! a store round trip (on SQLite, two thread hand-offs), which the benchmark
//! measured at a third of the no-store ceiling.
//!
//! Correctness rules:
//! - Expiry is checked on every hit against the service clock, so a session
//!   never outlives `expires_at` by a millisecond.
//! - Any revocation through this process empties the cache, so logout and
//!   revoke take effect here at once.
//! - A revocation made by *another* replica is seen once the entry is older
//!   than the TTL (default 2 s; `HARMONT_AUTH_CACHE_TTL`, `0s` turns it off).
//! - Only successful look-ups are kept; unknown tokens always reach the store.

use harmont_store::{Authenticated, Millis};
use harmont_wire::token::TokenHash;
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// Past this many entries the cache starts over, bounding its memory.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug)]
pub struct AuthCache {
    ttl: Duration,
    entries: RwLock<HashMap<TokenHash, Entry>>,
}

#[derive(Debug, Clone)]
struct Entry {
    auth: Authenticated,
    fetched: Instant,
}

impl AuthCache {
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, entries: RwLock::new(HashMap::new()) }
    }

    /// The cached session, if fresh and not expired at `now`.
    pub fn get(&self, hash: &TokenHash, now: Millis) -> Option<Authenticated> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = entries.get(hash)?;
        (entry.fetched.elapsed() < self.ttl && entry.auth.session.expires_at > now).then(|| entry.auth.clone())
    }

    pub fn put(&self, hash: TokenHash, auth: Authenticated) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(hash, Entry { auth, fetched: Instant::now() });
    }

    /// Forgets everything: called on every revocation in this process.
    pub fn clear(&self) {
        self.entries.write().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
    }

    /// Drops stale entries, from the periodic sweep.
    pub fn forget_stale(&self) {
        let ttl = self.ttl;
        self.entries.write().unwrap_or_else(|poisoned| poisoned.into_inner()).retain(|_, e| e.fetched.elapsed() < ttl);
    }
}
