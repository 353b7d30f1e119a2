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
