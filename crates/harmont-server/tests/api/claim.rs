//! `POST /api/v0/auth/cli/claim`: single use, the 60 s window, races, long
//! polling, PKCE and the failure limit.

use crate::api_test;
use crate::helpers::{assert_error, nonce, spawn_app, spawn_app_with, Backend, TestApp};
use harmont_server::rate_limit::Rate;
use harmont_wire::pkce::CodeVerifier;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

const TRANSFER: &str = "/api/v0/auth/cli/transfer";
const CLAIM: &str = "/api/v0/auth/cli/claim";

/// Sends a claim with `Prefer: wait=20` and returns once the server holds it,
/// so a transfer made next is answered by the wake-up, not the first attempt.
async fn hold_claim(app: &TestApp, nonce: &str) -> tokio::task::JoinHandle<reqwest::Response> {
    let (http, url, nonce) = (app.http.clone(), app.url(CLAIM), nonce.to_owned());
    let held = tokio::spawn(async move {
        http.post(url).header("Prefer", "wait=20").json(&json!({"nonce": nonce})).send().await.unwrap()
    });
    harmont_testkit::eventually("the claim to wait", async || {
        (app.service.cli_login().waiting_claims() > 0).then_some(())
    })
    .await;
    held
}

async fn is_single_use(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = app.signed_in().await;
    let nonce = nonce();
    app.post_json(TRANSFER, Some(&token), json!({"nonce": nonce})).await;

    assert_eq!(app.post_json(CLAIM, None, json!({"nonce": nonce})).await.status(), StatusCode::OK);
    let again = app.post_json(CLAIM, None, json!({"nonce": nonce})).await;
    let body = assert_error(again, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
    assert_eq!(body["error"]["type"], "invalid_request");
}
api_test!(is_single_use);

async fn unknown_or_pending_nonces_answer_cli_code_invalid(backend: Backend) {
    let app = spawn_app(backend).await;
    // Claim judges no nonce: short, odd and unknown ones all read as "not yet".
    for unknown in [nonce(), "x".into(), "∆∆∆".into(), "a".repeat(5000)] {
        let response = app.post_json(CLAIM, None, json!({"nonce": unknown})).await;
        assert_error(response, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
    }
}
api_test!(unknown_or_pending_nonces_answer_cli_code_invalid);

async fn the_window_is_sixty_seconds(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = app.signed_in().await;
    let (inside, edge) = (nonce(), nonce());
    app.post_json(TRANSFER, Some(&token), json!({"nonce": inside})).await;
    app.post_json(TRANSFER, Some(&token), json!({"nonce": edge})).await;

    app.advance(Duration::from_millis(59_999));
    assert_eq!(app.post_json(CLAIM, None, json!({"nonce": inside})).await.status(), StatusCode::OK);
    app.advance(Duration::from_millis(1));
    let response = app.post_json(CLAIM, None, json!({"nonce": edge})).await;
    assert_error(response, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
}
api_test!(the_window_is_sixty_seconds);

async fn concurrent_claims_have_exactly_one_winner(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = app.signed_in().await;
    let nonce = nonce();
    app.post_json(TRANSFER, Some(&token), json!({"nonce": nonce})).await;

    let attempts = (0..32).map(|_| {
        let (http, url, nonce) = (app.http.clone(), app.url(CLAIM), nonce.clone());
        tokio::spawn(async move { http.post(url).json(&json!({"nonce": nonce})).send().await.unwrap() })
    });
    let mut statuses = Vec::new();
    for response in futures::future::join_all(attempts).await {
        let response = response.unwrap();
        let status = response.status();
        if status != StatusCode::OK {
            assert_error(response, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
        }
        statuses.push(status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
}
api_test!(concurrent_claims_have_exactly_one_winner);

async fn a_long_poll_is_answered_the_moment_transfer_lands(backend: Backend) {
    // Re-reads of the store are pushed out of reach: only the wake-up can answer in time.
    let app = spawn_app_with(backend, |s| s.recheck_every = Duration::from_secs(3600)).await;
    let (email, token) = app.signed_in().await;
    let nonce = nonce();

    let waiting = hold_claim(&app, &nonce).await;
    app.post_json(TRANSFER, Some(&token), json!({"nonce": nonce})).await;

    let response = waiting.await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["preference-applied"], "wait=20");
    let claimed = response.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    assert_eq!(app.client().with_token(claimed).current_user().await.unwrap().email, email);
}
api_test!(a_long_poll_is_answered_the_moment_transfer_lands);

async fn a_long_poll_that_waits_out_answers_not_yet(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.max_wait = Duration::from_secs(1)).await;
    let response = app
        .http
        .post(app.url(CLAIM))
        .header("Prefer", "wait=600")
        .json(&json!({"nonce": nonce()}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["preference-applied"], "wait=1", "the wait is capped");
    assert_error(response, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
}
api_test!(a_long_poll_that_waits_out_answers_not_yet);

async fn a_long_poll_sees_a_transfer_made_on_another_replica(backend: Backend) {
    let app = spawn_app(backend).await;
    let replica = app.replica(|s| s.recheck_every = Duration::from_millis(100)).await;
    let (_, token) = app.signed_in().await;
    let nonce = nonce();

    let waiting = hold_claim(&replica, &nonce).await;
    app.post_json(TRANSFER, Some(&token), json!({"nonce": nonce})).await;
    assert_eq!(waiting.await.unwrap().status(), StatusCode::OK);
}
api_test!(a_long_poll_sees_a_transfer_made_on_another_replica);

async fn pkce_binds_the_claim_to_the_verifier(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = app.signed_in().await;
    let verifier = CodeVerifier::generate();
    let nonce = nonce();
    let body = json!({"nonce": nonce, "code_challenge": verifier.challenge()});
    assert_eq!(app.post_json(TRANSFER, Some(&token), body).await.status(), StatusCode::NO_CONTENT);

    for attempt in [json!({"nonce": nonce}), json!({"nonce": nonce, "code_verifier": "wrong"})] {
        let response = app.post_json(CLAIM, None, attempt).await;
        assert_error(response, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
    }
    // The failed attempts did not consume the grant.
    let response = app.post_json(CLAIM, None, json!({"nonce": nonce, "code_verifier": verifier.expose()})).await;
    assert_eq!(response.status(), StatusCode::OK);
}
api_test!(pkce_binds_the_claim_to_the_verifier);

async fn repeated_failures_are_limited_with_retry_after(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.claim_failures = Rate { burst: 3, refill_every: Duration::from_secs(3600) };
    })
    .await;
    for _ in 0..3 {
        let response = app.post_json(CLAIM, None, json!({"nonce": nonce()})).await;
        assert_error(response, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
    }
    let response = app.post_json(CLAIM, None, json!({"nonce": nonce()})).await;
    assert_eq!(response.headers()["retry-after"], "3600");
    let body = assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert_eq!(body["error"]["type"], "rate_limit");
}
api_test!(repeated_failures_are_limited_with_retry_after);

/// On Postgres a transfer on one replica wakes a claim held by another at
/// once (LISTEN/NOTIFY): the re-read is pushed out of reach here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_wakes_a_claim_held_by_another_replica() {
    let app = spawn_app(Backend::Postgres).await;
    let replica = app.replica(|s| s.recheck_every = Duration::from_secs(3600)).await;
    let (_, token) = app.signed_in().await;
    let nonce = nonce();
    let waiting = hold_claim(&replica, &nonce).await;
    app.post_json(TRANSFER, Some(&token), json!({"nonce": nonce})).await;
    let response = waiting.await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().starts_with("hms_"));
}

/// The published `hm` CLI, as the spec describes it: a 43-character nonce, no
/// PKCE, no `Prefer`, a claim every 750 ms that reads `400 cli_code_invalid`
/// as "not yet" and anything else as the end.
async fn the_published_cli_polling_at_750ms_gets_its_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let (email, token) = app.signed_in().await;
    let nonce = nonce();
    assert_eq!(nonce.len(), 43);

    let poller = {
        let (http, url, nonce) = (app.http.clone(), app.url(CLAIM), nonce.clone());
        tokio::spawn(async move {
            for attempt in 0..240 {
                let response = http.post(&url).json(&json!({"nonce": nonce})).send().await.unwrap();
                if response.status() == StatusCode::OK {
                    return (attempt, response.json::<serde_json::Value>().await.unwrap());
                }
                let body: serde_json::Value = response.json().await.unwrap();
                assert_eq!(body["error"]["code"], "cli_code_invalid", "anything else ends the published CLI's login");
                tokio::time::sleep(Duration::from_millis(750)).await;
            }
            panic!("no token within the published CLI's three minutes");
        })
    };
    // A few polls go unanswered first, as when the user takes a moment to click.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    app.post_json(TRANSFER, Some(&token), json!({"nonce": nonce})).await;
    let (attempts, body) = poller.await.unwrap();
    assert!(attempts >= 1, "the first polls were 'not yet'");
    let claimed = body["token"].as_str().unwrap();
    assert_eq!(app.client().with_token(claimed).current_user().await.unwrap().email, email);
}
api_test!(the_published_cli_polling_at_750ms_gets_its_token);
