//! `POST /api/v0/auth/cli/inspect`: where the terminal waiting for a login
//! connects from, for the approval page (issue 14, item 1).

use crate::api_test;
use crate::helpers::{assert_error, nonce, spawn_app, spawn_app_with, Backend};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

const INSPECT: &str = "/api/v0/auth/cli/inspect";
const CLAIM: &str = "/api/v0/auth/cli/claim";

async fn claim_from(app: &crate::helpers::TestApp, nonce: &str, forwarded_for: Option<&str>) {
    let mut request = app.http.post(app.url(CLAIM)).json(&json!({"nonce": nonce}));
    if let Some(xff) = forwarded_for {
        request = request.header("x-forwarded-for", xff);
    }
    let response = request.send().await.expect("claim");
    assert_error(response, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
}

async fn shows_the_address_the_claims_came_from(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = app.signed_in().await;
    let nonce = nonce();

    let response = app.post_json(INSPECT, Some(&token), json!({"nonce": nonce})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"claimed_from": null, "your_address": "127.0.0.1"}), "no claim seen yet");

    claim_from(&app, &nonce, None).await;
    let response = app.post_json(INSPECT, Some(&token), json!({"nonce": nonce})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"claimed_from": "127.0.0.1", "your_address": "127.0.0.1"}));

    // Another nonce's claims say nothing about this one.
    let response = app.post_json(INSPECT, Some(&token), json!({"nonce": crate::helpers::nonce()})).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["claimed_from"], Value::Null);

    // Forgotten once the transfer window has passed since the last claim.
    app.advance(Duration::from_secs(61));
    let response = app.post_json(INSPECT, Some(&token), json!({"nonce": nonce})).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["claimed_from"], Value::Null);
}
api_test!(shows_the_address_the_claims_came_from);

async fn a_claim_from_elsewhere_is_the_one_shown(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    let (_, token) = app.signed_in().await;
    let nonce = nonce();

    claim_from(&app, &nonce, None).await;
    claim_from(&app, &nonce, Some("203.0.113.7")).await;
    let response = app.post_json(INSPECT, Some(&token), json!({"nonce": nonce})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"claimed_from": "203.0.113.7", "your_address": "127.0.0.1"}));

    // The browser's address is its own, through the same trusted proxy.
    let response = app
        .http
        .post(app.url(INSPECT))
        .bearer_auth(&token)
        .header("x-forwarded-for", "198.51.100.2")
        .json(&json!({"nonce": nonce}))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["your_address"], "198.51.100.2");
    assert_eq!(body["claimed_from"], "127.0.0.1", "of several, one that is not the caller's");
}
api_test!(a_claim_from_elsewhere_is_the_one_shown);

async fn needs_a_bearer_and_a_well_formed_nonce(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.post_json(INSPECT, None, json!({"nonce": nonce()})).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let (_, token) = app.signed_in().await;
    for bad in ["a".repeat(21), "a".repeat(257), format!("{}+/=", "a".repeat(22)), String::new()] {
        let response = app.post_json(INSPECT, Some(&token), json!({"nonce": bad})).await;
        let body = assert_error(response, StatusCode::BAD_REQUEST, "nonce_invalid").await;
        assert!(body["error"]["message"].as_str().unwrap().contains("nonce"), "{body}");
    }
    let response = app.post_json(INSPECT, Some(&token), json!({})).await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}
api_test!(needs_a_bearer_and_a_well_formed_nonce);

/// The new operation is in the OpenAPI document, with its errors.
#[test]
fn is_documented() {
    let doc = serde_json::to_value(<harmont_server::http::openapi::ApiDoc as utoipa::OpenApi>::openapi()).unwrap();
    let op = &doc["paths"][INSPECT]["post"];
    assert_eq!(op["operationId"], "cliInspect");
    assert_eq!(op["security"], json!([{"bearer": []}]));
    for status in ["200", "400", "401", "413", "415", "500"] {
        assert!(op["responses"][status].is_object(), "inspect lacks {status}");
    }
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["CliInspectRequest"]["required"], json!(["nonce"]));
    let nonce = &schemas["CliInspectRequest"]["properties"]["nonce"];
    assert_eq!((nonce["minLength"].as_u64(), nonce["maxLength"].as_u64()), (Some(22), Some(256)));
    assert_eq!(nonce["pattern"], "^[A-Za-z0-9_-]+$");
    assert!(schemas["CliInspectResponse"]["properties"]["claimed_from"].is_object());
}
