//! `harmont`: the command-line client of Harmont's Auth API. Logs in through
//! the browser (or a paste code), stores the session token privately, and
//! logs out for real by revoking it on the server.

mod browser;
mod cli;
mod commands;
mod config;
mod context;
mod credentials;
mod error;
mod interrupt;
mod loopback;
mod output;
mod spinner;
mod style;

use clap::error::ErrorKind;
use clap::Parser as _;

fn main() {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => usage_error(err),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a single-threaded tokio runtime always builds");
    let code = runtime.block_on(commands::run(cli));
    // Exit without dropping the runtime: a blocking read of stdin that Ctrl-C
    // interrupted is still parked on a thread, and dropping would wait for it.
    std::process::exit(code);
}

/// clap's own output for `--help` and `--version` (exit 0); a usage error
/// exits 2, and under `--json` also puts `{"error": {...}}` on stdout, as
/// every other failure does.
fn usage_error(err: clap::Error) -> ! {
    let json = std::env::args_os().skip(1).take_while(|a| a != "--").any(|a| a == "--json");
    if json
        && !matches!(
            err.kind(),
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        )
    {
        let message = error::usage_message(&err.render().to_string());
        let body = serde_json::json!({
            "error": {
                "code": "usage",
                "message": message,
                "exit_code": error::exit::USAGE,
                "status": null,
                "doc_url": null,
                "request_id": null,
                "retry_after": null,
            }
        });
        println!("{}", serde_json::to_string_pretty(&body).expect("JSON values serialize"));
        let _ = err.print();
        std::process::exit(error::exit::USAGE);
    }
    err.exit()
}
