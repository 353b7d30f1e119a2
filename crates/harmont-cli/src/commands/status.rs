//! `harmont status`: which server, who, where the credential is stored, and
//! whether the server still accepts it. Prints everything it knows even when
//! the answer is "not logged in", and says so in the exit code.

use std::fmt::Write as _;

use serde_json::json;

use crate::context::{Context, TokenSource};
use crate::error::{exit, CliError};
use crate::output::Outcome;

pub async fn run(ctx: &Context) -> Result<Outcome, CliError> {
    let api = ctx.api_url();
    let path = ctx.store.path().display().to_string();
    let mut text = format!("Server:      {api}\n");
    if ctx.settings.app_url != api {
        let _ = writeln!(text, "Web app:     {}", ctx.settings.app_url);
    }
    let others: Vec<String> = ctx.store.servers()?.into_iter().filter(|s| s != api).collect();

    let Some((token, source)) = ctx.token()? else {
        let _ = writeln!(text, "Credential:  none (run `harmont login`)");
        append_others(&mut text, &others);
        let json = json!({
            "api_url": api, "app_url": ctx.settings.app_url, "credentials_path": path,
            "logged_in": false, "token_source": null, "valid": null, "user": null, "other_servers": others,
        });
        return Ok(Outcome::ok(text, json).with_exit_code(exit::NOT_LOGGED_IN));
    };
    let _ = match source {
        TokenSource::Env => writeln!(text, "Credential:  HARMONT_API_TOKEN (takes precedence over {path})"),
        TokenSource::File => writeln!(text, "Credential:  {path}"),
    };

    let checked = ctx.client().with_token(token).current_user().await;
    let (valid, exit_code, error) = match &checked {
        Ok(user) => {
            let name = user.name.as_deref().filter(|n| !n.is_empty()).map(|n| format!(" ({n})")).unwrap_or_default();
            let _ = writeln!(text, "Account:     {}{name}", user.email);
            let _ = writeln!(text, "Session:     valid");
            (Some(true), exit::OK, None)
        }
        Err(err) if err.is_unauthorized() => {
            let _ = writeln!(text, "Session:     refused by the server (revoked or expired): run `harmont login`");
            (Some(false), exit::NOT_LOGGED_IN, Some(err.to_string()))
        }
        Err(err) => {
            let _ = writeln!(text, "Session:     not checked: {err}");
            let code = if err.is_transport() { exit::UNREACHABLE } else { exit::FAILURE };
            (None, code, Some(err.to_string()))
        }
    };
    append_others(&mut text, &others);
    let json = json!({
        "api_url": api, "app_url": ctx.settings.app_url, "credentials_path": path,
        "logged_in": true, "token_source": source.as_str(), "valid": valid,
        "user": checked.ok(), "error": error, "other_servers": others,
    });
    Ok(Outcome::ok(text, json).with_exit_code(exit_code))
}

fn append_others(text: &mut String, others: &[String]) {
    if !others.is_empty() {
        let _ = writeln!(text, "Also stored: {}", others.join(", "));
    }
}
