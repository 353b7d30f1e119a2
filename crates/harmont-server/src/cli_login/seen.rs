//! `inspect`: where the claims for a nonce came from, so the approval page
//! can show where the terminal waiting for a login connects from, and warn
//! when that is not the browser's own address. The memory itself is
//! [`crate::claim_memory::seen`] (in-process, bounded, per replica).

use harmont_wire::nonce::Nonce;
use harmont_wire::ErrorCode;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use utoipa::ToSchema;

use crate::claim_memory::seen::Key;
use crate::clock::millis;
use crate::error::ApiError;
use crate::service::Service;

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
}

impl Service {
    /// Notes where a claim came from (see the module docs).
    pub(crate) fn note_claim(&self, key_hash: Key, ip: IpAddr) {
        let now = self.clock.now();
        let window = self.settings.transfer_ttl.max(self.settings.max_wait);
        self.seen_claims.record(key_hash, ip, now, now + millis(window));
    }

    /// Where the claims for `nonce` came from, for a caller at `caller`.
    pub fn inspect_claims(&self, nonce: &str, caller: IpAddr) -> Result<CliInspectResponse, ApiError> {
        let nonce =
            Nonce::parse(nonce).map_err(|err| ApiError::new(ErrorCode::NonceInvalid).with_message(err.to_string()))?;
        let caller = caller.to_canonical();
        let seen = self.seen_claims.addresses(&nonce.hash(), self.clock.now());
        let claimed_from = seen.iter().find(|ip| **ip != caller).or(seen.first()).map(ToString::to_string);
        Ok(CliInspectResponse { claimed_from, your_address: caller.to_string() })
    }
}
