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

use clap::Parser as _;

fn main() {
    // clap exits by itself: 0 for --help and --version, 2 for usage errors.
    let cli = cli::Cli::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a single-threaded tokio runtime always builds");
    let code = runtime.block_on(commands::run(cli));
    // Exit without dropping the runtime: a blocking read of stdin that Ctrl-C
    // interrupted is still parked on a thread, and dropping would wait for it.
    std::process::exit(code);
}
