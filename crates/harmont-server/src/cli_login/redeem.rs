//! `redeem`: trade a typed paste code for a session token, once.

use harmont_store::{GrantKey, GrantKind};
use harmont_wire::paste_code::PasteCode;
use harmont_wire::token::SessionToken;
use harmont_wire::{pkce, ErrorCode};
use std::time::Instant;

use super::CliLogin;
use super::ClientInfo;
use crate::error::ApiError;

impl CliLogin {
    /// Whatever is wrong (not a code, unknown, expired, used, wrong verifier)
    /// answers the same `cli_code_invalid` and counts against the client.
    pub async fn redeem(
        &self,
        typed: &str,
        code_verifier: Option<&str>,
        client: &ClientInfo,
    ) -> Result<SessionToken, ApiError> {
        self.redeem_limiter.check(client.ip, Instant::now()).map_err(ApiError::rate_limited)?;
        let challenge = code_verifier.map(pkce::challenge_of);
        let token = match PasteCode::parse_lenient(typed) {
            Some(code) => {
                let key_hash = GrantKey::from_hash(code.keyed_hash(self.secret.expose()));
                self.consume_counted(GrantKind::Paste, &key_hash, challenge.as_deref(), client).await.inspect_err(
                    |err| {
                        if err.code == ErrorCode::UserDisabled {
                            crate::metrics::redeem("user_disabled");
                        }
                    },
                )?
            }
            None => None,
        };
        crate::metrics::redeem(if token.is_some() { "won" } else { "failed" });
        token.ok_or_else(|| {
            crate::metrics::sign_in("cli", "failure");
            crate::audit::Event::failure("token_redeemed")
                .method("cli")
                .reason(ErrorCode::CliCodeInvalid.as_str())
                .emit();
            self.redeem_limiter.record_failure(client.ip, Instant::now());
            ApiError::new(ErrorCode::CliCodeInvalid)
        })
    }
}
