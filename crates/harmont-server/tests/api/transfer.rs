//! `POST /api/v0/auth/cli/transfer`.

use crate::api_test;
use crate::helpers::{assert_error, nonce, spawn_app, Backend};
use reqwest::StatusCode;
use serde_json::json;

const TRANSFER: &str = "/api/v0/auth/cli/transfer";
const CLAIM: &str = "/api/v0/auth/cli/claim";

async fn parks_a_fresh_token_that_claim_collects(backend: Backend) {
    let app = spawn_app(backend).await;
    let (email, token) = app.signed_in().await;
    let nonce = nonce();

    let response = app.post_json(TRANSFER, Some(&token), json!({"nonce": nonce})).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().await.unwrap().is_empty());

    let response = app.post_json(CLAIM, None, json!({"nonce": nonce})).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    let claimed = body["token"].as_str().unwrap();
    assert_ne!(claimed, token, "transfer mints a fresh token, never the caller's");
    assert_eq!(body.as_object().unwrap().len(), 1);

    let me = app.client().with_token(claimed).current_user().await.unwrap();
    assert_eq!(me.email, email);
}
api_test!(parks_a_fresh_token_that_claim_collects);

async fn requires_a_valid_bearer(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = json!({"nonce": nonce()});

    let response = app.post_json(TRANSFER, None, body.clone()).await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer realm=\"harmont\"");
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let response = app.post_json(TRANSFER, Some("hms_not-a-token"), body).await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer realm=\"harmont\", error=\"invalid_token\"");
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
}
api_test!(requires_a_valid_bearer);

async fn refuses_weak_or_malformed_nonces(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = app.signed_in().await;
    let varied = "abcdefghABCDEFGH012345";
    for bad in ["a".repeat(21), "a_-Z9bcX".repeat(33), format!("{varied}+/="), String::new()] {
        let response = app.post_json(TRANSFER, Some(&token), json!({"nonce": bad})).await;
        let body = assert_error(response, StatusCode::BAD_REQUEST, "nonce_invalid").await;
        assert!(body["error"]["message"].as_str().unwrap().contains("nonce"), "{body}");
    }
    // Issue 14, item 12: 22 x "a" was accepted. Too little variety is refused, saying why.
    for weak in ["a".repeat(22), "ab".repeat(16), format!("{varied}{}", "x".repeat(8))] {
        let response = app.post_json(TRANSFER, Some(&token), json!({"nonce": weak})).await;
        let body = assert_error(response, StatusCode::BAD_REQUEST, "nonce_invalid").await;
        assert_eq!(
            body["error"]["message"],
            "the nonce must be random: it needs at least 8 different characters and may not repeat one character \
             more than 7 times in a row",
            "{weak}"
        );
    }
    for fine in [varied.to_owned(), "a_-Z9bcX".repeat(32)] {
        let response = app.post_json(TRANSFER, Some(&token), json!({"nonce": fine})).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{fine}");
    }
}
api_test!(refuses_weak_or_malformed_nonces);

async fn a_second_transfer_onto_a_parked_nonce_conflicts_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (first_email, first) = app.signed_in().await;
    let (_, second) = app.signed_in().await;
    let nonce = nonce();

    assert_eq!(app.post_json(TRANSFER, Some(&first), json!({"nonce": nonce})).await.status(), StatusCode::NO_CONTENT);
    let response = app.post_json(TRANSFER, Some(&second), json!({"nonce": nonce})).await;
    assert_error(response, StatusCode::CONFLICT, "nonce_in_use").await;

    let response = app.post_json(CLAIM, None, json!({"nonce": nonce})).await;
    let token = response.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    assert_eq!(app.client().with_token(token).current_user().await.unwrap().email, first_email);
}
api_test!(a_second_transfer_onto_a_parked_nonce_conflicts_and_changes_nothing);

async fn a_bad_body_is_a_400_envelope(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = app.signed_in().await;
    for body in [json!({}), json!({"nonce": 42}), json!("nonce"), json!(null)] {
        let response = app.post_json(TRANSFER, Some(&token), body.clone()).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    let response = app
        .http
        .post(app.url(TRANSFER))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"nonce\": ")
        .send()
        .await
        .unwrap();
    let body = assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    assert_eq!(body["error"]["message"], "the body is not well-formed JSON");
}
api_test!(a_bad_body_is_a_400_envelope);

async fn a_code_challenge_must_be_s256_shaped(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = app.signed_in().await;
    let response = app.post_json(TRANSFER, Some(&token), json!({"nonce": nonce(), "code_challenge": "plain"})).await;
    assert_error(response, StatusCode::BAD_REQUEST, "code_challenge_invalid").await;
}
api_test!(a_code_challenge_must_be_s256_shaped);

async fn transfer(app: &crate::helpers::TestApp, token: &str, nonce: &str) -> reqwest::Response {
    app.post_json(TRANSFER, Some(token), json!({"nonce": nonce})).await
}

/// Issue 14, item 12: a nonce could be parked again once its grant was
/// claimed or had expired. A spent nonce stays reserved for one more transfer
/// window after its grant expires.
async fn a_claimed_nonce_cannot_be_parked_again_for_a_window(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = app.signed_in().await;
    let nonce = nonce();
    assert_eq!(transfer(&app, &token, &nonce).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.post_json(CLAIM, None, json!({"nonce": nonce})).await.status(), StatusCode::OK);

    let body = assert_error(transfer(&app, &token, &nonce).await, StatusCode::CONFLICT, "nonce_in_use").await;
    assert_eq!(
        body["error"]["message"],
        "This nonce is taken: a login is waiting under it or used it moments ago. Start a new login."
    );
    app.advance(std::time::Duration::from_secs(119));
    assert_error(transfer(&app, &token, &nonce).await, StatusCode::CONFLICT, "nonce_in_use").await;
    let response = app.post_json(CLAIM, None, json!({"nonce": nonce})).await;
    assert_error(response, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
    // Two windows after it was parked, it is free again.
    app.advance(std::time::Duration::from_secs(1));
    assert_eq!(transfer(&app, &token, &nonce).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.post_json(CLAIM, None, json!({"nonce": nonce})).await.status(), StatusCode::OK);
}
api_test!(a_claimed_nonce_cannot_be_parked_again_for_a_window);

async fn an_expired_nonce_cannot_be_parked_again_for_a_window(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = app.signed_in().await;
    let nonce = nonce();
    assert_eq!(transfer(&app, &token, &nonce).await.status(), StatusCode::NO_CONTENT);
    app.advance(std::time::Duration::from_secs(60));
    let response = app.post_json(CLAIM, None, json!({"nonce": nonce})).await;
    assert_error(response, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
    assert_error(transfer(&app, &token, &nonce).await, StatusCode::CONFLICT, "nonce_in_use").await;
    // A sweep keeps the reservation too.
    app.store.sweep(harmont_server::clock::Clock::now(&*app.clock), 0).await.unwrap();
    assert_error(transfer(&app, &token, &nonce).await, StatusCode::CONFLICT, "nonce_in_use").await;
    app.advance(std::time::Duration::from_secs(60));
    assert_eq!(transfer(&app, &token, &nonce).await.status(), StatusCode::NO_CONTENT, "after two windows");
}
api_test!(an_expired_nonce_cannot_be_parked_again_for_a_window);

/// Issue 14, item 11: a grant parked without a challenge was claimed with any
/// `code_verifier`. As OAuth 2.1 says, a verifier sent for such a grant is
/// refused without consuming it; without a verifier it works, as the
/// published CLI needs.
async fn a_verifier_for_a_grant_without_challenge_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (email, token) = app.signed_in().await;
    let verifier = harmont_wire::pkce::CodeVerifier::generate();

    let nonce = nonce();
    assert_eq!(transfer(&app, &token, &nonce).await.status(), StatusCode::NO_CONTENT);
    let downgrade = json!({"nonce": nonce, "code_verifier": verifier.expose()});
    let response = app.post_json(CLAIM, None, downgrade).await;
    assert_error(response, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
    let response = app.post_json(CLAIM, None, json!({"nonce": nonce})).await;
    assert_eq!(response.status(), StatusCode::OK, "the grant was not consumed");
    let claimed = response.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    assert_eq!(app.client().with_token(claimed).current_user().await.unwrap().email, email);

    let response = app.post_json("/api/v0/auth/cli/code", Some(&token), json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let code = response.json::<serde_json::Value>().await.unwrap()["code"].as_str().unwrap().to_owned();
    let downgrade = json!({"code": code, "code_verifier": verifier.expose()});
    let response = app.post_json("/api/v0/auth/cli/redeem", None, downgrade).await;
    assert_error(response, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
    let response = app.post_json("/api/v0/auth/cli/redeem", None, json!({"code": code})).await;
    assert_eq!(response.status(), StatusCode::OK, "the paste grant was not consumed");
}
api_test!(a_verifier_for_a_grant_without_challenge_is_refused);
