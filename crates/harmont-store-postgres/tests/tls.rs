//! Postgres over TLS: `sslmode=require` and `sslmode=verify-full` in the URL
//! work, and the connection really is encrypted. Needs the cluster of
//! `scripts/test-postgres.sh`, which serves TLS with a throwaway CA
//! (`HARMONT_TEST_POSTGRES_CA`).

use harmont_store::Store;
use harmont_store_postgres::PostgresStore;
use sqlx::{Connection, PgConnection};

fn test_url() -> String {
    std::env::var("HARMONT_TEST_POSTGRES_URL")
        .expect("HARMONT_TEST_POSTGRES_URL is not set: run through scripts/test-postgres.sh")
}

fn ca() -> String {
    std::env::var("HARMONT_TEST_POSTGRES_CA")
        .expect("HARMONT_TEST_POSTGRES_CA is not set: run through scripts/test-postgres.sh")
}

fn with(url: &str, params: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{params}")
}

/// Whether the connection `url` opens is encrypted, as the server sees it.
async fn encrypted(url: &str) -> bool {
    let mut conn = PgConnection::connect(url).await.expect("connecting");
    sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .expect("reading pg_stat_ssl")
}

#[tokio::test]
async fn the_store_connects_over_tls_when_the_url_requires_it() {
    let url = test_url();
    assert!(!encrypted(&with(&url, "sslmode=disable")).await, "a plain connection is plain");
    for params in ["sslmode=require".to_owned(), format!("sslmode=verify-full&sslrootcert={}", ca())] {
        let url = with(&url, &params);
        assert!(encrypted(&url).await, "{params}: encrypted");
        let store = PostgresStore::connect(&url).await.unwrap_or_else(|e| panic!("{params}: {e}"));
        store.ping().await.unwrap_or_else(|e| panic!("{params}: {e}"));
    }
}

#[tokio::test]
async fn verify_full_refuses_a_server_it_cannot_verify() {
    // No sslrootcert: the throwaway CA is not among the trusted roots.
    let url = with(&test_url(), "sslmode=verify-full");
    let err = PostgresStore::connect(&url).await.expect_err("an unverifiable certificate is refused");
    assert!(err.to_string().to_lowercase().contains("certificate"), "{err}");
}
