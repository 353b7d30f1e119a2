//! `harmont sessions`: the caller's live sessions, and ending them, one by ID
//! or all but the current one.

use std::fmt::Write as _;

use harmont_client::{Client, SessionInfo, Uuid};
use harmont_wire::ErrorCode;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::cli::{RevokeArgs, SessionId, SessionsAction, SessionsArgs};
use crate::context::{Context, TokenSource};
use crate::error::CliError;
use crate::output::Outcome;

pub async fn run(ctx: &Context, args: SessionsArgs) -> Result<Outcome, CliError> {
    match args.action.unwrap_or(SessionsAction::List) {
        SessionsAction::List => list(ctx).await,
        SessionsAction::Revoke(RevokeArgs { id: Some(id), .. }) => revoke(ctx, id).await,
        SessionsAction::Revoke(RevokeArgs { id: None, .. }) => revoke_others(ctx).await,
    }
}

async fn list(ctx: &Context) -> Result<Outcome, CliError> {
    let (client, source) = ctx.authed_client()?;
    let sessions = client.sessions().await.map_err(|e| ctx.refused(source, e))?;
    let text = table(&sessions, OffsetDateTime::now_utc());
    Ok(Outcome::ok(text, json!({"api_url": ctx.api_url(), "sessions": sessions})))
}

/// The full ID a prefix stands for, among the caller's live sessions.
async fn resolve(ctx: &Context, client: &Client, source: TokenSource, id: SessionId) -> Result<Uuid, CliError> {
    let prefix = match id {
        SessionId::Full(id) => return Ok(id),
        SessionId::Prefix(prefix) => prefix,
    };
    let sessions = client.sessions().await.map_err(|e| ctx.refused(source, e))?;
    let matches: Vec<Uuid> = sessions.iter().map(|s| s.id).filter(|id| id.to_string().starts_with(&prefix)).collect();
    match matches.as_slice() {
        [id] => Ok(*id),
        [] => Err(CliError::Failed(format!(
            "You have no live session whose ID starts with {prefix} (see `harmont sessions`)."
        ))),
        several => Err(CliError::Usage(format!(
            "{prefix} is the start of {} of your sessions' IDs; give more characters (see `harmont sessions`).",
            several.len()
        ))),
    }
}

async fn revoke(ctx: &Context, id: SessionId) -> Result<Outcome, CliError> {
    let (client, source) = ctx.authed_client()?;
    let id = resolve(ctx, &client, source, id).await?;
    client.revoke_session(id).await.map_err(|err| {
        if err.is(ErrorCode::SessionNotFound) {
            CliError::api(format!("You have no live session {id} (see `harmont sessions`)"), err)
        } else {
            ctx.refused(source, err)
        }
    })?;
    // Revoking the session this CLI logs in with is a logout: the stored
    // credential is dead, so forget it rather than keep a token that fails.
    let this_one = source == TokenSource::File
        && client.current_user().await.is_err_and(|err| err.is_unauthorized())
        && ctx.store.remove(ctx.api_url())?;
    let text = if this_one {
        format!("Revoked session {id}. It was this one, so the stored credential is forgotten too.")
    } else {
        format!("Revoked session {id}.")
    };
    Ok(Outcome::ok(text, json!({"api_url": ctx.api_url(), "revoked": [id], "forgotten": this_one})))
}

async fn revoke_others(ctx: &Context) -> Result<Outcome, CliError> {
    let (client, source) = ctx.authed_client()?;
    let count = client.revoke_other_sessions().await.map_err(|e| ctx.refused(source, e))?;
    let text = match count {
        0 => "There were no other sessions to revoke.".to_owned(),
        1 => "Revoked 1 other session.".to_owned(),
        n => format!("Revoked {n} other sessions."),
    };
    Ok(Outcome::ok(text, json!({"api_url": ctx.api_url(), "revoked_count": count})))
}

fn table(sessions: &[SessionInfo], now: OffsetDateTime) -> String {
    if sessions.is_empty() {
        return "No live sessions.".to_owned();
    }
    let rows: Vec<[String; 4]> = sessions
        .iter()
        .map(|s| {
            [
                format!("{} {}", if s.current { "*" } else { " " }, s.id),
                ago(&s.created_at, now),
                s.last_used_at.as_deref().map_or_else(|| "never".to_owned(), |t| ago(t, now)),
                s.user_agent.clone().unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    let header = ["  ID".to_owned(), "CREATED".to_owned(), "LAST USED".to_owned(), "CLIENT".to_owned()];
    let widths: Vec<usize> =
        (0..3).map(|i| rows.iter().chain([&header]).map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    let mut text = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let _ = writeln!(
            text,
            "{:w0$}  {:w1$}  {:w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
    }
    text.push_str("* this session\n");
    text
}

/// "3 minutes ago"; the raw value if it is not RFC 3339.
fn ago(timestamp: &str, now: OffsetDateTime) -> String {
    let Ok(then) = OffsetDateTime::parse(timestamp, &Rfc3339) else {
        return timestamp.to_owned();
    };
    let seconds = (now - then).whole_seconds().max(0);
    let (n, unit) = match seconds {
        0..60 => return "just now".to_owned(),
        60..3600 => (seconds / 60, "minute"),
        3600..86_400 => (seconds / 3600, "hour"),
        _ => (seconds / 86_400, "day"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn session(id: u128, current: bool, last_used: Option<&str>) -> SessionInfo {
        SessionInfo {
            id: Uuid::from_u128(id),
            created_at: "2026-01-01T10:00:00Z".into(),
            expires_at: "2026-01-31T10:00:00Z".into(),
            last_used_at: last_used.map(str::to_owned),
            user_agent: current.then(|| "harmont/0.1.0 (linux; box)".to_owned()),
            ip: None,
            current,
        }
    }

    #[test]
    fn the_table_marks_this_session() {
        let now = datetime!(2026-01-01 12:00:30 UTC);
        let text = table(&[session(1, true, Some("2026-01-01T12:00:00Z")), session(2, false, None)], now);
        assert_eq!(
            text,
            "  ID                                    CREATED      LAST USED  CLIENT\n\
             * 00000000-0000-0000-0000-000000000001  2 hours ago  just now   harmont/0.1.0 (linux; box)\n\
             \x20 00000000-0000-0000-0000-000000000002  2 hours ago  never      -\n\
             * this session\n"
        );
        assert_eq!(table(&[], now), "No live sessions.");
    }

    #[test]
    fn ages_read_naturally() {
        let now = datetime!(2026-01-02 00:00:00 UTC);
        assert_eq!(ago("2026-01-01T23:59:00Z", now), "1 minute ago");
        assert_eq!(ago("2026-01-01T21:00:00Z", now), "3 hours ago");
        assert_eq!(ago("2025-12-31T00:00:00Z", now), "2 days ago");
        assert_eq!(ago("yesterday", now), "yesterday");
    }
}
