//! Opens the storage backend named by the `DATABASE_URL` scheme.

use anyhow::{bail, Context};
use harmont_store::Store;
use std::path::PathBuf;
use std::sync::Arc;

pub const DEFAULT_DATABASE: &str = "sqlite://harmont-data/harmont.db";

pub async fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        let store = harmont_store_sqlite::SqliteStore::connect(url).await.with_context(|| {
            format!("opening the SQLite database {}", sqlite_path(url).unwrap_or_default().display())
        })?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = harmont_store_postgres::PostgresStore::connect(url)
            .await
            .context("connecting to Postgres (the URL is not shown, it may hold a password)")?;
        Ok(Arc::new(store))
    } else {
        bail!("the database URL must start with sqlite:// or postgres://")
    }
}

/// The file behind a `sqlite:` URL; `None` for an in-memory database.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths() {
        assert_eq!(sqlite_path("sqlite://harmont-data/harmont.db"), Some(PathBuf::from("harmont-data/harmont.db")));
        assert_eq!(sqlite_path("sqlite:///tmp/x.db?mode=rwc"), Some(PathBuf::from("/tmp/x.db")));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://x"), None);
    }
}
