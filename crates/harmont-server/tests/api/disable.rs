//! Issue 13: a disabled user. Their session tokens and API keys are refused
//! with `403 user_disabled`, they cannot sign in (passkey, link) and nothing
//! approved for them before can be collected (claim, redeem); enabling them
//! restores the very same sessions and keys, and what was still waiting.

use crate::api_test;
use crate::helpers::{assert_error, nonce, spawn_app, Backend, SoftPasskey, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn set_disabled(app: &TestApp, email: &str, disabled: bool) {
    let user = app.service.users().user_by_email(email).await.unwrap().expect("the user");
    assert!(app.service.users().set_user_disabled(user.id, disabled).await.unwrap());
}

async fn user_status(app: &TestApp, token: &str) -> StatusCode {
    app.get("/api/v0/user", Some(token)).await.status()
}

/// Everything a user holds, made while they are enabled: a CLI session, an
/// API key, a passkey (and the browser session that added it), a transfer
/// waiting to be claimed, a paste code and a login link.
struct Holdings {
    session: String,
    key: String,
    passkey: SoftPasskey,
    nonce: String,
    code: String,
    link: String,
}

async fn holdings(app: &TestApp, email: &str) -> Holdings {
    let session = app.cli_token_for(email).await;
    let browser = app.link_token_for(email).await;
    let created = app.post_json("/api/v0/user/api-tokens", Some(&browser), json!({"description": "CI"})).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let key = created.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let mut passkey = SoftPasskey::new();
    app.register_passkey(&browser, &mut passkey, "Laptop").await;
    let nonce = nonce();
    let parked = app.post_json("/api/v0/auth/cli/transfer", Some(&browser), json!({"nonce": nonce})).await;
    assert_eq!(parked.status(), StatusCode::NO_CONTENT);
    let code = app.post_json("/api/v0/auth/cli/code", Some(&browser), json!({})).await;
    assert_eq!(code.status(), StatusCode::OK);
    let code = code.json::<Value>().await.unwrap()["code"].as_str().unwrap().to_owned();
    let user = app.service.users().user_by_email(email).await.unwrap().unwrap();
    let url = app.service.web().create_login_link(user.id).await.unwrap();
    let link = url.split_once("#link=").unwrap().1.to_owned();
    Holdings { session, key, passkey, nonce, code, link }
}

async fn passkey_sign_in(app: &TestApp, passkey: &mut SoftPasskey) -> reqwest::Response {
    let started = app.post_json("/api/v0/auth/passkeys/sign-in/start", None, json!({})).await;
    assert_eq!(started.status(), StatusCode::OK);
    let started: Value = started.json().await.unwrap();
    let credential = passkey.sign_in(&app.web_origin(), &started["options"]);
    let body = json!({"ceremony": started["ceremony"], "credential": credential});
    app.post_json("/api/v0/auth/passkeys/sign-in/finish", None, body).await
}

async fn a_disabled_user_is_refused_everywhere_and_enabling_restores_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = app.add_user().await;
    let (_, bystander) = app.signed_in().await;
    let mut held = holdings(&app, &email).await;
    // Both bearers are in the cache now.
    assert_eq!(user_status(&app, &held.session).await, StatusCode::OK);
    assert_eq!(user_status(&app, &held.key).await, StatusCode::OK);

    set_disabled(&app, &email, true).await;

    let body =
        assert_error(app.get("/api/v0/user", Some(&held.session)).await, StatusCode::FORBIDDEN, "user_disabled").await;
    assert!(body["error"]["message"].as_str().unwrap().contains("disabled"), "{body}");
    assert_error(app.get("/api/v0/user", Some(&held.key)).await, StatusCode::FORBIDDEN, "user_disabled").await;
    let transfer = app.post_json("/api/v0/auth/cli/transfer", Some(&held.session), json!({"nonce": nonce()})).await;
    assert_error(transfer, StatusCode::FORBIDDEN, "user_disabled").await;
    let code = app.post_json("/api/v0/auth/cli/code", Some(&held.session), json!({})).await;
    assert_error(code, StatusCode::FORBIDDEN, "user_disabled").await;

    // What was approved before cannot be collected, and stays for later.
    let claim = app.post_json("/api/v0/auth/cli/claim", None, json!({"nonce": held.nonce})).await;
    assert_error(claim, StatusCode::FORBIDDEN, "user_disabled").await;
    let waited = app
        .http
        .post(app.url("/api/v0/auth/cli/claim"))
        .header("prefer", "wait=5")
        .json(&json!({"nonce": held.nonce}))
        .send()
        .await
        .unwrap();
    assert_error(waited, StatusCode::FORBIDDEN, "user_disabled").await;
    let redeem = app.post_json("/api/v0/auth/cli/redeem", None, json!({"code": held.code})).await;
    assert_error(redeem, StatusCode::FORBIDDEN, "user_disabled").await;
    let link = app.post_json("/api/v0/auth/links/redeem", None, json!({"link": held.link})).await;
    assert_error(link, StatusCode::FORBIDDEN, "user_disabled").await;
    assert_error(passkey_sign_in(&app, &mut held.passkey).await, StatusCode::FORBIDDEN, "user_disabled").await;
    // Unknown ones still answer as before.
    let unknown = app.post_json("/api/v0/auth/cli/claim", None, json!({"nonce": nonce()})).await;
    assert_error(unknown, StatusCode::BAD_REQUEST, "cli_code_invalid").await;
    // Nobody else is concerned.
    assert_eq!(user_status(&app, &bystander).await, StatusCode::OK);

    set_disabled(&app, &email, false).await;

    assert_eq!(user_status(&app, &held.session).await, StatusCode::OK, "the same session works again");
    assert_eq!(user_status(&app, &held.key).await, StatusCode::OK, "the same key works again");
    let claim = app.post_json("/api/v0/auth/cli/claim", None, json!({"nonce": held.nonce})).await;
    assert_eq!(claim.status(), StatusCode::OK, "the waiting transfer is claimed");
    let redeem = app.post_json("/api/v0/auth/cli/redeem", None, json!({"code": held.code})).await;
    assert_eq!(redeem.status(), StatusCode::OK, "the paste code is redeemed");
    let link = app.post_json("/api/v0/auth/links/redeem", None, json!({"link": held.link})).await;
    assert_eq!(link.status(), StatusCode::OK, "the link signs in");
    assert_eq!(passkey_sign_in(&app, &mut held.passkey).await.status(), StatusCode::OK);
}
api_test!(a_disabled_user_is_refused_everywhere_and_enabling_restores_them);

async fn the_error_page_explains_user_disabled(backend: Backend) {
    let app = spawn_app(backend).await;
    let page = app.get("/docs/errors/user_disabled", None).await;
    assert_eq!(page.status(), StatusCode::OK);
    let text = page.text().await.unwrap();
    assert!(text.contains("harmont-auth user enable"), "{text}");
}
api_test!(the_error_page_explains_user_disabled);
