//! The PostgreSQL backend of [`harmont_store::Store`], for deployments with
//! more than one server process.
//!
//! Single use leans on row locks: a grant is consumed by one statement that
//! marks it consumed and inserts the session (a login link, by one that
//! deletes it), and of concurrent callers the ones that wait on the winner's
//! lock find the row spent and insert nothing.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use harmont_store::{
    ApiKeyRecord, ApiKeyStore, Authenticated, Ceremony, CeremonyKey, CeremonyKind, CeremonyStore, ClientStore,
    DeviceKey, DeviceRequest, GrantKey, GrantKind, GrantStore, Identity, IdentityRemoval, IdentityStore, LinkKey,
    LinkStore, Millis, NewApiKey, NewCeremony, NewGrant, NewIdentity, NewLoginLink, NewPasskey, NewResourceClient,
    NewSsoFlow, NewUser, Passkey, PasskeyStore, PoolStats, ResourceClient, Result, Session, SessionDraft, SessionStore,
    SsoFlow, SsoFlowKey, Store, StoreError, StoreEvent, Swept, User, UserStore,
};
use harmont_store_sql::{
    hash_from_bytes, map_error, qualified, ApiKeyRow, CeremonyRow, DeviceRequestRow, IdentityRow, JoinedUserRow,
    PasskeyRow, ResourceClientRow, SessionRow, SsoFlowRow, UserRow, API_KEY_COLUMNS, IDENTITY_COLUMNS,
    JOINED_USER_COLUMNS, PASSKEY_COLUMNS, RESOURCE_CLIENT_COLUMNS, SESSION_COLUMNS, SESSION_INSERT_COLUMNS,
    USER_COLUMNS, USER_INSERT_COLUMNS,
};
use harmont_wire::token::TokenHash;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::query::Query;
use sqlx::Postgres;
use sqlx::{FromRow, PgExecutor, Row};
use uuid::Uuid;

/// How this backend stores ids, for harmont-store-sql's row structs.
type Id = Uuid;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Enough for a server's concurrent requests without crowding Postgres's
/// default limit of 100 connections when a few processes share it.
const POOL_SIZE: u32 = 16;

/// How long a pooled connection or a statement is waited for, unless told.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// Storage in a PostgreSQL database.
pub struct PostgresStore {
    pool: PgPool,
    /// Where it connects, without the password, for `Debug`.
    target: String,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .field("pool_size", &self.pool.options().get_max_connections())
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`,
    /// with any libpq-style parameters sqlx understands) and checks that one
    /// connection opens. Does not migrate; call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<PostgresStore> {
        Self::connect_with_timeout(url, DEFAULT_TIMEOUT).await
    }

    /// [`PostgresStore::connect`], waiting at most `timeout` for a pooled
    /// connection (and for a new one to open), and letting no statement run
    /// longer than that on the server (`statement_timeout`).
    pub async fn connect_with_timeout(url: &str, timeout: Duration) -> Result<PostgresStore> {
        let options = PgConnectOptions::from_str(url).map_err(backend)?;
        let target = describe(&options);
        let millis = timeout.as_millis().max(1);
        let options = options.options([("statement_timeout", format!("{millis}"))]);
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(timeout)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Backend(format!("connecting to {target}: {e}")))?;
        Ok(PostgresStore { pool, target })
    }
}

fn describe(options: &PgConnectOptions) -> String {
    let user = options.get_username();
    let database = options.get_database().unwrap_or(user);
    match options.get_socket() {
        Some(socket) => format!("postgres://{user}@{}/{database}", socket.display()),
        None => format!("postgres://{user}@{}:{}/{database}", options.get_host(), options.get_port()),
    }
}

/// [`map_error`] with this backend's judgement of [`unavailable`].
fn backend(e: sqlx::Error) -> StoreError {
    map_error(e, unavailable)
}

/// Errors that say the database is away or slow rather than that the
/// request was wrong: no connection, a broken one, a server shutting down or
/// refusing connections, a statement cancelled by `statement_timeout`.
fn unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // 08: connection exception; 57: operator intervention (admin
            // shutdown, cannot connect now, query cancelled); 53: out of
            // resources (too many connections).
            code.starts_with("08") || code.starts_with("57") || code.starts_with("53")
        }),
        _ => false,
    }
}

/// Keeps a consuming statement's row when its user is disabled; `owner` is
/// the column naming the user.
fn owner_enabled(owner: &str) -> String {
    format!("NOT EXISTS (SELECT 1 FROM users WHERE users.id = {owner} AND users.disabled_at IS NOT NULL)")
}

impl PostgresStore {
    /// Runs `consume` (a `DELETE` or `UPDATE … RETURNING user_id` of a single-use row,
    /// whose `params` placeholders `bind` fills) and inserts `draft` for that
    /// user in the same statement, so one is never done without the other.
    /// `None`, with nothing changed, when the DELETE found no row.
    /// `consume` must leave a disabled user's row alone ([`owner_enabled`]);
    /// `blocked`, an `EXISTS` over the same placeholders evaluated in the
    /// same statement, says whether it did, making the answer
    /// [`StoreError::UserDisabled`].
    async fn consume_into_session(
        &self,
        consume: &str,
        blocked: &str,
        params: usize,
        draft: SessionDraft,
        bind: impl for<'q> FnOnce(Query<'q, Postgres, PgArguments>) -> Query<'q, Postgres, PgArguments>,
    ) -> Result<Option<Session>> {
        let n = |i: usize| format!("${}", params + i);
        let sql = format!(
            "WITH consumed AS ({consume}), inserted AS ( \
                 INSERT INTO sessions ({SESSION_INSERT_COLUMNS}) \
                 SELECT {}, user_id, {}, {}, {}, {}, {}, {}, {} FROM consumed \
                 RETURNING user_id) \
             SELECT (SELECT user_id FROM inserted), {blocked}",
            n(1),
            n(2),
            n(3),
            n(4),
            n(5),
            n(6),
            n(7),
            n(8),
        );
        let row = bind(sqlx::query(&sql))
            .bind(draft.id)
            .bind(&draft.token_hash.0[..])
            .bind(draft.created_at)
            .bind(draft.expires_at)
            .bind(draft.user_agent.as_deref())
            .bind(draft.ip.as_deref())
            .bind(draft.method.as_str())
            .bind(draft.passkey_id)
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        let user_id: Option<Uuid> = row.try_get(0).map_err(backend)?;
        let blocked: bool = row.try_get(1).map_err(backend)?;
        match user_id {
            Some(user_id) => Ok(Some(draft.into_session(user_id))),
            None if blocked => Err(StoreError::UserDisabled),
            None => Ok(None),
        }
    }
}

/// Inserts a new user (in [`UserStore::create_user`], or in
/// [`IdentityStore::create_identity`]'s transaction).
async fn insert_user<'c>(conn: impl PgExecutor<'c>, user: &NewUser) -> Result<()> {
    sqlx::query(&format!("INSERT INTO users ({USER_INSERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"))
        .bind(user.id)
        .bind(&user.email)
        .bind(user.name.as_deref())
        .bind(user.personal_org_slug.as_deref())
        .bind(user.created_at)
        .execute(conn)
        .await
        .map_err(backend)?;
    Ok(())
}

impl PostgresStore {
    /// Sets `last_used_at = now` on the live row `id` of `table` (`sessions`
    /// or `api_keys`) unless it was set after [`harmont_store::touch_cutoff`]:
    /// the statement checks again, so racing requests write once. Whether it wrote.
    async fn touch(&self, table: &str, id: Uuid, now: Millis) -> Result<bool> {
        let done = sqlx::query(&format!(
            "UPDATE {table} SET last_used_at = $1 \
             WHERE id = $2 AND revoked_at IS NULL AND (last_used_at IS NULL OR last_used_at <= $3)"
        ))
        .bind(now)
        .bind(id)
        .bind(harmont_store::touch_cutoff(now))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl UserStore for PostgresStore {
    async fn create_user(&self, user: NewUser) -> Result<User> {
        insert_user(&self.pool, &user).await?;
        Ok(user.into_user())
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let row = sqlx::query_as::<_, UserRow<Id>>(&format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1"))
            .bind(email)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(UserRow::into_user).transpose()
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        let rows =
            sqlx::query_as::<_, UserRow<Id>>(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY email COLLATE \"C\""))
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        rows.into_iter().map(UserRow::into_user).collect()
    }

    async fn update_user_name(&self, user_id: Uuid, name: &str) -> Result<Option<User>> {
        let row = sqlx::query_as::<_, UserRow<Id>>(&format!(
            "UPDATE users SET name = $1 WHERE id = $2 RETURNING {USER_COLUMNS}"
        ))
        .bind(name)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.map(UserRow::into_user).transpose()
    }

    async fn delete_user(&self, user_id: Uuid) -> Result<bool> {
        // Everything of the user's goes with them (ON DELETE CASCADE); every
        // replica forgets their cached tokens when this commits.
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let done =
            sqlx::query("DELETE FROM users WHERE id = $1").bind(user_id).execute(&mut *tx).await.map_err(backend)?;
        if done.rows_affected() == 1 {
            announce_user_revoked(&mut tx, user_id).await?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_user_disabled(&self, user_id: Uuid, disabled_at: Option<Millis>) -> Result<bool> {
        // Announced either way, with the commit: every replica drops the
        // user's cached sessions, to refuse them (disabled) or re-read them
        // (enabled) at once.
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let done = sqlx::query(
            "UPDATE users SET disabled_at = CASE WHEN $1::bigint IS NULL THEN NULL ELSE COALESCE(disabled_at, $1) END \
             WHERE id = $2",
        )
        .bind(disabled_at)
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 1 {
            announce_user_revoked(&mut tx, user_id).await?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl SessionStore for PostgresStore {
    async fn create_session(&self, user_id: Uuid, draft: SessionDraft) -> Result<Session> {
        // FOR SHARE waits for a disable in flight, and blocks one until this commits.
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let disabled: Option<Option<Millis>> =
            sqlx::query_scalar("SELECT disabled_at FROM users WHERE id = $1 FOR SHARE")
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
        if disabled.flatten().is_some() {
            tx.rollback().await.map_err(backend)?;
            return Err(StoreError::UserDisabled);
        }
        sqlx::query(&format!(
            "INSERT INTO sessions ({SESSION_INSERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(draft.id)
        .bind(user_id)
        .bind(&draft.token_hash.0[..])
        .bind(draft.created_at)
        .bind(draft.expires_at)
        .bind(draft.user_agent.as_deref())
        .bind(draft.ip.as_deref())
        .bind(draft.method.as_str())
        .bind(draft.passkey_id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(draft.into_session(user_id))
    }

    async fn authenticate(&self, token_hash: &TokenHash, now: Millis) -> Result<Option<Authenticated>> {
        let row = sqlx::query(&format!(
            "SELECT {}, {JOINED_USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2",
            qualified(SESSION_COLUMNS, "s"),
        ))
        .bind(&token_hash.0[..])
        .bind(now)
        .fetch_optional(&self.pool)
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
             WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(user_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter().map(SessionRow::into_session).collect()
    }

    async fn revoke_session(&self, user_id: Uuid, session_id: Uuid, now: Millis) -> Result<bool> {
        // The announcement goes out with the commit, only when a row was revoked.
        let done = sqlx::query(
            "WITH revoked AS ( \
                 UPDATE sessions SET revoked_at = $1 \
                 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL AND expires_at > $1 \
                 RETURNING id) \
             SELECT pg_notify('harmont_revocations', 'session:' || id::text) FROM revoked",
        )
        .bind(now)
        .bind(session_id)
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.len() == 1)
    }

    async fn revoke_other_sessions(&self, user_id: Uuid, keep: Uuid, now: Millis) -> Result<u64> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 \
             WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(user_id)
        .bind(keep)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if done.rows_affected() > 0 {
            announce_user_revoked(&mut tx, user_id).await?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl ApiKeyStore for PostgresStore {
    async fn create_api_key(&self, key: NewApiKey) -> Result<ApiKeyRecord> {
        sqlx::query(
            "INSERT INTO api_keys (id, user_id, token_hash, description, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(key.id)
        .bind(key.user_id)
        .bind(&key.token_hash.0[..])
        .bind(&key.description)
        .bind(key.created_at)
        .bind(key.expires_at)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(key.into_record())
    }

    async fn list_api_keys(&self, user_id: Uuid, now: Millis) -> Result<Vec<ApiKeyRecord>> {
        let rows = sqlx::query_as::<_, ApiKeyRow<Id>>(&format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys \
             WHERE user_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2) \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(user_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter().map(ApiKeyRow::into_api_key).collect()
    }

    async fn authenticate_api_key(&self, token_hash: &TokenHash, now: Millis) -> Result<Option<Authenticated>> {
        let row = sqlx::query(&format!(
            "SELECT {}, {JOINED_USER_COLUMNS} FROM api_keys k JOIN users u ON u.id = k.user_id \
             WHERE k.token_hash = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $2)",
            qualified(API_KEY_COLUMNS, "k"),
        ))
        .bind(&token_hash.0[..])
        .bind(now)
        .fetch_optional(&self.pool)
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
        // Announced on the revocations channel as the session it stands for
        // in every replica's bearer cache, with the commit.
        let done = sqlx::query(
            "WITH revoked AS ( \
                 UPDATE api_keys SET revoked_at = $1 \
                 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1) \
                 RETURNING id) \
             SELECT pg_notify('harmont_revocations', 'session:' || id::text) FROM revoked",
        )
        .bind(now)
        .bind(id)
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.len() == 1)
    }
}

#[async_trait]
impl GrantStore for PostgresStore {
    async fn park_grant(&self, grant: NewGrant) -> Result<bool> {
        // The WHERE on the upsert keeps a reserved key untouched; a skipped
        // update reports zero rows.
        // The notification goes out with the commit, to every replica
        // listening (see `watch`), only when the row was written.
        let done = sqlx::query(
            "WITH parked AS ( \
                 INSERT INTO cli_grants \
                     (kind, key_hash, user_id, code_challenge, created_at, expires_at, reserved_until) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (kind, key_hash) DO UPDATE SET \
                     user_id = excluded.user_id, \
                     code_challenge = excluded.code_challenge, \
                     created_at = excluded.created_at, \
                     expires_at = excluded.expires_at, \
                     reserved_until = excluded.reserved_until, \
                     consumed_at = NULL \
                 WHERE cli_grants.reserved_until <= excluded.created_at \
                 RETURNING kind, key_hash) \
             SELECT pg_notify('harmont_grants', kind || ':' || encode(key_hash, 'hex')) FROM parked",
        )
        .bind(grant.kind.as_str())
        .bind(&grant.key_hash.as_bytes()[..])
        .bind(grant.user_id)
        .bind(grant.code_challenge.as_deref())
        .bind(grant.created_at)
        .bind(grant.expires_at)
        .bind(grant.reserved_until.max(grant.expires_at))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.len() == 1)
    }

    async fn grant_pending(&self, kind: GrantKind, key_hash: &GrantKey, now: Millis) -> Result<bool> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM cli_grants \
                            WHERE kind = $1 AND key_hash = $2 AND expires_at > $3 AND consumed_at IS NULL)",
        )
        .bind(kind.as_str())
        .bind(&key_hash.as_bytes()[..])
        .bind(now)
        .fetch_one(&self.pool)
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
        // NOT DISTINCT compares NULL as a value: no challenge matches only no
        // verifier, so a verifier cannot be sent to a grant parked without one.
        // Of concurrent updaters, those waiting on the winner's row lock
        // re-check `consumed_at` once it commits and update nothing.
        let live = "kind = $1 AND key_hash = $2 AND expires_at > $3 AND consumed_at IS NULL \
                    AND code_challenge IS NOT DISTINCT FROM $4";
        let consume = format!(
            "UPDATE cli_grants SET consumed_at = $3 WHERE {live} AND {} RETURNING user_id",
            owner_enabled("cli_grants.user_id")
        );
        let blocked =
            format!("EXISTS (SELECT 1 FROM cli_grants WHERE {live} AND NOT {})", owner_enabled("cli_grants.user_id"));
        self.consume_into_session(&consume, &blocked, 4, draft, |q| {
            q.bind(kind.as_str()).bind(key_hash.as_bytes().to_vec()).bind(now).bind(code_challenge.map(str::to_owned))
        })
        .await
    }

    async fn park_device_request(&self, request: DeviceRequest) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO device_requests \
                 (key_hash, nonce_hash, code_challenge, host, ip, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
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
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn device_request(&self, key_hash: &DeviceKey, now: Millis) -> Result<Option<DeviceRequest>> {
        let row = sqlx::query_as::<_, DeviceRequestRow>(
            "SELECT key_hash, nonce_hash, code_challenge, host, ip, created_at, expires_at FROM device_requests \
             WHERE key_hash = $1 AND expires_at > $2 AND used_at IS NULL",
        )
        .bind(&key_hash.as_bytes()[..])
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.map(DeviceRequestRow::into_device_request).transpose()
    }

    async fn take_device_request(&self, key_hash: &DeviceKey, now: Millis) -> Result<Option<DeviceRequest>> {
        let row = sqlx::query_as::<_, DeviceRequestRow>(
            "UPDATE device_requests SET used_at = $1 \
             WHERE key_hash = $2 AND expires_at > $1 AND used_at IS NULL \
             RETURNING key_hash, nonce_hash, code_challenge, host, ip, created_at, expires_at",
        )
        .bind(now)
        .bind(&key_hash.as_bytes()[..])
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.map(DeviceRequestRow::into_device_request).transpose()
    }
}

#[async_trait]
impl LinkStore for PostgresStore {
    async fn create_login_link(&self, link: NewLoginLink) -> Result<()> {
        sqlx::query("INSERT INTO login_links (key_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(&link.key_hash.as_bytes()[..])
            .bind(link.user_id)
            .bind(link.created_at)
            .bind(link.expires_at)
            .execute(&self.pool)
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
        let live = "key_hash = $1 AND expires_at > $2";
        let enabled = owner_enabled("login_links.user_id");
        let consume = format!("DELETE FROM login_links WHERE {live} AND {enabled} RETURNING user_id");
        let blocked = format!("EXISTS (SELECT 1 FROM login_links WHERE {live} AND NOT {enabled})");
        self.consume_into_session(&consume, &blocked, 2, draft, |q| q.bind(key_hash.as_bytes().to_vec()).bind(now))
            .await
    }
}

#[async_trait]
impl PasskeyStore for PostgresStore {
    async fn create_passkey(&self, passkey: NewPasskey) -> Result<Passkey> {
        sqlx::query(
            "INSERT INTO passkeys (id, user_id, credential_id, name, data, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(passkey.id)
        .bind(passkey.user_id)
        .bind(&passkey.credential_id)
        .bind(&passkey.name)
        .bind(&passkey.data)
        .bind(passkey.created_at)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(passkey.into_passkey())
    }

    async fn list_passkeys(&self, user_id: Uuid) -> Result<Vec<Passkey>> {
        let rows = sqlx::query_as::<_, PasskeyRow<Id>>(&format!(
            "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, id"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter().map(PasskeyRow::into_passkey).collect()
    }

    async fn passkey_by_credential_id(&self, credential_id: &[u8]) -> Result<Option<Passkey>> {
        let row = sqlx::query_as::<_, PasskeyRow<Id>>(&format!(
            "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE credential_id = $1"
        ))
        .bind(credential_id)
        .fetch_optional(&self.pool)
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
        // The UPDATE locks the passkey's row: a removal running meanwhile
        // either finds the session committed or makes this update find no row.
        let enabled = owner_enabled("passkeys.user_id");
        let record =
            format!("UPDATE passkeys SET data = $1, last_used_at = $2 WHERE id = $3 AND {enabled} RETURNING user_id");
        let blocked = format!("EXISTS (SELECT 1 FROM passkeys WHERE id = $3 AND NOT {enabled})");
        self.consume_into_session(&record, &blocked, 3, draft, |q| q.bind(data).bind(now).bind(id)).await
    }

    async fn delete_passkey(&self, user_id: Uuid, id: Uuid, now: Millis) -> Result<Option<Vec<Uuid>>> {
        // One transaction, two statements: the DELETE waits for a sign-in
        // holding the passkey's row (`record_passkey_sign_in`) to commit, and
        // the UPDATE, a later statement, then sees that sign-in's session. In
        // a single statement its snapshot would predate the session.
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let deleted = sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if deleted.rows_affected() != 1 {
            tx.rollback().await.map_err(backend)?;
            return Ok(None);
        }
        let revoked: Vec<Uuid> = sqlx::query_scalar(
            "UPDATE sessions SET revoked_at = $1 \
             WHERE passkey_id = $2 AND user_id = $3 AND revoked_at IS NULL AND expires_at > $1 \
             RETURNING id",
        )
        .bind(now)
        .bind(id)
        .bind(user_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        if !revoked.is_empty() {
            announce_user_revoked(&mut tx, user_id).await?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(Some(revoked))
    }
}

#[async_trait]
impl CeremonyStore for PostgresStore {
    async fn park_ceremony(&self, ceremony: NewCeremony) -> Result<()> {
        sqlx::query(
            "INSERT INTO webauthn_ceremonies (kind, key_hash, user_id, state, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(ceremony.kind.as_str())
        .bind(&ceremony.key_hash.as_bytes()[..])
        .bind(ceremony.user_id)
        .bind(&ceremony.state)
        .bind(ceremony.created_at)
        .bind(ceremony.expires_at)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn take_ceremony(&self, kind: CeremonyKind, key_hash: &CeremonyKey, now: Millis) -> Result<Option<Ceremony>> {
        let row = sqlx::query_as::<_, CeremonyRow<Id>>(
            "DELETE FROM webauthn_ceremonies WHERE kind = $1 AND key_hash = $2 AND expires_at > $3 \
             RETURNING user_id, state",
        )
        .bind(kind.as_str())
        .bind(&key_hash.as_bytes()[..])
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.map(CeremonyRow::into_ceremony).transpose()
    }

    async fn park_sso_flow(&self, flow: NewSsoFlow) -> Result<()> {
        sqlx::query(
            "INSERT INTO sso_flows (key_hash, provider, next, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&flow.key_hash.as_bytes()[..])
        .bind(&flow.provider)
        .bind(&flow.next)
        .bind(flow.created_at)
        .bind(flow.expires_at)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn take_sso_flow(&self, key_hash: &SsoFlowKey, now: Millis) -> Result<Option<SsoFlow>> {
        let row = sqlx::query_as::<_, SsoFlowRow>(
            "DELETE FROM sso_flows WHERE key_hash = $1 AND expires_at > $2 RETURNING provider, next",
        )
        .bind(&key_hash.as_bytes()[..])
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        Ok(row.map(SsoFlowRow::into_sso_flow))
    }
}

#[async_trait]
impl IdentityStore for PostgresStore {
    async fn identity_by_subject(&self, issuer: &str, subject: &str) -> Result<Option<Identity>> {
        let row = sqlx::query_as::<_, IdentityRow<Id>>(&format!(
            "SELECT {IDENTITY_COLUMNS} FROM identities WHERE issuer = $1 AND subject = $2"
        ))
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.map(IdentityRow::into_identity).transpose()
    }

    async fn create_identity(&self, identity: NewIdentity, new_user: Option<NewUser>) -> Result<Identity> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        if let Some(user) = &new_user {
            insert_user(&mut *tx, user).await?;
        }
        sqlx::query(
            "INSERT INTO identities (id, user_id, provider, issuer, subject, email, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(identity.id)
        .bind(identity.user_id)
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
        let done = sqlx::query("UPDATE identities SET last_used_at = $1, email = coalesce($2, email) WHERE id = $3")
            .bind(now)
            .bind(email)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_identities(&self, user_id: Uuid) -> Result<Vec<Identity>> {
        let rows = sqlx::query_as::<_, IdentityRow<Id>>(&format!(
            "SELECT {IDENTITY_COLUMNS} FROM identities WHERE user_id = $1 ORDER BY created_at, id"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter().map(IdentityRow::into_identity).collect()
    }

    async fn delete_identity(&self, user_id: Uuid, id: Uuid, keep_last: bool) -> Result<IdentityRemoval> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // The user's row, locked: two unlinks at once cannot both see the other's identity.
        sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        let mine: i64 = sqlx::query_scalar("SELECT count(*) FROM identities WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        if mine == 0 {
            tx.rollback().await.map_err(backend)?;
            return Ok(IdentityRemoval::NotFound);
        }
        let ways: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM identities WHERE user_id = $1) + (SELECT count(*) FROM passkeys WHERE user_id = $1)",
        )
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        if keep_last && ways <= 1 {
            tx.rollback().await.map_err(backend)?;
            return Ok(IdentityRemoval::LastWay);
        }
        sqlx::query("DELETE FROM identities WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(IdentityRemoval::Removed)
    }
}

#[async_trait]
impl ClientStore for PostgresStore {
    async fn create_resource_client(&self, client: NewResourceClient) -> Result<ResourceClient> {
        sqlx::query("INSERT INTO resource_clients (id, name, secret_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(client.id)
            .bind(&client.name)
            .bind(&client.secret_hash.0[..])
            .bind(client.created_at)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(client.into_client())
    }

    async fn list_resource_clients(&self) -> Result<Vec<ResourceClient>> {
        let rows = sqlx::query_as::<_, ResourceClientRow<Id>>(&format!(
            "SELECT {RESOURCE_CLIENT_COLUMNS} FROM resource_clients ORDER BY name, id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter().map(ResourceClientRow::into_resource_client).collect()
    }

    async fn resource_client_secret_hash(&self, id: Uuid) -> Result<Option<TokenHash>> {
        let hash: Option<Vec<u8>> = sqlx::query_scalar("SELECT secret_hash FROM resource_clients WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        hash.map(|hash| hash_from_bytes(hash, "a stored client secret hash").map(TokenHash)).transpose()
    }

    async fn remove_resource_client(&self, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM resource_clients WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await.map_err(|e| StoreError::Backend(format!("migrating: {e}")))
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(backend)?;
        Ok(())
    }

    async fn has_our_tables(&self) -> Result<bool> {
        // `to_regclass` looks along the search path, as every query here does.
        sqlx::query_scalar("SELECT to_regclass('users') IS NOT NULL").fetch_one(&self.pool).await.map_err(backend)
    }

    fn announces_revocations(&self) -> bool {
        true
    }

    async fn watch(&self) -> Result<Option<tokio::sync::mpsc::Receiver<StoreEvent>>> {
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        let answer_within = self.pool.options().get_acquire_timeout();
        tokio::spawn(listen(self.pool.clone(), answer_within, tx));
        Ok(Some(rx))
    }

    async fn sweep(&self, now: Millis, keep_ended: Millis) -> Result<Swept> {
        let ended_before = now - keep_ended;
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let grants = sqlx::query("DELETE FROM cli_grants WHERE reserved_until <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR revoked_at <= $1")
            .bind(ended_before)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        sqlx::query("DELETE FROM api_keys WHERE expires_at <= $1 OR revoked_at <= $1")
            .bind(ended_before)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        for table in ["login_links", "webauthn_ceremonies", "sso_flows", "device_requests"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE expires_at <= $1"))
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(Swept { grants, sessions })
    }

    fn pool_stats(&self) -> Option<PoolStats> {
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        Some(PoolStats {
            in_use: self.pool.size().saturating_sub(idle),
            idle,
            max: self.pool.options().get_max_connections(),
        })
    }
}

/// Where `park_grant` announces new grants, as `kind:hex(key_hash)`.
const GRANTS_CHANNEL: &str = "harmont_grants";

/// Where revocations are announced, as `session:<id>` or `user:<id>`: never
/// a token or its hash.
const REVOCATIONS_CHANNEL: &str = "harmont_revocations";

/// How long to wait between attempts to listen again after losing the connection.
const RELISTEN_EVERY: Duration = Duration::from_millis(250);

/// After this long without a notification, the listening connection is asked
/// a `SELECT 1`: a connection that died without a word (a peer gone behind a
/// firewall, a network partition) would otherwise look like a quiet one, and
/// the bearer cache would go on trusting it.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(3);

/// Queues an announcement that some of `user_id`'s sessions were revoked,
/// sent when `tx` commits.
async fn announce_user_revoked(tx: &mut sqlx::Transaction<'_, Postgres>, user_id: Uuid) -> Result<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(REVOCATIONS_CHANNEL)
        .bind(format!("user:{user_id}"))
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
    Ok(())
}

/// Listens on both channels through one connection of `pool`, forwarding
/// what arrives to `events` until its receiver is dropped. When the
/// connection is lost it says so, and says [`StoreEvent::Listening`] again
/// once a new connection listens (sqlx's own reconnection is off: it would
/// hide the gap, during which announcements are missed). A connection quiet
/// for [`HEARTBEAT_EVERY`] must answer a `SELECT 1` within `answer_within`
/// (the store's timeout), or it counts as lost too.
async fn listen(pool: PgPool, answer_within: Duration, events: tokio::sync::mpsc::Sender<StoreEvent>) {
    let mut lost = false;
    loop {
        let connected = async {
            let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
            listener.eager_reconnect(false);
            listener.listen_all([GRANTS_CHANNEL, REVOCATIONS_CHANNEL]).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = tokio::select! {
            connected = connected => match connected {
                Ok(listener) => listener,
                Err(_) => {
                    if !lost {
                        lost = true;
                        if events.send(StoreEvent::Lost).await.is_err() {
                            return;
                        }
                    }
                    tokio::time::sleep(RELISTEN_EVERY).await;
                    continue;
                }
            },
            () = events.closed() => return,
        };
        if events.send(StoreEvent::Listening).await.is_err() {
            return;
        }
        loop {
            // `try_recv` is cancel-safe: a notification half read when the
            // heartbeat is due stays in the connection's buffer.
            let received = tokio::select! {
                received = tokio::time::timeout(HEARTBEAT_EVERY, listener.try_recv()) => received,
                () = events.closed() => return,
            };
            match received {
                Ok(Ok(Some(notification))) => {
                    let Some(event) = event_of(notification.channel(), notification.payload()) else { continue };
                    if events.send(event).await.is_err() {
                        return;
                    }
                }
                // `None`: the connection is gone; an error: it is unusable.
                Ok(Ok(None) | Err(_)) => break,
                // Quiet: is anyone there? Notifications arriving meanwhile are
                // buffered by the listener and read next.
                Err(_quiet) => {
                    let answered = tokio::time::timeout(answer_within, sqlx::query("SELECT 1").execute(&mut listener));
                    if !matches!(answered.await, Ok(Ok(_))) {
                        break;
                    }
                }
            }
        }
        lost = true;
        if events.send(StoreEvent::Lost).await.is_err() {
            return;
        }
    }
}

/// What a notification on one of our channels says; `None` for anything else.
fn event_of(channel: &str, payload: &str) -> Option<StoreEvent> {
    match channel {
        GRANTS_CHANNEL => transfer_key(payload).map(StoreEvent::TransferParked),
        REVOCATIONS_CHANNEL => match payload.split_once(':')? {
            ("session", id) => Uuid::parse_str(id).ok().map(StoreEvent::SessionRevoked),
            ("user", id) => Uuid::parse_str(id).ok().map(StoreEvent::UserRevoked),
            _ => None,
        },
        _ => None,
    }
}

/// The key of a transfer grant's notification; `None` for anything else.
fn transfer_key(payload: &str) -> Option<GrantKey> {
    let hex = payload.strip_prefix("transfer:")?;
    if hex.len() != 64 {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(GrantKey::from_hash(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_target_leaves_out_the_password() {
        let options = PgConnectOptions::from_str("postgres://auth:hunter2@db.internal:6543/harmont").unwrap();
        assert_eq!(describe(&options), "postgres://auth@db.internal:6543/harmont");
    }

    #[test]
    fn debug_target_names_a_unix_socket() {
        let options = PgConnectOptions::from_str("postgres://auth:hunter2@%2Frun%2Fpostgresql/harmont").unwrap();
        assert_eq!(describe(&options), "postgres://auth@/run/postgresql/harmont");
    }

    #[test]
    fn revocation_notifications_name_a_session_or_a_user() {
        let id = Uuid::new_v4();
        assert_eq!(event_of(REVOCATIONS_CHANNEL, &format!("session:{id}")), Some(StoreEvent::SessionRevoked(id)));
        assert_eq!(event_of(REVOCATIONS_CHANNEL, &format!("user:{id}")), Some(StoreEvent::UserRevoked(id)));
        assert_eq!(event_of(REVOCATIONS_CHANNEL, "token:abc"), None);
        assert_eq!(event_of(REVOCATIONS_CHANNEL, "session:nope"), None);
        assert_eq!(event_of("elsewhere", &format!("user:{id}")), None);
    }

    #[test]
    fn only_transfer_notifications_carry_a_key() {
        let hex: String = (0u8..32).map(|b| format!("{b:02x}")).collect();
        let expected = GrantKey::from_hash(std::array::from_fn(|i| i as u8));
        assert_eq!(super::transfer_key(&format!("transfer:{hex}")), Some(expected));
        assert_eq!(super::transfer_key(&format!("paste:{hex}")), None);
        assert_eq!(super::transfer_key("transfer:zz"), None);
        assert_eq!(super::transfer_key(&format!("transfer:{}", "g".repeat(64))), None);
    }
}
