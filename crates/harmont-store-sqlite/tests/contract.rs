//! Runs the backend-agnostic storage contract against SQLite: on a WAL file,
//! as deployed, and in memory, as demos and quick tests use it.

use harmont_store_sqlite::SqliteStore;

/// A new database file per test, under the target folder cargo gives tests.
async fn fresh_file_store() -> SqliteStore {
    let path =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("contract").join(format!("{}.db", uuid::Uuid::new_v4()));
    SqliteStore::connect(&format!("sqlite://{}", path.display())).await.expect("opening a fresh SQLite file")
}

async fn fresh_memory_store() -> SqliteStore {
    SqliteStore::connect("sqlite::memory:").await.expect("opening an in-memory SQLite database")
}

mod file {
    harmont_store::contract_tests!(super::fresh_file_store());
}

mod memory {
    harmont_store::contract_tests!(super::fresh_memory_store());
}
