//! Where the claims for a nonce came from, so the approval page can show
//! where the terminal waiting for a login connects from, and warn when that
//! is not the browser's own address (someone else's `harmont login`, sent to
//! the user as a link, is the attack this catches).
//!
//! In-process memory only: keyed by the nonce's SHA-256, at most a few
//! addresses per nonce, forgotten a transfer window after the last claim, and
//! at most [`MAX_NONCES`] nonces at a time (beyond that new nonces go
//! unrecorded, and the page warns that it saw no claim, which is the safe
//! side). Behind several replicas the page may ask one that saw no claim; it
//! then warns the same way.

use harmont_store::{GrantKey, Millis};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

pub type Key = GrantKey;

/// How many nonces are remembered at once.
pub const MAX_NONCES: usize = 10_000;
/// How many distinct addresses are remembered per nonce.
pub const MAX_ADDRESSES: usize = 4;

#[derive(Debug)]
pub struct SeenClaims {
    by_key: Mutex<HashMap<Key, Entry>>,
    capacity: usize,
}

#[derive(Debug)]
struct Entry {
    /// Distinct, in the order first seen.
    addresses: Vec<IpAddr>,
    expires_at: Millis,
    /// When a claim for this key last started or ended.
    last_seen: Millis,
    /// Whether a claim for this key got its token.
    collected: bool,
    /// Claims for this key held open right now.
    held: u32,
}

/// What this process saw of the claims for one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    /// The addresses claims came from, first seen first.
    pub addresses: Vec<IpAddr>,
    /// When a claim last started or ended.
    pub last_seen: Millis,
    /// Whether a claim got its token.
    pub collected: bool,
    /// Whether a claim for it is held open right now.
    pub held: bool,
}

/// A claim held open for a key; when it ends (however the request ends),
/// the entry counts one fewer held and notes the time.
pub struct Held<'a> {
    seen: &'a SeenClaims,
    key: Key,
    now: &'a (dyn Fn() -> Millis + Send + Sync),
}

impl std::fmt::Debug for Held<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Held").finish_non_exhaustive()
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let now = (self.now)();
        if let Some(entry) = self.seen.lock().get_mut(&self.key) {
            entry.held = entry.held.saturating_sub(1);
            entry.last_seen = entry.last_seen.max(now);
        }
    }
}

impl Default for SeenClaims {
    fn default() -> Self {
        Self::with_capacity(MAX_NONCES)
    }
}

impl SeenClaims {
    pub fn with_capacity(capacity: usize) -> Self {
        Self { by_key: Mutex::new(HashMap::new()), capacity }
    }

    /// Notes a claim for `key` from `ip`, remembered until `keep_until`.
    pub fn record(&self, key: Key, ip: IpAddr, now: Millis, keep_until: Millis) {
        let ip = ip.to_canonical();
        let mut by_key = self.lock();
        if !by_key.contains_key(&key) && by_key.len() >= self.capacity {
            by_key.retain(|_, entry| entry.expires_at > now);
            if by_key.len() >= self.capacity {
                return;
            }
        }
        let entry = by_key.entry(key).or_insert_with(|| Entry {
            addresses: Vec::new(),
            expires_at: keep_until,
            last_seen: now,
            collected: false,
            held: 0,
        });
        if entry.expires_at <= now {
            entry.addresses.clear();
            entry.collected = false;
        }
        entry.expires_at = keep_until;
        entry.last_seen = now;
        if !entry.addresses.contains(&ip) && entry.addresses.len() < MAX_ADDRESSES {
            entry.addresses.push(ip);
        }
    }

    /// Counts a claim for `key` (already recorded) as held open until the
    /// returned guard drops; `now` reads the clock then.
    pub fn hold<'a>(&'a self, key: Key, now: &'a (dyn Fn() -> Millis + Send + Sync)) -> Held<'a> {
        if let Some(entry) = self.lock().get_mut(&key) {
            entry.held += 1;
            entry.last_seen = entry.last_seen.max(now());
        }
        Held { seen: self, key, now }
    }

    /// Notes that a claim for `key` (already recorded) got its token.
    pub fn collected(&self, key: &Key, now: Millis) {
        if let Some(entry) = self.lock().get_mut(key).filter(|entry| entry.expires_at > now) {
            entry.collected = true;
            entry.last_seen = now;
        }
    }

    /// The addresses claims for `key` came from, first seen first; empty when none (or forgotten).
    pub fn addresses(&self, key: &Key, now: Millis) -> Vec<IpAddr> {
        self.activity(key, now).map(|a| a.addresses).unwrap_or_default()
    }

    /// What was seen of the claims for `key`; `None` when none (or forgotten).
    pub fn activity(&self, key: &Key, now: Millis) -> Option<Activity> {
        self.lock().get(key).filter(|entry| entry.expires_at > now).map(|entry| Activity {
            addresses: entry.addresses.clone(),
            last_seen: entry.last_seen,
            collected: entry.collected,
            held: entry.held > 0,
        })
    }

    /// How many nonces are remembered (expired ones included until pushed out).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.by_key.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> Key {
        GrantKey::from_hash([n; 32])
    }
    use std::net::Ipv4Addr;

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(203, 0, 113, last))
    }

    #[test]
    fn remembers_distinct_addresses_for_a_window_after_the_last_claim() {
        let seen = SeenClaims::default();
        seen.record(key(1), ip(7), 0, 60);
        seen.record(key(1), ip(7), 50, 110);
        seen.record(key(1), ip(8), 55, 115);
        assert_eq!(seen.addresses(&key(1), 100), vec![ip(7), ip(8)]);
        assert_eq!(seen.addresses(&key(2), 100), Vec::<IpAddr>::new());
        assert_eq!(seen.addresses(&key(1), 115), Vec::<IpAddr>::new(), "forgotten a window after the last claim");
        seen.record(key(1), ip(9), 200, 260);
        assert_eq!(seen.addresses(&key(1), 201), vec![ip(9)], "an expired entry starts afresh");
    }

    #[test]
    fn remembers_when_claims_were_last_seen_and_whether_one_collected() {
        let seen = SeenClaims::default();
        assert_eq!(seen.activity(&key(1), 0), None);
        seen.record(key(1), ip(7), 10, 100);
        seen.record(key(1), ip(7), 20, 110);
        let activity = seen.activity(&key(1), 30).unwrap();
        assert_eq!((activity.last_seen, activity.collected), (20, false));
        seen.collected(&key(1), 25);
        let activity = seen.activity(&key(1), 30).unwrap();
        assert_eq!((activity.last_seen, activity.collected), (25, true));
        seen.collected(&key(2), 25);
        assert_eq!(seen.activity(&key(2), 30), None, "nothing recorded, nothing collected");
        seen.record(key(1), ip(7), 200, 300);
        assert!(!seen.activity(&key(1), 201).unwrap().collected, "an expired entry starts afresh");
    }

    #[test]
    fn a_held_claim_counts_until_it_ends() {
        let seen = SeenClaims::default();
        seen.record(key(1), ip(7), 10, 1000);
        let clock = || 40;
        let first = seen.hold(key(1), &clock);
        let second = seen.hold(key(1), &clock);
        assert!(seen.activity(&key(1), 20).unwrap().held);
        drop(first);
        assert!(seen.activity(&key(1), 20).unwrap().held, "one is still held");
        drop(second);
        let activity = seen.activity(&key(1), 50).unwrap();
        assert!(!activity.held);
        assert_eq!(activity.last_seen, 40, "the end of a held claim counts as seen");
    }

    #[test]
    fn mapped_ipv4_is_stored_as_ipv4() {
        let seen = SeenClaims::default();
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        seen.record(key(1), mapped, 0, 60);
        assert_eq!(seen.addresses(&key(1), 1), vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    }

    #[test]
    fn bounded_in_nonces_and_in_addresses_per_nonce() {
        let seen = SeenClaims::with_capacity(3);
        for n in 0..10u8 {
            seen.record(key(1), ip(n), 0, 60);
        }
        assert_eq!(seen.addresses(&key(1), 1).len(), MAX_ADDRESSES);
        for n in 2..10u8 {
            seen.record(key(n), ip(n), 0, 60);
        }
        assert_eq!(seen.len(), 3, "new nonces beyond the capacity go unrecorded");
        assert_eq!(seen.addresses(&key(9), 1), Vec::<IpAddr>::new());
        // Once the window has passed, the expired ones make room.
        seen.record(key(9), ip(9), 60, 120);
        assert_eq!(seen.addresses(&key(9), 61), vec![ip(9)]);
        assert_eq!(seen.len(), 1);
    }
}
