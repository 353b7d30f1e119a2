//! What `SqliteStore::connect` promises beyond the contract: it creates the
//! file and its folder, leaves the file in WAL mode, keeps data across
//! reconnects, and copes with several processes sharing one file.

use std::sync::Arc;

use harmont_store::{
    GrantKey, GrantKind, GrantStore, NewGrant, NewUser, SessionDraft, SessionStore, SignInMethod, Store, UserStore,
};
use harmont_store_sqlite::SqliteStore;
use harmont_wire::token::TokenHash;
use sqlx::{Connection, SqliteConnection};
use uuid::Uuid;

const NOW: i64 = 1_767_225_600_000;

fn scratch_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("connect").join(Uuid::new_v4().to_string())
}

fn random_hash() -> [u8; 32] {
    let mut out = [0; 32];
    out[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    out[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    out
}

fn draft() -> SessionDraft {
    SessionDraft {
        id: Uuid::new_v4(),
        token_hash: TokenHash(random_hash()),
        created_at: NOW,
        expires_at: NOW + 1_000_000,
        user_agent: None,
        ip: None,
        method: SignInMethod::Cli,
        passkey_id: None,
    }
}

#[tokio::test]
async fn creates_missing_folders_and_a_wal_file() {
    let path = scratch_dir().join("nested").join("auth.db");
    let url = format!("sqlite://{}", path.display());
    let store = SqliteStore::connect(&url).await.expect("connecting");
    store.migrate().await.expect("migrating");
    assert!(path.exists(), "the database file was created");

    let mut raw = SqliteConnection::connect(&url).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut raw).await.unwrap();
    assert_eq!(mode, "wal");

    let debug = format!("{store:?}");
    assert!(debug.contains("auth.db"), "Debug names the file: {debug}");

    // Emails and token hashes are nobody else's business.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&path.with_file_name("auth.db-wal")), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
}

#[tokio::test]
async fn reconnecting_keeps_data_and_migrations() {
    let url = format!("sqlite://{}", scratch_dir().join("auth.db").display());
    let email = format!("{}@connect.example", Uuid::new_v4().simple());
    {
        let store = SqliteStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let user =
            NewUser { id: Uuid::new_v4(), email: email.clone(), name: None, personal_org_slug: None, created_at: NOW };
        store.create_user(user).await.unwrap();
    }
    let store = SqliteStore::connect(&url).await.unwrap();
    store.migrate().await.expect("migrating again is a no-op");
    assert!(store.user_by_email(&email).await.unwrap().is_some());
}

#[tokio::test]
async fn memory_stores_are_separate() {
    let one = SqliteStore::connect("sqlite::memory:").await.unwrap();
    let two = SqliteStore::connect("sqlite::memory:").await.unwrap();
    one.migrate().await.unwrap();
    two.migrate().await.unwrap();
    let user = NewUser {
        id: Uuid::new_v4(),
        email: "same@connect.example".to_owned(),
        name: None,
        personal_org_slug: None,
        created_at: NOW,
    };
    one.create_user(user.clone()).await.unwrap();
    two.create_user(user).await.expect("the other database does not have the email");
}

/// Several server processes on one file each have their own writer, so here
/// SQLite's own locking (BEGIN IMMEDIATE, busy_timeout) must pick the one
/// winner, and a busy database must make racers wait, not fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stores_sharing_a_file_consume_a_grant_once() {
    const STORES: usize = 4;
    const RACERS: usize = 32;
    let url = format!("sqlite://{}", scratch_dir().join("auth.db").display());
    let mut stores = Vec::new();
    for _ in 0..STORES {
        let store = SqliteStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        stores.push(Arc::new(store));
    }

    for round in 0..5 {
        let user_id = Uuid::new_v4();
        let email = format!("{user_id}@connect.example");
        let user = NewUser { id: user_id, email, name: None, personal_org_slug: None, created_at: NOW };
        stores[0].create_user(user).await.unwrap();
        let key = random_hash();
        let grant = NewGrant {
            kind: GrantKind::Paste,
            key_hash: GrantKey::from_hash(key),
            user_id,
            code_challenge: None,
            created_at: NOW,
            expires_at: NOW + 300_000,
            reserved_until: NOW + 300_000,
        };
        assert!(stores[round % STORES].park_grant(grant).await.unwrap());

        let start = Arc::new(tokio::sync::Barrier::new(RACERS));
        let mut racers = tokio::task::JoinSet::new();
        for i in 0..RACERS {
            let store = Arc::clone(&stores[i % STORES]);
            let start = Arc::clone(&start);
            racers.spawn(async move {
                start.wait().await;
                store.consume_grant(GrantKind::Paste, &GrantKey::from_hash(key), None, NOW + 1, draft()).await
            });
        }
        let mut winners = 0;
        while let Some(joined) = racers.join_next().await {
            match joined.unwrap() {
                Ok(Some(_)) => winners += 1,
                Ok(None) => {}
                Err(e) => panic!("contention surfaced as an error: {e}"),
            }
        }
        assert_eq!(winners, 1, "round {round}");
    }
}

/// A database a release before migration 3 wrote: its sessions never qualify
/// for changing credentials, and its grants keep their keys until they expire.
#[tokio::test]
async fn rows_from_before_migration_3_are_unknown_sign_ins_and_reserve_until_expiry() {
    use harmont_store::SignInMethod;
    let path = scratch_dir().join("auth.db");
    let url = format!("sqlite://{}", path.display());
    let store = SqliteStore::connect(&url).await.expect("connecting");

    let mut old =
        sqlx::migrate::Migrator::new(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")))
            .await
            .expect("reading the migrations");
    old.migrations = old.migrations.iter().filter(|m| m.version <= 2).cloned().collect::<Vec<_>>().into();
    let mut raw = SqliteConnection::connect(&url).await.unwrap();
    old.run(&mut raw).await.expect("migrating to version 2");
    let user_id = Uuid::new_v4().hyphenated().to_string();
    let token = random_hash();
    let key = random_hash();
    sqlx::query("INSERT INTO users (id, email, created_at) VALUES (?, 'old@example.com', ?)")
        .bind(&user_id)
        .bind(NOW)
        .execute(&mut raw)
        .await
        .unwrap();
    sqlx::query("INSERT INTO sessions (id, user_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)")
        .bind(Uuid::new_v4().hyphenated().to_string())
        .bind(&user_id)
        .bind(&token[..])
        .bind(NOW)
        .bind(NOW + 1_000_000)
        .execute(&mut raw)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO cli_grants (kind, key_hash, user_id, created_at, expires_at) VALUES ('transfer', ?, ?, ?, ?)",
    )
    .bind(&key[..])
    .bind(&user_id)
    .bind(NOW)
    .bind(NOW + 60_000)
    .execute(&mut raw)
    .await
    .unwrap();

    store.migrate().await.expect("migrating the old rows");
    let session = store.authenticate(&TokenHash(token), NOW + 1).await.unwrap().expect("still signed in").session;
    assert_eq!((session.method, session.passkey_id), (SignInMethod::Unknown, None));
    assert!(!session.method.is_browser_sign_in());
    assert!(
        store.grant_pending(GrantKind::Transfer, &GrantKey::from_hash(key), NOW + 1).await.unwrap(),
        "still waiting"
    );
    let again = |created_at| NewGrant {
        kind: GrantKind::Transfer,
        key_hash: GrantKey::from_hash(key),
        user_id: Uuid::parse_str(&user_id).unwrap(),
        code_challenge: None,
        created_at,
        expires_at: created_at + 60_000,
        reserved_until: created_at + 120_000,
    };
    assert!(!store.park_grant(again(NOW + 59_999)).await.unwrap(), "live");
    assert!(store.park_grant(again(NOW + 60_000)).await.unwrap(), "reserved until it expired");
}
