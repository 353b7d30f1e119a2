//! Runs the backend-agnostic storage contract against PostgreSQL.
//!
//! The database comes from `HARMONT_TEST_POSTGRES_URL`; without it every test
//! fails, so a run that skipped Postgres cannot pass for one that tested it.
//! `scripts/test-postgres.sh` starts a throwaway cluster and sets it. Each test
//! migrates a schema of its own, so tests run in parallel and leave schemas
//! behind: point the variable at a database you can throw away.

use harmont_store_postgres::PostgresStore;
use sqlx::{Connection, PgConnection};

const URL_VAR: &str = "HARMONT_TEST_POSTGRES_URL";

fn database_url() -> String {
    std::env::var(URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{URL_VAR} is not set, so the Postgres contract cannot run. Use \
             `scripts/test-postgres.sh cargo nextest run -p harmont-store-postgres`, \
             or set it to a throwaway database."
        )
    })
}

async fn fresh_store() -> PostgresStore {
    let url = database_url();
    let schema = format!("contract_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&url).await.expect("connecting to the test database");
    sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut admin).await.expect("creating a schema for the test");
    admin.close().await.expect("closing the admin connection");

    let separator = if url.contains('?') { '&' } else { '?' };
    let scoped = format!("{url}{separator}options=-c%20search_path%3D{schema}");
    PostgresStore::connect(&scoped).await.expect("connecting the store")
}

harmont_store::contract_tests!(fresh_store());
