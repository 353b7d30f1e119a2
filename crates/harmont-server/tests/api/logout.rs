//! `POST /api/v0/auth/logout`.

use crate::api_test;
use crate::helpers::{assert_error, spawn_app, Backend};
use reqwest::StatusCode;

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

async fn a_logout_on_another_replica_is_seen_within_the_cache_ttl(backend: Backend) {
    let app = spawn_app(backend).await;
    let replica = app.replica(|s| s.auth_cache_ttl = std::time::Duration::from_millis(200)).await;
    let (_, token) = app.signed_in().await;
    // The replica remembers the token...
    assert_eq!(replica.get("/api/v0/user", Some(&token)).await.status(), StatusCode::OK);
    // ...until its entry is older than the TTL, after a logout elsewhere.
    app.http.post(app.url("/api/v0/auth/logout")).bearer_auth(&token).send().await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let response = replica.get("/api/v0/user", Some(&token)).await;
        if response.status() == StatusCode::UNAUTHORIZED {
            assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the replica never saw the logout");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
api_test!(a_logout_on_another_replica_is_seen_within_the_cache_ttl);
