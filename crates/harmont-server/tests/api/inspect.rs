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
    assert_eq!(
        body,
        json!({"claimed_from": null, "your_address": "127.0.0.1", "state": "unseen"}),
        "no claim seen yet"
    );

    claim_from(&app, &nonce, None).await;
    let response = app.post_json(INSPECT, Some(&token), json!({"nonce": nonce})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"claimed_from": "127.0.0.1", "your_address": "127.0.0.1", "state": "waiting"}));

    // Another nonce's claims say nothing about this one.
    let response = app.post_json(INSPECT, Some(&token), json!({"nonce": crate::helpers::nonce()})).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["claimed_from"], Value::Null);

    // Forgotten once the claim memory (15 minutes) has passed since the last claim.
    app.advance(harmont_server::cli_login::seen::CLAIM_MEMORY + Duration::from_secs(1));
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
    assert_eq!(body, json!({"claimed_from": "203.0.113.7", "your_address": "127.0.0.1", "state": "waiting"}));

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

async fn state_of(app: &crate::helpers::TestApp, token: &str, nonce: &str) -> String {
    let response = app.post_json(INSPECT, Some(token), json!({"nonce": nonce})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["state"].as_str().unwrap().to_owned()
}

/// Issue 11, items 9 and 20: the page learns at once that a login was
/// collected, or that its terminal stopped asking (no Authorize then).
async fn tells_where_the_login_stands(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = app.signed_in().await;

    // Waiting, approved, collected.
    let nonce = nonce();
    assert_eq!(state_of(&app, &token, &nonce).await, "unseen");
    claim_from(&app, &nonce, None).await;
    assert_eq!(state_of(&app, &token, &nonce).await, "waiting");
    let response = app.post_json("/api/v0/auth/cli/transfer", Some(&token), json!({"nonce": nonce})).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(state_of(&app, &token, &nonce).await, "approved");
    let response = app.post_json(CLAIM, None, json!({"nonce": nonce})).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(state_of(&app, &token, &nonce).await, "collected");
    app.advance(Duration::from_secs(120));
    assert_eq!(state_of(&app, &token, &nonce).await, "collected", "still known minutes later");

    // A terminal that stopped asking: stopped once it has been quiet a while.
    let gone = crate::helpers::nonce();
    claim_from(&app, &gone, None).await;
    app.advance(harmont_server::cli_login::seen::STOPPED_AFTER - Duration::from_secs(1));
    assert_eq!(state_of(&app, &token, &gone).await, "waiting");
    app.advance(Duration::from_secs(2));
    assert_eq!(state_of(&app, &token, &gone).await, "stopped");
    // It asks again: waiting again.
    claim_from(&app, &gone, None).await;
    assert_eq!(state_of(&app, &token, &gone).await, "waiting");

    // A claim held open (the harmont CLI's long poll) is a terminal waiting,
    // however long it has been held.
    let held = crate::helpers::nonce();
    let request = app.http.post(app.url(CLAIM)).header("prefer", "wait=2").json(&json!({"nonce": held})).send();
    let pending = tokio::spawn(request);
    for _ in 0..200 {
        if state_of(&app, &token, &held).await == "waiting" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    app.advance(Duration::from_secs(60));
    // (The claim is counted as held a moment after it is first seen.)
    let mut state = String::new();
    for _ in 0..100 {
        state = state_of(&app, &token, &held).await;
        if state == "waiting" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(state, "waiting", "held open: still there");
    let response = pending.await.unwrap().unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
    assert_eq!(state_of(&app, &token, &held).await, "waiting", "the end of a held claim counts as seen");
    app.advance(harmont_server::cli_login::seen::STOPPED_AFTER + Duration::from_secs(1));
    assert_eq!(state_of(&app, &token, &held).await, "stopped");
}
api_test!(tells_where_the_login_stands);

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
    assert!(schemas["CliInspectResponse"]["required"].as_array().unwrap().contains(&json!("state")));
    let states = &schemas["LoginState"]["enum"];
    assert_eq!(states, &json!(["unseen", "waiting", "approved", "collected", "stopped"]), "{states}");
}
