//! Issue 8: personal API keys. `GET`/`POST /api/v0/user/api-tokens`,
//! `DELETE /api/v0/user/api-tokens/{id}`, and a key as a bearer: it
//! authenticates, but cannot mint credentials or change the account.

use crate::api_test;
use crate::helpers::{assert_error, nonce, spawn_app, spawn_app_with, Backend, TestApp};
use harmont_server::clock::Clock;
use harmont_wire::token::{ApiKey, SessionToken};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

const KEYS: &str = "/api/v0/user/api-tokens";

/// Creates a key with `body` as the caller's session; the whole response body.
async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app.post_json(KEYS, Some(token), body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

async fn revoke(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    app.http.delete(app.url(&format!("{KEYS}/{id}"))).bearer_auth(token).send().await.unwrap()
}

async fn list(app: &TestApp, token: &str) -> Vec<Value> {
    let response = app.get(KEYS, Some(token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["api_tokens"].as_array().expect("api_tokens").clone()
}

/// RFC 3339 for the app's clock plus `ahead` (negative: in the past).
fn at(app: &TestApp, ahead: i64) -> String {
    let millis = app.clock.now() + ahead;
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).unwrap();
    t.format(&time::format_description::well_known::Rfc3339).unwrap()
}

/// The published Rust SDK's `create_api_token(description)` sends exactly
/// `{"description": …}` and reads `token`: that works, and the key it reads
/// is a bearer for the same user.
async fn the_published_sdk_request_shape_creates_a_working_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let (email, session) = app.signed_in().await;
    let body = create(&app, &session, json!({"description": "CI deploys"})).await;
    let key = body["token"].as_str().expect("token").to_owned();
    assert!(key.starts_with("hmk_"), "a key, not a session token");
    assert!(ApiKey::parse(&key).is_ok() && SessionToken::parse(&key).is_err());
    let api_token = body["api_token"].as_object().expect("api_token");
    assert_eq!(api_token["description"], "CI deploys");
    assert_eq!(api_token["created_at"], at(&app, 0));
    // Unset times are present as null, as the published service renders them.
    assert_eq!(api_token.get("expires_at"), Some(&Value::Null));
    assert_eq!(api_token.get("last_used_at"), Some(&Value::Null));
    assert!(!api_token.contains_key("token"));

    let me = app.get("/api/v0/user", Some(&key)).await;
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(me.json::<Value>().await.unwrap()["email"], email);
}
api_test!(the_published_sdk_request_shape_creates_a_working_key);

async fn keys_are_listed_without_secrets_and_revoked_at_once(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.auth_cache_ttl = Duration::from_secs(3600)).await;
    let (_, session) = app.signed_in().await;
    let first = create(&app, &session, json!({"description": "laptop"})).await;
    app.advance(Duration::from_secs(1));
    let second = create(&app, &session, json!({"description": "CI", "expires_at": at(&app, 3_600_000)})).await;
    let (first_key, second_key) = (first["token"].as_str().unwrap(), second["token"].as_str().unwrap());
    assert_eq!(app.get("/api/v0/user", Some(first_key)).await.status(), StatusCode::OK);

    let listed = list(&app, second_key).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["id"], second["api_token"]["id"], "newest first");
    assert_eq!(listed[0]["expires_at"], at(&app, 3_600_000));
    assert_eq!(listed[1]["last_used_at"], at(&app, 0), "used just now");
    let raw = app.get(KEYS, Some(&session)).await.text().await.unwrap();
    assert!(!raw.contains(first_key) && !raw.contains(second_key) && !raw.contains(&session), "{raw}");

    // Revoked from a session while cached: refused at once.
    let id = first["api_token"]["id"].as_str().unwrap();
    assert_eq!(revoke(&app, &session, id).await.status(), StatusCode::NO_CONTENT);
    assert_error(app.get("/api/v0/user", Some(first_key)).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_error(revoke(&app, &session, id).await, StatusCode::NOT_FOUND, "api_token_not_found").await;
    assert_eq!(list(&app, &session).await.len(), 1);
    // A key may revoke itself (and list keys), like logging out.
    let own = second["api_token"]["id"].as_str().unwrap();
    assert_eq!(revoke(&app, second_key, own).await.status(), StatusCode::NO_CONTENT);
    assert_error(app.get("/api/v0/user", Some(second_key)).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(list(&app, &session).await, Vec::<Value>::new());
}
api_test!(keys_are_listed_without_secrets_and_revoked_at_once);

async fn unknown_malformed_and_others_keys_are_not_found_alike(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, mine) = app.signed_in().await;
    let (_, theirs) = app.signed_in().await;
    let their_key = create(&app, &theirs, json!({"description": "theirs"})).await;
    let their_id = their_key["api_token"]["id"].as_str().unwrap().to_owned();
    for id in [their_id, uuid::Uuid::new_v4().to_string(), "not-a-uuid".to_owned(), "%00".to_owned()] {
        assert_error(revoke(&app, &mine, &id).await, StatusCode::NOT_FOUND, "api_token_not_found").await;
    }
    let key = their_key["token"].as_str().unwrap();
    assert_eq!(app.get("/api/v0/user", Some(key)).await.status(), StatusCode::OK, "still theirs and live");
    assert_eq!(list(&app, &mine).await, Vec::<Value>::new());
}
api_test!(unknown_malformed_and_others_keys_are_not_found_alike);

async fn descriptions_and_expiries_are_validated(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, session) = app.signed_in().await;
    for body in [
        json!({"description": ""}),
        json!({"description": "   "}),
        json!({"description": "a".repeat(201)}),
        json!({"description": format!(" {}", "a".repeat(200))}),
        json!({"description": "line\nbreak"}),
        json!({"description": "\u{202E}gnp.exe"}),
        json!({"description": "CI", "expires_at": at(&app, -1000)}),
        json!({"description": "CI", "expires_at": at(&app, 0)}),
        json!({"description": "CI", "expires_at": "next tuesday"}),
        json!({"description": "CI", "expires_at": "2027-01-31"}),
    ] {
        let response = app.post_json(KEYS, Some(&session), body.clone()).await;
        let error = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains("`description`") || message.contains("`expires_at`"), "{body}: {message}");
    }
    let missing = app.post_json(KEYS, Some(&session), json!({"expires_at": null})).await;
    assert_error(missing, StatusCode::BAD_REQUEST, "invalid_request").await;
    let fine =
        create(&app, &session, json!({"description": format!("  {}  ", "é".repeat(196)), "expires_at": null})).await;
    assert_eq!(fine["api_token"]["description"], "é".repeat(196), "trimmed");
    assert_eq!(list(&app, &session).await.len(), 1, "nothing stored for the refused ones");
}
api_test!(descriptions_and_expiries_are_validated);

/// An expired key is refused like an expired session (injected clock), and
/// `last_used_at` moves at most once a minute.
async fn a_key_expires_and_records_its_use_once_a_minute(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, session) = app.signed_in().await;
    let created = create(&app, &session, json!({"description": "CI", "expires_at": at(&app, 3_600_000)})).await;
    let key = created["token"].as_str().unwrap();
    let first_use = at(&app, 0);
    assert_eq!(app.get("/api/v0/user", Some(key)).await.status(), StatusCode::OK);
    app.advance(Duration::from_secs(59));
    assert_eq!(app.get("/api/v0/user", Some(key)).await.status(), StatusCode::OK);
    assert_eq!(list(&app, &session).await[0]["last_used_at"], first_use, "less than a minute later");
    app.advance(Duration::from_secs(1));
    assert_eq!(app.get("/api/v0/user", Some(key)).await.status(), StatusCode::OK);
    assert_eq!(list(&app, &session).await[0]["last_used_at"], at(&app, 0), "a minute later");

    app.advance(Duration::from_secs(3600 - 61));
    assert_eq!(app.get("/api/v0/user", Some(key)).await.status(), StatusCode::OK);
    app.advance(Duration::from_secs(1));
    assert_error(app.get("/api/v0/user", Some(key)).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(list(&app, &session).await, Vec::<Value>::new(), "an expired key is not listed");
    let id = created["api_token"]["id"].as_str().unwrap();
    assert_error(revoke(&app, &session, id).await, StatusCode::NOT_FOUND, "api_token_not_found").await;
}
api_test!(a_key_expires_and_records_its_use_once_a_minute);

/// A leaked CI key cannot become a browser session or a longer-lived key,
/// nor change the account; it can still read.
async fn a_key_cannot_mint_credentials_or_change_the_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let (email, session) = app.signed_in().await;
    let key = create(&app, &session, json!({"description": "CI"})).await["token"].as_str().unwrap().to_owned();
    let id = uuid::Uuid::new_v4();
    let send = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut request = app.http.request(method, app.url(path)).bearer_auth(&key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    use reqwest::Method;
    for (method, path, body) in [
        (Method::POST, KEYS.to_owned(), Some(json!({"description": "longer-lived"}))),
        (Method::POST, "/api/v0/auth/cli/transfer".to_owned(), Some(json!({"nonce": nonce()}))),
        (Method::POST, "/api/v0/auth/cli/code".to_owned(), None),
        (Method::POST, "/api/v0/auth/passkeys/register/start".to_owned(), None),
        (Method::POST, "/api/v0/auth/passkeys/register/finish".to_owned(), Some(json!({}))),
        (Method::DELETE, format!("/api/v0/auth/passkeys/{id}"), None),
        (Method::PATCH, "/api/v0/user".to_owned(), Some(json!({"name": "Mallory"}))),
        (Method::DELETE, "/api/v0/user".to_owned(), None),
        (Method::GET, "/api/v0/auth/sessions".to_owned(), None),
        (Method::DELETE, format!("/api/v0/auth/sessions/{id}"), None),
        (Method::POST, "/api/v0/auth/sessions/revoke-others".to_owned(), None),
    ] {
        let response = send(method.clone(), &path, body).await.unwrap();
        let body = assert_error(response, StatusCode::FORBIDDEN, "api_key_forbidden").await;
        assert!(body["error"]["message"].as_str().unwrap().contains("API key"), "{method} {path}");
    }
    for path in ["/api/v0/user", KEYS, "/api/v0/auth/passkeys"] {
        assert_eq!(send(Method::GET, path, None).await.unwrap().status(), StatusCode::OK, "{path}");
    }
    // Nothing changed: one key, the name kept, the session alive.
    assert_eq!(list(&app, &session).await.len(), 1);
    let me: Value = app.get("/api/v0/user", Some(&session)).await.json().await.unwrap();
    assert_eq!((me["email"].as_str(), me["name"].as_str()), (Some(email.as_str()), Some("Test User")));
}
api_test!(a_key_cannot_mint_credentials_or_change_the_account);

async fn a_database_dump_holds_no_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, session) = app.signed_in().await;
    let mut keys = Vec::new();
    for description in ["one", "two"] {
        keys.push(
            create(&app, &session, json!({"description": description})).await["token"].as_str().unwrap().to_owned(),
        );
    }
    assert_eq!(app.get("/api/v0/user", Some(&keys[0])).await.status(), StatusCode::OK);
    let dump = crate::secrets::dump(&app).await;
    assert!(dump.contains("two"), "the dump holds the keys' rows");
    for key in &keys {
        assert!(!dump.contains(key.as_str()) && !dump.contains(&key[4..24]), "a key is stored in the clear");
    }
}
api_test!(a_database_dump_holds_no_key);
