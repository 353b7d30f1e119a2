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
//! - A revocation made by *another* replica is dropped as soon as the store
//!   announces it (Postgres LISTEN/NOTIFY, see `Store::watch`). Where the
//!   store announces revocations, the cache is trusted only while it listens:
//!   from the moment the listening connection is lost every check reads the
//!   store, and when it listens again the cache starts empty, as it may have
//!   missed announcements meanwhile.
//! - Otherwise (SQLite, or an update made behind the server's back) an entry
//!   is re-read once older than the TTL (default 2 s;
//!   `HARMONT_AUTH_CACHE_TTL`, `0s` turns it off). An entry's age counts from
//!   when it was read from the store: recording `last_used_at` on a hit
//!   updates the entry but never makes it younger.
//! - A store read that raced a revocation is not kept: every drop bumps a
//!   generation and is remembered for a while, and an answer read before a
//!   drop that concerns it (its session, its user, or everything) is not
//!   stored after it. Drops about others (every replica hears every
//!   revocation) do not keep an answer out.
//! - Only successful look-ups are kept; unknown tokens always reach the store.
//!
//! Ages are measured on the service clock, like expiry; an entry whose fetch
//! time lies in the future (the clock stepped back) counts as stale.

use harmont_store::{Authenticated, Millis};
use harmont_wire::token::TokenHash;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockWriteGuard};
use std::time::Duration;
use uuid::Uuid;

/// How many recent drops are remembered to judge a racing store read; one
/// older than that is judged conservatively (not kept).
const RECENT_DROPS: usize = 4096;

/// What one drop forgot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dropped {
    Session(Uuid),
    User(Uuid),
    All,
}

impl Dropped {
    fn concerns(self, auth: &Authenticated) -> bool {
        match self {
            Dropped::Session(id) => auth.session.id == id,
            Dropped::User(id) => auth.user.id == id,
            Dropped::All => true,
        }
    }
}

/// What a revocation ended, for [`Revocations::revoked`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// One session (or API key).
    Session(Uuid),
    /// Some or all of a user's sessions, or what the cache keeps of the user.
    User(Uuid),
}

/// The one thing a part that revokes may do to the bearer cache: forget, in
/// this process, what a revocation it wrote to the store ended (the store
/// itself announces it to the other processes, see `Store::watch`). Only
/// `Sessions` and the root reach the cache itself.
#[derive(Debug, Clone)]
pub struct Revocations(Arc<AuthCache>);

impl Revocations {
    pub fn new(cache: Arc<AuthCache>) -> Self {
        Self(cache)
    }

    pub fn revoked(&self, revocation: Revocation) {
        match revocation {
            Revocation::Session(id) => self.0.forget_session(id),
            Revocation::User(id) => self.0.forget_user(id),
        }
    }
}

/// Past this many entries the cache starts over, bounding its memory.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug)]
pub struct AuthCache {
    ttl: Millis,
    entries: RwLock<HashMap<TokenHash, Entry>>,
    /// Whether entries may be used; changed only under the write lock and
    /// read under the read lock, so a change is ordered against every look-up.
    trusted: AtomicBool,
    /// Bumped (under the write lock) by every drop: see [`AuthCache::generation`].
    generation: AtomicU64,
    /// The last drops, with the generation each made; locked only under the
    /// write lock of `entries`.
    recent: Mutex<VecDeque<(u64, Dropped)>>,
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
    /// A cache used from the start, for a store that does not announce
    /// revocations (one process: its own revocations drop entries here).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl: Millis::try_from(ttl.as_millis()).unwrap_or(Millis::MAX),
            entries: RwLock::new(HashMap::new()),
            trusted: AtomicBool::new(true),
            generation: AtomicU64::new(0),
            recent: Mutex::new(VecDeque::new()),
        }
    }

    /// A cache unused until [`AuthCache::listening`], for a store that
    /// announces revocations.
    pub fn untrusted(ttl: Duration) -> Self {
        let cache = Self::new(ttl);
        cache.trusted.store(false, Ordering::SeqCst);
        cache
    }

    /// Whether entries are used (the store's announcements are heard).
    pub fn trusted(&self) -> bool {
        let _entries = self.entries.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.trusted.load(Ordering::SeqCst)
    }

    /// The generation to pass to [`AuthCache::put`]: read it *before*
    /// reading the store, so a drop between the read and the put wins.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The cached session, if fresh and not expired at `now`.
    pub fn get(&self, hash: &TokenHash, now: Millis) -> Option<Authenticated> {
        if self.ttl == 0 {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !self.trusted.load(Ordering::SeqCst) {
            return None;
        }
        let entry = entries.get(hash)?;
        (entry.fresh(self.ttl, now) && entry.auth.session.expires_at > now).then(|| entry.auth.clone())
    }

    /// Remembers what the store answered at `fetched`, unless the cache is
    /// not trusted or a drop concerning it came after `generation` was read.
    pub fn put(&self, hash: TokenHash, auth: Authenticated, fetched: Millis, generation: u64) {
        if self.ttl == 0 {
            return;
        }
        let mut entries = self.write();
        if !self.trusted.load(Ordering::SeqCst) {
            return;
        }
        let now = self.generation.load(Ordering::SeqCst);
        if now != generation {
            let recent = self.recent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let remembered = recent.front().is_some_and(|&(oldest, _)| oldest <= generation + 1);
            let concerned = recent.iter().any(|&(made, dropped)| made > generation && dropped.concerns(&auth));
            if !remembered || concerned {
                return;
            }
        }
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

    /// Forgets one session (after it was revoked, here or elsewhere).
    pub fn forget_session(&self, session_id: Uuid) {
        let mut entries = self.write();
        self.dropped(Dropped::Session(session_id));
        entries.retain(|_, e| e.auth.session.id != session_id);
    }

    /// Forgets every session of one user (after some were revoked).
    pub fn forget_user(&self, user_id: Uuid) {
        let mut entries = self.write();
        self.dropped(Dropped::User(user_id));
        entries.retain(|_, e| e.auth.user.id != user_id);
    }

    /// The store's announcements can no longer be heard: forget everything
    /// and keep nothing until [`AuthCache::listening`].
    pub fn lost(&self) {
        let mut entries = self.write();
        self.dropped(Dropped::All);
        self.trusted.store(false, Ordering::SeqCst);
        entries.clear();
    }

    /// The store's announcements are heard (again): start empty, as any
    /// announcement made before now may have been missed.
    pub fn listening(&self) {
        let mut entries = self.write();
        self.dropped(Dropped::All);
        self.trusted.store(true, Ordering::SeqCst);
        entries.clear();
    }

    /// Drops stale entries, from the periodic sweep.
    pub fn forget_stale(&self, now: Millis) {
        let ttl = self.ttl;
        self.write().retain(|_, e| e.fresh(ttl, now));
    }

    /// Records a drop; call with the write lock of `entries` held.
    fn dropped(&self, what: Dropped) {
        let made = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let mut recent = self.recent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if recent.len() >= RECENT_DROPS {
            recent.pop_front();
        }
        recent.push_back((made, what));
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
            disabled_at: None,
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
            cache.put(hash, auth, T0, cache.generation());
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
            cache.put(hash, auth, T0, cache.generation());
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
        cache.put(hash, auth, T0, cache.generation());
        cache.touched(&hash, T0 + 61_000);
        let hit = cache.get(&hash, T0 + ttl - 1).expect("fresh until the TTL");
        assert_eq!(hit.session.last_used_at, Some(T0 + 61_000), "the touch is recorded");
        assert_eq!(cache.get(&hash, T0 + ttl), None, "stale at the TTL after the fetch, touched or not");
    }

    #[test]
    fn entries_go_stale_after_the_ttl_or_when_the_clock_steps_back() {
        let cache = AuthCache::new(Duration::from_secs(2));
        let (hash, auth) = auth(Uuid::new_v4());
        cache.put(hash, auth, T0, cache.generation());
        assert!(cache.get(&hash, T0 + 1_999).is_some());
        assert_eq!(cache.get(&hash, T0 + 2_000), None);
        assert_eq!(cache.get(&hash, T0 - 1), None, "a clock stepped back does not extend an entry");
        cache.forget_stale(T0 + 2_000);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn an_untrusted_cache_keeps_nothing_until_it_listens_and_starts_empty_again() {
        let cache = AuthCache::untrusted(Duration::from_secs(60));
        let (hash, auth) = auth(Uuid::new_v4());
        cache.put(hash, auth.clone(), T0, cache.generation());
        assert_eq!(cache.get(&hash, T0), None, "not listening yet");
        cache.listening();
        cache.put(hash, auth.clone(), T0, cache.generation());
        assert!(cache.get(&hash, T0).is_some());
        cache.lost();
        assert_eq!(cache.get(&hash, T0), None, "lost: nothing is trusted");
        assert_eq!(cache.len(), 0);
        cache.put(hash, auth, T0, cache.generation());
        cache.listening();
        assert_eq!(cache.get(&hash, T0), None, "listening again starts empty");
    }

    #[test]
    fn a_read_that_raced_a_revocation_is_not_kept() {
        let cache = AuthCache::new(Duration::from_secs(60));
        let (hash, auth) = auth(Uuid::new_v4());
        let before = cache.generation();
        cache.forget_session(auth.session.id);
        cache.put(hash, auth.clone(), T0, before);
        assert_eq!(cache.get(&hash, T0), None, "its session was dropped meanwhile");
        let before = cache.generation();
        cache.forget_user(auth.user.id);
        cache.put(hash, auth.clone(), T0, before);
        assert_eq!(cache.get(&hash, T0), None, "its user was dropped meanwhile");
    }

    #[test]
    fn a_read_that_raced_someone_elses_revocation_is_kept() {
        let cache = AuthCache::new(Duration::from_secs(60));
        let (hash, auth) = auth(Uuid::new_v4());
        let before = cache.generation();
        cache.forget_session(Uuid::new_v4());
        cache.forget_user(Uuid::new_v4());
        cache.put(hash, auth, T0, before);
        assert!(cache.get(&hash, T0).is_some());
    }

    #[test]
    fn a_read_older_than_the_remembered_drops_is_not_kept() {
        let cache = AuthCache::new(Duration::from_secs(60));
        let (hash, auth) = auth(Uuid::new_v4());
        let before = cache.generation();
        for _ in 0..RECENT_DROPS + 1 {
            cache.forget_session(Uuid::new_v4());
        }
        cache.put(hash, auth, T0, before);
        assert_eq!(cache.get(&hash, T0), None);
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let cache = AuthCache::new(Duration::ZERO);
        let (hash, auth) = auth(Uuid::new_v4());
        cache.put(hash, auth, T0, cache.generation());
        assert_eq!(cache.get(&hash, T0), None);
        assert_eq!(cache.len(), 0);
    }
}
