//! The passkey endpoints: ceremony options, refusals, list and delete, and
//! full ceremonies answered by a software authenticator ([`SoftPasskey`]).
//! The browser tests (web-tests/) do the same with Chromium's virtual one.

use crate::api_test;
use crate::helpers::{assert_error, spawn_app, Backend, SoftPasskey, TestApp};
use harmont_store::NewPasskey;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

const SIGN_IN_START: &str = "/api/v0/auth/passkeys/sign-in/start";
const SIGN_IN_FINISH: &str = "/api/v0/auth/passkeys/sign-in/finish";
const REGISTER_START: &str = "/api/v0/auth/passkeys/register/start";
const REGISTER_FINISH: &str = "/api/v0/auth/passkeys/register/finish";
const LIST: &str = "/api/v0/auth/passkeys";

/// A credential shaped like the browser's, signed by nobody.
fn bogus_assertion() -> Value {
    json!({
        "id": "AAAA", "rawId": "AAAA", "type": "public-key", "extensions": {},
        "response": {"authenticatorData": "AAAA", "clientDataJSON": "AAAA", "signature": "AAAA", "userHandle": "AAAA"}
    })
}

async fn sign_in_offers_any_passkey_for_this_site(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.post_json(SIGN_IN_START, None, json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body["ceremony"].as_str().is_some_and(|c| c.len() == 43), "{body}");
    let options = &body["options"]["publicKey"];
    assert_eq!(options["rpId"], "localhost", "{body}");
    assert_eq!(options["userVerification"], "required");
    assert!(options["challenge"].as_str().is_some_and(|c| c.len() >= 43), "{body}");
    assert!(options["allowCredentials"].as_array().is_none_or(Vec::is_empty), "discoverable: {body}");
    assert!(body["options"].get("mediation").is_none(), "asked on a click, not by autofill");
}
api_test!(sign_in_offers_any_passkey_for_this_site);

async fn sign_in_refuses_unknown_ceremonies_and_bad_answers(backend: Backend) {
    let app = spawn_app(backend).await;
    let response =
        app.post_json(SIGN_IN_FINISH, None, json!({"ceremony": "nope", "credential": bogus_assertion()})).await;
    let body = assert_error(response, StatusCode::BAD_REQUEST, "passkey_invalid").await;
    assert_eq!(body["error"]["message"], "The passkey could not be verified.");

    let started: Value = app.post_json(SIGN_IN_START, None, json!({})).await.json().await.unwrap();
    let ceremony = started["ceremony"].as_str().unwrap();
    for credential in [bogus_assertion(), json!({"not": "a credential"})] {
        let response =
            app.post_json(SIGN_IN_FINISH, None, json!({"ceremony": ceremony, "credential": credential})).await;
        assert_error(response, StatusCode::BAD_REQUEST, "passkey_invalid").await;
    }
    let response = app.post_json(SIGN_IN_FINISH, None, json!({"ceremony": ceremony})).await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}
api_test!(sign_in_refuses_unknown_ceremonies_and_bad_answers);

async fn registration_is_for_the_signed_in_user(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_error(app.post_json(REGISTER_START, None, json!({})).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let email = app.add_user().await;
    let token = app.link_token_for(&email).await;
    let response = app.post_json(REGISTER_START, Some(&token), json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let options = &body["options"]["publicKey"];
    assert_eq!(options["rp"]["id"], "localhost", "{body}");
    assert_eq!(options["user"]["name"], email);
    assert_eq!(options["user"]["displayName"], "Test User");
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required", "discoverable, so no email to type");
    assert_eq!(options["authenticatorSelection"]["userVerification"], "required");

    // Another user cannot finish it, and trying uses it up.
    let other = app.link_token_for(&app.add_user().await).await;
    let ceremony = body["ceremony"].as_str().unwrap();
    let finish = json!({"ceremony": ceremony, "credential": bogus_assertion()});
    let response = app.post_json(REGISTER_FINISH, Some(&other), finish.clone()).await;
    assert_error(response, StatusCode::BAD_REQUEST, "passkey_invalid").await;
    let response = app.post_json(REGISTER_FINISH, Some(&token), finish).await;
    assert_error(response, StatusCode::BAD_REQUEST, "passkey_invalid").await;
}
api_test!(registration_is_for_the_signed_in_user);

async fn list_and_delete_own_passkeys(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_error(app.get(LIST, None).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let email = app.add_user().await;
    let token = app.link_token_for(&email).await;
    let other = app.link_token_for(&app.add_user().await).await;
    assert_eq!(app.get(LIST, Some(&token)).await.json::<Value>().await.unwrap(), json!({"passkeys": []}));

    let user = app.service.users().user_by_email(&email).await.unwrap().unwrap();
    let id = uuid::Uuid::new_v4();
    let created_at = 1_767_225_600_000;
    let passkey = NewPasskey {
        id,
        user_id: user.id,
        credential_id: vec![1, 2, 3],
        name: "Laptop".into(),
        data: "{}".into(),
        created_at,
    };
    app.store.create_passkey(passkey).await.unwrap();
    let listed: Value = app.get(LIST, Some(&token)).await.json().await.unwrap();
    assert_eq!(
        listed,
        json!({"passkeys": [{"id": id, "name": "Laptop", "created_at": "2026-01-01T00:00:00Z", "last_used_at": null}]})
    );

    let path = format!("{LIST}/{id}");
    let theirs = app.http.delete(app.url(&path)).bearer_auth(&other).send().await.unwrap();
    assert_error(theirs, StatusCode::NOT_FOUND, "passkey_not_found").await;
    let mine = app.http.delete(app.url(&path)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(mine.status(), StatusCode::NO_CONTENT);
    assert_eq!(mine.text().await.unwrap(), "");
    let again = app.http.delete(app.url(&path)).bearer_auth(&token).send().await.unwrap();
    assert_error(again, StatusCode::NOT_FOUND, "passkey_not_found").await;
    let garbage = app.http.delete(app.url(&format!("{LIST}/not-a-uuid"))).bearer_auth(&token).send().await.unwrap();
    assert_error(garbage, StatusCode::NOT_FOUND, "passkey_not_found").await;
    assert_eq!(app.get(LIST, Some(&token)).await.json::<Value>().await.unwrap(), json!({"passkeys": []}));
}
api_test!(list_and_delete_own_passkeys);

/// Each started sign-in stores a ceremony row without any credential, so
/// starts are limited per client address.
async fn sign_in_starts_are_limited_per_client(backend: Backend) {
    let app = crate::helpers::spawn_app_with(backend, |s| {
        s.sign_in_starts =
            harmont_server::rate_limit::Rate { burst: 2, refill_every: std::time::Duration::from_secs(60) };
    })
    .await;
    for _ in 0..2 {
        assert_eq!(app.post_json(SIGN_IN_START, None, json!({})).await.status(), StatusCode::OK);
    }
    let response = app.post_json(SIGN_IN_START, None, json!({})).await;
    assert_eq!(response.headers()["retry-after"], "60");
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}
api_test!(sign_in_starts_are_limited_per_client);

async fn delete_passkey(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    app.http.delete(app.url(&format!("{LIST}/{id}"))).bearer_auth(token).send().await.unwrap()
}

async fn passkey_ids(app: &TestApp, token: &str) -> Vec<String> {
    let listed: Value = app.get(LIST, Some(token)).await.json().await.unwrap();
    listed["passkeys"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect()
}

async fn a_passkey_registers_and_signs_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = app.add_user().await;
    let link = app.link_token_for(&email).await;
    let mut authenticator = SoftPasskey::new();
    let id = app.register_passkey(&link, &mut authenticator, "Laptop").await;

    let token = app.passkey_sign_in(&mut authenticator).await;
    let me: Value = app.get("/api/v0/user", Some(&token)).await.json().await.unwrap();
    assert_eq!(me["email"], email);
    let listed: Value = app.get(LIST, Some(&token)).await.json().await.unwrap();
    assert_eq!(listed["passkeys"][0]["id"], id.as_str());
    assert_eq!(listed["passkeys"][0]["name"], "Laptop");
    assert!(listed["passkeys"][0]["last_used_at"].is_string(), "{listed}");
}
api_test!(a_passkey_registers_and_signs_in);

/// Issue 14, item 2: a stolen CLI token could plant the thief's passkey.
/// Adding or removing one needs a browser sign-in (passkey, link) made within
/// the last 10 minutes; CLI and operator sessions never qualify.
async fn changing_passkeys_needs_a_recent_browser_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = app.add_user().await;
    let link = app.link_token_for(&email).await;
    let mut authenticator = SoftPasskey::new();
    let id = app.register_passkey(&link, &mut authenticator, "Laptop").await;
    let cli = app.cli_token_for(&email).await;
    let operator = app.token_for(&email).await;

    for token in [&cli, &operator] {
        let response = app.post_json(REGISTER_START, Some(token), json!({})).await;
        let body = assert_error(response, StatusCode::FORBIDDEN, "reauthentication_required").await;
        assert_eq!(body["error"]["message"], "Sign in again to do this.");
        assert_error(delete_passkey(&app, token, &id).await, StatusCode::FORBIDDEN, "reauthentication_required").await;
    }
    // Finishing a ceremony a fresh session started is refused too, before it is used up.
    let started: Value = app.post_json(REGISTER_START, Some(&link), json!({})).await.json().await.unwrap();
    let mut second = SoftPasskey::new();
    let credential = second.register(&app.web_origin(), &started["options"]);
    let finish = json!({"ceremony": started["ceremony"], "credential": credential, "name": "Phone"});
    let response = app.post_json(REGISTER_FINISH, Some(&cli), finish.clone()).await;
    assert_error(response, StatusCode::FORBIDDEN, "reauthentication_required").await;
    assert_eq!(passkey_ids(&app, &cli).await, vec![id.clone()], "nothing added or removed");
    assert_eq!(app.post_json(REGISTER_FINISH, Some(&link), finish).await.status(), StatusCode::CREATED);

    // A passkey sign-in qualifies as a link does, for 10 minutes to the millisecond.
    let by_passkey = app.passkey_sign_in(&mut authenticator).await;
    assert_eq!(app.post_json(REGISTER_START, Some(&by_passkey), json!({})).await.status(), StatusCode::OK);
    app.advance(Duration::from_secs(10 * 60));
    assert_eq!(app.post_json(REGISTER_START, Some(&link), json!({})).await.status(), StatusCode::OK);
    app.advance(Duration::from_millis(1));
    for token in [&link, &by_passkey] {
        let response = app.post_json(REGISTER_START, Some(token), json!({})).await;
        assert_error(response, StatusCode::FORBIDDEN, "reauthentication_required").await;
        assert_error(delete_passkey(&app, token, &id).await, StatusCode::FORBIDDEN, "reauthentication_required").await;
    }
    // Signing in again is the way out.
    let fresh = app.link_token_for(&email).await;
    assert_eq!(app.post_json(REGISTER_START, Some(&fresh), json!({})).await.status(), StatusCode::OK);
    assert_eq!(delete_passkey(&app, &fresh, &id).await.status(), StatusCode::NO_CONTENT);
}
api_test!(changing_passkeys_needs_a_recent_browser_sign_in);

/// Removing a passkey ends the sessions it signed in, at once, even those
/// this server has cached; other sessions live on.
async fn removing_a_passkey_ends_the_sessions_it_signed_in(backend: Backend) {
    let app = crate::helpers::spawn_app_with(backend, |s| s.auth_cache_ttl = Duration::from_secs(3600)).await;
    let email = app.add_user().await;
    let link = app.link_token_for(&email).await;
    let mut lost = SoftPasskey::new();
    let mut kept = SoftPasskey::new();
    let lost_id = app.register_passkey(&link, &mut lost, "Lost phone").await;
    let kept_id = app.register_passkey(&link, &mut kept, "Laptop").await;
    let by_lost = [app.passkey_sign_in(&mut lost).await, app.passkey_sign_in(&mut lost).await];
    let by_kept = app.passkey_sign_in(&mut kept).await;
    for token in by_lost.iter().chain([&by_kept, &link]) {
        assert_eq!(app.get("/api/v0/user", Some(token)).await.status(), StatusCode::OK, "cached");
    }

    assert_eq!(delete_passkey(&app, &link, &lost_id).await.status(), StatusCode::NO_CONTENT);
    for token in &by_lost {
        assert_error(app.get("/api/v0/user", Some(token)).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    assert_eq!(app.get("/api/v0/user", Some(&by_kept)).await.status(), StatusCode::OK);
    assert_eq!(app.get("/api/v0/user", Some(&link)).await.status(), StatusCode::OK);
    let sessions = app.client().with_token(&link).sessions().await.unwrap();
    assert_eq!(sessions.len(), 2, "the link's and the kept passkey's: {sessions:?}");

    // A session removing the passkey it signed in with ends itself.
    assert_eq!(delete_passkey(&app, &by_kept, &kept_id).await.status(), StatusCode::NO_CONTENT);
    assert_error(app.get("/api/v0/user", Some(&by_kept)).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(passkey_ids(&app, &link).await, Vec::<String>::new());
}
api_test!(removing_a_passkey_ends_the_sessions_it_signed_in);

/// Issue 14, item 10: a NUL in a passkey name was a 500 on Postgres after the
/// ceremony was used up. Names are checked first: a refusal names the field
/// and leaves the ceremony to finish with a better name.
async fn passkey_names_are_checked_before_the_ceremony_is_used(backend: Backend) {
    let app = spawn_app(backend).await;
    let link = app.link_token_for(&app.add_user().await).await;
    let started: Value = app.post_json(REGISTER_START, Some(&link), json!({})).await.json().await.unwrap();
    let credential = SoftPasskey::new().register(&app.web_origin(), &started["options"]);
    let finish = |name: &str| json!({"ceremony": started["ceremony"], "credential": credential, "name": name});

    for bad in ["Lap\u{0}top", "new\nline", "\u{1b}[31mred", "\u{202e}gnp.exe"] {
        let response = app.post_json(REGISTER_FINISH, Some(&link), finish(bad)).await;
        let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(
            body["error"]["message"], "`name` must not contain control characters (such as NUL, tab or newline)",
            "{bad:?}"
        );
    }
    let response = app.post_json(REGISTER_FINISH, Some(&link), finish(&"n".repeat(65))).await;
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(body["error"]["message"], "`name` must be at most 64 characters");

    let response = app.post_json(REGISTER_FINISH, Some(&link), finish(&format!("  {}  ", "é".repeat(64)))).await;
    assert_eq!(response.status(), StatusCode::CREATED, "the same ceremony still finishes");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["name"], "é".repeat(64), "trimmed, and counted in characters");
}
api_test!(passkey_names_are_checked_before_the_ceremony_is_used);
