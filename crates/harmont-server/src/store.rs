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

/// A Postgres URL whose server is on another machine while nothing in the URL
/// requires TLS (`sslmode=require`, `verify-ca` or `verify-full`): tokens'
/// hashes and users' data would cross the network in the clear, or through a
/// TLS that a machine in the middle can strip. Loopback hosts and Unix
/// sockets are this machine.
pub fn postgres_without_tls(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else { return false };
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return false;
    }
    let mut sslmode = None;
    let mut socket = false;
    for (name, value) in parsed.query_pairs() {
        match &*name {
            "sslmode" => sslmode = Some(value.to_ascii_lowercase()),
            "host" if value.starts_with('/') => socket = true,
            _ => {}
        }
    }
    if sslmode.is_some_and(|mode| matches!(mode.as_str(), "require" | "verify-ca" | "verify-full")) {
        return false;
    }
    let local = match parsed.host() {
        None => true,
        // `postgres:` is not a scheme the URL standard knows, so its host
        // stays text, addresses included.
        Some(url::Host::Domain(name)) => {
            let bare = name.trim_start_matches('[').trim_end_matches(']');
            name.is_empty()
                || name.eq_ignore_ascii_case("localhost")
                || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.to_canonical().is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.to_canonical().is_loopback(),
    };
    !(local || socket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_postgres_without_tls_is_told_apart() {
        for warned in [
            "postgres://u:p@db.example.com/harmont",
            "postgresql://u@10.0.0.5:5432/harmont?sslmode=prefer",
            "postgres://u@[2001:db8::5]/harmont?sslmode=disable",
            "postgres://u@db.example.com/harmont?application_name=x",
        ] {
            assert!(postgres_without_tls(warned), "{warned}");
        }
        for quiet in [
            "postgres://u:p@db.example.com/harmont?sslmode=require",
            "postgres://u@db.example.com/harmont?sslmode=verify-full",
            "postgres://u@db.example.com/harmont?sslmode=verify-ca&x=y",
            "postgres://u@127.0.0.1:5432/harmont",
            "postgres://u@localhost/harmont",
            "postgres://u@[::1]:5432/harmont",
            "postgres:///harmont?host=/var/run/postgresql",
            "sqlite://harmont-data/harmont.db",
        ] {
            assert!(!postgres_without_tls(quiet), "{quiet}");
        }
    }

    #[test]
    fn sqlite_paths() {
        assert_eq!(sqlite_path("sqlite://harmont-data/harmont.db"), Some(PathBuf::from("harmont-data/harmont.db")));
        assert_eq!(sqlite_path("sqlite:///tmp/x.db?mode=rwc"), Some(PathBuf::from("/tmp/x.db")));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://x"), None);
    }
}
