//! `claim`: the CLI collects the token for its nonce, once. With a wait
//! (`Prefer: wait=N`) the request is held until the grant appears.

use harmont_store::{GrantKey, GrantKind};
use harmont_wire::token::SessionToken;
use harmont_wire::{nonce, pkce, ErrorCode};
use std::time::{Duration, Instant};

use super::CliLogin;
use super::ClientInfo;
use crate::error::ApiError;
use crate::rate_limit::LongPollRefusal;

/// Seconds a refused long poll is told to wait: slots free as held claims
/// are answered, within the longest wait (30 s).
const LONG_POLL_RETRY_AFTER: u64 = 5;

impl CliLogin {
    /// Any nonce is hashed and looked up as given: unknown, pending, expired,
    /// used and wrong-verifier all answer `cli_code_invalid`, which the
    /// published CLI reads as "not yet". A wrong verifier leaves the grant.
    pub async fn claim(
        &self,
        nonce: &str,
        code_verifier: Option<&str>,
        wait: Duration,
        client: &ClientInfo,
    ) -> Result<SessionToken, ApiError> {
        self.claim_limiter.check(client.ip, Instant::now()).map_err(ApiError::rate_limited)?;
        let key_hash = GrantKey::from_hash(nonce::hash(nonce));
        self.note_claim(key_hash, client.ip);
        let challenge = code_verifier.map(pkce::challenge_of);
        if wait.is_zero() {
            let token = self
                .consume_counted(GrantKind::Transfer, &key_hash, challenge.as_deref(), client)
                .await
                .inspect_err(claim_failed)?;
            crate::metrics::claim(if token.is_some() { "won" } else { "not_yet" });
            if token.is_some() {
                self.note_collected(&key_hash);
            }
            return token.ok_or_else(|| {
                self.claim_limiter.record_failure(client.ip, Instant::now());
                ApiError::new(ErrorCode::CliCodeInvalid)
            });
        }
        // A held claim takes a slot (given back however the request ends,
        // even when the client goes away) and counts as a failure from the
        // start, forgiven if it gets its token: holding many, or starting
        // and dropping them in a loop, meets the limits at once.
        let _slot = self.long_polls.acquire(client.ip).map_err(|refusal| {
            let message = match refusal {
                LongPollRefusal::Client => "Too many logins are waiting from your address. Retry later.",
                LongPollRefusal::Overall => "Too many logins are waiting on this server. Retry later.",
            };
            ApiError::rate_limited(LONG_POLL_RETRY_AFTER).with_message(message)
        })?;
        self.claim_limiter.record_failure(client.ip, Instant::now());
        let clock = || self.clock.now();
        let held = self.seen_claims.hold(key_hash, &clock);
        let token = self.claim_when_parked(&key_hash, challenge.as_deref(), wait, client).await;
        drop(held);
        let token = token.inspect_err(|err| {
            crate::metrics::long_poll_ended("failed");
            claim_failed(err);
        })?;
        match token {
            Some(token) => {
                crate::metrics::long_poll_ended("won");
                crate::metrics::claim("won");
                self.note_collected(&key_hash);
                self.claim_limiter.forgive(client.ip, Instant::now());
                Ok(token)
            }
            None => {
                crate::metrics::claim("not_yet");
                Err(ApiError::new(ErrorCode::CliCodeInvalid))
            }
        }
    }

    /// Tries to consume, then sleeps until a `transfer` in this process wakes
    /// it, a periodic re-read of the store finds a grant parked by another
    /// replica, the wait ends, or the server shuts down.
    async fn claim_when_parked(
        &self,
        key_hash: &GrantKey,
        challenge: Option<&str>,
        wait: Duration,
        client: &ClientInfo,
    ) -> Result<Option<SessionToken>, ApiError> {
        let deadline = tokio::time::Instant::now() + wait;
        let registration = self.waiters.register(*key_hash);
        loop {
            // Enabled before the attempt, so a transfer landing between the
            // attempt and the sleep still wakes us.
            let woken = registration.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if let Some(token) = self.consume_counted(GrantKind::Transfer, key_hash, challenge, client).await? {
                return Ok(Some(token));
            }
            let every = self.windows.recheck_every;
            let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                tokio::select! {
                    () = &mut woken => break,
                    _ = recheck.tick() => {
                        // Bounded by the deadline too: a slow store never holds a claim past it.
                        let pending = self.grants.grant_pending(GrantKind::Transfer, key_hash, self.clock.now());
                        match tokio::time::timeout_at(deadline, pending).await {
                            Ok(pending) => {
                                if pending? {
                                    break;
                                }
                            }
                            Err(_) => {
                                crate::metrics::long_poll_ended("timed_out");
                                return Ok(None);
                            }
                        }
                    }
                    () = tokio::time::sleep_until(deadline) => {
                        crate::metrics::long_poll_ended("timed_out");
                        return Ok(None);
                    }
                    () = self.shutdown.cancelled() => {
                        crate::metrics::long_poll_ended("shut_down");
                        return Ok(None);
                    }
                }
            }
        }
    }
}

/// Counts a claim refused with an error (a disabled user; the store away).
fn claim_failed(err: &ApiError) {
    if err.code == ErrorCode::UserDisabled {
        crate::metrics::claim("user_disabled");
    }
}
