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
    for bad in ["a".repeat(21), "a".repeat(257), format!("{}+/=", "a".repeat(22)), String::new()] {
        let response = app.post_json(TRANSFER, Some(&token), json!({"nonce": bad})).await;
        let body = assert_error(response, StatusCode::BAD_REQUEST, "nonce_invalid").await;
        assert!(body["error"]["message"].as_str().unwrap().contains("nonce"), "{body}");
    }
    for fine in ["a".repeat(22), "a_-Z9".repeat(51)] {
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
