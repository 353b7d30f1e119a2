//! One module per subcommand; this one resolves the settings, runs the
//! command, and prints its outcome or its error.

mod login;
mod logout;
mod sessions;
mod status;
mod token;
mod whoami;

use crate::cli::{Cli, Command};
use crate::config::Settings;
use crate::context::Context;
use crate::error::CliError;
use crate::output::Outcome;

/// Runs the command line; returns the process exit code.
pub async fn run(cli: Cli) -> i32 {
    let json = cli.global.json;
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
        Command::Login(args) => login::run(&ctx, args).await,
        Command::Logout => logout::run(&ctx).await,
        Command::Whoami => whoami::run(&ctx).await,
        Command::Status => status::run(&ctx).await,
        Command::Token => token::run(&ctx),
        Command::Sessions(args) => sessions::run(&ctx, args).await,
    }
}

fn human_error(err: &CliError) -> String {
    match err {
        CliError::Interrupted(message) => (*message).to_owned(),
        _ => format!("error: {err}"),
    }
}
