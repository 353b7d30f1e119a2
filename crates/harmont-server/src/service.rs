//! The service the HTTP layer calls into: a root ([`Service`]) built once
//! from [`Settings`], composing the parts that hold the business rules, each
//! owning only what it uses: [`CliLogin`] (`cli_login/`), [`Sessions`]
//! (`sessions.rs`), [`ApiKeys`] (`api_keys.rs`), [`Users`] (`users.rs`),
//! [`WebSignIn`] (`web/`), [`SingleSignOn`] (`sso/`) and [`Introspection`]
//! (`introspection.rs`).

use harmont_store::{Store, StoreEvent};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use crate::access::SessionDrafts;
use crate::api_keys::ApiKeys;
use crate::auth_cache::{AuthCache, Revocations};
use crate::cli_login::{CliLogin, CliLoginParts, LoginWindows};
use crate::clock::Clock;
use crate::introspection::Introspection;
use crate::rate_limit::{FailureLimiter, LongPolls, Rate};
use crate::secret::ServerSecret;
use crate::sessions::Sessions;
use crate::sso::{SingleSignOn, SingleSignOnParts};
use crate::users::Users;
use crate::web::{WebSignIn, WebSignInParts};

/// The windows and limits the service runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The URL the server is reached at, without a trailing slash; `doc_url`s
    /// and the web pages are built on it.
    pub public_url: String,
    pub transfer_ttl: Duration,
    pub paste_ttl: Duration,
    pub session_ttl: Duration,
    /// The longest `Prefer: wait` honoured.
    pub max_wait: Duration,
    /// How often a waiting claim re-reads the store, to see grants parked by
    /// another replica.
    pub recheck_every: Duration,
    pub claim_failures: Rate,
    pub redeem_failures: Rate,
    /// Failed resource-server client authentications (introspection) per client address.
    pub client_auth_failures: Rate,
    /// Unauthenticated passkey sign-ins started per client (each stores a row).
    pub sign_in_starts: Rate,
    /// What one session may start: `transfer`, `code`, passkey registrations.
    pub session_starts: Rate,
    /// Claims held open at once (`Prefer: wait`) from one client address
    /// (IPv6: one /64), and in all.
    pub long_polls_per_client: usize,
    pub max_long_polls: usize,
    /// How long a client may take to send a request's headers; also how long
    /// an idle keep-alive connection is kept open (the clock for the next
    /// request's headers starts when the previous answer is sent).
    pub header_timeout: Duration,
    /// How long a client may take to send a request's body.
    pub body_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Proxies whose `X-Forwarded-For` is believed; nobody else's is.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How long a resolved bearer token is remembered (see `auth_cache`).
    pub auth_cache_ttl: Duration,
    /// Web origins allowed to call the API from a browser (CORS), such as a
    /// web app served from another host. Our own pages need none.
    pub cors_origins: Vec<String>,
    /// Where sign-in mails go out (`HARMONT_SMTP_URL`, `HARMONT_MAIL_FROM`);
    /// `None`: no emailed sign-in links.
    pub mail: Option<crate::mail::MailSettings>,
    /// Emailed sign-in links asked for per client address.
    pub email_link_requests: Rate,
    /// Sign-in mails sent to one address.
    pub mails_per_address: Rate,
    /// The OpenID Connect provider, discovered (`HARMONT_OIDC_*`).
    pub oidc: Option<Arc<crate::providers::oidc::OidcProvider>>,
    /// GitHub sign-in (`HARMONT_GITHUB_*`).
    pub github: Option<Arc<crate::providers::github::GithubProvider>>,
    /// Who may get an account by signing in with a provider (`HARMONT_SIGNUP`).
    pub signup: crate::providers::SignupPolicy,
}

impl Settings {
    pub fn new(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into().trim_end_matches('/').to_owned(),
            transfer_ttl: Duration::from_secs(60),
            paste_ttl: Duration::from_secs(5 * 60),
            session_ttl: Duration::from_secs(30 * 24 * 60 * 60),
            max_wait: Duration::from_secs(30),
            recheck_every: Duration::from_secs(2),
            claim_failures: Rate::CLAIM,
            redeem_failures: Rate::REDEEM,
            client_auth_failures: Rate::CLIENT_AUTH,
            sign_in_starts: Rate::SIGN_IN_START,
            session_starts: Rate::PER_SESSION,
            long_polls_per_client: crate::config::DEFAULT_LONG_POLLS_PER_CLIENT,
            max_long_polls: crate::config::DEFAULT_MAX_LONG_POLLS,
            header_timeout: crate::config::DEFAULT_HEADER_TIMEOUT,
            body_timeout: crate::config::DEFAULT_BODY_TIMEOUT,
            max_connections: crate::config::default_max_connections(),
            trusted_proxies: Vec::new(),
            auth_cache_ttl: Duration::from_secs(2),
            cors_origins: Vec::new(),
            mail: None,
            email_link_requests: Rate::EMAIL_LINK_REQUESTS,
            mails_per_address: Rate::MAILS_PER_ADDRESS,
            oidc: None,
            github: None,
            signup: crate::providers::SignupPolicy::Invite,
        }
    }
}

/// How long a starting server waits for the store to listen before serving
/// anyway (with its bearer cache off until it does).
const LISTEN_AT_START: Duration = Duration::from_secs(2);

/// The server: a small root that builds its parts once and hands each only
/// what it may touch (its roles of the store, its limits, its windows). The
/// HTTP layer reaches the parts through the accessors; the root itself only
/// follows the store's announcements and sweeps.
#[derive(Debug)]
pub struct Service {
    settings: Settings,
    clock: Arc<dyn Clock>,
    /// For upkeep only: watching for announcements, sweeping, health and pool figures.
    store: Arc<dyn Store>,
    cache: Arc<AuthCache>,
    cli_login: CliLogin,
    sessions: Sessions,
    api_keys: ApiKeys,
    users: Users,
    web: WebSignIn,
    sso: SingleSignOn,
    introspection: Introspection,
    /// Shared by the parts that start rows without a session.
    starts: Arc<FailureLimiter>,
    /// Cancelled on shutdown, so long polls answer at once instead of holding it up.
    shutdown: CancellationToken,
}

/// Why a service could not be built from its settings.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the public URL cannot be a WebAuthn relying party: {0}")]
    WebAuthn(String),
}

impl Service {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        secret: ServerSecret,
        settings: Settings,
    ) -> Result<Self, StartError> {
        // Where other processes' revocations are announced, the cache waits
        // until they can be heard (see `follow_store`).
        let cache = Arc::new(if store.announces_revocations() {
            AuthCache::untrusted(settings.auth_cache_ttl)
        } else {
            AuthCache::new(settings.auth_cache_ttl)
        });
        let revocations = Revocations::new(cache.clone());
        let drafts = SessionDrafts::new(settings.session_ttl);
        let starts = Arc::new(FailureLimiter::new(settings.sign_in_starts));
        let shutdown = CancellationToken::new();
        let cli_login = CliLogin::new(
            &store,
            clock.clone(),
            CliLoginParts {
                drafts,
                secret,
                windows: LoginWindows {
                    transfer_ttl: settings.transfer_ttl,
                    paste_ttl: settings.paste_ttl,
                    max_wait: settings.max_wait,
                    recheck_every: settings.recheck_every,
                },
                claim_failures: settings.claim_failures,
                redeem_failures: settings.redeem_failures,
                starts: starts.clone(),
                long_polls: LongPolls::new(settings.long_polls_per_client, settings.max_long_polls),
                shutdown: shutdown.clone(),
            },
        );
        let web = WebSignIn::new(
            &store,
            clock.clone(),
            WebSignInParts {
                public_url: &settings.public_url,
                drafts,
                revocations: revocations.clone(),
                starts: starts.clone(),
                mail: settings.mail.as_ref(),
                email_link_requests: settings.email_link_requests,
                mails_per_address: settings.mails_per_address,
                shutdown: shutdown.clone(),
            },
        )
        .map_err(StartError::WebAuthn)?;
        let sso = SingleSignOn::new(
            &store,
            clock.clone(),
            SingleSignOnParts {
                links: web.links().clone(),
                starts: starts.clone(),
                oidc: settings.oidc.clone(),
                github: settings.github.clone(),
                signup: settings.signup.clone(),
                public_url: settings.public_url.clone(),
                email_links: settings.mail.is_some(),
            },
        );
        Ok(Self {
            sessions: Sessions::new(&store, clock.clone(), drafts, cache.clone(), settings.session_starts),
            api_keys: ApiKeys::new(&store, clock.clone(), revocations.clone()),
            users: Users::new(&store, clock.clone(), revocations),
            introspection: Introspection::new(&store, settings.client_auth_failures),
            cli_login,
            web,
            sso,
            cache,
            starts,
            store,
            clock,
            settings,
            shutdown,
        })
    }

    /// The settings the server was built with, for the HTTP layer and the pages.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The service clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The CLI login handoff (`transfer`, `claim`, `code`, `redeem`, device approval).
    pub fn cli_login(&self) -> &CliLogin {
        &self.cli_login
    }

    /// The bearer check and the user's sessions.
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Personal API keys.
    pub fn api_keys(&self) -> &ApiKeys {
        &self.api_keys
    }

    /// Users, and the account endpoints.
    pub fn users(&self) -> &Users {
        &self.users
    }

    /// Signing in through the pages: links, emailed links, passkeys.
    pub fn web(&self) -> &WebSignIn {
        &self.web
    }

    /// Single sign-on with the configured providers.
    pub fn sso(&self) -> &SingleSignOn {
        &self.sso
    }

    /// Resource-server clients and token introspection.
    pub fn introspection(&self) -> &Introspection {
        &self.introspection
    }

    /// Cancelled when the server shuts down.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Whether the store answers (`/health/ready`).
    pub async fn store_ready(&self) -> Result<(), harmont_store::StoreError> {
        self.store.ping().await
    }

    /// The store's connection pool, where it has one (metrics).
    pub fn pool_stats(&self) -> Option<harmont_store::PoolStats> {
        self.store.pool_stats()
    }

    /// Whether the store's listening connection is up, where it has one (metrics).
    pub fn listener_up(&self) -> Option<bool> {
        self.store.announces_revocations().then(|| self.sessions.revocations_heard())
    }

    pub fn doc_url(&self, code: harmont_wire::ErrorCode) -> String {
        format!("{}/docs/errors/{}", self.settings.public_url, code.as_str())
    }

    /// Follows what other processes sharing the store announce, where the
    /// store can tell (Postgres LISTEN/NOTIFY): wakes claims held here when a
    /// transfer is parked, and drops revoked sessions from the bearer cache.
    /// While the announcements cannot be heard the cache is not used, and it
    /// starts empty when they can again. Elsewhere the 2 s re-read wakes
    /// claims and the process's own revocations drop its cache entries.
    pub async fn follow_store(self: Arc<Self>) -> Option<tokio::task::JoinHandle<()>> {
        let mut events = match self.store.watch().await {
            Ok(events) => events?,
            Err(err) => {
                tracing::warn!(error = %err, "cannot watch the store; held claims re-read it instead");
                return None;
            }
        };
        // Serving starts once the store listens (or after a bound), so a
        // fresh server's cache is in use from its first request. Failed
        // attempts meanwhile change nothing: the cache is not trusted yet.
        let listening = tokio::time::timeout(LISTEN_AT_START, async {
            while let Some(event) = events.recv().await {
                if event == StoreEvent::Listening {
                    return true;
                }
            }
            false
        });
        if listening.await.unwrap_or(false) {
            self.cache.listening();
        }
        Some(tokio::spawn(async move {
            let mut lost = false;
            while let Some(event) = events.recv().await {
                match event {
                    StoreEvent::TransferParked(key) => self.cli_login.parked_elsewhere(&key),
                    StoreEvent::SessionRevoked(id) => self.cache.forget_session(id),
                    StoreEvent::UserRevoked(id) => self.cache.forget_user(id),
                    StoreEvent::Lost => {
                        self.cache.lost();
                        if !lost {
                            lost = true;
                            tracing::warn!(
                                "lost the store's notification connection: every bearer check reads the store \
                                 until it is back"
                            );
                        }
                    }
                    StoreEvent::Listening => {
                        self.cache.listening();
                        if lost {
                            lost = false;
                            tracing::info!(
                                "the store's notification connection is back; the bearer cache starts empty"
                            );
                        }
                    }
                }
            }
        }))
    }

    /// Deletes expired grants and ended sessions every `every`, until shutdown.
    pub async fn sweep_forever(self: Arc<Self>, every: Duration) {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = self.shutdown.cancelled() => return,
            }
            match self.store.sweep(self.clock.now(), 0).await {
                Ok(swept) if swept.grants + swept.sessions > 0 => {
                    tracing::info!(grants = swept.grants, sessions = swept.sessions, "swept expired rows");
                }
                Ok(_) => {}
                // The store logs when it is lost and when it is back.
                Err(harmont_store::StoreError::Unavailable(_)) => {}
                Err(err) => tracing::warn!(error = %err, "sweep failed"),
            }
            let now = Instant::now();
            self.sessions.forget_stale(self.clock.now());
            self.cli_login.forget_idle(now);
            self.introspection.forget_idle(now);
            self.web.forget_idle(now);
            self.starts.forget_idle(now);
        }
    }
}
