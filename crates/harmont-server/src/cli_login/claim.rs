//! `claim`: the CLI collects the token for its nonce, once. With a wait
//! (`Prefer: wait=N`) the request is held until the grant appears.

use harmont_store::GrantKind;
use harmont_wire::token::SessionToken;
use harmont_wire::{nonce, pkce, ErrorCode};
use std::time::{Duration, Instant};

use super::ClientInfo;
use crate::error::ApiError;
use crate::service::Service;

impl Service {
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
        let key_hash = nonce::hash(nonce);
        self.note_claim(key_hash, client.ip);
        let challenge = code_verifier.map(pkce::challenge_of);
        let token = if wait.is_zero() {
            self.consume(GrantKind::Transfer, &key_hash, challenge.as_deref(), client).await?
        } else {
            self.claim_when_parked(&key_hash, challenge.as_deref(), wait, client).await?
        };
        token.ok_or_else(|| {
            self.claim_limiter.record_failure(client.ip, Instant::now());
            ApiError::new(ErrorCode::CliCodeInvalid)
        })
    }

    /// Tries to consume, then sleeps until a `transfer` in this process wakes
    /// it, a periodic re-read of the store finds a grant parked by another
    /// replica, the wait ends, or the server shuts down.
    async fn claim_when_parked(
        &self,
        key_hash: &[u8; 32],
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
            if let Some(token) = self.consume(GrantKind::Transfer, key_hash, challenge, client).await? {
                return Ok(Some(token));
            }
            let every = self.settings.recheck_every;
            let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                tokio::select! {
                    () = &mut woken => break,
                    _ = recheck.tick() => {
                        if self.store.grant_pending(GrantKind::Transfer, key_hash, self.clock.now()).await? {
                            break;
                        }
                    }
                    () = tokio::time::sleep_until(deadline) => return Ok(None),
                    () = self.shutdown.cancelled() => return Ok(None),
                }
            }
        }
    }
}
