//! The `harmont-auth` binary: `serve`, `migrate`, `user add`, `user link`, `token mint`.

use anyhow::{bail, Context};
use clap::Parser;
use harmont_server::cli_login::ClientInfo;
use harmont_server::clock::SystemClock;
use harmont_server::config::{Cli, Command, LogFormat, ServeArgs, ServiceArgs, TokenCommand, UserCommand};
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
        Command::Serve(args) => serve(args).await,
        Command::Migrate(database) => {
            store::open_with(&database.url, database.timeout).await?.migrate().await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::User(UserCommand::Add { email, name, public_url, service }) => {
            let service = build_service(&service, public_url).await?;
            match service.add_user(&email, name).await {
                Ok(user) => {
                    let link = service.create_login_link(user.id).await.map_err(admin_error)?;
                    eprintln!("added {} ({})", user.email, user.id);
                    eprintln!("Open this one-time enrollment link within 24 hours to sign in and create a passkey:");
                    println!("{link}");
                    Ok(())
                }
                Err(AddUserError::Store(err)) => Err(err.into()),
                Err(err) => bail!("cannot add {email}: {err}"),
            }
        }
        Command::User(UserCommand::Link { email, public_url, service }) => {
            let service = build_service(&service, public_url).await?;
            let user = service.user_by_email(&email).await?.with_context(|| format!("no user with email {email}"))?;
            let link = service.create_login_link(user.id).await.map_err(admin_error)?;
            eprintln!("One-time sign-in link for {} (valid 24 hours):", user.email);
            println!("{link}");
            Ok(())
        }
        Command::Token(TokenCommand::Mint { email, service }) => {
            let service = build_service(&service, String::new()).await?;
            let user = service.user_by_email(&email).await?.with_context(|| format!("no user with email {email}"))?;
            let operator =
                ClientInfo { ip: IpAddr::V4(Ipv4Addr::LOCALHOST), user_agent: Some("harmont-auth token mint".into()) };
            let token = service.mint_session(user.id, &operator, SignIn::OPERATOR).await.map_err(admin_error)?;
            println!("{}", token.expose());
            Ok(())
        }
    }
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
    let mail = args.sign_in.mail();
    let oidc = match args.sign_in.oidc() {
        Some(config) => Some(Arc::new(
            harmont_server::providers::oidc::OidcProvider::discover(config)
                .await
                .context("cannot use the OpenID Connect provider (HARMONT_OIDC_ISSUER)")?,
        )),
        None => None,
    };
    if let Some(oidc) = &oidc {
        tracing::info!(issuer = oidc.issuer(), "single sign-on with OpenID Connect");
    }
    let github = match args.sign_in.github() {
        Some(config) => {
            Some(Arc::new(harmont_server::providers::github::GithubProvider::new(config).map_err(anyhow::Error::msg)?))
        }
        None => None,
    };
    let signup = args.sign_in.signup.clone();
    if mail.as_ref().is_some_and(|mail| mail.smtp.credentials_may_travel_in_clear()) {
        tracing::warn!(
            "HARMONT_SMTP_URL has credentials but does not insist on TLS: if the server offers no STARTTLS, \
             the password travels in clear. Add ?tls=required, or use smtps://"
        );
    }
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
        settings.mail = mail;
        settings.oidc = oidc;
        settings.github = github;
        settings.signup = signup;
    })
    .await?;
    tracing::info!(%addr, public_url = %service.settings.public_url, "harmont-auth listening");
    harmont_server::serve(listener, Arc::new(service), shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Opens and migrates the store and resolves the secret and windows.
async fn build_service(args: &ServiceArgs, public_url: String) -> anyhow::Result<Service> {
    build_service_with(args, public_url, |_| {}).await
}

/// `build_service`, with `configure` adjusting the settings before the service is made.
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
