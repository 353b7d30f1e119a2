//! Limits on failed `claim` and `redeem` attempts per client address: a token
//! bucket that only failures drain. Successes are free, and the limits are set
//! so a CLI polling every 750 ms, or long-polling, never meets them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
    /// Passkey sign-ins started, each of which parks a ceremony row until it
    /// expires: 30 at once, then one every 2 s, far above what a person clicks.
    pub const SIGN_IN_START: Rate = Rate { burst: 30, refill_every: Duration::from_secs(2) };
}

#[derive(Debug)]
pub struct FailureLimiter {
    rate: Rate,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl FailureLimiter {
    pub fn new(rate: Rate) -> Self {
        Self { rate, buckets: Mutex::new(HashMap::new()) }
    }

    /// `Err(seconds)` when `client` has no failures left: the caller answers
    /// 429 with that `Retry-After`.
    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(bucket) = buckets.get_mut(&key(client)) else { return Ok(()) };
        self.refill(bucket, now);
        if bucket.tokens >= 1.0 {
            return Ok(());
        }
        let wait = (1.0 - bucket.tokens) * self.rate.refill_every.as_secs_f64();
        Err(wait.ceil().max(1.0) as u64)
    }

    pub fn record_failure(&self, client: IpAddr, now: Instant) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket = buckets.entry(key(client)).or_insert(Bucket { tokens: f64::from(self.rate.burst), updated: now });
        self.refill(bucket, now);
        bucket.tokens -= 1.0;
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

/// IPv6 clients are limited per /64, the block one subscriber usually holds.
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
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
        let limiter = FailureLimiter::new(Rate { burst: 1, refill_every: Duration::from_secs(60) });
        let now = Instant::now();
        limiter.record_failure("2001:db8::1".parse().unwrap(), now);
        assert!(limiter.check("2001:db8::2".parse().unwrap(), now).is_err());
        assert!(limiter.check("2001:db8:0:1::1".parse().unwrap(), now).is_ok());
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
