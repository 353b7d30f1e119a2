//! Limits that hold whoever asks: long polls held per client address and in
//! all, long polls counted from their start, and what one session may start.

use crate::api_test;
use crate::helpers::{assert_error, nonce, spawn_app, spawn_app_with, Backend, TestApp};
use crate::network::client_from;
use harmont_server::rate_limit::Rate;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

const CLAIM: &str = "/api/v0/auth/cli/claim";

/// A claim held with `Prefer: wait=30` from `http`'s address.
fn long_poll(app: &TestApp, http: &reqwest::Client) -> tokio::task::JoinHandle<reqwest::Response> {
    let request = http.post(app.url(CLAIM)).header("Prefer", "wait=30").json(&json!({"nonce": nonce()}));
    tokio::spawn(async move { request.send().await.unwrap() })
}

async fn until_held(app: &TestApp, count: usize) {
    tokio::time::timeout(Duration::from_secs(30), async {
        while app.service.cli_login().held_long_polls() != count {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{} held, expected {count}", app.service.cli_login().held_long_polls()));
}

/// Issue 14 #5: the 33rd long poll from one address is refused at once while
/// another address is still served, and a slot a client gives up is reusable.
async fn long_polls_are_capped_per_address(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut held: Vec<_> = (0..32).map(|_| long_poll(&app, &app.http)).collect();
    until_held(&app, 32).await;

    let response = long_poll(&app, &app.http).await.unwrap();
    assert!(response.headers().contains_key("retry-after"));
    let body = assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert!(body["error"]["message"].as_str().unwrap().contains("Too many logins are waiting"), "{body}");

    let other = client_from("127.0.0.2");
    let _elsewhere = long_poll(&app, &other);
    until_held(&app, 33).await;

    // A client that goes away gives its slot back.
    held.pop().unwrap().abort();
    until_held(&app, 32).await;
    let _again = long_poll(&app, &app.http);
    until_held(&app, 33).await;
}
api_test!(long_polls_are_capped_per_address);

async fn long_polls_are_capped_overall(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.max_long_polls = 2).await;
    let _held = [long_poll(&app, &client_from("127.0.0.2")), long_poll(&app, &client_from("127.0.0.3"))];
    until_held(&app, 2).await;
    let response = long_poll(&app, &client_from("127.0.0.4")).await.unwrap();
    let body = assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert!(body["error"]["message"].as_str().unwrap().contains("waiting on this server"), "{body}");
}
api_test!(long_polls_are_capped_overall);

/// A long poll counts against the failed-claim limit when it starts, not
/// when it times out; one that gets its token is forgiven.
async fn a_long_poll_counts_against_the_limit_from_its_start(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.claim_failures = Rate { burst: 3, refill_every: Duration::from_secs(3600) };
    })
    .await;
    let (_, token) = app.signed_in().await;
    let nonce = nonce();
    let winner = {
        let request = app.http.post(app.url(CLAIM)).header("Prefer", "wait=30").json(&json!({"nonce": nonce}));
        tokio::spawn(async move { request.send().await.unwrap() })
    };
    let _held = [long_poll(&app, &app.http), long_poll(&app, &app.http)];
    until_held(&app, 3).await;
    let response = long_poll(&app, &app.http).await.unwrap();
    assert_eq!(response.headers()["retry-after"], "3600");
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

    let response = app.post_json("/api/v0/auth/cli/transfer", Some(&token), json!({"nonce": nonce})).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(winner.await.unwrap().status(), StatusCode::OK);
    // The success gave its count back: one more claim is judged, not refused.
    let response = app.post_json(CLAIM, None, json!({"nonce": nonce})).await;
    assert_error(response, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
}
api_test!(a_long_poll_counts_against_the_limit_from_its_start);

/// Issue 14 #15: a signed-in session starts only so many codes, transfers
/// and passkey registrations; another session is not affected.
async fn what_a_session_starts_is_limited(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.session_starts = Rate { burst: 3, refill_every: Duration::from_secs(3600) };
    })
    .await;
    // A fresh browser sign-in, which may register passkeys (issue 14 #2).
    let email = app.add_user().await;
    let token = app.link_token_for(&email).await;
    let code = "/api/v0/auth/cli/code";
    assert_eq!(app.post_json(code, Some(&token), json!({})).await.status(), StatusCode::OK);
    let response = app.post_json("/api/v0/auth/cli/transfer", Some(&token), json!({"nonce": nonce()})).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app.post_json("/api/v0/auth/passkeys/register/start", Some(&token), json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);

    for path in [code, "/api/v0/auth/cli/transfer", "/api/v0/auth/passkeys/register/start"] {
        let body = if path.ends_with("transfer") { json!({"nonce": nonce()}) } else { json!({}) };
        let response = app.post_json(path, Some(&token), body).await;
        assert_eq!(response.headers()["retry-after"], "3600", "{path}");
        let body = assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
        assert!(body["error"]["message"].as_str().unwrap().contains("this session"), "{body}");
    }

    let other = app.token_for(&email).await;
    assert_eq!(app.post_json(code, Some(&other), json!({})).await.status(), StatusCode::OK);
}
api_test!(what_a_session_starts_is_limited);
