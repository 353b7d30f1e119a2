//! `inspect`: where the claims for a nonce came from, so the approval page
//! can show where the terminal waiting for a login connects from, and warn
//! when that is not the browser's own address; and where the login stands
//! (still waiting, approved, collected, or its terminal stopped asking), so
//! the page shows a used or abandoned login at once. The memory itself is
//! [`crate::claim_memory::seen`] (in-process, bounded, per replica).

use harmont_store::{GrantKey, GrantKind};
use harmont_wire::nonce::Nonce;
use harmont_wire::ErrorCode;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::time::Duration;
use utoipa::ToSchema;

use super::CliLogin;
use crate::claim_memory::seen::Key;
use crate::clock::millis;
use crate::error::ApiError;

/// The nonce of the login the page is about to approve.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CliInspectRequest {
    /// The nonce from the page's URL, as the terminal made it.
    #[schema(min_length = 22, max_length = 256, pattern = "^[A-Za-z0-9_-]+$")]
    pub nonce: String,
}

/// Where the terminal waiting for a login connects from, as the server sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CliInspectResponse {
    /// The address the claims for this nonce came from; when they came from
    /// several, one that is not `your_address`. `null` when this server has
    /// seen no claim for it (yet).
    pub claimed_from: Option<String>,
    /// The address of the caller (the browser), as the server sees it.
    pub your_address: String,
    /// Where the login stands, as far as this server knows.
    pub state: LoginState,
}

/// Where a CLI login stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoginState {
    /// This server has seen no claim for it (yet): it may be on another
    /// replica, or nobody is waiting.
    Unseen,
    /// A terminal is asking for it.
    Waiting,
    /// Approved, and not collected yet.
    Approved,
    /// Its terminal collected its session: it cannot be approved again.
    Collected,
    /// Its terminal asked, then stopped asking (it gave up, or was stopped).
    Stopped,
}

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
