//! `transfer`: park a grant for the signed-in user under the CLI's nonce.

use harmont_store::{GrantKey, GrantKind, NewGrant, User};
use harmont_wire::nonce::Nonce;
use harmont_wire::ErrorCode;

use super::check_challenge;
use super::CliLogin;
use crate::clock::millis;
use crate::error::ApiError;

impl CliLogin {
    /// Refuses weak nonces, and a nonce that still reserves a grant (which
    /// stays as it was): one waiting, or one claimed or expired less than a
    /// transfer window ago, so a spent nonce is never parked again meanwhile.
    /// Wakes any claim waiting on this nonce in this process.
    pub async fn transfer(&self, user: &User, nonce: &str, code_challenge: Option<String>) -> Result<(), ApiError> {
        let nonce =
            Nonce::parse(nonce).map_err(|err| ApiError::new(ErrorCode::NonceInvalid).with_message(err.to_string()))?;
        check_challenge(code_challenge.as_deref())?;
        let now = self.clock.now();
        let key_hash = GrantKey::from_hash(nonce.hash());
        let window = millis(self.windows.transfer_ttl);
        let parked = self
            .grants
            .park_grant(NewGrant {
                kind: GrantKind::Transfer,
                key_hash,
                user_id: user.id,
                code_challenge,
                created_at: now,
                expires_at: now + window,
                reserved_until: now + 2 * window,
            })
            .await?;
        if !parked {
            return Err(ApiError::new(ErrorCode::NonceInUse).with_message(
                "This nonce is taken: a login is waiting under it or used it moments ago. Start a new login.",
            ));
        }
        self.waiters.wake(&key_hash);
        crate::metrics::transfer_parked();
        crate::audit::Event::success("login_approved").kind("transfer").emit();
        Ok(())
    }
}
