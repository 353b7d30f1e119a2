//! Issue 7, item 2: the database goes away and comes back. Requests that
//! need the store answer `503 service_unavailable` with `Retry-After: 1`
//! within the database timeout, `/healthz` answers 503 within a second,
//! `/api/v0/ping` keeps answering, held long polls end by their deadline, and
//! once the database is back everything serves again without a restart.
//!
//! The Postgres test runs its own throwaway cluster (it stops and starts it),
//! made as `scripts/test-postgres.sh` makes one. Timings are bounded
//! generously; nothing here is a tight assertion.

use crate::helpers::{assert_error, nonce, Backend, TestApp};
use harmont_server::clock::ManualClock;
use harmont_server::secret::ServerSecret;
use harmont_server::{Service, Settings};
use reqwest::StatusCode;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const DB_TIMEOUT: Duration = Duration::from_secs(1);

/// A Postgres cluster in a temp dir, on a loopback port, owned by `postgres`
/// when the tests run as root (initdb refuses root). Stopped and deleted on drop.
struct Cluster {
    bindir: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl Cluster {
    fn new() -> Cluster {
        let bindir = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL is installed (scripts/test-postgres.sh installs it)")
            .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
            .filter(|bin| bin.join("initdb").exists())
            .max()
            .expect("an initdb under /usr/lib/postgresql");
        let dir = PathBuf::from(format!("/tmp/harmont-outage-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&dir).unwrap();
        let cluster = Cluster { bindir, dir, port: free_port() };
        if as_root() {
            assert!(Command::new("chown").arg("postgres:").arg(&cluster.dir).status().unwrap().success());
        }
        let data = cluster.dir.join("data");
        cluster.run("initdb", &["-D", data.to_str().unwrap(), "-U", "postgres", "--auth=trust", "--no-sync"]);
        cluster.start();
        cluster
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn start(&self) {
        let options = format!("-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off", self.port, self.dir.display());
        let (data, log) = (self.dir.join("data"), self.dir.join("server.log"));
        self.run("pg_ctl", &["-D", data.to_str().unwrap(), "-l", log.to_str().unwrap(), "-w", "-o", &options, "start"]);
    }

    /// Stops it as an operator would, disconnecting every client.
    fn stop(&self) {
        let data = self.dir.join("data");
        self.run("pg_ctl", &["-D", data.to_str().unwrap(), "-m", "fast", "-w", "stop"]);
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let program = self.bindir.join(tool);
        let mut command = if as_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        let output = command.args(args).current_dir(&self.dir).output().unwrap();
        assert!(output.status.success(), "{tool}: {}", String::from_utf8_lossy(&output.stderr));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.dir.join("data/postmaster.pid").exists() {
            let data = self.dir.join("data");
            let _ = std::panic::catch_unwind(|| {
                self.run("pg_ctl", &["-D", data.to_str().unwrap(), "-m", "immediate", "-w", "stop"])
            });
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn as_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| out.stdout.starts_with(b"0\n"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A server on `url` with the database timeout of this file.
async fn server(url: &str, clock: Arc<ManualClock>, backend: Backend) -> TestApp {
    let store = harmont_server::store::open_with(url, DB_TIMEOUT).await.expect("open store");
    store.migrate().await.expect("migrate");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let mut settings = Settings::new(base.clone());
    settings.auth_cache_ttl = Duration::from_secs(3600);
    let service = Arc::new(Service::new(store.clone(), clock.clone(), ServerSecret::random(), settings).unwrap());
    tokio::spawn(harmont_server::serve(listener, service.clone(), std::future::pending()));
    TestApp {
        base,
        service,
        store,
        clock,
        http: reqwest::Client::new(),
        backend,
        dir: None,
        database_url: url.to_owned(),
    }
}

async fn assert_unavailable(response: reqwest::Response) {
    assert_eq!(response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned()), Some("1".into()));
    assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "service_unavailable").await;
}

/// Polls `check` until it holds, for at most `bound`.
async fn within(bound: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < bound, "{what}: not within {bound:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_database_goes_away_and_comes_back() {
    let cluster = Cluster::new();
    let clock = Arc::new(ManualClock::new(crate::helpers::wall_clock_millis()));
    let a = server(&cluster.url(), clock.clone(), Backend::Postgres).await;
    let b = server(&cluster.url(), clock.clone(), Backend::Postgres).await;
    let (_, token) = a.signed_in().await;
    let gateway = crate::introspect::client(&a, "gateway").await;
    assert_eq!(b.get("/api/v0/user", Some(&token)).await.status(), StatusCode::OK);
    let held = {
        let (http, url) = (b.http.clone(), b.url("/api/v0/auth/cli/claim"));
        tokio::spawn(async move {
            let start = Instant::now();
            let response = http.post(url).header("Prefer", "wait=5").json(&json!({"nonce": nonce()})).send();
            (response.await.unwrap(), start.elapsed())
        })
    };
    harmont_testkit::eventually("the claim to wait on B", async || {
        (b.service.cli_login().waiting_claims() > 0).then_some(())
    })
    .await;

    cluster.stop();

    let start = Instant::now();
    let response = b.get("/healthz", None).await;
    let took = start.elapsed();
    assert_unavailable(response).await;
    assert!(took < Duration::from_secs(2), "healthz took {took:?}");
    assert_eq!(b.get("/api/v0/ping", None).await.status(), StatusCode::OK);

    // The cached token is not trusted while the replica cannot hear revocations.
    let start = Instant::now();
    assert_unavailable(b.get("/api/v0/user", Some(&token)).await).await;
    let took = start.elapsed();
    assert!(took < DB_TIMEOUT + Duration::from_secs(2), "a bearer check took {took:?}");
    // Forward auth and introspection say "cannot tell", never "not a user":
    // a proxy must not turn an outage into everyone being signed out.
    assert_unavailable(b.get("/api/v0/auth/verify", Some(&token)).await).await;
    let asked = b.http.post(b.url("/api/v0/auth/introspect")).basic_auth(&gateway.0, Some(&gateway.1));
    assert_unavailable(asked.form(&[("token", &token)]).send().await.unwrap()).await;
    let start = Instant::now();
    let response = a.post_json("/api/v0/auth/cli/transfer", Some(&token), json!({"nonce": nonce()})).await;
    assert_unavailable(response).await;
    assert!(start.elapsed() < DB_TIMEOUT + Duration::from_secs(2));

    // The held claim ends by its own deadline, or earlier with 503.
    let (response, took) = held.await.unwrap();
    assert!(took < Duration::from_secs(5) + Duration::from_millis(1500), "held claim took {took:?}");
    match response.status() {
        StatusCode::SERVICE_UNAVAILABLE => assert_unavailable(response).await,
        _ => {
            assert_error(response, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
        }
    }

    cluster.start();

    // Both serve again by themselves: pool, listener, wake-ups, revocations.
    for app in [&a, &b] {
        within(Duration::from_secs(30), "healthz is 200 again", async || {
            app.get("/healthz", None).await.status() == StatusCode::OK
        })
        .await;
        within(Duration::from_secs(10), "listening again", async || app.service.sessions().revocations_heard()).await;
    }
    assert_eq!(b.get("/api/v0/user", Some(&token)).await.status(), StatusCode::OK);
    let response = a.http.post(a.url("/api/v0/auth/logout")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    within(Duration::from_secs(2), "B refuses the token logged out on A", async || {
        b.get("/api/v0/user", Some(&token)).await.status() == StatusCode::UNAUTHORIZED
    })
    .await;
    let (_, token) = a.signed_in().await;
    let nonce = nonce();
    let held = {
        let (http, url, nonce) = (b.http.clone(), b.url("/api/v0/auth/cli/claim"), nonce.clone());
        tokio::spawn(async move {
            http.post(url).header("Prefer", "wait=20").json(&json!({"nonce": nonce})).send().await.unwrap()
        })
    };
    harmont_testkit::eventually("the claim to wait on B", async || {
        (b.service.cli_login().waiting_claims() > 0).then_some(())
    })
    .await;
    let start = Instant::now();
    let response = a.post_json("/api/v0/auth/cli/transfer", Some(&token), json!({"nonce": nonce})).await;
    assert!(response.status().is_success(), "transfer: {}", response.status());
    assert_eq!(held.await.unwrap().status(), StatusCode::OK);
    // Woken by the announcement, not by the 2 s re-read.
    assert!(start.elapsed() < Duration::from_millis(1900), "wake-up took {:?}", start.elapsed());
}

/// SQLite: a database file locked by another process answers writes with a
/// 503 envelope (SQLite's "database is locked", logged once), never a 500;
/// what needs no write goes on (WAL), and writes work again once the lock is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_locked_database_answers_503_until_the_lock_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let path: &Path = &dir.path().join("harmont.db");
    let url = format!("sqlite://{}", path.display());
    let clock = Arc::new(ManualClock::new(crate::helpers::wall_clock_millis()));
    let app = server(&url, clock, Backend::Sqlite).await;
    let (email, token) = app.signed_in().await;
    let other = app.token_for(&email).await;
    assert_eq!(app.get("/api/v0/user", Some(&token)).await.status(), StatusCode::OK);

    // Another process takes the write lock and keeps it.
    let mut locker = {
        use sqlx::Connection;
        sqlx::SqliteConnection::connect(&url).await.unwrap()
    };
    sqlx::query("BEGIN EXCLUSIVE").execute(&mut locker).await.unwrap();

    assert_eq!(app.get("/api/v0/user", Some(&token)).await.status(), StatusCode::OK, "a used token needs no write");
    let start = Instant::now();
    let response = app.http.post(app.url("/api/v0/auth/logout")).bearer_auth(&other).send().await.unwrap();
    assert_unavailable(response).await;
    assert!(start.elapsed() < DB_TIMEOUT + Duration::from_secs(2), "took {:?}", start.elapsed());

    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    let response = app.http.post(app.url("/api/v0/auth/logout")).bearer_auth(&other).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

/// The same with the real binary (`--db-timeout 1s`), and its log: one line
/// when the store is lost and one when it is back, however many requests
/// failed meanwhile; likewise for the listening connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_binary_logs_the_outage_once_and_recovers() {
    use crate::crash::{command, Server};
    let cluster = Cluster::new();
    let url = cluster.url();
    let email = format!("outage-{}@example.com", uuid::Uuid::new_v4().simple());
    assert!(command(&url, &["migrate"]).output().unwrap().status.success());
    assert!(command(&url, &["user", "add", &email]).output().unwrap().status.success());
    let token = command(&url, &["token", "mint", &email]).output().unwrap();
    let token = String::from_utf8(token.stdout).unwrap().trim().to_owned();
    let mut serve = command(&url, &["serve", "--listen", "127.0.0.1:0", "--log", "info"]);
    serve.env("HARMONT_DB_TIMEOUT", "1s");
    let server = Server::start(serve);
    let http = reqwest::Client::new();
    let user = || http.get(format!("{}/api/v0/user", server.base)).bearer_auth(&token).send();
    assert_eq!(user().await.unwrap().status(), StatusCode::OK);

    cluster.stop();
    for _ in 0..3 {
        assert_unavailable(user().await.unwrap()).await;
    }
    let start = Instant::now();
    assert_unavailable(http.get(format!("{}/healthz", server.base)).send().await.unwrap()).await;
    assert!(start.elapsed() < Duration::from_secs(2), "healthz took {:?}", start.elapsed());
    let ping = http.get(format!("{}/api/v0/ping", server.base)).send().await.unwrap();
    assert_eq!(ping.status(), StatusCode::OK);

    cluster.start();
    within(Duration::from_secs(30), "the binary serves again", async || {
        user().await.is_ok_and(|response| response.status() == StatusCode::OK)
    })
    .await;
    // The log is read from the server's output as it comes: wait for the
    // last lines before counting them.
    for line in ["the store answers again", "notification connection is back"] {
        within(Duration::from_secs(10), &format!("the log to say {line:?}"), async || server.log().contains(line))
            .await;
    }
    let log = server.log();
    for (line, what) in [
        ("the store is unavailable", "lost"),
        ("the store answers again", "back"),
        ("lost the store's notification connection", "listener lost"),
        ("the store's notification connection is back", "listener back"),
    ] {
        assert_eq!(log.matches(line).count(), 1, "one line for {what} in:\n{log}");
    }
    assert!(!log.contains(" ERROR "), "no error line in:\n{log}");
    assert!(!log.contains(&token), "no token in the log");
}
