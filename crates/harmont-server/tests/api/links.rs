//! `POST /api/v0/auth/links/redeem`: the one-time links `harmont-auth user
//! add` and `user link` print. Single use, 24 hours, only a hash stored.

use crate::api_test;
use crate::helpers::{assert_error, spawn_app, Backend, TestApp};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

const REDEEM: &str = "/api/v0/auth/links/redeem";

/// A user and a fresh link for them; returns (email, full URL, secret).
async fn link_for_new_user(app: &TestApp) -> (String, String, String) {
    let email = app.add_user().await;
    let user = app.service.users().user_by_email(&email).await.unwrap().unwrap();
    let url = app.service.web().create_login_link(user.id).await.expect("creating a link");
    let secret = url.split_once("#link=").expect("the secret is in the fragment").1.to_owned();
    (email, url, secret)
}

async fn signs_in_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (email, url, secret) = link_for_new_user(&app).await;
    // Pages live on localhost even when the server is public at 127.0.0.1:
    // browsers refuse an IP address as a passkey's relying party.
    let port = app.base.rsplit(':').next().unwrap();
    assert_eq!(url, format!("http://localhost:{port}/login#link={secret}"));
    assert!(secret.starts_with("hml_") && secret.len() == 47, "{secret}");

    let response = app.post_json(REDEEM, None, json!({"link": secret})).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    let token = body["token"].as_str().expect("a token").to_owned();
    assert_eq!(body, json!({"token": token}));

    let me: serde_json::Value = app.get("/api/v0/user", Some(&token)).await.json().await.unwrap();
    assert_eq!(me["email"], email);

    let again = app.post_json(REDEEM, None, json!({"link": secret})).await;
    let body = assert_error(again, StatusCode::BAD_REQUEST, "link_invalid").await;
    assert_eq!(body["error"]["message"], "This sign-in link is invalid, expired or already used.");
}
api_test!(signs_in_once);

async fn forged_and_malformed_links_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, _, secret) = link_for_new_user(&app).await;
    let mut forged = secret.clone().into_bytes();
    forged[10] = if forged[10] == b'A' { b'B' } else { b'A' };
    for bad in [String::from_utf8(forged).unwrap(), "hml_short".into(), String::new(), format!("{secret}x")] {
        let response = app.post_json(REDEEM, None, json!({"link": bad})).await;
        assert_error(response, StatusCode::BAD_REQUEST, "link_invalid").await;
    }
    let response = app.post_json(REDEEM, None, json!({"nope": secret})).await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    // None of that used the real link up.
    assert_eq!(app.post_json(REDEEM, None, json!({"link": secret})).await.status(), StatusCode::OK);
}
api_test!(forged_and_malformed_links_are_refused);

async fn expire_after_24_hours(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, _, inside) = link_for_new_user(&app).await;
    let (_, _, edge) = link_for_new_user(&app).await;
    app.advance(Duration::from_millis(24 * 3600 * 1000 - 1));
    assert_eq!(app.post_json(REDEEM, None, json!({"link": inside})).await.status(), StatusCode::OK);
    app.advance(Duration::from_millis(1));
    let response = app.post_json(REDEEM, None, json!({"link": edge})).await;
    assert_error(response, StatusCode::BAD_REQUEST, "link_invalid").await;
}
api_test!(expire_after_24_hours);

async fn concurrent_redeems_have_exactly_one_winner(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, _, secret) = link_for_new_user(&app).await;
    let attempts = (0..16).map(|_| {
        let (http, url, secret) = (app.http.clone(), app.url(REDEEM), secret.clone());
        async move { http.post(url).json(&json!({"link": secret})).send().await.unwrap().status() }
    });
    let statuses = futures::future::join_all(attempts).await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::BAD_REQUEST), "{statuses:?}");
}
api_test!(concurrent_redeems_have_exactly_one_winner);

async fn the_session_remembers_the_browser(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, _, secret) = link_for_new_user(&app).await;
    let response = app
        .http
        .post(app.url(REDEEM))
        .header("user-agent", "Mozilla/5.0 (test browser)")
        .json(&json!({"link": secret}))
        .send()
        .await
        .unwrap();
    let token = response.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let sessions: serde_json::Value = app.get("/api/v0/auth/sessions", Some(&token)).await.json().await.unwrap();
    assert_eq!(sessions["sessions"][0]["user_agent"], "Mozilla/5.0 (test browser)");
    assert_eq!(sessions["sessions"][0]["ip"], "127.0.0.1");
    assert_eq!(sessions["sessions"][0]["current"], true);
}
api_test!(the_session_remembers_the_browser);
