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
        Ok(session.map(|_| token))
    }
}

fn check_challenge(challenge: Option<&str>) -> Result<(), ApiError> {
    match challenge {
        Some(c) if !pkce::is_valid_challenge(c) => Err(ApiError::new(ErrorCode::CodeChallengeInvalid)),
        _ => Ok(()),
    }
}
