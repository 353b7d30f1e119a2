//! `code`: park a grant for the signed-in user under a fresh paste code.

use harmont_store::{GrantKey, GrantKind, NewGrant, User};
use harmont_wire::paste_code::PasteCode;

use super::check_challenge;
use super::CliLogin;
use crate::clock::millis;
use crate::error::ApiError;

impl CliLogin {
    pub async fn code(&self, user: &User, code_challenge: Option<String>) -> Result<PasteCode, ApiError> {
        check_challenge(code_challenge.as_deref())?;
        // 80 random bits collide with a live code practically never; a few
        // tries turn "practically" into "never" without a read-then-write.
        for _ in 0..3 {
            let code = PasteCode::generate();
            let now = self.clock.now();
            let parked = self
                .grants
                .park_grant(NewGrant {
                    kind: GrantKind::Paste,
                    key_hash: GrantKey::from_hash(code.keyed_hash(self.secret.expose())),
                    user_id: user.id,
                    code_challenge: code_challenge.clone(),
                    created_at: now,
                    expires_at: now + millis(self.windows.paste_ttl),
                    reserved_until: now + millis(self.windows.paste_ttl),
                })
                .await?;
            if parked {
                crate::metrics::code_minted();
                crate::audit::Event::success("login_approved").kind("code").emit();
                return Ok(code);
            }
        }
        Err(ApiError::internal("three paste codes in a row collided with live ones"))
    }
}
