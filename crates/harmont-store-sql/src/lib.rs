//! What the SQLite and Postgres backends of [`harmont_store::Store`] share,
//! written once: the column lists of each table, the row structs that read
//! them (`#[derive(sqlx::FromRow)]`, by column name) and their conversion into
//! the store's types, and the mapping of [`sqlx::Error`] to [`StoreError`].
//!
//! What really differs stays in each backend: placeholders (`?` or `$1`),
//! how ids are stored (text in SQLite, `uuid` in Postgres, hence the `Id`
//! parameter of the row structs), single use (`BEGIN IMMEDIATE` or one
//! statement of CTEs), `LISTEN`/`NOTIFY`, and which errors mean "unavailable".

use harmont_store::{
    ApiKeyRecord, DeviceKey, DeviceRequest, GrantKey, Identity, Millis, Passkey, ResourceClient, Result, Session,
    SignInMethod, StoreError, User,
};
use uuid::Uuid;

/// The columns [`UserRow`] reads.
pub const USER_COLUMNS: &str = "id, email, name, personal_org_slug, created_at, disabled_at";

/// The columns a new user is inserted with, in `NewUser`'s order.
pub const USER_INSERT_COLUMNS: &str = "id, email, name, personal_org_slug, created_at";

/// A user's columns as a bearer lookup joins them to its session or key
/// (`u`), read by [`JoinedUserRow`].
pub const JOINED_USER_COLUMNS: &str =
    "u.email, u.name, u.personal_org_slug, u.created_at AS user_created_at, u.disabled_at";

/// The columns [`SessionRow`] reads.
pub const SESSION_COLUMNS: &str =
    "id, user_id, created_at, expires_at, last_used_at, user_agent, ip, method, passkey_id";

/// The columns a new session is inserted with, in the order of the values
/// each backend binds from a `SessionDraft`.
pub const SESSION_INSERT_COLUMNS: &str =
    "id, user_id, token_hash, created_at, expires_at, user_agent, ip, method, passkey_id";

/// The columns [`ApiKeyRow`] reads.
pub const API_KEY_COLUMNS: &str = "id, user_id, description, created_at, expires_at, last_used_at";

/// The columns [`PasskeyRow`] reads.
pub const PASSKEY_COLUMNS: &str = "id, user_id, credential_id, name, data, created_at, last_used_at";

/// The columns [`IdentityRow`] reads.
pub const IDENTITY_COLUMNS: &str = "id, user_id, provider, issuer, subject, email, created_at, last_used_at";

/// The columns [`ResourceClientRow`] reads.
pub const RESOURCE_CLIENT_COLUMNS: &str = "id, name, created_at";

/// The columns [`DeviceRequestRow`] reads.
pub const DEVICE_REQUEST_COLUMNS: &str = "key_hash, nonce_hash, code_challenge, host, ip, created_at, expires_at";

/// `columns` with each one qualified by `table` (`s.id, s.user_id, …`), for
/// a join whose tables share column names.
pub fn qualified(columns: &str, table: &str) -> String {
    columns.split(", ").map(|column| format!("{table}.{column}")).collect::<Vec<_>>().join(", ")
}

/// The one mapping of a backend's errors: a unique violation is a
/// [`StoreError::Conflict`], what `unavailable` (the backend's own judgement)
/// says is [`StoreError::Unavailable`], the rest [`StoreError::Backend`].
pub fn map_error(e: sqlx::Error, unavailable: fn(&sqlx::Error) -> bool) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return StoreError::Conflict(db.message().to_owned());
        }
    }
    if unavailable(&e) {
        return StoreError::Unavailable(e.to_string());
    }
    StoreError::Backend(e.to_string())
}

/// An id as a backend stores it: a [`Uuid`] (Postgres) or its text (SQLite).
pub trait StoredId {
    fn into_uuid(self) -> Result<Uuid>;
}

impl StoredId for Uuid {
    fn into_uuid(self) -> Result<Uuid> {
        Ok(self)
    }
}

impl StoredId for String {
    fn into_uuid(self) -> Result<Uuid> {
        Uuid::parse_str(&self).map_err(|e| StoreError::Backend(format!("stored id {self:?}: {e}")))
    }
}

fn optional_uuid<Id: StoredId>(id: Option<Id>) -> Result<Option<Uuid>> {
    id.map(StoredId::into_uuid).transpose()
}

/// A stored hash (a key, a nonce's) back as its 32 bytes.
pub fn hash_from_bytes(bytes: Vec<u8>, what: &str) -> Result<[u8; 32]> {
    bytes.try_into().map_err(|_| StoreError::Backend(format!("{what} is not 32 bytes")))
}

fn parse_method(text: &str) -> Result<SignInMethod> {
    SignInMethod::parse(text).ok_or_else(|| StoreError::Backend(format!("stored sign-in method {text:?}")))
}

/// A row of `users`, [`USER_COLUMNS`].
#[derive(Debug, sqlx::FromRow)]
pub struct UserRow<Id> {
    id: Id,
    email: String,
    name: Option<String>,
    personal_org_slug: Option<String>,
    created_at: Millis,
    disabled_at: Option<Millis>,
}

impl<Id: StoredId> UserRow<Id> {
    pub fn into_user(self) -> Result<User> {
        let joined = JoinedUserRow {
            email: self.email,
            name: self.name,
            personal_org_slug: self.personal_org_slug,
            user_created_at: self.created_at,
            disabled_at: self.disabled_at,
        };
        Ok(joined.into_user(self.id.into_uuid()?))
    }
}

/// A user joined to a session or key, [`JOINED_USER_COLUMNS`]; the id is the
/// session's or key's `user_id`.
#[derive(Debug, sqlx::FromRow)]
pub struct JoinedUserRow {
    email: String,
    name: Option<String>,
    personal_org_slug: Option<String>,
    user_created_at: Millis,
    disabled_at: Option<Millis>,
}

impl JoinedUserRow {
    pub fn into_user(self, id: Uuid) -> User {
        User {
            id,
            email: self.email,
            name: self.name,
            personal_org_slug: self.personal_org_slug,
            created_at: self.user_created_at,
            disabled_at: self.disabled_at,
        }
    }
}

/// A row of `sessions`, [`SESSION_COLUMNS`].
#[derive(Debug, sqlx::FromRow)]
pub struct SessionRow<Id> {
    id: Id,
    user_id: Id,
    created_at: Millis,
    expires_at: Millis,
    last_used_at: Option<Millis>,
    user_agent: Option<String>,
    ip: Option<String>,
    method: String,
    passkey_id: Option<Id>,
}

impl<Id: StoredId> SessionRow<Id> {
    pub fn into_session(self) -> Result<Session> {
        Ok(Session {
            id: self.id.into_uuid()?,
            user_id: self.user_id.into_uuid()?,
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            user_agent: self.user_agent,
            ip: self.ip,
            method: parse_method(&self.method)?,
            passkey_id: optional_uuid(self.passkey_id)?,
        })
    }
}

/// A row of `api_keys`, [`API_KEY_COLUMNS`].
#[derive(Debug, sqlx::FromRow)]
pub struct ApiKeyRow<Id> {
    id: Id,
    user_id: Id,
    description: String,
    created_at: Millis,
    expires_at: Option<Millis>,
    last_used_at: Option<Millis>,
}

impl<Id: StoredId> ApiKeyRow<Id> {
    pub fn into_api_key(self) -> Result<ApiKeyRecord> {
        Ok(ApiKeyRecord {
            id: self.id.into_uuid()?,
            user_id: self.user_id.into_uuid()?,
            description: self.description,
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
        })
    }
}

/// A row of `passkeys`, [`PASSKEY_COLUMNS`].
#[derive(Debug, sqlx::FromRow)]
pub struct PasskeyRow<Id> {
    id: Id,
    user_id: Id,
    credential_id: Vec<u8>,
    name: String,
    data: String,
    created_at: Millis,
    last_used_at: Option<Millis>,
}

impl<Id: StoredId> PasskeyRow<Id> {
    pub fn into_passkey(self) -> Result<Passkey> {
        Ok(Passkey {
            id: self.id.into_uuid()?,
            user_id: self.user_id.into_uuid()?,
            credential_id: self.credential_id,
            name: self.name,
            data: self.data,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        })
    }
}

/// A row of `identities`, [`IDENTITY_COLUMNS`].
#[derive(Debug, sqlx::FromRow)]
pub struct IdentityRow<Id> {
    id: Id,
    user_id: Id,
    provider: String,
    issuer: String,
    subject: String,
    email: Option<String>,
    created_at: Millis,
    last_used_at: Option<Millis>,
}

impl<Id: StoredId> IdentityRow<Id> {
    pub fn into_identity(self) -> Result<Identity> {
        Ok(Identity {
            id: self.id.into_uuid()?,
            user_id: self.user_id.into_uuid()?,
            provider: self.provider,
            issuer: self.issuer,
            subject: self.subject,
            email: self.email,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        })
    }
}

/// A row of `resource_clients`, [`RESOURCE_CLIENT_COLUMNS`].
#[derive(Debug, sqlx::FromRow)]
pub struct ResourceClientRow<Id> {
    id: Id,
    name: String,
    created_at: Millis,
}

impl<Id: StoredId> ResourceClientRow<Id> {
    pub fn into_resource_client(self) -> Result<ResourceClient> {
        Ok(ResourceClient { id: self.id.into_uuid()?, name: self.name, created_at: self.created_at })
    }
}

/// A row of `device_requests`, [`DEVICE_REQUEST_COLUMNS`].
#[derive(Debug, sqlx::FromRow)]
pub struct DeviceRequestRow {
    key_hash: Vec<u8>,
    nonce_hash: Vec<u8>,
    code_challenge: String,
    host: Option<String>,
    ip: Option<String>,
    created_at: Millis,
    expires_at: Millis,
}

impl DeviceRequestRow {
    pub fn into_device_request(self) -> Result<DeviceRequest> {
        Ok(DeviceRequest {
            key_hash: DeviceKey::from_hash(hash_from_bytes(self.key_hash, "key_hash")?),
            nonce_hash: GrantKey::from_hash(hash_from_bytes(self.nonce_hash, "nonce_hash")?),
            code_challenge: self.code_challenge,
            host: self.host,
            ip: self.ip,
            created_at: self.created_at,
            expires_at: self.expires_at,
        })
    }
}

/// What `take_ceremony` returns from `webauthn_ceremonies`: `user_id, state`.
#[derive(Debug, sqlx::FromRow)]
pub struct CeremonyRow<Id> {
    user_id: Option<Id>,
    state: String,
}

impl<Id: StoredId> CeremonyRow<Id> {
    pub fn into_ceremony(self) -> Result<harmont_store::Ceremony> {
        Ok(harmont_store::Ceremony { user_id: optional_uuid(self.user_id)?, state: self.state })
    }
}

/// What `take_sso_flow` returns from `sso_flows`: `provider, next`.
#[derive(Debug, sqlx::FromRow)]
pub struct SsoFlowRow {
    provider: String,
    next: String,
}

impl SsoFlowRow {
    pub fn into_sso_flow(self) -> harmont_store::SsoFlow {
        harmont_store::SsoFlow { provider: self.provider, next: self.next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_ids_parse_and_bad_ones_are_backend_errors() {
        let id = Uuid::new_v4();
        assert_eq!(id.into_uuid().unwrap(), id, "a Postgres uuid is itself");
        assert_eq!(id.hyphenated().to_string().into_uuid().unwrap(), id);
        assert!(matches!("not-an-id".to_owned().into_uuid(), Err(StoreError::Backend(_))));
    }

    #[test]
    fn qualified_columns_name_their_table() {
        assert_eq!(qualified("id, user_id, created_at", "s"), "s.id, s.user_id, s.created_at");
        assert_eq!(qualified(API_KEY_COLUMNS, "k").matches("k.").count(), API_KEY_COLUMNS.split(", ").count());
    }

    #[test]
    fn stored_hashes_must_be_32_bytes() {
        assert_eq!(hash_from_bytes(vec![7; 32], "key_hash").unwrap(), [7; 32]);
        let Err(StoreError::Backend(message)) = hash_from_bytes(vec![7; 31], "key_hash") else { panic!() };
        assert_eq!(message, "key_hash is not 32 bytes");
    }

    #[test]
    fn what_the_backend_judges_unavailable_is_unavailable() {
        // A unique violation needs a real database: the contract tests
        // (`users_are_unique_by_email` and others) check Conflict on both.
        assert!(matches!(map_error(sqlx::Error::PoolTimedOut, |_| true), StoreError::Unavailable(_)));
        assert!(matches!(map_error(sqlx::Error::RowNotFound, |_| false), StoreError::Backend(_)));
    }
}
