//! The `harmont-auth` binary: `serve`, `migrate`, `user add|link|list|remove`, `token mint`.

use anyhow::{bail, Context};
use clap::Parser;
use harmont_server::cli_login::ClientInfo;
use harmont_server::clock::SystemClock;
use harmont_server::config::{AdminArgs, Cli, Command, LogFormat, ServeArgs, ServiceArgs, TokenCommand, UserCommand};
use harmont_server::error::ApiError;
use harmont_server::secret::ServerSecret;
use harmont_server::sessions::{AddUserError, SignIn};
use harmont_server::{store, Service, Settings};
use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::sync::Arc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("harmont-auth: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve(*args).await,
        Command::Migrate(database) => {
            store::open_with(&database.url, database.timeout).await?.migrate().await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::User(UserCommand::Add { email, name, public_url, admin }) => {
            let service = admin_service(&admin, public_url, None).await?;
            match service.add_user(&email, name).await {
                Ok(user) => {
                    let link = service.create_login_link(user.id).await.map_err(admin_error)?;
                    eprintln!("added {} ({})", user.email, user.id);
                    eprintln!("Open this one-time enrollment link within 24 hours to sign in and create a passkey:");
                    println!("{link}");
                    Ok(())
                }
                Err(AddUserError::Store(err)) => Err(err.into()),
                Err(AddUserError::Duplicate) => {
                    let email = email.trim().to_lowercase();
                    bail!(
                        "cannot add {email}: a user with that email already exists. To give them a new sign-in \
                         link, run `harmont-auth user link {email}`"
                    )
                }
                Err(err) => bail!("cannot add {email}: {err}"),
            }
        }
        Command::User(UserCommand::Link { email, public_url, admin }) => {
            let service = admin_service(&admin, public_url, None).await?;
            let user = existing_user(&service, &email).await?;
            let link = service.create_login_link(user.id).await.map_err(admin_error)?;
            eprintln!("One-time sign-in link for {} (valid 24 hours):", user.email);
            println!("{link}");
            Ok(())
        }
        Command::User(UserCommand::List { json, admin }) => {
            let service = admin_service(&admin, String::new(), None).await?;
            let users = service.list_users().await?;
            if json {
                let users: Vec<_> = users
                    .iter()
                    .map(|u| {
                        serde_json::json!({
                            "id": u.id, "email": u.email, "name": u.name,
                            "created_at": harmont_server::clock::rfc3339(u.created_at),
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(users));
            } else if users.is_empty() {
                eprintln!("No users yet. Add one: harmont-auth user add EMAIL --name NAME");
            } else {
                let width = users.iter().map(|u| u.email.chars().count()).max().unwrap_or(0).max(5);
                println!("{:width$}  {:24}  ADDED", "EMAIL", "NAME");
                for user in &users {
                    let name = user.name.as_deref().unwrap_or("-");
                    let added = harmont_server::clock::rfc3339(user.created_at);
                    println!("{:width$}  {name:24}  {added}", user.email);
                }
            }
            Ok(())
        }
        Command::User(UserCommand::Remove { email, admin }) => {
            let service = admin_service(&admin, String::new(), None).await?;
            let user = existing_user(&service, &email).await?;
            if !service.remove_user(user.id).await.map_err(admin_error)? {
                bail!("no user with email {}", user.email);
            }
            eprintln!(
                "Removed {} ({}) and everything of theirs: their sessions and API keys are refused from now on \
                 (by every server sharing this database), and their passkeys, pending logins and links are gone.",
                user.email, user.id
            );
            Ok(())
        }
        Command::Token(TokenCommand::Mint { email, session_ttl, admin }) => {
            let service = admin_service(&admin, String::new(), Some(session_ttl)).await?;
            let user = existing_user(&service, &email).await?;
            let operator =
                ClientInfo { ip: IpAddr::V4(Ipv4Addr::LOCALHOST), user_agent: Some("harmont-auth token mint".into()) };
            let token = service.mint_session(user.id, &operator, SignIn::OPERATOR).await.map_err(admin_error)?;
            println!("{}", token.expose());
            Ok(())
        }
    }
}

async fn existing_user(service: &Service, email: &str) -> anyhow::Result<harmont_store::User> {
    service.user_by_email(email).await?.with_context(|| format!("no user with email {}", email.trim().to_lowercase()))
}

/// The service of an operator's command, on a database that must exist: it
/// says which database it uses (on stderr), and refuses to create one, so a
/// command run from another folder, or with a mistyped URL, does not quietly
/// make a second database the running server never reads. Pending
/// migrations of an existing database are applied.
async fn admin_service(
    args: &AdminArgs,
    public_url: String,
    session_ttl: Option<std::time::Duration>,
) -> anyhow::Result<Service> {
    let url = &args.database;
    let missing = || {
        "run `harmont-auth serve` or `harmont-auth migrate` to create one, or point --database (DATABASE_URL) at \
         the running server's database"
    };
    match store::sqlite_path(url) {
        Some(path) => {
            if !path.is_file() {
                let shown = std::path::absolute(&path).unwrap_or(path);
                bail!("there is no database at {} (from {url}): {}", shown.display(), missing());
            }
            let shown = std::fs::canonicalize(&path).unwrap_or(path);
            eprintln!("Database: {} (SQLite)", shown.display());
        }
        None if url.starts_with("sqlite:") => bail!("an in-memory database has no users: {}", missing()),
        None => eprintln!("Database: {} (Postgres)", store::redacted(url)),
    }
    let store = store::open_with(url, args.timeout).await?;
    // A database without our tables is not the server's: say so rather than migrate it into one.
    store.list_users().await.map_err(|_| anyhow::anyhow!("this database has no harmont-auth tables: {}", missing()))?;
    store.migrate().await.context("applying migrations")?;
    let mut settings = Settings::new(public_url);
    if let Some(ttl) = session_ttl {
        settings.session_ttl = ttl;
    }
    // The secret keys only paste codes, which no operator command makes.
    Ok(Service::new(store, Arc::new(SystemClock), ServerSecret::random(), settings))
}

/// An [`ApiError`] as an admin command reports it: a 500 by its cause, with
/// the cause's own sources (what the operator can act on, such as "attempt to
/// write a readonly database", rather than the client's "Internal error."),
/// any other by its message.
fn admin_error(err: ApiError) -> anyhow::Error {
    match err.cause() {
        Some(cause) => anyhow::Error::new(cause.clone()),
        None => anyhow::Error::new(err),
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logging(&args.log, args.log_format)?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let public_url = args.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
    let service = build_service_with(&args.service, public_url, |settings| {
        settings.trusted_proxies = args.trusted_proxies.clone();
        settings.cors_origins = args.cors_origins.clone();
        settings.long_polls_per_client = args.max_long_polls_per_client;
        settings.max_long_polls = args.max_long_polls;
        settings.session_starts.burst = args.session_start_limit;
        if let Some(max) = args.max_connections {
            settings.max_connections = max as usize;
        }
        settings.header_timeout = args.header_timeout;
        settings.body_timeout = args.body_timeout;
    })
    .await?;
    tracing::info!(%addr, public_url = %service.settings.public_url, "harmont-auth listening");
    harmont_server::serve(listener, Arc::new(service), shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Opens (creating it if missing) and migrates the store and resolves the
/// secret and windows, for `serve`; `configure` adjusts the settings before
/// the service is made.
async fn build_service_with(
    args: &ServiceArgs,
    public_url: String,
    configure: impl FnOnce(&mut Settings),
) -> anyhow::Result<Service> {
    let url = &args.database.url;
    if args.secret.is_none() && !url.starts_with("sqlite:") {
        bail!("HARMONT_SECRET is required with Postgres: every replica must share it");
    }
    if store::postgres_without_tls(url) {
        tracing::warn!(
            "the Postgres server is not on this machine and the database URL does not require TLS: \
             add sslmode=require (or verify-full) to it"
        );
    }
    let store = store::open_with(url, args.database.timeout).await?;
    store.migrate().await.context("applying migrations")?;
    let secret = match (&args.secret, store::sqlite_path(url)) {
        (Some(secret), _) => ServerSecret::from_configured(secret)?,
        (None, Some(path)) => ServerSecret::load_or_create(&path.with_file_name("secret"))?,
        // An in-memory database dies with the process, and so may its secret.
        (None, None) => ServerSecret::random(),
    };
    let mut settings = Settings::new(public_url);
    settings.transfer_ttl = args.transfer_ttl;
    settings.paste_ttl = args.paste_ttl;
    settings.session_ttl = args.session_ttl;
    settings.auth_cache_ttl = args.auth_cache_ttl;
    configure(&mut settings);
    Ok(Service::new(store, Arc::new(SystemClock), secret, settings))
}

fn init_logging(filter: &str, format: LogFormat) -> anyhow::Result<()> {
    let filter = harmont_server::config::log_filter(filter).context("invalid --log filter")?;
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
