//! The service the HTTP layer calls into: storage, the clock, the windows and
//! the in-process helpers (long-poll waiters, failure limiter). Business rules
//! live in methods on [`Service`], spread over `cli_login/` and `sessions.rs`.

use harmont_store::{Store, StoreEvent};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::auth_cache::AuthCache;
use crate::claim_memory::seen::SeenClaims;
use crate::claim_memory::waiters::Waiters;
use crate::clock::Clock;
use crate::error::ApiError;
use crate::rate_limit::{FailureLimiter, LongPolls, Rate};
use crate::secret::ServerSecret;

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

/// What a revocation ended, for [`Service::revoked`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Revocation {
    /// One session.
    Session(uuid::Uuid),
    /// Some or all of a user's sessions.
    User(uuid::Uuid),
}

#[derive(Debug)]
pub struct Service {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub settings: Settings,
    pub(crate) secret: ServerSecret,
    pub(crate) waiters: Waiters,
    pub(crate) seen_claims: SeenClaims,
    pub(crate) claim_limiter: FailureLimiter,
    pub(crate) redeem_limiter: FailureLimiter,
    pub(crate) client_auth_limiter: FailureLimiter,
    pub(crate) sign_in_limiter: FailureLimiter,
    pub(crate) session_limiter: FailureLimiter<uuid::Uuid>,
    pub(crate) long_polls: LongPolls,
    pub(crate) auth_cache: AuthCache,
    pub(crate) mail: Option<crate::mail::Outbox>,
    pub(crate) email_link_limiter: FailureLimiter,
    pub(crate) mail_limiter: FailureLimiter<[u8; 32]>,
    /// Cancelled on shutdown, so long polls answer at once instead of holding it up.
    pub shutdown: CancellationToken,
}

impl Service {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, secret: ServerSecret, settings: Settings) -> Self {
        Self {
            claim_limiter: FailureLimiter::new(settings.claim_failures),
            redeem_limiter: FailureLimiter::new(settings.redeem_failures),
            client_auth_limiter: FailureLimiter::new(settings.client_auth_failures),
            sign_in_limiter: FailureLimiter::new(settings.sign_in_starts),
            session_limiter: FailureLimiter::new(settings.session_starts),
            long_polls: LongPolls::new(settings.long_polls_per_client, settings.max_long_polls),
            mail: settings.mail.as_ref().map(|mail| crate::mail::Outbox::new(mail, &settings.public_url)),
            email_link_limiter: FailureLimiter::new(settings.email_link_requests),
            mail_limiter: FailureLimiter::new(settings.mails_per_address),
            // Where other processes' revocations are announced, the cache waits
            // until they can be heard (see `follow_store`).
            auth_cache: if store.announces_revocations() {
                AuthCache::untrusted(settings.auth_cache_ttl)
            } else {
                AuthCache::new(settings.auth_cache_ttl)
            },
            store,
            clock,
            settings,
            secret,
            waiters: Waiters::default(),
            seen_claims: SeenClaims::default(),
            shutdown: CancellationToken::new(),
        }
    }

    /// How many nonces have a claim waiting on them in this process.
    pub fn waiting_claims(&self) -> usize {
        self.waiters.keys_waited_on()
    }

    /// Claims held open right now, in this process.
    pub fn held_long_polls(&self) -> usize {
        self.long_polls.held()
    }

    /// Counts one start (`transfer`, `code`, passkey registration) against
    /// the caller's session: `429 rate_limited` past the limit.
    pub fn limit_session(&self, auth: &harmont_store::Authenticated) -> Result<(), ApiError> {
        self.session_limiter.take(auth.session.id, std::time::Instant::now()).map_err(|retry_after| {
            ApiError::rate_limited(retry_after).with_message("Too many requests from this session. Retry later.")
        })
    }

    pub fn doc_url(&self, code: harmont_wire::ErrorCode) -> String {
        format!("{}/docs/errors/{}", self.settings.public_url, code.as_str())
    }

    /// Whether revocations made by other processes sharing the store reach
    /// this one at once (Postgres, while its listening connection is up), so
    /// that the bearer cache is used; always true where there are none to hear.
    pub fn revocations_heard(&self) -> bool {
        self.auth_cache.trusted()
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
            self.auth_cache.listening();
        }
        Some(tokio::spawn(async move {
            let mut lost = false;
            while let Some(event) = events.recv().await {
                match event {
                    StoreEvent::TransferParked(key) => self.waiters.wake(&key),
                    StoreEvent::SessionRevoked(id) => self.auth_cache.forget_session(id),
                    StoreEvent::UserRevoked(id) => self.auth_cache.forget_user(id),
                    StoreEvent::Lost => {
                        self.auth_cache.lost();
                        if !lost {
                            lost = true;
                            tracing::warn!(
                                "lost the store's notification connection: every bearer check reads the store \
                                 until it is back"
                            );
                        }
                    }
                    StoreEvent::Listening => {
                        self.auth_cache.listening();
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

    /// Forgets, in this process, the sessions a revocation ended. Every
    /// revocation goes through here after the store wrote it (the store
    /// itself announces it to the other processes, see `Store::watch`).
    pub(crate) fn revoked(&self, revocation: Revocation) {
        match revocation {
            Revocation::Session(id) => self.auth_cache.forget_session(id),
            Revocation::User(id) => self.auth_cache.forget_user(id),
        }
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
            self.auth_cache.forget_stale(self.clock.now());
            self.claim_limiter.forget_idle(std::time::Instant::now());
            self.redeem_limiter.forget_idle(std::time::Instant::now());
            self.client_auth_limiter.forget_idle(std::time::Instant::now());
            self.sign_in_limiter.forget_idle(std::time::Instant::now());
            self.session_limiter.forget_idle(std::time::Instant::now());
            self.email_link_limiter.forget_idle(std::time::Instant::now());
            self.mail_limiter.forget_idle(std::time::Instant::now());
        }
    }
}
