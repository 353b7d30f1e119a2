//! `harmont whoami`: the account behind the credential in use.

use serde_json::json;

use crate::context::Context;
use crate::error::CliError;
use crate::output::Outcome;

pub async fn run(ctx: &Context) -> Result<Outcome, CliError> {
    let (client, source) = ctx.authed_client()?;
    let user = client.current_user().await.map_err(|e| ctx.refused(source, e))?;
    let text = match &user.name {
        Some(name) if !name.is_empty() => format!("{} ({name})", user.email),
        _ => user.email.clone(),
    };
    Ok(Outcome::ok(text, json!({"api_url": ctx.api_url(), "token_source": source.as_str(), "user": user})))
}
