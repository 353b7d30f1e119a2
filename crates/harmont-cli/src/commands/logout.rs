//! `harmont logout`: revoke the session on the server, then forget it here.
//! The local copy is forgotten even when the server cannot be reached, and
//! the exit code then says the revocation did not happen.

use serde_json::json;

use crate::context::Context;
use crate::error::{exit, CliError};
use crate::output::Outcome;

pub async fn run(ctx: &Context) -> Result<Outcome, CliError> {
    if ctx.settings.env_token.is_some() {
        return Err(CliError::Usage(
            "HARMONT_API_TOKEN is set; logout only manages the stored credential. \
             Unset it, or revoke that token with `harmont sessions revoke`."
                .into(),
        ));
    }
    let api = ctx.api_url();
    let Some(credential) = ctx.store.get(api)? else {
        return Err(ctx.not_logged_in());
    };
    let revoked = ctx.client().with_token(&credential.token).logout().await;
    ctx.store.remove(api)?;
    let forgot = format!("removed it from {}", ctx.store.path().display());
    match revoked {
        Ok(()) => Ok(Outcome::ok(
            format!("Logged out of {api}: the session is revoked on the server and {forgot}."),
            json!({"api_url": api, "revoked": true, "forgotten": true}),
        )),
        // The server no longer knew the token: it was revoked or expired already.
        Err(err) if err.is_unauthorized() => Ok(Outcome::ok(
            format!("Logged out of {api}: the server had already ended this session; {forgot}."),
            json!({"api_url": api, "revoked": true, "forgotten": true}),
        )),
        Err(err) => {
            let exit_code = if err.is_transport() { exit::UNREACHABLE } else { exit::FAILURE };
            eprintln!(
                "warning: the session was NOT revoked on the server: {err}\n\
                 It stays valid until it expires; revoke it from another login with `harmont sessions revoke`."
            );
            Ok(Outcome::ok(
                format!("Forgot the credential for {api} locally ({forgot}), but could not revoke it."),
                json!({"api_url": api, "revoked": false, "forgotten": true, "error": err.to_string()}),
            )
            .with_exit_code(exit_code))
        }
    }
}
