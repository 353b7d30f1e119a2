//! `harmont api-keys`: personal API keys for CI and scripts. `create` prints
//! the key alone on stdout (all else on stderr), so `KEY=$(harmont api-keys
//! create CI)` captures exactly the key.

use std::fmt::Write as _;

use harmont_client::ApiToken;
use harmont_wire::ErrorCode;
use serde_json::json;
use time::OffsetDateTime;

use crate::cli::{ApiKeysAction, ApiKeysArgs, CreateKeyArgs};
use crate::context::Context;
use crate::error::CliError;
use crate::output::Outcome;

pub async fn run(ctx: &Context, args: ApiKeysArgs) -> Result<Outcome, CliError> {
    match args.action.unwrap_or(ApiKeysAction::List) {
        ApiKeysAction::Create(args) => create(ctx, args).await,
        ApiKeysAction::List => list(ctx).await,
        ApiKeysAction::Revoke(args) => revoke(ctx, args.id).await,
    }
}

async fn create(ctx: &Context, args: CreateKeyArgs) -> Result<Outcome, CliError> {
    let (client, source) = ctx.authed_client()?;
    let expires_at = args.expires.map(|e| e.at(OffsetDateTime::now_utc()));
    let created = client.create_api_token(&args.description, expires_at.as_deref()).await.map_err(|err| {
        if err.is(ErrorCode::ApiKeyForbidden) {
            CliError::api("An API key cannot create keys; log in with `harmont login` to create one", err)
        } else if err.is(ErrorCode::ValidationFailed) {
            CliError::api("The server refused the key", err)
        } else {
            ctx.refused(source, err)
        }
    })?;
    let until =
        created.api_token.expires_at.as_deref().map_or_else(|| "never expires".to_owned(), |t| format!("expires {t}"));
    eprintln!("Created API key {} ({until}). It is shown only now: store it as a secret.", created.api_token.id);
    Ok(Outcome::ok(
        created.token.expose().to_owned(),
        json!({"api_url": ctx.api_url(), "token": created.token, "api_token": created.api_token}),
    ))
}

async fn list(ctx: &Context) -> Result<Outcome, CliError> {
    let (client, source) = ctx.authed_client()?;
    let keys = client.api_tokens().await.map_err(|e| ctx.refused(source, e))?;
    Ok(Outcome::ok(table(&keys), json!({"api_url": ctx.api_url(), "api_tokens": keys})))
}

async fn revoke(ctx: &Context, id: harmont_client::Uuid) -> Result<Outcome, CliError> {
    let (client, source) = ctx.authed_client()?;
    client.revoke_api_token(id).await.map_err(|err| {
        if err.is(ErrorCode::ApiTokenNotFound) {
            CliError::api(format!("You have no live API key {id} (see `harmont api-keys list`)"), err)
        } else {
            ctx.refused(source, err)
        }
    })?;
    Ok(Outcome::ok(format!("Revoked API key {id}."), json!({"api_url": ctx.api_url(), "revoked": [id]})))
}

fn table(keys: &[ApiToken]) -> String {
    if keys.is_empty() {
        return "No API keys.".to_owned();
    }
    let dash = || "-".to_owned();
    let rows: Vec<[String; 5]> = keys
        .iter()
        .map(|k| {
            [
                k.id.to_string(),
                k.created_at.clone(),
                k.expires_at.clone().unwrap_or_else(|| "never".to_owned()),
                k.last_used_at.clone().unwrap_or_else(|| "never".to_owned()),
                k.description.clone().unwrap_or_else(dash),
            ]
        })
        .collect();
    let header = ["ID", "CREATED", "EXPIRES", "LAST USED", "DESCRIPTION"].map(str::to_owned);
    let widths: Vec<usize> =
        (0..4).map(|i| rows.iter().chain([&header]).map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    let mut text = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let _ = writeln!(
            text,
            "{:w0$}  {:w1$}  {:w2$}  {:w3$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        );
    }
    text
}
