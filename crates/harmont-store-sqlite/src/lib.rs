//! The SQLite backend of [`harmont_store::Store`]: one database file in WAL
//! mode, written through a single connection and read through a small pool.
//!
//! SQLite admits one writer at a time. Funnelling this process's writes
//! through one pooled connection makes them queue in the pool instead of
//! spinning in SQLite's busy handler, which sleeps in steps of up to 100 ms;
//! `busy_timeout` still covers other processes sharing the file. Readers never
//! block the writer under WAL, so `authenticate` scales with the reader pool.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use harmont_store::{
    ApiKeyRecord, ApiKeyStore, Authenticated, Ceremony, CeremonyKey, CeremonyKind, CeremonyStore, ClientStore,
    DeviceKey, DeviceRequest, GrantKey, GrantKind, GrantStore, Identity, IdentityRemoval, IdentityStore, LinkKey,
    LinkStore, Millis, NewApiKey, NewCeremony, NewGrant, NewIdentity, NewLoginLink, NewPasskey, NewResourceClient,
    NewSsoFlow, NewUser, Passkey, PasskeyStore, PoolStats, ResourceClient, Result, Session, SessionDraft, SessionStore,
    SsoFlow, SsoFlowKey, Store, StoreError, Swept, User, UserStore,
};
use harmont_store_sql::{
    hash_from_bytes, map_error, qualified, ApiKeyRow, CeremonyRow, DeviceRequestRow, IdentityRow, JoinedUserRow,
    PasskeyRow, ResourceClientRow, SessionRow, SsoFlowRow, StoredId, UserRow, API_KEY_COLUMNS, IDENTITY_COLUMNS,
    JOINED_USER_COLUMNS, PASSKEY_COLUMNS, RESOURCE_CLIENT_COLUMNS, SESSION_COLUMNS, SESSION_INSERT_COLUMNS,
    USER_COLUMNS, USER_INSERT_COLUMNS,
};
use harmont_wire::token::TokenHash;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    Sqlite, SqliteArguments, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Connection, FromRow, SqliteExecutor};
use uuid::Uuid;

/// How this backend stores ids, for harmont-store-sql's row structs.
type Id = String;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Storage in one SQLite database (a file, or memory for tests and demos).
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    location: String,
    /// Keeps an in-memory database alive even if the pool recycles its
    /// connection: SQLite drops a shared-cache memory database with its last
    /// connection.
    _memory_anchor: Option<Mutex<SqliteConnection>>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("location", &self.location)
            .field("readers", &self.reader.options().get_max_connections())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if missing, parent folder included) the database at
    /// `url`: `sqlite://path/to/file.db`, `sqlite:relative.db` or
    /// `sqlite::memory:`. Does not migrate; call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<SqliteStore> {
        Self::connect_with_timeout(url, BUSY_TIMEOUT).await
    }

    /// [`SqliteStore::connect`], waiting at most `timeout` for a pooled
    /// connection, and three quarters of it for another process's lock
    /// (`busy_timeout`): a locked file then fails with SQLite's own "database
    /// is locked" before a caller's own bound of `timeout` runs out.
    pub async fn connect_with_timeout(url: &str, timeout: Duration) -> Result<SqliteStore> {
        let base = SqliteConnectOptions::from_str(url)
            .map_err(backend)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(timeout * 3 / 4);

        if is_memory(url) {
            return Self::connect_memory(base).await;
        }

        let location = base.get_filename().display().to_string();
        create_private(base.get_filename())?;

        // The writer opens first and alone: switching a new file to WAL needs
        // an exclusive lock that busy_timeout does not wait for. WAL then
        // persists in the file, so readers need not ask for it.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(timeout)
            .connect_with(base.clone().journal_mode(SqliteJournalMode::Wal).synchronous(SqliteSynchronous::Normal))
            .await
            .map_err(backend)?;
        let reader = SqlitePoolOptions::new()
            .max_connections(reader_pool_size())
            .acquire_timeout(timeout)
            .connect_with(base.synchronous(SqliteSynchronous::Normal))
            .await
            .map_err(backend)?;

        Ok(SqliteStore { writer, reader, location, _memory_anchor: None })
    }

    async fn connect_memory(base: SqliteConnectOptions) -> Result<SqliteStore> {
        let anchor = SqliteConnection::connect_with(&base).await.map_err(backend)?;
        // Shared-cache memory databases lock whole tables between
        // connections, so one connection serves reads and writes alike.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(base)
            .await
            .map_err(backend)?;
        Ok(SqliteStore {
            writer: pool.clone(),
            reader: pool,
            location: ":memory:".to_owned(),
            _memory_anchor: Some(Mutex::new(anchor)),
        })
    }
}

fn reader_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
    u32::try_from(cores * 2).unwrap_or(u32::MAX).clamp(4, 16)
}

/// sqlx gives no getter for "in memory", so read it off the URL the way
/// sqlx parses it: a `:memory:` database or `mode=memory`.
fn is_memory(url: &str) -> bool {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    let (database, params) = rest.split_once('?').unwrap_or((rest, ""));
    database == ":memory:" || params.split('&').any(|pair| pair == "mode=memory")
}

/// [`map_error`] with this backend's judgement of [`unavailable`].
fn backend(e: sqlx::Error) -> StoreError {
    map_error(e, unavailable)
}

/// Errors that say the file cannot be used right now rather than that the
/// request was wrong: locked past `busy_timeout`, read-only, unopenable, out
/// of disk, an I/O error; or no pooled connection in time.
fn unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        // Primary result codes (the low byte of extended ones): BUSY 5,
        // LOCKED 6, READONLY 8, IOERR 10, FULL 13, CANTOPEN 14.
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            .is_some_and(|code| matches!(code & 0xff, 5 | 6 | 8 | 10 | 13 | 14)),
        _ => false,
    }
}

async fn insert_session<'c>(conn: impl SqliteExecutor<'c>, user_id: Uuid, draft: SessionDraft) -> Result<Session> {
    sqlx::query(&format!("INSERT INTO sessions ({SESSION_INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"))
        .bind(draft.id.hyphenated().to_string())
        .bind(user_id.hyphenated().to_string())
        .bind(&draft.token_hash.0[..])
        .bind(draft.created_at)
        .bind(draft.expires_at)
        .bind(draft.user_agent.as_deref())
        .bind(draft.ip.as_deref())
        .bind(draft.method.as_str())
        .bind(draft.passkey_id.map(|id| id.hyphenated().to_string()))
        .execute(conn)
        .await
        .map_err(backend)?;
    Ok(draft.into_session(user_id))
}

impl SqliteStore {
    /// Runs `consume` (a `DELETE` or `UPDATE … RETURNING user_id` of a single-use row)
    /// and inserts `draft` for that user, in one transaction: a grant or link
    /// is spent exactly when its session exists. `None`, with nothing changed,
    /// when the DELETE found no row.
    async fn consume_into_session<'q>(
        &self,
        consume: sqlx::query::QueryScalar<'q, Sqlite, String, SqliteArguments<'q>>,
        draft: SessionDraft,
    ) -> Result<Option<Session>> {
        // IMMEDIATE takes the write lock before the DELETE reads, so no other
        // process can consume the row between our read and our write.
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
        let Some(user_id) = consume.fetch_optional(&mut *tx).await.map_err(backend)? else {
            tx.rollback().await.map_err(backend)?;
            return Ok(None);
        };
        // Under the write lock, so a disable cannot slip in between.
        let disabled: Option<Option<Millis>> = sqlx::query_scalar("SELECT disabled_at FROM users WHERE id = ?")
            .bind(&user_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        if disabled.flatten().is_some() {
            tx.rollback().await.map_err(backend)?;
            return Err(StoreError::UserDisabled);
        }
        // On error the dropped transaction rolls back, restoring the row.
        let session = insert_session(&mut *tx, user_id.into_uuid()?, draft).await?;
        tx.commit().await.map_err(backend)?;
        Ok(Some(session))
    }
}

/// Inserts a new user (in [`UserStore::create_user`], or in
/// [`IdentityStore::create_identity`]'s transaction).
async fn insert_user<'c>(conn: impl SqliteExecutor<'c>, user: &NewUser) -> Result<()> {
    sqlx::query(&format!("INSERT INTO users ({USER_INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?)"))
        .bind(user.id.hyphenated().to_string())
        .bind(&user.email)
        .bind(user.name.as_deref())
        .bind(user.personal_org_slug.as_deref())
        .bind(user.created_at)
        .execute(conn)
        .await
        .map_err(backend)?;
    Ok(())
}

impl SqliteStore {
    /// Sets `last_used_at = now` on the live row `id` of `table` (`sessions`
    /// or `api_keys`) unless it was set after [`harmont_store::touch_cutoff`]:
    /// the statement checks again, so racing requests write once. Whether it wrote.
    async fn touch(&self, table: &str, id: Uuid, now: Millis) -> Result<bool> {
        let done = sqlx::query(&format!(
            "UPDATE {table} SET last_used_at = ? \
             WHERE id = ? AND revoked_at IS NULL AND (last_used_at IS NULL OR last_used_at <= ?)"
        ))
        .bind(now)
        .bind(id.hyphenated().to_string())
        .bind(harmont_store::touch_cutoff(now))
        .execute(&self.writer)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, user: NewUser) -> Result<User> {
        insert_user(&self.writer, &user).await?;
        Ok(user.into_user())
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let row = sqlx::query_as::<_, UserRow<Id>>(&format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?"))
            .bind(email)
            .fetch_optional(&self.reader)
            .await
            .map_err(backend)?;
        row.map(UserRow::into_user).transpose()
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        let rows = sqlx::query_as::<_, UserRow<Id>>(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY email"))
            .fetch_all(&self.reader)
            .await
            .map_err(backend)?;
        rows.into_iter().map(UserRow::into_user).collect()
    }

    async fn update_user_name(&self, user_id: Uuid, name: &str) -> Result<Option<User>> {
        let row = sqlx::query_as::<_, UserRow<Id>>(&format!(
            "UPDATE users SET name = ? WHERE id = ? RETURNING {USER_COLUMNS}"
        ))
        .bind(name)
        .bind(user_id.hyphenated().to_string())
        .fetch_optional(&self.writer)
        .await
        .map_err(backend)?;
        row.map(UserRow::into_user).transpose()
    }

    async fn delete_user(&self, user_id: Uuid) -> Result<bool> {
        // Sessions, keys, passkeys, grants, links and ceremonies go with the
        // user (ON DELETE CASCADE, foreign keys on).
        let done = sqlx::query("DELETE FROM users WHERE id = ?")
            .bind(user_id.hyphenated().to_string())
            .execute(&self.writer)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_user_disabled(&self, user_id: Uuid, disabled_at: Option<Millis>) -> Result<bool> {
        // One process: its own cache is told by the caller; another process
        // sharing the file re-reads within its cache's TTL.
        let done = sqlx::query("UPDATE users SET disabled_at = CASE WHEN ? IS NULL THEN NULL ELSE COALESCE(disabled_at, ?) END WHERE id = ?")
            .bind(disabled_at)
            .bind(disabled_at)
            .bind(user_id.hyphenated().to_string())
            .execute(&self.writer)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, user_id: Uuid, draft: SessionDraft) -> Result<Session> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
        let disabled: Option<Option<Millis>> = sqlx::query_scalar("SELECT disabled_at FROM users WHERE id = ?")
            .bind(user_id.hyphenated().to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        if disabled.flatten().is_some() {
            tx.rollback().await.map_err(backend)?;
            return Err(StoreError::UserDisabled);
        }
        let session = insert_session(&mut *tx, user_id, draft).await?;
        tx.commit().await.map_err(backend)?;
        Ok(session)
    }

    async fn authenticate(&self, token_hash: &TokenHash, now: Millis) -> Result<Option<Authenticated>> {
        let row = sqlx::query(&format!(
            "SELECT {}, {JOINED_USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires_at > ?",
            qualified(SESSION_COLUMNS, "s"),
        ))
        .bind(&token_hash.0[..])
        .bind(now)
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let session = SessionRow::<Id>::from_row(&row).map_err(backend)?.into_session()?;
        let user = JoinedUserRow::from_row(&row).map_err(backend)?.into_user(session.user_id);
        Ok(Some(Authenticated { session, user }))
    }

    async fn touch_session(&self, session_id: Uuid, now: Millis) -> Result<bool> {
        self.touch("sessions", session_id, now).await
    }

    async fn list_sessions(&self, user_id: Uuid, now: Millis) -> Result<Vec<Session>> {
        let rows = sqlx::query_as::<_, SessionRow<Id>>(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions \
             WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(user_id.hyphenated().to_string())
        .bind(now)
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        rows.into_iter().map(SessionRow::into_session).collect()
    }

    async fn revoke_session(&self, user_id: Uuid, session_id: Uuid, now: Millis) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = ? \
             WHERE id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ?",
        )
        .bind(now)
        .bind(session_id.hyphenated().to_string())
        .bind(user_id.hyphenated().to_string())
        .bind(now)
        .execute(&self.writer)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn revoke_other_sessions(&self, user_id: Uuid, keep: Uuid, now: Millis) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = ? \
             WHERE user_id = ? AND id <> ? AND revoked_at IS NULL AND expires_at > ?",
        )
        .bind(now)
        .bind(user_id.hyphenated().to_string())
        .bind(keep.hyphenated().to_string())
        .bind(now)
        .execute(&self.writer)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl ApiKeyStore for SqliteStore {
    async fn create_api_key(&self, key: NewApiKey) -> Result<ApiKeyRecord> {
        sqlx::query(
            "INSERT INTO api_keys (id, user_id, token_hash, description, created_at, expires_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(key.id.hyphenated().to_string())
        .bind(key.user_id.hyphenated().to_string())
        .bind(&key.token_hash.0[..])
        .bind(&key.description)
        .bind(key.created_at)
        .bind(key.expires_at)
        .execute(&self.writer)
        .await
        .map_err(backend)?;
        Ok(key.into_record())
    }

    async fn list_api_keys(&self, user_id: Uuid, now: Millis) -> Result<Vec<ApiKeyRecord>> {
        let rows = sqlx::query_as::<_, ApiKeyRow<Id>>(&format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys \
             WHERE user_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(user_id.hyphenated().to_string())
        .bind(now)
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        rows.into_iter().map(ApiKeyRow::into_api_key).collect()
    }

    async fn authenticate_api_key(&self, token_hash: &TokenHash, now: Millis) -> Result<Option<Authenticated>> {
        let row = sqlx::query(&format!(
            "SELECT {}, {JOINED_USER_COLUMNS} FROM api_keys k JOIN users u ON u.id = k.user_id \
             WHERE k.token_hash = ? AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?)",
            qualified(API_KEY_COLUMNS, "k"),
        ))
        .bind(&token_hash.0[..])
        .bind(now)
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let key = ApiKeyRow::<Id>::from_row(&row).map_err(backend)?.into_api_key()?;
        let user = JoinedUserRow::from_row(&row).map_err(backend)?.into_user(key.user_id);
        Ok(Some(Authenticated { session: key.as_session(), user }))
    }

    async fn touch_api_key(&self, id: Uuid, now: Millis) -> Result<bool> {
        self.touch("api_keys", id, now).await
    }

    async fn revoke_api_key(&self, user_id: Uuid, id: Uuid, now: Millis) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = ? \
             WHERE id = ? AND user_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)",
        )
        .bind(now)
        .bind(id.hyphenated().to_string())
        .bind(user_id.hyphenated().to_string())
        .bind(now)
        .execute(&self.writer)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl GrantStore for SqliteStore {
    async fn park_grant(&self, grant: NewGrant) -> Result<bool> {
        // The WHERE on the upsert keeps a reserved key untouched; a skipped
        // update reports zero rows.
        let done = sqlx::query(
            "INSERT INTO cli_grants \
                 (kind, key_hash, user_id, code_challenge, created_at, expires_at, reserved_until) \
             VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (kind, key_hash) DO UPDATE SET \
                 user_id = excluded.user_id, \
                 code_challenge = excluded.code_challenge, \
                 created_at = excluded.created_at, \
                 expires_at = excluded.expires_at, \
                 reserved_until = excluded.reserved_until, \
                 consumed_at = NULL \
             WHERE cli_grants.reserved_until <= excluded.created_at",
        )
        .bind(grant.kind.as_str())
        .bind(&grant.key_hash.as_bytes()[..])
        .bind(grant.user_id.hyphenated().to_string())
        .bind(grant.code_challenge.as_deref())
        .bind(grant.created_at)
        .bind(grant.expires_at)
        .bind(grant.reserved_until.max(grant.expires_at))
        .execute(&self.writer)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn grant_pending(&self, kind: GrantKind, key_hash: &GrantKey, now: Millis) -> Result<bool> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM cli_grants \
                            WHERE kind = ? AND key_hash = ? AND expires_at > ? AND consumed_at IS NULL)",
        )
        .bind(kind.as_str())
        .bind(&key_hash.as_bytes()[..])
        .bind(now)
        .fetch_one(&self.reader)
        .await
        .map_err(backend)
    }

    async fn consume_grant(
        &self,
        kind: GrantKind,
        key_hash: &GrantKey,
        code_challenge: Option<&str>,
        now: Millis,
        draft: SessionDraft,
    ) -> Result<Option<Session>> {
        // `IS` compares NULL as a value: no challenge matches only no
        // verifier, so a verifier cannot be sent to a grant parked without one.
        let consume = sqlx::query_scalar(
            "UPDATE cli_grants SET consumed_at = ? \
             WHERE kind = ? AND key_hash = ? AND expires_at > ? AND consumed_at IS NULL \
               AND code_challenge IS ? \
             RETURNING user_id",
        )
        .bind(now)
        .bind(kind.as_str())
        .bind(&key_hash.as_bytes()[..])
        .bind(now)
        .bind(code_challenge);
        self.consume_into_session(consume, draft).await
    }

    async fn park_device_request(&self, request: DeviceRequest) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO device_requests \
                 (key_hash, nonce_hash, code_challenge, host, ip, created_at, expires_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (key_hash) DO UPDATE SET \
                 nonce_hash = excluded.nonce_hash, code_challenge = excluded.code_challenge, \
                 host = excluded.host, ip = excluded.ip, created_at = excluded.created_at, \
                 expires_at = excluded.expires_at, used_at = NULL \
             WHERE device_requests.expires_at <= excluded.created_at",
        )
        .bind(&request.key_hash.as_bytes()[..])
        .bind(&request.nonce_hash.as_bytes()[..])
        .bind(&request.code_challenge)
        .bind(request.host.as_deref())
        .bind(request.ip.as_deref())
        .bind(request.created_at)
        .bind(request.expires_at)
        .execute(&self.writer)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn device_request(&self, key_hash: &DeviceKey, now: Millis) -> Result<Option<DeviceRequest>> {
        let row = sqlx::query_as::<_, DeviceRequestRow>(
            "SELECT key_hash, nonce_hash, code_challenge, host, ip, created_at, expires_at FROM device_requests \
             WHERE key_hash = ? AND expires_at > ? AND used_at IS NULL",
        )
        .bind(&key_hash.as_bytes()[..])
        .bind(now)
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?;
        row.map(DeviceRequestRow::into_device_request).transpose()
    }

    async fn take_device_request(&self, key_hash: &DeviceKey, now: Millis) -> Result<Option<DeviceRequest>> {
        let row = sqlx::query_as::<_, DeviceRequestRow>(
            "UPDATE device_requests SET used_at = ? \
             WHERE key_hash = ? AND expires_at > ? AND used_at IS NULL \
             RETURNING key_hash, nonce_hash, code_challenge, host, ip, created_at, expires_at",
        )
        .bind(now)
        .bind(&key_hash.as_bytes()[..])
        .bind(now)
        .fetch_optional(&self.writer)
        .await
        .map_err(backend)?;
        row.map(DeviceRequestRow::into_device_request).transpose()
    }
}

#[async_trait]
impl LinkStore for SqliteStore {
    async fn create_login_link(&self, link: NewLoginLink) -> Result<()> {
        sqlx::query("INSERT INTO login_links (key_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
            .bind(&link.key_hash.as_bytes()[..])
            .bind(link.user_id.hyphenated().to_string())
            .bind(link.created_at)
            .bind(link.expires_at)
            .execute(&self.writer)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn consume_login_link(
        &self,
        key_hash: &LinkKey,
        now: Millis,
        draft: SessionDraft,
    ) -> Result<Option<Session>> {
        let consume =
            sqlx::query_scalar("DELETE FROM login_links WHERE key_hash = ? AND expires_at > ? RETURNING user_id")
                .bind(&key_hash.as_bytes()[..])
                .bind(now);
        self.consume_into_session(consume, draft).await
    }
}

#[async_trait]
impl PasskeyStore for SqliteStore {
    async fn create_passkey(&self, passkey: NewPasskey) -> Result<Passkey> {
        sqlx::query(
            "INSERT INTO passkeys (id, user_id, credential_id, name, data, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(passkey.id.hyphenated().to_string())
        .bind(passkey.user_id.hyphenated().to_string())
        .bind(&passkey.credential_id)
        .bind(&passkey.name)
        .bind(&passkey.data)
        .bind(passkey.created_at)
        .execute(&self.writer)
        .await
        .map_err(backend)?;
        Ok(passkey.into_passkey())
    }

    async fn list_passkeys(&self, user_id: Uuid) -> Result<Vec<Passkey>> {
        let rows = sqlx::query_as::<_, PasskeyRow<Id>>(&format!(
            "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE user_id = ? ORDER BY created_at, id"
        ))
        .bind(user_id.hyphenated().to_string())
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        rows.into_iter().map(PasskeyRow::into_passkey).collect()
    }

    async fn passkey_by_credential_id(&self, credential_id: &[u8]) -> Result<Option<Passkey>> {
        let row = sqlx::query_as::<_, PasskeyRow<Id>>(&format!(
            "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE credential_id = ?"
        ))
        .bind(credential_id)
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?;
        row.map(PasskeyRow::into_passkey).transpose()
    }

    async fn record_passkey_sign_in(
        &self,
        id: Uuid,
        data: String,
        now: Millis,
        draft: SessionDraft,
    ) -> Result<Option<Session>> {
        let record =
            sqlx::query_scalar("UPDATE passkeys SET data = ?, last_used_at = ? WHERE id = ? RETURNING user_id")
                .bind(data)
                .bind(now)
                .bind(id.hyphenated().to_string());
        self.consume_into_session(record, draft).await
    }

    async fn delete_passkey(&self, user_id: Uuid, id: Uuid, now: Millis) -> Result<Option<Vec<Uuid>>> {
        let id = id.hyphenated().to_string();
        let user_id = user_id.hyphenated().to_string();
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
        let deleted = sqlx::query("DELETE FROM passkeys WHERE id = ? AND user_id = ?")
            .bind(&id)
            .bind(&user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if deleted.rows_affected() != 1 {
            tx.rollback().await.map_err(backend)?;
            return Ok(None);
        }
        let revoked: Vec<String> = sqlx::query_scalar(
            "UPDATE sessions SET revoked_at = ? \
             WHERE passkey_id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ? \
             RETURNING id",
        )
        .bind(now)
        .bind(&id)
        .bind(&user_id)
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        revoked.into_iter().map(StoredId::into_uuid).collect::<Result<Vec<_>>>().map(Some)
    }
}

#[async_trait]
impl CeremonyStore for SqliteStore {
    async fn park_ceremony(&self, ceremony: NewCeremony) -> Result<()> {
        sqlx::query(
            "INSERT INTO webauthn_ceremonies (kind, key_hash, user_id, state, created_at, expires_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(ceremony.kind.as_str())
        .bind(&ceremony.key_hash.as_bytes()[..])
        .bind(ceremony.user_id.map(|id| id.hyphenated().to_string()))
        .bind(&ceremony.state)
        .bind(ceremony.created_at)
        .bind(ceremony.expires_at)
        .execute(&self.writer)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn take_ceremony(&self, kind: CeremonyKind, key_hash: &CeremonyKey, now: Millis) -> Result<Option<Ceremony>> {
        let row = sqlx::query_as::<_, CeremonyRow<Id>>(
            "DELETE FROM webauthn_ceremonies WHERE kind = ? AND key_hash = ? AND expires_at > ? \
             RETURNING user_id, state",
        )
        .bind(kind.as_str())
        .bind(&key_hash.as_bytes()[..])
        .bind(now)
        .fetch_optional(&self.writer)
        .await
        .map_err(backend)?;
        row.map(CeremonyRow::into_ceremony).transpose()
    }

    async fn park_sso_flow(&self, flow: NewSsoFlow) -> Result<()> {
        sqlx::query("INSERT INTO sso_flows (key_hash, provider, next, created_at, expires_at) VALUES (?, ?, ?, ?, ?)")
            .bind(&flow.key_hash.as_bytes()[..])
            .bind(&flow.provider)
            .bind(&flow.next)
            .bind(flow.created_at)
            .bind(flow.expires_at)
            .execute(&self.writer)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn take_sso_flow(&self, key_hash: &SsoFlowKey, now: Millis) -> Result<Option<SsoFlow>> {
        let row = sqlx::query_as::<_, SsoFlowRow>(
            "DELETE FROM sso_flows WHERE key_hash = ? AND expires_at > ? RETURNING provider, next",
        )
        .bind(&key_hash.as_bytes()[..])
        .bind(now)
        .fetch_optional(&self.writer)
        .await
        .map_err(backend)?;
        Ok(row.map(SsoFlowRow::into_sso_flow))
    }
}

#[async_trait]
impl IdentityStore for SqliteStore {
    async fn identity_by_subject(&self, issuer: &str, subject: &str) -> Result<Option<Identity>> {
        let row = sqlx::query_as::<_, IdentityRow<Id>>(&format!(
            "SELECT {IDENTITY_COLUMNS} FROM identities WHERE issuer = ? AND subject = ?"
        ))
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&self.reader)
        .await
        .map_err(backend)?;
        row.map(IdentityRow::into_identity).transpose()
    }

    async fn create_identity(&self, identity: NewIdentity, new_user: Option<NewUser>) -> Result<Identity> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
        if let Some(user) = &new_user {
            insert_user(&mut *tx, user).await?;
        }
        sqlx::query(
            "INSERT INTO identities (id, user_id, provider, issuer, subject, email, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(identity.id.hyphenated().to_string())
        .bind(identity.user_id.hyphenated().to_string())
        .bind(&identity.provider)
        .bind(&identity.issuer)
        .bind(&identity.subject)
        .bind(identity.email.as_deref())
        .bind(identity.created_at)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(identity.into_identity())
    }

    async fn touch_identity(&self, id: Uuid, email: Option<&str>, now: Millis) -> Result<bool> {
        let done = sqlx::query("UPDATE identities SET last_used_at = ?, email = coalesce(?, email) WHERE id = ?")
            .bind(now)
            .bind(email)
            .bind(id.hyphenated().to_string())
            .execute(&self.writer)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_identities(&self, user_id: Uuid) -> Result<Vec<Identity>> {
        let rows = sqlx::query_as::<_, IdentityRow<Id>>(&format!(
            "SELECT {IDENTITY_COLUMNS} FROM identities WHERE user_id = ? ORDER BY created_at, id"
        ))
        .bind(user_id.hyphenated().to_string())
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        rows.into_iter().map(IdentityRow::into_identity).collect()
    }

    async fn delete_identity(&self, user_id: Uuid, id: Uuid, keep_last: bool) -> Result<IdentityRemoval> {
        let (user, id) = (user_id.hyphenated().to_string(), id.hyphenated().to_string());
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
        let mine: i64 = sqlx::query_scalar("SELECT count(*) FROM identities WHERE id = ? AND user_id = ?")
            .bind(&id)
            .bind(&user)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        if mine == 0 {
            tx.rollback().await.map_err(backend)?;
            return Ok(IdentityRemoval::NotFound);
        }
        let ways: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM identities WHERE user_id = ?) + (SELECT count(*) FROM passkeys WHERE user_id = ?)",
        )
        .bind(&user)
        .bind(&user)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        if keep_last && ways <= 1 {
            tx.rollback().await.map_err(backend)?;
            return Ok(IdentityRemoval::LastWay);
        }
        sqlx::query("DELETE FROM identities WHERE id = ? AND user_id = ?")
            .bind(&id)
            .bind(&user)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(IdentityRemoval::Removed)
    }
}

#[async_trait]
impl ClientStore for SqliteStore {
    async fn create_resource_client(&self, client: NewResourceClient) -> Result<ResourceClient> {
        sqlx::query("INSERT INTO resource_clients (id, name, secret_hash, created_at) VALUES (?, ?, ?, ?)")
            .bind(client.id.hyphenated().to_string())
            .bind(&client.name)
            .bind(&client.secret_hash.0[..])
            .bind(client.created_at)
            .execute(&self.writer)
            .await
            .map_err(backend)?;
        Ok(client.into_client())
    }

    async fn list_resource_clients(&self) -> Result<Vec<ResourceClient>> {
        let rows = sqlx::query_as::<_, ResourceClientRow<Id>>(&format!(
            "SELECT {RESOURCE_CLIENT_COLUMNS} FROM resource_clients ORDER BY name, id"
        ))
        .fetch_all(&self.reader)
        .await
        .map_err(backend)?;
        rows.into_iter().map(ResourceClientRow::into_resource_client).collect()
    }

    async fn resource_client_secret_hash(&self, id: Uuid) -> Result<Option<TokenHash>> {
        let hash: Option<Vec<u8>> = sqlx::query_scalar("SELECT secret_hash FROM resource_clients WHERE id = ?")
            .bind(id.hyphenated().to_string())
            .fetch_optional(&self.reader)
            .await
            .map_err(backend)?;
        hash.map(|hash| hash_from_bytes(hash, "a stored client secret hash").map(TokenHash)).transpose()
    }

    async fn remove_resource_client(&self, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM resource_clients WHERE name = ?")
            .bind(name)
            .execute(&self.writer)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.writer).await.map_err(|e| StoreError::Backend(format!("migrating: {e}")))
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await.map_err(backend)?;
        Ok(())
    }

    async fn has_our_tables(&self) -> Result<bool> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'users')")
            .fetch_one(&self.reader)
            .await
            .map_err(backend)
    }

    async fn sweep(&self, now: Millis, keep_ended: Millis) -> Result<Swept> {
        let ended_before = now - keep_ended;
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
        let grants = sqlx::query("DELETE FROM cli_grants WHERE reserved_until <= ?")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= ? OR revoked_at <= ?")
            .bind(ended_before)
            .bind(ended_before)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        sqlx::query("DELETE FROM api_keys WHERE expires_at <= ? OR revoked_at <= ?")
            .bind(ended_before)
            .bind(ended_before)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        for table in ["login_links", "webauthn_ceremonies", "sso_flows", "device_requests"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE expires_at <= ?"))
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(Swept { grants, sessions })
    }

    fn pool_stats(&self) -> Option<PoolStats> {
        // Readers and the writer together (one pool in memory).
        let pools: &[&SqlitePool] =
            if self._memory_anchor.is_some() { &[&self.reader] } else { &[&self.reader, &self.writer] };
        let mut stats = PoolStats::default();
        for pool in pools {
            let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
            stats.idle += idle;
            stats.in_use += pool.size().saturating_sub(idle);
            stats.max += pool.options().get_max_connections();
        }
        Some(stats)
    }
}

/// Creates the database file (and its folder) readable by its owner only,
/// before SQLite does: it holds emails and token hashes, and SQLite gives the
/// `-wal` and `-shm` files the database file's mode. An existing file is left
/// as it is.
fn create_private(path: &std::path::Path) -> Result<()> {
    let fail =
        |what: &std::path::Path, e: std::io::Error| StoreError::Backend(format!("creating {}: {e}", what.display()));
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.exists() {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(parent).map_err(|e| fail(parent, e))?;
        }
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(fail(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::is_memory;

    #[test]
    fn memory_urls_are_recognised() {
        assert!(is_memory("sqlite::memory:"));
        assert!(is_memory("sqlite://:memory:"));
        assert!(is_memory("sqlite://shared?mode=memory&cache=shared"));
        assert!(!is_memory("sqlite://data/auth.db"));
        assert!(!is_memory("sqlite:auth.db?mode=rwc"));
    }
}
