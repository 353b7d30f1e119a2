//! Issue 7: replicas on one Postgres. A revocation made through one reaches
//! every other at once (LISTEN/NOTIFY), and a replica that cannot hear the
//! announcements does not trust its bearer cache.
//!
//! The replicas here keep cache entries for an hour, so only an announcement
//! (or the cache being bypassed) can explain a refusal. Timings are bounded
//! generously (2 s, polled); the tight figures live in `bench/`.

use crate::helpers::{spawn_app_with, Backend, TestApp};
use harmont_server::clock::Clock;
use harmont_server::secret::ServerSecret;
use harmont_server::{Service, Settings};
use reqwest::StatusCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

const LONG_TTL: Duration = Duration::from_secs(3600);
const BOUND: Duration = Duration::from_secs(2);

/// A replica over the same database whose connections carry `name` as their
/// `application_name`, so a test can find its listening connection.
async fn named_replica(app: &TestApp, name: &str) -> TestApp {
    let separator = if app.database_url.contains('?') { '&' } else { '?' };
    replica_at(app, &format!("{}{separator}application_name={name}", app.database_url)).await
}

/// A replica sharing `app`'s clock whose store is reached at `url`.
async fn replica_at(app: &TestApp, url: &str) -> TestApp {
    let store = harmont_server::store::open(url).await.expect("open store");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let mut settings = Settings::new(base.clone());
    settings.auth_cache_ttl = LONG_TTL;
    let service = Arc::new(Service::new(store.clone(), app.clock.clone(), ServerSecret::random(), settings).unwrap());
    tokio::spawn(harmont_server::serve(listener, service.clone(), std::future::pending()));
    TestApp {
        base,
        service,
        store,
        clock: app.clock.clone(),
        http: reqwest::Client::new(),
        backend: app.backend,
        dir: None,
        database_url: url.to_owned(),
    }
}

/// Polls `check` until it holds, for at most `bound`; how long it took.
async fn within(bound: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if check().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < bound, "{what}: not within {bound:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn user_status(app: &TestApp, token: &str) -> StatusCode {
    app.get("/api/v0/user", Some(token)).await.status()
}

async fn current_session_id(app: &TestApp, token: &str) -> String {
    let list: serde_json::Value = app.get("/api/v0/auth/sessions", Some(token)).await.json().await.unwrap();
    let sessions = list["sessions"].as_array().unwrap();
    let current = sessions.iter().find(|s| s["current"] == true).expect("the current session is listed");
    current["id"].as_str().unwrap().to_owned()
}

/// Each way of revoking, done on A, is refused on B (which used the token
/// just before) within the bound: 20 tries, cycling through them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_revocation_on_one_replica_is_refused_by_another_at_once() {
    let a = spawn_app_with(Backend::Postgres, |s| s.auth_cache_ttl = LONG_TTL).await;
    let b = a.replica(|s| s.auth_cache_ttl = LONG_TTL).await;
    within(BOUND, "B listens", async || b.service.sessions().revocations_heard()).await;
    let mut took = Vec::new();
    for attempt in 0..20 {
        let (email, token) = a.signed_in().await;
        assert_eq!(user_status(&b, &token).await, StatusCode::OK, "B uses the token, and remembers it");
        assert_eq!(user_status(&b, &token).await, StatusCode::OK);
        match attempt % 3 {
            0 => {
                let response = a.http.post(a.url("/api/v0/auth/logout")).bearer_auth(&token).send().await.unwrap();
                assert!(response.status().is_success(), "logout: {}", response.status());
            }
            1 => {
                let id = current_session_id(&a, &token).await;
                let other = a.token_for(&email).await;
                let response = a
                    .http
                    .delete(a.url(&format!("/api/v0/auth/sessions/{id}")))
                    .bearer_auth(&other)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::NO_CONTENT);
            }
            _ => {
                let other = a.token_for(&email).await;
                let response =
                    a.http.post(a.url("/api/v0/auth/sessions/revoke-others")).bearer_auth(&other).send().await.unwrap();
                assert_eq!(response.json::<serde_json::Value>().await.unwrap(), serde_json::json!({"revoked": 1}));
            }
        }
        took.push(
            within(BOUND, "B refuses the revoked token", async || {
                user_status(&b, &token).await == StatusCode::UNAUTHORIZED
            })
            .await,
        );
    }
    took.sort();
    eprintln!("revocation reached the other replica: median {:?}, slowest {:?}", took[10], took[19]);
}

/// Issue 8: revoking an API key, and deleting an account, on A are refused
/// on B (which holds the key and the sessions in its cache) within the bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_revoked_key_and_a_deleted_account_are_refused_by_another_replica_at_once() {
    let a = spawn_app_with(Backend::Postgres, |s| s.auth_cache_ttl = LONG_TTL).await;
    let b = a.replica(|s| s.auth_cache_ttl = LONG_TTL).await;
    within(BOUND, "B listens", async || b.service.sessions().revocations_heard()).await;
    let email = a.add_user().await;
    let session = a.link_token_for(&email).await;
    let create = async || {
        let body = serde_json::json!({"description": "CI"});
        let created: serde_json::Value =
            a.post_json("/api/v0/user/api-tokens", Some(&session), body).await.json().await.unwrap();
        (created["token"].as_str().unwrap().to_owned(), created["api_token"]["id"].as_str().unwrap().to_owned())
    };
    let (key, id) = create().await;
    assert_eq!(user_status(&b, &key).await, StatusCode::OK, "B uses the key, and remembers it");
    let response = a.http.delete(a.url(&format!("/api/v0/user/api-tokens/{id}"))).bearer_auth(&session).send();
    assert_eq!(response.await.unwrap().status(), StatusCode::NO_CONTENT);
    within(BOUND, "B refuses the revoked key", async || user_status(&b, &key).await == StatusCode::UNAUTHORIZED).await;

    let (key, _) = create().await;
    let operator = a.token_for(&email).await;
    for token in [&key, &operator, &session] {
        assert_eq!(user_status(&b, token).await, StatusCode::OK, "B remembers every token");
    }
    let response = a.http.delete(a.url("/api/v0/user")).bearer_auth(&session).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    for token in [&key, &operator, &session] {
        within(BOUND, "B refuses the deleted user's tokens", async || {
            user_status(&b, token).await == StatusCode::UNAUTHORIZED
        })
        .await;
    }
}

/// While a replica's listening connection is down it reads the store for
/// every bearer check: a revocation written straight into the database
/// (announced to nobody) is refused at once. The connection comes back by
/// itself, and announcements work again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_without_its_listener_a_replica_reads_the_store_until_it_listens_again() {
    let a = spawn_app_with(Backend::Postgres, |s| s.auth_cache_ttl = LONG_TTL).await;
    let name = format!("harmont-test-{}", uuid::Uuid::new_v4().simple());
    let b = named_replica(&a, &name).await;
    within(BOUND, "B listens", async || b.service.sessions().revocations_heard()).await;
    let (email, token) = a.signed_in().await;
    assert_eq!(user_status(&b, &token).await, StatusCode::OK);

    let db = sqlx::PgPool::connect(&a.database_url).await.unwrap();
    let terminated: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = $1 AND query ILIKE 'LISTEN%'",
    )
    .bind(&name)
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(terminated, [true], "B's one listening connection");
    // Behind every replica's back: no announcement.
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = (SELECT id FROM users WHERE email = $2)")
        .bind(a.clock.now())
        .bind(&email)
        .execute(&db)
        .await
        .unwrap();
    within(BOUND, "B refuses a revocation it was not told of", async || {
        user_status(&b, &token).await == StatusCode::UNAUTHORIZED
    })
    .await;

    // It listens again by itself, and announcements reach it again.
    within(Duration::from_secs(10), "B listens again", async || b.service.sessions().revocations_heard()).await;
    let (_, token) = a.signed_in().await;
    assert_eq!(user_status(&b, &token).await, StatusCode::OK);
    let response = a.http.post(a.url("/api/v0/auth/logout")).bearer_auth(&token).send().await.unwrap();
    assert!(response.status().is_success());
    within(BOUND, "B refuses a token logged out on A", async || {
        user_status(&b, &token).await == StatusCode::UNAUTHORIZED
    })
    .await;
}

/// A listening connection that dies without a word (the database's host
/// vanishes behind a firewall: no FIN, no RST) looks just like a quiet one.
/// The replica asks it a `SELECT 1` when quiet, so it stops trusting its
/// cache within a few seconds, and listens again once the path is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_listener_that_goes_silent_is_noticed_and_replaced() {
    let a = spawn_app_with(Backend::Postgres, |s| s.auth_cache_ttl = LONG_TTL).await;
    let proxy = FreezingProxy::start(&a.database_url).await;
    let b = replica_at(&a, &proxy.url(&a.database_url)).await;
    within(BOUND, "B listens", async || b.service.sessions().revocations_heard()).await;

    proxy.freeze(true);
    // Three seconds of quiet, then the unanswered `SELECT 1` (the store's
    // 2 s timeout): generously bounded.
    within(Duration::from_secs(15), "B notices its silent listener", async || {
        !b.service.sessions().revocations_heard()
    })
    .await;

    proxy.freeze(false);
    within(Duration::from_secs(15), "B listens again", async || b.service.sessions().revocations_heard()).await;
    let (_, token) = a.signed_in().await;
    // Pooled connections caught mid-statement by the partition are replaced
    // as they fail: B serves again within its store timeout or so.
    within(Duration::from_secs(10), "B serves again", async || user_status(&b, &token).await == StatusCode::OK).await;
    let response = a.http.post(a.url("/api/v0/auth/logout")).bearer_auth(&token).send().await.unwrap();
    assert!(response.status().is_success());
    within(BOUND, "B refuses a token logged out on A", async || {
        user_status(&b, &token).await == StatusCode::UNAUTHORIZED
    })
    .await;
}

/// A TCP proxy to the database that can stop passing bytes in both
/// directions while keeping every connection open, as a partition does.
struct FreezingProxy {
    addr: std::net::SocketAddr,
    frozen: tokio::sync::watch::Sender<bool>,
}

impl FreezingProxy {
    async fn start(database_url: &str) -> FreezingProxy {
        let upstream = host_and_port(database_url);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (frozen, _) = tokio::sync::watch::channel(false);
        let watch = frozen.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else { continue };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(pump(client_read, server_write, watch.subscribe()));
                tokio::spawn(pump(server_read, client_write, watch.subscribe()));
            }
        });
        FreezingProxy { addr, frozen }
    }

    /// `database_url` with its host and port replaced by the proxy's.
    fn url(&self, database_url: &str) -> String {
        database_url.replacen(&host_and_port(database_url), &self.addr.to_string(), 1)
    }

    fn freeze(&self, frozen: bool) {
        self.frozen.send_replace(frozen);
    }
}

/// Copies `from` to `to`, holding still while frozen.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut frozen: tokio::sync::watch::Receiver<bool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if frozen.wait_for(|frozen| !frozen).await.is_err() {
            return;
        }
        let n = tokio::select! {
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            // Frozen before anything came: hold still.
            _ = frozen.wait_for(|frozen| *frozen) => continue,
        };
        if frozen.wait_for(|frozen| !frozen).await.is_err() || to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// `host:port` of a `postgres://user@host:port/db?…` URL.
fn host_and_port(database_url: &str) -> String {
    let after_scheme = database_url.split_once("://").expect("a URL").1;
    let authority = after_scheme.split(['/', '?']).next().unwrap();
    authority.rsplit_once('@').map_or(authority, |(_, host)| host).to_owned()
}
/// Issue 13: disabling a user through A is refused by B, which holds the
/// user's session and key in its cache, within the bound; enabling them
/// through A lets B accept the same tokens again as fast.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_disabling_a_user_on_one_replica_is_refused_by_another_at_once() {
    let a = spawn_app_with(Backend::Postgres, |s| s.auth_cache_ttl = LONG_TTL).await;
    let b = a.replica(|s| s.auth_cache_ttl = LONG_TTL).await;
    within(BOUND, "B listens", async || b.service.sessions().revocations_heard()).await;
    let email = a.add_user().await;
    let session = a.link_token_for(&email).await;
    let body = serde_json::json!({"description": "CI"});
    let created: serde_json::Value =
        a.post_json("/api/v0/user/api-tokens", Some(&session), body).await.json().await.unwrap();
    let key = created["token"].as_str().unwrap().to_owned();
    let (_, bystander) = a.signed_in().await;
    for token in [&session, &key, &bystander] {
        assert_eq!(user_status(&b, token).await, StatusCode::OK, "B remembers every token");
    }
    let user = a.service.users().user_by_email(&email).await.unwrap().unwrap();

    assert!(a.service.users().set_user_disabled(user.id, true).await.unwrap());
    for token in [&session, &key] {
        within(BOUND, "B refuses the disabled user's tokens", async || {
            user_status(&b, token).await == StatusCode::FORBIDDEN
        })
        .await;
    }
    let refused: serde_json::Value = b.get("/api/v0/user", Some(&session)).await.json().await.unwrap();
    assert_eq!(refused["error"]["code"], "user_disabled");
    assert_eq!(user_status(&b, &bystander).await, StatusCode::OK, "nobody else is concerned");

    assert!(a.service.users().set_user_disabled(user.id, false).await.unwrap());
    for token in [&session, &key] {
        within(BOUND, "B accepts the enabled user's tokens again", async || {
            user_status(&b, token).await == StatusCode::OK
        })
        .await;
    }
}
