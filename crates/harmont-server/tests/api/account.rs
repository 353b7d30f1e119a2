//! Issue 8: `PATCH /api/v0/user` (updateCurrentUser) and `DELETE
//! /api/v0/user` (deleteCurrentUser).

use crate::api_test;
use crate::helpers::{assert_error, nonce, spawn_app, spawn_app_with, Backend, SoftPasskey, TestApp};
use harmont_server::clock::Clock;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

async fn patch(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.http.patch(app.url("/api/v0/user")).bearer_auth(token).json(&body).send().await.unwrap()
}

async fn delete(app: &TestApp, token: &str) -> reqwest::Response {
    app.http.delete(app.url("/api/v0/user")).bearer_auth(token).send().await.unwrap()
}

async fn the_name_is_trimmed_and_set(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.auth_cache_ttl = Duration::from_secs(3600)).await;
    let (email, token) = app.signed_in().await;
    assert_eq!(app.get("/api/v0/user", Some(&token)).await.status(), StatusCode::OK, "cached");
    let response = patch(&app, &token, json!({"name": "  Ada Lovelace  "})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!((body["email"].as_str(), body["name"].as_str()), (Some(email.as_str()), Some("Ada Lovelace")));
    let me: Value = app.get("/api/v0/user", Some(&token)).await.json().await.unwrap();
    assert_eq!(me, body, "the cached bearer is not stale");
    let long = "é".repeat(200);
    assert_eq!(patch(&app, &token, json!({"name": long})).await.json::<Value>().await.unwrap()["name"], long);
}
api_test!(the_name_is_trimmed_and_set);

async fn a_bad_name_is_refused_and_nothing_changes(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = app.signed_in().await;
    for name in ["", "   ", &"a".repeat(201), "nul\0here", "tab\there", "\u{1b}[31mred", "\u{202E}evil"] {
        let response = patch(&app, &token, json!({ "name": name })).await;
        let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(body["error"]["message"].as_str().unwrap().contains("`name`"), "{name:?}");
    }
    assert_error(patch(&app, &token, json!({})).await, StatusCode::BAD_REQUEST, "invalid_request").await;
    assert_error(patch(&app, &token, json!({"name": 7})).await, StatusCode::BAD_REQUEST, "invalid_request").await;
    let me: Value = app.get("/api/v0/user", Some(&token)).await.json().await.unwrap();
    assert_eq!(me["name"], "Test User");
    let anonymous = app.http.patch(app.url("/api/v0/user")).json(&json!({"name": "x"})).send().await.unwrap();
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
}
api_test!(a_bad_name_is_refused_and_nothing_changes);

async fn deleting_needs_a_recent_browser_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = app.add_user().await;
    let operator = app.token_for(&email).await;
    let cli = app.cli_token_for(&email).await;
    let link = app.link_token_for(&email).await;
    for token in [&operator, &cli] {
        assert_error(delete(&app, token).await, StatusCode::FORBIDDEN, "reauthentication_required").await;
    }
    app.advance(Duration::from_secs(10 * 60) + Duration::from_millis(1));
    assert_error(delete(&app, &link).await, StatusCode::FORBIDDEN, "reauthentication_required").await;
    assert!(app.service.users().user_by_email(&email).await.unwrap().is_some(), "nothing deleted");
    assert_eq!(app.get("/api/v0/user", Some(&link)).await.status(), StatusCode::OK);
}
api_test!(deleting_needs_a_recent_browser_sign_in);

/// The user, their sessions, keys, passkeys, grants and links are gone, and
/// every token of theirs is refused at once, even one in the bearer cache.
async fn deleting_the_account_removes_everything_and_refuses_every_token(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.auth_cache_ttl = Duration::from_secs(3600)).await;
    let email = app.add_user().await;
    let (_, bystander) = app.signed_in().await;
    let link = app.link_token_for(&email).await;
    let mut authenticator = SoftPasskey::new();
    app.register_passkey(&link, &mut authenticator, "Laptop").await;
    let by_passkey = app.passkey_sign_in(&mut authenticator).await;
    let operator = app.token_for(&email).await;
    let created = app.post_json("/api/v0/user/api-tokens", Some(&link), json!({"description": "CI"})).await;
    let key = created.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let parked = nonce();
    let transfer = app.post_json("/api/v0/auth/cli/transfer", Some(&operator), json!({"nonce": parked})).await;
    assert_eq!(transfer.status(), StatusCode::NO_CONTENT);
    let user = app.service.users().user_by_email(&email).await.unwrap().unwrap();
    let login_link = app.service.web().create_login_link(user.id).await.unwrap();
    let tokens = [&link, &by_passkey, &operator, &key];
    for token in tokens {
        assert_eq!(app.get("/api/v0/user", Some(token)).await.status(), StatusCode::OK, "cached");
    }

    let response = delete(&app, &by_passkey).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    for token in tokens {
        assert_error(app.get("/api/v0/user", Some(token)).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    assert_eq!(app.service.users().user_by_email(&email).await.unwrap(), None);
    let now = app.clock.now();
    assert_eq!(app.store.list_sessions(user.id, now).await.unwrap(), vec![]);
    assert_eq!(app.store.list_api_keys(user.id, now).await.unwrap(), vec![]);
    assert_eq!(app.store.list_passkeys(user.id).await.unwrap(), vec![]);
    let claim = app.post_json("/api/v0/auth/cli/claim", None, json!({"nonce": parked})).await;
    assert_error(claim, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
    let secret = login_link.split_once("#link=").unwrap().1;
    let redeem = app.post_json("/api/v0/auth/links/redeem", None, json!({"link": secret})).await;
    assert_error(redeem, StatusCode::BAD_REQUEST, "link_invalid").await;
    // The passkey signs nobody in any more.
    let started: Value =
        app.post_json("/api/v0/auth/passkeys/sign-in/start", None, json!({})).await.json().await.unwrap();
    let credential = authenticator.sign_in(&app.web_origin(), &started["options"]);
    let finish = json!({"ceremony": started["ceremony"], "credential": credential});
    let finished = app.post_json("/api/v0/auth/passkeys/sign-in/finish", None, finish).await;
    assert_error(finished, StatusCode::BAD_REQUEST, "passkey_invalid").await;
    assert_eq!(app.get("/api/v0/user", Some(&bystander)).await.status(), StatusCode::OK, "others are untouched");
}
api_test!(deleting_the_account_removes_everything_and_refuses_every_token);
