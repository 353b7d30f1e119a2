//! `harmont token`: prints the token in use, for scripts
//! (`curl -H "Authorization: Bearer $(harmont token)"`). No server call.

use serde_json::json;

use crate::context::Context;
use crate::error::CliError;
use crate::output::Outcome;

pub fn run(ctx: &Context) -> Result<Outcome, CliError> {
    let (token, source) = ctx.require_token()?;
    Ok(Outcome::ok(
        token.expose().to_owned(),
        json!({"api_url": ctx.api_url(), "token": token.expose(), "token_source": source.as_str()}),
    ))
}
