//! The CLI login handoff, one file per operation:
//! - `transfer`: the signed-in web page parks a grant under the CLI's nonce;
//! - `claim`: the CLI collects it (optionally long-polling), minting its token;
//! - `code`: the web page parks a grant under a paste code it shows;
//! - `redeem`: the CLI trades the typed code for its token.
//!
//! A grant names a user, not a token: the token is minted inside the atomic
//! consume, so a login nobody collects leaves no live session behind.

mod claim;
mod code;
pub mod device;
mod redeem;
pub mod seen;
mod transfer;

use harmont_store::GrantKind;
use harmont_wire::token::SessionToken;
use harmont_wire::{pkce, ErrorCode};

use crate::access::SignIn;
use crate::error::ApiError;
use crate::service::Service;

pub use crate::access::ClientInfo;

impl Service {
    /// Consumes the grant and mints the session it pays for, in one store call.
    async fn consume(
        &self,
        kind: GrantKind,
        key_hash: &[u8; 32],
        code_challenge: Option<&str>,
        client: &ClientInfo,
    ) -> Result<Option<SessionToken>, ApiError> {
        let now = self.clock.now();
        let (token, draft) = self.session_draft(client, now, SignIn::CLI);
        let session = self.store.consume_grant(kind, key_hash, code_challenge, now, draft).await?;
        if let Some(session) = &session {
            crate::metrics::session_created(harmont_store::SignInMethod::Cli);
            crate::metrics::sign_in("cli", "success");
            crate::audit::Event::success(collected(kind))
                .user(session.user_id)
                .subject(session.id)
                .method("cli")
                .emit();
        }
        Ok(session.map(|_| token))
    }

    /// [`Service::consume`], counting a disabled user's refusal.
    async fn consume_counted(
        &self,
        kind: GrantKind,
        key_hash: &[u8; 32],
        code_challenge: Option<&str>,
        client: &ClientInfo,
    ) -> Result<Option<SessionToken>, ApiError> {
        let consumed = self.consume(kind, key_hash, code_challenge, client).await;
        if consumed.as_ref().is_err_and(|err| err.code == ErrorCode::UserDisabled) {
            crate::metrics::sign_in("cli", "user_disabled");
            crate::audit::Event::failure(collected(kind)).method("cli").reason(ErrorCode::UserDisabled.as_str()).emit();
        }
        consumed
    }
}

/// The audit event of collecting a grant of this kind.
fn collected(kind: GrantKind) -> &'static str {
    match kind {
        GrantKind::Transfer => "token_claimed",
        GrantKind::Paste => "token_redeemed",
    }
}

fn check_challenge(challenge: Option<&str>) -> Result<(), ApiError> {
    match challenge {
        Some(c) if !pkce::is_valid_challenge(c) => Err(ApiError::new(ErrorCode::CodeChallengeInvalid)),
        _ => Ok(()),
    }
}
