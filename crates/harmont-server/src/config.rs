//! The `harmont-auth` command line: every setting is a flag with an
//! environment fallback, and the defaults run out of the box on SQLite.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::time::Duration;

use crate::store::DEFAULT_DATABASE;

#[derive(Debug, Parser)]
#[command(name = "harmont-auth", version, about = "Harmont's Auth API: CLI login handoff, paste codes and sessions.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API, applying migrations first.
    Serve(ServeArgs),
    /// Apply the database migrations and exit.
    Migrate(DatabaseArgs),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Mint session tokens, for bootstrap, scripts and tests.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user, and print a one-time enrollment link (24 h) that signs
    /// their browser in and asks it to register a passkey.
    Add {
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// Where the server is reached, to build the link on.
        #[arg(long, env = "HARMONT_PUBLIC_URL", default_value = DEFAULT_PUBLIC_URL)]
        public_url: String,
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// Print a new one-time sign-in link (24 h) for an existing user: a lost
    /// passkey, a new browser.
    Link {
        email: String,
        /// Where the server is reached, to build the link on.
        #[arg(long, env = "HARMONT_PUBLIC_URL", default_value = DEFAULT_PUBLIC_URL)]
        public_url: String,
        #[command(flatten)]
        service: ServiceArgs,
    },
}

/// `serve`'s default listen address, as a URL.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print one fresh session token for the user, and nothing else.
    Mint {
        email: String,
        #[command(flatten)]
        service: ServiceArgs,
    },
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// `sqlite://PATH` (created with its folder if missing) or `postgres://…`.
    #[arg(long = "database", env = "DATABASE_URL", default_value = DEFAULT_DATABASE, hide_env_values = true)]
    pub url: String,
}

/// What every command that runs the service's rules needs.
#[derive(Debug, Clone, Args)]
pub struct ServiceArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Key for paste-code HMACs, 32+ characters, shared by all replicas.
    /// Required with Postgres; with SQLite, generated into a 0600 `secret`
    /// file beside the database when unset. Prefer the environment variable.
    #[arg(long, env = "HARMONT_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// How long a transferred login waits to be claimed.
    #[arg(long, env = "HARMONT_TRANSFER_TTL", default_value = "60s", value_parser = humantime::parse_duration)]
    pub transfer_ttl: Duration,
    /// How long a paste code can be redeemed.
    #[arg(long, env = "HARMONT_PASTE_TTL", default_value = "5m", value_parser = humantime::parse_duration)]
    pub paste_ttl: Duration,
    /// How long a session token lives.
    #[arg(long, env = "HARMONT_SESSION_TTL", default_value = "30d", value_parser = humantime::parse_duration)]
    pub session_ttl: Duration,
    /// How long a resolved bearer token is remembered in memory. Revocations
    /// through this server apply at once; through another replica, within
    /// this. `0s` turns the cache off.
    #[arg(long, env = "HARMONT_AUTH_CACHE_TTL", default_value = "2s", value_parser = humantime::parse_duration)]
    pub auth_cache_ttl: Duration,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub service: ServiceArgs,
    /// Address to listen on.
    #[arg(long, env = "HARMONT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The URL clients reach this server at (for doc links and the web pages);
    /// defaults to `http://` + the listen address.
    #[arg(long, env = "HARMONT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For is believed.
    #[arg(long, env = "HARMONT_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Web origins (comma-separated, e.g. `https://app.example.com`) allowed
    /// to call the API from a browser. Our own pages need none.
    #[arg(long, env = "HARMONT_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Log filter, in `tracing` env-filter syntax.
    #[arg(long, env = "HARMONT_LOG", default_value = "info")]
    pub log: String,
    #[arg(long, env = "HARMONT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}
