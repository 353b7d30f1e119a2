//! Issue 9, forward auth: `GET`/`HEAD /api/v0/auth/verify` as a reverse proxy
//! calls it on every request it forwards. `nginx.rs` puts a real nginx in front.

use crate::api_test;
use crate::helpers::{assert_error, spawn_app, Backend, TestApp};
use harmont_server::clock::Clock;
use reqwest::{Method, Response, StatusCode};
use std::time::Duration;

const VERIFY: &str = "/api/v0/auth/verify";

async fn verify(app: &TestApp, method: Method, token: Option<&str>) -> Response {
    let mut request = app.http.request(method, app.url(VERIFY));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

fn header<'r>(response: &'r Response, name: &str) -> Option<&'r str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

/// The user's id, email, the token's kind and the session's id, in headers, with an empty body.
async fn a_session_token_is_answered_200_with_who_it_is(backend: Backend) {
    let app = spawn_app(backend).await;
    let (email, token) = app.signed_in().await;
    let user = app.service.users().user_by_email(&email).await.unwrap().unwrap();
    let session = app.store.list_sessions(user.id, app.clock.now()).await.unwrap().remove(0);
    for method in [Method::GET, Method::HEAD] {
        let response = verify(&app, method.clone(), Some(&token)).await;
        assert_eq!(response.status(), StatusCode::OK, "{method}");
        assert_eq!(header(&response, "x-harmont-user-id"), Some(user.id.to_string().as_str()));
        assert_eq!(header(&response, "x-harmont-user-email"), Some(email.as_str()));
        assert_eq!(header(&response, "x-harmont-token-kind"), Some("session"));
        assert_eq!(header(&response, "x-harmont-session-id"), Some(session.id.to_string().as_str()));
        assert_eq!(header(&response, "cache-control"), Some("no-store"), "a proxy must not cache the answer");
        assert!(response.bytes().await.unwrap().is_empty(), "{method}: the body is empty");
    }
}
api_test!(a_session_token_is_answered_200_with_who_it_is);

async fn an_api_key_is_answered_200_as_an_api_key_without_a_session_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let (email, session) = app.signed_in().await;
    let (key, _) = app.api_key_for(&session, None).await;
    let user = app.service.users().user_by_email(&email).await.unwrap().unwrap();
    let response = verify(&app, Method::GET, Some(&key)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "x-harmont-user-id"), Some(user.id.to_string().as_str()));
    assert_eq!(header(&response, "x-harmont-user-email"), Some(email.as_str()));
    assert_eq!(header(&response, "x-harmont-token-kind"), Some("api_key"));
    assert_eq!(header(&response, "x-harmont-session-id"), None);
    assert!(response.bytes().await.unwrap().is_empty());
}
api_test!(an_api_key_is_answered_200_as_an_api_key_without_a_session_id);

/// No token: a bare challenge. A token that is not live: `error="invalid_token"`.
async fn anything_but_a_live_token_is_a_401_envelope_with_the_bearer_challenge(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, session) = app.signed_in().await;
    let expires_at = time::OffsetDateTime::from_unix_timestamp(app.clock.now() / 1000 + 3600)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (expiring_key, _) = app.api_key_for(&session, Some(&expires_at)).await;
    let (_, expiring_session) = app.signed_in().await;
    let (_, logged_out) = app.signed_in().await;
    let response = app.http.post(app.url("/api/v0/auth/logout")).bearer_auth(&logged_out).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let response = verify(&app, Method::GET, None).await;
    assert_eq!(header(&response, "www-authenticate"), Some("Bearer realm=\"harmont\""));
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let response = app.http.get(app.url(VERIFY)).header("authorization", "Basic YTpi").send().await.unwrap();
    assert_eq!(header(&response, "www-authenticate"), Some("Bearer realm=\"harmont\", error=\"invalid_token\""));
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let unknown = harmont_wire::token::SessionToken::generate().expose().to_owned();
    let unknown_key = harmont_wire::token::ApiKey::generate().expose().to_owned();
    let mut mistyped = session.clone();
    mistyped.replace_range(10..11, if &session[10..11] == "a" { "b" } else { "a" });
    app.advance(Duration::from_secs(3600));
    let expired_key = expiring_key;
    app.advance(Duration::from_secs(30 * 24 * 3600));
    let expired_session = expiring_session;
    for (what, token) in [
        ("malformed", "not-a-token"),
        ("mistyped", mistyped.as_str()),
        ("unknown session token", unknown.as_str()),
        ("unknown API key", unknown_key.as_str()),
        ("expired API key", expired_key.as_str()),
        ("expired session", expired_session.as_str()),
        ("logged out", logged_out.as_str()),
    ] {
        let response = verify(&app, Method::GET, Some(token)).await;
        assert_eq!(
            header(&response, "www-authenticate"),
            Some("Bearer realm=\"harmont\", error=\"invalid_token\""),
            "{what}"
        );
        assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
        let head = verify(&app, Method::HEAD, Some(token)).await;
        assert_eq!(head.status(), StatusCode::UNAUTHORIZED, "HEAD, {what}");
        assert!(head.headers().contains_key("www-authenticate"), "HEAD, {what}");
    }
}
api_test!(anything_but_a_live_token_is_a_401_envelope_with_the_bearer_challenge);

/// The bearer cache serves it, and a revocation drops the cached answer at once.
async fn a_token_revoked_a_moment_ago_is_refused_though_it_was_just_cached(backend: Backend) {
    let app = crate::helpers::spawn_app_with(backend, |s| s.auth_cache_ttl = Duration::from_secs(3600)).await;
    let (_, token) = app.signed_in().await;
    let (key, key_id) = app.api_key_for(&token, None).await;
    for _ in 0..3 {
        assert_eq!(verify(&app, Method::GET, Some(&token)).await.status(), StatusCode::OK);
        assert_eq!(verify(&app, Method::GET, Some(&key)).await.status(), StatusCode::OK);
    }
    let revoked = app.http.delete(app.url(&format!("/api/v0/user/api-tokens/{key_id}"))).bearer_auth(&token);
    assert_eq!(revoked.send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_error(verify(&app, Method::GET, Some(&key)).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let logout = app.http.post(app.url("/api/v0/auth/logout")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert_error(verify(&app, Method::GET, Some(&token)).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
}
api_test!(a_token_revoked_a_moment_ago_is_refused_though_it_was_just_cached);

/// A proxy sends every request's check from its own address: failures there
/// are never limited (unlike `claim` and `redeem`), so one client's garbage
/// cannot lock the proxy's other users out.
async fn failures_from_one_address_are_never_rate_limited(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = app.signed_in().await;
    for _ in 0..400 {
        let unknown = harmont_wire::token::SessionToken::generate();
        let response = verify(&app, Method::GET, Some(unknown.expose())).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    for _ in 0..100 {
        assert_eq!(verify(&app, Method::GET, Some("garbage")).await.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(verify(&app, Method::GET, Some(&token)).await.status(), StatusCode::OK);
}
api_test!(failures_from_one_address_are_never_rate_limited);

/// nginx's `auth_request` asks with the original request's method; Envoy's
/// `ext_authz` with its method and its path appended to the prefix. The body
/// is never read. TRACE and OPTIONS are refused (the OpenAPI document lists
/// the six methods, and schemathesis holds the server to it).
async fn every_resource_method_and_any_path_below_are_answered_alike(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token) = app.signed_in().await;
    for (method, path) in [
        (Method::POST, VERIFY.to_owned()),
        (Method::DELETE, VERIFY.to_owned()),
        (Method::PUT, format!("{VERIFY}/orders/42?page=2")),
        (Method::GET, format!("{VERIFY}/")),
    ] {
        let request = app.http.request(method.clone(), app.url(&path)).bearer_auth(&token).body("{\"not\": \"read\"}");
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{method} {path}");
        assert_eq!(header(&response, "x-harmont-token-kind"), Some("session"));
        let refused = app.http.request(method.clone(), app.url(&path)).send().await.unwrap();
        assert_error(refused, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    // Not a method a proxied request for a resource has.
    for method in [Method::TRACE, Method::OPTIONS] {
        let response = app.http.request(method, app.url(VERIFY)).bearer_auth(&token).send().await.unwrap();
        assert_error(response, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    }
}
api_test!(every_resource_method_and_any_path_below_are_answered_alike);
