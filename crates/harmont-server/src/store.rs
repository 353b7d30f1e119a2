//! Opens the storage backend named by the `DATABASE_URL` scheme, behind
//! [`TimedStore`]: no wait on the store outlasts the database timeout, and an
//! unreachable store is logged once when lost and once when back.

use anyhow::{bail, Context};
use async_trait::async_trait;
use harmont_store::{
    ApiKeyRecord, ApiKeyStore, Authenticated, Ceremony, CeremonyKey, CeremonyKind, CeremonyStore, ClientStore,
    DeviceKey, DeviceRequest, GrantKey, GrantKind, GrantStore, IdentityStore, LinkKey, LinkStore, Millis, NewApiKey,
    NewCeremony, NewGrant, NewLoginLink, NewPasskey, NewResourceClient, NewUser, Passkey, PasskeyStore, PoolStats,
    ResourceClient, Result, Session, SessionDraft, SessionStore, SsoFlowKey, Store, StoreError, StoreEvent, Swept,
    User, UserStore,
};
use harmont_store::{Identity, IdentityRemoval, NewIdentity, NewSsoFlow, SsoFlow};
use harmont_wire::token::TokenHash;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

pub const DEFAULT_DATABASE: &str = "sqlite://harmont-data/harmont.db";

/// The longest [`Store::ping`] through [`TimedStore`] waits.
pub const PING_BOUND: Duration = Duration::from_millis(800);

/// How long a request waits on the store, unless told (`--db-timeout`).
pub const DEFAULT_DB_TIMEOUT: Duration = Duration::from_secs(2);

/// [`open_with`] and the default database timeout.
pub async fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    open_with(url, DEFAULT_DB_TIMEOUT).await
}

/// Opens the store at `url`; every call on it (but `migrate`) fails with
/// [`StoreError::Unavailable`] past `timeout`.
pub async fn open_with(url: &str, timeout: Duration) -> anyhow::Result<Arc<dyn Store>> {
    let inner: Arc<dyn Store> = if url.starts_with("sqlite:") {
        let store = harmont_store_sqlite::SqliteStore::connect_with_timeout(url, timeout).await.with_context(|| {
            format!("opening the SQLite database {}", sqlite_path(url).unwrap_or_default().display())
        })?;
        Arc::new(store)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = harmont_store_postgres::PostgresStore::connect_with_timeout(url, timeout)
            .await
            .context("connecting to Postgres (the URL is not shown, it may hold a password)")?;
        Arc::new(store)
    } else {
        bail!("the database URL must start with sqlite:// or postgres://")
    };
    Ok(Arc::new(TimedStore::new(inner, timeout)))
}

/// A store whose every call ends within `timeout`, as
/// [`StoreError::Unavailable`] if the backend has not answered by then (a
/// database that is down, unreachable, or locked). It logs one line when the
/// store stops answering and one when it answers again, never one per request.
#[derive(Debug)]
pub struct TimedStore {
    inner: Arc<dyn Store>,
    timeout: Duration,
    /// Whether the last call reached the store (a refusal such as a conflict
    /// counts: the store answered).
    up: AtomicBool,
    /// When the last "unavailable" line was written. A store that fails
    /// some calls and answers others (a read-only SQLite file: reads work,
    /// writes don't) flips at every request; it is told once a minute.
    lost_logged_at: std::sync::Mutex<Option<std::time::Instant>>,
    /// Whether the current outage was logged, so its end is logged too.
    outage_logged: AtomicBool,
}

/// How often a store that keeps failing and answering again is logged.
const FLAPPING_LOG_EVERY: Duration = Duration::from_secs(60);

impl TimedStore {
    pub fn new(inner: Arc<dyn Store>, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            up: AtomicBool::new(true),
            lost_logged_at: std::sync::Mutex::new(None),
            outage_logged: AtomicBool::new(false),
        }
    }

    async fn run<T>(&self, call: impl Future<Output = Result<T>>) -> Result<T> {
        self.run_within(self.timeout, call).await
    }

    async fn run_within<T>(&self, bound: Duration, call: impl Future<Output = Result<T>>) -> Result<T> {
        let outcome = match tokio::time::timeout(bound, call).await {
            Ok(outcome) => {
                match &outcome {
                    Err(StoreError::Unavailable(_)) => crate::metrics::store_error("unavailable"),
                    Err(StoreError::Backend(_)) => crate::metrics::store_error("backend"),
                    _ => {}
                }
                outcome
            }
            Err(_) => {
                crate::metrics::store_error("timeout");
                Err(StoreError::Unavailable(format!("no answer within {bound:?}")))
            }
        };
        self.observe(&outcome);
        outcome
    }

    /// At most once a minute (see [`FLAPPING_LOG_EVERY`]).
    fn may_log_loss(&self) -> bool {
        let mut at = self.lost_logged_at.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = std::time::Instant::now();
        let due = at.is_none_or(|at| now.duration_since(at) >= FLAPPING_LOG_EVERY);
        if due {
            *at = Some(now);
        }
        due
    }

    fn observe<T>(&self, outcome: &Result<T>) {
        match outcome {
            Err(StoreError::Unavailable(cause)) => {
                if self.up.swap(false, Ordering::SeqCst) && self.may_log_loss() {
                    self.outage_logged.store(true, Ordering::SeqCst);
                    tracing::warn!(
                        cause = %cause,
                        "the store is unavailable: requests that need it answer 503 until it is back"
                    );
                }
            }
            _ => {
                if !self.up.swap(true, Ordering::SeqCst) && self.outage_logged.swap(false, Ordering::SeqCst) {
                    tracing::info!("the store answers again");
                }
            }
        }
    }
}

#[async_trait]
impl UserStore for TimedStore {
    async fn create_user(&self, user: NewUser) -> Result<User> {
        self.run(self.inner.create_user(user)).await
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        self.run(self.inner.user_by_email(email)).await
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        self.run(self.inner.list_users()).await
    }

    async fn update_user_name(&self, user_id: Uuid, name: &str) -> Result<Option<User>> {
        self.run(self.inner.update_user_name(user_id, name)).await
    }

    async fn delete_user(&self, user_id: Uuid) -> Result<bool> {
        self.run(self.inner.delete_user(user_id)).await
    }

    async fn set_user_disabled(&self, user_id: Uuid, disabled_at: Option<Millis>) -> Result<bool> {
        self.run(self.inner.set_user_disabled(user_id, disabled_at)).await
    }
}

#[async_trait]
impl SessionStore for TimedStore {
    async fn create_session(&self, user_id: Uuid, draft: SessionDraft) -> Result<Session> {
        self.run(self.inner.create_session(user_id, draft)).await
    }

    async fn authenticate(&self, token_hash: &TokenHash, now: Millis) -> Result<Option<Authenticated>> {
        self.run(self.inner.authenticate(token_hash, now)).await
    }

    async fn touch_session(&self, session_id: Uuid, now: Millis) -> Result<bool> {
        self.run(self.inner.touch_session(session_id, now)).await
    }

    async fn list_sessions(&self, user_id: Uuid, now: Millis) -> Result<Vec<Session>> {
        self.run(self.inner.list_sessions(user_id, now)).await
    }

    async fn revoke_session(&self, user_id: Uuid, session_id: Uuid, now: Millis) -> Result<bool> {
        self.run(self.inner.revoke_session(user_id, session_id, now)).await
    }

    async fn revoke_other_sessions(&self, user_id: Uuid, keep: Uuid, now: Millis) -> Result<u64> {
        self.run(self.inner.revoke_other_sessions(user_id, keep, now)).await
    }
}

#[async_trait]
impl ApiKeyStore for TimedStore {
    async fn create_api_key(&self, key: NewApiKey) -> Result<ApiKeyRecord> {
        self.run(self.inner.create_api_key(key)).await
    }

    async fn list_api_keys(&self, user_id: Uuid, now: Millis) -> Result<Vec<ApiKeyRecord>> {
        self.run(self.inner.list_api_keys(user_id, now)).await
    }

    async fn authenticate_api_key(&self, token_hash: &TokenHash, now: Millis) -> Result<Option<Authenticated>> {
        self.run(self.inner.authenticate_api_key(token_hash, now)).await
    }

    async fn touch_api_key(&self, id: Uuid, now: Millis) -> Result<bool> {
        self.run(self.inner.touch_api_key(id, now)).await
    }

    async fn revoke_api_key(&self, user_id: Uuid, id: Uuid, now: Millis) -> Result<bool> {
        self.run(self.inner.revoke_api_key(user_id, id, now)).await
    }
}

#[async_trait]
impl GrantStore for TimedStore {
    async fn park_grant(&self, grant: NewGrant) -> Result<bool> {
        self.run(self.inner.park_grant(grant)).await
    }

    async fn grant_pending(&self, kind: GrantKind, key_hash: &GrantKey, now: Millis) -> Result<bool> {
        self.run(self.inner.grant_pending(kind, key_hash, now)).await
    }

    async fn consume_grant(
        &self,
        kind: GrantKind,
        key_hash: &GrantKey,
        code_challenge: Option<&str>,
        now: Millis,
        draft: SessionDraft,
    ) -> Result<Option<Session>> {
        self.run(self.inner.consume_grant(kind, key_hash, code_challenge, now, draft)).await
    }

    async fn park_device_request(&self, request: DeviceRequest) -> Result<bool> {
        self.run(self.inner.park_device_request(request)).await
    }

    async fn device_request(&self, key_hash: &DeviceKey, now: Millis) -> Result<Option<DeviceRequest>> {
        self.run(self.inner.device_request(key_hash, now)).await
    }

    async fn take_device_request(&self, key_hash: &DeviceKey, now: Millis) -> Result<Option<DeviceRequest>> {
        self.run(self.inner.take_device_request(key_hash, now)).await
    }
}

#[async_trait]
impl LinkStore for TimedStore {
    async fn create_login_link(&self, link: NewLoginLink) -> Result<()> {
        self.run(self.inner.create_login_link(link)).await
    }

    async fn consume_login_link(
        &self,
        key_hash: &LinkKey,
        now: Millis,
        draft: SessionDraft,
    ) -> Result<Option<Session>> {
        self.run(self.inner.consume_login_link(key_hash, now, draft)).await
    }
}

#[async_trait]
impl PasskeyStore for TimedStore {
    async fn create_passkey(&self, passkey: NewPasskey) -> Result<Passkey> {
        self.run(self.inner.create_passkey(passkey)).await
    }

    async fn list_passkeys(&self, user_id: Uuid) -> Result<Vec<Passkey>> {
        self.run(self.inner.list_passkeys(user_id)).await
    }

    async fn passkey_by_credential_id(&self, credential_id: &[u8]) -> Result<Option<Passkey>> {
        self.run(self.inner.passkey_by_credential_id(credential_id)).await
    }

    async fn record_passkey_sign_in(
        &self,
        id: Uuid,
        data: String,
        now: Millis,
        draft: SessionDraft,
    ) -> Result<Option<Session>> {
        self.run(self.inner.record_passkey_sign_in(id, data, now, draft)).await
    }

    async fn delete_passkey(&self, user_id: Uuid, id: Uuid, now: Millis) -> Result<Option<Vec<Uuid>>> {
        self.run(self.inner.delete_passkey(user_id, id, now)).await
    }
}

#[async_trait]
impl CeremonyStore for TimedStore {
    async fn park_ceremony(&self, ceremony: NewCeremony) -> Result<()> {
        self.run(self.inner.park_ceremony(ceremony)).await
    }

    async fn take_ceremony(&self, kind: CeremonyKind, key_hash: &CeremonyKey, now: Millis) -> Result<Option<Ceremony>> {
        self.run(self.inner.take_ceremony(kind, key_hash, now)).await
    }

    async fn park_sso_flow(&self, flow: NewSsoFlow) -> Result<()> {
        self.run(self.inner.park_sso_flow(flow)).await
    }

    async fn take_sso_flow(&self, key_hash: &SsoFlowKey, now: Millis) -> Result<Option<SsoFlow>> {
        self.run(self.inner.take_sso_flow(key_hash, now)).await
    }
}

#[async_trait]
impl IdentityStore for TimedStore {
    async fn identity_by_subject(&self, issuer: &str, subject: &str) -> Result<Option<Identity>> {
        self.run(self.inner.identity_by_subject(issuer, subject)).await
    }

    async fn create_identity(&self, identity: NewIdentity, new_user: Option<NewUser>) -> Result<Identity> {
        self.run(self.inner.create_identity(identity, new_user)).await
    }

    async fn touch_identity(&self, id: Uuid, email: Option<&str>, now: Millis) -> Result<bool> {
        self.run(self.inner.touch_identity(id, email, now)).await
    }

    async fn list_identities(&self, user_id: Uuid) -> Result<Vec<Identity>> {
        self.run(self.inner.list_identities(user_id)).await
    }

    async fn delete_identity(&self, user_id: Uuid, id: Uuid, keep_last: bool) -> Result<IdentityRemoval> {
        self.run(self.inner.delete_identity(user_id, id, keep_last)).await
    }
}

#[async_trait]
impl ClientStore for TimedStore {
    async fn create_resource_client(&self, client: NewResourceClient) -> Result<ResourceClient> {
        self.run(self.inner.create_resource_client(client)).await
    }

    async fn list_resource_clients(&self) -> Result<Vec<ResourceClient>> {
        self.run(self.inner.list_resource_clients()).await
    }

    async fn resource_client_secret_hash(&self, id: Uuid) -> Result<Option<TokenHash>> {
        self.run(self.inner.resource_client_secret_hash(id)).await
    }

    async fn remove_resource_client(&self, name: &str) -> Result<bool> {
        self.run(self.inner.remove_resource_client(name)).await
    }
}

#[async_trait]
impl Store for TimedStore {
    async fn migrate(&self) -> Result<()> {
        self.inner.migrate().await
    }

    /// Within [`PING_BOUND`] at most, so that `/healthz` answers within a
    /// second and a lost store is logged even if only health checks come.
    async fn ping(&self) -> Result<()> {
        self.run_within(self.timeout.min(PING_BOUND), self.inner.ping()).await
    }

    async fn has_our_tables(&self) -> Result<bool> {
        self.run(self.inner.has_our_tables()).await
    }

    fn announces_revocations(&self) -> bool {
        self.inner.announces_revocations()
    }

    async fn watch(&self) -> Result<Option<tokio::sync::mpsc::Receiver<StoreEvent>>> {
        self.run(self.inner.watch()).await
    }

    async fn sweep(&self, now: Millis, keep_ended: Millis) -> Result<Swept> {
        self.run(self.inner.sweep(now, keep_ended)).await
    }

    fn pool_stats(&self) -> Option<PoolStats> {
        self.inner.pool_stats()
    }
}

/// The file behind a `sqlite:` URL; `None` for an in-memory database.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// A database URL to show: without its password (and user info kept otherwise).
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.set_query(None);
            parsed.to_string()
        }
        Err(_) => "(a database URL that does not parse)".to_owned(),
    }
}

/// A Postgres URL whose server is on another machine while nothing in the URL
/// requires TLS (`sslmode=require`, `verify-ca` or `verify-full`): tokens'
/// hashes and users' data would cross the network in the clear, or through a
/// TLS that a machine in the middle can strip. Loopback hosts and Unix
/// sockets are this machine.
pub fn postgres_without_tls(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else { return false };
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return false;
    }
    let mut sslmode = None;
    let mut socket = false;
    for (name, value) in parsed.query_pairs() {
        match &*name {
            "sslmode" => sslmode = Some(value.to_ascii_lowercase()),
            "host" if value.starts_with('/') => socket = true,
            _ => {}
        }
    }
    if sslmode.is_some_and(|mode| matches!(mode.as_str(), "require" | "verify-ca" | "verify-full")) {
        return false;
    }
    let local = match parsed.host() {
        None => true,
        // `postgres:` is not a scheme the URL standard knows, so its host
        // stays text, addresses included.
        Some(url::Host::Domain(name)) => {
            let bare = name.trim_start_matches('[').trim_end_matches(']');
            name.is_empty()
                || name.eq_ignore_ascii_case("localhost")
                || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.to_canonical().is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.to_canonical().is_loopback(),
    };
    !(local || socket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_database_urls_carry_no_password() {
        assert_eq!(
            redacted("postgres://app:s3cret@db.example:5432/harmont?sslmode=require"),
            "postgres://app:***@db.example:5432/harmont"
        );
        assert_eq!(redacted("postgres://db.example/harmont"), "postgres://db.example/harmont");
        assert!(!redacted("postgres://app:s3cret@[::1/x").contains("s3cret"));
    }

    #[test]
    fn remote_postgres_without_tls_is_told_apart() {
        for warned in [
            "postgres://u:p@db.example.com/harmont",
            "postgresql://u@10.0.0.5:5432/harmont?sslmode=prefer",
            "postgres://u@[2001:db8::5]/harmont?sslmode=disable",
            "postgres://u@db.example.com/harmont?application_name=x",
        ] {
            assert!(postgres_without_tls(warned), "{warned}");
        }
        for quiet in [
            "postgres://u:p@db.example.com/harmont?sslmode=require",
            "postgres://u@db.example.com/harmont?sslmode=verify-full",
            "postgres://u@db.example.com/harmont?sslmode=verify-ca&x=y",
            "postgres://u@127.0.0.1:5432/harmont",
            "postgres://u@localhost/harmont",
            "postgres://u@[::1]:5432/harmont",
            "postgres:///harmont?host=/var/run/postgresql",
            "sqlite://harmont-data/harmont.db",
        ] {
            assert!(!postgres_without_tls(quiet), "{quiet}");
        }
    }

    #[test]
    fn sqlite_paths() {
        assert_eq!(sqlite_path("sqlite://harmont-data/harmont.db"), Some(PathBuf::from("harmont-data/harmont.db")));
        assert_eq!(sqlite_path("sqlite:///tmp/x.db?mode=rwc"), Some(PathBuf::from("/tmp/x.db")));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://x"), None);
    }
}
