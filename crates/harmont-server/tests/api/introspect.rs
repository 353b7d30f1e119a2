//! Issue 9, RFC 7662: `POST /api/v0/auth/introspect`, form-encoded, by a
//! resource-server client with HTTP Basic.

use crate::api_test;
use crate::helpers::{assert_error, spawn_app, spawn_app_with, Backend, TestApp};
use harmont_server::clock::Clock;
use harmont_server::rate_limit::Rate;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

const INTROSPECT: &str = "/api/v0/auth/introspect";

/// A registered client named `name` (made unique: tests share a Postgres
/// database): (id, secret).
pub async fn client(app: &TestApp, name: &str) -> (String, String) {
    client_named(app, &unique(name)).await
}

pub fn unique(name: &str) -> String {
    format!("{name}-{}", uuid::Uuid::new_v4().simple())
}

async fn client_named(app: &TestApp, name: &str) -> (String, String) {
    let (client, secret) = harmont_server::introspection::add_client(&*app.store, name, app.clock.now()).await.unwrap();
    (client.id.to_string(), secret.expose().to_owned())
}

async fn introspect(app: &TestApp, (id, secret): &(String, String), form: &[(&str, &str)]) -> Response {
    app.http.post(app.url(INTROSPECT)).basic_auth(id, Some(secret)).form(form).send().await.unwrap()
}

/// The whole body of a 200, after checking `Cache-Control`.
async fn answer(response: Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

fn seconds(millis: i64) -> i64 {
    millis.div_euclid(1000)
}

async fn a_live_session_token_is_active_with_whose_it_is(backend: Backend) {
    let app = spawn_app(backend).await;
    let gateway = client(&app, "gateway").await;
    let (email, token) = app.signed_in().await;
    let user = app.service.users().user_by_email(&email).await.unwrap().unwrap();
    let session = app.store.list_sessions(user.id, app.clock.now()).await.unwrap().remove(0);
    let body = answer(introspect(&app, &gateway, &[("token", &token)]).await).await;
    assert_eq!(
        body,
        json!({
            "active": true,
            "sub": user.id,
            "username": email,
            "token_type": "session",
            "iat": seconds(session.created_at),
            "exp": seconds(session.expires_at),
        })
    );
    assert_eq!(body["exp"].as_i64().unwrap() - body["iat"].as_i64().unwrap(), 30 * 24 * 3600);
}
api_test!(a_live_session_token_is_active_with_whose_it_is);

/// A key that never expires has no `exp`; `token_type_hint` changes nothing.
async fn a_live_api_key_is_active_as_an_api_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let gateway = client(&app, "gateway").await;
    let (email, session) = app.signed_in().await;
    let user = app.service.users().user_by_email(&email).await.unwrap().unwrap();
    let (forever, _) = app.api_key_for(&session, None).await;
    let in_an_hour = app.clock.now() + 3_600_000;
    let rfc3339 = harmont_server::clock::rfc3339(in_an_hour);
    let (brief, _) = app.api_key_for(&session, Some(&rfc3339)).await;

    for hint in [None, Some("access_token"), Some("refresh_token"), Some("nonsense")] {
        let mut form = vec![("token", forever.as_str())];
        form.extend(hint.map(|hint| ("token_type_hint", hint)));
        let body = answer(introspect(&app, &gateway, &form).await).await;
        assert_eq!(
            body,
            json!({"active": true, "sub": user.id, "username": email, "token_type": "api_key", "iat": seconds(app.clock.now())}),
            "hint {hint:?}"
        );
    }
    let body = answer(introspect(&app, &gateway, &[("token", &brief)]).await).await;
    assert_eq!(body["exp"], seconds(in_an_hour));
    assert_eq!(body["token_type"], "api_key");
}
api_test!(a_live_api_key_is_active_as_an_api_key);

/// Unknown, expired, revoked, malformed: exactly `{"active": false}`, never why.
async fn anything_but_a_live_token_is_exactly_inactive(backend: Backend) {
    let app = spawn_app(backend).await;
    let gateway = client(&app, "gateway").await;
    let (_, session) = app.signed_in().await;
    let (_, logged_out) = app.signed_in().await;
    let (_, expiring) = app.signed_in().await;
    let (key, key_id) = app.api_key_for(&session, None).await;
    let revoke = app.http.delete(app.url(&format!("/api/v0/user/api-tokens/{key_id}"))).bearer_auth(&session);
    assert_eq!(revoke.send().await.unwrap().status(), StatusCode::NO_CONTENT);
    let logout = app.http.post(app.url("/api/v0/auth/logout")).bearer_auth(&logged_out).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    app.advance(Duration::from_secs(30 * 24 * 3600));
    let unknown = harmont_wire::token::SessionToken::generate().expose().to_owned();
    let mut mistyped = session.clone();
    mistyped.replace_range(10..11, if &session[10..11] == "a" { "b" } else { "a" });
    for (what, token) in [
        ("unknown", unknown.as_str()),
        ("expired", expiring.as_str()),
        ("logged out", logged_out.as_str()),
        ("revoked key", key.as_str()),
        ("mistyped", mistyped.as_str()),
        ("malformed", "not a token"),
        ("empty", ""),
        ("a client secret", gateway.1.as_str()),
        ("a bearer header", &format!("Bearer {session}")),
    ] {
        let response = introspect(&app, &gateway, &[("token", token)]).await;
        let bytes = {
            assert_eq!(response.status(), StatusCode::OK, "{what}");
            assert_eq!(response.headers()["cache-control"], "no-store", "{what}");
            response.bytes().await.unwrap()
        };
        assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), json!({"active": false}), "{what}");
    }
}
api_test!(anything_but_a_live_token_is_exactly_inactive);

async fn a_token_revoked_a_moment_ago_is_inactive_though_it_was_just_looked_at(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.auth_cache_ttl = Duration::from_secs(3600)).await;
    let gateway = client(&app, "gateway").await;
    let (_, token) = app.signed_in().await;
    for _ in 0..3 {
        assert_eq!(answer(introspect(&app, &gateway, &[("token", &token)]).await).await["active"], true);
    }
    let logout = app.http.post(app.url("/api/v0/auth/logout")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert_eq!(answer(introspect(&app, &gateway, &[("token", &token)]).await).await, json!({"active": false}));
}
api_test!(a_token_revoked_a_moment_ago_is_inactive_though_it_was_just_looked_at);

/// No, unknown, wrong or removed client credentials: `401 invalid_client`
/// with the Basic challenge, and never a word about the token.
async fn without_valid_client_credentials_it_is_a_401_with_the_basic_challenge(backend: Backend) {
    let app = spawn_app(backend).await;
    let gateway = client(&app, "gateway").await;
    let removed_name = unique("removed");
    let removed = client_named(&app, &removed_name).await;
    assert!(app.store.remove_resource_client(&removed_name).await.unwrap());
    let (_, token) = app.signed_in().await;
    let other_secret = harmont_wire::token::ClientSecret::generate().expose().to_owned();
    let unknown_id = uuid::Uuid::new_v4().to_string();
    let form = [("token", token.as_str())];

    let mut attempts = vec![
        ("no credentials", app.http.post(app.url(INTROSPECT)).form(&form)),
        ("a bearer token", app.http.post(app.url(INTROSPECT)).bearer_auth(&token).form(&form)),
        ("removed client", app.http.post(app.url(INTROSPECT)).basic_auth(&removed.0, Some(&removed.1)).form(&form)),
        ("wrong secret", app.http.post(app.url(INTROSPECT)).basic_auth(&gateway.0, Some(&other_secret)).form(&form)),
        ("unknown id", app.http.post(app.url(INTROSPECT)).basic_auth(&unknown_id, Some(&gateway.1)).form(&form)),
        ("no secret", app.http.post(app.url(INTROSPECT)).basic_auth(&gateway.0, None::<&str>).form(&form)),
        ("garbage", app.http.post(app.url(INTROSPECT)).header("authorization", "Basic !!!").form(&form)),
    ];
    for (what, request) in attempts.drain(..) {
        let response = request.send().await.unwrap();
        assert_eq!(response.headers()["www-authenticate"], "Basic realm=\"harmont\"", "{what}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{what}");
        let body = assert_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
        assert!(!body.to_string().contains("active"), "{what}: {body}");
    }
    // The client authenticates before the body is read.
    let response = app.http.post(app.url(INTROSPECT)).json(&json!({"token": token})).send().await.unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}
api_test!(without_valid_client_credentials_it_is_a_401_with_the_basic_challenge);

/// Failed client authentications are limited per address, as redeem's are;
/// asking without credentials guesses nothing and is not counted.
async fn failed_client_authentications_are_limited_per_address(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.client_auth_failures = Rate { burst: 3, refill_every: Duration::from_secs(3600) }
    })
    .await;
    let gateway = client(&app, "gateway").await;
    let (_, token) = app.signed_in().await;
    let form = [("token", token.as_str())];
    for _ in 0..5 {
        let response = app.http.post(app.url(INTROSPECT)).form(&form).send().await.unwrap();
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
    }
    let wrong = (gateway.0.clone(), harmont_wire::token::ClientSecret::generate().expose().to_owned());
    for _ in 0..3 {
        assert_error(introspect(&app, &wrong, &form).await, StatusCode::UNAUTHORIZED, "invalid_client").await;
    }
    let limited = introspect(&app, &wrong, &form).await;
    assert!(limited.headers().contains_key("retry-after"));
    assert_error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // The limit is the address's: right credentials wait too.
    assert_error(introspect(&app, &gateway, &form).await, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}
api_test!(failed_client_authentications_are_limited_per_address);

async fn the_body_must_be_a_form_with_one_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let gateway = client(&app, "gateway").await;
    let (_, token) = app.signed_in().await;
    let post = || app.http.post(app.url(INTROSPECT)).basic_auth(&gateway.0, Some(&gateway.1));

    let missing = introspect(&app, &gateway, &[("token_type_hint", "access_token")]).await;
    assert_eq!(missing.headers()["cache-control"], "no-store");
    let body = assert_error(missing, StatusCode::BAD_REQUEST, "invalid_request").await;
    assert!(body["error"]["message"].as_str().unwrap().contains("\"token\""), "{body}");
    let twice = introspect(&app, &gateway, &[("token", &token), ("token", &token)]).await;
    assert_error(twice, StatusCode::BAD_REQUEST, "invalid_request").await;
    let json = post().json(&json!({"token": token})).send().await.unwrap();
    assert_error(json, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
    let empty = post().send().await.unwrap();
    assert_error(empty, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
    // Over the 16 KiB limit, small enough to sit in the socket buffers; a
    // client of its own, as the server closes the connection (see errors.rs).
    let huge = "a".repeat(20 * 1024);
    let alone = reqwest::Client::new().post(app.url(INTROSPECT)).basic_auth(&gateway.0, Some(&gateway.1));
    let too_large = alone.form(&[("token", &huge)]).send().await.unwrap();
    assert_error(too_large, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let get = app.http.get(app.url(INTROSPECT)).basic_auth(&gateway.0, Some(&gateway.1)).send().await.unwrap();
    assert_error(get, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    // Unknown fields are ignored (RFC 6749, 3.1) and a charset is fine.
    let extra = post()
        .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
        .body(format!("token={token}&scope=everything"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer(extra).await["active"], true);
}
api_test!(the_body_must_be_a_form_with_one_token);
