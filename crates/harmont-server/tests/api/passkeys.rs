//! The passkey endpoints: ceremony options, refusals, list and delete. A full
//! registration and sign-in with a real authenticator is in the browser
//! tests (web-tests/), where Chromium's virtual authenticator signs.

use crate::api_test;
use crate::helpers::{assert_error, spawn_app, Backend};
use harmont_store::NewPasskey;
use reqwest::StatusCode;
use serde_json::{json, Value};

const SIGN_IN_START: &str = "/api/v0/auth/passkeys/sign-in/start";
const SIGN_IN_FINISH: &str = "/api/v0/auth/passkeys/sign-in/finish";
const REGISTER_START: &str = "/api/v0/auth/passkeys/register/start";
const REGISTER_FINISH: &str = "/api/v0/auth/passkeys/register/finish";
const LIST: &str = "/api/v0/auth/passkeys";

/// A credential shaped like the browser's, signed by nobody.
fn bogus_assertion() -> Value {
    json!({
        "id": "AAAA", "rawId": "AAAA", "type": "public-key", "extensions": {},
        "response": {"authenticatorData": "AAAA", "clientDataJSON": "AAAA", "signature": "AAAA", "userHandle": "AAAA"}
    })
}

async fn sign_in_offers_any_passkey_for_this_site(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.post_json(SIGN_IN_START, None, json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body["ceremony"].as_str().is_some_and(|c| c.len() == 43), "{body}");
    let options = &body["options"]["publicKey"];
    assert_eq!(options["rpId"], "localhost", "{body}");
    assert_eq!(options["userVerification"], "required");
    assert!(options["challenge"].as_str().is_some_and(|c| c.len() >= 43), "{body}");
    assert!(options["allowCredentials"].as_array().is_none_or(Vec::is_empty), "discoverable: {body}");
    assert!(body["options"].get("mediation").is_none(), "asked on a click, not by autofill");
}
api_test!(sign_in_offers_any_passkey_for_this_site);

async fn sign_in_refuses_unknown_ceremonies_and_bad_answers(backend: Backend) {
    let app = spawn_app(backend).await;
    let response =
        app.post_json(SIGN_IN_FINISH, None, json!({"ceremony": "nope", "credential": bogus_assertion()})).await;
    let body = assert_error(response, StatusCode::BAD_REQUEST, "passkey_invalid").await;
    assert_eq!(body["error"]["message"], "The passkey could not be verified.");

    let started: Value = app.post_json(SIGN_IN_START, None, json!({})).await.json().await.unwrap();
    let ceremony = started["ceremony"].as_str().unwrap();
    for credential in [bogus_assertion(), json!({"not": "a credential"})] {
        let response =
            app.post_json(SIGN_IN_FINISH, None, json!({"ceremony": ceremony, "credential": credential})).await;
        assert_error(response, StatusCode::BAD_REQUEST, "passkey_invalid").await;
    }
    let response = app.post_json(SIGN_IN_FINISH, None, json!({"ceremony": ceremony})).await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}
api_test!(sign_in_refuses_unknown_ceremonies_and_bad_answers);

async fn registration_is_for_the_signed_in_user(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_error(app.post_json(REGISTER_START, None, json!({})).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let (email, token) = app.signed_in().await;
    let response = app.post_json(REGISTER_START, Some(&token), json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let options = &body["options"]["publicKey"];
    assert_eq!(options["rp"]["id"], "localhost", "{body}");
    assert_eq!(options["user"]["name"], email);
    assert_eq!(options["user"]["displayName"], "Test User");
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required", "discoverable, so no email to type");
    assert_eq!(options["authenticatorSelection"]["userVerification"], "required");

    // Another user cannot finish it, and trying uses it up.
    let (_, other) = app.signed_in().await;
    let ceremony = body["ceremony"].as_str().unwrap();
    let finish = json!({"ceremony": ceremony, "credential": bogus_assertion()});
    let response = app.post_json(REGISTER_FINISH, Some(&other), finish.clone()).await;
    assert_error(response, StatusCode::BAD_REQUEST, "passkey_invalid").await;
    let response = app.post_json(REGISTER_FINISH, Some(&token), finish).await;
    assert_error(response, StatusCode::BAD_REQUEST, "passkey_invalid").await;
}
api_test!(registration_is_for_the_signed_in_user);

async fn list_and_delete_own_passkeys(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_error(app.get(LIST, None).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let (email, token) = app.signed_in().await;
    let (_, other) = app.signed_in().await;
    assert_eq!(app.get(LIST, Some(&token)).await.json::<Value>().await.unwrap(), json!({"passkeys": []}));

    let user = app.service.user_by_email(&email).await.unwrap().unwrap();
    let id = uuid::Uuid::new_v4();
    let created_at = 1_767_225_600_000;
    let passkey = NewPasskey {
        id,
        user_id: user.id,
        credential_id: vec![1, 2, 3],
        name: "Laptop".into(),
        data: "{}".into(),
        created_at,
    };
    app.service.store.create_passkey(passkey).await.unwrap();
    let listed: Value = app.get(LIST, Some(&token)).await.json().await.unwrap();
    assert_eq!(
        listed,
        json!({"passkeys": [{"id": id, "name": "Laptop", "created_at": "2026-01-01T00:00:00Z", "last_used_at": null}]})
    );

    let path = format!("{LIST}/{id}");
    let theirs = app.http.delete(app.url(&path)).bearer_auth(&other).send().await.unwrap();
    assert_error(theirs, StatusCode::NOT_FOUND, "passkey_not_found").await;
    let mine = app.http.delete(app.url(&path)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(mine.status(), StatusCode::NO_CONTENT);
    assert_eq!(mine.text().await.unwrap(), "");
    let again = app.http.delete(app.url(&path)).bearer_auth(&token).send().await.unwrap();
    assert_error(again, StatusCode::NOT_FOUND, "passkey_not_found").await;
    let garbage = app.http.delete(app.url(&format!("{LIST}/not-a-uuid"))).bearer_auth(&token).send().await.unwrap();
    assert_error(garbage, StatusCode::NOT_FOUND, "passkey_not_found").await;
    assert_eq!(app.get(LIST, Some(&token)).await.json::<Value>().await.unwrap(), json!({"passkeys": []}));
}
api_test!(list_and_delete_own_passkeys);

/// Each started sign-in stores a ceremony row without any credential, so
/// starts are limited per client address.
async fn sign_in_starts_are_limited_per_client(backend: Backend) {
    let app = crate::helpers::spawn_app_with(backend, |s| {
        s.sign_in_starts =
            harmont_server::rate_limit::Rate { burst: 2, refill_every: std::time::Duration::from_secs(60) };
    })
    .await;
    for _ in 0..2 {
        assert_eq!(app.post_json(SIGN_IN_START, None, json!({})).await.status(), StatusCode::OK);
    }
    let response = app.post_json(SIGN_IN_START, None, json!({})).await;
    assert_eq!(response.headers()["retry-after"], "60");
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}
api_test!(sign_in_starts_are_limited_per_client);
