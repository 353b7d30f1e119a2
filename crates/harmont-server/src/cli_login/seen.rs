//! `inspect`: where the claims for a nonce came from, so the approval page
//! can show where the terminal waiting for a login connects from, and warn
//! when that is not the browser's own address; and where the login stands
//! (still waiting, approved, collected, or its terminal stopped asking), so
//! the page shows a used or abandoned login at once. The memory itself is
//! [`crate::claim_memory::seen`] (in-process, bounded, per replica).

use harmont_store::{GrantKey, GrantKind};
use harmont_wire::api::{CliInspectResponse, LoginState};
use harmont_wire::nonce::Nonce;
use harmont_wire::ErrorCode;
use std::net::IpAddr;
use std::time::Duration;

use super::CliLogin;
use crate::claim_memory::seen::Key;
use crate::clock::millis;
use crate::error::ApiError;

/// How long this server remembers a login's claims after the last one: long
/// enough to tell a person who opens the page late that its terminal is gone.
pub const CLAIM_MEMORY: Duration = Duration::from_secs(15 * 60);
/// A terminal with no claim held open that has not claimed for this long
/// has stopped asking: the harmont CLI claims again at once (or after at
/// most 5 s of backoff), the published `hm` every 750 ms.
pub const STOPPED_AFTER: Duration = Duration::from_secs(10);

impl CliLogin {
    /// Notes where a claim came from (see the module docs).
    pub(crate) fn note_claim(&self, key_hash: Key, ip: IpAddr) {
        let now = self.clock.now();
        let window = self.windows.transfer_ttl.max(self.windows.max_wait).max(CLAIM_MEMORY);
        self.seen_claims.record(key_hash, ip, now, now + millis(window));
    }

    /// Notes that a claim got its token.
    pub(crate) fn note_collected(&self, key_hash: &Key) {
        self.seen_claims.collected(key_hash, self.clock.now());
    }

    /// Where the claims for `nonce` came from, for a caller at `caller`, and
    /// where the login stands.
    pub async fn inspect_claims(&self, nonce: &str, caller: IpAddr) -> Result<CliInspectResponse, ApiError> {
        let nonce =
            Nonce::parse(nonce).map_err(|err| ApiError::new(ErrorCode::NonceInvalid).with_message(err.to_string()))?;
        let caller = caller.to_canonical();
        let now = self.clock.now();
        let key_hash = GrantKey::from_hash(nonce.hash());
        let seen = self.seen_claims.addresses(&key_hash, now);
        let claimed_from = seen.iter().find(|ip| **ip != caller).or(seen.first()).map(ToString::to_string);
        let state = self.login_state(&key_hash).await?;
        Ok(CliInspectResponse { claimed_from, your_address: caller.to_string(), state })
    }

    /// Where the login whose nonce hashes to `key_hash` stands.
    pub(crate) async fn login_state(&self, key_hash: &Key) -> Result<LoginState, ApiError> {
        let now = self.clock.now();
        Ok(match self.seen_claims.activity(key_hash, now) {
            Some(a) if a.collected => LoginState::Collected,
            _ if self.grants.grant_pending(GrantKind::Transfer, key_hash, now).await? => LoginState::Approved,
            Some(a) if !a.held && now - a.last_seen > millis(STOPPED_AFTER) => LoginState::Stopped,
            Some(_) => LoginState::Waiting,
            None => LoginState::Unseen,
        })
    }
}
