//! The short approval (issue 11, item 8): a terminal registers its login
//! under its verification code (`device`); a signed-in user types the code on
//! `/cli-login/device` (`device/inspect`, then `device/approve`); the
//! terminal claims as after any approval, with the verifier of its PKCE
//! challenge. The long URL keeps working for the same login.

use crate::api_test;
use crate::helpers::{assert_error, nonce, spawn_app, Backend, TestApp};
use harmont_wire::pkce::CodeVerifier;
use harmont_wire::verification::verification_code;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

const DEVICE: &str = "/api/v0/auth/cli/device";
const INSPECT: &str = "/api/v0/auth/cli/device/inspect";
const APPROVE: &str = "/api/v0/auth/cli/device/approve";
const CLAIM: &str = "/api/v0/auth/cli/claim";

async fn start(app: &TestApp, nonce: &str, verifier: &CodeVerifier) -> Value {
    let body = json!({"nonce": nonce, "code_challenge": verifier.challenge(), "host": "vm"});
    let response = app.post_json(DEVICE, None, body).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn a_typed_code_approves_the_terminal_bound_to_its_verifier(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = app.signed_in().await;
    let nonce = nonce();
    let verifier = CodeVerifier::generate();

    let started = start(&app, &nonce, &verifier).await;
    let code = verification_code(&nonce);
    assert_eq!(started["user_code"], code.as_str(), "the verification code doubles as the user code");
    let port = app.base.rsplit(':').next().unwrap();
    assert_eq!(started["verification_uri"], format!("http://localhost:{port}/cli-login/device"));
    assert_eq!(started["expires_in"], 600);

    // Typed as a person types: lower case, no dash.
    let typed = code.replace('-', " ").to_lowercase();
    let response = app.post_json(INSPECT, Some(&token), json!({"user_code": typed})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let seen: Value = response.json().await.unwrap();
    assert_eq!(seen["user_code"], code.as_str());
    assert_eq!(seen["host"], "vm");
    assert_eq!(seen["requested_from"], "127.0.0.1");
    assert_eq!(seen["your_address"], "127.0.0.1");
    assert_eq!(seen["state"], "unseen");
    // The terminal starts claiming: waiting.
    let claim = |verifier: Option<&str>| {
        let mut body = json!({"nonce": nonce});
        if let Some(v) = verifier {
            body["code_verifier"] = json!(v);
        }
        app.post_json(CLAIM, None, body)
    };
    assert_error(claim(Some(verifier.expose())).await, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
    let seen: Value = app.post_json(INSPECT, Some(&token), json!({"user_code": code})).await.json().await.unwrap();
    assert_eq!(seen["state"], "waiting");

    let response = app.post_json(APPROVE, Some(&token), json!({"user_code": typed})).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // Bound to the terminal by PKCE: the nonce alone gets nothing.
    assert_error(claim(None).await, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
    let response = claim(Some(verifier.expose())).await;
    assert_eq!(response.status(), StatusCode::OK);
    let session: Value = response.json().await.unwrap();
    let me = app.get("/api/v0/user", Some(session["token"].as_str().unwrap())).await;
    assert_eq!(me.status(), StatusCode::OK);

    // Once: the code is spent.
    let again = app.post_json(APPROVE, Some(&token), json!({"user_code": code})).await;
    assert_error(again, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
    let looked = app.post_json(INSPECT, Some(&token), json!({"user_code": code})).await;
    assert_error(looked, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
}
api_test!(a_typed_code_approves_the_terminal_bound_to_its_verifier);

async fn the_long_url_still_works_and_codes_expire(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = app.signed_in().await;

    // Registered for the short approval, approved through the long URL's transfer.
    let nonce = nonce();
    let verifier = CodeVerifier::generate();
    start(&app, &nonce, &verifier).await;
    let body = json!({"nonce": nonce, "code_challenge": verifier.challenge()});
    assert_eq!(app.post_json("/api/v0/auth/cli/transfer", Some(&token), body).await.status(), StatusCode::NO_CONTENT);
    let claimed = app.post_json(CLAIM, None, json!({"nonce": nonce, "code_verifier": verifier.expose()})).await;
    assert_eq!(claimed.status(), StatusCode::OK);
    // Its code then finds an approved or collected login, never a second grant.
    let code = verification_code(&nonce);
    let approve = app.post_json(APPROVE, Some(&token), json!({"user_code": code})).await;
    assert_error(approve, StatusCode::CONFLICT, "nonce_in_use").await;

    // A code works for 10 minutes, as long as the CLI waits.
    let nonce = crate::helpers::nonce();
    start(&app, &nonce, &CodeVerifier::generate()).await;
    app.advance(Duration::from_secs(601));
    let code = verification_code(&nonce);
    let response = app.post_json(INSPECT, Some(&token), json!({"user_code": code})).await;
    assert_error(response, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
    let response = app.post_json(APPROVE, Some(&token), json!({"user_code": code})).await;
    assert_error(response, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
}
api_test!(the_long_url_still_works_and_codes_expire);

async fn refuses_what_it_must(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = app.signed_in().await;
    let verifier = CodeVerifier::generate();
    let challenge = verifier.challenge();

    let weak = app.post_json(DEVICE, None, json!({"nonce": "a".repeat(43), "code_challenge": challenge})).await;
    assert_error(weak, StatusCode::BAD_REQUEST, "nonce_invalid").await;
    let bad = app.post_json(DEVICE, None, json!({"nonce": nonce(), "code_challenge": "short"})).await;
    assert_error(bad, StatusCode::BAD_REQUEST, "code_challenge_invalid").await;
    let missing = app.post_json(DEVICE, None, json!({"nonce": nonce()})).await;
    assert_error(missing, StatusCode::BAD_REQUEST, "invalid_request").await;

    // The same code twice while the first is live: the second terminal keeps its long URL.
    let nonce = nonce();
    start(&app, &nonce, &verifier).await;
    let twice = app.post_json(DEVICE, None, json!({"nonce": nonce, "code_challenge": challenge})).await;
    assert_error(twice, StatusCode::CONFLICT, "nonce_in_use").await;

    // The page's calls need a session, not an API key, and a code that waits.
    let code = verification_code(&nonce);
    for path in [INSPECT, APPROVE] {
        assert_error(
            app.post_json(path, None, json!({"user_code": code})).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        )
        .await;
        for typed in ["ZZZZ-ZZZZ", "not a code", ""] {
            let response = app.post_json(path, Some(&token), json!({"user_code": typed})).await;
            assert_error(response, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
        }
    }
    let created = app
        .post_json("/api/v0/user/api-tokens", Some(&token), json!({"description": "CI"}))
        .await
        .json::<Value>()
        .await
        .unwrap();
    let key = created["token"].as_str().unwrap();
    let response = app.post_json(APPROVE, Some(key), json!({"user_code": code})).await;
    assert_error(response, StatusCode::FORBIDDEN, "api_key_forbidden").await;
}
api_test!(refuses_what_it_must);

/// The three operations are in the OpenAPI document with their errors.
#[test]
fn is_documented() {
    let doc = serde_json::to_value(<harmont_server::http::openapi::ApiDoc as utoipa::OpenApi>::openapi()).unwrap();
    for (path, id, statuses) in [
        (DEVICE, "cliDevice", &["200", "400", "409", "413", "415", "429", "500"][..]),
        (INSPECT, "cliDeviceInspect", &["200", "400", "401", "403", "429", "500"]),
        (APPROVE, "cliDeviceApprove", &["204", "400", "401", "403", "409", "429", "500"]),
    ] {
        let op = &doc["paths"][path]["post"];
        assert_eq!(op["operationId"], id);
        for status in statuses {
            assert!(op["responses"][status].is_object(), "{id} lacks {status}");
        }
    }
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["CliDeviceRequest"]["required"], json!(["nonce", "code_challenge"]));
}

/// Found by schemathesis: the host is only shown on the page, so an odd one
/// never refuses a login (the document promised a limit the server did not
/// keep); control characters are dropped and it is cut to 255 characters.
async fn an_odd_host_name_is_cleaned_and_cut_not_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = app.signed_in().await;
    let nonce = nonce();
    let verifier = CodeVerifier::generate();
    let host = format!("\tê%ÿ\u{1b}[31m{}", "*".repeat(300));
    let body = json!({"nonce": nonce, "code_challenge": verifier.challenge(), "host": host});
    let response = app.post_json(DEVICE, None, body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let started: Value = response.json().await.unwrap();
    let response = app.post_json(INSPECT, Some(&token), json!({"user_code": started["user_code"]})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let seen: Value = response.json().await.unwrap();
    let shown = seen["host"].as_str().unwrap();
    assert_eq!(shown.chars().count(), 255);
    assert!(shown.starts_with("ê%ÿ[31m***"), "{shown}");
}
api_test!(an_odd_host_name_is_cleaned_and_cut_not_refused);
