//! Limits on failed `claim` and `redeem` attempts per client address: a token
//! bucket that only failures drain. Successes are free, and the limits are set
//! so a CLI polling every 750 ms, or long-polling, never meets them. The same
//! bucket, keyed by session, limits what a signed-in session may start
//! (`transfer`, `code`, passkey registrations); and [`LongPolls`] caps the
//! claims held open at once, per client address and overall.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Failures allowed in a burst.
    pub burst: u32,
    /// One more failure is allowed after each of these.
    pub refill_every: Duration,
}

impl Rate {
    /// 300 at once, then 5 a second: several CLIs behind one NAT polling every
    /// 750 ms (1.3 failures a second each) stay under it indefinitely, while a
    /// nonce (at least 128 bits) is out of reach of guessing at any rate.
    pub const CLAIM: Rate = Rate { burst: 300, refill_every: Duration::from_millis(200) };
    /// 10 at once, then one every 6 s (10 a minute): room for typos, while an
    /// 80-bit paste code would take longer than the universe has existed.
    pub const REDEEM: Rate = Rate { burst: 10, refill_every: Duration::from_secs(6) };
    /// Failed resource-server client authentications (introspection), as
    /// redeem's: room for a misconfiguration to show, none for guessing a
    /// 256-bit secret.
    pub const CLIENT_AUTH: Rate = Rate::REDEEM;
    /// Passkey sign-ins started, each of which parks a ceremony row until it
    /// expires: 30 at once, then one every 2 s, far above what a person clicks.
    pub const SIGN_IN_START: Rate = Rate { burst: 30, refill_every: Duration::from_secs(2) };
    /// What one signed-in session may start (`transfer`, `code`, passkey
    /// registration): 60 at once, then one a second, far above a person.
    pub const PER_SESSION: Rate = Rate { burst: 60, refill_every: Duration::from_secs(1) };
    /// Emailed sign-in links asked for from one client address: 20 an hour.
    pub const EMAIL_LINK_REQUESTS: Rate = Rate { burst: 20, refill_every: Duration::from_secs(180) };
    /// Sign-in mails sent to one address: 5 an hour, so nobody can flood an inbox.
    pub const MAILS_PER_ADDRESS: Rate = Rate { burst: 5, refill_every: Duration::from_secs(720) };
}

/// What a limiter counts by: the bucket a key falls into.
pub trait LimitKey: Copy + Eq + Hash {
    fn bucket(self) -> Self;
}

/// Client addresses: IPv4 (and IPv4-mapped IPv6) per address, IPv6 per /64,
/// the block one subscriber usually holds.
impl LimitKey for IpAddr {
    fn bucket(self) -> Self {
        match self.to_canonical() {
            ip @ IpAddr::V4(_) => ip,
            IpAddr::V6(v6) => {
                let s = v6.segments();
                IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
            }
        }
    }
}

/// Hashes (of an email address, say), each its own.
impl LimitKey for [u8; 32] {
    fn bucket(self) -> Self {
        self
    }
}

/// Sessions, each its own.
impl LimitKey for Uuid {
    fn bucket(self) -> Self {
        self
    }
}

#[derive(Debug)]
pub struct FailureLimiter<K = IpAddr> {
    rate: Rate,
    buckets: Mutex<HashMap<K, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl<K: LimitKey> FailureLimiter<K> {
    pub fn new(rate: Rate) -> Self {
        Self { rate, buckets: Mutex::new(HashMap::new()) }
    }

    /// `Err(seconds)` when `client` has no failures left: the caller answers
    /// 429 with that `Retry-After`.
    pub fn check(&self, client: K, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(bucket) = buckets.get_mut(&client.bucket()) else { return Ok(()) };
        self.refill(bucket, now);
        if bucket.tokens >= 1.0 {
            return Ok(());
        }
        let wait = (1.0 - bucket.tokens) * self.rate.refill_every.as_secs_f64();
        Err(wait.ceil().max(1.0) as u64)
    }

    pub fn record_failure(&self, client: K, now: Instant) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket =
            buckets.entry(client.bucket()).or_insert(Bucket { tokens: f64::from(self.rate.burst), updated: now });
        self.refill(bucket, now);
        bucket.tokens -= 1.0;
    }

    /// Gives back one failure recorded ahead of the outcome (a long poll is
    /// counted when it starts) once it turned out a success.
    pub fn forgive(&self, client: K, now: Instant) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(bucket) = buckets.get_mut(&client.bucket()) {
            self.refill(bucket, now);
            bucket.tokens = (bucket.tokens + 1.0).min(f64::from(self.rate.burst));
        }
    }

    /// Checks and counts one use in one step: for limits on every call, not
    /// only on failures (what a session may start).
    pub fn take(&self, client: K, now: Instant) -> Result<(), u64> {
        self.check(client, now)?;
        self.record_failure(client, now);
        Ok(())
    }

    /// Drops the buckets that have refilled, so memory follows recent failures only.
    pub fn forget_idle(&self, now: Instant) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        buckets.retain(|_, bucket| {
            self.refill(bucket, now);
            bucket.tokens < f64::from(self.rate.burst)
        });
    }

    fn refill(&self, bucket: &mut Bucket, now: Instant) {
        let elapsed = now.saturating_duration_since(bucket.updated);
        let earned = elapsed.as_secs_f64() / self.rate.refill_every.as_secs_f64();
        bucket.tokens = (bucket.tokens + earned).min(f64::from(self.rate.burst));
        bucket.updated = now;
    }
}

/// Claims held open at once (long polls), per client address (IPv6 per /64)
/// and overall. A slot is a [`LongPollSlot`] guard: however the request ends
/// (answered, timed out, or dropped when the client goes away), dropping the
/// guard gives the slot back.
#[derive(Debug)]
pub struct LongPolls {
    per_client: usize,
    overall: usize,
    held: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    total: usize,
    by_client: HashMap<IpAddr, usize>,
}

/// Why a long poll was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LongPollRefusal {
    /// This client address already holds its share.
    Client,
    /// The server holds as many as it takes.
    Overall,
}

impl LongPolls {
    pub fn new(per_client: usize, overall: usize) -> Self {
        Self { per_client, overall, held: Mutex::new(Held::default()) }
    }

    pub fn acquire(&self, client: IpAddr) -> Result<LongPollSlot<'_>, LongPollRefusal> {
        let key = client.bucket();
        let mut held = self.lock();
        if held.total >= self.overall {
            return Err(LongPollRefusal::Overall);
        }
        let mine = held.by_client.entry(key).or_insert(0);
        if *mine >= self.per_client {
            return Err(LongPollRefusal::Client);
        }
        *mine += 1;
        held.total += 1;
        Ok(LongPollSlot { polls: self, key })
    }

    /// How many long polls are held now.
    pub fn held(&self) -> usize {
        self.lock().total
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One held long poll; dropping it frees the slot.
#[derive(Debug)]
pub struct LongPollSlot<'a> {
    polls: &'a LongPolls,
    key: IpAddr,
}

impl Drop for LongPollSlot<'_> {
    fn drop(&mut self) {
        let mut held = self.polls.lock();
        held.total = held.total.saturating_sub(1);
        if let Some(mine) = held.by_client.get_mut(&self.key) {
            *mine -= 1;
            if *mine == 0 {
                held.by_client.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn burst_then_refill() {
        let limiter = FailureLimiter::new(Rate { burst: 3, refill_every: Duration::from_secs(2) });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check(IP, t0), Ok(()));
            limiter.record_failure(IP, t0);
        }
        assert_eq!(limiter.check(IP, t0), Err(2));
        assert_eq!(limiter.check(IP, t0 + Duration::from_secs(1)), Err(1));
        assert_eq!(limiter.check(IP, t0 + Duration::from_secs(2)), Ok(()));
    }

    #[test]
    fn a_cli_polling_every_750ms_for_ten_minutes_is_never_limited() {
        let limiter = FailureLimiter::new(Rate::CLAIM);
        let t0 = Instant::now();
        for i in 0..800 {
            let now = t0 + Duration::from_millis(750 * i);
            assert_eq!(limiter.check(IP, now), Ok(()), "poll {i}");
            limiter.record_failure(IP, now);
        }
    }

    #[test]
    fn ipv6_neighbours_share_a_bucket() {
        let limiter = FailureLimiter::<IpAddr>::new(Rate { burst: 1, refill_every: Duration::from_secs(60) });
        let now = Instant::now();
        limiter.record_failure("2001:db8::1".parse().unwrap(), now);
        assert!(limiter.check("2001:db8::2".parse().unwrap(), now).is_err());
        assert!(limiter.check("2001:db8:0:1::1".parse().unwrap(), now).is_ok());
    }

    #[test]
    fn ipv4_mapped_clients_are_keyed_as_ipv4() {
        let limiter = FailureLimiter::<IpAddr>::new(Rate { burst: 1, refill_every: Duration::from_secs(60) });
        let now = Instant::now();
        limiter.record_failure("::ffff:192.0.2.1".parse().unwrap(), now);
        assert!(limiter.check("192.0.2.1".parse().unwrap(), now).is_err());
        assert!(limiter.check("::ffff:192.0.2.2".parse().unwrap(), now).is_ok());
        assert!(limiter.check("192.0.2.2".parse().unwrap(), now).is_ok());
    }

    #[test]
    fn sessions_are_limited_each_on_its_own() {
        let limiter = FailureLimiter::new(Rate { burst: 2, refill_every: Duration::from_secs(1) });
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let t0 = Instant::now();
        assert_eq!(limiter.take(a, t0), Ok(()));
        assert_eq!(limiter.take(a, t0), Ok(()));
        assert_eq!(limiter.take(a, t0), Err(1));
        assert_eq!(limiter.take(b, t0), Ok(()));
        assert_eq!(limiter.take(a, t0 + Duration::from_secs(1)), Ok(()));
    }

    #[test]
    fn a_forgiven_failure_is_given_back() {
        let limiter = FailureLimiter::<IpAddr>::new(Rate { burst: 1, refill_every: Duration::from_secs(60) });
        let now = Instant::now();
        limiter.record_failure(IP, now);
        assert!(limiter.check(IP, now).is_err());
        limiter.forgive(IP, now);
        assert_eq!(limiter.check(IP, now), Ok(()));
        limiter.forgive(IP, now);
        limiter.record_failure(IP, now);
        assert!(limiter.check(IP, now).is_err(), "never above the burst");
    }

    #[test]
    fn long_polls_are_capped_per_client_and_overall_and_slots_come_back() {
        let polls = LongPolls::new(2, 3);
        let (a, b, c): (IpAddr, IpAddr, IpAddr) =
            ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap(), "::ffff:192.0.2.1".parse().unwrap());
        let first = polls.acquire(a).unwrap();
        let _second = polls.acquire(a).unwrap();
        assert_eq!(polls.acquire(c).unwrap_err(), LongPollRefusal::Client, "the same client, IPv4-mapped");
        let _third = polls.acquire(b).unwrap();
        assert_eq!(polls.acquire(b).unwrap_err(), LongPollRefusal::Overall);
        assert_eq!(polls.held(), 3);
        drop(first);
        assert_eq!(polls.held(), 2);
        let _again = polls.acquire(a).unwrap();
        assert_eq!(polls.acquire("2001:db8::1".parse().unwrap()).unwrap_err(), LongPollRefusal::Overall);
    }

    #[test]
    fn idle_buckets_are_forgotten() {
        let limiter = FailureLimiter::new(Rate { burst: 2, refill_every: Duration::from_secs(1) });
        let now = Instant::now();
        limiter.record_failure(IP, now);
        limiter.forget_idle(now + Duration::from_secs(5));
        assert!(limiter.buckets.lock().unwrap().is_empty());
    }
}
