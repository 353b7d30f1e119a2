//! The web pages as HTTP sees them: HTML shells with strict security
//! headers, embedded assets, the move from 127.0.0.1 to localhost, and HTML
//! error pages for browsers. What the pages do is in web-tests/ (Chromium).

use crate::helpers::{assert_error, spawn_app, Backend};
use reqwest::StatusCode;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
                   form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

fn assert_security_headers(response: &reqwest::Response) {
    let headers = response.headers();
    assert_eq!(headers["content-security-policy"], CSP);
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-store");
}

/// Requests that do not follow redirects, and ask for pages at localhost.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

#[tokio::test]
async fn pages_are_html_shells_with_strict_headers() {
    let app = spawn_app(Backend::Sqlite).await;
    let localhost = app.base.replace("127.0.0.1", "localhost");
    for (path, script) in [("/login", "login.js"), ("/cli-login", "cli-login.js"), ("/settings", "settings.js")] {
        let response = browser().get(format!("{localhost}{path}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_security_headers(&response);
        assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
        let html = response.text().await.unwrap();
        assert!(html.contains(&format!("<script type=\"module\" src=\"/assets/{script}\"></script>")), "{path}");
        // The CSP would block inline code and style; none is there to block.
        assert_eq!(html.matches("<script").count(), 1, "{path}: one external script");
        assert!(!html.contains(" style=") && !html.contains("<style"), "{path}: no inline style");
        assert!(!html.contains(" onclick=") && !html.contains(" onload="), "{path}: no inline handlers");
    }
}

#[tokio::test]
async fn assets_are_embedded() {
    let app = spawn_app(Backend::Sqlite).await;
    for (name, content_type) in [
        ("app.css", "text/css; charset=utf-8"),
        ("common.js", "text/javascript; charset=utf-8"),
        ("login.js", "text/javascript; charset=utf-8"),
        ("cli-login.js", "text/javascript; charset=utf-8"),
        ("settings.js", "text/javascript; charset=utf-8"),
        ("icon.svg", "image/svg+xml"),
    ] {
        let response = app.get(&format!("/assets/{name}"), None).await;
        assert_eq!(response.status(), StatusCode::OK, "{name}");
        assert_eq!(response.headers()["content-type"], content_type, "{name}");
        assert!(!response.bytes().await.unwrap().is_empty(), "{name}");
    }
    assert_error(app.get("/assets/../Cargo.toml", None).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_error(app.get("/assets/nope.js", None).await, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn pages_at_a_loopback_ip_move_to_localhost() {
    let app = spawn_app(Backend::Sqlite).await;
    let response = browser().get(app.url("/cli-login?port=1234&nonce=abc")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);
    let port = app.base.rsplit(':').next().unwrap();
    assert_eq!(response.headers()["location"], format!("http://localhost:{port}/cli-login?port=1234&nonce=abc"));
    // The API stays where it is.
    assert_eq!(app.get("/api/v0/ping", None).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn browsers_get_html_errors_and_docs_in_the_same_frame() {
    let app = spawn_app(Backend::Sqlite).await;
    let response = app.http.get(app.url("/no-such-page")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_security_headers(&response);
    let html = response.text().await.unwrap();
    assert!(html.contains("Page not found") && html.contains("/assets/app.css"), "{html}");
    // API clients keep the envelope, even when they accept HTML.
    let api = app.http.get(app.url("/api/v0/nope")).header("accept", "text/html").send().await.unwrap();
    assert_error(api, StatusCode::NOT_FOUND, "not_found").await;

    let docs = app.get("/docs/errors/link_invalid", None).await;
    assert_eq!(docs.status(), StatusCode::OK);
    assert_security_headers(&docs);
    let html = docs.text().await.unwrap();
    assert!(html.contains("/assets/app.css") && !html.contains("<style"), "{html}");
    assert!(html.contains("<h1><code>link_invalid</code></h1>"), "{html}");
}

#[tokio::test]
async fn home_goes_to_settings() {
    let app = spawn_app(Backend::Sqlite).await;
    let response = browser().get(app.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/settings");
}
