//! The `harmont-auth` command line: every setting is a flag with an
//! environment fallback, and the defaults run out of the box on SQLite.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tracing_subscriber::filter::{Directive, EnvFilter, LevelFilter};

use crate::store::DEFAULT_DATABASE;

#[derive(Debug, Parser)]
#[command(name = "harmont-auth", version, about = "Harmont's Auth API: CLI login handoff, paste codes and sessions.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// A TOML file with settings of `serve`, keyed by the flag's name with
    /// underscores (`transfer_ttl = "60s"`); flags and environment variables
    /// override it. Every command reads the settings it shares with `serve`.
    #[arg(long, env = "HARMONT_CONFIG", global = true)]
    pub config: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API, applying migrations first.
    Serve(Box<ServeArgs>),
    /// Apply the database migrations and exit.
    Migrate(DatabaseArgs),
    /// Manage users (in an existing database: run `serve` or `migrate` first).
    #[command(subcommand)]
    User(UserCommand),
    /// Mint session tokens, for bootstrap, scripts and tests.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage the resource servers allowed to introspect tokens
    /// (`POST /api/v0/auth/introspect`, HTTP Basic).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Check the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a resource server; prints `{"client_id": …, "client_secret": …}`
    /// on stdout. The secret is shown this once: only its SHA-256 is kept.
    Add {
        /// A unique name, 1 to 100 characters.
        name: String,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// List the registered resource servers (name, client id, created), one a line.
    List {
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Remove a resource server: its secret is refused from the next request on.
    Remove {
        name: String,
        #[command(flatten)]
        admin: AdminArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check the settings `serve` would run with (flags, environment and
    /// `--config` file): the database answers, the secret and the public URL
    /// are usable. Prints the effective settings, secrets redacted, as a
    /// config file on stdout; exits 1 with a list of what is wrong.
    Check(Box<ServeArgs>),
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
        admin: AdminArgs,
    },
    /// Print a new one-time sign-in link (24 h) for an existing user: a lost
    /// passkey, a new browser.
    Link {
        email: String,
        /// Where the server is reached, to build the link on.
        #[arg(long, env = "HARMONT_PUBLIC_URL", default_value = DEFAULT_PUBLIC_URL)]
        public_url: String,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// List the users: email, name, when added.
    List {
        /// One JSON array on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Remove a user and everything of theirs: sessions and API keys (refused
    /// at once, by every server sharing the database), passkeys, pending
    /// logins and links.
    Remove {
        email: String,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Disable a user: their sessions and API keys are refused at once (on
    /// every replica sharing a Postgres database), they cannot sign in, and
    /// logins already approved for them cannot be collected. Nothing is
    /// revoked or deleted: `user enable` restores them as they were.
    Disable {
        email: String,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Enable a disabled user again: the same sessions and keys work again.
    Enable {
        email: String,
        #[command(flatten)]
        admin: AdminArgs,
    },
}

/// `serve`'s default listen address, as a URL.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print one fresh session token for the user, and nothing else.
    Mint {
        email: String,
        /// How long the token lives.
        #[arg(long, env = "HARMONT_SESSION_TTL", default_value = "30d", value_parser = humantime::parse_duration)]
        session_ttl: Duration,
        #[command(flatten)]
        admin: AdminArgs,
    },
}

/// What the operator's commands (`user …`, `token mint`) take: the database,
/// which must exist already (only `serve` and `migrate` create one).
#[derive(Debug, Clone, Args)]
pub struct AdminArgs {
    /// The server's database, `sqlite://PATH` or `postgres://…`. It must
    /// exist: these commands never create one.
    #[arg(long = "database", env = "DATABASE_URL", default_value = DEFAULT_DATABASE, hide_env_values = true)]
    pub database: String,
    /// The longest wait on the database.
    #[arg(long = "db-timeout", env = "HARMONT_DB_TIMEOUT", default_value = "2s", value_parser = parse_db_timeout)]
    pub timeout: Duration,
    /// Where the command records what it does (the audit trail, as `serve`
    /// does): `stderr`, or a file appended to (created 0600).
    #[arg(long, env = "HARMONT_AUDIT_LOG", default_value = "stderr", value_parser = parse_audit_log)]
    pub audit_log: AuditLog,
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// `sqlite://PATH` (created with its folder if missing) or `postgres://…`.
    #[arg(long = "database", env = "DATABASE_URL", default_value = DEFAULT_DATABASE, hide_env_values = true)]
    pub url: String,
    /// The longest wait on the database (a connection from the pool, a
    /// statement): past it a request answers `503 service_unavailable`.
    #[arg(long = "db-timeout", env = "HARMONT_DB_TIMEOUT", default_value = "2s", value_parser = parse_db_timeout)]
    pub timeout: Duration,
}

fn parse_db_timeout(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(timeout) if timeout.is_zero() => Err("must be more than 0s".to_owned()),
        Ok(timeout) => Ok(timeout),
        Err(err) => Err(err.to_string()),
    }
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
    /// through this server apply at once, and on Postgres through any
    /// replica (announced); otherwise another process's within this. `0s`
    /// turns the cache off.
    #[arg(long, env = "HARMONT_AUTH_CACHE_TTL", default_value = "2s", value_parser = humantime::parse_duration)]
    pub auth_cache_ttl: Duration,
    /// Where the audit trail goes, one JSON line per security event:
    /// `stderr` (beside the request log), or a file path, appended to and
    /// created readable by its owner only. The operator's commands (`user
    /// disable`, `token mint`, …) write there only when it is a file.
    #[arg(long, env = "HARMONT_AUDIT_LOG", default_value = "stderr", value_parser = parse_audit_log)]
    pub audit_log: AuditLog,
}

/// Where audit lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditLog {
    Stderr,
    File(std::path::PathBuf),
}

fn parse_audit_log(value: &str) -> Result<AuditLog, String> {
    match value.trim() {
        "" => Err("give `stderr` or a file path".into()),
        "stderr" | "-" => Ok(AuditLog::Stderr),
        path => Ok(AuditLog::File(path.into())),
    }
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
    #[arg(long, env = "HARMONT_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_trusted_proxy)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Web origins (comma-separated, e.g. `https://app.example.com`) allowed
    /// to call the API from a browser. Our own pages need none. Each is
    /// `scheme://host[:port]`; `*` is refused.
    #[arg(long, env = "HARMONT_CORS_ORIGINS", value_delimiter = ',', value_parser = parse_cors_origin)]
    pub cors_origins: Vec<String>,
    /// Claims held open at once (`Prefer: wait`) from one client address (IPv6: one /64).
    #[arg(long, env = "HARMONT_MAX_LONG_POLLS_PER_CLIENT", default_value_t = DEFAULT_LONG_POLLS_PER_CLIENT)]
    pub max_long_polls_per_client: usize,
    /// Claims held open at once, in all.
    #[arg(long, env = "HARMONT_MAX_LONG_POLLS", default_value_t = DEFAULT_MAX_LONG_POLLS)]
    pub max_long_polls: usize,
    /// Transfers, paste codes and passkey registrations one session may start
    /// in a burst; then one a second.
    #[arg(long, env = "HARMONT_SESSION_START_LIMIT", default_value_t = DEFAULT_SESSION_START_LIMIT,
        value_parser = clap::value_parser!(u32).range(1..))]
    pub session_start_limit: u32,
    /// Connections served at once; more wait in the listen backlog. Default:
    /// the open-file limit less 256 (and at least half of it).
    #[arg(long, env = "HARMONT_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,
    /// How long a client may take to send a request's headers, and how long
    /// an idle keep-alive connection stays open.
    #[arg(long, env = "HARMONT_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_timeout)]
    pub header_timeout: Duration,
    /// How long a client may take to send a request's body.
    #[arg(long, env = "HARMONT_BODY_TIMEOUT", default_value = "10s", value_parser = parse_timeout)]
    pub body_timeout: Duration,
    /// Serve Prometheus metrics at `GET /metrics` on this address (such as
    /// `127.0.0.1:9090`), apart from the API. Off unless given: keep it
    /// where only your scraper reaches it.
    #[arg(long, env = "HARMONT_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Log filter, in `tracing` env-filter syntax. The WebAuthn crates
    /// (`webauthn*` targets) stay at `info` or quieter unless it names them.
    #[arg(long, env = "HARMONT_LOG", default_value = "info")]
    pub log: String,
    #[arg(long, env = "HARMONT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub sign_in: Box<SignInArgs>,
}

/// Ways to sign in without the operator: emailed links (and single sign-on).
#[derive(Debug, Clone, Args)]
pub struct SignInArgs {
    /// Where sign-in mails go: `smtp://[user:password@]host[:port]` (port
    /// 587; STARTTLS when offered, `?tls=required` insists) or
    /// `smtps://…` (port 465, TLS from the start). Unset: no emailed links.
    #[arg(long, env = "HARMONT_SMTP_URL", hide_env_values = true, requires = "mail_from",
        value_parser = crate::mail::SmtpUrl::parse)]
    pub smtp_url: Option<crate::mail::SmtpUrl>,
    /// The sender of sign-in mails: `auth@example.com` or `Harmont <auth@example.com>`.
    #[arg(long, env = "HARMONT_MAIL_FROM", requires = "smtp_url", value_parser = crate::mail::parse_mail_from)]
    pub mail_from: Option<lettre::message::Mailbox>,
    /// An OpenID Connect provider's issuer URL (Google, Entra, Okta,
    /// Keycloak, …), discovered at start: `serve` stops if it is wrong.
    /// Register `PUBLIC_URL/api/v0/auth/sso/oidc/callback` as its redirect URI.
    #[arg(long, env = "HARMONT_OIDC_ISSUER", requires_all = ["oidc_client_id", "oidc_client_secret"])]
    pub oidc_issuer: Option<String>,
    #[arg(long, env = "HARMONT_OIDC_CLIENT_ID", requires = "oidc_issuer")]
    pub oidc_client_id: Option<String>,
    /// Prefer the environment variable.
    #[arg(long, env = "HARMONT_OIDC_CLIENT_SECRET", hide_env_values = true, requires = "oidc_issuer")]
    pub oidc_client_secret: Option<String>,
    /// The sign-in button's label.
    #[arg(long, env = "HARMONT_OIDC_NAME", default_value = "Single sign-on")]
    pub oidc_name: String,
    /// A GitHub OAuth app's client id: "Sign in with GitHub". Its callback
    /// URL is `PUBLIC_URL/api/v0/auth/sso/github/callback`.
    #[arg(long, env = "HARMONT_GITHUB_CLIENT_ID", requires = "github_client_secret")]
    pub github_client_id: Option<String>,
    /// Prefer the environment variable.
    #[arg(long, env = "HARMONT_GITHUB_CLIENT_SECRET", hide_env_values = true, requires = "github_client_id")]
    pub github_client_secret: Option<String>,
    /// GitHub Enterprise Server's URL; github.com by default.
    #[arg(long, env = "HARMONT_GITHUB_URL", default_value = "https://github.com")]
    pub github_url: String,
    /// Who gets an account by signing in with a provider: `invite` (nobody:
    /// the operator adds people), `open` (anyone with a verified email), or
    /// `domain:example.com[,example.org]` (verified emails of those domains).
    #[arg(long, env = "HARMONT_SIGNUP", default_value = "invite", value_parser = crate::providers::SignupPolicy::parse)]
    pub signup: crate::providers::SignupPolicy,
}

impl SignInArgs {
    /// GitHub sign-in, when configured.
    pub fn github(&self) -> Option<crate::providers::github::GithubConfig> {
        Some(crate::providers::github::GithubConfig {
            url: self.github_url.clone(),
            client_id: self.github_client_id.clone()?,
            client_secret: crate::providers::ProviderSecret::new(self.github_client_secret.clone()?),
        })
    }

    /// The OpenID Connect provider to discover, when configured.
    pub fn oidc(&self) -> Option<crate::providers::oidc::OidcConfig> {
        Some(crate::providers::oidc::OidcConfig {
            issuer: self.oidc_issuer.clone()?,
            client_id: self.oidc_client_id.clone()?,
            client_secret: crate::providers::ProviderSecret::new(self.oidc_client_secret.clone()?),
            name: self.oidc_name.clone(),
        })
    }

    /// The mail settings, when SMTP is configured.
    pub fn mail(&self) -> Option<crate::mail::MailSettings> {
        match (&self.smtp_url, &self.mail_from) {
            (Some(smtp), Some(from)) => Some(crate::mail::MailSettings { smtp: smtp.clone(), from: from.clone() }),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Claims one client address may hold open at once.
pub const DEFAULT_LONG_POLLS_PER_CLIENT: usize = 32;
/// What one session may start in a burst (see `Rate::PER_SESSION`).
pub const DEFAULT_SESSION_START_LIMIT: u32 = 60;
/// Claims held open at once in all: the bench's 10,000 fit (about 23 KiB each).
pub const DEFAULT_MAX_LONG_POLLS: usize = 10_000;
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections served at once by default: the open-file limit less 256 for
/// the database, the log and the listener (and at least half the limit), so
/// the server runs out of connection slots before it runs out of files.
pub fn default_max_connections() -> usize {
    let limit = open_file_limit().unwrap_or(1024);
    let slots = limit.saturating_sub(256).max(limit / 2).max(1);
    usize::try_from(slots).unwrap_or(usize::MAX)
}

#[cfg(unix)]
fn open_file_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

#[cfg(not(unix))]
fn open_file_limit() -> Option<u64> {
    None
}

fn parse_timeout(value: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(value).map_err(|e| e.to_string())?;
    if duration.is_zero() {
        return Err("must be more than 0s".into());
    }
    Ok(duration)
}

/// A trusted proxy: a CIDR (`10.0.0.0/8`) or a bare address (`127.0.0.1`,
/// `::1`), which stands for itself alone (/32 or /128).
pub fn parse_trusted_proxy(value: &str) -> Result<ipnet::IpNet, String> {
    let value = value.trim();
    if let Ok(net) = value.parse::<ipnet::IpNet>() {
        return Ok(net);
    }
    value
        .parse::<IpAddr>()
        .map(ipnet::IpNet::from)
        .map_err(|_| format!("`{value}` is neither an IP address nor a CIDR block (such as 10.0.0.0/8)"))
}

/// A web origin as browsers send it: `scheme://host[:port]`, nothing else.
pub fn parse_cors_origin(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value == "*" || value.contains('*') {
        return Err("`*` is not allowed: any web page could then call the API with a user's token; \
             list each origin that may (such as https://app.example.com)"
            .into());
    }
    let shape =
        "an origin is scheme://host[:port], such as https://app.example.com, with no path, query or trailing slash";
    let url = url::Url::parse(value).map_err(|e| format!("`{value}` is not a URL ({e}); {shape}"))?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some_and(|h| !h.is_empty())
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none();
    let origin = url.origin().ascii_serialization();
    if !plain {
        return Err(format!("`{value}` is not a web origin: {shape}"));
    }
    if origin != value.to_ascii_lowercase() {
        return Err(format!("`{value}` is not a web origin as browsers send it (did you mean `{origin}`?): {shape}"));
    }
    Ok(origin)
}

/// Crates that log ceremony state and credential data below `info`.
const QUIET_TARGETS: &str = "webauthn";

/// The log filter: the user's `--log`, except that the WebAuthn crates
/// (`webauthn_rs`, `webauthn_rs_core`, `webauthn_rs_proto`, …, all under the
/// `webauthn` prefix) stay at `info` or quieter, since at debug and trace they
/// log ceremony state and credential data, unless the filter names them.
pub fn log_filter(user: &str) -> Result<EnvFilter, tracing_subscriber::filter::ParseError> {
    let mut filter = EnvFilter::try_new(user)?;
    let directives: Vec<&str> = user.split(',').map(str::trim).filter(|d| !d.is_empty()).collect();
    let names_them = directives.iter().any(|d| d.starts_with(QUIET_TARGETS));
    // The level that would otherwise reach them: the last bare level, if any.
    let default = directives.iter().filter_map(|d| d.parse::<LevelFilter>().ok()).next_back();
    if !names_them && default.is_some_and(|level| level > LevelFilter::INFO) {
        filter = filter.add_directive(format!("{QUIET_TARGETS}=info").parse::<Directive>()?);
    }
    Ok(filter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn trusted_proxies_take_addresses_and_cidrs() {
        assert_eq!(parse_trusted_proxy("127.0.0.1").unwrap(), "127.0.0.1/32".parse::<ipnet::IpNet>().unwrap());
        assert_eq!(parse_trusted_proxy(" ::1 ").unwrap(), "::1/128".parse::<ipnet::IpNet>().unwrap());
        assert_eq!(parse_trusted_proxy("10.0.0.0/8").unwrap(), "10.0.0.0/8".parse::<ipnet::IpNet>().unwrap());
        assert!(parse_trusted_proxy("proxy.example.com").unwrap_err().contains("neither an IP address nor a CIDR"));
        assert!(parse_trusted_proxy("10.0.0.0/33").is_err());
    }

    #[test]
    fn trusted_proxies_flag_takes_a_bare_address() {
        let cli = Cli::try_parse_from(["harmont-auth", "serve", "--trusted-proxies", "127.0.0.1,10.0.0.0/8"]).unwrap();
        let Command::Serve(args) = cli.command else { panic!("serve") };
        assert_eq!(args.trusted_proxies.len(), 2);
        assert!(args.trusted_proxies[0].contains(&"127.0.0.1".parse::<IpAddr>().unwrap()));
        assert!(!args.trusted_proxies[0].contains(&"127.0.0.2".parse::<IpAddr>().unwrap()));
    }

    #[test]
    fn serve_limits_have_their_defaults_and_refuse_zero() {
        let Command::Serve(args) = Cli::try_parse_from(["harmont-auth", "serve"]).unwrap().command else {
            panic!("serve")
        };
        assert_eq!(args.max_long_polls_per_client, 32);
        assert_eq!(args.max_long_polls, 10_000);
        assert_eq!(args.session_start_limit, 60);
        assert_eq!(args.max_connections, None);
        assert_eq!((args.header_timeout, args.body_timeout), (Duration::from_secs(10), Duration::from_secs(10)));
        for flag in ["--session-start-limit", "--max-connections", "--header-timeout", "--body-timeout"] {
            assert!(Cli::try_parse_from(["harmont-auth", "serve", flag, "0"]).is_err(), "{flag} 0");
        }
    }

    #[test]
    fn cors_origins_must_be_plain_origins() {
        assert_eq!(parse_cors_origin("https://app.example.com").unwrap(), "https://app.example.com");
        assert_eq!(parse_cors_origin("http://localhost:3000").unwrap(), "http://localhost:3000");
        assert!(parse_cors_origin("*").unwrap_err().contains("`*` is not allowed"));
        assert!(parse_cors_origin("https://*.example.com").is_err());
        let slash = parse_cors_origin("https://app.example.com/").unwrap_err();
        assert!(slash.contains("did you mean `https://app.example.com`?"), "{slash}");
        for bad in [
            "app.example.com",
            "https://app.example.com/",
            "https://app.example.com/x",
            "ftp://a.example",
            "https://u:p@a.example",
            "https://a.example?x",
            "https://a.example:443",
        ] {
            assert!(parse_cors_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn smtp_needs_a_sender_and_both_are_checked() {
        let serve = |extra: &[&str]| {
            let mut argv = vec!["harmont-auth", "serve"];
            argv.extend_from_slice(extra);
            Cli::try_parse_from(argv).map(|cli| match cli.command {
                Command::Serve(args) => args,
                _ => panic!("serve"),
            })
        };
        assert!(serve(&[]).unwrap().sign_in.mail().is_none());
        let both =
            serve(&["--smtp-url", "smtp://127.0.0.1:2525", "--mail-from", "Harmont <auth@example.com>"]).unwrap();
        assert!(both.sign_in.mail().is_some());
        assert!(serve(&["--smtp-url", "smtp://127.0.0.1:2525"]).is_err(), "no sender");
        assert!(serve(&["--mail-from", "auth@example.com"]).is_err(), "no server");
        assert!(serve(&["--smtp-url", "http://x", "--mail-from", "auth@example.com"]).is_err());
        assert!(serve(&["--smtp-url", "smtp://x", "--mail-from", "nobody"]).is_err());
    }

    #[test]
    fn oidc_needs_issuer_client_and_secret_and_signup_is_checked() {
        let serve = |extra: &[&str]| {
            let mut argv = vec!["harmont-auth", "serve"];
            argv.extend_from_slice(extra);
            Cli::try_parse_from(argv).map(|cli| match cli.command {
                Command::Serve(args) => args,
                _ => panic!("serve"),
            })
        };
        let none = serve(&[]).unwrap();
        assert!(none.sign_in.oidc().is_none());
        assert_eq!(none.sign_in.signup, crate::providers::SignupPolicy::Invite);
        let all = ["--oidc-issuer", "https://idp.example", "--oidc-client-id", "c", "--oidc-client-secret", "s"];
        let oidc = serve(&all).unwrap().sign_in.oidc().unwrap();
        assert_eq!((oidc.issuer.as_str(), oidc.name.as_str()), ("https://idp.example", "Single sign-on"));
        assert!(serve(&all[..4]).is_err(), "no secret");
        assert!(serve(&all[2..]).is_err(), "no issuer");
        assert!(serve(&["--signup", "domain:example.com"]).is_ok());
        assert!(serve(&["--signup", "everyone"]).is_err());
    }

    #[test]
    fn timeouts_must_be_positive() {
        assert_eq!(parse_timeout("10s").unwrap(), Duration::from_secs(10));
        assert!(parse_timeout("0s").is_err());
        assert!(parse_timeout("soon").is_err());
    }

    #[test]
    fn max_connections_default_leaves_files_for_the_rest() {
        let slots = default_max_connections() as u64;
        let limit = open_file_limit().unwrap_or(1024);
        assert!(slots >= 1 && slots < limit.max(2), "{slots} of {limit}");
    }

    /// What the filter lets through, as log text.
    fn logged(filter: &str) -> String {
        #[derive(Clone, Default)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl Write for Sink {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::fmt::layer().with_writer(move || writer.clone()).with_ansi(false))
            .with(log_filter(filter).unwrap());
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(target: "webauthn_rs_core::core", "core-debug");
            tracing::trace!(target: "webauthn_rs::interface", "rs-trace");
            tracing::info!(target: "webauthn_rs_core::core", "core-info");
            tracing::debug!(target: "harmont_server::http", "ours-debug");
            tracing::warn!(target: "harmont_server::http", "ours-warn");
        });
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        text
    }

    #[test]
    fn webauthn_is_capped_at_info_unless_named() {
        let trace = logged("trace");
        assert!(trace.contains("ours-debug") && trace.contains("core-info"), "{trace}");
        assert!(!trace.contains("core-debug") && !trace.contains("rs-trace"), "{trace}");

        let debug = logged("info,harmont_server=debug");
        assert!(debug.contains("ours-debug") && debug.contains("core-info") && !debug.contains("core-debug"));

        let quiet = logged("warn");
        assert!(quiet.contains("ours-warn") && !quiet.contains("core-info"), "never raised: {quiet}");

        let asked = logged("info,webauthn_rs_core=debug");
        assert!(asked.contains("core-debug") && !asked.contains("rs-trace"), "{asked}");
        let asked_all = logged("debug,webauthn=trace");
        assert!(asked_all.contains("core-debug") && asked_all.contains("rs-trace"), "{asked_all}");
    }

    #[test]
    fn a_bad_log_filter_is_an_error() {
        assert!(log_filter("info,=[").is_err());
    }
}
