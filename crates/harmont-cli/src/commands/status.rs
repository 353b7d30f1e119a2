//! `harmont status`: which server, who, where the credential is stored, and
//! whether the server still accepts it. Prints everything it knows even when
//! the answer is "not logged in", and says so in the exit code.

use std::fmt::Write as _;

use serde_json::json;

use crate::config::ApiUrlSource;
use crate::context::{Context, TokenSource};
use crate::error::{api_message, exit, CliError};
use crate::output::Outcome;

pub async fn run(ctx: &Context) -> Result<Outcome, CliError> {
    let api = ctx.api_url();
    let path = ctx.store.path().display().to_string();
    let from = match ctx.settings.api_url_source {
        ApiUrlSource::LastLogin => " (the server of your last login)",
        ApiUrlSource::ConfigFile => " (from config.toml)",
        ApiUrlSource::Default => " (the default)",
        ApiUrlSource::Given => "",
    };
    let mut text = format!("Server:      {api}{from}\n");
    if ctx.settings.app_url != api {
        let _ = writeln!(text, "Web app:     {}", ctx.settings.app_url);
    }
    let others: Vec<String> = ctx.store.servers()?.into_iter().filter(|s| s != api).collect();

    let Some((token, source)) = ctx.token()? else {
        let _ = writeln!(text, "Credential:  none (run `harmont login`)");
        let pending = append_pending(ctx, &mut text);
        append_others(&mut text, &others);
        let json = json!({
            "api_url": api, "api_url_source": ctx.settings.api_url_source.as_str(),
            "app_url": ctx.settings.app_url, "credentials_path": path,
            "logged_in": false, "token_source": null, "valid": null, "user": null, "other_servers": others,
            "pending_revocations": pending,
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
        Err(err) if err.is_unauthorized() && source == TokenSource::Env => {
            let _ = writeln!(
                text,
                "Session:     not accepted by the server: unset it (`unset HARMONT_API_TOKEN`) to use your own login"
            );
            (Some(false), exit::NOT_LOGGED_IN, Some(api_message(err)))
        }
        Err(err) if err.is_unauthorized() => {
            let _ = writeln!(text, "Session:     refused by the server (revoked or expired): run `harmont login`");
            (Some(false), exit::NOT_LOGGED_IN, Some(api_message(err)))
        }
        Err(err) => {
            let _ = writeln!(text, "Session:     not checked: {}", api_message(err));
            let code = if err.is_transport() { exit::UNREACHABLE } else { exit::FAILURE };
            (None, code, Some(api_message(err)))
        }
    };
    let pending = append_pending(ctx, &mut text);
    append_others(&mut text, &others);
    let json = json!({
        "api_url": api, "api_url_source": ctx.settings.api_url_source.as_str(),
        "app_url": ctx.settings.app_url, "credentials_path": path,
        "logged_in": true, "token_source": source.as_str(), "valid": valid,
        "user": checked.ok(), "error": error, "other_servers": others, "pending_revocations": pending,
    });
    Ok(Outcome::ok(text, json).with_exit_code(exit_code))
}

/// Sessions logged out of while the server was away, still to be revoked.
fn append_pending(ctx: &Context, text: &mut String) -> usize {
    let pending = ctx.store.pending_revocations(ctx.api_url()).map(|p| p.len()).unwrap_or(0);
    if pending > 0 {
        let _ = writeln!(
            text,
            "Pending:     {pending} logged-out session{} still to be revoked on the server (retried at each command)",
            if pending == 1 { "" } else { "s" }
        );
    }
    pending
}

fn append_others(text: &mut String, others: &[String]) {
    if !others.is_empty() {
        let _ = writeln!(text, "Also stored: {}", others.join(", "));
    }
}
