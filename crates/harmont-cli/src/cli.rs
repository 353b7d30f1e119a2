//! The command line: subcommands, flags and the environment they fall back on.

use clap::{Args, Parser, Subcommand};
use harmont_client::Uuid;

use crate::error::EXIT_CODES_HELP;

const AFTER_HELP: &str = "\
Environment:
  HARMONT_API_URL    the API base (after --api-url; then api_url in config.toml; default http://127.0.0.1:8080)
  HARMONT_APP_URL    the web app base where logins are approved (default: the API base)
  HARMONT_API_TOKEN  a session token or API key to use instead of the stored credential; login and logout then refuse
  BROWSER            the command that opens the approval page (as with other tools: `cmd %s`, `a:b` for fallbacks)
  XDG_CONFIG_HOME    config.toml and credentials.toml live in $XDG_CONFIG_HOME/harmont (default ~/.config/harmont)

With --json, stdout carries exactly one JSON document: the result, or {\"error\": {...}} on failure.";

#[derive(Debug, Parser)]
#[command(
    name = "harmont",
    version,
    about = "Log in to Harmont from the command line, and manage your sessions.",
    after_help = format!("{AFTER_HELP}\n\n{EXIT_CODES_HELP}"),
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The Harmont API base URL [default: api_url in config.toml, else http://127.0.0.1:8080]
    #[arg(long, global = true, env = "HARMONT_API_URL", value_name = "URL")]
    pub api_url: Option<String>,

    /// The web app base URL, where the browser approves a login [default: the API base]
    #[arg(long, global = true, env = "HARMONT_APP_URL", value_name = "URL")]
    pub app_url: Option<String>,

    /// Print one JSON document on stdout instead of text, for scripts
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in: approve in the browser, or paste a code from it
    Login(LoginArgs),
    /// Revoke the session on the server and forget it here
    Logout,
    /// Show who the stored credential belongs to
    Whoami,
    /// Show the server, the account, where the credential is stored, and whether it still works
    Status,
    /// Print the session token, for scripts
    Token,
    /// List your sessions, or revoke them
    Sessions(SessionsArgs),
    /// Create, list and revoke personal API keys (for CI and scripts)
    ApiKeys(ApiKeysArgs),
    /// Print a shell completion script: `harmont completions bash > /etc/bash_completion.d/harmont`
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Log in with a code shown in the browser instead of the loopback handoff
    /// (read from one line of stdin when stdin is not a terminal)
    #[arg(long)]
    pub paste: bool,

    /// Do not try to open a browser; only print the URL
    #[arg(long)]
    pub no_browser: bool,

    /// Keep the session this login replaces live (by default it is revoked,
    /// if it came from `harmont login`)
    #[arg(long)]
    pub keep_old: bool,

    /// Read a token (a session token or an API key) from stdin, check it and
    /// store it, without a browser: for CI (`echo "$KEY" | harmont login --with-token`)
    #[arg(long, conflicts_with_all = ["paste", "no_browser"])]
    pub with_token: bool,
}

#[derive(Debug, Args)]
pub struct ApiKeysArgs {
    #[command(subcommand)]
    pub action: Option<ApiKeysAction>,
}

#[derive(Debug, Subcommand)]
pub enum ApiKeysAction {
    /// Create a key and print it, alone, on stdout (it is shown only this once)
    Create(CreateKeyArgs),
    /// List your live keys, newest first (the default)
    List,
    /// Revoke a key by its ID, as `harmont api-keys list` shows it
    Revoke(RevokeKeyArgs),
}

#[derive(Debug, Args)]
pub struct CreateKeyArgs {
    /// What the key is for, such as "CI deploys"
    pub description: String,

    /// When the key stops working: a number of days (`90d`) or a date
    /// (`2027-01-31`, the start of that day in UTC) [default: never]
    #[arg(long, value_name = "90d|DATE", value_parser = parse_expiry)]
    pub expires: Option<Expiry>,
}

#[derive(Debug, Args)]
pub struct RevokeKeyArgs {
    /// The key's ID
    pub id: Uuid,
}

/// A key's expiry as given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Days(u32),
    Date(time::Date),
}

impl Expiry {
    /// RFC 3339, counted from `now` for a number of days.
    pub fn at(self, now: time::OffsetDateTime) -> String {
        let at = match self {
            Expiry::Days(days) => now + time::Duration::days(i64::from(days)),
            Expiry::Date(date) => date.midnight().assume_utc(),
        };
        at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
    }
}

fn parse_expiry(raw: &str) -> Result<Expiry, String> {
    let raw = raw.trim();
    if let Some(days) = raw.strip_suffix('d') {
        return match days.parse::<u32>() {
            Ok(days @ 1..=36_500) => Ok(Expiry::Days(days)),
            _ => Err("give a number of days from 1 to 36500, such as 90d".to_owned()),
        };
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(raw, &format)
        .map(Expiry::Date)
        .map_err(|_| "give a number of days (90d) or a date (2027-01-31)".to_owned())
}

#[derive(Debug, Args)]
pub struct SessionsArgs {
    #[command(subcommand)]
    pub action: Option<SessionsAction>,
}

#[derive(Debug, Subcommand)]
pub enum SessionsAction {
    /// List your live sessions, newest first (the default)
    List,
    /// End a session by its ID, or every session but this one
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct RevokeArgs {
    /// The session ID, as `harmont sessions` shows it, or its first 8 or more characters
    #[arg(value_parser = parse_session_id)]
    pub id: Option<SessionId>,

    /// Revoke every session except the one this CLI is using
    #[arg(long)]
    pub all_others: bool,
}

/// A session as named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionId {
    Full(Uuid),
    /// Lowercase, at least 8 hex digits, maybe with dashes.
    Prefix(String),
}

/// The shortest prefix taken, as git takes abbreviated hashes.
pub const MIN_PREFIX: usize = 8;

fn parse_session_id(raw: &str) -> Result<SessionId, String> {
    let raw = raw.trim();
    if let Ok(id) = Uuid::parse_str(raw) {
        return Ok(SessionId::Full(id));
    }
    let hex = raw.chars().filter(char::is_ascii_hexdigit).count();
    if raw.chars().all(|c| c.is_ascii_hexdigit() || c == '-') && hex >= MIN_PREFIX && raw.len() < 36 {
        return Ok(SessionId::Prefix(raw.to_ascii_lowercase()));
    }
    Err(format!(
        "not a session ID: give an ID as `harmont sessions` shows it, or its first {MIN_PREFIX} or more characters"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn revoke_needs_exactly_one_target() {
        assert!(Cli::try_parse_from(["harmont", "sessions", "revoke"]).is_err());
        let id = "6f1c4c1e-7d3b-4a59-9a5e-3b8f1d2c0a11";
        assert!(Cli::try_parse_from(["harmont", "sessions", "revoke", id, "--all-others"]).is_err());
        assert!(Cli::try_parse_from(["harmont", "sessions", "revoke", "not-a-uuid"]).is_err());
        assert!(Cli::try_parse_from(["harmont", "sessions", "revoke", id]).is_ok());
        assert!(Cli::try_parse_from(["harmont", "sessions", "revoke", "--all-others"]).is_ok());
        assert!(Cli::try_parse_from(["harmont", "sessions", "revoke", "6f1c4c1e"]).is_ok());
        assert!(Cli::try_parse_from(["harmont", "sessions", "revoke", "6f1c4c1"]).is_err(), "7 is too short");
    }

    #[test]
    fn session_ids_and_prefixes() {
        let id = "6F1C4C1E-7d3b-4a59-9a5e-3b8f1d2c0a11";
        assert_eq!(parse_session_id(id), Ok(SessionId::Full(Uuid::parse_str(id).unwrap())));
        assert_eq!(parse_session_id("6F1C4C1E"), Ok(SessionId::Prefix("6f1c4c1e".into())));
        assert_eq!(parse_session_id("6f1c4c1e-7d"), Ok(SessionId::Prefix("6f1c4c1e-7d".into())));
        for bad in ["6f1c-4c1", "not-a-uuid", "", "6f1c4c1g"] {
            assert!(parse_session_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn expiries_are_days_or_dates() {
        use time::macros::{date, datetime};
        assert_eq!(parse_expiry("90d"), Ok(Expiry::Days(90)));
        assert_eq!(parse_expiry("2027-01-31"), Ok(Expiry::Date(date!(2027 - 01 - 31))));
        for bad in ["0d", "d", "-3d", "90", "2027-02-30", "tomorrow", "99999d"] {
            assert!(parse_expiry(bad).is_err(), "{bad}");
        }
        let now = datetime!(2026-01-01 12:00:00 UTC);
        assert_eq!(Expiry::Days(30).at(now), "2026-01-31T12:00:00Z");
        assert_eq!(Expiry::Date(date!(2027 - 01 - 31)).at(now), "2027-01-31T00:00:00Z");
        assert!(Cli::try_parse_from(["harmont", "login", "--with-token", "--paste"]).is_err());
        assert!(Cli::try_parse_from(["harmont", "api-keys", "create", "CI", "--expires", "90d"]).is_ok());
    }

    #[test]
    fn revoke_without_a_target_names_both_ways() {
        let err = Cli::try_parse_from(["harmont", "sessions", "revoke"]).unwrap_err().to_string();
        assert!(err.contains("<ID|--all-others>"), "{err}");
    }
}
