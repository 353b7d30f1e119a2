//! `GET /api/v0/user` and the bearer check every authenticated route shares.

use crate::api_test;
use crate::helpers::{assert_error, spawn_app, Backend};
use harmont_wire::token::SessionToken;
use reqwest::StatusCode;
use std::time::Duration;

async fn returns_the_bearers_user(backend: Backend) {
    let app = spawn_app(backend).await;
    let (email, token) = app.signed_in().await;
    let response = app.get("/api/v0/user", Some(&token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    let user = app.service.users().user_by_email(&email).await.unwrap().unwrap();
    let slug = email.split('@').next().unwrap();
    assert_eq!(
        body,
        serde_json::json!({"uuid": user.id, "email": email, "name": "Test User", "personal_org_slug": slug})
    );
}
api_test!(returns_the_bearers_user);

async fn refuses_missing_malformed_unknown_and_expired_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = app.signed_in().await;

    let response = app.get("/api/v0/user", None).await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer realm=\"harmont\"");
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let mut wrong_checksum = token.clone().into_bytes();
    let last = wrong_checksum.len() - 1;
    wrong_checksum[last] = if wrong_checksum[last] == b'A' { b'B' } else { b'A' };
    let unknown = SessionToken::generate().expose().to_owned();
    for bad in [String::from_utf8(wrong_checksum).unwrap(), unknown, "garbage".into(), format!("{token}x")] {
        let response = app.get("/api/v0/user", Some(&bad)).await;
        assert_eq!(response.headers()["www-authenticate"], "Bearer realm=\"harmont\", error=\"invalid_token\"");
        assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    let basic = app.http.get(app.url("/api/v0/user")).header("authorization", format!("Basic {token}")).send().await;
    assert_error(basic.unwrap(), StatusCode::UNAUTHORIZED, "unauthorized").await;

    app.advance(Duration::from_secs(30 * 24 * 3600 - 1));
    assert_eq!(app.get("/api/v0/user", Some(&token)).await.status(), StatusCode::OK);
    app.advance(Duration::from_secs(1));
    assert_error(app.get("/api/v0/user", Some(&token)).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
}
api_test!(refuses_missing_malformed_unknown_and_expired_tokens);
