//! One module per subcommand; this one resolves the settings, runs the
//! command, and prints its outcome or its error.

mod api_keys;
mod login;
mod logout;
mod sessions;
mod status;
mod token;
mod whoami;

use std::time::Duration;

use clap::CommandFactory as _;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::cli::{Cli, Command, CompletionShell};
use crate::config::Settings;
use crate::context::Context;
use crate::error::{exit, CliError};
use crate::output::Outcome;
use crate::style::{self, Stream};

/// How long the loopback listener stays up after a login has printed its
/// result, for a browser redirect still on its way (it normally arrives
/// before the token does).
const CALLBACK_LINGER: Duration = Duration::from_secs(1);

/// How long one retried revocation may take before the command goes on.
const PENDING_REVOCATION_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the command line; returns the process exit code.
pub async fn run(cli: Cli) -> i32 {
    let json = cli.global.json;
    if let Command::Completions(args) = &cli.command {
        return completions(args.shell);
    }
    let result = match Settings::resolve(&cli.global) {
        Ok(settings) => dispatch(Context::new(settings), cli.command).await,
        Err(err) => Err(err),
    };
    match result {
        Ok(outcome) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&outcome.json).expect("JSON values serialize"));
            } else if !outcome.text.is_empty() {
                println!("{}", outcome.text.trim_end());
            }
            if let Some(loopback) = outcome.linger {
                let _ = tokio::time::timeout(CALLBACK_LINGER, loopback.called_back()).await;
            }
            outcome.exit_code
        }
        Err(err) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&err.to_json()).expect("JSON values serialize"));
            }
            eprintln!("{}", human_error(&err));
            err.exit_code()
        }
    }
}

async fn dispatch(ctx: Context, command: Command) -> Result<Outcome, CliError> {
    match command {
        Command::Login(args) => {
            retry_pending_revocations(&ctx).await;
            login::run(&ctx, args).await
        }
        Command::Logout => logout::run(&ctx, retry_pending_revocations(&ctx).await).await,
        Command::Whoami => {
            retry_pending_revocations(&ctx).await;
            whoami::run(&ctx).await
        }
        Command::Status => {
            retry_pending_revocations(&ctx).await;
            status::run(&ctx).await
        }
        Command::Token => token::run(&ctx),
        Command::Sessions(args) => {
            retry_pending_revocations(&ctx).await;
            sessions::run(&ctx, args).await
        }
        Command::ApiKeys(args) => {
            retry_pending_revocations(&ctx).await;
            api_keys::run(&ctx, args).await
        }
        Command::Completions(args) => Ok(Outcome::ok("", serde_json::json!({"shell": format!("{:?}", args.shell)}))),
    }
}

/// Revokes the tokens that `logout` could not revoke earlier (the server was
/// unreachable), before a command that talks to the same server. Says so
/// when one goes through; stays quiet while the server is still away.
/// Returns how many were revoked now.
async fn retry_pending_revocations(ctx: &Context) -> usize {
    let Ok(pending) = ctx.store.pending_revocations(ctx.api_url()) else { return 0 };
    let mut revoked = 0;
    for entry in pending {
        let client = ctx.client().with_token(&entry.token);
        let done = match tokio::time::timeout(PENDING_REVOCATION_TIMEOUT, client.logout()).await {
            Ok(Ok(())) => true,
            // Unknown to the server: expired, or revoked from elsewhere.
            Ok(Err(err)) => err.is_unauthorized(),
            Err(_) => false,
        };
        if done && ctx.store.revoked(ctx.api_url(), &entry.token).is_ok() {
            revoked += 1;
            let when = entry
                .logged_out_at
                .as_deref()
                .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
                .map(|t| format!(" at {}", t.format(&Rfc3339).unwrap_or_default()))
                .unwrap_or_default();
            eprintln!(
                "Revoked on {} the session you logged out of{when}, which the server could not be reached for then.",
                ctx.api_url()
            );
        }
    }
    revoked
}

fn completions(shell: CompletionShell) -> i32 {
    use clap_complete::Shell;
    let shell = match shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    clap_complete::generate(shell, &mut Cli::command(), "harmont", &mut std::io::stdout());
    exit::OK
}

fn human_error(err: &CliError) -> String {
    match err {
        CliError::Interrupted(message) => (*message).to_owned(),
        _ => format!("{} {err}", style::red(Stream::Stderr, "error:")),
    }
}
