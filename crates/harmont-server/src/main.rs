//! The `harmont-auth` binary: `serve`, `migrate`, `user add|link|list|remove|disable|enable`, `token mint`,
//! `client add|list|remove`, `config check`.

use anyhow::{bail, Context};
use harmont_server::cli_login::ClientInfo;
use harmont_server::clock::SystemClock;
use harmont_server::config::{
    AdminArgs, AuditLog, ClientCommand, Command, ConfigCommand, LogFormat, ServeArgs, ServiceArgs, TokenCommand,
    UserCommand,
};
use harmont_server::config_file::ConfigFile;
use harmont_server::error::ApiError;
use harmont_server::introspection::{self, AddClientError};
use harmont_server::secret::ServerSecret;
use harmont_server::sessions::SignIn;
use harmont_server::users::AddUserError;
use harmont_server::{store, Service, Settings};
use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::sync::Arc;

#[tokio::main]
async fn main() -> ExitCode {
    let (cli, matches, file) = match harmont_server::config_file::parse() {
        Ok(parsed) => parsed,
        Err(err) => {
            eprintln!("harmont-auth: the config file {err}");
            return ExitCode::FAILURE;
        }
    };
    if let Command::Config(ConfigCommand::Check(args)) = cli.command {
        let (_, sub) = matches.subcommand().expect("config");
        let (_, check) = sub.subcommand().expect("config check");
        return config_check(&args, check, file.as_ref()).await;
    }
    match run(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("harmont-auth: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `config check`: what is fine and what is wrong on stderr, the effective
/// settings on stdout; exit 1 when something is wrong.
async fn config_check(args: &ServeArgs, matches: &clap::ArgMatches, file: Option<&ConfigFile>) -> ExitCode {
    let found = harmont_server::config_file::check(args, file).await;
    print!("{}", harmont_server::config_file::render(&harmont_server::config_file::effective(matches, file)));
    for line in &found.fine {
        eprintln!("ok: {line}");
    }
    for line in &found.warnings {
        eprintln!("warning: {line}");
    }
    if found.problems.is_empty() {
        eprintln!("harmont-auth: the configuration is usable");
        ExitCode::SUCCESS
    } else {
        eprintln!("harmont-auth: the configuration has {} problem(s):", found.problems.len());
        for line in &found.problems {
            eprintln!("  - {line}");
        }
        ExitCode::FAILURE
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        // `main` answers it before, with its own exit code.
        Command::Config(_) => bail!("config check runs on its own"),
        Command::Serve(args) => serve(*args).await,
        Command::Migrate(database) => {
            store::open_with(&database.url, database.timeout).await?.migrate().await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::User(UserCommand::Add { email, name, public_url, admin }) => {
            let service = admin_service(&admin, public_url, None).await?;
            match service.users().add_user(&email, name).await {
                Ok(user) => {
                    let link = service.web().create_login_link(user.id).await.map_err(admin_error)?;
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
            let link = service.web().create_login_link(user.id).await.map_err(admin_error)?;
            eprintln!("One-time sign-in link for {} (valid 24 hours):", user.email);
            println!("{link}");
            Ok(())
        }
        Command::User(UserCommand::Disable { email, admin }) => set_disabled(&admin, &email, true).await,
        Command::User(UserCommand::Enable { email, admin }) => set_disabled(&admin, &email, false).await,
        Command::User(UserCommand::List { json, admin }) => {
            let service = admin_service(&admin, String::new(), None).await?;
            let users = service.users().list_users().await?;
            if json {
                let users: Vec<_> = users
                    .iter()
                    .map(|u| {
                        serde_json::json!({
                            "id": u.id, "email": u.email, "name": u.name,
                            "created_at": harmont_server::clock::rfc3339(u.created_at),
                            "disabled_at": u.disabled_at.map(harmont_server::clock::rfc3339),
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
                    let name = if user.disabled_at.is_some() { format!("{name} (disabled)") } else { name.to_owned() };
                    let added = harmont_server::clock::rfc3339(user.created_at);
                    println!("{:width$}  {name:24}  {added}", user.email);
                }
            }
            Ok(())
        }
        Command::User(UserCommand::Remove { email, admin }) => {
            let service = admin_service(&admin, String::new(), None).await?;
            let user = existing_user(&service, &email).await?;
            if !service.users().remove_user(user.id).await.map_err(admin_error)? {
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
            let token =
                service.sessions().mint_session(user.id, &operator, SignIn::OPERATOR).await.map_err(admin_error)?;
            println!("{}", token.expose());
            Ok(())
        }
        Command::Client(command) => client_command(command).await,
    }
}

/// `client add|list|remove`: the store alone, no server secret needed.
async fn client_command(command: ClientCommand) -> anyhow::Result<()> {
    let open = |admin: AdminArgs| async move { admin_store(&admin).await };
    match command {
        ClientCommand::Add { name, admin } => {
            let store = open(admin).await?;
            let now = harmont_server::clock::Clock::now(&SystemClock);
            let (client, secret) = match introspection::add_client(&*store, &name, now).await {
                Ok(added) => added,
                Err(AddClientError::Store(err)) => return Err(err.into()),
                Err(err) => bail!("cannot add client {name:?}: {err}"),
            };
            let shown = serde_json::json!({"client_id": client.id, "client_secret": secret.expose()});
            println!("{shown}");
            eprintln!("added client {} ({}); the secret is shown only this once", client.name, client.id);
            Ok(())
        }
        ClientCommand::List { admin } => {
            for client in open(admin).await?.list_resource_clients().await? {
                let created = harmont_server::clock::rfc3339(client.created_at);
                println!("{}\t{}\t{created}", client.name, client.id);
            }
            Ok(())
        }
        ClientCommand::Remove { name, admin } => {
            if !open(admin).await?.remove_resource_client(&name).await? {
                bail!("no client named {name:?}");
            }
            eprintln!("removed client {name}");
            Ok(())
        }
    }
}

/// `user disable` / `user enable`: says what changed on stderr.
async fn set_disabled(args: &AdminArgs, email: &str, disabled: bool) -> anyhow::Result<()> {
    let service = admin_service(args, String::new(), None).await?;
    let user = existing_user(&service, email).await?;
    let was = user.disabled_at.is_some();
    if !service.users().set_user_disabled(user.id, disabled).await? {
        bail!("no user with email {email}");
    }
    let said = match (was, disabled) {
        (false, true) => "disabled: their sessions and API keys are refused until `harmont-auth user enable`",
        (true, true) => "was already disabled",
        (true, false) => "enabled: their sessions and API keys work again",
        (false, false) => "was not disabled",
    };
    eprintln!("{} ({}) {said}", user.email, user.id);
    Ok(())
}

async fn existing_user(service: &Service, email: &str) -> anyhow::Result<harmont_store::User> {
    service
        .users()
        .user_by_email(email)
        .await?
        .with_context(|| format!("no user with email {}", email.trim().to_lowercase()))
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
    let store = admin_store(args).await?;
    let mut settings = Settings::new(public_url);
    if let Some(ttl) = session_ttl {
        settings.session_ttl = ttl;
    }
    // The secret keys only paste codes, which no operator command makes.
    Ok(Service::new(store, Arc::new(SystemClock), ServerSecret::random(), settings)?)
}

/// The store of an operator's command: see [`admin_service`]. The command's
/// audit events go to the audit file when one is set (`serve` sets up its
/// own logging).
async fn admin_store(args: &AdminArgs) -> anyhow::Result<Arc<dyn harmont_store::Store>> {
    if let AuditLog::File(path) = &args.audit_log {
        let _ = tracing::subscriber::set_global_default(audit_only(path)?);
    }
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
    if !store.has_our_tables().await? {
        bail!("this database has no harmont-auth tables: {}", missing());
    }
    store.migrate().await.context("applying migrations")?;
    Ok(store)
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
    init_logging(&args.log, args.log_format, &args.service.audit_log)?;
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
    tracing::info!(%addr, public_url = %service.settings().public_url, "harmont-auth listening");
    let service = Arc::new(service);
    if let Some(metrics_listen) = args.metrics_listen {
        let handle = harmont_server::metrics::install().context("installing the metrics recorder")?;
        let metrics = tokio::net::TcpListener::bind(metrics_listen)
            .await
            .with_context(|| format!("cannot listen for metrics on {metrics_listen}"))?;
        let bound = metrics.local_addr()?;
        tracing::info!(metrics_listen = %bound, "serving Prometheus metrics at /metrics");
        tokio::spawn(harmont_server::http::metrics::serve(metrics, service.clone(), handle));
    }
    harmont_server::serve(listener, service, shutdown_signal()).await?;
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
    // The operator's commands record what they do in an audit file; `serve`
    // has set up its logging already.
    if let AuditLog::File(path) = &args.audit_log {
        let _ = tracing::subscriber::set_global_default(audit_only(path)?);
    }
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
    Ok(Service::new(store, Arc::new(SystemClock), secret, settings)?)
}

/// The request log (`--log`, `--log-format`) on stderr, and the audit trail
/// apart from it: its own filter (every audit event, whatever `--log` says)
/// and its own writer (stderr or the audit file), always JSON lines.
fn init_logging(filter: &str, format: LogFormat, audit: &AuditLog) -> anyhow::Result<()> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::Layer;
    let filter = harmont_server::config::log_filter(filter).context("invalid --log filter")?;
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let not_audit = tracing_subscriber::filter::filter_fn(|meta| meta.target() != harmont_server::audit::TARGET);
    let log = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(ansi);
    let log = match format {
        LogFormat::Text => log.boxed(),
        LogFormat::Json => log.json().flatten_event(true).boxed(),
    };
    let audit = match audit {
        AuditLog::Stderr => audit_layer(std::io::stderr).boxed(),
        AuditLog::File(path) => audit_layer(open_audit_file(path)?).boxed(),
    };
    let subscriber = tracing_subscriber::registry().with(log.with_filter(filter).with_filter(not_audit)).with(audit);
    tracing::subscriber::set_global_default(subscriber).context("setting up logging")?;
    Ok(())
}

/// JSON lines of the `audit` target only, with no span noise: each line
/// carries its own request id.
fn audit_layer<S, W>(writer: W) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    use tracing_subscriber::Layer;
    tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_writer(writer)
        .with_ansi(false)
        .with_filter(
            tracing_subscriber::filter::Targets::new().with_target(harmont_server::audit::TARGET, tracing::Level::INFO),
        )
}

/// The audit layer alone, for the operator's commands.
fn audit_only(path: &std::path::Path) -> anyhow::Result<impl tracing::Subscriber + Send + Sync> {
    use tracing_subscriber::layer::SubscriberExt;
    Ok(tracing_subscriber::registry().with(audit_layer(open_audit_file(path)?)))
}

/// Opens the audit file for appending, creating it readable and writable by
/// its owner only (it names users, addresses and user agents).
fn open_audit_file(path: &std::path::Path) -> anyhow::Result<std::sync::Mutex<std::fs::File>> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path).with_context(|| format!("cannot open the audit log {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata()?.permissions().mode();
        if mode & 0o007 != 0 {
            bail!(
                "the audit log {} can be read or written by anyone (mode {:o}): run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            );
        }
    }
    Ok(std::sync::Mutex::new(file))
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
