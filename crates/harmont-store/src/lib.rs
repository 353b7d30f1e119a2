//! Storage for harmont-auth: one trait, [`Store`], implemented by
//! `harmont-store-sqlite` and `harmont-store-postgres`. The server is written
//! against the traits only.
//!
//! [`Store`] is composed of role traits, one per kind of record: [`UserStore`],
//! [`SessionStore`], [`ApiKeyStore`], [`GrantStore`], [`LinkStore`],
//! [`PasskeyStore`], [`CeremonyStore`] (WebAuthn ceremonies and SSO flows),
//! [`IdentityStore`] and [`ClientStore`]; `Store` itself adds the upkeep
//! (migrations, health, the change feed, the sweep). A part of the server that
//! needs one role holds it alone: an `Arc<dyn Store>` upcasts to
//! `Arc<dyn SessionStore>`.
//!
//! Rules every backend keeps:
//! - Secrets never reach storage: sessions are keyed by the SHA-256 of their
//!   token, grants by the SHA-256 of a nonce or the HMAC of a paste code.
//! - Time is passed in (`now`, Unix milliseconds), never read inside, so the
//!   windows can be tested exactly.
//! - Single use is one atomic statement: [`GrantStore::consume_grant`] marks the
//!   grant consumed and inserts the session it pays for in one transaction,
//!   and of N concurrent calls exactly one gets `Some`.

#[cfg(feature = "contract")]
pub mod contract;
mod keys;

pub use keys::{CeremonyKey, DeviceKey, GrantKey, LinkKey, SsoFlowKey};

use async_trait::async_trait;
use harmont_wire::token::TokenHash;
use uuid::Uuid;

/// Unix time in milliseconds.
pub type Millis = i64;

/// The resolution of `last_used_at` (sessions and API keys): it is written
/// at most this often, so a busy token costs one write a minute, not one a
/// request. The service skips the call when it is not due; the backends
/// check again in the statement, so racing requests write once.
pub const TOUCH_EVERY: Millis = 60_000;

/// Whether a credential last used at `last_used_at` is due a new `last_used_at`.
pub fn touch_due(last_used_at: Option<Millis>, now: Millis) -> bool {
    last_used_at.is_none_or(|at| now - at >= TOUCH_EVERY)
}

/// The same rule as a bound for a backend's statement: a `last_used_at` at
/// or before this is due (`last_used_at IS NULL OR last_used_at <= cutoff`).
pub fn touch_cutoff(now: Millis) -> Millis {
    now - TOUCH_EVERY
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write (for example a duplicate email).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The backend failed; the message is for the log, never for a client.
    #[error("storage backend: {0}")]
    Backend(String),
    /// The store cannot be reached or did not answer in time (the database is
    /// down, unreachable, locked or read-only): retrying later may succeed.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The user is disabled (`harmont-auth user disable`): nothing may sign
    /// them in or mint a session for them, and nothing was changed.
    #[error("the user is disabled")]
    UserDisabled,
}

/// What a backend that can announce changes to every process sharing it
/// (Postgres LISTEN/NOTIFY) tells [`Store::watch`]'s receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreEvent {
    /// A transfer grant was parked under this key.
    TransferParked(GrantKey),
    /// This session was revoked.
    SessionRevoked(Uuid),
    /// Some of this user's sessions were revoked (forget them all).
    UserRevoked(Uuid),
    /// The listening connection is down: events are missed until [`StoreEvent::Listening`].
    Lost,
    /// Listening (first, and again after [`StoreEvent::Lost`]): whatever was
    /// announced while not listening was missed.
    Listening,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: Option<String>,
    pub personal_org_slug: Option<String>,
    pub created_at: Millis,
    /// When an operator disabled the user (`None`: enabled). A disabled
    /// user's sessions and keys stay, but are refused until enabled again.
    pub disabled_at: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub id: Uuid,
    pub email: String,
    pub name: Option<String>,
    pub personal_org_slug: Option<String>,
    pub created_at: Millis,
}

impl NewUser {
    /// The user this is once stored: enabled.
    pub fn into_user(self) -> User {
        User {
            id: self.id,
            email: self.email,
            name: self.name,
            personal_org_slug: self.personal_org_slug,
            created_at: self.created_at,
            disabled_at: None,
        }
    }
}

/// How a session was signed in. Changing credentials needs a recent browser
/// sign-in ([`SignInMethod::is_browser_sign_in`]); the rest never qualify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignInMethod {
    /// Minted by `claim` or `redeem` for a CLI.
    Cli,
    /// A passkey sign-in in a browser.
    Passkey,
    /// A one-time login link opened in a browser.
    Link,
    /// Single sign-on through an identity provider, in a browser.
    Sso,
    /// `harmont-auth token mint`, by whoever runs the server.
    Operator,
    /// Sessions created before the method was recorded.
    Unknown,
    /// Not a session: a personal API key, which [`ApiKeyStore::authenticate_api_key`]
    /// presents as one. Never stored in the sessions table.
    ApiKey,
}

impl SignInMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            SignInMethod::Cli => "cli",
            SignInMethod::Passkey => "passkey",
            SignInMethod::Link => "link",
            SignInMethod::Sso => "sso",
            SignInMethod::Operator => "operator",
            SignInMethod::Unknown => "unknown",
            SignInMethod::ApiKey => "api_key",
        }
    }

    /// The stored text back; `None` for text no backend writes.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Cli, Self::Passkey, Self::Link, Self::Sso, Self::Operator, Self::Unknown]
            .into_iter()
            .find(|m| m.as_str() == text)
    }

    /// A person proved who they are in a browser: passkey, link or SSO.
    pub fn is_browser_sign_in(self) -> bool {
        matches!(self, SignInMethod::Passkey | SignInMethod::Link | SignInMethod::Sso)
    }
}

/// A session about to be created; the user comes from the caller or, in
/// [`GrantStore::consume_grant`], from the consumed grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDraft {
    pub id: Uuid,
    pub token_hash: TokenHash,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub method: SignInMethod,
    /// The passkey that signed this session in, for [`SignInMethod::Passkey`].
    pub passkey_id: Option<Uuid>,
}

impl SessionDraft {
    /// The session this draft is once stored for `user_id`.
    pub fn into_session(self, user_id: Uuid) -> Session {
        Session {
            id: self.id,
            user_id,
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_used_at: None,
            user_agent: self.user_agent,
            ip: self.ip,
            method: self.method,
            passkey_id: self.passkey_id,
        }
    }
}

/// A live session (never revoked or expired ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: Uuid,
    pub user_id: Uuid,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub last_used_at: Option<Millis>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub method: SignInMethod,
    pub passkey_id: Option<Uuid>,
}

/// What a bearer token resolves to. For a personal API key, `session` is the
/// key seen as a session: its id, creation, expiry (`Millis::MAX` for none)
/// and last use, with [`SignInMethod::ApiKey`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub session: Session,
    pub user: User,
}

impl Authenticated {
    /// Whether the bearer was a personal API key rather than a session token.
    pub fn is_api_key(&self) -> bool {
        self.session.method == SignInMethod::ApiKey
    }
}

/// A personal API key about to be stored, by the SHA-256 of its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    pub id: Uuid,
    pub user_id: Uuid,
    pub token_hash: TokenHash,
    pub description: String,
    pub created_at: Millis,
    /// `None`: never expires.
    pub expires_at: Option<Millis>,
}

impl NewApiKey {
    /// The key this is once stored (never used yet), without its hash.
    pub fn into_record(self) -> ApiKeyRecord {
        ApiKeyRecord {
            id: self.id,
            user_id: self.user_id,
            description: self.description,
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_used_at: None,
        }
    }
}

/// A live personal API key (never a revoked or expired one). No secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    pub description: String,
    pub created_at: Millis,
    pub expires_at: Option<Millis>,
    pub last_used_at: Option<Millis>,
}

impl ApiKeyRecord {
    /// The key as [`Authenticated::session`] presents it.
    pub fn as_session(&self) -> Session {
        Session {
            id: self.id,
            user_id: self.user_id,
            created_at: self.created_at,
            expires_at: self.expires_at.unwrap_or(Millis::MAX),
            last_used_at: self.last_used_at,
            user_agent: None,
            ip: None,
            method: SignInMethod::ApiKey,
            passkey_id: None,
        }
    }
}

/// A resource server allowed to introspect tokens, about to be stored: its
/// secret only as SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewResourceClient {
    pub id: Uuid,
    /// Unique; how the operator names it.
    pub name: String,
    pub secret_hash: TokenHash,
    pub created_at: Millis,
}

impl NewResourceClient {
    /// The client this is once stored, without its secret's hash.
    pub fn into_client(self) -> ResourceClient {
        ResourceClient { id: self.id, name: self.name, created_at: self.created_at }
    }
}

/// A stored resource-server client. No secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceClient {
    pub id: Uuid,
    pub name: String,
    pub created_at: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantKind {
    /// Parked by `transfer` under a nonce's SHA-256.
    Transfer,
    /// Parked by `code` under a paste code's HMAC.
    Paste,
}

impl GrantKind {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantKind::Transfer => "transfer",
            GrantKind::Paste => "paste",
        }
    }
}

/// A promise of a session for `user_id`, waiting to be claimed or redeemed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGrant {
    pub kind: GrantKind,
    pub key_hash: GrantKey,
    pub user_id: Uuid,
    /// S256 PKCE challenge, if the grant is bound to a verifier.
    pub code_challenge: Option<String>,
    pub created_at: Millis,
    pub expires_at: Millis,
    /// Until when the key stays taken, claimed, expired or not (at least
    /// `expires_at`): a spent nonce cannot be parked again meanwhile.
    pub reserved_until: Millis,
}

/// A terminal's login waiting to be approved by its short code (the device
/// style of RFC 8628): keyed by an HMAC of the code, bound to the terminal's
/// nonce (as its SHA-256, the key its grant is parked under) and to its PKCE
/// challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRequest {
    pub key_hash: DeviceKey,
    pub nonce_hash: GrantKey,
    pub code_challenge: String,
    /// The host name the terminal reported, and the address it asked from.
    pub host: Option<String>,
    pub ip: Option<String>,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// A one-time sign-in link, stored as the SHA-256 of its secret. Both the
/// enrollment link of `user add` and the link of `user link` are these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLoginLink {
    pub key_hash: LinkKey,
    pub user_id: Uuid,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// A WebAuthn credential about to be stored. `data` is the relying-party
/// library's serialised credential (public key, counter); no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPasskey {
    pub id: Uuid,
    pub user_id: Uuid,
    pub credential_id: Vec<u8>,
    pub name: String,
    pub data: String,
    pub created_at: Millis,
}

impl NewPasskey {
    /// The passkey this is once stored (never used yet).
    pub fn into_passkey(self) -> Passkey {
        Passkey {
            id: self.id,
            user_id: self.user_id,
            credential_id: self.credential_id,
            name: self.name,
            data: self.data,
            created_at: self.created_at,
            last_used_at: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passkey {
    pub id: Uuid,
    pub user_id: Uuid,
    pub credential_id: Vec<u8>,
    pub name: String,
    pub data: String,
    pub created_at: Millis,
    pub last_used_at: Option<Millis>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CeremonyKind {
    /// A passkey registration, bound to the signed-in user.
    Register,
    /// A passkey sign-in, bound to nobody until it finishes.
    Authenticate,
}

impl CeremonyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CeremonyKind::Register => "register",
            CeremonyKind::Authenticate => "authenticate",
        }
    }
}

/// The server half of a WebAuthn ceremony, kept in the store between its
/// start and finish so that any replica can finish it. Keyed by the SHA-256
/// of the ceremony id the browser holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCeremony {
    pub kind: CeremonyKind,
    pub key_hash: CeremonyKey,
    pub user_id: Option<Uuid>,
    pub state: String,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// What [`CeremonyStore::take_ceremony`] hands back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceremony {
    pub user_id: Option<Uuid>,
    pub state: String,
}

/// A snapshot of a backend's connection pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections checked out right now.
    pub in_use: u32,
    /// Connections open and waiting in the pool.
    pub idle: u32,
    /// The most the pool opens.
    pub max: u32,
}

/// A single sign-on flow between its start and its callback, keyed by the
/// SHA-256 of the random reference in the browser's cookie. The flow's
/// `state`, `nonce` and PKCE verifier are derived from that reference, so
/// nothing stored here is secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSsoFlow {
    pub key_hash: SsoFlowKey,
    /// `oidc` or `github`.
    pub provider: String,
    /// Where to go after signing in: a local path.
    pub next: String,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// What [`CeremonyStore::take_sso_flow`] hands back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoFlow {
    pub provider: String,
    pub next: String,
}

/// An identity at a single sign-on provider (an issuer's subject) that
/// signs in as one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIdentity {
    pub id: Uuid,
    pub user_id: Uuid,
    /// `oidc` or `github`.
    pub provider: String,
    /// The OpenID issuer, or the GitHub URL.
    pub issuer: String,
    /// The provider's stable id for the person (`sub`, GitHub's numeric id).
    pub subject: String,
    /// The email the provider said at the last sign-in.
    pub email: Option<String>,
    pub created_at: Millis,
}

impl NewIdentity {
    /// The identity this is once stored (never used yet).
    pub fn into_identity(self) -> Identity {
        Identity {
            id: self.id,
            user_id: self.user_id,
            provider: self.provider,
            issuer: self.issuer,
            subject: self.subject,
            email: self.email,
            created_at: self.created_at,
            last_used_at: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub id: Uuid,
    pub user_id: Uuid,
    pub provider: String,
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub created_at: Millis,
    pub last_used_at: Option<Millis>,
}

/// What [`IdentityStore::delete_identity`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityRemoval {
    Removed,
    /// The user has no such identity.
    NotFound,
    /// It is the user's last way to sign in (no passkey, no other identity).
    LastWay,
}

/// How many rows a sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub grants: u64,
    pub sessions: u64,
}

/// People: created, found, renamed, disabled, deleted.
#[async_trait]
pub trait UserStore: Send + Sync + std::fmt::Debug + 'static {
    /// Fails with [`StoreError::Conflict`] when the email is taken.
    async fn create_user(&self, user: NewUser) -> Result<User>;

    /// Emails compare exactly as given; the server lower-cases them first.
    async fn user_by_email(&self, email: &str) -> Result<Option<User>>;

    /// Every user, by email (for the operator's `user list`).
    async fn list_users(&self) -> Result<Vec<User>>;

    /// Sets the user's display name; `None` when there is no such user.
    async fn update_user_name(&self, user_id: Uuid, name: &str) -> Result<Option<User>>;

    /// Deletes the user with everything of theirs (sessions, keys, passkeys,
    /// grants, links, ceremonies), announced as [`StoreEvent::UserRevoked`].
    /// `false` when there was no such user.
    async fn delete_user(&self, user_id: Uuid) -> Result<bool>;

    /// Disables the user (`Some(at)`; one already disabled keeps its first
    /// time) or enables them (`None`), revoking and deleting nothing. Either
    /// way announced as [`StoreEvent::UserRevoked`], so every process drops
    /// (and re-reads) the user's cached sessions at once. `false` when there
    /// is no such user.
    async fn set_user_disabled(&self, user_id: Uuid, disabled_at: Option<Millis>) -> Result<bool>;
}

/// Browser and CLI sessions, by the SHA-256 of their token.
#[async_trait]
pub trait SessionStore: Send + Sync + std::fmt::Debug + 'static {
    /// [`StoreError::UserDisabled`], creating nothing, for a disabled user.
    async fn create_session(&self, user_id: Uuid, draft: SessionDraft) -> Result<Session>;

    /// The live session for this token hash with its user: `None` when
    /// unknown, revoked, or expired at `now`. A disabled user's session is
    /// returned (with [`User::disabled_at`] set): the caller refuses it.
    async fn authenticate(&self, token_hash: &TokenHash, now: Millis) -> Result<Option<Authenticated>>;

    /// Sets `last_used_at = now` unless it was set less than a minute before
    /// `now`, so a busy token costs at most one write a minute. A revoked
    /// session is left as it is. Whether it wrote.
    async fn touch_session(&self, session_id: Uuid, now: Millis) -> Result<bool>;

    /// The user's live sessions, newest first.
    async fn list_sessions(&self, user_id: Uuid, now: Millis) -> Result<Vec<Session>>;

    /// Revokes one of the user's live sessions (announced, see [`Store::watch`]). `false` when the user has no
    /// live session with that id (someone else's looks the same as none).
    async fn revoke_session(&self, user_id: Uuid, session_id: Uuid, now: Millis) -> Result<bool>;

    /// Revokes all the user's live sessions but `keep`; returns how many.
    /// Announced as [`StoreEvent::UserRevoked`] when any was.
    async fn revoke_other_sessions(&self, user_id: Uuid, keep: Uuid, now: Millis) -> Result<u64>;
}

/// Personal API keys, by the SHA-256 of their secret.
#[async_trait]
pub trait ApiKeyStore: Send + Sync + std::fmt::Debug + 'static {
    /// Stores a personal API key. [`StoreError::Conflict`] if the hash is taken.
    async fn create_api_key(&self, key: NewApiKey) -> Result<ApiKeyRecord>;

    /// The user's live API keys (not revoked, not expired at `now`), newest first.
    async fn list_api_keys(&self, user_id: Uuid, now: Millis) -> Result<Vec<ApiKeyRecord>>;

    /// The live key for this hash with its user, the key presented as a
    /// session ([`ApiKeyRecord::as_session`]); `None` when unknown, revoked
    /// or expired at `now`.
    async fn authenticate_api_key(&self, token_hash: &TokenHash, now: Millis) -> Result<Option<Authenticated>>;

    /// As [`SessionStore::touch_session`], for a key: at most one write a minute.
    async fn touch_api_key(&self, id: Uuid, now: Millis) -> Result<bool>;

    /// Revokes one of the user's live keys, announced as
    /// [`StoreEvent::SessionRevoked`] with the key's id. `false` when the user
    /// has no live key with that id (someone else's looks the same as none).
    async fn revoke_api_key(&self, user_id: Uuid, id: Uuid, now: Millis) -> Result<bool>;
}

/// The CLI login's grants (transfer and paste) and device requests.
#[async_trait]
pub trait GrantStore: Send + Sync + std::fmt::Debug + 'static {
    /// Parks a grant. `false`, leaving the parked grant untouched, when a
    /// grant of the same kind and key still reserves it at `grant.created_at`
    /// (live, or claimed or expired before its `reserved_until`); one whose
    /// reservation ended is replaced.
    async fn park_grant(&self, grant: NewGrant) -> Result<bool>;

    /// Whether a live grant waits under this key (a cheap read for long polls
    /// to decide whether [`GrantStore::consume_grant`] is worth trying).
    async fn grant_pending(&self, kind: GrantKind, key_hash: &GrantKey, now: Millis) -> Result<bool>;

    /// In one transaction: marks consumed the live grant of this kind and key
    /// whose challenge equals `code_challenge` (both absent, or both the same
    /// text), and creates the session `draft` for the grant's user. `None`,
    /// with nothing changed, when there is no such grant (unknown, expired,
    /// consumed, or the challenge does not match: a verifier sent for a grant
    /// parked without a challenge is refused too). Of concurrent calls for one
    /// grant exactly one gets `Some`. A matching live grant of a disabled
    /// user is [`StoreError::UserDisabled`], and stays as it was.
    async fn consume_grant(
        &self,
        kind: GrantKind,
        key_hash: &GrantKey,
        code_challenge: Option<&str>,
        now: Millis,
        draft: SessionDraft,
    ) -> Result<Option<Session>>;

    /// Registers a device request. `false`, leaving the other untouched, when
    /// one with the same key has not expired at `request.created_at` (used or
    /// not); an expired one is replaced.
    async fn park_device_request(&self, request: DeviceRequest) -> Result<bool>;

    /// The live, unused device request under this key.
    async fn device_request(&self, key_hash: &DeviceKey, now: Millis) -> Result<Option<DeviceRequest>>;

    /// Marks the live, unused device request under this key used, and
    /// returns it; of concurrent calls exactly one gets it.
    async fn take_device_request(&self, key_hash: &DeviceKey, now: Millis) -> Result<Option<DeviceRequest>>;
}

/// One-time sign-in links.
#[async_trait]
pub trait LinkStore: Send + Sync + std::fmt::Debug + 'static {
    /// Stores a one-time login link. [`StoreError::Conflict`] if the hash is taken.
    async fn create_login_link(&self, link: NewLoginLink) -> Result<()>;

    /// In one transaction: deletes the link live at `now` and creates the
    /// session `draft` for its user. `None`, with nothing changed, when the
    /// link is unknown, expired or used. Of concurrent calls exactly one wins.
    /// A live link of a disabled user is [`StoreError::UserDisabled`], and stays.
    async fn consume_login_link(&self, key_hash: &LinkKey, now: Millis, draft: SessionDraft)
        -> Result<Option<Session>>;
}

/// WebAuthn credentials.
#[async_trait]
pub trait PasskeyStore: Send + Sync + std::fmt::Debug + 'static {
    /// [`StoreError::Conflict`] when the credential id is already registered
    /// (to anyone).
    async fn create_passkey(&self, passkey: NewPasskey) -> Result<Passkey>;

    /// The user's passkeys, oldest first.
    async fn list_passkeys(&self, user_id: Uuid) -> Result<Vec<Passkey>>;

    async fn passkey_by_credential_id(&self, credential_id: &[u8]) -> Result<Option<Passkey>>;

    /// After a sign-in, in one transaction: stores the updated credential
    /// (its counter) and `last_used_at = now`, and creates the session `draft`
    /// for the passkey's user. `None`, with nothing changed, when the passkey
    /// is gone: a sign-in racing [`PasskeyStore::delete_passkey`] either fails or
    /// creates a session that the removal revokes. A disabled user's passkey
    /// is [`StoreError::UserDisabled`], with nothing changed.
    async fn record_passkey_sign_in(
        &self,
        id: Uuid,
        data: String,
        now: Millis,
        draft: SessionDraft,
    ) -> Result<Option<Session>>;

    /// In one transaction: deletes the user's passkey and revokes (at `now`)
    /// the live sessions it signed in (announced as [`StoreEvent::UserRevoked`]
    /// when any was). The ids of those sessions; `None` when
    /// the user has no passkey with that id (someone else's looks the same).
    async fn delete_passkey(&self, user_id: Uuid, id: Uuid, now: Millis) -> Result<Option<Vec<Uuid>>>;
}

/// Short-lived server state between a browser flow's start and finish:
/// WebAuthn ceremonies and single sign-on flows.
#[async_trait]
pub trait CeremonyStore: Send + Sync + std::fmt::Debug + 'static {
    /// Stores a ceremony's server state. [`StoreError::Conflict`] if the key is taken.
    async fn park_ceremony(&self, ceremony: NewCeremony) -> Result<()>;

    /// Deletes and returns the ceremony of this kind and key live at `now`,
    /// in one statement: a ceremony finishes at most once.
    async fn take_ceremony(&self, kind: CeremonyKind, key_hash: &CeremonyKey, now: Millis) -> Result<Option<Ceremony>>;

    /// Stores a started single sign-on flow.
    async fn park_sso_flow(&self, flow: NewSsoFlow) -> Result<()>;

    /// Removes and returns the flow if it has not expired: once.
    async fn take_sso_flow(&self, key_hash: &SsoFlowKey, now: Millis) -> Result<Option<SsoFlow>>;
}

/// Single sign-on identities linked to users.
#[async_trait]
pub trait IdentityStore: Send + Sync + std::fmt::Debug + 'static {
    /// The identity with this issuer and subject, if linked.
    async fn identity_by_subject(&self, issuer: &str, subject: &str) -> Result<Option<Identity>>;

    /// Links an identity to its user, creating `new_user` first in the same
    /// transaction when given: both or neither. `Conflict` when the identity
    /// (or the new user's email) exists already.
    async fn create_identity(&self, identity: NewIdentity, new_user: Option<NewUser>) -> Result<Identity>;

    /// Records a sign-in with the identity and the email it came with.
    async fn touch_identity(&self, id: Uuid, email: Option<&str>, now: Millis) -> Result<bool>;

    /// The user's identities, oldest first.
    async fn list_identities(&self, user_id: Uuid) -> Result<Vec<Identity>>;

    /// Unlinks one of the user's identities, unless it is their last way to
    /// sign in: `LastWay` when they have no passkey and no other identity
    /// and `keep_last` is true (checked and deleted in one transaction).
    async fn delete_identity(&self, user_id: Uuid, id: Uuid, keep_last: bool) -> Result<IdentityRemoval>;
}

/// Resource servers allowed to introspect tokens.
#[async_trait]
pub trait ClientStore: Send + Sync + std::fmt::Debug + 'static {
    /// Stores a resource-server client. [`StoreError::Conflict`] if its name
    /// (or id) is taken.
    async fn create_resource_client(&self, client: NewResourceClient) -> Result<ResourceClient>;

    /// Every resource-server client, by name.
    async fn list_resource_clients(&self) -> Result<Vec<ResourceClient>>;

    /// The SHA-256 of the client's secret; `None` for no such client.
    async fn resource_client_secret_hash(&self, id: Uuid) -> Result<Option<TokenHash>>;

    /// Deletes the client with this name; `false` when there is none. Its
    /// secret is refused from the next request on.
    async fn remove_resource_client(&self, name: &str) -> Result<bool>;
}

/// Every role, plus the upkeep: migrations, health, the change feed, the
/// sweep and the pool's figures. A backend implements each role and this.
#[async_trait]
pub trait Store:
    UserStore
    + SessionStore
    + ApiKeyStore
    + GrantStore
    + LinkStore
    + PasskeyStore
    + CeremonyStore
    + IdentityStore
    + ClientStore
{
    /// Applies this backend's migrations. Idempotent.
    async fn migrate(&self) -> Result<()>;

    /// Answers while the store answers (for `/healthz`).
    async fn ping(&self) -> Result<()>;

    /// Whether this database holds harmont-auth's tables (at any migration),
    /// so an operator's command can refuse a database that is not the
    /// server's rather than migrate it into one.
    async fn has_our_tables(&self) -> Result<bool>;

    /// Whether [`Store::watch`] announces revocations made by other
    /// processes sharing this store. A process that caches sessions must then
    /// trust its cache only while the watch says [`StoreEvent::Listening`].
    fn announces_revocations(&self) -> bool {
        false
    }

    /// What any process sharing this store does, as it happens: transfer
    /// grants parked (so a long poll held by one replica wakes the moment
    /// another parks its grant) and sessions revoked (so every replica drops
    /// them from its cache at once). Every method that revokes a session
    /// announces it. The receiver first gets [`StoreEvent::Listening`] once
    /// the channel is up, then [`StoreEvent::Lost`] and `Listening` again as
    /// the connection goes and comes back; the backend reconnects by itself.
    /// `None` when the backend has no such channel; waiters then rely on
    /// re-reading the store.
    async fn watch(&self) -> Result<Option<tokio::sync::mpsc::Receiver<StoreEvent>>> {
        Ok(None)
    }

    /// Deletes grants whose reservation ended at `now`, and sessions that expired or were
    /// revoked before `now - keep_ended`. Also deletes login links,
    /// ceremonies and device requests expired at `now` (not counted in [`Swept`]).
    async fn sweep(&self, now: Millis, keep_ended: Millis) -> Result<Swept>;

    /// Connections of the store's pool: in use and idle, for the metrics.
    /// `None` where the backend keeps no pool worth reporting.
    fn pool_stats(&self) -> Option<PoolStats> {
        None
    }
}

#[cfg(test)]
mod touch_rule {
    use super::*;

    /// The statement's bound and the service's check are one rule.
    #[test]
    fn touch_cutoff_and_touch_due_agree() {
        let now = 1_767_225_600_000;
        for at in [now - TOUCH_EVERY - 1, now - TOUCH_EVERY, now - TOUCH_EVERY + 1, now - 1, now] {
            assert_eq!(at <= touch_cutoff(now), touch_due(Some(at), now), "last used at {at}");
        }
        assert!(touch_due(None, now));
    }
}

/// Checked whether or not the `contract` feature is on.
#[cfg(test)]
mod contract_list {
    /// The names between `@<arm> $make;` and `);` in the macro's first arm.
    fn listed(source: &str, arm: &str) -> Vec<String> {
        let start = source.find(&format!("contract_tests!({arm} $make;")).expect("the macro's arm") + arm.len() + 23;
        let end = start + source[start..].find(");").expect("the end of the list");
        source[start..end].split(',').map(str::trim).filter(|name| !name.is_empty()).map(str::to_owned).collect()
    }

    /// Every contract function, by how it takes the store.
    fn defined(source: &str, parameter: &str) -> Vec<String> {
        source
            .lines()
            .filter_map(|line| line.strip_prefix("pub async fn "))
            .filter(|rest| rest.contains(parameter))
            .map(|rest| rest.split('(').next().unwrap().to_owned())
            .collect()
    }

    /// A contract function that `contract_tests!` does not list would never
    /// run on any backend, and nothing else would say so.
    #[test]
    fn contract_tests_lists_every_contract_function_once() {
        let source = include_str!("contract.rs");
        for (arm, parameter) in [("@by_ref", "(store: &dyn Store)"), ("@shared", "(store: Arc<dyn Store>)")] {
            let (listed, defined) = (listed(source, arm), defined(source, parameter));
            assert!(!defined.is_empty(), "{arm}: found no contract functions; did the signatures change?");
            let unlisted: Vec<_> = defined.iter().filter(|name| !listed.contains(name)).collect();
            assert!(unlisted.is_empty(), "contract functions missing from contract_tests!({arm}): {unlisted:?}");
            let mut sorted = listed.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), listed.len(), "contract_tests!({arm}) lists a function twice");
            assert_eq!(listed.len(), defined.len(), "contract_tests!({arm}) lists a function that is not defined");
        }
    }
}
