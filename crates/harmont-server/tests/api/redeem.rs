//! `POST /api/v0/auth/cli/redeem`.

use crate::api_test;
use crate::helpers::{assert_error, spawn_app, spawn_app_with, Backend, TestApp};
use harmont_server::rate_limit::Rate;
use harmont_wire::pkce::CodeVerifier;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

const REDEEM: &str = "/api/v0/auth/cli/redeem";

async fn code_for(app: &TestApp, token: &str, challenge: Option<&str>) -> String {
    app.client().with_token(token).code(challenge).await.unwrap()
}

async fn redeems_once_for_the_codes_user(backend: Backend) {
    let app = spawn_app(backend).await;
    let (email, token) = app.signed_in().await;
    let code = code_for(&app, &token, None).await;

    let response = app.post_json(REDEEM, None, json!({"code": code})).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let claimed = response.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    assert_ne!(claimed, token);
    assert_eq!(app.client().with_token(claimed).current_user().await.unwrap().email, email);

    let again = app.post_json(REDEEM, None, json!({"code": code})).await;
    assert_error(again, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
}
api_test!(redeems_once_for_the_codes_user);

async fn forgives_case_spaces_dashes_and_confusables(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = app.signed_in().await;
    let code = code_for(&app, &token, None).await;
    let typed =
        format!(" {}-{} {} ", &code[..4], &code[4..8], &code[8..]).to_lowercase().replace('0', "o").replace('1', "l");
    let response = app.post_json(REDEEM, None, json!({"code": typed})).await;
    assert_eq!(response.status(), StatusCode::OK, "{typed}");
}
api_test!(forgives_case_spaces_dashes_and_confusables);

async fn the_window_is_five_minutes(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = app.signed_in().await;
    let (inside, edge) = (code_for(&app, &token, None).await, code_for(&app, &token, None).await);
    app.advance(Duration::from_millis(5 * 60_000 - 1));
    assert_eq!(app.post_json(REDEEM, None, json!({"code": inside})).await.status(), StatusCode::OK);
    app.advance(Duration::from_millis(1));
    let response = app.post_json(REDEEM, None, json!({"code": edge})).await;
    assert_error(response, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
}
api_test!(the_window_is_five_minutes);

async fn unknown_or_malformed_codes_answer_cli_code_invalid(backend: Backend) {
    let app = spawn_app(backend).await;
    for typed in ["K7P2QR9MX3WZ4NTV", "", "short", "K7P2QR9MX3WZ4NTU", &"A".repeat(4000)] {
        let response = app.post_json(REDEEM, None, json!({"code": typed})).await;
        assert_error(response, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
    }
}
api_test!(unknown_or_malformed_codes_answer_cli_code_invalid);

async fn concurrent_redeems_have_exactly_one_winner(backend: Backend) {
    // 15 losers would meet the default failure limit (10), which is not what this tests.
    let app =
        spawn_app_with(backend, |s| s.redeem_failures = Rate { burst: 100, refill_every: Duration::from_secs(1) })
            .await;
    let (_, token) = app.signed_in().await;
    let code = code_for(&app, &token, None).await;
    let attempts = (0..16).map(|_| {
        let (http, url, code) = (app.http.clone(), app.url(REDEEM), code.clone());
        tokio::spawn(async move { http.post(url).json(&json!({"code": code})).send().await.unwrap().status() })
    });
    let statuses: Vec<StatusCode> = futures::future::join_all(attempts).await.into_iter().map(|s| s.unwrap()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::BAD_REQUEST), "{statuses:?}");
}
api_test!(concurrent_redeems_have_exactly_one_winner);

async fn pkce_binds_the_code_to_the_verifier(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = app.signed_in().await;
    let verifier = CodeVerifier::generate();
    let code = code_for(&app, &token, Some(&verifier.challenge())).await;
    for attempt in [json!({"code": code}), json!({"code": code, "code_verifier": "wrong"})] {
        assert_error(app.post_json(REDEEM, None, attempt).await, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
    }
    let response = app.post_json(REDEEM, None, json!({"code": code, "code_verifier": verifier.expose()})).await;
    assert_eq!(response.status(), StatusCode::OK);
}
api_test!(pkce_binds_the_code_to_the_verifier);

async fn guessing_is_limited(backend: Backend) {
    let app =
        spawn_app_with(backend, |s| s.redeem_failures = Rate { burst: 2, refill_every: Duration::from_secs(30) }).await;
    let (_, token) = app.signed_in().await;
    let code = code_for(&app, &token, None).await;
    for _ in 0..2 {
        let response = app.post_json(REDEEM, None, json!({"code": "0000000000000000"})).await;
        assert_error(response, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
    }
    // Past the limit even the right code is refused until Retry-After passes.
    let response = app.post_json(REDEEM, None, json!({"code": code})).await;
    assert_eq!(response.headers()["retry-after"], "30");
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}
api_test!(guessing_is_limited);
