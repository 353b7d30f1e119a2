//! `GET /api/v0/auth/identities` and `DELETE /api/v0/auth/identities/{id}`:
//! a user's single sign-on identities (linked through the browser flow, which
//! web-tests/sso.test.js drives against a real OpenID Provider).

use crate::api_test;
use crate::helpers::{assert_error, spawn_app, Backend};
use harmont_store::NewIdentity;
use reqwest::StatusCode;
use serde_json::Value;

async fn identities_are_listed_and_unlinked_with_the_rules(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = app.add_user().await;
    let user = app.service.users().user_by_email(&email).await.unwrap().unwrap();
    let now = harmont_server::clock::Clock::now(&*app.clock);
    let linked = app
        .store
        .create_identity(
            NewIdentity {
                id: uuid::Uuid::new_v4(),
                user_id: user.id,
                provider: "github".into(),
                issuer: "https://github.com".into(),
                subject: "583231".into(),
                email: Some(email.clone()),
                created_at: now,
            },
            None,
        )
        .await
        .unwrap();
    let path = format!("/api/v0/auth/identities/{}", linked.id);

    assert_error(app.get("/api/v0/auth/identities", None).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let cli = app.token_for(&email).await;
    let listed: Value = app.get("/api/v0/auth/identities", Some(&cli)).await.json().await.unwrap();
    let only = &listed["identities"][0];
    assert_eq!((only["provider"].as_str(), only["provider_name"].as_str()), (Some("github"), Some("GitHub")));
    assert_eq!(only["email"], email.as_str());
    assert_eq!(only["last_used_at"], Value::Null);

    // A CLI (operator) session may not unlink; a fresh browser sign-in may,
    // but not the last way to sign in.
    let delete = |token: String| app.http.delete(app.url(&path)).bearer_auth(token).send();
    assert_error(delete(cli.clone()).await.unwrap(), StatusCode::FORBIDDEN, "reauthentication_required").await;
    let browser = app.link_token_for(&email).await;
    assert_error(delete(browser.clone()).await.unwrap(), StatusCode::CONFLICT, "last_sign_in_method").await;
    let unknown = app
        .http
        .delete(app.url(&format!("/api/v0/auth/identities/{}", uuid::Uuid::new_v4())))
        .bearer_auth(&browser)
        .send()
        .await
        .unwrap();
    assert_error(unknown, StatusCode::NOT_FOUND, "identity_not_found").await;
    let bad = app.http.delete(app.url("/api/v0/auth/identities/nope")).bearer_auth(&browser).send().await.unwrap();
    assert_error(bad, StatusCode::NOT_FOUND, "identity_not_found").await;
}
api_test!(identities_are_listed_and_unlinked_with_the_rules);

async fn sso_without_a_provider_or_a_flow_ends_on_html_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for path in [
        "/api/v0/auth/sso/oidc/start",
        "/api/v0/auth/sso/github/callback?code=x&state=y",
        "/api/v0/auth/sso/nope/start",
    ] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("text/html"), "{content_type}");
        let body = response.text().await.unwrap();
        assert!(body.contains("No such sign-in") && body.contains("href=\"/login\""), "{body}");
    }
    let methods: Value = app.get("/api/v0/auth/methods", None).await.json().await.unwrap();
    assert_eq!(methods["providers"], serde_json::json!([]));
}
api_test!(sso_without_a_provider_or_a_flow_ends_on_html_pages);
