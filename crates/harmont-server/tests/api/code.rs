//! `POST /api/v0/auth/cli/code`.

use crate::api_test;
use crate::helpers::{assert_error, spawn_app, spawn_app_with, Backend};
use harmont_wire::paste_code::ALPHABET;
use reqwest::StatusCode;
use serde_json::json;

const CODE: &str = "/api/v0/auth/cli/code";
const REDEEM: &str = "/api/v0/auth/cli/redeem";

async fn mints_a_16_character_code_with_no_body_needed(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = app.signed_in().await;
    // The published web page sends no body and no content type.
    let response = app.http.post(app.url(CODE)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    let code = body["code"].as_str().unwrap();
    assert_eq!(code.len(), 16);
    assert!(code.bytes().all(|b| ALPHABET.contains(&b)), "{code}");
    assert_eq!(body["expires_in"], 300, "the default paste window");
    assert_eq!(body.as_object().unwrap().len(), 2);
}
api_test!(mints_a_16_character_code_with_no_body_needed);

/// The page and the CLI show the window the operator configured, not a copy of the default.
async fn says_how_long_the_code_lasts_as_configured(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.paste_ttl = std::time::Duration::from_secs(90)).await;
    let (_, token) = app.signed_in().await;
    let response = app.http.post(app.url(CODE)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 90);
}
api_test!(says_how_long_the_code_lasts_as_configured);

async fn requires_a_valid_bearer(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.http.post(app.url(CODE)).send().await.unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
}
api_test!(requires_a_valid_bearer);

/// The challenge is optional: a code minted without one redeems on its own;
/// one minted with a challenge redeems only with its verifier; a malformed
/// challenge is refused.
async fn takes_an_optional_challenge(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = app.signed_in().await;
    let mint = async |body: serde_json::Value| {
        let response = app.post_json(CODE, Some(&token), body).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<serde_json::Value>().await.unwrap()["code"].as_str().unwrap().to_owned()
    };
    let redeem = |body: serde_json::Value| app.post_json(REDEEM, None, body);

    let unbound = mint(json!({})).await;
    let response = redeem(json!({"code": unbound})).await;
    assert_eq!(response.status(), StatusCode::OK, "without a challenge, the code alone redeems");

    let verifier = harmont_wire::pkce::CodeVerifier::generate();
    let bound = mint(json!({"code_challenge": verifier.challenge()})).await;
    let response = redeem(json!({"code": bound})).await;
    assert_error(response, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
    let response = redeem(json!({"code": bound, "code_verifier": verifier.expose()})).await;
    assert_eq!(response.status(), StatusCode::OK, "with a challenge, the code and its verifier redeem");

    let response = app.post_json(CODE, Some(&token), json!({"code_challenge": "nope"})).await;
    assert_error(response, StatusCode::BAD_REQUEST, "code_challenge_invalid").await;
}
api_test!(takes_an_optional_challenge);
