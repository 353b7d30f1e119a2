//! The web pages as HTTP sees them: HTML shells with strict security
//! headers, embedded assets, the move from 127.0.0.1 to localhost, and HTML
//! error pages for browsers. What the pages do is in web-tests/ (Chromium).

use crate::helpers::{assert_error, spawn_app, spawn_app_with, Backend};
use reqwest::StatusCode;
use std::time::Duration;

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
        ("api-docs.js", "text/javascript; charset=utf-8"),
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
    assert!(html.contains("<h1>This sign-in link no longer works</h1>"), "{html}");
    assert!(html.contains("Error <code>link_invalid</code>"), "{html}");
}

/// Issue 11, item 21: an error page speaks first to the person sent there
/// (what happened, what to do), then to developers; the windows it names
/// are the server's own, and the JSON example wraps.
#[tokio::test]
async fn error_pages_speak_to_people_first_with_the_configured_windows() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.transfer_ttl = Duration::from_secs(90);
        s.paste_ttl = Duration::from_secs(600);
        s.session_ttl = Duration::from_secs(7 * 86_400);
        s.body_timeout = Duration::from_secs(20);
    })
    .await;
    let html = app.get("/docs/errors/cli_code_invalid", None).await.text().await.unwrap();
    let at = |needle: &str| html.find(needle).unwrap_or_else(|| panic!("{needle} missing: {html}"));
    assert!(at("<h1>This login is not available</h1>") < at("What happened"));
    assert!(at("What happened") < at("What to do"));
    assert!(at("What to do") < at("For developers"), "people first, then developers");
    assert!(html.contains("waits 90 seconds for the terminal") && html.contains("works for 10 minutes"), "{html}");
    assert!(html.contains("(90 seconds for a transfer, 10 minutes for a paste code)"), "the developers' part too");
    assert!(!html.contains("60 seconds") && !html.contains("5 minutes") && !has_placeholder(&html), "{html}");
    assert!(html.contains("<pre class=\"wrap\">"), "the JSON example wraps: {html}");
    assert!(html.contains(&format!("&quot;doc_url&quot;: &quot;{}/docs/errors/cli_code_invalid&quot;", app.base)));

    let html = app.get("/docs/errors/request_timeout", None).await.text().await.unwrap();
    assert!(html.contains("20 seconds") && !html.contains("10 seconds"), "{html}");
    let html = app.get("/docs/errors/unauthorized", None).await.text().await.unwrap();
    assert!(html.contains("sessions last 7 days"), "{html}");
    // Every code's page is whole: no placeholder left, a person's title first.
    for code in harmont_wire::ErrorCode::ALL {
        let response = app.get(&format!("/docs/errors/{}", code.as_str()), None).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", code.as_str());
        let html = response.text().await.unwrap();
        assert!(!has_placeholder(&html), "{}: {html}", code.as_str());
        assert!(html.contains("What to do"), "{}", code.as_str());
    }
    let index = app.get("/docs/errors", None).await.text().await.unwrap();
    assert!(index.contains("This sign-in link no longer works") && index.contains("/docs/api"), "{index}");
}

/// Whether `html` holds an unfilled `{window}` placeholder.
fn has_placeholder(html: &str) -> bool {
    html.split('{').skip(1).any(|rest| {
        rest.split_once('}')
            .is_some_and(|(name, _)| !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
    })
}

/// Issue 11, items 20 and 23: the pages learn the server's windows from
/// `<meta>` (not a default in the script), and `/docs/api` is our own page.
#[tokio::test]
async fn pages_carry_the_configured_windows_and_the_api_reference_is_ours() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.session_ttl = Duration::from_secs(7 * 86_400)).await;
    let localhost = app.base.replace("127.0.0.1", "localhost");
    let html = browser().get(format!("{localhost}/cli-login")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("<meta name=\"harmont:session-ttl\" content=\"604800\">"), "{html}");
    assert!(html.contains("<meta name=\"harmont:paste-ttl\" content=\"300\">"), "{html}");
    assert!(html.contains("<title>Authorize the Harmont CLI · Harmont</title>"), "{html}");

    let response = browser().get(format!("{localhost}/docs/api")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_security_headers(&response);
    let html = response.text().await.unwrap();
    assert!(html.contains("<script type=\"module\" src=\"/assets/api-docs.js\"></script>"), "{html}");
    assert_eq!(html.matches("<script").count(), 1, "no CDN, no inline script");
    assert!(!html.contains("https://"), "nothing from elsewhere: {html}");
    let script = app.get("/assets/api-docs.js", None).await;
    assert_eq!(script.headers()["content-type"], "text/javascript; charset=utf-8");
    assert!(script.text().await.unwrap().contains("/api/v0/openapi.json"));
}

#[tokio::test]
async fn home_goes_to_settings() {
    let app = spawn_app(Backend::Sqlite).await;
    let response = browser().get(app.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/settings");
}
