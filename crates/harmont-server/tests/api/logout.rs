//! `POST /api/v0/auth/logout`.

use crate::api_test;
use crate::helpers::{assert_error, spawn_app, Backend};
use harmont_server::clock::Clock;
use reqwest::StatusCode;
use std::time::Duration;

async fn revokes_the_token_on_the_server(backend: Backend) {
    let app = spawn_app(backend).await;
    let (email, token) = app.signed_in().await;
    let other = app.token_for(&email).await;

    let response = app.http.post(app.url("/api/v0/auth/logout")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().await.unwrap().is_empty());

    let response = app.get("/api/v0/user", Some(&token)).await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer realm=\"harmont\", error=\"invalid_token\"");
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let response = app.http.post(app.url("/api/v0/auth/logout")).bearer_auth(&token).send().await.unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    // Only that token: the user's other sessions live on.
    assert_eq!(app.get("/api/v0/user", Some(&other)).await.status(), StatusCode::OK);
}
api_test!(revokes_the_token_on_the_server);

/// On SQLite (replicas sharing a file), through the TTL. On Postgres the
/// logout is announced and refused at once: see `fleet.rs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_logout_on_another_replica_is_seen_within_the_cache_ttl() {
    let app = spawn_app(Backend::Sqlite).await;
    let replica = app.replica(|s| s.auth_cache_ttl = Duration::from_millis(200)).await;
    let (_, token) = app.signed_in().await;
    // The replica remembers the token...
    assert_eq!(replica.get("/api/v0/user", Some(&token)).await.status(), StatusCode::OK);
    app.http.post(app.url("/api/v0/auth/logout")).bearer_auth(&token).send().await.unwrap();
    app.advance(Duration::from_millis(199));
    assert_eq!(replica.get("/api/v0/user", Some(&token)).await.status(), StatusCode::OK, "within its TTL");
    // ...until its entry is older than the TTL, after a logout elsewhere.
    app.advance(Duration::from_millis(1));
    assert_error(replica.get("/api/v0/user", Some(&token)).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

/// Issue 14, item 8: a cache hit that recorded `last_used_at` stored the entry
/// again with a fresh time, so a busy token was never re-read and a
/// revocation made elsewhere was ignored for as long as it kept being used.
async fn a_busy_token_is_still_re_read_once_the_cache_ttl_is_up(backend: Backend) {
    let ttl = Duration::from_secs(5 * 60);
    let app = crate::helpers::spawn_app_with(backend, |s| s.auth_cache_ttl = ttl).await;
    let (email, token) = app.signed_in().await;
    assert_eq!(app.get("/api/v0/user", Some(&token)).await.status(), StatusCode::OK);

    // Another replica revokes it, straight in the shared store.
    let user = app.service.users().user_by_email(&email).await.unwrap().unwrap();
    let session = app.store.list_sessions(user.id, app.clock.now()).await.unwrap()[0].clone();
    // On Postgres, in plain SQL: the store's own revocation is announced and
    // would drop the entry at once (see `fleet.rs`); this is the TTL's case.
    if backend == Backend::Postgres {
        let db = sqlx::PgPool::connect(&app.database_url).await.unwrap();
        let done = sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2")
            .bind(app.clock.now())
            .bind(session.id)
            .execute(&db)
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 1);
    } else {
        assert!(app.store.revoke_session(user.id, session.id, app.clock.now()).await.unwrap());
    }

    // Used every 61 s (so each hit also records last_used_at): remembered
    // within the TTL, refused from the TTL on.
    let mut waited = Duration::ZERO;
    while waited + Duration::from_secs(61) < ttl {
        app.advance(Duration::from_secs(61));
        waited += Duration::from_secs(61);
        assert_eq!(app.get("/api/v0/user", Some(&token)).await.status(), StatusCode::OK, "cached at {waited:?}");
    }
    app.advance(ttl - waited);
    assert_error(app.get("/api/v0/user", Some(&token)).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
}
api_test!(a_busy_token_is_still_re_read_once_the_cache_ttl_is_up);
