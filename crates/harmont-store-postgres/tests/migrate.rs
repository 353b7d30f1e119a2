//! What migrating a database an older release wrote does to its rows. Needs
//! `HARMONT_TEST_POSTGRES_URL`, as the contract does.

use harmont_store::{GrantKey, GrantKind, GrantStore, NewGrant, SessionStore, SignInMethod, Store};
use harmont_store_postgres::PostgresStore;
use harmont_wire::token::TokenHash;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

const NOW: i64 = 1_767_225_600_000;

fn random_hash() -> [u8; 32] {
    let mut out = [0; 32];
    out[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    out[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    out
}

/// A fresh schema of its own, and a URL scoped to it.
async fn fresh_schema() -> String {
    let url = std::env::var("HARMONT_TEST_POSTGRES_URL")
        .expect("HARMONT_TEST_POSTGRES_URL is not set: run through scripts/test-postgres.sh");
    let schema = format!("migrate_{}", Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&url).await.expect("connecting to the test database");
    sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut admin).await.expect("creating a schema");
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}

/// Sessions from before migration 3 never qualify for changing credentials,
/// and their grants keep their keys until they expire.
#[tokio::test]
async fn rows_from_before_migration_3_are_unknown_sign_ins_and_reserve_until_expiry() {
    let url = fresh_schema().await;
    let mut old =
        sqlx::migrate::Migrator::new(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")))
            .await
            .expect("reading the migrations");
    old.migrations = old.migrations.iter().filter(|m| m.version <= 2).cloned().collect::<Vec<_>>().into();
    let mut raw = PgConnection::connect(&url).await.unwrap();
    old.run(&mut raw).await.expect("migrating to version 2");
    let user_id = Uuid::new_v4();
    let token = random_hash();
    let key = random_hash();
    sqlx::query("INSERT INTO users (id, email, created_at) VALUES ($1, 'old@example.com', $2)")
        .bind(user_id)
        .bind(NOW)
        .execute(&mut raw)
        .await
        .unwrap();
    sqlx::query("INSERT INTO sessions (id, user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(Uuid::new_v4())
        .bind(user_id)
        .bind(&token[..])
        .bind(NOW)
        .bind(NOW + 1_000_000)
        .execute(&mut raw)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO cli_grants (kind, key_hash, user_id, created_at, expires_at) \
         VALUES ('transfer', $1, $2, $3, $4)",
    )
    .bind(&key[..])
    .bind(user_id)
    .bind(NOW)
    .bind(NOW + 60_000)
    .execute(&mut raw)
    .await
    .unwrap();

    let store = PostgresStore::connect(&url).await.expect("connecting the store");
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
        user_id,
        code_challenge: None,
        created_at,
        expires_at: created_at + 60_000,
        reserved_until: created_at + 120_000,
    };
    assert!(!store.park_grant(again(NOW + 59_999)).await.unwrap(), "live");
    assert!(store.park_grant(again(NOW + 60_000)).await.unwrap(), "reserved until it expired");
}
