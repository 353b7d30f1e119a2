//! `harmont logout`: revoke the session on the server, then forget it here.
//! When the revocation fails (the server cannot be reached), the credential
//! stops being a login but its token is kept, marked pending revocation, and
//! revoked at the next command that reaches the server, or the next `logout`.

use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::context::Context;
use crate::error::{api_message, exit, CliError};
use crate::output::Outcome;
use crate::style::{self, Stream};

/// `revoked_now`: earlier logouts whose revocation just went through.
pub async fn run(ctx: &Context, revoked_now: usize) -> Result<Outcome, CliError> {
    if ctx.settings.env_token.is_some() {
        return Err(CliError::Usage(
            "HARMONT_API_TOKEN is set; logout only manages the stored credential. \
             Unset it (`unset HARMONT_API_TOKEN`), or revoke that token with `harmont sessions revoke`."
                .into(),
        ));
    }
    let api = ctx.api_url();
    let Some(credential) = ctx.store.get(api)? else {
        if revoked_now > 0 {
            return Ok(Outcome::ok(
                format!("You were already logged out of {api}; the revocation that was pending is done now."),
                json!({"api_url": api, "revoked": true, "forgotten": true, "pending_revocation": false}),
            ));
        }
        let pending = ctx.store.pending_revocations(api)?.len();
        if pending > 0 {
            return Ok(Outcome::ok(
                format!(
                    "You are logged out of {api}, but the server still cannot be reached to revoke the session; \
                     it stays marked for revocation."
                ),
                json!({"api_url": api, "revoked": false, "forgotten": true, "pending_revocation": true}),
            )
            .with_exit_code(exit::UNREACHABLE));
        }
        return Err(ctx.not_logged_in());
    };
    // An API key handed to `login --with-token` belongs to whoever made it
    // (CI, say): logging out here forgets it, and leaves it live.
    if credential.token.is_api_key() {
        ctx.store.remove(api)?;
        return Ok(Outcome::ok(
            format!(
                "Logged out of {api}: removed the API key from {}. The key itself stays valid; \
                 revoke it with `harmont api-keys revoke ID` if it should not.",
                ctx.store.path().display()
            ),
            json!({"api_url": api, "revoked": false, "forgotten": true, "pending_revocation": false}),
        ));
    }
    let revoked = ctx.client().with_token(&credential.token).logout().await;
    let forgot = format!("removed it from {}", ctx.store.path().display());
    match revoked {
        Ok(()) => {
            ctx.store.remove(api)?;
            Ok(Outcome::ok(
                format!("Logged out of {api}: the session is revoked on the server and {forgot}."),
                json!({"api_url": api, "revoked": true, "forgotten": true, "pending_revocation": false}),
            ))
        }
        // The server no longer knew the token: it was revoked or expired already.
        Err(err) if err.is_unauthorized() => {
            ctx.store.remove(api)?;
            Ok(Outcome::ok(
                format!("Logged out of {api}: the server had already ended this session; {forgot}."),
                json!({"api_url": api, "revoked": true, "forgotten": true, "pending_revocation": false}),
            ))
        }
        Err(err) => {
            let now = OffsetDateTime::now_utc().format(&Rfc3339).ok();
            ctx.store.mark_pending_revocation(api, now)?;
            let exit_code = if err.is_transport() { exit::UNREACHABLE } else { exit::FAILURE };
            eprintln!(
                "{} the session was NOT revoked on the server: {}\n\
                 Its token is kept in {}, marked pending revocation: `harmont` revokes it at its next command \
                 that reaches {api}, or run `harmont logout` again.",
                style::yellow(Stream::Stderr, "warning:"),
                api_message(&err),
                ctx.store.path().display()
            );
            Ok(Outcome::ok(
                format!("Logged out of {api} here; the revocation on the server is pending."),
                json!({"api_url": api, "revoked": false, "forgotten": true, "pending_revocation": true,
                       "error": api_message(&err)}),
            )
            .with_exit_code(exit_code))
        }
    }
}
